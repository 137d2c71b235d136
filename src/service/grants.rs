//! Grants (`/v2/glint/grants`, `domain::grant`): an owner's images granted to a Keystone domain
//! or a project subtree, including projects created and images tagged later.
//!
//! Why member rows: a grant is materialised into ordinary `image_members` rows (with
//! `os_glint.via = grant` and the grant's id), so every read path (image list with `--shared`
//! and `member_status=`, show, download, Glance's member update for consent, Terraform's accept
//! resource) works unchanged and stays index-driven; the cost is paid once per (image, project)
//! when the row is made, never on a read. Rows are made:
//! - at creation, for the projects Keystone lists in the target (at most `MAX_PROJECTS`);
//! - when a project first calls glint (`project_seen`: one indexed query for grants naming its
//!   domain or one of its ancestors, ancestors asked of Keystone only if a subtree grant exists;
//!   then remembered per process for `grant_seen::SEEN_TTL`), so a project created after the grant sees the
//!   image on its first request;
//! - by the sweep, which lists each grant's target again (`sweep`);
//! - when the owner's shared image gets a granted tag, or is created or made `shared` with one
//!   (`image_changed`).
//!
//! A grant counts once against `image_member_quota` (`db::grants::quota_adjustment`); its rows are
//! not counted one by one.
//!
//! One (image, project) has one member row, so two grants covering it share the row, which
//! names one of them (`grant_id`: the first to make it). When that grant lets go of the row
//! (revoked, or a tag grant's image lost the tag or stopped being `shared`), the row is handed
//! to the oldest other grant still covering the pair, status kept (`release_row`); only when
//! none is left is it removed, with Glance's `image.member.delete`, the `share.revoked` webhook
//! and a history event. Rows made otherwise (direct, batch) are never touched by grants.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::clock::now;
use super::share_events::record;
use super::share_policy::decide_offer;
use crate::app::AppState;
use crate::auth::KeystoneClient;
use crate::db::{self, grants::Grant, members::AddOutcome, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::grant::{
    initial_status, still_covers, Decision, NewGrant, Selector, Target, MAX_PROJECTS,
    MAX_TAGGED_IMAGES,
};
use crate::domain::id::ImageId;
use crate::domain::image::{Image, Visibility};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::member_ext::{MemberExt, Origin};
use crate::domain::quota;
use crate::domain::share_event::{self, Action, NewEvent, Via};
use crate::error::{Error, Msg};
use crate::notify::Priority;
use crate::policy::{project_target, Target as PolicyTarget};

pub const EVENT_CREATE: &str = "image.grant.create";
pub const EVENT_DELETE: &str = "image.grant.delete";
pub const EVENT_DECISION: &str = "image.grant.decision";

/// Member rows removed per transaction when a grant is revoked.
const REVOKE_BATCH: i64 = 500;
/// How often each process lists every grant's target again (`sweep`).
pub const SWEEP_PERIOD: Duration = Duration::from_secs(600);
/// The most grants one listing answers.
pub const LIST_MAX: i64 = 1000;

fn keystone(state: &AppState) -> Result<&KeystoneClient, Error> {
    match state.tokens.as_deref() {
        Some(t) => Ok(t.client()),
        None => Err(Error::bad_request(
            "Grants reach the projects of a domain or subtree as Keystone lists them; this \
             deployment does not use Keystone (auth_strategy)",
        )),
    }
}

/// The grant's target, as stored.
fn target_of(g: &Grant) -> Result<Target, Error> {
    Target::from_stored(&g.target_kind, &g.target_id)
        .ok_or_else(|| Error::internal(format!("grant {} has an unknown target kind", g.id)))
}

/// The policy target of a grant: the owner is `project_id`, the target's domain is
/// `target_domain_id`, and the caller's project is `recipient_id` when the grant reached it.
pub(super) fn policy_target(g: &Grant, recipient: Option<&str>) -> PolicyTarget {
    let mut t = PolicyTarget::new();
    t.insert("project_id", g.owner.clone());
    t.insert("owner", g.owner.clone());
    t.insert("target_domain_id", g.target_domain_id.clone());
    if let Some(r) = recipient {
        t.insert("recipient_id", r.to_owned());
    }
    t
}

/// Grants work here: the sharing extensions on, and a Keystone to list a target's projects
/// (the web page shows them only then).
pub fn available(state: &AppState) -> bool {
    state.config.sharing.enabled && state.tokens.is_some()
}

/// Whether the caller may make grants (the web page shows its form only then).
pub fn may_create(state: &AppState, ctx: &RequestContext) -> bool {
    state
        .policy
        .allows("glint:create_grant", ctx, &project_target(ctx))
}

/// Whether the caller may revoke `g` (the web page shows its button only then).
pub fn may_revoke(state: &AppState, ctx: &RequestContext, g: &Grant) -> bool {
    state
        .policy
        .allows("glint:delete_grant", ctx, &policy_target(g, None))
}

/// The target's domain (checked in Keystone) and the projects it reaches now.
async fn resolve_target(state: &AppState, target: &Target) -> Result<(String, Vec<String>), Error> {
    let k = keystone(state)?;
    let unavailable = super::projects::unavailable;
    let (domain, projects) = match target {
        Target::Domain(d) => {
            if !k.domain_exists(d).await.map_err(unavailable)? {
                return Err(Error::bad_request(format!(
                    "Domain {d} is not a domain in Keystone"
                )));
            }
            let ps = k
                .projects_where(&[("domain_id", d)])
                .await
                .map_err(unavailable)?;
            (d.clone(), ps.into_iter().map(|p| p.id).collect())
        }
        Target::Subtree(root) => {
            let Some(p) = k.project(root).await.map_err(unavailable)? else {
                return Err(Error::bad_request(format!(
                    "Project {root} is not a project in Keystone"
                )));
            };
            let domain = p.domain_id.clone().unwrap_or_default();
            // Breadth first, one listing per project with children; bounded.
            let mut all = vec![p.id.clone()];
            let mut next = 0;
            while next < all.len() && all.len() <= MAX_PROJECTS {
                let parent = all[next].clone();
                next += 1;
                let children = k
                    .projects_where(&[("parent_id", &parent)])
                    .await
                    .map_err(unavailable)?;
                all.extend(children.into_iter().map(|c| c.id));
            }
            (domain, all)
        }
    };
    if projects.len() > MAX_PROJECTS {
        return Err(Error::bad_request(format!(
            "The target has more than {MAX_PROJECTS} projects: grant to smaller subtrees"
        )));
    }
    Ok((domain, projects))
}

/// The images of a new grant, each checked as a member create would check it: visible to the
/// caller (404), owned by the caller's project (403), `shared` (403), `add_member` allowed, and
/// one more member within `image_member_quota` (413).
fn check_images(
    c: &mut DbConn,
    st: &AppState,
    ctx: &RequestContext,
    owner: &str,
    ids: &[String],
) -> Result<(), Error> {
    for image in ids {
        let id = ImageId::from_path(image);
        let msg = format!("Image {image} not found.");
        let v = super::access::load_visible_row(c, st, ctx, &id, &msg, false)?;
        if v.image.owner.as_deref() != Some(owner) {
            return Err(Error::forbidden(format!(
                "Image {image} is not owned by project {owner}: only the owner grants it"
            )));
        }
        if v.image.visibility != Visibility::Shared {
            return Err(Error::forbidden(format!(
                "Image {image} is not shared: only shared images have members (set its \
                 visibility to shared first)"
            )));
        }
        st.policy.enforce("add_member", ctx, &v.target(ctx))?;
        let quota_left = |c: &mut DbConn| -> Result<i64, Error> {
            let live = db::members::list(c, &id)?.len();
            Ok(quota::count(live).saturating_add(db::grants::quota_adjustment(c, image)?))
        };
        let attempted = quota_left(c)?.saturating_add(1);
        if quota::exceeded(attempted, st.config.image_member_quota) {
            return Err(Error::PayloadTooLarge(Msg::Explanation(format!(
                "Image {image}: maximum number of image members exceeded: {}",
                quota::limit_text("image members", attempted, st.config.image_member_quota)
            ))));
        }
    }
    Ok(())
}

/// What a grant looks like to the API.
pub struct View {
    pub grant: Grant,
    pub images: Vec<String>,
    pub projects: usize,
    /// Member rows made by this call (creation only).
    pub created: Option<usize>,
}

impl View {
    pub fn to_json(&self) -> Value {
        let g = &self.grant;
        let target =
            Target::from_stored(&g.target_kind, &g.target_id).map_or(Value::Null, |t| t.to_json());
        let time = |t: Option<chrono::NaiveDateTime>| t.map(share_event::time);
        let mut v = json!({
            "id": g.id,
            "owner": g.owner,
            "target": target,
            "target_domain_id": g.target_domain_id,
            "images": self.images,
            "tag": g.tag,
            "decision": g.decision,
            "decided_at": time(g.decided_at),
            "created_at": share_event::time(g.created_at),
            "projects_reached": self.projects,
        });
        if let Some(n) = self.created {
            v["members_created"] = json!(n);
        }
        v
    }
}

fn view(c: &mut DbConn, grant: Grant) -> Result<View, Error> {
    let images = db::grants::images(c, &grant.id)?;
    let projects = db::grants::projects(c, &grant.id)?.len();
    Ok(View {
        grant,
        images,
        projects,
        created: None,
    })
}

/// `POST /v2/glint/grants`.
pub async fn create(state: &AppState, ctx: RequestContext, req: NewGrant) -> Result<View, Error> {
    state
        .policy
        .enforce("glint:create_grant", &ctx, &project_target(&ctx))?;
    let Some(owner) = ctx.project().map(str::to_owned) else {
        return Err(Error::forbidden(
            "A grant is made by a project-scoped caller",
        ));
    };
    let (target_domain, projects) = resolve_target(state, &req.target).await?;
    // An `outside_domain` guardrail (the operator's or the caller's domain's): no grant to a
    // domain or subtree of another domain than the caller's.
    let rails = super::domain_guardrails::effective(state, &ctx).await?;
    if rails.all().no_outside_domain {
        let mine = super::projects::caller_domain(state, keystone(state)?, &ctx).await?;
        let refusal = rails.grant_refusal(req.target.id(), mine.as_deref(), &target_domain);
        if let Some(why) = refusal {
            return Err(Error::forbidden(why));
        }
    }
    let grant = Grant {
        id: uuid::Uuid::new_v4().to_string(),
        owner: owner.clone(),
        owner_domain_id: ctx.project_domain_id.clone(),
        target_kind: req.target.kind().to_owned(),
        target_id: req.target.id().to_owned(),
        target_domain_id: target_domain,
        tag: match &req.selector {
            Selector::Tag(t) => Some(t.clone()),
            Selector::Images(_) => None,
        },
        decision: None,
        decided_by: None,
        decided_at: None,
        created_by: ctx.user_id.clone(),
        created_at: now(),
    };
    let (st, c2, g2, sel) = (state.clone(), ctx.clone(), grant.clone(), req.selector);
    let projects2 = projects.clone();
    let images = state
        .write(move |c| {
            let images = match sel {
                Selector::Images(ids) => ids,
                Selector::Tag(tag) => {
                    let limit = i64::try_from(MAX_TAGGED_IMAGES + 1).unwrap_or(i64::MAX);
                    let ids = db::grants::tagged_images(c, &owner, &tag, limit)?;
                    if ids.len() > MAX_TAGGED_IMAGES {
                        return Err(Error::bad_request(format!(
                            "More than {MAX_TAGGED_IMAGES} shared images carry the tag '{tag}'"
                        )));
                    }
                    ids
                }
            };
            check_images(c, &st, &c2, &owner, &images)?;
            db::grants::insert(c, &g2)?;
            for i in &images {
                db::grants::add_image(c, &g2.id, i)?;
            }
            db::grants::add_projects(c, &g2.id, &projects2)?;
            Ok(images)
        })
        .await?;
    // Projects not listed yet must find this grant on their next request.
    state.grants.clear();
    let created = materialise(state, &grant, &images, &projects, Some(&ctx)).await?;
    notify_grant(
        state,
        EVENT_CREATE,
        &ctx,
        &grant,
        json!({"members_created": created}),
    );
    let projects = projects.len();
    Ok(View {
        grant,
        images,
        projects,
        created: Some(created),
    })
}

/// Make the member rows of `grant` for `images` × `projects` that do not exist yet: one
/// transaction per image (its row lock taken, as by every writer of its members), Glance's
/// `image.member.create` for each after the commit. Returns how many were made.
async fn materialise(
    state: &AppState,
    grant: &Grant,
    images: &[String],
    projects: &[String],
    actor: Option<&RequestContext>,
) -> Result<usize, Error> {
    let mut total = 0;
    for image in images {
        let (st, g, i, ps, a) = (
            state.clone(),
            grant.clone(),
            image.clone(),
            projects.to_vec(),
            actor.cloned(),
        );
        let made = state
            .write(move |c| materialise_image(c, &st, &g, &i, &ps, a.as_ref()))
            .await?;
        total += made.len();
        let mut events = Vec::new();
        for m in &made {
            state.notifier.member("image.member.create", m);
            if state.webhooks.is_running() {
                let kind = crate::domain::webhook::EventType::Offered;
                events.push(super::webhooks::event(
                    kind,
                    m,
                    Some(&grant.owner),
                    json!({}),
                ));
            }
        }
        super::webhooks::publish_all(state, events);
    }
    Ok(total)
}

fn materialise_image(
    c: &mut DbConn,
    st: &AppState,
    grant: &Grant,
    image: &str,
    projects: &[String],
    actor: Option<&RequestContext>,
) -> Result<Vec<Member>, Error> {
    let id = ImageId::from_path(image);
    if !db::images::lock(c, &id)? {
        return Ok(Vec::new());
    }
    // The image may have changed hands or visibility since it was granted: then nothing.
    match db::images::get(c, &id)? {
        Some(img) if img.owner.as_deref() == Some(&grant.owner) => {
            if img.visibility != Visibility::Shared {
                return Ok(Vec::new());
            }
        }
        _ => return Ok(Vec::new()),
    }
    let existing: HashSet<String> = db::members::list(c, &id)?
        .into_iter()
        .map(|m| m.member_id)
        .collect();
    // The trust policies see the offer as made by the owner (with its domain, when known).
    let owner_ctx = RequestContext {
        project_id: Some(grant.owner.clone()),
        project_domain_id: grant.owner_domain_id.clone(),
        ..RequestContext::default()
    };
    let decision = Decision::parse_stored(grant.decision.as_deref());
    let at = now();
    let mut made = Vec::new();
    for p in projects {
        if *p == grant.owner || existing.contains(p) {
            continue;
        }
        let offer = decide_offer(c, &owner_ctx, Some(&grant.owner), p)?;
        let Some((status, mark)) = initial_status(decision, offer) else {
            continue;
        };
        // No quota here: the grant counted once when it took the image.
        let mut m = match db::members::add(c, &id, p, -1, at)? {
            AddOutcome::Added(m) => m,
            AddOutcome::QuotaExceeded { .. } | AddOutcome::Duplicate => continue,
        };
        if status != MemberStatus::Pending {
            db::members::set_status(c, &id, p, status, at)?;
            m.status = status;
        }
        let e = MemberExt {
            policy: mark,
            via: Origin::Grant,
            grant_id: Some(grant.id.clone()),
            ..MemberExt::default()
        };
        db::member_ext::put(c, image, p, &e)?;
        record(c, st, || {
            NewEvent::new(
                actor,
                at,
                Action::Create,
                Via::Grant,
                image,
                Some(&grant.owner),
                p,
                None,
                Some(share_event::state(m.status, &e)),
            )
        })?;
        m.ext = Some(super::members::shown_ext(st, &m, e));
        made.push(m);
    }
    Ok(made)
}

/// `GET /v2/glint/grants`: the caller's project's grants (every grant for an admin).
pub async fn list(state: &AppState, ctx: RequestContext) -> Result<Vec<View>, Error> {
    state
        .policy
        .enforce("glint:get_grants", &ctx, &project_target(&ctx))?;
    let owner = match ctx.is_admin() {
        true => None,
        false => ctx.project().map(str::to_owned),
    };
    if owner.is_none() && !ctx.is_admin() {
        return Ok(Vec::new());
    }
    state
        .read(move |c| {
            let grants = db::grants::list(c, owner.as_deref(), LIST_MAX)?;
            grants.into_iter().map(|g| view(c, g)).collect()
        })
        .await
}

/// The grant, if the caller may see it (`glint:get_grant`): else 404, as for an image.
fn visible(c: &mut DbConn, st: &AppState, ctx: &RequestContext, id: &str) -> Result<Grant, Error> {
    let not_found = || Error::not_found(format!("Grant {id} not found."));
    let Some(g) = db::grants::get(c, id)? else {
        return Err(not_found());
    };
    let reached = match ctx.project() {
        Some(p) => db::grants::projects(c, id)?.iter().any(|r| r == p),
        None => false,
    };
    let recipient = ctx.project().filter(|_| reached);
    if !st
        .policy
        .allows("glint:get_grant", ctx, &policy_target(&g, recipient))
    {
        return Err(not_found());
    }
    Ok(g)
}

/// `GET /v2/glint/grants/{id}`.
pub async fn get(state: &AppState, ctx: RequestContext, id: String) -> Result<View, Error> {
    let st = state.clone();
    state
        .read(move |c| {
            let g = visible(c, &st, &ctx, &id)?;
            view(c, g)
        })
        .await
}

/// `DELETE /v2/glint/grants/{id}`: the grant first lets go of its images (so no row is handed
/// to it meanwhile), then each member row it made is handed to another grant that still covers
/// it, or removed (Glance's `image.member.delete` each, and a history event); then the grant.
pub async fn delete(state: &AppState, ctx: RequestContext, id: String) -> Result<(), Error> {
    let (st, c2, i2) = (state.clone(), ctx.clone(), id.clone());
    let grant = state
        .write(move |c| {
            let g = visible(c, &st, &c2, &i2)?;
            st.policy
                .enforce("glint:delete_grant", &c2, &policy_target(&g, None))?;
            db::grants::forget_images(c, &g.id)?;
            Ok(g)
        })
        .await?;
    let mut removed_total = 0usize;
    loop {
        let (st, c2, g) = (state.clone(), ctx.clone(), grant.clone());
        let released = state
            .write(move |c| {
                let rows = db::grants::member_rows(c, &g.id, REVOKE_BATCH)?;
                if rows.is_empty() {
                    return Ok(None);
                }
                let at = now();
                let mut released = Released::default();
                let mut locked = HashSet::new();
                for (image, member) in &rows {
                    let id = ImageId::from_path(image);
                    if locked.insert(image.clone()) && !db::images::lock(c, &id)? {
                        db::member_ext::remove_image(c, image)?;
                        continue;
                    }
                    release_row(c, &st, Some(&c2), &g, image, member, at, &mut released)?;
                }
                Ok(Some(released))
            })
            .await?;
        let Some(released) = released else { break };
        removed_total += released.removed.len();
        announce_removed(state, &grant.owner, &released.removed);
    }
    let gid = grant.id.clone();
    state
        .write(move |c| Ok(db::grants::delete(c, &gid)?))
        .await?;
    notify_grant(
        state,
        EVENT_DELETE,
        &ctx,
        &grant,
        json!({"members_removed": removed_total}),
    );
    Ok(())
}

/// What became of the rows a grant let go of.
#[derive(Default)]
struct Released {
    /// Removed: the member row as it was, and when it went.
    removed: Vec<(Member, chrono::NaiveDateTime)>,
    /// Handed to another grant covering the same (image, project).
    handed: usize,
}

/// The grant `g` no longer covers (image, member): the row goes to the oldest other grant that
/// covers the image and has reached the project, else it is removed. A row handed over keeps
/// its status: the project's consent (or refusal) was given to the image, which it keeps
/// receiving, and it stays pending until the project (or the new grant's domain admin, through
/// `decide`) answers. Both are recorded in the history (`member.change` with the grant ids
/// before and after, or `member.delete`). The image's row lock is the caller's.
#[allow(clippy::too_many_arguments)]
fn release_row(
    c: &mut DbConn,
    st: &AppState,
    actor: Option<&RequestContext>,
    g: &Grant,
    image: &str,
    member: &str,
    at: chrono::NaiveDateTime,
    out: &mut Released,
) -> Result<(), Error> {
    let ext = db::member_ext::get(c, image, member)?.unwrap_or_default();
    let id = ImageId::from_path(image);
    let Some(m) = db::members::get(c, &id, member)? else {
        db::member_ext::remove(c, image, member)?;
        return Ok(());
    };
    if let Some(next) = db::grants::successor(c, image, member, &g.id)? {
        let handed = MemberExt {
            grant_id: Some(next),
            ..ext.clone()
        };
        db::member_ext::put(c, image, member, &handed)?;
        record(c, st, || {
            NewEvent::new(
                actor,
                at,
                Action::Change,
                Via::Grant,
                image,
                Some(&g.owner),
                member,
                Some(share_event::ext_state(&ext)),
                Some(share_event::ext_state(&handed)),
            )
        })?;
        out.handed += 1;
        return Ok(());
    }
    db::member_ext::remove(c, image, member)?;
    db::members::delete(c, &id, member, at)?;
    record(c, st, || {
        NewEvent::new(
            actor,
            at,
            Action::Delete,
            Via::Grant,
            image,
            Some(&g.owner),
            member,
            Some(share_event::state(m.status, &ext)),
            None,
        )
    })?;
    out.removed.push((m, at));
    Ok(())
}

/// After the commit: Glance's `image.member.delete` for each removed row, with the row as it
/// was, and the recipients' `share.revoked` webhooks.
fn announce_removed(state: &AppState, owner: &str, removed: &[(Member, chrono::NaiveDateTime)]) {
    let mut events = Vec::new();
    for (m, at) in removed {
        state.notifier.member_deleted(m, *at);
        if state.webhooks.is_running() {
            let kind = crate::domain::webhook::EventType::Revoked;
            events.push(super::webhooks::event(kind, m, Some(owner), json!({})));
        }
    }
    super::webhooks::publish_all(state, events);
}

/// `PUT /v2/glint/grants/{id}/decision`: the target domain's admin (`glint:decide_grant_for_domain`)
/// consents, or refuses, once for every project of the target, now and later (the rows still
/// pending change; a project that already decided keeps its decision); a project the grant
/// reached (`glint:decide_grant`) decides for itself. Each row changed is an ordinary
/// member update (`image.member.update`, history). Returns the grant and how many rows changed.
pub async fn decide(
    state: &AppState,
    ctx: RequestContext,
    id: String,
    decision: Decision,
) -> Result<(View, usize), Error> {
    let (st, c2) = (state.clone(), ctx.clone());
    let (changed, view) = state
        .write(move |c| {
            let g = visible(c, &st, &c2, &id)?;
            let for_domain = st.policy.allows(
                "glint:decide_grant_for_domain",
                &c2,
                &policy_target(&g, None),
            );
            let at = now();
            let rows = match (for_domain, c2.project()) {
                (true, _) => {
                    db::grants::set_decision(
                        c,
                        &g.id,
                        decision.as_str(),
                        c2.user_id.as_deref(),
                        at,
                    )?;
                    db::grants::member_rows(c, &g.id, i64::MAX)?
                }
                (false, Some(p)) if db::grants::projects(c, &g.id)?.iter().any(|r| r == p) => {
                    st.policy
                        .enforce("glint:decide_grant", &c2, &policy_target(&g, Some(p)))?;
                    db::grants::member_rows_of(c, &g.id, p)?
                }
                _ => {
                    return Err(Error::forbidden(
                        "Only the target domain's admin, or a project the grant reached, decides \
                         on a grant",
                    ))
                }
            };
            let mut changed = Vec::new();
            let status = decision.status();
            for (image, member) in rows {
                let iid = ImageId::from_path(&image);
                let Some(mut m) = db::members::get(c, &iid, &member)? else {
                    continue;
                };
                // The domain's consent answers the offers still open: a project that decided
                // for itself keeps its decision.
                if m.status == status || (for_domain && m.status != MemberStatus::Pending) {
                    continue;
                }
                let ext = db::member_ext::get(c, &image, &member)?.unwrap_or_default();
                db::members::set_status(c, &iid, &member, status, at)?;
                let from = share_event::state(m.status, &ext);
                m.status = status;
                m.updated_at = at;
                record(c, &st, || {
                    NewEvent::new(
                        Some(&c2),
                        at,
                        Action::Update,
                        Via::Grant,
                        &image,
                        Some(&g.owner),
                        &member,
                        Some(from),
                        Some(share_event::state(status, &ext)),
                    )
                })?;
                m.ext = Some(super::members::shown_ext(&st, &m, ext));
                changed.push(m);
            }
            let g = db::grants::get(c, &g.id)?.unwrap_or(g);
            Ok((changed, view(c, g)?))
        })
        .await?;
    let mut events = Vec::new();
    for m in &changed {
        state.notifier.member("image.member.update", m);
        if state.webhooks.is_running() {
            let kind = match m.status {
                MemberStatus::Rejected => crate::domain::webhook::EventType::Rejected,
                _ => crate::domain::webhook::EventType::Accepted,
            };
            let owner = Some(view.grant.owner.as_str());
            events.push(super::webhooks::event(kind, m, owner, json!({})));
        }
    }
    super::webhooks::publish_all(state, events);
    notify_grant(
        state,
        EVENT_DECISION,
        &ctx,
        &view.grant,
        json!({"status": decision.as_str(), "members_changed": changed.len()}),
    );
    Ok((view, changed.len()))
}

/// A project called glint: make the rows of every grant that targets its domain, itself or an
/// ancestor and has not reached it yet. Errors are logged, never fail the request: the sweep
/// catches up.
pub async fn project_seen(state: &AppState, ctx: &RequestContext) {
    if !state.config.sharing.enabled {
        return;
    }
    let Some(project) = ctx.project() else { return };
    if state.grants.fresh(project) {
        return;
    }
    match reach_project(state, project, ctx.project_domain_id.as_deref()).await {
        Ok(()) => state.grants.mark(project),
        Err(e) => tracing::warn!(error = %e, project, "grants for a new project: not yet"),
    }
}

async fn reach_project(state: &AppState, project: &str, domain: Option<&str>) -> Result<(), Error> {
    let subtrees = state.read(|c| Ok(db::grants::any_subtree(c)?)).await?;
    let mut targets: Vec<String> = domain.map(str::to_owned).into_iter().collect();
    if subtrees {
        targets.push(project.to_owned());
        if let Some(t) = state.tokens.as_deref() {
            let ancestors = t
                .client()
                .ancestors(project)
                .await
                .map_err(super::projects::unavailable)?;
            targets.extend(ancestors);
        }
    }
    // Keystone ids are unique across domains and projects: a grant naming one of them (the
    // project's domain, the project, an ancestor) reaches the project. Read first: most
    // projects have no grant, and their first request then writes nothing.
    let grants = state
        .read(move |c| {
            let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
            Ok(db::grants::targeting(c, &refs)?)
        })
        .await?;
    if grants.is_empty() {
        return Ok(());
    }
    let p = project.to_owned();
    let todo = state
        .write(move |c| {
            let mut todo = Vec::new();
            for g in grants {
                if !db::grants::add_projects(c, &g.id, std::slice::from_ref(&p))?.is_empty() {
                    let images = db::grants::images(c, &g.id)?;
                    todo.push((g, images));
                }
            }
            Ok(todo)
        })
        .await?;
    for (g, images) in todo {
        materialise(state, &g, &images, &[project.to_owned()], None).await?;
    }
    Ok(())
}

/// The owner's image was created or changed. A tag grant that no longer covers it (the tag
/// removed, the image made other than `shared`) lets go of it and withdraws its rows
/// (`withdraw_image`). If it is shared and carries a tag some grant of its owner names, that
/// grant covers it from now on (counted once against the quota) and reaches it to every project
/// the grant reached. Errors are logged: the sweep catches up on new rows.
pub async fn image_changed(state: &AppState, image: &Image, actor: Option<&RequestContext>) {
    if !state.config.sharing.enabled {
        return;
    }
    if let Err(e) = withdraw_image(state, image.id.as_str(), actor).await {
        tracing::warn!(error = %e, image = %image.id, "grants by tag: rows not withdrawn");
    }
    if image.visibility != Visibility::Shared || image.tags.is_empty() {
        return;
    }
    let Some(owner) = image.owner.clone() else {
        return;
    };
    if let Err(e) = cover_image(
        state,
        owner,
        image.id.as_str().to_owned(),
        image.tags.iter().cloned().collect(),
    )
    .await
    {
        tracing::warn!(error = %e, image = %image.id, "grants by tag: not yet");
    }
}

/// Every tag grant that covers the image but no longer qualifies it (`grant::still_covers`, read
/// under the image's row lock) lets go of it, all at once so that none is handed a row another
/// is letting go of; then their rows are handed over or removed (`release_row`). Most images are
/// in no grant: one indexed read, and no write.
async fn withdraw_image(
    state: &AppState,
    image: &str,
    actor: Option<&RequestContext>,
) -> Result<(), Error> {
    let i2 = image.to_owned();
    let tagged = state
        .read(move |c| Ok(db::grants::covering(c, &i2)?))
        .await?
        .into_iter()
        .any(|g| g.tag.is_some());
    if !tagged {
        return Ok(());
    }
    let (st, a, i2) = (state.clone(), actor.cloned(), image.to_owned());
    let done = state
        .write(move |c| {
            let id = ImageId::from_path(&i2);
            if !db::images::lock(c, &id)? {
                return Ok(Vec::new());
            }
            // A deleted image's members went with it (`share_events::image_deleted`).
            let Some(img) = db::images::get(c, &id)? else {
                return Ok(Vec::new());
            };
            let stale: Vec<Grant> = db::grants::covering(c, &i2)?
                .into_iter()
                .filter(|g| !still_covers(g.tag.as_deref(), &g.owner, &img))
                .collect();
            for g in &stale {
                db::grants::forget_image(c, &g.id, &i2)?;
            }
            let at = now();
            let mut done = Vec::new();
            for g in stale {
                let mut released = Released::default();
                for member in db::grants::members_of_image(c, &g.id, &i2)? {
                    release_row(c, &st, a.as_ref(), &g, &i2, &member, at, &mut released)?;
                }
                done.push((g, released));
            }
            Ok(done)
        })
        .await?;
    for (g, released) in done {
        tracing::info!(grant = %g.id, image, removed = released.removed.len(),
                       handed = released.handed, "grant by tag: image no longer covered");
        announce_removed(state, &g.owner, &released.removed);
    }
    Ok(())
}

async fn cover_image(
    state: &AppState,
    owner: String,
    image: String,
    tags: Vec<String>,
) -> Result<(), Error> {
    let quota = state.config.image_member_quota;
    let i2 = image.clone();
    let todo = state
        .write(move |c| {
            let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
            let mut todo = Vec::new();
            for g in db::grants::by_tags(c, &owner, &refs)? {
                let live = db::members::list(c, &ImageId::from_path(&i2))?.len();
                let count = quota::count(live).saturating_add(db::grants::quota_adjustment(c, &i2)?);
                if db::grants::images(c, &g.id)?.contains(&i2) {
                    continue;
                }
                if quota::exceeded(count.saturating_add(1), quota) {
                    tracing::warn!(grant = %g.id, image = %i2, "grant by tag: image_member_quota reached, image not granted");
                    continue;
                }
                db::grants::add_image(c, &g.id, &i2)?;
                let projects = db::grants::projects(c, &g.id)?;
                todo.push((g, projects));
            }
            Ok(todo)
        })
        .await?;
    for (g, projects) in todo {
        materialise(state, &g, std::slice::from_ref(&image), &projects, None).await?;
    }
    Ok(())
}

/// The periodic sweep: each grant's target listed again in Keystone, and the projects it has not
/// reached yet (created since, and not yet seen by this process) get their rows.
pub async fn sweep(state: &AppState) -> Result<usize, Error> {
    if !state.config.sharing.enabled || state.tokens.is_none() {
        return Ok(0);
    }
    let ids = state.read(|c| Ok(db::grants::all_ids(c)?)).await?;
    let mut made = 0;
    for id in ids {
        let i2 = id.clone();
        let Some(g) = state.read(move |c| Ok(db::grants::get(c, &i2)?)).await? else {
            continue;
        };
        let target = target_of(&g)?;
        let projects = match resolve_target(state, &target).await {
            Ok((_, ps)) => ps,
            Err(e) => {
                tracing::warn!(error = %e, grant = %g.id, "grant sweep: target not listed");
                continue;
            }
        };
        let g2 = g.clone();
        let (new, images) = state
            .write(move |c| {
                let new = db::grants::add_projects(c, &g2.id, &projects)?;
                Ok((new, db::grants::images(c, &g2.id)?))
            })
            .await?;
        if !new.is_empty() {
            made += materialise(state, &g, &images, &new, None).await?;
        }
    }
    Ok(made)
}

/// A grant notification (new names; Glance's member notifications go out per row).
fn notify_grant(state: &AppState, event: &str, ctx: &RequestContext, g: &Grant, extra: Value) {
    if !state.notifier.wants(event) {
        return;
    }
    let mut payload = json!({
        "grant_id": g.id,
        "owner": g.owner,
        "target": Target::from_stored(&g.target_kind, &g.target_id).map_or(Value::Null, |t| t.to_json()),
        "target_domain_id": g.target_domain_id,
        "tag": g.tag,
        "project_id": ctx.project(),
        "user_id": ctx.user_id,
        "request_id": ctx.request_id,
    });
    if let (Value::Object(p), Value::Object(x)) = (&mut payload, extra) {
        p.extend(x);
    }
    state.notifier.emit(event, Priority::Info, payload);
}
