//! glance_store's `swift` store (single-tenant): one object per image, named by the image id,
//! in `swift_store_container`, under the account of `default_swift_reference`, authenticated
//! with Keystone v3 (or a v1.0 auth URL).
//!
//! Uploads stream, deciding as glance_store does from the declared size: below
//! `swift_store_large_object_size` the body goes into the plain object `<id>` in one streaming
//! PUT; at or above it, or with no declared size (a chunked upload), into segments `<id>-00001`,
//! `<id>-00002`, ... of `swift_store_large_object_chunk_size`, each its own streaming PUT, then
//! the Dynamic Large Object manifest `<id>` with `X-Object-Manifest: <container>/<id>-`. Every PUT
//! holds at most a few body chunks in memory. A failed, refused or dropped upload removes what
//! it wrote.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use super::digest::DataDigest;
use super::inspect::FormatRules;
use super::{DataStream, HashAlgo, StoreError, StoredData};
use crate::config::swift::{Domain, SwiftAccount, SwiftConfig};

/// What Python's `urllib.parse.quote` leaves alone (glance_store quotes user and key with it).
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');
/// Object names in request paths: everything but unreserved characters is escaped.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');
/// Body chunks queued per segment PUT: the memory bound of an upload, with the chunk in hand.
const QUEUED_CHUNKS: usize = 4;

/// Segments of a large object copied server-side at once.
const SEGMENT_COPIES_AT_ONCE: usize = 8;

/// The Swift image store.
#[derive(Clone)]
pub struct SwiftStore {
    inner: Arc<Inner>,
    rules: FormatRules,
}

struct Inner {
    config: SwiftConfig,
    http: reqwest::Client,
    algo: HashAlgo,
    /// The session of the default account, renewed when it is about to expire or refused.
    session: Mutex<Option<Session>>,
    /// Containers known to exist (checked before the first upload into each).
    containers_ready: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// A token and the storage URL it is good for.
#[derive(Clone)]
struct Session {
    token: String,
    storage_url: String,
    expires: Option<Instant>,
}

impl std::fmt::Debug for SwiftStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwiftStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A glance_store Swift location: `swift+config://REF/CONTAINER/OBJ`, or
/// `swift[+http|+https]://[USER:KEY@]AUTH_ADDRESS/CONTAINER/OBJ`.
#[derive(Clone, PartialEq, Eq)]
pub struct SwiftLocation {
    /// The account reference of a `swift+config` location.
    pub reference: Option<String>,
    /// `(user, key)` of a location carrying credentials.
    pub credentials: Option<(String, String)>,
    /// The auth address with its scheme (`https` unless the location says `swift+http`).
    pub auth_address: Option<String>,
    pub container: String,
    pub object: String,
}

impl std::fmt::Debug for SwiftLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwiftLocation")
            .field("reference", &self.reference)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .field("auth_address", &self.auth_address)
            .field("container", &self.container)
            .field("object", &self.object)
            .finish_non_exhaustive()
    }
}

