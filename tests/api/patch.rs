//! PATCH /v2/images/{id}: both media types, every op, the error answers.

use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{json, message, Backend, Caller, TestApp};

async fn patch_as(c: &Caller<'_>, id: &str, media: &str, ops: Value) -> (u16, Value) {
    let r = c
        .request(reqwest::Method::PATCH, &format!("/v2/images/{id}"))
        .header("Content-Type", media)
        .body(ops.to_string())
        .send()
        .await
        .unwrap();
    json(r).await
}

const V21: &str = "application/openstack-images-v2.1-json-patch";
const V20: &str = "application/openstack-images-v2.0-json-patch";

backend_test!(v21_operations, |app| async move {
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"name": "old", "os_distro": "debian"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = patch_as(
        &c,
        &id,
        V21,
        json!([
            {"op": "replace", "path": "/name", "value": "new"},
            {"op": "add", "path": "/os_version", "value": "12"},
            {"op": "add", "path": "/os_distro", "value": "ubuntu"},
            {"op": "replace", "path": "/min_ram", "value": 512},
            {"op": "replace", "path": "/tags", "value": ["x", "y"]},
            {"op": "add", "path": "/visibility", "value": "private"},
        ]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "new");
    assert_eq!(v["os_version"], "12");
    assert_eq!(v["os_distro"], "ubuntu");
    assert_eq!(v["min_ram"], 512);
    assert_eq!(v["visibility"], "private");
    assert_eq!(v["tags"].as_array().unwrap().len(), 2);
    let (_, shown) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(shown, v);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{id}'"
        )),
        2
    );
    let (s, v) = patch_as(
        &c,
        &id,
        V21,
        json!([{"op": "remove", "path": "/os_version"}]),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v.get("os_version").is_none());
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{id}'"
        )),
        1
    );
    let (s, v) = patch_as(&c, &id, V21, json!([])).await;
    assert_eq!((s, v["name"].as_str()), (200, Some("new")));
});

