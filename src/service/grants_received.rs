//! The grants a project received: those that reached it (its domain, or a subtree it is in),
//! each with the owner's name when glint knows it, the images with the project's own status,
//! and where the project stands (`domain::grant_consent`). What the web page's recipient side
//! shows; deciding is `service::grants::decide`, as for `PUT /v2/glint/grants/{id}/decision`.

use super::grants::{policy_target, LIST_MAX};
use crate::app::AppState;
use crate::db::{self, grants::Grant};
use crate::domain::context::RequestContext;
use crate::domain::grant_consent::Consent;
use crate::domain::id::ImageId;
use crate::domain::member::MemberStatus;
use crate::error::Error;

/// One image of a received grant, as the recipient sees it.
pub struct ReceivedImage {
    pub id: String,
    pub name: Option<String>,
    pub status: MemberStatus,
}

/// A grant as its recipient sees it.
pub struct Received {
    pub grant: Grant,
    pub owner_name: Option<String>,
    pub images: Vec<ReceivedImage>,
    pub consent: Consent,
    /// The caller may decide (`glint:decide_grant` for its project, or for the whole domain).
    pub can_decide: bool,
}

/// The grants that reached the caller's project and that `glint:get_grant` lets it read,
/// oldest first (at most `LIST_MAX`).
pub async fn received(state: &AppState, ctx: RequestContext) -> Result<Vec<Received>, Error> {
    let Some(project) = ctx.project().map(str::to_owned) else {
        return Ok(Vec::new());
    };
    let st = state.clone();
    state
        .read(move |c| {
            let mut out = Vec::new();
            let grants = db::grants::reaching(c, &project, LIST_MAX)?;
            let owners: Vec<&str> = grants.iter().map(|g| g.owner.as_str()).collect();
            let names = super::project_names::names(c, &owners)?;
            for g in &grants {
                let target = policy_target(g, Some(&project));
                if !st.policy.allows("glint:get_grant", &ctx, &target) {
                    continue;
                }
                let mut images = Vec::new();
                for (image, member) in db::grants::member_rows_of(c, &g.id, &project)? {
                    let id = ImageId::from_path(&image);
                    let Some(m) = db::members::get(c, &id, &member)? else {
                        continue;
                    };
                    let name = db::images::get(c, &id)?.and_then(|i| i.name);
                    images.push(ReceivedImage {
                        id: image,
                        name,
                        status: m.status,
                    });
                }
                images.sort_by(|a, b| a.id.cmp(&b.id));
                let statuses: Vec<MemberStatus> = images.iter().map(|i| i.status).collect();
                let can_decide = st.policy.allows("glint:decide_grant", &ctx, &target)
                    || st.policy.allows(
                        "glint:decide_grant_for_domain",
                        &ctx,
                        &policy_target(g, None),
                    );
                out.push(Received {
                    owner_name: names.get(&g.owner).map(|p| p.name.clone()),
                    consent: Consent::of(&statuses),
                    images,
                    can_decide,
                    grant: g.clone(),
                });
            }
            Ok(out)
        })
        .await
}
