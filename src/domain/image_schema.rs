//! Glance's image schema (`get_base_properties` under a `PermissiveSchema`) and
//! validation of image-shaped objects against it, with Glance's 400 text.

use std::sync::{Arc, OnceLock};

use serde_json::{json, Map, Value};

use crate::domain::id::UUID_PATTERN;
use crate::domain::image::{CONTAINER_FORMATS, DISK_FORMATS};
use crate::domain::json_schema::validate_against;
use crate::error::Result;

/// Glance's image schema (`get_base_properties` under a `PermissiveSchema`) with Glance's
/// default `[image_format]` lists, in Glance's key order: jsonschema prints these sub-schemas
/// in its messages.
pub fn image_schema() -> &'static Value {
    default_schema()
}

fn default_schema() -> &'static Arc<Value> {
    static SCHEMA: OnceLock<Arc<Value>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(build_image_schema(DISK_FORMATS, CONTAINER_FORMATS)))
}

/// The image schema a server validates with and publishes: Glance puts the configured
/// `[image_format] disk_formats` and `container_formats` (after `null`) into the enums of
/// `disk_format` and `container_format`, so a format left out of them is refused on create and
/// PATCH with the schema's 400, and `GET /v2/schemas/image` lists exactly those.
#[derive(Debug, Clone)]
pub struct ImageSchema(Arc<Value>);

impl Default for ImageSchema {
    /// Glance's default lists.
    fn default() -> Self {
        ImageSchema(default_schema().clone())
    }
}

impl ImageSchema {
    /// The schema with these format lists, in the configured order (the order Glance prints).
    pub fn with_formats<D: AsRef<str>, C: AsRef<str>>(disk: &[D], container: &[C]) -> Self {
        ImageSchema(Arc::new(build_image_schema(disk, container)))
    }

    pub fn value(&self) -> &Value {
        &self.0
    }

    /// [`validate_image_object`] against this schema.
    pub fn validate(&self, instance: &Value) -> Result<()> {
        validate_against("image", &self.0, instance)
    }
}

