//! The members API: who an image is shared with, and each member's answer.
//! The order of checks decides which error wins, exactly as in Glance.

use super::access::{load_visible_row, Visible};
use super::images::now;
use crate::app::AppState;
use crate::db::{self, members::AddOutcome, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::Visibility;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::member_ext::{MemberExt, Side};
use crate::domain::quota;
use crate::domain::share_event::{self, Action, NewEvent, Via};
use crate::domain::share_policy::Offer;
use crate::error::{Error, Msg};

use super::share_events::record;
use super::share_policy::decide_offer;
use super::webhooks::publish;
use crate::domain::webhook::EventType;
use serde_json::json;

fn image_not_found(id: &ImageId) -> String {
    format!("Image {id} not found.")
}

fn member_not_found(image_id: &ImageId, member: &str) -> Error {
    Error::not_found(format!(
        "{member} not found in the member list of the image {image_id}."
    ))
}

/// Owner and admin see every row; a member sees only its own.
fn sees_row(ctx: &RequestContext, v: &Visible, member: &str) -> bool {
    ctx.is_admin()
        || v.image.owner.as_deref() == ctx.project() && ctx.project().is_some()
        || ctx.project() == Some(member)
}

fn load_shared(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    lock: bool,
    not_shared: impl FnOnce() -> Error,
) -> Result<Visible, Error> {
    let v = load_visible_row(conn, state, ctx, id, &image_not_found(id), lock)?;
    if v.image.visibility != Visibility::Shared {
        return Err(not_shared());
    }
    Ok(v)
}

pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
) -> Result<Vec<Member>, Error> {
    let st = state.clone();
    state
        .read(move |conn| {
            let v = load_shared(conn, &st, &ctx, &id, false, || {
                Error::forbidden(format!(
                    "Not allowed to list members for image {id}: Only shared images have members."
                ))
            })?;
            st.policy.enforce("get_members", &ctx, &v.target(&ctx))?;
            let rows = db::members::list(conn, &id)?;
            let mut ext = match st.config.sharing.enabled {
                true => db::member_ext::of_image(conn, id.as_str())?,
                false => Default::default(),
            };
            Ok(rows
                .into_iter()
                .filter(|m| sees_row(&ctx, &v, &m.member_id))
                .map(|mut m| {
                    if st.config.sharing.enabled {
                        let e = ext.remove(&m.member_id).unwrap_or_default();
                        m.ext = Some(shown_ext(&st, &m, e));
                    }
                    m
                })
                .collect())
        })
        .await
}

pub async fn show(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    member: String,
) -> Result<Member, Error> {
    let st = state.clone();
    state
        .read(move |conn| {
            // Every failure here is a 404: a member must not learn about other rows.
            let v = load_shared(conn, &st, &ctx, &id, false, || {
                Error::not_found("Only shared images have members.")
            })?;
            if !st.policy.allows("get_member", &ctx, &v.target(&ctx))
                || !sees_row(&ctx, &v, &member)
            {
                return Err(member_not_found(&id, &member));
            }
            let m = db::members::get(conn, &id, &member)?
                .ok_or_else(|| member_not_found(&id, &member))?;
            with_ext(conn, &st, m)
        })
        .await
}

/// `m` with its extension data, when the sharing extensions are on.
fn with_ext(conn: &mut DbConn, state: &AppState, mut m: Member) -> Result<Member, Error> {
    if state.config.sharing.enabled {
        let e = db::member_ext::get(conn, &m.image_id, &m.member_id)?.unwrap_or_default();
        m.ext = Some(shown_ext(state, &m, e));
    }
    Ok(m)
}

/// The extension data as shown: a pending offer's `pending_ttl` counts as its expiry.
pub(crate) fn shown_ext(state: &AppState, m: &Member, e: MemberExt) -> MemberExt {
    let pending = m.status == MemberStatus::Pending;
    e.with_pending_ttl(pending, m.created_at, state.config.sharing.pending_ttl)
}

