//! `glint db load-metadefs DIR`: Glance's `glance-manage db_load_metadefs`
//! with its defaults. Every `*.json` file in DIR is one namespace; a namespace
//! already in the database is skipped (Glance's default, no merge), resource
//! types first seen here are created protected, and the owner defaults to
//! `admin`. A file that cannot be read or parsed is reported and skipped.

use std::path::Path;

use serde_json::Value;

use super::namespaces::write_content;
use crate::db::metadefs::namespaces as ns_db;
use crate::db::{write_tx, Db};
use crate::domain::metadefs::{document, NamespaceValues};
use crate::error::Error;
use crate::service::images::now;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub loaded: Vec<String>,
    pub skipped: Vec<String>,
    /// `file: reason` for files that were not usable.
    pub failed: Vec<String>,
}

pub fn load_dir(db: &Db, dir: &Path) -> Result<Report, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut report = Report::default();
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    for file in files {
        let shown = file.display().to_string();
        let parsed = std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()));
        let doc = match parsed {
            Ok(Value::Object(m)) => document::namespace(&m),
            Ok(_) => {
                report.failed.push(format!("{shown}: not a JSON object"));
                continue;
            }
            Err(e) => {
                report.failed.push(format!("{shown}: {e}"));
                continue;
            }
        };
        if doc.namespace.is_empty() {
            report.failed.push(format!("{shown}: no namespace"));
            continue;
        }
        let outcome = write_tx(&mut conn, |c| -> Result<bool, Error> {
            if ns_db::get(c, &doc.namespace)?.is_some() {
                return Ok(false);
            }
            let values = NamespaceValues {
                namespace: doc.namespace.clone(),
                display_name: doc.display_name.clone(),
                description: doc.description.clone(),
                visibility: doc.visibility.clone(),
                protected: doc.protected,
                owner: doc.owner.clone().unwrap_or_else(|| "admin".into()),
            };
            let ns = ns_db::insert(c, &values, now(), None)?;
            write_content(c, &ns, &doc, true, true)?;
            Ok(true)
        });
        match outcome {
            Ok(true) => report.loaded.push(doc.namespace),
            Ok(false) => report.skipped.push(doc.namespace),
            Err(e) => report.failed.push(format!("{shown}: {e}")),
        }
    }
    Ok(report)
}
