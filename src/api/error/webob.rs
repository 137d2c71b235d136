//! WebOb 1.8's exception classes and body templates: status lines, class default
//! explanations, the `_make_body` fragment and its HTML, JSON and plain-text wrappers.

use std::borrow::Cow;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use super::accept::ErrorFormat;
use crate::error::Msg;

/// The status line text used in bodies, e.g. "404 Not Found",
/// "413 Request Entity Too Large" (WebOb's titles). Codes WebOb has no class
/// for fall back to "500 Internal Server Error", as WebOb's base class does.
pub fn status_line(status: u16) -> &'static str {
    webob_class(status).map_or("500 Internal Server Error", |c| c.status_line)
}

/// WebOb's title for a status ("Not Found"); the fallback matches [`status_line`].
pub fn title(status: u16) -> &'static str {
    webob_class(status).map_or("Internal Server Error", |c| c.title)
}

/// One `webob.exc` class: its code and `title` (the status line is "<code> <title>").
struct WebObClass {
    code: u16,
    title: &'static str,
    status_line: &'static str,
}

macro_rules! webob_classes {
    ($($code:literal $title:literal;)+) => {
        const WEBOB_CLASSES: &[WebObClass] = &[$(WebObClass {
            code: $code,
            title: $title,
            status_line: concat!(stringify!($code), " ", $title),
        }),+];
    };
}

webob_classes! {
    200 "OK"; 201 "Created"; 202 "Accepted"; 203 "Non-Authoritative Information";
    204 "No Content"; 205 "Reset Content"; 206 "Partial Content";
    300 "Multiple Choices"; 301 "Moved Permanently"; 302 "Found"; 303 "See Other";
    304 "Not Modified"; 305 "Use Proxy"; 307 "Temporary Redirect"; 308 "Permanent Redirect";
    400 "Bad Request"; 401 "Unauthorized"; 402 "Payment Required"; 403 "Forbidden";
    404 "Not Found"; 405 "Method Not Allowed"; 406 "Not Acceptable";
    407 "Proxy Authentication Required"; 408 "Request Timeout"; 409 "Conflict"; 410 "Gone";
    411 "Length Required"; 412 "Precondition Failed"; 413 "Request Entity Too Large";
    414 "Request-URI Too Long"; 415 "Unsupported Media Type";
    416 "Request Range Not Satisfiable"; 417 "Expectation Failed"; 422 "Unprocessable Entity";
    423 "Locked"; 424 "Failed Dependency"; 428 "Precondition Required"; 429 "Too Many Requests";
    431 "Request Header Fields Too Large"; 451 "Unavailable For Legal Reasons";
    500 "Internal Server Error"; 501 "Not Implemented"; 502 "Bad Gateway";
    503 "Service Unavailable"; 504 "Gateway Timeout"; 505 "HTTP Version Not Supported";
    507 "Insufficient Storage"; 511 "Network Authentication Required";
}

fn webob_class(code: u16) -> Option<&'static WebObClass> {
    WEBOB_CLASSES.iter().find(|c| c.code == code)
}

/// The class `explanation` of each exception glint raises, as WebOb leaves it
/// at import time: its source text with every whitespace run folded to one
/// space (405 and 415 have their own templates and never show one).
fn default_explanation(code: u16) -> &'static str {
    match code {
        400 => "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        401 => "This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.",
        403 => "Access was denied to this resource.",
        404 => "The resource could not be found.",
        409 => "There was a conflict when trying to complete your request.",
        410 => "This resource is no longer available. No forwarding address is given.",
        413 => "The body of your request was too large for this server.",
        416 => "The Range requested is not available.",
        500 => "The server has either erred or is incapable of performing the requested operation.",
        502 => "Bad gateway.",
        503 => "The server is currently unavailable. Please try again at a later time.",
        504 => "The gateway has timed out.",
        _ => "",
    }
}

// ---------------------------------------------------------------------------
// Body fragment (`_make_body`) and the three wrappers

/// The substituted `body_template` of one exception, before escaping.
pub(super) enum Fragment<'a> {
    /// WSGIHTTPException's template: `${explanation}<br /><br />\n${detail}\n${html_comment}\n`
    /// (Glance never passes a comment, so `html_comment` is always empty).
    Generic {
        explanation: &'a str,
        detail: &'a str,
    },
    /// HTTPMethodNotAllowed's template, fed `REQUEST_METHOD`; Glance passes no detail.
    MethodNotAllowed { method: &'a str },
    /// HTTPUnsupportedMediaType's template, fed `CONTENT_TYPE`.
    UnsupportedMediaType {
        content_type: &'a str,
        detail: &'a str,
    },
}

impl<'a> Fragment<'a> {
    pub(super) fn generic(code: u16, msg: &'a Msg) -> Self {
        let (explanation, detail) = match msg {
            Msg::Default => (default_explanation(code), ""),
            Msg::Explanation(e) => (e.as_str(), ""),
            Msg::Detail(d) => (default_explanation(code), d.as_str()),
        };
        Fragment::Generic {
            explanation,
            detail,
        }
    }

