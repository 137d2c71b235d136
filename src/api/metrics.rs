//! The request side of the metrics: one middleware that observes every request (route
//! template, method, status, latency) and `GET /metrics`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::error::{Error, Msg};

/// The label of requests that matched no route (a bounded label set whatever the paths).
const UNMATCHED: &str = "<unmatched>";

/// A method as a label: the standard ones by name, anything else as `OTHER`.
fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method as M;
    match *m {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Observe every request, outside the error-rendering middleware so the status is final.
pub async fn middleware(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.metrics.clone());
    let started = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await?.map_into_boxed_body();
    if let Some(m) = metrics {
        let route = res.request().match_pattern();
        m.observe(
            route.as_deref().unwrap_or(UNMATCHED),
            method,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// `GET /metrics`: 404 when `[metrics] enabled = false`.
pub async fn handler(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let Some(m) = &state.metrics else {
        return Err(Error::NotFound(Msg::Default));
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", "text/plain; version=0.0.4; charset=utf-8"))
        .body(m.render(&state.notifier)))
}
