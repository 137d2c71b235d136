//! Projects in Keystone, for the sharing extensions, asked with glint's own service credentials:
//! batch targets named `{"name", "domain"}` resolved to ids, member ids checked
//! (`[glint_sharing] validate_member`), and projects' domains for the cross-domain rule and the
//! guardrails. Lookups by id go through the process's cache (`service::project_cache`).

use std::collections::HashMap;

use futures_util::stream::{self, StreamExt};

use crate::app::AppState;
use crate::auth::{KeystoneClient, KeystoneError};
use crate::domain::batch_share::Target;
use crate::domain::context::RequestContext;
use crate::domain::cross_domain;
use crate::domain::domain_guardrails::Effective;
use crate::domain::member_check::ValidateMember;
use crate::error::Error;

/// The Keystone client, when glint authenticates with Keystone (else there is none to ask).
fn keystone(state: &AppState) -> Option<&KeystoneClient> {
    state.tokens.as_deref().map(|t| t.client())
}

/// Keystone could not answer: the request fails as a whole (503), nothing is written.
pub(crate) fn unavailable(e: KeystoneError) -> Error {
    tracing::warn!(error = %e, "project lookup in Keystone failed");
    Error::Unavailable(format!(
        "Cannot check projects in Keystone, try again later ({e})"
    ))
}

/// Member ids checked in Keystone at once in a batch (a batch names up to 1000 projects).
const LOOKUPS_AT_ONCE: usize = 8;

fn mode(state: &AppState) -> ValidateMember {
    match state.config.sharing.enabled {
        true => state.config.sharing.validate_member,
        false => ValidateMember::Off,
    }
}

/// What Keystone says of the project `id`: `None` (no such project) or whether it is enabled.
async fn lookup(state: &AppState, id: &str) -> Result<Option<bool>, Error> {
    // Startup refuses validate_member without Keystone; this is the same answer, late.
    let Some(k) = keystone(state) else {
        return Err(Error::Unavailable(
            "Member ids are checked in Keystone, and no Keystone is configured".into(),
        ));
    };
    let found = cached_project(state, k, id).await?;
    Ok(found.map(|p| p.enabled))
}

/// The project `id` as Keystone describes it, through this process's cache (enabled projects
/// only are kept, briefly: `service::project_cache`).
pub(crate) async fn cached_project(
    state: &AppState,
    k: &KeystoneClient,
    id: &str,
) -> Result<Option<crate::auth::keystone::Project>, Error> {
    state
        .projects
        .project(id, || k.project(id))
        .await
        .map_err(unavailable)
}

/// A single member create: with `validate_member`, 400 naming the id unless Keystone knows the
/// project (`exists`) and has it enabled (`enabled`); 503 when Keystone cannot answer.
pub async fn check_member(state: &AppState, member: &str) -> Result<(), Error> {
    let mode = mode(state);
    if mode == ValidateMember::Off {
        return Ok(());
    }
    match mode.refusal(member, lookup(state, member).await?) {
        Some(why) => Err(Error::bad_request(why)),
        None => Ok(()),
    }
}

/// Each target's project id, `None` for a name Keystone does not know or, with
/// `validate_member`, a project it refuses (one lookup per distinct project). Names need
/// Keystone: without it (`auth_strategy = noauth`) a named target is a 400.
pub async fn resolve(state: &AppState, targets: &[Target]) -> Result<Vec<Option<String>>, Error> {
    let mode = mode(state);
    let mut known: HashMap<String, Option<bool>> = HashMap::new();
    let mut ids = Vec::with_capacity(targets.len());
    for t in targets {
        ids.push(match t {
            Target::Id(id) => Some(id.clone()),
            Target::Name { name, domain } => {
                let Some(k) = keystone(state) else {
                    return Err(Error::bad_request(
                        "Projects named by {\"name\", \"domain\"} are resolved in Keystone; this \
                         deployment does not use Keystone (auth_strategy), so name them by id",
                    ));
                };
                let found = k.project_by_name(name, domain).await.map_err(unavailable)?;
                if let Some(p) = &found {
                    state.projects.remember(p).await;
                }
                found.map(|p| {
                    let shown = p.name.as_deref().unwrap_or(name);
                    super::project_names::seen(state, &p.id, shown, p.domain_id.as_deref());
                    known.insert(p.id.clone(), Some(p.enabled));
                    p.id
                })
            }
        });
    }
    if mode == ValidateMember::Off {
        return Ok(ids);
    }
    // The ids not known yet, a few lookups at a time.
    let mut todo: Vec<&str> = ids
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|id| !known.contains_key(*id))
        .collect();
    todo.sort_unstable();
    todo.dedup();
    let found: Vec<(String, Result<Option<bool>, Error>)> = stream::iter(todo)
        .map(|id| async move { (id.to_owned(), lookup(state, id).await) })
        .buffer_unordered(LOOKUPS_AT_ONCE)
        .collect()
        .await;
    for (id, f) in found {
        known.insert(id, f?);
    }
    Ok(ids
        .into_iter()
        .map(|id| {
            id.filter(|id| {
                let found = known.get(id).copied().flatten();
                mode.refusal(id, found).is_none()
            })
        })
        .collect())
}

