//! Reading Keystone unified limits as oslo.limit does: glint logs in with `[oslo_limit]`'s
//! credentials, checks that the enforcement model is `flat`, finds the endpoint (by id, or by
//! service, region and interface) for its service and region, then reads the registered limits
//! and a project's limits of that service and region.
//!
//! Glance asks Keystone all of this on every check; glint keeps what it read for
//! `[glint_limits] cache_time` (0: ask every time).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::oslo_limit::{DomainRef, EndpointLookup, KeystoneLimits, Scope, UserRef};
use crate::domain::unified_limits::Limits;

/// Why the limits could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// Keystone could not be asked (down, slow, 5xx): retry later.
    #[error("keystone unavailable for limits: {0}")]
    Unavailable(String),
    /// Keystone answered, but `[oslo_limit]` does not fit what it holds (credentials refused,
    /// no such endpoint, an enforcement model oslo.limit does not support).
    #[error("cannot read limits from keystone: {0}")]
    Misconfigured(String),
}

/// The service and region the limits are registered for (the endpoint's).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    service_id: String,
    region_id: Option<String>,
}

#[derive(Default)]
struct Cache {
    target: Option<(Instant, Target)>,
    registered: Option<(Instant, BTreeMap<String, i64>)>,
    projects: HashMap<String, (Instant, BTreeMap<String, i64>)>,
}

pub struct LimitsClient {
    http: reqwest::Client,
    cfg: KeystoneLimits,
    token: tokio::sync::Mutex<Option<(String, DateTime<Utc>)>>,
    cache: std::sync::Mutex<Cache>,
}

/// Renew glint's token this long before Keystone would expire it.
const RENEW_MARGIN_SECS: i64 = 120;

/// Entries of the project cache beyond which the expired ones are dropped.
const PROJECT_CACHE_SWEEP: usize = 1024;

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}
#[derive(Deserialize)]
struct TokenInfo {
    expires_at: DateTime<Utc>,
}

