//! The opening every `/v2/glint` handler shares: an authenticated caller, and the sharing
//! extensions on. Off, the route answers as Glance answers any unknown `/v2` path (404), after
//! authentication as there, so a client probing `/v2/glint` learns nothing Glance would not tell.
//! Which policy rule applies is the service's business (one place for the API and the web page).

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;

use crate::api::body::{forbid_body, require_json};

use crate::api::context::Ctx;
use crate::app::AppState;
use crate::domain::context::RequestContext;
use crate::error::{Error, Msg};

/// A caller of a sharing-extensions route.
pub struct GlintCtx(pub RequestContext);

impl FromRequest for GlintCtx {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<GlintCtx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let enabled = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.config.sharing.enabled);
        let caller = Ctx::from_request(req, payload);
        Box::pin(async move {
            let Ctx(ctx) = caller.await?;
            if !enabled {
                return Err(Error::NotFound(Msg::Default).into());
            }
            Ok(GlintCtx(ctx))
        })
    }
}

/// What a `/v2/glint` handler starts from: the app, the caller (as `GlintCtx`) and the request,
/// extracted in that order as the three separate extractors were; with the body rules a read
/// and a write apply. New `/v2/glint` handlers take this.
pub struct GlintCall {
    pub state: web::Data<AppState>,
    pub ctx: RequestContext,
    pub req: HttpRequest,
}

impl FromRequest for GlintCall {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<GlintCall, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = web::Data::<AppState>::from_request(req, payload);
        let caller = GlintCtx::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let state = state.await?;
            let GlintCtx(ctx) = caller.await?;
            Ok(GlintCall { state, ctx, req })
        })
    }
}

impl GlintCall {
    /// A read: Glance's 400 for a body.
    pub fn no_body(&self) -> Result<(), Error> {
        forbid_body(&self.req)
    }

    /// A write: the JSON body, which it needs.
    pub async fn json_body(&self, payload: web::Payload) -> Result<Value, Error> {
        require_json(&self.req, payload).await
    }
}
