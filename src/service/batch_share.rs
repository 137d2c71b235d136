//! `POST /v2/glint/shares`: N images to M projects in one call (`domain::batch_share`). Each
//! pair is decided with the rules of a single member create (the image visible and `shared`, the
//! caller allowed `add_member`, `image_member_quota`, the recipient's trust policy), one
//! transaction per image so the image's row lock is taken once. Each member created gets the
//! request's `os_glint` with `via: batch`, a history event and Glance's `image.member.create`.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::access::load_visible_row;
use super::images::now;
use super::members::shown_ext;
use super::share_events::record;
use super::share_policy::decide_offer;
use crate::app::AppState;
use crate::db::{self, members::AddOutcome, DbConn};
use crate::domain::batch_share::{BatchShare, Outcome, Target};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::Visibility;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::member_ext::MemberExt;
use crate::domain::quota;
use crate::domain::share_event::{self, Action, NewEvent, Via};
use crate::domain::share_policy::Offer;
use crate::error::Error;
use crate::notify::Priority;
use crate::policy::project_target;

/// The notification sent once per batch that changed anything (a new name; each member created
/// also gets Glance's `image.member.create`).
pub const EVENT: &str = "image.member.batch_share";

/// One pair's outcome. `member_id` is `None` for a name Keystone does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairResult {
    pub image_id: String,
    pub member_id: Option<String>,
    pub target: Target,
    pub outcome: Outcome,
}

/// A batch's answer: one result per pair, and whether it was a dry run.
pub struct Shared {
    pub results: Vec<PairResult>,
    pub dry_run: bool,
}

/// Whether the caller may share in batches (`glint:batch_share`): the web page shows the form.
pub fn allowed(state: &AppState, ctx: &RequestContext) -> bool {
    state
        .policy
        .allows("glint:batch_share", ctx, &project_target(ctx))
}

/// Share `body`'s images with its targets (`BatchShare::parse`). The rule is checked before the
/// body is read for meaning, so a caller who may not share learns nothing from its mistakes;
/// both the API and the web page come through here.
pub async fn share(state: &AppState, ctx: RequestContext, body: &Value) -> Result<Shared, Error> {
    state
        .policy
        .enforce("glint:batch_share", &ctx, &project_target(&ctx))?;
    let req = BatchShare::parse(body, chrono::Utc::now().naive_utc())?;
    let dry_run = req.dry_run;
    let results = share_parsed(state, ctx, req).await?;
    Ok(Shared { results, dry_run })
}

async fn share_parsed(
    state: &AppState,
    ctx: RequestContext,
    req: BatchShare,
) -> Result<Vec<PairResult>, Error> {
    let resolved = super::projects::resolve(state, &req.targets).await?;
    // `cross_domain_requires_domain`: ids in another domain are `forbidden` for every image.
    // (The `outside_domain` guardrail: every project of another domain.)
    let cross = super::projects::cross_domain_refused(state, &ctx, &req.targets, &resolved).await?;
    // A project named twice (by id and by name) is decided once.
    let mut members: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for id in resolved.iter().flatten().filter(|id| !cross.contains(*id)) {
        if seen.insert(id.clone()) {
            members.push(id.clone());
        }
    }
    let mut results = Vec::with_capacity(req.images.len() * req.targets.len());
    let mut created_total = 0usize;
    for image in &req.images {
        let (st, c2, id, ms, ext) = (
            state.clone(),
            ctx.clone(),
            image.clone(),
            members.clone(),
            req.ext.clone(),
        );
        let dry = req.dry_run;
        let work = move |c: &mut DbConn| decide_image(c, &st, &c2, &id, &ms, &ext, dry);
        let ImageOutcome {
            outcomes,
            created,
            owner,
        } = match dry {
            true => state.read(work).await?,
            false => state.write(work).await?,
        };
        created_total += created.len();
        let mut events = Vec::new();
        for m in &created {
            state.notifier.member("image.member.create", m);
            if state.webhooks.is_running() {
                let kind = crate::domain::webhook::EventType::Offered;
                events.push(super::webhooks::event(kind, m, owner.as_deref(), json!({})));
            }
        }
        // One job per image, however many members it got.
        super::webhooks::publish_all(state, events);
        let by_member: HashMap<&str, Outcome> =
            members.iter().map(String::as_str).zip(outcomes).collect();
        for (target, id) in req.targets.iter().zip(&resolved) {
            let outcome = match id {
                Some(id) if cross.contains(id) => Outcome::Forbidden,
                Some(id) => by_member
                    .get(id.as_str())
                    .copied()
                    .unwrap_or(Outcome::UnknownProject),
                None => Outcome::UnknownProject,
            };
            results.push(PairResult {
                image_id: image.clone(),
                member_id: id.clone(),
                target: target.clone(),
                outcome,
            });
        }
    }
    if !req.dry_run && created_total > 0 {
        notify(state, &ctx, &results);
    }
    Ok(results)
}

