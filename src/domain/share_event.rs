//! The sharing history (`GET /v2/glint/share-events`, `../shared/design/sharing-extensions.md`):
//! one append-only event per change of a share, who made it and how, with the share's state
//! before and after. Written in the transaction of the change; kept after the member and the
//! image are gone, for `[glint_sharing] history_retention`.

use chrono::{DateTime, NaiveDateTime};
use serde_json::{json, Map, Value};

use crate::domain::context::RequestContext;
use crate::domain::member::{MemberStatus, MAX_MEMBER_ID_LEN};
use crate::domain::member_ext::MemberExt;
use crate::error::Error;

/// What happened to the share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Offered (`POST /v2/images/{id}/members`).
    Create,
    /// Its status changed (`PUT /v2/images/{id}/members/{member}`, bulk decisions).
    Update,
    /// Its extension data changed (`PUT /v2/glint/images/{id}/members/{member}`).
    Change,
    /// Removed (`DELETE /v2/images/{id}/members/{member}`).
    Delete,
    /// Removed by the sweep after its expiry and `expired_retention`.
    Purge,
    /// A recipient project's trust policy changed (`PUT /v2/glint/projects/{id}/share-policy`):
    /// no image; `member_id` is the project, `from`/`to` the policy before and after.
    PolicyUpdate,
    /// A domain's guardrails changed (`PUT /v2/glint/domains/{id}/guardrails`): no image;
    /// `member_id` is the domain, `from`/`to` its guardrails before and after.
    GuardrailsUpdate,
    /// The member (or the owner) started copying the image as its own
    /// (`POST /v2/glint/images/{id}/copy`); `to` names the copy.
    CopyStart,
    /// The copy's data is in place: the copy is active.
    CopyFinish,
    /// The copy failed (or its process died) and was removed.
    CopyFail,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "member.create",
            Action::Update => "member.update",
            Action::Change => "member.change",
            Action::Delete => "member.delete",
            Action::Purge => "member.purge",
            Action::PolicyUpdate => "share_policy.update",
            Action::GuardrailsUpdate => "guardrails.update",
            Action::CopyStart => "copy.start",
            Action::CopyFinish => "copy.finish",
            Action::CopyFail => "copy.fail",
        }
    }
}

/// How the change came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A call on one share: Glance's members API or glint's member route.
    Direct,
    /// `POST /v2/glint/inbox/decisions`.
    Inbox,
    /// The recipient's trust policy accepted the offer on arrival.
    TrustPolicy,
    /// The expiry sweep.
    Expiry,
    /// The image was deleted, and its members with it.
    ImageDelete,
    /// `POST /v2/glint/shares`.
    Batch,
    /// A grant (`/v2/glint/grants`): materialised, decided by the domain admin, or revoked.
    Grant,
    /// The recovery sweep (a copy whose process died).
    Recovery,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::Inbox => "inbox",
            Via::TrustPolicy => "trust_policy",
            Via::Expiry => "expiry",
            Via::ImageDelete => "image_delete",
            Via::Batch => "batch",
            Via::Grant => "grant",
            Via::Recovery => "recovery",
        }
    }
}

/// A share's state as the history records it: Glance's status and glint's extension data.
pub fn state(status: MemberStatus, ext: &MemberExt) -> Value {
    let mut o = Map::new();
    o.insert("status".into(), json!(status.as_str()));
    let e = ext_json(ext);
    if !e.is_empty() {
        o.insert("os_glint".into(), Value::Object(e));
    }
    Value::Object(o)
}

/// The extension data alone (a `member.change` records only what it changes).
pub fn ext_state(ext: &MemberExt) -> Value {
    json!({ "os_glint": ext_json(ext) })
}

