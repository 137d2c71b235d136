//! Talking to Keystone: glint's own service token, and validating user tokens
//! with `GET /v3/auth/tokens`, as keystonemiddleware does.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::KeystoneConfig;

/// Why a validation did not produce an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoneError {
    /// Keystone says the token is not valid (expired, revoked, garbage).
    #[error("token is not valid")]
    Invalid,
    /// Keystone could not be asked (down, slow, 5xx, or glint's own credentials refused).
    #[error("keystone unavailable: {0}")]
    Unavailable(String),
}

/// What a validated token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    /// Only for project-scoped tokens.
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub domain_id: Option<String>,
    /// Effective roles, lower-cased (Keystone expands implied roles).
    pub roles: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<Box<Named>>,
}

#[derive(Deserialize)]
struct TokenInfo {
    expires_at: DateTime<Utc>,
    user: Named,
    #[serde(default)]
    project: Option<Named>,
    #[serde(default)]
    roles: Vec<Named>,
}

/// A project as Keystone describes it: what member checks and batch targets by name need.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Project {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub domain_id: Option<String>,
    /// The parent project; for a top-level project, its domain.
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

#[derive(Deserialize)]
struct ProjectBody {
    project: Project,
}

#[derive(Deserialize)]
struct ProjectsBody {
    projects: Vec<Project>,
}

#[derive(Deserialize)]
struct DomainsBody {
    domains: Vec<Named>,
}

struct ServiceToken {
    token: String,
    expires_at: DateTime<Utc>,
}

pub struct KeystoneClient {
    http: reqwest::Client,
    auth_url: String,
    cfg: KeystoneConfig,
    service_token: Mutex<Option<ServiceToken>>,
}

/// Renew glint's own token this long before Keystone would expire it.
const RENEW_MARGIN_SECS: i64 = 120;

impl KeystoneClient {
    pub fn new(cfg: &KeystoneConfig) -> Result<Self, String> {
        let auth_url = cfg
            .auth_url
            .clone()
            .ok_or("[keystone_authtoken] auth_url is required with auth_strategy = keystone")?;
        for (key, v) in [
            ("username", &cfg.username),
            ("password", &cfg.password),
            ("project_name", &cfg.project_name),
        ] {
            if v.is_none() {
                return Err(format!(
                    "[keystone_authtoken] {key} is required with auth_strategy = keystone"
                ));
            }
        }
        let timeout = Duration::from_secs(cfg.http_connect_timeout.max(1));
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the Keystone HTTP client: {e}"))?;
        Ok(KeystoneClient {
            http,
            auth_url: normalise_v3(&auth_url),
            cfg: cfg.clone(),
            service_token: Mutex::new(None),
        })
    }