impl LimitsClient {
    pub fn new(cfg: &KeystoneLimits) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the Keystone HTTP client for limits: {e}"))?;
        Ok(LimitsClient {
            http,
            cfg: cfg.clone(),
            token: tokio::sync::Mutex::new(None),
            cache: Default::default(),
        })
    }

    /// The limits that apply to `project` (registered ones only for `None`).
    pub async fn limits(&self, project: Option<&str>) -> Result<Limits, LimitsError> {
        let target = self.target().await?;
        let registered = match self.fresh(|c| c.registered.as_ref()) {
            Some(r) => r,
            None => {
                let r = self.read_limits(&target, None).await?;
                self.lock().registered = Some((Instant::now(), r.clone()));
                r
            }
        };
        let project = match project {
            None => BTreeMap::new(),
            Some(p) => match self.fresh(|c| c.projects.get(p)) {
                Some(l) => l,
                None => {
                    let l = self.read_limits(&target, Some(p)).await?;
                    let mut cache = self.lock();
                    if cache.projects.len() >= PROJECT_CACHE_SWEEP {
                        let ttl = self.cfg.cache_time;
                        cache.projects.retain(|_, (at, _)| at.elapsed() < ttl);
                    }
                    cache
                        .projects
                        .insert(p.to_owned(), (Instant::now(), l.clone()));
                    l
                }
            },
        };
        Ok(Limits {
            registered,
            project,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A cached value still within `cache_time`.
    fn fresh<T: Clone>(&self, pick: impl FnOnce(&Cache) -> Option<&(Instant, T)>) -> Option<T> {
        let cache = self.lock();
        pick(&cache)
            .filter(|(at, _)| at.elapsed() < self.cfg.cache_time)
            .map(|(_, v)| v.clone())
    }

    /// The enforcement model checked and the endpoint's service and region found.
    async fn target(&self) -> Result<Target, LimitsError> {
        if let Some(t) = self.fresh(|c| c.target.as_ref()) {
            return Ok(t);
        }
        let model = self.get("/limits/model", &[]).await?;
        match model["model"]["name"].as_str() {
            Some("flat") => {}
            other => {
                return Err(LimitsError::Misconfigured(format!(
                    "enforcement model {} is not supported",
                    other.unwrap_or("None")
                )))
            }
        }
        let endpoint = match &self.cfg.endpoint {
            EndpointLookup::Id(id) => {
                let v = self
                    .get_opt(&format!("/endpoints/{}", encode(id)), &[])
                    .await?;
                let Some(v) = v else {
                    return Err(LimitsError::Misconfigured(format!(
                        "Can't find endpoint for {id}"
                    )));
                };
                v["endpoint"].clone()
            }
            EndpointLookup::Service {
                service_type,
                service_name,
                region_name,
                interface,
            } => {
                self.find_endpoint(service_type, service_name, region_name, interface)
                    .await?
            }
        };
        let target = Target {
            service_id: endpoint["service_id"]
                .as_str()
                .ok_or_else(|| bad_answer("an endpoint without service_id"))?
                .to_owned(),
            region_id: endpoint["region_id"].as_str().map(str::to_owned),
        };
        self.lock().target = Some((Instant::now(), target.clone()));
        Ok(target)
    }

    /// oslo.limit's lookup: exactly one service of that type and name, the region (if named),
    /// exactly one endpoint of the service in that region with that interface.
    async fn find_endpoint(
        &self,
        service_type: &Option<String>,
        service_name: &Option<String>,
        region_name: &Option<String>,
        interface: &str,
    ) -> Result<Value, LimitsError> {
        let mut q: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = service_type {
            q.push(("type", t));
        }
        if let Some(n) = service_name {
            q.push(("name", n));
        }
        let services = self.get("/services", &q).await?;
        let services = services["services"].as_array().cloned().unwrap_or_default();
        let service_id = match &services[..] {
            [one] => one["id"]
                .as_str()
                .ok_or_else(|| bad_answer("a service without id"))?
                .to_owned(),
            [] => return Err(LimitsError::Misconfigured("Service not found".into())),
            _ => return Err(LimitsError::Misconfigured("Multiple services found".into())),
        };
        let region_id = match region_name {
            None => None,
            Some(r) => {
                let v = self
                    .get_opt(&format!("/regions/{}", encode(r)), &[])
                    .await?
                    .ok_or_else(|| LimitsError::Misconfigured("Region not found".into()))?;
                Some(
                    v["region"]["id"]
                        .as_str()
                        .ok_or_else(|| bad_answer("a region without id"))?
                        .to_owned(),
                )
            }
        };
        let mut q = vec![
            ("service_id", service_id.as_str()),
            ("interface", interface),
        ];
        if let Some(r) = &region_id {
            q.push(("region_id", r));
        }
        let endpoints = self.get("/endpoints", &q).await?;
        match endpoints["endpoints"].as_array().map(Vec::as_slice) {
            Some([one]) => Ok(one.clone()),
            Some([_, _, ..]) => Err(LimitsError::Misconfigured(
                "Multiple endpoints found".into(),
            )),
            _ => Err(LimitsError::Misconfigured("Endpoint not found".into())),
        }
    }

    /// The registered limits (`project` None) or one project's limits of the target.
    async fn read_limits(
        &self,
        target: &Target,
        project: Option<&str>,
    ) -> Result<BTreeMap<String, i64>, LimitsError> {
        let mut q = vec![("service_id", target.service_id.as_str())];
        if let Some(r) = &target.region_id {
            q.push(("region_id", r));
        }
        let (path, list, field) = match project {
            None => ("/registered_limits", "registered_limits", "default_limit"),
            Some(p) => {
                q.push(("project_id", p));
                ("/limits", "limits", "resource_limit")
            }
        };
        let v = self.get(path, &q).await?;
        let mut out = BTreeMap::new();
        for l in v[list].as_array().into_iter().flatten() {
            let (Some(name), Some(n)) = (l["resource_name"].as_str(), l[field].as_i64()) else {
                return Err(bad_answer("a limit without resource_name or value"));
            };
            // The first one found wins, as in oslo.limit.
            out.entry(name.to_owned()).or_insert(n);
        }
        Ok(out)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, LimitsError> {
        self.get_opt(path, query)
            .await?
            .ok_or_else(|| LimitsError::Misconfigured(format!("Keystone has no {path}")))
    }

    /// A GET on the Identity API with glint's token (renewed once if Keystone refuses it);
    /// `None` for a 404.
    async fn get_opt(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<Value>, LimitsError> {
        let mut renewed = false;
        loop {
            let token = self.token(renewed).await?;
            let resp = self
                .http
                .get(format!("{}{path}", self.cfg.api_url))
                .query(query)
                .header("X-Auth-Token", &token)
                .send()
                .await
                .map_err(describe)?;
            match resp.status().as_u16() {
                200 => {
                    return resp
                        .json()
                        .await
                        .map(Some)
                        .map_err(|e| bad_answer(&e.without_url().to_string()))
                }
                404 => return Ok(None),
                401 if !renewed => renewed = true,
                s if s >= 500 => {
                    return Err(LimitsError::Unavailable(format!(
                        "Keystone answered {s} to GET {path}"
                    )))
                }
                s => {
                    return Err(LimitsError::Misconfigured(format!(
                        "Keystone answered {s} to GET {path} (does the [oslo_limit] user have \
                         the reader role on the system, as Glance's needs?)"
                    )))
                }
            }
        }
    }

    /// glint's token for reading limits, fetched or renewed when needed.
    async fn token(&self, force: bool) -> Result<String, LimitsError> {
        let mut guard = self.token.lock().await;
        if let Some((t, expires)) = guard.as_ref() {
            if !force && (*expires - Utc::now()).num_seconds() > RENEW_MARGIN_SECS {
                return Ok(t.clone());
            }
        }
        let resp = self
            .http
            .post(format!("{}/auth/tokens?nocatalog", self.cfg.auth_url))
            .json(&auth_body(&self.cfg))
            .send()
            .await
            .map_err(describe)?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(LimitsError::Unavailable(format!(
                "Keystone answered {status} to glint's login for limits"
            )));
        }
        if !status.is_success() {
            return Err(LimitsError::Misconfigured(format!(
                "Keystone refused the [oslo_limit] credentials ({status})"
            )));
        }
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| bad_answer("no X-Subject-Token"))?;
        let info: TokenBody = resp
            .json()
            .await
            .map_err(|e| bad_answer(&e.without_url().to_string()))?;
        *guard = Some((token.clone(), info.token.expires_at));
        Ok(token)
    }
}

/// The v3 password login for `[oslo_limit]`'s user and scope.
fn auth_body(cfg: &KeystoneLimits) -> Value {
    let domain = |d: &DomainRef| match d {
        DomainRef::Id(id) => json!({ "id": id }),
        DomainRef::Name(n) => json!({ "name": n }),
    };
    let user = match &cfg.user {
        UserRef::Id(id) => json!({"id": id, "password": cfg.password}),
        UserRef::Name { name, domain: d } => {
            json!({"name": name, "domain": domain(d), "password": cfg.password})
        }
    };
    let scope = match &cfg.scope {
        Scope::System(s) if s == "all" => json!({"system": {"all": true}}),
        Scope::System(s) => json!({"system": {s: true}}),
        Scope::ProjectId(id) => json!({"project": {"id": id}}),
        Scope::ProjectName { name, domain: d } => {
            json!({"project": {"name": name, "domain": domain(d)}})
        }
        Scope::Domain(d) => json!({ "domain": domain(d) }),
    };
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": user}},
        "scope": scope,
    }})
}

