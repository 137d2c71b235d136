//! The Swift store's options, with glance_store's names (`swift_store_*`, single-tenant): the
//! account to authenticate as comes from the reference `default_swift_reference` names, either
//! in `swift_store_config_file` (then locations are `swift+config://REF/...`) or built from the
//! inline `swift_store_auth_address` / `swift_store_user` / `swift_store_key`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::RawConfig;

const MIB: u64 = 1024 * 1024;

/// Options glint reads in `[glance_store]` for the Swift store.
pub(super) const KNOWN: &[(&str, &[&str])] = &[(
    "glance_store",
    &[
        "default_swift_reference",
        "swift_store_config_file",
        "swift_store_auth_address",
        "swift_store_auth_version",
        "swift_store_user",
        "swift_store_key",
        "swift_store_container",
        "swift_store_create_container_on_put",
        "swift_store_large_object_size",
        "swift_store_large_object_chunk_size",
        "swift_store_multiple_containers_seed",
        "swift_store_endpoint",
        "swift_store_endpoint_type",
        "swift_store_service_type",
        "swift_store_region",
        "swift_store_cacert",
        "swift_store_expire_soon_interval",
        "swift_store_multi_tenant",
        "swift_store_auth_insecure",
    ],
)];

/// A Keystone domain given by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    Id(String),
    Name(String),
}

/// One account reference: where and as whom to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub struct SwiftAccount {
    /// `auth_address`: Keystone's URL (v3) or the v1.0 auth URL.
    pub auth_address: String,
    /// `user`: `project:user` (glance_store's `tenant:user`) for v3; the v1.0 user as it is.
    pub user: String,
    pub key: String,
    /// `auth_version`: "3" or "1".
    pub auth_version: String,
    pub user_domain: Domain,
    pub project_domain: Domain,
}

impl std::fmt::Debug for SwiftAccount {
    // The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwiftAccount")
            .field("auth_address", &self.auth_address)
            .field("user", &self.user)
            .field("auth_version", &self.auth_version)
            .finish_non_exhaustive()
    }
}

/// The Swift store's options (glance_store's single-tenant `swift` driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwiftConfig {
    /// Every account reference: the config file's sections, or the one inline reference.
    pub references: BTreeMap<String, SwiftAccount>,
    /// `default_swift_reference` (default `ref1`): the account images are written with.
    pub default_reference: String,
    /// Locations name the reference (`swift+config://`) rather than carry credentials: set when
    /// the references come from `swift_store_config_file`, as glance_store does.
    pub config_file_references: bool,
    /// `swift_store_container` (default `glance`).
    pub container: String,
    /// `swift_store_multiple_containers_seed` (0-32, default 0).
    pub containers_seed: usize,
    /// `swift_store_create_container_on_put` (default false).
    pub create_container_on_put: bool,
    /// `swift_store_large_object_size`, bytes (option in MiB, default 5120).
    pub large_object_size: u64,
    /// `swift_store_large_object_chunk_size`, bytes (option in MiB, default 200).
    pub large_object_chunk_size: u64,
    /// `swift_store_endpoint`: a storage URL used instead of the catalog's.
    pub endpoint: Option<String>,
    /// `swift_store_endpoint_type` (default `publicURL`) as a v3 interface name.
    pub interface: String,
    /// `swift_store_service_type` (default `object-store`).
    pub service_type: String,
    /// `swift_store_region`: the catalog region, any when unset.
    pub region: Option<String>,
    /// `swift_store_cacert`: CAs to trust for https.
    pub cacert: Option<PathBuf>,
    /// `swift_store_expire_soon_interval` (seconds, default 60): a token this close to its
    /// expiry is renewed before a request.
    pub expire_soon_interval: u64,
}

impl SwiftConfig {
    /// The account new images are written with.
    pub fn account(&self) -> Option<&SwiftAccount> {
        self.references.get(&self.default_reference)
    }

    /// The container of an image: `swift_store_container`, with the first
    /// `swift_store_multiple_containers_seed` characters of the id (and the dashes among them)
    /// appended after `_` when the seed is not 0, as glance_store names them.
    pub fn container_for(&self, image_id: &str) -> String {
        if self.containers_seed == 0 {
            return self.container.clone();
        }
        let id = image_id.to_ascii_lowercase();
        let head: String = id.chars().take(self.containers_seed).collect();
        let dashes = head.matches('-').count();
        let suffix: String = id.chars().take(self.containers_seed + dashes).collect();
        format!("{}_{suffix}", self.container)
    }

