//! Image PATCH (JSON-patch) as Glance does it, free of HTTP and SQL.
//!
//! Three steps mirror Glance's layering so that the same request fails with the
//! same error: [`media_type`] (the 415 check), [`parse`] (Glance's
//! `RequestDeserializer.update`: body shape, pointers, read-only/reserved names
//! and schema validation of every value, all before the image is looked up) and
//! [`apply`] (`ImagesController.update` plus the domain setters and quotas it
//! runs into). Error texts are Glance's, including jsonschema's multi-line
//! validation report, because clients show them to people.
//!
//! Policy is not evaluated here: the service layer checks `modify_image` and the
//! visibility rules (`publicize_image`, `communitize_image`) by comparing the old
//! and new image. `updated_at` is the service layer's too.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::domain::image::{
    is_reserved, Image, ImageStatus, Visibility, CONTAINER_FORMATS, DISK_FORMATS, READ_ONLY,
};
use crate::error::{Error, Msg, Result};

/// The draft-4 style media type (`{"replace": "/name", "value": ..}`); tempest uses it.
pub const MEDIA_TYPE_V2_0: &str = "application/openstack-images-v2.0-json-patch";
/// The RFC 6902 style media type (`{"op": "replace", "path": ..}`); SDKs use it.
pub const MEDIA_TYPE_V2_1: &str = "application/openstack-images-v2.1-json-patch";
/// Value of the `Accept-Patch` header the HTTP layer adds to a 415 (Glance sorts and joins).
pub const ACCEPT_PATCH: &str =
    "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch";

/// Which JSON-patch dialect the request speaks; it changes parsing and the meaning of `add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchMediaType {
    /// `application/openstack-images-v2.0-json-patch`: `add` of an existing key is a conflict.
    V2_0,
    /// `application/openstack-images-v2.1-json-patch`: `add` creates or overwrites.
    V2_1,
}

/// Picks the dialect from the request `Content-Type`.
///
/// Like WebOb's `request.content_type`, everything from the first `;` is dropped and
/// the rest is compared byte for byte (no case folding, no trimming), so
/// `Application/...` or `type ;charset=utf-8` are refused as Glance refuses them.
/// The HTTP layer renders the 415 with WebOb's template (which quotes the raw
/// `Content-Type`) and adds `Accept-Patch: ACCEPT_PATCH`.
pub fn media_type(content_type: Option<&str>) -> Result<PatchMediaType> {
    let raw = content_type.unwrap_or("");
    let base = raw.split_once(';').map_or(raw, |(base, _)| base);
    match base {
        MEDIA_TYPE_V2_0 => Ok(PatchMediaType::V2_0),
        MEDIA_TYPE_V2_1 => Ok(PatchMediaType::V2_1),
        _ => Err(Error::UnsupportedMediaType(Msg::Detail(format!(
            "Image PATCH expects Content-Type one of: {ACCEPT_PATCH}"
        )))),
    }
}

/// A JSON-patch operation Glance supports (no move/copy/test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
}

impl Op {
    /// Glance's `_supported_operations` order; it decides draft-4 key lookup and messages.
    const ALL: [Op; 3] = [Op::Add, Op::Remove, Op::Replace];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Remove => "remove",
            Op::Replace => "replace",
        }
    }

    fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

/// One validated change.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    /// Decoded pointer segments: one, or two for `/locations/<n|->` add/remove.
    pub path: Vec<String>,
    /// Present for `add` and `replace` (possibly JSON `null`), absent for `remove`.
    pub value: Option<Value>,
}

impl Operation {
    /// The attribute or property the change is about.
    pub fn root(&self) -> &str {
        self.path.first().map_or("", String::as_str)
    }
}

/// Glance's limits on one image (`image_property_quota`, `image_tag_quota`); negative = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchLimits {
    pub property_quota: i64,
    pub tag_quota: i64,
}

impl Default for PatchLimits {
    fn default() -> Self {
        PatchLimits {
            property_quota: 128,
            tag_quota: 128,
        }
    }
}

/// Glance's `RequestDeserializer.update` on an already JSON-decoded body.
///
/// Elements are checked one after the other and every check of one element runs
/// before the next element is looked at, so the first bad element decides the
/// error, whether it is a 400 (shape, pointer, schema) or a 403 (read-only or
/// reserved name). Call it before loading the image: Glance rejects a bad body
/// before it answers 404.
pub fn parse(body: &Value, mt: PatchMediaType) -> Result<Vec<Operation>> {
    let Some(items) = body.as_array() else {
        return Err(Error::bad_request(
            "Request body must be a JSON array of operation objects.",
        ));
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let Some(raw) = item.as_object() else {
            return Err(Error::bad_request("Operations must be JSON objects."));
        };
        let (op, pointer) = match mt {
            PatchMediaType::V2_1 => (operation_d10(raw)?, pointer_d10(raw)?),
            PatchMediaType::V2_0 => {
                let op = operation_d4(raw)?;
                (op, raw.get(op.as_str()).unwrap_or(&Value::Null))
            }
        };
        let path = decode_pointer(pointer)?;
        validate_depth(op, &path)?;
        let value = match op {
            Op::Remove => None,
            Op::Add | Op::Replace => Some(raw.get("value").cloned().ok_or_else(|| {
                Error::bad_request(format!(
                    "Operation \"{}\" requires a member named \"value\".",
                    op.as_str()
                ))
            })?),
        };
        let operation = Operation { op, path, value };
        validate_change(&operation)?;
        ops.push(operation);
    }
    Ok(ops)
}

fn supported_list() -> String {
    Op::ALL.map(Op::as_str).join(", ")
}

fn operation_d10(raw: &Map<String, Value>) -> Result<Op> {
    match raw.get("op") {
        None | Some(Value::Null) => Err(Error::bad_request(format!(
            "Unable to find `op` in JSON Schema change. It must be one of the following: {}.",
            supported_list()
        ))),
        Some(op) => op.as_str().and_then(Op::from_name).ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid operation: `{}`. It must be one of the following: {}.",
                py_str(op),
                supported_list()
            ))
        }),
    }
}

fn pointer_d10(raw: &Map<String, Value>) -> Result<&Value> {
    raw.get("path")
        .ok_or_else(|| Error::bad_request("Unable to find 'path' in JSON Schema change"))
}

fn operation_d4(raw: &Map<String, Value>) -> Result<Op> {
    let mut found = None;
    for op in Op::ALL {
        if raw.contains_key(op.as_str()) {
            if found.is_some() {
                return Err(Error::bad_request(
                    "Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".",
                ));
            }
            found = Some(op);
        }
    }
    found.ok_or_else(|| {
        Error::bad_request(
            "Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".",
        )
    })
}

/// Glance's `_validate_json_pointer` + `_decode_json_pointer`.
///
/// Glance crashes (500) on a pointer that is not a string; glint answers the
/// "does not start with" 400 instead, quoting the value as Python would print it.
fn decode_pointer(pointer: &Value) -> Result<Vec<String>> {
    let Some(p) = pointer.as_str() else {
        return Err(pointer_error(
            &py_str(pointer),
            "does not start with \"/\".",
        ));
    };
    let Some(rest) = p.strip_prefix('/') else {
        return Err(pointer_error(p, "does not start with \"/\"."));
    };
    if has_adjacent_slashes(rest) {
        return Err(pointer_error(p, "contains adjacent \"/\"."));
    }
    if p.len() > 1 && p.ends_with('/') {
        return Err(pointer_error(p, "end with \"/\"."));
    }
    if py_strip(rest) == "/" {
        return Err(pointer_error(p, "does not contains valid token."));
    }
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.peek(), Some('0' | '1')) {
            return Err(pointer_error(
                p,
                "contains \"~\" not part of a recognized escape sequence.",
            ));
        }
    }
    Ok(p.trim_start_matches('/')
        .split('/')
        .map(|part| py_strip(&part.replace("~1", "/").replace("~0", "~")).to_owned())
        .collect())
}

fn pointer_error(pointer: &str, what: &str) -> Error {
    Error::bad_request(format!("Pointer `{pointer}` {what}"))
}

/// Python's `re.search(r'/\s*?/', s)`: two slashes with only whitespace between.
fn has_adjacent_slashes(s: &str) -> bool {
    let mut after_slash = false;
    for c in s.chars() {
        if c == '/' {
            if after_slash {
                return true;
            }
            after_slash = true;
        } else if !py_space(c) {
            after_slash = false;
        }
    }
    false
}

/// Glance's `_path_depth_limits`: only locations may be addressed one level down.
fn validate_depth(op: Op, path: &[String]) -> Result<()> {
    let allowed = match (path.first().map(String::as_str), op) {
        (Some("locations"), Op::Add | Op::Remove) => 2,
        _ => 1,
    };
    if path.len() == allowed {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "Invalid JSON pointer for this resource: '/{}'",
            path.join("/")
        )))
    }
}

