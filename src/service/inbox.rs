//! The sharing extensions' inbox (`GET /v2/glint/inbox`) and its bulk decisions
//! (`POST /v2/glint/inbox/decisions`): the caller's project's shares across images.

use super::images::now;
use super::members::shown_ext;
use crate::app::AppState;
use crate::db;
use crate::db::inbox::{After, Expiry, Filter};
use crate::domain::context::RequestContext;
use crate::domain::image::Image;
use crate::domain::inbox_query::{InboxQuery, InboxStatus};
use crate::domain::member::{Member, MemberStatus};
use crate::error::Error;
use crate::policy::project_target;

/// One page of the inbox, the counts of every state, and the next page's link.
pub struct InboxPage {
    pub shares: Vec<(Image, Member)>,
    pub counts: Vec<(&'static str, i64)>,
    pub next: Option<String>,
}

fn filter(s: InboxStatus) -> Filter {
    match s {
        InboxStatus::Status(s) => Filter::Status(s),
        InboxStatus::Expired => Filter::Expired,
        InboxStatus::All => Filter::All,
    }
}

/// The instant shares end now (`pending_ttl` included).
pub(crate) fn expiry(state: &AppState) -> Expiry {
    let now = now();
    let pending_before = state
        .config
        .sharing
        .pending_ttl
        .and_then(|t| chrono::Duration::from_std(t).ok())
        .and_then(|t| now.checked_sub_signed(t));
    Expiry {
        now,
        pending_before,
    }
}

/// The project the inbox belongs to: the caller's (a project-scoped token).
fn project(ctx: &RequestContext) -> Result<String, Error> {
    ctx.project().map(str::to_owned).ok_or_else(|| {
        Error::forbidden("The inbox belongs to a project: use a project-scoped token")
    })
}

pub async fn inbox(
    state: &AppState,
    ctx: RequestContext,
    q: InboxQuery,
) -> Result<InboxPage, Error> {
    state
        .policy
        .enforce("glint:get_inbox", &ctx, &project_target(&ctx))?;
    let project = project(&ctx)?;
    let st = state.clone();
    state
        .read(move |c| {
            let exp = expiry(&st);
            let after = match &q.marker {
                None => None,
                Some(mk) => {
                    let Some(offered_at) = db::inbox::offered_at(c, &project, mk)? else {
                        return Err(Error::bad_request(format!(
                            "marker {mk} is not a share of project {project}"
                        )));
                    };
                    Some(After {
                        offered_at,
                        image_id: mk.clone(),
                    })
                }
            };
            let owner = q.owner.as_deref();
            let rows = db::inbox::page(
                c,
                &project,
                owner,
                filter(q.status),
                exp,
                after.as_ref(),
                q.limit,
            )?;
            let mut shares = Vec::with_capacity(rows.len());
            for (mut m, image) in rows {
                let e = db::member_ext::get(c, &m.image_id, &m.member_id)?.unwrap_or_default();
                m.ext = Some(shown_ext(&st, &m, e));
                shares.push((image, m));
            }
            let mut counts = Vec::new();
            for (name, f) in [
                ("pending", Filter::Status(MemberStatus::Pending)),
                ("accepted", Filter::Status(MemberStatus::Accepted)),
                ("rejected", Filter::Status(MemberStatus::Rejected)),
                ("expired", Filter::Expired),
            ] {
                counts.push((name, db::inbox::count(c, &project, owner, f, exp)?));
            }
            let full = q.limit > 0 && shares.len() as i64 == q.limit;
            let next = full
                .then(|| shares.last().map(|(i, _)| q.next_link(&i.id)))
                .flatten();
            Ok(InboxPage {
                shares,
                counts,
                next,
            })
        })
        .await
}
