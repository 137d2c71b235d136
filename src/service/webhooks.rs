//! Webhooks of the sharing extensions: a project's subscriptions (`glint:manage_webhooks`,
//! `glint:get_webhooks`) and their delivery. A change of a share enqueues its event after the
//! commit (never waiting: a full queue drops it, logged); one background worker, on a thread and
//! runtime of its own, delivers events in order, each to the webhooks of the image's owner and of
//! the member that subscribed to it, with retries and backoff, and logs every attempt. The SSRF
//! rule (`domain::webhook::public_address`) is checked on the address the URL resolves to, at
//! creation and again at each delivery, which then connects to that very address.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::app::AppState;
use crate::db::{self, webhooks::Delivery, webhooks::Webhook};
use crate::domain::context::RequestContext;
use crate::domain::member::Member;
use crate::domain::webhook::{
    backoff, cloud_event, parse_url, public_address, sign, EventType, NewWebhook, Target,
    MAX_PER_PROJECT,
};
use crate::error::{Error, Msg};
use crate::policy::project_target;

/// Events waiting for the worker, at most.
pub const QUEUE: usize = 1000;
/// One attempt's limit (connect and answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts shown by `GET /v2/glint/webhooks/{id}/deliveries`.
const DELIVERIES_SHOWN: i64 = 100;

/// One event to deliver.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventType,
    pub id: String,
    pub image_id: String,
    pub owner: Option<String>,
    pub member: String,
    pub data: Value,
}

use super::clock::now;

/// The event of a share's change, for `publish_all`.
pub fn event(kind: EventType, m: &Member, owner: Option<&str>, extra: Value) -> Event {
    let mut data = crate::notify::payload::member(m);
    data["owner"] = json!(owner);
    if let (Value::Object(d), Value::Object(x)) = (&mut data, extra) {
        d.extend(x);
    }
    Event {
        kind,
        id: uuid::Uuid::new_v4().to_string(),
        image_id: m.image_id.clone(),
        owner: owner.map(str::to_owned),
        member: m.member_id.clone(),
        data,
    }
}

/// Enqueue the event of a share's change (after its commit). Never waits.
pub fn publish(state: &AppState, kind: EventType, m: &Member, owner: Option<&str>, extra: Value) {
    if state.webhooks.is_running() {
        publish_all(state, vec![event(kind, m, owner, extra)]);
    }
}

/// Enqueue `events` (one change's, e.g. an image's members in a batch) as one job: one queue
/// slot and one lookup of webhooks for all of them, delivered in order. Never waits.
pub fn publish_all(state: &AppState, events: Vec<Event>) {
    if events.is_empty() || !state.webhooks.is_running() {
        return;
    }
    let st = state.clone();
    let n = events.len();
    let queued = state.webhooks.submit(async move {
        if let Err(e) = deliver(&st, &events).await {
            tracing::warn!(error = %e, "webhook delivery failed");
        }
    });
    if !queued {
        tracing::warn!(events = n, "webhook queue full: events are dropped");
    }
}

/// Each event, in order, to every subscribed webhook of its owner and its member.
async fn deliver(state: &AppState, events: &[Event]) -> Result<(), Error> {
    let mut projects: Vec<String> = Vec::new();
    for ev in events {
        for p in ev.owner.iter().chain(std::iter::once(&ev.member)) {
            if !projects.contains(p) {
                projects.push(p.clone());
            }
        }
    }
    let hooks = state
        .read(move |c| {
            let p: Vec<&str> = projects.iter().map(String::as_str).collect();
            Ok(db::webhooks::of_projects(c, &p)?)
        })
        .await?;
    if hooks.is_empty() {
        return Ok(());
    }
    for ev in events {
        let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let body = cloud_event(&ev.id, ev.kind, &time, &ev.image_id, ev.data.clone());
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::Internal(e.to_string()))?;
        for hook in hooks.iter().filter(|h| {
            (Some(&h.project_id) == ev.owner.as_ref() || h.project_id == ev.member)
                && h.events.split(',').any(|e| e == ev.kind.as_str())
        }) {
            deliver_to(state, hook, ev, &bytes).await?;
        }
    }
    Ok(())
}

async fn deliver_to(
    state: &AppState,
    hook: &Webhook,
    ev: &Event,
    body: &[u8],
) -> Result<(), Error> {
    let cfg = &state.config.sharing;
    for attempt in 1..=cfg.webhook_max_attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(backoff(attempt, cfg.webhook_retry_base)).await;
        }
        let (status_code, error) = match post(state, hook, ev, body).await {
            Ok(s) => (Some(i32::from(s)), None),
            Err(e) => (None, Some(e)),
        };
        let delivered = status_code.is_some_and(|s| (200..300).contains(&s));
        let row = Delivery {
            id: 0,
            webhook_id: hook.id.clone(),
            event_id: ev.id.clone(),
            event_type: ev.kind.as_str().to_owned(),
            attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
            at: now(),
            status_code,
            error,
            delivered,
        };
        state
            .write(move |c| Ok(db::webhooks::record(c, &row)?))
            .await?;
        if delivered {
            break;
        }
    }
    Ok(())
}

/// The addresses `target` resolves to, every one of them allowed (else why not).
async fn resolve(state: &AppState, target: &Target) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{} resolves to no address", target.host));
    }
    if !state.config.sharing.webhook_allow_private {
        if let Some(a) = addrs.iter().find(|a| !public_address(a.ip())) {
            return Err(format!(
                "{} resolves to {}, a loopback, link-local, private or otherwise non-public \
                 address ([glint_sharing] webhook_allow_private is off)",
                target.host,
                a.ip()
            ));
        }
    }
    Ok(addrs)
}

