//! A browser's session: the project-scoped Keystone token in one cookie, validated on every
//! request exactly as an `X-Auth-Token` is, and the checks every POST passes (same origin, and
//! the session's form token).

use actix_web::cookie::{time::OffsetDateTime, Cookie, SameSite};
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};

use super::place;
use crate::app::AppState;
use crate::auth::{context_of, KeystoneError};
use crate::domain::context::RequestContext;
use crate::domain::csrf;
use crate::error::Error;

/// The cookie's name; its value is the token and nothing else.
pub const COOKIE: &str = "glint_ui_session";

/// A logged-in browser.
pub struct Session {
    pub token: String,
    pub ctx: RequestContext,
    pub user_id: String,
    pub project_name: Option<String>,
    /// The form token every POST of this session must carry.
    pub csrf: String,
}

/// The session of the request's cookie; `None` without a cookie or with a token Keystone no
/// longer accepts (expired, revoked, not project-scoped).
pub async fn current(req: &HttpRequest, state: &AppState) -> Result<Option<Session>, Error> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let token = cookie.value().to_owned();
    let Some(tokens) = state.tokens.clone() else {
        return Err(Error::Unavailable("no Keystone is configured".into()));
    };
    let identity = match tokens.validate(&token).await {
        Ok(id) => id,
        Err(KeystoneError::Invalid) => return Ok(None),
        Err(KeystoneError::Unavailable(why)) => {
            tracing::warn!(%why, "web page session check failed: Keystone unavailable");
            return Err(Error::Unavailable(why));
        }
    };
    if identity.project_id.is_none() {
        return Ok(None);
    }
    // As for an API token: the project's name is learnt, and a project created after a grant
    // to its domain or subtree gets the grant's rows before the page reads anything.
    crate::service::project_names::seen_token(state, &identity);
    let mut ctx = context_of(&identity);
    crate::api::context::remember(req, &mut ctx);
    crate::service::grants::project_seen(state, &ctx).await;
    Ok(Some(Session {
        csrf: csrf::token(&state.config.ui.csrf_secret, &token),
        token,
        ctx,
        user_id: identity.user_id.clone(),
        project_name: identity.project_name.clone(),
    }))
}

/// Why a POST is refused before anything is done.
pub enum Refusal {
    /// No (valid) session: log in first.
    LoggedOut,
    /// Cross-site: wrong origin, or a missing or foreign form token.
    Forbidden(&'static str),
    Failed(Error),
}

/// The session of a POST that comes from this site's own page: its `Origin` (or `Referer`)
/// is this site, and `form_token` is the session's.
pub async fn for_post(
    req: &HttpRequest,
    state: &AppState,
    form_token: Option<&str>,
) -> Result<Session, Refusal> {
    same_origin(req, state)?;
    let Some(s) = current(req, state).await.map_err(Refusal::Failed)? else {
        return Err(Refusal::LoggedOut);
    };
    let valid = form_token.is_some_and(|t| csrf::verify(&state.config.ui.csrf_secret, &s.token, t));
    if !valid {
        return Err(Refusal::Forbidden(
            "This form has expired or was not sent by this page (its security token does not \
             match your session). Reload the page and try again.",
        ));
    }
    Ok(s)
}

/// The origin check alone (the login form, which has no session yet).
pub fn same_origin(req: &HttpRequest, state: &AppState) -> Result<(), Refusal> {
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    match csrf::same_origin(h("origin"), h("referer"), &place::origin(req, state)) {
        true => Ok(()),
        false => Err(Refusal::Forbidden(
            "This form was not sent from this site's own page, so it was refused.",
        )),
    }
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure when the page is served over TLS
/// (as the client sees it: `public_endpoint`, or the trusted proxy headers), expiring with
/// the token.
pub fn cookie(
    req: &HttpRequest,
    state: &AppState,
    token: String,
    expires_at: DateTime<Utc>,
) -> Cookie<'static> {
    let mut c = base_cookie(req, state, token);
    if let Ok(at) = OffsetDateTime::from_unix_timestamp(expires_at.timestamp()) {
        c.set_expires(at);
    }
    c
}

/// The cookie that removes the session cookie.
pub fn removal(req: &HttpRequest, state: &AppState) -> Cookie<'static> {
    let mut c = base_cookie(req, state, String::new());
    c.make_removal();
    c
}

fn base_cookie(req: &HttpRequest, state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path(place::base(req, state))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(place::origin(req, state).starts_with("https://"))
        .finish()
}
