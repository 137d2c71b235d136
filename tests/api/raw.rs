//! Raw-socket HTTP for the tests that need what a client library will not do: requests sent by
//! hand to the app (stalls, cut-offs, oversized heads) and tiny HTTP/1.0 servers that play an
//! import's web-download source. Shared by tests/api and tests/faults.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// A raw connection to the app.
pub async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.addr.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

/// A request head with noauth headers for `project` with `roles`.
pub fn head(
    method: &str,
    path: &str,
    project: &str,
    roles: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut h = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nX-Project-Id: {project}\r\n\
         X-Roles: {roles}\r\nX-User-Id: user-{project}\r\nAccept: application/json\r\n"
    );
    for (k, v) in extra {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// Reads what the server sends until it closes the connection or `limit` passes; the status of
/// the first response, if one came, and the text received.
pub async fn answer(stream: &mut TcpStream, limit: Duration) -> (Option<u16>, String) {
    let mut got = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                // One full response is enough: the head and a body of its Content-Length.
                let text = String::from_utf8_lossy(&got);
                if let Some((h, body)) = text.split_once("\r\n\r\n") {
                    let len = h
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok());
    (status, text)
}

/// True when the server has closed the connection (EOF or reset) within `limit`.
pub async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// A tiny HTTP server on a free loopback port, one thread per connection: it reads each
/// request's line and headers, then leaves the answer to `respond(path, connection)`.
pub fn serve<F>(respond: F) -> u16
where
    F: Fn(&str, &mut std::net::TcpStream) + Send + Sync + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let respond = std::sync::Arc::new(respond);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let respond = respond.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                respond(&path, &mut conn);
            });
        }
    });
    port
}
