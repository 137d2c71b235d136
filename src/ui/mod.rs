//! The sharing web page under `/glint/ui/` (`[glint_ui] enabled`): a project's inbox, outbox,
//! grants, trust policy and history, decided in a browser. Server-rendered HTML that works without
//! JavaScript. Every action goes through the same service functions and policy rules as the
//! `/v2/glint` API; this module only turns forms into their inputs and results into pages.
//! Off, nothing is mounted and `/glint/ui/...` answers as any unknown path.

mod form_post;
mod forms;
mod grants;
mod history;
mod inbox;
mod login;
mod outbox;
mod page;
mod place;
mod session;
mod share_policy;
mod templates;
mod view;

use actix_web::{web, HttpResponse};

/// Where the page lives (behind a proxy, `X-Forwarded-Prefix` goes before it when trusted).
pub const BASE: &str = "/glint/ui";

/// The page's routes, when `enabled`.
pub fn configure(cfg: &mut web::ServiceConfig, enabled: bool) {
    if !enabled {
        return;
    }
    cfg.service(
        web::scope(BASE)
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/ui.css", web::get().to(stylesheet))
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/inbox", web::get().to(inbox::show))
            .route("/inbox/decide", web::post().to(inbox::decide))
            .route("/inbox/renew", web::post().to(inbox::renew))
            .route("/outbox", web::get().to(outbox::show))
            .route("/outbox/add", web::post().to(outbox::add))
            .route("/outbox/batch", web::post().to(outbox::batch))
            .route("/outbox/change", web::post().to(outbox::change))
            .route("/outbox/remove", web::post().to(outbox::remove))
            .route("/grants", web::get().to(grants::show))
            .route("/grants/create", web::post().to(grants::create))
            .route("/grants/decide", web::post().to(grants::decide))
            .route("/grants/revoke", web::get().to(grants::confirm))
            .route("/grants/revoke", web::post().to(grants::revoke))
            .route("/policy", web::get().to(share_policy::show))
            .route("/policy", web::post().to(share_policy::save))
            .route("/history", web::get().to(history::show))
            .default_service(web::to(page::not_found)),
    );
}

async fn home(req: actix_web::HttpRequest) -> HttpResponse {
    page::see_other(&req, "/inbox")
}

/// The one stylesheet, cached for a day (it changes only with glint).
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(include_str!("static/ui.css"))
}
