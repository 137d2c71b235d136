//! Glance's multi-store mode: `[DEFAULT] enabled_backends = <id>:<kind>,...` with
//! `[glance_store] default_backend`, each backend configured in its own `[<id>]` section
//! (glance_store's `multi_backend`): its store options, `store_description` and `weight`.

use std::path::{Path, PathBuf};

use super::stores::{S3Config, StoreKind};
use super::swift::SwiftConfig;
use super::RawConfig;

/// One entry of `enabled_backends`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedBackend {
    pub id: String,
    pub kind: StoreKind,
    /// `[<id>] store_description`.
    pub description: Option<String>,
    /// `[<id>] weight` (glance_store's option, default 0): locations of heavier stores are
    /// read (and listed in `stores`) first.
    pub weight: i64,
    /// Where and how the backend keeps data.
    pub options: BackendOptions,
}

/// A backend's store options, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendOptions {
    /// `filesystem_store_datadir` (new data), and `filesystem_store_datadirs` (read too).
    File {
        datadir: PathBuf,
        datadirs: Vec<PathBuf>,
    },
    S3(S3Config),
    Swift(SwiftConfig),
}

/// The message for an `enabled_backends` glint cannot take.
fn invalid(list: &str, why: &str) -> String {
    format!(
        "invalid value '{list}' for [DEFAULT] enabled_backends: {why} (expected '<id>:<kind>,...', kind file, s3 or swift, and at most one http)"
    )
}

/// `enabled_backends` parsed: the `(id, kind)` entries in the configured order, and the
/// default backend's id.
pub type Entries = (Vec<(String, StoreKind)>, String);

/// The `(id, kind)` entries of `enabled_backends` in the configured order, and the default
/// backend's id; `None` in single-store mode.
pub fn entries(raw: &RawConfig) -> Result<Option<Entries>, String> {
    let Some(list) = raw.get("DEFAULT", "enabled_backends") else {
        return Ok(None);
    };
    let mut out: Vec<(String, StoreKind)> = Vec::new();
    let mut http_ids: Vec<&str> = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, kind) = entry
            .split_once(':')
            .map(|(i, k)| (i.trim(), k.trim()))
            .unwrap_or((entry, ""));
        let kind = match kind {
            // The read-only http store is not a place for data (`http_entry`); its id is still
            // one of the backends'.
            "http" => {
                if out.iter().any(|(i, _)| i == id) || http_ids.contains(&id) {
                    return Err(invalid(list, &format!("'{id}' is given twice")));
                }
                http_ids.push(id);
                continue;
            }
            "file" => StoreKind::File,
            "s3" => StoreKind::S3,
            "swift" => StoreKind::Swift,
            "" => return Err(invalid(list, &format!("'{id}' has no kind"))),
            other => {
                return Err(invalid(
                    list,
                    &format!("glint does not support the '{other}' store"),
                ))
            }
        };
        // glance reserves these ids for its own staging and tasks stores.
        if id.is_empty() || id.starts_with("os_glance_") {
            return Err(invalid(list, &format!("'{id}' is not a usable store id")));
        }
        if out.iter().any(|(i, _)| i == id) || http_ids.contains(&id) {
            return Err(invalid(list, &format!("'{id}' is given twice")));
        }
        out.push((id.to_owned(), kind));
    }
    if out.is_empty() {
        return Err(invalid(list, "no backend"));
    }
    let ids = out
        .iter()
        .map(|(i, _)| i.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let default = match raw.get("glance_store", "default_backend") {
        Some(d) if out.iter().any(|(i, _)| i == d) => d.to_owned(),
        Some(d) if http_entry(raw)?.as_deref() == Some(d) => {
            return Err(format!(
                "invalid value '{d}' for [glance_store] default_backend: the http store is read-only"
            ))
        }
        Some(d) => {
            return Err(format!(
                "invalid value '{d}' for [glance_store] default_backend: not in [DEFAULT] enabled_backends ({ids})"
            ))
        }
        None => {
            return Err(
                "[glance_store] default_backend must be set when [DEFAULT] enabled_backends is"
                    .to_owned(),
            )
        }
    };
    Ok(Some((out, default)))
}

/// The id of the `<id>:http` entry of `enabled_backends` (glance_store's read-only http store,
/// at most one), which reads http(s) locations beside the data backends.
pub fn http_entry(raw: &RawConfig) -> Result<Option<String>, String> {
    let Some(list) = raw.get("DEFAULT", "enabled_backends") else {
        return Ok(None);
    };
    let ids: Vec<&str> = list
        .split(',')
        .filter_map(|e| e.split_once(':'))
        .filter(|(_, kind)| kind.trim() == "http")
        .map(|(id, _)| id.trim())
        .collect();
    match ids[..] {
        [] => Ok(None),
        [id] if !id.is_empty() && !id.starts_with("os_glance_") => Ok(Some(id.to_owned())),
        [id] => Err(invalid(list, &format!("'{id}' is not a usable store id"))),
        _ => Err(invalid(list, "glint takes at most one http store")),
    }
}

