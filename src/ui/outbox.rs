//! The outbox: the project's shared images, each with its members (status, expiry, note);
//! add and remove members, set a share's expiry and note. Through `service::images::list`,
//! `service::members` like `POST /v2/images/{id}/members`, `DELETE .../members/{member}` and
//! `PUT /v2/glint/images/{id}/members/{member}`; batch share of a selection of the page's images
//! with several projects as `POST /v2/glint/shares` (`service::batch_share`), outcomes per pair.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::forms::{query_value, Fields};
use super::{form_post, page, view};
use crate::app::AppState;
use crate::domain::batch_share::{Outcome, Target};
use crate::domain::id::ImageId;
use crate::domain::list_query::{self, ListDefaults};
use crate::domain::member_ext::MemberExt;
use crate::domain::ui_form::expiry;
use crate::error::Error;
use crate::policy::image_target;
use crate::service::{batch_share, images, members};

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let s = match page::viewer(&req, &state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let project = s.ctx.project().unwrap_or_default().to_owned();
    // The project's shared images, a page of `limit_param_default` at a time (each image's
    // members are one more query), after `marker` when the page was asked for one.
    let marker = query_value(&req, "marker");
    let limit = state.config.limit_param_default.to_string();
    let mut params = vec![
        ("visibility", "shared"),
        ("owner", project.as_str()),
        ("sort_key", "name"),
        ("sort_dir", "asc"),
        ("limit", limit.as_str()),
    ];
    if let Some(m) = marker.as_deref() {
        params.push(("marker", m));
    }
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let defaults = ListDefaults {
        limit_param_default: state.config.limit_param_default,
        api_limit_max: state.config.api_limit_max,
    };
    let listed = match list_query::parse(&query, &defaults) {
        Ok(q) => images::list(&state, s.ctx.clone(), q).await,
        Err(e) => Err(e),
    };
    let imgs = match listed {
        Ok(i) => i,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let now = chrono::Utc::now().naive_utc();
    let mut shown = Vec::with_capacity(imgs.len());
    for img in &imgs {
        let id = ImageId::from_path(img.id.as_str());
        let ms = match members::list(&state, s.ctx.clone(), id).await {
            Ok(m) => m,
            Err(e) => return page::error(&req, &state, Some(&s), e),
        };
        let target = image_target(img, &s.ctx, false);
        let allows = |rule: &str| state.policy.allows(rule, &s.ctx, &target);
        shown.push(minijinja::context! {
            image => view::image(img),
            members => ms.iter().map(|m| view::member(m, now)).collect::<Vec<_>>(),
            can_add => allows("add_member"),
            can_remove => allows("delete_member"),
            can_change => allows("glint:modify_member_ext"),
        });
    }
    let done =
        query_value(&req, "done").filter(|d| ["added", "changed", "removed"].contains(&d.as_str()));
    let full = i64::try_from(imgs.len()).unwrap_or(i64::MAX) >= state.config.limit_param_default;
    let next_marker = imgs.last().filter(|_| full).map(|i| i.id.clone());
    let can_batch = batch_share::allowed(&state, &s.ctx);
    page::render(
        &req,
        &state,
        StatusCode::OK,
        "outbox.html",
        Some(&s),
        minijinja::context! { nav => "outbox", images => shown, done, next_marker, can_batch },
    )
}

/// The image and member a form names (the image id as a path segment would give it).
fn target(f: &Fields) -> Result<(ImageId, String), Error> {
    let image = f.text("image").trim();
    let member = f.text("member").trim();
    if image.is_empty() || member.is_empty() {
        return Err(Error::bad_request(
            "Give the image and the member's project id.",
        ));
    }
    Ok((ImageId::from_path(image), member.to_owned()))
}

/// `os_glint` from the form's expiry and note (an empty note or expiry is none).
fn ext_fields(f: &Fields) -> serde_json::Value {
    let note = f.text("note").trim();
    json!({
        "expires_at": expiry(f.text("expires")),
        "note": (!note.is_empty()).then_some(note),
    })
}

/// Run a POST's action after the session and form checks; back to the outbox with `done`.
async fn post<F, Fut>(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Bytes,
    act: F,
) -> HttpResponse
where
    F: FnOnce(AppState, crate::domain::context::RequestContext, Fields) -> Fut,
    Fut: std::future::Future<Output = Result<&'static str, Error>>,
{
    form_post::run(req, state, body, |st, ctx, f| async move {
        act(st, ctx, f)
            .await
            .map(|done| format!("/outbox?done={done}"))
    })
    .await
}

pub async fn add(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    post(req, state, body, |st, ctx, f| async move {
        let (image, member) = target(&f)?;
        let ext = MemberExt::from_create(Some(&ext_fields(&f)), chrono::Utc::now().naive_utc())?;
        members::create(&st, ctx, image, member, ext).await?;
        Ok("added")
    })
    .await
}

pub async fn change(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    post(req, state, body, |st, ctx, f| async move {
        let (image, member) = target(&f)?;
        let body = json!({ "os_glint": ext_fields(&f) });
        members::change_ext(&st, ctx, image, member, body).await?;
        Ok("changed")
    })
    .await
}

pub async fn remove(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    post(req, state, body, |st, ctx, f| async move {
        let (image, member) = target(&f)?;
        members::delete(&st, ctx, image, member).await?;
        Ok("removed")
    })
    .await
}

/// The batch form as `POST /v2/glint/shares`'s body: the ticked images, the project ids
/// (separated by commas, spaces or lines), the expiry and note, and the dry run box.
fn batch_body(f: &Fields) -> serde_json::Value {
    let projects: Vec<&str> = f
        .text("projects")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    json!({
        "images": f.all("images"),
        "targets": {"projects": projects},
        "os_glint": ext_fields(f),
        "dry_run": f.get("dry_run").is_some(),
    })
}

/// Share the ticked images with several projects in one call; the page lists each pair's outcome.
pub async fn batch(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let (f, s) = match form_post::checked(&req, &state, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (results, dry_run) = match batch_share::share(&state, s.ctx.clone(), &batch_body(&f)).await
    {
        Ok(r) => (r.results, r.dry_run),
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let counts: Vec<_> = Outcome::ALL
        .iter()
        .map(|o| {
            (
                o.as_str(),
                results.iter().filter(|r| r.outcome == *o).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .map(|(outcome, n)| minijinja::context! { outcome, n })
        .collect();
    let pairs: Vec<_> = results
        .iter()
        .map(|r| {
            let project = match &r.target {
                Target::Id(id) => id.clone(),
                Target::Name { name, domain } => format!("{name} ({domain})"),
            };
            minijinja::context! {
                image_id => r.image_id,
                member_id => r.member_id,
                project,
                outcome => r.outcome.as_str(),
            }
        })
        .collect();
    page::render(
        &req,
        &state,
        StatusCode::OK,
        "batch.html",
        Some(&s),
        minijinja::context! { nav => "outbox", pairs, counts, dry_run },
    )
}