fn ext_json(ext: &MemberExt) -> Map<String, Value> {
    let mut o = Map::new();
    if let Some(at) = ext.expires_at {
        o.insert("expires_at".into(), json!(time(at)));
    }
    if let Some(n) = &ext.note {
        o.insert("note".into(), json!(n));
    }
    if ext.renewal_requested {
        o.insert("renewal_requested".into(), json!(true));
    }
    if let Some(m) = ext.policy {
        o.insert("policy".into(), json!(m.as_str()));
    }
    if ext.via != crate::domain::member_ext::Origin::Direct {
        o.insert("via".into(), json!(ext.via.as_str()));
    }
    if let Some(g) = &ext.grant_id {
        o.insert("grant_id".into(), json!(g));
    }
    o
}

/// Times as Glance writes a member's: UTC, whole seconds, `Z`.
pub fn time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: NaiveDateTime,
    pub action: Action,
    pub via: Via,
    pub image_id: String,
    /// The image's owner when the event happened: the owner keeps reading its images' history
    /// after the image is gone.
    pub owner: Option<String>,
    pub member_id: String,
    pub actor_user: Option<String>,
    pub actor_project: Option<String>,
    pub request_id: Option<String>,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

impl NewEvent {
    /// An event caused by the request of `ctx` (the sweep has no caller: `None`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: Option<&RequestContext>,
        at: NaiveDateTime,
        action: Action,
        via: Via,
        image_id: &str,
        owner: Option<&str>,
        member_id: &str,
        from: Option<Value>,
        to: Option<Value>,
    ) -> NewEvent {
        NewEvent {
            at,
            action,
            via,
            image_id: image_id.to_owned(),
            owner: owner.map(str::to_owned),
            member_id: member_id.to_owned(),
            actor_user: ctx.and_then(|c| c.user_id.clone()),
            actor_project: ctx.and_then(|c| c.project_id.clone()),
            request_id: ctx.and_then(|c| c.request_id.clone()),
            from,
            to,
        }
    }
}

impl NewEvent {
    /// `ctx` changed `project`'s trust policy from `from` (none: never set) to `to`. The owner
    /// is left empty, so the owners the policy names never read it; the project and admins do.
    pub fn policy_update(
        ctx: &RequestContext,
        at: NaiveDateTime,
        project: &str,
        from: Option<Value>,
        to: Value,
    ) -> NewEvent {
        NewEvent::new(
            Some(ctx),
            at,
            Action::PolicyUpdate,
            Via::Direct,
            NO_IMAGE,
            None,
            project,
            from,
            Some(to),
        )
    }
}

/// The image id recorded for an event about no image (the column is required).
pub const NO_IMAGE: &str = "";

/// `GET /v2/glint/share-events` query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub image_id: Option<String>,
    pub member_id: Option<String>,
    /// Events at or after this instant.
    pub since: Option<NaiveDateTime>,
    pub limit: i64,
    /// The id of the last event of the previous page.
    pub marker: Option<i64>,
}

impl EventQuery {
    /// Each key at most once; unknown keys are refused by name.
    pub fn parse(raw: &str, limit_default: i64, limit_max: i64) -> Result<EventQuery, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|_| Error::bad_request("Invalid query string."))?;
        let mut q = EventQuery {
            image_id: None,
            member_id: None,
            since: None,
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
                "image_id" | "member_id" if v.is_empty() => {
                    return Err(Error::bad_request(format!("{k} cannot be empty")))
                }
                "image_id" | "member_id" if v.chars().count() > MAX_MEMBER_ID_LEN => {
                    return Err(Error::bad_request(format!(
                        "{k} is longer than {MAX_MEMBER_ID_LEN} characters"
                    )))
                }
                "image_id" => q.image_id = Some(v.clone()),
                "member_id" => q.member_id = Some(v.clone()),
                "since" => {
                    q.since = Some(
                        DateTime::parse_from_rfc3339(v)
                            .map_err(|_| {
                                Error::bad_request(format!(
                                    "since '{v}' is not a time in RFC 3339 form, e.g. \
                                     2027-01-31T12:00:00Z"
                                ))
                            })?
                            .naive_utc(),
                    )
                }
                "marker" => {
                    q.marker = Some(v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::bad_request(format!("marker '{v}' is not an event id"))
                    })?)
                }
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
                        "Unknown query parameter '{other}' (known: image_id, member_id, since, \
                         limit, marker)"
                    )))
                }
            }
        }
        Ok(q)
    }

    /// The query string of the page after event `last` (same filters).
    pub fn next_link(&self, last: i64) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(i) = &self.image_id {
            pairs.push(("image_id", i.clone()));
        }
        if let Some(m) = &self.member_id {
            pairs.push(("member_id", m.clone()));
        }
        if let Some(s) = self.since {
            pairs.push(("since", time(s)));
        }
        pairs.push(("limit", self.limit.to_string()));
        pairs.push(("marker", last.to_string()));
        format!(
            "/v2/glint/share-events?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// Whose events a caller reads: an admin all, anyone else those of images its project owned
/// and those naming its project as the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    All,
    Project(String),
}

