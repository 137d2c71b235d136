//! The sharing extensions' data on a member row (`os_glint`, `../shared/design/sharing-extensions.md`):
//! an expiry and a note. After `expires_at` the member loses access as if it had been removed; the
//! owner still sees the row, marked `expired`.

use chrono::{DateTime, NaiveDateTime, Timelike};
use serde_json::{Map, Value};

use crate::error::Error;

/// The longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 1000;

/// What a member row carries beyond Glance's columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberExt {
    /// UTC, whole seconds: access ends at this instant.
    pub expires_at: Option<NaiveDateTime>,
    pub note: Option<String>,
    /// The member asked the owner to extend the share; cleared when the owner sets an expiry.
    pub renewal_requested: bool,
    /// What the recipient's trust policy did (or, in audit mode, would have done) to the offer.
    pub policy: Option<crate::domain::share_policy::Mark>,
    /// The shortest reminder threshold (seconds) already sent for the current `expires_at`
    /// (`domain::expiry_reminder`); cleared when the expiry changes. Never shown.
    pub reminded: Option<u64>,
    /// How the share was made (`os_glint.via`): shown only when not an ordinary create.
    pub via: Origin,
    /// When the member last started a download of the image (at most a minute late:
    /// `service::share_downloads`); none if it never did.
    pub last_download_at: Option<NaiveDateTime>,
    /// The grant the row was materialised from (`os_glint.grant_id`, with `via: grant`).
    pub grant_id: Option<String>,
}

/// How a share was made: an ordinary member create, `POST /v2/glint/shares`, or a grant
/// (`POST /v2/glint/grants`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    #[default]
    Direct,
    Batch,
    Grant,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Direct => "direct",
            Origin::Batch => "batch",
            Origin::Grant => "grant",
        }
    }

    /// The stored value (`None`: direct); a value this build does not know reads as direct.
    pub fn parse(stored: Option<&str>) -> Origin {
        match stored {
            Some("batch") => Origin::Batch,
            Some("grant") => Origin::Grant,
            _ => Origin::Direct,
        }
    }
}

/// Who changes a share's extension data: the owner (expiry, note) or the member (renewal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Owner,
    Member,
}

impl MemberExt {
    /// Nothing to keep or show (`os_glint` is left out).
    pub fn is_empty(&self) -> bool {
        self.expires_at.is_none()
            && self.note.is_none()
            && !self.renewal_requested
            && self.policy.is_none()
            && self.via == Origin::Direct
            && self.last_download_at.is_none()
    }

    /// With `pending_ttl`, a pending offer ends `ttl` after it was made: its effective expiry is
    /// the earlier of that and its own `expires_at` (what the owner sees, and what access uses).
    pub fn with_pending_ttl(
        mut self,
        pending: bool,
        offered_at: NaiveDateTime,
        ttl: Option<std::time::Duration>,
    ) -> MemberExt {
        let Some(ttl) = ttl.filter(|_| pending) else {
            return self;
        };
        // A ttl past the calendar's end never ends the offer.
        let Some(ends) = chrono::Duration::from_std(ttl)
            .ok()
            .and_then(|d| offered_at.checked_add_signed(d))
        else {
            return self;
        };
        self.expires_at = Some(self.expires_at.map_or(ends, |at| at.min(ends)));
        self
    }

    /// Whether access has ended at `now`.
    pub fn expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// `os_glint` of `POST /v2/images/{id}/members`: absent or null is nothing; otherwise an
    /// object with `expires_at` (RFC 3339, in the future; sub-seconds are dropped) and `note`
    /// (a string of at most [`NOTE_MAX_CHARS`] characters), each optional. Other keys are refused
    /// by name, so a typo does not silently drop an expiry.
    pub fn from_create(value: Option<&Value>, now: NaiveDateTime) -> Result<MemberExt, Error> {
        let o = match value {
            None | Some(Value::Null) => return Ok(MemberExt::default()),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(Error::bad_request("os_glint must be an object")),
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["expires_at", "note", "domain"].contains(&k.as_str()))
        {
            return Err(Error::bad_request(format!(
                "os_glint.{k} cannot be set here (known: expires_at, note, domain)"
            )));
        }
        // `domain` (the cross-domain rule's) is read by `domain::cross_domain`, not kept.
        Ok(MemberExt {
            expires_at: expires_at(o, now)?,
            note: note(o)?,
            renewal_requested: false,
            policy: None,
            reminded: None,
            via: Origin::Direct,
            last_download_at: None,
            grant_id: None,
        })
    }

