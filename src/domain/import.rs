//! The interoperable import's rules (`glance/api/v2/images.py` import, the flow's bookkeeping
//! in `glance/async_/flows/api_image_import.py`) and those of import tasks made by hand: what a
//! request asks, whether the image can take it, which stores it targets, the lock property and
//! the per-store lists, and why a hand-made task fails. No I/O: `service::import` runs them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::domain::image::{Image, ImageStatus};
use crate::domain::task::Task;
use crate::domain::uri_filter::{self, ImportFilter};
use crate::error::Error;

/// The image property holding the import lock: the id of the task that owns the image.
pub const LOCK: &str = "os_glance_import_task";
pub const IMPORTING_TO_STORES: &str = "os_glance_importing_to_stores";
pub const FAILED_IMPORT: &str = "os_glance_failed_import";
pub const STAGE_HOST: &str = "os_glance_stage_host";
pub const HASH_OP_HOST: &str = "os_glance_hash_op_host";
/// Properties Glance keeps on an image for its workers but never shows in the API.
pub const HIDDEN_PROPERTIES: &[&str] = &[STAGE_HOST, HASH_OP_HOST];
/// The properties naming the worker that holds an image's local state (its staged data, a hash
/// being computed): requests that need that state are replayed there (Glance's `PROXYABLE_HOSTS`).
const PROXYABLE_HOSTS: &[&str] = &[STAGE_HOST, HASH_OP_HOST];

/// The worker a request about `img` must be replayed on, when it is another one: the first
/// proxyable host recorded on the image that is not `self_url` (this worker's own URL,
/// `worker_self_reference_url` or else `public_endpoint`). With no URL of its own, every
/// recorded host is another worker's, as in Glance.
pub fn proxy_host<'a>(img: &'a Image, self_url: Option<&str>) -> Option<&'a str> {
    PROXYABLE_HOSTS
        .iter()
        .filter_map(|k| img.properties.get(*k))
        .map(String::as_str)
        .find(|host| !host.is_empty() && Some(*host) != self_url)
}

/// What a stage records as `os_glance_stage_host`: this worker's own URL, else the public
/// endpoint, else nothing (Glance's `worker_self_reference_url or public_endpoint`).
pub fn stage_host(worker_url: Option<&str>, public_endpoint: Option<&str>) -> Option<String> {
    worker_url
        .or(public_endpoint)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
}

/// Glance's message when a task fails for a reason it does not explain.
pub const INTERNAL_ERROR: &str = "Task failed due to Internal Error";

/// What `POST /v2/images/{id}/import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub method: String,
    pub uri: Option<String>,
    pub all_stores_must_succeed: bool,
    /// The `X-Image-Meta-Store` header.
    pub header_store: Option<String>,
    /// The request body as sent; recorded as the task's `import_req`.
    pub body: Value,
}

