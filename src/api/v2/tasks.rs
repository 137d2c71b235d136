//! `/v2/tasks` and `/v2/tasks/{id}` (the deprecated tasks API, admin-only),
//! and the task shapes clients see.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::views::timestamp;
use crate::api::body::{forbid_body, read_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::api::request_id::RequestId;
use crate::app::AppState;
use crate::domain::list_query;
use crate::domain::task::Task;
use crate::domain::task_list_query::TaskListQuery;
use crate::error::Error;
use crate::service::tasks as svc;

/// A task as `GET /v2/tasks/{id}` shows it (Glance's `_format_task`).
pub fn task(t: &Task) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), t.id.clone().into());
    m.insert("input".into(), t.input.clone());
    m.insert("type".into(), t.task_type.clone().into());
    m.insert("status".into(), t.status.as_str().into());
    m.insert("owner".into(), t.owner.clone().into());
    m.insert("message".into(), t.message.clone().into());
    m.insert("result".into(), t.result.clone());
    m.insert("created_at".into(), timestamp(&t.created_at).into());
    m.insert("updated_at".into(), timestamp(&t.updated_at).into());
    m.insert("self".into(), format!("/v2/tasks/{}", t.id).into());
    m.insert("schema".into(), "/v2/schemas/task".into());
    optional_ids(&mut m, t);
    Value::Object(m)
}

fn optional_ids(m: &mut Map<String, Value>, t: &Task) {
    for (k, v) in [
        ("image_id", &t.image_id),
        ("request_id", &t.request_id),
        ("user_id", &t.user_id),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            m.insert(k.into(), v.clone().into());
        }
    }
    if let Some(e) = &t.expires_at {
        m.insert("expires_at".into(), timestamp(e).into());
    }
}

/// A list item (`_format_task_stub`): no input, result or message.
pub fn task_stub(t: &Task) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), t.id.clone().into());
    m.insert("type".into(), t.task_type.clone().into());
    m.insert("status".into(), t.status.as_str().into());
    m.insert("owner".into(), t.owner.clone().into());
    m.insert("created_at".into(), timestamp(&t.created_at).into());
    m.insert("updated_at".into(), timestamp(&t.updated_at).into());
    m.insert("self".into(), format!("/v2/tasks/{}", t.id).into());
    m.insert("schema".into(), "/v2/schemas/task".into());
    if let Some(e) = &t.expires_at {
        m.insert("expires_at".into(), timestamp(e).into());
    }
    Value::Object(m)
}

/// Python's `datetime.isoformat()`: microseconds only when there are some.
fn isoformat(t: &NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// A task in `GET /v2/images/{id}/tasks`: Glance serialises the database
/// record as it is (every column, ISO timestamps without a zone).
pub fn image_task(t: &Task) -> Value {
    let ts = |o: &Option<NaiveDateTime>| o.as_ref().map_or(Value::Null, |d| isoformat(d).into());
    let s = |o: &Option<String>| o.clone().map_or(Value::Null, Value::String);
    json!({
        "id": t.id,
        "type": t.task_type,
        "status": t.status.as_str(),
        "owner": t.owner,
        "expires_at": ts(&t.expires_at),
        "created_at": isoformat(&t.created_at),
        "updated_at": isoformat(&t.updated_at),
        "deleted_at": ts(&t.deleted_at),
        "deleted": t.deleted,
        "image_id": s(&t.image_id),
        "request_id": s(&t.request_id),
        "user_id": s(&t.user_id),
        "input": t.input,
        "result": t.result,
        "message": t.message,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // Access is decided before the body is read, as in Glance's deserializer.
    svc::check_access(&state, &ctx)?;
    let body = read_json(&req, payload)
        .await?
        .ok_or_else(|| Error::bad_request("Body expected in request."))?;
    let t = svc::create(&state, ctx, RequestId::of(&req), body).await?;
    let mut b = HttpResponse::Created();
    b.insert_header((
        "Location",
        format!(
            "{}/v2/tasks/{}",
            super::images::base_url(&state, &req),
            t.id
        ),
    ));
    Ok(json::respond(b, &task(&t)))
}

pub async fn list(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    svc::check_access(&state, &ctx)?;
    let raw = req.query_string();
    let q = TaskListQuery::parse(
        raw,
        state.config.limit_param_default,
        state.config.api_limit_max,
    )?;
    let limit = q.limit;
    let tasks = svc::list(&state, ctx, q).await?;
    let mut body = Map::new();
    body.insert(
        "tasks".into(),
        Value::Array(tasks.iter().map(task_stub).collect()),
    );
    let params = list_query::lenient_pairs(raw);
    body.insert(
        "first".into(),
        list_query::first_link("/v2/tasks", &params).into(),
    );
    body.insert("schema".into(), "/v2/schemas/tasks".into());
    if let Some(last) = tasks.last() {
        if !tasks.is_empty() && tasks.len() as i64 == limit {
            body.insert(
                "next".into(),
                list_query::next_link("/v2/tasks", &params, &last.id).into(),
            );
        }
    }
    Ok(json::respond(HttpResponse::Ok(), &body))
}

pub async fn show(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let t = svc::show(&state, ctx, path.into_inner()).await?;
    Ok(json::respond(HttpResponse::Ok(), &task(&t)))
}

/// Tasks cannot be deleted: 405 with Glance's explanation (after the access check).
pub async fn delete(state: web::Data<AppState>, Ctx(ctx): Ctx) -> Result<HttpResponse, Error> {
    svc::check_access(&state, &ctx)?;
    let msg = "This operation is currently not permitted on Glance Tasks. They are auto deleted \
               after reaching the time based on their expires_at property.";
    let body =
        json!({"message": msg, "code": "405 Method Not Allowed", "title": "Method Not Allowed"});
    let mut b = HttpResponse::MethodNotAllowed();
    b.insert_header(("Allow", "GET"));
    Ok(json::respond(b, &body))
}
