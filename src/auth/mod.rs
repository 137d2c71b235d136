//! Authentication: Keystone token validation with a cache. The only source of
//! a caller's identity (apart from the explicit, loudly logged noauth mode).

pub mod cache;
pub mod keystone;

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
        },
        None => RequestContext {
            project_id: None,
            user_id: Some(id.user_id.clone()),
            roles: Vec::new(),
        },
    }
}

/// What a 401 adds while no Keystone is configured, and the first start's advice: the next step.
pub const NO_KEYSTONE_HINT: &str = "glint has no Keystone to validate tokens: set \
     [keystone_authtoken] auth_url, username, password and project_name (docs/DEPLOY.md), or, \
     for development only, [DEFAULT] auth_strategy = noauth with [glint_noauth] project_id \
     (README, Quick start).";
