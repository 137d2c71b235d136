//! `GET /v2/glint/inbox` query string (sharing extensions): `status`, `owner`, `limit`, `marker`.

use crate::domain::member::MemberStatus;
use crate::error::Error;

/// Which shares the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxStatus {
    Status(MemberStatus),
    Expired,
    All,
    /// The pending offers the project's trust policy hides (left out of every other view).
    Hidden,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// `status` (default `pending`: the offers waiting for an answer).
    pub status: InboxStatus,
    pub owner: Option<String>,
    pub limit: i64,
    /// The image id of the last share of the previous page.
    pub marker: Option<String>,
}

impl InboxQuery {
    /// Each key at most once; unknown keys are refused by name.
    pub fn parse(raw: &str, limit_default: i64, limit_max: i64) -> Result<InboxQuery, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|_| Error::bad_request("Invalid query string."))?;
        let mut q = InboxQuery {
            status: InboxStatus::Status(MemberStatus::Pending),
            owner: None,
            limit: limit_default.min(limit_max),
            marker: None,
        };
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in &pairs {
            if seen.contains(&k.as_str()) {
                return Err(Error::bad_request(format!("'{k}' is given more than once")));
            }
            seen.push(k);
            match k.as_str() {
                "status" => {
                    q.status = match v.as_str() {
                        "expired" => InboxStatus::Expired,
                        "all" => InboxStatus::All,
                        "hidden" => InboxStatus::Hidden,
                        s => InboxStatus::Status(s.parse().map_err(|()| {
                            Error::bad_request(format!(
                                "Invalid status '{s}': pending, accepted, rejected, expired, all \
                                 or hidden"
                            ))
                        })?),
                    }
                }
                "owner" if !v.is_empty() => q.owner = Some(v.clone()),
                "owner" => return Err(Error::bad_request("owner cannot be empty")),
                "marker" => q.marker = Some(v.clone()),
                "limit" => {
                    let n: i64 = v
                        .parse()
                        .map_err(|_| Error::bad_request("limit param must be an integer"))?;
                    if n < 0 {
                        return Err(Error::bad_request("limit param must be positive"));
                    }
                    q.limit = n.min(limit_max);
                }
                other => {
                    return Err(Error::bad_request(format!(
                        "Unknown query parameter '{other}' (known: status, owner, limit, marker)"
                    )))
                }
            }
        }
        Ok(q)
    }

    /// The query string of the page after `last` (same filters).
    pub fn next_link(&self, last: &str) -> String {
        let status = match self.status {
            InboxStatus::Status(s) => s.as_str(),
            InboxStatus::Expired => "expired",
            InboxStatus::All => "all",
            InboxStatus::Hidden => "hidden",
        };
        let mut pairs = vec![("status", status.to_owned())];
        if let Some(o) = &self.owner {
            pairs.push(("owner", o.clone()));
        }
        pairs.push(("limit", self.limit.to_string()));
        pairs.push(("marker", last.to_owned()));
        format!(
            "/v2/glint/inbox?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// The most shares one bulk decision changes (a request's work is bounded by its size).
pub const MAX_DECISIONS: usize = 100;

/// Which shares a bulk decision names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// These images (duplicates collapsed, order kept).
    Images(Vec<String>),
    /// Every live share from this owner project, at most [`MAX_DECISIONS`] per request.
    Owner(String),
}

/// `POST /v2/glint/inbox/decisions`: `{"status": "accepted"|"rejected", "image_ids": [...]}` or
/// `{"status": ..., "owner": "<project>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decisions {
    pub status: MemberStatus,
    pub which: Decided,
}

