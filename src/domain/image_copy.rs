//! Copying an image as the caller's own (`POST /v2/glint/images/{id}/copy`): the request, who may
//! copy what, and what the copy keeps of its source. Pure rules; `service::image_copy` runs them.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::image::{is_reserved, Image, ImageStatus, Visibility};
use super::member::MemberStatus;
use crate::error::Error;

/// A parsed copy request: the copy's name (`None`: the source's) and visibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    pub name: Option<String>,
    pub visibility: Visibility,
}

/// Longest name, as Glance's image schema allows.
const NAME_MAX_CHARS: usize = 255;

impl CopyRequest {
    /// `{"name": "...", "visibility": "private"}`, both optional (an empty body is `{}`); the
    /// visibility defaults to `private`: a copy is the caller's own until it says otherwise.
    pub fn parse(body: &Value) -> Result<CopyRequest, Error> {
        let Value::Object(o) = body else {
            return Err(Error::bad_request(
                "Expected {\"name\": \"...\", \"visibility\": \"private\"}",
            ));
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["name", "visibility"].contains(&k.as_str()))
        {
            return Err(Error::bad_request(format!(
                "'{k}' is not a copy field (known: name, visibility)"
            )));
        }
        let name = match o.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() <= NAME_MAX_CHARS => Some(s.clone()),
            Some(Value::String(_)) => {
                return Err(Error::bad_request(format!(
                    "name is longer than {NAME_MAX_CHARS} characters"
                )))
            }
            Some(_) => return Err(Error::bad_request("name must be a string")),
        };
        let visibility = match o.get("visibility") {
            None | Some(Value::Null) => Visibility::Private,
            Some(Value::String(s)) => s.parse().map_err(|()| {
                Error::bad_request(format!(
                    "visibility '{s}' is not one of public, private, shared, community"
                ))
            })?,
            Some(_) => return Err(Error::bad_request("visibility must be a string")),
        };
        Ok(CopyRequest { name, visibility })
    }
}

/// What decides whether a caller who sees an image may copy it.
#[derive(Debug, Clone, Copy)]
pub struct CopyFacts {
    pub status: ImageStatus,
    pub visibility: Visibility,
    /// The caller's project owns the image.
    pub owner: bool,
    pub admin: bool,
    /// The caller's project's membership, when it has one (and it is not the owner).
    pub membership: Option<MemberStatus>,
}

/// Why a visible image may not be copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Only active images have data to copy (409).
    NotActive(ImageStatus),
    /// A shared image is copied by members that accepted it (403): a pending offer can still
    /// be declined, and copying it would keep the data after a rejection.
    NotAccepted(MemberStatus),
}

/// Who may copy: the owner and an admin always (a duplicate of their own); anyone who sees a
/// public or community image; of a shared image, its members that accepted it. The caller sees
/// the image (else it is a 404 before this).
pub fn may_copy(f: CopyFacts) -> Result<(), Refusal> {
    if f.status != ImageStatus::Active {
        return Err(Refusal::NotActive(f.status));
    }
    if f.owner || f.admin {
        return Ok(());
    }
    match (f.visibility, f.membership) {
        (Visibility::Public | Visibility::Community, _) => Ok(()),
        (_, Some(MemberStatus::Accepted)) => Ok(()),
        (_, Some(other)) => Err(Refusal::NotAccepted(other)),
        // Visible otherwise only to owner and admin, decided above.
        (_, None) => Err(Refusal::NotAccepted(MemberStatus::Pending)),
    }
}

impl Refusal {
    pub fn into_error(self, id: &str) -> Error {
        match self {
            Refusal::NotActive(s) => Error::conflict(format!(
                "Image {id} is {s}: only an active image can be copied"
            )),
            Refusal::NotAccepted(s) => Error::forbidden(format!(
                "Image {id} is shared with your project but the share is {s}: accept it \
                 before copying the image"
            )),
        }
    }
}

