//! The S3 store (`glint::store::S3Store`) on Swift's s3api.

use std::collections::HashMap;
use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use glint::config::stores::S3Config;
use glint::config::RawConfig;
use glint::store::{HashAlgo, S3Location, S3Store, Store, StoreError};
use md5::{Digest, Md5};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::HttpRequestBody;

use crate::helpers::skip;

const MIB: usize = 1024 * 1024;
const CAP: u64 = 1 << 40;

/// The server's coordinates, from the env file scripts/swift.sh writes; `None` (after a
/// SKIPPED line) when the tests run without it.
fn server() -> Option<HashMap<String, String>> {
    let Ok(path) = std::env::var("GLINT_SWIFT_ENV") else {
        skip("no object store: GLINT_SWIFT_ENV unset (scripts/swift.sh start writes the env file)");
        return None;
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("GLINT_SWIFT_ENV={path}: cannot read: {e}"));
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect(),
    )
}

/// A bucket name of its own for one test.
fn bucket(test: &str) -> String {
    format!(
        "glint-{test}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The store as glance-api.conf would configure it, with `extra` option lines.
fn s3_config(env: &HashMap<String, String>, bucket: &str, extra: &str) -> S3Config {
    let text = format!(
        "[glance_store]\ns3_store_host = {}\ns3_store_access_key = {}\ns3_store_secret_key = {}\n\
         s3_store_bucket = {bucket}\ns3_store_bucket_url_format = path\n{extra}",
        env["S3_ENDPOINT"], env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"]
    );
    S3Config::from_raw(&RawConfig::from_text(&text).unwrap(), "glance_store").unwrap()
}

fn store(env: &HashMap<String, String>, bucket: &str, extra: &str) -> S3Store {
    S3Store::new(s3_config(env, bucket, extra), HashAlgo::Sha512).unwrap()
}

/// Deterministic, not repetitive within a part: a byte pattern of `len` bytes.
fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `bytes` as a body of `chunk`-sized pieces.
fn body(bytes: &[u8], chunk: usize) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin {
    let parts: Vec<_> = bytes
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts)
}

async fn read(store: &S3Store, id: &str, range: Option<(u64, u64)>) -> (u64, Vec<u8>) {
    let (total, mut s) = store.get(id, range).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    (total, out)
}

fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha512::digest(bytes))
}

/// A SigV4-signed request straight to the S3 API (what the store does not expose).
async fn signed(
    env: &HashMap<String, String>,
    method: http::Method,
    path_and_query: &str,
) -> (u16, String) {
    let url = format!("{}{path_and_query}", env["S3_ENDPOINT"]);
    let credential = AwsCredential {
        key_id: env["S3_ACCESS_KEY"].clone(),
        secret_key: env["S3_SECRET_KEY"].clone(),
        token: None,
    };
    let mut request = http::Request::builder()
        .method(method.clone())
        .uri(&url)
        .body(HttpRequestBody::empty())
        .unwrap();
    AwsAuthorizer::new(&credential, "s3", &env["S3_REGION"]).authorize(&mut request, None);
    let response = reqwest::Client::new()
        .request(method, &url)
        .headers(request.headers().clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// In-progress multipart uploads of `bucket` (ListMultipartUploads), as upload ids.
async fn multipart_uploads(env: &HashMap<String, String>, bucket: &str) -> Vec<String> {
    let (status, xml) = signed(env, http::Method::GET, &format!("/{bucket}?uploads")).await;
    assert_eq!(status, 200, "ListMultipartUploads: {xml}");
    xml.split("<UploadId>")
        .skip(1)
        .filter_map(|s| s.split_once("</UploadId>").map(|(id, _)| id.to_owned()))
        .collect()
}

/// Object keys of `bucket` (ListObjectsV2).
async fn keys(env: &HashMap<String, String>, bucket: &str) -> Vec<String> {
    let (status, xml) = signed(env, http::Method::GET, &format!("/{bucket}?list-type=2")).await;
    assert_eq!(status, 200, "ListObjectsV2: {xml}");
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_owned()))
        .collect()
}

