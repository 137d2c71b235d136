//! Prometheus metrics: one registry and its series, rendered in the text exposition format.
//! Requests are observed by one middleware (`api::metrics`), never by handlers; the
//! notifier's counters are read at scrape time.

use std::sync::Mutex;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::notify::Notifier;

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
