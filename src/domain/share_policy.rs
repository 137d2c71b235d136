//! A recipient project's trust policy (`/v2/glint/projects/{project_id}/share-policy`,
//! `../shared/design/sharing-extensions.md`): which owners' offers are accepted on arrival, and what
//! happens to the others. Decided once, when an offer is made; a later policy change leaves
//! existing shares as they are.

use serde_json::{json, Map, Value};

use crate::error::Error;

/// The most owners, and the most domains, one policy lists.
pub const MAX_TRUSTED: usize = 100;

/// The longest project or domain id (Glance's member id column; Keystone's ids are shorter).
const MAX_MEMBER_ID_LEN: usize = 255;

/// What happens to an offer from an owner the policy does not trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Untrusted {
    /// A pending offer, as in Glance.
    #[default]
    Allow,
    /// A pending offer, left out of the inbox and its counts.
    Hide,
    /// Refused at creation: the owner gets 403.
    Reject,
}

impl Untrusted {
    pub fn as_str(self) -> &'static str {
        match self {
            Untrusted::Allow => "allow",
            Untrusted::Hide => "hide",
            Untrusted::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Untrusted> {
        match s {
            "allow" => Some(Untrusted::Allow),
            "hide" => Some(Untrusted::Hide),
            "reject" => Some(Untrusted::Reject),
            _ => None,
        }
    }
}

/// `enforce` acts on the policy; `audit` only marks on each offer what would have happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Enforce,
    Audit,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "enforce" => Some(Mode::Enforce),
            "audit" => Some(Mode::Audit),
            _ => None,
        }
    }
}

/// A recipient project's policy. The default (no policy set) changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SharePolicy {
    /// Owner projects whose offers are accepted on arrival.
    pub owners: Vec<String>,
    /// Domains whose projects' offers are accepted on arrival.
    pub domains: Vec<String>,
    /// Offers from owners in the recipient's own domain are accepted on arrival.
    pub same_domain: bool,
    pub untrusted: Untrusted,
    pub mode: Mode,
}

/// What the policy did to an offer, kept on the share (`os_glint.policy`) and in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    AutoAccepted,
    Hidden,
    WouldAutoAccept,
    WouldHide,
    WouldReject,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::AutoAccepted => "auto_accepted",
            Mark::Hidden => "hidden",
            Mark::WouldAutoAccept => "would_auto_accept",
            Mark::WouldHide => "would_hide",
            Mark::WouldReject => "would_reject",
        }
    }

    pub fn parse(s: &str) -> Option<Mark> {
        [
            Mark::AutoAccepted,
            Mark::Hidden,
            Mark::WouldAutoAccept,
            Mark::WouldHide,
            Mark::WouldReject,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// What becomes of one offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Created `accepted` (trusted, enforced) or, as in Glance, `pending`; with the mark to keep
    /// on the share, if any.
    Create { accepted: bool, mark: Option<Mark> },
    /// Refused: the owner gets 403.
    Refuse,
}

/// Who makes an offer: the image's owner project and, when known, its domain.
#[derive(Debug, Clone, Copy)]
pub struct Offerer<'a> {
    pub owner: Option<&'a str>,
    pub domain: Option<&'a str>,
}

impl SharePolicy {
    /// Whether the policy trusts offers from `from`, for a recipient in `recipient_domain`.
    pub fn trusts(&self, from: Offerer<'_>, recipient_domain: Option<&str>) -> bool {
        let by_owner = from
            .owner
            .is_some_and(|o| self.owners.iter().any(|t| t == o));
        let by_domain = from
            .domain
            .is_some_and(|d| self.domains.iter().any(|t| t == d));
        let same = self.same_domain
            && matches!((from.domain, recipient_domain), (Some(a), Some(b)) if a == b);
        by_owner || by_domain || same
    }

    /// What happens to an offer from `from` to a recipient in `recipient_domain`.
    pub fn decide(&self, from: Offerer<'_>, recipient_domain: Option<&str>) -> Offer {
        let trusted = self.trusts(from, recipient_domain);
        match (self.mode, trusted, self.untrusted) {
            (Mode::Enforce, true, _) => Offer::Create {
                accepted: true,
                mark: Some(Mark::AutoAccepted),
            },
            (Mode::Enforce, false, Untrusted::Allow) | (Mode::Audit, false, Untrusted::Allow) => {
                Offer::Create {
                    accepted: false,
                    mark: None,
                }
            }
            (Mode::Enforce, false, Untrusted::Hide) => Offer::Create {
                accepted: false,
                mark: Some(Mark::Hidden),
            },
            (Mode::Enforce, false, Untrusted::Reject) => Offer::Refuse,
            (Mode::Audit, true, _) => Offer::Create {
                accepted: false,
                mark: Some(Mark::WouldAutoAccept),
            },
            (Mode::Audit, false, Untrusted::Hide) => Offer::Create {
                accepted: false,
                mark: Some(Mark::WouldHide),
            },
            (Mode::Audit, false, Untrusted::Reject) => Offer::Create {
                accepted: false,
                mark: Some(Mark::WouldReject),
            },
        }
    }