fn build_image_schema<D: AsRef<str>, C: AsRef<str>>(disk: &[D], container: &[C]) -> Value {
    let mut containers = vec![Value::Null];
    containers.extend(container.iter().map(|f| json!(f.as_ref())));
    let mut disks = vec![Value::Null];
    disks.extend(disk.iter().map(|f| json!(f.as_ref())));
    let properties: Vec<(&str, Value)> = vec![
        (
            "id",
            json!({
                "type": "string",
                "description": "An identifier for the image",
                "pattern": UUID_PATTERN,
            }),
        ),
        (
            "name",
            json!({
                "type": ["null", "string"],
                "description": "Descriptive name for the image",
                "maxLength": 255,
            }),
        ),
        (
            "status",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "Status of the image",
                "enum": ["queued", "saving", "active", "killed", "deleted", "uploading",
                         "importing", "pending_delete", "deactivated"],
            }),
        ),
        (
            "visibility",
            json!({
                "type": "string",
                "description": "Scope of image accessibility",
                "enum": ["community", "public", "private", "shared"],
            }),
        ),
        (
            "protected",
            json!({
                "type": "boolean",
                "description": "If true, image will not be deletable.",
            }),
        ),
        (
            "os_hidden",
            json!({
                "type": "boolean",
                "description": "If true, image will not appear in default image list response.",
            }),
        ),
        (
            "checksum",
            json!({
                "type": ["null", "string"],
                "readOnly": true,
                "description": "md5 hash of image contents.",
                "maxLength": 32,
            }),
        ),
        (
            "os_hash_algo",
            json!({
                "type": ["null", "string"],
                "readOnly": true,
                "description": "Algorithm to calculate the os_hash_value",
                "maxLength": 64,
            }),
        ),
        (
            "os_hash_value",
            json!({
                "type": ["null", "string"],
                "readOnly": true,
                "description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo",
                "maxLength": 128,
            }),
        ),
        (
            "owner",
            json!({
                "type": ["null", "string"],
                "description": "Owner of the image",
                "maxLength": 255,
            }),
        ),
        (
            "size",
            json!({
                "type": ["null", "integer"],
                "readOnly": true,
                "description": "Size of image file in bytes",
            }),
        ),
        (
            "virtual_size",
            json!({
                "type": ["null", "integer"],
                "readOnly": true,
                "description": "Virtual size of image in bytes",
            }),
        ),
        (
            "container_format",
            json!({
                "type": ["null", "string"],
                "description": "Format of the container",
                "enum": containers,
            }),
        ),
        (
            "disk_format",
            json!({
                "type": ["null", "string"],
                "description": "Format of the disk",
                "enum": disks,
            }),
        ),
        (
            "created_at",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "Date and time of image registration",
            }),
        ),
        (
            "updated_at",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "Date and time of the last image modification",
            }),
        ),
        (
            "tags",
            json!({
                "type": "array",
                "description": "List of strings related to the image",
                "items": {"type": "string", "maxLength": 255},
            }),
        ),
        (
            "direct_url",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "URL to access the image file kept in external store",
            }),
        ),
        (
            "min_ram",
            json!({
                "type": "integer",
                "description": "Amount of ram (in MB) required to boot image.",
            }),
        ),
        (
            "min_disk",
            json!({
                "type": "integer",
                "description": "Amount of disk space (in GB) required to boot image.",
            }),
        ),
        (
            "self",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "An image self url",
            }),
        ),
        (
            "file",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "An image file url",
            }),
        ),
        (
            "stores",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers.",
            }),
        ),
        (
            "schema",
            json!({
                "type": "string",
                "readOnly": true,
                "description": "An image schema url",
            }),
        ),
        (
            "locations",
            json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "url": {"type": "string", "maxLength": 255},
                        "metadata": {"type": "object"},
                        "validation_data": {
                            "description": "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
                            "type": "object",
                            "writeOnly": true,
                            "additionalProperties": false,
                            "properties": {
                                "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                                "os_hash_algo": {"type": "string", "maxLength": 64},
                                "os_hash_value": {"type": "string", "maxLength": 128},
                            },
                            "required": ["os_hash_algo", "os_hash_value"],
                        },
                    },
                    "required": ["url", "metadata"],
                },
                "description": "A set of URLs to access the image file kept in external store",
            }),
        ),
    ];
    json!({
        "name": "image",
        "properties": properties
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<String, Value>>(),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

/// Validates an image-shaped object against [`image_schema`] (Glance's default format lists)
/// the way Glance's
/// `Schema.validate` does (jsonschema's `best_match`), answering 400
/// `Provided object does not match schema 'image': <jsonschema report>`.
/// Usable for create bodies as well as PATCH values.
pub fn validate_image_object(instance: &Value) -> Result<()> {
    validate_against("image", image_schema(), instance)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn schema_reports_match_python_jsonschema() {
        assert_eq!(SCHEMA_FIXTURES.lines().count(), 58);
        for line in SCHEMA_FIXTURES.lines() {
            let case: Value = serde_json::from_str(line).unwrap();
            let want = match &case["m"] {
                Value::Null => Ok(()),
                Value::String(m) => Err(Error::bad_request(m.clone())),
                other => panic!("bad fixture {other}"),
            };
            assert_eq!(validate_image_object(&case["i"]), want, "{}", case["i"]);
        }
    }

    /// Generated with Python 3.11 + jsonschema 4.26 from Glance's `get_base_properties()`
    /// (default formats): `{"i": instance, "m": Glance's 400 text or null}`.
    const SCHEMA_FIXTURES: &str = r##"{"i": {"name": 5}, "m": "Provided object does not match schema 'image': 5 is not of type 'null', 'string'\n\nFailed validating 'type' in schema['properties']['name']:\n    {'type': ['null', 'string'],\n     'description': 'Descriptive name for the image',\n     'maxLength': 255}\n\nOn instance['name']:\n    5"}
{"i": {"name": "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"}, "m": "Provided object does not match schema 'image': 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn' is too long\n\nFailed validating 'maxLength' in schema['properties']['name']:\n    {'type': ['null', 'string'],\n     'description': 'Descriptive name for the image',\n     'maxLength': 255}\n\nOn instance['name']:\n    'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn'"}
{"i": {"name": "x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y "}, "m": "Provided object does not match schema 'image': 'x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y ' is too long\n\nFailed validating 'maxLength' in schema['properties']['name']:\n    {'type': ['null', 'string'],\n     'description': 'Descriptive name for the image',\n     'maxLength': 255}\n\nOn instance['name']:\n    ('x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y '\n     'x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y '\n     'x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y '\n     'x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y x y '\n     'x y x y ')"}
{"i": {"name": null}, "m": null}
{"i": {"name": ""}, "m": null}
{"i": {"visibility": "x"}, "m": "Provided object does not match schema 'image': 'x' is not one of ['community', 'public', 'private', 'shared']\n\nFailed validating 'enum' in schema['properties']['visibility']:\n    {'type': 'string',\n     'description': 'Scope of image accessibility',\n     'enum': ['community', 'public', 'private', 'shared']}\n\nOn instance['visibility']:\n    'x'"}
{"i": {"visibility": 5}, "m": "Provided object does not match schema 'image': 5 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['visibility']:\n    {'type': 'string',\n     'description': 'Scope of image accessibility',\n     'enum': ['community', 'public', 'private', 'shared']}\n\nOn instance['visibility']:\n    5"}
{"i": {"visibility": null}, "m": "Provided object does not match schema 'image': None is not of type 'string'\n\nFailed validating 'type' in schema['properties']['visibility']:\n    {'type': 'string',\n     'description': 'Scope of image accessibility',\n     'enum': ['community', 'public', 'private', 'shared']}\n\nOn instance['visibility']:\n    None"}
{"i": {"visibility": "it's"}, "m": "Provided object does not match schema 'image': \"it's\" is not one of ['community', 'public', 'private', 'shared']\n\nFailed validating 'enum' in schema['properties']['visibility']:\n    {'type': 'string',\n     'description': 'Scope of image accessibility',\n     'enum': ['community', 'public', 'private', 'shared']}\n\nOn instance['visibility']:\n    \"it's\""}
{"i": {"visibility": "a\"b'c\\"}, "m": "Provided object does not match schema 'image': 'a\"b\\'c\\\\' is not one of ['community', 'public', 'private', 'shared']\n\nFailed validating 'enum' in schema['properties']['visibility']:\n    {'type': 'string',\n     'description': 'Scope of image accessibility',\n     'enum': ['community', 'public', 'private', 'shared']}\n\nOn instance['visibility']:\n    'a\"b\\'c\\\\'"}
{"i": {"visibility": "\u00e9\u4e2d"}, "m": "Provided object does not match schema 'image': '\u00e9\u4e2d' is not one of ['community', 'public', 'private', 'shared']\n\nFailed validating 'enum' in schema['properties']['visibility']:\n    {'type': 'string',\n     'description': 'Scope of image accessibility',\n     'enum': ['community', 'public', 'private', 'shared']}\n\nOn instance['visibility']:\n    '\u00e9\u4e2d'"}
{"i": {"visibility": "\u0001\n\t\r\u007f\u0085\u200b\u00a0\ud83d\ude00\ue000"}, "m": "Provided object does not match schema 'image': '\\x01\\n\\t\\r\\x7f\\x85\\u200b\\xa0\ud83d\ude00\\ue000' is not one of ['community', 'public', 'private', 'shared']\n\nFailed validating 'enum' in schema['properties']['visibility']:\n    {'type': 'string',\n     'description': 'Scope of image accessibility',\n     'enum': ['community', 'public', 'private', 'shared']}\n\nOn instance['visibility']:\n    '\\x01\\n\\t\\r\\x7f\\x85\\u200b\\xa0\ud83d\ude00\\ue000'"}
{"i": {"protected": "true"}, "m": "Provided object does not match schema 'image': 'true' is not of type 'boolean'\n\nFailed validating 'type' in schema['properties']['protected']:\n    {'type': 'boolean',\n     'description': 'If true, image will not be deletable.'}\n\nOn instance['protected']:\n    'true'"}
{"i": {"protected": 1}, "m": "Provided object does not match schema 'image': 1 is not of type 'boolean'\n\nFailed validating 'type' in schema['properties']['protected']:\n    {'type': 'boolean',\n     'description': 'If true, image will not be deletable.'}\n\nOn instance['protected']:\n    1"}
{"i": {"protected": null}, "m": "Provided object does not match schema 'image': None is not of type 'boolean'\n\nFailed validating 'type' in schema['properties']['protected']:\n    {'type': 'boolean',\n     'description': 'If true, image will not be deletable.'}\n\nOn instance['protected']:\n    None"}
{"i": {"os_hidden": "yes"}, "m": "Provided object does not match schema 'image': 'yes' is not of type 'boolean'\n\nFailed validating 'type' in schema['properties']['os_hidden']:\n    {'type': 'boolean',\n     'description': 'If true, image will not appear in default image list '\n                    'response.'}\n\nOn instance['os_hidden']:\n    'yes'"}
{"i": {"owner": 5}, "m": "Provided object does not match schema 'image': 5 is not of type 'null', 'string'\n\nFailed validating 'type' in schema['properties']['owner']:\n    {'type': ['null', 'string'],\n     'description': 'Owner of the image',\n     'maxLength': 255}\n\nOn instance['owner']:\n    5"}
{"i": {"owner": "oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo"}, "m": "Provided object does not match schema 'image': 'oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo' is too long\n\nFailed validating 'maxLength' in schema['properties']['owner']:\n    {'type': ['null', 'string'],\n     'description': 'Owner of the image',\n     'maxLength': 255}\n\nOn instance['owner']:\n    'oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo'"}
{"i": {"owner": null}, "m": null}
{"i": {"disk_format": "foo"}, "m": "Provided object does not match schema 'image': 'foo' is not one of [None, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']\n\nFailed validating 'enum' in schema['properties']['disk_format']:\n    {'type': ['null', 'string'],\n     'description': 'Format of the disk',\n     'enum': [None,\n              'ami',\n              'ari',\n              'aki',\n              'vhd',\n              'vhdx',\n              'vmdk',\n              'raw',\n              'qcow2',\n              'vdi',\n              'iso',\n              'ploop']}\n\nOn instance['disk_format']:\n    'foo'"}
{"i": {"disk_format": 5}, "m": "Provided object does not match schema 'image': 5 is not of type 'null', 'string'\n\nFailed validating 'type' in schema['properties']['disk_format']:\n    {'type': ['null', 'string'],\n     'description': 'Format of the disk',\n     'enum': [None,\n              'ami',\n              'ari',\n              'aki',\n              'vhd',\n              'vhdx',\n              'vmdk',\n              'raw',\n              'qcow2',\n              'vdi',\n              'iso',\n              'ploop']}\n\nOn instance['disk_format']:\n    5"}
{"i": {"disk_format": null}, "m": null}
{"i": {"container_format": "foo"}, "m": "Provided object does not match schema 'image': 'foo' is not one of [None, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed']\n\nFailed validating 'enum' in schema['properties']['container_format']:\n    {'type': ['null', 'string'],\n     'description': 'Format of the container',\n     'enum': [None,\n              'ami',\n              'ari',\n              'aki',\n              'bare',\n              'ovf',\n              'ova',\n              'docker',\n              'compressed']}\n\nOn instance['container_format']:\n    'foo'"}
{"i": {"min_ram": "1"}, "m": "Provided object does not match schema 'image': '1' is not of type 'integer'\n\nFailed validating 'type' in schema['properties']['min_ram']:\n    {'type': 'integer',\n     'description': 'Amount of ram (in MB) required to boot image.'}\n\nOn instance['min_ram']:\n    '1'"}
{"i": {"min_ram": 1.5}, "m": "Provided object does not match schema 'image': 1.5 is not of type 'integer'\n\nFailed validating 'type' in schema['properties']['min_ram']:\n    {'type': 'integer',\n     'description': 'Amount of ram (in MB) required to boot image.'}\n\nOn instance['min_ram']:\n    1.5"}
{"i": {"min_ram": true}, "m": "Provided object does not match schema 'image': True is not of type 'integer'\n\nFailed validating 'type' in schema['properties']['min_ram']:\n    {'type': 'integer',\n     'description': 'Amount of ram (in MB) required to boot image.'}\n\nOn instance['min_ram']:\n    True"}
{"i": {"min_ram": null}, "m": "Provided object does not match schema 'image': None is not of type 'integer'\n\nFailed validating 'type' in schema['properties']['min_ram']:\n    {'type': 'integer',\n     'description': 'Amount of ram (in MB) required to boot image.'}\n\nOn instance['min_ram']:\n    None"}
{"i": {"min_ram": 2.0}, "m": null}
{"i": {"min_disk": "x"}, "m": "Provided object does not match schema 'image': 'x' is not of type 'integer'\n\nFailed validating 'type' in schema['properties']['min_disk']:\n    {'type': 'integer',\n     'description': 'Amount of disk space (in GB) required to boot image.'}\n\nOn instance['min_disk']:\n    'x'"}
{"i": {"tags": "abc"}, "m": "Provided object does not match schema 'image': 'abc' is not of type 'array'\n\nFailed validating 'type' in schema['properties']['tags']:\n    {'type': 'array',\n     'description': 'List of strings related to the image',\n     'items': {'type': 'string', 'maxLength': 255}}\n\nOn instance['tags']:\n    'abc'"}
{"i": {"tags": ["a", 5]}, "m": "Provided object does not match schema 'image': 5 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['tags']['items']:\n    {'type': 'string', 'maxLength': 255}\n\nOn instance['tags'][1]:\n    5"}
{"i": {"tags": ["tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"]}, "m": "Provided object does not match schema 'image': 'tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt' is too long\n\nFailed validating 'maxLength' in schema['properties']['tags']['items']:\n    {'type': 'string', 'maxLength': 255}\n\nOn instance['tags'][0]:\n    'tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt'"}
{"i": {"tags": [1, 2]}, "m": "Provided object does not match schema 'image': 2 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['tags']['items']:\n    {'type': 'string', 'maxLength': 255}\n\nOn instance['tags'][1]:\n    2"}
{"i": {"tags": null}, "m": "Provided object does not match schema 'image': None is not of type 'array'\n\nFailed validating 'type' in schema['properties']['tags']:\n    {'type': 'array',\n     'description': 'List of strings related to the image',\n     'items': {'type': 'string', 'maxLength': 255}}\n\nOn instance['tags']:\n    None"}
{"i": {"tags": []}, "m": null}
{"i": {"foo": 5}, "m": "Provided object does not match schema 'image': 5 is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    5"}
{"i": {"foo": true}, "m": "Provided object does not match schema 'image': True is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    True"}
{"i": {"foo": null}, "m": "Provided object does not match schema 'image': None is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    None"}
{"i": {"foo": 1.5}, "m": "Provided object does not match schema 'image': 1.5 is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    1.5"}
{"i": {"foo": 1e+20}, "m": "Provided object does not match schema 'image': 1e+20 is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    1e+20"}
{"i": {"foo": 1e-07}, "m": "Provided object does not match schema 'image': 1e-07 is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    1e-07"}
{"i": {"foo": -0.0}, "m": "Provided object does not match schema 'image': -0.0 is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    -0.0"}
{"i": {"foo": {"a": [1, 2, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]}}, "m": "Provided object does not match schema 'image': {'a': [1, 2, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']} is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    {'a': [1,\n           2,\n           'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']}"}
{"i": {"foo": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]}, "m": "Provided object does not match schema 'image': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29] is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    [0,\n     1,\n     2,\n     3,\n     4,\n     5,\n     6,\n     7,\n     8,\n     9,\n     10,\n     11,\n     12,\n     13,\n     14,\n     15,\n     16,\n     17,\n     18,\n     19,\n     20,\n     21,\n     22,\n     23,\n     24,\n     25,\n     26,\n     27,\n     28,\n     29]"}
{"i": {"foo": {}}, "m": "Provided object does not match schema 'image': {} is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    {}"}
{"i": {"foo": {"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk": "v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v ", "n": null, "b": [true, false, {"z": 1}]}}, "m": "Provided object does not match schema 'image': {'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': 'v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v v ', 'n': None, 'b': [True, False, {'z': 1}]} is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    {'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': 'v v v v v v v v v v v v v v v v v '\n                                       'v v v v v v v v v v v v v v v v v '\n                                       'v v v v v v ',\n     'n': None,\n     'b': [True, False, {'z': 1}]}"}
{"i": {"foo": ["line one\nsecond line w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w \nthird"]}, "m": "Provided object does not match schema 'image': ['line one\\nsecond line w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w \\nthird'] is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    ['line one\\n'\n     'second line w w w w w w w w w w w w w w w w w w w w w w w w w w w w '\n     'w w w w w w w w w w w w \\n'\n     'third']"}
{"i": {"foo": [["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "b"], "c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c "]}, "m": "Provided object does not match schema 'image': [['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'b'], 'c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c '] is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['foo']:\n    [['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',\n      'b'],\n     'c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c '\n     'c c c c c c c c c c c c c c c c ']"}
{"i": {"foo": "x", "bar": 5, "baz": "ok"}, "m": "Provided object does not match schema 'image': 5 is not of type 'string'\n\nFailed validating 'type' in schema['additionalProperties']:\n    {'type': 'string'}\n\nOn instance['bar']:\n    5"}
{"i": {"locations": [{}]}, "m": "Provided object does not match schema 'image': 'url' is a required property\n\nFailed validating 'required' in schema['properties']['locations']['items']:\n    {'type': 'object',\n     'properties': {'url': {'type': 'string', 'maxLength': 255},\n                    'metadata': {'type': 'object'},\n                    'validation_data': {'description': 'Values to be used '\n                                                       'to populate the '\n                                                       'corresponding '\n                                                       'image properties. '\n                                                       'If the image '\n                                                       'status is not '\n                                                       \"'queued', values \"\n                                                       'must exactly match '\n                                                       'those already '\n                                                       'contained in the '\n                                                       'image properties.',\n                                        'type': 'object',\n                                        'writeOnly': True,\n                                        'additionalProperties': False,\n                                        'properties': {'checksum': {'type': 'string',\n                                                                    'minLength': 32,\n                                                                    'maxLength': 32},\n                                                       'os_hash_algo': {'type': 'string',\n                                                                        'maxLength': 64},\n                                                       'os_hash_value': {'type': 'string',\n                                                                         'maxLength': 128}},\n                                        'required': ['os_hash_algo',\n                                                     'os_hash_value']}},\n     'required': ['url', 'metadata']}\n\nOn instance['locations'][0]:\n    {}"}
{"i": {"locations": [{"url": "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu", "metadata": {}}]}, "m": "Provided object does not match schema 'image': 'uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu' is too long\n\nFailed validating 'maxLength' in schema['properties']['locations']['items']['properties']['url']:\n    {'type': 'string', 'maxLength': 255}\n\nOn instance['locations'][0]['url']:\n    'uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu'"}
{"i": {"locations": [{"url": "x", "metadata": {}, "validation_data": {"a": 1, "b": 2}}]}, "m": "Provided object does not match schema 'image': Additional properties are not allowed ('a', 'b' were unexpected)\n\nFailed validating 'additionalProperties' in schema['properties']['locations']['items']['properties']['validation_data']:\n    {'description': 'Values to be used to populate the corresponding image '\n                    \"properties. If the image status is not 'queued', \"\n                    'values must exactly match those already contained in '\n                    'the image properties.',\n     'type': 'object',\n     'writeOnly': True,\n     'additionalProperties': False,\n     'properties': {'checksum': {'type': 'string',\n                                 'minLength': 32,\n                                 'maxLength': 32},\n                    'os_hash_algo': {'type': 'string', 'maxLength': 64},\n                    'os_hash_value': {'type': 'string', 'maxLength': 128}},\n     'required': ['os_hash_algo', 'os_hash_value']}\n\nOn instance['locations'][0]['validation_data']:\n    {'a': 1, 'b': 2}"}
{"i": {"locations": "x"}, "m": "Provided object does not match schema 'image': 'x' is not of type 'array'\n\nFailed validating 'type' in schema['properties']['locations']:\n    {'type': 'array',\n     'items': {'type': 'object',\n               'properties': {'url': {'type': 'string', 'maxLength': 255},\n                              'metadata': {'type': 'object'},\n                              'validation_data': {'description': 'Values '\n                                                                 'to be '\n                                                                 'used to '\n                                                                 'populate '\n                                                                 'the '\n                                                                 'corresponding '\n                                                                 'image '\n                                                                 'properties. '\n                                                                 'If the '\n                                                                 'image '\n                                                                 'status '\n                                                                 'is not '\n                                                                 \"'queued', \"\n                                                                 'values '\n                                                                 'must '\n                                                                 'exactly '\n                                                                 'match '\n                                                                 'those '\n                                                                 'already '\n                                                                 'contained '\n                                                                 'in the '\n                                                                 'image '\n                                                                 'properties.',\n                                                  'type': 'object',\n                                                  'writeOnly': True,\n                                                  'additionalProperties': False,\n                                                  'properties': {'checksum': {'type': 'string',\n                                                                              'minLength': 32,\n                                                                              'maxLength': 32},\n                                                                 'os_hash_algo': {'type': 'string',\n                                                                                  'maxLength': 64},\n                                                                 'os_hash_value': {'type': 'string',\n                                                                                   'maxLength': 128}},\n                                                  'required': ['os_hash_algo',\n                                                               'os_hash_value']}},\n               'required': ['url', 'metadata']},\n     'description': 'A set of URLs to access the image file kept in '\n                    'external store'}\n\nOn instance['locations']:\n    'x'"}
{"i": {"locations": []}, "m": null}
{"i": {"locations": [{"url": "x", "metadata": {}}]}, "m": null}
{"i": {"id": "abc"}, "m": "Provided object does not match schema 'image': 'abc' does not match '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'\n\nFailed validating 'pattern' in schema['properties']['id']:\n    {'type': 'string',\n     'description': 'An identifier for the image',\n     'pattern': '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$'}\n\nOn instance['id']:\n    'abc'"}
{"i": {"id": "01234567-89ab-cdef-0123-456789abcdef"}, "m": null}
{"i": {"id": "01234567-89ab-cdef-0123-456789abcdef\n"}, "m": null}"##;
}
