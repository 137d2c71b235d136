//! Recipient projects' trust policies (`GET|PUT /v2/glint/projects/{project_id}/share-policy`)
//! and their one effect: what becomes of an offer when it is made (`members::create`).

use super::images::now;
use super::share_events::record;
use crate::app::AppState;
use crate::db::{self, share_policy::Stored, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::member::MAX_MEMBER_ID_LEN;
use crate::domain::share_event::NewEvent;
use crate::domain::share_policy::{Offer, Offerer, SharePolicy};
use crate::error::Error;
use crate::policy::new_image_target;

/// The target of the share-policy rules: the recipient project is `project_id`, so
/// `project_id:%(project_id)s` in an operator's rule means "the recipient itself".
fn target(project: &str) -> crate::policy::Target {
    new_image_target(Some(project))
}

fn check_project(project: &str) -> Result<(), Error> {
    if project.chars().count() > MAX_MEMBER_ID_LEN {
        return Err(Error::bad_request(format!(
            "Project id is longer than {MAX_MEMBER_ID_LEN} characters"
        )));
    }
    Ok(())
}

/// The project's policy, or the default (nothing trusted, nothing hidden) if it set none.
pub async fn get(
    state: &AppState,
    ctx: RequestContext,
    project: String,
) -> Result<Option<Stored>, Error> {
    check_project(&project)?;
    state
        .policy
        .enforce("glint:get_share_policy", &ctx, &target(&project))?;
    state
        .read(move |c| Ok(db::share_policy::get(c, &project)?))
        .await
}

/// Replace the project's policy with `body` (`SharePolicy::parse`). The recipient's domain is
/// recorded from the caller's token when the caller is the project itself; an admin setting
/// another project's policy keeps the domain recorded before (if any).
pub async fn put(
    state: &AppState,
    ctx: RequestContext,
    project: String,
    body: serde_json::Value,
) -> Result<Stored, Error> {
    check_project(&project)?;
    state
        .policy
        .enforce("glint:set_share_policy", &ctx, &target(&project))?;
    let policy = SharePolicy::parse(&body)?;
    let st = state.clone();
    state
        .write(move |c| {
            let own = ctx.project() == Some(project.as_str());
            let before = db::share_policy::get(c, &project)?;
            let domain_id = match own {
                true => ctx.project_domain_id.clone(),
                false => before.as_ref().and_then(|s| s.domain_id.clone()),
            };
            let stored = Stored {
                policy,
                domain_id,
                updated_at: now(),
                updated_by: ctx.user_id.clone(),
            };
            db::share_policy::put(c, &project, &stored)?;
            // A change is history (the same policy again is not).
            if before.as_ref().map(|b| &b.policy) != Some(&stored.policy) {
                let from = before.map(|b| b.policy.to_json());
                let to = stored.policy.to_json();
                let at = stored.updated_at;
                record(c, &st, || {
                    NewEvent::policy_update(&ctx, at, &project, from, to)
                })?;
            }
            Ok(stored)
        })
        .await
}

/// What becomes of an offer of an image owned by `owner` to `member`, made by `ctx`: the
/// owner's domain is known when the caller is the owner (its token says), else not.
pub(crate) fn decide_offer(
    conn: &mut DbConn,
    ctx: &RequestContext,
    owner: Option<&str>,
    member: &str,
) -> Result<Offer, Error> {
    let Some(stored) = db::share_policy::get(conn, member)? else {
        return Ok(Offer::Create {
            accepted: false,
            mark: None,
        });
    };
    let domain = match owner.is_some() && ctx.project() == owner {
        true => ctx.project_domain_id.as_deref(),
        false => None,
    };
    let from = Offerer { owner, domain };
    Ok(stored.policy.decide(from, stored.domain_id.as_deref()))
}