impl SwiftLocation {
    /// Parses what glance_store writes (and what it accepts: one scheme, at most one `@`, the
    /// key after the last `:` of the credentials, both percent-decoded).
    pub fn parse(url: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("invalid Swift location: {why}");
        if url.matches("://").count() != 1 {
            return Err(bad("exactly one scheme expected"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let https = match scheme {
            "swift+config" => None,
            "swift" | "swift+https" => Some(true),
            "swift+http" => Some(false),
            _ => {
                return Err(bad(
                    "scheme must be swift, swift+http, swift+https or swift+config",
                ))
            }
        };
        let rest = rest.trim_matches('/');
        let (credentials, path) = match rest.split_once('@') {
            None => (None, rest),
            Some((_, after)) if after.contains('@') => return Err(bad("more than one '@'")),
            Some((creds, after)) => {
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8()
                        .map(|c| c.into_owned())
                        .map_err(|_| bad("credentials are not UTF-8"))
                };
                let creds = decode(creds)?;
                let (u, k) = creds
                    .rsplit_once(':')
                    .ok_or_else(|| bad("credentials must be USER:KEY"))?;
                (Some((u.to_owned(), k.to_owned())), after)
            }
        };
        let mut parts: Vec<&str> = path.split('/').collect();
        let object = parts
            .pop()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no object"))?;
        let container = parts
            .pop()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad("no container"))?;
        let host = parts.join("/");
        if host.is_empty() {
            return Err(bad("no auth address or account reference"));
        }
        let (reference, auth_address) = match https {
            None => (Some(host), None),
            Some(true) => (None, Some(format!("https://{host}"))),
            Some(false) => (None, Some(format!("http://{host}"))),
        };
        Ok(SwiftLocation {
            reference,
            credentials,
            auth_address,
            container: container.to_owned(),
            object: object.to_owned(),
        })
    }
}

impl SwiftStore {
    /// Builds the client; contacts nothing until the first request.
    pub fn new(config: SwiftConfig, algo: HashAlgo) -> Result<Self, String> {
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30));
        if let Some(path) = &config.cacert {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read swift_store_cacert {}: {e}", path.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("invalid swift_store_cacert {}: {e}", path.display()))?
            {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http
            .build()
            .map_err(|e| format!("cannot build the Swift HTTP client: {e}"))?;
        if config.account().is_none() {
            return Err("the swift store has no account (default_swift_reference)".into());
        }
        Ok(SwiftStore {
            inner: Arc::new(Inner {
                config,
                http,
                algo,
                session: Mutex::new(None),
                containers_ready: std::sync::Mutex::new(Default::default()),
            }),
            rules: FormatRules::default(),
        })
    }

    /// `[image_format]` rules for inspected data (`require_image_format_match`,
    /// `vmdk_allowed_types`), the same for every store kind.
    pub fn with_format_rules(mut self, rules: FormatRules) -> Self {
        self.rules = rules;
        self
    }

    pub fn config(&self) -> &SwiftConfig {
        &self.inner.config
    }

    pub fn hash_algo(&self) -> HashAlgo {
        self.inner.algo
    }

    /// The image's location URL as glance_store writes it: `swift+config://REF/CONTAINER/ID`
    /// with `swift_store_config_file`, else `swift+http(s)://USER:KEY@AUTH_ADDRESS/CONTAINER/ID`
    /// (user and key percent-quoted).
    pub fn location(&self, image_id: &str) -> String {
        let c = &self.inner.config;
        let container = c.container_for(image_id);
        if c.config_file_references {
            return format!(
                "swift+config://{}/{container}/{image_id}",
                c.default_reference
            );
        }
        let Some(a) = c.account() else {
            return String::new();
        };
        let (scheme, address) = match a.auth_address.strip_prefix("http://") {
            Some(rest) => ("swift+http", rest),
            None => (
                "swift+https",
                a.auth_address
                    .strip_prefix("https://")
                    .unwrap_or(&a.auth_address),
            ),
        };
        format!(
            "{scheme}://{}:{}@{}/{container}/{image_id}",
            utf8_percent_encode(&a.user, QUOTE),
            utf8_percent_encode(&a.key, QUOTE),
            address.trim_matches('/')
        )
    }

    /// Streams `body` into the image's object; see the module comment and `FsStore::put`.
    /// `declared_size` (the request's `Content-Length`) chooses a plain or a large object.
    pub async fn put<S, E>(
        &self,
        image_id: &str,
        mut body: S,
        size_cap: u64,
        disk_format: Option<&str>,
        declared_size: Option<u64>,
    ) -> Result<StoredData, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        check_name(image_id)?;
        let inner = &self.inner;
        let container = inner.config.container_for(image_id);
        self.ensure_container(&container).await?;
        self.remove_stale_segments(&container, image_id).await?;
        let inspect = disk_format.map(|f| (f.to_owned(), self.rules.clone()));
        let mut digest = DataDigest::new(inner.algo, inspect);
        let plain = declared_size.filter(|n| *n < inner.config.large_object_size);
        let mut segments = Segments::new(self.clone(), &container, image_id, plain);
        let chunk_size = match plain {
            Some(_) => u64::MAX,
            None => inner.config.large_object_chunk_size,
        };
        let fed: Result<(), StoreError> = async {
            while let Some(item) = body.next().await {
                let mut chunk = item.map_err(|e| StoreError::Client(e.to_string()))?;
                if digest.size().saturating_add(chunk.len() as u64) > size_cap {
                    return Err(StoreError::TooLarge { cap: size_cap });
                }
                digest.update(&chunk);
                // A chunk may straddle segment boundaries.
                while !chunk.is_empty() {
                    let room = chunk_size - segments.current_len();
                    let take = chunk.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                    segments.write(chunk.split_to(take)).await?;
                    if segments.current_len() >= chunk_size {
                        segments.finish_segment().await?;
                    }
                }
            }
            if plain.is_some_and(|n| n != digest.size()) {
                return Err(StoreError::Client(format!(
                    "{} bytes received, {} declared",
                    digest.size(),
                    plain.unwrap_or_default()
                )));
            }
            segments.finish_segment().await
        }
        .await;
        // The format check comes before anything is visible under the image's name.
        let data = match fed.and_then(|()| digest.finish()) {
            Ok(data) => data,
            Err(e) => {
                segments.remove().await;
                return Err(e);
            }
        };
        let written = match plain {
            // An empty body started no PUT: the empty object.
            Some(_) if segments.count() == 0 => {
                let path = object_path(&container, image_id);
                match self.send(Method::PUT, &path, &[], Bytes::new()).await {
                    Ok(r) => expect_success(r, "PUT").await,
                    Err(e) => Err(e),
                }
            }
            Some(_) => Ok(()),
            None => self.put_manifest(&container, image_id).await,
        };
        if let Err(e) = written {
            segments.remove().await;
            return Err(e);
        }
        segments.keep();
        tracing::debug!(%container, object = image_id, size = data.size, "wrote image data to Swift");
        Ok(data)
    }

