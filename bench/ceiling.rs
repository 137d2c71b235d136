//! The benchmark's ceiling: an actix-web server that answers every request with
//! a fixed member list and does no other work (no auth, no database). bench/run.sh
//! builds it in the same run and drives it with the same load generator, so
//! glint's read figures can be read as a fraction of what actix-web and wrk reach
//! on this machine at that moment.
//!
//! `cargo run --release --example ceiling -- <port> [workers]`

use actix_web::{web, App, HttpResponse, HttpServer};

/// Shaped like glint's answer to `GET /v2/images/{id}/members` with four members.
const MEMBERS: &str = r#"{"members": [{"created_at": "2026-01-03T00:00:00Z", "image_id": "3f5e0c7a-8f0e-5b5b-9c1e-2f4a6d8b0c11", "member_id": "0c1f4a2e9b7d4e6f8a3b5c7d9e1f2a4b", "schema": "/v2/schemas/member", "status": "pending", "updated_at": "2026-01-03T00:00:00Z"}, {"created_at": "2026-01-03T00:00:00Z", "image_id": "3f5e0c7a-8f0e-5b5b-9c1e-2f4a6d8b0c11", "member_id": "1d2e5b3f0c8e5f7a9b4c6d8e0f2a3b5c", "schema": "/v2/schemas/member", "status": "pending", "updated_at": "2026-01-03T00:00:00Z"}, {"created_at": "2026-01-03T00:00:00Z", "image_id": "3f5e0c7a-8f0e-5b5b-9c1e-2f4a6d8b0c11", "member_id": "2e3f6c4a1d9f6a8b0c5d7e9f1a3b4c6d", "schema": "/v2/schemas/member", "status": "pending", "updated_at": "2026-01-03T00:00:00Z"}, {"created_at": "2026-01-03T00:00:00Z", "image_id": "3f5e0c7a-8f0e-5b5b-9c1e-2f4a6d8b0c11", "member_id": "3f4a7d5b2e0a7b9c1d6e8f0a2b4c5d7e", "schema": "/v2/schemas/member", "status": "pending", "updated_at": "2026-01-03T00:00:00Z"}], "schema": "/v2/schemas/members"}"#;

async fn members() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(MEMBERS)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(9402);
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(2);
    HttpServer::new(|| App::new().default_service(web::to(members)))
        .workers(workers)
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
