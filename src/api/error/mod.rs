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

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::{Error, Msg};

/// The three shapes WebOb can give an error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    Html,
    Json,
    Plain,
}

/// Render an error for a request whose Accept header value is `accept` (None = absent).
///
/// A 415 rendered here names an empty request media type; use [`render_with`]
/// or [`render_request`] to pass the real `Content-Type`.
pub fn render(err: &Error, accept: Option<&str>) -> HttpResponse {
    render_with(err, accept, None)
}

/// Like [`render`], with the request's `Content-Type` value (as WSGI's
/// `CONTENT_TYPE`), which only WebOb's 415 template uses.
pub fn render_with(
    err: &Error,
    accept: Option<&str>,
    request_content_type: Option<&str>,
) -> HttpResponse {
    render_logged(err, accept, request_content_type, true)
}

/// `log`: whether a 5xx is logged here. Only actix's first, request-less
/// rendering passes false: the HTTP layer renders the same error again with
/// the request at hand, and each failure should be logged once.
fn render_logged(
    err: &Error,
    accept: Option<&str>,
    request_content_type: Option<&str>,
    log: bool,
) -> HttpResponse {
    let format = negotiate(accept);
    let mut headers = Vec::new();
    let body = match err {
        Error::BadRequest(m) => Fragment::generic(400, m),
        Error::Unauthorized => Fragment::generic(401, &Msg::Default),
        Error::Forbidden(m) => Fragment::generic(403, m),
        Error::NotFound(m) => Fragment::generic(404, m),
        Error::Conflict(m) => Fragment::generic(409, m),
        Error::Gone(m) => Fragment::generic(410, m),
        Error::PayloadTooLarge(m) => Fragment::generic(413, m),
        Error::UnsupportedMediaType(m) => Fragment::UnsupportedMediaType {
            content_type: request_content_type.unwrap_or(""),
            // WebOb's 415 template has no `${explanation}`; Glance always passes
            // `detail`. An explanation is shown as the detail so it is not lost.
            detail: match m {
                Msg::Default => "",
                Msg::Explanation(s) | Msg::Detail(s) => s,
            },
        },
        Error::RangeNotSatisfiable(len, m) => {
            headers.push((header::CONTENT_RANGE, format!("bytes */{len}")));
            Fragment::generic(416, m)
        }
        Error::Unavailable(text) => {
            // The text names infrastructure; clients only need "retry later".
            if log {
                tracing::warn!(error = %text, "service unavailable");
            }
            Fragment::generic(503, &Msg::Default)
        }
        Error::Internal(text) => {
            if log {
                tracing::error!(error = %text, "internal server error");
            }
            Fragment::generic(500, &Msg::Default)
        }
    };
    build(status_code_of(err).as_u16(), &body, format, headers)
}

/// [`render_with`] fed from the request itself: every `Accept` header (joined
/// as a WSGI server would) and the `Content-Type`.
pub fn render_request(err: &Error, req: &HttpRequest) -> HttpResponse {
    let accept = accept_value(req);
    let content_type = req.headers().get(header::CONTENT_TYPE).map(latin1);
    render_with(err, accept.as_deref(), content_type.as_deref())
}

/// The request's `Accept` value as WSGI's `HTTP_ACCEPT` would hold it: all
/// `Accept` headers joined by `,`, bytes read as Latin-1 (so a non-ASCII header
/// is still judged, as WebOb does, instead of being dropped).
pub fn accept_value(req: &HttpRequest) -> Option<String> {
    let values: Vec<String> = req.headers().get_all(header::ACCEPT).map(latin1).collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(","))
    }
}

/// A 405 for a known path with the wrong method: `Allow` header + WebOb's 405
/// text ("The method <M> is not allowed for this resource.").
pub fn method_not_allowed(method: &str, allow: &str, accept: Option<&str>) -> HttpResponse {
    let headers = vec![(header::ALLOW, allow.to_owned())];
    build(
        405,
        &Fragment::MethodNotAllowed { method },
        negotiate(accept),
        headers,
    )
}

