//! Notifications as Glance configures them through oslo.messaging:
//! `[oslo_messaging_notifications] driver / topics / transport_url`, `[DEFAULT] transport_url`
//! (the fallback, as `oslo_messaging.get_notification_transport` does),
//! `[DEFAULT] disabled_notifications / default_publisher_id / control_exchange`, and the two
//! `[oslo_messaging_rabbit]` options that shape what is declared on the broker.

use super::RawConfig;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[
    (
        "DEFAULT",
        &[
            "transport_url",
            "disabled_notifications",
            "default_publisher_id",
            "control_exchange",
        ],
    ),
    (
        "oslo_messaging_notifications",
        &["driver", "topics", "transport_url", "glint_queue_size"],
    ),
    (
        "oslo_messaging_rabbit",
        &["amqp_durable_queues", "amqp_auto_delete"],
    ),
];

/// oslo.messaging's notification drivers that glint implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `messaging`: the message alone (format 1.0), no envelope.
    Messaging,
    /// `messagingv2`: the message wrapped in the 2.0 envelope.
    MessagingV2,
    /// `log`: the message as JSON on a log line.
    Log,
    /// `noop`: nothing.
    Noop,
}

impl Driver {
    fn parse(name: &str) -> Option<Driver> {
        match name {
            "messaging" => Some(Driver::Messaging),
            "messagingv2" => Some(Driver::MessagingV2),
            "log" => Some(Driver::Log),
            "noop" => Some(Driver::Noop),
            _ => None,
        }
    }

    pub fn uses_broker(self) -> bool {
        matches!(self, Driver::Messaging | Driver::MessagingV2)
    }
}

/// One broker of a transport URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerHost {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
}

/// A `rabbit://` transport URL as oslo.messaging's `TransportURL.parse` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportUrl {
    /// Tried in order, the next one after a failure (kombu's round-robin failover).
    pub hosts: Vec<BrokerHost>,
    pub virtual_host: String,
}

/// RabbitMQ's defaults, used by oslo.messaging for what a URL leaves out.
const DEFAULT_PORT: u16 = 5672;
const DEFAULT_USER: &str = "guest";