/// Every backend with its options. The default backend's file directories are the ones
/// `Config` already resolved (`default_dirs`); another file backend reads its own section's
/// `filesystem_store_datadir(s)`, else keeps its data in `<data-dir>/images-<id>`.
pub fn from_raw(
    raw: &RawConfig,
    entries: &[(String, StoreKind)],
    default: &str,
    default_dirs: (&Path, &[PathBuf]),
    data_dir: &Path,
) -> Result<Vec<NamedBackend>, String> {
    entries
        .iter()
        .map(|(id, kind)| {
            let options = match kind {
                StoreKind::File if id == default => BackendOptions::File {
                    datadir: default_dirs.0.to_owned(),
                    datadirs: default_dirs.1.to_vec(),
                },
                StoreKind::File => {
                    let datadirs = if raw.get_all(id, "filesystem_store_datadirs").is_empty() {
                        Vec::new()
                    } else {
                        super::parse_datadirs(raw, Some(id))?
                    };
                    let datadir = datadirs
                        .first()
                        .cloned()
                        .or_else(|| raw.get(id, "filesystem_store_datadir").map(PathBuf::from))
                        .unwrap_or_else(|| data_dir.join(format!("images-{id}")));
                    BackendOptions::File { datadir, datadirs }
                }
                StoreKind::S3 => BackendOptions::S3(S3Config::from_raw(raw, id)?),
                StoreKind::Swift => BackendOptions::Swift(SwiftConfig::from_raw(raw, id)?),
                StoreKind::Other => return Err(format!("[{id}]: unsupported store kind")),
            };
            Ok(NamedBackend {
                id: id.clone(),
                kind: *kind,
                description: raw.get(id, "store_description").map(str::to_owned),
                weight: raw.parse(id, "weight", 0)?,
                options,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawConfig {
        RawConfig::from_text(text).expect("config text")
    }

    #[test]
    fn several_backends_in_order() {
        let r = raw(
            "[DEFAULT]\nenabled_backends = fast:file, cheap:s3 ,obj:swift\n\
             [glance_store]\ndefault_backend = cheap\n\
             [fast]\nfilesystem_store_datadir = /fast\nweight = 5\nstore_description = Fast\n\
             [cheap]\ns3_store_host = h\ns3_store_access_key = a\ns3_store_secret_key = s\n\
             s3_store_bucket = b\n\
             [obj]\nswift_store_auth_address = http://k/v3\nswift_store_user = p:u\n\
             swift_store_key = k\n",
        );
        let (listed, default) = entries(&r).unwrap().unwrap();
        assert_eq!(default, "cheap");
        let ids: Vec<&str> = listed.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(ids, ["fast", "cheap", "obj"]);
        let b = from_raw(
            &r,
            &listed,
            &default,
            (Path::new("/x"), &[]),
            Path::new("/d"),
        )
        .unwrap();
        assert_eq!(b[0].weight, 5);
        assert_eq!(b[0].description.as_deref(), Some("Fast"));
        assert_eq!(
            b[0].options,
            BackendOptions::File {
                datadir: "/fast".into(),
                datadirs: vec![]
            }
        );
        assert!(matches!(&b[1].options, BackendOptions::S3(c) if c.bucket == "b"));
        assert!(matches!(b[2].options, BackendOptions::Swift(_)));
        assert_eq!((b[1].weight, b[2].kind), (0, StoreKind::Swift));
        // A file backend without a directory of its own keeps its data apart.
        let r = raw(
            "[DEFAULT]\nenabled_backends = a:file,b:file\n[glance_store]\ndefault_backend = a\n",
        );
        let (e, d) = entries(&r).unwrap().unwrap();
        let b = from_raw(&r, &e, &d, (Path::new("/x"), &[]), Path::new("/d")).unwrap();
        assert_eq!(
            b[1].options,
            BackendOptions::File {
                datadir: "/d/images-b".into(),
                datadirs: vec![]
            }
        );
        assert!(
            matches!(&b[0].options, BackendOptions::File { datadir, .. } if datadir == Path::new("/x"))
        );
    }

    #[test]
    fn refusals() {
        for (backends, default, want) in [
            ("a:file,a:file", Some("a"), "twice"),
            ("a:rbd", Some("a"), "'rbd' store"),
            ("a", Some("a"), "no kind"),
            (
                "os_glance_staging_store:file",
                Some("os_glance_staging_store"),
                "usable",
            ),
            (",", Some("a"), "no backend"),
            ("a:file,b:file", Some("c"), "default_backend"),
            ("a:file", None, "default_backend must be set"),
        ] {
            let mut r = RawConfig::default();
            r.set("DEFAULT", "enabled_backends", backends);
            if let Some(d) = default {
                r.set("glance_store", "default_backend", d);
            }
            let e = entries(&r).unwrap_err();
            assert!(e.contains(want), "{backends}: {e}");
        }
        assert_eq!(entries(&RawConfig::default()), Ok(None));
    }
}
