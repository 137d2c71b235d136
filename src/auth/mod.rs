//! Authentication: Keystone token validation with a cache. The only source of
//! a caller's identity (apart from the explicit, loudly logged noauth mode).

pub mod cache;
pub mod keystone;
pub mod limits;

pub use cache::TokenValidator;
pub use keystone::{Identity, KeystoneClient, KeystoneError};

use crate::domain::context::RequestContext;

/// The request context of a validated token. Glance's rules are all
/// project-scoped (`enforce_scope`): a domain-, system- or unscoped token gets
/// no roles, so every rule denies it, as Glance does.
pub fn context_of(id: &Identity) -> RequestContext {
    match &id.project_id {
        Some(p) => RequestContext {
            project_id: Some(p.clone()),
            user_id: Some(id.user_id.clone()),
            roles: id.roles.clone(),
            project_domain_id: id.domain_id.clone(),
            request_id: None,
        },
        None => RequestContext {
            project_id: None,
            user_id: Some(id.user_id.clone()),
            roles: Vec::new(),
            project_domain_id: None,
            request_id: None,
        },
    }
}

/// What a 401 adds while no Keystone is configured, and the first start's advice: the next step.
pub const NO_KEYSTONE_HINT: &str = "glint has no Keystone to validate tokens: set \
     [keystone_authtoken] auth_url, username, password and project_name (docs/DEPLOY.md), or, \
     for development only, [DEFAULT] auth_strategy = noauth with [glint_noauth] project_id \
     (README, Quick start).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_token_gives_its_projects_domain() {
        let id = Identity {
            user_id: "u1".into(),
            project_id: Some("p1".into()),
            project_name: None,
            domain_id: Some("d1".into()),
            roles: vec!["member".into()],
            expires_at: chrono::Utc::now(),
        };
        let ctx = context_of(&id);
        assert_eq!(ctx.project_domain_id.as_deref(), Some("d1"));
        assert_eq!(ctx.project(), Some("p1"));
        // Not project-scoped: no project, no domain, no roles.
        let unscoped = context_of(&Identity {
            project_id: None,
            ..id
        });
        assert_eq!(
            (unscoped.project_domain_id, unscoped.roles.len()),
            (None, 0)
        );
    }
}