/// Glance's `_validate_change`: name checks for every op, then the image schema
/// on the value for add/replace.
/// Glance's create deserializer: the whole body against the schema (400) first,
/// then read-only and reserved names (403), then custom-property name length.
pub fn validate_create_body(body: &Map<String, Value>) -> Result<()> {
    validate_image_object(&Value::Object(body.clone()))?;
    for key in body.keys() {
        if key != "id" && READ_ONLY.contains(&key.as_str()) {
            return Err(Error::forbidden(format!("Attribute '{key}' is read-only.")));
        }
        if is_reserved(key) {
            return Err(Error::forbidden(format!("Attribute '{key}' is reserved.")));
        }
    }
    if body.keys().any(|k| k.chars().count() > 255) {
        return Err(Error::bad_request(
            "Custom property should not be greater than 255 characters.",
        ));
    }
    Ok(())
}

fn validate_change(change: &Operation) -> Result<()> {
    let root = change.root();
    if READ_ONLY.contains(&root) {
        return Err(Error::forbidden(format!(
            "Attribute '{root}' is read-only."
        )));
    }
    if is_reserved(root) {
        return Err(Error::forbidden(format!("Attribute '{root}' is reserved.")));
    }
    let Some(value) = &change.value else {
        return Ok(());
    };
    let partial = if change.path.len() == 1 {
        value.clone()
    } else if is_array_property(root) {
        Value::Array(vec![value.clone()])
    } else {
        return Ok(());
    };
    let mut object = Map::new();
    object.insert(root.to_owned(), partial);
    validate_image_object(&Value::Object(object))
}

fn is_array_property(name: &str) -> bool {
    image_schema()["properties"][name]["type"] == "array"
}

/// Writable attributes of Glance's image object (`hasattr(image, name)` is true):
/// they can be replaced but never removed, and under v2.0 never added.
const BASE_ATTRIBUTES: &[&str] = &[
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "container_format",
    "disk_format",
    "tags",
    "min_ram",
    "min_disk",
    "locations",
];

fn is_base(name: &str) -> bool {
    BASE_ATTRIBUTES.contains(&name) || READ_ONLY.contains(&name)
}

/// Glance's `ImagesController.update`: applies the changes in order to a copy of
/// the image and runs the property quota as `ImageRepo.save` would.
///
/// `is_admin` is the caller's `context.is_admin` (owner changes, location removal).
/// Locations are never shown by glint (`show_multiple_locations = False`), so every
/// location change ends in Glance's 403 for that setting.
pub fn apply(
    image: &Image,
    ops: &[Operation],
    mt: PatchMediaType,
    is_admin: bool,
    limits: &PatchLimits,
) -> Result<Image> {
    let mut new = image.clone();
    for change in ops {
        match change.op {
            Op::Replace => do_replace(&mut new, change, is_admin, limits)?,
            Op::Add => do_add(&mut new, change, mt, is_admin, limits)?,
            Op::Remove => do_remove(&mut new, change, is_admin)?,
        }
    }
    let added = new
        .properties
        .keys()
        .any(|k| !image.properties.contains_key(k));
    if added {
        enforce_property_quota(&new, limits)?;
    }
    Ok(new)
}

fn change_value(change: &Operation) -> Result<&Value> {
    change.value.as_ref().ok_or_else(|| {
        Error::bad_request(format!(
            "Operation \"{}\" requires a member named \"value\".",
            change.op.as_str()
        ))
    })
}

fn do_replace(
    img: &mut Image,
    change: &Operation,
    is_admin: bool,
    limits: &PatchLimits,
) -> Result<()> {
    let root = change.root();
    let value = change_value(change)?;
    if root == "locations" {
        if value.as_array().is_some_and(Vec::is_empty) {
            return Err(Error::Forbidden(Msg::Detail(
                "Cannot set locations to empty list.".into(),
            )));
        }
        return Err(Error::forbidden(
            "It's not allowed to update locations if locations are invisible.",
        ));
    }
    if root == "owner" && !is_admin {
        return Err(owner_not_admin());
    }
    if is_base(root) {
        set_base(img, root, value, limits)
    } else if img.properties.contains_key(root) {
        let text = property_value(root, value)?;
        img.properties.insert(root.to_owned(), text);
        Ok(())
    } else {
        Err(does_not_exist(root))
    }
}

fn do_add(
    img: &mut Image,
    change: &Operation,
    mt: PatchMediaType,
    is_admin: bool,
    limits: &PatchLimits,
) -> Result<()> {
    let root = change.root();
    let value = change_value(change)?;
    if root == "locations" {
        return Err(Error::forbidden(
            "It's not allowed to add locations if locations are invisible.",
        ));
    }
    let base = is_base(root);
    if mt == PatchMediaType::V2_0 && (base || img.properties.contains_key(root)) {
        return Err(Error::Conflict(Msg::Detail(format!(
            "Property {root} already present."
        ))));
    }
    // Glance lets `add /owner` (v2.1) through for anyone who may modify the image,
    // which would let a project plant an image in another project's name. glint
    // applies the `replace` rule, except for a no-op that repeats the current owner.
    if root == "owner" && !is_admin && value.as_str() != img.owner.as_deref() {
        return Err(owner_not_admin());
    }
    if base {
        return set_base(img, root, value, limits);
    }
    if root.chars().count() > 255 {
        return Err(Error::bad_request(
            "Custom property should not be greater than 255 characters.",
        ));
    }
    let text = property_value(root, value)?;
    img.properties.insert(root.to_owned(), text);
    Ok(())
}

fn do_remove(img: &mut Image, change: &Operation, is_admin: bool) -> Result<()> {
    let root = change.root();
    if root == "locations" {
        if !is_admin {
            return Err(Error::policy("delete_image_location"));
        }
        return Err(Error::forbidden(
            "It's not allowed to remove locations if locations are invisible.",
        ));
    }
    if is_base(root) {
        return Err(Error::Forbidden(Msg::Detail(format!(
            "Property {root} may not be removed."
        ))));
    }
    if img.properties.remove(root).is_none() {
        return Err(does_not_exist(root));
    }
    Ok(())
}

fn owner_not_admin() -> Error {
    Error::Forbidden(Msg::Detail("Owner can't be updated by non admin.".into()))
}

fn does_not_exist(root: &str) -> Error {
    Error::Conflict(Msg::Detail(format!("Property {root} does not exist.")))
}

/// The schema's message for `{name: value}`; used when a value that skipped
/// [`parse`] has the wrong type.
fn schema_error(name: &str, value: &Value) -> Error {
    let mut object = Map::new();
    object.insert(name.to_owned(), value.clone());
    validate_image_object(&Value::Object(object))
        .err()
        .unwrap_or_else(|| Error::bad_request(format!("Invalid value for '{name}'")))
}

fn property_value(name: &str, value: &Value) -> Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| schema_error(name, value))
}

fn optional_string(name: &str, value: &Value) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(schema_error(name, value)),
    }
}

/// Sets a base attribute with the checks of Glance's domain setters.
fn set_base(img: &mut Image, name: &str, value: &Value, limits: &PatchLimits) -> Result<()> {
    // Values reaching here passed the schema in `parse`; re-check cheaply so that
    // hand-built operations cannot store something Glance would refuse.
    validate_partial(name, value)?;
    match name {
        "name" => img.name = optional_string(name, value)?,
        "owner" => img.owner = optional_string(name, value)?,
        "visibility" => {
            img.visibility = value
                .as_str()
                .and_then(|s| s.parse::<Visibility>().ok())
                .ok_or_else(|| schema_error(name, value))?;
        }
        "protected" => img.protected = value.as_bool().ok_or_else(|| schema_error(name, value))?,
        "os_hidden" => img.os_hidden = value.as_bool().ok_or_else(|| schema_error(name, value))?,
        "container_format" | "disk_format" => {
            if !matches!(img.status, ImageStatus::Queued | ImageStatus::Importing) {
                return Err(Error::forbidden(format!(
                    "Attribute {name} can be only replaced for a queued image."
                )));
            }
            let format = optional_string(name, value)?;
            if name == "disk_format" {
                img.disk_format = format;
            } else {
                img.container_format = format;
            }
        }
        "min_ram" => img.min_ram = minimum(name, value)?,
        "min_disk" => img.min_disk = minimum(name, value)?,
        "tags" => img.tags = tags(value, limits)?,
        _ => {
            return Err(Error::forbidden(format!(
                "Attribute '{name}' is read-only."
            )))
        }
    }
    Ok(())
}

fn validate_partial(name: &str, value: &Value) -> Result<()> {
    let mut object = Map::new();
    object.insert(name.to_owned(), value.clone());
    validate_image_object(&Value::Object(object))
}

/// `min_ram`/`min_disk`: the schema admits any integer (`2.0` too); Glance's setter
/// refuses negatives, and glint's column is 32-bit, so larger values are refused too
/// (Glance would fail in the database).
fn minimum(name: &str, value: &Value) -> Result<i32> {
    let invalid = |extra: String| {
        Error::bad_request(format!(
            "Invalid value '{}' for parameter '{name}': {extra}",
            py_str(value)
        ))
    };
    let number = match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.is_finite())
                    // Saturating float-to-int: anything this large is out of range anyway.
                    .map(|f| f as i128)
            }),
        _ => None,
    };
    let Some(number) = number else {
        return Err(schema_error(name, value));
    };
    if number < 0 {
        return Err(invalid("Cannot be a negative value".into()));
    }
    i32::try_from(number).map_err(|_| invalid(format!("Cannot be greater than {}", i32::MAX)))
}

