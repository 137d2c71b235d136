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
/// Messages published back to back before their confirms are awaited.
const MAX_BATCH: usize = 256;
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
        let mut held: Vec<Outgoing> = Vec::new();
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
                    m = self.rx.recv(), if held.is_empty() => match m {
                        Some(m) => held.push(m),
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
    /// What waits is taken in batches and published back to back, then the batch's confirms
    /// are awaited: one round trip per batch, not per message.
    async fn publish_until_error(
        &mut self,
        session: &mut Session,
        held: &mut Vec<Outgoing>,
    ) -> bool {
        let mut last_warning = None;
        loop {
            let mut batch = std::mem::take(held);
            if batch.is_empty() {
                match self.rx.recv().await {
                    Some(m) => batch.push(m),
                    None => return true,
                }
            }
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            if !session.conn.status().connected() {
                // Lost while idle: keep the batch for the next connection.
                *held = batch;
                return false;
            }
            let n = batch.len() as u64;
            match tokio::time::timeout(PUBLISH_TIMEOUT, self.publish(session, &batch)).await {
                Ok(Ok(())) => {
                    self.stats.published.fetch_add(n, Ordering::Relaxed);
                }
                Ok(Err((confirmed, e))) => {
                    self.stats.published.fetch_add(confirmed, Ordering::Relaxed);
                    self.stats
                        .failed
                        .fetch_add(n - confirmed, Ordering::Relaxed);
                    warn_limited(
                        &mut last_warning,
                        &format!("notifications: publishing failed, reconnecting: {e}"),
                    );
                    return false;
                }
                Err(_) => {
                    self.stats.failed.fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(
                        "notifications: the broker did not confirm in time; reconnecting"
                    );
                    return false;
                }
            }
        }
    }

    /// Publish every message of `batch` to every topic, then wait for the confirms. On failure,
    /// how many messages (from the first) were confirmed, and why.
    async fn publish(
        &self,
        session: &mut Session,
        batch: &[Outgoing],
    ) -> Result<(), (u64, String)> {
        let exchange = self.config.control_exchange.as_str();
        let mut pending = Vec::with_capacity(batch.len() * self.config.topics.len());
        for (i, msg) in batch.iter().enumerate() {
            for topic in &self.config.topics {
                let key = format!("{topic}.{}", msg.priority.as_str().to_ascii_lowercase());
                if !session.declared.contains(&key) {
                    declare_default_queue(&session.channel, &self.config, exchange, &key)
                        .await
                        .map_err(|e| (0, e.to_string()))?;
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
                    .map_err(|e| (0, e.to_string()))?;
                pending.push((i, confirm));
            }
        }
        let mut confirmed = 0u64;
        for (i, confirm) in pending {
            let fail = |e: String| (confirmed.min(i as u64), e);
            match confirm.await {
                Ok(c) if c.is_nack() => {
                    return Err(fail("the broker refused a message (nack)".into()))
                }
                Ok(_) => confirmed = i as u64 + 1,
                Err(e) => return Err(fail(e.to_string())),
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
