//! Which image stores are enabled and their options, with glance_store's names: single-store
//! mode's `[glance_store] stores` and `default_store`, and the S3 driver's `s3_store_*` keys,
//! read from `[glance_store]` or a named backend's own section.

use std::path::PathBuf;

use super::RawConfig;

/// glance_store's smallest `s3_store_large_object_chunk_size` (S3's minimum part size), MiB.
const MIN_CHUNK_MIB: u64 = 5;
const MIB: u64 = 1024 * 1024;

/// Options glint reads in `[glance_store]` for the stores (besides the file store's).
pub(super) const KNOWN: &[(&str, &[&str])] = &[(
    "glance_store",
    &[
        "stores",
        "default_store",
        "s3_store_host",
        "s3_store_region_name",
        "s3_store_access_key",
        "s3_store_secret_key",
        "s3_store_bucket",
        "s3_store_create_bucket_on_put",
        "s3_store_bucket_url_format",
        "s3_store_large_object_size",
        "s3_store_large_object_chunk_size",
        "s3_store_cacert",
    ],
)];

/// A kind of store glint writes image data to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    File,
    S3,
    Swift,
    /// A kind glint does not have (parsing only).
    Other,
}

impl StoreKind {
    /// glance_store's name for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::File => "file",
            StoreKind::S3 => "s3",
            StoreKind::Swift => "swift",
            StoreKind::Other => "other",
        }
    }
}

/// The enabled stores of single-store mode (`[glance_store] stores`, deprecated in Glance but
/// still the common deployment): every enabled store reads the locations of its scheme, new
/// data goes to `default_store`. Multi-store mode (`enabled_backends`) has its one file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoresConfig {
    /// `file` is enabled: `file://` locations are readable.
    pub file: bool,
    /// `s3` is enabled, with its options.
    pub s3: Option<S3Config>,
    /// `swift` is enabled, with its options.
    pub swift: Option<super::swift::SwiftConfig>,
    /// `http` is enabled (read-only: `http://` and `https://` locations), with its options.
    pub http: Option<super::http_store::HttpConfig>,
    /// Multi-store mode: the id of the `<id>:http` entry of `enabled_backends`, with its
    /// `store_description` and `weight`.
    pub http_backend: Option<String>,
    pub http_description: Option<String>,
    pub http_weight: i64,
    /// `default_store`: where new image data is written.
    pub default: StoreKind,
    /// Multi-store mode: the backend's `[<id>] weight` (glance_store's option, default 0), shown
    /// by `/v2/info/stores/detail`.
    pub weight: i64,
}

impl StoresConfig {
    /// The file store alone, as with no store option set.
    pub fn file_only() -> Self {
        StoresConfig {
            file: true,
            s3: None,
            swift: None,
            http: None,
            http_backend: None,
            http_description: None,
            http_weight: 0,
            default: StoreKind::File,
            weight: 0,
        }
    }