/// `ext` is the request's `os_glint` (empty with the sharing extensions off).
pub async fn create(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    member: String,
    ext: MemberExt,
) -> Result<Member, Error> {
    // `[glint_sharing] validate_member`: after the checks without the body (`authorize_create`,
    // which the route runs first), before anything is written.
    super::projects::check_member(state, &member).await?;
    let st = state.clone();
    state
        .write(move |c| {
            let v = load_shared(c, &st, &ctx, &id, true, || {
                Error::forbidden(format!("Not allowed to create members for image {id}."))
            })?;
            st.policy.enforce("add_member", &ctx, &v.target(&ctx))?;
            let quota = st.config.image_member_quota;
            let owner = v.image.owner.as_deref();
            match db::members::add(c, &id, &member, quota, now())? {
                AddOutcome::Added(mut m) => {
                    let mut ext = ext;
                    let mut via = Via::Direct;
                    if st.config.sharing.enabled {
                        // The recipient's trust policy; a refusal rolls the add back.
                        match decide_offer(c, &ctx, owner, &member)? {
                            Offer::Refuse => {
                                return Err(Error::forbidden(format!(
                                    "Project {member} does not accept image shares from project \
                                     {}: its trust policy refuses offers from owners it does \
                                     not trust.",
                                    owner.unwrap_or("(none)")
                                )))
                            }
                            Offer::Create { accepted, mark } => {
                                ext.policy = mark;
                                if accepted {
                                    db::members::set_status(
                                        c,
                                        &id,
                                        &member,
                                        MemberStatus::Accepted,
                                        m.updated_at,
                                    )?;
                                    m.status = MemberStatus::Accepted;
                                    via = Via::TrustPolicy;
                                }
                            }
                        }
                    }
                    // A re-added member starts afresh: nothing of an earlier share is kept.
                    db::member_ext::put(c, id.as_str(), &member, &ext)?;
                    record(c, &st, || {
                        let to = share_event::state(m.status, &ext);
                        NewEvent::new(
                            Some(&ctx),
                            m.created_at,
                            Action::Create,
                            via,
                            id.as_str(),
                            owner,
                            &member,
                            None,
                            Some(to),
                        )
                    })?;
                    if st.config.sharing.enabled {
                        m.ext = Some(shown_ext(&st, &m, ext));
                    }
                    Ok((m, v.image.owner))
                }
                AddOutcome::QuotaExceeded { attempted } => {
                    Err(Error::PayloadTooLarge(Msg::Explanation(format!(
                        "Image member limit exceeded for image {id}: {}:",
                        quota::limit_text("image members for this image", attempted, quota)
                    ))))
                }
                AddOutcome::Duplicate => Err(Error::conflict(format!(
                    "Member {member} is duplicated for image {id}"
                ))),
            }
        })
        .await
        .map(|(m, owner)| {
            state.notifier.member("image.member.create", &m);
            publish(state, EventType::Offered, &m, owner.as_deref(), json!({}));
            m
        })
}

/// `status` is the raw requested value: authorisation is decided before it is validated.
pub async fn update(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    member: String,
    status: String,
) -> Result<Member, Error> {
    update_via(state, ctx, id, member, status, Via::Direct).await
}

/// `update`, recorded in the sharing history as made `via` (a bulk decision: `Via::Inbox`).
pub(crate) async fn update_via(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    member: String,
    status: String,
    via: Via,
) -> Result<Member, Error> {
    let st = state.clone();
    state
        .write(move |c| {
            // The image's row lock first, as every writer of its member rows takes it: on
            // MySQL a member row's update waits for the image row (foreign key), so without it
            // an image delete and this update would each hold what the other waits for.
            let v = load_shared(c, &st, &ctx, &id, true, || {
                Error::forbidden(format!("Not allowed to update members for image {id}."))
            })?;
            if !st.policy.allows("get_member", &ctx, &v.target(&ctx))
                || !sees_row(&ctx, &v, &member)
            {
                return Err(member_not_found(&id, &member));
            }
            let Some(row) = db::members::get(c, &id, &member)? else {
                return Err(member_not_found(&id, &member));
            };
            st.policy.enforce("modify_member", &ctx, &v.target(&ctx))?;
            let status = MemberStatus::parse_update(&status)?;
            let now = now();
            if !db::members::set_status(c, &id, &member, status, now)? {
                return Err(member_not_found(&id, &member));
            }
            record(c, &st, || {
                NewEvent::new(
                    Some(&ctx),
                    now,
                    Action::Update,
                    via,
                    id.as_str(),
                    v.image.owner.as_deref(),
                    &member,
                    Some(serde_json::json!({"status": row.status.as_str()})),
                    Some(serde_json::json!({"status": status.as_str()})),
                )
            })?;
            let m = with_ext(
                c,
                &st,
                Member {
                    status,
                    updated_at: now,
                    ..row
                },
            )?;
            Ok((m, v.image.owner))
        })
        .await
        .map(|(m, owner)| {
            state.notifier.member("image.member.update", &m);
            let kind = match m.status {
                MemberStatus::Accepted => Some(EventType::Accepted),
                MemberStatus::Rejected => Some(EventType::Rejected),
                MemberStatus::Pending => None,
            };
            if let Some(kind) = kind {
                publish(state, kind, &m, owner.as_deref(), json!({}));
            }
            m
        })
}

pub async fn delete(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    member: String,
) -> Result<(), Error> {
    let st = state.clone();
    state
        .write(move |c| {
            // The image's row lock first, as every writer of its member rows takes it: on
            // MySQL a member row's update waits for the image row (foreign key), so without it
            // an image delete and this update would each hold what the other waits for.
            let v = load_shared(c, &st, &ctx, &id, true, || {
                Error::forbidden(format!("Not allowed to delete members for image {id}."))
            })?;
            let row = match sees_row(&ctx, &v, &member) {
                true => db::members::get(c, &id, &member)?,
                false => None,
            };
            let Some(row) = row else {
                return Err(member_not_found(&id, &member));
            };
            st.policy.enforce("delete_member", &ctx, &v.target(&ctx))?;
            let at = now();
            let ext = match st.config.sharing.enabled {
                true => db::member_ext::get(c, id.as_str(), &member)?.unwrap_or_default(),
                false => MemberExt::default(),
            };
            if !db::members::delete(c, &id, &member, at)? {
                return Err(member_not_found(&id, &member));
            }
            db::member_ext::remove(c, id.as_str(), &member)?;
            record(c, &st, || {
                NewEvent::new(
                    Some(&ctx),
                    at,
                    Action::Delete,
                    Via::Direct,
                    id.as_str(),
                    v.image.owner.as_deref(),
                    &member,
                    Some(share_event::state(row.status, &ext)),
                    None,
                )
            })?;
            Ok((row, at, v.image.owner))
        })
        .await
        .map(|(m, at, owner)| {
            state.notifier.member_deleted(&m, at);
            publish(state, EventType::Revoked, &m, owner.as_deref(), json!({}));
        })
}