    /// `PUT /v2/glint/images/{id}/members/{member_id}` with `{"os_glint": {...}}`: the keys sent
    /// change, the others stay. The owner sets `expires_at` (a future time, or null to remove the
    /// expiry; either clears a renewal request) and `note` (null or "" removes it); the member sets
    /// `renewal_requested`. A key the caller's side may not set is a 403 naming it.
    pub fn change(&self, body: &Value, side: Side, now: NaiveDateTime) -> Result<MemberExt, Error> {
        let Some(Value::Object(o)) = body.get("os_glint") else {
            return Err(Error::bad_request(
                "Expected the changes in the form: {\"os_glint\": {...}}",
            ));
        };
        let allowed: &[&str] = match side {
            Side::Owner => &["expires_at", "note"],
            Side::Member => &["renewal_requested"],
        };
        for k in o.keys() {
            if !["expires_at", "note", "renewal_requested"].contains(&k.as_str()) {
                return Err(Error::bad_request(format!(
                    "os_glint.{k} cannot be set here (known: expires_at, note, renewal_requested)"
                )));
            }
            if !allowed.contains(&k.as_str()) {
                let who = match side {
                    Side::Owner => "the member",
                    Side::Member => "the image owner",
                };
                return Err(Error::forbidden(format!(
                    "os_glint.{k} is set by {who} of this share"
                )));
            }
        }
        let mut next = self.clone();
        if o.contains_key("expires_at") {
            next.expires_at = expires_at(o, now)?;
            next.renewal_requested = false;
            next.reminded = None;
        }
        if o.contains_key("note") {
            next.note = note(o)?;
        }
        if let Some(v) = o.get("renewal_requested") {
            next.renewal_requested = v.as_bool().ok_or_else(|| {
                Error::bad_request("os_glint.renewal_requested must be true or false")
            })?;
        }
        Ok(next)
    }
}

fn expires_at(o: &Map<String, Value>, now: NaiveDateTime) -> Result<Option<NaiveDateTime>, Error> {
    let text =
        match o.get("expires_at") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s,
            Some(_) => return Err(Error::bad_request(
                "os_glint.expires_at must be a time in RFC 3339 form, e.g. 2027-01-31T12:00:00Z",
            )),
        };
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| {
            Error::bad_request(format!(
                "os_glint.expires_at '{text}' is not a time in RFC 3339 form, e.g. 2027-01-31T12:00:00Z"
            ))
        })?
        .naive_utc();
    let at = at.with_nanosecond(0).unwrap_or(at);
    if at <= now {
        return Err(Error::bad_request(format!(
            "os_glint.expires_at '{text}' is not in the future"
        )));
    }
    Ok(Some(at))
}

