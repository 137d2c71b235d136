//! Webhooks of the sharing extensions (`POST|GET /v2/glint/webhooks`): a project subscribes a URL
//! to events about the shares it owns or receives. Here: the request, the events, which
//! addresses a delivery may reach (SSRF), the CloudEvents 1.0 body and its HMAC-SHA256 signature,
//! and the retry schedule. Delivery itself is `service::webhooks`.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// The most webhooks one project may have.
pub const MAX_PER_PROJECT: usize = 10;

/// What a webhook is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A member was created (offered; `accepted` in the data when a trust policy accepted it).
    Offered,
    Accepted,
    Rejected,
    /// The owner (or an admin) removed the member.
    Revoked,
    /// An expiry reminder (`[glint_sharing] expiry_reminders`).
    Expiring,
    /// The image was deleted, and the share with it.
    ImageDeleted,
    /// The member copied the image as its own (the copy is active).
    Copied,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::Offered,
        EventType::Accepted,
        EventType::Rejected,
        EventType::Revoked,
        EventType::Expiring,
        EventType::ImageDeleted,
        EventType::Copied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Offered => "share.offered",
            EventType::Accepted => "share.accepted",
            EventType::Rejected => "share.rejected",
            EventType::Revoked => "share.revoked",
            EventType::Expiring => "share.expiring",
            EventType::ImageDeleted => "share.image_deleted",
            EventType::Copied => "share.copied",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The CloudEvents `type`.
    pub fn cloud_event_type(self) -> String {
        format!("org.openstack.glint.{}", self.as_str())
    }
}

/// Where a URL points: what the SSRF rule checks, on the address the name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// A name or an IP literal (without brackets).
    pub host: String,
    pub port: u16,
}

/// A parsed `POST /v2/glint/webhooks` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub target: Target,
    /// Each once, in `EventType::ALL` order.
    pub events: Vec<EventType>,
}

impl NewWebhook {
    /// `{"url": "https://...", "events": [...]}`; `events` left out is every event.
    pub fn parse(body: &Value) -> Result<NewWebhook, Error> {
        let Value::Object(o) = body else {
            return Err(Error::bad_request(
                "Expected {\"url\": \"https://...\", \"events\": [...]}",
            ));
        };
        if let Some(k) = o.keys().find(|k| !["url", "events"].contains(&k.as_str())) {
            return Err(Error::bad_request(format!(
                "'{k}' is not a webhook field (known: url, events)"
            )));
        }
        let url = match o.get("url") {
            Some(Value::String(s)) if s.chars().count() <= MAX_URL_CHARS => s.clone(),
            Some(Value::String(_)) => {
                return Err(Error::bad_request(format!(
                    "url is longer than {MAX_URL_CHARS} characters"
                )))
            }
            _ => return Err(Error::bad_request("url must be a string")),
        };
        let target = parse_url(&url)?;
        Ok(NewWebhook {
            url,
            target,
            events: events(o)?,
        })
    }
}