    /// Segments an earlier upload of the image left (its process died mid-upload): a manifest
    /// names its segments by prefix, so stale ones would become part of the new data.
    async fn remove_stale_segments(
        &self,
        container: &str,
        image_id: &str,
    ) -> Result<(), StoreError> {
        let stale = self.list(container, &format!("{image_id}-"), None).await?;
        if !stale.is_empty() {
            tracing::warn!(
                image_id,
                count = stale.len(),
                "removing segments of an earlier upload"
            );
            remove_segments(self, container, stale).await;
        }
        Ok(())
    }

    /// The Dynamic Large Object manifest, as glance_store writes it.
    async fn put_manifest(&self, container: &str, image_id: &str) -> Result<(), StoreError> {
        let manifest = format!("{container}/{image_id}-");
        let r = self
            .send(
                Method::PUT,
                &object_path(container, image_id),
                &[("X-Object-Manifest", manifest)],
                Bytes::new(),
            )
            .await?;
        expect_success(r, "PUT manifest").await
    }

    /// Copies image `from`'s data to image `to` inside this store's account without moving it
    /// through glint: a plain object with one server-side copy (`X-Copy-From`); a Dynamic Large
    /// Object segment by segment, each copied server-side to `<to>-00001`, ..., then a manifest
    /// of its own (copying the manifest itself would make Swift join the segments into one
    /// object, which stops at 5 GiB). Returns the bytes copied, or `None` for a Static Large
    /// Object, which the caller copies by streaming instead. A failed copy removes what it
    /// wrote.
    pub async fn copy(&self, from: &str, to: &str) -> Result<Option<u64>, StoreError> {
        check_name(from)?;
        check_name(to)?;
        let c = &self.inner.config;
        let (src_container, dst_container) = (c.container_for(from), c.container_for(to));
        let src = object_path(&src_container, from);
        let head = self.send(Method::HEAD, &src, &[], Bytes::new()).await?;
        if head.status() == StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound);
        }
        let head = check(head, "HEAD").await?;
        let header = |n: &str| {
            head.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if header("x-static-large-object").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        let size = content_length(&head)?;
        self.ensure_container(&dst_container).await?;
        self.remove_stale_segments(&dst_container, to).await?;
        let dst = object_path(&dst_container, to);
        let Some(manifest) = header("x-object-manifest") else {
            self.copy_object(&src, &dst).await?;
            return Ok(Some(size));
        };
        let (seg_container, prefix) = manifest
            .split_once('/')
            .ok_or_else(|| backend(format!("bad X-Object-Manifest {manifest}")))?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let (seg_container, prefix) = (decode(seg_container), decode(prefix));
        let mut written = Vec::new();
        let copied: Result<(), StoreError> = async {
            let names = self.list(&seg_container, &prefix, None).await?;
            // Named in the source's order, so the manifest joins them the same way.
            let pairs: Vec<(String, String)> = names
                .into_iter()
                .enumerate()
                .map(|(i, name)| (name, format!("{to}-{:05}", i + 1)))
                .collect();
            written.extend(pairs.iter().map(|(_, new)| new.clone()));
            futures_util::stream::iter(pairs)
                .map(|(name, new)| {
                    let (seg_container, dst_container) = (&seg_container, &dst_container);
                    async move {
                        self.copy_object(
                            &object_path(seg_container, &name),
                            &object_path(dst_container, &new),
                        )
                        .await
                    }
                })
                .buffer_unordered(SEGMENT_COPIES_AT_ONCE)
                .try_collect::<Vec<()>>()
                .await?;
            self.put_manifest(&dst_container, to).await?;
            // The copy must hold what the source held: a segment that went away meanwhile
            // (the source deleted mid-copy) shows here.
            let check_head = self.send(Method::HEAD, &dst, &[], Bytes::new()).await?;
            let got = content_length(&check(check_head, "HEAD").await?)?;
            if got != size {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            let _ = self.send(Method::DELETE, &dst, &[], Bytes::new()).await;
            remove_segments(self, &dst_container, written).await;
            return Err(e);
        }
        Ok(Some(size))
    }

    /// One server-side object copy (`PUT` with `X-Copy-From`); a missing source is `NotFound`.
    async fn copy_object(&self, src: &str, dst: &str) -> Result<(), StoreError> {
        let r = self
            .send(
                Method::PUT,
                dst,
                &[("X-Copy-From", format!("/{src}"))],
                Bytes::new(),
            )
            .await?;
        if r.status() == StatusCode::NOT_FOUND {
            return Err(StoreError::NotFound);
        }
        expect_success(r, "COPY").await
    }

    /// The image's data, or the inclusive range `[start, end]` of it (file store semantics).
    pub async fn get(
        &self,
        image_id: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        check_name(image_id)?;
        let container = self.inner.config.container_for(image_id);
        self.get_path(&object_path(&container, image_id), range, None)
            .await
    }

    /// The data a location URL names: with this store's session when the location is this
    /// store's account, else after authenticating with the location's account.
    pub async fn get_location(
        &self,
        location: &SwiftLocation,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        check_name(&location.object)?;
        let session = self.session_for(location).await?;
        let path = object_path(&location.container, &location.object);
        self.get_path(&path, range, session).await
    }

    /// Removes the object a location names (segments of a large object first).
    pub async fn delete_location(&self, location: &SwiftLocation) -> Result<(), StoreError> {
        check_name(&location.object)?;
        let session = self.session_for(location).await?;
        self.delete_object(&location.container, &location.object, session)
            .await
    }

    /// Removes the image's object and, for a large object, its segments; gone is fine.
    pub async fn delete(&self, image_id: &str) -> Result<(), StoreError> {
        check_name(image_id)?;
        let container = self.inner.config.container_for(image_id);
        self.delete_object(&container, image_id, None).await
    }

    async fn delete_object(
        &self,
        container: &str,
        object: &str,
        session: Option<Session>,
    ) -> Result<(), StoreError> {
        let path = object_path(container, object);
        let head = self
            .send_with(session.clone(), Method::HEAD, &path, &[], Bytes::new())
            .await?;
        if head.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        let head = check(head, "HEAD").await?;
        let header = |n: &str| {
            head.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if header("x-static-large-object").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            let r = self
                .send_with(
                    session,
                    Method::DELETE,
                    &format!("{path}?multipart-manifest=delete"),
                    &[],
                    Bytes::new(),
                )
                .await?;
            return ok_or_gone(r, "DELETE").await;
        }
        if let Some(manifest) = header("x-object-manifest") {
            let (seg_container, prefix) = manifest
                .split_once('/')
                .ok_or_else(|| backend(format!("bad X-Object-Manifest {manifest}")))?;
            let seg_container = percent_encoding::percent_decode_str(seg_container)
                .decode_utf8_lossy()
                .into_owned();
            let prefix = percent_encoding::percent_decode_str(prefix)
                .decode_utf8_lossy()
                .into_owned();
            for name in self.list(&seg_container, &prefix, session.clone()).await? {
                let r = self
                    .send_with(
                        session.clone(),
                        Method::DELETE,
                        &object_path(&seg_container, &name),
                        &[],
                        Bytes::new(),
                    )
                    .await?;
                if let Err(e) = ok_or_gone(r, "DELETE segment").await {
                    tracing::warn!(segment = %name, error = %e, "unable to delete a segment");
                }
            }
        }
        let r = self
            .send_with(session, Method::DELETE, &path, &[], Bytes::new())
            .await?;
        ok_or_gone(r, "DELETE").await
    }

    /// Object names in `container` starting with `prefix` (all pages).
    async fn list(
        &self,
        container: &str,
        prefix: &str,
        session: Option<Session>,
    ) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut marker = String::new();
        loop {
            let path = format!(
                "{}?format=json&prefix={}&marker={}",
                utf8_percent_encode(container, PATH),
                utf8_percent_encode(prefix, PATH),
                utf8_percent_encode(&marker, PATH)
            );
            let r = self
                .send_with(session.clone(), Method::GET, &path, &[], Bytes::new())
                .await?;
            if r.status() == StatusCode::NOT_FOUND {
                return Ok(names);
            }
            let r = check(r, "GET container").await?;
            let page: Vec<serde_json::Value> = r
                .json()
                .await
                .map_err(|e| backend(format!("bad Swift container listing: {e}")))?;
            let Some(last) = page.last().and_then(|o| o["name"].as_str()) else {
                return Ok(names);
            };
            marker = last.to_owned();
            names.extend(
                page.iter()
                    .filter_map(|o| o["name"].as_str().map(str::to_owned)),
            );
        }
    }

    async fn get_path(
        &self,
        path: &str,
        range: Option<(u64, u64)>,
        session: Option<Session>,
    ) -> Result<(u64, DataStream), StoreError> {
        let mut headers = Vec::new();
        if let Some((start, end)) = range {
            let head = self
                .send_with(session.clone(), Method::HEAD, path, &[], Bytes::new())
                .await?;
            let total = content_length(&check(head, "HEAD").await?)?;
            if start >= total || end < start {
                return Err(StoreError::RangeNotSatisfiable { size: total });
            }
            headers.push(("Range", format!("bytes={start}-{}", end.min(total - 1))));
        }
        let r = self
            .send_with(session, Method::GET, path, &headers, Bytes::new())
            .await?;
        let r = check(r, "GET").await?;
        let total = match r
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
        {
            Some(cr) => cr
                .rsplit_once('/')
                .and_then(|(_, t)| t.parse().ok())
                .ok_or_else(|| backend(format!("bad Content-Range {cr}")))?,
            None => content_length(&r)?,
        };
        let stream = r.bytes_stream().map_err(io::Error::other).boxed();
        Ok((total, stream))
    }

    /// Checks that the container exists, creating it when `swift_store_create_container_on_put`
    /// says so (glance_store's message otherwise); once per container and process.
    async fn ensure_container(&self, container: &str) -> Result<(), StoreError> {
        let known = |c: &str| {
            self.inner
                .containers_ready
                .lock()
                .map(|s| s.contains(c))
                .unwrap_or(false)
        };
        if known(container) {
            return Ok(());
        }
        let path = utf8_percent_encode(container, PATH).to_string();
        let r = self.send(Method::HEAD, &path, &[], Bytes::new()).await?;
        if r.status() == StatusCode::NOT_FOUND {
            if !self.inner.config.create_container_on_put {
                return Err(backend(format!(
                    "The container {container} does not exist in Swift. Please set the \
                     swift_store_create_container_on_put option to add container to Swift \
                     automatically."
                )));
            }
            let r = self.send(Method::PUT, &path, &[], Bytes::new()).await?;
            expect_success(r, "PUT container").await?;
            tracing::info!(%container, "created Swift container");
        } else {
            check(r, "HEAD container").await?;
        }
        if let Ok(mut s) = self.inner.containers_ready.lock() {
            s.insert(container.to_owned());
        }
        Ok(())
    }

    /// The session for a location: `None` (this store's own) when it names this store's
    /// account, else a new one for the location's account.
    async fn session_for(&self, location: &SwiftLocation) -> Result<Option<Session>, StoreError> {
        let c = &self.inner.config;
        let account = match (
            &location.reference,
            &location.credentials,
            &location.auth_address,
        ) {
            (Some(r), _, _) if *r == c.default_reference => return Ok(None),
            (Some(r), _, _) => c
                .references
                .get(r)
                .cloned()
                .ok_or_else(|| backend(format!("unknown swift account reference {r}")))?,
            (None, Some((user, key)), Some(address)) => {
                let own = c.account();
                if own.is_some_and(|a| {
                    a.user == *user
                        && a.key == *key
                        && a.auth_address.trim_end_matches('/') == address.trim_end_matches('/')
                }) {
                    return Ok(None);
                }
                SwiftAccount {
                    auth_address: address.clone(),
                    user: user.clone(),
                    key: key.clone(),
                    auth_version: own.map(|a| a.auth_version.clone()).unwrap_or("3".into()),
                    user_domain: Domain::Id("default".into()),
                    project_domain: Domain::Id("default".into()),
                }
            }
            _ => return Err(backend("Swift location without credentials".into())),
        };
        Ok(Some(self.authenticate(&account).await?))
    }

    /// This store's session, renewed when it expires within `swift_store_expire_soon_interval`.
    async fn session(&self, renew: bool) -> Result<Session, StoreError> {
        let mut held = self.inner.session.lock().await;
        let soon = Duration::from_secs(self.inner.config.expire_soon_interval);
        if let Some(s) = held.as_ref() {
            let fresh = s.expires.is_none_or(|e| e > Instant::now() + soon);
            if fresh && !renew {
                return Ok(s.clone());
            }
        }
        let account = self
            .inner
            .config
            .account()
            .ok_or_else(|| backend("no swift account".into()))?;
        let s = self.authenticate(account).await?;
        *held = Some(s.clone());
        Ok(s)
    }

    /// Logs in: Keystone v3 password auth scoped to the `project` of `project:user`, the
    /// storage URL from the catalog (or `swift_store_endpoint`); or a v1.0 auth URL.
    async fn authenticate(&self, a: &SwiftAccount) -> Result<Session, StoreError> {
        let c = &self.inner.config;
        if a.auth_version == "1" {
            let r = self
                .inner
                .http
                .get(&a.auth_address)
                .header("X-Auth-User", &a.user)
                .header("X-Auth-Key", &a.key)
                .send()
                .await
                .map_err(|e| backend(format!("Swift auth at {} failed: {e}", a.auth_address)))?;
            let r = check(r, "auth").await?;
            let h = |n: &str| {
                r.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .ok_or_else(|| backend(format!("Swift auth answer without {n}")))
            };
            return Ok(Session {
                token: h("x-auth-token")?,
                storage_url: c.endpoint.clone().map_or_else(|| h("x-storage-url"), Ok)?,
                expires: None,
            });
        }
        let (project, user) = a.user.split_once(':').ok_or_else(|| {
            backend(format!(
                "Badly formed tenant:user '{}' in Swift URI",
                a.user
            ))
        })?;
        let domain = |d: &Domain| match d {
            Domain::Id(i) => serde_json::json!({"id": i}),
            Domain::Name(n) => serde_json::json!({"name": n}),
        };
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": domain(&a.user_domain), "password": a.key}}},
            "scope": {"project": {"name": project, "domain": domain(&a.project_domain)}}
        }});
        let base = a.auth_address.trim_end_matches('/');
        let url = if base.ends_with("/v3") {
            format!("{base}/auth/tokens")
        } else {
            format!("{base}/v3/auth/tokens")
        };
        let r = self
            .inner
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| backend(format!("Keystone auth at {url} failed: {e}")))?;
        let r = check(r, "Keystone auth").await?;
        let token = r
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| backend("Keystone answered without X-Subject-Token".into()))?;
        let v: serde_json::Value = r
            .json()
            .await
            .map_err(|e| backend(format!("bad Keystone token body: {e}")))?;
        let expires = v["token"]["expires_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| {
                (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .ok()
            })
            .map(|left| Instant::now() + left);
        let storage_url = match &c.endpoint {
            Some(e) => e.clone(),
            None => catalog_url(&v, &c.service_type, &c.interface, c.region.as_deref())
                .ok_or_else(|| {
                    backend(format!(
                        "no {} endpoint ({}{}) in the Keystone catalog",
                        c.service_type,
                        c.interface,
                        c.region
                            .as_deref()
                            .map(|r| format!(", region {r}"))
                            .unwrap_or_default()
                    ))
                })?,
        };
        Ok(Session {
            token,
            storage_url: storage_url.trim_end_matches('/').to_owned(),
            expires,
        })
    }

    /// A request with this store's session; one renewal and retry when the token is refused.
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<reqwest::Response, StoreError> {
        self.send_with(None, method, path, headers, body).await
    }

    async fn send_with(
        &self,
        session: Option<Session>,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<reqwest::Response, StoreError> {
        let own = session.is_none();
        let mut s = match session {
            Some(s) => s,
            None => self.session(false).await?,
        };
        for attempt in 0..2 {
            let url = format!("{}/{path}", s.storage_url);
            let mut req = self
                .inner
                .http
                .request(method.clone(), &url)
                .header("X-Auth-Token", &s.token)
                .body(body.clone());
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            // Swift wants a length on every PUT; an empty body gets none by itself.
            if method == Method::PUT && body.is_empty() {
                req = req.header(reqwest::header::CONTENT_LENGTH, "0");
            }
            let r = req
                .send()
                .await
                .map_err(|e| backend(format!("Swift {method} {url} failed: {e}")))?;
            if r.status() == StatusCode::UNAUTHORIZED && own && attempt == 0 {
                s = self.session(true).await?;
                continue;
            }
            return Ok(r);
        }
        Err(backend("Swift refused a renewed token".into()))
    }
}

