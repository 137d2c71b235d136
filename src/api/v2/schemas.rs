//! The JSON schemas served under `/v2/schemas/*`, as Glance 32 serves them
//! when no `schema-image.json` is configured (the default install).
//!
//! python-glanceclient builds its models from these and validates image input
//! against `/v2/schemas/image`, so the property definitions follow Glance's
//! `images.get_base_properties()` and `image_members._MEMBER_SCHEMA` exactly;
//! the wrappers follow `glance.schema`: the image schema is a
//! `PermissiveSchema` served `raw()` (extra properties must be strings), the
//! images collection is `CollectionSchema.raw()`, and the member schemas are
//! plain `Schema`s served `minimal()` (no `additionalProperties`, no links on
//! the member). Keys are emitted in Glance's order (serde_json `preserve_order`).

use serde_json::{json, Value};

use crate::domain::id::UUID_PATTERN;
use crate::domain::image_schema::ImageSchema;

/// `GET /v2/schemas/image`: the same document the domain validates image
/// input against (the server's `ImageSchema`, with the configured format lists), so the two
/// cannot drift.
pub fn image_schema(schema: &ImageSchema) -> Value {
    schema.value().clone()
}

/// `GET /v2/schemas/images`: the image schema (full form) as array items, plus
/// the pagination keys.
pub fn images_schema(schema: &ImageSchema) -> Value {
    json!({
        "name": "images",
        "properties": {
            "images": {
                "type": "array",
                "items": image_schema(schema),
            },
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

/// `GET /v2/schemas/member` (minimal form: name and properties only), Glance's.
pub fn member_schema() -> Value {
    member_schema_for(false)
}

/// The member schema served: Glance's, plus `os_glint` with the sharing extensions on (clients
/// that validate members against it, python-glanceclient, then accept the key).
pub fn member_schema_for(sharing: bool) -> Value {
    let mut properties = member_properties();
    if sharing {
        properties["os_glint"] = os_glint_properties();
    }
    json!({
        "name": "member",
        "properties": properties,
    })
}

/// `os_glint` on a member (`../shared/design/sharing-extensions.md`).
fn os_glint_properties() -> Value {
    json!({
        "type": "object",
        "description": "glint's sharing extensions: expiry, note and state of this share",
        "properties": {
            "expires_at": {
                "type": "string",
                "description": "When the member's access ends (UTC)",
            },
            "note": {
                "type": "string",
                "maxLength": crate::domain::member_ext::NOTE_MAX_CHARS,
                "description": "Why the image is shared, shown to both sides",
            },
            "state": {
                "type": "string",
                "enum": ["active", "expired"],
                "description": "expired: the member no longer sees the image",
            },
            "renewal_requested": {
                "type": "boolean",
                "description": "The member asked the owner to extend the share",
            },
            "policy": {
                "type": "string",
                "enum": ["auto_accepted", "hidden", "would_auto_accept", "would_hide", "would_reject"],
                "description": "What the recipient's trust policy did to the offer (would_*: audit mode)",
            },
            "via": {
                "type": "string",
                "enum": ["batch", "grant"],
                "description": "How the share was made, when not by an ordinary member create (batch: POST /v2/glint/shares; grant: a grant to a domain or project subtree)",
            },
            "grant_id": {
                "type": "string",
                "description": "The grant this share was made from (via: grant)",
            },
            "last_download_at": {
                "type": "string",
                "description": "When the member last downloaded the image (UTC, up to a minute late); absent if never",
            },
        },
    })
}

/// `GET /v2/schemas/members` (minimal collection: no `first`/`next`), Glance's.
pub fn members_schema() -> Value {
    members_schema_for(false)
}

/// The members schema served (see [`member_schema_for`]).
pub fn members_schema_for(sharing: bool) -> Value {
    json!({
        "name": "members",
        "properties": {
            "members": {
                "type": "array",
                "items": member_schema_for(sharing),
            },
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

fn member_properties() -> Value {
    json!({
        "member_id": {
            "type": "string",
            "description": "An identifier for the image member (tenantId)",
        },
        "image_id": {
            "type": "string",
            "description": "An identifier for the image",
            "pattern": UUID_PATTERN,
        },
        "created_at": {
            "type": "string",
            "description": "Date and time of image member creation",
        },
        "updated_at": {
            "type": "string",
            "description": "Date and time of last modification of image member",
        },
        "status": {
            "type": "string",
            "description": "The status of this image member",
            "enum": ["pending", "accepted", "rejected"],
        },
        // Glance gives `schema` no description.
        "schema": {"readOnly": true, "type": "string"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn names() {
        let cases = [
            (image_schema(&ImageSchema::default()), "image"),
            (images_schema(&ImageSchema::default()), "images"),
            (member_schema(), "member"),
            (members_schema(), "members"),
        ];
        for (schema, name) in cases {
            assert_eq!(schema["name"], name);
        }
    }

    #[test]
    fn image_top_level() {
        let s = image_schema(&ImageSchema::default());
        assert_eq!(
            keys(&s),
            ["name", "properties", "additionalProperties", "links"]
        );
        assert_eq!(s["additionalProperties"], json!({"type": "string"}));
        assert_eq!(
            s["links"],
            json!([
                {"rel": "self", "href": "{self}"},
                {"rel": "enclosure", "href": "{file}"},
                {"rel": "describedby", "href": "{schema}"}
            ])
        );
        assert!(s.get("required").is_none());
    }

    #[test]
    fn image_properties_in_glance_order() {
        let s = image_schema(&ImageSchema::default());
        assert_eq!(
            keys(&s["properties"]),
            [
                "id",
                "name",
                "status",
                "visibility",
                "protected",
                "os_hidden",
                "checksum",
                "os_hash_algo",
                "os_hash_value",
                "owner",
                "size",
                "virtual_size",
                "container_format",
                "disk_format",
                "created_at",
                "updated_at",
                "tags",
                "direct_url",
                "min_ram",
                "min_disk",
                "self",
                "file",
                "stores",
                "schema",
                "locations",
            ]
        );
        // Only base properties: no deployer ones such as kernel_id or os_distro.
        assert!(s["properties"].get("kernel_id").is_none());
    }

    #[test]
    fn image_enums() {
        let p = &image_schema(&ImageSchema::default())["properties"];
        assert_eq!(
            p["visibility"]["enum"],
            json!(["community", "public", "private", "shared"])
        );
        assert_eq!(
            p["status"]["enum"],
            json!([
                "queued",
                "saving",
                "active",
                "killed",
                "deleted",
                "uploading",
                "importing",
                "pending_delete",
                "deactivated"
            ])
        );
        assert_eq!(
            p["disk_format"]["enum"],
            json!([
                null, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop"
            ])
        );
        assert_eq!(
            p["container_format"]["enum"],
            json!([
                null,
                "ami",
                "ari",
                "aki",
                "bare",
                "ovf",
                "ova",
                "docker",
                "compressed"
            ])
        );
    }

    #[test]
    fn image_property_details() {
        let p = &image_schema(&ImageSchema::default())["properties"];
        // (property, type, readOnly, maxLength)
        let cases: &[(&str, Value, bool, Option<u64>)] = &[
            ("id", json!("string"), false, None),
            ("name", json!(["null", "string"]), false, Some(255)),
            ("status", json!("string"), true, None),
            ("visibility", json!("string"), false, None),
            ("protected", json!("boolean"), false, None),
            ("os_hidden", json!("boolean"), false, None),
            ("checksum", json!(["null", "string"]), true, Some(32)),
            ("os_hash_algo", json!(["null", "string"]), true, Some(64)),
            ("os_hash_value", json!(["null", "string"]), true, Some(128)),
            ("owner", json!(["null", "string"]), false, Some(255)),
            ("size", json!(["null", "integer"]), true, None),
            ("virtual_size", json!(["null", "integer"]), true, None),
            ("container_format", json!(["null", "string"]), false, None),
            ("disk_format", json!(["null", "string"]), false, None),
            ("created_at", json!("string"), true, None),
            ("updated_at", json!("string"), true, None),
            ("tags", json!("array"), false, None),
            ("direct_url", json!("string"), true, None),
            ("min_ram", json!("integer"), false, None),
            ("min_disk", json!("integer"), false, None),
            ("self", json!("string"), true, None),
            ("file", json!("string"), true, None),
            ("stores", json!("string"), true, None),
            ("schema", json!("string"), true, None),
            ("locations", json!("array"), false, None),
        ];
        for (name, ty, read_only, max_len) in cases {
            let prop = &p[*name];
            assert_eq!(&prop["type"], ty, "{name}");
            assert_eq!(
                prop.get("readOnly") == Some(&json!(true)),
                *read_only,
                "{name}"
            );
            assert_eq!(prop["maxLength"].as_u64(), *max_len, "{name}");
            assert!(prop["description"].is_string(), "{name} has a description");
        }
        assert_eq!(p["id"]["pattern"], UUID_PATTERN);
        assert_eq!(
            p["tags"]["items"],
            json!({"type": "string", "maxLength": 255})
        );
        let loc = &p["locations"]["items"];
        assert_eq!(loc["required"], json!(["url", "metadata"]));
        assert_eq!(loc["properties"]["validation_data"]["writeOnly"], true);
        assert_eq!(
            loc["properties"]["validation_data"]["required"],
            json!(["os_hash_algo", "os_hash_value"])
        );
        assert_eq!(
            loc["properties"]["validation_data"]["properties"]["checksum"],
            json!({"type": "string", "minLength": 32, "maxLength": 32})
        );
    }

    #[test]
    fn images_collection() {
        let s = images_schema(&ImageSchema::default());
        assert_eq!(keys(&s), ["name", "properties", "links"]);
        assert_eq!(
            keys(&s["properties"]),
            ["images", "first", "next", "schema"]
        );
        assert_eq!(s["properties"]["images"]["type"], "array");
        assert_eq!(
            s["properties"]["images"]["items"],
            image_schema(&ImageSchema::default())
        );
        assert_eq!(s["properties"]["next"], json!({"type": "string"}));
        assert_eq!(
            s["links"],
            json!([
                {"rel": "first", "href": "{first}"},
                {"rel": "next", "href": "{next}"},
                {"rel": "describedby", "href": "{schema}"}
            ])
        );
    }

    #[test]
    fn member_minimal_form() {
        let s = member_schema();
        assert_eq!(keys(&s), ["name", "properties"]);
        assert!(s.get("links").is_none());
        assert!(s.get("additionalProperties").is_none());
        let p = &s["properties"];
        assert_eq!(
            keys(p),
            [
                "member_id",
                "image_id",
                "created_at",
                "updated_at",
                "status",
                "schema"
            ]
        );
        assert_eq!(
            p["status"]["enum"],
            json!(["pending", "accepted", "rejected"])
        );
        assert_eq!(p["image_id"]["pattern"], UUID_PATTERN);
        assert_eq!(p["schema"], json!({"readOnly": true, "type": "string"}));
        for name in [
            "member_id",
            "image_id",
            "created_at",
            "updated_at",
            "status",
        ] {
            assert_eq!(p[name]["type"], "string");
            assert!(p[name]["description"].is_string(), "{name}");
        }
    }

    #[test]
    fn members_collection() {
        let s = members_schema();
        assert_eq!(keys(&s), ["name", "properties", "links"]);
        assert_eq!(keys(&s["properties"]), ["members", "schema"]);
        assert_eq!(
            s["properties"]["members"],
            json!({"type": "array", "items": member_schema()})
        );
        assert_eq!(
            s["links"],
            json!([{"rel": "describedby", "href": "{schema}"}])
        );
    }
}