    /// glint's own token, fetched or renewed when needed.
    async fn service_token(&self, force: bool) -> Result<String, KeystoneError> {
        let mut guard = self.service_token.lock().await;
        if let Some(t) = guard.as_ref() {
            if !force && (t.expires_at - Utc::now()).num_seconds() > RENEW_MARGIN_SECS {
                return Ok(t.token.clone());
            }
        }
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self.cfg.username, "password": self.cfg.password,
                "domain": {"name": self.cfg.user_domain_name}}}},
            "scope": {"project": {"name": self.cfg.project_name,
                "domain": {"name": self.cfg.project_domain_name}}}
        }});
        let resp = self
            .send_with_retries(|| {
                self.http
                    .post(format!("{}/auth/tokens?nocatalog", self.auth_url))
                    .json(&body)
            })
            .await?;
        if !resp.status().is_success() {
            return Err(KeystoneError::Unavailable(format!(
                "Keystone refused glint's service credentials ({})",
                resp.status()
            )));
        }
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| KeystoneError::Unavailable("Keystone sent no X-Subject-Token".into()))?;
        let info: TokenBody = resp
            .json()
            .await
            .map_err(|e| KeystoneError::Unavailable(format!("unreadable Keystone answer: {e}")))?;
        *guard = Some(ServiceToken {
            token: token.clone(),
            expires_at: info.token.expires_at,
        });
        Ok(token)
    }

    /// Send, retrying connection failures `http_request_max_retries` times.
    async fn send_with_retries(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, KeystoneError> {
        let mut attempt = 0;
        loop {
            match build().send().await {
                Ok(r) if r.status().is_server_error() => {
                    return Err(KeystoneError::Unavailable(format!(
                        "Keystone answered {}",
                        r.status()
                    )))
                }
                Ok(r) => return Ok(r),
                Err(e) if e.is_connect() && attempt < self.cfg.http_request_max_retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => return Err(KeystoneError::Unavailable(describe(e))),
            }
        }
    }

    /// A user's login (`auth` is the body of `POST /v3/auth/tokens`, built by
    /// `domain::ui_login`): the token Keystone issues. The body holds a password or a secret,
    /// so it is never logged; a refusal is `Invalid`, whatever Keystone said.
    pub async fn issue(&self, auth: &serde_json::Value) -> Result<String, KeystoneError> {
        let resp = self
            .send_with_retries(|| {
                self.http
                    .post(format!("{}/auth/tokens?nocatalog", self.auth_url))
                    .json(auth)
            })
            .await?;
        if !resp.status().is_success() {
            return Err(KeystoneError::Invalid);
        }
        resp.headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| KeystoneError::Unavailable("Keystone sent no X-Subject-Token".into()))
    }

    /// Revoke a user's token (`DELETE /v3/auth/tokens`, authorised by the token itself): a
    /// logout. A token Keystone no longer knows is already as good as revoked.
    pub async fn revoke(&self, user_token: &str) -> Result<(), KeystoneError> {
        let resp = self
            .send_with_retries(|| {
                self.http
                    .delete(format!("{}/auth/tokens", self.auth_url))
                    .header("X-Auth-Token", user_token)
                    .header("X-Subject-Token", user_token)
            })
            .await?;
        match resp.status().as_u16() {
            200..=299 | 401 | 404 => Ok(()),
            s => Err(KeystoneError::Unavailable(format!(
                "Keystone answered {s} to a token revocation"
            ))),
        }
    }

    /// Ask Keystone about a user token.
    pub async fn validate(&self, user_token: &str) -> Result<Identity, KeystoneError> {
        let mut renewed = false;
        loop {
            let service = self.service_token(renewed).await?;
            let resp = self
                .send_with_retries(|| {
                    self.http
                        .get(format!("{}/auth/tokens?nocatalog", self.auth_url))
                        .header("X-Auth-Token", &service)
                        .header("X-Subject-Token", user_token)
                })
                .await?;
            match resp.status().as_u16() {
                200 => {
                    let body: TokenBody = resp.json().await.map_err(|e| {
                        KeystoneError::Unavailable(format!("unreadable Keystone answer: {e}"))
                    })?;
                    return Ok(identity(body.token));
                }
                404 | 400 => return Err(KeystoneError::Invalid),
                // glint's own token expired or was revoked: renew once.
                401 | 403 if !renewed => renewed = true,
                s => {
                    return Err(KeystoneError::Unavailable(format!(
                        "Keystone answered {s} to a token validation"
                    )))
                }
            }
        }
    }
}

