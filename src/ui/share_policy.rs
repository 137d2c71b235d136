//! The project's trust policy: which owners' offers arrive accepted, what becomes of offers
//! from the others. Through `service::share_policy` like
//! `GET|PUT /v2/glint/projects/{project_id}/share-policy`.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::forms::Fields;
use super::{form_post, page};
use crate::api::v2::views::timestamp;
use crate::app::AppState;
use crate::domain::share_policy::SharePolicy;
use crate::domain::ui_form::id_list;
use crate::policy::new_image_target;
use crate::service::share_policy;

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let s = match page::viewer(&req, &state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let project = s.ctx.project().unwrap_or_default().to_owned();
    let stored = match share_policy::get(&state, s.ctx.clone(), project.clone()).await {
        Ok(p) => p,
        Err(e) => return page::error(&req, &state, Some(&s), e),
    };
    let default = SharePolicy::default();
    let p = stored.as_ref().map_or(&default, |st| &st.policy);
    let can_set = state.policy.allows(
        "glint:set_share_policy",
        &s.ctx,
        &new_image_target(Some(&project)),
    );
    page::render(
        &req,
        &state,
        StatusCode::OK,
        "policy.html",
        Some(&s),
        minijinja::context! {
            nav => "policy",
            owners => p.owners.join("\n"),
            domains => p.domains.join("\n"),
            same_domain => p.same_domain,
            untrusted => p.untrusted.as_str(),
            mode => p.mode.as_str(),
            updated_at => stored.as_ref().map(|st| timestamp(&st.updated_at)),
            can_set,
            saved => req.query_string() == "saved=1",
        },
    )
}

/// The policy document `SharePolicy::parse` reads, from the form.
fn policy_body(f: &Fields) -> serde_json::Value {
    json!({
        "auto_accept": {
            "owners": id_list(f.text("owners")),
            "domains": id_list(f.text("domains")),
            "same_domain": f.get("same_domain") == Some("on"),
        },
        "untrusted": f.text("untrusted"),
        "mode": f.text("mode"),
    })
}

pub async fn save(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    form_post::run(req, state, body, |st, ctx, f| async move {
        let project = ctx.project().unwrap_or_default().to_owned();
        share_policy::put(&st, ctx, project, policy_body(&f)).await?;
        Ok("/policy?saved=1".to_owned())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_the_api_document() {
        let f = Fields::parse(&Bytes::from_static(
            b"owners=p1%0D%0Ap2%2Cp1&domains=&same_domain=on&untrusted=hide&mode=audit&csrf=x",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let body = policy_body(&f);
        assert_eq!(
            body,
            json!({"auto_accept": {"owners": ["p1", "p2"], "domains": [], "same_domain": true},
                   "untrusted": "hide", "mode": "audit"})
        );
        assert!(SharePolicy::parse(&body).is_ok());
    }
}