/// The domain of project `id` in Keystone (`None`: no such project).
async fn domain_of(
    state: &AppState,
    k: &KeystoneClient,
    id: &str,
) -> Result<Option<String>, Error> {
    Ok(cached_project(state, k, id)
        .await?
        .and_then(|p| p.domain_id))
}

/// The caller's project's domain: the token's, else Keystone's.
pub(crate) async fn caller_domain(
    state: &AppState,
    k: &KeystoneClient,
    ctx: &RequestContext,
) -> Result<Option<String>, Error> {
    match (&ctx.project_domain_id, ctx.project()) {
        (Some(d), _) => Ok(Some(d.clone())),
        (None, Some(p)) => domain_of(state, k, p).await,
        (None, None) => Ok(None),
    }
}

/// Keystone, and the caller's effective guardrails, when the cross-domain rule or an
/// `outside_domain` guardrail (the operator's or the caller's domain's) asks for domains.
async fn cross_domain_rule<'a>(
    state: &'a AppState,
    ctx: &RequestContext,
) -> Result<Option<(&'a KeystoneClient, Effective)>, Error> {
    let s = &state.config.sharing;
    if !s.enabled {
        return Ok(None);
    }
    let Some(k) = keystone(state) else {
        return Ok(None);
    };
    let rails = super::domain_guardrails::effective(state, ctx).await?;
    Ok((s.cross_domain_requires_domain || rails.all().no_outside_domain).then_some((k, rails)))
}

/// `[glint_sharing] cross_domain_requires_domain` on a member create: 400 when `member` is in
/// another domain than the caller's (the sharer's) project and `named` is not that domain.
pub async fn check_cross_domain(
    state: &AppState,
    ctx: &RequestContext,
    member: &str,
    named: Option<&str>,
) -> Result<(), Error> {
    let Some((k, rails)) = cross_domain_rule(state, ctx).await? else {
        return Ok(());
    };
    let owner = caller_domain(state, k, ctx).await?;
    let theirs = domain_of(state, k, member).await?;
    let (owner, theirs) = (owner.as_deref(), theirs.as_deref());
    if let Some(why) = rails.domain_refusal(member, owner, theirs) {
        return Err(Error::forbidden(why));
    }
    if !state.config.sharing.cross_domain_requires_domain {
        return Ok(());
    }
    match cross_domain::refusal(member, owner, theirs, named) {
        Some(why) => Err(Error::bad_request(why)),
        None => Ok(()),
    }
}

/// The batch targets refused for their domain: under an `outside_domain` guardrail (the
/// operator's or the caller's domain's) every project of another domain than the caller's;
/// under the cross-domain rule those of another domain named only by id (a target by name and
/// domain named theirs).
pub async fn cross_domain_refused(
    state: &AppState,
    ctx: &RequestContext,
    targets: &[Target],
    resolved: &[Option<String>],
) -> Result<std::collections::HashSet<String>, Error> {
    let mut refused = std::collections::HashSet::new();
    let Some((k, rails)) = cross_domain_rule(state, ctx).await? else {
        return Ok(refused);
    };
    let owner = caller_domain(state, k, ctx).await?;
    let named: std::collections::HashSet<&str> = targets
        .iter()
        .zip(resolved)
        .filter_map(|(t, id)| match (t, id) {
            (Target::Name { .. }, Some(id)) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let mut ids: Vec<&str> = resolved.iter().flatten().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let found: Vec<(String, Result<Option<String>, Error>)> = stream::iter(ids)
        .map(|id| async move { (id.to_owned(), domain_of(state, k, id).await) })
        .buffer_unordered(LOOKUPS_AT_ONCE)
        .collect()
        .await;
    let cfg = &state.config.sharing;
    for (id, d) in found {
        let d = d?;
        let rule = cfg.cross_domain_requires_domain
            && !named.contains(id.as_str())
            && cross_domain::refusal(&id, owner.as_deref(), d.as_deref(), None).is_some();
        let rail = rails
            .domain_refusal(&id, owner.as_deref(), d.as_deref())
            .is_some();
        if rule || rail {
            refused.insert(id);
        }
    }
    Ok(refused)
}
