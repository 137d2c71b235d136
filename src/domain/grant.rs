//! Grants (`POST /v2/glint/grants`, `../shared/design/sharing-extensions.md`): an owner's images,
//! chosen by id or by tag, granted to a Keystone domain or to a project subtree (a project and
//! all its descendants), including projects created and images tagged later. Here: the request's
//! shape and bounds, and what status a recipient's member row starts with.
//!
//! A grant is materialised into ordinary member rows (`os_glint.via = grant`), so a recipient
//! sees a granted image exactly as one shared with it directly, through Glance's own routes.

use serde_json::{Map, Value};

use crate::domain::image::{Image, Visibility};
use crate::domain::member::{MemberStatus, MAX_MEMBER_ID_LEN};
use crate::domain::share_policy::{Mark, Offer};
use crate::error::Error;

/// The most images one grant names by id.
pub const MAX_IMAGES: usize = 100;
/// The most images a tag grant covers at creation (more tagged later are each materialised as
/// they are tagged).
pub const MAX_TAGGED_IMAGES: usize = 100;
/// The most projects of a target materialised at creation or by one sweep: the work of one
/// request stays bounded (a project beyond it is reached when it first calls glint).
pub const MAX_PROJECTS: usize = 2000;
/// The longest tag (Glance's).
pub const MAX_TAG_LEN: usize = 255;

/// Who a grant reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every project of the domain.
    Domain(String),
    /// The project and all its descendants.
    Subtree(String),
}

impl Target {
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Domain(_) => "domain",
            Target::Subtree(_) => "subtree",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Target::Domain(id) | Target::Subtree(id) => id,
        }
    }

    /// From the stored kind and id; `None` for a kind this build does not know.
    pub fn from_stored(kind: &str, id: &str) -> Option<Target> {
        match kind {
            "domain" => Some(Target::Domain(id.to_owned())),
            "subtree" => Some(Target::Subtree(id.to_owned())),
            _ => None,
        }
    }

    /// The target as the API shows it: `{"domain": id}` or `{"project": id, "subtree": true}`.
    pub fn to_json(&self) -> Value {
        match self {
            Target::Domain(id) => serde_json::json!({ "domain": id }),
            Target::Subtree(id) => serde_json::json!({ "project": id, "subtree": true }),
        }
    }
}

/// Which images a grant covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// These images (each once, in the order given).
    Images(Vec<String>),
    /// The owner's shared images carrying the tag, now and later.
    Tag(String),
}

/// A parsed `POST /v2/glint/grants` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    pub selector: Selector,
    pub target: Target,
}

fn id_field(v: &Value, what: &str) -> Result<String, Error> {
    match v.as_str() {
        Some(s) if !s.is_empty() && s.chars().count() <= MAX_MEMBER_ID_LEN => Ok(s.to_owned()),
        _ => Err(Error::bad_request(format!(
            "{what} must be a non-empty string of at most {MAX_MEMBER_ID_LEN} characters"
        ))),
    }
}

fn parse_target(v: Option<&Value>) -> Result<Target, Error> {
    const SHAPE: &str =
        "'target' must be {\"domain\": \"<domain id>\"} or {\"project\": \"<project id>\"} \
         (the project and all its descendants)";
    let Some(t) = v.and_then(Value::as_object) else {
        return Err(Error::bad_request(SHAPE));
    };
    let unknown = t
        .keys()
        .find(|k| !["domain", "project", "subtree"].contains(&k.as_str()));
    if let Some(k) = unknown {
        return Err(Error::bad_request(format!("Unknown key '{k}' in 'target'")));
    }
    match (t.get("domain"), t.get("project")) {
        (Some(d), None) if !t.contains_key("subtree") => {
            Ok(Target::Domain(id_field(d, "'target.domain'")?))
        }
        (None, Some(p)) => {
            // A project is always granted with its subtree; `subtree: false` is not offered.
            match t.get("subtree") {
                None | Some(Value::Bool(true)) => {}
                _ => {
                    return Err(Error::bad_request(
                        "'target.subtree' can only be true: a grant to a project reaches its \
                         descendants (share with the project alone through its members API)",
                    ))
                }
            }
            Ok(Target::Subtree(id_field(p, "'target.project'")?))
        }
        _ => Err(Error::bad_request(SHAPE)),
    }
}

