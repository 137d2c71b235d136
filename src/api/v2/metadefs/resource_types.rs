//! `/v2/metadefs/resource_types` and a namespace's resource type associations.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{checked_body, views, READ_ONLY_TIMES};
use crate::api::body::{forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::app::AppState;
use crate::domain::metadefs::{document, schemas::Body};
use crate::error::Error;
use crate::service::metadefs::resource_types as svc;
use crate::service::metadefs::{self, Missing};

pub async fn list(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let all = svc::list(&state, ctx).await?;
    let v: Vec<Value> = all.iter().map(views::resource_type).collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "resource_types": v }),
    ))
}

pub async fn associations(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let all = svc::associations(&state, ctx, path.into_inner()).await?;
    let v: Vec<Value> = all.iter().map(views::association).collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "resource_type_associations": v }),
    ))
}

pub async fn associate(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may act is decided before the body is read.
    metadefs::authorize(
        &state,
        &ctx,
        &path,
        Missing::Short,
        "add_metadef_resource_type_association",
    )
    .await?;
    let raw = checked_body(
        require_json(&req, payload).await?,
        READ_ONLY_TIMES,
        Body::ResourceType,
    )?;
    let a = svc::associate(&state, ctx, path.into_inner(), document::association(&raw)).await?;
    Ok(json::respond(
        HttpResponse::Created(),
        &views::association(&a),
    ))
}

pub async fn dissociate(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (ns, name) = path.into_inner();
    svc::dissociate(&state, ctx, ns, name).await?;
    Ok(crate::api::v2::images::no_content())
}
