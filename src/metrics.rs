//! Prometheus metrics: one registry and its series, rendered in the text exposition format.
//! Requests are observed by one middleware (`api::metrics`), never by handlers; the
//! notifier's counters are read at scrape time, and so are the process-wide [`PROCESS`]
//! counters that the database pool, the token cache and the data paths bump (atomics: those
//! layers need no handle on the registry, and counting never waits).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use prometheus::{
    Counter, Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::notify::Notifier;

/// Counters of the whole process, read at scrape time.
#[derive(Default)]
pub struct Process {
    pub pool_acquired: AtomicU64,
    /// Microseconds spent waiting for a pooled connection.
    pub pool_wait_us: AtomicU64,
    pub pool_errors: AtomicU64,
    pub token_cache_hits: AtomicU64,
    pub token_cache_misses: AtomicU64,
    pub keystone_calls: AtomicU64,
    pub keystone_us: AtomicU64,
    pub keystone_failures: AtomicU64,
    pub bytes_uploaded: AtomicU64,
    pub bytes_downloaded: AtomicU64,
    pub uploads_in_progress: AtomicI64,
    pub imports_in_progress: AtomicI64,
}

pub static PROCESS: Process = Process {
    pool_acquired: AtomicU64::new(0),
    pool_wait_us: AtomicU64::new(0),
    pool_errors: AtomicU64::new(0),
    token_cache_hits: AtomicU64::new(0),
    token_cache_misses: AtomicU64::new(0),
    keystone_calls: AtomicU64::new(0),
    keystone_us: AtomicU64::new(0),
    keystone_failures: AtomicU64::new(0),
    bytes_uploaded: AtomicU64::new(0),
    bytes_downloaded: AtomicU64::new(0),
    uploads_in_progress: AtomicI64::new(0),
    imports_in_progress: AtomicI64::new(0),
};

/// Adds `d` to a microsecond counter.
pub fn add_time(counter: &AtomicU64, d: Duration) {
    counter.fetch_add(
        u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// One transfer in progress on `gauge` (uploads, imports) for as long as it lives.
pub struct InProgress(&'static AtomicI64);

impl InProgress {
    pub fn start(gauge: &'static AtomicI64) -> InProgress {
        gauge.fetch_add(1, Ordering::Relaxed);
        InProgress(gauge)
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The scrape-time series of [`PROCESS`]: name, help, and how to read it.
enum Read {
    Count(&'static AtomicU64),
    Seconds(&'static AtomicU64),
    Gauge(&'static AtomicI64),
}

fn process_series() -> [(&'static str, &'static str, Read); 12] {
    let p = &PROCESS;
    [
        (
            "glint_db_pool_acquired_total",
            "Connections taken from the database pool.",
            Read::Count(&p.pool_acquired),
        ),
        (
            "glint_db_pool_wait_seconds_total",
            "Time spent waiting for a pooled database connection.",
            Read::Seconds(&p.pool_wait_us),
        ),
        (
            "glint_db_pool_errors_total",
            "Pool requests that got no connection (timeout or database down).",
            Read::Count(&p.pool_errors),
        ),
        (
            "glint_token_cache_hits_total",
            "Token validations answered from the cache.",
            Read::Count(&p.token_cache_hits),
        ),
        (
            "glint_token_cache_misses_total",
            "Token validations that asked Keystone.",
            Read::Count(&p.token_cache_misses),
        ),
        (
            "glint_keystone_calls_total",
            "Token validations sent to Keystone.",
            Read::Count(&p.keystone_calls),
        ),
        (
            "glint_keystone_call_seconds_total",
            "Time spent in Keystone token validations.",
            Read::Seconds(&p.keystone_us),
        ),
        (
            "glint_keystone_failures_total",
            "Keystone validations that failed (unreachable, 5xx, unreadable).",
            Read::Count(&p.keystone_failures),
        ),
        (
            "glint_bytes_uploaded_total",
            "Image data bytes received (uploads and staging).",
            Read::Count(&p.bytes_uploaded),
        ),
        (
            "glint_bytes_downloaded_total",
            "Image data bytes sent to clients.",
            Read::Count(&p.bytes_downloaded),
        ),
        (
            "glint_uploads_in_progress",
            "Uploads and stagings receiving data.",
            Read::Gauge(&p.uploads_in_progress),
        ),
        (
            "glint_imports_in_progress",
            "Imports running.",
            Read::Gauge(&p.imports_in_progress),
        ),
    ]
}

enum Series {
    Count(IntCounter, &'static AtomicU64),
    Seconds(Counter, &'static AtomicU64),
    Gauge(IntGauge, &'static AtomicI64),
}

pub struct Metrics {
    registry: Registry,
    process: Vec<Series>,
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
            process: process_series()
                .into_iter()
                .map(|(name, help, read)| {
                    Ok(match read {
                        Read::Count(a) => {
                            Series::Count(reg(&r, IntCounter::new(name, help).map_err(e)?)?, a)
                        }
                        Read::Seconds(a) => {
                            Series::Seconds(reg(&r, Counter::new(name, help).map_err(e)?)?, a)
                        }
                        Read::Gauge(a) => {
                            Series::Gauge(reg(&r, IntGauge::new(name, help).map_err(e)?)?, a)
                        }
                    })
                })
                .collect::<Result<_, String>>()?,
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
        for series in &self.process {
            match series {
                Series::Count(c, a) => set(c, a.load(Relaxed)),
                Series::Seconds(c, a) => {
                    c.reset();
                    c.inc_by(a.load(Relaxed) as f64 / 1e6);
                }
                Series::Gauge(g, a) => g.set(a.load(Relaxed)),
            }
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics: encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