    /// The body of `PUT .../share-policy`: the whole policy (a key left out takes its default).
    /// Unknown keys are refused by name, so a typo does not silently trust nobody.
    pub fn parse(body: &Value) -> Result<SharePolicy, Error> {
        let Value::Object(o) = body else {
            return Err(Error::bad_request(
                "Expected a policy in the form: {\"auto_accept\": {\"owners\": [...], \
                 \"domains\": [...], \"same_domain\": false}, \"untrusted\": \"allow\", \
                 \"mode\": \"enforce\"}",
            ));
        };
        known_keys(o, "", &["auto_accept", "untrusted", "mode"])?;
        let mut p = SharePolicy::default();
        match o.get("auto_accept") {
            None | Some(Value::Null) => {}
            Some(Value::Object(a)) => {
                known_keys(a, "auto_accept.", &["owners", "domains", "same_domain"])?;
                p.owners = id_list(a, "owners")?;
                p.domains = id_list(a, "domains")?;
                p.same_domain = match a.get("same_domain") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        return Err(Error::bad_request(
                            "auto_accept.same_domain must be true or false",
                        ))
                    }
                };
            }
            Some(_) => return Err(Error::bad_request("auto_accept must be an object")),
        }
        p.untrusted = enum_value(o, "untrusted", Untrusted::parse, "allow, hide, reject")?
            .unwrap_or_default();
        p.mode = enum_value(o, "mode", Mode::parse, "enforce, audit")?.unwrap_or_default();
        Ok(p)
    }

    /// The policy as `GET .../share-policy` shows it (without the project's own fields).
    pub fn to_json(&self) -> Value {
        json!({
            "auto_accept": {
                "owners": self.owners,
                "domains": self.domains,
                "same_domain": self.same_domain,
            },
            "untrusted": self.untrusted.as_str(),
            "mode": self.mode.as_str(),
        })
    }
}