    /// Reads `stores` and `default_store` and the options of each enabled store; in
    /// multi-store mode (`backend`: the one `enabled_backends` entry, id and kind; glance_store
    /// then ignores `stores` and `default_store`) that backend alone, with the options of its
    /// own section; `http_backend` is the id of an `<id>:http` entry there.
    pub fn from_raw(
        raw: &RawConfig,
        backend: Option<(&str, StoreKind)>,
        http_backend: Option<&str>,
    ) -> Result<Self, String> {
        if let Some((id, kind)) = backend {
            let http = http_backend
                .map(|h| super::http_store::HttpConfig::from_raw(raw, h))
                .transpose()?;
            let mut c = StoresConfig {
                file: false,
                s3: None,
                swift: None,
                http,
                http_backend: http_backend.map(str::to_owned),
                http_description: http_backend
                    .and_then(|h| raw.get(h, "store_description"))
                    .map(str::to_owned),
                http_weight: match http_backend {
                    Some(h) => raw.parse(h, "weight", 0)?,
                    None => 0,
                },
                default: kind,
                weight: raw.parse(id, "weight", 0)?,
            };
            match kind {
                StoreKind::File | StoreKind::Other => {
                    return Ok(StoresConfig {
                        weight: c.weight,
                        http: c.http,
                        http_backend: c.http_backend,
                        http_description: c.http_description,
                        http_weight: c.http_weight,
                        ..Self::file_only()
                    })
                }
                StoreKind::S3 => c.s3 = Some(S3Config::from_raw(raw, id)?),
                StoreKind::Swift => c.swift = Some(super::swift::SwiftConfig::from_raw(raw, id)?),
            }
            return Ok(c);
        }
        let section = "glance_store";
        let listed = raw.get(section, "stores").unwrap_or("file,http");
        let (mut file, mut s3, mut swift, mut http) = (false, false, false, false);
        for kind in listed
            .trim_matches(['[', ']'])
            .split(',')
            .map(|k| k.trim().to_ascii_lowercase())
            .filter(|k| !k.is_empty())
        {
            match kind.as_str() {
                "file" => file = true,
                "s3" => s3 = true,
                "swift" => swift = true,
                "http" => http = true,
                other => {
                    return Err(format!(
                        "invalid value '{listed}' for [{section}] stores: glint does not support the '{other}' store (file, http, s3 and swift are supported)"
                    ))
                }
            }
        }
        let default = match raw
            .get(section, "default_store")
            .unwrap_or("file")
            .to_ascii_lowercase()
            .as_str()
        {
            "file" | "filesystem" => StoreKind::File,
            "s3" => StoreKind::S3,
            "swift" | "swift+http" | "swift+https" | "swift+config" => StoreKind::Swift,
            other => {
                return Err(format!(
                    "invalid value '{other}' for [{section}] default_store: glint writes to the file, s3 or swift store"
                ))
            }
        };
        let enabled = match default {
            StoreKind::File => file,
            StoreKind::S3 => s3,
            StoreKind::Swift => swift,
            StoreKind::Other => false,
        };
        if !enabled {
            return Err(format!(
                "[{section}] default_store = {} is not one of [{section}] stores ({listed})",
                default.as_str()
            ));
        }
        Ok(StoresConfig {
            file,
            s3: if s3 {
                Some(S3Config::from_raw(raw, section)?)
            } else {
                None
            },
            swift: if swift {
                Some(super::swift::SwiftConfig::from_raw(raw, section)?)
            } else {
                None
            },
            http: if http {
                Some(super::http_store::HttpConfig::from_raw(raw, section)?)
            } else {
                None
            },
            http_backend: None,
            http_description: None,
            http_weight: 0,
            default,
            weight: 0,
        })
    }
}

/// `s3_store_bucket_url_format`: how the bucket appears in request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BucketUrlFormat {
    /// Virtual-hosted for Amazon's own hosts, path-style for any other endpoint.
    #[default]
    Auto,
    /// `https://host/bucket/key`.
    Path,
    /// `https://bucket.host/key`.
    Virtual,
}

/// The S3 store's options (glance_store's `s3` driver).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `s3_store_host`: the endpoint, `http://` when given without a scheme.
    pub host: String,
    /// `s3_store_region_name`: empty means derived from an Amazon host, else `us-east-1`.
    pub region: Option<String>,
    /// `s3_store_access_key`.
    pub access_key: String,
    /// `s3_store_secret_key`.
    pub secret_key: String,
    /// `s3_store_bucket`.
    pub bucket: String,
    /// `s3_store_create_bucket_on_put` (default false).
    pub create_bucket_on_put: bool,
    /// `s3_store_bucket_url_format` (default auto).
    pub bucket_url_format: BucketUrlFormat,
    /// `s3_store_large_object_size`, in bytes (the option is in MiB; default 100): smaller
    /// images go up in one PUT, larger ones as a multipart upload.
    pub large_object_size: u64,
    /// `s3_store_large_object_chunk_size`, in bytes (the option is in MiB; default 10,
    /// at least 5): the part size of multipart uploads.
    pub large_object_chunk_size: u64,
    /// `s3_store_cacert`: a PEM bundle of CAs to trust for an `https` endpoint.
    pub cacert: Option<PathBuf>,
}

