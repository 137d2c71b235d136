//! Objects, properties and tags of a namespace.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::views;
use super::{checked_body, READ_ONLY_LINKED, READ_ONLY_TIMES};
use crate::api::body::{forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::app::AppState;
use crate::domain::metadefs::schemas::{self, Body};
use crate::domain::metadefs::{document, query};
use crate::error::Error;
use crate::service::metadefs::content as svc;
use crate::service::metadefs::{self, Missing};

type Ns = web::Path<String>;
type NsItem = web::Path<(String, String)>;

// --- objects ---

pub async fn list_objects(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: Ns,
) -> Result<HttpResponse, Error> {
    query::objects(req.query_string())?;
    let ns = path.into_inner();
    let all = svc::list_objects(&state, ctx, ns.clone()).await?;
    let objects: Vec<Value> = all.iter().map(|o| views::object(&ns, o, None)).collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({"objects": objects, "schema": "v2/schemas/metadefs/objects"}),
    ))
}

/// An object body: read-only check, object schema, and (on create) each
/// property against the property schema, as Glance's deserializer does.
fn object_body(body: Value, check_inner: bool) -> Result<Map<String, Value>, Error> {
    let raw = checked_body(body, READ_ONLY_LINKED, Body::Object)?;
    if check_inner {
        if let Some(Value::Object(props)) = raw.get("properties") {
            for p in props.values() {
                schemas::validate(Body::ObjectProperty, p)?;
            }
        }
    }
    Ok(raw)
}

pub async fn create_object(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: Ns,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may act is decided before the body is read.
    metadefs::authorize(
        &state,
        &ctx,
        &path,
        Missing::LongIfMissing,
        "add_metadef_object",
    )
    .await?;
    let raw = object_body(require_json(&req, payload).await?, true)?;
    let doc = document::object(&raw);
    let (has_r, has_p) = (doc.has_required, doc.has_properties);
    let ns = path.into_inner();
    let o = svc::create_object(&state, ctx, ns.clone(), doc).await?;
    Ok(json::respond(
        HttpResponse::Created(),
        &views::object_as_written(&ns, &o, has_r, has_p),
    ))
}

pub async fn show_object(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (ns, name) = path.into_inner();
    let o = svc::show_object(&state, ctx, ns.clone(), name).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &views::object(&ns, &o, None),
    ))
}

pub async fn update_object(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may act is decided before the body is read.
    metadefs::authorize(
        &state,
        &ctx,
        &path.0,
        Missing::LongIfMissing,
        "modify_metadef_object",
    )
    .await?;
    let raw = object_body(require_json(&req, payload).await?, false)?;
    let doc = document::object(&raw);
    let (has_r, has_p) = (doc.has_required, doc.has_properties);
    let (ns, name) = path.into_inner();
    let o = svc::update_object(&state, ctx, ns.clone(), name, doc).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &views::object_as_written(&ns, &o, has_r, has_p),
    ))
}

pub async fn delete_object(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (ns, name) = path.into_inner();
    svc::delete_object(&state, ctx, ns, name).await?;
    Ok(crate::api::v2::images::no_content())
}

// --- properties ---

pub async fn list_properties(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: Ns,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let props = svc::list_properties(&state, ctx, path.into_inner()).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "properties": props }),
    ))
}

pub async fn show_property(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
) -> Result<HttpResponse, Error> {
    let rt = query::resource_type(req.query_string())?;
    let (ns, name) = path.into_inner();
    let p = svc::show_property(&state, ctx, ns, name, rt).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::property(&p)))
}

fn property_body(body: Value) -> Result<(String, Map<String, Value>), Error> {
    let raw = checked_body(body, READ_ONLY_TIMES, Body::Property)?;
    let name = raw
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok((name, document::property_schema(&raw)))
}

pub async fn create_property(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: Ns,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may act is decided before the body is read.
    metadefs::authorize(&state, &ctx, &path, Missing::Short, "add_metadef_property").await?;
    let (name, schema) = property_body(require_json(&req, payload).await?)?;
    let p = svc::create_property(&state, ctx, path.into_inner(), name, schema).await?;
    Ok(json::respond(HttpResponse::Created(), &views::property(&p)))
}

pub async fn update_property(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may act is decided before the body is read.
    metadefs::authorize(
        &state,
        &ctx,
        &path.0,
        Missing::Short,
        "modify_metadef_property",
    )
    .await?;
    let (new_name, schema) = property_body(require_json(&req, payload).await?)?;
    let (ns, name) = path.into_inner();
    let p = svc::update_property(&state, ctx, ns, name, new_name, schema).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::property(&p)))
}

pub async fn delete_property(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    path: NsItem,
) -> Result<HttpResponse, Error> {
    let (ns, name) = path.into_inner();
    svc::delete_property(&state, ctx, ns, name).await?;
    Ok(crate::api::v2::images::no_content())
}

// --- tags ---

pub async fn list_tags(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: Ns,
) -> Result<HttpResponse, Error> {
    let q = query::tags(req.query_string())?;
    let tags = svc::list_tags(&state, ctx, path.into_inner(), q).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "tags": views::tag_names(tags.iter().map(|t| t.name.as_str())) }),
    ))
}

/// oslo's `bool_from_string` for `X-Openstack-Append`.
fn append_header(req: &HttpRequest) -> bool {
    req.headers()
        .get("x-openstack-append")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "t" | "true" | "on" | "y" | "yes"
            )
        })
}

pub async fn create_tags(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: Ns,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may act is decided before the body is read.
    metadefs::authorize(&state, &ctx, &path, Missing::Short, "add_metadef_tags").await?;
    let raw = checked_body(
        require_json(&req, payload).await?,
        super::READ_ONLY_TIMES,
        Body::TagsCreate,
    )?;
    let names: Vec<String> = raw
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let append = append_header(&req);
    let names = svc::create_tags(&state, ctx, path.into_inner(), names, append).await?;
    Ok(json::respond(
        HttpResponse::Created(),
        &json!({ "tags": views::tag_names(names.iter().map(String::as_str)) }),
    ))
}

pub async fn create_tag(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (ns, name) = path.into_inner();
    let t = svc::create_tag(&state, ctx, ns, name).await?;
    Ok(json::respond(HttpResponse::Created(), &views::tag(&t)))
}

pub async fn show_tag(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (ns, name) = path.into_inner();
    let t = svc::show_tag(&state, ctx, ns, name).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::tag(&t)))
}

pub async fn update_tag(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may act is decided before the body is read.
    metadefs::authorize(&state, &ctx, &path.0, Missing::Short, "modify_metadef_tag").await?;
    let raw = checked_body(
        require_json(&req, payload).await?,
        READ_ONLY_TIMES,
        Body::Tag,
    )?;
    let new_name = raw
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (ns, name) = path.into_inner();
    let t = svc::update_tag(&state, ctx, ns, name, new_name).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::tag(&t)))
}

pub async fn delete_tag(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: NsItem,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (ns, name) = path.into_inner();
    svc::delete_tag(&state, ctx, ns, name).await?;
    Ok(crate::api::v2::images::no_content())
}
