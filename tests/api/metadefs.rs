//! Metadata definitions over HTTP: round trips with the database checked,
//! who may read and write, Glance's error texts, paging and the loader.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{assert_error, json, message, TestApp};

const NS: &str = "/v2/metadefs/namespaces";

async fn make_ns(app: &TestApp, name: &str, extra: Value) -> Value {
    let admin = app.caller("admin-p", "admin");
    let mut body = json!({"namespace": name});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, v) = json(admin.post(NS, &body).await).await;
    assert_eq!(s, 201, "{v}");
    v
}

backend_test!(namespace_round_trip_with_nested_content, |app| async move {
    let admin = app.caller("admin-p", "admin");
    let body = json!({
        "namespace": "OS::Glint::Full",
        "display_name": "Full",
        "description": "everything at once",
        "visibility": "public",
        "protected": true,
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "full_"}],
        "properties": {"speed": {"title": "Speed", "type": "string", "enum": ["a", "b"]}},
        "objects": [{"name": "Obj", "required": ["x"], "properties": {"x": {"title": "X", "type": "integer"}}}],
        "tags": [{"name": "t1"}, {"name": "t2"}]
    });
    let r = admin.post(NS, &body).await;
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let (s, v) = json(r).await;
    assert_eq!(s, 201, "{v}");
    assert!(location
        .unwrap()
        .ends_with("/v2/metadefs/namespaces/OS::Glint::Full"));
    assert_eq!(v["owner"], "admin-p");
    assert_eq!(v["protected"], true);
    assert_eq!(v["self"], "/v2/metadefs/namespaces/OS::Glint::Full");
    assert_eq!(v["schema"], "/v2/schemas/metadefs/namespace");
    assert_eq!(v["tags"], json!([{"name": "t1"}, {"name": "t2"}]));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_namespaces"), 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_tags"), 2);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_objects"), 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_properties"), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_namespace_resource_types"),
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_resource_types WHERE name = 'OS::Glance::Image' AND NOT protected"),
        1
    );

    // Show, plain and with the resource type's prefix applied.
    let (s, v) = json(admin.get(&format!("{NS}/OS::Glint::Full")).await).await;
    assert_eq!(s, 200);
    assert_eq!(v["properties"]["speed"]["type"], "string");
    assert_eq!(v["objects"][0]["required"], json!(["x"]));
    assert_eq!(
        v["objects"][0]["self"],
        "/v2/metadefs/namespaces/OS::Glint::Full/objects/Obj"
    );
    assert_eq!(v["resource_type_associations"][0]["prefix"], "full_");
    let (_, v) = json(
        admin
            .get(&format!(
                "{NS}/OS::Glint::Full?resource_type=OS::Glance::Image"
            ))
            .await,
    )
    .await;
    assert!(v["properties"].get("full_speed").is_some(), "{v}");
    assert_eq!(v["objects"][0]["required"], json!(["full_x"]));
    assert!(v["objects"][0]["properties"].get("full_x").is_some());

    // Protected: no delete of the namespace nor of its content.
    for path in ["", "/objects", "/properties", "/tags"] {
        let (s, v) = json(admin.delete(&format!("{NS}/OS::Glint::Full{path}")).await).await;
        assert_eq!(s, 403, "{path}");
        assert_eq!(
            message(&v),
            "Metadata definition namespace OS::Glint::Full is protected and cannot be deleted."
        );
    }
    let (s, v) = json(
        admin
            .delete(&format!("{NS}/OS::Glint::Full/objects/Obj"))
            .await,
    )
    .await;
    assert_error(
        (s, &v),
        (
            403,
            "Metadata definition object Obj is protected and cannot be deleted.",
        ),
    );

    // Update: unprotect, rename, then delete cascades.
    let (s, v) = json(
        admin
            .put(
                &format!("{NS}/OS::Glint::Full"),
                &json!({"namespace": "OS::Glint::Renamed", "protected": false}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["visibility"], "private",
        "update resets an absent visibility"
    );
    assert!(v.get("display_name").is_none());
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM metadef_namespaces WHERE namespace = 'OS::Glint::Renamed'"
        ),
        1
    );
    let r = admin.delete(&format!("{NS}/OS::Glint::Renamed")).await;
    assert_eq!(r.status().as_u16(), 204);
    for table in [
        "metadef_namespaces",
        "metadef_tags",
        "metadef_objects",
        "metadef_properties",
        "metadef_namespace_resource_types",
    ] {
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) AS n FROM {table}")),
            0,
            "{table}"
        );
    }
    // The resource type itself stays.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_resource_types"),
        1
    );
});

