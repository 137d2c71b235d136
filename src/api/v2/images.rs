//! `/v2/images` and `/v2/images/{id}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::views;
use crate::api::body::{forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::app::AppState;
use crate::domain::id::ImageId;
use crate::domain::list_query::{self, ListDefaults};
use crate::domain::patch::{self, PatchMediaType};
use crate::error::{Error, Msg};
use crate::service::access;
use crate::service::image_locations;
use crate::service::images as svc;

/// The absolute base URL for `Location` headers (see [`crate::api::external_url`]).
pub fn base_url(state: &AppState, req: &HttpRequest) -> String {
    crate::api::external_url::location_base(state, req)
}

pub async fn create(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    access::authorize_create_image(&state, &ctx)?;
    let body = require_json(&req, payload).await?;
    let image = svc::create(&state, ctx, body).await?;
    let location = format!("{}/v2/images/{}", base_url(&state, &req), image.id);
    let mut b = HttpResponse::Created();
    b.insert_header(("Location", location));
    // Glance advertises the enabled import methods on create (when there are any).
    let methods = state.config.import.enabled_import_methods.join(",");
    if !methods.is_empty() {
        b.insert_header(("OpenStack-image-import-methods", methods));
    }
    if state.config.backend.is_some() {
        let ids: Vec<&str> = state
            .store
            .backends()
            .iter()
            .map(|n| n.id.as_str())
            .collect();
        b.insert_header(("OpenStack-image-store-ids", ids.join(",")));
    }
    // A new image has no location yet: no query, but `locations: []` as Glance shows.
    let shown = image_locations::Shown::without_locations(&state);
    Ok(json::respond(b, &views::ImageView::with(&image, &shown)))
}

pub async fn list(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let raw = req.query_string();
    if raw.to_ascii_lowercase().contains("%00") {
        return Err(Error::bad_request(
            "Invalid query string: NUL characters are not allowed.",
        ));
    }
    let defaults = ListDefaults {
        limit_param_default: state.config.limit_param_default,
        api_limit_max: state.config.api_limit_max,
    };
    let q = list_query::parse(raw, &defaults)?;
    let limit = q.limit;
    let images = svc::list(&state, ctx.clone(), q).await?;
    let shown = image_locations::shown(&state, &ctx, &images).await?;
    let params = list_query::lenient_pairs(raw);
    // Glance emits `next` whenever the page is full, even if nothing follows.
    let next = match images.last() {
        Some(last) if images.len() as i64 == limit => {
            Some(list_query::next_link("/v2/images", &params, &last.id))
        }
        _ => None,
    };
    let body = ImageList {
        images: images
            .iter()
            .map(|img| views::ImageView::with(img, &shown))
            .collect(),
        first: list_query::first_link("/v2/images", &params),
        schema: "/v2/schemas/images",
        next,
    };
    Ok(json::respond(HttpResponse::Ok(), &body))
}

/// The list body, keys in Glance's order.
#[derive(serde::Serialize)]
struct ImageList<'a> {
    images: Vec<views::ImageView<'a>>,
    first: String,
    schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let image = svc::show(&state, ctx.clone(), path.into_inner()).await?;
    let shown = image_locations::shown(&state, &ctx, std::slice::from_ref(&image)).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &views::ImageView::with(&image, &shown),
    ))
}

pub async fn update(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    let mt: PatchMediaType = patch::media_type(content_type)?;
    let id = path.into_inner();
    let not_found = format!("No image found with ID {id}");
    access::authorize_on_image(&state, &ctx, &id, not_found, Some("modify_image")).await?;
    let body = require_json(&req, payload).await?;
    let ops = patch::parse(&body, mt, &state.image_schema)?;
    let image = svc::update(&state, ctx.clone(), id, mt, ops).await?;
    let shown = image_locations::shown(&state, &ctx, std::slice::from_ref(&image)).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &views::ImageView::with(&image, &shown),
    ))
}

pub async fn delete(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let id = path.into_inner();
    // Staged on another worker: deleted there, with its staged data.
    let replay = crate::api::context::replay(&req);
    if crate::service::stage_proxy::delete_elsewhere(&state, &ctx, &id, &replay).await? {
        return Ok(no_content());
    }
    svc::delete(&state, ctx, id).await?;
    Ok(no_content())
}

/// Glance's serializer-made 204s carry an HTML content type and a zero length.
pub fn no_content() -> HttpResponse {
    HttpResponse::build(StatusCode::NO_CONTENT)
        .insert_header(("Content-Type", "text/html; charset=UTF-8"))
        .finish()
}

/// `/v2/images/` (empty id) is a 404, never the list.
pub async fn empty_id(Ctx(_): Ctx) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(Msg::Default))
}

/// Glance's WSGI server decodes `%2F` before routing, so a tag with a slash never
/// reaches its handler there: answer the same 404.
fn tag_path(path: web::Path<(ImageId, String)>) -> Result<(ImageId, String), Error> {
    let (id, tag) = path.into_inner();
    if tag.contains('/') {
        return Err(Error::NotFound(Msg::Default));
    }
    Ok((id, tag))
}

pub async fn add_tag(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(ImageId, String)>,
) -> Result<HttpResponse, Error> {
    let (id, tag) = tag_path(path)?;
    // Glance's route says `body_reject`: any body is refused before the tag is looked at.
    forbid_body(&req)?;
    svc::add_tag(&state, ctx, id, tag).await?;
    Ok(no_content())
}

pub async fn delete_tag(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(ImageId, String)>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (id, tag) = tag_path(path)?;
    svc::delete_tag(&state, ctx, id, tag).await?;
    Ok(no_content())
}

pub async fn deactivate(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    // Glance's route says `body_reject`.
    forbid_body(&req)?;
    svc::set_active(&state, ctx, path.into_inner(), false).await?;
    Ok(no_content())
}

pub async fn reactivate(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    // Glance's route says `body_reject`.
    forbid_body(&req)?;
    svc::set_active(&state, ctx, path.into_inner(), true).await?;
    Ok(no_content())
}
