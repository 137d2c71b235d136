//! `/healthcheck` as oslo.middleware's `Healthcheck` answers it: 200 (HEAD: 204) when every
//! configured check passes, 503 otherwise; the body is the checks' reasons as text, HTML or
//! JSON, chosen from `Accept` among text/plain, text/html and application/json in that order
//! of preference (text/plain when nothing matches). `[healthcheck] detailed` adds each
//! check's class and details to the JSON. glint adds a database check that speaks only
//! when it fails.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::config::healthcheck::HealthBackend;

/// How long the database may take to answer before the check fails.
const DATABASE_CHECK_LIMIT: Duration = Duration::from_secs(5);

struct Check {
    available: bool,
    reason: &'static str,
    details: String,
    class: &'static str,
}

async fn run(state: &AppState) -> Vec<Check> {
    let hc = &state.config.healthcheck;
    let mut out = Vec::new();
    for backend in &hc.backends {
        out.push(match backend {
            HealthBackend::DisableByFile => {
                let disabled = hc.disable_by_file_path.as_ref().is_some_and(|p| p.exists());
                Check {
                    available: !disabled,
                    reason: if disabled { "DISABLED BY FILE" } else { "OK" },
                    details: hc
                        .disable_by_file_path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    class: "DisableByFileHealthcheck",
                }
            }
        });
    }
    if hc.check_database && !state.database_answers(DATABASE_CHECK_LIMIT).await {
        out.push(Check {
            available: false,
            reason: "DATABASE UNAVAILABLE",
            details: String::new(),
            class: "DatabaseHealthcheck",
        });
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Html,
    Json,
}

/// WebOb's `acceptable_offers` over oslo.middleware's offers, best first.
fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Format::Text;
    };
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .map(|r| {
            let mut parts = r.split(';');
            let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (range, q)
        })
        .collect();
    let quality = |offer: &str| -> f32 {
        let (ty, _) = offer.split_once('/').unwrap_or((offer, ""));
        let specificity = |range: &str| -> Option<u8> {
            if range == offer {
                Some(3)
            } else if range == format!("{ty}/*") {
                Some(2)
            } else if range == "*/*" {
                Some(1)
            } else {
                None
            }
        };
        ranges
            .iter()
            .filter_map(|(r, q)| specificity(r).map(|s| (s, *q)))
            .max_by_key(|(s, _)| *s)
            .map_or(0.0, |(_, q)| q)
    };
    let offers = [
        (Format::Text, "text/plain"),
        (Format::Html, "text/html"),
        (Format::Json, "application/json"),
    ];
    let mut best = (Format::Text, 0.0f32);
    for (format, offer) in offers {
        let q = quality(offer);
        if q > best.1 {
            best = (format, q);
        }
    }
    best.0
}

/// Python's `json.dumps(body, indent=4, sort_keys=True)` (keys are inserted sorted).
fn pretty(v: &Value) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    if v.serialize(&mut ser).is_err() {
        return v.to_string();
    }
    String::from_utf8(out).unwrap_or_else(|_| v.to_string())
}

pub async fn healthcheck(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let checks = run(&state).await;
    let healthy = checks.iter().all(|c| c.available);
    if req.method() == Method::HEAD {
        let status = if healthy {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return HttpResponse::build(status)
            .insert_header(("Content-Type", "text/plain; charset=UTF-8"))
            .finish();
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let accept = req.headers().get("accept").and_then(|v| v.to_str().ok());
    let (body, content_type) = match negotiate(accept) {
        Format::Text => (
            checks
                .iter()
                .map(|c| c.reason)
                .collect::<Vec<_>>()
                .join("\n"),
            "text/plain; charset=UTF-8",
        ),
        Format::Html => {
            let rows: String = checks
                .iter()
                .map(|c| format!("<TR>\n    <TD>{}</TD>\n</TR>\n", c.reason))
                .collect();
            (
                format!(
                    "<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n\n\
                     <H2>Result of {} checks:</H2>\n<TABLE bgcolor=\"#ffffff\" border=\"1\">\n\
                     <TBODY>\n<TR>\n\n<TH>\nReason\n</TH>\n</TR>\n{rows}</TBODY>\n</TABLE>\n\
                     <HR></HR>\n\n</BODY>\n</HTML>",
                    checks.len()
                ),
                "text/html; charset=UTF-8",
            )
        }
        Format::Json => {
            let body = if state.config.healthcheck.detailed {
                let reasons: Vec<Value> = checks
                    .iter()
                    .map(|c| json!({"class": c.class, "details": c.details, "reason": c.reason}))
                    .collect();
                json!({
                    "detailed": true,
                    "now": crate::notify::envelope::python_timestamp(chrono::Utc::now().naive_utc()),
                    "reasons": reasons,
                })
            } else {
                json!({
                    "detailed": false,
                    "reasons": checks.iter().map(|c| c.reason).collect::<Vec<_>>(),
                })
            };
            (pretty(&body), "application/json; charset=UTF-8")
        }
    };
    HttpResponse::build(status)
        .insert_header(("Content-Type", content_type))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_plain_text() {
        assert!(negotiate(None) == Format::Text);
        assert!(negotiate(Some("*/*")) == Format::Text);
        assert!(negotiate(Some("application/json")) == Format::Json);
        assert!(negotiate(Some("text/html, application/json")) == Format::Html);
        assert!(negotiate(Some("text/plain;q=0.5, application/json")) == Format::Json);
        assert!(negotiate(Some("image/png")) == Format::Text);
    }

    #[test]
    fn json_as_python_indents_it() {
        assert_eq!(
            pretty(&json!({"detailed": false, "reasons": ["OK"]})),
            "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}"
        );
    }
}
