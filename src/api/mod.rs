//! HTTP: routing, the request-id/error-rendering middleware, thin handlers.

pub mod body;
pub mod context;
pub mod error;
pub mod external_url;
pub mod healthcheck;
pub mod json;
pub mod metrics;
pub mod request_id;
pub mod v2;
pub mod versions;

use std::fmt;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};

use crate::app::AppState;
use crate::error::Error;

/// 405 for a known path: rendered with `Allow` by the middleware.
#[derive(Debug)]
pub struct MethodNotAllowed {
    pub method: String,
    pub allow: &'static str,
}

impl fmt::Display for MethodNotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "method {} not allowed", self.method)
    }
}

impl ResponseError for MethodNotAllowed {
    fn status_code(&self) -> StatusCode {
        StatusCode::METHOD_NOT_ALLOWED
    }
    fn error_response(&self) -> HttpResponse {
        error::method_not_allowed(&self.method, self.allow, None)
    }
}

/// Collapse runs of `/` in the path before routing: Glance answers `GET /v2//images` as
/// `GET /v2/images` (WebOb skips empty segments while the version is peeled off the path).
/// Encoded slashes (`%2F`) are data and stay as they are.
fn collapse_slashes(req: &mut ServiceRequest) {
    let path = req.path();
    if !path.contains("//") {
        return;
    }
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && collapsed.ends_with('/') {
            continue;
        }
        collapsed.push(c);
    }
    let query = req.query_string();
    let new = if query.is_empty() {
        collapsed
    } else {
        format!("{collapsed}?{query}")
    };
    if let Ok(uri) = new.parse::<actix_web::http::Uri>() {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}

