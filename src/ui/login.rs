//! Logging in (a project-scoped Keystone token, asked for with the user's password or
//! application credential and validated like any API token) and out (the token revoked).
//! The password goes to Keystone and nowhere else: it is neither kept nor logged.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use super::forms::Fields;
use super::{page, session};
use crate::app::AppState;
use crate::auth::KeystoneError;
use crate::domain::ui_login::{LoginForm, DEFAULT_DOMAIN};
use crate::error::Error;

/// The form, with what the user typed (never the password or secret) and why it failed.
fn form_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    form: &LoginForm,
    message: Option<&str>,
) -> HttpResponse {
    let logged_out = message.is_none() && req.query_string() == "out=1";
    page::render(
        req,
        state,
        status,
        "login.html",
        None,
        minijinja::context! {
            message,
            logged_out,
            method => if form.method.is_empty() { "password" } else { form.method.as_str() },
            username => form.username,
            user_domain => if form.user_domain.is_empty() { DEFAULT_DOMAIN } else { form.user_domain.as_str() },
            project => form.project,
            project_domain => if form.project_domain.is_empty() { DEFAULT_DOMAIN } else { form.project_domain.as_str() },
            app_cred_id => form.app_cred_id,
        },
    )
}

pub async fn form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match session::current(&req, &state).await {
        Ok(Some(_)) => page::see_other(&req, "/inbox"),
        _ => form_page(&req, &state, StatusCode::OK, &LoginForm::default(), None),
    }
}

pub async fn submit(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    if let Err(r) = session::same_origin(&req, &state) {
        return page::refused(&req, &state, r);
    }
    let form: LoginForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            return page::error(
                &req,
                &state,
                None,
                Error::bad_request("The form could not be read."),
            )
        }
    };
    let auth = match form.keystone_body() {
        Ok(a) => a,
        Err(why) => return form_page(&req, &state, StatusCode::BAD_REQUEST, &form, Some(&why)),
    };
    let Some(tokens) = state.tokens.clone() else {
        return page::error(&req, &state, None, Error::Unavailable("no Keystone".into()));
    };
    let refused = "Keystone did not accept these credentials for this project.";
    let token = match tokens.keystone().issue(&auth).await {
        Ok(t) => t,
        Err(KeystoneError::Invalid) => {
            return form_page(&req, &state, StatusCode::UNAUTHORIZED, &form, Some(refused))
        }
        Err(KeystoneError::Unavailable(why)) => {
            tracing::warn!(%why, "web page login failed: Keystone unavailable");
            return page::error(&req, &state, None, Error::Unavailable(why));
        }
    };
    // The same validation as any API token: what it says decides who the user is.
    let identity = match tokens.validate(&token).await {
        Ok(id) if id.project_id.is_some() => id,
        Ok(_) | Err(KeystoneError::Invalid) => {
            let why = "Keystone gave a token without a project: the page needs a project.";
            return form_page(&req, &state, StatusCode::UNAUTHORIZED, &form, Some(why));
        }
        Err(KeystoneError::Unavailable(why)) => {
            return page::error(&req, &state, None, Error::Unavailable(why))
        }
    };
    tracing::info!(
        user_id = %identity.user_id,
        project_id = %identity.project_id.as_deref().unwrap_or("-"),
        "web page login"
    );
    let cookie = session::cookie(&req, &state, token, identity.expires_at);
    let mut res = page::see_other(&req, "/inbox");
    if let Err(e) = res.add_cookie(&cookie) {
        return page::error(
            &req,
            &state,
            None,
            Error::internal(format!("session cookie: {e}")),
        );
    }
    res
}

/// Revoke the session's token in Keystone and remove the cookie.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>, body: Bytes) -> HttpResponse {
    let fields = match Fields::parse(&body) {
        Ok(f) => f,
        Err(e) => return page::error(&req, &state, None, e),
    };
    let s = match session::for_post(&req, &state, fields.get("csrf")).await {
        Ok(s) => s,
        Err(r) => return page::refused(&req, &state, r),
    };
    if let Some(tokens) = state.tokens.clone() {
        if let Err(KeystoneError::Unavailable(why)) = tokens.keystone().revoke(&s.token).await {
            return page::error(&req, &state, Some(&s), Error::Unavailable(why));
        }
        tokens.forget(&s.token).await;
    }
    let mut res = page::see_other(&req, "/login?out=1");
    if let Err(e) = res.add_cookie(&session::removal(&req, &state)) {
        return page::error(
            &req,
            &state,
            None,
            Error::internal(format!("session cookie: {e}")),
        );
    }
    res
}