fn parse_selector(o: &Map<String, Value>) -> Result<Selector, Error> {
    match (o.get("images"), o.get("tag")) {
        (Some(images), None) => {
            let Some(list) = images.as_array() else {
                return Err(Error::bad_request("'images' must be a list of image ids"));
            };
            if list.is_empty() || list.len() > MAX_IMAGES {
                return Err(Error::bad_request(format!(
                    "'images' must name between 1 and {MAX_IMAGES} images"
                )));
            }
            let mut ids: Vec<String> = Vec::with_capacity(list.len());
            for v in list {
                let id = id_field(v, "Each image id")?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ok(Selector::Images(ids))
        }
        (None, Some(tag)) => match tag.as_str() {
            Some(t) if !t.is_empty() && t.chars().count() <= MAX_TAG_LEN => {
                Ok(Selector::Tag(t.to_owned()))
            }
            _ => Err(Error::bad_request(format!(
                "'tag' must be a non-empty string of at most {MAX_TAG_LEN} characters"
            ))),
        },
        _ => Err(Error::bad_request(
            "A grant names its images by 'images' (a list of ids) or by 'tag', exactly one of them",
        )),
    }
}

impl NewGrant {
    pub fn parse(body: &Value) -> Result<NewGrant, Error> {
        let Some(o) = body.as_object() else {
            return Err(Error::bad_request("The request body must be a JSON object"));
        };
        let unknown = o
            .keys()
            .find(|k| !["images", "tag", "target"].contains(&k.as_str()));
        if let Some(k) = unknown {
            return Err(Error::bad_request(format!(
                "Unknown key '{k}' in the grant"
            )));
        }
        Ok(NewGrant {
            selector: parse_selector(o)?,
            target: parse_target(o.get("target"))?,
        })
    }
}

/// A consent given once for the whole target (`PUT /v2/glint/grants/{id}/decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accepted,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accepted => "accepted",
            Decision::Rejected => "rejected",
        }
    }

    pub fn parse_stored(s: Option<&str>) -> Option<Decision> {
        match s {
            Some("accepted") => Some(Decision::Accepted),
            Some("rejected") => Some(Decision::Rejected),
            _ => None,
        }
    }

    /// `{"status": "accepted" | "rejected"}`.
    pub fn parse(body: &Value) -> Result<Decision, Error> {
        let status = body.as_object().and_then(|o| o.get("status"));
        match status.and_then(Value::as_str) {
            Some("accepted") => Ok(Decision::Accepted),
            Some("rejected") => Ok(Decision::Rejected),
            _ => Err(Error::bad_request(
                "A decision is {\"status\": \"accepted\"} or {\"status\": \"rejected\"}",
            )),
        }
    }

    pub fn status(self) -> MemberStatus {
        match self {
            Decision::Accepted => MemberStatus::Accepted,
            Decision::Rejected => MemberStatus::Rejected,
        }
    }
}

/// The status a recipient's new member row starts with, and the trust-policy mark it carries;
/// `None`: no row (the recipient's trust policy refuses offers from this owner). A decision by
/// the target's domain admin is the consent of every project of the target and comes first;
/// else the recipient's own trust policy decides as for any offer (pending unless it trusts
/// the owner).
pub fn initial_status(
    decision: Option<Decision>,
    offer: Offer,
) -> Option<(MemberStatus, Option<Mark>)> {
    match (decision, offer) {
        (Some(d), _) => Some((d.status(), None)),
        (None, Offer::Refuse) => None,
        (None, Offer::Create { accepted, mark }) => {
            let status = match accepted {
                true => MemberStatus::Accepted,
                false => MemberStatus::Pending,
            };
            Some((status, mark))
        }
    }
}

