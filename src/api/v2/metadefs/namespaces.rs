//! `/v2/metadefs/namespaces[/{namespace}]` and the bulk deletes under a namespace.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::views;
use super::{checked_body, READ_ONLY_LINKED};
use crate::api::body::{forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::api::v2::images::base_url;
use crate::app::AppState;
use crate::domain::metadefs::property::prefix_keys;
use crate::domain::metadefs::{document, query, schemas::Body};
use crate::error::Error;
use crate::service::metadefs::namespaces::{self as svc, Scope};
use crate::service::metadefs::{self, Missing};

pub async fn list(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    let c = &state.config;
    let q = query::namespaces(req.query_string(), c.limit_param_default, c.api_limit_max)?;
    let params = q.params.clone();
    let page = svc::list(&state, ctx, q).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|l| {
            views::namespace(&l.namespace, |m| {
                if !l.associations.is_empty() {
                    let a: Vec<Value> = l.associations.iter().map(views::association).collect();
                    m.insert("resource_type_associations".into(), Value::Array(a));
                }
            })
        })
        .collect();
    let mut body = serde_json::Map::new();
    body.insert("namespaces".into(), Value::Array(items));
    if let Some(last) = &page.next {
        body.insert("next".into(), json!(query::next_link(&params, last)));
    }
    body.insert("schema".into(), json!("/v2/schemas/metadefs/namespaces"));
    body.insert("first".into(), json!(query::first_link(&params)));
    Ok(json::respond(HttpResponse::Ok(), &body))
}

pub async fn create(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Who may create namespaces is decided before the body is read.
    metadefs::enforce(&state.policy, &ctx, None, "add_metadef_namespace")?;
    let body = require_json(&req, payload).await?;
    let raw = checked_body(body, READ_ONLY_LINKED, Body::Namespace)?;
    let doc = document::namespace(&raw);
    let ns = svc::create(&state, ctx, doc.clone(), raw.clone()).await?;
    // The answer echoes the nested content as the request gave it.
    let view = views::namespace(&ns, |m| {
        if raw.contains_key("resource_type_associations") {
            let a: Vec<Value> = doc
                .associations
                .iter()
                .map(|a| {
                    let mut o = serde_json::Map::new();
                    o.insert("name".into(), json!(a.name));
                    if let Some(p) = &a.prefix {
                        o.insert("prefix".into(), json!(p));
                    }
                    if let Some(t) = &a.properties_target {
                        o.insert("properties_target".into(), json!(t));
                    }
                    Value::Object(o)
                })
                .collect();
            m.insert("resource_type_associations".into(), Value::Array(a));
        }
        if raw.contains_key("properties") {
            m.insert("properties".into(), Value::Object(doc.properties.clone()));
        }
        if raw.contains_key("objects") {
            let o: Vec<Value> = doc
                .objects
                .iter()
                .map(|o| {
                    let mut v = serde_json::Map::new();
                    v.insert("name".into(), json!(o.name));
                    if o.has_required {
                        v.insert("required".into(), json!(o.required));
                    }
                    if let Some(d) = &o.description {
                        v.insert("description".into(), json!(d));
                    }
                    if o.has_properties {
                        v.insert("properties".into(), Value::Object(o.properties.clone()));
                    }
                    Value::Object(v)
                })
                .collect();
            m.insert("objects".into(), Value::Array(o));
        }
        if raw.contains_key("tags") {
            m.insert(
                "tags".into(),
                views::tag_names(doc.tags.iter().map(String::as_str)),
            );
        }
    });
    let location = format!(
        "{}{}",
        base_url(&state, &req),
        views::namespace_href(&ns.namespace)
    );
    let mut b = HttpResponse::Created();
    b.insert_header(("Location", location));
    Ok(json::respond(b, &view))
}

pub async fn show(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    query::show_visibility(req.query_string())?;
    let rt = query::resource_type(req.query_string())?;
    let name = path.into_inner();
    let d = svc::show(&state, ctx, name.clone(), rt).await?;
    let prefix = d.prefix.as_deref();
    let view = views::namespace(&d.namespace, |m| {
        if !d.associations.is_empty() {
            let a: Vec<Value> = d.associations.iter().map(views::association).collect();
            m.insert("resource_type_associations".into(), Value::Array(a));
        }
        if !d.properties.is_empty() {
            let props = match prefix {
                Some(p) => prefix_keys(&d.properties, p),
                None => d.properties.clone(),
            };
            m.insert("properties".into(), Value::Object(props));
        }
        if !d.objects.is_empty() {
            let o: Vec<Value> = d
                .objects
                .iter()
                .map(|o| views::object(&name, o, prefix))
                .collect();
            m.insert("objects".into(), Value::Array(o));
        }
        if !d.tags.is_empty() {
            m.insert(
                "tags".into(),
                views::tag_names(d.tags.iter().map(|t| t.name.as_str())),
            );
        }
    });
    Ok(json::respond(HttpResponse::Ok(), &view))
}

pub async fn update(
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
        "modify_metadef_namespace",
    )
    .await?;
    let body = require_json(&req, payload).await?;
    let raw = checked_body(body, READ_ONLY_LINKED, Body::Namespace)?;
    let ns = svc::update(&state, ctx, path.into_inner(), document::namespace(&raw)).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &views::namespace(&ns, |_| {}),
    ))
}

async fn remove(
    state: web::Data<AppState>,
    ctx: crate::domain::context::RequestContext,
    req: HttpRequest,
    name: String,
    scope: Scope,
) -> Result<HttpResponse, Error> {
    if scope == Scope::Namespace {
        forbid_body(&req)?;
    }
    svc::delete(&state, ctx, name, scope).await?;
    Ok(crate::api::v2::images::no_content())
}

pub async fn delete(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    remove(state, ctx, req, path.into_inner(), Scope::Namespace).await
}

pub async fn delete_objects(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    remove(state, ctx, req, path.into_inner(), Scope::Objects).await
}

pub async fn delete_properties(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    remove(state, ctx, req, path.into_inner(), Scope::Properties).await
}

pub async fn delete_tags(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    remove(state, ctx, req, path.into_inner(), Scope::Tags).await
}