backend_test!(objects_properties_tags_crud, |app| async move {
    let admin = app.caller("admin-p", "admin");
    make_ns(&app, "OS::Glint::C", json!({})).await;
    let base = format!("{NS}/OS::Glint::C");

    // Objects.
    let (s, v) = json(
        admin
            .post(
                &format!("{base}/objects"),
                &json!({"name": "o1", "description": "d"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert!(v.get("required").is_none() && v.get("properties").is_none());
    assert_eq!(v["self"], format!("{base}/objects/o1"));
    let (s, v) = json(
        admin
            .post(&format!("{base}/objects"), &json!({"name": "o1"}))
            .await,
    )
    .await;
    assert_error(
        (s, &v),
        (
            409,
            "A metadata definition object with name=o1 already exists in namespace=OS::Glint::C.",
        ),
    );
    let (s, v) = json(
        admin
            .put(
                &format!("{base}/objects/o1"),
                &json!({"name": "o2", "required": ["p"]}),
            )
            .await,
    )
    .await;
    assert_eq!(
        (s, v["name"].clone(), v["required"].clone()),
        (200, json!("o2"), json!(["p"]))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_objects WHERE name = 'o2' AND required = 'p'"),
        1
    );
    let (s, v) = json(admin.get(&format!("{base}/objects")).await).await;
    assert_eq!((s, v["objects"].as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(v["schema"], "v2/schemas/metadefs/objects");
    let (s, v) = json(admin.get(&format!("{base}/objects/o1")).await).await;
    assert_error((s, &v), (404, "Could not find metadata object o1"));
    assert_eq!(
        admin
            .delete(&format!("{base}/objects/o2"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_objects"), 0);

    // Properties.
    let prop = json!({"name": "p1", "title": "P1", "type": "string", "enum": ["x"], "unknown": 1});
    let (s, v) = json(admin.post(&format!("{base}/properties"), &prop).await).await;
    assert_eq!(s, 400, "unknown attributes are refused by the schema: {v}");
    let prop = json!({"name": "p1", "title": "P1", "type": "string", "enum": ["x"]});
    let (s, v) = json(admin.post(&format!("{base}/properties"), &prop).await).await;
    assert_eq!(
        (s, v.clone()),
        (
            201,
            json!({"name": "p1", "type": "string", "title": "P1", "enum": ["x"]})
        )
    );
    let (s, v) = json(admin.get(&format!("{base}/properties")).await).await;
    assert_eq!(s, 200);
    assert_eq!(v["properties"]["p1"]["title"], "P1");
    let upd = json!({"name": "p2", "title": "P2", "type": "integer"});
    let (s, v) = json(admin.put(&format!("{base}/properties/p1"), &upd).await).await;
    assert_eq!(
        (s, v["name"].clone(), v["type"].clone()),
        (200, json!("p2"), json!("integer"))
    );
    let (s, v) = json(admin.get(&format!("{base}/properties/p1")).await).await;
    assert_error((s, &v), (404, "Could not find property p1"));
    assert_eq!(
        admin
            .delete(&format!("{base}/properties/p2"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_properties"), 0);

    // Tags: bulk replace, append, single create, rename, delete, delete all.
    let (s, v) = json(
        admin
            .post(
                &format!("{base}/tags"),
                &json!({"tags": [{"name": "a"}, {"name": "b"}]}),
            )
            .await,
    )
    .await;
    assert_eq!(
        (s, v),
        (201, json!({"tags": [{"name": "a"}, {"name": "b"}]}))
    );
    let (s, _) = json(
        admin
            .post(&format!("{base}/tags"), &json!({"tags": [{"name": "c"}]}))
            .await,
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_tags"),
        1,
        "without the header the list is replaced"
    );
    let r = admin
        .request(Method::POST, &format!("{base}/tags"))
        .header("X-Openstack-Append", "True")
        .json(&json!({"tags": [{"name": "d"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_tags"), 2);
    let post_tag = || {
        admin
            .request(Method::POST, &format!("{base}/tags/e"))
            .send()
    };
    let (s, v) = json(post_tag().await.unwrap()).await;
    assert_eq!((s, v["name"].clone()), (201, json!("e")));
    let (s, v) = json(post_tag().await.unwrap()).await;
    assert_error((s, &v), (409, "A metadata tag with name=e already exists in namespace=OS::Glint::C. (Please note that metadata tag names are case insensitive)."));
    let (s, v) = json(
        admin
            .put(&format!("{base}/tags/e"), &json!({"name": "f"}))
            .await,
    )
    .await;
    assert_eq!((s, v["name"].clone()), (200, json!("f")));
    let (s, v) = json(
        admin
            .get(&format!("{base}/tags?sort_key=name&sort_dir=asc&limit=2"))
            .await,
    )
    .await;
    assert_eq!(
        (s, v),
        (200, json!({"tags": [{"name": "c"}, {"name": "d"}]}))
    );
    let (_, v) = json(
        admin
            .get(&format!("{base}/tags?sort_key=name&sort_dir=asc&marker=d"))
            .await,
    )
    .await;
    assert_eq!(v, json!({"tags": [{"name": "f"}]}));
    assert_eq!(
        admin
            .delete(&format!("{base}/tags/f"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        admin
            .delete(&format!("{base}/tags"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_tags"), 0);
});

backend_test!(resource_type_associations, |app| async move {
    let admin = app.caller("admin-p", "admin");
    make_ns(&app, "OS::Glint::R", json!({})).await;
    let base = format!("{NS}/OS::Glint::R/resource_types");
    let (s, v) = json(
        admin
            .post(&base, &json!({"name": "OS::Nova::Server", "prefix": "hw_"}))
            .await,
    )
    .await;
    assert_eq!(
        (s, v["name"].clone(), v["prefix"].clone()),
        (201, json!("OS::Nova::Server"), json!("hw_"))
    );
    let (s, v) = json(
        admin
            .post(&base, &json!({"name": "OS::Nova::Server"}))
            .await,
    )
    .await;
    assert_error((s, &v), (409, "The metadata definition resource-type association of resource-type=OS::Nova::Server to namespace=OS::Glint::R already exists."));
    let (_, v) = json(admin.get("/v2/metadefs/resource_types").await).await;
    assert_eq!(v["resource_types"][0]["name"], "OS::Nova::Server");
    let (_, v) = json(admin.get(&base).await).await;
    assert_eq!(
        v["resource_type_associations"].as_array().map(Vec::len),
        Some(1)
    );
    // Namespace list filter by resource type.
    make_ns(&app, "OS::Glint::Other", json!({})).await;
    let (_, v) = json(
        admin
            .get(&format!("{NS}?resource_types=OS::Nova::Server"))
            .await,
    )
    .await;
    let names: Vec<&str> = v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["OS::Glint::R"]);
    assert_eq!(
        admin
            .delete(&format!("{base}/OS::Nova::Server"))
            .await
            .status()
            .as_u16(),
        204
    );
    let (s, v) = json(admin.delete(&format!("{base}/OS::Nova::Server")).await).await;
    assert_error(
        (s, &v),
        (
            404,
            "Failed to find resource type OS::Nova::Server to delete",
        ),
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_namespace_resource_types"),
        0
    );
});

backend_test!(who_may_read_and_write, |app| async move {
    make_ns(
        &app,
        "OS::Glint::Pub",
        json!({"visibility": "public", "owner": "p1"}),
    )
    .await;
    make_ns(
        &app,
        "OS::Glint::Priv",
        json!({"visibility": "private", "owner": "p1"}),
    )
    .await;
    let owner_member = app.caller("p1", "member");
    let owner_reader = app.caller("p1", "reader");
    let stranger = app.caller("p2", "member");
    let no_role = app.caller("p1", "_member_");

    // Readers read their project's and public namespaces; others' private ones are 404.
    for c in [&owner_member, &owner_reader] {
        let (s, _) = json(c.get(&format!("{NS}/OS::Glint::Priv")).await).await;
        assert_eq!(s, 200);
    }
    let (s, _) = json(stranger.get(&format!("{NS}/OS::Glint::Pub")).await).await;
    assert_eq!(s, 200);
    let (s, v) = json(stranger.get(&format!("{NS}/OS::Glint::Priv")).await).await;
    assert_error((s, &v), (404, "The resource could not be found."));
    let (s, v) = json(stranger.get(&format!("{NS}/OS::Glint::Priv/objects")).await).await;
    assert_error((s, &v), (404, "Namespace OS::Glint::Priv not found"));
    let (s, v) = json(
        stranger
            .get(&format!("{NS}/OS::Glint::Missing/objects"))
            .await,
    )
    .await;
    assert_error(
        (s, &v),
        (
            404,
            "Metadata definition namespace=OS::Glint::Missing was not found.",
        ),
    );
    let (_, v) = json(stranger.get(NS).await).await;
    let names: Vec<&str> = v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["OS::Glint::Pub"]);
    let (_, v) = json(owner_reader.get(NS).await).await;
    assert_eq!(v["namespaces"].as_array().map(Vec::len), Some(2));
    // Without the reader role even the list is a 404: Glance's metadef policy
    // turns a denial into 404 when the caller could not read a namespace either.
    let (s, v) = json(no_role.get(NS).await).await;
    assert_error((s, &v), (404, "The resource could not be found."));
    let (s, _) = json(no_role.get(&format!("{NS}/OS::Glint::Priv")).await).await;
    assert_eq!(s, 404);

    // Writes are admin-only: 403 for what the caller can see, 404 for what it cannot.
    let (s, v) = json(
        owner_member
            .post(NS, &json!({"namespace": "OS::Glint::Mine"}))
            .await,
    )
    .await;
    assert_error(
        (s, &v),
        (
            403,
            "You are not authorized to complete add_metadef_namespace action.",
        ),
    );
    let (s, v) = json(
        owner_member
            .post(
                &format!("{NS}/OS::Glint::Priv/objects"),
                &json!({"name": "o"}),
            )
            .await,
    )
    .await;
    assert_error(
        (s, &v),
        (
            403,
            "You are not authorized to complete add_metadef_object action.",
        ),
    );
    let (s, v) = json(owner_reader.delete(&format!("{NS}/OS::Glint::Priv")).await).await;
    assert_error(
        (s, &v),
        (
            403,
            "You are not authorized to complete delete_metadef_namespace action.",
        ),
    );
    let (s, _) = json(
        stranger
            .put(&format!("{NS}/OS::Glint::Priv"), &json!({"namespace": "x"}))
            .await,
    )
    .await;
    assert_eq!(s, 404);
    let r = stranger
        .request(Method::POST, &format!("{NS}/OS::Glint::Pub/tags/t"))
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_error(
        (s, &v),
        (
            403,
            "You are not authorized to complete add_metadef_tag action.",
        ),
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_namespaces"), 2);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_tags"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_objects"), 0);

    // The admin of another project sees and changes everything.
    let admin = app.caller("p9", "admin");
    let (s, _) = json(admin.get(&format!("{NS}/OS::Glint::Priv")).await).await;
    assert_eq!(s, 200);
    assert_eq!(
        admin
            .delete(&format!("{NS}/OS::Glint::Priv"))
            .await
            .status()
            .as_u16(),
        204
    );
});

backend_test!(bad_input_is_4xx, |app| async move {
    let admin = app.caller("admin-p", "admin");
    make_ns(&app, "OS::Glint::B", json!({})).await;
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            NS,
            json!({"display_name": "x"}),
            400,
            "'namespace' is a required property",
        ),
        (
            NS,
            json!({"namespace": "x", "visibility": "shared"}),
            400,
            "'shared' is not one of ['public', 'private']",
        ),
        (
            NS,
            json!({"namespace": "x", "self": "/x"}),
            403,
            "Attribute 'self' is read-only.",
        ),
        (NS, json!({"namespace": "x".repeat(81)}), 400, "is too long"),
        (
            NS,
            json!({"namespace": "OS::Glint::B"}),
            409,
            "The metadata definition namespace=OS::Glint::B already exists.",
        ),
        (
            "/v2/metadefs/namespaces/OS::Glint::B/properties",
            json!({"name": "p", "type": "string"}),
            400,
            "'title' is a required property",
        ),
        (
            "/v2/metadefs/namespaces/OS::Glint::B/properties",
            json!({"name": "p", "title": "t", "type": "string", "created_at": "x"}),
            403,
            "Attribute 'created_at' is read-only.",
        ),
        (
            "/v2/metadefs/namespaces/OS::Glint::B/objects",
            json!({"name": "o", "properties": {"p": {"type": "string"}}}),
            400,
            "'title' is a required property",
        ),
        (
            "/v2/metadefs/namespaces/OS::Glint::B/tags",
            json!({"tags": [{"nom": "a"}]}),
            400,
            "'name' is a required property",
        ),
        (
            "/v2/metadefs/namespaces/OS::Glint::B/resource_types",
            json!({"prefix": "x"}),
            400,
            "'name' is a required property",
        ),
    ];
    for (path, body, status, text) in cases {
        let (s, v) = json(admin.post(path, &body).await).await;
        assert_eq!(s, status, "{path} {body}: {v}");
        assert!(message(&v).contains(text), "{path} {body}: {v}");
    }
    for (q, text) in [
        ("limit=x", "limit param must be an integer"),
        ("limit=-1", "limit param must be positive"),
        ("sort_dir=up", "Invalid sort direction: up"),
        ("visibility=shared", "Invalid visibility value: shared"),
        (
            "marker=OS::Glint::None",
            "Metadata definition namespace=OS::Glint::None was not found.",
        ),
    ] {
        let (s, v) = json(admin.get(&format!("{NS}?{q}")).await).await;
        let want = if q.starts_with("marker") { 404 } else { 400 };
        assert_eq!((s, message(&v).as_str()), (want, text), "{q}");
    }
    let r = admin
        .request(Method::POST, NS)
        .header("Content-Type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = admin.request(Method::PATCH, NS).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let (s, _) = json(admin.get("/v2/schemas/metadefs/bogus").await).await;
    assert_eq!(s, 404);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_namespaces"), 1);
});

backend_test!(namespace_paging, |app| async move {
    for i in 0..5 {
        make_ns(
            &app,
            &format!("OS::Glint::P{i}"),
            json!({"visibility": "public"}),
        )
        .await;
    }
    let reader = app.caller("p1", "reader");
    let mut seen = Vec::new();
    let mut next = Some(format!("{NS}?limit=2&sort_key=namespace&sort_dir=asc"));
    while let Some(url) = next {
        let (s, v) = json(reader.get(&url).await).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["schema"], "/v2/schemas/metadefs/namespaces");
        assert_eq!(
            v["first"],
            "/v2/metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc"
        );
        for n in v["namespaces"].as_array().unwrap() {
            seen.push(n["namespace"].as_str().unwrap().to_owned());
        }
        next = v["next"].as_str().map(str::to_owned);
    }
    let want: Vec<String> = (0..5).map(|i| format!("OS::Glint::P{i}")).collect();
    assert_eq!(seen, want);
    let (_, v) = json(
        reader
            .get(&format!("{NS}?sort_key=namespace&sort_dir=desc&limit=1"))
            .await,
    )
    .await;
    assert_eq!(v["namespaces"][0]["namespace"], "OS::Glint::P4");
    assert_eq!(v["next"], "/v2/metadefs/namespaces?sort_key=namespace&sort_dir=desc&limit=1&marker=OS%3A%3AGlint%3A%3AP4");
});

backend_test!(schemas_are_served, |app| async move {
    let reader = app.caller("p1", "reader");
    for (path, name) in [
        ("namespace", "namespace"),
        ("resource_types", "resource_type_associations"),
        ("properties", "properties"),
        ("tags", "tags"),
    ] {
        let (s, v) = json(reader.get(&format!("/v2/schemas/metadefs/{path}")).await).await;
        assert_eq!((s, v["name"].clone()), (200, json!(name)));
    }
});

backend_test!(load_metadefs_is_idempotent, |app| async move {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metadefs");
    for e in std::fs::read_dir(&fixtures).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.path().join("broken.json"), "not json").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let db = app.state.db.clone();
    let r = glint::service::metadefs::load::load_dir(&db, dir.path()).unwrap();
    assert_eq!(r.loaded, ["GLINT::Test::Flavor", "GLINT::Test::Volume"]);
    assert!(r.skipped.is_empty());
    assert_eq!(r.failed.len(), 1, "{:?}", r.failed);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_namespaces WHERE owner = 'admin'"),
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM metadef_resource_types WHERE protected"),
        3
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_properties"), 3);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_tags"), 2);
    // A second run changes nothing.
    let r = glint::service::metadefs::load::load_dir(&db, dir.path()).unwrap();
    assert!(r.loaded.is_empty());
    assert_eq!(r.skipped.len(), 2);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM metadef_properties"), 3);
    // What was loaded is served: public to a reader elsewhere, private only to its owner.
    let reader = app.caller("p1", "reader");
    let (s, v) = json(reader.get(&format!("{NS}/GLINT::Test::Flavor")).await).await;
    assert_eq!(s, 200);
    assert_eq!(v["objects"][0]["properties"]["seconds"]["minimum"], 0);
    assert_eq!(v["tags"], json!([{"name": "glint"}, {"name": "test"}]));
    let (s, _) = json(reader.get(&format!("{NS}/GLINT::Test::Volume")).await).await;
    assert_eq!(s, 404);
    let (s, _) = json(
        app.caller("glint-ops", "reader")
            .get(&format!("{NS}/GLINT::Test::Volume"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = json(
        reader
            .get(&format!(
                "{NS}/GLINT::Test::Flavor/properties/gt_speed?resource_type=OS::Glance::Image"
            ))
            .await,
    )
    .await;
    assert_eq!(v["name"], "speed");
});

backend_test!(metadef_tables_match_across_backends, |app| async move {
    // Every Glance metadef column exists; schema::both_backends_have_the_same_schema compares the
    // two backends' catalogs of every table: column types, nullability and indexes.
    for (table, cols) in [
        ("metadef_namespaces", "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at"),
        ("metadef_objects", "id, namespace_id, name, description, required, json_schema, created_at, updated_at"),
        ("metadef_properties", "id, namespace_id, name, json_schema, created_at, updated_at"),
        ("metadef_tags", "id, namespace_id, name, created_at, updated_at"),
        ("metadef_resource_types", "id, name, protected, created_at, updated_at"),
        ("metadef_namespace_resource_types", "resource_type_id, namespace_id, properties_target, prefix, created_at, updated_at"),
    ] {
        assert_eq!(app.count(&format!("SELECT COUNT(*) AS n FROM (SELECT {cols} FROM {table}) AS t")), 0);
    }
});