fn known_keys(o: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<(), Error> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(Error::bad_request(format!(
            "{prefix}{k} is not a policy field (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// A list of project or domain ids: strings of 1-255 characters, at most [`MAX_TRUSTED`],
/// duplicates kept once, in the order given.
fn id_list(o: &Map<String, Value>, key: &str) -> Result<Vec<String>, Error> {
    let items = match o.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(Error::bad_request(format!(
                "auto_accept.{key} must be a list of ids"
            )))
        }
    };
    if items.len() > MAX_TRUSTED {
        return Err(Error::bad_request(format!(
            "auto_accept.{key} lists {} ids; at most {MAX_TRUSTED} are allowed",
            items.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let id = match item {
            Value::String(s) if !s.trim().is_empty() && s.chars().count() <= MAX_MEMBER_ID_LEN => s,
            _ => {
                return Err(Error::bad_request(format!(
                    "auto_accept.{key} must hold ids: non-empty strings of at most \
                     {MAX_MEMBER_ID_LEN} characters"
                )))
            }
        };
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

fn enum_value<T>(
    o: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Option<T>,
    known: &str,
) -> Result<Option<T>, Error> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse(s).map(Some).ok_or_else(|| {
            Error::bad_request(format!("Invalid {key} value: {s} (known: {known})"))
        }),
        Some(_) => Err(Error::bad_request(format!("{key} must be one of: {known}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy(v: Value) -> SharePolicy {
        SharePolicy::parse(&v).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn bad(v: Value) -> String {
        match SharePolicy::parse(&v).unwrap_err() {
            Error::BadRequest(m) => format!("{m:?}"),
            e => panic!("{e:?}"),
        }
    }

    const fn from(owner: &'static str, domain: Option<&'static str>) -> Offerer<'static> {
        Offerer {
            owner: Some(owner),
            domain,
        }
    }

    #[test]
    fn decisions() {
        let create = |accepted, mark| Offer::Create { accepted, mark };
        let trusting = |untrusted: &str, mode: &str| {
            policy(
                json!({"auto_accept": {"owners": ["build"], "domains": ["corp"], "same_domain": true},
                          "untrusted": untrusted, "mode": mode}),
            )
        };
        // (policy, offerer, recipient domain, outcome)
        let table = [
            // No policy: Glance's behaviour.
            (
                SharePolicy::default(),
                from("build", Some("d")),
                Some("d"),
                create(false, None),
            ),
            // Trusted by owner, by domain, by same domain; each enforced, then audited.
            (
                trusting("allow", "enforce"),
                from("build", None),
                None,
                create(true, Some(Mark::AutoAccepted)),
            ),
            (
                trusting("allow", "enforce"),
                from("x", Some("corp")),
                Some("d"),
                create(true, Some(Mark::AutoAccepted)),
            ),
            (
                trusting("allow", "enforce"),
                from("x", Some("d")),
                Some("d"),
                create(true, Some(Mark::AutoAccepted)),
            ),
            (
                trusting("reject", "audit"),
                from("build", None),
                None,
                create(false, Some(Mark::WouldAutoAccept)),
            ),
            // Untrusted: a different domain, or an unknown one on either side.
            (
                trusting("allow", "enforce"),
                from("x", Some("e")),
                Some("d"),
                create(false, None),
            ),
            (
                trusting("hide", "enforce"),
                from("x", None),
                None,
                create(false, Some(Mark::Hidden)),
            ),
            (
                trusting("reject", "enforce"),
                from("x", Some("d")),
                None,
                Offer::Refuse,
            ),
            (
                trusting("hide", "audit"),
                from("x", None),
                Some("d"),
                create(false, Some(Mark::WouldHide)),
            ),
            (
                trusting("reject", "audit"),
                from("x", Some("e")),
                Some("d"),
                create(false, Some(Mark::WouldReject)),
            ),
            (
                trusting("allow", "audit"),
                from("x", None),
                None,
                create(false, None),
            ),
        ];
        for (i, (p, who, rd, want)) in table.into_iter().enumerate() {
            assert_eq!(p.decide(who, rd), want, "row {i}");
        }
        // same_domain off: the recipient's own domain is not trusted by itself.
        let p = policy(json!({"untrusted": "reject"}));
        assert_eq!(p.decide(from("x", Some("d")), Some("d")), Offer::Refuse);
        // An owner-less image (admin-made) is trusted only by domain.
        let p = policy(json!({"auto_accept": {"owners": ["build"]}, "untrusted": "reject"}));
        let nobody = Offerer {
            owner: None,
            domain: None,
        };
        assert_eq!(p.decide(nobody, None), Offer::Refuse);
    }

    #[test]
    fn parse_fills_defaults_and_round_trips() {
        assert_eq!(policy(json!({})), SharePolicy::default());
        let p = policy(json!({"auto_accept": {"owners": ["a", "b", "a"]}, "mode": "audit"}));
        assert_eq!(p.owners, ["a", "b"]);
        assert_eq!((p.untrusted, p.mode), (Untrusted::Allow, Mode::Audit));
        assert_eq!(policy(p.to_json()), p);
        assert_eq!(
            SharePolicy::default().to_json(),
            json!({"auto_accept": {"owners": [], "domains": [], "same_domain": false},
                   "untrusted": "allow", "mode": "enforce"})
        );
    }

    #[test]
    fn refusals_name_the_field() {
        assert!(bad(json!([])).contains("Expected a policy"));
        assert!(bad(json!({"untrusted": "drop"})).contains("Invalid untrusted value: drop"));
        assert!(bad(json!({"mode": 1})).contains("mode must be one of"));
        assert!(bad(json!({"auto_acept": {}})).contains("auto_acept is not a policy field"));
        assert!(bad(json!({"auto_accept": {"owner": []}})).contains("auto_accept.owner is not"));
        assert!(bad(json!({"auto_accept": []})).contains("must be an object"));
        assert!(bad(json!({"auto_accept": {"owners": "a"}})).contains("must be a list"));
        assert!(bad(json!({"auto_accept": {"owners": [""]}})).contains("non-empty"));
        assert!(bad(json!({"auto_accept": {"domains": [7]}})).contains("auto_accept.domains"));
        assert!(bad(json!({"auto_accept": {"owners": ["x".repeat(256)]}})).contains("255"));
        assert!(bad(json!({"auto_accept": {"same_domain": "yes"}})).contains("true or false"));
        let many: Vec<String> = (0..=MAX_TRUSTED).map(|i| format!("p{i}")).collect();
        assert!(bad(json!({"auto_accept": {"owners": many}})).contains("at most 100"));
        let enough: Vec<String> = (0..MAX_TRUSTED).map(|i| format!("p{i}")).collect();
        assert_eq!(
            policy(json!({"auto_accept": {"owners": enough}}))
                .owners
                .len(),
            100
        );
    }

    #[test]
    fn marks_round_trip() {
        for m in [
            Mark::AutoAccepted,
            Mark::Hidden,
            Mark::WouldAutoAccept,
            Mark::WouldHide,
            Mark::WouldReject,
        ] {
            assert_eq!(Mark::parse(m.as_str()), Some(m));
        }
        assert_eq!(Mark::parse("x"), None);
    }
}
