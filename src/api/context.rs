//! The request-context extractor: the only producer of `RequestContext`.

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::app::AppState;
use crate::auth::{context_of, KeystoneError};
use crate::config::noauth::NoauthIdentity;
use crate::config::AuthStrategy;
use crate::domain::context::RequestContext;
use crate::error::Error;

/// A validated caller. Extracting it authenticates the request.
pub struct Ctx(pub RequestContext);

/// Who the request was made by, once authenticated: kept in the request's extensions for the
/// access log line (`api::middleware`), which is written after the handler has run.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
}

/// Keeps the caller for the access log, and gives the context the request's id.
pub(crate) fn remember(req: &HttpRequest, ctx: &mut RequestContext) {
    ctx.request_id = crate::api::request_id::RequestId::of(req);
    actix_web::HttpMessage::extensions_mut(req).insert(Caller {
        user_id: ctx.user_id.clone(),
        project_id: ctx.project_id.clone(),
    });
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The identity headers noauth reads (with the alternative spellings it accepts).
const NOAUTH_IDENTITY_HEADERS: &[&str] = &[
    "x-project-id",
    "x-tenant-id",
    "x-roles",
    "x-role",
    "x-user-id",
    "x-project-domain-id",
];

/// The first of `names` the request carries more than once.
fn duplicated<'a>(req: &HttpRequest, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .copied()
        .find(|n| req.headers().get_all(*n).nth(1).is_some())
}

/// noauth: identity from headers. Only when `auth_strategy = noauth` is configured. A request
/// with none of them gets `[glint_noauth]`'s identity when one is configured (the `openstack`
/// CLI with `--os-auth-type none` sends none); any identity header wins over it.
fn noauth_context(req: &HttpRequest, dev: Option<&NoauthIdentity>) -> RequestContext {
    let any_header = NOAUTH_IDENTITY_HEADERS
        .iter()
        .any(|name| header(req, name).is_some());
    match dev {
        Some(id) if !any_header => RequestContext {
            project_id: Some(id.project_id.clone()),
            user_id: id.user_id.clone(),
            roles: id.roles.clone(),
            ..RequestContext::default()
        },
        _ => from_headers(req),
    }
}

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
        project_domain_id: header(req, "x-project-domain-id").map(str::to_owned),
        request_id: None,
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
            // Two values for one identity header leave the identity ambiguous (a WSGI
            // server would join them with ", "): refuse rather than pick one.
            if let Some(name) = duplicated(req, NOAUTH_IDENTITY_HEADERS) {
                let err = Error::bad_request(format!(
                    "The identity header {name} was given more than once."
                ));
                return Box::pin(async move { Err(err.into()) });
            }
            let mut ctx = noauth_context(req, state.config.noauth_identity.as_ref());
            remember(req, &mut ctx);
            return Box::pin(async move { Ok(Ctx(ctx)) });
        }
        // Keystone: identity comes only from the validated token; identity headers are ignored.
        // A repeated token header reaches keystonemiddleware as the values joined with ", ",
        // which Keystone never accepts: Glance answers 401, and so does glint, without
        // asking Keystone about either value.
        // (X-Storage-Token counts only when X-Auth-Token is absent, as there.)
        let token_header = if req.headers().contains_key("x-auth-token") {
            "x-auth-token"
        } else {
            "x-storage-token"
        };
        if duplicated(req, &[token_header]).is_some() {
            return Box::pin(async { Err(Error::Unauthorized.into()) });
        }
        let token = header(req, "x-auth-token")
            .or_else(|| header(req, "x-storage-token"))
            .map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            let (Some(token), Some(tokens)) = (token, state.tokens.clone()) else {
                return Err(Error::Unauthorized.into());
            };
            match tokens.validate(&token).await {
                Ok(identity) => {
                    crate::service::project_names::seen_token(&state, &identity);
                    let mut ctx = context_of(&identity);
                    remember(&req, &mut ctx);
                    // A project created after a grant to its domain or subtree gets the grant's
                    // member rows before its first request reads anything.
                    crate::service::grants::project_seen(&state, &ctx).await;
                    Ok(Ctx(ctx))
                }
                Err(KeystoneError::Invalid) => Err(Error::Unauthorized.into()),
                Err(KeystoneError::Unavailable(why)) => {
                    tracing::warn!(%why, "token validation failed: Keystone unavailable");
                    Err(Error::Unavailable(why).into())
                }
            }
        })
    }
}

/// What `service::stage_proxy` needs to replay this request on another worker: its method and
/// path, and the headers that carry the caller's identity there (the token; noauth's identity
/// headers, which a worker on Keystone ignores).
pub(crate) fn replay(req: &HttpRequest) -> crate::service::stage_proxy::Replay {
    let credentials = std::iter::once("x-auth-token")
        .chain(NOAUTH_IDENTITY_HEADERS.iter().copied())
        .filter_map(|name| header(req, name).map(|v| (name.to_owned(), v.to_owned())))
        .collect();
    crate::service::stage_proxy::Replay {
        method: reqwest::Method::from_bytes(req.method().as_str().as_bytes())
            .unwrap_or(reqwest::Method::GET),
        path: req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned()),
        credentials,
        replayed: req
            .headers()
            .contains_key(crate::service::stage_proxy::REPLAYED_HEADER),
    }
}
