//! Image data storage: the bytes behind `PUT`/`GET /v2/images/{id}/file`.
//!
//! Glance's `file`, `s3` and `swift` stores ([`FsStore`], [`S3Store`], [`SwiftStore`]),
//! behind [`Store`], and the read-only `http` store ([`HttpStore`]); the
//! enabled ones of a process in [`EnabledStores`]. The service layer is the only caller; it owns the image status machine and maps [`StoreError`] to
//! HTTP statuses (Glance's `glance/api/v2/image_data.py` decides which):
//!
//! | error | Glance answers |
//! |---|---|
//! | [`StoreError::TooLarge`] | 413 `The incoming image is too large: ...` |
//! | [`StoreError::StorageFull`] | 413 `Image storage media is full: ...` |
//! | [`StoreError::InvalidImageData`] | 415 with the message as WebOb *detail* |
//! | [`StoreError::WriteDenied`] | 503 `Insufficient permissions on image storage media: ...` |
//! | [`StoreError::RangeNotSatisfiable`] | 416 |
//! | [`StoreError::NotFound`] | 404 on download |
//! | [`StoreError::Unavailable`] | 503 on download (the http store's remote server) |

pub(crate) mod digest;
pub mod enabled;
pub mod filesystem;
pub mod http;
pub mod inspect;
pub mod named;
pub mod s3;
pub mod swift;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::Digest;

pub use enabled::EnabledStores;
pub use filesystem::{FileStream, FsStore};
pub use http::HttpStore;
pub use named::NamedStore;
pub use s3::{S3Location, S3Store};
pub use swift::{SwiftLocation, SwiftStore};

/// Image data as any store returns it.
pub type DataStream = futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>;

/// One image store, whatever its backend: what the services call. An enum rather than a
/// trait object so that `put` can stay generic over the body stream and calls stay plain
/// `async` without boxing every future.
#[derive(Debug, Clone)]
pub enum Store {
    /// glance_store's `file` store.
    File(FsStore),
    /// glance_store's `s3` store.
    S3(S3Store),
    /// glance_store's `swift` store (single-tenant).
    Swift(SwiftStore),
}

impl Store {
    /// glance_store's name for the store kind (`file`, `s3`).
    pub fn kind(&self) -> &'static str {
        match self {
            Store::File(_) => "file",
            Store::S3(_) => "s3",
            Store::Swift(_) => "swift",
        }
    }

    pub fn hash_algo(&self) -> HashAlgo {
        match self {
            Store::File(s) => s.hash_algo(),
            Store::S3(s) => s.hash_algo(),
            Store::Swift(s) => s.hash_algo(),
        }
    }

    /// Streams `body` into the image's data; see [`FsStore::put`], whose contract every
    /// store keeps (size cap, format inspection, nothing left behind on failure or drop).
    /// `declared_size` (a `Content-Length`, or the staged size) lets Swift choose between a
    /// plain and a large object as glance_store does.
    pub async fn put<S, E>(
        &self,
        image_id: &str,
        body: S,
        size_cap: u64,
        disk_format: Option<&str>,
        declared_size: Option<u64>,
    ) -> Result<StoredData, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: fmt::Display,
    {
        match self {
            Store::File(s) => s.put(image_id, body, size_cap, disk_format).await,
            Store::S3(s) => s.put(image_id, body, size_cap, disk_format).await,
            Store::Swift(s) => {
                s.put(image_id, body, size_cap, disk_format, declared_size)
                    .await
            }
        }
    }

    /// The data length and a stream of the data, or of the inclusive byte range
    /// `[start, end]` (see [`FsStore::get`]).
    pub async fn get(
        &self,
        image_id: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        match self {
            Store::File(s) => {
                let (total, stream) = s.get(image_id, range).await?;
                Ok((total, stream.boxed()))
            }
            Store::S3(s) => s.get(image_id, range).await,
            Store::Swift(s) => s.get(image_id, range).await,
        }
    }

    /// Removes the image's data; data already gone is not an error.
    pub async fn delete(&self, image_id: &str) -> Result<(), StoreError> {
        match self {
            Store::File(s) => s.delete(image_id).await,
            Store::S3(s) => s.delete(image_id).await,
            Store::Swift(s) => s.delete(image_id).await,
        }
    }

    /// Copies image `from`'s data to image `to` inside this store, without moving it through
    /// glint (a shared image copied as the caller's own): the bytes copied, or `None` when this
    /// store cannot copy that data itself (a Swift Static Large Object) and the caller must
    /// stream it. A missing source is [`StoreError::NotFound`]; a failure leaves nothing under
    /// `to`.
    pub async fn copy(&self, from: &str, to: &str) -> Result<Option<u64>, StoreError> {
        match self {
            Store::File(s) => s.copy(from, to).await.map(Some),
            Store::S3(s) => s.copy(from, to).await.map(Some),
            Store::Swift(s) => s.copy(from, to).await,
        }
    }

    /// The image's location URL in glance_store's form for this store
    /// (`file:///path`, `s3://ACCESS:SECRET@HOST/BUCKET/ID`).
    pub fn location(&self, image_id: &str) -> String {
        match self {
            Store::File(s) => s.location(image_id),
            Store::S3(s) => s.location(image_id),
            Store::Swift(s) => s.location(image_id),
        }
    }
}

