//! Fetching image data for `web-download` under Glance's rules: every URL,
//! redirect targets included, must pass `[import_filtering_opts]`; a body
//! larger than `image_size_cap` or shorter than its `Content-Length` fails;
//! a server that stays silent for `web_download_timeout` fails.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::app::AppState;
use crate::domain::uri_filter;

/// Redirects followed at most (urllib's limit).
const MAX_REDIRECTS: usize = 10;

/// Whether `uri` passes the filter; DNS lookups run on the blocking pool.
pub async fn passes_filter(state: &AppState, uri: &str) -> bool {
    let filter = state.config.import.filter.clone();
    let uri = uri.to_owned();
    tokio::task::spawn_blocking(move || {
        uri_filter::allowed(&uri, &filter, &super::import::resolves)
    })
    .await
    .unwrap_or(false)
}

/// The response body of `uri`, after following allowed redirects, with its
/// announced length. Errors are the text a failed task records.
pub async fn open(
    state: &AppState,
    uri: &str,
) -> Result<
    (
        Option<u64>,
        impl Stream<Item = Result<Bytes, String>> + Unpin + Send + 'static,
    ),
    String,
> {
    let timeout = Duration::from_secs(state.config.import.web_download_timeout);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))?;
    let mut url = reqwest::Url::parse(uri).map_err(|e| format!("Invalid URL {uri}: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        if !passes_filter(state, url.as_str()).await {
            return Err(format!(
                "URI for web-download does not pass filtering: {url}"
            ));
        }
        let resp = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("Failed to download {url}: {}", error_chain(&e)))?;
        let status = resp.status();
        if status.is_redirection() {
            let Some(loc) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Err(format!(
                    "HTTP Error {}: redirect without Location",
                    status.as_u16()
                ));
            };
            let next = url
                .join(loc)
                .map_err(|e| format!("Invalid redirect target {loc}: {e}"))?;
            if !passes_filter(state, next.as_str()).await {
                return Err(format!("Redirect to disallowed URL: {next}"));
            }
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(format!(
                "HTTP Error {}: {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ));
        }
        let len = resp.content_length();
        let cap = state.config.image_size_cap;
        if len.is_some_and(|l| l > cap) {
            return Err(format!(
                "The incoming image is too large: the remote size {} exceeds image_size_cap {cap}",
                len.unwrap_or_default()
            ));
        }
        let body = resp
            .bytes_stream()
            .map(|r| r.map_err(|e| format!("download interrupted: {}", error_chain(&e))));
        return Ok((len, body));
    }
    Err(format!("Too many redirects (more than {MAX_REDIRECTS})"))
}

/// reqwest hides the cause (connection refused, timeout) in its source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