/// One attempt: the answer's status, or why there was none.
async fn post(state: &AppState, hook: &Webhook, ev: &Event, body: &[u8]) -> Result<u16, String> {
    let target = parse_url(&hook.url).map_err(|e| e.to_string())?;
    let addrs = resolve(state, &target).await?;
    // Connect to the address just checked, not to whatever a second lookup would answer.
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&target.host, addrs[0])
        .build()
        .map_err(|e| e.to_string())?;
    let signature = format!("sha256={}", sign(hook.secret.as_bytes(), body));
    let resp = client
        .post(&hook.url)
        .header(
            "Content-Type",
            "application/cloudevents+json; charset=utf-8",
        )
        .header("X-Glint-Signature", signature)
        .header("X-Glint-Event-Id", &ev.id)
        .header("User-Agent", "glint-webhooks")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "no answer in time".to_owned()
            } else if e.is_connect() {
                "cannot connect".to_owned()
            } else {
                format!("request failed: {}", e.without_url())
            }
        })?;
    Ok(resp.status().as_u16())
}

fn own_project(ctx: &RequestContext) -> Result<String, Error> {
    ctx.project()
        .map(str::to_owned)
        .ok_or_else(|| Error::forbidden("Webhooks belong to a project: use a project-scoped token"))
}

/// The webhook as shown (`secret` only when it was just made).
pub fn view(h: &Webhook, with_secret: bool) -> Value {
    let mut v = json!({
        "id": h.id,
        "project_id": h.project_id,
        "url": h.url,
        "events": h.events.split(',').collect::<Vec<_>>(),
        "created_at": crate::domain::share_event::time(h.created_at),
    });
    if with_secret {
        v["secret"] = json!(h.secret);
    }
    v
}

/// `POST /v2/glint/webhooks`.
pub async fn create(state: &AppState, ctx: RequestContext, body: Value) -> Result<Webhook, Error> {
    state
        .policy
        .enforce("glint:manage_webhooks", &ctx, &project_target(&ctx))?;
    let project = own_project(&ctx)?;
    let new = NewWebhook::parse(&body)?;
    resolve(state, &new.target)
        .await
        .map_err(|why| Error::bad_request(format!("url '{}': {why}", new.url)))?;
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hook = Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project.clone(),
        url: new.url,
        secret,
        events: new
            .events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(","),
        created_at: now(),
    };
    let h = hook.clone();
    state
        .write(move |c| {
            if db::webhooks::of_projects(c, &[project.as_str()])?.len() >= MAX_PER_PROJECT {
                return Err(Error::bad_request(format!(
                    "Project {project} has {MAX_PER_PROJECT} webhooks, the most it may have"
                )));
            }
            Ok(db::webhooks::insert(c, &h)?)
        })
        .await?;
    Ok(hook)
}

/// `GET /v2/glint/webhooks`: the caller's project's.
pub async fn list(state: &AppState, ctx: RequestContext) -> Result<Vec<Webhook>, Error> {
    state
        .policy
        .enforce("glint:get_webhooks", &ctx, &project_target(&ctx))?;
    let project = own_project(&ctx)?;
    state
        .read(move |c| Ok(db::webhooks::of_projects(c, &[project.as_str()])?))
        .await
}

/// The webhook `id` if the caller's project owns it (an admin: any), else 404.
async fn owned(state: &AppState, ctx: &RequestContext, id: String) -> Result<Webhook, Error> {
    let (admin, project) = (ctx.is_admin(), ctx.project().map(str::to_owned));
    let found = state.read(move |c| Ok(db::webhooks::get(c, &id)?)).await?;
    found
        .filter(|h| admin || Some(&h.project_id) == project.as_ref())
        .ok_or(Error::NotFound(Msg::Default))
}

/// `DELETE /v2/glint/webhooks/{id}`.
pub async fn delete(state: &AppState, ctx: RequestContext, id: String) -> Result<(), Error> {
    state
        .policy
        .enforce("glint:manage_webhooks", &ctx, &project_target(&ctx))?;
    let hook = owned(state, &ctx, id).await?;
    state
        .write(move |c| Ok(db::webhooks::delete(c, &hook.id)?))
        .await
        .map(|_| ())
}

/// `GET /v2/glint/webhooks/{id}/deliveries`: the newest attempts, oldest first.
pub async fn deliveries(
    state: &AppState,
    ctx: RequestContext,
    id: String,
) -> Result<Vec<Delivery>, Error> {
    state
        .policy
        .enforce("glint:get_webhooks", &ctx, &project_target(&ctx))?;
    let hook = owned(state, &ctx, id).await?;
    state
        .read(move |c| Ok(db::webhooks::deliveries(c, &hook.id, DELIVERIES_SHOWN)?))
        .await
}

/// Delivery-log rows removed per sweep.
const PURGE_BATCH: i64 = 1000;

/// Remove delivery attempts older than `[glint_sharing] history_retention` (the log is part of
/// the sharing history); returns how many went.
pub async fn purge_log(state: &AppState) -> Result<usize, Error> {
    let cfg = &state.config.sharing;
    let Some(keep) = cfg.history_retention.filter(|_| cfg.enabled) else {
        return Ok(0);
    };
    let Some(cutoff) = chrono::Duration::from_std(keep)
        .ok()
        .and_then(|k| chrono::Utc::now().naive_utc().checked_sub_signed(k))
    else {
        return Ok(0);
    };
    state
        .write(move |c| Ok(db::webhooks::purge_before(c, cutoff, PURGE_BATCH)?))
        .await
}