/// Whether a grant of `owner` still covers `image`. A tag grant covers the owner's shared images
/// carrying its tag, so it lets go of an image that lost the tag, was made other than `shared`
/// or changed hands (its rows are then withdrawn). A grant of images named by id (`tag` none)
/// keeps them, as Glance keeps an image's members when its visibility changes.
pub fn still_covers(tag: Option<&str>, owner: &str, image: &Image) -> bool {
    let Some(tag) = tag else { return true };
    image.owner.as_deref() == Some(owner)
        && image.visibility == Visibility::Shared
        && image.tags.contains(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_ids_or_a_tag_and_a_target() {
        let g = NewGrant::parse(&json!({"images": ["a", "b", "a"], "target": {"domain": "d"}}));
        assert_eq!(
            g.unwrap(),
            NewGrant {
                selector: Selector::Images(vec!["a".into(), "b".into()]),
                target: Target::Domain("d".into()),
            }
        );
        let g = NewGrant::parse(&json!({"tag": "golden", "target": {"project": "p"}}));
        assert_eq!(
            g.unwrap(),
            NewGrant {
                selector: Selector::Tag("golden".into()),
                target: Target::Subtree("p".into()),
            }
        );
        let g = NewGrant::parse(&json!({"tag": "t", "target": {"project": "p", "subtree": true}}));
        assert_eq!(g.unwrap().target, Target::Subtree("p".into()));
    }

    #[test]
    fn refuses_bad_shapes() {
        let bad = [
            json!([]),
            json!({"target": {"domain": "d"}}),
            json!({"images": ["a"], "tag": "t", "target": {"domain": "d"}}),
            json!({"images": [], "target": {"domain": "d"}}),
            json!({"images": [1], "target": {"domain": "d"}}),
            json!({"images": ["a"]}),
            json!({"images": ["a"], "target": {"domain": "d", "project": "p"}}),
            json!({"images": ["a"], "target": {"project": "p", "subtree": false}}),
            json!({"images": ["a"], "target": {"domain": "d", "subtree": true}}),
            json!({"images": ["a"], "target": {"domain": ""}}),
            json!({"images": ["a"], "target": {"domain": "d", "x": 1}}),
            json!({"tag": "", "target": {"domain": "d"}}),
            json!({"tag": "t".repeat(256), "target": {"domain": "d"}}),
            json!({"tag": "t", "target": {"domain": "d"}, "extra": 1}),
            json!({"images": (0..101).map(|i| format!("i{i}")).collect::<Vec<_>>(),
                   "target": {"domain": "d"}}),
        ];
        for b in bad {
            assert!(
                matches!(NewGrant::parse(&b), Err(Error::BadRequest(_))),
                "{b}"
            );
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(
            Decision::parse(&json!({"status": "accepted"})).unwrap(),
            Decision::Accepted
        );
        assert!(Decision::parse(&json!({"status": "pending"})).is_err());
        assert!(Decision::parse(&json!("accepted")).is_err());
        assert_eq!(
            Decision::parse_stored(Some(Decision::Rejected.as_str())),
            Some(Decision::Rejected)
        );
        assert_eq!(Decision::parse_stored(None), None);
    }

    #[test]
    fn the_domain_decision_comes_before_the_trust_policy() {
        let pending = Offer::Create {
            accepted: false,
            mark: None,
        };
        let trusted = Offer::Create {
            accepted: true,
            mark: None,
        };
        assert_eq!(
            initial_status(None, pending),
            Some((MemberStatus::Pending, None))
        );
        assert_eq!(
            initial_status(None, trusted),
            Some((MemberStatus::Accepted, None))
        );
        assert_eq!(initial_status(None, Offer::Refuse), None);
        assert_eq!(
            initial_status(Some(Decision::Accepted), Offer::Refuse),
            Some((MemberStatus::Accepted, None))
        );
        assert_eq!(
            initial_status(Some(Decision::Rejected), trusted),
            Some((MemberStatus::Rejected, None))
        );
    }

    #[test]
    fn a_tag_grant_lets_go_of_an_image_that_no_longer_qualifies() {
        let at = chrono::NaiveDateTime::default();
        let mut image = Image::new("i".into(), Some("o".into()), at);
        image.visibility = Visibility::Shared;
        image.tags.insert("golden".into());
        assert!(still_covers(Some("golden"), "o", &image));
        assert!(!still_covers(Some("silver"), "o", &image));
        assert!(!still_covers(Some("golden"), "other", &image));
        // By id: kept whatever happens to the image.
        assert!(still_covers(None, "other", &image));
        let mut private = image.clone();
        private.visibility = Visibility::Private;
        assert!(!still_covers(Some("golden"), "o", &private));
        assert!(still_covers(None, "o", &private));
        let mut untagged = image.clone();
        untagged.tags.clear();
        assert!(!still_covers(Some("golden"), "o", &untagged));
    }

    #[test]
    fn targets_round_trip() {
        for t in [Target::Domain("d".into()), Target::Subtree("p".into())] {
            assert_eq!(Target::from_stored(t.kind(), t.id()), Some(t.clone()));
        }
        assert_eq!(Target::from_stored("galaxy", "x"), None);
    }
}