    /// Reads the options of `section` (`glance_store`, or a backend's id).
    pub fn from_raw(raw: &RawConfig, section: &str) -> Result<Self, String> {
        for (key, ok) in [
            ("swift_store_multi_tenant", "false"),
            ("swift_store_auth_insecure", "false"),
        ] {
            if raw.parse_bool(section, key, false)? {
                return Err(format!(
                    "[{section}] {key} = true is not supported by glint (leave it {ok})"
                ));
            }
        }
        let default_reference = raw
            .get(section, "default_swift_reference")
            .unwrap_or("ref1")
            .to_owned();
        let auth_version = raw
            .get(section, "swift_store_auth_version")
            .unwrap_or("3")
            .to_owned();
        let (references, config_file_references) = match raw.get(section, "swift_store_config_file")
        {
            Some(path) => (read_references(path, &auth_version)?, true),
            None => {
                let mut refs = BTreeMap::new();
                let inline = (
                    raw.get(section, "swift_store_auth_address"),
                    raw.get(section, "swift_store_user"),
                    raw.get(section, "swift_store_key"),
                );
                if let (Some(a), Some(u), Some(k)) = inline {
                    refs.insert(
                        default_reference.clone(),
                        SwiftAccount {
                            auth_address: a.to_owned(),
                            user: u.to_owned(),
                            key: k.to_owned(),
                            auth_version: auth_version.clone(),
                            user_domain: Domain::Id("default".into()),
                            project_domain: Domain::Id("default".into()),
                        },
                    );
                }
                (refs, false)
            }
        };
        let Some(account) = references.get(&default_reference) else {
            return Err(format!(
                "[{section}] the swift store needs an account: swift_store_auth_address, \
                 swift_store_user and swift_store_key, or swift_store_config_file with a \
                 [{default_reference}] section (default_swift_reference)"
            ));
        };
        for (name, a) in &references {
            if !matches!(a.auth_version.as_str(), "3" | "1") {
                return Err(format!(
                    "swift account reference {name}: auth_version {} is not supported by glint (3, or 1 for a v1.0 auth URL)",
                    a.auth_version
                ));
            }
        }
        if account.auth_version == "3" && !account.user.contains(':') {
            return Err(format!(
                "swift account reference {default_reference}: user must be 'project:user' for auth_version 3"
            ));
        }
        let seed: usize = raw.parse(section, "swift_store_multiple_containers_seed", 0)?;
        if seed > 32 {
            return Err(format!(
                "[{section}] swift_store_multiple_containers_seed must be between 0 and 32, got {seed}"
            ));
        }
        let large: u64 = raw.parse(section, "swift_store_large_object_size", 5120)?;
        let chunk: u64 = raw.parse(section, "swift_store_large_object_chunk_size", 200)?;
        if chunk == 0 {
            return Err(format!(
                "[{section}] swift_store_large_object_chunk_size must be at least 1 (MiB)"
            ));
        }
        let interface = match raw
            .get(section, "swift_store_endpoint_type")
            .unwrap_or("publicURL")
        {
            "publicURL" | "public" => "public",
            "internalURL" | "internal" => "internal",
            "adminURL" | "admin" => "admin",
            other => {
                return Err(format!(
                    "invalid value '{other}' for [{section}] swift_store_endpoint_type (publicURL, internalURL or adminURL)"
                ))
            }
        };
        Ok(SwiftConfig {
            references,
            default_reference,
            config_file_references,
            container: raw
                .get(section, "swift_store_container")
                .unwrap_or("glance")
                .to_owned(),
            containers_seed: seed,
            create_container_on_put: raw.parse_bool(
                section,
                "swift_store_create_container_on_put",
                false,
            )?,
            large_object_size: large.saturating_mul(MIB),
            large_object_chunk_size: chunk.saturating_mul(MIB),
            endpoint: raw
                .get(section, "swift_store_endpoint")
                .map(|e| e.trim_end_matches('/').to_owned()),
            interface: interface.to_owned(),
            service_type: raw
                .get(section, "swift_store_service_type")
                .unwrap_or("object-store")
                .to_owned(),
            region: raw.get(section, "swift_store_region").map(str::to_owned),
            cacert: raw.get(section, "swift_store_cacert").map(PathBuf::from),
            expire_soon_interval: raw.parse(section, "swift_store_expire_soon_interval", 60)?,
        })
    }
}

