//! glance_store's `s3` store: one object per image, named by the image id, in
//! `s3_store_bucket`, over any S3 API (AWS, Ceph radosgw, Swift's s3api).
//!
//! Built on `object_store` (Apache Arrow): it signs (SigV4), streams ranged GETs and exposes
//! multipart uploads part by part, which is all this store needs, at a fraction of the
//! AWS SDK's build cost. Bucket HEAD/PUT, which it lacks, are signed with its authorizer.
//!
//! Uploads hold at most two parts in memory (one being sent, one being received): a body
//! that ends within its first part and below `s3_store_large_object_size` goes up in one
//! PUT, anything else as a multipart upload in parts of `s3_store_large_object_chunk_size`.
//! (glance_store decides from the declared image size instead, which glint does not have
//! for chunked uploads.) A failed, refused or dropped upload aborts its multipart upload,
//! so no parts are left behind.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsAuthorizer, AwsCredential};
use object_store::client::HttpRequestBody;
use object_store::path::Path as ObjectPath;
use object_store::{
    Certificate, ClientOptions, GetOptions, GetRange, MultipartUpload, ObjectStore, PutPayload,
};
use tokio::task::JoinHandle;

use super::digest::DataDigest;
use super::inspect::FormatRules;
use super::{DataStream, HashAlgo, StoreError, StoredData};
use crate::config::stores::S3Config;

/// The S3 image store.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
    rules: FormatRules,
}