/// The segments of one upload: the one being streamed and the names of those written. Dropped
/// before [`Segments::keep`] (a failed or abandoned upload), it removes them in the background.
struct Segments {
    store: SwiftStore,
    container: String,
    object: String,
    names: Vec<String>,
    /// The segment being written: its body sender, bytes sent, and the PUT in flight.
    current: Option<Current>,
    /// The length of a plain object: its one "segment" is the object itself.
    plain: Option<u64>,
    kept: bool,
}

struct Current {
    tx: mpsc::Sender<Bytes>,
    sent: u64,
    /// Set just before the sender is dropped at a segment's proper end; a body that ends
    /// without it ends with an error, so that Swift stores no truncated segment.
    complete: Arc<AtomicBool>,
    put: JoinHandle<Result<(), StoreError>>,
}

impl Segments {
    fn new(store: SwiftStore, container: &str, object: &str, plain: Option<u64>) -> Self {
        Segments {
            store,
            container: container.to_owned(),
            object: object.to_owned(),
            names: Vec::new(),
            current: None,
            plain,
            kept: false,
        }
    }

    fn count(&self) -> usize {
        self.names.len()
    }

    fn current_len(&self) -> u64 {
        self.current.as_ref().map_or(0, |c| c.sent)
    }

    /// Sends `chunk` into the current segment, starting one if needed.
    async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        if chunk.is_empty() {
            return Ok(());
        }
        if self.current.is_none() {
            self.start().await?;
        }
        let Some(cur) = self.current.as_mut() else {
            return Err(backend("segment lost".into()));
        };
        cur.sent += chunk.len() as u64;
        if cur.tx.send(chunk).await.is_err() {
            // The PUT ended early: its error says why.
            return Err(self.fail_current().await);
        }
        Ok(())
    }

    async fn start(&mut self) -> Result<(), StoreError> {
        let name = match self.plain {
            Some(_) => self.object.clone(),
            None => format!("{}-{:05}", self.object, self.names.len() + 1),
        };
        let session = self.store.session(false).await?;
        let url = format!(
            "{}/{}",
            session.storage_url,
            object_path(&self.container, &name)
        );
        let (tx, rx) = mpsc::channel::<Bytes>(QUEUED_CHUNKS);
        let complete = Arc::new(AtomicBool::new(false));
        let done = complete.clone();
        let body = futures_util::stream::unfold(Some(rx), move |rx| {
            let done = done.clone();
            async move {
                let mut rx = rx?;
                match rx.recv().await {
                    Some(b) => Some((Ok(b), Some(rx))),
                    None if done.load(Ordering::Acquire) => None,
                    None => Some((Err(io::Error::other("upload abandoned")), None)),
                }
            }
        });
        let mut request = self
            .store
            .inner
            .http
            .put(&url)
            .header("X-Auth-Token", &session.token)
            .body(reqwest::Body::wrap_stream(body));
        if let Some(len) = self.plain {
            request = request.header(reqwest::header::CONTENT_LENGTH, len);
        }
        let put = tokio::spawn(async move {
            let r = request
                .send()
                .await
                .map_err(|e| backend(format!("Swift PUT {url} failed: {e}")))?;
            expect_success(r, "PUT segment").await
        });
        self.names.push(name);
        self.current = Some(Current {
            tx,
            sent: 0,
            complete,
            put,
        });
        Ok(())
    }

    /// Ends the current segment properly and waits for Swift to store it.
    async fn finish_segment(&mut self) -> Result<(), StoreError> {
        let Some(cur) = self.current.take() else {
            return Ok(());
        };
        cur.complete.store(true, Ordering::Release);
        drop(cur.tx);
        cur.put
            .await
            .map_err(|e| backend(format!("Swift segment upload failed: {e}")))?
    }

    async fn fail_current(&mut self) -> StoreError {
        match self.current.take() {
            Some(cur) => {
                drop(cur.tx);
                match cur.put.await {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => backend("Swift segment upload ended early".into()),
                    Err(e) => backend(format!("Swift segment upload failed: {e}")),
                }
            }
            None => backend("no segment in progress".into()),
        }
    }

    /// Aborts the segment in flight (its body ends with an error) and removes every segment.
    async fn remove(&mut self) {
        if let Some(cur) = self.current.take() {
            drop(cur.tx);
            let _ = cur.put.await;
        }
        remove_segments(
            &self.store,
            &self.container,
            std::mem::take(&mut self.names),
        )
        .await;
        self.kept = true;
    }

    fn keep(mut self) {
        self.kept = true;
        self.names.clear();
    }
}

