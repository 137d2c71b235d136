//! Interoperable image import: `/v2/info/import`, `/v2/info/stores`,
//! `/v2/images/{id}/stage`, `/v2/images/{id}/import`, `/v2/images/{id}/tasks`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::image_data::{abandoned_answer, require_octet_stream};
use super::images::no_content;
use super::tasks::image_task;
use crate::api::body::{content_length, forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::api::request_id::RequestId;
use crate::app::AppState;
use crate::config::backends::BackendOptions;
use crate::domain::id::ImageId;
use crate::domain::import::ImportRequest;
use crate::error::Error;
use crate::policy::project_target;
use crate::service::import as svc;
use crate::service::tasks;
use crate::service::{access, quotas, stage_proxy, transfer};

/// `GET /v2/info/import`: the enabled import methods.
pub async fn info_import(
    state: web::Data<AppState>,
    Ctx(_): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let doc = json!({
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": state.config.import.enabled_import_methods,
        }
    });
    Ok(json::respond(HttpResponse::Ok(), &doc))
}

/// `GET /v2/info/stores`: 404 with the single unnamed store (no `enabled_backends`), as
/// Glance; else every backend, in `enabled_backends` order, and the http backend (last) marked
/// `read-only`.
pub async fn info_stores(
    state: web::Data<AppState>,
    Ctx(_): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let mut stores = store_entries(&state)?;
    stores.extend(http_entry(&state));
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({"stores": stores}),
    ))
}

/// `GET /v2/info/stores/detail`: admins also see each store's type, properties and weight.
pub async fn info_stores_detail(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let mut stores = store_entries(&state)?;
    state
        .policy
        .enforce("stores_info_detail", &ctx, &project_target(&ctx))?;
    for (entry, b) in stores.iter_mut().zip(&state.config.named_backends()) {
        entry["type"] = b.kind.as_str().into();
        entry["properties"] = properties(&b.options);
        entry["weight"] = b.weight.into();
    }
    if let Some(mut http) = http_entry(&state) {
        // Glance: "There are no useful properties to be exposed."
        http["type"] = "http".into();
        http["properties"] = json!({});
        http["weight"] = state.config.stores.http_weight.into();
        stores.push(http);
    }
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({"stores": stores}),
    ))
}

/// glance's discovery: each kind's properties, sizes in bytes as glance_store holds them.
fn properties(options: &BackendOptions) -> serde_json::Value {
    match options {
        BackendOptions::S3(s3) => json!({
            "s3_store_large_object_size": s3.large_object_size,
            "s3_store_large_object_chunk_size": s3.large_object_chunk_size,
            "s3_store_thread_pools": 10,
        }),
        BackendOptions::Swift(swift) => json!({
            "container": swift.container,
            "large_object_size": swift.large_object_size,
            "large_object_chunk_size": swift.large_object_chunk_size,
        }),
        BackendOptions::File { datadir, .. } => json!({
            "data_dir": datadir.display().to_string(),
            // glance_store's defaults for a file store.
            "chunk_size": 65536,
            "thin_provisioning": false,
        }),
    }
}

/// The http backend of `enabled_backends` as `/v2/info/stores` lists it.
fn http_entry(state: &AppState) -> Option<serde_json::Value> {
    let id = state.config.stores.http_backend.as_deref()?;
    let mut store = json!({"id": id});
    if let Some(d) = &state.config.stores.http_description {
        store["description"] = d.clone().into();
    }
    store["read-only"] = "true".into();
    Some(store)
}

/// The backends as `/v2/info/stores` lists them (the default one's `default` is the string
/// "true").
fn store_entries(state: &AppState) -> Result<Vec<serde_json::Value>, Error> {
    if state.config.backend.is_none() {
        return Err(Error::not_found(
            "Multi backend is not supported at this site.",
        ));
    }
    Ok(state
        .config
        .named_backends()
        .iter()
        .map(|b| {
            let mut store = json!({"id": b.id});
            if let Some(d) = &b.description {
                store["description"] = d.clone().into();
            }
            if state.config.backend_id() == Some(b.id.as_str()) {
                store["default"] = "true".into();
            }
            store
        })
        .collect())
}

/// `PUT /v2/images/{id}/stage`: 204.
pub async fn stage(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    if !state.config.import.method_enabled("glance-direct") {
        return Err(Error::not_found(
            "'glance-direct' method is not available at this site.",
        ));
    }
    require_octet_stream(&req)?;
    // Glance's first check: the declared size against `image_stage_total`.
    quotas::enforce_stage_total(&state, &ctx, content_length(&req).unwrap_or(0)).await?;
    let id = path.into_inner();
    // Who may stage, how much, and a place among the project's uploads: before any data.
    let _slot =
        transfer::admit_transfer(&state, &ctx, &id, "modify_image", content_length(&req)).await?;
    let abandoned = abandoned_answer(&req);
    svc::stage(&state, ctx, id, payload, abandoned).await?;
    Ok(no_content())
}

/// `POST /v2/images/{id}/import`: 202, the import runs in the background.
pub async fn import(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let id = path.into_inner();
    // Only visibility can be decided before the body: the state conflicts (409) come before
    // `modify_image` (403) in Glance's order, and they need the body's method.
    let not_found = format!("No image found with ID {id}");
    access::authorize_on_image(&state, &ctx, &id, not_found, None).await?;
    let body = require_json(&req, payload).await?;
    let header_store = req
        .headers()
        .get("x-image-meta-store")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut r = ImportRequest::parse(body, &state.config.import.enabled_import_methods)?;
    r.header_store = header_store;
    quotas::enforce_size_total(&state, &ctx, 0).await?;
    // Staged on another worker: that worker imports it.
    let replay = crate::api::context::replay(&req);
    if stage_proxy::import_elsewhere(&state, &ctx, &id, &r.method, &r.body, &replay).await? {
        return Ok(HttpResponse::Accepted().finish());
    }
    svc::import(&state, ctx, RequestId::of(&req), id, r).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// `GET /v2/images/{id}/tasks` (API 2.12).
pub async fn image_tasks(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let list = tasks::for_image(&state, ctx, path.into_inner()).await?;
    let doc = json!({"tasks": list.iter().map(image_task).collect::<Vec<_>>()});
    Ok(json::respond(HttpResponse::Ok(), &doc))
}
