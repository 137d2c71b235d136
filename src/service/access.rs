//! Loading an image the way Glance does: invisible and missing look the same (404).

use crate::app::AppState;
use crate::db::images::Depth;
use crate::db::{self, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::Image;
use crate::domain::member::MemberStatus;
use crate::domain::member_ext::MemberExt;
use crate::domain::visibility::{can_see, VisibilityFacts};
use crate::error::Error;
use crate::policy::{image_target, Enforcer, Target};

/// An image the caller can see, with what made it visible.
pub struct Visible {
    pub image: Image,
    pub membership: Option<MemberStatus>,
}

impl Visible {
    /// The caller sees a shared image only through its member row (not as owner).
    pub fn caller_is_member(&self, ctx: &RequestContext) -> bool {
        self.membership.is_some() && self.image.owner.as_deref() != ctx.project()
    }

    pub fn target(&self, ctx: &RequestContext) -> Target {
        image_target(&self.image, ctx, self.caller_is_member(ctx))
    }
}

/// Load an image the caller may GET; anything else is a 404 with `not_found`.
/// `lock` takes the row lock for a following write in the same transaction.
pub fn load_visible(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    not_found: &str,
    lock: bool,
) -> Result<Visible, Error> {
    load(conn, state, ctx, id, not_found, lock, Depth::Full)
}

/// `load_visible` without the image's tags and properties (left empty): for the members
/// API, whose rules and policy targets read only the image row's own columns.
pub fn load_visible_row(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    not_found: &str,
    lock: bool,
) -> Result<Visible, Error> {
    load(conn, state, ctx, id, not_found, lock, Depth::Row)
}

fn load(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    not_found: &str,
    lock: bool,
    depth: Depth,
) -> Result<Visible, Error> {
    if !id.may_exist() {
        return Err(Error::not_found(not_found));
    }
    if lock && !db::images::lock(conn, id)? {
        return Err(Error::not_found(not_found));
    }
    let Some((image, membership)) =
        db::images::get_with_membership(conn, id, ctx.project(), depth)?
    else {
        return Err(Error::not_found(not_found));
    };
    let membership = live_membership(conn, state, ctx, &image, membership)?;
    visible(&state.policy, ctx, image, membership, not_found)
}

/// The caller's membership of `image` as access sees it: with the sharing extensions on, a
/// member whose share expired (`os_glint.expires_at` passed) is treated as if its row were gone,
/// from the instant of expiry, whatever a purge has done yet.
pub fn live_membership(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    image: &Image,
    membership: Option<MemberStatus>,
) -> Result<Option<MemberStatus>, Error> {
    if !state.config.sharing.enabled || membership.is_none() {
        return Ok(membership);
    }
    let Some(project) = ctx.project() else {
        return Ok(membership);
    };
    if image.owner.as_deref() == Some(project) {
        return Ok(membership);
    }
    let now = chrono::Utc::now().naive_utc();
    if db::member_ext::expired(conn, &image.id, project, now)? {
        return Ok(None);
    }
    // A pending offer older than `pending_ttl` has expired too.
    if let (Some(MemberStatus::Pending), Some(ttl)) = (membership, state.config.sharing.pending_ttl)
    {
        let id = ImageId::from_path(&image.id);
        if let Some(row) = db::members::get(conn, &id, project)? {
            let ext = MemberExt::default().with_pending_ttl(true, row.created_at, Some(ttl));
            if ext.expired(now) {
                return Ok(None);
            }
        }
    }
    Ok(membership)
}

/// The visibility and `get_image` checks of `load_visible`, on an image
/// already loaded with the caller's membership.
pub fn visible(
    policy: &Enforcer,
    ctx: &RequestContext,
    image: Image,
    membership: Option<MemberStatus>,
    not_found: &str,
) -> Result<Visible, Error> {
    let facts = VisibilityFacts {
        owner: image.owner.as_deref(),
        visibility: image.visibility,
        membership,
    };
    if !can_see(ctx, facts) {
        return Err(Error::not_found(not_found));
    }
    let v = Visible { image, membership };
    // get_image denied (e.g. no reader role): hidden, as Glance does.
    if !policy.allows("get_image", ctx, &v.target(ctx)) {
        return Err(Error::NotFound(crate::error::Msg::Default));
    }
    Ok(v)
}

// --- authorisation before a request body is read --------------------------------------------
//
// A body costs memory and time to receive; the checks that need no body are made first, so a
// caller who may not act never gets to send one. The same checks run again, with the body,
// in the use case's transaction: these answer with the same error, only sooner.

/// The caller sees image `id` (else 404 with `not_found`) and, when given, policy `rule` allows
/// the action on it (else 403 as the use case answers).
pub async fn authorize_on_image(
    state: &crate::app::AppState,
    ctx: &RequestContext,
    id: &ImageId,
    not_found: String,
    rule: Option<&'static str>,
) -> Result<(), Error> {
    let (st, ctx, id) = (state.clone(), ctx.clone(), id.to_owned());
    state
        .read(move |conn| {
            let v = load_visible(conn, &st, &ctx, &id, &not_found, false)?;
            if let Some(rule) = rule {
                st.policy.enforce(rule, &ctx, &v.target(&ctx))?;
            }
            Ok(())
        })
        .await
}

/// `add_image` for an image of the caller's own project: what a create body can change is only
/// the owner, and a non-admin may name no other.
pub fn authorize_create_image(
    state: &crate::app::AppState,
    ctx: &RequestContext,
) -> Result<(), Error> {
    state.policy.enforce(
        "add_image",
        ctx,
        &crate::policy::new_image_target(ctx.project()),
    )
}