async fn drop_bucket(env: &HashMap<String, String>, store: &S3Store, bucket: &str) {
    for key in keys(env, bucket).await {
        store.delete(&key).await.unwrap();
    }
    let (status, body) = signed(env, http::Method::DELETE, &format!("/{bucket}")).await;
    assert_eq!(status, 204, "DELETE bucket: {body}");
}

#[tokio::test]
async fn small_image_goes_up_in_one_put_with_the_file_store_digests() {
    let Some(env) = server() else { return };
    let b = bucket("small");
    let s3 = store(&env, &b, "s3_store_create_bucket_on_put = true\n");
    let bytes = data(300 * 1024 + 17, 1);
    let id = uuid::Uuid::new_v4().to_string();

    let stored = s3.put(&id, body(&bytes, 10_000), CAP, None).await.unwrap();
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.checksum, hex::encode(Md5::digest(&bytes)));
    assert_eq!(stored.hash_algo, "sha512");
    assert_eq!(stored.hash_value, sha512_hex(&bytes));
    assert_eq!(stored.virtual_size, None);

    // The same bytes through the file store give the same values.
    let dir = tempfile::tempdir().unwrap();
    let fs = glint::store::FsStore::open(dir.path().to_owned(), HashAlgo::Sha512).unwrap();
    assert_eq!(
        fs.put(&id, body(&bytes, 4096), CAP, None).await.unwrap(),
        stored
    );

    // One PUT: the object's ETag is its MD5 (a multipart ETag has a "-<parts>" suffix).
    let (status, _) = signed(&env, http::Method::HEAD, &format!("/{b}/{id}")).await;
    assert_eq!(status, 200);
    let head = object_etag(&env, &b, &id).await;
    assert_eq!(head, stored.checksum);

    assert_eq!(
        read(&s3, &id, None).await,
        (bytes.len() as u64, bytes.clone())
    );
    assert!(multipart_uploads(&env, &b).await.is_empty());
    drop_bucket(&env, &s3, &b).await;
}

/// The object's ETag without quotes (ListObjectsV2 shows it).
async fn object_etag(env: &HashMap<String, String>, bucket: &str, key: &str) -> String {
    let (_, xml) = signed(
        env,
        http::Method::GET,
        &format!("/{bucket}?list-type=2&prefix={key}"),
    )
    .await;
    let etag = xml
        .split_once("<ETag>")
        .and_then(|(_, rest)| rest.split_once("</ETag>"))
        .map(|(e, _)| e.to_owned())
        .unwrap_or_else(|| panic!("no ETag for {key}: {xml}"));
    etag.replace("&quot;", "").replace('"', "")
}

#[tokio::test]
async fn large_image_goes_up_in_parts_and_reads_back_in_ranges() {
    let Some(env) = server() else { return };
    let b = bucket("large");
    let s3 = store(
        &env,
        &b,
        "s3_store_create_bucket_on_put = true\ns3_store_large_object_size = 5\n\
         s3_store_large_object_chunk_size = 5\n",
    );
    let bytes = data(12 * MIB + 123, 2);
    let id = uuid::Uuid::new_v4().to_string();

    let stored = s3
        .put(&id, body(&bytes, 64 * 1024 + 3), CAP, None)
        .await
        .unwrap();
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.checksum, hex::encode(Md5::digest(&bytes)));
    assert_eq!(stored.hash_value, sha512_hex(&bytes));
    // Three parts of at least 5 MiB: 5 + 5 + 2.
    let etag = object_etag(&env, &b, &id).await;
    assert!(etag.ends_with("-3"), "multipart ETag expected, got {etag}");
    assert!(multipart_uploads(&env, &b).await.is_empty());

    let total = bytes.len() as u64;
    let (n, all) = read(&s3, &id, None).await;
    assert_eq!(n, total);
    assert!(all == bytes, "full read differs");
    // A range across the first part boundary.
    let (start, end) = (5 * MIB as u64 - 10, 5 * MIB as u64 + 9);
    let (n, got) = read(&s3, &id, Some((start, end))).await;
    assert_eq!(n, total);
    assert_eq!(got, bytes[start as usize..=end as usize]);
    // The end is clamped to the last byte.
    let (_, tail) = read(&s3, &id, Some((total - 5, total + 1000))).await;
    assert_eq!(tail, bytes[bytes.len() - 5..]);
    for bad in [(total, total + 1), (10, 9)] {
        match s3.get(&id, Some(bad)).await {
            Err(StoreError::RangeNotSatisfiable { size }) => assert_eq!(size, total),
            other => panic!("{bad:?}: expected 416, got {:?}", other.map(|(n, _)| n)),
        }
    }
    drop_bucket(&env, &s3, &b).await;
}

