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

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::domain::image::{is_reserved, Image, ImageStatus, Visibility, READ_ONLY};
pub use crate::domain::image_schema::{image_schema, validate_image_object, ImageSchema};
pub use crate::domain::json_schema::validate_against;
pub use crate::domain::location_patch::{LocationEdit, PatchLocation};
use crate::domain::property_protection::{reserved, Access};
use crate::domain::pyfmt::py_str;
use crate::domain::python::{is_space as py_space, strip as py_strip};
use crate::domain::quota;
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

/// Glance's limits on one image (`image_property_quota`, `image_tag_quota`; negative =
/// unlimited) and the schema its values must match (the configured format lists).
#[derive(Debug, Clone)]
pub struct PatchLimits {
    pub property_quota: i64,
    pub tag_quota: i64,
    pub schema: ImageSchema,
}

impl Default for PatchLimits {
    fn default() -> Self {
        PatchLimits {
            property_quota: 128,
            tag_quota: 128,
            schema: ImageSchema::default(),
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
pub fn parse(body: &Value, mt: PatchMediaType, schema: &ImageSchema) -> Result<Vec<Operation>> {
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
        validate_change(&operation, schema)?;
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
pub fn validate_create_body(body: &Map<String, Value>, schema: &ImageSchema) -> Result<()> {
    schema.validate(&Value::Object(body.clone()))?;
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

fn validate_change(change: &Operation, schema: &ImageSchema) -> Result<()> {
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
    schema.validate(&Value::Object(object))
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

/// A key of a create body or a PATCH path that names a custom property (Glance's
/// `extra_properties`), not an attribute of the image.
pub fn is_custom_property(name: &str) -> bool {
    !is_base(name)
}

/// Glance's `ImagesController.update`: applies the changes in order to a copy of
/// the image and runs the property quota as `ImageRepo.save` would.
///
/// `is_admin` is the caller's `context.is_admin` (owner changes). Location changes are
/// refused as Glance refuses them with `show_multiple_locations = False`; see [`apply_with`].
pub fn apply(
    image: &Image,
    ops: &[Operation],
    mt: PatchMediaType,
    is_admin: bool,
    limits: &PatchLimits,
) -> Result<Image> {
    apply_with(
        image,
        ops,
        mt,
        is_admin,
        limits,
        &|_, _| true,
        &mut LocationEdit::hidden(is_admin),
    )
}

/// [`apply`] under property protections, with the image's locations.
///
/// `allows(name, access)` answers for each custom property an operation creates, updates or
/// deletes, at that operation, as Glance's `ExtraPropertiesProxy` does (a property present in
/// `image` is updated, an absent one created); a refusal is Glance's 403. `image` holds only the
/// properties the caller may read. `/locations` operations change `locs`.
pub fn apply_with(
    image: &Image,
    ops: &[Operation],
    mt: PatchMediaType,
    is_admin: bool,
    limits: &PatchLimits,
    allows: &dyn Fn(&str, Access) -> bool,
    locs: &mut LocationEdit,
) -> Result<Image> {
    let mut new = image.clone();
    let mut oversized = Oversized::default();
    let guard = |name: &str, access: Access| {
        if allows(name, access) {
            Ok(())
        } else {
            Err(Error::forbidden(reserved(name)))
        }
    };
    for change in ops {
        if change.root() == "locations" {
            let pos = change.path.get(1).map(String::as_str);
            match (change.op, pos) {
                (Op::Replace, _) => locs.replace(&mut new, change_value(change)?)?,
                (Op::Add, Some(pos)) => locs.add(&mut new, pos, change_value(change)?)?,
                (Op::Remove, Some(pos)) => locs.remove(&new, pos)?,
                // `parse` allows only `/locations/<pos>` for add and remove.
                _ => {
                    return Err(Error::bad_request(
                        "Invalid JSON pointer for this resource: '/locations'",
                    ))
                }
            }
            continue;
        }
        match change.op {
            Op::Replace => do_replace(&mut new, change, is_admin, limits, &mut oversized, &guard)?,
            Op::Add => do_add(
                &mut new,
                change,
                mt,
                is_admin,
                limits,
                &mut oversized,
                &guard,
            )?,
            Op::Remove => do_remove(&mut new, change, &guard)?,
        }
    }
    let added = new
        .properties
        .keys()
        .any(|k| !image.properties.contains_key(k));
    if added {
        enforce_property_quota(&new, limits)?;
    }
    oversized.check()?;
    Ok(new)
}

/// `min_disk`/`min_ram` set above the 32-bit column. Glance's setters accept such a value and its
/// database layer refuses it when the image is saved, so the refusal comes after every operation
/// and the quota check, and a later valid value for the same field clears it.
#[derive(Default)]
struct Oversized {
    min_disk: bool,
    min_ram: bool,
}

impl Oversized {
    /// Glance's message, `min_disk` checked first as Glance does.
    fn check(&self) -> Result<()> {
        for (name, over) in [("min_disk", self.min_disk), ("min_ram", self.min_ram)] {
            if over {
                return Err(Error::bad_request(format!(
                    "'{name}' value out of range, must not exceed {}.",
                    i32::MAX
                )));
            }
        }
        Ok(())
    }
}

fn change_value(change: &Operation) -> Result<&Value> {
    change.value.as_ref().ok_or_else(|| {
        Error::bad_request(format!(
            "Operation \"{}\" requires a member named \"value\".",
            change.op.as_str()
        ))
    })
}

/// Whether a custom property may be created, updated or deleted (403 otherwise).
type Guard<'a> = dyn Fn(&str, Access) -> Result<()> + 'a;

fn do_replace(
    img: &mut Image,
    change: &Operation,
    is_admin: bool,
    limits: &PatchLimits,
    oversized: &mut Oversized,
    guard: &Guard<'_>,
) -> Result<()> {
    let root = change.root();
    let value = change_value(change)?;
    if root == "owner" && !is_admin {
        return Err(owner_not_admin());
    }
    if is_base(root) {
        set_base(img, root, value, limits, oversized)
    } else if img.properties.contains_key(root) {
        guard(root, Access::Update)?;
        let text = property_value(root, value, &limits.schema)?;
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
    oversized: &mut Oversized,
    guard: &Guard<'_>,
) -> Result<()> {
    let root = change.root();
    let value = change_value(change)?;
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
        return set_base(img, root, value, limits, oversized);
    }
    if root.chars().count() > 255 {
        return Err(Error::bad_request(
            "Custom property should not be greater than 255 characters.",
        ));
    }
    if img.properties.contains_key(root) {
        guard(root, Access::Update)?;
    } else {
        guard(root, Access::Create)?;
    }
    let text = property_value(root, value, &limits.schema)?;
    img.properties.insert(root.to_owned(), text);
    Ok(())
}

fn do_remove(img: &mut Image, change: &Operation, guard: &Guard<'_>) -> Result<()> {
    let root = change.root();
    if is_base(root) {
        return Err(Error::Forbidden(Msg::Detail(format!(
            "Property {root} may not be removed."
        ))));
    }
    if !img.properties.contains_key(root) {
        return Err(does_not_exist(root));
    }
    guard(root, Access::Delete)?;
    img.properties.remove(root);
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
fn schema_error(name: &str, value: &Value, schema: &ImageSchema) -> Error {
    let mut object = Map::new();
    object.insert(name.to_owned(), value.clone());
    schema
        .validate(&Value::Object(object))
        .err()
        .unwrap_or_else(|| Error::bad_request(format!("Invalid value for '{name}'")))
}

fn property_value(name: &str, value: &Value, schema: &ImageSchema) -> Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| schema_error(name, value, schema))
}

fn optional_string(name: &str, value: &Value, schema: &ImageSchema) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(schema_error(name, value, schema)),
    }
}

/// Sets a base attribute with the checks of Glance's domain setters.
fn set_base(
    img: &mut Image,
    name: &str,
    value: &Value,
    limits: &PatchLimits,
    oversized: &mut Oversized,
) -> Result<()> {
    // Values reaching here passed the schema in `parse`; re-check cheaply so that
    // hand-built operations cannot store something Glance would refuse.
    validate_partial(name, value, &limits.schema)?;
    match name {
        "name" => img.name = optional_string(name, value, &limits.schema)?,
        "owner" => img.owner = optional_string(name, value, &limits.schema)?,
        "visibility" => {
            img.visibility = value
                .as_str()
                .and_then(|s| s.parse::<Visibility>().ok())
                .ok_or_else(|| schema_error(name, value, &limits.schema))?;
        }
        "protected" => {
            img.protected = value
                .as_bool()
                .ok_or_else(|| schema_error(name, value, &limits.schema))?
        }
        "os_hidden" => {
            img.os_hidden = value
                .as_bool()
                .ok_or_else(|| schema_error(name, value, &limits.schema))?
        }
        "container_format" | "disk_format" => {
            if !matches!(img.status, ImageStatus::Queued | ImageStatus::Importing) {
                return Err(Error::forbidden(format!(
                    "Attribute {name} can be only replaced for a queued image."
                )));
            }
            let format = optional_string(name, value, &limits.schema)?;
            if name == "disk_format" {
                img.disk_format = format;
            } else {
                img.container_format = format;
            }
        }
        "min_ram" => {
            let fits = minimum(name, value, &limits.schema)?;
            oversized.min_ram = fits.is_none();
            img.min_ram = fits.unwrap_or(img.min_ram);
        }
        "min_disk" => {
            let fits = minimum(name, value, &limits.schema)?;
            oversized.min_disk = fits.is_none();
            img.min_disk = fits.unwrap_or(img.min_disk);
        }
        "tags" => img.tags = tags(value, limits)?,
        _ => {
            return Err(Error::forbidden(format!(
                "Attribute '{name}' is read-only."
            )))
        }
    }
    Ok(())
}

fn validate_partial(name: &str, value: &Value, schema: &ImageSchema) -> Result<()> {
    let mut object = Map::new();
    object.insert(name.to_owned(), value.clone());
    schema.validate(&Value::Object(object))
}

/// `min_ram`/`min_disk`: the schema admits any integer (`2.0` too); Glance's setter
/// refuses negatives. `None` for a value above the 32-bit column, which [`Oversized`]
/// refuses once every operation ran.
fn minimum(name: &str, value: &Value, schema: &ImageSchema) -> Result<Option<i32>> {
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
        return Err(schema_error(name, value, schema));
    };
    if number < 0 {
        return Err(Error::bad_request(format!(
            "Invalid value '{}' for parameter '{name}': Cannot be a negative value",
            py_str(value)
        )));
    }
    Ok(i32::try_from(number).ok())
}

/// Glance's quota proxy counts the list as sent (duplicates included) before the
/// domain turns it into a set.
fn tags(value: &Value, limits: &PatchLimits) -> Result<BTreeSet<String>> {
    let Some(items) = value.as_array() else {
        return Err(schema_error("tags", value, &limits.schema));
    };
    let attempted = quota::count(items.len());
    if !items.is_empty() && quota::exceeded(attempted, limits.tag_quota) {
        return Err(Error::too_large(quota::limit_text(
            "image tags",
            attempted,
            limits.tag_quota,
        )));
    }
    items
        .iter()
        .map(|tag| {
            tag.as_str()
                .map(str::to_owned)
                .ok_or_else(|| schema_error("tags", value, &limits.schema))
        })
        .collect()
}

/// Glance's `ImageRepoProxy._enforce_image_property_quota`: `os_glance*` keys are free.
fn enforce_property_quota(img: &Image, limits: &PatchLimits) -> Result<()> {
    let attempted = quota::count(
        img.properties
            .keys()
            .filter(|k| !k.starts_with("os_glance"))
            .count(),
    );
    if quota::exceeded(attempted, limits.property_quota) {
        return Err(Error::too_large(quota::limit_text(
            "image properties",
            attempted,
            limits.property_quota,
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    const V20: PatchMediaType = PatchMediaType::V2_0;
    const V21: PatchMediaType = PatchMediaType::V2_1;
    const BOTH: [PatchMediaType; 2] = [V20, V21];

    /// `parse` with Glance's default format lists.
    fn parse(body: &Value, mt: PatchMediaType) -> Result<Vec<Operation>> {
        super::parse(body, mt, &ImageSchema::default())
    }

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
                // Glance's database layer, not its setter, refuses these (no value echoed).
                let too_big = Err(bad(&format!(
                    "'{name}' value out of range, must not exceed 2147483647."
                )));
                for v in [json!(2147483648_i64), json!(1e20), json!(u64::MAX)] {
                    assert_eq!(run(v), too_big);
                }
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
    fn oversized_minimums_are_refused_after_every_operation() {
        let img = image();
        let out_of_range = |name: &str| {
            Err(bad(&format!(
                "'{name}' value out of range, must not exceed 2147483647."
            )))
        };
        for mt in BOTH {
            // A later valid value for the same field wins, as in Glance (checked on save).
            let fixed = patch(
                mt,
                &img,
                &[
                    ("replace", "/min_ram", Some(json!(1e23))),
                    ("replace", "/min_ram", Some(json!(5))),
                ],
            )
            .unwrap();
            assert_eq!(fixed.min_ram, 5);
            // A later negative value's setter error comes first.
            assert_eq!(
                patch(
                    mt,
                    &img,
                    &[
                        ("replace", "/min_ram", Some(json!(1e23))),
                        ("replace", "/min_disk", Some(json!(-1))),
                    ],
                ),
                Err(bad(
                    "Invalid value '-1' for parameter 'min_disk': Cannot be a negative value"
                ))
            );
            // Both too large: Glance names min_disk.
            assert_eq!(
                patch(
                    mt,
                    &img,
                    &[
                        ("replace", "/min_ram", Some(json!(1e23))),
                        ("replace", "/min_disk", Some(json!(1e23))),
                    ],
                ),
                out_of_range("min_disk")
            );
        }
    }

    #[test]
    fn tags_are_a_set_under_quota() {
        let img = image();
        let limits = |tag_quota| PatchLimits {
            property_quota: 128,
            tag_quota,
            ..PatchLimits::default()
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
                ..PatchLimits::default()
            };
            assert!(patch_with(mt, &full, std::slice::from_ref(&add), false, &unlimited).is_ok());
            let tight = PatchLimits {
                property_quota: 0,
                tag_quota: 128,
                ..PatchLimits::default()
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
    fn protections_are_asked_per_operation_as_glance_does() {
        let mut img = image();
        img.properties.insert("ro".into(), "1".into());
        // May create and delete `free`, update `foo`, nothing else.
        let allows = |name: &str, access: Access| {
            matches!(
                (name, access),
                ("free", Access::Create | Access::Delete) | ("foo", Access::Update)
            )
        };
        let run = |changes: &[Change<'_>]| {
            let ops = parse(&body(V21, changes), V21).unwrap();
            let mut locs = LocationEdit::hidden(false);
            let limits = PatchLimits::default();
            apply_with(&img, &ops, V21, false, &limits, &allows, &mut locs)
        };
        let reserved = |n: &str| Error::forbidden(format!("Attribute '{n}' is reserved."));
        // Replace asks `update`, even for the same value.
        assert_eq!(
            run(&[("replace", "/ro", Some(json!("1")))]).unwrap_err(),
            reserved("ro")
        );
        assert_eq!(
            run(&[("replace", "/foo", Some(json!("x")))])
                .unwrap()
                .properties["foo"],
            "x"
        );
        // Add asks `update` for a present property, `create` for an absent one.
        assert_eq!(
            run(&[("add", "/ro", Some(json!("2")))]).unwrap_err(),
            reserved("ro")
        );
        assert_eq!(
            run(&[("add", "/other", Some(json!("2")))]).unwrap_err(),
            reserved("other")
        );
        // Created, then updated in the same patch: `update` is asked the second time.
        assert_eq!(
            run(&[
                ("add", "/free", Some(json!("a"))),
                ("add", "/free", Some(json!("b")))
            ])
            .unwrap_err(),
            reserved("free")
        );
        let new = run(&[
            ("add", "/free", Some(json!("a"))),
            ("remove", "/free", None),
        ])
        .unwrap();
        assert!(!new.properties.contains_key("free"));
        // A missing property is 409 before anything is asked; a present one asks `delete`.
        assert_eq!(
            run(&[("remove", "/gone", None)]).unwrap_err(),
            conflict_detail("Property gone does not exist.")
        );
        assert_eq!(
            run(&[("replace", "/gone", Some(json!("x")))]).unwrap_err(),
            conflict_detail("Property gone does not exist.")
        );
        assert_eq!(
            run(&[("remove", "/foo", None)]).unwrap_err(),
            reserved("foo")
        );
        // Image attributes are not properties.
        assert_eq!(
            run(&[("replace", "/name", Some(json!("n")))])
                .unwrap()
                .name
                .as_deref(),
            Some("n")
        );
        assert!(
            is_custom_property("foo") && !is_custom_property("name") && !is_custom_property("size")
        );
    }

    #[test]
    fn empty_patch_changes_nothing() {
        let mut img = image();
        img.status = ImageStatus::Active;
        for mt in BOTH {
            let limits = PatchLimits {
                property_quota: 0,
                tag_quota: 0,
                ..PatchLimits::default()
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
}
