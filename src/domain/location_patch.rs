//! JSON-patch of an image's `/locations` as Glance 32 does it (`ImagesController`'s
//! `_do_*_locations`, the location and quota proxies), free of HTTP and SQL.
//!
//! Glance accepts a new location only when its URL belongs to a non-local store it can size
//! (`validate_external_location`: never `file://`, which is restricted; http, swift, rbd, ...)
//! and the size is more than 0. glint sizes `http(s)` URLs with its read-only http store, before
//! the patch is applied (the service does the I/O; [`LocationEdit::sizes`] holds what it found);
//! any other new URL is refused as Glance refuses a URL it cannot use: `Invalid location`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::domain::image::{Image, ImageStatus};
use crate::domain::pyfmt::py_repr;
use crate::domain::quota;
use crate::error::{Error, Msg, Result};

/// One live location of the image being patched.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchLocation {
    /// The row's id; `None` for a location the patch wrote.
    pub id: Option<i32>,
    pub url: String,
    /// A JSON object.
    pub metadata: Value,
}

/// The image's locations while a patch is applied, what the caller may do to them, and what
/// the patch did.
#[derive(Debug, Clone, Default)]
pub struct LocationEdit {
    /// `show_multiple_locations`.
    pub shown: bool,
    /// The `set_image_location` rule allows the caller (add, replace).
    pub may_set: bool,
    /// The `delete_image_location` rule allows the caller (remove).
    pub may_delete: bool,
    /// `image_location_quota` (negative: unlimited).
    pub quota: i64,
    /// `[DEFAULT] hashing_algorithm`.
    pub hashing_algorithm: String,
    /// The live locations, in Glance's order, as the patch leaves them.
    pub locations: Vec<PatchLocation>,
    /// Rows the patch removed; `data_too` when their data is to be deleted (a `remove`; a
    /// `replace` keeps the data its new rows point at).
    pub removed: Vec<(PatchLocation, bool)>,
    /// New URLs a store could size, with their size (more than 0): the only new URLs accepted.
    pub sizes: HashMap<String, u64>,
    /// Multi-store mode: the http store's backend id, written as a new http location's
    /// `store` metadata (Glance's `get_updated_store_location`).
    pub http_store_id: Option<String>,
}

impl LocationEdit {
    /// For a patch without location operations, or with `show_multiple_locations` off.
    pub fn hidden(is_admin: bool) -> Self {
        LocationEdit {
            may_set: true,
            may_delete: is_admin,
            ..LocationEdit::default()
        }
    }