    fn make(&self, escape: fn(&str) -> Cow<'_, str>) -> String {
        match *self {
            Fragment::Generic {
                explanation,
                detail,
            } => format!(
                "{}<br /><br />\n{}\n\n",
                escape(explanation),
                escape(detail)
            ),
            Fragment::MethodNotAllowed { method } => format!(
                "The method {} is not allowed for this resource. <br /><br />\n",
                escape(method)
            ),
            Fragment::UnsupportedMediaType {
                content_type,
                detail,
            } => format!(
                "The request media type {} is not supported by this server.\n<br /><br />\n{}",
                escape(content_type),
                escape(detail)
            ),
        }
    }
}

pub(super) fn build(
    code: u16,
    fragment: &Fragment<'_>,
    format: ErrorFormat,
    headers: Vec<(HeaderName, String)>,
) -> HttpResponse {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let line = status_line(code);
    let (content_type, body) = match format {
        ErrorFormat::Html => (
            "text/html; charset=UTF-8",
            format!(
                "<html>\n <head>\n  <title>{line}</title>\n </head>\n <body>\n  <h1>{line}</h1>\n  {}\n </body>\n</html>",
                fragment.make(html_escape)
            ),
        ),
        ErrorFormat::Json => (
            "application/json",
            format!(
                "{{\"message\": {}, \"code\": {}, \"title\": {}}}",
                py_json_string(&fragment.make(no_escape)),
                py_json_string(line),
                py_json_string(title(code))
            ),
        ),
        ErrorFormat::Plain => (
            "text/plain; charset=UTF-8",
            format!("{line}\n\n{}", strip_tags(&fragment.make(no_escape))),
        ),
    };
    let mut builder = HttpResponse::build(status);
    for (name, value) in headers {
        match HeaderValue::from_str(&value) {
            Ok(v) => {
                builder.insert_header((name, v));
            }
            Err(_) => tracing::warn!(header = %name, "dropping an unencodable error header"),
        }
    }
    let mut resp = builder.content_type(content_type).body(body);
    // WebOb's reason phrases differ from the IANA ones for 413 and 416.
    resp.head_mut().reason = Some(title(code));
    resp
}

/// WebOb's `no_escape`, for the JSON and plain-text bodies.
fn no_escape(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

/// `webob.util.html_escape`: Python's `html.escape(s, quote=True)`, then every
/// non-ASCII character as a decimal character reference.
fn html_escape(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| matches!(c, '&' | '<' | '>' | '"' | '\'') || !c.is_ascii())
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if !c.is_ascii() => out.push_str(&format!("&#{};", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii=True`):
/// only printable ASCII stays raw; the rest is `\n`-style or lowercase `\uXXXX`,
/// with surrogate pairs beyond the BMP.
fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// `webob.exc.strip_tags`: newlines become spaces, `\r` goes, each `<br...>`
/// becomes a newline, comment markers go, then every remaining `<...>`.
fn strip_tags(value: &str) -> String {
    let value = value.replace('\n', " ").replace('\r', "");
    let value = replace_tags(&value, true);
    let value = value.replace("<!--", "").replace("-->", "");
    replace_tags(&value, false)
}

/// One pass of WebOb's non-greedy `<br.*?>` (case-insensitive, `br_only`) or
/// `<.*?>` substitution: a match runs from `<` to the next `>`.
fn replace_tags(value: &str, br_only: bool) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let candidate = &rest[start..];
        let opens = !br_only
            || candidate
                .get(1..3)
                .is_some_and(|b| b.eq_ignore_ascii_case("br"));
        let close = if br_only { 3 } else { 1 };
        match candidate.get(close..).and_then(|after| after.find('>')) {
            Some(end) if opens => {
                out.push_str(&rest[..start]);
                if br_only {
                    out.push('\n');
                }
                rest = &candidate[close + end + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_like_python() {
        assert_eq!(
            py_json_string("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{7f}/é"),
            r#""a\"b\\c\n\r\t\b\f\u0001\u007f/\u00e9""#
        );
    }

    #[test]
    fn strip_tags_cases() {
        let cases = [
            ("a<br />b", "a\nb"),
            ("a<BR>b", "a\nb"),
            ("a<brown fox>b", "a\nb"),
            ("a<!-- c -->b", "a c b"),
            ("a<b>c</b>d", "acd"),
            ("x < y", "x < y"),
            ("a<b\nc>d", "ad"),
            ("l1\r\nl2", "l1 l2"),
            ("a<br", "a<br"),
            ("<<b>>", ">"),
        ];
        for (input, want) in cases {
            assert_eq!(strip_tags(input), want, "{input:?}");
        }
    }

    #[test]
    fn status_lines() {
        let cases = [
            (400, "400 Bad Request"),
            (401, "401 Unauthorized"),
            (403, "403 Forbidden"),
            (404, "404 Not Found"),
            (405, "405 Method Not Allowed"),
            (409, "409 Conflict"),
            (410, "410 Gone"),
            (413, "413 Request Entity Too Large"),
            (415, "415 Unsupported Media Type"),
            (416, "416 Request Range Not Satisfiable"),
            (500, "500 Internal Server Error"),
            (503, "503 Service Unavailable"),
            (599, "500 Internal Server Error"),
        ];
        for (code, line) in cases {
            assert_eq!(status_line(code), line);
        }
    }
}