#[tokio::test]
async fn deleted_image_is_not_found() {
    let Some(env) = server() else { return };
    let b = bucket("delete");
    let s3 = store(&env, &b, "s3_store_create_bucket_on_put = true\n");
    let id = uuid::Uuid::new_v4().to_string();
    s3.put(&id, body(b"some data", 4), CAP, None).await.unwrap();
    s3.delete(&id).await.unwrap();
    assert!(matches!(s3.get(&id, None).await, Err(StoreError::NotFound)));
    assert!(matches!(
        s3.get(&id, Some((0, 1))).await,
        Err(StoreError::NotFound)
    ));
    // Deleting what is gone is fine, as for the file store.
    s3.delete(&id).await.unwrap();
    assert!(keys(&env, &b).await.is_empty());
    drop_bucket(&env, &s3, &b).await;
}

#[tokio::test]
async fn failed_uploads_leave_no_object_and_no_parts() {
    let Some(env) = server() else { return };
    let b = bucket("failed");
    let s3 = store(
        &env,
        &b,
        "s3_store_create_bucket_on_put = true\ns3_store_large_object_size = 5\n\
         s3_store_large_object_chunk_size = 5\n",
    );
    let bytes = data(11 * MIB, 3);

    // The client's stream breaks after two parts' worth of data.
    let id = uuid::Uuid::new_v4().to_string();
    let broken = stream::iter(
        bytes
            .chunks(MIB)
            .take(11)
            .enumerate()
            .map(|(i, c)| {
                if i < 10 {
                    Ok(Bytes::copy_from_slice(c))
                } else {
                    Err("connection reset")
                }
            })
            .collect::<Vec<_>>(),
    );
    match s3.put(&id, broken, CAP, None).await {
        Err(StoreError::Client(m)) => assert_eq!(m, "connection reset"),
        other => panic!("expected a client error, got {other:?}"),
    }
    assert!(matches!(s3.get(&id, None).await, Err(StoreError::NotFound)));

    // More than the size cap, past the first part.
    let id2 = uuid::Uuid::new_v4().to_string();
    match s3.put(&id2, body(&bytes, MIB), 7 * MIB as u64, None).await {
        Err(StoreError::TooLarge { cap }) => assert_eq!(cap, 7 * MIB as u64),
        other => panic!("expected TooLarge, got {other:?}"),
    }

    // Data that fails its format check (qcow2 expected, raw bytes given).
    let id3 = uuid::Uuid::new_v4().to_string();
    let bad_format = s3.put(&id3, body(&bytes, MIB), CAP, Some("qcow2")).await;
    assert!(
        matches!(bad_format, Err(StoreError::InvalidImageData(_))),
        "{bad_format:?}"
    );

    assert!(keys(&env, &b).await.is_empty());
    assert_eq!(multipart_uploads(&env, &b).await, Vec::<String>::new());
    drop_bucket(&env, &s3, &b).await;
}