impl TransportUrl {
    /// `rabbit://user:pass@host1:port1,user:pass@host2:port2/virtual_host?query`.
    /// Hosts without credentials use RabbitMQ's `guest`; an empty path is the `/` vhost.
    pub fn parse(url: &str) -> Result<TransportUrl, String> {
        let bad = |why: &str| format!("invalid transport_url '{}': {why}", redact(url));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        if !matches!(scheme, "rabbit" | "kombu") {
            return Err(bad("glint supports the rabbit:// transport only"));
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == "ssl" && !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "") {
                return Err(bad("TLS to the broker (ssl) is not supported by glint"));
            }
        }
        let (netloc, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let virtual_host = match path.map(unquote) {
            Some(v) if !v.is_empty() => v,
            _ => "/".to_owned(),
        };
        let mut hosts = Vec::new();
        for part in netloc.split(',').filter(|h| !h.is_empty()) {
            let (userinfo, hostport) = match part.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, part),
            };
            let (username, password) = match userinfo {
                Some(u) => match u.split_once(':') {
                    Some((user, pass)) => (unquote(user), unquote(pass)),
                    None => (unquote(u), String::new()),
                },
                None => (DEFAULT_USER.to_owned(), DEFAULT_USER.to_owned()),
            };
            let (host, port) = split_host_port(hostport).ok_or_else(|| bad("bad port"))?;
            hosts.push(BrokerHost {
                host: if host.is_empty() {
                    "localhost".to_owned()
                } else {
                    host
                },
                port,
                username,
                password,
            });
        }
        if hosts.is_empty() {
            hosts.push(BrokerHost {
                host: "localhost".to_owned(),
                port: DEFAULT_PORT,
                username: DEFAULT_USER.to_owned(),
                password: DEFAULT_USER.to_owned(),
            });
        }
        Ok(TransportUrl {
            hosts,
            virtual_host,
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Option<(String, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => DEFAULT_PORT,
            None => return None,
        };
        return Some((host.to_owned(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None => Some((s.to_owned(), DEFAULT_PORT)),
    }
}

fn unquote(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The URL without its passwords, for error messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let hosts: Vec<String> = rest[..end]
        .split(',')
        .map(|h| match h.rsplit_once('@') {
            Some((u, host)) => match u.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => format!("{u}@{host}"),
            },
            None => h.to_owned(),
        })
        .collect();
    format!("{scheme}://{}{}", hosts.join(","), &rest[end..])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationsConfig {
    /// Empty: notifications are off (oslo.messaging's default).
    pub drivers: Vec<Driver>,
    pub topics: Vec<String>,
    pub transport: TransportUrl,
    /// Event types (`image.create`) and groups (`image`, the part before the first dot).
    pub disabled: Vec<String>,
    pub publisher_id: String,
    pub control_exchange: String,
    /// `[oslo_messaging_rabbit] amqp_durable_queues`: durable exchange and default queues.
    pub durable: bool,
    /// `[oslo_messaging_rabbit] amqp_auto_delete`.
    pub auto_delete: bool,
    /// glint's own `[oslo_messaging_notifications] glint_queue_size`: notifications waiting
    /// for the broker; beyond it new ones are dropped (counted and logged), never waited for.
    pub queue_size: usize,
}

fn list(v: Option<&str>) -> Vec<String> {
    v.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl NotificationsConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        let n = "oslo_messaging_notifications";
        let mut drivers = Vec::new();
        // A multi-valued option: one line per driver; a comma list is accepted too.
        for name in raw.get_all(n, "driver").iter().flat_map(|v| list(Some(v))) {
            let d = Driver::parse(&name).ok_or_else(|| {
                format!(
                    "invalid value '{name}' for [{n}] driver (messagingv2, messaging, log or noop)"
                )
            })?;
            if !drivers.contains(&d) {
                drivers.push(d);
            }
        }
        let mut topics = list(raw.get(n, "topics"));
        if topics.is_empty() {
            topics.push("notifications".to_owned());
        }
        let url = raw
            .get(n, "transport_url")
            .or_else(|| raw.get("DEFAULT", "transport_url"))
            .unwrap_or("rabbit://");
        let transport = if drivers.iter().any(|d| d.uses_broker()) {
            TransportUrl::parse(url)?
        } else {
            TransportUrl::parse("rabbit://")?
        };
        let queue_size = raw.parse(n, "glint_queue_size", 1000_i64)?;
        let queue_size = super::at_least(n, "glint_queue_size", queue_size, 1)? as usize;
        Ok(NotificationsConfig {
            drivers,
            topics,
            transport,
            disabled: list(raw.get("DEFAULT", "disabled_notifications")),
            publisher_id: raw
                .get("DEFAULT", "default_publisher_id")
                .unwrap_or("image.localhost")
                .to_owned(),
            control_exchange: raw
                .get("DEFAULT", "control_exchange")
                .unwrap_or("glance")
                .to_owned(),
            durable: raw.parse_bool("oslo_messaging_rabbit", "amqp_durable_queues", false)?,
            auto_delete: raw.parse_bool("oslo_messaging_rabbit", "amqp_auto_delete", false)?,
            queue_size,
        })
    }

    /// Glance's `_is_notification_enabled`: off when the event type or its group (the text
    /// before the first dot, so `image` also silences `image.member.*`) is listed.
    pub fn enabled(&self, event_type: &str) -> bool {
        let group = event_type.split('.').next().unwrap_or(event_type);
        !self.disabled.iter().any(|d| d == event_type || d == group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str, port: u16, u: &str, p: &str) -> BrokerHost {
        BrokerHost {
            host: h.into(),
            port,
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn transport_urls_as_oslo_messaging_parses_them() {
        let t = TransportUrl::parse("rabbit://u:p%40ss@h1:5673,v:q@h2/vh%2Fx").unwrap();
        assert_eq!(
            t.hosts,
            vec![host("h1", 5673, "u", "p@ss"), host("h2", 5672, "v", "q")]
        );
        assert_eq!(t.virtual_host, "vh/x");
        let t = TransportUrl::parse("rabbit://").unwrap();
        assert_eq!(t.hosts, vec![host("localhost", 5672, "guest", "guest")]);
        assert_eq!(t.virtual_host, "/");
        let t = TransportUrl::parse("rabbit://a:b@[::1]:5674/").unwrap();
        assert_eq!(t.hosts, vec![host("::1", 5674, "a", "b")]);
        assert_eq!(t.virtual_host, "/");
        let t = TransportUrl::parse("rabbit://h3//").unwrap();
        assert_eq!(t.hosts, vec![host("h3", 5672, "guest", "guest")]);
        assert_eq!(t.virtual_host, "/");
        for bad in [
            "amqp://h",
            "h:5672",
            "rabbit://h:port",
            "rabbit://u:p@h?ssl=1",
            "rabbit://[::1",
        ] {
            let e = TransportUrl::parse(bad).unwrap_err();
            assert!(e.contains("transport_url"), "{e}");
        }
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("rabbit://u:secret@h1,v:pw@h2/vh"),
            "rabbit://u:***@h1,v:***@h2/vh"
        );
    }

    #[test]
    fn options_and_defaults() {
        let c = NotificationsConfig::from_raw(&RawConfig::default()).unwrap();
        assert!(c.drivers.is_empty());
        assert_eq!(c.topics, vec!["notifications".to_owned()]);
        assert_eq!(c.publisher_id, "image.localhost");
        assert_eq!(c.control_exchange, "glance");
        assert!(!c.durable);
        let raw = RawConfig::from_text(
            "[DEFAULT]\ntransport_url = rabbit://a:b@d1/\ndisabled_notifications = image.update, task\n\
             default_publisher_id = image.host1\ncontrol_exchange = openstack\n\
             [oslo_messaging_notifications]\ndriver = messagingv2\ndriver = log\ntopics = n1,n2\n\
             [oslo_messaging_rabbit]\namqp_durable_queues = true\n",
        )
        .unwrap();
        let c = NotificationsConfig::from_raw(&raw).unwrap();
        assert_eq!(c.drivers, vec![Driver::MessagingV2, Driver::Log]);
        assert_eq!(c.topics, vec!["n1".to_owned(), "n2".to_owned()]);
        assert_eq!(c.transport.hosts, vec![host("d1", 5672, "a", "b")]);
        assert_eq!(c.publisher_id, "image.host1");
        assert_eq!(c.control_exchange, "openstack");
        assert!(c.durable);
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
        assert!(!c.enabled("image.update"));
        assert!(c.enabled("image.create"));
        assert!(!c.enabled("task.run"));
        // The notifications section's own URL wins over [DEFAULT]'s.
        let mut raw = raw;
        raw.set(
            "oslo_messaging_notifications",
            "transport_url",
            "rabbit://x",
        );
        let c = NotificationsConfig::from_raw(&raw).unwrap();
        assert_eq!(c.transport.hosts[0].host, "x");
        raw.set("oslo_messaging_notifications", "driver", "kafka");
        let e = NotificationsConfig::from_raw(&raw).unwrap_err();
        assert!(e.contains("driver"), "{e}");
    }

    #[test]
    fn groups_are_the_first_segment_as_in_glance() {
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "disabled_notifications", "image");
        let c = NotificationsConfig::from_raw(&raw).unwrap();
        assert!(!c.enabled("image.member.create"));
        assert!(c.enabled("task.run"));
        // Glance compares with the first segment only: `image.member` names no group.
        raw.set("DEFAULT", "disabled_notifications", "image.member");
        let c = NotificationsConfig::from_raw(&raw).unwrap();
        assert!(c.enabled("image.member.create"));
    }
}
