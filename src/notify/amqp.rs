//! The one task that owns the broker connection and publishes what the queue holds,
//! as oslo.messaging's rabbit driver lays it out: a `topic` exchange named after
//! `control_exchange`, routing key `<topic>.<priority>`, and a queue named after the routing
//! key declared and bound on first use (so notifications wait for a consumer that comes
//! later, as with Glance). Message properties are kombu's (checked against oslo.messaging
//! 18.3 on RabbitMQ): `application/json`, `utf-8`, persistent, priority 0, empty headers.
//! Publisher confirms make a lost connection noticed.
//!
//! Requests never wait here: they `try_send` into a bounded queue (`super::Notifier`). While
//! the broker is away, this task holds the queue's contents and reconnects with backoff
//! (1 s doubling to 30 s, oslo.messaging's `rabbit_retry_interval`/`rabbit_interval_max`),
//! trying the URL's hosts in turn; what does not fit in the queue is dropped and counted.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::mpsc;

use super::{Outgoing, Stats};
use crate::config::notifications::{BrokerHost, NotificationsConfig};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A broker that accepts the TCP connection but not the handshake is treated as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A publish not confirmed by then (a blocked or vanished broker) fails the connection.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// At most one warning per this interval about failures and drops.
pub(super) const LOG_EVERY: Duration = Duration::from_secs(10);

struct Session {
    conn: Connection,
    channel: Channel,
    /// `(routing key)` whose default queue was declared on this connection.
    declared: HashSet<String>,
}

pub(super) struct Publisher {
    pub config: NotificationsConfig,
    pub rx: mpsc::Receiver<Outgoing>,
    pub stats: Arc<Stats>,
    /// Set when glint stops: while the broker is away, stop waiting for it.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl Publisher {
    /// Runs until every sender is gone and the queue is empty.
    pub async fn run(mut self) {
        let mut held: Option<Outgoing> = None;
        let mut backoff = FIRST_BACKOFF;
        let mut next_host = 0usize;
        let mut last_warning: Option<Instant> = None;
        loop {
            let host = &self.config.transport.hosts[next_host % self.config.transport.hosts.len()];
            match tokio::time::timeout(CONNECT_TIMEOUT, self.connect(host)).await {
                Ok(Ok(mut session)) => {
                    tracing::info!(host = %host.host, port = host.port, "notifications: connected to the broker");
                    self.stats.connected.store(true, Ordering::Relaxed);
                    backoff = FIRST_BACKOFF;
                    let closed = self.publish_until_error(&mut session, &mut held).await;
                    self.stats.connected.store(false, Ordering::Relaxed);
                    if session.conn.status().connected() {
                        // A broker that stopped answering never confirms the close.
                        let close = session.conn.close(200, "bye".into());
                        let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
                    }
                    if closed {
                        return;
                    }
                }
                Ok(Err(e)) => warn_limited(
                    &mut last_warning,
                    &format!(
                        "notifications: cannot connect to {}:{}: {e}",
                        host.host, host.port
                    ),
                ),
                Err(_) => warn_limited(
                    &mut last_warning,
                    &format!(
                        "notifications: connecting to {}:{} timed out",
                        host.host, host.port
                    ),
                ),
            }
            if self.rx.is_closed() {
                // glint is stopping and the broker is away: what waits is lost.
                return;
            }
            next_host = next_host.wrapping_add(1);
            // Wait before the next attempt; keep one message in hand so that a closed queue
            // (glint stopping) is noticed without losing what waits.
            let sleep = tokio::time::sleep(backoff);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    _ = self.stopping.changed() => {
                        tracing::warn!("notifications: stopping while the broker is unreachable; undelivered notifications are lost");
                        return;
                    }
                    m = self.rx.recv(), if held.is_none() => match m {
                        Some(m) => held = Some(m),
                        None => return,
                    },
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn connect(&self, host: &BrokerHost) -> lapin::Result<Session> {
        let uri = AMQPUri {
            scheme: AMQPScheme::AMQP,
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: host.username.clone(),
                    password: host.password.clone(),
                },
                host: host.host.clone(),
                port: host.port,
            },
            vhost: self.config.transport.virtual_host.clone(),
            query: AMQPQueryString::default(),
        };
        let props = ConnectionProperties::default().with_connection_name("glint".into());
        let conn = Connection::connect_uri(uri, props).await?;
        let channel = conn.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channel
            .exchange_declare(
                self.config.control_exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: self.config.durable,
                    auto_delete: self.config.auto_delete,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok(Session {
            conn,
            channel,
            declared: HashSet::new(),
        })
    }

    /// Publish until the connection fails (false) or the queue is closed and empty (true).
    async fn publish_until_error(
        &mut self,
        session: &mut Session,
        held: &mut Option<Outgoing>,
    ) -> bool {
        let mut last_warning = None;
        loop {
            let msg = match held.take() {
                Some(m) => m,
                None => match self.rx.recv().await {
                    Some(m) => m,
                    None => return true,
                },
            };
            if !session.conn.status().connected() {
                // Lost while idle: keep the message for the next connection.
                *held = Some(msg);
                return false;
            }
            let outcome = tokio::time::timeout(PUBLISH_TIMEOUT, self.publish(session, &msg)).await;
            match outcome {
                Ok(Ok(())) => {
                    self.stats.published.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    warn_limited(
                        &mut last_warning,
                        &format!("notifications: publishing {} failed: {e}", msg.event_type),
                    );
                    return false;
                }
                Err(_) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        event_type = %msg.event_type,
                        "notifications: the broker did not confirm in time; reconnecting"
                    );
                    return false;
                }
            }
        }
    }

    async fn publish(&self, session: &mut Session, msg: &Outgoing) -> Result<(), String> {
        let exchange = self.config.control_exchange.as_str();
        for topic in &self.config.topics {
            let key = format!("{topic}.{}", msg.priority.as_str().to_ascii_lowercase());
            if !session.declared.contains(&key) {
                declare_default_queue(&session.channel, &self.config, exchange, &key)
                    .await
                    .map_err(|e| e.to_string())?;
                session.declared.insert(key.clone());
            }
            let props = BasicProperties::default()
                .with_content_type("application/json".into())
                .with_content_encoding("utf-8".into())
                .with_delivery_mode(2)
                .with_priority(0)
                .with_headers(FieldTable::default());
            let confirm = session
                .channel
                .basic_publish(
                    exchange.into(),
                    key.as_str().into(),
                    BasicPublishOptions::default(),
                    &msg.body,
                    props,
                )
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())?;
            if confirm.is_nack() {
                return Err("the broker refused the message (nack)".into());
            }
        }
        Ok(())
    }
}

/// oslo.messaging's `_publish_and_creates_default_queue`: a queue named after the routing key,
/// with the exchange's durability, so nothing is lost before the first consumer binds.
async fn declare_default_queue(
    channel: &Channel,
    config: &NotificationsConfig,
    exchange: &str,
    key: &str,
) -> lapin::Result<()> {
    channel
        .queue_declare(
            key.into(),
            QueueDeclareOptions {
                durable: config.durable,
                auto_delete: config.auto_delete,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            key.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

pub(super) fn warn_limited(last: &mut Option<Instant>, text: &str) {
    if last.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
        *last = Some(Instant::now());
        tracing::warn!("{text}");
    }
}