impl ImportRequest {
    /// The request deserializer's checks (`_validate_import_body`), in its order.
    pub fn parse(body: Value, enabled: &[String]) -> Result<ImportRequest, Error> {
        let method = body
            .get("method")
            .ok_or_else(|| Error::bad_request("Import request requires a 'method' field."))?;
        let name = method
            .get("name")
            .ok_or_else(|| Error::bad_request("Import request requires a 'name' field."))?;
        let name_text = match name {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !enabled.contains(&name_text) || !name.is_string() {
            return Err(Error::bad_request(format!(
                "Unknown import method name '{name_text}'."
            )));
        }
        let must = body
            .get("all_stores_must_succeed")
            .unwrap_or(&Value::Bool(true));
        let Value::Bool(must) = *must else {
            return Err(Error::bad_request(
                "'all_stores_must_succeed' must be boolean value only",
            ));
        };
        if !body
            .get("all_stores")
            .unwrap_or(&Value::Bool(false))
            .is_boolean()
        {
            return Err(Error::bad_request(
                "'all_stores' must be boolean value only",
            ));
        }
        let uri = match method.get("uri") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        Ok(ImportRequest {
            method: name_text,
            uri,
            all_stores_must_succeed: must,
            header_store: None,
            body,
        })
    }
}

/// Drop the lock of `task` (if it holds it): Glance's `delete_property_atomic`.
pub fn drop_lock(img: &mut Image, task_id: &str) -> bool {
    if img.properties.get(LOCK).map(String::as_str) == Some(task_id) {
        img.properties.remove(LOCK);
        true
    } else {
        false
    }
}

/// The flow's `merge_store_list`: add (or with `subtract`, remove) `stores`
/// to the comma-separated list under `key`, written back sorted. With the
/// single unnamed store `stores` is empty and the list only gets normalised.
pub fn merge_store_list(img: &mut Image, key: &str, stores: &[&str], subtract: bool) {
    let mut current: BTreeSet<String> = img
        .properties
        .get(key)
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for s in stores {
        if subtract {
            current.remove(*s);
        } else {
            current.insert((*s).to_owned());
        }
    }
    img.properties.insert(
        key.to_owned(),
        current.into_iter().collect::<Vec<_>>().join(","),
    );
}

/// The stores an import targets (`get_stores_from_request`): none with the single unnamed
/// store (`default` is `None`); else `all_stores` (every writable backend, `enabled`, in
/// order), `stores`, or the `X-Image-Meta-Store` header (by default the default backend),
/// each of which must be enabled (409 otherwise, as Glance).
pub fn import_stores(
    enabled: &[&str],
    default: Option<&str>,
    r: &ImportRequest,
) -> Result<Vec<String>, Error> {
    let Some(default) = default else {
        return Ok(Vec::new());
    };
    let all = r.body.get("all_stores") == Some(&Value::Bool(true));
    let listed = r.body.get("stores");
    let stores: Vec<Value> = if all {
        if listed.is_some() || r.header_store.is_some() {
            return Err(Error::bad_request(
                "All_stores parameter can't be used with x-image-meta-store header or stores parameter",
            ));
        }
        enabled
            .iter()
            .map(|s| Value::String((*s).to_owned()))
            .collect()
    } else if let Some(listed) = listed {
        if r.header_store.is_some() {
            return Err(Error::bad_request(
                "Stores parameter and x-image-meta-store header can't be both specified",
            ));
        }
        match listed {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        }
    } else {
        vec![Value::String(
            r.header_store.clone().unwrap_or_else(|| default.to_owned()),
        )]
    };
    stores
        .into_iter()
        .map(|v| match v {
            Value::String(s) if enabled.contains(&s.as_str()) => Ok(s),
            Value::String(s) => Err(unknown_store(&s)),
            other => Err(unknown_store(&other.to_string())),
        })
        .collect()
}

/// `copy-image`'s targets, given the stores the image is already in (`existing`, location
/// order): with `all_stores` those are left out (all of them: nothing to do, an empty list);
/// else naming one of them is a 400, as Glance.
pub fn copy_targets(
    mut stores: Vec<String>,
    existing: &[String],
    all_stores: bool,
) -> Result<Vec<String>, Error> {
    if all_stores {
        stores.retain(|s| !existing.contains(s));
        return Ok(stores);
    }
    match existing.iter().find(|e| stores.contains(e)) {
        Some(e) => Err(Error::bad_request(format!(
            "Image is already present at store '{e}'"
        ))),
        None => Ok(stores),
    }
}

/// Glance's `_verify_uploaded_data`: data written to one more store must be the data the
/// image already has (its size, `os_hash_value` and `checksum`, those that are set).
pub fn verify_same_data(
    img: &Image,
    size: u64,
    hash_value: &str,
    checksum: &str,
) -> Result<(), String> {
    let differs = [
        ("size", img.size.is_some_and(|s| s != size as i64)),
        (
            "os_hash_value",
            img.os_hash_value
                .as_deref()
                .is_some_and(|h| h != hash_value),
        ),
        (
            "checksum",
            img.checksum.as_deref().is_some_and(|c| c != checksum),
        ),
    ];
    match differs.iter().find(|(_, d)| *d) {
        Some((attr, _)) => Err(format!(
            "{attr} of uploaded data is different from current value set on the image."
        )),
        None => Ok(()),
    }
}

/// glance_store's `UnknownScheme` for a store id that is not enabled.
pub fn unknown_store(id: &str) -> Error {
    Error::conflict(format!("Unknown scheme '{id}' found in URI"))
}

/// The import's checks on the image itself, in Glance's order: its status allows the method
/// and its formats are set (409 otherwise).
pub fn check_target(img: &Image, method: &str) -> Result<(), Error> {
    let copy = method == "copy-image";
    if img.status == ImageStatus::Active && !copy {
        return Err(Error::conflict(
            "Image with status active cannot be target for import",
        ));
    }
    if img.status != ImageStatus::Active && copy {
        return Err(Error::conflict(
            "Only images with status active can be targeted for copying",
        ));
    }
    if img.status != ImageStatus::Queued && method == "web-download" {
        return Err(Error::conflict(format!(
            "Image needs to be in 'queued' state to use '{method}' method"
        )));
    }
    if img.status != ImageStatus::Uploading && method == "glance-direct" {
        return Err(Error::conflict(
            "Image needs to be staged before 'glance-direct' method can be used",
        ));
    }
    if img.container_format.is_none() {
        return Err(Error::conflict(
            "'container_format' needs to be set before import",
        ));
    }
    if img.disk_format.is_none() {
        return Err(Error::conflict(
            "'disk_format' needs to be set before import",
        ));
    }
    Ok(())
}

/// web-download: the data received must be as long as the server announced (a length of 0 is
/// taken as unknown).
pub fn downloaded_size_mismatch(announced: Option<u64>, got: u64) -> Option<String> {
    match announced {
        Some(l) if l != got && l != 0 => Some(format!(
            "downloaded data size {got} is different from expected {l}"
        )),
        _ => None,
    }
}

/// glance-direct: the staged file must still be as long as it was when the stage finished.
pub fn staged_size_mismatch(recorded: Option<i64>, found: u64) -> Option<String> {
    match recorded {
        Some(expected) if expected != found as i64 => Some(format!(
            "Image size mismatch. Expected {expected} but got {found}"
        )),
        _ => None,
    }
}

/// `validate_legacy_import_from_uri`: the checks Glance makes when a legacy
/// `import` task is created (400 with its messages). `resolves` is the host-name check of the
/// URL filter (it may look names up: call this off the async workers).
pub fn validate_legacy_import_from(
    import_from: &Value,
    filter: &ImportFilter,
    resolves: &dyn Fn(&str) -> bool,
) -> Result<(), Error> {
    let uri = match import_from {
        Value::String(s) if !s.is_empty() => s.as_str(),
        Value::Null => return Err(Error::bad_request("Invalid location: None")),
        Value::String(_) => return Err(Error::bad_request("Invalid location: ")),
        other => return Err(Error::bad_request(format!("Invalid location: {other}"))),
    };
    if !(uri.starts_with("http://") || uri.starts_with("https://")) {
        if uri.starts_with("file:///") || uri.starts_with("filesystem:///") {
            return Err(Error::bad_request(
                "File based imports are not allowed. Please use a non-local source of image data.",
            ));
        }
        return Err(Error::bad_request(
            "The given uri is not valid. Please specify a valid uri from the following list of \
             supported uri ['http']",
        ));
    }
    if !uri_filter::allowed(uri, filter, resolves) {
        return Err(Error::bad_request(format!(
            "URI for legacy import task does not pass filtering: {uri}"
        )));
    }
    Ok(())
}

/// Why a task created through `POST /v2/tasks` fails when it runs (Glance's
/// `unpack_task_input`, then what its flows do with such a task).
pub fn run_failure(t: &Task) -> String {
    let input = t.input.as_object();
    let empty = input.is_none_or(Map::is_empty);
    let missing = |keys: &[&str]| {
        keys.iter()
            .find(|k| input.is_none_or(|m| !m.contains_key(**k)))
            .map(|k| format!("Input does not contain '{k}' field"))
    };
    match t.task_type.as_str() {
        "api_image_import" if empty => "Input to api_image_import task is empty.".into(),
        "api_image_import" if missing(&["image_id"]).is_some() => {
            "Missing required 'image_id' field".into()
        }
        "location_import" if empty => "Input to location_import task is empty.".into(),
        "location_import" => missing(&["image_id", "loc_url", "validation_data"])
            .unwrap_or_else(|| INTERNAL_ERROR.into()),
        "import" => missing(&["import_from", "import_from_format", "image_properties"])
            .unwrap_or_else(|| {
                "Legacy 'import' tasks are not supported by this server; use the interoperable \
                 image import API (web-download) instead."
                    .into()
            }),
        // An import task made by hand holds no image lock: Glance aborts it.
        _ => INTERNAL_ERROR.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn import_body_checks() {
        let enabled = vec!["glance-direct".to_owned(), "web-download".to_owned()];
        let ok = ImportRequest::parse(
            json!({"method": {"name": "web-download", "uri": "http://x/y"}}),
            &enabled,
        )
        .unwrap();
        assert_eq!(
            (ok.method.as_str(), ok.uri.as_deref()),
            ("web-download", Some("http://x/y"))
        );
        assert!(ok.all_stores_must_succeed);
        for (body, msg) in [
            (json!({}), "Import request requires a 'method' field."),
            (
                json!({"method": {}}),
                "Import request requires a 'name' field.",
            ),
            (
                json!({"method": {"name": "glance-download"}}),
                "Unknown import method name 'glance-download'.",
            ),
            (
                json!({"method": {"name": "glance-direct"}, "all_stores_must_succeed": "no"}),
                "'all_stores_must_succeed' must be boolean value only",
            ),
            (
                json!({"method": {"name": "glance-direct"}, "all_stores": 1}),
                "'all_stores' must be boolean value only",
            ),
        ] {
            assert_eq!(
                ImportRequest::parse(body.clone(), &enabled).unwrap_err(),
                Error::bad_request(msg),
                "{body}"
            );
        }
    }

    #[test]
    fn store_lists_and_lock() {
        let mut img = Image::new("i".into(), None, chrono::Utc::now().naive_utc());
        merge_store_list(&mut img, IMPORTING_TO_STORES, &[], false);
        assert_eq!(img.properties[IMPORTING_TO_STORES], "");
        img.properties.insert(FAILED_IMPORT.into(), "b,a,".into());
        merge_store_list(&mut img, FAILED_IMPORT, &[], false);
        assert_eq!(img.properties[FAILED_IMPORT], "a,b");
        img.properties.insert(LOCK.into(), "t1".into());
        assert!(!drop_lock(&mut img, "t2"));
        assert!(drop_lock(&mut img, "t1"));
        assert!(!img.properties.contains_key(LOCK));
    }

    #[test]
    fn target_checks() {
        let t = chrono::Utc::now().naive_utc();
        let mut img = Image::new("i".into(), None, t);
        assert_eq!(
            check_target(&img, "glance-direct"),
            Err(Error::conflict(
                "Image needs to be staged before 'glance-direct' method can be used"
            ))
        );
        assert_eq!(
            check_target(&img, "web-download"),
            Err(Error::conflict(
                "'container_format' needs to be set before import"
            ))
        );
        img.container_format = Some("bare".into());
        img.disk_format = Some("raw".into());
        assert_eq!(check_target(&img, "web-download"), Ok(()));
        img.status = ImageStatus::Uploading;
        assert_eq!(check_target(&img, "glance-direct"), Ok(()));
        assert_eq!(
            check_target(&img, "web-download"),
            Err(Error::conflict(
                "Image needs to be in 'queued' state to use 'web-download' method"
            ))
        );
        assert_eq!(
            check_target(&img, "copy-image"),
            Err(Error::conflict(
                "Only images with status active can be targeted for copying"
            ))
        );
        img.status = ImageStatus::Active;
        assert_eq!(
            check_target(&img, "glance-direct"),
            Err(Error::conflict(
                "Image with status active cannot be target for import"
            ))
        );
        assert_eq!(check_target(&img, "copy-image"), Ok(()));
        img.size = Some(3);
        img.checksum = Some("c".into());
        assert_eq!(verify_same_data(&img, 3, "h", "c"), Ok(()));
        assert_eq!(
            verify_same_data(&img, 4, "h", "c").unwrap_err(),
            "size of uploaded data is different from current value set on the image."
        );
        assert!(verify_same_data(&img, 3, "h", "d").is_err());
    }

    #[test]
    fn stores_of_a_request() {
        let r = |body: Value, header: Option<&str>| ImportRequest {
            method: "glance-direct".into(),
            uri: None,
            all_stores_must_succeed: true,
            header_store: header.map(str::to_owned),
            body,
        };
        let on = ["fast", "slow"];
        assert_eq!(
            import_stores(&[], None, &r(json!({"stores": ["x"]}), None)),
            Ok(vec![])
        );
        assert_eq!(
            import_stores(&on, Some("fast"), &r(json!({}), None)),
            Ok(vec!["fast".to_owned()])
        );
        assert_eq!(
            import_stores(&on, Some("fast"), &r(json!({}), Some("slow"))),
            Ok(vec!["slow".to_owned()])
        );
        assert_eq!(
            import_stores(&on, Some("fast"), &r(json!({"all_stores": true}), None)),
            Ok(vec!["fast".to_owned(), "slow".to_owned()])
        );
        assert_eq!(
            import_stores(
                &on,
                Some("fast"),
                &r(json!({"stores": ["slow", "x"]}), None)
            ),
            Err(unknown_store("x"))
        );
        assert!(matches!(
            import_stores(
                &on,
                Some("fast"),
                &r(json!({"all_stores": true}), Some("fast"))
            ),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            import_stores(
                &on,
                Some("fast"),
                &r(json!({"stores": ["fast"]}), Some("fast"))
            ),
            Err(Error::BadRequest(_))
        ));
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            copy_targets(s(&["a", "b"]), &s(&["a"]), true),
            Ok(s(&["b"]))
        );
        assert_eq!(copy_targets(s(&["a"]), &s(&["a"]), true), Ok(vec![]));
        assert_eq!(
            copy_targets(s(&["b", "a"]), &s(&["a"]), false),
            Err(Error::bad_request("Image is already present at store 'a'"))
        );
        assert_eq!(copy_targets(s(&["b"]), &s(&["a"]), false), Ok(s(&["b"])));
    }

    #[test]
    fn sizes_checked_after_a_copy() {
        assert_eq!(downloaded_size_mismatch(None, 5), None);
        assert_eq!(downloaded_size_mismatch(Some(0), 5), None);
        assert_eq!(downloaded_size_mismatch(Some(5), 5), None);
        assert_eq!(
            downloaded_size_mismatch(Some(4), 5).as_deref(),
            Some("downloaded data size 5 is different from expected 4")
        );
        assert_eq!(staged_size_mismatch(None, 5), None);
        assert_eq!(
            staged_size_mismatch(Some(4), 5).as_deref(),
            Some("Image size mismatch. Expected 4 but got 5")
        );
    }

    #[test]
    fn failures_of_hand_made_tasks() {
        let mk = |ty: &str, input: Value| {
            Task::new(
                "i".into(),
                ty,
                "o".into(),
                input,
                None,
                None,
                None,
                chrono::Utc::now().naive_utc(),
            )
        };
        use serde_json::json as j;
        assert_eq!(
            run_failure(&mk("api_image_import", j!({}))),
            "Input to api_image_import task is empty."
        );
        assert_eq!(
            run_failure(&mk("api_image_import", j!({"x": 1}))),
            "Missing required 'image_id' field"
        );
        assert_eq!(
            run_failure(&mk("api_image_import", j!({"image_id": "x"}))),
            INTERNAL_ERROR
        );
        assert_eq!(
            run_failure(&mk("location_import", j!({"image_id": "x"}))),
            "Input does not contain 'loc_url' field"
        );
        assert_eq!(
            run_failure(&mk("import", j!({"import_from": "http://x"}))),
            "Input does not contain 'import_from_format' field"
        );
    }

    #[test]
    fn a_request_is_replayed_on_the_worker_holding_the_image_state() {
        let mut img = Image::new(
            "i".into(),
            Some("p".into()),
            chrono::NaiveDateTime::default(),
        );
        assert_eq!(proxy_host(&img, Some("http://a:9292")), None);
        img.properties
            .insert(STAGE_HOST.into(), "http://a:9292".into());
        // Its own stage: handled here.
        assert_eq!(proxy_host(&img, Some("http://a:9292")), None);
        assert_eq!(
            proxy_host(&img, Some("http://b:9292")),
            Some("http://a:9292")
        );
        // No URL of its own: every recorded host is another worker's.
        assert_eq!(proxy_host(&img, None), Some("http://a:9292"));
        img.properties.insert(STAGE_HOST.into(), String::new());
        assert_eq!(proxy_host(&img, None), None);
        img.properties
            .insert(HASH_OP_HOST.into(), "http://c:9292".into());
        assert_eq!(
            proxy_host(&img, Some("http://b:9292")),
            Some("http://c:9292")
        );
    }

    #[test]
    fn the_stage_host_is_the_workers_url_else_the_public_endpoint() {
        assert_eq!(
            stage_host(Some("http://w:9292"), Some("https://p")).as_deref(),
            Some("http://w:9292")
        );
        assert_eq!(
            stage_host(None, Some("https://p")).as_deref(),
            Some("https://p")
        );
        assert_eq!(stage_host(None, None), None);
        assert_eq!(stage_host(Some(""), None), None);
    }
}