fn bad_answer(what: &str) -> LimitsError {
    LimitsError::Unavailable(format!("unreadable Keystone answer: {what}"))
}

/// One path segment, percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A reqwest error without the URL or anything token-like.
fn describe(e: reqwest::Error) -> LimitsError {
    LimitsError::Unavailable(if e.is_timeout() {
        "Keystone did not answer in time".into()
    } else if e.is_connect() {
        "cannot connect to Keystone".into()
    } else {
        format!("Keystone request failed: {}", e.without_url())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cfg(user: UserRef, scope: Scope) -> KeystoneLimits {
        KeystoneLimits {
            auth_url: "http://k/v3".into(),
            api_url: "http://k/v3".into(),
            user,
            password: "pw".into(),
            scope,
            endpoint: EndpointLookup::Id("e".into()),
            timeout: Duration::from_secs(1),
            cache_time: Duration::ZERO,
        }
    }

    #[test]
    fn logins_as_keystoneauth_sends_them() {
        let b = auth_body(&cfg(
            UserRef::Name {
                name: "glance".into(),
                domain: DomainRef::Id("default".into()),
            },
            Scope::System("all".into()),
        ));
        assert_eq!(
            b,
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "glance", "domain": {"id": "default"}, "password": "pw"}}},
                "scope": {"system": {"all": true}}}})
        );
        let b = auth_body(&cfg(
            UserRef::Id("u1".into()),
            Scope::ProjectName {
                name: "service".into(),
                domain: DomainRef::Name("Default".into()),
            },
        ));
        assert_eq!(
            b["auth"]["identity"]["password"]["user"],
            json!({"id": "u1", "password": "pw"})
        );
        assert_eq!(
            b["auth"]["scope"],
            json!({"project": {"name": "service", "domain": {"name": "Default"}}})
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode("RegionOne"), "RegionOne");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
