//! Outbound notifications as Glance sends them through oslo.messaging.
//!
//! Services call the [`Notifier`] after their transaction has committed, so nothing is sent
//! for a change that was rolled back. Building a message and handing it over never blocks and
//! never fails a request: the broker drivers (`messaging`, `messagingv2`) put it on a bounded
//! queue drained by one publisher ([`amqp`]) on a thread of its own; when the queue is full
//! the message is dropped, counted and (at most every few seconds) logged.

pub mod amqp;
pub mod envelope;
pub mod payload;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::NaiveDateTime;
use serde_json::Value;
use tokio::sync::mpsc;

pub use envelope::{Message, Priority};

use crate::config::notifications::{Driver, NotificationsConfig};
use crate::domain::image::Image;
use crate::domain::member::Member;
use crate::domain::task::Task;

/// A message ready for the broker: its routing priority and the bytes of its driver's format.
pub struct Outgoing {
    pub event_type: String,
    pub priority: Priority,
    pub body: Vec<u8>,
}

/// Counters of the broker delivery, read by tests and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Confirmed by the broker.
    pub published: AtomicU64,
    /// Handed to the broker but not confirmed (the connection failed under it).
    pub failed: AtomicU64,
    /// Never handed over: the queue was full (broker down or slow).
    pub dropped: AtomicU64,
    pub connected: AtomicBool,
}

#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: NotificationsConfig,
    tx: Option<mpsc::Sender<Outgoing>>,
    stats: Arc<Stats>,
    last_drop_warning: Mutex<Option<Instant>>,
    /// Tells the publisher glint is stopping, and hears when it has finished.
    stop: Option<(
        tokio::sync::watch::Sender<bool>,
        Mutex<std::sync::mpsc::Receiver<()>>,
    )>,
}

/// How long a stopping glint waits for queued notifications to reach the broker.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Drop for Inner {
    /// The last handle is gone (the server has stopped): let the publisher send what is
    /// queued, for at most `DRAIN_LIMIT`, so a restart does not lose the last events.
    fn drop(&mut self) {
        let Some((stopping, done)) = self.stop.take() else {
            return;
        };
        self.tx = None;
        let _ = stopping.send(true);
        let finished = match done.into_inner() {
            Ok(done) => done.recv_timeout(DRAIN_LIMIT).is_ok(),
            Err(_) => false,
        };
        if !finished {
            tracing::warn!("notifications: stopped before every queued notification was sent");
        }
    }
}

