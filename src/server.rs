//! The HTTP server with glint's connection settings: the one place they are applied, used by
//! `glint serve` and by the integration tests alike.
//!
//! - request headers must arrive within [`REQUEST_HEADER_TIMEOUT`] (at most
//!   `client_socket_timeout`) of the request's first byte (actix's `client_request_timeout`; a
//!   client that stalls there gets 408 and is closed);
//! - an idle keep-alive connection is closed after [`KEEP_ALIVE_IDLE`] (at most
//!   `client_socket_timeout`);
//! - a closing connection is dropped after [`CLIENT_DISCONNECT_TIMEOUT`];
//! - bodies have their own per-read timeouts, applied where they are read (`api::body`,
//!   `service::data`), because actix's timers stop once the headers are in.

use std::net::TcpListener;

use actix_web::dev::Server;

use crate::api::body::RawConnection;
use crate::app::AppState;
use crate::domain::limits::{CLIENT_DISCONNECT_TIMEOUT, KEEP_ALIVE_IDLE, REQUEST_HEADER_TIMEOUT};

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
    /// Stop gracefully on SIGTERM and ctrl-c (the command); tests stop through the handle.
    pub handle_signals: bool,
}

/// Starts serving `state` on `bind` with glint's connection settings. Await the returned
/// [`Server`] to run it; its handle stops it.
pub fn serve(state: AppState, bind: Bind, options: ServeOptions) -> std::io::Result<Server> {
    let t = state.config.transport.clone();
    let server = actix_web::HttpServer::new(move || crate::api::app(state.clone()))
        .workers(options.workers.max(1))
        .client_request_timeout(REQUEST_HEADER_TIMEOUT.min(t.client_socket_timeout))
        .keep_alive(KEEP_ALIVE_IDLE.min(t.client_socket_timeout))
        .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
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
