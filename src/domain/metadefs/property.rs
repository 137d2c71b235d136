//! A property definition as Glance's `PropertyType` model keeps it: only its
//! known attributes, in its declaration order (which is also the order Glance
//! writes them in responses).

use serde_json::{Map, Value};

/// `PropertyType`'s attributes in declaration order.
pub const PROPERTY_FIELDS: &[&str] = &[
    "name",
    "type",
    "title",
    "description",
    "operators",
    "default",
    "readonly",
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
    "additionalItems",
];

/// The attributes a `metadef_property.*` or `metadef_object.*` notification lists for a
/// property, in the same order: all but the name (sent apart), `operators` and `readonly`,
/// which Glance's notification payloads leave out.
pub fn notified_fields() -> impl Iterator<Item = &'static str> {
    PROPERTY_FIELDS
        .iter()
        .copied()
        .filter(|f| !matches!(*f, "name" | "operators" | "readonly"))
}

/// `ItemType`'s attributes.
const ITEM_FIELDS: &[&str] = &["type", "enum"];

fn pick(doc: &Map<String, Value>, fields: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        match doc.get(*f) {
            // An unset attribute (or JSON null) is left out, as WSME does.
            None | Some(Value::Null) => {}
            Some(Value::Object(items)) if *f == "items" => {
                out.insert((*f).to_owned(), Value::Object(pick(items, ITEM_FIELDS)));
            }
            Some(v) => {
                out.insert((*f).to_owned(), v.clone());
            }
        }
    }
    out
}

/// The stored form of a property document: known attributes only, in order.
pub fn normalize(doc: &Map<String, Value>) -> Map<String, Value> {
    pick(doc, PROPERTY_FIELDS)
}

/// The form a single-property response takes: `name` is the row's name.
pub fn with_name(name: &str, schema: &Map<String, Value>) -> Map<String, Value> {
    let mut doc = schema.clone();
    doc.insert("name".into(), Value::String(name.to_owned()));
    pick(&doc, PROPERTY_FIELDS)
}

/// Normalizes every entry of a `{name: property}` map (objects and namespaces hold these).
pub fn normalize_map(props: &Map<String, Value>) -> Map<String, Value> {
    props
        .iter()
        .map(|(k, v)| {
            let doc = v.as_object().map(normalize).unwrap_or_default();
            (k.clone(), Value::Object(doc))
        })
        .collect()
}

/// `GET .../properties/{name}?resource_type=X`: the name as the client sent it
/// must start with the association's prefix; the stored name is the rest.
pub fn strip_prefix<'a>(name: &'a str, prefix: Option<&str>) -> Result<&'a str, String> {
    match prefix {
        Some(p) if !p.is_empty() && name.starts_with(p) => Ok(&name[p.len()..]),
        _ => Err(format!(
            "Property {name} does not start with the expected resource type association \
             prefix of '{}'.",
            prefix.unwrap_or("None")
        )),
    }
}

/// Prefixes every key of a property map.
pub fn prefix_keys(props: &Map<String, Value>, prefix: &str) -> Map<String, Value> {
    props
        .iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn normalize_keeps_known_fields_in_model_order() {
        let doc = obj(json!({
            "title": "T", "type": "string", "bogus": 1, "enum": ["a"],
            "items": {"enum": ["x"], "type": "string", "extra": true},
            "description": null
        }));
        let n = normalize(&doc);
        let keys: Vec<&str> = n.keys().map(String::as_str).collect();
        assert_eq!(keys, ["type", "title", "enum", "items"]);
        assert_eq!(n["items"], json!({"type": "string", "enum": ["x"]}));
    }

    #[test]
    fn name_comes_first() {
        let n = with_name("hw_x", &obj(json!({"type": "integer", "title": "X"})));
        let keys: Vec<&str> = n.keys().map(String::as_str).collect();
        assert_eq!(keys, ["name", "type", "title"]);
        assert_eq!(n["name"], "hw_x");
    }

    #[test]
    fn prefixes() {
        assert_eq!(strip_prefix("hw_cpu", Some("hw_")), Ok("cpu"));
        assert_eq!(
            strip_prefix("cpu", Some("hw_")).unwrap_err(),
            "Property cpu does not start with the expected resource type association prefix of 'hw_'."
        );
        assert!(strip_prefix("cpu", None)
            .unwrap_err()
            .ends_with("prefix of 'None'."));
        let m = prefix_keys(&obj(json!({"a": 1})), "p:");
        assert_eq!(Value::Object(m), json!({"p:a": 1}));
    }
}