backend_test!(v20_draft_form, |app| async move {
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({"name": "old", "foo": "bar"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = patch_as(
        &c,
        &id,
        V20,
        json!([{"replace": "/name", "value": "tempest"}]),
    )
    .await;
    assert_eq!((s, v["name"].as_str()), (200, Some("tempest")));
    let (s, v) = patch_as(&c, &id, V20, json!([{"add": "/foo", "value": "baz"}])).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (409, "Property foo already present.")
    );
    let (s, _) = patch_as(
        &c,
        &id,
        V20,
        json!([{"replace": "/os_hidden", "value": true}]),
    )
    .await;
    assert_eq!(s, 200);
    let (_, list) = json(c.get("/v2/images").await).await;
    assert_eq!(list["images"], json!([]));
});

backend_test!(patch_errors, |app| async move {
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({"name": "n"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases = [
        (
            json!([{"op": "replace", "path": "/status", "value": "active"}]),
            403,
            "Attribute 'status' is read-only.",
        ),
        (
            json!([{"op": "replace", "path": "/deleted", "value": "x"}]),
            403,
            "Attribute 'deleted' is reserved.",
        ),
        (
            json!([{"op": "add", "path": "/os_glance_x", "value": "x"}]),
            403,
            "Attribute 'os_glance_x' is reserved.",
        ),
        (
            json!([{"op": "replace", "path": "/nope", "value": "x"}]),
            409,
            "Property nope does not exist.",
        ),
        (
            json!([{"op": "remove", "path": "/nope"}]),
            409,
            "Property nope does not exist.",
        ),
        (
            json!([{"op": "remove", "path": "/name"}]),
            403,
            "Property name may not be removed.",
        ),
        (
            json!([{"op": "replace", "path": "/min_disk", "value": 2147483648_i64}]),
            400,
            "'min_disk' value out of range, must not exceed 2147483647.",
        ),
        (
            json!([{"op": "replace", "path": "/min_ram", "value": 1e23}]),
            400,
            "'min_ram' value out of range, must not exceed 2147483647.",
        ),
        (
            json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
            403,
            "You are not authorized to complete publicize_image action.",
        ),
    ];
    for (ops, status, msg) in cases {
        let (s, v) = patch_as(&c, &id, V21, ops.clone()).await;
        assert_eq!((s, message(&v).as_str()), (status, msg), "{ops}");
    }
    for ops in [
        json!({"op": "replace"}),
        json!([1]),
        json!([{"op": "move", "path": "/name", "value": "x"}]),
        json!([{"op": "replace", "path": "name", "value": "x"}]),
        json!([{"op": "add", "path": "/name"}]),
        json!([{"op": "replace", "path": "/visibility", "value": "bogus"}]),
        json!([{"op": "replace", "path": "/min_disk", "value": -1}]),
        json!([{"op": "replace", "path": "/protected", "value": "true"}]),
        json!([{"op": "add", "path": "/custom", "value": 1}]),
    ] {
        let (s, v) = patch_as(&c, &id, V21, ops.clone()).await;
        assert_eq!(s, 400, "{ops}: {v}");
    }
    let r = c
        .request(reqwest::Method::PATCH, &format!("/v2/images/{id}"))
        .header("Content-Type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(r.headers()["accept-patch"], "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch");
    // Nothing changed.
    let (_, v) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(v["name"], "n");
    assert_eq!(v["visibility"], "shared");
});

backend_test!(patch_authorisation, |app| async move {
    let owner = app.caller("p1", "member");
    let id = owner.create_image(json!({"name": "n"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ops = json!([{"op": "replace", "path": "/name", "value": "x"}]);
    let (s, _) = patch_as(&app.caller("p2", "member"), &id, V21, ops.clone()).await;
    assert_eq!(s, 404);
    owner
        .post(
            &format!("/v2/images/{id}/members"),
            &json!({"member": "p2"}),
        )
        .await;
    let (s, v) = patch_as(&app.caller("p2", "member"), &id, V21, ops.clone()).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            403,
            "You are not authorized to complete modify_image action."
        )
    );
    let (s, _) = patch_as(&app.caller("p1", "reader"), &id, V21, ops.clone()).await;
    assert_eq!(s, 403);
    let (s, v) = patch_as(
        &owner,
        &id,
        V21,
        json!([{"op": "replace", "path": "/owner", "value": "p3"}]),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let admin = app.caller("adm", "admin");
    let (s, v) = patch_as(&admin, &id, V21, json!([{"op": "replace", "path": "/owner", "value": "p3"}, {"op": "replace", "path": "/visibility", "value": "public"}])).await;
    assert_eq!(
        (s, v["owner"].as_str(), v["visibility"].as_str()),
        (200, Some("p3"), Some("public"))
    );
    // disk_format is frozen once data is in.
    let id2 = owner
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    owner.upload(&id2, vec![1, 2]).await;
    let (s, _) = patch_as(
        &owner,
        &id2,
        V21,
        json!([{"op": "replace", "path": "/disk_format", "value": "qcow2"}]),
    )
    .await;
    assert_eq!(s, 403);
});

backend_test!(
    property_quota,
    config = |c| c.image_property_quota = 2,
    |app| async move {
        let c = app.caller("p1", "member");
        let id = c.create_image(json!({"a": "1", "b": "2"})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, _) = patch_as(
            &c,
            &id,
            V21,
            json!([{"op": "add", "path": "/c", "value": "3"}]),
        )
        .await;
        assert_eq!(s, 413);
        let (s, _) = patch_as(
            &c,
            &id,
            V21,
            json!([{"op": "replace", "path": "/a", "value": "9"}]),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _) = json(
            c.post("/v2/images", &json!({"a": "1", "b": "2", "c": "3"}))
                .await,
        )
        .await;
        assert_eq!(s, 413);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 1);
    }
);

/// Every column of the image's row and of its property and tag rows, as text, in id order.
fn stored(app: &TestApp, id: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
    }
    let cols = |names: &[&str]| {
        let cells = names.iter().map(|c| match app.backend {
            Backend::Mysql => format!("COALESCE(CAST({c} AS CHAR), '~')"),
            _ => format!("COALESCE(CAST({c} AS TEXT), '~')"),
        });
        match app.backend {
            Backend::Mysql => format!("CONCAT_WS('|', {})", cells.collect::<Vec<_>>().join(", ")),
            _ => cells.collect::<Vec<_>>().join(" || '|' || "),
        }
    };
    let tagged = |tag: &str, cols: &str| match app.backend {
        Backend::Mysql => format!("CONCAT('{tag}|', {cols})"),
        _ => format!("'{tag}|' || {cols}"),
    };
    let image = cols(&[
        "id",
        "name",
        "size",
        "status",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted",
        "disk_format",
        "container_format",
        "checksum",
        "owner",
        "min_disk",
        "min_ram",
        "protected",
        "virtual_size",
        "visibility",
        "os_hidden",
        "os_hash_algo",
        "os_hash_value",
    ]);
    let property = cols(&[
        "id",
        "name",
        "value",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted",
    ]);
    let tag = cols(&[
        "id",
        "value",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted",
    ]);
    let queries = [
        format!(
            "SELECT {} AS s FROM images WHERE id = '{id}'",
            tagged("i", &image)
        ),
        format!(
            "SELECT {} AS s FROM image_properties WHERE image_id = '{id}' ORDER BY id",
            tagged("p", &property)
        ),
        format!(
            "SELECT {} AS s FROM image_tags WHERE image_id = '{id}' ORDER BY id",
            tagged("t", &tag)
        ),
    ];
    let mut conn = app.db();
    queries
        .iter()
        .flat_map(|q| {
            let rows: Vec<Row> =
                diesel::RunQueryDsl::load(diesel::sql_query(q), &mut *conn).expect(q);
            rows.into_iter().map(|r| r.s)
        })
        .collect()
}

// A document applies as a whole or not at all: when its last operation fails,
// the earlier ones (a core attribute, a new and a replaced property, a removed
// and an added tag) leave no trace in the database, and updated_at is unchanged.
backend_test!(
    failed_patch_leaves_the_stored_image_alone,
    |app| async move {
        let c = app.caller("p1", "member");
        let img = c
            .create_image(json!({"name": "old", "os_distro": "debian", "tags": ["a", "b"]}))
            .await;
        let id = img["id"].as_str().unwrap().to_owned();
        let before = stored(&app, &id);
        assert_eq!(before.len(), 4, "{before:?}");
        let (_, shown_before) = json(c.get(&format!("/v2/images/{id}")).await).await;
        let (s, v) = patch_as(
            &c,
            &id,
            V21,
            json!([
                {"op": "replace", "path": "/name", "value": "new"},
                {"op": "replace", "path": "/min_ram", "value": 512},
                {"op": "add", "path": "/os_version", "value": "12"},
                {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
                {"op": "replace", "path": "/tags", "value": ["b", "c"]},
                {"op": "remove", "path": "/nope"},
            ]),
        )
        .await;
        assert_eq!(
            (s, message(&v).as_str()),
            (409, "Property nope does not exist.")
        );
        assert_eq!(stored(&app, &id), before);
        let (_, shown_after) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(shown_after, shown_before);
        // The same document without its failing operation does change the row.
        let (s, _) = patch_as(
            &c,
            &id,
            V21,
            json!([{"op": "replace", "path": "/name", "value": "new"}]),
        )
        .await;
        assert_eq!(s, 200);
        assert_ne!(stored(&app, &id)[0], before[0]);
    }
);
