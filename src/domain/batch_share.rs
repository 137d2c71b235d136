//! Batch share (`POST /v2/glint/shares`, `../shared/design/sharing-extensions.md`): N images to M
//! projects in one synchronous call, one outcome per (image, project) pair. Idempotent: a pair
//! already shared is `exists`, never a conflict. Here: the request's shape and bounds, and the
//! outcomes; the service decides each pair with the rules of a single member create.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::domain::member::MAX_MEMBER_ID_LEN;
use crate::domain::member_ext::{MemberExt, Origin};
use crate::error::Error;

/// The most images in one request.
pub const MAX_IMAGES: usize = 100;
/// The most targets (projects) in one request.
pub const MAX_TARGETS: usize = 1000;
/// The most (image, project) pairs in one request: the call stays synchronous and short.
pub const MAX_PAIRS: usize = 2000;

/// A project to share with: by id, or by name within a domain (resolved in Keystone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Id(String),
    Name { name: String, domain: String },
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchShare {
    /// Each once, in the order given.
    pub images: Vec<String>,
    /// Each once, in the order given.
    pub targets: Vec<Target>,
    /// Applied to each member created (`via` is `batch`).
    pub ext: MemberExt,
    /// Decide every pair, change nothing.
    pub dry_run: bool,
}

/// What became (or, in a dry run, would become) of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Created,
    /// Already a member of the image (whatever its status): left as it is.
    Exists,
    /// The image has `image_member_quota` members.
    Quota,
    /// The image is not `shared`: only shared images have members.
    NotSharedVisibility,
    /// No image by that id visible to the caller.
    NotFound,
    /// The caller may not add members to the image, or the recipient's trust policy refuses.
    Forbidden,
    /// No such project in Keystone (a name that resolves to none; with
    /// `[glint_sharing] validate_member`, an id Keystone does not know or has disabled).
    UnknownProject,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Created,
        Outcome::Exists,
        Outcome::Quota,
        Outcome::NotSharedVisibility,
        Outcome::NotFound,
        Outcome::Forbidden,
        Outcome::UnknownProject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Exists => "exists",
            Outcome::Quota => "quota",
            Outcome::NotSharedVisibility => "not_shared_visibility",
            Outcome::NotFound => "not_found",
            Outcome::Forbidden => "forbidden",
            Outcome::UnknownProject => "unknown_project",
        }
    }
}

const SHAPE: &str = "Expected {\"images\": [image ids], \"targets\": {\"projects\": [project ids \
                     or {\"name\": ..., \"domain\": ...}]}, \"os_glint\": {...}, \"dry_run\": false}";

impl BatchShare {
    /// The body of `POST /v2/glint/shares`. Unknown keys are refused by name (a typo must not
    /// silently share without an expiry); over a bound is a 400 naming it.
    pub fn parse(body: &Value, now: NaiveDateTime) -> Result<BatchShare, Error> {
        let Value::Object(o) = body else {
            return Err(Error::bad_request(SHAPE));
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["images", "targets", "os_glint", "dry_run"].contains(&k.as_str()))
        {
            return Err(Error::bad_request(format!(
                "'{k}' is not a batch share field (known: images, targets, os_glint, dry_run)"
            )));
        }
        let images = images(o)?;
        let targets = targets(o)?;
        let pairs = images.len().saturating_mul(targets.len());
        if pairs > MAX_PAIRS {
            return Err(Error::bad_request(format!(
                "{} images x {} projects is {pairs} pairs; at most {MAX_PAIRS} in one request",
                images.len(),
                targets.len()
            )));
        }
        let mut ext = MemberExt::from_create(o.get("os_glint"), now)?;
        ext.via = Origin::Batch;
        let dry_run = match o.get("dry_run") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(Error::bad_request("dry_run must be true or false")),
        };
        Ok(BatchShare {
            images,
            targets,
            ext,
            dry_run,
        })
    }
}

