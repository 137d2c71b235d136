//! Malformed requests on every endpoint: each gets exactly the status and Glance-style message
//! Glance gives (or, where Glance accepts the request, exactly the list it answers), never a 5xx,
//! and nothing is written.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{image_ids, json, message, Caller, TestApp};

fn snapshot(app: &TestApp) -> (i64, i64, i64, i64, Vec<String>) {
    (
        app.count("SELECT COUNT(*) AS n FROM images"),
        app.count("SELECT COUNT(*) AS n FROM image_properties"),
        app.count("SELECT COUNT(*) AS n FROM image_tags"),
        app.count("SELECT COUNT(*) AS n FROM image_members"),
        app.store_files(),
    )
}

async fn send(
    c: &Caller<'_>,
    method: Method,
    path: &str,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut rb = c.request(method, path);
    if let Some(t) = ctype {
        rb = rb.header("Content-Type", t);
    }
    json(rb.body(body).send().await.unwrap()).await
}

/// What a malformed request must get: exactly this status and Glance-style error text (the detail
/// when the body has one, else the explanation), or a list answer with exactly these images.
enum Expect {
    Error(u16, String),
    Listed(Vec<String>),
}
use Expect::{Error, Listed};

/// Method, path, content type, body, and what it must get.
type Case<'a> = (Method, String, Option<&'a str>, Vec<u8>, Expect);

const UUID_PATTERN: &str =
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

/// Glance's text for a request body that fails the image schema (jsonschema's error, Python-formatted).
fn schema_error(what: &str, schema_path: &str, schema: &str, at: &str, instance: &str) -> String {
    format!(
        "Provided object does not match schema 'image': {what}\n\nFailed validating '{}' in \
         schema{schema_path}:\n    {schema}\n\nOn instance{at}:\n    {instance}",
        if what.contains(" does not match ") {
            "pattern"
        } else {
            "type"
        }
    )
}

