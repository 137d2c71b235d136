//! Metadata definition tables (Glance's names) and their queries.
//! Catalogs are small (Glance ships about forty namespaces), so lists are
//! loaded whole and sorted/paged by the pure rules in `domain::metadefs`.

pub mod content;
pub mod namespaces;
pub mod resource_types;

diesel::table! {
    metadef_namespaces (id) {
        id -> Integer,
        namespace -> Text,
        display_name -> Nullable<Text>,
        description -> Nullable<Text>,
        visibility -> Nullable<Text>,
        protected -> Nullable<Bool>,
        owner -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    metadef_resource_types (id) {
        id -> Integer,
        name -> Text,
        protected -> Bool,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    metadef_namespace_resource_types (resource_type_id, namespace_id) {
        resource_type_id -> Integer,
        namespace_id -> Integer,
        properties_target -> Nullable<Text>,
        prefix -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    metadef_objects (id) {
        id -> Integer,
        namespace_id -> Integer,
        name -> Text,
        description -> Nullable<Text>,
        required -> Nullable<Text>,
        json_schema -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    metadef_properties (id) {
        id -> Integer,
        namespace_id -> Integer,
        name -> Text,
        json_schema -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    metadef_tags (id) {
        id -> Integer,
        namespace_id -> Integer,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(metadef_namespace_resource_types -> metadef_resource_types (resource_type_id));
diesel::joinable!(metadef_namespace_resource_types -> metadef_namespaces (namespace_id));
diesel::joinable!(metadef_objects -> metadef_namespaces (namespace_id));
diesel::joinable!(metadef_properties -> metadef_namespaces (namespace_id));
diesel::joinable!(metadef_tags -> metadef_namespaces (namespace_id));
diesel::allow_tables_to_appear_in_same_query!(
    metadef_namespaces,
    metadef_resource_types,
    metadef_namespace_resource_types,
    metadef_objects,
    metadef_properties,
    metadef_tags,
);

use serde_json::{Map, Value};

use super::error::DbError;

/// `json_schema` columns hold a JSON object (Glance's `JSONEncodedDict`).
fn parse_json(text: &str) -> Result<Map<String, Value>, DbError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        // Glance's loader writes `null` for an object without properties.
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) | Err(_) => Err(DbError::Other(format!(
            "metadef json_schema is not a JSON object: {text}"
        ))),
    }
}

fn to_json(m: &Map<String, Value>) -> String {
    Value::Object(m.clone()).to_string()
}
