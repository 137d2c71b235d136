//! The message oslo.messaging's notifier builds, and the bytes its rabbit driver publishes.
//!
//! The message is a JSON object with, in this order, `message_id` (a UUID), `publisher_id`,
//! `event_type`, `priority` (upper case), `payload`, `timestamp` (Python's `str()` of a naive
//! UTC datetime: a space between date and time, microseconds unless zero) and `_unique_id`
//! (32 hex digits, added by the AMQP driver). The request context Glance passes is empty, so
//! no `_context_*` keys. The `messagingv2` driver publishes it wrapped as
//! `{"oslo.version": "2.0", "oslo.message": "<the message as a JSON string>"}`; the
//! `messaging` driver publishes the message itself. Both are serialised as Python's
//! `json.dumps` does (`", "` and `": "` separators, non-ASCII escaped), so a consumer sees
//! the bytes Glance would send.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Info,
    Warn,
    Error,
}

impl Priority {
    /// As in the message (`INFO`); the routing key uses it in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Info => "INFO",
            Priority::Warn => "WARN",
            Priority::Error => "ERROR",
        }
    }
}

/// One notification, as oslo.messaging's `Notifier._notify` builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub message_id: String,
    pub publisher_id: String,
    pub event_type: String,
    pub priority: Priority,
    pub payload: Value,
    pub timestamp: NaiveDateTime,
    pub unique_id: String,
}

impl Message {
    pub fn new(publisher_id: &str, event_type: &str, priority: Priority, payload: Value) -> Self {
        Message {
            message_id: uuid::Uuid::new_v4().to_string(),
            publisher_id: publisher_id.to_owned(),
            event_type: event_type.to_owned(),
            priority,
            payload,
            timestamp: chrono::Utc::now().naive_utc(),
            unique_id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// The message as a JSON object, in oslo.messaging's key order.
    pub fn to_value(&self) -> Value {
        json!({
            "message_id": self.message_id,
            "publisher_id": self.publisher_id,
            "event_type": self.event_type,
            "priority": self.priority.as_str(),
            "payload": self.payload,
            "timestamp": python_timestamp(self.timestamp),
            "_unique_id": self.unique_id,
        })
    }

    /// The body the `messaging` driver (format 1.0) publishes.
    pub fn v1_body(&self) -> Vec<u8> {
        python_json(&self.to_value()).into_bytes()
    }

    /// The body the `messagingv2` driver publishes: the 2.0 envelope.
    pub fn v2_body(&self) -> Vec<u8> {
        let inner = python_json(&self.to_value());
        python_json(&json!({"oslo.version": "2.0", "oslo.message": inner})).into_bytes()
    }
}

/// Python's `str(datetime)`: `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn python_timestamp(t: NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// `json.dumps(v)` with Python's defaults (`ensure_ascii`).
pub fn python_json(v: &Value) -> String {
    crate::domain::pyjson::dumps(v, true).unwrap_or_else(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_formatting() {
        let v = json!({"a": [1, 2], "b": {"c": "é😀\n"}, "d": null});
        assert_eq!(
            python_json(&v),
            r#"{"a": [1, 2], "b": {"c": "\u00e9\ud83d\ude00\n"}, "d": null}"#
        );
    }

    #[test]
    fn timestamps_as_python_prints_them() {
        let t = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(
            python_timestamp(t("2026-12-05 22:01:02.5")),
            "2026-12-05 22:01:02.500000"
        );
        assert_eq!(
            python_timestamp(t("2026-12-05 22:01:02.0")),
            "2026-12-05 22:01:02"
        );
    }

    #[test]
    fn v2_envelope_wraps_the_v1_message() {
        let mut m = Message::new(
            "image.localhost",
            "image.create",
            Priority::Info,
            json!({"id": "x"}),
        );
        m.message_id = "m".into();
        m.unique_id = "u".into();
        m.timestamp =
            NaiveDateTime::parse_from_str("2026-12-05 22:01:02", "%Y-%m-%d %H:%M:%S").unwrap();
        let inner = r#"{"message_id": "m", "publisher_id": "image.localhost", "event_type": "image.create", "priority": "INFO", "payload": {"id": "x"}, "timestamp": "2026-12-05 22:01:02", "_unique_id": "u"}"#;
        assert_eq!(String::from_utf8(m.v1_body()).unwrap(), inner);
        let env: Value = serde_json::from_slice(&m.v2_body()).unwrap();
        assert_eq!(env["oslo.version"], "2.0");
        assert_eq!(env["oslo.message"], inner);
        assert!(String::from_utf8(m.v2_body())
            .unwrap()
            .starts_with(r#"{"oslo.version": "2.0", "oslo.message": "{\"message_id\": "#));
        assert_eq!(
            Message::new("p", "e", Priority::Info, json!({}))
                .unique_id
                .len(),
            32
        );
    }
}