backend_test!(
    malformed_requests_are_4xx_and_change_nothing,
    |app| async move {
        let c = app.caller("p1", "member");
        let id = c.create_image(json!({"name": "keep", "disk_format": "raw", "container_format": "bare", "tags": ["t"]})).await["id"]
        .as_str().unwrap().to_owned();
        c.post(
            &format!("/v2/images/{id}/members"),
            &json!({"member": "p2"}),
        )
        .await;
        let before = snapshot(&app);
        let img = format!("/v2/images/{id}");
        let json_t = Some("application/json");
        let patch_t = Some("application/openstack-images-v2.1-json-patch");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let many_ops = serde_json::to_vec(&vec![
            json!({"op": "replace", "path": "/status", "value": "x"});
            10_000
        ])
        .unwrap();
        let huge = vec![b' '; 2 * 1024 * 1024];
        let cases: Vec<Case> = vec![
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"name\": ".to_vec(), Error(400, "Malformed JSON in request body.".into())),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"\xff\xfe".to_vec(), Error(400, "Malformed JSON in request body.".into())),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"name\": \"a\x00b\", \"x\": 1}".to_vec(), Error(400, "Malformed JSON in request body.".into())),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                deep.clone().into_bytes(), Error(400, "Malformed JSON in request body.".into())),
            (Method::POST, "/v2/images".into(), json_t, huge.clone(), Error(413, "Request is too large.".into())),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"min_ram\": 99999999999999999999999}".to_vec(), Error(
                    400,
                    "'min_ram' value out of range, must not exceed 2147483647.".into(),
                )),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"min_disk\": 1.5}".to_vec(), Error(
                    400,
                    schema_error(
                        "1.5 is not of type 'integer'",
                        "['properties']['min_disk']",
                        "{'type': 'integer',\n     'description': 'Amount of disk space (in GB) required to boot image.'}",
                        "['min_disk']",
                        "1.5",
                    ),
                )),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"tags\": \"notalist\"}".to_vec(), Error(
                    400,
                    schema_error(
                        "'notalist' is not of type 'array'",
                        "['properties']['tags']",
                        "{'type': 'array',\n     'description': 'List of strings related to the image',\n     'items': {'type': 'string', 'maxLength': 255}}",
                        "['tags']",
                        "'notalist'",
                    ),
                )),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"tags\": [1, 2]}".to_vec(), Error(
                    400,
                    schema_error(
                        "2 is not of type 'string'",
                        "['properties']['tags']['items']",
                        "{'type': 'string', 'maxLength': 255}",
                        "['tags'][1]",
                        "2",
                    ),
                )),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                format!("{{\"{}\": \"v\"}}", "k".repeat(300)).into_bytes(), Error(400, "Custom property should not be greater than 255 characters.".into())),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"id\": \"../../etc/passwd\"}".to_vec(), Error(
                    400,
                    schema_error(
                        &format!("'../../etc/passwd' does not match '{UUID_PATTERN}'"),
                        "['properties']['id']",
                        &format!("{{'type': 'string',\n     'description': 'An identifier for the image',\n     'pattern': '{UUID_PATTERN}'}}"),
                        "['id']",
                        "'../../etc/passwd'",
                    ),
                )),
            (Method::PATCH, img.clone(), patch_t, b"{not json".to_vec(), Error(400, "Malformed JSON in request body.".into())),
            (Method::PATCH, img.clone(), patch_t, deep.into_bytes(), Error(400, "Malformed JSON in request body.".into())),
            (Method::PATCH, img.clone(), patch_t, many_ops, Error(403, "Attribute 'status' is read-only.".into())),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"add\", \"path\": \"/a/b/c\", \"value\": \"x\"}]".to_vec(), Error(400, "Invalid JSON pointer for this resource: '/a/b/c'".into())),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"add\", \"path\": null, \"value\": \"x\"}]".to_vec(), Error(400, "Pointer `None` does not start with \"/\".".into())),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"replace\", \"path\": \"/min_ram\", \"value\": 1e400}]".to_vec(), Error(400, "Malformed JSON in request body.".into())),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"replace\", \"path\": \"/name\", \"value\": {\"a\": 1}}]".to_vec(), Error(
                    400,
                    schema_error(
                        "{'a': 1} is not of type 'null', 'string'",
                        "['properties']['name']",
                        "{'type': ['null', 'string'],\n     'description': 'Descriptive name for the image',\n     'maxLength': 255}",
                        "['name']",
                        "{'a': 1}",
                    ),
                )),
            (Method::PATCH, img.clone(), patch_t, huge, Error(413, "Request is too large.".into())),
            (
                Method::POST,
                format!("{img}/members"),
                json_t,
                b"{\"member\": [\"x\"]}".to_vec(), Error(400, "Member id must be a string".into())),
            (
                Method::POST,
                format!("{img}/members"),
                json_t,
                b"\"p2\"".to_vec(), Error(400, "Unexpected body type. Expected list/dict.".into())),
            (
                Method::PUT,
                format!("{img}/members/p2"),
                json_t,
                b"{\"status\": 5}".to_vec(), Error(403, "You are not authorized to complete modify_member action.".into())),
            (
                Method::PUT,
                format!("{img}/members/p2"),
                json_t,
                b"{\"status\": null}".to_vec(), Error(403, "You are not authorized to complete modify_member action.".into())),
            (
                Method::PUT,
                format!("{img}/tags/{}", "x".repeat(300)),
                None,
                vec![], Error(
                    400,
                    format!(
                        "Provided object does not match schema 'image': '{}' is too long",
                        "x".repeat(300)
                    ),
                )),
            (Method::PUT, format!("{img}/tags/a%2Fb"), None, vec![], Error(404, "The resource could not be found.".into())),
            (
                Method::DELETE,
                format!("{img}/tags/..%2F..%2Fetc"),
                None,
                vec![], Error(404, "The resource could not be found.".into())),
            (
                Method::GET,
                format!("/v2/images/{}", "x".repeat(5000)),
                None,
                vec![], Error(404, format!("No image found with ID {}", "x".repeat(5000)))),
            (
                Method::GET,
                "/v2/images/..%2F..%2Fetc%2Fpasswd".into(),
                None,
                vec![], Error(404, "No image found with ID ../../etc/passwd".into())),
            (Method::GET, "/v2/images/%00".into(), None, vec![], Error(404, "The resource could not be found.".into())),
            (Method::GET, "/v2/images/%ff%fe".into(), None, vec![], Error(400, "Error decoding your request. Either the URL or the request body contained characters that could not be decoded by Glance".into())),
            (Method::GET, format!("{img}/file"), None, b"body".to_vec(), Error(400, "A body is not expected with this request.".into())),
            (
                Method::PUT,
                format!("{img}/file"),
                Some("text/plain"),
                b"x".to_vec(), Error(415, "The request media type text/plain is not supported by this server.".into())),
            (
                Method::GET,
                "/v2/images?limit=99999999999999999999999".into(),
                None,
                vec![], Listed(vec![id.clone()])),
            (
                Method::GET,
                "/v2/images?size_min=99999999999999999999999".into(),
                None,
                vec![], Listed(vec![])),
            (Method::GET, "/v2/images?name=%ff".into(), None, vec![], Error(400, "Invalid query string: it is not valid UTF-8.".into())),
            (Method::GET, "/v2/images?name=%".into(), None, vec![], Error(400, "Invalid query string: malformed percent-encoding.".into())),
            (
                Method::GET,
                "/v2/images?sort=name:asc,name:asc,name:asc".into(),
                None,
                vec![], Listed(vec![id.clone()])),
            (
                Method::GET,
                "/v2/images?limit=1&limit=2".into(),
                None,
                vec![], // Like Glance (webob's MultiDict.pop), the first `limit` is the page size and the
                // second stays behind as a filter on a property named "limit": nothing matches.
                Listed(vec![])),
            (
                Method::GET,
                "/v2/images?visibility=public&visibility=private".into(),
                None,
                vec![], Listed(vec![])),
            (
                Method::GET,
                "/v2/images?name=%25%27%3B%20DROP%20TABLE%20images%3B--".into(),
                None,
                vec![], Listed(vec![])),
            (
                Method::GET,
                "/v2/images?os_distro=_%25".into(),
                None,
                vec![], Listed(vec![])),
            (
                Method::GET,
                "/v2/images?created_at=gt:9999999-01-01T00:00:00Z".into(),
                None,
                vec![], Error(400, "Bad \"created_at\" query filter format. Use ISO 8601 DateTime notation.".into())),
            (
                Method::GET,
                "/v2/images?marker=%27%20OR%201%3D1".into(),
                None,
                vec![], Error(400, "No image found with ID ' OR 1=1".into())),
            (Method::GET, "/v2/images?name=a%00b".into(), None, vec![], Error(400, "Invalid query string: NUL characters are not allowed.".into())),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"name\": \"a\\u0000b\"}".to_vec(), Error(400, "NUL characters are not allowed in request bodies.".into())),
            (
                Method::POST,
                format!("{img}/members"),
                json_t,
                b"{\"member\": \"p\\u0000\"}".to_vec(), Error(400, "NUL characters are not allowed in request bodies.".into())),
            (Method::GET, format!("{img}/members/p%002"), None, vec![], Error(404, "The resource could not be found.".into())),
            (Method::PUT, format!("{img}/tags/x%00y"), None, vec![], Error(404, "The resource could not be found.".into())),
        ];
        let n = cases.len();
        for (method, path, ctype, body, expect) in cases {
            let label = format!("{method} {}", &path[..path.len().min(80)]);
            let (status, v) = send(&c, method, &path, ctype, body).await;
            match expect {
                Error(want, text) => {
                    assert_eq!(status, want, "{label}: {v}");
                    assert_eq!(message(&v), text, "{label}: {v}");
                    let code = v["code"].as_str().unwrap_or_default();
                    assert!(code.starts_with(&format!("{want} ")), "{label}: {v}");
                }
                Listed(ids) => {
                    assert_eq!(status, 200, "{label}: {v}");
                    assert_eq!(image_ids(&v), ids, "{label}: {v}");
                }
            }
            assert_eq!(snapshot(&app), before, "{label} changed something");
        }
        assert_eq!(n, 48);
        // Request heads within 128 KiB are served (api-ref/differences.md, "Request head"); far
        // beyond it the request is refused at the HTTP layer with 431 or a closed connection,
        // never a crash. (The edge itself is exact: hardening.rs, request_head_limit_is_exact.)
        let (s, v) = json(
            c.request(Method::GET, "/v2/images")
                .header("X-Big", "v".repeat(64 * 1024))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(image_ids(&v), std::slice::from_ref(&id));
        // A client of its own: the refused connection must not be reused by the requests after it.
        let r = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
            .get(app.url("/v2/images"))
            .header("X-Big", "v".repeat(1024 * 1024))
            .send()
            .await;
        if let Ok(r) = r {
            assert_eq!(r.status().as_u16(), 431, "a 1 MiB header");
        }
        let (_, v) = crate::helpers::json(c.get(&img).await).await;
        assert_eq!(v["name"], "keep");
    }
);
