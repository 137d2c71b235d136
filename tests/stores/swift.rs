//! The Swift store (`glint::store::SwiftStore`) on the real Swift of scripts/swift.sh,
//! authenticating with Keystone v3 against the Keystone of scripts/keystone.sh. Each test uses
//! a container of its own (`SwiftTarget`: 100 KiB large-object threshold, 64 KiB segments) and
//! removes it at the end.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use glint::config::swift::SwiftConfig;
use glint::config::RawConfig;
use glint::store::{HashAlgo, StoreError, SwiftLocation, SwiftStore};
use md5::{Digest, Md5};

use crate::helpers::skip;
use crate::helpers::swift_target::{SwiftTarget, CHUNK_SIZE};

const CAP: u64 = 1 << 40;

fn target() -> Option<SwiftTarget> {
    let t = SwiftTarget::from_env();
    if t.is_none() {
        skip("no Swift with Keystone: GLINT_SWIFT_ENV unset or without SWIFT_KEYSTONE_* (start scripts/keystone.sh, then scripts/swift.sh)");
    }
    t
}

fn store(t: &SwiftTarget) -> SwiftStore {
    SwiftStore::new(t.config(), HashAlgo::Sha512).unwrap()
}

/// Deterministic bytes, different in every segment.
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

fn body(bytes: &[u8], chunk: usize) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin {
    let parts: Vec<_> = bytes
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts)
}

