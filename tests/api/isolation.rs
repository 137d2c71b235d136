//! No existence leak: for every endpoint, a foreign project gets the same answer
//! for an image it cannot see as for an image that does not exist.

use reqwest::Method;
use serde_json::json;

use crate::backend_test;
use crate::helpers::{json, Caller};

async fn answer(
    c: &Caller<'_>,
    method: Method,
    path: &str,
    ctype: Option<&str>,
    body: &str,
    id: &str,
) -> (u16, String) {
    let mut rb = c.request(method, path);
    if let Some(t) = ctype {
        rb = rb.header("Content-Type", t).body(body.to_owned());
    }
    let (status, v) = json(rb.send().await.unwrap()).await;
    (status, v.to_string().replace(id, "<id>"))
}

backend_test!(
    foreign_projects_cannot_tell_hidden_from_missing,
    |app| async move {
        let owner = app.caller("own", "member");
        let foreign = app.caller("spy", "member");
        let missing = "0b7e2f34-5a8c-4d1e-9f6a-3c2b1a0d9e8f";
        let mut hidden = Vec::new();
        // A private image, shared images with no row for `spy`, and images whose member rows are inert.
        hidden.push(owner.create_image(json!({"visibility": "private", "disk_format": "raw", "container_format": "bare"})).await["id"].as_str().unwrap().to_owned());
        for status in [None, Some("pending"), Some("accepted"), Some("rejected")] {
            let id = owner
                .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            owner.upload(&id, b"secret".to_vec()).await;
            if let Some(s) = status {
                owner
                    .post(
                        &format!("/v2/images/{id}/members"),
                        &json!({"member": "other"}),
                    )
                    .await;
                app.caller("other", "member")
                    .put(
                        &format!("/v2/images/{id}/members/other"),
                        &json!({"status": s}),
                    )
                    .await;
            }
            hidden.push(id);
        }
        let inert = owner.create_image(json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        owner
            .post(
                &format!("/v2/images/{inert}/members"),
                &json!({"member": "spy"}),
            )
            .await;
        owner
            .patch(
                &format!("/v2/images/{inert}"),
                &json!([{"op": "replace", "path": "/visibility", "value": "private"}]),
            )
            .await;
        hidden.push(inert);

        let json_t = Some("application/json");
        let patch_t = Some("application/openstack-images-v2.1-json-patch");
        let ops = |id: &str| -> Vec<(Method, String, Option<&'static str>, String)> {
            vec![
                (Method::GET, format!("/v2/images/{id}"), None, String::new()),
                (
                    Method::PATCH,
                    format!("/v2/images/{id}"),
                    patch_t,
                    r#"[{"op": "replace", "path": "/name", "value": "x"}]"#.into(),
                ),
                (
                    Method::DELETE,
                    format!("/v2/images/{id}"),
                    None,
                    String::new(),
                ),
                (
                    Method::GET,
                    format!("/v2/images/{id}/file"),
                    None,
                    String::new(),
                ),
                (
                    Method::PUT,
                    format!("/v2/images/{id}/file"),
                    Some("application/octet-stream"),
                    "data".into(),
                ),
                (
                    Method::POST,
                    format!("/v2/images/{id}/actions/deactivate"),
                    None,
                    String::new(),
                ),
                (
                    Method::POST,
                    format!("/v2/images/{id}/actions/reactivate"),
                    None,
                    String::new(),
                ),
                (
                    Method::PUT,
                    format!("/v2/images/{id}/tags/t"),
                    None,
                    String::new(),
                ),
                (
                    Method::DELETE,
                    format!("/v2/images/{id}/tags/t"),
                    None,
                    String::new(),
                ),
                (
                    Method::GET,
                    format!("/v2/images/{id}/members"),
                    None,
                    String::new(),
                ),
                (
                    Method::POST,
                    format!("/v2/images/{id}/members"),
                    json_t,
                    r#"{"member": "spy"}"#.into(),
                ),
                (
                    Method::GET,
                    format!("/v2/images/{id}/members/spy"),
                    None,
                    String::new(),
                ),
                (
                    Method::GET,
                    format!("/v2/images/{id}/members/other"),
                    None,
                    String::new(),
                ),
                (
                    Method::PUT,
                    format!("/v2/images/{id}/members/spy"),
                    json_t,
                    r#"{"status": "accepted"}"#.into(),
                ),
                (
                    Method::DELETE,
                    format!("/v2/images/{id}/members/other"),
                    None,
                    String::new(),
                ),
            ]
        };
        let before = app.count("SELECT COUNT(*) AS n FROM image_members WHERE NOT deleted");
        let mut cells = 0;
        for id in &hidden {
            for ((m, p, t, b), (mm, pm, tm, bm)) in ops(id).into_iter().zip(ops(missing)) {
                let seen = answer(&foreign, m.clone(), &p, t, &b, id).await;
                let absent = answer(&foreign, mm, &pm, tm, &bm, missing).await;
                assert_eq!(seen, absent, "{m} {p}");
                assert_eq!(seen.0, 404, "{m} {p}");
                cells += 1;
            }
            // Not listed either, whatever the filters.
            for q in ["", "visibility=all&member_status=all", &format!("id={id}")] {
                let (_, v) = json(foreign.get(&format!("/v2/images?{q}")).await).await;
                assert!(!v["images"].to_string().contains(id.as_str()), "{q}");
            }
        }
        assert_eq!(cells, hidden.len() * 15);
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM image_members WHERE NOT deleted"),
            before
        );
        let (_, img) = json(owner.get(&format!("/v2/images/{}", hidden[1])).await).await;
        assert_eq!(img["status"], "active");
    }
);