/// Glance's quota proxy counts the list as sent (duplicates included) before the
/// domain turns it into a set.
fn tags(value: &Value, limits: &PatchLimits) -> Result<BTreeSet<String>> {
    let Some(items) = value.as_array() else {
        return Err(schema_error("tags", value));
    };
    let attempted = i64::try_from(items.len()).unwrap_or(i64::MAX);
    if limits.tag_quota >= 0 && !items.is_empty() && attempted > limits.tag_quota {
        return Err(Error::too_large(format!(
            "The limit has been exceeded on the number of allowed image tags. Attempted: {attempted}, Maximum: {}",
            limits.tag_quota
        )));
    }
    items
        .iter()
        .map(|tag| {
            tag.as_str()
                .map(str::to_owned)
                .ok_or_else(|| schema_error("tags", value))
        })
        .collect()
}

/// Glance's `ImageRepoProxy._enforce_image_property_quota`: `os_glance*` keys are free.
fn enforce_property_quota(img: &Image, limits: &PatchLimits) -> Result<()> {
    if limits.property_quota < 0 {
        return Ok(());
    }
    let count = img
        .properties
        .keys()
        .filter(|k| !k.starts_with("os_glance"))
        .count();
    let attempted = i64::try_from(count).unwrap_or(i64::MAX);
    if attempted > limits.property_quota {
        return Err(Error::too_large(format!(
            "The limit has been exceeded on the number of allowed image properties. Attempted: {attempted}, Maximum: {}",
            limits.property_quota
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The image schema and a jsonschema-compatible validator for it.
// ---------------------------------------------------------------------------

/// Glance's image schema (`get_base_properties` under a `PermissiveSchema`), in
/// Glance's key order: jsonschema prints these sub-schemas in its messages.
pub fn image_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(build_image_schema)
}

fn build_image_schema() -> Value {
    let mut containers = vec![Value::Null];
    containers.extend(CONTAINER_FORMATS.iter().map(|f| json!(f)));
    let mut disks = vec![Value::Null];
    disks.extend(DISK_FORMATS.iter().map(|f| json!(f)));
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

const UUID_PATTERN: &str =
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

/// Validates an image-shaped object against [`image_schema`] the way Glance's
/// `Schema.validate` does (jsonschema's `best_match`), answering 400
/// `Provided object does not match schema 'image': <jsonschema report>`.
/// Usable for create bodies as well as PATCH values.
pub fn validate_image_object(instance: &Value) -> Result<()> {
    match best_failure(image_schema(), instance) {
        None => Ok(()),
        Some(failure) => Err(Error::bad_request(format!(
            "Provided object does not match schema 'image': {}",
            failure.report()
        ))),
    }
}

/// Validates `instance` against any schema without `$ref`s (inline them first) the
/// way Glance's `Schema.validate` does, answering
/// `Provided object does not match schema '<name>': <jsonschema report>`.
pub fn validate_against(name: &str, schema: &Value, instance: &Value) -> Result<()> {
    match best_failure(schema, instance) {
        None => Ok(()),
        Some(failure) => Err(Error::bad_request(format!(
            "Provided object does not match schema '{name}': {}",
            failure.report()
        ))),
    }
}

/// One step in an instance or schema path (jsonschema's deque items).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Index(usize),
    Key(String),
}

impl Seg {
    fn key(s: &str) -> Seg {
        Seg::Key(s.to_owned())
    }

    fn repr(&self) -> String {
        match self {
            Seg::Index(i) => i.to_string(),
            Seg::Key(k) => py_str_repr(k),
        }
    }
}

/// A jsonschema `ValidationError`, with what its `__str__` prints.
struct Failure<'a> {
    message: String,
    keyword: &'a str,
    path: Vec<Seg>,
    schema_path: Vec<Seg>,
    schema: &'a Value,
    instance: &'a Value,
}

impl Failure<'_> {
    /// jsonschema's `_matches_type`, part of its relevance key.
    fn matches_type(&self) -> bool {
        self.schema
            .get("type")
            .is_some_and(|t| type_matches(self.instance, t))
    }

    /// jsonschema's `by_relevance()` key compared for two errors.
    fn relevance_cmp(&self, other: &Failure<'_>) -> Ordering {
        other
            .path
            .len()
            .cmp(&self.path.len())
            .then_with(|| self.path.cmp(&other.path))
            .then_with(|| (!self.matches_type()).cmp(&!other.matches_type()))
    }

    /// `str(ValidationError)`: message, failing keyword and sub-schema, instance.
    fn report(&self) -> String {
        let schema_at = &self.schema_path[..self.schema_path.len().saturating_sub(1)];
        format!(
            "{}\n\nFailed validating {} in {}:\n    {}\n\nOn {}:\n    {}",
            self.message,
            py_str_repr(self.keyword),
            format_index("schema", schema_at),
            pformat(self.schema).replace('\n', "\n    "),
            format_index("instance", &self.path),
            pformat(self.instance).replace('\n', "\n    "),
        )
    }
}

fn format_index(container: &str, segs: &[Seg]) -> String {
    let mut out = container.to_owned();
    for seg in segs {
        out.push('[');
        out.push_str(&seg.repr());
        out.push(']');
    }
    out
}

/// jsonschema's `best_match` over every error: the maximum relevance, first one on ties.
fn best_failure<'a>(schema: &'a Value, instance: &'a Value) -> Option<Failure<'a>> {
    let mut failures = Vec::new();
    collect_failures(
        schema,
        instance,
        &mut Vec::new(),
        &mut Vec::new(),
        &mut failures,
    );
    let mut best: Option<Failure<'a>> = None;
    for failure in failures {
        let better = best
            .as_ref()
            .is_none_or(|b| failure.relevance_cmp(b) == Ordering::Greater);
        if better {
            best = Some(failure);
        }
    }
    best
}

/// Walks the keywords in schema order, as jsonschema's `iter_errors` does.
fn collect_failures<'a>(
    schema: &'a Value,
    instance: &'a Value,
    path: &mut Vec<Seg>,
    schema_path: &mut Vec<Seg>,
    out: &mut Vec<Failure<'a>>,
) {
    let Some(keywords) = schema.as_object() else {
        return;
    };
    for (keyword, arg) in keywords {
        let mut fail = |message: String| {
            let mut at = schema_path.clone();
            at.push(Seg::key(keyword));
            out.push(Failure {
                message,
                keyword,
                path: path.clone(),
                schema_path: at,
                schema,
                instance,
            });
        };
        match keyword.as_str() {
            "type" if !type_matches(instance, arg) => {
                let names = match arg {
                    Value::Array(list) => list.iter().map(py_repr).collect::<Vec<_>>(),
                    other => vec![py_repr(other)],
                };
                fail(format!(
                    "{} is not of type {}",
                    py_repr(instance),
                    names.join(", ")
                ));
            }
            "enum" => {
                let allowed = arg.as_array().map(Vec::as_slice).unwrap_or_default();
                if !allowed.iter().any(|a| json_equal(a, instance)) {
                    fail(format!(
                        "{} is not one of {}",
                        py_repr(instance),
                        py_repr(arg)
                    ));
                }
            }
            "maxLength" => {
                if let (Some(s), Some(max)) = (instance.as_str(), arg.as_u64()) {
                    if s.chars().count() as u64 > max {
                        let what = if max == 0 {
                            "is expected to be empty"
                        } else {
                            "is too long"
                        };
                        fail(format!("{} {what}", py_repr(instance)));
                    }
                }
            }
            "minLength" => {
                if let (Some(s), Some(min)) = (instance.as_str(), arg.as_u64()) {
                    if (s.chars().count() as u64) < min {
                        let what = if min == 1 {
                            "should be non-empty"
                        } else {
                            "is too short"
                        };
                        fail(format!("{} {what}", py_repr(instance)));
                    }
                }
            }
            "pattern" => {
                if let (Some(s), Some(pattern)) = (instance.as_str(), arg.as_str()) {
                    if pattern == UUID_PATTERN && !uuid_pattern_matches(s) {
                        fail(format!(
                            "{} does not match {}",
                            py_repr(instance),
                            py_repr(arg)
                        ));
                    }
                }
            }
            "required" => {
                if let (Some(object), Some(names)) = (instance.as_object(), arg.as_array()) {
                    for name in names.iter().filter_map(Value::as_str) {
                        if !object.contains_key(name) {
                            fail(format!("{} is a required property", py_str_repr(name)));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(object), Some(props)) = (instance.as_object(), arg.as_object()) {
                    for (name, sub) in props {
                        if let Some(value) = object.get(name) {
                            path.push(Seg::key(name));
                            schema_path.push(Seg::key("properties"));
                            schema_path.push(Seg::key(name));
                            collect_failures(sub, value, path, schema_path, out);
                            schema_path.truncate(schema_path.len() - 2);
                            path.pop();
                        }
                    }
                }
            }
            "additionalProperties" => {
                let Some(object) = instance.as_object() else {
                    continue;
                };
                let declared = keywords.get("properties").and_then(Value::as_object);
                let mut extras: Vec<&String> = object
                    .keys()
                    .filter(|k| !declared.is_some_and(|d| d.contains_key(k.as_str())))
                    .collect();
                if arg.is_object() {
                    for name in extras {
                        if let Some(value) = object.get(name) {
                            path.push(Seg::key(name));
                            schema_path.push(Seg::key("additionalProperties"));
                            collect_failures(arg, value, path, schema_path, out);
                            schema_path.pop();
                            path.pop();
                        }
                    }
                } else if arg == &Value::Bool(false) && !extras.is_empty() {
                    extras.sort();
                    let verb = if extras.len() == 1 { "was" } else { "were" };
                    let names: Vec<String> = extras.iter().map(|k| py_str_repr(k)).collect();
                    fail(format!(
                        "Additional properties are not allowed ({} {verb} unexpected)",
                        names.join(", ")
                    ));
                }
            }
            "minimum" => {
                if let (Some(x), Some(min)) = (number(instance), arg.as_f64()) {
                    if x < min {
                        fail(format!(
                            "{} is less than the minimum of {}",
                            py_repr(instance),
                            py_repr(arg)
                        ));
                    }
                }
            }
            "minItems" => {
                if let (Some(list), Some(min)) = (instance.as_array(), arg.as_u64()) {
                    if (list.len() as u64) < min {
                        let what = if min == 1 {
                            "should be non-empty"
                        } else {
                            "is too short"
                        };
                        fail(format!("{} {what}", py_repr(instance)));
                    }
                }
            }
            "uniqueItems" if arg == &Value::Bool(true) => {
                if let Some(list) = instance.as_array() {
                    // One canonical key per item (equal keys exactly when `json_equal`),
                    // so a long list costs linear time, not a comparison of every pair.
                    let mut seen = std::collections::HashSet::with_capacity(list.len());
                    let repeated = !list.iter().all(|item| seen.insert(canonical_key(item)));
                    if repeated {
                        fail(format!("{} has non-unique elements", py_repr(instance)));
                    }
                }
            }
            "allOf" => {
                for (index, sub) in arg
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    schema_path.push(Seg::key("allOf"));
                    schema_path.push(Seg::Index(index));
                    collect_failures(sub, instance, path, schema_path, out);
                    schema_path.truncate(schema_path.len() - 2);
                }
            }
            "items" => {
                if let Some(list) = instance.as_array() {
                    for (index, item) in list.iter().enumerate() {
                        path.push(Seg::Index(index));
                        schema_path.push(Seg::key("items"));
                        collect_failures(arg, item, path, schema_path, out);
                        schema_path.pop();
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

/// A JSON number (booleans are not numbers for jsonschema).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// JSON Schema type test with jsonschema's draft 6+ rules (`2.0` is an integer, `true` is not).
fn type_matches(instance: &Value, types: &Value) -> bool {
    let one = |name: &Value| match name.as_str() {
        Some("null") => instance.is_null(),
        Some("string") => instance.is_string(),
        Some("boolean") => instance.is_boolean(),
        Some("object") => instance.is_object(),
        Some("array") => instance.is_array(),
        Some("number") => instance.is_number(),
        Some("integer") => match instance {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        _ => false,
    };
    match types {
        Value::Array(list) => list.iter().any(one),
        other => one(other),
    }
}

/// jsonschema's `equal`: numbers by value (`1 == 1.0`), booleans never equal numbers.
/// A text that two values share exactly when [`json_equal`] holds between them: numbers by
/// their `f64` value, object members in key order.
fn canonical_key(v: &Value) -> String {
    fn put(v: &Value, out: &mut String) {
        match v {
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // -0.0 == 0.0 for json_equal.
                let f = if f == 0.0 { 0.0 } else { f };
                out.push_str(&format!("n{f:?}"));
            }
            Value::Array(items) => {
                out.push('[');
                for i in items {
                    put(i, out);
                    out.push(',');
                }
                out.push(']');
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    put(&map[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    put(v, &mut out);
    out
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Python's `re.search` of the id pattern: `$` also matches before a final newline.
fn uuid_pattern_matches(s: &str) -> bool {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

// ---------------------------------------------------------------------------
// Python's str/repr and pprint.pformat(width=72, sort_dicts=False) for JSON values.
// ---------------------------------------------------------------------------

/// Python's `str()` of a decoded JSON value (strings unquoted).
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a decoded JSON value.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                py_float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => py_str_repr(s),
        Value::Array(list) => {
            let parts: Vec<String> = list.iter().map(py_repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent outside 1e-4..1e16.
fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let whole = exp.unsigned_abs() as usize + 1;
            if digits.len() > whole {
                format!("{}.{}", &digits[..whole], &digits[whole..])
            } else {
                format!("{digits}{}.0", "0".repeat(whole - digits.len()))
            }
        } else {
            let zeros = exp.unsigned_abs() as usize - 1;
            format!("0.{}{digits}", "0".repeat(zeros))
        }
    } else {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// Python's `repr(str)`: single quotes unless only single quotes occur, escapes for
/// the non-printable characters.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !py_printable(c) => {
                let code = u32::from(c);
                if code < 0x100 {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code < 0x10000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable` without Unicode tables: control,
/// format, separator (except space), private-use and non-characters are escaped.
fn py_printable(c: char) -> bool {
    let code = u32::from(c);
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_or_separator = matches!(
        code,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_use = matches!(code, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD);
    let non_character = matches!(code, 0xFDD0..=0xFDEF) || (code & 0xFFFE) == 0xFFFE;
    !(format_or_separator || private_use || non_character)
}

/// Python's `str.isspace` (also `\s` and `strip()`): Unicode White_Space plus `\x1c`-`\x1f`.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// Python's `str.splitlines(keepends=True)`.
fn py_splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let breaks = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if breaks {
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some((j, '\n')) = iter.peek().copied() {
                    end = j + 1;
                    iter.next();
                }
            }
            lines.push(&s[start..end]);
            start = end;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// Python's `re.findall(r'\S*\s*', line)` minus its trailing empty match.
fn py_word_parts(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut seen_space = false;
    for (i, c) in line.char_indices() {
        if py_space(c) {
            seen_space = true;
        } else if seen_space {
            parts.push(&line[start..i]);
            start = i;
            seen_space = false;
        }
    }
    if start < line.len() {
        parts.push(&line[start..]);
    }
    parts
}

const PPRINT_WIDTH: i64 = 72;

fn char_len(s: &str) -> i64 {
    i64::try_from(s.chars().count()).unwrap_or(i64::MAX)
}

/// `pprint.pformat(v, width=72, sort_dicts=False)`, as jsonschema prints errors.
fn pformat(v: &Value) -> String {
    let mut out = String::new();
    pp_format(v, &mut out, 0, 0, 0);
    out
}

fn pp_format(v: &Value, out: &mut String, indent: i64, allowance: i64, level: usize) {
    let rep = py_repr(v);
    if char_len(&rep) > PPRINT_WIDTH - indent - allowance {
        match v {
            Value::Object(map) => return pp_dict(map, out, indent, allowance, level + 1),
            Value::Array(list) => return pp_list(list, out, indent, allowance, level + 1),
            Value::String(s) => return pp_str(s, out, indent, allowance, level + 1),
            _ => {}
        }
    }
    out.push_str(&rep);
}

fn newline_indent(indent: i64) -> String {
    format!(",\n{}", " ".repeat(usize::try_from(indent).unwrap_or(0)))
}

fn pp_dict(map: &Map<String, Value>, out: &mut String, indent: i64, allowance: i64, level: usize) {
    out.push('{');
    let indent = indent + 1;
    let allowance = allowance + 1;
    let last = map.len().saturating_sub(1);
    for (i, (key, value)) in map.iter().enumerate() {
        let rep = py_str_repr(key);
        out.push_str(&rep);
        out.push_str(": ");
        let room = if i == last { allowance } else { 1 };
        pp_format(value, out, indent + char_len(&rep) + 2, room, level);
        if i != last {
            out.push_str(&newline_indent(indent));
        }
    }
    out.push('}');
}

fn pp_list(list: &[Value], out: &mut String, indent: i64, allowance: i64, level: usize) {
    out.push('[');
    let indent = indent + 1;
    let allowance = allowance + 1;
    let last = list.len().saturating_sub(1);
    for (i, value) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(&newline_indent(indent));
        }
        let room = if i == last { allowance } else { 1 };
        pp_format(value, out, indent, room, level);
    }
    out.push(']');
}

fn pp_str(s: &str, out: &mut String, indent: i64, allowance: i64, level: usize) {
    let (indent, allowance) = if level == 1 {
        (indent + 1, allowance + 1)
    } else {
        (indent, allowance)
    };
    let lines = py_splitlines(s);
    let max_width = PPRINT_WIDTH - indent;
    let mut max_width1 = max_width;
    let mut chunks: Vec<String> = Vec::new();
    let mut rep = py_str_repr(s);
    for (i, line) in lines.iter().enumerate() {
        let last_line = i + 1 == lines.len();
        rep = py_str_repr(line);
        if last_line {
            max_width1 -= allowance;
        }
        if char_len(&rep) <= max_width1 {
            chunks.push(rep.clone());
            continue;
        }
        let parts = py_word_parts(line);
        let mut max_width2 = max_width;
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            if j + 1 == parts.len() && last_line {
                max_width2 -= allowance;
            }
            if char_len(&py_str_repr(&candidate)) > max_width2 {
                if !current.is_empty() {
                    chunks.push(py_str_repr(&current));
                }
                current = (*part).to_owned();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(py_str_repr(&current));
        }
    }
    if chunks.len() <= 1 {
        out.push_str(&rep);
        return;
    }
    if level == 1 {
        out.push('(');
    }
    let pad = " ".repeat(usize::try_from(indent).unwrap_or(0));
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(chunk);
    }
    if level == 1 {
        out.push(')');
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn unique_items_canonical_keys_agree_with_json_equal() {
        let values = [
            json!(1),
            json!(1.0),
            json!(-0.0),
            json!(0),
            json!("1"),
            json!(true),
            json!(null),
            json!([1, "a"]),
            json!([1.0, "a"]),
            json!({"a": 1, "b": [2]}),
            json!({"b": [2.0], "a": 1}),
            json!({"a": 1}),
            json!("a\",\""),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(
                    canonical_key(a) == canonical_key(b),
                    json_equal(a, b),
                    "{a} {b}"
                );
            }
        }
        // A long list of distinct strings is checked in linear time (comparing every pair
        // would be 2 * 10^10 comparisons); a repeat is still found.
        let schema = json!({"type": "array", "uniqueItems": true});
        let mut list: Vec<Value> = (0..200_000).map(|i| json!(format!("v{i}"))).collect();
        assert!(validate_against("x", &schema, &Value::Array(list.clone())).is_ok());
        list.push(json!("v7"));
        assert!(validate_against("x", &schema, &Value::Array(list)).is_err());
    }

    use super::*;
    use chrono::NaiveDate;

    const V20: PatchMediaType = PatchMediaType::V2_0;
    const V21: PatchMediaType = PatchMediaType::V2_1;
    const BOTH: [PatchMediaType; 2] = [V20, V21];

    fn image() -> Image {
        let now = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        let mut img = Image::new(
            "1bea47ed-f6a9-463b-b423-14b9cca9ad27".into(),
            Some("p1".into()),
            now,
        );
        img.properties.insert("foo".into(), "bar".into());
        img
    }

    /// One change in the dialect of `mt`; `value: None` leaves the member out.
    fn change(mt: PatchMediaType, op: &str, path: Value, value: Option<Value>) -> Value {
        let mut object = Map::new();
        match mt {
            V21 => {
                object.insert("op".into(), json!(op));
                object.insert("path".into(), path);
            }
            V20 => {
                object.insert(op.into(), path);
            }
        }
        if let Some(value) = value {
            object.insert("value".into(), value);
        }
        Value::Object(object)
    }

    type Change<'a> = (&'a str, &'a str, Option<Value>);

    fn body(mt: PatchMediaType, changes: &[Change<'_>]) -> Value {
        Value::Array(
            changes
                .iter()
                .map(|(op, path, value)| change(mt, op, json!(path), value.clone()))
                .collect(),
        )
    }

    fn patch_with(
        mt: PatchMediaType,
        img: &Image,
        changes: &[Change<'_>],
        is_admin: bool,
        limits: &PatchLimits,
    ) -> Result<Image> {
        let ops = parse(&body(mt, changes), mt)?;
        apply(img, &ops, mt, is_admin, limits)
    }

    fn patch(mt: PatchMediaType, img: &Image, changes: &[Change<'_>]) -> Result<Image> {
        patch_with(mt, img, changes, false, &PatchLimits::default())
    }

    fn bad(s: &str) -> Error {
        Error::bad_request(s)
    }

    fn conflict_detail(s: &str) -> Error {
        Error::Conflict(Msg::Detail(s.into()))
    }

    fn forbidden_detail(s: &str) -> Error {
        Error::Forbidden(Msg::Detail(s.into()))
    }

    fn error_text(e: &Error) -> String {
        match e {
            Error::BadRequest(Msg::Explanation(s)) => s.clone(),
            other => panic!("expected a 400 explanation, got {other:?}"),
        }
    }

    #[test]
    fn media_types() {
        let refused = Err(Error::UnsupportedMediaType(Msg::Detail(
            "Image PATCH expects Content-Type one of: application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch".into(),
        )));
        let cases = [
            (Some(MEDIA_TYPE_V2_0), Ok(V20)),
            (Some(MEDIA_TYPE_V2_1), Ok(V21)),
            (
                Some("application/openstack-images-v2.1-json-patch; charset=UTF-8"),
                Ok(V21),
            ),
            (
                Some("application/openstack-images-v2.0-json-patch;x"),
                Ok(V20),
            ),
            (
                Some("application/openstack-images-v2.1-json-patch ;charset=UTF-8"),
                refused.clone(),
            ),
            (
                Some("Application/openstack-images-v2.1-json-patch"),
                refused.clone(),
            ),
            (
                Some("application/OPENSTACK-images-v2.0-json-patch"),
                refused.clone(),
            ),
            (Some("application/json-patch+json"), refused.clone()),
            (Some("application/json"), refused.clone()),
            (Some(""), refused.clone()),
            (None, refused.clone()),
        ];
        for (ct, want) in cases {
            assert_eq!(media_type(ct), want, "{ct:?}");
        }
        assert_eq!(
            ACCEPT_PATCH,
            format!("{MEDIA_TYPE_V2_0}, {MEDIA_TYPE_V2_1}")
        );
    }

    #[test]
    fn body_must_be_an_array_of_objects() {
        for mt in BOTH {
            for b in [
                json!({}),
                json!("x"),
                json!(null),
                json!(1),
                json!({"op": "add"}),
            ] {
                assert_eq!(
                    parse(&b, mt),
                    Err(bad(
                        "Request body must be a JSON array of operation objects."
                    )),
                    "{b}"
                );
            }
            for b in [json!([1]), json!([[]]), json!(["add"]), json!([null])] {
                assert_eq!(
                    parse(&b, mt),
                    Err(bad("Operations must be JSON objects.")),
                    "{b}"
                );
            }
            assert_eq!(parse(&json!([]), mt), Ok(vec![]));
        }
    }

    #[test]
    fn v2_1_operation_members() {
        let missing = "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.";
        let invalid = |op: &str| {
            bad(&format!(
                "Invalid operation: `{op}`. It must be one of the following: add, remove, replace."
            ))
        };
        let cases = [
            (json!({"path": "/name", "value": "x"}), bad(missing)),
            (
                json!({"op": null, "path": "/name", "value": "x"}),
                bad(missing),
            ),
            (json!({"replace": "/name", "value": "x"}), bad(missing)),
            (
                json!({"op": "move", "path": "/name", "from": "/x"}),
                invalid("move"),
            ),
            (
                json!({"op": "test", "path": "/name", "value": "x"}),
                invalid("test"),
            ),
            (
                json!({"op": "ADD", "path": "/name", "value": "x"}),
                invalid("ADD"),
            ),
            (
                json!({"op": 5, "path": "/name", "value": "x"}),
                invalid("5"),
            ),
            (
                json!({"op": true, "path": "/name", "value": "x"}),
                invalid("True"),
            ),
            (json!({"op": ["add"], "path": "/name"}), invalid("['add']")),
            (
                json!({"op": {"a": 1.5}, "path": "/name"}),
                invalid("{'a': 1.5}"),
            ),
            (
                json!({"op": "add", "value": "x"}),
                bad("Unable to find 'path' in JSON Schema change"),
            ),
            (
                json!({"op": "replace", "path": "/name"}),
                bad("Operation \"replace\" requires a member named \"value\"."),
            ),
            (
                json!({"op": "add", "path": "/foo"}),
                bad("Operation \"add\" requires a member named \"value\"."),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(&json!([raw]), V21), Err(want), "{raw}");
        }
        let ok = parse(
            &json!([
                {"op": "remove", "path": "/foo"},
                {"op": "replace", "path": "/name", "value": null, "extra": 1},
                {"op": "add", "path": "/bar", "value": "baz"},
            ]),
            V21,
        );
        assert_eq!(
            ok,
            Ok(vec![
                Operation {
                    op: Op::Remove,
                    path: vec!["foo".into()],
                    value: None
                },
                Operation {
                    op: Op::Replace,
                    path: vec!["name".into()],
                    value: Some(Value::Null)
                },
                Operation {
                    op: Op::Add,
                    path: vec!["bar".into()],
                    value: Some(json!("baz"))
                },
            ])
        );
    }

    #[test]
    fn v2_0_operation_members() {
        let exactly = "Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".";
        let only = "Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".";
        let cases = [
            (json!({}), bad(exactly)),
            (
                json!({"op": "replace", "path": "/name", "value": "x"}),
                bad(exactly),
            ),
            (json!({"move": "/name"}), bad(exactly)),
            (json!({"add": "/a", "remove": "/b"}), bad(only)),
            (
                json!({"replace": "/a", "remove": "/b", "value": "x"}),
                bad(only),
            ),
            (
                json!({"replace": "/name"}),
                bad("Operation \"replace\" requires a member named \"value\"."),
            ),
            (
                json!({"replace": null, "value": "x"}),
                bad("Pointer `None` does not start with \"/\"."),
            ),
            (
                json!({"add": 5, "value": "x"}),
                bad("Pointer `5` does not start with \"/\"."),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(&json!([raw]), V20), Err(want), "{raw}");
        }
        let ok = parse(
            &json!([{"remove": "/foo", "value": 1}, {"add": "/bar", "value": "x"}]),
            V20,
        );
        assert_eq!(
            ok,
            Ok(vec![
                Operation {
                    op: Op::Remove,
                    path: vec!["foo".into()],
                    value: None
                },
                Operation {
                    op: Op::Add,
                    path: vec!["bar".into()],
                    value: Some(json!("x"))
                },
            ])
        );
    }

    #[test]
    fn pointer_syntax() {
        let cases = [
            (json!("name"), "Pointer `name` does not start with \"/\"."),
            (json!(""), "Pointer `` does not start with \"/\"."),
            (
                json!(" /name"),
                "Pointer ` /name` does not start with \"/\".",
            ),
            (json!(null), "Pointer `None` does not start with \"/\"."),
            (
                json!(["/name"]),
                "Pointer `['/name']` does not start with \"/\".",
            ),
            (json!("/a//b"), "Pointer `/a//b` contains adjacent \"/\"."),
            (
                json!("/a/ \t/b"),
                "Pointer `/a/ \t/b` contains adjacent \"/\".",
            ),
            (
                json!("/a/\u{1f}/b"),
                "Pointer `/a/\u{1f}/b` contains adjacent \"/\".",
            ),
            (json!("/name/"), "Pointer `/name/` end with \"/\"."),
            (json!("//"), "Pointer `//` end with \"/\"."),
            (
                json!("/ / "),
                "Pointer `/ / ` does not contains valid token.",
            ),
            (
                json!("/a~2"),
                "Pointer `/a~2` contains \"~\" not part of a recognized escape sequence.",
            ),
            (
                json!("/a~"),
                "Pointer `/a~` contains \"~\" not part of a recognized escape sequence.",
            ),
            (
                json!("/~~1"),
                "Pointer `/~~1` contains \"~\" not part of a recognized escape sequence.",
            ),
            (
                json!("/name/x"),
                "Invalid JSON pointer for this resource: '/name/x'",
            ),
            (
                json!("/a~1b/c"),
                "Invalid JSON pointer for this resource: '/a/b/c'",
            ),
            (
                json!("/ a / b"),
                "Invalid JSON pointer for this resource: '/a/b'",
            ),
        ];
        for mt in BOTH {
            for (pointer, want) in &cases {
                for (op, value) in [("replace", Some(json!("x"))), ("remove", None)] {
                    let raw = json!([change(mt, op, pointer.clone(), value)]);
                    assert_eq!(parse(&raw, mt), Err(bad(want)), "{mt:?} {op} {pointer}");
                }
            }
        }
    }

    #[test]
    fn pointer_decoding() {
        let cases = [
            ("/a~1b", vec!["a/b"]),
            ("/a~0b", vec!["a~b"]),
            ("/~01", vec!["~1"]),
            ("/~0~1", vec!["~/"]),
            ("//foo", vec!["foo"]),
            ("/ foo\t", vec!["foo"]),
            ("/", vec![""]),
            ("/caf\u{e9}", vec!["caf\u{e9}"]),
        ];
        for mt in BOTH {
            for (pointer, want) in &cases {
                let ops = parse(&body(mt, &[("remove", pointer, None)]), mt);
                let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
                assert_eq!(ops.map(|o| o[0].path.clone()), Ok(want), "{pointer}");
            }
        }
    }

    #[test]
    fn only_locations_take_a_second_level() {
        let location = json!({"url": "file:///x", "metadata": {}});
        for mt in BOTH {
            let cases = [
                (
                    "add",
                    "/locations",
                    "Invalid JSON pointer for this resource: '/locations'",
                ),
                (
                    "replace",
                    "/locations/0",
                    "Invalid JSON pointer for this resource: '/locations/0'",
                ),
                (
                    "add",
                    "/locations/0/url",
                    "Invalid JSON pointer for this resource: '/locations/0/url'",
                ),
                (
                    "add",
                    "/tags/-",
                    "Invalid JSON pointer for this resource: '/tags/-'",
                ),
                (
                    "remove",
                    "/locations",
                    "Invalid JSON pointer for this resource: '/locations'",
                ),
            ];
            for (op, path, want) in cases {
                let value = (op != "remove").then(|| location.clone());
                assert_eq!(
                    parse(&body(mt, &[(op, path, value)]), mt),
                    Err(bad(want)),
                    "{op} {path}"
                );
            }
            for (op, path) in [
                ("add", "/locations/-"),
                ("add", "/locations/0"),
                ("remove", "/locations/1"),
            ] {
                let value = (op != "remove").then(|| location.clone());
                let ops = parse(&body(mt, &[(op, path, value)]), mt).unwrap();
                assert_eq!(ops[0].path.len(), 2);
            }
        }
    }

    #[test]
    fn read_only_and_reserved_names() {
        let read_only = [
            "created_at",
            "updated_at",
            "status",
            "checksum",
            "size",
            "virtual_size",
            "direct_url",
            "self",
            "file",
            "schema",
            "id",
            "os_hash_algo",
            "os_hash_value",
            "stores",
        ];
        let reserved = [
            "location",
            "deleted",
            "deleted_at",
            "owner_id",
            "os_glance",
            "os_glance_x",
        ];
        for mt in BOTH {
            for op in ["add", "replace", "remove"] {
                // A value the schema would refuse: the name check must come first.
                let value = (op != "remove").then(|| json!(12));
                for name in read_only {
                    let b = body(mt, &[(op, &format!("/{name}"), value.clone())]);
                    let want = Error::forbidden(format!("Attribute '{name}' is read-only."));
                    assert_eq!(parse(&b, mt), Err(want), "{op} {name}");
                }
                for name in reserved {
                    let b = body(mt, &[(op, &format!("/ {name}"), value.clone())]);
                    let want = Error::forbidden(format!("Attribute '{name}' is reserved."));
                    assert_eq!(parse(&b, mt), Err(want), "{op} {name}");
                }
            }
        }
    }

    #[test]
    fn elements_are_checked_one_at_a_time() {
        for mt in BOTH {
            let b = json!([
                change(mt, "replace", json!("/name"), Some(json!("ok"))),
                change(mt, "replace", json!("/status"), Some(json!("active"))),
                5,
            ]);
            assert_eq!(
                parse(&b, mt),
                Err(Error::forbidden("Attribute 'status' is read-only."))
            );
            let b = json!([5, change(mt, "replace", json!("/status"), Some(json!("x")))]);
            assert_eq!(parse(&b, mt), Err(bad("Operations must be JSON objects.")));
            let b = json!([
                change(mt, "replace", json!("/protected"), Some(json!("yes"))),
                change(mt, "replace", json!("/status"), Some(json!("x"))),
            ]);
            assert!(error_text(&parse(&b, mt).unwrap_err()).starts_with(
                "Provided object does not match schema 'image': 'yes' is not of type 'boolean'"
            ));
        }
    }

    #[test]
    fn values_are_checked_against_the_schema() {
        for mt in BOTH {
            for op in ["add", "replace"] {
                let cases = [
                    (
                        "/visibility",
                        json!("x"),
                        "'x' is not one of ['community', 'public', 'private', 'shared']",
                    ),
                    ("/protected", json!(1), "1 is not of type 'boolean'"),
                    ("/os_hidden", json!(null), "None is not of type 'boolean'"),
                    ("/min_ram", json!("512"), "'512' is not of type 'integer'"),
                    ("/min_disk", json!(1.5), "1.5 is not of type 'integer'"),
                    (
                        "/disk_format",
                        json!("floppy"),
                        "'floppy' is not one of [None, 'ami',",
                    ),
                    (
                        "/container_format",
                        json!(""),
                        "'' is not one of [None, 'ami',",
                    ),
                    (
                        "/name",
                        json!(["x"]),
                        "['x'] is not of type 'null', 'string'",
                    ),
                    ("/owner", json!(7), "7 is not of type 'null', 'string'"),
                    ("/tags", json!("a,b"), "'a,b' is not of type 'array'"),
                    ("/tags", json!(["a", null]), "None is not of type 'string'"),
                    ("/foo", json!(1), "1 is not of type 'string'"),
                    ("/new", json!(false), "False is not of type 'string'"),
                    ("/new", json!(null), "None is not of type 'string'"),
                    ("/locations", json!(null), "None is not of type 'array'"),
                    (
                        "/locations/-",
                        json!({"url": "x"}),
                        "'metadata' is a required property",
                    ),
                ];
                for (path, value, want) in cases {
                    if op == "replace" && path == "/locations/-" {
                        continue;
                    }
                    if op == "add" && path == "/locations" {
                        continue;
                    }
                    let got = parse(&body(mt, &[(op, path, Some(value))]), mt).unwrap_err();
                    let text = error_text(&got);
                    let prefix = format!("Provided object does not match schema 'image': {want}");
                    assert!(text.starts_with(&prefix), "{op} {path}: {text}");
                }
            }
        }
    }

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

    #[test]
    fn python_float_repr() {
        let cases = [
            (1.5, "1.5"),
            (1e20, "1e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-10, "-2.5e-10"),
            (123456789.125, "123456789.125"),
            (0.1, "0.1"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (9999999999999998.0, "9999999999999998.0"),
        ];
        for (f, want) in cases {
            assert_eq!(py_float(f), want);
        }
    }

    #[test]
    fn python_str_repr() {
        let cases = [
            ("a", "'a'"),
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("both ' \"", "'both \\' \"'"),
            ("back\\slash", "'back\\\\slash'"),
            (
                "\u{1}\u{7f}\u{85}\u{a0}\u{ad}\u{200b}\u{2028}\u{3000}\u{feff}\u{e000}\u{10ffff}",
                "'\\x01\\x7f\\x85\\xa0\\xad\\u200b\\u2028\\u3000\\ufeff\\ue000\\U0010ffff'",
            ),
            (
                "caf\u{e9} \u{4e2d} \u{1f600}",
                "'caf\u{e9} \u{4e2d} \u{1f600}'",
            ),
        ];
        for (s, want) in cases {
            assert_eq!(py_str_repr(s), want);
        }
    }

    #[test]
    fn replace_sets_base_attributes() {
        let img = image();
        for mt in BOTH {
            let changes: Vec<Change<'_>> = vec![
                ("replace", "/name", Some(json!("n"))),
                ("replace", "/visibility", Some(json!("public"))),
                ("replace", "/protected", Some(json!(true))),
                ("replace", "/os_hidden", Some(json!(true))),
                ("replace", "/min_ram", Some(json!(512))),
                ("replace", "/min_disk", Some(json!(2.0))),
                ("replace", "/disk_format", Some(json!("qcow2"))),
                ("replace", "/container_format", Some(json!("bare"))),
                ("replace", "/tags", Some(json!(["b", "a", "b"]))),
                ("replace", "/owner", Some(json!("p2"))),
            ];
            let new = patch_with(mt, &img, &changes, true, &PatchLimits::default()).unwrap();
            assert_eq!(new.name.as_deref(), Some("n"));
            assert_eq!(new.visibility, Visibility::Public);
            assert!(new.protected && new.os_hidden);
            assert_eq!((new.min_ram, new.min_disk), (512, 2));
            assert_eq!(new.disk_format.as_deref(), Some("qcow2"));
            assert_eq!(new.container_format.as_deref(), Some("bare"));
            assert_eq!(new.tags, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
            assert_eq!(new.owner.as_deref(), Some("p2"));
            assert_eq!(new.updated_at, img.updated_at);
            assert_eq!(new.properties, img.properties);

            let cleared = patch_with(
                mt,
                &new,
                &[
                    ("replace", "/name", Some(json!(null))),
                    ("replace", "/owner", Some(json!(null))),
                    ("replace", "/disk_format", Some(json!(null))),
                    ("replace", "/container_format", Some(json!(null))),
                    ("replace", "/tags", Some(json!([]))),
                    ("replace", "/min_ram", Some(json!(0))),
                ],
                true,
                &PatchLimits::default(),
            )
            .unwrap();
            assert_eq!(cleared.name, None);
            assert_eq!(cleared.owner, None);
            assert_eq!(
                (
                    cleared.disk_format.clone(),
                    cleared.container_format.clone()
                ),
                (None, None)
            );
            assert!(cleared.tags.is_empty());
            assert_eq!(cleared.min_ram, 0);
        }
    }

    #[test]
    fn replace_custom_property() {
        let img = image();
        for mt in BOTH {
            let new = patch(mt, &img, &[("replace", "/foo", Some(json!("baz")))]).unwrap();
            assert_eq!(new.properties["foo"], "baz");
            assert_eq!(
                patch(mt, &img, &[("replace", "/nope", Some(json!("x")))]),
                Err(conflict_detail("Property nope does not exist."))
            );
            assert_eq!(
                patch(
                    mt,
                    &img,
                    &[
                        ("remove", "/foo", None),
                        ("replace", "/foo", Some(json!("x")))
                    ]
                ),
                Err(conflict_detail("Property foo does not exist."))
            );
        }
    }

    #[test]
    fn add_under_v2_1_creates_or_overwrites() {
        let img = image();
        let new = patch(
            V21,
            &img,
            &[
                ("add", "/name", Some(json!("n"))),
                ("add", "/foo", Some(json!("over"))),
                ("add", "/fresh", Some(json!("new"))),
                ("add", "/tags", Some(json!(["t"]))),
                ("add", "/min_disk", Some(json!(3))),
                ("add", "/visibility", Some(json!("community"))),
            ],
        )
        .unwrap();
        assert_eq!(new.name.as_deref(), Some("n"));
        assert_eq!(new.properties["foo"], "over");
        assert_eq!(new.properties["fresh"], "new");
        assert_eq!(new.tags, BTreeSet::from(["t".to_owned()]));
        assert_eq!(new.min_disk, 3);
        assert_eq!(new.visibility, Visibility::Community);
    }

    #[test]
    fn add_under_v2_0_refuses_existing_keys() {
        let img = image();
        for name in BASE_ATTRIBUTES.iter().filter(|n| **n != "locations") {
            let value = image_value(name);
            assert_eq!(
                patch_with(
                    V20,
                    &img,
                    &[("add", &format!("/{name}"), Some(value))],
                    true,
                    &PatchLimits::default()
                ),
                Err(conflict_detail(&format!(
                    "Property {name} already present."
                ))),
                "{name}"
            );
        }
        assert_eq!(
            patch(V20, &img, &[("add", "/foo", Some(json!("x")))]),
            Err(conflict_detail("Property foo already present."))
        );
        let new = patch(
            V20,
            &img,
            &[
                ("add", "/fresh", Some(json!("a"))),
                ("replace", "/fresh", Some(json!("b"))),
            ],
        )
        .unwrap();
        assert_eq!(new.properties["fresh"], "b");
        assert_eq!(
            patch(
                V20,
                &img,
                &[
                    ("add", "/fresh", Some(json!("a"))),
                    ("add", "/fresh", Some(json!("b")))
                ]
            ),
            Err(conflict_detail("Property fresh already present."))
        );
    }

    /// A value the schema accepts for each writable base attribute.
    fn image_value(name: &str) -> Value {
        match name {
            "visibility" => json!("private"),
            "protected" | "os_hidden" => json!(false),
            "min_ram" | "min_disk" => json!(0),
            "tags" => json!([]),
            "disk_format" => json!("raw"),
            "container_format" => json!("bare"),
            _ => json!("x"),
        }
    }

    #[test]
    fn remove() {
        let img = image();
        for mt in BOTH {
            for name in BASE_ATTRIBUTES.iter().filter(|n| **n != "locations") {
                assert_eq!(
                    patch(mt, &img, &[("remove", &format!("/{name}"), None)]),
                    Err(forbidden_detail(&format!(
                        "Property {name} may not be removed."
                    ))),
                    "{name}"
                );
            }
            let new = patch(mt, &img, &[("remove", "/foo", None)]).unwrap();
            assert!(new.properties.is_empty());
            assert_eq!(
                patch(mt, &img, &[("remove", "/nope", None)]),
                Err(conflict_detail("Property nope does not exist."))
            );
            assert_eq!(
                patch(
                    mt,
                    &img,
                    &[("remove", "/foo", None), ("remove", "/foo", None)]
                ),
                Err(conflict_detail("Property foo does not exist."))
            );
        }
    }

    #[test]
    fn owner_changes_need_admin() {
        let img = image();
        let limits = PatchLimits::default();
        let denied = Err(forbidden_detail("Owner can't be updated by non admin."));
        for mt in BOTH {
            for value in [json!("p2"), json!("p1"), json!(null)] {
                let c = [("replace", "/owner", Some(value.clone()))];
                assert_eq!(patch_with(mt, &img, &c, false, &limits), denied, "{value}");
                let new = patch_with(mt, &img, &c, true, &limits).unwrap();
                assert_eq!(new.owner.as_deref(), value.as_str());
            }
        }
        let add =
            |v: Value, admin| patch_with(V21, &img, &[("add", "/owner", Some(v))], admin, &limits);
        assert_eq!(add(json!("p2"), false), denied);
        assert_eq!(add(json!(null), false), denied);
        assert_eq!(
            add(json!("p1"), false).unwrap().owner.as_deref(),
            Some("p1")
        );
        assert_eq!(add(json!("p2"), true).unwrap().owner.as_deref(), Some("p2"));
    }

    #[test]
    fn formats_change_only_while_queued_or_importing() {
        use ImageStatus::*;
        for mt in BOTH {
            for status in ImageStatus::ALL {
                let mut img = image();
                img.status = *status;
                img.disk_format = Some("raw".into());
                img.container_format = Some("bare".into());
                for (name, value) in [("disk_format", "raw"), ("container_format", "bare")] {
                    let got = patch(
                        mt,
                        &img,
                        &[("replace", &format!("/{name}"), Some(json!(value)))],
                    );
                    if matches!(status, Queued | Importing) {
                        assert!(got.is_ok(), "{status} {name}");
                    } else {
                        assert_eq!(
                            got,
                            Err(Error::forbidden(format!(
                                "Attribute {name} can be only replaced for a queued image."
                            ))),
                            "{status} {name}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn minimum_values() {
        let img = image();
        for mt in BOTH {
            for name in ["min_ram", "min_disk"] {
                let run = |v: Value| patch(mt, &img, &[("replace", &format!("/{name}"), Some(v))]);
                let invalid = |v: &str, extra: &str| {
                    Err(bad(&format!(
                        "Invalid value '{v}' for parameter '{name}': {extra}"
                    )))
                };
                assert_eq!(run(json!(-1)), invalid("-1", "Cannot be a negative value"));
                assert_eq!(
                    run(json!(-3.0)),
                    invalid("-3.0", "Cannot be a negative value")
                );
                assert_eq!(
                    run(json!(2147483648_i64)),
                    invalid("2147483648", "Cannot be greater than 2147483647")
                );
                assert_eq!(
                    run(json!(1e20)),
                    invalid("1e+20", "Cannot be greater than 2147483647")
                );
                assert_eq!(
                    run(json!(u64::MAX)),
                    invalid("18446744073709551615", "Cannot be greater than 2147483647")
                );
                let max = run(json!(2147483647)).unwrap();
                assert_eq!(
                    if name == "min_ram" {
                        max.min_ram
                    } else {
                        max.min_disk
                    },
                    i32::MAX
                );
                assert!(run(json!(0)).is_ok());
            }
        }
    }

    #[test]
    fn tags_are_a_set_under_quota() {
        let img = image();
        let limits = |tag_quota| PatchLimits {
            property_quota: 128,
            tag_quota,
        };
        for mt in BOTH {
            let run = |tags: Value, quota| {
                patch_with(
                    mt,
                    &img,
                    &[("replace", "/tags", Some(tags))],
                    false,
                    &limits(quota),
                )
            };
            let over = |attempted: usize, quota: i64| {
                Err(Error::too_large(format!(
                    "The limit has been exceeded on the number of allowed image tags. Attempted: {attempted}, Maximum: {quota}"
                )))
            };
            assert_eq!(run(json!(["a", "b", "c"]), 2), over(3, 2));
            assert_eq!(run(json!(["a", "a", "a"]), 2), over(3, 2));
            assert_eq!(run(json!(["a"]), 0), over(1, 0));
            assert!(run(json!([]), 0).unwrap().tags.is_empty());
            assert_eq!(run(json!(["a", "b"]), 2).unwrap().tags.len(), 2);
            let many: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();
            assert_eq!(run(json!(many), -1).unwrap().tags.len(), 300);
            let t255 = "t".repeat(255);
            assert!(run(json!([t255]), 128).unwrap().tags.contains(&t255));
            let err = run(json!(["t".repeat(256)]), 128).unwrap_err();
            assert!(error_text(&err).contains("is too long"));
        }
    }

    #[test]
    fn property_quota_counts_existing_properties() {
        let mut full = image();
        full.properties.clear();
        for i in 0..128 {
            full.properties.insert(format!("p{i}"), "v".into());
        }
        let limits = PatchLimits::default();
        let over = |attempted: i64, quota: i64| {
            Err(Error::too_large(format!(
                "The limit has been exceeded on the number of allowed image properties. Attempted: {attempted}, Maximum: {quota}"
            )))
        };
        for mt in BOTH {
            let add = ("add", "/p128", Some(json!("v")));
            assert_eq!(
                patch_with(mt, &full, std::slice::from_ref(&add), false, &limits),
                over(129, 128)
            );
            // Replacing or removing never trips the quota, even above it.
            let mut above = full.clone();
            above.properties.insert("extra".into(), "v".into());
            assert!(patch(mt, &above, &[("replace", "/p1", Some(json!("w")))]).is_ok());
            assert!(patch(mt, &above, &[("remove", "/p1", None)]).is_ok());
            // Counted once all changes are made.
            assert!(patch(mt, &full, &[("remove", "/p0", None), add.clone()]).is_ok());
            assert_eq!(
                patch(
                    mt,
                    &full,
                    &[
                        add.clone(),
                        ("remove", "/p0", None),
                        ("add", "/p129", Some(json!("v")))
                    ]
                ),
                over(129, 128)
            );
            // An error from a later change wins over the quota.
            assert_eq!(
                patch(mt, &full, &[add.clone(), ("remove", "/nope", None)]),
                Err(conflict_detail("Property nope does not exist."))
            );
            // Glance's own os_glance* keys are not counted.
            let mut internal = full.clone();
            internal.properties.remove("p127");
            internal
                .properties
                .insert("os_glance_import_task".into(), "t".into());
            assert!(patch(mt, &internal, &[("add", "/p127", Some(json!("v")))]).is_ok());
            let unlimited = PatchLimits {
                property_quota: -1,
                tag_quota: 128,
            };
            assert!(patch_with(mt, &full, std::slice::from_ref(&add), false, &unlimited).is_ok());
            let tight = PatchLimits {
                property_quota: 0,
                tag_quota: 128,
            };
            assert_eq!(
                patch_with(
                    mt,
                    &image(),
                    &[("add", "/x", Some(json!("v")))],
                    false,
                    &tight
                ),
                over(2, 0)
            );
        }
    }

    #[test]
    fn locations_stay_hidden() {
        let img = image();
        let limits = PatchLimits::default();
        let location = json!({"url": "file:///x", "metadata": {}});
        for mt in BOTH {
            for admin in [false, true] {
                let run = |c: &[Change<'_>]| patch_with(mt, &img, c, admin, &limits);
                assert_eq!(
                    run(&[("replace", "/locations", Some(json!([])))]),
                    Err(forbidden_detail("Cannot set locations to empty list."))
                );
                assert_eq!(
                    run(&[("replace", "/locations", Some(json!([location.clone()])))]),
                    Err(Error::forbidden(
                        "It's not allowed to update locations if locations are invisible."
                    ))
                );
                let added = if mt == V20 {
                    "/locations/0"
                } else {
                    "/locations/-"
                };
                assert_eq!(
                    run(&[("add", added, Some(location.clone()))]),
                    Err(Error::forbidden(
                        "It's not allowed to add locations if locations are invisible."
                    ))
                );
                let removed = run(&[("remove", "/locations/0", None)]);
                if admin {
                    assert_eq!(
                        removed,
                        Err(Error::forbidden(
                            "It's not allowed to remove locations if locations are invisible."
                        ))
                    );
                } else {
                    assert_eq!(removed, Err(Error::policy("delete_image_location")));
                }
            }
        }
    }

    #[test]
    fn empty_patch_changes_nothing() {
        let mut img = image();
        img.status = ImageStatus::Active;
        for mt in BOTH {
            let limits = PatchLimits {
                property_quota: 0,
                tag_quota: 0,
            };
            assert_eq!(patch_with(mt, &img, &[], false, &limits), Ok(img.clone()));
        }
    }

    #[test]
    fn custom_property_names_are_limited() {
        let img = image();
        let long = format!("/{}", "k".repeat(256));
        let ok = format!("/{}", "\u{e9}".repeat(255));
        assert_eq!(
            patch(V21, &img, &[("add", &long, Some(json!("v")))]),
            Err(bad(
                "Custom property should not be greater than 255 characters."
            ))
        );
        assert_eq!(
            patch(V20, &img, &[("add", &long, Some(json!("v")))]),
            Err(bad(
                "Custom property should not be greater than 255 characters."
            ))
        );
        assert!(patch(V21, &img, &[("add", &ok, Some(json!("v")))]).is_ok());
    }

    #[test]
    fn hand_built_operations_are_still_checked() {
        let img = image();
        let limits = PatchLimits::default();
        let ops = [Operation {
            op: Op::Replace,
            path: vec!["protected".into()],
            value: Some(json!("yes")),
        }];
        let err = apply(&img, &ops, V21, true, &limits).unwrap_err();
        assert!(error_text(&err).contains("'yes' is not of type 'boolean'"));
        let ops = [Operation {
            op: Op::Add,
            path: vec!["foo".into()],
            value: Some(json!(5)),
        }];
        let err = apply(&img, &ops, V21, true, &limits).unwrap_err();
        assert!(error_text(&err).contains("5 is not of type 'string'"));
        let ops = [Operation {
            op: Op::Replace,
            path: vec!["name".into()],
            value: None,
        }];
        assert_eq!(
            apply(&img, &ops, V21, true, &limits),
            Err(bad(
                "Operation \"replace\" requires a member named \"value\"."
            ))
        );
    }

    #[test]
    fn failed_patch_leaves_the_image_alone() {
        let img = image();
        let before = img.clone();
        let got = patch(
            V21,
            &img,
            &[
                ("replace", "/name", Some(json!("n"))),
                ("remove", "/nope", None),
            ],
        );
        assert!(got.is_err());
        assert_eq!(img, before);
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
