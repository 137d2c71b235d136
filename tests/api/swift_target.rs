//! The Swift variant of the store tests (`store_test!`): the app writes to a container of its own
//! on the real Swift scripts/swift.sh runs, authenticating with Keystone v3 (the Keystone of
//! scripts/keystone.sh, which the proxy trusts), as `[glance_store] stores = file,swift` and
//! `default_store = swift` configure it, with small segments so that large objects are exercised.
//! The tests look at the container through Swift's API itself, not through glint.

use std::collections::HashMap;

use glint::config::stores::{StoreKind, StoresConfig};
use glint::config::swift::SwiftConfig;
use glint::config::{Config, RawConfig};

/// Data of at least this many bytes is a large object (segments + manifest).
pub const LARGE_OBJECT_SIZE: u64 = 100 * 1024;
/// Segment size of large objects.
pub const CHUNK_SIZE: u64 = 64 * 1024;

pub struct SwiftTarget {
    env: HashMap<String, String>,
    pub container: String,
}

impl SwiftTarget {
    /// The server of `GLINT_SWIFT_ENV` when it takes Keystone tokens, with a new container
    /// name; `None` otherwise.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var("GLINT_SWIFT_ENV").ok()?;
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("GLINT_SWIFT_ENV={path}: cannot read: {e}"));
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        env.contains_key("SWIFT_KEYSTONE_AUTH_URL")
            .then(|| SwiftTarget {
                env,
                container: format!(
                    "glint-api-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                ),
            })
    }

    /// The glance-api.conf lines of this store (inline account, Keystone v3).
    pub fn conf_lines(&self) -> String {
        format!(
            "[glance_store]\nstores = file,swift\ndefault_store = swift\n\
             swift_store_auth_version = 3\nswift_store_auth_address = {}\n\
             swift_store_user = {}\nswift_store_key = {}\nswift_store_container = {}\n\
             swift_store_create_container_on_put = true\n",
            self.env["SWIFT_KEYSTONE_AUTH_URL"],
            self.env["SWIFT_KEYSTONE_USER"],
            self.env["SWIFT_KEYSTONE_KEY"],
            self.container
        )
    }

    /// The store's options, with small objects and segments.
    pub fn config(&self) -> SwiftConfig {
        let raw = RawConfig::from_text(&self.conf_lines()).expect("swift config text");
        let mut c = SwiftConfig::from_raw(&raw, "glance_store").expect("swift config");
        c.large_object_size = LARGE_OBJECT_SIZE;
        c.large_object_chunk_size = CHUNK_SIZE;
        c
    }

    /// Makes `c` write to this container, with the file store still enabled for reading.
    pub fn configure(&self, c: &mut Config) {
        c.stores = StoresConfig {
            file: true,
            s3: None,
            swift: Some(self.config()),
            default: StoreKind::Swift,
            weight: 0,
            ..StoresConfig::file_only()
        };
    }

    /// The location URL glance_store would record for `id`.
    pub fn location(&self, id: &str) -> String {
        let (project, user) = self.env["SWIFT_KEYSTONE_USER"]
            .split_once(':')
            .expect("project:user");
        format!(
            "swift+http://{project}%3A{user}:{}@{}/{}/{id}",
            self.env["SWIFT_KEYSTONE_KEY"],
            self.env["SWIFT_KEYSTONE_AUTH_URL"].trim_start_matches("http://"),
            self.container
        )
    }

    /// The container's objects, sorted, without the segments of a large object whose manifest
    /// is there too (segments left behind by a failed upload are listed).
    pub fn contents(&self) -> Vec<String> {
        let names = self.names();
        names
            .iter()
            .filter(|n| {
                let owner = n
                    .rsplit_once('-')
                    .filter(|(_, k)| k.len() == 5 && k.bytes().all(|b| b.is_ascii_digit()));
                !owner.is_some_and(|(o, _)| names.iter().any(|m| m == o))
            })
            .cloned()
            .collect()
    }

    /// Every object name in the container, sorted (none for a missing container).
    pub fn names(&self) -> Vec<String> {
        super::s3_target::blocking(async {
            let (token, url) = self.login().await;
            let r = reqwest::Client::new()
                .get(format!("{url}/{}?format=json", self.container))
                .header("X-Auth-Token", &token)
                .send()
                .await
                .expect("Swift listing");
            if r.status() == 404 {
                return Vec::new();
            }
            assert!(r.status().is_success(), "listing: {}", r.status());
            let list: Vec<serde_json::Value> = r.json().await.expect("listing JSON");
            let mut names: Vec<String> = list
                .iter()
                .filter_map(|o| o["name"].as_str().map(str::to_owned))
                .collect();
            names.sort();
            names
        })
    }

    /// The headers of an object (`None` when it does not exist).
    pub fn head(&self, object: &str) -> Option<reqwest::header::HeaderMap> {
        super::s3_target::blocking(async {
            let (token, url) = self.login().await;
            let r = reqwest::Client::new()
                .head(format!("{url}/{}/{object}", self.container))
                .header("X-Auth-Token", &token)
                .send()
                .await
                .expect("Swift HEAD");
            r.status().is_success().then(|| r.headers().clone())
        })
    }

    /// Removes the container with everything in it (best effort).
    pub fn remove(&self) {
        let names = self.names();
        super::s3_target::blocking(async {
            let (token, url) = self.login().await;
            let client = reqwest::Client::new();
            for n in names {
                let _ = client
                    .delete(format!("{url}/{}/{n}", self.container))
                    .header("X-Auth-Token", &token)
                    .send()
                    .await;
            }
            let _ = client
                .delete(format!("{url}/{}", self.container))
                .header("X-Auth-Token", &token)
                .send()
                .await;
        })
    }

    /// A Keystone v3 token of the store's account and the account's storage URL (catalog).
    async fn login(&self) -> (String, String) {
        let (project, user) = self.env["SWIFT_KEYSTONE_USER"]
            .split_once(':')
            .expect("project:user");
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": self.env["SWIFT_KEYSTONE_KEY"]}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}});
        let r = reqwest::Client::new()
            .post(format!(
                "{}/auth/tokens",
                self.env["SWIFT_KEYSTONE_AUTH_URL"]
            ))
            .json(&body)
            .send()
            .await
            .expect("Keystone auth");
        assert!(r.status().is_success(), "Keystone auth: {}", r.status());
        let token = r.headers()["x-subject-token"]
            .to_str()
            .expect("token")
            .to_owned();
        let v: serde_json::Value = r.json().await.expect("token body");
        let url = v["token"]["catalog"]
            .as_array()
            .expect("catalog")
            .iter()
            .filter(|s| s["type"] == "object-store")
            .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
            .find(|e| e["interface"] == "public")
            .and_then(|e| e["url"].as_str().map(str::to_owned))
            .expect("object-store endpoint");
        (token, url)
    }
}
