//! Metadefs response bodies, field for field and in the order Glance's WSME
//! models write them (unset attributes are left out).

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use crate::domain::metadefs::property::{prefix_keys, with_name};
use crate::domain::metadefs::{
    Association, MetadefObject, MetadefProperty, MetadefTag, Namespace, ResourceType,
};

/// oslo's `isotime`.
fn iso(t: NaiveDateTime) -> Value {
    Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn put_opt<T: Into<Value>>(m: &mut Map<String, Value>, k: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), v.into());
    }
}

pub fn namespace_href(name: &str) -> String {
    format!("/v2/metadefs/namespaces/{name}")
}

/// The namespace fields, then whatever `extra` adds, then `self` and `schema`.
pub fn namespace(n: &Namespace, extra: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut m = Map::new();
    m.insert("namespace".into(), json!(n.namespace));
    put_opt(&mut m, "display_name", n.display_name.clone());
    put_opt(&mut m, "description", n.description.clone());
    m.insert("visibility".into(), json!(n.visibility()));
    m.insert("protected".into(), json!(n.is_protected()));
    m.insert("owner".into(), json!(n.owner));
    m.insert("created_at".into(), iso(n.created_at));
    put_opt(&mut m, "updated_at", n.updated_at.map(iso));
    extra(&mut m);
    m.insert("self".into(), json!(namespace_href(&n.namespace)));
    m.insert("schema".into(), json!("/v2/schemas/metadefs/namespace"));
    Value::Object(m)
}

pub fn association(a: &Association) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    put_opt(&mut m, "prefix", a.prefix.clone());
    put_opt(&mut m, "properties_target", a.properties_target.clone());
    m.insert("created_at".into(), iso(a.created_at));
    put_opt(&mut m, "updated_at", a.updated_at.map(iso));
    Value::Object(m)
}

pub fn resource_type(r: &ResourceType) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.name));
    m.insert("created_at".into(), iso(r.created_at));
    put_opt(&mut m, "updated_at", r.updated_at.map(iso));
    Value::Object(m)
}

/// A stored object; `prefix` renames its properties and required names
/// (namespace show with `resource_type`).
pub fn object(ns: &str, o: &MetadefObject, prefix: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(o.name));
    let (required, properties) = match prefix {
        Some(p) => (
            o.required.iter().map(|r| format!("{p}{r}")).collect(),
            prefix_keys(&o.properties, p),
        ),
        None => (o.required.clone(), o.properties.clone()),
    };
    m.insert("required".into(), json!(required));
    put_opt(&mut m, "description", o.description.clone());
    m.insert("properties".into(), Value::Object(properties));
    m.insert("created_at".into(), iso(o.created_at));
    put_opt(&mut m, "updated_at", o.updated_at.map(iso));
    m.insert(
        "self".into(),
        json!(format!("/v2/metadefs/namespaces/{ns}/objects/{}", o.name)),
    );
    m.insert("schema".into(), json!("/v2/schemas/metadefs/object"));
    Value::Object(m)
}

/// Create and update answer with what the request set: `required` and
/// `properties` only when the body carried them.
pub fn object_as_written(
    ns: &str,
    o: &MetadefObject,
    has_required: bool,
    has_properties: bool,
) -> Value {
    let mut v = object(ns, o, None);
    if let Some(m) = v.as_object_mut() {
        if !has_required {
            m.remove("required");
        }
        if !has_properties {
            m.remove("properties");
        }
    }
    v
}

pub fn property(p: &MetadefProperty) -> Value {
    Value::Object(with_name(&p.name, &p.schema))
}

pub fn tag(t: &MetadefTag) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(t.name));
    m.insert("created_at".into(), iso(t.created_at));
    put_opt(&mut m, "updated_at", t.updated_at.map(iso));
    Value::Object(m)
}

pub fn tag_names<'a>(names: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(names.map(|n| json!({ "name": n })).collect())
}
