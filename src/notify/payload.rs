//! The payloads of Glance's notifications, field for field and in Glance's key order
//! (`glance/notifier.py`: `format_image_notification`, `format_image_member_notification`,
//! `format_task_notification`, `_format_image_send`, `_format_import_properties`).
//! Pure: no I/O, so each payload is tested as a table.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use crate::domain::image::{Image, ImageStatus, Visibility};
use crate::domain::member::Member;
use crate::domain::metadefs::property::notified_fields;
use crate::domain::metadefs::{Association, MetadefObject, MetadefProperty, MetadefTag, Namespace};
use crate::domain::task::Task;

/// Glance's `timeutils.isotime`: whole seconds and `Z` for its naive UTC times.
pub fn isotime(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `image.create`, `image.update`, `image.prepare`, `image.upload`, `image.activate`.
/// `location` is left out on purpose, as in Glance: it may hold credentials.
pub fn image(img: &Image) -> Value {
    let properties: Map<String, Value> = img
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "id": img.id,
        "name": img.name,
        "status": img.status.to_string(),
        "created_at": isotime(img.created_at),
        "updated_at": isotime(img.updated_at),
        "min_disk": img.min_disk,
        "min_ram": img.min_ram,
        "protected": img.protected,
        "checksum": img.checksum,
        "owner": img.owner,
        "disk_format": img.disk_format,
        "container_format": img.container_format,
        "size": img.size,
        "virtual_size": img.virtual_size,
        "is_public": img.visibility == Visibility::Public,
        "visibility": img.visibility.to_string(),
        "properties": properties,
        "tags": img.tags.iter().collect::<Vec<_>>(),
        "deleted": false,
        "deleted_at": null,
    })
}

/// `image.delete`: the image as its deletion left it (status `deleted`, `updated_at` the
/// deletion time), with `deleted` and `deleted_at`.
pub fn image_deleted(img: &Image, at: NaiveDateTime) -> Value {
    let mut v = image(img);
    v["status"] = Value::String(ImageStatus::Deleted.to_string());
    v["updated_at"] = Value::String(isotime(at));
    deleted(v, at)
}

/// `image.member.create`, `image.member.update`.
pub fn member(m: &Member) -> Value {
    json!({
        "image_id": m.image_id,
        "member_id": m.member_id,
        "status": m.status.to_string(),
        "created_at": isotime(m.created_at),
        "updated_at": isotime(m.updated_at),
        "deleted": false,
        "deleted_at": null,
    })
}

/// `image.member.delete`.
pub fn member_deleted(m: &Member, at: NaiveDateTime) -> Value {
    deleted(member(m), at)
}

/// `task.create`, `task.run`, `task.processing`, `task.success`, `task.failure`. The input is
/// left out (it may hold credentials), and so are result and message, as in Glance.
/// A task without an expiry yet (before it ends) shows `now`: Glance formats the missing time
/// with `timeutils.isotime(None)`, which is the current time, not null.
pub fn task(t: &Task, now: NaiveDateTime) -> Value {
    json!({
        "id": t.id,
        "type": t.task_type,
        "status": t.status.to_string(),
        "result": null,
        "owner": t.owner,
        "message": null,
        "expires_at": isotime(t.expires_at.unwrap_or(now)),
        "created_at": isotime(t.created_at),
        "updated_at": isotime(t.updated_at),
        "deleted": false,
        "deleted_at": null,
    })
}

/// `image.send`: bytes served to a caller (priority ERROR when fewer than the image's size).
pub fn image_send(
    bytes_sent: u64,
    img: &Image,
    receiver_project: Option<&str>,
    receiver_user: Option<&str>,
) -> Value {
    json!({
        "bytes_sent": bytes_sent,
        "image_id": img.id,
        "owner_id": img.owner,
        "receiver_tenant_id": receiver_project,
        "receiver_user_id": receiver_user,
    })
}

