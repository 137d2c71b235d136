//! glint's `[glint_noauth]`: the identity a development server gives requests that carry no
//! identity headers, so that `openstack --os-auth-type none --os-endpoint ...` (which sends
//! none) can create and list images. Off unless `project_id` is set; only with
//! `auth_strategy = noauth`; refused together with anything that says tokens are wanted.

use super::RawConfig;

const SECTION: &str = "glint_noauth";

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[(SECTION, &["project_id", "user_id", "roles"])];

/// The identity of a request without identity headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoauthIdentity {
    pub project_id: String,
    pub user_id: Option<String>,
    /// Lower case, as Keystone role names are compared.
    pub roles: Vec<String>,
}

/// `[glint_noauth]`, checked against the rest of the configuration. `noauth`: the
/// `auth_strategy` is noauth; `keystone_configured`: `[keystone_authtoken] auth_url` is set.
pub(super) fn from_raw(
    raw: &RawConfig,
    noauth: bool,
    keystone_configured: bool,
) -> Result<Option<NoauthIdentity>, String> {
    let set: Vec<&str> = ["project_id", "user_id", "roles"]
        .into_iter()
        .filter(|k| raw.get(SECTION, k).is_some())
        .collect();
    if set.is_empty() {
        return Ok(None);
    }
    let named = set
        .iter()
        .map(|k| format!("[{SECTION}] {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    if !noauth {
        return Err(format!(
            "{named} set, but [DEFAULT] auth_strategy is keystone: the development identity \
             would be ignored. Remove [{SECTION}], or set auth_strategy = noauth (development only)"
        ));
    }
    if keystone_configured {
        return Err(format!(
            "{named} set together with [keystone_authtoken] auth_url: a server configured for \
             Keystone must not hand out an identity without a token. Remove one of them"
        ));
    }
    let Some(project_id) = raw.get(SECTION, "project_id") else {
        return Err(format!(
            "{named} set without [{SECTION}] project_id: the development identity needs a project"
        ));
    };
    let roles: Vec<String> = raw
        .get(SECTION, "roles")
        .unwrap_or("member,reader")
        .split(',')
        .map(|r| r.trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .collect();
    if roles.is_empty() {
        return Err(format!(
            "[{SECTION}] roles is empty: name at least one role"
        ));
    }
    Ok(Some(NoauthIdentity {
        project_id: project_id.trim().to_owned(),
        user_id: raw.get(SECTION, "user_id").map(|u| u.trim().to_owned()),
        roles,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, noauth: bool, ks: bool) -> Result<Option<NoauthIdentity>, String> {
        from_raw(&RawConfig::from_text(text).unwrap(), noauth, ks)
    }

    #[test]
    fn off_unless_configured() {
        assert_eq!(parse("[DEFAULT]\n", true, false), Ok(None));
        assert_eq!(parse("[DEFAULT]\n", false, false), Ok(None));
    }

    #[test]
    fn defaults_and_lower_case_roles() {
        let id = parse("[glint_noauth]\nproject_id = dev\n", true, false)
            .unwrap()
            .unwrap();
        assert_eq!(id.project_id, "dev");
        assert_eq!(id.roles, ["member", "reader"]);
        assert_eq!(id.user_id, None);
        let id = parse(
            "[glint_noauth]\nproject_id = p\nuser_id = u\nroles = Admin, member\n",
            true,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(id.roles, ["admin", "member"]);
        assert_eq!(id.user_id.as_deref(), Some("u"));
    }

    #[test]
    fn contradictions_refused() {
        let e = parse("[glint_noauth]\nproject_id = p\n", false, false).unwrap_err();
        assert!(e.contains("auth_strategy is keystone"), "{e}");
        let e = parse("[glint_noauth]\nproject_id = p\n", true, true).unwrap_err();
        assert!(e.contains("[keystone_authtoken] auth_url"), "{e}");
        let e = parse("[glint_noauth]\nroles = admin\n", true, false).unwrap_err();
        assert!(e.contains("without [glint_noauth] project_id"), "{e}");
        let e = parse("[glint_noauth]\nproject_id = p\nroles = ,\n", true, false).unwrap_err();
        assert!(e.contains("roles is empty"), "{e}");
    }
}
