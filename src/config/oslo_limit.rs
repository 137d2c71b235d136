//! Glance's quotas with Keystone unified limits: `[DEFAULT] use_keystone_limits` and the
//! `[oslo_limit]` options as oslo.limit reads them (keystoneauth's password plugin and session,
//! then the endpoint whose service and region the limits belong to), and glint's own
//! `[glint_limits] cache_time`.

use std::time::Duration;

use super::RawConfig;

const S: &str = "oslo_limit";

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[
    ("DEFAULT", &["use_keystone_limits"]),
    (
        S,
        &[
            "auth_type",
            "auth_url",
            "username",
            "user_id",
            "password",
            "user_domain_name",
            "user_domain_id",
            "project_name",
            "project_id",
            "tenant_name",
            "tenant_id",
            "project_domain_name",
            "project_domain_id",
            "default_domain_name",
            "default_domain_id",
            "domain_name",
            "domain_id",
            "system_scope",
            "endpoint_id",
            "endpoint_service_name",
            "endpoint_service_type",
            "endpoint_region_name",
            "endpoint_interface",
            "endpoint_override",
            "timeout",
        ],
    ),
    ("glint_limits", &["cache_time"]),
];

/// How the service's endpoint is found (oslo.limit: by id, else by service and region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointLookup {
    Id(String),
    Service {
        service_type: Option<String>,
        service_name: Option<String>,
        region_name: Option<String>,
        /// `public`, `internal` or `admin` (a `...URL` suffix already dropped, as oslo.limit does).
        interface: String,
    },
}

/// A user by id, or by name in a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

/// The scope of glint's token for reading limits (keystoneauth's v3 password plugin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `system_scope = all`: how devstack and kolla configure Glance (a system reader).
    System(String),
    ProjectId(String),
    ProjectName {
        name: String,
        domain: DomainRef,
    },
    Domain(DomainRef),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoneLimits {
    /// Where glint logs in (`auth_url`, as the v3 API root).
    pub auth_url: String,
    /// Where glint reads endpoints and limits: `endpoint_override`, else `auth_url`.
    pub api_url: String,
    pub user: UserRef,
    pub password: String,
    pub scope: Scope,
    pub endpoint: EndpointLookup,
    /// keystoneauth's `timeout` (none by default; glint waits 30 s at most).
    pub timeout: Duration,
    /// glint's `[glint_limits] cache_time`: seconds the limits read from Keystone (and the
    /// endpoint found) are reused; 0 asks Keystone on every check, as Glance does.
    pub cache_time: Duration,
}

/// `None`: `use_keystone_limits = False` (Glance's default); quotas are not enforced and
/// `/v2/info/usage` is empty.
pub type LimitsConfig = Option<KeystoneLimits>;

/// The default of `[glint_limits] cache_time`: limits change rarely, and a new one is in force
/// at most this long after it is set.
pub const DEFAULT_CACHE_TIME: Duration = Duration::from_secs(10);

fn need(raw: &RawConfig, key: &str) -> Result<String, String> {
    raw.get(S, key)
        .map(str::to_owned)
        .ok_or_else(|| format!("[{S}] {key} is required with [DEFAULT] use_keystone_limits = True"))
}

fn domain(raw: &RawConfig, id_key: &str, name_key: &str) -> Option<DomainRef> {
    raw.get(S, id_key)
        .map(|d| DomainRef::Id(d.to_owned()))
        .or_else(|| raw.get(S, name_key).map(|d| DomainRef::Name(d.to_owned())))
}

/// The default domain keystoneauth falls back to for the user and the project.
fn default_domain(raw: &RawConfig) -> Option<DomainRef> {
    domain(raw, "default_domain_id", "default_domain_name")
}

