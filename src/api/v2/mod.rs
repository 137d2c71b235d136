//! The v2 API routes.

pub mod glint;
pub mod glint_copy;
pub mod glint_ctx;
pub mod glint_domain_guardrails;
pub mod glint_grants;
pub mod image_data;
pub mod images;
pub mod import;
pub mod locations;
pub mod members;
pub mod metadefs;
pub mod schemas;
pub mod stores;
pub mod tasks;
pub mod usage;
pub mod views;

use actix_web::{web, HttpRequest, HttpResponse};

use super::context::Ctx;
use super::json;
use crate::app::AppState;
use crate::error::{Error, Msg};

/// A resource whose other methods answer 405 with `Allow` (after auth, as in Glance).
pub(crate) fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |Ctx(_): Ctx, req: HttpRequest| async move {
        Err::<HttpResponse, super::MethodNotAllowed>(super::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        })
    }))
}

async fn schema(
    Ctx(_): Ctx,
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Error> {
    super::body::forbid_body(&req)?;
    let doc = match name.as_str() {
        "image" => schemas::image_schema(&state.image_schema),
        "images" => schemas::images_schema(&state.image_schema),
        "member" => schemas::member_schema_for(state.config.sharing.enabled),
        "members" => schemas::members_schema_for(state.config.sharing.enabled),
        "task" => crate::domain::task::task_schema(),
        "tasks" => crate::domain::task::tasks_schema(),
        _ => return Err(Error::NotFound(Msg::Default)),
    };
    Ok(json::respond(HttpResponse::Ok(), &doc))
}

async fn not_found(Ctx(_): Ctx) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(Msg::Default))
}

/// A sharing-extensions route (`/v2/glint...`): off, every method answers as an unknown path
/// (Glance's 404); on, methods other than `allow` get 405 with `Allow`, like Glance's routes.
fn glint_resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(
        move |glint_ctx::GlintCtx(_): glint_ctx::GlintCtx, req: HttpRequest| async move {
            Err::<HttpResponse, actix_web::Error>(
                super::MethodNotAllowed {
                    method: req.method().to_string(),
                    allow,
                }
                .into(),
            )
        },
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // actix tries resources in registration order, one regex each: the image and member routes
    // come first, the metadefs catalogue (rarely called) after them.
    let v2 = web::scope("/v2")
        .service(resource("/schemas/{name}", "GET").route(web::get().to(schema)))
        // The sharing extensions; other methods answer as an unknown path, as in Glance.
        .service(glint_resource("/glint", "GET").route(web::get().to(glint::discovery)))
        .service(glint_resource("/glint/inbox", "GET").route(web::get().to(glint::inbox)))
        .service(
            glint_resource("/glint/inbox/decisions", "POST").route(web::post().to(glint::decide)),
        )
        .service(
            glint_resource("/glint/images/{id}/members/{member_id}", "PUT")
                .route(web::put().to(glint::change_member_ext)),
        )
        .service(
            glint_resource("/glint/projects/{project_id}/share-policy", "GET, PUT")
                .route(web::get().to(glint::get_share_policy))
                .route(web::put().to(glint::put_share_policy)),
        )
        .service(
            glint_resource("/glint/domains/{domain_id}/guardrails", "GET, PUT")
                .route(web::get().to(glint_domain_guardrails::get))
                .route(web::put().to(glint_domain_guardrails::put)),
        )
        .service(
            glint_resource("/glint/share-events", "GET").route(web::get().to(glint::share_events)),
        )
        .service(glint_resource("/glint/shares", "POST").route(web::post().to(glint::batch_share)))
        .service(
            glint_resource("/glint/grants", "GET, POST")
                .route(web::get().to(glint_grants::list))
                .route(web::post().to(glint_grants::create)),
        )
        .service(
            glint_resource("/glint/grants/{id}", "GET, DELETE")
                .route(web::get().to(glint_grants::show))
                .route(web::delete().to(glint_grants::delete)),
        )
        .service(
            glint_resource("/glint/grants/{id}/decision", "PUT")
                .route(web::put().to(glint_grants::decide)),
        )
        .service(
            glint_resource("/glint/images/{id}/copy", "POST")
                .route(web::post().to(glint_copy::copy_image)),
        )
        .service(
            glint_resource("/glint/webhooks", "GET, POST")
                .route(web::get().to(glint::list_webhooks))
                .route(web::post().to(glint::create_webhook)),
        )
        .service(
            glint_resource("/glint/webhooks/{id}", "DELETE")
                .route(web::delete().to(glint::delete_webhook)),
        )
        .service(
            glint_resource("/glint/webhooks/{id}/deliveries", "GET")
                .route(web::get().to(glint::webhook_deliveries)),
        )
        .service(
            resource("/images", "GET, POST")
                .route(web::get().to(images::list))
                .route(web::post().to(images::create)),
        )
        .service(web::resource("/images/").to(images::empty_id))
        .service(
            resource("/images/{id}", "GET, PATCH, DELETE")
                .route(web::get().to(images::show))
                .route(web::patch().to(images::update))
                .route(web::delete().to(images::delete)),
        )
        .service(
            resource("/images/{id}/file", "GET, PUT")
                .route(web::get().to(image_data::download))
                .route(web::put().to(image_data::upload)),
        )
        .service(
            // Glance's router answers other methods with `Allow: POST` only.
            resource("/images/{id}/locations", "POST")
                .route(web::get().to(locations::list))
                .route(web::post().to(locations::add)),
        )
        .service(
            resource("/images/{id}/tags/{tag}", "PUT, DELETE")
                .route(web::put().to(images::add_tag))
                .route(web::delete().to(images::delete_tag)),
        )
        .service(
            resource("/images/{id}/actions/deactivate", "POST")
                .route(web::post().to(images::deactivate)),
        )
        .service(
            resource("/images/{id}/actions/reactivate", "POST")
                .route(web::post().to(images::reactivate)),
        )
        .service(
            resource("/images/{id}/members", "GET, POST")
                .route(web::get().to(members::list))
                .route(web::post().to(members::create)),
        )
        .service(
            resource("/images/{id}/members/{member_id}", "GET, PUT, DELETE")
                .route(web::get().to(members::show))
                .route(web::put().to(members::update))
                .route(web::delete().to(members::delete)),
        )
        // Interoperable image import and tasks.
        .service(resource("/info/import", "GET").route(web::get().to(import::info_import)))
        .service(resource("/info/stores", "GET").route(web::get().to(import::info_stores)))
        // Glance routes only GET here: no 405 for other methods, and a body is not refused.
        .service(
            web::resource("/info/usage")
                .route(web::get().to(usage::info_usage))
                .default_service(web::to(not_found)),
        )
        .service(
            resource("/info/stores/detail", "GET").route(web::get().to(import::info_stores_detail)),
        )
        .service(
            resource("/stores/{store_id}/{id}", "DELETE")
                .route(web::delete().to(stores::delete_from_store)),
        )
        .service(resource("/images/{id}/stage", "PUT").route(web::put().to(import::stage)))
        .service(resource("/images/{id}/import", "POST").route(web::post().to(import::import)))
        .service(resource("/images/{id}/tasks", "GET").route(web::get().to(import::image_tasks)))
        .service(
            resource("/tasks", "GET, POST")
                .route(web::get().to(tasks::list))
                .route(web::post().to(tasks::create)),
        )
        .service(
            resource("/tasks/{id}", "GET, DELETE")
                .route(web::get().to(tasks::show))
                .route(web::delete().to(tasks::delete)),
        );
    cfg.service(metadefs::routes(v2).default_service(web::to(not_found)));
}
