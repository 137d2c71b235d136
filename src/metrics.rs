//! Prometheus metrics: one registry, one middleware that observes every request (route
//! template, method, status, latency), and `/metrics` in the text exposition format.
//! Handlers do not count by hand; the notifier's counters are read at scrape time.

use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::app::AppState;
use crate::error::{Error, Msg};
use crate::notify::Notifier;

/// The label of requests that matched no route (a bounded label set whatever the paths).
const UNMATCHED: &str = "<unmatched>";

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    queue_depth: IntGauge,
    connected: IntGauge,
    dropped: IntCounter,
    published: IntCounter,
    failed: IntCounter,
    /// One scrape at a time copies the notifier's counters.
    scrape: Mutex<()>,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> Result<T, String> {
    r.register(Box::new(c.clone()))
        .map_err(|e| format!("metrics: {e}"))?;
    Ok(c)
}

impl Metrics {
    pub fn new() -> Result<Metrics, String> {
        let r = Registry::new();
        let e = |e: prometheus::Error| format!("metrics: {e}");
        Ok(Metrics {
            requests: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "glint_http_requests_total",
                        "HTTP requests by route template, method and status.",
                    ),
                    &["route", "method", "status"],
                )
                .map_err(e)?,
            )?,
            duration: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "glint_http_request_duration_seconds",
                        "Time to the response head, by route template and method.",
                    ),
                    &["route", "method"],
                )
                .map_err(e)?,
            )?,
            queue_depth: reg(
                &r,
                IntGauge::new(
                    "glint_notifications_queue_depth",
                    "Notifications waiting for the broker.",
                )
                .map_err(e)?,
            )?,
            connected: reg(
                &r,
                IntGauge::new(
                    "glint_notifications_broker_connected",
                    "1 while the notification publisher holds a broker connection.",
                )
                .map_err(e)?,
            )?,
            dropped: reg(
                &r,
                IntCounter::new(
                    "glint_notifications_dropped_total",
                    "Notifications dropped because the queue was full.",
                )
                .map_err(e)?,
            )?,
            published: reg(
                &r,
                IntCounter::new(
                    "glint_notifications_published_total",
                    "Notifications confirmed by the broker.",
                )
                .map_err(e)?,
            )?,
            failed: reg(
                &r,
                IntCounter::new(
                    "glint_notifications_failed_total",
                    "Notifications lost with a failed broker connection.",
                )
                .map_err(e)?,
            )?,
            registry: r,
            scrape: Mutex::new(()),
        })
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.duration
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// The text exposition of every metric.
    pub fn render(&self, notifier: &Notifier) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let _one = self.scrape.lock();
        let stats = notifier.stats();
        let set = |c: &IntCounter, v: u64| {
            c.reset();
            c.inc_by(v);
        };
        set(&self.dropped, stats.dropped.load(Relaxed));
        set(&self.published, stats.published.load(Relaxed));
        set(&self.failed, stats.failed.load(Relaxed));
        self.queue_depth.set(notifier.queue_depth() as i64);
        self.connected.set(i64::from(stats.connected.load(Relaxed)));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics: encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

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
