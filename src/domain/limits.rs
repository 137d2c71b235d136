//! Every bound glint puts on the size of a request, in one place.
//!
//! Each limit is far above what any real client sends, so that only hostile or broken input
//! meets it; what happens at each one (a 400 naming it, a 413, a closed connection) is written
//! beside it and in api-ref/differences.md.

// --- request bodies -----------------------------------------------------------------------

/// The largest JSON body glint reads (image metadata, member and PATCH documents): 413 beyond.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// JSON body bytes all requests together may hold while their bodies arrive, in KiB: a request
/// whose next chunk would go beyond gets 503 (retry later) and frees what it held. With the idle
/// and total timeouts below, memory held for bodies is bounded in size as well as in time.
pub const MAX_JSON_BODIES_BUFFERED_KIB: usize = 128 * 1024;

// --- request heads ------------------------------------------------------------------------

/// The largest request head glint serves, in bytes: the request line, every header line and the
/// blank line that ends them. It equals actix-http's read buffer, so a head that fits is always
/// parsed whole; one byte more is refused with 431 (no body) and the connection closed: by
/// actix-http when the head is still incomplete as its buffer fills, else by `server`, so that the
/// edge does not depend on how the head was split into reads. (Glance's eventlet refuses smaller
/// heads, line by line: api-ref/differences.md.)
pub const MAX_REQUEST_HEAD: usize = 128 * 1024;

/// The size of a request head as clients write it: `METHOD target HTTP/1.x`, a `name: value`
/// line per header (the lengths of `headers`), each line ending in CRLF, then the blank line.
pub fn request_head_len(
    method: &str,
    target: &str,
    headers: impl IntoIterator<Item = (usize, usize)>,
) -> usize {
    let request_line = method.len() + 1 + target.len() + 1 + "HTTP/1.1".len() + 2;
    let header_lines: usize = headers.into_iter().map(|(n, v)| n + 2 + v + 2).sum();
    request_line + header_lines + 2
}

// --- clients that stall -------------------------------------------------------------------

/// Default of `[DEFAULT] client_socket_timeout`: the longest silence while a JSON body is read;
/// then the request ends with 400 and whatever was buffered is freed.
pub const DEFAULT_CLIENT_SOCKET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A JSON body must arrive whole within this many `client_socket_timeout`s (a client sending one
/// byte just before each idle timeout would otherwise hold its buffer for hours): then 400.
pub const JSON_BODY_TIMEOUTS: u32 = 2;

/// Default of `[DEFAULT] upload_stall_timeout`: the longest silence while image data is read; then
/// the upload ends with 400, the image is `queued` again and no partial data is kept.
pub const DEFAULT_UPLOAD_STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The message for a body that stopped arriving (at `client_socket_timeout` or
/// `upload_stall_timeout`): the request ends, the bytes received are freed.
pub fn stalled(what: &str, waited: std::time::Duration, option: &str) -> String {
    format!(
        "{what} stalled: no data received for {} seconds ({option}).",
        waited.as_secs()
    )
}

/// The time a client has, from its first byte, to send a request's headers (at most
/// `client_socket_timeout`): then it gets 408 and the connection is closed. Headers are one
/// packet for a real client; a slow sender holds only the header buffer this long.
pub const REQUEST_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long an idle keep-alive connection is kept between requests (at most
/// `client_socket_timeout`): then it is closed.
pub const KEEP_ALIVE_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// How long glint waits for a client to read the end of a response and close, once the connection
/// is being shut down: then the connection is dropped.
pub const CLIENT_DISCONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

// --- concurrent work ----------------------------------------------------------------------

/// Default of `[DEFAULT] max_concurrent_uploads_per_project`: data uploads and stages one project
/// may have in progress in one glint process; one more is refused with 413 naming the limit (as
/// Glance's `image_count_uploading` quota answers).
pub const DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PROJECT: usize = 10;

// --- policy files (read once at start-up) -------------------------------------------------

/// The largest policy file glint reads (Glance's full default policy is about 20 KiB):
/// start-up fails with a message naming the file beyond.
pub const MAX_POLICY_FILE_BYTES: u64 = 1024 * 1024;

/// The most YAML nodes a policy file may describe once every alias is expanded (a rule is
/// one or two nodes): start-up fails with a message naming the file beyond. This is what
/// stops a "billion laughs" of nested anchors and aliases, which would otherwise be
/// expanded in memory before any rule is read.
pub const MAX_POLICY_NODES: u64 = 100_000;

/// The deepest nesting of YAML or JSON collections in a policy file (a legacy list of lists
/// is three levels): start-up fails with a message naming the file beyond.
pub const MAX_POLICY_NESTING: usize = 32;

// --- list queries -------------------------------------------------------------------------

/// The most tag and custom-property filters one `GET /v2/images` may carry (`tag=` values,
/// the characters of a `tags=` value, and every other unknown key), duplicates counted once:
/// 400 naming the limit beyond. Each is a condition on another table; real clients send a few.
pub const MAX_LIST_FILTERS: usize = 100;

/// The most values all the `in:` lists of one `GET /v2/images` may hold together (`id=in:a,b`
/// counts 2), and the distinct names of a metadefs namespace list's `resource_types`: 400
/// naming the limit beyond. Enough for a page of ids chosen one by one.
pub const MAX_LIST_IN_VALUES: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_len_counts_what_a_client_writes() {
        let head = "GET /v2/images?limit=1 HTTP/1.1\r\nHost: x\r\nX-Big: vvv\r\n\r\n";
        assert_eq!(
            request_head_len("GET", "/v2/images?limit=1", [(4, 1), (5, 3)]),
            head.len()
        );
        assert_eq!(
            request_head_len("GET", "/", []),
            "GET / HTTP/1.1\r\n\r\n".len()
        );
    }
}
