//! The project's sharing history, oldest first, a page at a time: through
//! `service::share_events` like `GET /v2/glint/share-events` (the owner sees its images' events,
//! a member the events that name it).

use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};

use super::page;
use crate::api::v2::views::timestamp;
use crate::app::AppState;
use crate::domain::share_event::EventQuery;
use crate::service::share_events;

/// A state recorded with an event, as text (`{"status": "pending"}` → `status: pending`).
fn state_text(raw: &Option<String>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(raw.as_deref()?).ok()?;
    let o = v.as_object()?;
    let parts: Vec<String> = o
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect();
    Some(parts.join(", "))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let s = match page::viewer(&req, &state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = match EventQuery::parse(
        req.query_string(),
        state.config.limit_param_default,
        state.config.api_limit_max,
    ) {
        Ok(q) => q,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let (events, next) = match share_events::list(&state, s.ctx.clone(), q).await {
        Ok(r) => r,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let events: Vec<minijinja::Value> = events
        .iter()
        .map(|e| {
            minijinja::context! {
                id => e.id,
                at => timestamp(&e.at),
                action => e.action,
                via => e.via,
                image_id => e.image(),
                owner => e.owner,
                member_id => e.member,
                actor_user => e.actor_user,
                actor_project => e.actor_project,
                from => state_text(&e.from_state),
                to => state_text(&e.to_state),
            }
        })
        .collect();
    // The next page's query, from the API's link (`...?limit=..&marker=..`).
    let next_query = next
        .as_deref()
        .and_then(|n| n.split_once('?').map(|(_, q)| q.to_owned()));
    page::render(
        &req,
        &state,
        StatusCode::OK,
        "history.html",
        Some(&s),
        minijinja::context! { nav => "history", events, next_query },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_as_text() {
        let t = |s: &str| state_text(&Some(s.to_owned()));
        assert_eq!(
            t(r#"{"status":"pending"}"#).as_deref(),
            Some("status: pending")
        );
        assert_eq!(
            t(r#"{"status":"accepted","expires_at":null}"#).as_deref(),
            Some("status: accepted, expires_at: null")
        );
        assert_eq!(state_text(&None), None);
        assert_eq!(t("not json"), None);
    }
}
