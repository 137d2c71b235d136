//! Per-domain guardrails (`GET|PUT /v2/glint/domains/{domain_id}/guardrails`) and the
//! guardrails that apply to an acting project: the operator's and its domain's
//! (`domain::domain_guardrails::Effective`).
//!
//! A domain's guardrails are read with one primary-key read on each guarded action (an image
//! made public or community, a share, a grant), not cached per process: the read is as cheap
//! as a cache miss's would be, those actions are rare next to reads, and a change a domain
//! admin makes must hold at once on every glint process (a cache would let a project publish
//! for its TTL on a process that had not seen the change).

use serde_json::{json, Value};

use super::images::now;
use super::share_events::record;
use crate::app::AppState;
use crate::db::{self, domain_guardrails::Stored, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::domain_guardrails::{parse_body, Effective, MAX_DOMAIN_ID_LEN};
use crate::domain::guardrails::Guardrails;
use crate::domain::image::Visibility;
use crate::domain::share_event::{Action, NewEvent, Via, NO_IMAGE};
use crate::error::Error;
use crate::notify::Priority;
use crate::policy::Target;

/// The bus event of a change (a name of glint's own: Glance has nothing like it).
pub const EVENT_UPDATE: &str = "glint.domain.guardrails.update";

/// A domain's guardrails as the API shows them, with the operator's beside them.
pub struct View {
    pub domain_id: String,
    pub stored: Option<Stored>,
    pub operator: Guardrails,
}

impl View {
    pub fn to_json(&self) -> Value {
        let s = self.stored.as_ref();
        json!({
            "domain_id": self.domain_id,
            "guardrails": s.map(|s| s.guardrails.names()).unwrap_or_default(),
            "operator": self.operator.names(),
            "updated_at": s.map(|s| crate::domain::share_event::time(s.updated_at)),
            "updated_by": s.and_then(|s| s.updated_by.clone()),
        })
    }
}

/// The policy target: the domain is `target_domain_id`, as for a grant's target domain, so
/// `project_domain_id:%(target_domain_id)s` means "a project of that domain".
fn target(domain: &str) -> Target {
    let mut t = Target::new();
    t.insert("target_domain_id", domain.to_owned());
    t
}

fn check_domain(domain: &str) -> Result<(), Error> {
    if domain.is_empty() || domain.chars().count() > MAX_DOMAIN_ID_LEN {
        return Err(Error::bad_request(format!(
            "Domain id must be 1 to {MAX_DOMAIN_ID_LEN} characters"
        )));
    }
    Ok(())
}

/// `GET`: the domain's readers (its projects' readers), its manager, an admin.
pub async fn get(state: &AppState, ctx: RequestContext, domain: String) -> Result<View, Error> {
    check_domain(&domain)?;
    state
        .policy
        .enforce("glint:get_domain_guardrails", &ctx, &target(&domain))?;
    let d = domain.clone();
    let stored = state
        .read(move |c| Ok(db::domain_guardrails::get(c, &d)?))
        .await?;
    Ok(View {
        domain_id: domain,
        stored,
        operator: state.config.sharing.guardrails,
    })
}

/// `PUT`: a cloud admin, or the domain's manager, replaces its guardrails. A change is
/// history (`guardrails.update`, the domain as `member_id`) and a bus event; the same set
/// again is neither.
pub async fn put(
    state: &AppState,
    ctx: RequestContext,
    domain: String,
    body: Value,
) -> Result<View, Error> {
    check_domain(&domain)?;
    state
        .policy
        .enforce("glint:set_domain_guardrails", &ctx, &target(&domain))?;
    let rails = parse_body(&body)?;
    // A typo must not guard a domain nobody is in (an admin may name any domain).
    if let Some(t) = state.tokens.as_deref() {
        let exists = t.client().domain_exists(&domain).await.map_err(|e| {
            Error::Unavailable(format!(
                "Cannot check the domain in Keystone, try again later ({e})"
            ))
        })?;
        if !exists {
            return Err(Error::bad_request(format!(
                "Domain {domain} is not a domain in Keystone"
            )));
        }
    }
    let (st, c2, d) = (state.clone(), ctx.clone(), domain.clone());
    let (stored, changed) = state
        .write(move |c| {
            let before = db::domain_guardrails::get(c, &d)?;
            let stored = Stored {
                guardrails: rails,
                updated_at: now(),
                updated_by: c2.user_id.clone(),
            };
            db::domain_guardrails::put(c, &d, &stored)?;
            let from = before.map(|b| b.guardrails).unwrap_or_default();
            let changed = from != rails;
            if changed {
                let at = stored.updated_at;
                record(c, &st, || {
                    NewEvent::new(
                        Some(&c2),
                        at,
                        Action::GuardrailsUpdate,
                        Via::Direct,
                        NO_IMAGE,
                        None,
                        &d,
                        Some(json!({ "guardrails": from.names() })),
                        Some(json!({ "guardrails": rails.names() })),
                    )
                })?;
            }
            Ok((stored, changed.then_some(from)))
        })
        .await?;
    if let Some(from) = changed {
        if state.notifier.wants(EVENT_UPDATE) {
            let payload = json!({
                "domain_id": domain,
                "guardrails": stored.guardrails.names(),
                "previous": from.names(),
                "operator": state.config.sharing.guardrails.names(),
                "user_id": ctx.user_id,
                "project_id": ctx.project(),
                "request_id": ctx.request_id,
            });
            state.notifier.emit(EVENT_UPDATE, Priority::Info, payload);
        }
    }
    Ok(View {
        domain_id: domain,
        stored: Some(stored),
        operator: state.config.sharing.guardrails,
    })
}

/// The guardrails that apply to `ctx`'s project, read in `conn`: the operator's, and its
/// domain's (the domain from the validated token). Off, none.
pub(crate) fn effective_in(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
) -> Result<Effective, Error> {
    let s = &state.config.sharing;
    if !s.enabled {
        return Ok(Effective::default());
    }
    let domain = match &ctx.project_domain_id {
        Some(d) => db::domain_guardrails::get(conn, d)?.map(|st| (d.clone(), st.guardrails)),
        None => None,
    };
    Ok(Effective {
        operator: s.guardrails,
        domain,
    })
}

/// `effective_in` in a read of its own.
pub(crate) async fn effective(state: &AppState, ctx: &RequestContext) -> Result<Effective, Error> {
    if !state.config.sharing.enabled || ctx.project_domain_id.is_none() {
        return Ok(operator_only(state));
    }
    let (st, c2) = (state.clone(), ctx.clone());
    state.read(move |c| effective_in(c, &st, &c2)).await
}

/// The operator's alone (no domain to read; off, none).
fn operator_only(state: &AppState) -> Effective {
    let s = &state.config.sharing;
    Effective {
        operator: if s.enabled {
            s.guardrails
        } else {
            Guardrails::default()
        },
        domain: None,
    }
}

/// Whether becoming `v` can meet a guardrail at all (else nothing is read).
fn guarded(state: &AppState, v: Visibility) -> bool {
    state.config.sharing.enabled && matches!(v, Visibility::Public | Visibility::Community)
}

/// The guardrails on an image becoming `v` by `ctx` (403 naming the guardrail), in `conn`.
pub(crate) fn check_visibility_in(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    v: Visibility,
) -> Result<(), Error> {
    if !guarded(state, v) {
        return Ok(());
    }
    refuse_visibility(&effective_in(conn, state, ctx)?, v)
}

/// `check_visibility_in` in a read of its own.
pub(crate) async fn check_visibility(
    state: &AppState,
    ctx: &RequestContext,
    v: Visibility,
) -> Result<(), Error> {
    if !guarded(state, v) {
        return Ok(());
    }
    refuse_visibility(&effective(state, ctx).await?, v)
}

/// 403 naming the guardrail that forbids `v`, if one does.
fn refuse_visibility(rails: &Effective, v: Visibility) -> Result<(), Error> {
    match rails.visibility_refusal(v) {
        Some(why) => Err(Error::forbidden(why)),
        None => Ok(()),
    }
}
