//! Image PATCH: Content-Type, body decoding, `patch::parse`, `patch::apply`, schema.
//!
//! Input: one selector byte, then the request body. The selector picks the
//! Content-Type (either media type, with or without parameters, or a line of the
//! input itself), whether the caller is admin, and the quotas.
//!
//! Invariants beyond "no panic":
//! - every refusal is a 4xx, never a 5xx;
//! - an applied patch keeps what PATCH cannot change (id, status, size, checksum,
//!   timestamps), stays within the quotas when it added properties, and the image
//!   as clients see it validates against glint's own image schema;
//! - replace (and v2.1 add) is idempotent: applying the same changes again to the
//!   result succeeds and changes nothing.

use chrono::NaiveDate;
use glint::api::body::decode_json;
use glint::api::v2::views;
use glint::domain::image::{Image, ImageStatus, Visibility};
use glint::domain::patch::{self, Op, PatchLimits, PatchMediaType};
use glint::error::Error;

fn is_client_error(e: &Error) -> bool {
    !matches!(e, Error::Internal(_) | Error::Unavailable(_))
}

fn base_image() -> Image {
    let t = NaiveDate::from_ymd_opt(2024, 1, 2)
        .and_then(|d| d.and_hms_opt(3, 4, 5))
        .expect("valid time");
    let mut img = Image::new(
        "8a8f4b4e-3b7a-4c89-9d4f-6f0e2b1c9a11".into(),
        Some("6a5b4c3d2e1f4a5b8c7d6e5f4a3b2c1d".into()),
        t,
    );
    img.name = Some("cirros".into());
    img.disk_format = Some("qcow2".into());
    img.container_format = Some("bare".into());
    img.status = ImageStatus::Active;
    img.visibility = Visibility::Private;
    img.size = Some(16_338_944);
    img.checksum = Some("443b7623e27ecf03dc9e01ee93f67afe".into());
    img.os_hash_algo = Some("sha512".into());
    img.os_hash_value = Some("6b813aa4".repeat(16));
    img.tags.insert("base".into());
    img.properties.insert("hw_disk_bus".into(), "virtio".into());
    img.properties.insert("os_distro".into(), "cirros".into());
    img
}

/// One input: returns normally or panics with what broke.
pub fn check(data: &[u8]) {
    let Some((&sel, mut body)) = data.split_first() else {
        return;
    };
    let own_type;
    let content_type: Option<&str> = match sel & 7 {
        0 => Some(patch::MEDIA_TYPE_V2_0),
        1 => Some(patch::MEDIA_TYPE_V2_1),
        2 => Some("application/openstack-images-v2.1-json-patch; charset=UTF-8"),
        3 => None,
        _ => {
            // The first line of the body is the Content-Type.
            let cut = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            own_type = String::from_utf8_lossy(&body[..cut]).into_owned();
            body = body.get(cut + 1..).unwrap_or(&[]);
            Some(own_type.as_str())
        }
    };
    let is_admin = sel & 8 != 0;
    let limits = if sel & 16 != 0 {
        PatchLimits {
            property_quota: 3,
            tag_quota: 2,
            ..PatchLimits::default()
        }
    } else {
        PatchLimits::default()
    };

    let mt = match patch::media_type(content_type) {
        Ok(mt) => mt,
        Err(e) => {
            assert!(matches!(e, Error::UnsupportedMediaType(_)), "{e:?}");
            return;
        }
    };
    let value = match decode_json(body) {
        Ok(v) => v,
        Err(e) => {
            assert!(is_client_error(&e), "decode: {e:?}");
            return;
        }
    };
    let ops = match patch::parse(&value, mt, &limits.schema) {
        Ok(ops) => ops,
        Err(e) => {
            assert!(is_client_error(&e), "parse: {e:?}");
            return;
        }
    };
    let old = base_image();
    let new = match patch::apply(&old, &ops, mt, is_admin, &limits) {
        Ok(new) => new,
        Err(e) => {
            assert!(is_client_error(&e), "apply: {e:?}");
            return;
        }
    };

    // What PATCH never changes.
    assert_eq!(new.id, old.id);
    assert_eq!(new.status, old.status);
    assert_eq!(new.size, old.size);
    assert_eq!(new.checksum, old.checksum);
    assert_eq!(new.os_hash_value, old.os_hash_value);
    assert_eq!(new.created_at, old.created_at);
    assert_eq!(new.updated_at, old.updated_at);
    if !is_admin {
        assert_eq!(new.owner, old.owner, "only an admin changes the owner");
    }
    let added = new
        .properties
        .keys()
        .any(|k| !old.properties.contains_key(k));
    if added && limits.property_quota >= 0 {
        assert!(
            i64::try_from(new.properties.len()).unwrap_or(i64::MAX) <= limits.property_quota,
            "property quota exceeded: {:?}",
            new.properties
        );
    }
    if new.tags != old.tags && limits.tag_quota >= 0 {
        assert!(
            i64::try_from(new.tags.len()).unwrap_or(i64::MAX) <= limits.tag_quota,
            "tag quota exceeded: {:?}",
            new.tags
        );
    }

    // The image clients are shown must satisfy the schema glint publishes.
    let shown = views::image(&new, None);
    if let Err(e) = patch::validate_image_object(&shown) {
        panic!("patched image does not match its own schema: {e:?}\n{shown}");
    }

    // Replace (and v2.1 add) set a value: doing it twice is doing it once.
    let idempotent = ops.iter().all(|o| match o.op {
        Op::Replace => true,
        Op::Add => mt == PatchMediaType::V2_1 && o.path.len() == 1,
        Op::Remove => false,
    });
    if idempotent {
        match patch::apply(&new, &ops, mt, is_admin, &limits) {
            Ok(again) => assert_eq!(again, new, "re-applying {ops:?} changed the image"),
            Err(e) => panic!("re-applying {ops:?} failed: {e:?}"),
        }
    }
}
