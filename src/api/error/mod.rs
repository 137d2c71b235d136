//! The one place an [`Error`] becomes an HTTP response.
//!
//! Glance raises `webob.exc.HTTP*` exceptions and lets WebOb 1.8 render them,
//! so clients (tempest above all) see WebOb's bodies: the body fragment
//! `<explanation><br /><br />\n<detail>\n<comment>\n`, wrapped as JSON, HTML or
//! plain text depending on which of `text/html` / `application/json` the
//! request's `Accept` header prefers. This module reproduces that byte for
//! byte, including WebOb's quirks:
//!
//! * an *invalid* `Accept` header makes every offer acceptable, so it gets HTML;
//!   an absent or empty one gets plain text;
//! * `application/json; charset=utf-8` in `Accept` does not match the
//!   parameterless `application/json` offer (so it gets plain text);
//! * the JSON body is `json.dumps` output: `", "`/`": "` separators and
//!   non-ASCII escaped as `\uXXXX`;
//! * class default texts are WebOb's source texts with whitespace runs folded
//!   to single spaces (WebOb does this to every class when it is imported);
//! * 405 and 415 use their own templates, built from the request method and
//!   the request `Content-Type`.

mod accept;
mod render;
mod webob;

pub use accept::{accept_value, negotiate, ErrorFormat};
pub use render::{method_not_allowed, render, render_request, render_with, unauthorized};
pub use webob::{status_line, title};
