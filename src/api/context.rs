//! The request-context extractor: the only producer of `RequestContext`.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use crate::app::AppState;
use crate::config::AuthStrategy;
use crate::domain::context::RequestContext;
use crate::error::Error;

/// A validated caller. Extracting it authenticates the request.
pub struct Ctx(pub RequestContext);

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// noauth: identity from headers. Only when `auth_strategy = noauth` is configured.
fn from_headers(req: &HttpRequest) -> RequestContext {
    let project = header(req, "x-project-id").or_else(|| header(req, "x-tenant-id"));
    let roles: Vec<String> = match header(req, "x-roles").or_else(|| header(req, "x-role")) {
        Some(r) => r
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect(),
        None => vec!["member".to_owned(), "reader".to_owned()],
    };
    RequestContext {
        project_id: project.map(str::to_owned),
        user_id: header(req, "x-user-id").map(str::to_owned),
        roles,
    }
}

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Ctx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(Error::internal("application state missing").into()));
        };
        ready(match state.config.auth_strategy {
            AuthStrategy::Noauth => Ok(Ctx(from_headers(req))),
            // Keystone validation is not wired in yet: refuse rather than trust headers.
            AuthStrategy::Keystone => Err(Error::Unauthorized.into()),
        })
    }
}
