//! A whole namespace as one JSON document: the body of `POST /v2/metadefs/namespaces`
//! (nested objects, properties, tags and resource type associations) and the
//! file format `glance-manage db_load_metadefs` reads.

use serde_json::{Map, Value};

use super::property::{normalize, normalize_map};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssociationDoc {
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectDoc {
    pub name: String,
    pub description: Option<String>,
    pub required: Vec<String>,
    pub properties: Map<String, Value>,
    /// Whether the body carried `required` / `properties` (responses echo only what was sent).
    pub has_required: bool,
    pub has_properties: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamespaceDoc {
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub protected: Option<bool>,
    pub owner: Option<String>,
    pub associations: Vec<AssociationDoc>,
    /// Property name -> normalized property document.
    pub properties: Map<String, Value>,
    pub objects: Vec<ObjectDoc>,
    pub tags: Vec<String>,
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub fn association(m: &Map<String, Value>) -> AssociationDoc {
    AssociationDoc {
        name: text(m, "name").unwrap_or_default(),
        prefix: text(m, "prefix"),
        properties_target: text(m, "properties_target"),
    }
}

pub fn object(m: &Map<String, Value>) -> ObjectDoc {
    let props = m.get("properties").and_then(Value::as_object);
    ObjectDoc {
        name: text(m, "name").unwrap_or_default(),
        description: text(m, "description"),
        required: strings(m.get("required")),
        properties: props.map(normalize_map).unwrap_or_default(),
        has_required: m.get("required").is_some_and(|v| !v.is_null()),
        has_properties: props.is_some(),
    }
}

/// Reads a document already checked against the namespace schema (or a
/// metadefs file, which is read leniently: what does not fit is skipped).
pub fn namespace(m: &Map<String, Value>) -> NamespaceDoc {
    let list = |key: &str| -> Vec<&Map<String, Value>> {
        m.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default()
    };
    NamespaceDoc {
        namespace: text(m, "namespace").unwrap_or_default(),
        display_name: text(m, "display_name"),
        description: text(m, "description"),
        visibility: text(m, "visibility"),
        protected: m.get("protected").and_then(Value::as_bool),
        owner: text(m, "owner"),
        associations: list("resource_type_associations")
            .into_iter()
            .map(association)
            .filter(|a| !a.name.is_empty())
            .collect(),
        properties: m
            .get("properties")
            .and_then(Value::as_object)
            .map(normalize_map)
            .unwrap_or_default(),
        objects: list("objects")
            .into_iter()
            .map(object)
            .filter(|o| !o.name.is_empty())
            .collect(),
        tags: list("tags")
            .into_iter()
            .filter_map(|t| text(t, "name"))
            .collect(),
    }
}

/// A single property body (`POST .../properties`): its stored document.
pub fn property_schema(m: &Map<String, Value>) -> Map<String, Value> {
    normalize(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_nested_document() {
        let v = json!({
            "namespace": "OS::Test", "display_name": "Test", "visibility": "public",
            "protected": true,
            "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "t_"}, {"prefix": "x"}],
            "properties": {"p": {"title": "P", "type": "string", "junk": 1}},
            "objects": [{"name": "o", "required": ["p"], "properties": {"p": {"title": "P", "type": "integer"}}}],
            "tags": [{"name": "a"}, {"name": "b"}]
        });
        let d = namespace(v.as_object().unwrap_or(&Map::new()));
        assert_eq!(d.namespace, "OS::Test");
        assert_eq!(d.protected, Some(true));
        assert_eq!(d.associations.len(), 1);
        assert_eq!(d.associations[0].prefix.as_deref(), Some("t_"));
        assert_eq!(
            Value::Object(d.properties),
            json!({"p": {"type": "string", "title": "P"}})
        );
        assert_eq!(d.objects[0].required, ["p"]);
        assert!(d.objects[0].has_required && d.objects[0].has_properties);
        assert_eq!(d.tags, ["a", "b"]);
        assert_eq!(d.owner, None);
    }
}