impl Drop for Segments {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let names = std::mem::take(&mut self.names);
        let current = self.current.take();
        let (store, container) = (self.store.clone(), self.container.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(cur) = current {
                    drop(cur.tx);
                    let _ = cur.put.await;
                }
                remove_segments(&store, &container, names).await;
            });
        }
    }
}

async fn remove_segments(store: &SwiftStore, container: &str, names: Vec<String>) {
    for name in names {
        let r = store
            .send(
                Method::DELETE,
                &object_path(container, &name),
                &[],
                Bytes::new(),
            )
            .await;
        match r {
            Ok(r) if r.status().is_success() || r.status() == StatusCode::NOT_FOUND => {}
            Ok(r) => {
                tracing::warn!(segment = %name, status = %r.status(), "cannot remove a stale segment")
            }
            Err(e) => tracing::warn!(segment = %name, error = %e, "cannot remove a stale segment"),
        }
    }
}

/// The catalog's URL for `service_type` at `interface` (in `region`, when given).
fn catalog_url(
    token: &serde_json::Value,
    service_type: &str,
    interface: &str,
    region: Option<&str>,
) -> Option<String> {
    token["token"]["catalog"]
        .as_array()?
        .iter()
        .filter(|s| s["type"] == service_type)
        .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
        .find(|e| {
            e["interface"] == interface
                && region.is_none_or(|r| e["region"] == r || e["region_id"] == r)
        })
        .and_then(|e| e["url"].as_str().map(str::to_owned))
}

