//! The JSON shapes clients see, with Glance's key order.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::domain::image::{Image, ImageStatus};
use crate::domain::member::Member;

/// Glance shows whole seconds with a literal `Z`.
pub fn timestamp(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `backend`: the named store of multi-store mode; an image whose data is in
/// it lists it as `stores`, after the other keys (Glance adds it last).
pub fn image(img: &Image, backend: Option<&str>) -> Value {
    let mut m = Map::new();
    // Custom properties first, as Glance serialises extra_properties before base attributes.
    for (k, v) in &img.properties {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    let s = |o: &Option<String>| o.clone().map_or(Value::Null, Value::String);
    m.insert("name".into(), s(&img.name));
    m.insert("disk_format".into(), s(&img.disk_format));
    m.insert("container_format".into(), s(&img.container_format));
    m.insert("visibility".into(), img.visibility.as_str().into());
    m.insert("size".into(), img.size.map_or(Value::Null, Value::from));
    m.insert(
        "virtual_size".into(),
        img.virtual_size.map_or(Value::Null, Value::from),
    );
    m.insert("status".into(), img.status.as_str().into());
    m.insert("checksum".into(), s(&img.checksum));
    m.insert("protected".into(), img.protected.into());
    m.insert("min_ram".into(), img.min_ram.into());
    m.insert("min_disk".into(), img.min_disk.into());
    m.insert("owner".into(), s(&img.owner));
    m.insert("os_hidden".into(), img.os_hidden.into());
    m.insert("os_hash_algo".into(), s(&img.os_hash_algo));
    m.insert("os_hash_value".into(), s(&img.os_hash_value));
    m.insert("id".into(), img.id.clone().into());
    m.insert("created_at".into(), timestamp(&img.created_at).into());
    m.insert("updated_at".into(), timestamp(&img.updated_at).into());
    m.insert(
        "tags".into(),
        Value::Array(img.tags.iter().cloned().map(Value::String).collect()),
    );
    m.insert("self".into(), format!("/v2/images/{}", img.id).into());
    m.insert("file".into(), format!("/v2/images/{}/file", img.id).into());
    m.insert("schema".into(), "/v2/schemas/image".into());
    if let Some(id) = backend {
        if img.has_data() && matches!(img.status, ImageStatus::Active | ImageStatus::Deactivated) {
            m.insert("stores".into(), id.into());
        }
    }
    Value::Object(m)
}

pub fn member(m: &Member) -> Value {
    serde_json::json!({
        "member_id": m.member_id,
        "image_id": m.image_id,
        "status": m.status.as_str(),
        "created_at": timestamp(&m.created_at),
        "updated_at": timestamp(&m.updated_at),
        "schema": "/v2/schemas/member",
    })
}

pub fn members(ms: &[Member]) -> Value {
    serde_json::json!({
        "members": ms.iter().map(member).collect::<Vec<_>>(),
        "schema": "/v2/schemas/members",
    })
}
