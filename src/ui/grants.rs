//! Grants on the page: the grants that reached this project, to accept or reject (through
//! `service::grants::decide`, as `PUT /v2/glint/grants/{id}/decision`), and the project's own
//! grants, to make (`service::grants::create`, as `POST /v2/glint/grants`) and revoke after a
//! confirmation (`service::grants::delete`). Shown only when grants can work: the sharing
//! extensions on and Keystone (which lists a target's projects); else the page does not exist.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use minijinja::Value;
use serde_json::json;

use super::forms::{query_value, Fields};
use super::{form_post, page};
use crate::api::v2::views::timestamp;
use crate::app::AppState;
use crate::db::grants::Grant;
use crate::domain::grant::{Decision, NewGrant};
use crate::domain::ui_form::id_list;
use crate::service::grants::{self, available, View};
use crate::service::grants_received::{self, Received};

/// The fields of a grant both sides show.
fn grant_fields(g: &Grant) -> Value {
    minijinja::context! {
        id => g.id,
        owner => g.owner,
        target_kind => g.target_kind,
        target_id => g.target_id,
        target_domain_id => g.target_domain_id,
        tag => g.tag,
        decision => g.decision,
        decided_at => g.decided_at.as_ref().map(timestamp),
        created_at => timestamp(&g.created_at),
    }
}

fn own(state: &AppState, ctx: &crate::domain::context::RequestContext, v: &View) -> Value {
    minijinja::context! {
        grant => grant_fields(&v.grant),
        images => v.images,
        projects => v.projects,
        can_revoke => grants::may_revoke(state, ctx, &v.grant),
    }
}

fn received(r: &Received) -> Value {
    let images: Vec<Value> = r
        .images
        .iter()
        .map(|i| minijinja::context! { id => i.id, name => i.name, status => i.status.as_str() })
        .collect();
    minijinja::context! {
        grant => grant_fields(&r.grant),
        owner_name => r.owner_name,
        images,
        consent => r.consent.as_str(),
        can_decide => r.can_decide,
    }
}

/// What the last action did, from the redirect's query (fixed words and numbers only).
fn notice(req: &HttpRequest) -> Option<String> {
    let n = query_value(req, "n")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    Some(match query_value(req, "done")?.as_str() {
        "created" => format!("Grant made; shares offered: {n}."),
        "accepted" => format!("Grant accepted; images changed: {n}."),
        "rejected" => format!("Grant rejected; images changed: {n}."),
        "revoked" => "Grant revoked: every share it made is removed.".to_owned(),
        _ => return None,
    })
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !available(&state) {
        return page::not_found(req, state).await;
    }
    let s = match page::viewer(&req, &state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let project = s.ctx.project().unwrap_or_default().to_owned();
    let incoming = match grants_received::received(&state, s.ctx.clone()).await {
        Ok(r) => r,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    // An admin's listing holds every project's grants: the page shows this project's.
    let mine = match grants::list(&state, s.ctx.clone()).await {
        Ok(all) => all.into_iter().filter(|v| v.grant.owner == project),
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let mine: Vec<View> = mine.collect();
    let revoke_any = mine
        .iter()
        .any(|v| grants::may_revoke(&state, &s.ctx, &v.grant));
    let mine: Vec<Value> = mine.iter().map(|v| own(&state, &s.ctx, v)).collect();
    let incoming: Vec<Value> = incoming.iter().map(received).collect();
    page::render(
        &req,
        &state,
        StatusCode::OK,
        "grants.html",
        Some(&s),
        minijinja::context! {
            nav => "grants",
            incoming,
            mine,
            revoke_any,
            can_create => grants::may_create(&state, &s.ctx),
            done => notice(&req),
        },
    )
}

/// The create form as `POST /v2/glint/grants`'s body: the target, and the images by ids or by
/// tag (whichever is filled; both or neither is the API's own 400).
fn grant_body(f: &Fields) -> serde_json::Value {
    let id = f.text("target_id").trim();
    let target = match f.text("target_kind") {
        "domain" => json!({ "domain": id }),
        "subtree" => json!({ "project": id }),
        _ => json!({}),
    };
    let mut body = json!({ "target": target });
    let images = id_list(f.text("images"));
    if !images.is_empty() {
        body["images"] = json!(images);
    }
    let tag = f.text("tag").trim();
    if !tag.is_empty() {
        body["tag"] = json!(tag);
    }
    body
}

pub async fn create(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    if !available(&state) {
        return page::not_found(req, state).await;
    }
    form_post::run(req, state, body, |st, ctx, f| async move {
        let g = NewGrant::parse(&grant_body(&f))?;
        let v = grants::create(&st, ctx, g).await?;
        Ok(format!("/grants?done=created&n={}", v.created.unwrap_or(0)))
    })
    .await
}

pub async fn decide(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    if !available(&state) {
        return page::not_found(req, state).await;
    }
    form_post::run(req, state, body, |st, ctx, f| async move {
        let d = Decision::parse(&json!({ "status": f.text("status") }))?;
        let id = f.text("grant").trim().to_owned();
        let (_, changed) = grants::decide(&st, ctx, id, d).await?;
        Ok(format!("/grants?done={}&n={changed}", d.as_str()))
    })
    .await
}

/// The confirmation before a revoke: what the grant covers and reaches.
pub async fn confirm(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !available(&state) {
        return page::not_found(req, state).await;
    }
    let s = match page::viewer(&req, &state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = query_value(&req, "id").unwrap_or_default();
    let v = match grants::get(&state, s.ctx.clone(), id).await {
        Ok(v) => v,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    page::render(
        &req,
        &state,
        StatusCode::OK,
        "grant_revoke.html",
        Some(&s),
        minijinja::context! { nav => "grants", it => own(&state, &s.ctx, &v) },
    )
}

pub async fn revoke(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    if !available(&state) {
        return page::not_found(req, state).await;
    }
    form_post::run(req, state, body, |st, ctx, f| async move {
        grants::delete(&st, ctx, f.text("grant").trim().to_owned()).await?;
        Ok("/grants?done=revoked".to_owned())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::grant::{Selector, Target};

    fn form(s: &str) -> Fields {
        Fields::parse(&Bytes::from(s.to_owned())).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_form_is_the_api_document() {
        let g = NewGrant::parse(&grant_body(&form(
            "target_kind=domain&target_id=+d1+&images=a%2C+b%0D%0Aa&tag=&csrf=x",
        )));
        assert_eq!(
            g.ok(),
            Some(NewGrant {
                selector: Selector::Images(vec!["a".into(), "b".into()]),
                target: Target::Domain("d1".into()),
            })
        );
        let g = NewGrant::parse(&grant_body(&form(
            "target_kind=subtree&target_id=p1&images=&tag=golden",
        )));
        assert_eq!(
            g.ok(),
            Some(NewGrant {
                selector: Selector::Tag("golden".into()),
                target: Target::Subtree("p1".into()),
            })
        );
        // Both, neither, or no target kind: the API's own refusals.
        for bad in [
            "target_kind=domain&target_id=d&images=a&tag=t",
            "target_kind=domain&target_id=d",
            "target_kind=galaxy&target_id=d&images=a",
            "target_kind=domain&target_id=&images=a",
        ] {
            assert!(NewGrant::parse(&grant_body(&form(bad))).is_err(), "{bad}");
        }
    }
}