fn images(o: &Map<String, Value>) -> Result<Vec<String>, Error> {
    let Some(Value::Array(items)) = o.get("images") else {
        return Err(Error::bad_request(format!(
            "images must be a list of image ids. {SHAPE}"
        )));
    };
    if items.is_empty() {
        return Err(Error::bad_request("images cannot be empty"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) if !s.is_empty() && s.chars().count() <= MAX_MEMBER_ID_LEN => {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            _ => {
                return Err(Error::bad_request(format!(
                    "images: {item} is not an image id"
                )))
            }
        }
    }
    if out.len() > MAX_IMAGES {
        return Err(Error::bad_request(format!(
            "{} images; at most {MAX_IMAGES} in one request",
            out.len()
        )));
    }
    Ok(out)
}

fn targets(o: &Map<String, Value>) -> Result<Vec<Target>, Error> {
    let Some(Value::Object(t)) = o.get("targets") else {
        return Err(Error::bad_request(format!(
            "targets must be an object. {SHAPE}"
        )));
    };
    if let Some(k) = t.keys().find(|k| k.as_str() != "projects") {
        return Err(Error::bad_request(format!(
            "targets.{k} is not a batch share target (known: projects)"
        )));
    }
    let Some(Value::Array(items)) = t.get("projects") else {
        return Err(Error::bad_request(format!(
            "targets.projects must be a list. {SHAPE}"
        )));
    };
    if items.is_empty() {
        return Err(Error::bad_request("targets.projects cannot be empty"));
    }
    let mut out: Vec<Target> = Vec::with_capacity(items.len());
    for item in items {
        let target = target(item)?;
        if !out.contains(&target) {
            out.push(target);
        }
    }
    if out.len() > MAX_TARGETS {
        return Err(Error::bad_request(format!(
            "{} projects; at most {MAX_TARGETS} in one request",
            out.len()
        )));
    }
    Ok(out)
}

fn target(item: &Value) -> Result<Target, Error> {
    let text = |v: Option<&Value>, what: &str| -> Result<String, Error> {
        match v {
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_MEMBER_ID_LEN => {
                Ok(s.clone())
            }
            _ => Err(Error::bad_request(format!(
                "targets.projects: {item} has no valid {what} (a non-empty string of at most \
                 {MAX_MEMBER_ID_LEN} characters)"
            ))),
        }
    };
    match item {
        Value::String(_) => Ok(Target::Id(text(Some(item), "project id")?)),
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| !["name", "domain"].contains(&k.as_str())) {
                return Err(Error::bad_request(format!(
                    "targets.projects: '{k}' is not a project field (known: name, domain)"
                )));
            }
            Ok(Target::Name {
                name: text(o.get("name"), "name")?,
                domain: text(o.get("domain"), "domain")?,
            })
        }
        _ => Err(Error::bad_request(format!(
            "targets.projects: {item} is neither a project id nor {{\"name\", \"domain\"}}"
        ))),
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
        match BatchShare::parse(&v, now()).unwrap_err() {
            Error::BadRequest(m) => format!("{m:?}"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn parses_ids_names_ext_and_dry_run() {
        let b = BatchShare::parse(
            &json!({"images": ["i1", "i2", "i1"],
                    "targets": {"projects": ["p1", {"name": "web", "domain": "corp"}, "p1"]},
                    "os_glint": {"note": "golden", "expires_at": "2027-01-01T00:00:00Z"},
                    "dry_run": true}),
            now(),
        )
        .unwrap();
        assert_eq!(b.images, ["i1", "i2"]);
        assert_eq!(
            b.targets,
            [
                Target::Id("p1".into()),
                Target::Name {
                    name: "web".into(),
                    domain: "corp".into()
                }
            ]
        );
        assert_eq!(b.ext.note.as_deref(), Some("golden"));
        assert_eq!(b.ext.via, Origin::Batch);
        assert!(b.ext.expires_at.is_some());
        assert!(b.dry_run);
        let b = BatchShare::parse(
            &json!({"images": ["i"], "targets": {"projects": ["p"]}}),
            now(),
        )
        .unwrap();
        assert!(!b.dry_run);
        assert_eq!((b.ext.note, b.ext.via), (None, Origin::Batch));
    }

    #[test]
    fn shapes_are_refused_by_name() {
        let t = json!({"projects": ["p"]});
        assert!(bad(json!([])).contains("Expected"));
        assert!(bad(json!({"images": ["i"], "targets": t, "dryrun": true})).contains("'dryrun'"));
        assert!(bad(json!({"targets": t})).contains("images must be a list"));
        assert!(bad(json!({"images": [], "targets": t})).contains("images cannot be empty"));
        assert!(bad(json!({"images": [5], "targets": t})).contains("not an image id"));
        assert!(bad(json!({"images": [""], "targets": t})).contains("not an image id"));
        assert!(bad(json!({"images": ["i"]})).contains("targets must be an object"));
        assert!(bad(json!({"images": ["i"], "targets": {"domains": ["d"]}}))
            .contains("targets.domains"));
        assert!(
            bad(json!({"images": ["i"], "targets": {"projects": []}})).contains("cannot be empty")
        );
        assert!(bad(json!({"images": ["i"], "targets": {"projects": [""]}})).contains("project id"));
        assert!(
            bad(json!({"images": ["i"], "targets": {"projects": [{"name": "n"}]}}))
                .contains("valid domain")
        );
        assert!(
            bad(json!({"images": ["i"], "targets": {"projects": [{"id": "x", "name": "n"}]}}))
                .contains("'id'")
        );
        assert!(bad(json!({"images": ["i"], "targets": {"projects": [7]}})).contains("neither"));
        let long = "p".repeat(MAX_MEMBER_ID_LEN + 1);
        assert!(
            bad(json!({"images": ["i"], "targets": {"projects": [long]}})).contains("project id")
        );
        assert!(bad(json!({"images": ["i"], "targets": t, "dry_run": "yes"})).contains("dry_run"));
        assert!(
            bad(json!({"images": ["i"], "targets": t, "os_glint": {"via": "x"}}))
                .contains("os_glint.via")
        );
    }

    #[test]
    fn bounds() {
        let ids =
            |n: usize, p: &str| -> Vec<String> { (0..n).map(|i| format!("{p}{i}")).collect() };
        // 20 x 50 and the largest allowed shapes pass.
        for (i, p) in [(20, 50), (MAX_IMAGES, 20), (2, MAX_TARGETS)] {
            let b = BatchShare::parse(
                &json!({"images": ids(i, "i"), "targets": {"projects": ids(p, "p")}}),
                now(),
            )
            .unwrap();
            assert_eq!((b.images.len(), b.targets.len()), (i, p));
        }
        assert!(
            bad(json!({"images": ids(MAX_IMAGES + 1, "i"), "targets": {"projects": ["p"]}}))
                .contains("at most 100")
        );
        assert!(
            bad(json!({"images": ["i"], "targets": {"projects": ids(MAX_TARGETS + 1, "p")}}))
                .contains("at most 1000")
        );
        assert!(bad(
            json!({"images": ids(3, "i"), "targets": {"projects": ids(MAX_TARGETS, "p")}})
        )
        .contains("3000 pairs; at most 2000"));
        // Duplicates count once.
        let mut many = ids(MAX_IMAGES, "i");
        many.extend(ids(MAX_IMAGES, "i"));
        assert!(BatchShare::parse(
            &json!({"images": many, "targets": {"projects": ["p"]}}),
            now()
        )
        .is_ok());
    }

    #[test]
    fn outcome_names_are_the_contract_s() {
        let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            names,
            [
                "created",
                "exists",
                "quota",
                "not_shared_visibility",
                "not_found",
                "forbidden",
                "unknown_project"
            ]
        );
    }
}
