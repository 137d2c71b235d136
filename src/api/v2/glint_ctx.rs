//! The opening every `/v2/glint` handler shares: an authenticated caller, and the sharing
//! extensions on. Off, the route answers as Glance answers any unknown `/v2` path (404), after
//! authentication as there, so a client probing `/v2/glint` learns nothing Glance would not tell.
//! Which policy rule applies is the service's business (one place for the API and the web page).

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

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
