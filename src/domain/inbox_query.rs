//! `GET /v2/glint/inbox` query string (sharing extensions): `status`, `owner`, `limit`, `marker`.

use crate::domain::member::MemberStatus;
use crate::error::Error;

/// Which shares the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxStatus {
    Status(MemberStatus),
    Expired,
    All,
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
                        s => InboxStatus::Status(s.parse().map_err(|()| {
                            Error::bad_request(format!(
                                "Invalid status '{s}': pending, accepted, rejected, expired or all"
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
}