impl Decisions {
    pub fn parse(body: &serde_json::Value) -> Result<Decisions, Error> {
        use serde_json::Value;
        let Value::Object(o) = body else {
            return Err(Error::bad_request(
                "Expected {\"status\": \"accepted\"|\"rejected\", \"image_ids\": [...]} or {\"status\": ..., \"owner\": \"<project>\"}",
            ));
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["status", "image_ids", "owner"].contains(&k.as_str()))
        {
            return Err(Error::bad_request(format!(
                "Unknown key '{k}' (known: status, image_ids, owner)"
            )));
        }
        let status = match o.get("status").and_then(Value::as_str) {
            Some("accepted") => MemberStatus::Accepted,
            Some("rejected") => MemberStatus::Rejected,
            _ => {
                return Err(Error::bad_request(
                    "status must be \"accepted\" or \"rejected\"",
                ))
            }
        };
        let which = match (o.get("image_ids"), o.get("owner")) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(Error::bad_request("Give either image_ids or owner"))
            }
            (None, Some(Value::String(owner))) if !owner.is_empty() => {
                Decided::Owner(owner.clone())
            }
            (None, Some(_)) => return Err(Error::bad_request("owner must be a project id")),
            (Some(Value::Array(ids)), None) => {
                let mut out: Vec<String> = Vec::new();
                for id in ids {
                    let Some(id) = id.as_str() else {
                        return Err(Error::bad_request("image_ids must be strings"));
                    };
                    if !out.iter().any(|x| x == id) {
                        out.push(id.to_owned());
                    }
                }
                if out.is_empty() || out.len() > MAX_DECISIONS {
                    return Err(Error::bad_request(format!(
                        "image_ids must name 1 to {MAX_DECISIONS} images"
                    )));
                }
                Decided::Images(out)
            }
            (Some(_), None) => return Err(Error::bad_request("image_ids must be a list")),
        };
        Ok(Decisions { status, which })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(raw: &str) -> Result<InboxQuery, Error> {
        InboxQuery::parse(raw, 25, 1000)
    }

    #[test]
    fn defaults_and_values() {
        let q = p("").unwrap();
        assert_eq!(q.status, InboxStatus::Status(MemberStatus::Pending));
        assert_eq!((q.limit, q.owner, q.marker), (25, None, None));
        let q = p("status=expired&owner=p%201&limit=5000&marker=abc").unwrap();
        assert_eq!(q.status, InboxStatus::Expired);
        assert_eq!(
            (q.limit, q.owner.as_deref(), q.marker.as_deref()),
            (1000, Some("p 1"), Some("abc"))
        );
        assert_eq!(p("status=all").unwrap().status, InboxStatus::All);
        assert_eq!(p("status=hidden").unwrap().status, InboxStatus::Hidden);
        assert_eq!(
            p("status=accepted").unwrap().status,
            InboxStatus::Status(MemberStatus::Accepted)
        );
        assert_eq!(p("limit=0").unwrap().limit, 0);
    }

    #[test]
    fn refusals() {
        for raw in [
            "status=done",
            "limit=x",
            "limit=-1",
            "owner=",
            "sort=x",
            "status=all&status=all",
        ] {
            assert!(matches!(p(raw), Err(Error::BadRequest(_))), "{raw}");
        }
    }

    #[test]
    fn next_links_keep_the_filters() {
        let q = p("status=all&owner=o&limit=2").unwrap();
        assert_eq!(
            q.next_link("i9"),
            "/v2/glint/inbox?status=all&owner=o&limit=2&marker=i9"
        );
    }

    #[test]
    fn decisions() {
        use serde_json::json;
        let d =
            Decisions::parse(&json!({"status": "accepted", "image_ids": ["a", "b", "a"]})).unwrap();
        assert_eq!(d.status, MemberStatus::Accepted);
        assert_eq!(d.which, Decided::Images(vec!["a".into(), "b".into()]));
        let d = Decisions::parse(&json!({"status": "rejected", "owner": "p1"})).unwrap();
        assert_eq!(d.which, Decided::Owner("p1".into()));
        let many: Vec<String> = (0..=MAX_DECISIONS).map(|i| i.to_string()).collect();
        for bad in [
            json!([]),
            json!({"status": "pending", "owner": "p1"}),
            json!({"status": "accepted"}),
            json!({"status": "accepted", "owner": "p1", "image_ids": ["a"]}),
            json!({"status": "accepted", "image_ids": []}),
            json!({"status": "accepted", "image_ids": [1]}),
            json!({"status": "accepted", "image_ids": "a"}),
            json!({"status": "accepted", "owner": ""}),
            json!({"status": "accepted", "image_ids": many}),
            json!({"status": "accepted", "owner": "p1", "x": 1}),
        ] {
            assert!(
                matches!(Decisions::parse(&bad), Err(Error::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
