//! The JSON shapes clients see, with Glance's key order.

use std::fmt;

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use crate::domain::image::Image;
use crate::domain::member::Member;
use crate::domain::member_ext::MemberExt;
use crate::service::image_locations::{Shown, ShownLocation};

/// Glance shows whole seconds with a literal `Z`.
pub fn timestamp(t: &NaiveDateTime) -> String {
    Timestamp(t).to_string()
}

/// `timestamp` without chrono's format-string interpreter (5% of a 1,000-image list).
struct Timestamp<'a>(&'a NaiveDateTime);

impl fmt::Display for Timestamp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let year = t.year();
        if !(0..=9999).contains(&year) {
            return write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ"));
        }
        // Digits written in place: `write!` with padded fields was a measurable share of a view
        // (figures: bench/RESULTS.md, "Figures behind the code").
        let mut b = *b"0000-00-00T00:00:00Z";
        for (at, width, v) in [
            (0, 4, year as u32),
            (5, 2, t.month()),
            (8, 2, t.day()),
            (11, 2, t.hour()),
            (14, 2, t.minute()),
            (17, 2, t.second()),
        ] {
            let mut v = v;
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?)
    }
}

/// An image as clients see it, serialised straight from the domain value: building a
/// `serde_json::Value` first (allocating, hashing and dropping every key) was a fifth of a
/// 1,000-image list.
///
/// `stores`: multi-store mode's stores holding the image's data, comma-separated in read
/// order, shown after the other keys (Glance adds it last).
pub struct ImageView<'a> {
    pub img: &'a Image,
    pub stores: Option<&'a str>,
    /// `direct_url` (`show_image_direct_url`, for callers `get_image_location` allows).
    pub direct_url: Option<&'a str>,
    /// `locations` (`show_multiple_locations`).
    pub locations: Option<&'a [ShownLocation]>,
}

impl<'a> ImageView<'a> {
    /// The view of `img` with the locations (and stores) `shown` holds for it.
    pub fn with(img: &'a Image, shown: &'a Shown) -> Self {
        ImageView {
            img,
            stores: shown.stores(&img.id),
            direct_url: shown.direct_url(&img.id),
            locations: shown.locations(&img.id),
        }
    }
}

impl Serialize for ImageView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let img = self.img;
        let mut m = ser.serialize_map(None)?;
        // Custom properties first, as Glance serialises extra_properties before base
        // attributes (the schema keeps their names apart from the base attributes').
        for (k, v) in &img.properties {
            // Glance's bookkeeping for its workers is never shown.
            if !crate::domain::import::HIDDEN_PROPERTIES.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.serialize_entry("name", &img.name)?;
        m.serialize_entry("disk_format", &img.disk_format)?;
        m.serialize_entry("container_format", &img.container_format)?;
        m.serialize_entry("visibility", img.visibility.as_str())?;
        m.serialize_entry("size", &img.size)?;
        m.serialize_entry("virtual_size", &img.virtual_size)?;
        m.serialize_entry("status", img.status.as_str())?;
        m.serialize_entry("checksum", &img.checksum)?;
        m.serialize_entry("protected", &img.protected)?;
        m.serialize_entry("min_ram", &img.min_ram)?;
        m.serialize_entry("min_disk", &img.min_disk)?;
        m.serialize_entry("owner", &img.owner)?;
        m.serialize_entry("os_hidden", &img.os_hidden)?;
        m.serialize_entry("os_hash_algo", &img.os_hash_algo)?;
        m.serialize_entry("os_hash_value", &img.os_hash_value)?;
        m.serialize_entry("id", &img.id)?;
        m.serialize_entry("created_at", &Display(Timestamp(&img.created_at)))?;
        m.serialize_entry("updated_at", &Display(Timestamp(&img.updated_at)))?;
        if let Some(locations) = self.locations {
            m.serialize_entry("locations", locations)?;
        }
        if let Some(url) = self.direct_url {
            m.serialize_entry("direct_url", url)?;
        }
        m.serialize_entry("tags", &img.tags)?;
        m.serialize_entry("self", &Display(format_args!("/v2/images/{}", img.id)))?;
        m.serialize_entry("file", &Display(format_args!("/v2/images/{}/file", img.id)))?;
        m.serialize_entry("schema", "/v2/schemas/image")?;
        if let Some(stores) = self.stores {
            m.serialize_entry("stores", stores)?;
        }
        m.end()
    }
}

/// Serialises anything displayable as a JSON string, without an intermediate `String`.
struct Display<T>(T);

impl<T: fmt::Display> Serialize for Display<T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(&self.0)
    }
}

/// The image view as a JSON value, for callers that inspect or embed it.
pub fn image(img: &Image, stores: Option<&str>) -> Value {
    serde_json::to_value(ImageView {
        img,
        stores,
        direct_url: None,
        locations: None,
    })
    .unwrap_or(Value::Null)
}

/// A member row as Glance shows it. Serialised straight from the row: a `serde_json::Value`
/// with its ordered map in between was a large share of a member list
/// (figures: bench/RESULTS.md, "Figures behind the code").
pub struct MemberView<'a>(pub &'a Member);