pub(super) fn from_raw(raw: &RawConfig) -> Result<LimitsConfig, String> {
    let cache_time = raw.parse("glint_limits", "cache_time", DEFAULT_CACHE_TIME.as_secs())?;
    if !raw.parse_bool("DEFAULT", "use_keystone_limits", false)? {
        return Ok(None);
    }
    match raw.get(S, "auth_type") {
        None | Some("password" | "v3password") => {}
        Some(other) => {
            return Err(format!(
                "invalid value '{other}' for [{S}] auth_type: glint supports password"
            ))
        }
    }
    let auth_url = need(raw, "auth_url")?;
    let user = match raw.get(S, "user_id") {
        Some(id) => UserRef::Id(id.to_owned()),
        None => UserRef::Name {
            name: need(raw, "username")?,
            domain: domain(raw, "user_domain_id", "user_domain_name")
                .or_else(|| default_domain(raw))
                .ok_or_else(|| {
                    format!("[{S}] user_domain_name or user_domain_id is required with username")
                })?,
        },
    };
    let password = need(raw, "password")?;
    let project_id = raw.get(S, "project_id").or_else(|| raw.get(S, "tenant_id"));
    let project_name = raw
        .get(S, "project_name")
        .or_else(|| raw.get(S, "tenant_name"));
    let scope = match (raw.get(S, "system_scope"), project_id, project_name) {
        (Some(s), None, None) => Scope::System(s.to_owned()),
        (None, Some(id), _) => Scope::ProjectId(id.to_owned()),
        (None, None, Some(name)) => Scope::ProjectName {
            name: name.to_owned(),
            domain: domain(raw, "project_domain_id", "project_domain_name")
                .or_else(|| default_domain(raw))
                .ok_or_else(|| {
                    format!(
                        "[{S}] project_domain_name or project_domain_id is required with project_name"
                    )
                })?,
        },
        (None, None, None) => match domain(raw, "domain_id", "domain_name") {
            Some(d) => Scope::Domain(d),
            None => {
                return Err(format!(
                    "[{S}] needs a scope for glint's token: system_scope (as devstack sets it), \
                     project_name or project_id, or domain_name or domain_id"
                ))
            }
        },
        (Some(_), _, _) => {
            return Err(format!(
                "[{S}] system_scope and a project scope are both set: choose one"
            ))
        }
    };
    let endpoint = match raw.get(S, "endpoint_id") {
        Some(id) => EndpointLookup::Id(id.to_owned()),
        None => {
            let service_type = raw.get(S, "endpoint_service_type").map(str::to_owned);
            let service_name = raw.get(S, "endpoint_service_name").map(str::to_owned);
            if service_type.is_none() && service_name.is_none() {
                return Err(format!(
                    "[{S}] endpoint_id, or endpoint_service_type or endpoint_service_name, is \
                     required with [DEFAULT] use_keystone_limits = True"
                ));
            }
            let interface = raw.get(S, "endpoint_interface").unwrap_or("public");
            let interface = match interface {
                "public" | "publicURL" => "public",
                "internal" | "internalURL" => "internal",
                "admin" | "adminURL" => "admin",
                other => {
                    return Err(format!(
                        "invalid value '{other}' for [{S}] endpoint_interface (public, internal or admin)"
                    ))
                }
            };
            EndpointLookup::Service {
                service_type,
                service_name,
                region_name: raw.get(S, "endpoint_region_name").map(str::to_owned),
                interface: interface.to_owned(),
            }
        }
    };
    let timeout: f64 = raw.parse(S, "timeout", 30.0)?;
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(format!(
            "[{S}] timeout must be a positive number of seconds"
        ));
    }
    let auth_url = v3(&auth_url);
    Ok(Some(KeystoneLimits {
        api_url: raw.get(S, "endpoint_override").map_or(auth_url.clone(), v3),
        auth_url,
        user,
        password,
        scope,
        endpoint,
        timeout: Duration::from_secs_f64(timeout.min(300.0)),
        cache_time: Duration::from_secs(cache_time),
    }))
}

