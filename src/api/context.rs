//! The request-context extractor: the only producer of `RequestContext`.

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::app::AppState;
use crate::auth::{context_of, KeystoneError};
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
    type Future = LocalBoxFuture<'static, Result<Ctx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Box::pin(async { Err(Error::internal("application state missing").into()) });
        };
        if state.config.auth_strategy == AuthStrategy::Noauth {
            let ctx = from_headers(req);
            return Box::pin(async move { Ok(Ctx(ctx)) });
        }
        // Keystone: identity comes only from the validated token; identity headers are ignored.
        let token = header(req, "x-auth-token")
            .or_else(|| header(req, "x-storage-token"))
            .map(str::to_owned);
        Box::pin(async move {
            let (Some(token), Some(tokens)) = (token, state.tokens.clone()) else {
                return Err(Error::Unauthorized.into());
            };
            match tokens.validate(&token).await {
                Ok(identity) => Ok(Ctx(context_of(&identity))),
                Err(KeystoneError::Invalid) => Err(Error::Unauthorized.into()),
                Err(KeystoneError::Unavailable(why)) => {
                    tracing::warn!(%why, "token validation failed: Keystone unavailable");
                    Err(Error::Unavailable(why).into())
                }
            }
        })
    }
}