impl std::fmt::Debug for S3Config {
    // The secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("host", &self.host)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("bucket", &self.bucket)
            .field("create_bucket_on_put", &self.create_bucket_on_put)
            .field("bucket_url_format", &self.bucket_url_format)
            .field("large_object_size", &self.large_object_size)
            .field("large_object_chunk_size", &self.large_object_chunk_size)
            .field("cacert", &self.cacert)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// Reads the `s3_store_*` options of `section` (`glance_store`, or a backend's id).
    /// Host, keys and bucket are required, as glance_store requires them.
    pub fn from_raw(raw: &RawConfig, section: &str) -> Result<Self, String> {
        let required = |key: &str| -> Result<String, String> {
            raw.get(section, key)
                .map(str::to_owned)
                .ok_or_else(|| format!("[{section}] {key} is required for the s3 store"))
        };
        let bucket_url_format = match raw
            .get(section, "s3_store_bucket_url_format")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("auto") => BucketUrlFormat::Auto,
            Some("path") => BucketUrlFormat::Path,
            Some("virtual") => BucketUrlFormat::Virtual,
            Some(v) => {
                return Err(format!(
                    "invalid value '{v}' for [{section}] s3_store_bucket_url_format (auto, path or virtual)"
                ))
            }
        };
        let large: u64 = raw.parse(section, "s3_store_large_object_size", 100)?;
        let chunk: u64 = raw.parse(section, "s3_store_large_object_chunk_size", 10)?;
        if chunk < MIN_CHUNK_MIB {
            return Err(format!(
                "[{section}] s3_store_large_object_chunk_size must be at least {MIN_CHUNK_MIB} (MiB), got {chunk}"
            ));
        }
        Ok(S3Config {
            host: required("s3_store_host")?,
            region: raw.get(section, "s3_store_region_name").map(str::to_owned),
            access_key: required("s3_store_access_key")?,
            secret_key: required("s3_store_secret_key")?,
            bucket: required("s3_store_bucket")?,
            create_bucket_on_put: raw.parse_bool(
                section,
                "s3_store_create_bucket_on_put",
                false,
            )?,
            bucket_url_format,
            large_object_size: large.saturating_mul(MIB),
            large_object_chunk_size: chunk.saturating_mul(MIB),
            cacert: raw.get(section, "s3_store_cacert").map(PathBuf::from),
        })
    }

    /// Whether the endpoint is `https`.
    pub fn is_https(&self) -> bool {
        self.host.starts_with("https://")
    }

    /// The endpoint URL: `s3_store_host` with `http://` added when it has no scheme.
    pub fn endpoint(&self) -> String {
        let host = self.host.trim_end_matches('/');
        if host.starts_with("https://") || host.starts_with("http://") {
            host.to_owned()
        } else {
            format!("http://{host}")
        }
    }

    /// `s3_store_host` without its scheme, as it appears in location URLs.
    pub fn bare_host(&self) -> &str {
        let host = self.host.trim_matches('/');
        host.strip_prefix("https://")
            .or_else(|| host.strip_prefix("http://"))
            .unwrap_or(host)
            .trim_matches('/')
    }

    /// The signing region: the configured one, else the region in an Amazon host name
    /// (`s3.eu-west-1.amazonaws.com`), else `us-east-1` (what boto uses for other endpoints).
    pub fn signing_region(&self) -> String {
        if let Some(r) = &self.region {
            return r.clone();
        }
        let host = self.bare_host().split(['/', ':']).next().unwrap_or("");
        host.strip_suffix(".amazonaws.com")
            .and_then(|h| h.strip_prefix("s3.").or_else(|| h.strip_prefix("s3-")))
            .filter(|r| !r.is_empty() && !r.contains('.'))
            .unwrap_or("us-east-1")
            .to_owned()
    }

    /// Whether requests name the bucket in the host (virtual-hosted style).
    pub fn virtual_hosted(&self) -> bool {
        match self.bucket_url_format {
            BucketUrlFormat::Path => false,
            BucketUrlFormat::Virtual => true,
            BucketUrlFormat::Auto => self.bare_host().contains("amazonaws.com"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawConfig {
        RawConfig::from_text(text).expect("config text")
    }

    const BASE: &str = "[glance_store]\ns3_store_host = 127.0.0.1:9710\ns3_store_access_key = ak\n\
                        s3_store_secret_key = sk\ns3_store_bucket = images\n";

    #[test]
    fn enabled_stores_and_the_default() {
        let c = StoresConfig::from_raw(&raw(""), None, None).expect("defaults");
        // glance_store's default `stores = file,http`.
        assert!(c.file && c.http.is_some() && c.http_backend.is_none());
        let c = StoresConfig::from_raw(&raw("[glance_store]\nstores = file\n"), None, None)
            .expect("file");
        assert_eq!(c, StoresConfig::file_only());
        let text = format!("{BASE}stores = file, http, S3\ndefault_store = s3\n");
        let c = StoresConfig::from_raw(&raw(&text), None, None).expect("s3");
        assert!(c.file);
        assert_eq!(c.default, StoreKind::S3);
        assert_eq!(c.s3.expect("s3 options").bucket, "images");
        // s3 options are only read (and required) when s3 is enabled.
        let c = StoresConfig::from_raw(
            &raw("[glance_store]\ndefault_store = filesystem\n"),
            None,
            None,
        )
        .expect("file");
        assert_eq!((c.s3, c.default), (None, StoreKind::File));
        let cases = [
            ("stores = file,rbd\n", "'rbd' store"),
            (
                "stores = swift\ndefault_store = swift\n",
                "needs an account",
            ),
            ("stores = s3\n", "default_store = file is not one of"),
            ("default_store = s3\n", "default_store = s3 is not one of"),
            ("stores = s3\ndefault_store = swift\n", "default_store"),
            (
                "stores = s3\ndefault_store = s3\n",
                "s3_store_host is required",
            ),
        ];
        for (text, want) in cases {
            let e = StoresConfig::from_raw(&raw(&format!("[glance_store]\n{text}")), None, None)
                .expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
        // Multi-store mode leaves them to enabled_backends.
        let c = StoresConfig::from_raw(
            &raw("[glance_store]\nstores = rbd\n"),
            Some(("fast", StoreKind::File)),
            None,
        )
        .expect("multi-store");
        assert_eq!(c, StoresConfig::file_only());
        let c = StoresConfig::from_raw(
            &raw("[web]\nhttps_insecure = false\n"),
            Some(("fast", StoreKind::File)),
            Some("web"),
        )
        .expect("multi-store with http");
        assert_eq!(c.http_backend.as_deref(), Some("web"));
        assert!(!c.http.expect("http options").insecure);
    }

    #[test]
    fn defaults_match_glance_store() {
        let c = S3Config::from_raw(&raw(BASE), "glance_store").expect("valid");
        assert_eq!(c.endpoint(), "http://127.0.0.1:9710");
        assert_eq!(c.bare_host(), "127.0.0.1:9710");
        assert!(!c.create_bucket_on_put);
        assert_eq!(c.bucket_url_format, BucketUrlFormat::Auto);
        assert!(!c.virtual_hosted());
        assert_eq!(c.large_object_size, 100 * MIB);
        assert_eq!(c.large_object_chunk_size, 10 * MIB);
        assert_eq!(c.signing_region(), "us-east-1");
        assert_eq!(c.cacert, None);
        assert!(!format!("{c:?}").contains("sk"));
    }

    #[test]
    fn options_are_read_and_checked() {
        let text = format!(
            "{BASE}s3_store_create_bucket_on_put = true\ns3_store_bucket_url_format = virtual\n\
             s3_store_large_object_size = 7\ns3_store_large_object_chunk_size = 5\n\
             s3_store_cacert = /etc/ca.pem\n"
        );
        let c = S3Config::from_raw(&raw(&text), "glance_store").expect("valid");
        assert!(c.create_bucket_on_put && c.virtual_hosted());
        assert_eq!(
            (c.large_object_size, c.large_object_chunk_size),
            (7 * MIB, 5 * MIB)
        );
        assert_eq!(c.cacert, Some(PathBuf::from("/etc/ca.pem")));

        let small = format!("{BASE}s3_store_large_object_chunk_size = 4\n");
        let e = S3Config::from_raw(&raw(&small), "glance_store").expect_err("chunk < 5");
        assert!(e.contains("s3_store_large_object_chunk_size"), "{e}");
        let bad = format!("{BASE}s3_store_bucket_url_format = dns\n");
        assert!(S3Config::from_raw(&raw(&bad), "glance_store").is_err());
        let e = S3Config::from_raw(&raw("[glance_store]\ns3_store_host = h\n"), "glance_store")
            .expect_err("no keys");
        assert!(e.contains("s3_store_access_key"), "{e}");
    }

    #[test]
    fn regions_and_styles_follow_the_host() {
        let mut c = S3Config::from_raw(&raw(BASE), "glance_store").expect("valid");
        c.host = "https://s3.eu-west-1.amazonaws.com/".into();
        assert!(c.is_https() && c.virtual_hosted());
        assert_eq!(c.signing_region(), "eu-west-1");
        assert_eq!(c.bare_host(), "s3.eu-west-1.amazonaws.com");
        c.bucket_url_format = BucketUrlFormat::Path;
        assert!(!c.virtual_hosted());
        c.region = Some("somewhere".into());
        assert_eq!(c.signing_region(), "somewhere");
    }
}