impl KeystoneClient {
    /// `GET {v3}{path}` with glint's own token, renewed once if Keystone no longer takes it.
    /// The answer's status and body; 5xx and connection failures are `Unavailable`.
    async fn get_as_glint(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(u16, reqwest::Response), KeystoneError> {
        let mut renewed = false;
        loop {
            let service = self.service_token(renewed).await?;
            let resp = self
                .send_with_retries(|| {
                    self.http
                        .get(format!("{}{path}", self.auth_url))
                        .query(query)
                        .header("X-Auth-Token", &service)
                })
                .await?;
            match resp.status().as_u16() {
                401 if !renewed => renewed = true,
                s => return Ok((s, resp)),
            }
        }
    }

    /// The project `id`, or `None` if Keystone has none by that id.
    pub async fn project(&self, id: &str) -> Result<Option<Project>, KeystoneError> {
        let path = format!(
            "/projects/{}",
            percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        );
        match self.get_as_glint(&path, &[]).await? {
            (200, resp) => Ok(Some(read::<ProjectBody>(resp).await?.project)),
            (404, _) => Ok(None),
            (s, _) => Err(refused(s)),
        }
    }

    /// The project named `name` in the domain `domain` (its id, or else its name).
    pub async fn project_by_name(
        &self,
        name: &str,
        domain: &str,
    ) -> Result<Option<Project>, KeystoneError> {
        let found = self.projects_named(name, domain).await?;
        if found.is_some() {
            return Ok(found);
        }
        let domains = match self.get_as_glint("/domains", &[("name", domain)]).await? {
            (200, resp) => read::<DomainsBody>(resp).await?.domains,
            (s, _) => return Err(refused(s)),
        };
        match domains.into_iter().find(|d| d.id != domain) {
            Some(d) => self.projects_named(name, &d.id).await,
            None => Ok(None),
        }
    }

    /// Whether Keystone has a domain `id`.
    pub async fn domain_exists(&self, id: &str) -> Result<bool, KeystoneError> {
        let path = format!(
            "/domains/{}",
            percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        );
        match self.get_as_glint(&path, &[]).await? {
            (200, _) => Ok(true),
            (404, _) => Ok(false),
            (s, _) => Err(refused(s)),
        }
    }

    /// The ancestors of project `id` (`parents_as_ids`), nearest first, its domain last; empty
    /// when Keystone has no such project.
    pub async fn ancestors(&self, id: &str) -> Result<Vec<String>, KeystoneError> {
        let path = format!(
            "/projects/{}",
            percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        );
        let body: serde_json::Value = match self
            .get_as_glint(&path, &[("parents_as_ids", "true")])
            .await?
        {
            (200, resp) => read(resp).await?,
            (404, _) => return Ok(Vec::new()),
            (s, _) => return Err(refused(s)),
        };
        // `{"parent": {"grandparent": {"domain": null}}}`: one key per level.
        let mut out = Vec::new();
        let mut level = body.pointer("/project/parents");
        while let Some(serde_json::Value::Object(o)) = level {
            let Some((k, v)) = o.iter().next() else { break };
            out.push(k.clone());
            level = Some(v);
        }
        Ok(out)
    }

    /// The projects of `query` (`domain_id=` or `parent_id=`), as many as Keystone lists.
    pub async fn projects_where(
        &self,
        query: &[(&str, &str)],
    ) -> Result<Vec<Project>, KeystoneError> {
        match self.get_as_glint("/projects", query).await? {
            (200, resp) => Ok(read::<ProjectsBody>(resp).await?.projects),
            (s, _) => Err(refused(s)),
        }
    }

    async fn projects_named(
        &self,
        name: &str,
        domain_id: &str,
    ) -> Result<Option<Project>, KeystoneError> {
        let query = [("name", name), ("domain_id", domain_id)];
        match self.get_as_glint("/projects", &query).await? {
            (200, resp) => Ok(read::<ProjectsBody>(resp)
                .await?
                .projects
                .into_iter()
                .next()),
            (s, _) => Err(refused(s)),
        }
    }
}

async fn read<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, KeystoneError> {
    resp.json()
        .await
        .map_err(|e| KeystoneError::Unavailable(format!("unreadable Keystone answer: {e}")))
}

/// Keystone would not tell glint about projects: glint's service user lacks the role to read them.
fn refused(status: u16) -> KeystoneError {
    KeystoneError::Unavailable(format!(
        "Keystone answered {status} to glint's project lookup (glint's service user needs a \
         role that may read projects, e.g. admin or a system reader)"
    ))
}

fn identity(t: TokenInfo) -> Identity {
    let (project_id, project_name, domain_id) = match t.project {
        Some(p) => (Some(p.id), p.name, p.domain.map(|d| d.id)),
        None => (None, None, None),
    };
    Identity {
        user_id: t.user.id,
        project_id,
        project_name,
        domain_id,
        roles: t
            .roles
            .into_iter()
            .filter_map(|r| r.name)
            .map(|r| r.to_ascii_lowercase())
            .collect(),
        expires_at: t.expires_at,
    }
}

/// `http://host:5000`, `.../v3` and `.../v3/` all mean the v3 API root.
fn normalise_v3(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    if trimmed.ends_with("/v3") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v3")
    }
}

/// A reqwest error without the URL's query or anything token-like.
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "Keystone did not answer in time".into()
    } else if e.is_connect() {
        "cannot connect to Keystone".into()
    } else {
        format!("Keystone request failed: {}", e.without_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_urls() {
        assert_eq!(normalise_v3("http://k:5000"), "http://k:5000/v3");
        assert_eq!(normalise_v3("http://k:5000/v3/"), "http://k:5000/v3");
        assert_eq!(normalise_v3("http://k/identity/v3"), "http://k/identity/v3");
    }

    #[test]
    fn parses_a_project_scoped_answer() {
        let body = serde_json::json!({"token": {
            "expires_at": "2026-11-22T20:00:00.000000Z",
            "user": {"id": "u1", "name": "alice", "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p1", "name": "alpha", "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "r1", "name": "Member"}, {"id": "r2", "name": "reader"}],
            "methods": ["password"]
        }});
        let t: TokenBody = serde_json::from_value(body).unwrap();
        let id = identity(t.token);
        assert_eq!(id.project_id.as_deref(), Some("p1"));
        assert_eq!(id.roles, ["member", "reader"]);
        assert_eq!(id.user_id, "u1");
    }

    #[test]
    fn system_scoped_answer_has_no_project() {
        let body = serde_json::json!({"token": {
            "expires_at": "2026-11-22T20:00:00Z",
            "user": {"id": "u1"}, "system": {"all": true},
            "roles": [{"id": "r", "name": "admin"}]
        }});
        let t: TokenBody = serde_json::from_value(body).unwrap();
        assert_eq!(identity(t.token).project_id, None);
    }
}