/// Before the body of `POST /v2/images/{id}/members` is read: what `create` checks without it.
pub async fn authorize_create(
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
) -> Result<(), Error> {
    let (st, ctx, id) = (state.clone(), ctx.clone(), id.to_owned());
    state
        .read(move |c| {
            let v = load_shared(c, &st, &ctx, &id, false, || {
                Error::forbidden(format!("Not allowed to create members for image {id}."))
            })?;
            st.policy.enforce("add_member", &ctx, &v.target(&ctx))
        })
        .await
}

/// Before the body of `PUT /v2/images/{id}/members/{member}` is read: what `update` checks
/// without it.
pub async fn authorize_update(
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    member: &str,
) -> Result<(), Error> {
    let (st, ctx, id, member) = (state.clone(), ctx.clone(), id.to_owned(), member.to_owned());
    state
        .read(move |c| {
            // The image's row lock first, as every writer of its member rows takes it: on
            // MySQL a member row's update waits for the image row (foreign key), so without it
            // an image delete and this update would each hold what the other waits for.
            let v = load_shared(c, &st, &ctx, &id, true, || {
                Error::forbidden(format!("Not allowed to update members for image {id}."))
            })?;
            if !st.policy.allows("get_member", &ctx, &v.target(&ctx))
                || !sees_row(&ctx, &v, &member)
                || db::members::get(c, &id, &member)?.is_none()
            {
                return Err(member_not_found(&id, &member));
            }
            st.policy.enforce("modify_member", &ctx, &v.target(&ctx))
        })
        .await
}

/// Which side of the share the caller changes its extension data as (the owner, or an admin:
/// expiry and note; the member: a renewal request), after the checks of a member update:
/// the image and the row visible to the caller (else 404), then the side's policy rule
/// (`glint:modify_member_ext`, `glint:request_renewal`; else 403).
fn ext_side(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    member: &str,
    lock: bool,
) -> Result<(Member, Side, Option<String>), Error> {
    let v = load_shared(conn, state, ctx, id, lock, || {
        Error::not_found("Only shared images have members.")
    })?;
    if !state.policy.allows("get_member", ctx, &v.target(ctx)) || !sees_row(ctx, &v, member) {
        return Err(member_not_found(id, member));
    }
    let Some(row) = db::members::get(conn, id, member)? else {
        return Err(member_not_found(id, member));
    };
    let owns =
        ctx.is_admin() || (ctx.project().is_some() && v.image.owner.as_deref() == ctx.project());
    let side = if owns { Side::Owner } else { Side::Member };
    let rule = match side {
        Side::Owner => "glint:modify_member_ext",
        Side::Member => "glint:request_renewal",
    };
    state.policy.enforce(rule, ctx, &v.target(ctx))?;
    Ok((row, side, v.image.owner))
}

/// Before the body of `PUT /v2/glint/images/{id}/members/{member}` is read.
pub async fn authorize_change_ext(
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    member: &str,
) -> Result<(), Error> {
    let (st, ctx, id, member) = (state.clone(), ctx.clone(), id.to_owned(), member.to_owned());
    state
        .read(move |c| ext_side(c, &st, &ctx, &id, &member, false).map(|_| ()))
        .await
}

/// `PUT /v2/glint/images/{id}/members/{member}`: change the share's extension data
/// (`MemberExt::change`); the member row itself, and Glance's notifications, are untouched.
pub async fn change_ext(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    member: String,
    body: serde_json::Value,
) -> Result<Member, Error> {
    let st = state.clone();
    state
        .write(move |c| {
            let (row, side, owner) = ext_side(c, &st, &ctx, &id, &member, true)?;
            let current = db::member_ext::get(c, id.as_str(), &member)?.unwrap_or_default();
            let at = now();
            let next = current.change(&body, side, at)?;
            db::member_ext::put(c, id.as_str(), &member, &next)?;
            if next != current {
                record(c, &st, || {
                    NewEvent::new(
                        Some(&ctx),
                        at,
                        Action::Change,
                        Via::Direct,
                        id.as_str(),
                        owner.as_deref(),
                        &member,
                        Some(share_event::ext_state(&current)),
                        Some(share_event::ext_state(&next)),
                    )
                })?;
            }
            let ext = Some(shown_ext(&st, &row, next));
            Ok(Member { ext, ..row })
        })
        .await
}