    /// `replace /locations`.
    pub fn replace(&mut self, img: &mut Image, value: &Value) -> Result<()> {
        let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
        if items.is_empty() {
            return Err(Error::Forbidden(Msg::Detail(
                "Cannot set locations to empty list.".into(),
            )));
        }
        if !self.may_set {
            return Err(Error::policy("set_image_location"));
        }
        if !self.shown {
            return Err(Error::forbidden(
                "It's not allowed to update locations if locations are invisible.",
            ));
        }
        if !matches!(img.status, ImageStatus::Active | ImageStatus::Queued) {
            return Err(Error::conflict(format!(
                "It's not allowed to replace locations if image status is {}.",
                img.status
            )));
        }
        let val_data = validation_data(img, items, &self.hashing_algorithm)?;
        self.check_quota(quota::count(items.len()))?;
        let new: Vec<PatchLocation> = items
            .iter()
            .map(|v| PatchLocation {
                id: None,
                url: v["url"].as_str().unwrap_or_default().to_owned(),
                metadata: v
                    .get("metadata")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Map::new())),
            })
            .collect();
        let sorted = |l: &[PatchLocation]| {
            let mut urls: Vec<String> = l.iter().map(|x| x.url.clone()).collect();
            urls.sort();
            urls
        };
        if sorted(&new) != sorted(&self.locations) {
            if !self.locations.is_empty() {
                return Err(Error::bad_request(format!(
                    "Original locations is not empty: {}",
                    self.python_repr()
                )));
            }
            // New URLs: each must be usable, and none twice with the same metadata.
            let mut new = new;
            for (i, loc) in new.iter().enumerate() {
                self.usable(&loc.url)?;
                if new[..i]
                    .iter()
                    .any(|o| o.url == loc.url && o.metadata == loc.metadata)
                {
                    return Err(duplicate(&loc.url));
                }
            }
            for loc in &mut new {
                self.tag_store(loc);
            }
            if img.size.is_none_or(|s| s == 0) {
                img.size = new
                    .iter()
                    .find_map(|l| self.sizes.get(&l.url))
                    .and_then(|s| i64::try_from(*s).ok());
            }
            self.locations = new;
            if img.status == ImageStatus::Queued {
                set_validation_data(img, val_data);
                img.status = ImageStatus::Active;
            }
            return Ok(());
        }
        // The same URLs: only the metadata (and order) changes. Glance deletes the old rows and
        // writes new ones.
        let old = std::mem::replace(&mut self.locations, new);
        self.removed.extend(old.into_iter().map(|l| (l, false)));
        if img.status == ImageStatus::Queued {
            set_validation_data(img, val_data);
            img.status = ImageStatus::Active;
        }
        Ok(())
    }

    /// `add /locations/<pos>`.
    pub fn add(&mut self, img: &mut Image, pos: &str, value: &Value) -> Result<()> {
        if !self.may_set {
            return Err(Error::policy("set_image_location"));
        }
        if !self.shown {
            return Err(Error::forbidden(
                "It's not allowed to add locations if locations are invisible.",
            ));
        }
        if !matches!(img.status, ImageStatus::Active | ImageStatus::Queued) {
            return Err(Error::conflict(format!(
                "It's not allowed to add locations if image status is {}.",
                img.status
            )));
        }
        let val_data = validation_data(img, std::slice::from_ref(value), &self.hashing_algorithm)?;
        let Some(at) = position(pos, self.locations.len(), true) else {
            return Err(Error::bad_request(
                "Invalid position for adding a location.",
            ));
        };
        self.check_quota(quota::count(self.locations.len()).saturating_add(1))?;
        let url = value["url"].as_str().unwrap_or_default().to_owned();
        let size = self.usable(&url)?;
        let mut loc = PatchLocation {
            id: None,
            url,
            metadata: value
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        };
        self.tag_store(&mut loc);
        if self
            .locations
            .iter()
            .any(|o| o.url == loc.url && o.metadata == loc.metadata)
        {
            return Err(duplicate(&loc.url));
        }
        // Python's list.insert: a position past the end appends.
        let at = at.min(self.locations.len());
        self.locations.insert(at, loc);
        if img.size.is_none_or(|s| s == 0) {
            img.size = i64::try_from(size).ok();
        }
        if img.status == ImageStatus::Queued {
            set_validation_data(img, val_data);
            img.status = ImageStatus::Active;
        }
        Ok(())
    }

    /// Glance's `_check_location_uri`: a URL a store sized as more than 0 bytes.
    fn usable(&self, url: &str) -> Result<u64> {
        self.sizes
            .get(url)
            .copied()
            .filter(|s| *s > 0)
            .ok_or_else(invalid_location)
    }

    /// Multi-store mode: a new http location names the http backend.
    fn tag_store(&self, loc: &mut PatchLocation) {
        let (Some(id), Value::Object(m)) = (&self.http_store_id, &mut loc.metadata) else {
            return;
        };
        let http = loc.url.starts_with("http://") || loc.url.starts_with("https://");
        if http && !m.contains_key("store") {
            m.insert("store".into(), Value::String(id.clone()));
        }
    }

    /// `remove /locations/<pos>`.
    pub fn remove(&mut self, img: &Image, pos: &str) -> Result<()> {
        if !self.may_delete {
            return Err(Error::policy("delete_image_location"));
        }
        if !self.shown {
            return Err(Error::forbidden(
                "It's not allowed to remove locations if locations are invisible.",
            ));
        }
        if img.status != ImageStatus::Active {
            return Err(Error::conflict(format!(
                "It's not allowed to remove locations if image status is {}.",
                img.status
            )));
        }
        if self.locations.len() == 1 {
            return Err(Error::Forbidden(Msg::Detail(
                "Cannot remove last location in the image.".into(),
            )));
        }
        let Some(at) = position(pos, self.locations.len(), false) else {
            return Err(Error::bad_request(
                "Invalid position for removing a location.",
            ));
        };
        let gone = self.locations.remove(at);
        self.removed.push((gone, true));
        Ok(())
    }

    fn check_quota(&self, attempted: i64) -> Result<()> {
        if quota::exceeded(attempted, self.quota) {
            return Err(Error::too_large(quota::limit_text(
                "image locations",
                attempted,
                self.quota,
            )));
        }
        Ok(())
    }

    /// Python's repr of Glance's location list (`id`, `url`, `metadata`, `status`).
    fn python_repr(&self) -> String {
        let list: Vec<Value> = self
            .locations
            .iter()
            .map(|l| {
                let mut m = Map::new();
                m.insert("id".into(), l.id.map_or(Value::Null, Value::from));
                m.insert("url".into(), Value::String(l.url.clone()));
                m.insert("metadata".into(), l.metadata.clone());
                m.insert("status".into(), Value::String("active".into()));
                Value::Object(m)
            })
            .collect();
        py_repr(&Value::Array(list))
    }
}