/// The new image: owned by `owner`, in `saving` while its data is copied, with the source's
/// formats, sizes, checksum and `os_hash_*` (the data is the same bytes), tags, and the custom
/// properties `keep` lets through (never Glance's reserved ones); not protected, not hidden.
pub fn copied_image(
    source: &Image,
    id: String,
    owner: Option<String>,
    req: &CopyRequest,
    now: NaiveDateTime,
    keep: BTreeMap<String, String>,
) -> Image {
    let mut image = Image::new(id, owner, now);
    image.name = req.name.clone().or_else(|| source.name.clone());
    image.visibility = req.visibility;
    image.status = ImageStatus::Saving;
    image.disk_format = source.disk_format.clone();
    image.container_format = source.container_format.clone();
    image.min_disk = source.min_disk;
    image.min_ram = source.min_ram;
    image.size = source.size;
    image.virtual_size = source.virtual_size;
    image.checksum = source.checksum.clone();
    image.os_hash_algo = source.os_hash_algo.clone();
    image.os_hash_value = source.os_hash_value.clone();
    image.tags = source.tags.clone();
    image.properties = keep.into_iter().filter(|(k, _)| !is_reserved(k)).collect();
    image
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_parse() {
        let r = CopyRequest::parse(&json!({})).unwrap();
        assert_eq!(r.name, None);
        assert_eq!(r.visibility, Visibility::Private);
        let r = CopyRequest::parse(&json!({"name": "mine", "visibility": "shared"})).unwrap();
        assert_eq!(
            (r.name.as_deref(), r.visibility),
            (Some("mine"), Visibility::Shared)
        );
        for bad in [
            json!([]),
            json!({"name": 3}),
            json!({"name": "x".repeat(256)}),
            json!({"visibility": "everyone"}),
            json!({"visibility": true}),
            json!({"owner": "p2"}),
        ] {
            assert!(CopyRequest::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn who_may_copy() {
        use MemberStatus::*;
        let facts = |visibility, owner, admin, membership| CopyFacts {
            status: ImageStatus::Active,
            visibility,
            owner,
            admin,
            membership,
        };
        let v = Visibility::Shared;
        assert_eq!(may_copy(facts(v, false, false, Some(Accepted))), Ok(()));
        assert_eq!(
            may_copy(facts(v, false, false, Some(Pending))),
            Err(Refusal::NotAccepted(Pending))
        );
        assert_eq!(
            may_copy(facts(v, false, false, Some(Rejected))),
            Err(Refusal::NotAccepted(Rejected))
        );
        assert_eq!(may_copy(facts(v, true, false, None)), Ok(()));
        assert_eq!(
            may_copy(facts(Visibility::Private, false, true, None)),
            Ok(())
        );
        assert_eq!(
            may_copy(facts(Visibility::Community, false, false, None)),
            Ok(())
        );
        assert_eq!(
            may_copy(facts(Visibility::Public, false, false, None)),
            Ok(())
        );
        let mut f = facts(v, true, false, None);
        f.status = ImageStatus::Queued;
        assert_eq!(may_copy(f), Err(Refusal::NotActive(ImageStatus::Queued)));
    }

    #[test]
    fn the_copy_keeps_data_facts_and_drops_ownership_facts() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let mut src = Image::new("src".into(), Some("p1".into()), now);
        src.name = Some("golden".into());
        src.status = ImageStatus::Active;
        src.protected = true;
        src.os_hidden = true;
        src.size = Some(10);
        src.checksum = Some("c".into());
        src.os_hash_value = Some("h".into());
        src.disk_format = Some("qcow2".into());
        src.tags.insert("t".into());
        let keep = BTreeMap::from([
            ("os_distro".to_owned(), "debian".to_owned()),
            ("os_glance_importing_to_stores".to_owned(), "x".to_owned()),
        ]);
        let req = CopyRequest {
            name: None,
            visibility: Visibility::Private,
        };
        let c = copied_image(&src, "new".into(), Some("p2".into()), &req, now, keep);
        assert_eq!(c.owner.as_deref(), Some("p2"));
        assert_eq!(c.name.as_deref(), Some("golden"));
        assert_eq!(c.status, ImageStatus::Saving);
        assert!(!c.protected && !c.os_hidden);
        assert_eq!(
            (c.size, c.checksum.as_deref(), c.os_hash_value.as_deref()),
            (Some(10), Some("c"), Some("h"))
        );
        assert_eq!(c.disk_format.as_deref(), Some("qcow2"));
        assert!(c.tags.contains("t"));
        assert_eq!(c.properties.len(), 1, "{:?}", c.properties);
    }
}
