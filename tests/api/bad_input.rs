//! Malformed requests on every endpoint: always a 4xx with a Glance-style body,
//! never a 5xx, and nothing written.

use reqwest::Method;
use serde_json::json;

use crate::backend_test;
use crate::helpers::{Caller, TestApp};

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
) -> u16 {
    let mut rb = c.request(method, path);
    if let Some(t) = ctype {
        rb = rb.header("Content-Type", t);
    }
    rb.body(body).send().await.unwrap().status().as_u16()
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
        let cases: Vec<(Method, String, Option<&str>, Vec<u8>)> = vec![
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"name\": ".to_vec(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"\xff\xfe".to_vec(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"name\": \"a\x00b\", \"x\": 1}".to_vec(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                deep.clone().into_bytes(),
            ),
            (Method::POST, "/v2/images".into(), json_t, huge.clone()),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"min_ram\": 99999999999999999999999}".to_vec(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"min_disk\": 1.5}".to_vec(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"tags\": \"notalist\"}".to_vec(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"tags\": [1, 2]}".to_vec(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                format!("{{\"{}\": \"v\"}}", "k".repeat(300)).into_bytes(),
            ),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"id\": \"../../etc/passwd\"}".to_vec(),
            ),
            (Method::PATCH, img.clone(), patch_t, b"{not json".to_vec()),
            (Method::PATCH, img.clone(), patch_t, deep.into_bytes()),
            (Method::PATCH, img.clone(), patch_t, many_ops),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"add\", \"path\": \"/a/b/c\", \"value\": \"x\"}]".to_vec(),
            ),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"add\", \"path\": null, \"value\": \"x\"}]".to_vec(),
            ),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"replace\", \"path\": \"/min_ram\", \"value\": 1e400}]".to_vec(),
            ),
            (
                Method::PATCH,
                img.clone(),
                patch_t,
                b"[{\"op\": \"replace\", \"path\": \"/name\", \"value\": {\"a\": 1}}]".to_vec(),
            ),
            (Method::PATCH, img.clone(), patch_t, huge),
            (
                Method::POST,
                format!("{img}/members"),
                json_t,
                b"{\"member\": [\"x\"]}".to_vec(),
            ),
            (
                Method::POST,
                format!("{img}/members"),
                json_t,
                b"\"p2\"".to_vec(),
            ),
            (
                Method::PUT,
                format!("{img}/members/p2"),
                json_t,
                b"{\"status\": 5}".to_vec(),
            ),
            (
                Method::PUT,
                format!("{img}/members/p2"),
                json_t,
                b"{\"status\": null}".to_vec(),
            ),
            (
                Method::PUT,
                format!("{img}/tags/{}", "x".repeat(300)),
                None,
                vec![],
            ),
            (Method::PUT, format!("{img}/tags/a%2Fb"), None, vec![]),
            (
                Method::DELETE,
                format!("{img}/tags/..%2F..%2Fetc"),
                None,
                vec![],
            ),
            (
                Method::GET,
                format!("/v2/images/{}", "x".repeat(5000)),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images/..%2F..%2Fetc%2Fpasswd".into(),
                None,
                vec![],
            ),
            (Method::GET, "/v2/images/%00".into(), None, vec![]),
            (Method::GET, "/v2/images/%ff%fe".into(), None, vec![]),
            (Method::GET, format!("{img}/file"), None, b"body".to_vec()),
            (
                Method::PUT,
                format!("{img}/file"),
                Some("text/plain"),
                b"x".to_vec(),
            ),
            (
                Method::GET,
                "/v2/images?limit=99999999999999999999999".into(),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images?size_min=99999999999999999999999".into(),
                None,
                vec![],
            ),
            (Method::GET, "/v2/images?name=%ff".into(), None, vec![]),
            (Method::GET, "/v2/images?name=%".into(), None, vec![]),
            (
                Method::GET,
                "/v2/images?sort=name:asc,name:asc,name:asc".into(),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images?limit=1&limit=2".into(),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images?visibility=public&visibility=private".into(),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images?name=%25%27%3B%20DROP%20TABLE%20images%3B--".into(),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images?os_distro=_%25".into(),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images?created_at=gt:9999999-01-01T00:00:00Z".into(),
                None,
                vec![],
            ),
            (
                Method::GET,
                "/v2/images?marker=%27%20OR%201%3D1".into(),
                None,
                vec![],
            ),
            (Method::GET, "/v2/images?name=a%00b".into(), None, vec![]),
            (
                Method::POST,
                "/v2/images".into(),
                json_t,
                b"{\"name\": \"a\\u0000b\"}".to_vec(),
            ),
            (
                Method::POST,
                format!("{img}/members"),
                json_t,
                b"{\"member\": \"p\\u0000\"}".to_vec(),
            ),
            (Method::GET, format!("{img}/members/p%002"), None, vec![]),
            (Method::PUT, format!("{img}/tags/x%00y"), None, vec![]),
        ];
        for (method, path, ctype, body) in cases {
            let label = format!("{method} {}", &path[..path.len().min(80)]);
            let status = send(&c, method, &path, ctype, body).await;
            assert!((200..500).contains(&status), "{label}: {status}");
            assert_eq!(snapshot(&app), before, "{label} changed something");
        }
        // Oversized header values are refused at the HTTP layer, not by a crash.
        let r = c
            .request(Method::GET, "/v2/images")
            .header("X-Big", "v".repeat(64 * 1024))
            .send()
            .await;
        if let Ok(r) = r {
            assert!(
                r.status().as_u16() < 500 || r.status().as_u16() == 431,
                "{}",
                r.status()
            );
        }
        let (_, v) = crate::helpers::json(c.get(&img).await).await;
        assert_eq!(v["name"], "keep");
    }
);