/// `locations` in a create body, as Glance's image factory takes them: an empty list is no
/// location; any URL goes through the store checks, after `image_location_quota`, and fails
/// them (module doc; Glance answers 500 for the `BadStoreUri` its create does not catch).
pub fn on_create(value: &Value, quota: i64) -> Result<()> {
    let n = value.as_array().map_or(0, Vec::len);
    if n == 0 {
        return Ok(());
    }
    let attempted = quota::count(n);
    if quota::exceeded(attempted, quota) {
        return Err(Error::too_large(quota::limit_text(
            "image locations",
            attempted,
            quota,
        )));
    }
    Err(invalid_location())
}

/// Glance's `BadStoreUri` for a URL it cannot use (`_check_location_uri`).
fn invalid_location() -> Error {
    Error::bad_request("Invalid location")
}

/// Glance's `DuplicateLocation`.
fn duplicate(url: &str) -> Error {
    Error::bad_request(format!("The location {url} already exists"))
}

/// Glance's `_get_locations_op_pos`: `-` is the end (add) or the last (remove), digits an
/// index; a removal must name an existing location.
fn position(pos: &str, len: usize, allow_max: bool) -> Option<usize> {
    let at = if !pos.is_empty() && pos.bytes().all(|b| b.is_ascii_digit()) {
        // Python's int() has no limit; anything past usize is past the end.
        pos.parse::<usize>().unwrap_or(usize::MAX)
    } else if pos == "-" {
        if allow_max {
            len
        } else {
            len.checked_sub(1)?
        }
    } else {
        return None;
    };
    (allow_max || at < len).then_some(at)
}

/// Python's `bytearray.fromhex`: pairs of hex digits, whitespace allowed between pairs.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let hi = c.to_digit(16)?;
        let lo = chars.next()?.to_digit(16)?;
        out.push((hi * 16 + lo) as u8);
    }
    Some(out)
}

/// `hashlib.new(algo).digest_size` for the algorithms `hashing_algorithm` takes.
pub fn digest_size(algo: &str) -> Option<usize> {
    match algo {
        "md5" => Some(16),
        "sha1" => Some(20),
        "sha224" => Some(28),
        "sha256" => Some(32),
        "sha384" => Some(48),
        "sha512" => Some(64),
        _ => None,
    }
}

/// The image's value of a validation-data key.
fn current<'a>(img: &'a Image, key: &str) -> Option<&'a str> {
    match key {
        "checksum" => img.checksum.as_deref(),
        "os_hash_algo" => img.os_hash_algo.as_deref(),
        "os_hash_value" => img.os_hash_value.as_deref(),
        _ => None,
    }
}

/// Glance's `_validate_validation_data`: the `validation_data` of `locations` merged, checked
/// against the image, and what it would set (only on a queued image).
fn validation_data(
    img: &Image,
    locations: &[Value],
    want_algo: &str,
) -> Result<Map<String, Value>> {
    let mut merged = Map::new();
    for loc in locations {
        let Some(data) = loc.get("validation_data").and_then(Value::as_object) else {
            continue;
        };
        for (k, v) in data {
            if merged.get(k).is_some_and(|old| old != v) {
                return Err(Error::conflict(format!("Conflicting values for {k}")));
            }
            merged.insert(k.clone(), v.clone());
        }
    }
    let mut new = Map::new();
    for (k, v) in merged {
        let cur = current(img, &k);
        if cur.is_some() && v.as_str() == cur {
            continue;
        }
        if cur.is_some_and(|c| !c.is_empty()) {
            return Err(Error::conflict(format!(
                "{k} is already set with a different value"
            )));
        }
        new.insert(k, v);
    }
    if new.is_empty() {
        return Ok(new);
    }
    if img.status != ImageStatus::Queued {
        let keys: Vec<&str> = new.keys().map(String::as_str).collect();
        return Err(Error::conflict(format!(
            "New value(s) for {} may only be provided when image status is 'queued'",
            keys.join(", ")
        )));
    }
    let text = |k: &str| new.get(k).and_then(Value::as_str).unwrap_or_default();
    if new.contains_key("checksum") {
        let v = text("checksum");
        let Some(bytes) = from_hex(v) else {
            return Err(Error::conflict(format!(
                "checksum ({v}) is not a valid hexadecimal value"
            )));
        };
        if bytes.len() != 16 {
            return Err(Error::conflict(format!(
                "checksum ({v}) is not the correct size for md5 (should be 16 bytes)"
            )));
        }
    }
    let algo = new.get("os_hash_algo").and_then(Value::as_str);
    if algo != Some(want_algo) {
        return Err(Error::conflict(format!(
            "os_hash_algo must be {want_algo}, not {}",
            algo.unwrap_or("None")
        )));
    }
    let v = text("os_hash_value");
    let Some(bytes) = from_hex(v) else {
        return Err(Error::conflict(format!(
            "os_hash_value ({v}) is not a valid hexadecimal value"
        )));
    };
    let want = digest_size(want_algo).unwrap_or(0);
    if bytes.len() != want {
        return Err(Error::conflict(format!(
            "os_hash_value ({v}) is not the correct size for {want_algo} (should be {want} bytes)"
        )));
    }
    Ok(new)
}