struct Inner {
    config: S3Config,
    client: AmazonS3,
    /// For the bucket requests `object_store` does not make.
    http: reqwest::Client,
    region: String,
    algo: HashAlgo,
    /// Set once the bucket is known to exist (checked before the first upload).
    bucket_ready: AtomicBool,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("config", &self.inner.config)
            .field("algo", &self.inner.algo)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Builds the clients; contacts nothing until the first request.
    pub fn new(config: S3Config, algo: HashAlgo) -> Result<Self, String> {
        let mut options = ClientOptions::new().with_allow_http(true);
        let mut http = reqwest::Client::builder();
        if let Some(path) = &config.cacert {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read s3_store_cacert {}: {e}", path.display()))?;
            for cert in Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("invalid s3_store_cacert {}: {e}", path.display()))?
            {
                options = options.with_root_certificate(cert);
            }
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("invalid s3_store_cacert {}: {e}", path.display()))?
            {
                http = http.add_root_certificate(cert);
            }
        }
        let region = config.signing_region();
        let client = Self::client(
            &config,
            &config.bucket,
            &config.access_key,
            &config.secret_key,
            &region,
            options,
        )?;
        let http = http
            .build()
            .map_err(|e| format!("cannot build the S3 HTTP client: {e}"))?;
        Ok(S3Store {
            inner: Arc::new(Inner {
                config,
                client,
                http,
                region,
                algo,
                bucket_ready: AtomicBool::new(false),
            }),
            rules: FormatRules::default(),
        })
    }

    fn client(
        config: &S3Config,
        bucket: &str,
        access_key: &str,
        secret_key: &str,
        region: &str,
        options: ClientOptions,
    ) -> Result<AmazonS3, String> {
        AmazonS3Builder::new()
            .with_endpoint(bucket_base_url(config, bucket))
            .with_bucket_name(bucket)
            .with_region(region)
            .with_access_key_id(access_key)
            .with_secret_access_key(secret_key)
            .with_virtual_hosted_style_request(config.virtual_hosted())
            .with_client_options(options)
            .build()
            .map_err(|e| format!("invalid s3 store configuration: {e}"))
    }

    /// `[image_format]` rules for inspected data (`require_image_format_match`,
    /// `vmdk_allowed_types`), the same for every store kind.
    pub fn with_format_rules(mut self, rules: FormatRules) -> Self {
        self.rules = rules;
        self
    }

    pub fn config(&self) -> &S3Config {
        &self.inner.config
    }

    pub fn hash_algo(&self) -> HashAlgo {
        self.inner.algo
    }

    /// The image's location URL in glance_store's form:
    /// `s3://ACCESS:SECRET@HOST/BUCKET/ID` (`s3+https://` for an https endpoint).
    pub fn location(&self, image_id: &str) -> String {
        let c = &self.inner.config;
        S3Location {
            https: c.is_https(),
            credentials: Some((c.access_key.clone(), c.secret_key.clone())),
            host: c.bare_host().to_owned(),
            bucket: c.bucket.clone(),
            key: image_id.to_owned(),
        }
        .to_url()
    }

    /// Streams `body` into the image's object; see the module comment and `FsStore::put`
    /// (same arguments, same values computed, same errors for the body and the format).
    pub async fn put<S, E>(
        &self,
        image_id: &str,
        mut body: S,
        size_cap: u64,
        disk_format: Option<&str>,
    ) -> Result<StoredData, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = object_path(image_id)?;
        self.ensure_bucket().await?;
        let inner = &self.inner;
        let part_size = usize::try_from(inner.config.large_object_chunk_size).unwrap_or(usize::MAX);
        let inspect = disk_format.map(|f| (f.to_owned(), self.rules.clone()));
        let mut digest = DataDigest::new(inner.algo, inspect);
        let mut part = Part::default();
        let mut upload = Multipart::default();
        let fed: Result<(), StoreError> = async {
            while let Some(item) = body.next().await {
                let chunk = item.map_err(|e| StoreError::Client(e.to_string()))?;
                if digest.size().saturating_add(chunk.len() as u64) > size_cap {
                    return Err(StoreError::TooLarge { cap: size_cap });
                }
                digest.update(&chunk);
                if part.push(chunk) >= part_size {
                    upload.send(&inner.client, &path, part.take()).await?;
                }
            }
            Ok(())
        }
        .await;
        // The format check comes before anything becomes visible under the image's key.
        let finished = fed.and_then(|()| digest.finish());
        let data = match finished {
            Ok(data) => data,
            Err(e) => {
                upload.abort().await;
                return Err(e);
            }
        };
        let written = if upload.started() || data.size >= inner.config.large_object_size {
            let mut sent = Ok(());
            if part.len > 0 || !upload.started() {
                sent = upload.send(&inner.client, &path, part.take()).await;
            }
            match sent {
                Ok(()) => upload.complete().await,
                Err(e) => Err(e),
            }
        } else {
            inner
                .client
                .put(&path, part.take())
                .await
                .map(drop)
                .map_err(s3_error)
        };
        if let Err(e) = written {
            upload.abort().await;
            return Err(e);
        }
        tracing::debug!(bucket = %inner.config.bucket, key = %path, size = data.size, checksum = %data.checksum, "wrote image data to S3");
        Ok(data)
    }

    /// Opens the image's data, optionally only the inclusive byte range `[start, end]`, with
    /// the file store's semantics (`end` clamped; a range past the end is
    /// [`StoreError::RangeNotSatisfiable`]). Returns the data length and the stream.
    pub async fn get(
        &self,
        image_id: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        let path = object_path(image_id)?;
        get_from(&self.inner.client, &path, range).await
    }

    /// Reads the data a location URL names (written by glint or by Glance): the bucket, key
    /// and credentials come from the URL, the endpoint from `s3_store_host`, as glance_store
    /// does.
    pub async fn get_location(
        &self,
        location: &S3Location,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        let client = self.client_for(location)?;
        get_from(&client, &object_path(&location.key)?, range).await
    }

    /// Removes the object a location URL names (as [`S3Store::get_location`] reads it); a
    /// missing one is fine.
    pub async fn delete_location(&self, location: &S3Location) -> Result<(), StoreError> {
        let client = self.client_for(location)?;
        match client.delete(&object_path(&location.key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    /// The client for a location: this store's own when the bucket and credentials are its
    /// own, else one with the location's (on the endpoint of `s3_store_host`).
    fn client_for(&self, location: &S3Location) -> Result<AmazonS3, StoreError> {
        let c = &self.inner.config;
        let (access, secret) = location
            .credentials
            .clone()
            .unwrap_or_else(|| (c.access_key.clone(), c.secret_key.clone()));
        let client =
            if location.bucket == c.bucket && access == c.access_key && secret == c.secret_key {
                self.inner.client.clone()
            } else {
                let options = ClientOptions::new().with_allow_http(true);
                Self::client(
                    c,
                    &location.bucket,
                    &access,
                    &secret,
                    &self.inner.region,
                    options,
                )
                .map_err(|e| StoreError::Io(io::Error::other(e)))?
            };
        Ok(client)
    }

    /// Removes the image's object; a missing one is fine.
    pub async fn delete(&self, image_id: &str) -> Result<(), StoreError> {
        let path = object_path(image_id)?;
        match self.inner.client.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    /// Copies image `from`'s object to image `to` inside the bucket without moving the data
    /// through glint: one `CopyObject` below `s3_store_large_object_size`, else a multipart
    /// upload whose parts are `UploadPartCopy` ranges of the source (CopyObject stops at 5 GiB),
    /// a few at a time. Returns the bytes copied; a failed copy aborts its multipart upload.
    pub async fn copy(&self, from: &str, to: &str) -> Result<u64, StoreError> {
        let (src, dst) = (object_path(from)?, object_path(to)?);
        let inner = &self.inner;
        let size = inner.client.head(&src).await.map_err(s3_error)?.size;
        if size < inner.config.large_object_size {
            inner.client.copy(&src, &dst).await.map_err(s3_error)?;
            return Ok(size);
        }
        let upload = self.start_multipart(to).await?;
        match self.copy_parts(from, to, &upload, size).await {
            Ok(()) => Ok(size),
            Err(e) => {
                let q = format!("uploadId={}", query_value(&upload));
                if let Err(abort) = self
                    .signed(http::Method::DELETE, to, &q, &[], Bytes::new())
                    .await
                {
                    tracing::warn!(error = %abort, "cannot abort a failed multipart copy");
                }
                Err(e)
            }
        }
    }

    async fn start_multipart(&self, key: &str) -> Result<String, StoreError> {
        let r = self
            .signed(http::Method::POST, key, "uploads", &[], Bytes::new())
            .await?;
        let body = s3_ok(r, "CreateMultipartUpload").await?;
        xml_text(&body, "UploadId")
            .ok_or_else(|| backend(format!("no UploadId in the S3 answer: {body}")))
    }

    /// The parts of a multipart copy, [`COPY_PARTS_AT_ONCE`] at a time, then the completion.
    async fn copy_parts(
        &self,
        from: &str,
        to: &str,
        upload: &str,
        size: u64,
    ) -> Result<(), StoreError> {
        // At most 10,000 parts, as S3 allows.
        let part = self
            .inner
            .config
            .large_object_chunk_size
            .max(size.div_ceil(10_000))
            .max(1);
        let source = format!("/{}/{from}", self.inner.config.bucket);
        let ranges: Vec<(u64, u64)> = (0..size.div_ceil(part))
            .map(|i| (i * part, ((i + 1) * part).min(size) - 1))
            .collect();
        let etags: Vec<(usize, String)> =
            futures_util::stream::iter(ranges.into_iter().enumerate())
                .map(|(i, (start, end))| {
                    let source = source.clone();
                    async move {
                        let q = format!("partNumber={}&uploadId={}", i + 1, query_value(upload));
                        let headers = [
                            ("x-amz-copy-source", source),
                            ("x-amz-copy-source-range", format!("bytes={start}-{end}")),
                        ];
                        let r = self
                            .signed(http::Method::PUT, to, &q, &headers, Bytes::new())
                            .await?;
                        let body = s3_ok(r, "UploadPartCopy").await?;
                        let etag = xml_text(&body, "ETag")
                            .ok_or_else(|| backend(format!("no ETag in the S3 answer: {body}")))?;
                        Ok::<_, StoreError>((i + 1, etag))
                    }
                })
                .buffer_unordered(COPY_PARTS_AT_ONCE)
                .try_collect::<Vec<_>>()
                .await?
                .into_iter()
                .collect();
        let mut etags = etags;
        etags.sort_unstable_by_key(|(n, _)| *n);
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (n, etag) in &etags {
            xml.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let q = format!("uploadId={}", query_value(upload));
        let r = self
            .signed(http::Method::POST, to, &q, &[], Bytes::from(xml))
            .await?;
        s3_ok(r, "CompleteMultipartUpload").await.map(drop)
    }

    /// A signed request on object `key` of the bucket with `query` (already encoded) and
    /// extra `headers`, for the calls `object_store` does not make.
    async fn signed(
        &self,
        method: http::Method,
        key: &str,
        query: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<reqwest::Response, StoreError> {
        let inner = &self.inner;
        let key = object_path(key)?;
        let base = if inner.config.virtual_hosted() {
            bucket_base_url(&inner.config, &inner.config.bucket)
        } else {
            format!("{}/{}", inner.config.endpoint(), inner.config.bucket)
        };
        let url = format!("{base}/{key}?{query}");
        let mut builder = http::Request::builder().method(method.clone()).uri(&url);
        for (k, v) in headers {
            builder = builder.header(*k, v);
        }
        let mut request = builder
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| backend(format!("bad S3 URL {url}: {e}")))?;
        let credential = AwsCredential {
            key_id: inner.config.access_key.clone(),
            secret_key: inner.config.secret_key.clone(),
            token: None,
        };
        AwsAuthorizer::new(&credential, "s3", &inner.region).authorize(&mut request, None);
        inner
            .http
            .request(method, &url)
            .headers(request.headers().clone())
            .body(body)
            .send()
            .await
            .map_err(|e| backend(format!("S3 request to {url} failed: {e}")))
    }

    /// Checks that the bucket exists, creating it when `s3_store_create_bucket_on_put` says so
    /// (glance_store checks before every upload; glint once per process, until it succeeds).
    async fn ensure_bucket(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        if inner.bucket_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let bucket = &inner.config.bucket;
        let status = self
            .bucket_request(http::Method::HEAD, Bytes::new())
            .await?;
        if status == 404 {
            if !inner.config.create_bucket_on_put {
                return Err(backend(format!(
                    "The bucket {bucket} does not exist in S3. Please set the \
                     s3_store_create_bucket_on_put option to add bucket to S3 automatically."
                )));
            }
            // Outside us-east-1, S3 wants the region in the request body.
            let body = if inner.region == "us-east-1" {
                Bytes::new()
            } else {
                Bytes::from(format!(
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                     <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                    inner.region
                ))
            };
            let created = self.bucket_request(http::Method::PUT, body).await?;
            // 409: someone else created it meanwhile.
            if !(200..300).contains(&created) && created != 409 {
                return Err(backend(format!(
                    "cannot create S3 bucket {bucket}: HTTP {created}"
                )));
            }
            tracing::info!(%bucket, "created S3 bucket");
        } else if !(200..300).contains(&status) {
            return Err(backend(format!(
                "cannot check S3 bucket {bucket}: HTTP {status}"
            )));
        }
        inner.bucket_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// A signed request on the bucket itself; returns the HTTP status.
    async fn bucket_request(&self, method: http::Method, body: Bytes) -> Result<u16, StoreError> {
        let inner = &self.inner;
        let url = if inner.config.virtual_hosted() {
            format!("{}/", bucket_base_url(&inner.config, &inner.config.bucket))
        } else {
            format!("{}/{}", inner.config.endpoint(), inner.config.bucket)
        };
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| backend(format!("bad S3 bucket URL {url}: {e}")))?;
        let credential = AwsCredential {
            key_id: inner.config.access_key.clone(),
            secret_key: inner.config.secret_key.clone(),
            token: None,
        };
        AwsAuthorizer::new(&credential, "s3", &inner.region).authorize(&mut request, None);
        let response = inner
            .http
            .request(method, &url)
            .headers(request.headers().clone())
            .body(body)
            .send()
            .await
            .map_err(|e| backend(format!("S3 request to {url} failed: {e}")))?;
        Ok(response.status().as_u16())
    }
}

/// The endpoint `object_store` is given: with the bucket in the host name for
/// virtual-hosted requests (it then expects the bucket there), else the plain endpoint.
fn bucket_base_url(config: &S3Config, bucket: &str) -> String {
    if config.virtual_hosted() {
        let scheme = if config.is_https() { "https" } else { "http" };
        format!("{scheme}://{bucket}.{}", config.bare_host())
    } else {
        config.endpoint()
    }
}

async fn get_from(
    client: &AmazonS3,
    path: &ObjectPath,
    range: Option<(u64, u64)>,
) -> Result<(u64, DataStream), StoreError> {
    let get_range = match range {
        None => None,
        Some((start, end)) => {
            let total = client.head(path).await.map_err(s3_error)?.size;
            if start >= total || end < start {
                return Err(StoreError::RangeNotSatisfiable { size: total });
            }
            Some(GetRange::Bounded(start..end.min(total - 1) + 1))
        }
    };
    let options = GetOptions {
        range: get_range,
        ..GetOptions::default()
    };
    let result = client.get_opts(path, options).await.map_err(s3_error)?;
    let total = result.meta.size;
    let stream = result.into_stream().map_err(io::Error::other).boxed();
    Ok((total, stream))
}

/// Parts of a multipart copy in flight at once.
const COPY_PARTS_AT_ONCE: usize = 4;

/// A query-string value, percent-encoded.
fn query_value(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The body of a successful S3 answer. S3 may answer a copy or a completion 200 with an
/// `<Error>` document (it failed after the headers went out): that is a failure too; a missing
/// source is [`StoreError::NotFound`].
async fn s3_ok(r: reqwest::Response, what: &str) -> Result<String, StoreError> {
    let status = r.status();
    let body = r
        .text()
        .await
        .map_err(|e| backend(format!("S3 {what}: cannot read the answer: {e}")))?;
    if status.as_u16() == 404 || body.contains("<Code>NoSuchKey</Code>") {
        return Err(StoreError::NotFound);
    }
    if !status.is_success() || body.contains("<Error>") {
        return Err(backend(format!("S3 {what} failed: HTTP {status}: {body}")));
    }
    Ok(body)
}

/// The text of the first `<tag>` element of a small XML answer.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(
        body[start..end]
            .replace("&quot;", "\"")
            .replace("&#34;", "\""),
    )
}

/// The object key of an image; ids that could name something else are refused.
fn object_path(image_id: &str) -> Result<ObjectPath, StoreError> {
    let bad =
        image_id.is_empty() || image_id.starts_with('.') || image_id.contains(['/', '\\', '\0']);
    if bad {
        return Err(StoreError::NotFound);
    }
    ObjectPath::parse(image_id).map_err(|_| StoreError::NotFound)
}

fn s3_error(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        other => backend(other.to_string()),
    }
}

fn backend(message: String) -> StoreError {
    StoreError::Io(io::Error::other(message))
}

/// Body chunks of the part being received.
#[derive(Default)]
struct Part {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Part {
    fn push(&mut self, chunk: Bytes) -> usize {
        if !chunk.is_empty() {
            self.len += chunk.len();
            self.chunks.push(chunk);
        }
        self.len
    }

    fn take(&mut self) -> PutPayload {
        self.len = 0;
        std::mem::take(&mut self.chunks).into_iter().collect()
    }
}

/// A multipart upload in progress, with at most one part being sent. Dropped before
/// [`Multipart::complete`] (e.g. the request future was dropped), it aborts the upload
/// in the background.
#[derive(Default)]
struct Multipart {
    upload: Option<Box<dyn MultipartUpload>>,
    sending: Option<JoinHandle<object_store::Result<()>>>,
}

impl Multipart {
    fn started(&self) -> bool {
        self.upload.is_some()
    }

    /// Starts the upload if needed, waits for the previous part, starts sending `part`.
    async fn send(
        &mut self,
        client: &AmazonS3,
        path: &ObjectPath,
        part: PutPayload,
    ) -> Result<(), StoreError> {
        if self.upload.is_none() {
            self.upload = Some(client.put_multipart(path).await.map_err(s3_error)?);
        }
        self.wait().await?;
        let Some(upload) = self.upload.as_mut() else {
            return Err(backend("multipart upload lost".into()));
        };
        self.sending = Some(tokio::spawn(upload.put_part(part)));
        Ok(())
    }

    async fn wait(&mut self) -> Result<(), StoreError> {
        match self.sending.take() {
            None => Ok(()),
            Some(job) => job
                .await
                .map_err(|e| backend(format!("S3 part upload failed: {e}")))?
                .map_err(s3_error),
        }
    }

    async fn complete(&mut self) -> Result<(), StoreError> {
        self.wait().await?;
        let Some(upload) = self.upload.as_mut() else {
            return Ok(());
        };
        upload.complete().await.map_err(s3_error)?;
        self.upload = None;
        Ok(())
    }

    /// Waits for the part in flight (so that it cannot land after the abort), then aborts.
    async fn abort(&mut self) {
        let _ = self.wait().await;
        if let Some(mut upload) = self.upload.take() {
            if let Err(e) = upload.abort().await {
                tracing::warn!(error = %e, "cannot abort an S3 multipart upload; its parts stay until the bucket's lifecycle removes them");
            }
        }
    }
}

impl Drop for Multipart {
    fn drop(&mut self) {
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        let sending = self.sending.take();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(job) = sending {
                    let _ = job.await;
                }
                if let Err(e) = upload.abort().await {
                    tracing::warn!(error = %e, "cannot abort an S3 multipart upload");
                }
            });
        }
    }
}

