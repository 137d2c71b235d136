//! The metadefs JSON schemas: served under `/v2/schemas/metadefs/*` exactly as
//! Glance 32 builds them (`glance.schema.Schema.raw()` and the collection
//! wrappers), and used to validate request bodies as Glance does.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::domain::patch::validate_against;
use crate::error::Result;

fn property_type_enum() -> Value {
    json!(["array", "boolean", "integer", "number", "object", "string", null])
}

/// The attributes of one property definition (Glance's `definitions.property`).
fn property_attributes() -> Value {
    json!({
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": property_type_enum()},
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": property_type_enum()},
                "enum": {"type": "array"}
            }
        },
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": false},
        "additionalItems": {"type": "boolean"}
    })
}

fn integer_definitions(string_array_min_items: bool) -> Map<String, Value> {
    let mut string_array = json!({"type": "array", "items": {"type": "string"}});
    if string_array_min_items {
        string_array["minItems"] = json!(1);
    }
    string_array["uniqueItems"] = json!(true);
    let v = json!({
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {
            "allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]
        },
        "stringArray": string_array
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Shared by the namespace and object schemas.
fn namespace_definitions() -> Value {
    let mut d = integer_definitions(false);
    d.insert(
        "property".into(),
        json!({
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["title", "type"],
                "properties": property_attributes()
            }
        }),
    );
    Value::Object(d)
}

fn timestamp(what: &str) -> Value {
    json!({"type": "string", "readOnly": true, "description": what, "format": "date-time"})
}

/// `Schema.raw()`: name, properties, additionalProperties, definitions, required.
fn raw(name: &str, properties: Value, definitions: Option<Value>, required: &[&str]) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("properties".into(), properties);
    m.insert("additionalProperties".into(), json!(false));
    if let Some(d) = definitions {
        m.insert("definitions".into(), d);
    }
    if !required.is_empty() {
        m.insert("required".into(), json!(required));
    }
    Value::Object(m)
}

fn collection_links() -> Value {
    json!([
        {"rel": "first", "href": "{first}"},
        {"rel": "next", "href": "{next}"},
        {"rel": "describedby", "href": "{schema}"}
    ])
}

/// `CollectionSchema.raw()` (`array`) or `DictCollectionSchema.raw()` (`object`):
/// the item schema loses its definitions, which move to the top.
fn collection(name: &str, item: Value, dict: bool) -> Value {
    let mut item = item;
    let definitions = item.as_object_mut().and_then(|m| m.remove("definitions"));
    let holder = if dict {
        json!({"type": "object", "additionalProperties": item})
    } else {
        json!({"type": "array", "items": item})
    };
    let mut props = Map::new();
    props.insert(name.into(), holder);
    props.insert("first".into(), json!({"type": "string"}));
    props.insert("next".into(), json!({"type": "string"}));
    props.insert("schema".into(), json!({"type": "string"}));
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("properties".into(), Value::Object(props));
    m.insert("links".into(), collection_links());
    if let Some(d) = definitions {
        m.insert("definitions".into(), d);
    }
    Value::Object(m)
}

pub fn namespace() -> Value {
    let properties = json!({
        "namespace": {"type": "string", "description": "The unique namespace text.", "maxLength": 80},
        "display_name": {
            "type": "string",
            "description": "The user friendly name for the namespace. Used by UI if available.",
            "maxLength": 80
        },
        "description": {
            "type": "string",
            "description": "Provides a user friendly description of the namespace.",
            "maxLength": 500
        },
        "visibility": {
            "type": "string",
            "description": "Scope of namespace accessibility.",
            "enum": ["public", "private"]
        },
        "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "description": "Owner of the namespace.", "maxLength": 255},
        "created_at": timestamp("Date and time of namespace creation"),
        "updated_at": timestamp("Date and time of the last namespace modification"),
        "schema": {"readOnly": true, "type": "string"},
        "self": {"readOnly": true, "type": "string"},
        "resource_type_associations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "prefix": {"type": "string"},
                    "properties_target": {"type": "string"}
                }
            }
        },
        "properties": {"$ref": "#/definitions/property"},
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "required": {"$ref": "#/definitions/stringArray"},
                    "properties": {"$ref": "#/definitions/property"}
                }
            }
        },
        "tags": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}}
        }
    });
    raw(
        "namespace",
        properties,
        Some(namespace_definitions()),
        &["namespace"],
    )
}

