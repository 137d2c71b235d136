//! Image create / show / delete / tags / actions.

use serde_json::json;

use crate::backend_test;
use crate::helpers::{json, message};
use crate::store_test;

backend_test!(create_defaults_and_show, |app| async move {
    let owner = app.caller("p1", "member,reader");
    let img = owner
        .create_image(json!({"name": "cirros", "disk_format": "raw", "container_format": "bare", "os_distro": "cirros"}))
        .await;
    let id = img["id"].as_str().unwrap().to_owned();
    assert_eq!(img["visibility"], "shared");
    assert_eq!(img["status"], "queued");
    assert_eq!(img["owner"], "p1");
    assert_eq!(img["protected"], false);
    assert_eq!(img["os_hidden"], false);
    assert_eq!(img["min_ram"], 0);
    assert_eq!(img["size"], serde_json::Value::Null);
    assert_eq!(img["os_distro"], "cirros");
    assert_eq!(img["self"], format!("/v2/images/{id}"));
    assert_eq!(img["file"], format!("/v2/images/{id}/file"));
    assert_eq!(img["schema"], "/v2/schemas/image");
    assert_eq!(img["tags"], json!([]));
    let created = img["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    for key in [
        "checksum",
        "virtual_size",
        "os_hash_algo",
        "os_hash_value",
        "min_disk",
        "container_format",
        "disk_format",
        "name",
        "updated_at",
    ] {
        assert!(img.get(key).is_some(), "missing {key}");
    }
    let (status, shown) = json(owner.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(shown, img);
    assert_eq!(app.count(&format!("SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{id}' AND name = 'os_distro'")), 1);
});

backend_test!(create_location_header_and_given_id, |app| async move {
    let c = app.caller("p1", "member");
    let id = "b2173dd3-7ad6-4362-baa6-a68bce3565cb";
    let r = c
        .post("/v2/images", &json!({"id": id, "tags": ["a", "b"]}))
        .await;
    assert_eq!(r.status(), 201);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(loc, format!("{}/v2/images/{id}", app.addr));
    let (_, v) = json(r).await;
    let mut tags: Vec<String> = serde_json::from_value(v["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["a", "b"]);
    let (s, v) = json(c.post("/v2/images", &json!({"id": id})).await).await;
    assert_eq!(s, 409);
    assert_eq!(message(&v), format!("Image ID {id} already exists!"));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 1);
});

backend_test!(create_rejections, |app| async move {
    let c = app.caller("p1", "member");
    let cases = [
        (
            json!({"status": "active"}),
            403,
            "Attribute 'status' is read-only.",
        ),
        (
            json!({"checksum": "x"}),
            403,
            "Attribute 'checksum' is read-only.",
        ),
        (json!({"self": "x"}), 403, "Attribute 'self' is read-only."),
        (
            json!({"deleted": "x"}),
            403,
            "Attribute 'deleted' is reserved.",
        ),
        (
            json!({"os_glance_foo": "x"}),
            403,
            "Attribute 'os_glance_foo' is reserved.",
        ),
        (
            json!({"owner": "p2"}),
            403,
            "You are not permitted to create images owned by 'p2'",
        ),
        (
            json!({"visibility": "public"}),
            403,
            "You are not authorized to complete publicize_image action.",
        ),
    ];
    for (body, status, msg) in cases {
        let (s, v) = json(c.post("/v2/images", &body).await).await;
        assert_eq!((s, message(&v).as_str()), (status, msg), "{body}");
    }
    for body in [
        json!({"visibility": "bogus"}),
        json!({"disk_format": "floppy"}),
        json!({"container_format": "box"}),
        json!({"min_ram": -1}),
        json!({"protected": "yes"}),
        json!({"name": "x".repeat(256)}),
        json!({"custom": 5}),
        json!({"id": "not-a-uuid"}),
        json!({"deleted": false}),
    ] {
        let (s, _) = json(c.post("/v2/images", &body).await).await;
        assert_eq!(s, 400, "{body}");
    }
    let reader = app.caller("p1", "reader");
    let (s, v) = json(reader.post("/v2/images", &json!({})).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (403, "You are not authorized to complete add_image action.")
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM image_properties"), 0);
});

backend_test!(admin_creates_public_and_foreign_owned, |app| async move {
    let admin = app.caller("adm", "admin");
    let img = admin
        .create_image(json!({"visibility": "public", "owner": "deadbeef"}))
        .await;
    assert_eq!(img["owner"], "deadbeef");
    assert_eq!(img["visibility"], "public");
    let other = app.caller("p9", "reader");
    let (s, _) = json(
        other
            .get(&format!("/v2/images/{}", img["id"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(s, 200);
});

backend_test!(community_by_owner_member, |app| async move {
    let c = app.caller("p1", "member");
    let img = c.create_image(json!({"visibility": "community"})).await;
    assert_eq!(img["visibility"], "community");
});

backend_test!(show_hides_private_images, |app| async move {
    let owner = app.caller("p1", "member");
    let img = owner.create_image(json!({"visibility": "private"})).await;
    let id = img["id"].as_str().unwrap();
    let (s, v) = json(
        app.caller("p2", "member")
            .get(&format!("/v2/images/{id}"))
            .await,
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(message(&v), format!("No image found with ID {id}"));
    let (s, _) = json(
        app.caller("adm", "admin")
            .get(&format!("/v2/images/{id}"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let long = "a".repeat(37);
    let (s, _) = json(owner.get(&format!("/v2/images/{long}")).await).await;
    assert_eq!(s, 404);
});

store_test!(delete_image_and_its_data, |app| async move {
    let c = app.caller("p1", "member");
    let img = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await;
    let id = img["id"].as_str().unwrap();
    assert_eq!(c.upload(id, b"hello".to_vec()).await.status(), 204);
    assert_eq!(app.store_files(), vec![id.to_owned()]);
    let (s, v) = json(
        app.caller("p2", "member")
            .delete(&format!("/v2/images/{id}"))
            .await,
    )
    .await;
    assert_eq!(
        (s, message(&v)),
        (404, format!("Failed to find image {id} to delete"))
    );
    let (s, v) = json(
        app.caller("p1", "reader")
            .delete(&format!("/v2/images/{id}"))
            .await,
    )
    .await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            403,
            "You are not authorized to complete delete_image action."
        )
    );
    let r = c.delete(&format!("/v2/images/{id}")).await;
    assert_eq!(r.status(), 204);
    assert!(app.store_files().is_empty());
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM images WHERE id = '{id}' AND deleted AND status = 'deleted'"
        )),
        1
    );
    assert_eq!(json(c.get(&format!("/v2/images/{id}")).await).await.0, 404);
    assert_eq!(
        json(c.delete(&format!("/v2/images/{id}")).await).await.0,
        404
    );
    let (_, list) = json(c.get("/v2/images").await).await;
    assert_eq!(list["images"], json!([]));
});

backend_test!(protected_image_cannot_be_deleted, |app| async move {
    let c = app.caller("p1", "member");
    let img = c.create_image(json!({"protected": true})).await;
    let id = img["id"].as_str().unwrap();
    let (s, v) = json(c.delete(&format!("/v2/images/{id}")).await).await;
    assert_eq!(
        (s, message(&v)),
        (
            403,
            format!("Image {id} is protected and cannot be deleted.")
        )
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM images WHERE NOT deleted"),
        1
    );
});

backend_test!(tags_add_remove, |app| async move {
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let put = |t: &str| {
        c.request(reqwest::Method::PUT, &format!("/v2/images/{id}/tags/{t}"))
            .send()
    };
    assert_eq!(put("alpha").await.unwrap().status(), 204);
    assert_eq!(put("alpha").await.unwrap().status(), 204);
    assert_eq!(put("beta").await.unwrap().status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["tags"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_tags WHERE image_id = '{id}'"
        )),
        2
    );
    assert_eq!(
        c.delete(&format!("/v2/images/{id}/tags/alpha"))
            .await
            .status(),
        204
    );
    assert_eq!(
        json(c.delete(&format!("/v2/images/{id}/tags/alpha")).await)
            .await
            .0,
        404
    );
    let long = "t".repeat(256);
    assert_eq!(put(&long).await.unwrap().status(), 400);
    let missing = "11111111-2222-3333-4444-555555555555";
    let r = c
        .request(
            reqwest::Method::PUT,
            &format!("/v2/images/{missing}/tags/x"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let other = app.caller("p2", "member");
    let r = other
        .request(reqwest::Method::PUT, &format!("/v2/images/{id}/tags/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
});

backend_test!(
    tag_quota,
    config = |c| c.image_tag_quota = 2,
    |app| async move {
        let c = app.caller("p1", "member");
        let id = c.create_image(json!({"tags": ["a"]})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let put = |t: &str| {
            c.request(reqwest::Method::PUT, &format!("/v2/images/{id}/tags/{t}"))
                .send()
        };
        assert_eq!(put("b").await.unwrap().status(), 204);
        let (s, v) = json(put("c").await.unwrap()).await;
        assert_eq!(s, 413, "{v}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_tags WHERE image_id = '{id}'"
            )),
            2
        );
        let (s, _) = json(
            c.post("/v2/images", &json!({"tags": ["x", "y", "z"]}))
                .await,
        )
        .await;
        assert_eq!(s, 413);
    }
);

backend_test!(deactivate_reactivate, |app| async move {
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let action = |a: &str| {
        c.request(
            reqwest::Method::POST,
            &format!("/v2/images/{id}/actions/{a}"),
        )
        .send()
    };
    let (s, v) = json(action("deactivate").await.unwrap()).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (403, "Not allowed to deactivate image in status 'queued'")
    );
    assert_eq!(c.upload(&id, vec![7u8; 10]).await.status(), 204);
    assert_eq!(action("deactivate").await.unwrap().status(), 204);
    assert_eq!(action("deactivate").await.unwrap().status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["status"], "deactivated");
    let (s, v) = json(c.get(&format!("/v2/images/{id}/file")).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            403,
            "The requested image has been deactivated. Image data download is forbidden."
        )
    );
    let admin = app.caller("adm", "admin");
    assert_eq!(
        admin.get(&format!("/v2/images/{id}/file")).await.status(),
        200
    );
    let reader = app.caller("p1", "reader");
    let r = reader
        .request(
            reqwest::Method::POST,
            &format!("/v2/images/{id}/actions/reactivate"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(action("reactivate").await.unwrap().status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["status"], "active");
    assert_eq!(c.get(&format!("/v2/images/{id}/file")).await.status(), 200);
});