/// `container/object`, escaped for a request path.
fn object_path(container: &str, object: &str) -> String {
    format!(
        "{}/{}",
        utf8_percent_encode(container, PATH),
        utf8_percent_encode(object, PATH)
    )
}

/// Ids that could name something else are refused, as by the other stores.
fn check_name(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', '\0']) {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn content_length(r: &reqwest::Response) -> Result<u64, StoreError> {
    r.headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| backend("Swift answered without Content-Length".into()))
}

/// The response when it succeeded; 404 is [`StoreError::NotFound`], 416 a range error,
/// anything else a backend error with Swift's answer.
async fn check(r: reqwest::Response, what: &str) -> Result<reqwest::Response, StoreError> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    if status == StatusCode::NOT_FOUND {
        return Err(StoreError::NotFound);
    }
    let text = r.text().await.unwrap_or_default();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        tracing::warn!(%text, "Swift refused the object as too large");
        return Err(StoreError::StorageFull);
    }
    Err(backend(format!(
        "Swift {what}: HTTP {status}: {}",
        text.chars().take(200).collect::<String>()
    )))
}

async fn expect_success(r: reqwest::Response, what: &str) -> Result<(), StoreError> {
    check(r, what).await.map(drop)
}

async fn ok_or_gone(r: reqwest::Response, what: &str) -> Result<(), StoreError> {
    match check(r, what).await {
        Ok(_) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

fn backend(message: String) -> StoreError {
    StoreError::Io(io::Error::other(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_as_glance_store_reads_them() {
        let l = SwiftLocation::parse("swift+config://ref1/glance/id1").expect("config");
        assert_eq!(
            (
                l.reference.as_deref(),
                l.container.as_str(),
                l.object.as_str()
            ),
            (Some("ref1"), "glance", "id1")
        );
        let l =
            SwiftLocation::parse("swift+http://service%3Aglance:s%40cret@ks:5000/v3/glance/id1")
                .expect("inline");
        assert_eq!(
            l.credentials,
            Some(("service:glance".into(), "s@cret".into()))
        );
        assert_eq!(l.auth_address.as_deref(), Some("http://ks:5000/v3"));
        let l = SwiftLocation::parse("swift://a:b:c@ks/v3/cont/obj").expect("account:user:key");
        assert_eq!(l.credentials, Some(("a:b".into(), "c".into())));
        assert_eq!(l.auth_address.as_deref(), Some("https://ks/v3"));
        for bad in [
            "swift://a:b@http://ks/c/o",
            "s3://a:b@h/b/k",
            "swift+config://ref1/glance/",
            "swift://a@b@ks/c/o",
            "swift+http://user@ks/c/o",
            "swift+config:///c/o",
        ] {
            assert!(SwiftLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn catalog_picks_type_interface_and_region() {
        let token = serde_json::json!({"token": {"catalog": [
            {"type": "identity", "endpoints": [{"interface": "public", "region": "R1", "url": "http://ks"}]},
            {"type": "object-store", "endpoints": [
                {"interface": "internal", "region": "R1", "url": "http://int/v1/KEY_p"},
                {"interface": "public", "region": "R1", "url": "http://r1/v1/KEY_p"},
                {"interface": "public", "region": "R2", "url": "http://r2/v1/KEY_p"}]}]}});
        let url = |i, r| catalog_url(&token, "object-store", i, r);
        assert_eq!(url("public", None).as_deref(), Some("http://r1/v1/KEY_p"));
        assert_eq!(
            url("public", Some("R2")).as_deref(),
            Some("http://r2/v1/KEY_p")
        );
        assert_eq!(
            url("internal", None).as_deref(),
            Some("http://int/v1/KEY_p")
        );
        assert_eq!(url("admin", None), None);
        assert_eq!(url("public", Some("R3")), None);
    }

    #[test]
    fn paths_escape_names() {
        assert_eq!(object_path("glance", "a b/c"), "glance/a%20b%2Fc");
        assert!(check_name("x/y").is_err() && check_name(".x").is_err());
        assert!(check_name("6f1c1e54-3a8e-4f2c-9b1e-2f7f3c8e9d01").is_ok());
    }
}