/// A 401 as Glance's context middleware raises it. keystonemiddleware adds
/// `WWW-Authenticate: Keystone uri="<uri>"` to every 401 when it knows the
/// Keystone endpoint, so the caller passes that URI if it has one.
pub fn unauthorized(accept: Option<&str>, www_authenticate_uri: Option<&str>) -> HttpResponse {
    let headers = www_authenticate_uri
        .map(|uri| (header::WWW_AUTHENTICATE, format!("Keystone uri=\"{uri}\"")))
        .into_iter()
        .collect();
    build(
        401,
        &Fragment::generic(401, &Msg::Default),
        negotiate(accept),
        headers,
    )
}

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

/// Which body WebOb picks for this `Accept` value: it offers `text/html` then
/// `application/json` to `acceptable_offers` and takes the first, ties going to
/// HTML; nothing acceptable means plain text.
pub fn negotiate(accept: Option<&str>) -> ErrorFormat {
    // WebOb reads `environ.get('HTTP_ACCEPT', '')`: absent is the same as empty.
    let value = accept.unwrap_or("").trim_matches(|c| c == ' ' || c == '\t');
    let Some(ranges) = parse_accept(value) else {
        // AcceptInvalidHeader: every offer acceptable with q=1 → the first offer.
        return ErrorFormat::Html;
    };
    let offers = [("text", "html"), ("application", "json")];
    let mut best: Option<(usize, u16)> = None;
    for (index, (ty, subty)) in offers.iter().enumerate() {
        let q = offer_quality(&ranges, ty, subty);
        if q > 0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((index, q));
        }
    }
    match best {
        Some((0, _)) => ErrorFormat::Html,
        Some(_) => ErrorFormat::Json,
        None => ErrorFormat::Plain,
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_code_of(self)
    }

    /// Without the request at hand this renders as for an absent `Accept`
    /// (plain text); the HTTP layer calls [`render_request`] instead.
    fn error_response(&self) -> HttpResponse {
        render_logged(self, None, None, false)
    }
}

fn status_code_of(err: &Error) -> StatusCode {
    match err {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Gone(_) => StatusCode::GONE,
        Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::RangeNotSatisfiable(..) => StatusCode::RANGE_NOT_SATISFIABLE,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn latin1(v: &HeaderValue) -> String {
    v.as_bytes().iter().map(|&b| char::from(b)).collect()
}

// ---------------------------------------------------------------------------
// WebOb's exception classes

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
        503 => "The server is currently unavailable. Please try again at a later time.",
        _ => "",
    }
}

// ---------------------------------------------------------------------------
// Body fragment (`_make_body`) and the three wrappers