async fn read_stream(mut s: glint::store::DataStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

async fn read(store: &SwiftStore, id: &str, range: Option<(u64, u64)>) -> (u64, Vec<u8>) {
    let (total, s) = store.get(id, range).await.unwrap();
    (total, read_stream(s).await)
}

fn segment_names(id: &str, n: usize) -> Vec<String> {
    let mut names = vec![id.to_owned()];
    names.extend((1..=n).map(|i| format!("{id}-{i:05}")));
    names
}

#[tokio::test]
async fn large_image_is_segments_and_a_manifest_and_reads_in_ranges() {
    let Some(t) = target() else { return };
    let swift = store(&t);
    let bytes = data(300_000, 1);
    let id = uuid::Uuid::new_v4().to_string();
    let stored = swift
        .put(&id, body(&bytes, 10_000), CAP, None, None)
        .await
        .unwrap();
    assert_eq!(stored.size, 300_000);
    assert_eq!(stored.checksum, hex::encode(Md5::digest(&bytes)));
    // 300,000 bytes in 64 KiB segments: five, named as glance_store names them.
    assert_eq!(300_000_u64.div_ceil(CHUNK_SIZE), 5);
    let mut want = segment_names(&id, 5);
    want.sort();
    assert_eq!(t.names(), want);
    let head = t.head(&id).expect("manifest");
    assert_eq!(
        head["x-object-manifest"].to_str().unwrap(),
        format!("{}/{id}-", t.container)
    );
    assert_eq!(swift.location(&id), t.location(&id));
    assert_eq!(read(&swift, &id, None).await, (300_000, bytes.clone()));
    // A range across a segment boundary, and one clamped at the end.
    let (total, part) = read(&swift, &id, Some((65_530, 65_545))).await;
    assert_eq!((total, part.as_slice()), (300_000, &bytes[65_530..65_546]));
    let (_, tail) = read(&swift, &id, Some((299_990, 400_000))).await;
    assert_eq!(tail, &bytes[299_990..]);
    assert!(matches!(
        swift.get(&id, Some((300_000, 300_001))).await,
        Err(StoreError::RangeNotSatisfiable { size: 300_000 })
    ));
    // An upload whose process died left segments; a new, smaller upload of the image must not
    // take them into its manifest (which names segments by prefix).
    let short = data(100_000, 9);
    swift
        .put(&id, body(&short, 10_000), CAP, None, None)
        .await
        .unwrap();
    assert_eq!(read(&swift, &id, None).await, (100_000, short));
    let mut want = segment_names(&id, 2);
    want.sort();
    assert_eq!(t.names(), want);
    // Deleting removes the segments too; deleting again is fine.
    swift.delete(&id).await.unwrap();
    assert!(t.names().is_empty(), "{:?}", t.names());
    swift.delete(&id).await.unwrap();
    assert!(matches!(
        swift.get(&id, None).await,
        Err(StoreError::NotFound)
    ));
    t.remove();
}

#[tokio::test]
async fn small_image_is_one_plain_object() {
    let Some(t) = target() else { return };
    let swift = store(&t);
    // Declared below the large-object size: one plain object, as glance_store writes it.
    let bytes = data(60_000, 2);
    let id = uuid::Uuid::new_v4().to_string();
    let stored = swift
        .put(&id, body(&bytes, 7_000), CAP, None, Some(60_000))
        .await
        .unwrap();
    assert_eq!(t.names(), vec![id.clone()]);
    let head = t.head(&id).expect("object");
    assert!(head.get("x-object-manifest").is_none());
    // A plain object's ETag is the MD5 of its data: Glance's checksum.
    assert_eq!(
        head["etag"].to_str().unwrap().trim_matches('"'),
        stored.checksum
    );
    assert_eq!(read(&swift, &id, None).await, (60_000, bytes));
    // An empty image is an empty object.
    let empty = uuid::Uuid::new_v4().to_string();
    let stored = swift
        .put(&empty, body(&[], 1), CAP, None, Some(0))
        .await
        .unwrap();
    assert_eq!(stored.size, 0);
    assert_eq!(read(&swift, &empty, None).await, (0, Vec::new()));
    swift.delete(&id).await.unwrap();
    swift.delete(&empty).await.unwrap();
    assert!(t.names().is_empty());
    t.remove();
}

#[tokio::test]
async fn failed_uploads_leave_no_segments() {
    let Some(t) = target() else { return };
    let swift = store(&t);
    let bytes = data(300_000, 3);
    // The client's stream breaks after two segments.
    let id = uuid::Uuid::new_v4().to_string();
    let broken = stream::iter(
        bytes
            .chunks(10_000)
            .enumerate()
            .map(|(i, c)| {
                if i < 15 {
                    Ok(Bytes::copy_from_slice(c))
                } else {
                    Err("connection reset")
                }
            })
            .collect::<Vec<_>>(),
    );
    match swift.put(&id, broken, CAP, None, None).await {
        Err(StoreError::Client(m)) => assert_eq!(m, "connection reset"),
        other => panic!("expected a client error, got {other:?}"),
    }
    // Over the size cap, past the first segment.
    let id2 = uuid::Uuid::new_v4().to_string();
    match swift
        .put(&id2, body(&bytes, 10_000), 150_000, None, None)
        .await
    {
        Err(StoreError::TooLarge { cap }) => assert_eq!(cap, 150_000),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // A plain object whose body breaks: Swift keeps nothing of it.
    let id4 = uuid::Uuid::new_v4().to_string();
    let short = stream::iter(vec![
        Ok(Bytes::from_static(b"abc")),
        Err("connection reset"),
    ]);
    assert!(matches!(
        swift.put(&id4, short, CAP, None, Some(90_000)).await,
        Err(StoreError::Client(_))
    ));
    // Data that fails its format check, found only at the end.
    let id3 = uuid::Uuid::new_v4().to_string();
    let bad = swift
        .put(&id3, body(&bytes, 10_000), CAP, Some("qcow2"), None)
        .await;
    assert!(
        matches!(bad, Err(StoreError::InvalidImageData(_))),
        "{bad:?}"
    );
    assert!(t.names().is_empty(), "{:?}", t.names());
    t.remove();
}

#[tokio::test]
async fn dropped_upload_removes_its_segments() {
    let Some(t) = target() else { return };
    let swift = store(&t);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let body = Box::pin(stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }));
    let id = uuid::Uuid::new_v4().to_string();
    let upload = {
        let (swift, id) = (swift.clone(), id.clone());
        tokio::spawn(async move { swift.put(&id, body, CAP, None, None).await })
    };
    // Two full segments and part of a third, then the client goes silent.
    for chunk in data(150_000, 4).chunks(10_000) {
        tx.send(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = t.names();
        if seen.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen.len() >= 2, "segments written: {seen:?}");
    upload.abort();
    assert!(upload.await.unwrap_err().is_cancelled());
    for _ in 0..100 {
        seen = t.names();
        if seen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen.is_empty(), "left behind: {seen:?}");
    drop(tx);
    t.remove();
}

#[tokio::test]
async fn config_file_reference_locations_and_the_missing_container() {
    let Some(t) = target() else { return };
    let inline = t.config();
    let account = inline.account().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("glance-swift-store.conf");
    std::fs::write(
        &file,
        format!(
            "[ref1]\nauth_address = {}\nuser = {}\nkey = {}\nuser_domain_id = default\n",
            account.auth_address, account.user, account.key
        ),
    )
    .unwrap();
    let conf = |create: bool| {
        let text = format!(
            "[glance_store]\nswift_store_config_file = {}\ndefault_swift_reference = ref1\n\
             swift_store_container = {}\nswift_store_create_container_on_put = {create}\n",
            file.display(),
            t.container
        );
        SwiftConfig::from_raw(&RawConfig::from_text(&text).unwrap(), "glance_store").unwrap()
    };
    let id = uuid::Uuid::new_v4().to_string();
    let strict = SwiftStore::new(conf(false), HashAlgo::Sha512).unwrap();
    let e = strict
        .put(&id, body(b"abc", 3), CAP, None, Some(3))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "image store I/O error: The container {} does not exist in Swift. Please set the \
             swift_store_create_container_on_put option to add container to Swift automatically.",
            t.container
        )
    );
    let swift = SwiftStore::new(conf(true), HashAlgo::Sha512).unwrap();
    swift
        .put(&id, body(b"abc", 3), CAP, None, Some(3))
        .await
        .unwrap();
    let url = swift.location(&id);
    assert_eq!(url, format!("swift+config://ref1/{}/{id}", t.container));
    // Both location forms read back: the reference, and the inline credentials (the same
    // account: this store's session).
    for url in [url, t.location(&id)] {
        let loc = SwiftLocation::parse(&url).unwrap();
        let (total, s) = swift.get_location(&loc, None).await.unwrap();
        assert_eq!((total, read_stream(s).await), (3, b"abc".to_vec()), "{url}");
    }
    let loc = SwiftLocation::parse(&t.location(&id)).unwrap();
    swift.delete_location(&loc).await.unwrap();
    assert!(t.names().is_empty());
    // A wrong key is refused by Keystone: the store says so rather than serving nothing.
    let wrong = SwiftLocation::parse(&t.location(&id).replace(&account.key, "wrong")).unwrap();
    let Err(e) = swift.get_location(&wrong, None).await else {
        panic!("a wrong key was accepted");
    };
    assert!(e.to_string().contains("Keystone auth: HTTP 401"), "{e}");
    t.remove();
}
