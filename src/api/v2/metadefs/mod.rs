//! `/v2/metadefs/*` and `/v2/schemas/metadefs/*`.

pub mod content;
pub mod namespaces;
pub mod resource_types;
pub mod views;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::resource;
use crate::api::body::forbid_body;
use crate::api::context::Ctx;
use crate::api::json;
use crate::domain::metadefs::{msg, schemas};
use crate::error::{Error, Msg};

async fn schema(
    Ctx(_): Ctx,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let doc = schemas::by_name(&name).ok_or(Error::NotFound(Msg::Default))?;
    Ok(json::respond(HttpResponse::Ok(), &doc))
}

/// The body as a JSON object after Glance's read-only check (403) and schema check (400).
pub fn checked_body(
    body: Value,
    read_only: &[&str],
    schema: schemas::Body,
) -> Result<Map<String, Value>, Error> {
    if let Value::Object(m) = &body {
        for key in read_only {
            if m.contains_key(*key) {
                return Err(Error::forbidden(msg::read_only(key)));
            }
        }
    }
    schemas::validate(schema, &body)?;
    match body {
        Value::Object(m) => Ok(m),
        other => Err(Error::bad_request(format!(
            "Provided object does not match schema: {other} is not of type 'object'"
        ))),
    }
}

/// Read-only attributes of namespace and object bodies; the others have only the timestamps.
pub const READ_ONLY_LINKED: &[&str] = &["self", "schema", "created_at", "updated_at"];
pub const READ_ONLY_TIMES: &[&str] = &["created_at", "updated_at"];

/// Registered inside the `/v2` scope.
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    let ns = "/metadefs/namespaces/{namespace}";
    scope
        .service(resource("/schemas/metadefs/{name}", "GET").route(web::get().to(schema)))
        .service(
            resource("/metadefs/resource_types", "GET").route(web::get().to(resource_types::list)),
        )
        .service(
            resource(&format!("{ns}/resource_types"), "GET, POST")
                .route(web::get().to(resource_types::associations))
                .route(web::post().to(resource_types::associate)),
        )
        .service(
            resource(&format!("{ns}/resource_types/{{resource_type}}"), "DELETE")
                .route(web::delete().to(resource_types::dissociate)),
        )
        .service(
            resource("/metadefs/namespaces", "GET, POST")
                .route(web::get().to(namespaces::list))
                .route(web::post().to(namespaces::create)),
        )
        .service(
            resource(ns, "GET, PUT, DELETE")
                .route(web::get().to(namespaces::show))
                .route(web::put().to(namespaces::update))
                .route(web::delete().to(namespaces::delete)),
        )
        .service(
            resource(&format!("{ns}/properties"), "GET, POST, DELETE")
                .route(web::get().to(content::list_properties))
                .route(web::post().to(content::create_property))
                .route(web::delete().to(namespaces::delete_properties)),
        )
        .service(
            resource(&format!("{ns}/properties/{{name}}"), "GET, PUT, DELETE")
                .route(web::get().to(content::show_property))
                .route(web::put().to(content::update_property))
                .route(web::delete().to(content::delete_property)),
        )
        .service(
            resource(&format!("{ns}/objects"), "GET, POST, DELETE")
                .route(web::get().to(content::list_objects))
                .route(web::post().to(content::create_object))
                .route(web::delete().to(namespaces::delete_objects)),
        )
        .service(
            resource(&format!("{ns}/objects/{{name}}"), "GET, PUT, DELETE")
                .route(web::get().to(content::show_object))
                .route(web::put().to(content::update_object))
                .route(web::delete().to(content::delete_object)),
        )
        .service(
            resource(&format!("{ns}/tags"), "GET, POST, DELETE")
                .route(web::get().to(content::list_tags))
                .route(web::post().to(content::create_tags))
                .route(web::delete().to(namespaces::delete_tags)),
        )
        .service(
            resource(&format!("{ns}/tags/{{name}}"), "GET, POST, PUT, DELETE")
                .route(web::get().to(content::show_tag))
                .route(web::post().to(content::create_tag))
                .route(web::put().to(content::update_tag))
                .route(web::delete().to(content::delete_tag)),
        )
}