/// What the store learned while writing an image's data; the service copies it
/// onto the image record (`size`, `checksum`, `os_hash_algo`, `os_hash_value`,
/// `virtual_size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredData {
    /// Bytes written.
    pub size: u64,
    /// MD5 hex digest (Glance's legacy `checksum`, 32 characters).
    pub checksum: String,
    /// The `os_hash_algo` value: the configured algorithm's hashlib name.
    pub hash_algo: String,
    /// The `os_hash_value`: hex digest of the data with `hash_algo`.
    pub hash_value: String,
    /// Disk size the image presents to a guest, when inspection found one.
    /// `None` also for zero (Glance stores 0 as null, e.g. an empty upload).
    pub virtual_size: Option<u64>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// More than `cap` bytes arrived (`image_size_cap`).
    #[error("The provided image is too large.")]
    TooLarge { cap: u64 },
    /// The data does not fit the owner's `user_storage_quota`.
    #[error("{0}")]
    QuotaFull(crate::domain::quota::StorageQuotaFull),
    /// The client's body stream failed or was cut off before its end.
    #[error("{0}")]
    Client(String),
    /// ENOSPC, EDQUOT or EFBIG while writing.
    #[error("There is not enough disk space on the image storage media.")]
    StorageFull,
    /// The store may not write to its directory (EACCES/EPERM).
    #[error("Permission to write image storage media denied.")]
    WriteDenied,
    /// The data does not match its `disk_format`, or failed a safety check
    /// (qcow2 backing file, unsafe VMDK descriptor, ...). The text is
    /// Glance's, meant as the 415 detail.
    #[error("{0}")]
    InvalidImageData(String),
    /// The image has no data here (or the id could never name a file).
    #[error("Image data not found")]
    NotFound,
    /// A byte range outside the data; `size` is the data length, for
    /// `Content-Range: bytes */<size>`.
    #[error("Requested range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// The server holding the data cannot be reached (the http store).
    #[error("{0}")]
    Unavailable(String),
    /// Any other I/O failure.
    #[error("image store I/O error: {0}")]
    Io(#[source] std::io::Error),
}

impl StoreError {
    /// Classifies an I/O error from a write path the way glance_store's
    /// filesystem driver does (ENOSPC/EFBIG become "storage full", EACCES
    /// "write denied"); EDQUOT is added because a quota is a full disk to us.
    pub(crate) fn from_write(e: std::io::Error) -> Self {
        use std::io::ErrorKind;
        match e.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge => {
                StoreError::StorageFull
            }
            ErrorKind::PermissionDenied => StoreError::WriteDenied,
            _ => StoreError::Io(e),
        }
    }
}

/// The `hashing_algorithm` option: which digest becomes `os_hash_value`.
///
/// Glance accepts any `hashlib` name; glint supports the SHA-2 family, which
/// covers the default and every value seen in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HashAlgo {
    Sha224,
    Sha256,
    Sha384,
    #[default]
    Sha512,
    Sha512t224,
    Sha512t256,
}