pub fn namespaces() -> Value {
    collection("namespaces", namespace(), false)
}

pub fn object() -> Value {
    let properties = json!({
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": {"readOnly": true, "type": "string"},
        "self": {"readOnly": true, "type": "string"},
        "created_at": timestamp("Date and time of object creation"),
        "updated_at": timestamp("Date and time of the last object modification")
    });
    raw(
        "object",
        properties,
        Some(namespace_definitions()),
        &["name"],
    )
}

pub fn objects() -> Value {
    collection("objects", object(), false)
}

/// `require_name`: the property endpoints need a name; an object's inner properties do not.
pub fn property_with(require_name: bool) -> Value {
    let required: &[&str] = if require_name {
        &["type", "title", "name"]
    } else {
        &["type", "title"]
    };
    raw(
        "property",
        property_attributes(),
        Some(Value::Object(integer_definitions(true))),
        required,
    )
}

pub fn property() -> Value {
    property_with(true)
}

pub fn properties() -> Value {
    collection("properties", property_with(false), true)
}

pub fn tag() -> Value {
    let properties = json!({
        "name": {"type": "string", "maxLength": 80},
        "created_at": timestamp("Date and time of tag creation"),
        "updated_at": timestamp("Date and time of the last tag modification")
    });
    raw("tag", properties, None, &["name"])
}

pub fn tags() -> Value {
    collection("tags", tag(), false)
}

/// The body of `POST .../tags` (bulk create) is checked against this one.
pub fn tags_for_create() -> Value {
    let properties = json!({
        "tags": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
                "additionalProperties": false
            }
        }
    });
    raw("tags", properties, None, &[])
}

pub fn resource_type() -> Value {
    let properties = json!({
        "name": {
            "type": "string",
            "description": "Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html",
            "maxLength": 80
        },
        "prefix": {
            "type": "string",
            "description": "Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :).",
            "maxLength": 80
        },
        "properties_target": {
            "type": "string",
            "description": "Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.",
            "maxLength": 80
        },
        "created_at": timestamp("Date and time of resource type association"),
        "updated_at": timestamp("Date and time of the last resource type association modification")
    });
    raw("resource_type_association", properties, None, &["name"])
}

pub fn resource_types() -> Value {
    collection("resource_type_associations", resource_type(), false)
}

/// The document served at `/v2/schemas/metadefs/{name}`.
pub fn by_name(name: &str) -> Option<Value> {
    Some(match name {
        "namespace" => namespace(),
        "namespaces" => namespaces(),
        "object" => object(),
        "objects" => objects(),
        "property" => property(),
        "properties" => properties(),
        "tag" => tag(),
        "tags" => tags(),
        "resource_type" => resource_type(),
        "resource_types" => resource_types(),
        _ => return None,
    })
}

/// Replaces every `{"$ref": "#/definitions/x"}` by the definition (they do not
/// nest recursively), so the validator needs no reference resolution.
fn inline(v: &Value, defs: &Map<String, Value>) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(target) = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/definitions/"))
            {
                if let Some(d) = defs.get(target) {
                    return inline(d, defs);
                }
            }
            Value::Object(
                m.iter()
                    .filter(|(k, _)| k.as_str() != "definitions")
                    .map(|(k, v)| (k.clone(), inline(v, defs)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| inline(x, defs)).collect()),
        other => other.clone(),
    }
}

fn validator(schema: Value) -> Value {
    let defs = schema
        .get("definitions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    inline(&schema, &defs)
}

/// Which request body is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Namespace,
    Object,
    Property,
    /// An object's inner property (no `name` needed).
    ObjectProperty,
    Tag,
    TagsCreate,
    ResourceType,
}