/// The substituted `body_template` of one exception, before escaping.
enum Fragment<'a> {
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
    fn generic(code: u16, msg: &'a Msg) -> Self {
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

fn build(
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

// ---------------------------------------------------------------------------
// Accept header (RFC 7231 §5.3.2 as WebOb 1.8's `AcceptValidHeader` reads it)

/// One media range; parameter values never matter because WebOb's offers here
/// carry none, only whether the range has any.
struct MediaRange {
    ty: String,
    subty: String,
    has_params: bool,
    /// qvalue in thousandths.
    q: u16,
}

/// The q WebOb gives an offer: from the most specific matching range (first
/// one wins among equals); 0 when nothing matches.
fn offer_quality(ranges: &[MediaRange], ty: &str, subty: &str) -> u16 {
    let mut best: Option<(u8, u16)> = None;
    for r in ranges {
        let specificity = if r.ty == ty && r.subty == subty {
            if r.has_params {
                // `text/html;level=1` never matches the bare `text/html` offer.
                continue;
            }
            3
        } else if r.subty == "*" && r.ty == ty {
            2
        } else if r.ty == "*" && r.subty == "*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, r.q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// Parses `#( media-range [ accept-params ] )`; `None` if the header is invalid.
fn parse_accept(value: &str) -> Option<Vec<MediaRange>> {
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    let mut ranges = Vec::new();
    if p.at_end() {
        return Some(ranges);
    }
    // `( "," / element ) *( OWS "," [ OWS element ] )`
    if !p.eat(b',') {
        ranges.push(p.element()?);
    }
    while !p.at_end() {
        p.ows();
        if !p.eat(b',') {
            return None;
        }
        let after_comma = p.i;
        p.ows();
        match p.element() {
            Some(r) => ranges.push(r),
            None => p.i = after_comma,
        }
    }
    Some(ranges)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| {
            self.s[start..self.i]
                .iter()
                .map(|&b| char::from(b.to_ascii_lowercase()))
                .collect()
        })
    }

    /// `quoted-string`; bytes >= 0x80 are obs-text (so any non-ASCII char is).
    fn quoted_string(&mut self) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek()? {
                        b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => self.i += 1,
                        _ => return None,
                    }
                }
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => self.i += 1,
                _ => return None,
            }
        }
    }

    fn token_or_quoted(&mut self) -> Option<()> {
        if self.peek() == Some(b'"') {
            self.quoted_string()
        } else {
            self.token().map(|_| ())
        }
    }

    /// `OWS ";" OWS`, consumed only if present.
    fn semicolon(&mut self) -> bool {
        let save = self.i;
        self.ows();
        if self.eat(b';') {
            self.ows();
            true
        } else {
            self.i = save;
            false
        }
    }

    fn at_weight(&self) -> bool {
        matches!(self.peek(), Some(b'q' | b'Q')) && self.s.get(self.i + 1) == Some(&b'=')
    }

    fn element(&mut self) -> Option<MediaRange> {
        let ty = self.token()?;
        if !self.eat(b'/') {
            return None;
        }
        let subty = self.token()?;
        let mut range = MediaRange {
            ty,
            subty,
            has_params: false,
            q: 1000,
        };
        while self.semicolon() {
            if self.at_weight() {
                self.i += 2;
                range.q = self.qvalue()?;
                // accept-ext: `OWS ";" OWS token [ "=" ( token / quoted-string ) ]`
                while self.semicolon() {
                    self.token()?;
                    if self.eat(b'=') {
                        self.token_or_quoted()?;
                    }
                }
                break;
            }
            self.token()?;
            if !self.eat(b'=') {
                return None;
            }
            self.token_or_quoted()?;
            range.has_params = true;
        }
        Some(range)
    }

    /// `( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
    fn qvalue(&mut self) -> Option<u16> {
        let whole = self.peek()?;
        if whole != b'0' && whole != b'1' {
            return None;
        }
        self.i += 1;
        let mut value = if whole == b'1' { 1000 } else { 0 };
        if self.eat(b'.') {
            let mut scale = 100;
            while scale > 0 {
                match self.peek() {
                    Some(d @ b'0'..=b'9') if whole == b'0' || d == b'0' => {
                        value += u16::from(d - b'0') * scale;
                        scale /= 10;
                        self.i += 1;
                    }
                    _ => break,
                }
            }
        }
        Some(value)
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn parts(resp: HttpResponse) -> (u16, String, String, Option<&'static str>) {
        let status = resp.status().as_u16();
        let reason = resp.head().reason;
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp
            .into_body()
            .try_into_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        (status, ct, body, reason)
    }

    fn header_of(resp: &HttpResponse, name: HeaderName) -> Option<String> {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    const HTML: &str = "text/html; charset=UTF-8";
    const PLAIN: &str = "text/plain; charset=UTF-8";
    const JSON: &str = "application/json";

    #[test]
    fn negotiation_table() {
        use ErrorFormat::*;
        let cases: &[(Option<&str>, ErrorFormat)] = &[
            (None, Plain),
            (Some(""), Plain),
            (Some("   "), Plain),
            (Some(","), Plain),
            (Some("text/plain"), Plain),
            (Some("image/png, text/plain;q=0.5"), Plain),
            (Some("application/json"), Json),
            (Some("APPLICATION/JSON"), Json),
            (Some("application/*"), Json),
            (Some("application/json, */*;q=0.1"), Json),
            (Some("text/html;q=0.5, application/json"), Json),
            (Some("*/*"), Html),
            (Some("text/html"), Html),
            (Some("text/*"), Html),
            (Some("application/json, text/html"), Html),
            (Some("*/*;q=0.8, application/json;q=0.8"), Html),
            // Parameters on a range never match the bare offer.
            (Some("application/json; charset=utf-8"), Plain),
            (Some("application/json;charset=utf-8, */*;q=0.2"), Html),
            // The most specific range decides, even with q=0.
            (Some("*/*, text/html;q=0"), Json),
            (Some("application/json;q=0, text/html;q=0"), Plain),
            (Some("text/html;q=0, text/html"), Plain),
            (
                Some("text/html;level=1;q=0.9;ext=\"a b\";flag, application/json;q=0.5"),
                Json,
            ),
            (Some("application/json;q=1.000"), Json),
            (Some("application/json;Q=0.001"), Json),
            (Some(",, application/json ,"), Json),
            (Some("text/plain,\tapplication/json"), Json),
            // Invalid headers: WebOb accepts every offer → HTML.
            (Some("json"), Html),
            (Some("application/json;q=2"), Html),
            (Some("application/json;q=0.1234"), Html),
            (Some("application/json;q=1.5"), Html),
            (Some("application/json;"), Html),
            (Some("application/json;charset"), Html),
            (Some("text/plain, foo"), Html),
            (Some("application/json;x=\"unterminated"), Html),
            (Some("application/json, é"), Html),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(*accept), *want, "Accept: {accept:?}");
        }
    }

    #[test]
    fn not_found_explanation_only_in_three_formats() {
        let err = Error::not_found("Image abc not found.");

        let (status, ct, body, reason) = parts(render(&err, Some("application/json")));
        assert_eq!(
            (status, ct.as_str(), reason),
            (404, JSON, Some("Not Found"))
        );
        assert_eq!(
            body,
            r#"{"message": "Image abc not found.<br /><br />\n\n\n", "code": "404 Not Found", "title": "Not Found"}"#
        );

        let (_, ct, body, _) = parts(render(&err, Some("*/*")));
        assert_eq!(ct, HTML);
        assert_eq!(
            body,
            "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  Image abc not found.<br /><br />\n\n\n\n </body>\n</html>"
        );

        for accept in [None, Some(""), Some("text/plain")] {
            let (_, ct, body, _) = parts(render(&err, accept));
            assert_eq!(ct, PLAIN);
            assert_eq!(body, "404 Not Found\n\nImage abc not found.\n\n   ");
        }
    }

    #[test]
    fn forbidden_with_detail() {
        let err = Error::Forbidden(Msg::Detail("Owner can't be updated by non admin.".into()));
        let (status, ct, body, _) = parts(render(&err, Some("application/json")));
        assert_eq!((status, ct.as_str()), (403, JSON));
        assert_eq!(
            body,
            r#"{"message": "Access was denied to this resource.<br /><br />\nOwner can't be updated by non admin.\n\n", "code": "403 Forbidden", "title": "Forbidden"}"#
        );
        let (_, ct, body, _) = parts(render(&err, Some("text/html")));
        assert_eq!(ct, HTML);
        assert_eq!(
            body,
            "<html>\n <head>\n  <title>403 Forbidden</title>\n </head>\n <body>\n  <h1>403 Forbidden</h1>\n  Access was denied to this resource.<br /><br />\nOwner can&#x27;t be updated by non admin.\n\n\n </body>\n</html>"
        );
        let (_, ct, body, _) = parts(render(&err, None));
        assert_eq!(ct, PLAIN);
        assert_eq!(
            body,
            "403 Forbidden\n\nAccess was denied to this resource.\n\n Owner can't be updated by non admin.  "
        );
    }

    #[test]
    fn class_defaults_and_titles() {
        // (error, status, status line, explanation as it appears in JSON)
        let cases: Vec<(Error, u16, &str, &str)> = vec![
            (
                Error::BadRequest(Msg::Default),
                400,
                "400 Bad Request",
                "The server could not comply with the request since it is either malformed or otherwise incorrect.",
            ),
            (
                Error::Unauthorized,
                401,
                "401 Unauthorized",
                "This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.",
            ),
            (Error::Forbidden(Msg::Default), 403, "403 Forbidden", "Access was denied to this resource."),
            (Error::NotFound(Msg::Default), 404, "404 Not Found", "The resource could not be found."),
            (
                Error::Conflict(Msg::Default),
                409,
                "409 Conflict",
                "There was a conflict when trying to complete your request.",
            ),
            (
                Error::Gone(Msg::Default),
                410,
                "410 Gone",
                "This resource is no longer available. No forwarding address is given.",
            ),
            (
                Error::PayloadTooLarge(Msg::Default),
                413,
                "413 Request Entity Too Large",
                "The body of your request was too large for this server.",
            ),
            (
                Error::RangeNotSatisfiable(1024, Msg::Default),
                416,
                "416 Request Range Not Satisfiable",
                "The Range requested is not available.",
            ),
            (
                Error::Internal("db exploded at 10.0.0.1".into()),
                500,
                "500 Internal Server Error",
                "The server has either erred or is incapable of performing the requested operation.",
            ),
            (
                Error::Unavailable("keystone down".into()),
                503,
                "503 Service Unavailable",
                "The server is currently unavailable. Please try again at a later time.",
            ),
        ];
        for (err, code, line, expl) in cases {
            assert_eq!(err.status_code().as_u16(), code);
            assert_eq!(status_line(code), line);
            let title = &line[4..];
            let (status, ct, body, reason) = parts(render(&err, Some("application/json")));
            assert_eq!((status, ct.as_str(), reason), (code, JSON, Some(title)));
            assert_eq!(
                body,
                format!(
                    r#"{{"message": "{expl}<br /><br />\n\n\n", "code": "{line}", "title": "{title}"}}"#
                )
            );
            assert!(!body.contains("10.0.0.1") && !body.contains("keystone down"));
        }
    }

    #[test]
    fn class_defaults_in_plain_and_html() {
        let (_, _, body, _) = parts(render(&Error::BadRequest(Msg::Default), None));
        assert_eq!(
            body,
            "400 Bad Request\n\nThe server could not comply with the request since it is either malformed or otherwise incorrect.\n\n   "
        );
        let (_, _, body, _) = parts(render(&Error::Unauthorized, Some("text/html")));
        assert_eq!(
            body,
            "<html>\n <head>\n  <title>401 Unauthorized</title>\n </head>\n <body>\n  <h1>401 Unauthorized</h1>\n  This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.<br /><br />\n\n\n\n </body>\n</html>"
        );
        // A caller's own line breaks are kept (JSON) or folded (plain text).
        let err = Error::bad_request("a\r\nb");
        let (_, _, body, _) = parts(render(&err, None));
        assert_eq!(body, "400 Bad Request\n\na b\n\n   ");
        let (_, _, body, _) = parts(render(&err, Some("application/json")));
        assert!(body.starts_with(r#"{"message": "a\r\nb<br />"#));
    }

    #[test]
    fn bad_request_explanation_html_escaped() {
        let err = Error::bad_request("Attribute 'x' <y> & \"z\" é 😀");
        let (_, _, body, _) = parts(render(&err, Some("text/html")));
        assert!(body.contains(
            "  Attribute &#x27;x&#x27; &lt;y&gt; &amp; &quot;z&quot; &#233; &#128512;<br /><br />\n\n\n\n </body>"
        ));
        let (_, _, body, _) = parts(render(&err, Some("application/json")));
        assert_eq!(
            body,
            r#"{"message": "Attribute 'x' <y> & \"z\" \u00e9 \ud83d\ude00<br /><br />\n\n\n", "code": "400 Bad Request", "title": "Bad Request"}"#
        );
        // Plain text drops anything tag-shaped, as WebOb's strip_tags does.
        let (_, _, body, _) = parts(render(&err, None));
        assert_eq!(
            body,
            "400 Bad Request\n\nAttribute 'x'  & \"z\" é 😀\n\n   "
        );
    }

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
    fn method_not_allowed_three_formats() {
        let resp = method_not_allowed("PATCH", "GET, POST", Some("application/json"));
        assert_eq!(
            header_of(&resp, header::ALLOW).as_deref(),
            Some("GET, POST")
        );
        let (status, ct, body, reason) = parts(resp);
        assert_eq!(
            (status, ct.as_str(), reason),
            (405, JSON, Some("Method Not Allowed"))
        );
        assert_eq!(
            body,
            r#"{"message": "The method PATCH is not allowed for this resource. <br /><br />\n", "code": "405 Method Not Allowed", "title": "Method Not Allowed"}"#
        );
        let (_, ct, body, _) = parts(method_not_allowed("HEAD", "GET, PUT", Some("*/*")));
        assert_eq!(ct, HTML);
        assert_eq!(
            body,
            "<html>\n <head>\n  <title>405 Method Not Allowed</title>\n </head>\n <body>\n  <h1>405 Method Not Allowed</h1>\n  The method HEAD is not allowed for this resource. <br /><br />\n\n </body>\n</html>"
        );
        let (_, ct, body, _) = parts(method_not_allowed("POST", "GET", None));
        assert_eq!(ct, PLAIN);
        assert_eq!(
            body,
            "405 Method Not Allowed\n\nThe method POST is not allowed for this resource. \n\n "
        );
    }

    #[test]
    fn unsupported_media_type_uses_request_content_type() {
        let detail = "Image PATCH expects Content-Type one of: application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch";
        let err = Error::UnsupportedMediaType(Msg::Detail(detail.into()));
        let (status, ct, body, _) = parts(render_with(
            &err,
            Some("application/json"),
            Some("application/json"),
        ));
        assert_eq!((status, ct.as_str()), (415, JSON));
        assert_eq!(
            body,
            format!(
                r#"{{"message": "The request media type application/json is not supported by this server.\n<br /><br />\n{detail}", "code": "415 Unsupported Media Type", "title": "Unsupported Media Type"}}"#
            )
        );
        let (_, _, body, _) = parts(render_with(&err, None, Some("text/x-<b>")));
        assert_eq!(
            body,
            format!("415 Unsupported Media Type\n\nThe request media type text/x- is not supported by this server. \n\n {detail}")
        );
        let (_, _, body, _) = parts(render_with(&err, Some("text/html"), Some("a/<b>")));
        assert!(body.contains("  The request media type a/&lt;b&gt; is not supported by this server.\n<br /><br />\nImage PATCH"));
        // An explanation is shown where the detail goes; absent type is empty.
        let err = Error::UnsupportedMediaType(Msg::Explanation("nope".into()));
        let (_, _, body, _) = parts(render(&err, None));
        assert_eq!(
            body,
            "415 Unsupported Media Type\n\nThe request media type  is not supported by this server. \n\n nope"
        );
    }

    #[test]
    fn extra_headers() {
        let resp = render(&Error::RangeNotSatisfiable(1024, Msg::Default), None);
        assert_eq!(
            header_of(&resp, header::CONTENT_RANGE).as_deref(),
            Some("bytes */1024")
        );
        let resp = unauthorized(Some("application/json"), Some("http://keystone:5000"));
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(
            header_of(&resp, header::WWW_AUTHENTICATE).as_deref(),
            Some("Keystone uri=\"http://keystone:5000\"")
        );
        let resp = unauthorized(None, None);
        assert!(resp.headers().get(header::WWW_AUTHENTICATE).is_none());
        let (_, ct, body, _) = parts(resp);
        assert_eq!(ct, PLAIN);
        assert!(body.starts_with("401 Unauthorized\n\nThis server could not verify"));
        // A value that cannot be a header is dropped, not turned into a 500.
        let resp = method_not_allowed("GET", "GET\nPOST", None);
        assert_eq!(resp.status().as_u16(), 405);
        assert!(resp.headers().get(header::ALLOW).is_none());
    }

    #[test]
    fn response_error_renders_plain() {
        let err = Error::conflict("Image ID x already exists!");
        let (status, ct, body, _) = parts(err.error_response());
        assert_eq!((status, ct.as_str()), (409, PLAIN));
        assert_eq!(body, "409 Conflict\n\nImage ID x already exists!\n\n   ");
    }

    #[test]
    fn render_request_reads_headers() {
        use actix_web::test::TestRequest;
        let req = TestRequest::default()
            .insert_header((header::ACCEPT, "text/plain"))
            .append_header((header::ACCEPT, "application/json"))
            .insert_header((header::CONTENT_TYPE, "application/xml"))
            .to_http_request();
        assert_eq!(
            accept_value(&req).as_deref(),
            Some("text/plain,application/json")
        );
        let err = Error::UnsupportedMediaType(Msg::Default);
        let (_, ct, body, _) = parts(render_request(&err, &req));
        assert_eq!(ct, JSON);
        assert!(body.contains("The request media type application/xml is not supported"));
        let req = TestRequest::default().to_http_request();
        assert_eq!(accept_value(&req), None);
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