/// One image's pairs, in `members` order: what became of each, the members created, and the
/// image's owner.
struct ImageOutcome {
    outcomes: Vec<Outcome>,
    created: Vec<Member>,
    owner: Option<String>,
}

fn decide_image(
    c: &mut DbConn,
    st: &AppState,
    ctx: &RequestContext,
    image: &str,
    members: &[String],
    ext: &MemberExt,
    dry: bool,
) -> Result<ImageOutcome, Error> {
    let id = ImageId::from_path(image);
    let all = |o: Outcome| {
        Ok(ImageOutcome {
            outcomes: vec![o; members.len()],
            created: Vec::new(),
            owner: None,
        })
    };
    // The row lock (not in a dry run, which writes nothing): adds count one after another.
    let v = match load_visible_row(c, st, ctx, &id, "", !dry) {
        Ok(v) => v,
        Err(Error::NotFound(_)) => return all(Outcome::NotFound),
        Err(e) => return Err(e),
    };
    if v.image.visibility != Visibility::Shared {
        return all(Outcome::NotSharedVisibility);
    }
    if !st.policy.allows("add_member", ctx, &v.target(ctx)) {
        return all(Outcome::Forbidden);
    }
    let owner = v.image.owner.as_deref();
    let quota = st.config.image_member_quota;
    let existing: HashSet<String> = db::members::list(c, &id)?
        .into_iter()
        .map(|m| m.member_id)
        .collect();
    // Rows made by grants count once per grant, as in `db::members::add`.
    let mut count = i64::try_from(existing.len())
        .unwrap_or(i64::MAX)
        .saturating_add(db::grants::quota_adjustment(c, id.as_str())?);
    let at = now();
    let mut outcomes = Vec::with_capacity(members.len());
    let mut created = Vec::new();
    for member in members {
        if existing.contains(member) {
            outcomes.push(Outcome::Exists);
            continue;
        }
        if quota::exceeded(count + 1, quota) {
            outcomes.push(Outcome::Quota);
            continue;
        }
        let (accepted, mark) = match decide_offer(c, ctx, owner, member)? {
            Offer::Refuse => {
                outcomes.push(Outcome::Forbidden);
                continue;
            }
            Offer::Create { accepted, mark } => (accepted, mark),
        };
        count += 1;
        if dry {
            outcomes.push(Outcome::Created);
            continue;
        }
        let mut m = match db::members::add(c, &id, member, quota, at)? {
            AddOutcome::Added(m) => m,
            AddOutcome::QuotaExceeded { .. } => {
                outcomes.push(Outcome::Quota);
                continue;
            }
            AddOutcome::Duplicate => {
                outcomes.push(Outcome::Exists);
                continue;
            }
        };
        if accepted {
            db::members::set_status(c, &id, member, MemberStatus::Accepted, at)?;
            m.status = MemberStatus::Accepted;
        }
        let e = MemberExt {
            policy: mark,
            ..ext.clone()
        };
        db::member_ext::put(c, id.as_str(), member, &e)?;
        record(c, st, || {
            NewEvent::new(
                Some(ctx),
                at,
                Action::Create,
                Via::Batch,
                id.as_str(),
                owner,
                member,
                None,
                Some(share_event::state(m.status, &e)),
            )
        })?;
        m.ext = Some(shown_ext(st, &m, e));
        outcomes.push(Outcome::Created);
        created.push(m);
    }
    Ok(ImageOutcome {
        outcomes,
        created,
        owner: owner.map(str::to_owned),
    })
}

/// `image.member.batch_share`: who shared, and how many pairs ended how.
fn notify(state: &AppState, ctx: &RequestContext, results: &[PairResult]) {
    if !state.notifier.wants(EVENT) {
        return;
    }
    let mut counts = serde_json::Map::new();
    for o in Outcome::ALL {
        let n = results.iter().filter(|r| r.outcome == o).count();
        if n > 0 {
            counts.insert(o.as_str().into(), json!(n));
        }
    }
    let images: HashSet<&str> = results.iter().map(|r| r.image_id.as_str()).collect();
    let created: Vec<_> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Created)
        .map(|r| json!({"image_id": r.image_id, "member_id": r.member_id}))
        .collect();
    state.notifier.emit(
        EVENT,
        Priority::Info,
        json!({
            "project_id": ctx.project(),
            "user_id": ctx.user_id,
            "request_id": ctx.request_id,
            "images": images.len(),
            "outcomes": counts,
            "created": created,
        }),
    );
}