/// Rewrite `/v2.N/...` to `/v2/...` before routing.
fn rewrite_version_alias(req: &mut ServiceRequest) {
    let path = req.path();
    let Some(rest) = path.strip_prefix('/') else {
        return;
    };
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    if first == "v2" || !versions::is_v2_alias(first) {
        return;
    }
    let query = req.query_string();
    let new = if query.is_empty() {
        format!("/v2/{tail}")
    } else {
        format!("/v2/{tail}?{query}")
    };
    if let Ok(uri) = new.parse::<actix_web::http::Uri>() {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}

/// Every response: request id header, Glance error bodies negotiated on `Accept`, an access log
/// line. Everything logged while the request is served (its WARN and ERROR lines included) is
/// inside the `request` span, so it carries the request id.
pub async fn middleware(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    use tracing::Instrument;
    let started = Instant::now();
    let rid = request_id::choose(req.headers().get(request_id::HEADER));
    let method = req.method().clone();
    // The path and query as the client sent them, before any rewriting.
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    let span = tracing::info_span!("request", request_id = %rid);
    let res = serve_request(req, next, rid.clone())
        .instrument(span)
        .await?;
    // Who asked (once authenticated), and the query as sent: what an operator needs to find a
    // request in the log; tokens are in headers, never here. Outside the span: the line has
    // the id as a field of its own.
    let caller = actix_web::HttpMessage::extensions(res.request())
        .get::<context::Caller>()
        .cloned();
    let (user_id, project_id) = match &caller {
        Some(c) => (c.user_id.as_deref(), c.project_id.as_deref()),
        None => (None, None),
    };
    tracing::info!(
        request_id = %rid,
        user_id = %user_id.unwrap_or("-"),
        project_id = %project_id.unwrap_or("-"),
        %method,
        path = %target,
        status = res.status().as_u16(),
        duration_ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    Ok(res)
}

async fn serve_request(
    mut req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
    rid: String,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let accept = error::accept_value(req.request());
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let method = req.method().clone();
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<AppState>>();
    let www_authenticate = state.and_then(|s| {
        let k = &s.config.keystone;
        k.www_authenticate_uri
            .clone()
            .or_else(|| k.auth_url.clone())
    });
    // A 401 from a server that cannot validate any token says what to configure.
    let unauthorized_hint = state
        .filter(|s| {
            s.config.auth_strategy == crate::config::AuthStrategy::Keystone && s.tokens.is_none()
        })
        .map(|_| crate::auth::NO_KEYSTONE_HINT);
    // OPTIONS is answered with an empty 200 everywhere, as Glance's stack does.
    if method == actix_web::http::Method::OPTIONS {
        let res = req.into_response(HttpResponse::Ok().finish());
        return Ok(with_request_id(res, &rid));
    }
    // No id, member or tag may hold a NUL (PostgreSQL text cannot): nothing to find.
    if path.to_ascii_lowercase().contains("%00") {
        let res = req.into_response(error::render(
            &Error::NotFound(crate::error::Msg::Default),
            accept.as_deref(),
        ));
        return Ok(with_request_id(res.map_into_boxed_body(), &rid));
    }
    // Glance cannot decode such a path and says so; never store a lossy-decoded id or tag.
    if std::str::from_utf8(&percent_encoding::percent_decode_str(&path).collect::<Vec<u8>>())
        .is_err()
    {
        let err = Error::bad_request(
            "Error decoding your request. Either the URL or the request body contained characters \
             that could not be decoded by Glance",
        );
        let res = req.into_response(error::render(&err, accept.as_deref()));
        return Ok(with_request_id(res.map_into_boxed_body(), &rid));
    }
    collapse_slashes(&mut req);
    rewrite_version_alias(&mut req);
    actix_web::HttpMessage::extensions_mut(&req).insert(request_id::RequestId(rid.clone()));
    let res = next.call(req).await?.map_into_boxed_body();
    let res = match res.response().error() {
        Some(e) => {
            let rendered = if let Some(err) = e.as_error::<Error>() {
                Some(render_error(
                    err,
                    &method,
                    accept.as_deref(),
                    content_type.as_deref(),
                    &www_authenticate,
                    unauthorized_hint,
                ))
            } else if let Some(m) = e.as_error::<MethodNotAllowed>() {
                Some(error::method_not_allowed(
                    &m.method,
                    m.allow,
                    accept.as_deref(),
                ))
            } else {
                // actix's own errors (bad path parameters, payload): keep the status, Glance's body.
                let status = e.as_response_error().status_code();
                let mapped = match status.as_u16() {
                    400 => Error::BadRequest(crate::error::Msg::Default),
                    404 => Error::NotFound(crate::error::Msg::Default),
                    413 => Error::PayloadTooLarge(crate::error::Msg::Default),
                    s if s >= 500 => Error::internal(e.to_string()),
                    _ => Error::BadRequest(crate::error::Msg::Default),
                };
                Some(error::render(&mapped, accept.as_deref()))
            };
            match rendered {
                Some(r) => res.into_response(r),
                None => res,
            }
        }
        None => res,
    };
    Ok(with_request_id(res, &rid))
}

/// Our errors, with the headers some statuses need (401 `WWW-Authenticate`, PATCH 415 `Accept-Patch`).
fn render_error(
    err: &Error,
    method: &actix_web::http::Method,
    accept: Option<&str>,
    content_type: Option<&str>,
    www_authenticate: &Option<String>,
    unauthorized_hint: Option<&str>,
) -> HttpResponse {
    if let Error::Unauthorized = err {
        return error::unauthorized(accept, www_authenticate.as_deref(), unauthorized_hint);
    }
    let mut res = error::render_with(err, accept, content_type);
    if matches!(err, Error::UnsupportedMediaType(_)) && method == actix_web::http::Method::PATCH {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("accept-patch"),
            HeaderValue::from_static(crate::domain::patch::ACCEPT_PATCH),
        );
    }
    res
}

fn with_request_id<B>(mut res: ServiceResponse<B>, rid: &str) -> ServiceResponse<B> {
    if let Ok(v) = HeaderValue::from_str(rid) {
        res.headers_mut().insert(request_id::header_name(), v);
    }
    res
}

/// All routes; shared by `main` and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions::multiple_choices))
        .route("/versions", web::to(versions::list))
        .route("/versions/{tail:.*}", web::to(versions::list))
        .route("/healthcheck", web::get().to(healthcheck::healthcheck))
        .route("/healthcheck", web::head().to(healthcheck::healthcheck))
        .route("/metrics", web::get().to(metrics::handler))
        .configure(v2::configure)
        .default_service(web::to(versions::multiple_choices));
}

/// Build the application with its state.
pub fn app(
    state: AppState,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let ui = state.config.ui.enabled;
    actix_web::App::new()
        .app_data(web::Data::new(state))
        .wrap(actix_web::middleware::from_fn(middleware))
        .wrap(actix_web::middleware::from_fn(metrics::middleware))
        .configure(|c| crate::ui::configure(c, ui))
        .configure(configure)
}