/// `image.prepare` and `image.upload` carry the image plus the import progress properties,
/// split into lists, and `backend` when multi-store names one.
pub fn image_with_import(img: &Image, backend: Option<&str>) -> Value {
    let mut v = image(img);
    let split = |key: &str| -> Vec<String> {
        img.properties
            .get(key)
            .filter(|s| !s.is_empty())
            .map(|s| s.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    if let Value::Object(o) = &mut v {
        o.insert(
            "os_glance_importing_to_stores".into(),
            json!(split("os_glance_importing_to_stores")),
        );
        o.insert(
            "os_glance_failed_import".into(),
            json!(split("os_glance_failed_import")),
        );
        if let Some(b) = backend {
            o.insert("backend".into(), json!(b));
        }
    }
    v
}

/// `metadef_namespace.create/update/delete/delete_objects/delete_properties/delete_tags`;
/// `namespace_old` is the name before an update (the current name otherwise).
pub fn metadef_namespace(ns: &Namespace, namespace_old: &str) -> Value {
    json!({
        "namespace": ns.namespace,
        "namespace_old": namespace_old,
        "display_name": ns.display_name,
        "protected": ns.protected,
        "visibility": ns.visibility(),
        "owner": ns.owner,
        "description": ns.description,
        "created_at": isotime(ns.created_at),
        "updated_at": isotime(ns.updated_at.unwrap_or(ns.created_at)),
        "deleted": false,
        "deleted_at": null,
    })
}

/// `metadef_namespace.delete`: the namespace as it was, marked deleted at `at`.
pub fn metadef_namespace_deleted(ns: &Namespace, at: NaiveDateTime) -> Value {
    deleted(metadef_namespace(ns, &ns.namespace), at)
}

/// `metadef_tag.create/update/delete`; `name_old` is the name before an update.
pub fn metadef_tag(namespace: &str, tag: &MetadefTag, name_old: &str) -> Value {
    json!({
        "namespace": namespace,
        "name": tag.name,
        "name_old": name_old,
        "created_at": isotime(tag.created_at),
        "updated_at": isotime(tag.updated_at.unwrap_or(tag.created_at)),
        "deleted": false,
        "deleted_at": null,
    })
}

/// `metadef_tag.delete`.
pub fn metadef_tag_deleted(namespace: &str, tag: &MetadefTag, at: NaiveDateTime) -> Value {
    deleted(metadef_tag(namespace, tag, &tag.name), at)
}

/// `metadef_resource_type.create/delete`: a resource type associated with (or dissociated
/// from) a namespace. `name_old` is the name: an association is never renamed.
pub fn metadef_resource_type(namespace: &str, a: &Association) -> Value {
    json!({
        "namespace": namespace,
        "name": a.name,
        "name_old": a.name,
        "prefix": a.prefix,
        "properties_target": a.properties_target,
        "created_at": isotime(a.created_at),
        "updated_at": isotime(a.updated_at.unwrap_or(a.created_at)),
        "deleted": false,
        "deleted_at": null,
    })
}

/// `metadef_resource_type.delete`.
pub fn metadef_resource_type_deleted(namespace: &str, a: &Association, at: NaiveDateTime) -> Value {
    deleted(metadef_resource_type(namespace, a), at)
}

/// `metadef_property.create/update/delete`; `name_old` is the name before an update.
pub fn metadef_property(namespace: &str, p: &MetadefProperty, name_old: &str) -> Value {
    let mut o = Map::new();
    o.insert("namespace".into(), json!(namespace));
    o.insert("name".into(), json!(p.name));
    o.insert("name_old".into(), json!(name_old));
    for k in notified_fields() {
        o.insert(k.into(), notified(k, &p.schema));
    }
    o.insert("deleted".into(), Value::Bool(false));
    o.insert("deleted_at".into(), Value::Null);
    Value::Object(o)
}

/// `metadef_property.delete`.
pub fn metadef_property_deleted(namespace: &str, p: &MetadefProperty, at: NaiveDateTime) -> Value {
    deleted(metadef_property(namespace, p, &p.name), at)
}

/// Python's `value or None`: a falsy value (false, 0, "", [], {}) is null.
fn or_none(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null | Value::Bool(false)) => Value::Null,
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(Value::Object(o)) if o.is_empty() => Value::Null,
        Some(v) => v.clone(),
    }
}