fn note(o: &Map<String, Value>) -> Result<Option<String>, Error> {
    match o.get("note") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > NOTE_MAX_CHARS => Err(Error::bad_request(
            format!("os_glint.note is longer than {NOTE_MAX_CHARS} characters"),
        )),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::bad_request("os_glint.note must be a string")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(6, 0, 0)
            .unwrap()
    }

    fn bad(v: Value) -> String {
        match MemberExt::from_create(Some(&v), now()).unwrap_err() {
            Error::BadRequest(m) => format!("{m:?}"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn absent_or_null_is_nothing() {
        assert!(MemberExt::from_create(None, now()).unwrap().is_empty());
        assert!(MemberExt::from_create(Some(&Value::Null), now())
            .unwrap()
            .is_empty());
        assert!(MemberExt::from_create(Some(&json!({})), now())
            .unwrap()
            .is_empty());
        assert!(MemberExt::from_create(Some(&json!({"note": ""})), now())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn expiry_in_utc_whole_seconds_and_in_the_future() {
        let e = MemberExt::from_create(
            Some(&json!({"expires_at": "2026-12-06T08:00:01.75+02:00", "note": "ci"})),
            now(),
        )
        .unwrap();
        let at = NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(6, 0, 1)
            .unwrap();
        assert_eq!(e.expires_at, Some(at));
        assert_eq!(e.note.as_deref(), Some("ci"));
        assert!(!e.expired(now()));
        assert!(e.expired(at));
        assert!(e.expired(at + chrono::Duration::seconds(1)));
        assert!(bad(json!({"expires_at": "2026-12-06T06:00:00Z"})).contains("not in the future"));
        assert!(bad(json!({"expires_at": "2026-12-06T06:00:00.9Z"})).contains("not in the future"));
        assert!(bad(json!({"expires_at": "tomorrow"})).contains("RFC 3339"));
        assert!(bad(json!({"expires_at": 1_800_000_000})).contains("RFC 3339"));
    }

    #[test]
    fn pending_offers_end_after_the_ttl() {
        let ttl = Some(std::time::Duration::from_secs(3600));
        let offered = now();
        let e = MemberExt::default().with_pending_ttl(true, offered, ttl);
        assert_eq!(e.expires_at, Some(offered + chrono::Duration::hours(1)));
        assert!(!e.expired(offered + chrono::Duration::minutes(59)));
        assert!(e.expired(offered + chrono::Duration::hours(1)));
        // An earlier expiry of its own stays; accepted shares and no ttl are left alone.
        let soon = MemberExt {
            expires_at: Some(offered + chrono::Duration::minutes(5)),
            ..MemberExt::default()
        };
        assert_eq!(soon.clone().with_pending_ttl(true, offered, ttl), soon);
        assert_eq!(
            MemberExt::default().with_pending_ttl(false, offered, ttl),
            MemberExt::default()
        );
        assert_eq!(
            MemberExt::default().with_pending_ttl(true, offered, None),
            MemberExt::default()
        );
    }

    #[test]
    fn changes_by_side() {
        let base = MemberExt {
            expires_at: Some(now() + chrono::Duration::days(1)),
            note: Some("n".into()),
            renewal_requested: true,
            policy: None,
            reminded: Some(86_400),
            via: Origin::Direct,
            last_download_at: None,
            grant_id: None,
        };
        let owner = |v: Value| base.change(&json!({ "os_glint": v }), Side::Owner, now());
        let member = |v: Value| base.change(&json!({ "os_glint": v }), Side::Member, now());
        // A new expiry answers the renewal request and restarts the reminders; the note stays.
        let e = owner(json!({"expires_at": "2026-12-31T00:00:00Z"})).unwrap();
        assert_eq!(e.reminded, None);
        assert_eq!(e.expires_at.unwrap().to_string(), "2026-12-31 00:00:00");
        assert_eq!((e.note.as_deref(), e.renewal_requested), (Some("n"), false));
        // null removes the expiry; a note-only change keeps the rest.
        let e = owner(json!({"expires_at": null})).unwrap();
        assert_eq!(e.expires_at, None);
        let e = owner(json!({"note": null})).unwrap();
        assert_eq!(
            (e.note, e.expires_at, e.renewal_requested),
            (None, base.expires_at, true)
        );
        assert_eq!(owner(json!({})).unwrap(), base);
        let e = member(json!({"renewal_requested": false})).unwrap();
        assert!(!e.renewal_requested);
        // Each side only its own keys: 403 naming the key.
        assert!(matches!(
            owner(json!({"renewal_requested": true})),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            member(json!({"expires_at": null})),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            member(json!({"note": "mine"})),
            Err(Error::Forbidden(_))
        ));
        // Bad values and shapes are 400.
        assert!(matches!(
            owner(json!({"expires_at": "2000-01-01T00:00:00Z"})),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            member(json!({"renewal_requested": "yes"})),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            owner(json!({"state": "active"})),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            base.change(&json!({}), Side::Owner, now()),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn notes_and_unknown_keys() {
        let long = "é".repeat(NOTE_MAX_CHARS);
        let e = MemberExt::from_create(Some(&json!({ "note": long })), now()).unwrap();
        assert_eq!(e.note.unwrap().chars().count(), NOTE_MAX_CHARS);
        assert!(bad(json!({"note": "x".repeat(NOTE_MAX_CHARS + 1)})).contains("longer than 1000"));
        assert!(bad(json!({"note": 5})).contains("must be a string"));
        assert!(bad(json!({"expire_at": "2027-01-01T00:00:00Z"})).contains("os_glint.expire_at"));
        assert!(bad(json!({"state": "active"})).contains("os_glint.state"));
        assert!(bad(json!("x")).contains("must be an object"));
    }

    #[test]
    fn origin_is_kept_and_shown_only_when_not_direct() {
        assert!(MemberExt::default().is_empty());
        let batch = MemberExt {
            via: Origin::Batch,
            ..MemberExt::default()
        };
        assert!(!batch.is_empty());
        assert_eq!(Origin::parse(Some(Origin::Batch.as_str())), Origin::Batch);
        assert_eq!(Origin::parse(None), Origin::Direct);
        assert_eq!(Origin::parse(Some("grant")), Origin::Grant);
        assert_eq!(Origin::parse(Some("galaxy")), Origin::Direct);
        // A change of expiry or note keeps how the share was made.
        let e = batch
            .change(&json!({"os_glint": {"note": "n"}}), Side::Owner, now())
            .unwrap();
        assert_eq!(e.via, Origin::Batch);
    }
}