fn events(o: &Map<String, Value>) -> Result<Vec<EventType>, Error> {
    let items = match o.get("events") {
        None | Some(Value::Null) => return Ok(EventType::ALL.to_vec()),
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return Err(Error::bad_request("events must be a non-empty list")),
    };
    let known = || {
        EventType::ALL
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut wanted = Vec::new();
    for item in items {
        match item.as_str().and_then(EventType::parse) {
            Some(e) => wanted.push(e),
            None => {
                return Err(Error::bad_request(format!(
                    "events: {item} is not an event (known: {})",
                    known()
                )))
            }
        }
    }
    Ok(EventType::ALL
        .into_iter()
        .filter(|e| wanted.contains(e))
        .collect())
}

/// `http(s)://host[:port][/path][?query]`, without user info or fragment.
pub fn parse_url(url: &str) -> Result<Target, Error> {
    let bad = |why: &str| Error::bad_request(format!("url '{url}' {why}"));
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("must start with https:// or http://"));
    };
    if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(
            "must not hold a fragment, spaces or control characters",
        ));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad("must not hold user information"));
    }
    let (host, port) = if let Some(r) = authority.strip_prefix('[') {
        let (h, after) = r
            .split_once(']')
            .ok_or_else(|| bad("has an unclosed '['"))?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("has an invalid port"))?,
    };
    Ok(Target {
        https,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// Whether a delivery may connect to `ip` by default: public unicast only. Loopback,
/// link-local (cloud metadata services live there), private and shared (CGNAT) ranges,
/// unspecified, multicast, broadcast and documentation addresses, and IPv4 inside IPv6 of
/// those, are refused unless the operator allows private targets.
pub fn public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_address(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// The CloudEvents 1.0 structured-mode JSON body of one event.
pub fn cloud_event(id: &str, event: EventType, time: &str, image_id: &str, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": format!("/v2/images/{image_id}"),
        "type": event.cloud_event_type(),
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    })
}

/// HMAC-SHA256 (RFC 2104) of `body` with `secret`, lower-case hex: the `X-Glint-Signature`
/// header is `sha256=<this>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut key = [0u8; BLOCK];
    if secret.len() > BLOCK {
        key[..32].copy_from_slice(&Sha256::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let pad = |b: u8| key.map(|k| k ^ b);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

/// The wait before attempt `attempt` (2, 3, ...): `base` doubled each time, at most an hour.
pub fn backoff(attempt: u32, base: Duration) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(2).min(16);
    base.saturating_mul(factor).min(Duration::from_secs(3600))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bad(v: Value) -> String {
        match NewWebhook::parse(&v).unwrap_err() {
            Error::BadRequest(m) => format!("{m:?}"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn requests() {
        let w = NewWebhook::parse(&json!({"url": "https://Hooks.example.com/glint?x=1"})).unwrap();
        assert_eq!(
            w.target,
            Target {
                https: true,
                host: "hooks.example.com".into(),
                port: 443
            }
        );
        assert_eq!(w.events, EventType::ALL);
        let w = NewWebhook::parse(
            &json!({"url": "http://[::1]:8080/x", "events": ["share.revoked", "share.offered", "share.revoked"]}),
        )
        .unwrap();
        assert_eq!((w.target.host.as_str(), w.target.port), ("::1", 8080));
        assert_eq!(w.events, [EventType::Offered, EventType::Revoked]);
        assert!(bad(json!({"url": "ftp://x"})).contains("https:// or http://"));
        assert!(bad(json!({"url": "https://u:p@x/"})).contains("user information"));
        assert!(bad(json!({"url": "https://x:0/"})).contains("invalid port"));
        assert!(bad(json!({"url": "https://x:99999/"})).contains("invalid port"));
        assert!(bad(json!({"url": "https:///path"})).contains("no host"));
        assert!(bad(json!({"url": "https://x/#f"})).contains("fragment"));
        assert!(bad(json!({"url": 5})).contains("url must be a string"));
        assert!(bad(json!({"url": "https://x", "secret": "s"})).contains("'secret'"));
        assert!(bad(json!({"url": "https://x", "events": []})).contains("non-empty"));
        assert!(bad(json!({"url": "https://x", "events": ["share.gone"]}))
            .contains("known: share.offered"));
        let long = format!("https://x/{}", "a".repeat(MAX_URL_CHARS));
        assert!(bad(json!({ "url": long })).contains("longer than 2048"));
    }

    #[test]
    fn only_public_addresses_by_default() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "2001:db8::1",
        ] {
            assert!(!public_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(public_address(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn hmac_sha256_is_rfc_4231s() {
        // RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
        assert_eq!(
            sign(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            sign(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn cloud_events_and_backoff() {
        let e = cloud_event(
            "e1",
            EventType::Accepted,
            "2026-12-06T12:00:00Z",
            "img",
            json!({"member_id": "p2"}),
        );
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["type"], "org.openstack.glint.share.accepted");
        assert_eq!(e["source"], "/v2/images/img");
        assert_eq!(e["data"]["member_id"], "p2");
        let base = Duration::from_secs(1);
        assert_eq!(backoff(2, base), Duration::from_secs(1));
        assert_eq!(backoff(3, base), Duration::from_secs(2));
        assert_eq!(backoff(5, base), Duration::from_secs(8));
        assert_eq!(backoff(60, base), Duration::from_secs(3600));
    }
}
