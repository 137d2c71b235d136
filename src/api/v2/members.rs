//! `/v2/images/{id}/members[/{member_id}]`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::views;
use crate::api::body::{forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::app::AppState;
use crate::domain::id::ImageId;
use crate::domain::member::MAX_MEMBER_ID_LEN;
use crate::domain::member_ext::MemberExt;
use crate::error::Error;
use crate::service::members as svc;

pub async fn list(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let ms = svc::list(&state, ctx, path.into_inner()).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::members(&ms)))
}

/// `{"member": "<project>"}` with Glance's messages; non-string or over-long ids are refused.
fn member_from_body(body: &Value) -> Result<String, Error> {
    let Value::Object(o) = body else {
        return Err(Error::bad_request(
            "Expected a member in the form: {\"member\": \"image_id\"}",
        ));
    };
    match o.get("member") {
        None => Err(Error::bad_request("Member to be added not specified")),
        Some(Value::Null) => Err(Error::bad_request("Member can't be empty")),
        Some(Value::String(s)) if s.is_empty() => Err(Error::bad_request("Member can't be empty")),
        Some(Value::String(s)) if s.chars().count() > MAX_MEMBER_ID_LEN => Err(Error::bad_request(
            format!("Member id is longer than {MAX_MEMBER_ID_LEN} characters"),
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Error::bad_request("Member id must be a string")),
    }
}

fn status_from_body(body: &Value) -> Result<String, Error> {
    let Value::Object(o) = body else {
        return Err(Error::bad_request(
            "Expected a status in the form: {\"status\": \"status\"}",
        ));
    };
    match o.get("status") {
        None => Err(Error::bad_request("Status not specified")),
        Some(Value::String(s)) => Ok(s.clone()),
        // Validated (400) after authorisation, like any unknown status.
        Some(other) => Ok(other.to_string()),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let id = path.into_inner();
    svc::authorize_create(&state, &ctx, &id).await?;
    let body = require_json(&req, payload).await?;
    let member = member_from_body(&body)?;
    // Glance reads only `member`; `os_glint` is read only with the sharing extensions on.
    let ext = match state.config.sharing.enabled {
        true => {
            let named = crate::domain::cross_domain::named(body.get("os_glint"))?;
            let ext = MemberExt::from_create(body.get("os_glint"), chrono::Utc::now().naive_utc())?;
            crate::service::projects::check_cross_domain(&state, &ctx, &member, named.as_deref())
                .await?;
            ext
        }
        false => MemberExt::default(),
    };
    let m = svc::create(&state, ctx, id, member, ext).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::member(&m)))
}

pub async fn show(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(ImageId, String)>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (id, member) = path.into_inner();
    let m = svc::show(&state, ctx, id, member).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::member(&m)))
}

pub async fn update(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(ImageId, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let (id, member) = path.into_inner();
    svc::authorize_update(&state, &ctx, &id, &member).await?;
    let body = require_json(&req, payload).await?;
    let status = status_from_body(&body)?;
    let m = svc::update(&state, ctx, id, member, status).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::member(&m)))
}

pub async fn delete(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(ImageId, String)>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (id, member) = path.into_inner();
    svc::delete(&state, ctx, id, member).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_body_messages() {
        let msg = |v: Value| member_from_body(&v).unwrap_err();
        assert_eq!(
            msg(json!({})),
            Error::bad_request("Member to be added not specified")
        );
        assert_eq!(
            msg(json!({"member": ""})),
            Error::bad_request("Member can't be empty")
        );
        assert_eq!(
            msg(json!({"member": null})),
            Error::bad_request("Member can't be empty")
        );
        assert!(matches!(msg(json!(["x"])), Error::BadRequest(_)));
        assert!(matches!(
            msg(json!({"member": 12345})),
            Error::BadRequest(_)
        ));
        assert!(matches!(
            msg(json!({"member": "x".repeat(256)})),
            Error::BadRequest(_)
        ));
        assert_eq!(
            member_from_body(&json!({"member": "p", "x": 1})),
            Ok("p".to_owned())
        );
    }

    #[test]
    fn status_body_messages() {
        assert_eq!(
            status_from_body(&json!({})).unwrap_err(),
            Error::bad_request("Status not specified")
        );
        assert_eq!(
            status_from_body(&json!({"status": "accepted", "member": "m"})),
            Ok("accepted".into())
        );
    }
}
