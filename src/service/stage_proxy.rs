//! Requests replayed on the worker that holds an image's local state (Glance's
//! `_proxy_request_to_host`). A `glance-direct` stage lands in one worker's staging directory;
//! an import or a delete of that image reaching another worker of the deployment is sent on to
//! the worker named by `os_glance_stage_host`, with the caller's own credentials, so that it
//! runs where the data is. Its answer is the caller's answer.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::access::{load_visible, Visible};
use crate::app::AppState;
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::import::{self as import_domain, stage_host};
use crate::error::{Error, Msg};

/// Marks a replayed request: the worker receiving it handles it itself, whatever the image
/// says, so that two workers that disagree about a URL never pass a request back and forth.
pub const REPLAYED_HEADER: &str = "x-glint-replayed";

/// Glance waits 60 s for the other worker; an import's answer comes before its work.
const TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What is needed to replay a request elsewhere: its method and path, and the headers that
/// carry the caller's identity (the token; noauth's identity headers).
#[derive(Debug, Clone)]
pub struct Replay {
    pub method: reqwest::Method,
    pub path: String,
    pub credentials: Vec<(String, String)>,
    /// Set when the request is itself a replay: it is never sent on again.
    pub replayed: bool,
}

/// This worker's own URL, as it records it on what it stages.
fn self_url(state: &AppState) -> Option<String> {
    stage_host(
        state.config.worker_self_reference_url.as_deref(),
        state.config.public_endpoint.as_deref(),
    )
}

/// The worker to replay a request about `id` on, if it is another one. First the checks the
/// request makes before Glance would replay it (`admit`, on an image the caller can see: else
/// this worker's own 404 or 403, as without a replay).
async fn elsewhere(
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    replay: &Replay,
    not_found: String,
    admit: fn(&AppState, &RequestContext, &Visible) -> Result<(), Error>,
) -> Result<Option<String>, Error> {
    if replay.replayed {
        return Ok(None);
    }
    let st = state.clone();
    let (ctx, id) = (ctx.clone(), id.clone());
    let image = state
        .read(move |c| {
            let v = load_visible(c, &st, &ctx, &id, &not_found, false)?;
            admit(&st, &ctx, &v)?;
            Ok(v.image)
        })
        .await?;
    let own = self_url(state);
    Ok(import_domain::proxy_host(&image, own.as_deref()).map(str::to_owned))
}

/// `POST /v2/images/{id}/import` with `glance-direct` of an image staged on another worker:
/// replayed there, after the checks Glance makes first (the image's state for the method, then
/// `modify_image`). `Ok(true)`: the other worker accepted it.
pub async fn import_elsewhere(
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    method: &str,
    body: &Value,
    replay: &Replay,
) -> Result<bool, Error> {
    if method != "glance-direct" {
        return Ok(false);
    }
    let not_found = format!("No image found with ID {id}");
    let host = elsewhere(state, ctx, id, replay, not_found, |st, ctx, v| {
        import_domain::check_target(&v.image, "glance-direct")?;
        st.policy.enforce("modify_image", ctx, &v.target(ctx))
    })
    .await?;
    match host {
        Some(host) => forward(&host, replay, Some(body)).await.map(|()| true),
        None => Ok(false),
    }
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // The other worker is named by the deployment, and its answer is passed on as it is.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// Sends the request to `host` and maps its answer as Glance does: a 2xx is success; any other
/// status is the caller's, with the other worker's reason as its title; no connection or no
/// answer in time is `504 Stage host is unavailable`, any other failure `502`.
async fn forward(host: &str, replay: &Replay, body: Option<&Value>) -> Result<(), Error> {
    let url = format!("{}{}", host.trim_end_matches('/'), replay.path);
    tracing::info!(method = %replay.method, %url, "replaying the request on the worker holding the image");
    let mut req = client()
        .request(replay.method.clone(), &url)
        .header(REPLAYED_HEADER, "1");
    for (name, value) in &replay.credentials {
        req = req.header(name.as_str(), value.as_str());
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(Error::Proxied(
            r.status().as_u16(),
            Msg::Explanation(String::new()),
        )),
        Err(e) if e.is_connect() || e.is_timeout() => {
            tracing::error!(%url, error = %e, "cannot replay the request on the stage host");
            Err(Error::Proxied(
                504,
                Msg::Detail("Stage host is unavailable".into()),
            ))
        }
        Err(e) => {
            tracing::error!(%url, error = %e, "cannot replay the request on the stage host");
            Err(Error::Proxied(
                502,
                Msg::Detail("Stage host is unavailable".into()),
            ))
        }
    }
}

/// `DELETE /v2/images/{id}` of an image staged on another worker: replayed there so that its
/// staged data goes too. `Ok(true)`: done there. `Ok(false)`: delete here (nothing to replay,
/// or the other worker failed or could not be reached: the image goes, its staged file stays
/// behind on that worker, as in Glance). A refusal there (4xx) is the caller's answer.
pub async fn delete_elsewhere(
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    replay: &Replay,
) -> Result<bool, Error> {
    let not_found = format!("Failed to find image {id} to delete");
    let host = elsewhere(state, ctx, id, replay, not_found, |st, ctx, v| {
        st.policy.enforce("delete_image", ctx, &v.target(ctx))
    })
    .await?;
    let Some(host) = host else {
        return Ok(false);
    };
    match forward(&host, replay, None).await {
        Ok(()) => Ok(true),
        Err(Error::Proxied(code, _)) if code >= 500 => Ok(false),
        Err(e) => Err(e),
    }
}