/// `http://host:5000`, `.../v3` and `.../v3/` all mean the v3 API root.
fn v3(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    if trimmed.ends_with("/v3") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v3")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LimitsConfig, String> {
        from_raw(&RawConfig::from_text(text).unwrap())
    }

    const DEVSTACK: &str = "[DEFAULT]\nuse_keystone_limits = True\n[oslo_limit]\n\
        auth_url = http://k/identity\nauth_type = password\nusername = glance\n\
        user_domain_id = default\npassword = s\nsystem_scope = all\n\
        endpoint_id = e1\nendpoint_region_name = RegionOne\n";

    #[test]
    fn off_by_default_and_devstack_reads_whole() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("[oslo_limit]\nauth_url = x\n").unwrap(), None);
        let c = parse(DEVSTACK).unwrap().unwrap();
        assert_eq!(c.auth_url, "http://k/identity/v3");
        assert_eq!(c.api_url, c.auth_url);
        assert_eq!(
            c.user,
            UserRef::Name {
                name: "glance".into(),
                domain: DomainRef::Id("default".into())
            }
        );
        assert_eq!(c.scope, Scope::System("all".into()));
        assert_eq!(c.endpoint, EndpointLookup::Id("e1".into()));
        assert_eq!(c.cache_time, DEFAULT_CACHE_TIME);
        let raw = RawConfig::from_text(DEVSTACK).unwrap();
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
    }

    #[test]
    fn service_lookup_project_scope_and_defaults() {
        let c = parse(
            "[DEFAULT]\nuse_keystone_limits = yes\n[oslo_limit]\nauth_url = http://k/v3/\n\
             username = g\npassword = p\ndefault_domain_name = Default\nproject_name = service\n\
             endpoint_service_type = image\nendpoint_interface = internalURL\n\
             endpoint_override = http://k2\ntimeout = 2.5\n[glint_limits]\ncache_time = 0\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.api_url, "http://k2/v3");
        assert_eq!(
            c.scope,
            Scope::ProjectName {
                name: "service".into(),
                domain: DomainRef::Name("Default".into())
            }
        );
        assert_eq!(
            c.endpoint,
            EndpointLookup::Service {
                service_type: Some("image".into()),
                service_name: None,
                region_name: None,
                interface: "internal".into()
            }
        );
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!(c.cache_time, Duration::ZERO);
    }

    #[test]
    fn incomplete_settings_name_what_is_missing() {
        let base = "[DEFAULT]\nuse_keystone_limits = true\n[oslo_limit]\n";
        for (extra, want) in [
            ("", "[oslo_limit] auth_url is required"),
            ("auth_url = u\n", "[oslo_limit] username is required"),
            ("auth_url = u\nusername = g\n", "user_domain_name or user_domain_id"),
            (
                "auth_url = u\nuser_id = g\n",
                "[oslo_limit] password is required",
            ),
            ("auth_url = u\nuser_id = g\npassword = p\n", "needs a scope"),
            (
                "auth_url = u\nuser_id = g\npassword = p\nproject_id = x\n",
                "endpoint_id, or endpoint_service_type",
            ),
            (
                "auth_url = u\nuser_id = g\npassword = p\nproject_id = x\nendpoint_service_name = glance\nendpoint_interface = private\n",
                "endpoint_interface",
            ),
            (
                "auth_url = u\nuser_id = g\npassword = p\nproject_id = x\nsystem_scope = all\nendpoint_id = e\n",
                "choose one",
            ),
            (
                "auth_type = token\nauth_url = u\nuser_id = g\npassword = p\nproject_id = x\nendpoint_id = e\n",
                "auth_type",
            ),
            (
                "auth_url = u\nuser_id = g\npassword = p\nproject_id = x\nendpoint_id = e\ntimeout = 0\n",
                "timeout",
            ),
        ] {
            let e = parse(&format!("{base}{extra}")).unwrap_err();
            assert!(e.contains(want), "{extra:?}: {e}");
        }
        let e = parse("[DEFAULT]\nuse_keystone_limits = maybe\n").unwrap_err();
        assert!(e.contains("use_keystone_limits"), "{e}");
    }
}