impl Notifier {
    /// Start the publisher when a broker driver is configured.
    pub fn start(config: &NotificationsConfig) -> Result<Notifier, String> {
        let stats = Arc::new(Stats::default());
        let mut stop = None;
        let tx = if config.drivers.iter().any(|d| d.uses_broker()) {
            let (tx, rx) = mpsc::channel(config.queue_size);
            let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
            let (done_tx, done) = std::sync::mpsc::channel();
            stop = Some((stopping_tx, Mutex::new(done)));
            let publisher = amqp::Publisher {
                config: config.clone(),
                rx,
                stats: stats.clone(),
                stopping,
            };
            // A thread and runtime of its own: the publisher outlives no request and no
            // actix worker, and works the same whichever runtime built the state.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the notification publisher: {e}"))?;
            std::thread::Builder::new()
                .name("glint-notify".into())
                .spawn(move || {
                    runtime.block_on(publisher.run());
                    let _ = done_tx.send(());
                })
                .map_err(|e| format!("cannot start the notification publisher: {e}"))?;
            let hosts: Vec<String> = config
                .transport
                .hosts
                .iter()
                .map(|h| format!("{}:{}", h.host, h.port))
                .collect();
            tracing::info!(
                ?hosts,
                exchange = %config.control_exchange,
                topics = ?config.topics,
                "notifications: publishing to the broker"
            );
            Some(tx)
        } else {
            None
        };
        Ok(Notifier {
            inner: Arc::new(Inner {
                config: config.clone(),
                tx,
                stats,
                last_drop_warning: Mutex::new(None),
                stop,
            }),
        })
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Messages waiting for the broker.
    pub fn queue_depth(&self) -> usize {
        self.inner
            .tx
            .as_ref()
            .map_or(0, |tx| tx.max_capacity() - tx.capacity())
    }

    /// Whether `event_type` would be sent at all (drivers configured, not disabled).
    pub fn wants(&self, event_type: &str) -> bool {
        let c = &self.inner.config;
        c.drivers.iter().any(|d| *d != Driver::Noop) && c.enabled(event_type)
    }

    /// Send one notification through every configured driver.
    pub fn emit(&self, event_type: &str, priority: Priority, payload: Value) {
        if !self.wants(event_type) {
            return;
        }
        let c = &self.inner.config;
        let msg = Message::new(&c.publisher_id, event_type, priority, payload);
        for driver in &c.drivers {
            match driver {
                Driver::Noop => {}
                Driver::Log => log(&msg),
                Driver::Messaging => self.enqueue(&msg, msg.v1_body()),
                Driver::MessagingV2 => self.enqueue(&msg, msg.v2_body()),
            }
        }
    }

    fn enqueue(&self, msg: &Message, body: Vec<u8>) {
        let Some(tx) = &self.inner.tx else { return };
        let out = Outgoing {
            event_type: msg.event_type.clone(),
            priority: msg.priority,
            body,
        };
        if tx.try_send(out).is_err() {
            let dropped = self.inner.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if let Ok(mut last) = self.inner.last_drop_warning.lock() {
                amqp::warn_limited(
                    &mut last,
                    &format!(
                        "notifications: queue full (broker unreachable or slow), {} dropped; \
                         {dropped} dropped so far",
                        msg.event_type
                    ),
                );
            }
        }
    }

    pub fn image(&self, event_type: &str, img: &Image) {
        if self.wants(event_type) {
            self.emit(event_type, Priority::Info, payload::image(img));
        }
    }

    pub fn image_deleted(&self, img: &Image, at: NaiveDateTime) {
        if self.wants("image.delete") {
            self.emit(
                "image.delete",
                Priority::Info,
                payload::image_deleted(img, at),
            );
        }
    }

    pub fn member(&self, event_type: &str, m: &Member) {
        if self.wants(event_type) {
            self.emit(event_type, Priority::Info, payload::member(m));
        }
    }

    pub fn member_deleted(&self, m: &Member, at: NaiveDateTime) {
        if self.wants("image.member.delete") {
            self.emit(
                "image.member.delete",
                Priority::Info,
                payload::member_deleted(m, at),
            );
        }
    }

    /// A metadef event (`metadef_namespace.*`, ...) with its ready payload.
    pub fn metadef(&self, event_type: &str, payload: impl FnOnce() -> Value) {
        if self.wants(event_type) {
            self.emit(event_type, Priority::Info, payload());
        }
    }

    /// `task.create`, `task.run`, `task.processing`, `task.success`, `task.failure`.
    pub fn task(&self, event_type: &str, t: &Task) {
        if self.wants(event_type) {
            self.emit(
                event_type,
                Priority::Info,
                payload::task(t, chrono::Utc::now().naive_utc()),
            );
        }
    }

    /// `image.prepare` and `image.upload` (INFO): the image with its import progress.
    pub fn image_with_import(&self, event_type: &str, img: &Image, backend: Option<&str>) {
        if self.wants(event_type) {
            self.emit(
                event_type,
                Priority::Info,
                payload::image_with_import(img, backend),
            );
        }
    }

    /// A failed `image.upload` (ERROR): Glance's payload is the error text alone.
    pub fn upload_failed(&self, text: &str) {
        self.emit(
            "image.upload",
            Priority::Error,
            Value::String(text.to_owned()),
        );
    }

    /// `image.send` after a download: ERROR when the bytes sent are not the `expected` count
    /// (the image's size, or the requested range's length).
    pub fn image_send(
        &self,
        img: &Image,
        bytes_sent: u64,
        expected: u64,
        project: Option<&str>,
        user: Option<&str>,
    ) {
        if self.wants("image.send") {
            let priority = if bytes_sent == expected {
                Priority::Info
            } else {
                Priority::Error
            };
            self.emit(
                "image.send",
                priority,
                payload::image_send(bytes_sent, img, project, user),
            );
        }
    }
}

/// The `log` driver: the message as JSON, at the notification's priority.
fn log(msg: &Message) {
    let text = envelope::python_json(&msg.to_value());
    let event_type = msg.event_type.as_str();
    match msg.priority {
        Priority::Info => {
            tracing::info!(target: "oslo.messaging.notification", event_type, "{text}")
        }
        Priority::Warn => {
            tracing::warn!(target: "oslo.messaging.notification", event_type, "{text}")
        }
        Priority::Error => {
            tracing::error!(target: "oslo.messaging.notification", event_type, "{text}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    fn config(text: &str) -> NotificationsConfig {
        let raw = RawConfig::from_text(text).unwrap();
        crate::config::Config::from_raw(&raw, std::path::Path::new("/tmp"))
            .unwrap()
            .notifications
    }

    #[test]
    fn nothing_is_sent_without_drivers_or_when_disabled() {
        let n = Notifier::start(&config("")).unwrap();
        assert!(!n.wants("image.create"));
        let n = Notifier::start(&config(
            "[DEFAULT]\ndisabled_notifications = image.update\n\
             [oslo_messaging_notifications]\ndriver = log\n",
        ))
        .unwrap();
        assert!(n.wants("image.create"));
        assert!(!n.wants("image.update"));
        assert_eq!(n.queue_depth(), 0);
    }
}
