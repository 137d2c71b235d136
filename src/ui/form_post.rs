//! The steps every action form of the page takes: read the form, check the session, its origin
//! and form token, run the action, then 303 to the page it names (or the error page).

use std::future::Future;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use super::forms::Fields;
use super::page;
use super::session::{self, Session};
use crate::app::AppState;
use crate::domain::context::RequestContext;
use crate::error::Error;

/// Run `act` for a checked POST; `Ok(path)` is where the browser goes next.
pub async fn run<F, Fut>(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Bytes,
    act: F,
) -> HttpResponse
where
    F: FnOnce(AppState, RequestContext, Fields) -> Fut,
    Fut: Future<Output = Result<String, Error>>,
{
    let (f, s) = match checked(&req, &state, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match act(state.get_ref().clone(), s.ctx.clone(), f).await {
        Ok(path) => page::see_other(&req, &path),
        Err(e) => page::error(&req, &state, Some(&s), e),
    }
}

/// The form and the session of a POST that passed the checks; else the page that says why.
pub async fn checked(
    req: &HttpRequest,
    state: &AppState,
    body: &Bytes,
) -> Result<(Fields, Session), HttpResponse> {
    let f = Fields::parse(body).map_err(|e| page::error(req, state, None, e))?;
    match session::for_post(req, state, f.get("csrf")).await {
        Ok(s) => Ok((f, s)),
        Err(r) => Err(page::refused(req, state, r)),
    }
}
