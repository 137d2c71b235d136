//! Transport conventions: versions, 404/405, error bodies, request ids, bodies.

use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::json;

backend_test!(versions_documents, |app| async move {
    let r = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 300);
    let (_, v) = json(r).await;
    let versions = v["versions"].as_array().unwrap();
    assert!(versions
        .iter()
        .all(|x| x["id"].is_string() && x["status"].is_string() && x["links"].is_array()));
    let current: Vec<&Value> = versions
        .iter()
        .filter(|x| x["status"] == "CURRENT")
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], "v2.17");
    assert_eq!(current[0]["links"][0]["href"], format!("{}/v2/", app.addr));
    let r = app.client.get(app.url("/versions")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for p in ["/v1/images", "/v3/", "/v2.99/images"] {
        assert_eq!(
            app.client.get(app.url(p)).send().await.unwrap().status(),
            300,
            "{p}"
        );
    }
    // Version aliases reach the API.
    let c = app.caller("p1", "member");
    assert_eq!(c.get("/v2.1/images").await.status(), 200);
    assert_eq!(c.get("/v2.17/images").await.status(), 200);
});

backend_test!(healthcheck_and_options, |app| async move {
    let r = app
        .client
        .get(app.url("/healthcheck"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        json(r).await.1,
        json!({"detailed": false, "reasons": ["OK"]})
    );
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v2/images"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
});

backend_test!(unknown_paths_and_methods, |app| async move {
    let c = app.caller("p1", "member");
    assert_eq!(c.get("/v2/").await.status(), 404);
    assert_eq!(c.get("/v2/nothing/here").await.status(), 404);
    assert_eq!(c.get("/v2/images/").await.status(), 404);
    assert_eq!(c.delete("/v2/images/").await.status(), 404);
    let id = c.create_image(json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (
            reqwest::Method::POST,
            format!("/v2/images/{id}"),
            "GET, PATCH, DELETE",
        ),
        (
            reqwest::Method::PUT,
            format!("/v2/images/{id}/members"),
            "GET, POST",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/images/{id}/members/x"),
            "GET, PUT, DELETE",
        ),
        (
            reqwest::Method::POST,
            format!("/v2/images/{id}/file"),
            "GET, PUT",
        ),
        (
            reqwest::Method::GET,
            format!("/v2/images/{id}/tags/t"),
            "PUT, DELETE",
        ),
        (
            reqwest::Method::HEAD,
            format!("/v2/images/{id}"),
            "GET, PATCH, DELETE",
        ),
        (
            reqwest::Method::DELETE,
            "/v2/images".to_owned(),
            "GET, POST",
        ),
    ];
    for (m, p, allow) in cases {
        let r = c.request(m.clone(), &p).send().await.unwrap();
        assert_eq!(r.status(), 405, "{m} {p}");
        assert_eq!(r.headers()["allow"], allow, "{m} {p}");
    }
});

backend_test!(error_bodies_follow_accept, |app| async move {
    let missing = "/v2/images/11111111-2222-3333-4444-555555555555";
    let base = || {
        app.client
            .get(app.url(missing))
            .header("X-Project-Id", "p1")
            .header("X-Roles", "member")
    };
    let r = base()
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"message": "No image found with ID 11111111-2222-3333-4444-555555555555<br /><br />\n\n\n", "code": "404 Not Found", "title": "Not Found"}"#
    );
    let r = base().header("Accept", "*/*").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/html; charset=UTF-8");
    let body = r.text().await.unwrap();
    assert!(
        body.starts_with("<html>\n <head>\n  <title>404 Not Found</title>"),
        "{body}"
    );
    let r = base().header("Accept", "").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/plain; charset=UTF-8");
    assert_eq!(
        r.text().await.unwrap(),
        "404 Not Found\n\nNo image found with ID 11111111-2222-3333-4444-555555555555\n\n   "
    );
});

backend_test!(request_ids, |app| async move {
    let c = app.caller("p1", "member");
    let r = c.get("/v2/images").await;
    let rid = r.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(rid.starts_with("req-") && rid.len() == 40, "{rid}");
    let r = c
        .request(reqwest::Method::GET, "/v2/images")
        .header("X-Openstack-Request-ID", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-openstack-request-id"], "req-abc");
    let r = c.get("/v2/images/nope").await;
    assert!(r.headers().contains_key("x-openstack-request-id"));
});

backend_test!(bodies, |app| async move {
    let c = app.caller("p1", "member");
    let post_raw = |body: &'static str| {
        c.request(reqwest::Method::POST, "/v2/images")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let msg = |v: &Value| crate::helpers::message(v);
    let (s, v) = json(post_raw("{not json").await.unwrap()).await;
    assert_eq!(
        (s, msg(&v).as_str()),
        (400, "Malformed JSON in request body.")
    );
    let (s, v) = json(post_raw("42").await.unwrap()).await;
    assert_eq!(
        (s, msg(&v).as_str()),
        (400, "Unexpected body type. Expected list/dict.")
    );
    let (s, v) = json(
        c.request(reqwest::Method::POST, "/v2/images")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, msg(&v).as_str()), (400, "Body expected in request."));
    let (s, _) = json(post_raw("[]").await.unwrap()).await;
    assert_eq!(s, 400);
    let id = c.create_image(json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = c
        .request(reqwest::Method::GET, &format!("/v2/images/{id}"))
        .body("x")
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(
        (s, msg(&v).as_str()),
        (400, "A body is not expected with this request.")
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 1);
});

backend_test!(unconfigured_keystone_refuses_everyone, |app| async move {
    // The test app runs noauth; a keystone-mode app with no token must answer 401.
    drop(app);
    let app = crate::helpers::TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.auth_strategy = glint::config::AuthStrategy::Keystone;
    })
    .await;
    let r = app
        .client
        .get(app.url("/v2/images"))
        .header("X-Project-Id", "p1")
        .header("X-Roles", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        300
    );
});

backend_test!(path_decoding_and_empty_chunked_gets, |app| async move {
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Invalid UTF-8 in a path is refused as Glance does, never stored lossily.
    let r = c
        .request(reqwest::Method::PUT, &format!("/v2/images/{id}/tags/a%FEb"))
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(s, 400);
    assert!(
        crate::helpers::message(&v).starts_with("Error decoding your request."),
        "{v}"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM image_tags"), 0);
    // A transfer-encoding on a GET is not a body (only POST/PUT/PATCH count it).
    let r = c
        .request(reqwest::Method::GET, &format!("/v2/images/{id}"))
        .header("Transfer-Encoding", "chunked")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            Vec::<Result<Vec<u8>, std::io::Error>>::new(),
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
});