/// `default` as Glance holds it: its API model types it as bytes, and WSME turns a JSON string,
/// number or boolean into Python's `str()` of it (`False` -> `"False"`, `0` -> `"0"`) and
/// anything else into nothing.
fn wsme_bytes(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(v @ (Value::Bool(_) | Value::Number(_))) => {
            Value::String(crate::domain::pyfmt::py_str(v))
        }
        _ => Value::Null,
    }
}

/// One keyword of a property as Glance notifies it.
fn notified(k: &str, doc: &Map<String, Value>) -> Value {
    match k {
        "default" => wsme_bytes(doc.get(k)),
        _ => doc.get(k).cloned().unwrap_or(Value::Null),
    }
}

/// `metadef_object.create/update/delete`; each of the object's properties is listed with the
/// keywords of a property payload, a falsy value as null (Glance's `or None`). `required` is
/// Glance's object as the request left it on create and update (null when the body had none)
/// and as stored on delete (a list): `required_sent` says which.
pub fn metadef_object(
    namespace: &str,
    o: &MetadefObject,
    name_old: &str,
    required_sent: bool,
) -> Value {
    let properties: Vec<Value> = o
        .properties
        .iter()
        .map(|(name, doc)| {
            let mut p = Map::new();
            p.insert("name".into(), json!(name));
            let doc = doc.as_object().cloned().unwrap_or_default();
            for k in notified_fields() {
                p.insert(k.into(), or_none(Some(&notified(k, &doc))));
            }
            Value::Object(p)
        })
        .collect();
    let required = match required_sent {
        true => json!(o.required),
        false => Value::Null,
    };
    json!({
        "namespace": namespace,
        "name": o.name,
        "name_old": name_old,
        "properties": properties,
        "required": required,
        "description": o.description,
        "created_at": isotime(o.created_at),
        "updated_at": isotime(o.updated_at.unwrap_or(o.created_at)),
        "deleted": false,
        "deleted_at": null,
    })
}

/// `metadef_object.delete`.
pub fn metadef_object_deleted(namespace: &str, o: &MetadefObject, at: NaiveDateTime) -> Value {
    deleted(metadef_object(namespace, o, &o.name, true), at)
}

