//! `/v2/glint`: what this deployment's sharing extensions offer (`../shared/design/sharing-extensions.md`).
//! With them off it answers as Glance answers any unknown `/v2` path (404), so a client can probe.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::glint_ctx::GlintCall;
use super::views;
use crate::api::json;
use crate::domain::batch_share::{self, Outcome, Target};
use crate::domain::id::ImageId;
use crate::domain::inbox_query::InboxQuery;
use crate::domain::member_ext::NOTE_MAX_CHARS;
use crate::domain::share_event::EventQuery;
use crate::domain::share_policy::{SharePolicy, MAX_TRUSTED};
use crate::error::Error;
use crate::policy::project_target;
use crate::service::{members, webhooks};

/// The extensions this build serves when `[glint_sharing] enabled`.
pub const EXTENSIONS: &[&str] = &[
    "member-expiry",
    "member-note",
    "member-renewal-request",
    "member-last-download",
    "inbox",
    "inbox-decisions",
    "inbox-owner-names",
    "share-policy",
    "share-events",
    "batch-share",
    "webhooks",
    "image-copy",
    "domain-guardrails",
];

/// `PUT /v2/glint/images/{id}/members/{member_id}` with `{"os_glint": {...}}`: the owner changes
/// the share's expiry and note, the member asks for a renewal. Answers the member object.
pub async fn change_member_ext(
    call: GlintCall,
    path: web::Path<(ImageId, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let (id, member) = path.into_inner();
    members::authorize_change_ext(&call.state, &call.ctx, &id, &member).await?;
    let body = call.json_body(payload).await?;
    let m = members::change_ext(&call.state, call.ctx, id, member, body).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::member(&m)))
}

/// `GET /v2/glint/inbox`: the caller's project's shares across images (`status`, `owner`,
/// `limit`, `marker`), newest offer first, with the count of each state.
pub async fn inbox(call: GlintCall) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let q = InboxQuery::parse(
        call.req.query_string(),
        call.state.config.limit_param_default,
        call.state.config.api_limit_max,
    )?;
    let page = crate::service::inbox::inbox(&call.state, call.ctx, q).await?;
    let shares: Vec<Value> = page
        .shares
        .iter()
        .map(|(img, m)| {
            let mut image = json!({
                "id": img.id,
                "name": img.name,
                "owner": img.owner,
                "size": img.size,
                "disk_format": img.disk_format,
                "created_at": views::timestamp(&img.created_at),
            });
            // The owner's name when glint has seen it (a token of that project, a lookup).
            if let Some(p) = img.owner.as_ref().and_then(|o| page.owner_names.get(o)) {
                image["owner_name"] = json!(p.name);
                if let Some(d) = &p.domain_id {
                    image["owner_domain_id"] = json!(d);
                }
            }
            json!({
                "image": image,
                "member": serde_json::to_value(views::member(m)).unwrap_or(Value::Null),
            })
        })
        .collect();
    let counts: serde_json::Map<String, Value> = page
        .counts
        .iter()
        .map(|(k, n)| ((*k).to_owned(), json!(n)))
        .collect();
    let mut body = json!({"shares": shares, "counts": counts});
    if let Some(next) = page.next {
        body["next"] = json!(next);
    }
    Ok(json::respond(HttpResponse::Ok(), &body))
}

/// `POST /v2/glint/inbox/decisions`: accept or reject shares of the caller's project in bulk.
pub async fn decide(call: GlintCall, payload: web::Payload) -> Result<HttpResponse, Error> {
    let body = call.json_body(payload).await?;
    let decided = crate::service::inbox::decide(&call.state, call.ctx, &body).await?;
    let (results, more) = (decided.results, decided.more);
    let results: Vec<Value> = results
        .iter()
        .map(|(id, o)| json!({"image_id": id, "outcome": o.as_str()}))
        .collect();
    let mut out = json!({ "results": results });
    if more {
        out["more"] = json!(true);
    }
    Ok(json::respond(HttpResponse::Ok(), &out))
}

pub async fn discovery(call: GlintCall) -> Result<HttpResponse, Error> {
    call.no_body()?;
    call.state
        .policy
        .enforce("glint:discover", &call.ctx, &project_target(&call.ctx))?;
    let mut extensions: Vec<&str> = EXTENSIONS.to_vec();
    // Reminders are the operator's choice (`expiry_reminders`); listed only when configured.
    if !call.state.config.sharing.expiry_reminders.is_empty() {
        extensions.push("expiry-reminders");
    }
    // Grants resolve their targets in Keystone: listed only where glint validates tokens there.
    let grants = call.state.tokens.is_some();
    if grants {
        extensions.push("grants");
    }
    let mut doc = json!({
        "extensions": extensions,
        "limits": {
            "note_max_chars": NOTE_MAX_CHARS,
            "decisions_max_images": crate::domain::inbox_query::MAX_DECISIONS,
            "share_policy_max_ids": MAX_TRUSTED,
            "batch_max_images": batch_share::MAX_IMAGES,
            "batch_max_projects": batch_share::MAX_TARGETS,
            "batch_max_pairs": batch_share::MAX_PAIRS,
        },
    });
    if grants {
        doc["limits"]["grant_max_images"] = crate::domain::grant::MAX_IMAGES.into();
        doc["limits"]["grant_max_tagged_images"] = crate::domain::grant::MAX_TAGGED_IMAGES.into();
        doc["limits"]["grant_max_projects"] = crate::domain::grant::MAX_PROJECTS.into();
    }
    Ok(json::respond(HttpResponse::Ok(), &doc))
}