#[tokio::test]
async fn missing_bucket_is_created_on_put_only_when_enabled() {
    let Some(env) = server() else { return };
    let b = bucket("create");
    let id = uuid::Uuid::new_v4().to_string();

    let strict = store(&env, &b, "");
    let e = strict
        .put(&id, body(b"abc", 3), CAP, None)
        .await
        .unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains(&format!("The bucket {b} does not exist"))
            && message.contains("s3_store_create_bucket_on_put"),
        "{message}"
    );
    let (status, _) = signed(&env, http::Method::HEAD, &format!("/{b}")).await;
    assert_eq!(status, 404, "a refused put created the bucket");

    let creating = store(&env, &b, "s3_store_create_bucket_on_put = true\n");
    creating.put(&id, body(b"abc", 3), CAP, None).await.unwrap();
    let (status, _) = signed(&env, http::Method::HEAD, &format!("/{b}")).await;
    assert_eq!(status, 200);
    // The strict store now finds the bucket.
    let id2 = uuid::Uuid::new_v4().to_string();
    strict.put(&id2, body(b"def", 3), CAP, None).await.unwrap();
    drop_bucket(&env, &creating, &b).await;
}

#[tokio::test]
async fn locations_are_glance_store_urls_and_read_back() {
    let Some(env) = server() else { return };
    let b = bucket("location");
    let s3 = store(&env, &b, "s3_store_create_bucket_on_put = true\n");
    let id = uuid::Uuid::new_v4().to_string();
    let store = Store::S3(s3.clone());
    assert_eq!(store.kind(), "s3");
    let stored = store
        .put(&id, body(b"located bytes", 5), CAP, None, None)
        .await
        .unwrap();
    assert_eq!(stored.size, 13);

    let url = store.location(&id);
    let host = env["S3_ENDPOINT"].trim_start_matches("http://").to_owned();
    assert_eq!(
        url,
        format!(
            "s3://{}:{}@{host}/{b}/{id}",
            env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"]
        )
    );
    let location = S3Location::parse(&url).unwrap();
    let (total, mut s) = s3.get_location(&location, Some((8, 100))).await.unwrap();
    assert_eq!(total, 13);
    assert_eq!(
        s.next().await.unwrap().unwrap(),
        Bytes::from_static(b"bytes")
    );

    // Through the backend-neutral interface, as the services will call it.
    let (total, mut s) = store.get(&id, None).await.unwrap();
    let mut all = Vec::new();
    while let Some(c) = s.next().await {
        all.extend_from_slice(&c.unwrap());
    }
    assert_eq!((total, all.as_slice()), (13, &b"located bytes"[..]));
    store.delete(&id).await.unwrap();
    assert!(matches!(
        store.get(&id, None).await,
        Err(StoreError::NotFound)
    ));
    drop_bucket(&env, &s3, &b).await;
}

/// Polls `bucket`'s multipart uploads until there are `want` of them (20 s at most: the
/// abort of a dropped upload runs in the background).
async fn await_uploads(env: &HashMap<String, String>, bucket: &str, want: usize) {
    for _ in 0..200 {
        if multipart_uploads(env, bucket).await.len() == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "expected {want} multipart uploads in {bucket}, have {:?}",
        multipart_uploads(env, bucket).await
    );
}

#[tokio::test]
async fn dropped_upload_is_aborted() {
    let Some(env) = server() else { return };
    let b = bucket("dropped");
    let s3 = store(
        &env,
        &b,
        "s3_store_create_bucket_on_put = true\ns3_store_large_object_size = 5\n\
         s3_store_large_object_chunk_size = 5\n",
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let body = Box::pin(stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }));
    let id = uuid::Uuid::new_v4().to_string();
    let upload = {
        let (s3, id) = (s3.clone(), id.clone());
        tokio::spawn(async move { s3.put(&id, body, CAP, None).await })
    };
    // More than one part: the multipart upload starts; then the client goes silent.
    for chunk in data(6 * MIB, 4).chunks(MIB) {
        tx.send(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    await_uploads(&env, &b, 1).await;
    // The request is dropped (as actix drops the handler of a vanished client).
    upload.abort();
    assert!(upload.await.unwrap_err().is_cancelled());
    await_uploads(&env, &b, 0).await;
    assert!(keys(&env, &b).await.is_empty());
    drop(tx);
    drop_bucket(&env, &s3, &b).await;
}