fn set_validation_data(img: &mut Image, data: Map<String, Value>) {
    for (k, v) in data {
        let v = v.as_str().map(str::to_owned);
        match k.as_str() {
            "checksum" => img.checksum = v,
            "os_hash_algo" => img.os_hash_algo = v,
            "os_hash_value" => img.os_hash_value = v,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    const SHA512: &str = "sha512";

    fn image(status: ImageStatus) -> Image {
        let now = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        let mut img = Image::new("i1".into(), Some("p1".into()), now);
        img.status = status;
        img
    }

    fn loc(id: i32, url: &str) -> PatchLocation {
        PatchLocation {
            id: Some(id),
            url: url.into(),
            metadata: json!({}),
        }
    }

    fn edit(locations: Vec<PatchLocation>) -> LocationEdit {
        LocationEdit {
            shown: true,
            may_set: true,
            may_delete: true,
            quota: 10,
            hashing_algorithm: SHA512.into(),
            locations,
            removed: vec![],
            ..LocationEdit::default()
        }
    }

    fn msg(e: Error) -> (u16, String) {
        let text = e.to_string();
        let (code, m) = text.split_once(": ").unwrap_or((&text, ""));
        (code.parse().unwrap(), m.to_owned())
    }

    #[test]
    fn positions_as_glance_reads_them() {
        for (pos, len, allow_max, want) in [
            ("-", 2, true, Some(2)),
            ("-", 2, false, Some(1)),
            ("-", 0, false, None),
            ("0", 2, false, Some(0)),
            ("1", 2, false, Some(1)),
            ("2", 2, false, None),
            ("2", 2, true, Some(2)),
            ("7", 2, true, Some(7)),
            ("99999999999999999999999", 2, false, None),
            ("", 2, true, None),
            ("x", 2, true, None),
            ("-1", 2, false, None),
            ("+1", 2, true, None),
        ] {
            assert_eq!(
                position(pos, len, allow_max),
                want,
                "{pos:?} {len} {allow_max}"
            );
        }
    }

    #[test]
    fn hex_as_python_fromhex() {
        assert_eq!(from_hex("0aff"), Some(vec![10, 255]));
        assert_eq!(from_hex("0a ff"), Some(vec![10, 255]));
        assert_eq!(from_hex(""), Some(vec![]));
        assert_eq!(from_hex("0af"), None);
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn each_op_is_refused_while_locations_are_hidden() {
        let img = image(ImageStatus::Active);
        let mut e = LocationEdit::hidden(true);
        let url = json!({"url": "http://a/b", "metadata": {}});
        assert_eq!(
            msg(e.add(&mut img.clone(), "-", &url).unwrap_err()),
            (
                403,
                "It's not allowed to add locations if locations are invisible.".into()
            )
        );
        assert_eq!(
            msg(e.replace(&mut img.clone(), &json!([url])).unwrap_err()),
            (
                403,
                "It's not allowed to update locations if locations are invisible.".into()
            )
        );
        assert_eq!(
            msg(e.replace(&mut img.clone(), &json!([])).unwrap_err()),
            (403, "Cannot set locations to empty list.".into())
        );
        assert_eq!(
            msg(e.remove(&img, "0").unwrap_err()),
            (
                403,
                "It's not allowed to remove locations if locations are invisible.".into()
            )
        );
        let mut e = LocationEdit::hidden(false);
        assert_eq!(
            msg(e.remove(&img, "0").unwrap_err()),
            (
                403,
                "You are not authorized to complete delete_image_location action.".into()
            )
        );
    }

    #[test]
    fn policies_come_before_everything_but_the_empty_list() {
        let mut e = edit(vec![loc(1, "file:///a"), loc(2, "file:///b")]);
        e.may_set = false;
        e.may_delete = false;
        let mut img = image(ImageStatus::Active);
        let v = json!({"url": "http://a/b", "metadata": {}});
        assert_eq!(
            msg(e.add(&mut img.clone(), "x", &v).unwrap_err()).1,
            "You are not authorized to complete set_image_location action."
        );
        assert_eq!(
            msg(e.replace(&mut img, &json!([v])).unwrap_err()).1,
            "You are not authorized to complete set_image_location action."
        );
        assert_eq!(
            msg(e.replace(&mut img, &json!([])).unwrap_err()).1,
            "Cannot set locations to empty list."
        );
        assert_eq!(
            msg(e.remove(&img, "x").unwrap_err()).1,
            "You are not authorized to complete delete_image_location action."
        );
    }

    #[test]
    fn add_checks_in_glances_order() {
        let v = json!({"url": "http://a/b", "metadata": {}});
        let mut e = edit(vec![loc(1, "file:///a")]);
        for status in [
            ImageStatus::Saving,
            ImageStatus::Deactivated,
            ImageStatus::Importing,
        ] {
            assert_eq!(
                msg(e.add(&mut image(status), "-", &v).unwrap_err()),
                (
                    409,
                    format!("It's not allowed to add locations if image status is {status}.")
                )
            );
        }
        let img = image(ImageStatus::Active);
        assert_eq!(
            msg(e.add(&mut img.clone(), "x", &v).unwrap_err()),
            (400, "Invalid position for adding a location.".into())
        );
        e.quota = 1;
        assert_eq!(
            msg(e.add(&mut img.clone(), "-", &v).unwrap_err()),
            (413, "The limit has been exceeded on the number of allowed image locations. Attempted: 2, Maximum: 1".into())
        );
        e.quota = -1;
        assert_eq!(
            msg(e.add(&mut img.clone(), "5", &v).unwrap_err()),
            (400, "Invalid location".into())
        );
        assert_eq!(e.locations, vec![loc(1, "file:///a")]);
        assert!(e.removed.is_empty());
    }

    #[test]
    fn validation_data_as_glance_checks_it() {
        let q = image(ImageStatus::Queued);
        let hash = "ab".repeat(64);
        let with = |vd: Value| json!({"url": "http://a/b", "metadata": {}, "validation_data": vd});
        let cases = [
            (
                json!({"os_hash_algo": "sha256", "os_hash_value": hash}),
                "os_hash_algo must be sha512, not sha256",
            ),
            (
                json!({"os_hash_algo": SHA512, "os_hash_value": "zz"}),
                "os_hash_value (zz) is not a valid hexadecimal value",
            ),
            (
                json!({"os_hash_algo": SHA512, "os_hash_value": "abcd"}),
                "os_hash_value (abcd) is not the correct size for sha512 (should be 64 bytes)",
            ),
            (
                json!({"checksum": "x".repeat(32), "os_hash_algo": SHA512, "os_hash_value": hash}),
                "checksum (xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx) is not a valid hexadecimal value",
            ),
            (
                json!({"checksum": "ab", "os_hash_algo": SHA512, "os_hash_value": hash}),
                "checksum (ab) is not the correct size for md5 (should be 16 bytes)",
            ),
        ];
        for (vd, want) in cases {
            let got = validation_data(&q, &[with(vd.clone())], SHA512).unwrap_err();
            assert_eq!(msg(got), (409, want.to_owned()), "{vd}");
        }
        let good = json!({"os_hash_algo": SHA512, "os_hash_value": hash});
        assert_eq!(
            validation_data(&q, &[with(good.clone())], SHA512)
                .unwrap()
                .len(),
            2
        );
        // Two locations that disagree.
        let other = json!({"os_hash_algo": SHA512, "os_hash_value": "cd".repeat(64)});
        assert_eq!(
            msg(validation_data(&q, &[with(good.clone()), with(other)], SHA512).unwrap_err()),
            (409, "Conflicting values for os_hash_value".into())
        );
        // An active image: new values are refused, the current ones accepted.
        let mut a = image(ImageStatus::Active);
        assert_eq!(
            msg(validation_data(&a, &[with(good.clone())], SHA512).unwrap_err()),
            (409, "New value(s) for os_hash_algo, os_hash_value may only be provided when image status is 'queued'".into())
        );
        a.os_hash_algo = Some(SHA512.into());
        a.os_hash_value = Some(hash.clone());
        assert!(validation_data(&a, &[with(good)], SHA512)
            .unwrap()
            .is_empty());
        a.os_hash_value = Some("ef".repeat(64));
        let bad = json!({"os_hash_algo": SHA512, "os_hash_value": hash});
        assert_eq!(
            msg(validation_data(&a, &[with(bad)], SHA512).unwrap_err()),
            (
                409,
                "os_hash_value is already set with a different value".into()
            )
        );
    }

    #[test]
    fn locations_on_create() {
        assert!(on_create(&json!([]), 10).is_ok());
        let one = json!([{"url": "http://h/x", "metadata": {}}]);
        assert_eq!(
            msg(on_create(&one, 10).unwrap_err()),
            (400, "Invalid location".into())
        );
        assert_eq!(msg(on_create(&one, 0).unwrap_err()).0, 413);
    }

    #[test]
    fn remove_pops_one_location() {
        let img = image(ImageStatus::Active);
        let mut one = edit(vec![loc(1, "file:///a")]);
        assert_eq!(
            msg(one.remove(&img, "0").unwrap_err()),
            (403, "Cannot remove last location in the image.".into())
        );
        let mut e = edit(vec![
            loc(1, "file:///a"),
            loc(2, "file:///b"),
            loc(3, "file:///c"),
        ]);
        assert_eq!(
            msg(e.remove(&image(ImageStatus::Queued), "0").unwrap_err()),
            (
                409,
                "It's not allowed to remove locations if image status is queued.".into()
            )
        );
        assert_eq!(
            msg(e.remove(&img, "3").unwrap_err()),
            (400, "Invalid position for removing a location.".into())
        );
        e.remove(&img, "1").unwrap();
        e.remove(&img, "-").unwrap();
        assert_eq!(e.locations, vec![loc(1, "file:///a")]);
        assert_eq!(
            e.removed,
            vec![(loc(2, "file:///b"), true), (loc(3, "file:///c"), true)]
        );
    }

    #[test]
    fn replace_changes_metadata_of_the_same_urls_only() {
        let mut img = image(ImageStatus::Active);
        let mut e = edit(vec![loc(1, "file:///a"), loc(2, "file:///b")]);
        let other =
            json!([{"url": "file:///a", "metadata": {}}, {"url": "http://x/y", "metadata": {}}]);
        assert_eq!(
            msg(e.replace(&mut img, &other).unwrap_err()),
            (400, "Original locations is not empty: [{'id': 1, 'url': 'file:///a', 'metadata': {}, 'status': 'active'}, {'id': 2, 'url': 'file:///b', 'metadata': {}, 'status': 'active'}]".into())
        );
        e.quota = 1;
        let same = json!([{"url": "file:///b", "metadata": {"k": "v"}}, {"url": "file:///a", "metadata": {}}]);
        assert_eq!(msg(e.replace(&mut img, &same).unwrap_err()).0, 413);
        e.quota = 2;
        e.replace(&mut img, &same).unwrap();
        assert_eq!(
            e.locations,
            vec![
                PatchLocation {
                    id: None,
                    url: "file:///b".into(),
                    metadata: json!({"k": "v"})
                },
                PatchLocation {
                    id: None,
                    url: "file:///a".into(),
                    metadata: json!({})
                },
            ]
        );
        assert_eq!(
            e.removed,
            vec![(loc(1, "file:///a"), false), (loc(2, "file:///b"), false)]
        );
        // No location yet: any URL would have to be checked in a store.
        let mut e = edit(vec![]);
        let mut q = image(ImageStatus::Queued);
        assert_eq!(
            msg(e
                .replace(&mut q, &json!([{"url": "http://x/y", "metadata": {}}]))
                .unwrap_err()),
            (400, "Invalid location".into())
        );
        assert_eq!(
            msg(e
                .replace(
                    &mut image(ImageStatus::Saving),
                    &json!([{"url": "u", "metadata": {}}])
                )
                .unwrap_err()),
            (
                409,
                "It's not allowed to replace locations if image status is saving.".into()
            )
        );
    }
}
