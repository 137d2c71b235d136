//! The web page's login form (`crate::ui::login`) as the body of Keystone's
//! `POST /v3/auth/tokens`: a password scoped to a project, or an application credential (which
//! carries its own project).

use serde_json::{json, Value};

/// Keystone's longest names and ids (its columns are 255 wide); a secret is not bounded there,
/// but a form field of more than this is not a password.
const MAX_FIELD_CHARS: usize = 255;

/// The login form's fields, as posted (every field optional: which ones count depends on
/// `method`).
#[derive(Default, Clone, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub user_domain: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub project_domain: String,
    #[serde(default)]
    pub app_cred_id: String,
    #[serde(default)]
    pub app_cred_secret: String,
}

/// The domain when the form leaves it empty, as the `openstack` CLI's examples use.
pub const DEFAULT_DOMAIN: &str = "Default";

fn field<'a>(label: &str, v: &'a str, trim: bool) -> Result<&'a str, String> {
    let v = if trim { v.trim() } else { v };
    if v.is_empty() {
        return Err(format!("{label} is required."));
    }
    if v.chars().count() > MAX_FIELD_CHARS {
        return Err(format!(
            "{label} is longer than {MAX_FIELD_CHARS} characters."
        ));
    }
    Ok(v)
}

fn domain(v: &str) -> Result<&str, String> {
    match v.trim() {
        "" => Ok(DEFAULT_DOMAIN),
        d => field("Domain", d, true),
    }
}

impl LoginForm {
    /// The `auth` request body, or the message the form shows again.
    pub fn keystone_body(&self) -> Result<Value, String> {
        let auth = match self.method.as_str() {
            "password" | "" => {
                let user = field("User name", &self.username, true)?;
                // A password is taken as typed: spaces may be part of it.
                let password = field("Password", &self.password, false)?;
                let project = field("Project", &self.project, true)?;
                json!({
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": user,
                        "password": password,
                        "domain": {"name": domain(&self.user_domain)?},
                    }}},
                    "scope": {"project": {
                        "name": project,
                        "domain": {"name": domain(&self.project_domain)?},
                    }},
                })
            }
            "application_credential" => json!({
                "identity": {
                    "methods": ["application_credential"],
                    "application_credential": {
                        "id": field("Application credential id", &self.app_cred_id, true)?,
                        "secret": field("Secret", &self.app_cred_secret, false)?,
                    },
                },
            }),
            other => return Err(format!("Unknown login method {other:?}.")),
        };
        Ok(json!({ "auth": auth }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(user: &str, password: &str, project: &str) -> LoginForm {
        LoginForm {
            method: "password".into(),
            username: user.into(),
            password: password.into(),
            project: project.into(),
            ..LoginForm::default()
        }
    }

    #[test]
    fn password_login_is_project_scoped_with_default_domains() {
        let b = pw(" alice ", " s3cret ", "alpha")
            .keystone_body()
            .unwrap_or_else(|e| panic!("{e}"));
        let p = &b["auth"]["identity"]["password"]["user"];
        assert_eq!(p["name"], "alice");
        assert_eq!(p["password"], " s3cret ");
        assert_eq!(p["domain"]["name"], "Default");
        assert_eq!(b["auth"]["scope"]["project"]["name"], "alpha");
        assert_eq!(b["auth"]["scope"]["project"]["domain"]["name"], "Default");
        let mut f = pw("alice", "x", "alpha");
        f.user_domain = "users".into();
        f.project_domain = "projects".into();
        let b = f.keystone_body().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            b["auth"]["identity"]["password"]["user"]["domain"]["name"],
            "users"
        );
        assert_eq!(b["auth"]["scope"]["project"]["domain"]["name"], "projects");
    }

    #[test]
    fn application_credentials_carry_their_own_scope() {
        let f = LoginForm {
            method: "application_credential".into(),
            app_cred_id: "abc".into(),
            app_cred_secret: "sec".into(),
            project: "ignored".into(),
            ..LoginForm::default()
        };
        let b = f.keystone_body().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            b["auth"]["identity"]["methods"][0],
            "application_credential"
        );
        assert_eq!(b["auth"]["identity"]["application_credential"]["id"], "abc");
        assert!(b["auth"].get("scope").is_none());
    }

    #[test]
    fn missing_and_oversized_fields() {
        let cases = [
            (pw("", "x", "p"), "User name is required."),
            (pw("a", "", "p"), "Password is required."),
            (pw("a", "x", "  "), "Project is required."),
            (
                pw(&"u".repeat(256), "x", "p"),
                "User name is longer than 255 characters.",
            ),
            (
                LoginForm {
                    method: "application_credential".into(),
                    app_cred_id: "id".into(),
                    ..LoginForm::default()
                },
                "Secret is required.",
            ),
            (
                LoginForm {
                    method: "token".into(),
                    ..LoginForm::default()
                },
                "Unknown login method \"token\".",
            ),
        ];
        for (f, want) in cases {
            assert_eq!(f.keystone_body().unwrap_err(), want);
        }
    }
}