impl Reader {
    pub fn of(ctx: &RequestContext) -> Option<Reader> {
        if ctx.is_admin() {
            return Some(Reader::All);
        }
        ctx.project().map(|p| Reader::Project(p.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::share_policy::Mark;

    fn parse(q: &str) -> Result<EventQuery, Error> {
        EventQuery::parse(q, 25, 1000)
    }

    #[test]
    fn query() {
        let q =
            parse("image_id=i&member_id=p2&since=2026-12-06T10:00:00%2B01:00&limit=5000&marker=7")
                .unwrap();
        assert_eq!(q.image_id.as_deref(), Some("i"));
        assert_eq!(q.member_id.as_deref(), Some("p2"));
        assert_eq!(time(q.since.unwrap()), "2026-12-06T09:00:00Z");
        assert_eq!((q.limit, q.marker), (1000, Some(7)));
        assert_eq!(
            q.next_link(9),
            "/v2/glint/share-events?image_id=i&member_id=p2&since=2026-12-06T09%3A00%3A00Z&limit=1000&marker=9"
        );
        assert_eq!(parse("").unwrap().limit, 25);
        for (bad, says) in [
            ("since=yesterday", "RFC 3339"),
            ("marker=abc", "not an event id"),
            ("marker=0", "not an event id"),
            ("limit=-1", "positive"),
            ("limit=x", "integer"),
            ("image_id=", "cannot be empty"),
            ("owner=p1", "Unknown query parameter 'owner'"),
            ("limit=1&limit=2", "more than once"),
        ] {
            let e = format!("{:?}", parse(bad).unwrap_err());
            assert!(e.contains(says), "{bad}: {e}");
        }
        let long = format!("member_id={}", "x".repeat(256));
        assert!(matches!(parse(&long), Err(Error::BadRequest(_))));
    }

    #[test]
    fn states() {
        let ext = MemberExt {
            expires_at: Some(
                chrono::NaiveDate::from_ymd_opt(2027, 1, 31)
                    .unwrap()
                    .and_hms_opt(12, 0, 0)
                    .unwrap(),
            ),
            note: Some("ci".into()),
            renewal_requested: false,
            policy: Some(Mark::AutoAccepted),
            reminded: None,
            via: crate::domain::member_ext::Origin::Direct,
            last_download_at: None,
            grant_id: None,
        };
        assert_eq!(
            state(MemberStatus::Accepted, &ext),
            json!({"status": "accepted", "os_glint": {"expires_at": "2027-01-31T12:00:00Z",
                   "note": "ci", "policy": "auto_accepted"}})
        );
        assert_eq!(
            state(MemberStatus::Pending, &MemberExt::default()),
            json!({"status": "pending"})
        );
        assert_eq!(ext_state(&MemberExt::default()), json!({"os_glint": {}}));
    }

    #[test]
    fn readers() {
        let admin = RequestContext::new(Some("p9"), &["admin"]);
        assert_eq!(Reader::of(&admin), Some(Reader::All));
        let member = RequestContext::new(Some("p1"), &["reader"]);
        assert_eq!(Reader::of(&member), Some(Reader::Project("p1".into())));
        assert_eq!(Reader::of(&RequestContext::new(None, &["member"])), None);
    }
}