/// A `hashing_algorithm` value glint cannot compute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported hashing_algorithm '{0}' (use one of sha224, sha256, sha384, sha512, sha512_224, sha512_256)"
)]
pub struct UnsupportedHashAlgo(pub String);

impl HashAlgo {
    const ALL: [HashAlgo; 6] = [
        HashAlgo::Sha224,
        HashAlgo::Sha256,
        HashAlgo::Sha384,
        HashAlgo::Sha512,
        HashAlgo::Sha512t224,
        HashAlgo::Sha512t256,
    ];

    /// The hashlib name, which is also the `os_hash_algo` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            HashAlgo::Sha224 => "sha224",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha384 => "sha384",
            HashAlgo::Sha512 => "sha512",
            HashAlgo::Sha512t224 => "sha512_224",
            HashAlgo::Sha512t256 => "sha512_256",
        }
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HashAlgo {
    type Err = UnsupportedHashAlgo;

    /// Case-insensitive, as `hashlib.new` is for OpenSSL-backed names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnsupportedHashAlgo(s.to_owned()))
    }
}

/// Incremental digest for the configured algorithm.
pub(crate) enum Hasher {
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha512t224(sha2::Sha512_224),
    Sha512t256(sha2::Sha512_256),
}

impl Hasher {
    pub(crate) fn new(algo: HashAlgo) -> Self {
        match algo {
            HashAlgo::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            HashAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlgo::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            HashAlgo::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            HashAlgo::Sha512t224 => Hasher::Sha512t224(sha2::Sha512_224::new()),
            HashAlgo::Sha512t256 => Hasher::Sha512t256(sha2::Sha512_256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Sha512t224(h) => h.update(data),
            Hasher::Sha512t256(h) => h.update(data),
        }
    }

    pub(crate) fn finish_hex(self) -> String {
        match self {
            Hasher::Sha224(h) => hex::encode(h.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha384(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
            Hasher::Sha512t224(h) => hex::encode(h.finalize()),
            Hasher::Sha512t256(h) => hex::encode(h.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_algo_parses_hashlib_names() {
        let cases = [
            ("sha512", Some(HashAlgo::Sha512)),
            ("SHA256", Some(HashAlgo::Sha256)),
            (" sha384 ", Some(HashAlgo::Sha384)),
            ("sha224", Some(HashAlgo::Sha224)),
            ("sha512_224", Some(HashAlgo::Sha512t224)),
            ("sha512_256", Some(HashAlgo::Sha512t256)),
            ("md5", None),
            ("sha3_256", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<HashAlgo>().ok(), want, "{input:?}");
        }
        assert_eq!(HashAlgo::default(), HashAlgo::Sha512);
        for a in HashAlgo::ALL {
            assert_eq!(a.to_string().parse::<HashAlgo>(), Ok(a));
        }
    }

    #[test]
    fn hashers_match_known_digests() {
        // Digests of the empty string: the well-known test vectors.
        let cases = [
            (
                HashAlgo::Sha224,
                "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f",
            ),
            (
                HashAlgo::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                HashAlgo::Sha512t256,
                "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a",
            ),
        ];
        for (algo, want) in cases {
            let mut h = Hasher::new(algo);
            h.update(b"");
            assert_eq!(h.finish_hex(), want, "{algo}");
        }
    }

    #[test]
    fn write_errors_are_classified() {
        use std::io::{Error, ErrorKind};
        let full = [
            ErrorKind::StorageFull,
            ErrorKind::QuotaExceeded,
            ErrorKind::FileTooLarge,
        ];
        for kind in full {
            assert!(matches!(
                StoreError::from_write(Error::from(kind)),
                StoreError::StorageFull
            ));
        }
        // Raw errno values as the OS reports them (Linux numbering).
        #[cfg(target_os = "linux")]
        for errno in [28, 122, 27] {
            let e = Error::from_raw_os_error(errno);
            assert!(
                matches!(StoreError::from_write(e), StoreError::StorageFull),
                "{errno}"
            );
        }
        assert!(matches!(
            StoreError::from_write(Error::from(ErrorKind::PermissionDenied)),
            StoreError::WriteDenied
        ));
        assert!(matches!(
            StoreError::from_write(Error::from(ErrorKind::BrokenPipe)),
            StoreError::Io(_)
        ));
    }
}
