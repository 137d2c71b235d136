//! The sharing extensions' inbox (`GET /v2/glint/inbox`) and its bulk decisions
//! (`POST /v2/glint/inbox/decisions`): the caller's project's shares across images.

use std::collections::HashMap;

use super::members::{self, shown_ext};
use super::share_expiry::expiry;
use crate::app::AppState;
use crate::db;
use crate::db::inbox::{After, Filter};
use crate::db::project_names::ProjectName;
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::Image;
use crate::domain::inbox_query::{Decided, Decisions, InboxQuery, InboxStatus, MAX_DECISIONS};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::share_event::Via;
use crate::error::Error;
use crate::policy::project_target;

/// One page of the inbox, the counts of every state, and the next page's link.
pub struct InboxPage {
    pub shares: Vec<(Image, Member)>,
    /// The names glint knows of the page's owner projects (`service::project_names`).
    pub owner_names: HashMap<String, ProjectName>,
    pub counts: Vec<(&'static str, i64)>,
    pub next: Option<String>,
}

fn filter(s: InboxStatus) -> Filter {
    match s {
        InboxStatus::Status(s) => Filter::Status(s),
        InboxStatus::Expired => Filter::Expired,
        InboxStatus::All => Filter::All,
        InboxStatus::Hidden => Filter::Hidden,
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
            // One query for the page's extension data, not one per share.
            let ids: Vec<&str> = rows.iter().map(|(m, _)| m.image_id.as_str()).collect();
            let mut ext = db::member_ext::of_member(c, &project, &ids)?;
            let mut shares = Vec::with_capacity(rows.len());
            for (mut m, image) in rows {
                let e = ext.remove(&m.image_id).unwrap_or_default();
                m.ext = Some(shown_ext(&st, &m, e));
                shares.push((image, m));
            }
            let owners: Vec<&str> = shares
                .iter()
                .filter_map(|(i, _)| i.owner.as_deref())
                .collect();
            let owner_names = super::project_names::names(c, &owners)?;
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
                owner_names,
                counts,
                next,
            })
        })
        .await
}

/// A bulk decision's answer: the status given, each image's outcome, and whether an owner had
/// more live shares than one request decides.
pub struct DecisionResults {
    pub status: MemberStatus,
    pub results: Vec<(String, Outcome)>,
    pub more: bool,
}

/// The outcome of one share in a bulk decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Updated,
    Unchanged,
    NotFound,
    Forbidden,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::NotFound => "not_found",
            Outcome::Forbidden => "forbidden",
        }
    }
}

/// `POST /v2/glint/inbox/decisions`: each named share of the caller's project gets `status`
/// through the ordinary member update (its rules, its notification); one already in that status
/// is left as it is. The rule is checked before `body` is read for meaning (`Decisions::parse`);
/// both the API and the web page come through here.
pub async fn decide(
    state: &AppState,
    ctx: RequestContext,
    body: &serde_json::Value,
) -> Result<DecisionResults, Error> {
    state
        .policy
        .enforce("glint:decide_inbox", &ctx, &project_target(&ctx))?;
    let d = Decisions::parse(body)?;
    let project = project(&ctx)?;
    let (ids, more) = match d.which {
        Decided::Images(ids) => (ids, false),
        Decided::Owner(owner) => {
            let (st, project) = (state.clone(), project.clone());
            let limit = i64::try_from(MAX_DECISIONS).unwrap_or(i64::MAX) + 1;
            let rows = state
                .read(move |c| {
                    let exp = expiry(&st);
                    Ok(db::inbox::page(
                        c,
                        &project,
                        Some(&owner),
                        Filter::Live,
                        exp,
                        None,
                        limit,
                    )?)
                })
                .await?;
            let more = rows.len() > MAX_DECISIONS;
            let ids = rows
                .into_iter()
                .take(MAX_DECISIONS)
                .map(|(_, image)| image.id)
                .collect();
            (ids, more)
        }
    };
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let image = ImageId::from_path(id.as_str());
        let current = members::show(state, ctx.clone(), image.clone(), project.clone()).await;
        let outcome = match current {
            Ok(m) if m.status == d.status => Outcome::Unchanged,
            Ok(_) => {
                let update = members::update_via(
                    state,
                    ctx.clone(),
                    image,
                    project.clone(),
                    d.status.as_str().to_owned(),
                    Via::Inbox,
                )
                .await;
                match update {
                    Ok(_) => Outcome::Updated,
                    Err(e) => match outcome_of(e) {
                        Ok(o) => o,
                        Err(e) => return Err(e),
                    },
                }
            }
            Err(e) => match outcome_of(e) {
                Ok(o) => o,
                Err(e) => return Err(e),
            },
        };
        results.push((id, outcome));
    }
    Ok(DecisionResults {
        status: d.status,
        results,
        more,
    })
}

/// Whether the caller may decide its inbox's shares (`glint:decide_inbox`): the web page shows
/// the buttons.
pub fn may_decide(state: &AppState, ctx: &RequestContext) -> bool {
    state
        .policy
        .allows("glint:decide_inbox", ctx, &project_target(ctx))
}

/// A refusal of one share is its outcome; anything else (the database down) ends the request.
fn outcome_of(e: Error) -> Result<Outcome, Error> {
    match e {
        Error::NotFound(_) => Ok(Outcome::NotFound),
        Error::Forbidden(_) => Ok(Outcome::Forbidden),
        e => Err(e),
    }
}
