//! The one error type that crosses layers. Each variant is a *kind* of failure
//! as Glance reports it; `api::error` is the only place that turns it into an
//! HTTP status and a WebOb-style body.

use std::fmt;

/// How Glance passed the text to WebOb: as the `explanation` (replacing the
/// class default) or as the `detail` (appended after the class default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Default,
    Explanation(String),
    Detail(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    BadRequest(Msg),
    Unauthorized,
    Forbidden(Msg),
    NotFound(Msg),
    Conflict(Msg),
    Gone(Msg),
    PayloadTooLarge(Msg),
    UnsupportedMediaType(Msg),
    /// 416; carries the data length for `Content-Range: bytes */<len>` and Glance's detail.
    RangeNotSatisfiable(u64, Msg),
    /// 503: a dependency (database, Keystone) is unreachable; safe to retry.
    Unavailable(String),
    /// 500: a bug or an unexpected infrastructure failure. The text is logged, never sent.
    Internal(String),
    /// The answer of another worker a request was proxied to (its status, any 4xx or 5xx), or
    /// 502/504 when that worker could not be reached: Glance's `proxy_response_error`.
    Proxied(u16, Msg),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_request(s: impl Into<String>) -> Self {
        Error::BadRequest(Msg::Explanation(s.into()))
    }
    pub fn forbidden(s: impl Into<String>) -> Self {
        Error::Forbidden(Msg::Explanation(s.into()))
    }
    pub fn not_found(s: impl Into<String>) -> Self {
        Error::NotFound(Msg::Explanation(s.into()))
    }
    pub fn conflict(s: impl Into<String>) -> Self {
        Error::Conflict(Msg::Explanation(s.into()))
    }
    pub fn too_large(s: impl Into<String>) -> Self {
        Error::PayloadTooLarge(Msg::Explanation(s.into()))
    }
    pub fn internal(s: impl Into<String>) -> Self {
        Error::Internal(s.into())
    }
    /// Glance's policy denial text.
    pub fn policy(rule: &str) -> Self {
        Error::forbidden(format!("You are not authorized to complete {rule} action."))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |m: &Msg| match m {
            Msg::Default => String::new(),
            Msg::Explanation(s) | Msg::Detail(s) => s.clone(),
        };
        match self {
            Error::BadRequest(m) => write!(f, "400: {}", text(m)),
            Error::Unauthorized => write!(f, "401"),
            Error::Forbidden(m) => write!(f, "403: {}", text(m)),
            Error::NotFound(m) => write!(f, "404: {}", text(m)),
            Error::Conflict(m) => write!(f, "409: {}", text(m)),
            Error::Gone(m) => write!(f, "410: {}", text(m)),
            Error::PayloadTooLarge(m) => write!(f, "413: {}", text(m)),
            Error::UnsupportedMediaType(m) => write!(f, "415: {}", text(m)),
            Error::RangeNotSatisfiable(n, m) => write!(f, "416: length {n} {}", text(m)),
            Error::Unavailable(s) => write!(f, "503: {s}"),
            Error::Internal(s) => write!(f, "500: {s}"),
            Error::Proxied(code, m) => write!(f, "{code} (proxied): {}", text(m)),
        }
    }
}

impl std::error::Error for Error {}