fn deleted(mut v: Value, at: NaiveDateTime) -> Value {
    if let Value::Object(o) = &mut v {
        o.insert("deleted".into(), Value::Bool(true));
        o.insert("deleted_at".into(), Value::String(isotime(at)));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::member::MemberStatus;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn image_payload_has_glances_fields_in_glances_order() {
        let mut img = Image::new("i1".into(), Some("p1".into()), t("2026-01-02 03:04:05.678"));
        img.name = Some("cirros".into());
        img.status = ImageStatus::Active;
        img.visibility = Visibility::Public;
        img.size = Some(13);
        img.tags.insert("b".into());
        img.tags.insert("a".into());
        img.properties.insert("hw_arch".into(), "x86_64".into());
        let v = image(&img);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "status",
                "created_at",
                "updated_at",
                "min_disk",
                "min_ram",
                "protected",
                "checksum",
                "owner",
                "disk_format",
                "container_format",
                "size",
                "virtual_size",
                "is_public",
                "visibility",
                "properties",
                "tags",
                "deleted",
                "deleted_at"
            ]
        );
        assert_eq!(v["created_at"], "2026-01-02T03:04:05Z");
        assert_eq!(v["status"], "active");
        assert_eq!(v["is_public"], true);
        assert_eq!(v["visibility"], "public");
        assert_eq!(v["tags"], json!(["a", "b"]));
        assert_eq!(v["properties"], json!({"hw_arch": "x86_64"}));
        assert_eq!(v["checksum"], Value::Null);
        assert_eq!(v["deleted_at"], Value::Null);
        let d = image_deleted(&img, t("2026-01-02 03:04:09"));
        assert_eq!(d["deleted"], true);
        assert_eq!(d["deleted_at"], "2026-01-02T03:04:09Z");
        assert_eq!(d["updated_at"], "2026-01-02T03:04:09Z");
        assert_eq!(d["status"], "deleted");
    }

    #[test]
    fn member_and_import_payloads() {
        let m = Member {
            image_id: "i1".into(),
            member_id: "p2".into(),
            status: MemberStatus::Pending,
            created_at: t("2026-01-02 03:04:05"),
            updated_at: t("2026-01-02 03:04:06"),
            ext: None,
        };
        // The sharing extensions' data never reaches Glance's notification payload.
        let with_ext = Member {
            ext: Some(crate::domain::member_ext::MemberExt {
                expires_at: Some(t("2027-01-01 00:00:00")),
                note: Some("n".into()),
                renewal_requested: true,
                ..Default::default()
            }),
            ..m.clone()
        };
        assert_eq!(
            serde_json::to_string(&member(&with_ext)).unwrap(),
            serde_json::to_string(&member(&m)).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&member(&m)).unwrap(),
            r#"{"image_id":"i1","member_id":"p2","status":"pending","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:06Z","deleted":false,"deleted_at":null}"#
        );
        let d = member_deleted(&m, t("2026-01-02 03:04:07"));
        assert_eq!(d["deleted_at"], "2026-01-02T03:04:07Z");
        let mut img = Image::new("i1".into(), None, t("2026-01-02 03:04:05"));
        img.properties
            .insert("os_glance_importing_to_stores".into(), "a,b".into());
        let v = image_with_import(&img, Some("fast"));
        assert_eq!(v["os_glance_importing_to_stores"], json!(["a", "b"]));
        assert_eq!(v["os_glance_failed_import"], json!([]));
        assert_eq!(v["backend"], "fast");
        assert_eq!(image_with_import(&img, None).get("backend"), None);
    }

    #[test]
    fn a_task_without_expiry_shows_the_time_of_the_event() {
        let created = t("2026-01-02 03:04:05");
        let mut task = Task::new(
            "t1".into(),
            "api_image_import",
            "p1".into(),
            json!({"secret": "x"}),
            None,
            None,
            None,
            created,
        );
        let v = payload_task(&task, t("2026-01-02 03:04:09.5"));
        assert_eq!(v["expires_at"], "2026-01-02T03:04:09Z");
        assert_eq!(v["created_at"], "2026-01-02T03:04:05Z");
        assert_eq!(v.get("input"), None);
        task.expires_at = Some(t("2026-01-04 03:04:05"));
        let v = payload_task(&task, t("2026-01-02 03:04:09"));
        assert_eq!(v["expires_at"], "2026-01-04T03:04:05Z");
    }

    fn payload_task(t: &Task, now: NaiveDateTime) -> Value {
        task(t, now)
    }

    #[test]
    fn metadef_property_payload_lists_every_keyword_in_glances_order() {
        let schema = json!({"type": "string", "title": "T", "enum": ["a"], "readonly": true});
        let p = MetadefProperty {
            id: 1,
            name: "hw_x".into(),
            schema: schema.as_object().unwrap().clone(),
        };
        let v = metadef_property("ns", &p, "hw_old");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..3], ["namespace", "name", "name_old"]);
        assert_eq!(
            keys[3..19],
            [
                "type",
                "title",
                "description",
                "default",
                "minimum",
                "maximum",
                "enum",
                "pattern",
                "minLength",
                "maxLength",
                "confidential",
                "items",
                "uniqueItems",
                "minItems",
                "maxItems",
                "additionalItems"
            ]
        );
        assert_eq!(keys[19..], ["deleted", "deleted_at"]);
        assert_eq!(
            (
                &v["name_old"],
                &v["type"],
                &v["title"],
                &v["enum"],
                &v["minimum"]
            ),
            (
                &json!("hw_old"),
                &json!("string"),
                &json!("T"),
                &json!(["a"]),
                &Value::Null
            )
        );
        // Keywords Glance does not list stay out.
        assert_eq!(v.get("readonly"), None);
        let d = metadef_property_deleted("ns", &p, t("2026-01-02 03:04:07"));
        assert_eq!(
            (&d["deleted"], &d["name_old"]),
            (&json!(true), &json!("hw_x"))
        );
        assert_eq!(d["deleted_at"], "2026-01-02T03:04:07Z");
    }

    #[test]
    fn resource_type_payload_has_glances_fields_in_glances_order() {
        let a = Association {
            name: "OS::Glance::Image".into(),
            prefix: Some("hw_".into()),
            properties_target: None,
            created_at: t("2026-01-02 03:04:05"),
            updated_at: None,
        };
        let v = metadef_resource_type("ns", &a);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"namespace":"ns","name":"OS::Glance::Image","name_old":"OS::Glance::Image","prefix":"hw_","properties_target":null,"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z","deleted":false,"deleted_at":null}"#
        );
        let d = metadef_resource_type_deleted("ns", &a, t("2026-01-02 03:04:09"));
        assert_eq!(
            (&d["deleted"], &d["deleted_at"], &d["namespace"]),
            (&json!(true), &json!("2026-01-02T03:04:09Z"), &json!("ns"))
        );
    }

    #[test]
    fn defaults_are_notified_as_wsme_bytes() {
        let d = |v: Value| {
            let doc = json!({ "default": v });
            notified("default", doc.as_object().unwrap())
        };
        assert_eq!(d(json!(false)), json!("False"));
        assert_eq!(d(json!(true)), json!("True"));
        assert_eq!(d(json!(0)), json!("0"));
        assert_eq!(d(json!(1.5)), json!("1.5"));
        assert_eq!(d(json!("x")), json!("x"));
        assert_eq!(d(json!(["a"])), Value::Null);
        assert_eq!(d(json!({"a": 1})), Value::Null);
        assert_eq!(notified("default", &Map::new()), Value::Null);
        assert_eq!(
            notified("minimum", json!({"minimum": 0}).as_object().unwrap()),
            json!(0)
        );
    }

    #[test]
    fn metadef_object_payload_nulls_falsy_property_values() {
        let props = json!({"p1": {"type": "boolean", "default": false, "title": "P"},
                           "p2": {"type": "integer", "minimum": 0, "maximum": 4}});
        let o = MetadefObject {
            id: 1,
            name: "obj".into(),
            description: None,
            required: vec!["p1".into()],
            properties: props.as_object().unwrap().clone(),
            created_at: t("2026-01-02 03:04:05"),
            updated_at: None,
        };
        let v = metadef_object("ns", &o, "old", true);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "namespace",
                "name",
                "name_old",
                "properties",
                "required",
                "description",
                "created_at",
                "updated_at",
                "deleted",
                "deleted_at"
            ]
        );
        let p = &v["properties"];
        assert_eq!(
            (&p[0]["name"], &p[0]["type"], &p[0]["title"]),
            (&json!("p1"), &json!("boolean"), &json!("P"))
        );
        // WSME's bytes: Python's str() of the boolean, not a falsy value.
        assert_eq!(p[0]["default"], "False");
        assert_eq!(
            (&p[1]["minimum"], &p[1]["maximum"]),
            (&Value::Null, &json!(4))
        );
        assert_eq!(v["required"], json!(["p1"]));
        // A create or update whose body had no `required`: null, as Glance's request object.
        assert_eq!(
            metadef_object("ns", &o, "old", false)["required"],
            Value::Null
        );
        assert_eq!(v["updated_at"], "2026-01-02T03:04:05Z");
        let d = metadef_object_deleted("ns", &o, t("2026-01-02 03:04:09"));
        assert_eq!(
            (&d["deleted"], &d["deleted_at"]),
            (&json!(true), &json!("2026-01-02T03:04:09Z"))
        );
    }
}
