//! The S3 variant of the store tests (`store_test!`): the app writes to a bucket of its own on
//! the real server scripts/swift.sh runs (`GLINT_SWIFT_ENV` names its env file), as
//! `[glance_store] stores = file,s3` and `default_store = s3` configure it. The tests look at
//! the bucket through the S3 API itself, not through glint.

use std::collections::HashMap;

use glint::config::stores::{S3Config, StoreKind, StoresConfig};
use glint::config::{Config, RawConfig};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::HttpRequestBody;

/// Bodies of at least this many bytes go up as multipart uploads (one 5 MiB part at most
/// for the tests' sizes), smaller ones in one PUT: both paths are exercised.
const LARGE_OBJECT_SIZE: u64 = 100 * 1024;

pub struct S3Target {
    env: HashMap<String, String>,
    pub bucket: String,
}

impl S3Target {
    /// The server of `GLINT_SWIFT_ENV` with a new bucket name; `None` without the variable.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var("GLINT_SWIFT_ENV").ok()?;
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("GLINT_SWIFT_ENV={path}: cannot read: {e}"));
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let bucket = format!(
            "glint-api-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        Some(S3Target { env, bucket })
    }

    /// The glance-api.conf lines of this store.
    pub fn conf_lines(&self) -> String {
        format!(
            "[glance_store]\nstores = file,s3\ndefault_store = s3\ns3_store_host = {}\n\
             s3_store_access_key = {}\ns3_store_secret_key = {}\ns3_store_bucket = {}\n\
             s3_store_create_bucket_on_put = true\ns3_store_bucket_url_format = path\n",
            self.env["S3_ENDPOINT"],
            self.env["S3_ACCESS_KEY"],
            self.env["S3_SECRET_KEY"],
            self.bucket
        )
    }

    /// Makes `c` write to this bucket, with the file store still enabled for reading.
    pub fn configure(&self, c: &mut Config) {
        let raw = RawConfig::from_text(&self.conf_lines()).expect("s3 config text");
        let mut s3 = S3Config::from_raw(&raw, "glance_store").expect("s3 config");
        s3.large_object_size = LARGE_OBJECT_SIZE;
        c.stores = StoresConfig {
            file: true,
            s3: Some(s3),
            swift: None,
            default: StoreKind::S3,
            weight: 0,
            ..StoresConfig::file_only()
        };
    }

    /// The location URL glance_store would record for `id`.
    pub fn location(&self, id: &str) -> String {
        format!(
            "s3://{}:{}@{}/{}/{id}",
            self.env["S3_ACCESS_KEY"],
            self.env["S3_SECRET_KEY"],
            self.env["S3_ENDPOINT"].trim_start_matches("http://"),
            self.bucket
        )
    }

    /// The bucket's object keys, sorted, then one `multipart:<upload id>` per multipart upload
    /// still in progress (parts left behind). A missing bucket holds nothing.
    pub fn contents(&self) -> Vec<String> {
        blocking(self.contents_async())
    }

    async fn contents_async(&self) -> Vec<String> {
        let b = &self.bucket;
        let (status, xml) = self
            .signed(http::Method::GET, &format!("/{b}?list-type=2"))
            .await;
        if status == 404 {
            return Vec::new();
        }
        assert_eq!(status, 200, "ListObjectsV2: {xml}");
        let mut keys = between(&xml, "<Key>", "</Key>");
        keys.sort();
        let (status, xml) = self
            .signed(http::Method::GET, &format!("/{b}?uploads"))
            .await;
        assert_eq!(status, 200, "ListMultipartUploads: {xml}");
        keys.extend(
            between(&xml, "<UploadId>", "</UploadId>")
                .into_iter()
                .map(|u| format!("multipart:{u}")),
        );
        keys
    }

    /// Removes the bucket with everything in it (best effort).
    pub fn remove(&self) {
        blocking(async {
            let b = &self.bucket;
            let (_, xml) = self
                .signed(http::Method::GET, &format!("/{b}?uploads"))
                .await;
            let keys = between(&xml, "<Key>", "</Key>");
            let uploads = between(&xml, "<UploadId>", "</UploadId>");
            for (k, u) in keys.iter().zip(&uploads) {
                self.signed(http::Method::DELETE, &format!("/{b}/{k}?uploadId={u}"))
                    .await;
            }
            let (_, xml) = self
                .signed(http::Method::GET, &format!("/{b}?list-type=2"))
                .await;
            for k in between(&xml, "<Key>", "</Key>") {
                self.signed(http::Method::DELETE, &format!("/{b}/{k}"))
                    .await;
            }
            self.signed(http::Method::DELETE, &format!("/{b}")).await;
        })
    }

    /// A SigV4-signed request straight to the S3 API.
    async fn signed(&self, method: http::Method, path_and_query: &str) -> (u16, String) {
        let url = format!("{}{path_and_query}", self.env["S3_ENDPOINT"]);
        let credential = AwsCredential {
            key_id: self.env["S3_ACCESS_KEY"].clone(),
            secret_key: self.env["S3_SECRET_KEY"].clone(),
            token: None,
        };
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .body(HttpRequestBody::empty())
            .expect("request");
        AwsAuthorizer::new(&credential, "s3", &self.env["S3_REGION"]).authorize(&mut request, None);
        let response = reqwest::Client::new()
            .request(method, &url)
            .headers(request.headers().clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("S3 request {url}: {e}"));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

/// Runs `f` to its end on a runtime of its own (the callers are synchronous helpers called
/// from async tests, as `TestApp::store_files` is).
pub fn blocking<T: Send>(f: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        })
        .join()
        .expect("S3 helper thread")
    })
}

fn between(xml: &str, open: &str, close: &str) -> Vec<String> {
    xml.split(open)
        .skip(1)
        .filter_map(|s| s.split_once(close).map(|(v, _)| v.to_owned()))
        .collect()
}
