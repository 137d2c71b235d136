//! `[image_format] disk_formats` and `container_formats`: the formats an image may have, as the
//! image schema's enums (Glance's `get_base_properties`): refused on create and PATCH with the
//! schema's 400, listed by `GET /v2/schemas/image(s)`; and `vmdk_allowed_types` on the data.

use serde_json::{json, Value};

use crate::helpers::{json, message, Backend, TestApp};

async fn restricted() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.disk_formats = vec!["raw".into(), "qcow2".into()];
        c.container_formats = vec!["bare".into()];
    })
    .await
}

/// Glance's report for `{name: value}` outside the configured list: Python jsonschema's
/// `best_match` with the sub-schema pretty-printed in its own key order, as in Glance 32.
fn refusal(name: &str, value: &str, description: &str, allowed: &str) -> String {
    format!(
        "Provided object does not match schema 'image': '{value}' is not one of [None, {allowed}]\n\n\
         Failed validating 'enum' in schema['properties']['{name}']:\n    \
         {{'type': ['null', 'string'],\n     'description': '{description}',\n     \
         'enum': [None, {allowed}]}}\n\nOn instance['{name}']:\n    '{value}'"
    )
}

#[actix_web::test]
async fn create_refuses_a_format_left_out_of_the_lists() {
    let app = restricted().await;
    let c = app.caller("p1", "member");
    let (s, v) = json(
        c.post("/v2/images", &json!({"name": "a", "disk_format": "vmdk"}))
            .await,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        message(&v),
        refusal(
            "disk_format",
            "vmdk",
            "Format of the disk",
            "'raw', 'qcow2'"
        )
    );
    let (s, v) = json(
        c.post(
            "/v2/images",
            &json!({"name": "b", "container_format": "ova"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        message(&v),
        refusal(
            "container_format",
            "ova",
            "Format of the container",
            "'bare'"
        )
    );
    // Nothing was written for the refused requests.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 0);

    // The listed formats, and null, are accepted.
    let (s, v) = json(
        c.post(
            "/v2/images",
            &json!({"name": "c", "disk_format": "qcow2", "container_format": "bare"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["disk_format"].as_str(), v["container_format"].as_str()),
        (Some("qcow2"), Some("bare"))
    );
    let (s, v) = json(
        c.post("/v2/images", &json!({"name": "d", "disk_format": null}))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 2);
}

#[actix_web::test]
async fn patch_refuses_a_format_left_out_of_the_lists() {
    let app = restricted().await;
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"name": "a", "disk_format": "raw"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Both media types: v2.1's `op`/`path` and the v2.0 draft's `{"replace": <path>}`.
    for (mt, op) in [
        (
            "application/openstack-images-v2.1-json-patch",
            json!({"op": "replace", "path": "/disk_format", "value": "iso"}),
        ),
        (
            "application/openstack-images-v2.0-json-patch",
            json!({"replace": "/disk_format", "value": "iso"}),
        ),
    ] {
        let r = c
            .request(reqwest::Method::PATCH, &format!("/v2/images/{id}"))
            .header("Content-Type", mt)
            .body(json!([op]).to_string())
            .send()
            .await
            .unwrap();
        let (s, v) = json(r).await;
        assert_eq!(s, 400, "{mt}: {v}");
        assert_eq!(
            message(&v),
            refusal("disk_format", "iso", "Format of the disk", "'raw', 'qcow2'")
        );
    }
    let (_, shown) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(shown["disk_format"], "raw");
    let r = c
        .request(reqwest::Method::PATCH, &format!("/v2/images/{id}"))
        .header(
            "Content-Type",
            "application/openstack-images-v2.1-json-patch",
        )
        .body(json!([{"op": "replace", "path": "/disk_format", "value": "qcow2"}]).to_string())
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!((s, v["disk_format"].as_str()), (200, Some("qcow2")), "{v}");
}

#[actix_web::test]
async fn schemas_list_the_configured_formats() {
    let app = restricted().await;
    let c = app.caller("p1", "member");
    let enums = |v: &Value, at: &str| v.pointer(at).cloned().unwrap();
    let (s, image) = json(c.get("/v2/schemas/image").await).await;
    assert_eq!(s, 200);
    assert_eq!(
        enums(&image, "/properties/disk_format/enum"),
        json!([null, "raw", "qcow2"])
    );
    assert_eq!(
        enums(&image, "/properties/container_format/enum"),
        json!([null, "bare"])
    );
    let (_, images) = json(c.get("/v2/schemas/images").await).await;
    assert_eq!(images["properties"]["images"]["items"], image);

    // Unconfigured: Glance's defaults, vmdk and ova included.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.caller("p1", "member");
    let (_, image) = json(c.get("/v2/schemas/image").await).await;
    assert_eq!(
        enums(&image, "/properties/disk_format/enum"),
        json!([
            null, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"
        ])
    );
    assert_eq!(
        enums(&image, "/properties/container_format/enum"),
        json!([
            null,
            "ami",
            "ari",
            "aki",
            "bare",
            "ovf",
            "ova",
            "docker",
            "compressed"
        ])
    );
    let (s, _) = json(
        c.post(
            "/v2/images",
            &json!({"disk_format": "vmdk", "container_format": "ova"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
}

/// Real VMDK files made by qemu-img (tests/fixtures/vmdk).
fn vmdk(create_type: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/vmdk/{create_type}.vmdk",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

crate::backend_test!(
    vmdk_allowed_types_on_upload_and_import,
    config = |c| c.data_rules.vmdk_allowed_types = Some(vec!["streamOptimized".into()]),
    |app| async move {
        let c = app.caller("p1", "member");
        let new = |disk_format: &'static str| {
            let c = &c;
            async move {
                c.create_image(json!({"disk_format": disk_format, "container_format": "bare"}))
                    .await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let a = new("vmdk").await;
        assert_eq!(c.upload(&a, vmdk("streamOptimized")).await.status(), 204);
        let (_, img) = json(c.get(&format!("/v2/images/{a}")).await).await;
        assert_eq!(
            (img["status"].clone(), img["virtual_size"].clone()),
            (json!("active"), json!(1 << 20))
        );
        // Left out of the list: refused like a create-type the inspector does not support,
        // also when the image claims to be raw, and nothing is kept.
        for disk_format in ["vmdk", "raw"] {
            let b = new(disk_format).await;
            let (s, v) = json(c.upload(&b, vmdk("monolithicSparse")).await).await;
            assert_eq!(
                (s, message(&v)),
                (415, "Image failed safety checks".to_owned()),
                "{disk_format}"
            );
            let (_, img) = json(c.get(&format!("/v2/images/{b}")).await).await;
            assert_eq!(
                (img["status"].clone(), img["size"].clone()),
                (json!("queued"), Value::Null)
            );
            assert!(!app.store_files().iter().any(|f| f.contains(&b)));
        }
        // The same on import.
        let d = new("vmdk").await;
        assert_eq!(
            crate::import::stage(&c, &d, vmdk("monolithicSparse"))
                .await
                .status(),
            204
        );
        let r = crate::import::import(&c, &d, json!({"method": {"name": "glance-direct"}})).await;
        assert_eq!(r.status(), 202);
        let tasks = crate::import::wait_tasks(&c, &d).await;
        assert_eq!(tasks[0]["status"], "failure", "{tasks:?}");
        assert!(
            tasks[0]["message"]
                .as_str()
                .unwrap()
                .contains("Image failed safety checks"),
            "{tasks:?}"
        );
        assert!(!app.store_files().iter().any(|f| f.contains(&d)));
    }
);

crate::backend_test!(vmdk_default_types_are_glances, |app| async move {
    let c = app.caller("p1", "member");
    for create_type in ["monolithicSparse", "streamOptimized"] {
        let id = c
            .create_image(json!({"disk_format": "vmdk", "container_format": "bare"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            c.upload(&id, vmdk(create_type)).await.status(),
            204,
            "{create_type}"
        );
    }
});
