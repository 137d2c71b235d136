//! The HTTP server with glint's connection settings: the one place they are applied, used by
//! `glint serve` and by the integration tests alike.
//!
//! - request headers must arrive within [`REQUEST_HEADER_TIMEOUT`] (at most
//!   `client_socket_timeout`) of the request's first byte (actix's `client_request_timeout`; a
//!   client that stalls there gets 408 and is closed);
//! - an idle keep-alive connection is closed after [`KEEP_ALIVE_IDLE`] (at most
//!   `client_socket_timeout`);
//! - a closing connection is dropped after [`CLIENT_DISCONNECT_TIMEOUT`];
//! - a request head over [`MAX_REQUEST_HEAD`] bytes gets 431 and the connection is closed, at
//!   exactly that size (actix-http refuses only the heads still incomplete when its buffer fills);
//! - bodies have their own per-read timeouts, applied where they are read (`api::body`,
//!   `service::data`), because actix's timers stop once the headers are in.

use std::net::TcpListener;

use actix_web::body::BoxBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};

use crate::api::body::RawConnection;
use crate::app::AppState;
use crate::domain::limits::{
    request_head_len, CLIENT_DISCONNECT_TIMEOUT, KEEP_ALIVE_IDLE, MAX_REQUEST_HEAD,
    REQUEST_HEADER_TIMEOUT,
};

/// Where the server listens.
#[derive(Debug)]
pub enum Bind {
    /// `bind_host` and `bind_port` (actix's own listener settings: backlog, reuse).
    Addr(String, u16),
    /// A listener already bound (tests bind port 0 first to learn the port).
    Listener(TcpListener),
}

/// How the server runs (what differs between `glint serve` and the tests).
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Worker threads (at least one).
    pub workers: usize,
    /// Let actix stop on SIGTERM and ctrl-c itself; `glint serve` handles signals in
    /// `lifecycle` instead, and tests stop through the handle.
    pub handle_signals: bool,
}

/// Starts serving `state` on `bind` with glint's connection settings. Await the returned
/// [`Server`] to run it; its handle stops it.
pub fn serve(state: AppState, bind: Bind, options: ServeOptions) -> std::io::Result<Server> {
    let t = state.config.transport.clone();
    // A graceful stop waits this long for requests in flight (`graceful_shutdown_timeout`).
    let state_timeout = state.config.process.graceful_shutdown_timeout;
    let server = actix_web::HttpServer::new(move || {
        crate::api::app(state.clone()).wrap(from_fn(head_within_limit))
    })
    .workers(options.workers.max(1))
    .client_request_timeout(REQUEST_HEADER_TIMEOUT.min(t.client_socket_timeout))
    .keep_alive(KEEP_ALIVE_IDLE.min(t.client_socket_timeout))
    .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
    .shutdown_timeout(state_timeout.as_secs().max(1))
    .on_connect(keep_raw_connection);
    let server = if options.handle_signals {
        server
    } else {
        server.disable_signals()
    };
    let server = match bind {
        Bind::Addr(host, port) => server.bind((host, port))?,
        Bind::Listener(listener) => server.listen(listener)?,
    };
    Ok(server.run())
}

/// Refuses a head over [`MAX_REQUEST_HEAD`] that actix-http read whole (a larger one that arrived
/// in one read): the answer actix-http gives the others, 431 with no body, and the connection closed.
async fn head_within_limit(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let len = request_head_len(
        req.method().as_str(),
        &req.uri().to_string(),
        req.headers()
            .iter()
            .map(|(name, value)| (name.as_str().len(), value.len())),
    );
    if len > MAX_REQUEST_HEAD {
        let refused = actix_web::HttpResponse::build(
            actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        )
        .force_close()
        .finish();
        return Ok(req.into_response(refused));
    }
    next.call(req).await
}

/// Keeps a second handle on each plain TCP connection in the connection's data, so that a request
/// actix abandons can still be answered (`api::body::late_answer`).
fn keep_raw_connection(conn: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    use std::os::fd::AsFd;
    let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return;
    };
    match tcp.as_fd().try_clone_to_owned() {
        Ok(fd) => {
            data.insert(RawConnection(std::sync::Arc::new(
                std::net::TcpStream::from(fd),
            )));
        }
        Err(e) => tracing::warn!(error = %e, "cannot duplicate a client connection's handle"),
    }
}