/// A glance_store S3 location URL: `s3://ACCESS:SECRET@HOST[/PATH]/BUCKET/KEY`, with
/// `s3+https://` for an https endpoint (`s3+http://` is read as `s3://`).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub https: bool,
    /// `(access key, secret key)` when the URL carries them.
    pub credentials: Option<(String, String)>,
    /// The endpoint without scheme (may carry a port and a path).
    pub host: String,
    pub bucket: String,
    pub key: String,
}

impl std::fmt::Debug for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Location")
            .field("https", &self.https)
            .field("access_key", &self.credentials.as_ref().map(|c| &c.0))
            .field("host", &self.host)
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl S3Location {
    pub fn to_url(&self) -> String {
        let scheme = if self.https { "s3+https" } else { "s3" };
        let creds = match &self.credentials {
            Some((a, s)) => format!("{a}:{s}@"),
            None => String::new(),
        };
        format!(
            "{scheme}://{creds}{}/{}/{}",
            self.host, self.bucket, self.key
        )
    }

    /// Parses what glance_store writes. Like glance_store, exactly one scheme and at most one
    /// `@`; unlike it, the credentials split at the *last* colon, so that an access key with a
    /// colon (Swift tempauth's `account:user`) survives; keys without one read the same.
    pub fn parse(url: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("invalid S3 location: {why}");
        if url.matches("://").count() != 1 {
            return Err(bad(
                "exactly one scheme expected (use s3+https:// for https)",
            ));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let https = match scheme {
            "s3" | "s3+http" => false,
            "s3+https" => true,
            _ => return Err(bad("scheme must be s3, s3+http or s3+https")),
        };
        let rest = rest.trim_matches('/');
        let (credentials, path) = match rest.split_once('@') {
            None => (None, rest),
            Some((_, after)) if after.contains('@') => return Err(bad("more than one '@'")),
            Some((creds, after)) => {
                let (a, s) = creds
                    .rsplit_once(':')
                    .ok_or_else(|| bad("credentials must be ACCESS:SECRET"))?;
                (Some((a.to_owned(), s.to_owned())), after)
            }
        };
        let mut parts: Vec<&str> = path.split('/').collect();
        let key = parts
            .pop()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad("no object key"))?;
        let bucket = parts
            .pop()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("no bucket"))?;
        let host = parts.join("/");
        if host.trim_matches('/').is_empty() {
            return Err(bad("no S3 service host"));
        }
        Ok(S3Location {
            https,
            credentials,
            host: host.trim_matches('/').to_owned(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_round_trip_in_glance_store_form() {
        let cases = [
            (
                "s3://ak:sk@s3.example.com/images/id1",
                false,
                "s3.example.com",
            ),
            (
                "s3+https://ak:s/k+1@s3.example.com:8443/images/id1",
                true,
                "s3.example.com:8443",
            ),
            (
                "s3://test:tester:testing@127.0.0.1:9710/images/id1",
                false,
                "127.0.0.1:9710",
            ),
        ];
        for (url, https, host) in cases {
            let loc = S3Location::parse(url).expect(url);
            assert_eq!((loc.https, loc.host.as_str()), (https, host), "{url}");
            assert_eq!((loc.bucket.as_str(), loc.key.as_str()), ("images", "id1"));
            assert_eq!(loc.to_url(), url);
        }
        let loc = S3Location::parse("s3://test:tester:testing@h/b/k").expect("tempauth");
        assert_eq!(
            loc.credentials,
            Some(("test:tester".into(), "testing".into()))
        );
        let loc = S3Location::parse("s3+http://h/path/b/k").expect("no creds");
        assert_eq!(
            (loc.credentials, loc.host.as_str(), loc.https),
            (None, "h/path", false)
        );
    }

    #[test]
    fn malformed_locations_are_refused() {
        for url in [
            "s3://ak:sk@https://s3.example.com/b/k",
            "swift://ak:sk@h/b/k",
            "s3://ak:sk@h/b",
            "s3://ak@h/b/k",
            "s3://a:b@c:d@h/b/k",
            "s3://ak:sk@h/b/",
        ] {
            assert!(S3Location::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn object_keys_are_plain_ids() {
        assert!(object_path("6f1c1e54-3a8e-4f2c-9b1e-2f7f3c8e9d01").is_ok());
        for id in ["", ".x", "a/b", "..", "a\\b"] {
            assert!(
                matches!(object_path(id), Err(StoreError::NotFound)),
                "{id:?}"
            );
        }
    }
}
