//! The one place an [`Error`] becomes an HTTP response: status, headers and the
//! WebOb body negotiated on the request's `Accept`.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use super::accept::{accept_value, latin1, negotiate};
use super::webob::{build, Fragment};
use crate::error::{Error, Msg};

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
    if log && status_code_of(err).is_client_error() {
        // The client's mistake: worth a line only when debugging.
        tracing::debug!(status = status_code_of(err).as_u16(), error = ?err, "client error");
    }
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
        Error::Proxied(code, m) => Fragment::generic(*code, m),
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
/// `detail`: WebOb's detail after the standard explanation (glint's hint while no Keystone is
/// configured; Glance's 401 has none).
pub fn unauthorized(
    accept: Option<&str>,
    www_authenticate_uri: Option<&str>,
    detail: Option<&str>,
) -> HttpResponse {
    let headers = www_authenticate_uri
        .map(|uri| (header::WWW_AUTHENTICATE, format!("Keystone uri=\"{uri}\"")))
        .into_iter()
        .collect();
    let msg = detail.map_or(Msg::Default, |d| Msg::Detail(d.to_owned()));
    build(
        401,
        &Fragment::generic(401, &msg),
        negotiate(accept),
        headers,
    )
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
        Error::Proxied(code, _) => {
            StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::status_line;
    use actix_web::body::MessageBody;
    use actix_web::http::header::HeaderName;

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
    fn proxied_answers_as_glances_proxy_response_error() {
        // Glance: `HTTPGatewayTimeout('Stage host is unavailable')` when the stage host is down,
        // and a class of the remote's code and reason, without explanation, otherwise.
        let err = Error::Proxied(504, Msg::Detail("Stage host is unavailable".into()));
        let (status, _, body, reason) = parts(render(&err, Some("application/json")));
        assert_eq!((status, reason), (504, Some("Gateway Timeout")));
        assert_eq!(
            body,
            r#"{"message": "The gateway has timed out.<br /><br />\nStage host is unavailable\n\n", "code": "504 Gateway Timeout", "title": "Gateway Timeout"}"#
        );
        let err = Error::Proxied(409, Msg::Explanation(String::new()));
        let (status, _, body, _) = parts(render(&err, Some("application/json")));
        assert_eq!(status, 409);
        assert_eq!(
            body,
            r#"{"message": "<br /><br />\n\n\n", "code": "409 Conflict", "title": "Conflict"}"#
        );
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
        let resp = unauthorized(Some("application/json"), Some("http://keystone:5000"), None);
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(
            header_of(&resp, header::WWW_AUTHENTICATE).as_deref(),
            Some("Keystone uri=\"http://keystone:5000\"")
        );
        let resp = unauthorized(None, None, None);
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
}