/// The share-policy document: the policy, and what glint recorded about it.
fn policy_view(project: &str, stored: Option<&crate::db::share_policy::Stored>) -> Value {
    let default = SharePolicy::default();
    let mut body = stored.map_or(&default, |s| &s.policy).to_json();
    body["project_id"] = json!(project);
    body["domain_id"] = json!(stored.and_then(|s| s.domain_id.as_deref()));
    body["updated_at"] = json!(stored.map(|s| views::timestamp(&s.updated_at)));
    json!({ "share_policy": body })
}

/// `GET /v2/glint/projects/{project_id}/share-policy`: the recipient project's trust policy
/// (the default, which changes nothing, if it set none).
pub async fn get_share_policy(
    call: GlintCall,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let project = path.into_inner();
    let stored = crate::service::share_policy::get(&call.state, call.ctx, project.clone()).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &policy_view(&project, stored.as_ref()),
    ))
}

/// `PUT /v2/glint/projects/{project_id}/share-policy` with the whole policy.
pub async fn put_share_policy(
    call: GlintCall,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let project = path.into_inner();
    let body = call.json_body(payload).await?;
    let stored =
        crate::service::share_policy::put(&call.state, call.ctx, project.clone(), body).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &policy_view(&project, Some(&stored)),
    ))
}

/// `GET /v2/glint/share-events`: the sharing history the caller may read, oldest first.
pub async fn share_events(call: GlintCall) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let q = EventQuery::parse(
        call.req.query_string(),
        call.state.config.limit_param_default,
        call.state.config.api_limit_max,
    )?;
    let (events, next) = crate::service::share_events::list(&call.state, call.ctx, q).await?;
    let parse = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null)
    };
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "at": views::timestamp(&e.at),
                "action": e.action,
                "image_id": e.image(),
                "owner": e.owner,
                "member_id": e.member,
                "actor": {"user_id": e.actor_user, "project_id": e.actor_project},
                "request_id": e.request_id,
                "from": parse(&e.from_state),
                "to": parse(&e.to_state),
                "via": e.via,
            })
        })
        .collect();
    let mut body = json!({ "events": events });
    if let Some(next) = next {
        body["next"] = json!(next);
    }
    Ok(json::respond(HttpResponse::Ok(), &body))
}

/// `POST /v2/glint/shares`: share images with projects in one call, one outcome per pair
/// (`service::batch_share`); with `dry_run`, the outcomes it would have and no change.
pub async fn batch_share(call: GlintCall, payload: web::Payload) -> Result<HttpResponse, Error> {
    let body = call.json_body(payload).await?;
    let shared = crate::service::batch_share::share(&call.state, call.ctx, &body).await?;
    let (results, dry_run) = (shared.results, shared.dry_run);
    let mut counts = serde_json::Map::new();
    for o in Outcome::ALL {
        let n = results.iter().filter(|r| r.outcome == o).count();
        counts.insert(o.as_str().to_owned(), json!(n));
    }
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut v = json!({
                "image_id": r.image_id,
                "member_id": r.member_id,
                "outcome": r.outcome.as_str(),
            });
            if let Target::Name { name, domain } = &r.target {
                v["project"] = json!({"name": name, "domain": domain});
            }
            v
        })
        .collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({"results": results, "counts": counts, "dry_run": dry_run}),
    ))
}

/// `POST /v2/glint/webhooks`: subscribe a URL of the caller's project to share events. 201 with
/// the webhook and its signing `secret` (shown this once).
pub async fn create_webhook(call: GlintCall, payload: web::Payload) -> Result<HttpResponse, Error> {
    let body = call.json_body(payload).await?;
    let h = webhooks::create(&call.state, call.ctx, body).await?;
    Ok(json::respond(
        HttpResponse::Created(),
        &json!({ "webhook": webhooks::view(&h, true) }),
    ))
}

/// `GET /v2/glint/webhooks`: the caller's project's webhooks (without secrets).
pub async fn list_webhooks(call: GlintCall) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let hooks = webhooks::list(&call.state, call.ctx).await?;
    let hooks: Vec<Value> = hooks.iter().map(|h| webhooks::view(h, false)).collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "webhooks": hooks }),
    ))
}

/// `DELETE /v2/glint/webhooks/{id}`.
pub async fn delete_webhook(
    call: GlintCall,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    call.no_body()?;
    webhooks::delete(&call.state, call.ctx, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v2/glint/webhooks/{id}/deliveries`: the newest delivery attempts, oldest first.
pub async fn webhook_deliveries(
    call: GlintCall,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let rows = webhooks::deliveries(&call.state, call.ctx, path.into_inner()).await?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "event_id": d.event_id,
                "type": d.event_type,
                "attempt": d.attempt,
                "at": crate::domain::share_event::time(d.at),
                "status_code": d.status_code,
                "error": d.error,
                "delivered": d.delivered,
            })
        })
        .collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "deliveries": rows }),
    ))
}
