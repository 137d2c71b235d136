//! The inbox: offers to the project (pending first), with counts; accept or reject one, a
//! selection, or everything from one owner, through `service::inbox` like
//! `POST /v2/glint/inbox/decisions`; ask for a renewal through `service::members` like
//! `PUT /v2/glint/images/{id}/members/{member}`.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::forms::{query_value, Fields};
use super::{form_post, page, view};
use crate::app::AppState;
use crate::domain::id::ImageId;
use crate::domain::inbox_query::InboxQuery;
use crate::error::Error;
use crate::policy::image_target;
use crate::service::inbox::{self, Outcome};

/// The query keys the inbox reads (`InboxQuery`); the page's own (`done`, counts) are not passed on.
const QUERY_KEYS: &[&str] = &["status", "owner", "limit", "marker"];

/// The query string of the inbox's own keys, empty values left out (an empty owner filter
/// means none).
fn inbox_query(raw: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, v)| QUERY_KEYS.contains(&k.as_str()) && !v.trim().is_empty())
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let s = match page::viewer(&req, &state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = match InboxQuery::parse(
        &inbox_query(req.query_string()),
        state.config.limit_param_default,
        state.config.api_limit_max,
    ) {
        Ok(q) => q,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let status = query_value(&req, "status").unwrap_or_else(|| "pending".into());
    let owner = q.owner.clone();
    let page_data = match inbox::inbox(&state, s.ctx.clone(), q).await {
        Ok(p) => p,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let now = chrono::Utc::now().naive_utc();
    let mut owners: Vec<String> = Vec::new();
    let shares: Vec<minijinja::Value> = page_data
        .shares
        .iter()
        .map(|(img, m)| {
            if let Some(o) = &img.owner {
                if !owners.contains(o) {
                    owners.push(o.clone());
                }
            }
            let can_renew = state.policy.allows(
                "glint:request_renewal",
                &s.ctx,
                &image_target(img, &s.ctx, true),
            );
            let owner_name = img
                .owner
                .as_ref()
                .and_then(|o| page_data.owner_names.get(o))
                .map(|p| p.name.clone());
            minijinja::context! {
                image => view::image(img), member => view::member(m, now), can_renew, owner_name
            }
        })
        .collect();
    let counts: std::collections::BTreeMap<&str, i64> = page_data.counts.iter().copied().collect();
    // The next page's query, from the API's link (`/v2/glint/inbox?...`).
    let next_query = page_data
        .next
        .as_deref()
        .and_then(|n| n.split_once('?').map(|(_, q)| q.to_owned()));
    let can_decide = inbox::may_decide(&state, &s.ctx);
    page::render(
        &req,
        &state,
        StatusCode::OK,
        "inbox.html",
        Some(&s),
        minijinja::context! {
            nav => "inbox",
            status,
            owner,
            shares,
            counts,
            owners,
            next_query,
            can_decide,
            done => notice(&req),
        },
    )
}

/// What the last decision did, from the redirect's query (numbers only: no text travels in it).
fn notice(req: &HttpRequest) -> Option<minijinja::Value> {
    let decided = query_value(req, "done")?;
    let verb = match decided.as_str() {
        "accepted" => "Accepted",
        "rejected" => "Rejected",
        "renewal" => "Renewal asked",
        _ => return None,
    };
    let n = |k: &str| -> u32 {
        query_value(req, k)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(minijinja::context! {
        verb,
        updated => n("updated"),
        unchanged => n("unchanged"),
        failed => n("failed"),
        more => n("more") > 0,
    })
}

/// The decision a form names: one share (`one` = `accepted:<image id>`), the selected ones
/// (`status` and each checked `image`), or every share from `owner` (`status`).
fn decisions_body(f: &Fields) -> serde_json::Value {
    if let Some((status, id)) = f.get("one").and_then(|v| v.split_once(':')) {
        return json!({"status": status, "image_ids": [id]});
    }
    match f.get("owner") {
        Some(owner) => json!({"status": f.text("status"), "owner": owner}),
        None => json!({"status": f.text("status"), "image_ids": f.all("image")}),
    }
}

pub async fn decide(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    form_post::run(req, state, body, |st, ctx, f| async move {
        let body = decisions_body(&f);
        if body["image_ids"].as_array().is_some_and(Vec::is_empty) {
            return Err(Error::bad_request("Select at least one share first."));
        }
        let decided = inbox::decide(&st, ctx, &body).await?;
        let (done, results, more) = (decided.status.as_str(), decided.results, decided.more);
        let count = |o: Outcome| results.iter().filter(|(_, x)| *x == o).count();
        let failed = count(Outcome::NotFound) + count(Outcome::Forbidden);
        Ok(format!(
            "/inbox?status={}&done={done}&updated={}&unchanged={}&failed={failed}&more={}",
            f.get("back")
                .filter(|b| {
                    [
                        "pending", "accepted", "rejected", "expired", "all", "hidden",
                    ]
                    .contains(b)
                })
                .unwrap_or("pending"),
            count(Outcome::Updated),
            count(Outcome::Unchanged),
            u8::from(more),
        ))
    })
    .await
}

/// Ask the owner to renew a share that will expire (`os_glint.renewal_requested`), as the
/// member does with `PUT /v2/glint/images/{id}/members/{member}`.
pub async fn renew(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    form_post::run(req, state, body, |st, ctx, f| async move {
        let image = ImageId::from_path(f.text("renew").trim());
        let member = ctx.project().unwrap_or_default().to_owned();
        let body = json!({"os_glint": {"renewal_requested": true}});
        crate::service::members::change_ext(&st, ctx, image, member, body).await?;
        Ok("/inbox?status=accepted&done=renewal&updated=1".to_owned())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_inbox_keys_go_on() {
        assert_eq!(
            inbox_query("status=all&owner=&done=accepted&updated=2"),
            "status=all"
        );
        assert_eq!(inbox_query("owner=p1&marker=m"), "owner=p1&marker=m");
        assert_eq!(inbox_query("%zz"), "");
    }

    #[test]
    fn forms_name_one_a_selection_or_an_owner() {
        let f =
            |s: &str| Fields::parse(&Bytes::from(s.to_owned())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            decisions_body(&f("one=accepted%3Aimg-1&image=img-2&status=rejected")),
            json!({"status": "accepted", "image_ids": ["img-1"]})
        );
        assert_eq!(
            decisions_body(&f("status=rejected&image=a&image=b")),
            json!({"status": "rejected", "image_ids": ["a", "b"]})
        );
        assert_eq!(
            decisions_body(&f("status=accepted&owner=p9")),
            json!({"status": "accepted", "owner": "p9"})
        );
    }
}
