//! What every page shares: rendering with the security headers, redirects, and error pages.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use minijinja::Value;

use super::place::base;
use super::session::{Refusal, Session};
use super::templates;
use crate::app::AppState;
use crate::error::{Error, Msg};

fn state_of(req: &HttpRequest) -> Option<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>().cloned()
}

/// 303 to `path` under the page's base (`path` starts with `/`, may carry a query).
pub fn see_other(req: &HttpRequest, path: &str) -> HttpResponse {
    let base = state_of(req).map_or_else(|| super::BASE.to_owned(), |s| base(req, &s));
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("{base}{path}")))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// The session of a view's GET: else the login form (no session) or the error page.
pub async fn viewer(req: &HttpRequest, state: &AppState) -> Result<Session, HttpResponse> {
    match super::session::current(req, state).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(see_other(req, "/login")),
        Err(e) => Err(error(req, state, None, e)),
    }
}

/// Render template `name` with `ctx` and the values every page has.
pub fn render(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    name: &str,
    session: Option<&Session>,
    ctx: Value,
) -> HttpResponse {
    let all = minijinja::context! {
        base => base(req, state),
        user_id => session.map(|s| s.user_id.clone()),
        project_id => session.and_then(|s| s.ctx.project_id.clone()),
        project_name => session.and_then(|s| s.project_name.clone()),
        csrf => session.map(|s| s.csrf.clone()),
        grants => crate::service::grants::available(state),
        ..ctx
    };
    match templates::render(name, all) {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            // The page loads only its own stylesheet, is never framed, posts only to itself.
            .insert_header((
                "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header(("Referrer-Policy", "same-origin"))
            // Pages hold a project's data and the session's form token.
            .insert_header(("Cache-Control", "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "web page template failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be rendered.")
        }
    }
}

/// The status and the text a user is shown for `err` (an internal error's text is logged,
/// never shown).
fn status_and_text(err: &Error) -> (StatusCode, String) {
    let text = |m: &Msg, default: &str| match m {
        Msg::Explanation(s) | Msg::Detail(s) => s.clone(),
        Msg::Default => default.to_owned(),
    };
    match err {
        Error::BadRequest(m) => (
            StatusCode::BAD_REQUEST,
            text(m, "The request was not valid."),
        ),
        Error::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            "Your session has ended: log in again.".into(),
        ),
        Error::Forbidden(m) => (
            StatusCode::FORBIDDEN,
            text(m, "You are not allowed to do that."),
        ),
        Error::NotFound(m) => (StatusCode::NOT_FOUND, text(m, "Not found.")),
        Error::Conflict(m) => (
            StatusCode::CONFLICT,
            text(m, "That conflicts with the current state."),
        ),
        Error::Gone(m) => (StatusCode::GONE, text(m, "That is gone.")),
        Error::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, text(m, "Too large.")),
        Error::UnsupportedMediaType(m) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            text(m, "Unsupported form."),
        ),
        Error::RangeNotSatisfiable(_, m) => (StatusCode::RANGE_NOT_SATISFIABLE, text(m, "")),
        Error::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "A service glint depends on is not answering; try again shortly.".into(),
        ),
        Error::Proxied(code, m) => (
            StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_GATEWAY),
            text(m, "Another glint worker could not complete this."),
        ),
        Error::Internal(why) => {
            tracing::error!(%why, "web page request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on glint's side.".into(),
            )
        }
    }
}

/// The error page for `err`, with the session's navigation when there is one.
pub fn error(
    req: &HttpRequest,
    state: &AppState,
    session: Option<&Session>,
    err: Error,
) -> HttpResponse {
    let (status, message) = status_and_text(&err);
    render(
        req,
        state,
        status,
        "error.html",
        session,
        minijinja::context! { status => status.as_u16(), message },
    )
}

/// The answer to a refused POST: to the login form when logged out, else a 403 page.
pub fn refused(req: &HttpRequest, state: &AppState, r: Refusal) -> HttpResponse {
    match r {
        Refusal::LoggedOut => see_other(req, "/login"),
        Refusal::Forbidden(why) => error(req, state, None, Error::forbidden(why)),
        Refusal::Failed(e) => error(req, state, None, e),
    }
}

/// Unknown paths under the page.
pub async fn not_found(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    error(
        &req,
        &state,
        None,
        Error::not_found("There is no such page."),
    )
}
