//! Glance's quotas under Keystone unified limits (`use_keystone_limits`): each check compares
//! the caller's project's usage plus the claim with the limit Keystone holds, where Glance makes
//! it (`glance/quota/keystone.py`), and `/v2/info/usage` reports both. Without
//! `use_keystone_limits` nothing is checked and the usage report is empty, as in Glance.

use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::auth::limits::LimitsError;
use crate::db::{self, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::unified_limits::{self as ul, mib};
use crate::error::Error;

/// The project the quotas count for: the caller's (Glance's `context.owner`).
fn project(ctx: &RequestContext) -> Option<String> {
    ctx.project_id.clone()
}

/// The project's current usage of `resource`, as Glance counts it (sizes in whole MiB).
fn usage_of(conn: &mut DbConn, resource: &str, project: Option<&str>) -> Result<i64, Error> {
    let Some(p) = project else { return Ok(0) };
    Ok(match resource {
        ul::IMAGE_SIZE_TOTAL => mib(db::usage::storage(conn, p)?),
        ul::IMAGE_STAGE_TOTAL => mib(db::usage::staging(conn, p)?),
        ul::IMAGE_COUNT_TOTAL => db::usage::image_count(conn, p)?,
        ul::IMAGE_COUNT_UPLOADING => db::usage::uploading_count(conn, p)?,
        other => return Err(Error::internal(format!("unknown quota {other}"))),
    })
}

/// Keystone down is a 503 (retry later; nothing was changed); a configuration that does not
/// fit what Keystone holds is a 500, as Glance fails on it.
fn unavailable(e: LimitsError) -> Error {
    match e {
        LimitsError::Unavailable(m) => {
            Error::Unavailable(format!("cannot read quota limits from Keystone: {m}"))
        }
        LimitsError::Misconfigured(m) => Error::internal(format!(
            "cannot read quota limits from Keystone ([oslo_limit]): {m}"
        )),
    }
}

/// Whether the caller's project may take `delta` more of `resource`: 413 with Glance's text if
/// not. A no-op without `use_keystone_limits`.
pub async fn enforce(
    state: &AppState,
    ctx: &RequestContext,
    resource: &'static str,
    delta: i64,
) -> Result<(), Error> {
    enforce_for(state, project(ctx), resource, delta).await
}

/// [`enforce`] for `project` (an import's checks run after the request, for the task's owner).
pub async fn enforce_for(
    state: &AppState,
    project: Option<String>,
    resource: &'static str,
    delta: i64,
) -> Result<(), Error> {
    let Some(client) = &state.limits else {
        return Ok(());
    };
    let limits = client
        .limits(project.as_deref())
        .await
        .map_err(unavailable)?;
    let p = project.clone();
    let current = state
        .read(move |c| usage_of(c, resource, p.as_deref()))
        .await?;
    let over = ul::over_limits(&limits, &[(resource, current, delta)]);
    if over.is_empty() {
        return Ok(());
    }
    let text = ul::exceeded_text(project.as_deref(), &over);
    tracing::warn!(
        project = project.as_deref().unwrap_or("-"),
        resource,
        current,
        delta,
        "quota exceeded"
    );
    Err(Error::too_large(text))
}

/// `image_size_total` for a claim of `bytes` (Glance rounds it down to whole MiB).
pub async fn enforce_size_total(
    state: &AppState,
    ctx: &RequestContext,
    bytes: u64,
) -> Result<(), Error> {
    enforce(state, ctx, ul::IMAGE_SIZE_TOTAL, mib(to_i64(bytes))).await
}

/// `image_stage_total` for a claim of `bytes`.
pub async fn enforce_stage_total(
    state: &AppState,
    ctx: &RequestContext,
    bytes: u64,
) -> Result<(), Error> {
    enforce(state, ctx, ul::IMAGE_STAGE_TOTAL, mib(to_i64(bytes))).await
}

/// `image_count_uploading`, checked once the image already counts as uploading (delta 0).
pub async fn enforce_uploading(state: &AppState, ctx: &RequestContext) -> Result<(), Error> {
    enforce(state, ctx, ul::IMAGE_COUNT_UPLOADING, 0).await
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The checks an import makes once its image is `importing` (Glance's `get_flow`):
/// glance-direct claims the staged size in the store, web-download claims staging and an
/// uploading place. The 413's text, as the task's failure message, when one is over.
pub async fn enforce_import(
    state: &AppState,
    project: Option<String>,
    method: &str,
    image_size: Option<i64>,
) -> Result<(), Error> {
    let delta = mib(image_size.unwrap_or(0));
    match method {
        "glance-direct" => enforce_for(state, project, ul::IMAGE_SIZE_TOTAL, delta).await,
        _ => {
            enforce_for(state, project.clone(), ul::IMAGE_STAGE_TOTAL, delta).await?;
            enforce_for(state, project, ul::IMAGE_COUNT_UPLOADING, 0).await
        }
    }
}

/// `GET /v2/info/usage`: each quota's limit and the caller's project's usage, or nothing
/// without `use_keystone_limits`.
pub async fn usage(state: &AppState, ctx: &RequestContext) -> Result<Value, Error> {
    let Some(client) = &state.limits else {
        return Ok(json!({"usage": {}}));
    };
    let project = project(ctx);
    let limits = client
        .limits(project.as_deref())
        .await
        .map_err(unavailable)?;
    let usages = state
        .read(move |c| {
            ul::RESOURCES
                .iter()
                .map(|r| usage_of(c, r, project.as_deref()))
                .collect::<Result<Vec<i64>, Error>>()
        })
        .await?;
    let mut out = Map::new();
    for (r, u) in ul::RESOURCES.iter().zip(usages) {
        out.insert((*r).to_owned(), json!({"usage": u, "limit": limits.of(r)}));
    }
    Ok(json!({ "usage": out }))
}