fn compiled(body: Body) -> &'static Value {
    static CACHE: OnceLock<Vec<Value>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        vec![
            validator(namespace()),
            validator(object()),
            validator(property_with(true)),
            validator(property_with(false)),
            validator(tag()),
            validator(tags_for_create()),
            validator(resource_type()),
        ]
    });
    &all[body as usize]
}

/// Glance's `Schema.validate`: 400 with jsonschema's report.
pub fn validate(body: Body, instance: &Value) -> Result<()> {
    let schema = compiled(body);
    let name = schema.get("name").and_then(Value::as_str).unwrap_or("");
    validate_against(name, schema, instance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn names_as_tempest_expects() {
        for (path, name) in [
            ("namespace", "namespace"),
            ("namespaces", "namespaces"),
            ("resource_type", "resource_type_association"),
            ("resource_types", "resource_type_associations"),
            ("object", "object"),
            ("objects", "objects"),
            ("property", "property"),
            ("properties", "properties"),
            ("tag", "tag"),
            ("tags", "tags"),
        ] {
            let doc = by_name(path).unwrap_or_default();
            assert_eq!(doc["name"], name, "{path}");
        }
        assert!(by_name("image").is_none());
    }

    #[test]
    fn raw_shapes() {
        let ns = namespace();
        assert_eq!(
            keys(&ns),
            [
                "name",
                "properties",
                "additionalProperties",
                "definitions",
                "required"
            ]
        );
        assert_eq!(ns["required"], json!(["namespace"]));
        assert_eq!(property()["required"], json!(["type", "title", "name"]));
        assert_eq!(property()["definitions"]["stringArray"]["minItems"], 1);
        assert!(namespace()["definitions"]["stringArray"]
            .get("minItems")
            .is_none());
        let nss = namespaces();
        assert_eq!(keys(&nss), ["name", "properties", "links", "definitions"]);
        assert!(nss["properties"]["namespaces"]["items"]
            .get("definitions")
            .is_none());
        let props = properties();
        assert_eq!(
            props["properties"]["properties"]["additionalProperties"]["required"],
            json!(["type", "title"])
        );
        assert_eq!(
            keys(&tag()),
            ["name", "properties", "additionalProperties", "required"]
        );
        assert!(tags().get("definitions").is_none());
    }

    #[test]
    fn validation() {
        assert!(validate(Body::Namespace, &json!({"namespace": "a"})).is_ok());
        let e = validate(Body::Namespace, &json!({"display_name": "a"})).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("400: Provided object does not match schema 'namespace': 'namespace' is a required property"));
        let e = validate(
            Body::Namespace,
            &json!({"namespace": "a", "visibility": "shared"}),
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .contains("'shared' is not one of ['public', 'private']"));
        let e = validate(Body::Namespace, &json!({"namespace": "a", "bogus": 1})).unwrap_err();
        assert!(e
            .to_string()
            .contains("Additional properties are not allowed ('bogus' was unexpected)"));
        let bad_prop = json!({"namespace": "a", "properties": {"p": {"type": "string"}}});
        assert!(validate(Body::Namespace, &bad_prop)
            .unwrap_err()
            .to_string()
            .contains("'title' is a required property"));
        let neg = json!({"name": "p", "title": "P", "type": "string", "maxLength": -1});
        assert!(validate(Body::Property, &neg)
            .unwrap_err()
            .to_string()
            .contains("-1 is less than the minimum of 0"));
        let dup = json!({"name": "o", "required": ["a", "a"]});
        assert!(validate(Body::Object, &dup)
            .unwrap_err()
            .to_string()
            .contains("has non-unique elements"));
        assert!(validate(Body::TagsCreate, &json!({"tags": [{"name": "a", "x": 1}]})).is_err());
        assert!(validate(
            Body::ResourceType,
            &json!({"name": "OS::Nova::Server", "prefix": "hw_"})
        )
        .is_ok());
        assert!(validate(
            Body::Property,
            &json!({"name": "p", "title": "P", "type": "string", "required": []})
        )
        .unwrap_err()
        .to_string()
        .contains("[] should be non-empty"));
    }
}