/// The account references of `swift_store_config_file`, one per section, as glance_store reads
/// them: `auth_address`, `user`, `key`, optional `auth_version` (else the store's), and the
/// user's and project's domain by id or name (id `default` when neither is given).
fn read_references(
    path: &str,
    default_version: &str,
) -> Result<BTreeMap<String, SwiftAccount>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read swift_store_config_file {path}: {e}"))?;
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for e in super::ini::parse(&text, path)? {
        sections
            .entry(e.section)
            .or_default()
            .insert(e.key, e.value.trim().to_owned());
    }
    let mut refs = BTreeMap::new();
    for (name, v) in sections {
        let get = |k: &str| v.get(k).filter(|s| !s.is_empty()).cloned();
        let need = |k: &str| {
            get(k)
                .ok_or_else(|| format!("swift_store_config_file {path}: [{name}] {k} is required"))
        };
        let domain = |id: &str, name: &str| match (get(id), get(name)) {
            (Some(i), _) => Domain::Id(i),
            (None, Some(n)) => Domain::Name(n),
            (None, None) => Domain::Id("default".into()),
        };
        refs.insert(
            name.clone(),
            SwiftAccount {
                auth_address: need("auth_address")?,
                user: need("user")?,
                key: need("key")?,
                auth_version: get("auth_version").unwrap_or_else(|| default_version.to_owned()),
                user_domain: domain("user_domain_id", "user_domain_name"),
                project_domain: domain("project_domain_id", "project_domain_name"),
            },
        );
    }
    Ok(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawConfig {
        RawConfig::from_text(text).expect("config text")
    }

    const INLINE: &str = "[glance_store]\nswift_store_auth_address = http://ks:5000/v3\n\
                          swift_store_user = service:glance\nswift_store_key = secret\n";

    #[test]
    fn inline_account_and_defaults_match_glance_store() {
        let c = SwiftConfig::from_raw(&raw(INLINE), "glance_store").expect("valid");
        let a = c.account().expect("ref1");
        assert_eq!(c.default_reference, "ref1");
        assert!(!c.config_file_references);
        assert_eq!(
            (
                a.auth_address.as_str(),
                a.user.as_str(),
                a.auth_version.as_str()
            ),
            ("http://ks:5000/v3", "service:glance", "3")
        );
        assert_eq!(a.user_domain, Domain::Id("default".into()));
        assert_eq!(c.container, "glance");
        assert!(!c.create_container_on_put);
        assert_eq!(c.large_object_size, 5120 * MIB);
        assert_eq!(c.large_object_chunk_size, 200 * MIB);
        assert_eq!(
            (c.interface.as_str(), c.service_type.as_str()),
            ("public", "object-store")
        );
        assert_eq!((c.region.as_deref(), c.expire_soon_interval), (None, 60));
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn config_file_references() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("glance-swift.conf");
        std::fs::write(
            &file,
            "[ref1]\nuser = service:glance\nkey = k1\nauth_address = http://ks/v3\n\
             user_domain_name = Users\n[ref2]\nuser = test:tester\nkey = testing\n\
             auth_address = http://swift/auth/v1.0\nauth_version = 1\n",
        )
        .expect("write");
        let text = format!(
            "[glance_store]\nswift_store_config_file = {}\ndefault_swift_reference = ref1\n",
            file.display()
        );
        let c = SwiftConfig::from_raw(&raw(&text), "glance_store").expect("valid");
        assert!(c.config_file_references);
        assert_eq!(c.references.len(), 2);
        assert_eq!(
            c.account().expect("ref1").user_domain,
            Domain::Name("Users".into())
        );
        assert_eq!(c.references["ref2"].auth_version, "1");
        let e = SwiftConfig::from_raw(
            &raw(&format!("{text}default_swift_reference = ref9\n")),
            "glance_store",
        )
        .expect_err("no ref9");
        assert!(e.contains("[ref9]"), "{e}");
    }

    #[test]
    fn bad_options_are_refused() {
        for (extra, want) in [
            ("swift_store_auth_version = 2\n", "auth_version 2"),
            (
                "swift_store_multi_tenant = true\n",
                "swift_store_multi_tenant",
            ),
            (
                "swift_store_auth_insecure = true\n",
                "swift_store_auth_insecure",
            ),
            (
                "swift_store_multiple_containers_seed = 33\n",
                "between 0 and 32",
            ),
            ("swift_store_large_object_chunk_size = 0\n", "chunk_size"),
            ("swift_store_user = glance\n", "'project:user'"),
            ("swift_store_endpoint_type = nowhere\n", "endpoint_type"),
        ] {
            let e = SwiftConfig::from_raw(&raw(&format!("{INLINE}{extra}")), "glance_store")
                .expect_err(extra);
            assert!(e.contains(want), "{extra}: {e}");
        }
        let e = SwiftConfig::from_raw(&raw("[glance_store]\n"), "glance_store")
            .expect_err("no account");
        assert!(e.contains("swift_store_auth_address"), "{e}");
    }

    #[test]
    fn containers_follow_the_seed() {
        let mut c = SwiftConfig::from_raw(&raw(INLINE), "glance_store").expect("valid");
        let id = "3A1b2c3d-4e5f-6789-abcd-ef0123456789";
        assert_eq!(c.container_for(id), "glance");
        c.containers_seed = 3;
        assert_eq!(c.container_for(id), "glance_3a1");
        c.containers_seed = 9;
        assert_eq!(c.container_for(id), "glance_3a1b2c3d-4");
    }
}