impl Serialize for MemberView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let ext = m.ext.as_ref().filter(|e| !e.is_empty());
        let mut out = ser.serialize_map(Some(6 + usize::from(ext.is_some())))?;
        out.serialize_entry("member_id", &m.member_id)?;
        out.serialize_entry("image_id", &m.image_id)?;
        out.serialize_entry("status", m.status.as_str())?;
        out.serialize_entry("created_at", &Rendered(Timestamp(&m.created_at)))?;
        out.serialize_entry("updated_at", &Rendered(Timestamp(&m.updated_at)))?;
        out.serialize_entry("schema", "/v2/schemas/member")?;
        if let Some(ext) = ext {
            out.serialize_entry("os_glint", &ExtView(ext))?;
        }
        out.end()
    }
}

/// `os_glint` of a member (sharing extensions): only what is set, and the share's state now.
struct ExtView<'a>(&'a MemberExt);

impl Serialize for ExtView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut out = ser.serialize_map(None)?;
        if let Some(at) = &e.expires_at {
            out.serialize_entry("expires_at", &Rendered(Timestamp(at)))?;
        }
        if let Some(note) = &e.note {
            out.serialize_entry("note", note)?;
        }
        if e.renewal_requested {
            out.serialize_entry("renewal_requested", &true)?;
        }
        if let Some(m) = e.policy {
            out.serialize_entry("policy", m.as_str())?;
        }
        if e.via != crate::domain::member_ext::Origin::Direct {
            out.serialize_entry("via", e.via.as_str())?;
        }
        if let Some(g) = &e.grant_id {
            out.serialize_entry("grant_id", g)?;
        }
        if let Some(at) = &e.last_download_at {
            out.serialize_entry("last_download_at", &Rendered(Timestamp(at)))?;
        }
        let expired = e.expired(chrono::Utc::now().naive_utc());
        out.serialize_entry("state", if expired { "expired" } else { "active" })?;
        out.end()
    }
}

/// The member list document.
pub struct MembersView<'a>(pub &'a [Member]);

impl Serialize for MembersView<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut out = ser.serialize_map(Some(2))?;
        out.serialize_entry("members", &Members(self.0))?;
        out.serialize_entry("schema", "/v2/schemas/members")?;
        out.end()
    }
}

struct Members<'a>(&'a [Member]);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.0.iter().map(MemberView))
    }
}

/// Serialises a `Display` value as a JSON string.
struct Rendered<T>(T);

impl<T: fmt::Display> Serialize for Rendered<T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(&self.0)
    }
}

pub fn member(m: &Member) -> MemberView<'_> {
    MemberView(m)
}

pub fn members(ms: &[Member]) -> MembersView<'_> {
    MembersView(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::image::Visibility;

    #[test]
    fn member_views_have_glance_keys_order_and_formats() {
        let t = NaiveDateTime::parse_from_str("2026-01-02 03:04:05.678", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        let m = Member {
            image_id: "img".into(),
            member_id: "p2".into(),
            status: crate::domain::member::MemberStatus::Accepted,
            created_at: t,
            updated_at: t + chrono::Duration::seconds(61),
            ext: None,
        };
        let one = r#"{"member_id": "p2", "image_id": "img", "status": "accepted", "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:05:06Z", "schema": "/v2/schemas/member"}"#;
        assert_eq!(crate::api::json::to_string(&member(&m)), one);
        assert_eq!(
            crate::api::json::to_string(&members(&[m.clone(), m])),
            format!(r#"{{"members": [{one}, {one}], "schema": "/v2/schemas/members"}}"#)
        );
        assert_eq!(
            crate::api::json::to_string(&members(&[])),
            r#"{"members": [], "schema": "/v2/schemas/members"}"#
        );
    }

    #[test]
    fn image_view_has_glance_keys_order_and_formats() {
        let t = NaiveDateTime::parse_from_str("2026-01-02 03:04:05.678", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        let mut img = Image::new("abc".into(), Some("p1".into()), t);
        img.name = Some("n".into());
        img.visibility = Visibility::Shared;
        img.properties.insert("zeta".into(), "z".into());
        img.properties.insert("alpha".into(), "a\"b".into());
        img.tags.insert("t2".into());
        img.tags.insert("t1".into());
        let out = crate::api::json::to_string(&ImageView {
            img: &img,
            stores: None,
            direct_url: None,
            locations: None,
        });
        assert_eq!(
            out,
            r#"{"alpha": "a\"b", "zeta": "z", "name": "n", "disk_format": null, "container_format": null, "visibility": "shared", "size": null, "virtual_size": null, "status": "queued", "checksum": null, "protected": false, "min_ram": 0, "min_disk": 0, "owner": "p1", "os_hidden": false, "os_hash_algo": null, "os_hash_value": null, "id": "abc", "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05Z", "tags": ["t1", "t2"], "self": "/v2/images/abc", "file": "/v2/images/abc/file", "schema": "/v2/schemas/image"}"#
        );
        // The Value form (used by the fuzz target's schema check) holds the same document.
        let v = image(&img, None);
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), v);
        assert_eq!(timestamp(&t), "2026-01-02T03:04:05Z");
        // Every year formats as chrono's `%Y` does, including outside 0..=9999.
        for (y, mo, d) in [(7, 1, 9), (12345, 11, 30), (-1, 2, 3)] {
            let t = chrono::NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_opt(23, 59, 58))
                .unwrap();
            assert_eq!(timestamp(&t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }
}
