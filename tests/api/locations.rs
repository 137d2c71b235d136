//! `image_locations` as Glance 32 writes and reads them, so that Glance and glint share one
//! database and one image store: the row an upload or an import leaves (value, meta_data,
//! status), what a delete makes of it, and downloads through rows Glance wrote, in any
//! configured store directory and nowhere else.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::RunQueryDsl;
use glint::db::models::LocationRow;
use md5::Digest;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{assert_error, json, message, Caller, TestApp};

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 251) as u8).collect()
}

fn rows(app: &TestApp, id: &str) -> Vec<LocationRow> {
    glint::db::locations::all(&mut app.db(), id).unwrap()
}

fn sql(app: &TestApp, q: &str) {
    diesel::sql_query(q).execute(&mut *app.db()).unwrap();
}

/// The URL Glance's filesystem driver records for `id` in `dir`.
fn file_url(dir: &Path, id: &str) -> String {
    format!("file://{}", dir.join(id).display())
}

async fn raw_image(c: &Caller<'_>) -> String {
    c.create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn uploaded(c: &Caller<'_>, data: &[u8]) -> String {
    let id = raw_image(c).await;
    assert_eq!(c.upload(&id, data.to_vec()).await.status(), 204);
    id
}

async fn wait_active(c: &Caller<'_>, id: &str) -> Value {
    for _ in 0..400 {
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        if img["status"] == "active" {
            return img;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("image {id} did not become active");
}

async fn download(c: &Caller<'_>, id: &str) -> (u16, Vec<u8>) {
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    let s = r.status().as_u16();
    (s, r.bytes().await.unwrap().to_vec())
}

/// The one live row of `id`: `value`, `meta_data`, `status` `active`, not deleted, created
/// and updated when the image became active.
fn assert_glance_row(app: &TestApp, id: &str, meta: &str) {
    let dir = &app.state.config.filesystem_store_datadir;
    let r = rows(app, id);
    assert_eq!(r.len(), 1, "{r:?}");
    let row = &r[0];
    assert_eq!(row.value, file_url(dir, id));
    assert_eq!(row.meta_data.as_deref(), Some(meta));
    assert_eq!(row.status, "active");
    assert!(!row.deleted);
    assert_eq!(row.deleted_at, None);
    assert_eq!(row.updated_at, Some(row.created_at));
    let same_time = format!(
        "SELECT COUNT(*) AS n FROM image_locations l JOIN images i ON i.id = l.image_id \
         WHERE l.image_id = '{id}' AND l.created_at = i.updated_at AND i.status = 'active'"
    );
    assert_eq!(app.count(&same_time), 1);
    // The file the row names holds the data.
    assert!(Path::new(row.value.strip_prefix("file://").unwrap()).is_file());
}

/// Every row of `id` as Glance's delete leaves it: `deleted`, at the image's `deleted_at`.
fn assert_deleted_rows(app: &TestApp, id: &str, n: usize) {
    let r = rows(app, id);
    assert_eq!(r.len(), n, "{r:?}");
    for row in &r {
        assert_eq!(row.status, "deleted");
        assert!(row.deleted);
        assert!(row.deleted_at.is_some());
        assert_eq!(row.updated_at, row.deleted_at);
    }
    let at_delete = format!(
        "SELECT COUNT(*) AS n FROM image_locations l JOIN images i ON i.id = l.image_id \
         WHERE l.image_id = '{id}' AND l.deleted_at = i.deleted_at AND i.status = 'deleted'"
    );
    assert_eq!(app.count(&at_delete) as usize, n);
}

backend_test!(upload_writes_the_row_glance_writes, |app| async move {
    let c = app.caller("p1", "member");
    let data = payload(3000);
    let id = uploaded(&c, &data).await;
    assert_glance_row(&app, &id, "{}");
    let before = format!("{:?}", rows(&app, &id));
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["checksum"], hex::encode(md5::Md5::digest(&data)));
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(download(&c, &id).await, (200, data));

    // Deactivating leaves the row as it is (Glance rewrites it with a new `updated_at`, as on
    // every save of the image; see api-ref/differences.md).
    let admin = app.caller("p1", "admin");
    let r = admin
        .request(
            reqwest::Method::POST,
            &format!("/v2/images/{id}/actions/deactivate"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(format!("{:?}", rows(&app, &id)), before);

    // Delete: the row is marked as Glance marks it, the file is gone.
    assert_eq!(admin.delete_status(&format!("/v2/images/{id}")).await, 204);
    assert_deleted_rows(&app, &id, 1);
    assert!(app.store_files().is_empty());
});

backend_test!(
    multi_store_rows_name_the_store,
    config = |c| {
        c.backend = Some(glint::config::Backend {
            id: "file1".into(),
            description: None,
        });
    },
    |app| async move {
        let c = app.caller("p1", "member");
        let id = uploaded(&c, b"multi").await;
        assert_glance_row(&app, &id, r#"{"store": "file1"}"#);
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(img["stores"], "file1");

        // glance-direct import: the same row, in the transaction that activates the image.
        let id = raw_image(&c).await;
        let r = c
            .request(reqwest::Method::PUT, &format!("/v2/images/{id}/stage"))
            .header("Content-Type", "application/octet-stream")
            .body(b"staged".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert!(rows(&app, &id).is_empty(), "staging writes no location");
        let r = c
            .post(
                &format!("/v2/images/{id}/import"),
                &json!({"method": {"name": "glance-direct"}}),
            )
            .await;
        assert_eq!(r.status(), 202);
        let img = wait_active(&c, &id).await;
        assert_glance_row(&app, &id, r#"{"store": "file1"}"#);
        assert_eq!(img["os_glance_importing_to_stores"], "");
        assert_eq!(img["os_glance_failed_import"], "");
        assert_eq!(download(&c, &id).await, (200, b"staged".to_vec()));

        // A row naming a store glint does not have is not read.
        sql(
            &app,
            &format!(
                "UPDATE image_locations SET meta_data = '{{\"store\": \"file2\"}}' WHERE image_id = '{id}'"
            ),
        );
        assert_eq!(download(&c, &id).await, (204, vec![]));
    }
);

backend_test!(
    web_download_writes_the_row,
    config = |c| {
        c.import.filter.allowed_ports = vec![];
        c.import.filter.allow_internal_addresses = true;
    },
    |app| async move {
        let data = payload(5000);
        let body = data.clone();
        let port = crate::raw::serve(move |_path, conn| {
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            let _ = conn
                .write_all(head.as_bytes())
                .and_then(|()| conn.write_all(&body));
        });
        let c = app.caller("p1", "member");
        let id = raw_image(&c).await;
        let uri = format!("http://127.0.0.1:{port}/image");
        let r = c
            .post(
                &format!("/v2/images/{id}/import"),
                &json!({"method": {"name": "web-download", "uri": uri}}),
            )
            .await;
        assert_eq!(r.status(), 202);
        wait_active(&c, &id).await;
        assert_glance_row(&app, &id, "{}");
        assert_eq!(download(&c, &id).await, (200, data));
    }
);

/// Replaces glint's row of `id` by the one Glance would have written for the data in `dir`,
/// moving the file there.
fn move_to(app: &TestApp, id: &str, dir: &Path) -> PathBuf {
    let from = app.state.config.filesystem_store_datadir.join(id);
    let to = dir.join(id);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::rename(&from, &to).unwrap();
    sql(
        app,
        &format!("DELETE FROM image_locations WHERE image_id = '{id}'"),
    );
    sql(
        app,
        &format!(
            "INSERT INTO image_locations (image_id, value, meta_data, status, created_at, updated_at, deleted) \
             VALUES ('{id}', '{}', '{{}}', 'active', '2026-01-02 03:04:05', '2026-01-02 03:04:05', false)",
            file_url(dir, id)
        ),
    );
    to
}

fn other_dir(app: &TestApp) -> PathBuf {
    app.state.config.filesystem_store_datadirs[1].clone()
}

backend_test!(
    glance_rows_in_another_configured_dir_are_served,
    config = |c| {
        let base = c.filesystem_store_datadir.clone();
        c.filesystem_store_datadirs = vec![base.join("fast"), base.join("slow")];
        c.filesystem_store_datadir = base.join("fast");
    },
    |app| async move {
        let c = app.caller("p1", "member");
        let data = payload(4000);
        let id = uploaded(&c, &data).await;
        assert_glance_row(&app, &id, "{}");
        let other = other_dir(&app);
        let file = move_to(&app, &id, &other);
        assert_eq!(download(&c, &id).await, (200, data.clone()));
        let r = c
            .request(reqwest::Method::GET, &format!("/v2/images/{id}/file"))
            .header("Range", "bytes=10-19")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(r.bytes().await.unwrap().as_ref(), &data[10..20]);

        // Deleted where it is.
        assert_eq!(c.delete_status(&format!("/v2/images/{id}")).await, 204);
        assert_deleted_rows(&app, &id, 1);
        assert!(!file.exists());
    }
);

backend_test!(rows_outside_every_store_are_not_served, |app| async move {
    let c = app.caller("p1", "member");
    let data = payload(1000);
    let id = uploaded(&c, &data).await;
    let outside = tempfile::tempdir().unwrap();
    let file = move_to(&app, &id, outside.path());
    // Glance's answer when no location can be read: 204, no data.
    assert_eq!(download(&c, &id).await, (204, vec![]));
    // Nor through a path that climbs out of the store, nor a link leading out of it.
    let dir = app.state.config.filesystem_store_datadir.clone();
    let up = "/..".repeat(dir.components().count());
    let climbing = format!("file://{}{up}{}", dir.display(), file.display());
    sql(
        &app,
        &format!("UPDATE image_locations SET value = '{climbing}' WHERE image_id = '{id}'"),
    );
    assert_eq!(download(&c, &id).await, (204, vec![]));
    std::os::unix::fs::symlink(&file, dir.join("link")).unwrap();
    sql(
        &app,
        &format!(
            "UPDATE image_locations SET value = '{}' WHERE image_id = '{id}'",
            file_url(&dir, "link")
        ),
    );
    assert_eq!(download(&c, &id).await, (204, vec![]));
    // The delete leaves a file outside the stores alone.
    assert_eq!(c.delete_status(&format!("/v2/images/{id}")).await, 204);
    assert_deleted_rows(&app, &id, 1);
    assert!(file.exists());
});

backend_test!(images_without_rows_keep_working, |app| async move {
    // An image stored by an older glint: data under the store by id, no location row.
    let c = app.caller("p1", "member");
    let data = payload(2000);
    let id = uploaded(&c, &data).await;
    sql(
        &app,
        &format!("DELETE FROM image_locations WHERE image_id = '{id}'"),
    );
    assert_eq!(download(&c, &id).await, (200, data));
    assert_eq!(c.delete_status(&format!("/v2/images/{id}")).await, 204);
    assert!(rows(&app, &id).is_empty());
    assert!(app.store_files().is_empty());
});

backend_test!(deleted_or_pending_rows_are_not_read, |app| async move {
    let c = app.caller("p1", "member");
    let id = uploaded(&c, b"data").await;
    sql(
        &app,
        &format!("UPDATE image_locations SET status = 'pending_delete' WHERE image_id = '{id}'"),
    );
    assert_eq!(download(&c, &id).await, (204, vec![]));
    sql(
        &app,
        &format!(
            "UPDATE image_locations SET status = 'active', deleted = true WHERE image_id = '{id}'"
        ),
    );
    assert_eq!(download(&c, &id).await, (204, vec![]));
});

backend_test!(
    direct_url_as_show_image_direct_url_shows_it,
    config = |c| c.show_image_direct_url = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let img = owner
            .create_image(json!({"disk_format": "raw", "container_format": "bare",
                "visibility": "community"}))
            .await;
        assert!(img.get("direct_url").is_none(), "{img}");
        let id = img["id"].as_str().unwrap().to_owned();
        let (_, v) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert!(v.get("direct_url").is_none(), "no data, no location: {v}");
        assert_eq!(owner.upload(&id, payload(100)).await.status(), 204);
        let want = json!(rows(&app, &id)[0].value);
        assert!(want.as_str().unwrap().starts_with("file:///"), "{want}");
        // The owner project's readers see it on show, list and update.
        let (_, v) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(v["direct_url"], want);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let at = keys.iter().position(|k| *k == "direct_url").unwrap();
        assert_eq!(
            (keys[at - 1].as_str(), keys[at + 1].as_str()),
            ("updated_at", "tags")
        );
        let (_, v) = json(owner.get("/v2/images").await).await;
        assert_eq!(v["images"][0]["direct_url"], want);
        let (_, v) = json(
            owner
                .patch(
                    &format!("/v2/images/{id}"),
                    &json!([{"op": "add", "path": "/name", "value": "n"}]),
                )
                .await,
        )
        .await;
        assert_eq!(v["direct_url"], want);
        // Another project sees the community image, but not where its data is (get_image_location).
        let other = app.caller("p2", "member");
        let (s, v) = json(other.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 200);
        assert!(v.get("direct_url").is_none(), "{v}");
        let (_, v) = json(other.get("/v2/images?visibility=community").await).await;
        assert_eq!(v["images"][0]["id"], id.as_str());
        assert!(v["images"][0].get("direct_url").is_none(), "{v}");
        // An admin does.
        let (_, v) = json(
            app.caller("p2", "admin")
                .get(&format!("/v2/images/{id}"))
                .await,
        )
        .await;
        assert_eq!(v["direct_url"], want);
    }
);

backend_test!(no_direct_url_by_default, |app| async move {
    let owner = app.caller("p1", "admin");
    let img = owner
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await;
    let id = img["id"].as_str().unwrap();
    assert_eq!(owner.upload(id, payload(10)).await.status(), 204);
    let (_, v) = json(owner.get(&format!("/v2/images/{id}")).await).await;
    assert!(v.get("direct_url").is_none(), "{v}");
});

/// The operations of a JSON-patch, sent by `c` (v2.1 media type): status and body.
async fn patch(c: &Caller<'_>, id: &str, ops: Value) -> (u16, Value) {
    json(c.patch(&format!("/v2/images/{id}"), &ops).await).await
}

/// A second live row for `id`, at a copy of its data in the store directory, as Glance
/// leaves one after a `add /locations` or a copy to another store.
fn second_location(app: &TestApp, id: &str, data: &[u8]) -> String {
    let dir = &app.state.config.filesystem_store_datadir;
    let path = dir.join(format!("{id}.copy"));
    std::fs::write(&path, data).unwrap();
    let url = format!("file://{}", path.display());
    let now = chrono::Utc::now().naive_utc();
    glint::db::locations::add(&mut app.db(), id, &url, None, now).unwrap();
    url
}

backend_test!(
    multiple_locations_shown_as_glance_shows_them,
    config = |c| c.show_multiple_locations = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let img = owner
            .create_image(json!({"disk_format": "raw", "container_format": "bare",
                "visibility": "community"}))
            .await;
        // Allowed to see locations, but there are none yet.
        assert_eq!(img["locations"], json!([]), "{img}");
        assert!(img.get("direct_url").is_none(), "{img}");
        let keys: Vec<&String> = img.as_object().unwrap().keys().collect();
        let at = keys.iter().position(|k| *k == "locations").unwrap();
        assert_eq!(
            (keys[at - 1].as_str(), keys[at + 1].as_str()),
            ("updated_at", "tags")
        );
        let id = img["id"].as_str().unwrap().to_owned();
        let data = payload(100);
        assert_eq!(owner.upload(&id, data.clone()).await.status(), 204);
        let first = file_url(&app.state.config.filesystem_store_datadir, &id);
        let second = second_location(&app, &id, &data);
        let want = json!([{"url": first, "metadata": {}}, {"url": second, "metadata": {}}]);
        let (_, v) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(v["locations"], want);
        let (_, v) = json(owner.get("/v2/images").await).await;
        assert_eq!(v["images"][0]["locations"], want);
        // Another project sees the image and an empty list (get_image_location); an admin sees all.
        let other = app.caller("p2", "member");
        let (s, v) = json(other.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!((s, &v["locations"]), (200, &json!([])));
        let admin = app.caller("p2", "admin");
        let (_, v) = json(admin.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(v["locations"], want);
        // A deactivated image's locations are shown to admins only, as Glance's db layer does.
        let r = admin
            .request(
                reqwest::Method::POST,
                &format!("/v2/images/{id}/actions/deactivate"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let (_, v) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(v["locations"], json!([]));
        let (_, v) = json(admin.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(v["locations"], want);
    }
);

backend_test!(locations_hidden_by_default, |app| async move {
    let owner = app.caller("p1", "member");
    let data = payload(10);
    let id = uploaded(&owner, &data).await;
    second_location(&app, &id, &data);
    let (_, v) = json(owner.get(&format!("/v2/images/{id}")).await).await;
    assert!(v.get("locations").is_none(), "{v}");
    let admin = app.caller("p1", "admin");
    for (ops, who, want) in [
        (
            json!([{"op": "remove", "path": "/locations/0"}]),
            &owner,
            "You are not authorized to complete delete_image_location action.",
        ),
        (
            json!([{"op": "remove", "path": "/locations/0"}]),
            &admin,
            "It's not allowed to remove locations if locations are invisible.",
        ),
        (
            json!([{"op": "add", "path": "/locations/-", "value": {"url": "http://h/x", "metadata": {}}}]),
            &owner,
            "It's not allowed to add locations if locations are invisible.",
        ),
        (
            json!([{"op": "replace", "path": "/locations", "value": []}]),
            &owner,
            "Cannot set locations to empty list.",
        ),
    ] {
        let (s, v) = patch(who, &id, ops.clone()).await;
        assert_eq!((s, message(&v).as_str()), (403, want), "{ops}");
    }
    assert_eq!(rows(&app, &id).iter().filter(|r| !r.deleted).count(), 2);
});

backend_test!(
    patch_locations_as_glance,
    config = |c| c.show_multiple_locations = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let admin = app.caller("p1", "admin");
        let data = payload(500);
        let id = uploaded(&owner, &data).await;
        let dir = app.state.config.filesystem_store_datadir.clone();
        let first = file_url(&dir, &id);
        let second = second_location(&app, &id, &data);
        let path = |u: &str| PathBuf::from(u.strip_prefix("file://").unwrap());

        // Refusals, each leaving the rows as they were.
        let add = |url: &str, at: &str| {
            json!([{"op": "add", "path": format!("/locations/{at}"),
                "value": {"url": url, "metadata": {}}}])
        };
        for (who, ops, want) in [
            (
                &owner,
                json!([{"op": "remove", "path": "/locations/0"}]),
                (
                    403,
                    "You are not authorized to complete delete_image_location action.",
                ),
            ),
            (
                &admin,
                add("http://example.com/image", "-"),
                (400, "Invalid location"),
            ),
            (
                &admin,
                add(&format!("file://{}/other", dir.display()), "0"),
                (400, "Invalid location"),
            ),
            (
                &admin,
                add("http://example.com/image", "x"),
                (400, "Invalid position for adding a location."),
            ),
            (
                &admin,
                json!([{"op": "remove", "path": "/locations/2"}]),
                (400, "Invalid position for removing a location."),
            ),
            (
                &admin,
                json!([{"op": "replace", "path": "/locations", "value": []}]),
                (403, "Cannot set locations to empty list."),
            ),
            (
                &admin,
                json!([{"op": "replace", "path": "/locations",
                "value": [{"url": "http://example.com/image", "metadata": {}}]}]),
                (400, "Original locations is not empty: [{'id': "),
            ),
            (
                &owner,
                json!([{"op": "add", "path": "/locations/-", "value": {"url": "http://h/x",
                "metadata": {}, "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "ab"}}}]),
                (409, "os_hash_value is already set with a different value"),
            ),
        ] {
            let (s, v) = patch(who, &id, ops.clone()).await;
            let m = message(&v);
            assert_eq!(s, want.0, "{ops}: {v}");
            assert!(m.starts_with(want.1), "{ops}: {m}");
        }
        let live = |app: &TestApp| {
            rows(app, &id)
                .into_iter()
                .filter(|r| !r.deleted)
                .map(|r| (r.value, r.meta_data.unwrap_or_default()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            live(&app),
            vec![(first.clone(), "{}".into()), (second.clone(), "{}".into())]
        );

        // Replacing with the same URLs changes their metadata: new rows, the old ones deleted,
        // the data kept.
        let (s, v) = patch(
            &owner,
            &id,
            json!([{"op": "replace", "path": "/locations", "value": [
                {"url": second, "metadata": {"k": "v"}}, {"url": first, "metadata": {}}]}]),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["locations"],
            json!([{"url": second, "metadata": {"k": "v"}}, {"url": first, "metadata": {}}])
        );
        assert_eq!(
            live(&app),
            vec![
                (second.clone(), r#"{"k": "v"}"#.into()),
                (first.clone(), "{}".into())
            ]
        );
        assert_eq!(
            rows(&app, &id)
                .iter()
                .filter(|r| r.deleted && r.status == "deleted")
                .count(),
            2
        );
        assert!(path(&first).is_file() && path(&second).is_file());

        // Removing one deletes its row and its data; the image is still served from the other.
        let (s, v) = patch(
            &admin,
            &id,
            json!([{"op": "remove", "path": "/locations/0"}]),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["locations"], json!([{"url": first, "metadata": {}}]));
        assert_eq!(live(&app), vec![(first.clone(), "{}".into())]);
        assert!(!path(&second).exists());
        assert_eq!(download(&owner, &id).await, (200, data));
        let (s, v) = patch(
            &admin,
            &id,
            json!([{"op": "remove", "path": "/locations/-"}]),
        )
        .await;
        assert_error((s, &v), (403, "Cannot remove last location in the image."));

        // Status rules: a queued image has nothing to remove, a deactivated one takes nothing.
        let queued = raw_image(&owner).await;
        let (s, v) = patch(
            &admin,
            &queued,
            json!([{"op": "remove", "path": "/locations/0"}]),
        )
        .await;
        assert_error(
            (s, &v),
            (
                409,
                "It's not allowed to remove locations if image status is queued.",
            ),
        );
        let (s, v) = patch(
            &owner,
            &queued,
            json!([{"op": "add", "path": "/locations/-", "value": {
            "url": "http://h/x", "metadata": {},
            "validation_data": {"os_hash_algo": "sha256", "os_hash_value": "ab"}}}]),
        )
        .await;
        assert_error((s, &v), (409, "os_hash_algo must be sha512, not sha256"));
        let r = admin
            .request(
                reqwest::Method::POST,
                &format!("/v2/images/{id}/actions/deactivate"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let (s, v) = patch(&admin, &id, add("http://h/x", "-")).await;
        assert_error(
            (s, &v),
            (
                409,
                "It's not allowed to add locations if image status is deactivated.",
            ),
        );
    }
);

backend_test!(
    image_location_quota_on_patch,
    config = |c| {
        c.show_multiple_locations = true;
        c.image_location_quota = 1;
    },
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = uploaded(&owner, b"data").await;
        let (s, v) = patch(
            &owner,
            &id,
            json!([{"op": "add", "path": "/locations/-", "value": {"url": "http://h/x", "metadata": {}}}]),
        )
        .await;
        assert_eq!(s, 413, "{v}");
        assert!(
            v.to_string().contains("The limit has been exceeded on the number of allowed image locations. Attempted: 2, Maximum: 1"),
            "{v}"
        );
    }
);

backend_test!(
    location_rules_from_the_policy_file,
    config = |c| {
        c.show_multiple_locations = true;
        let dir = std::env::temp_dir().join(format!("glint-policy-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.yaml");
        std::fs::write(
            &path,
            "\"set_image_location\": \"role:admin\"\n\"get_image_location\": \"role:admin\"\n",
        )
        .unwrap();
        c.policy_file = Some(path);
    },
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = uploaded(&owner, b"data").await;
        let (_, v) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(v["locations"], json!([]));
        let (s, v) = patch(
            &owner,
            &id,
            json!([{"op": "add", "path": "/locations/-", "value": {"url": "http://h/x", "metadata": {}}}]),
        )
        .await;
        assert_error(
            (s, &v),
            (
                403,
                "You are not authorized to complete set_image_location action.",
            ),
        );
        let (_, v) = json(
            app.caller("p1", "admin")
                .get(&format!("/v2/images/{id}"))
                .await,
        )
        .await;
        assert_eq!(v["locations"].as_array().map(Vec::len), Some(1));
    }
);

/// `POST /v2/images/{id}/locations` by `c`: status and body.
async fn post_location(c: &Caller<'_>, id: &str, body: Value) -> (u16, Value) {
    json(c.post(&format!("/v2/images/{id}/locations"), &body).await).await
}

backend_test!(
    locations_api_as_glance,
    // `[glance_store] stores = file`: no http store (tests/api/http_store.rs has it).
    config = |c| c.stores.http = None,
    |app| async move {
        let owner = app.caller("p1", "member");
        let service = app.caller("p1", "member,service");
        let id = raw_image(&owner).await;
        let url = json!({"url": "http://example.com/image.raw"});

        // The body is checked before the image is looked up.
        let missing = uuid::Uuid::new_v4().to_string();
        let (s, v) = post_location(&service, &missing, json!({})).await;
        assert_eq!(s, 400);
        assert!(
            message(&v).starts_with(
                "Provided object does not match schema 'location': 'url' is a required property"
            ),
            "{v}"
        );
        let (s, _) = post_location(&service, &missing, url.clone()).await;
        assert_eq!(s, 404);
        // Another project does not see the private image.
        let (s, _) = post_location(&app.caller("p2", "member,service"), &id, url.clone()).await;
        assert_eq!(s, 404);
        // The rule, then the http store that a caller without the service role needs.
        let (s, v) = post_location(&app.caller("p1", "reader"), &id, url.clone()).await;
        assert_error(
            (s, &v),
            (
                403,
                "You are not authorized to complete add_image_location action.",
            ),
        );
        let (s, v) = post_location(&owner, &id, url.clone()).await;
        assert_error(
            (s, &v),
            (
                403,
                "http store must be enabled to use location API by normal user.",
            ),
        );
        let (s, v) = post_location(
        &service,
        &id,
        json!({"url": "http://h/x", "validation_data": {"os_hash_algo": "sha256", "os_hash_value": "abcd"}}),
    )
    .await;
        assert_error(
            (s, &v),
            (
                400,
                "os_hash_value: (abcd) is not the correct size for (sha256) (should be (32) bytes)",
            ),
        );
        let tasks = |app: &TestApp| {
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM tasks t JOIN task_info i ON i.task_id = t.id \
             WHERE t.image_id = '{id}' AND t.type = 'location_import' AND t.status = 'failure' \
             AND i.message = 'Task failed due to Internal Error'"
            ))
        };
        assert_eq!(tasks(&app), 0);

        // Accepted; the task fails as Glance's does for a URL no store of it can read, and the
        // image stays queued, unlocked, without a location.
        let r = service
            .post(&format!("/v2/images/{id}/locations"), &url)
            .await;
        assert_eq!(r.status(), 202);
        assert_eq!(r.text().await.unwrap(), "");
        for _ in 0..200 {
            if tasks(&app) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(tasks(&app), 1);
        let (_, img) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(img["status"], "queued");
        assert!(img.get("os_glance_import_task").is_none(), "{img}");
        assert!(rows(&app, &id).is_empty());

        // Only a queued image takes one.
        let active = uploaded(&owner, b"data").await;
        let (s, v) = post_location(&service, &active, url.clone()).await;
        assert_error(
            (s, &v),
            (
                409,
                "It's not allowed to add locations if image status is active.",
            ),
        );

        // GET: the service role (or an admin), as views show them.
        let (s, v) = json(owner.get(&format!("/v2/images/{active}/locations")).await).await;
        assert_error(
            (s, &v),
            (
                403,
                "You are not authorized to complete fetch_image_location action.",
            ),
        );
        let want = json!([{"url": file_url(&app.state.config.filesystem_store_datadir, &active), "metadata": {}}]);
        let (s, v) = json(service.get(&format!("/v2/images/{active}/locations")).await).await;
        assert_eq!((s, v), (200, want.clone()));
        let (s, v) = json(
            app.caller("p2", "admin")
                .get(&format!("/v2/images/{active}/locations"))
                .await,
        )
        .await;
        assert_eq!((s, v), (200, want));
        let (s, v) = json(service.get(&format!("/v2/images/{id}/locations")).await).await;
        assert_eq!((s, v), (200, json!([])));
        let (s, _) = json(
            app.caller("p2", "reader,service")
                .get(&format!("/v2/images/{active}/locations"))
                .await,
        )
        .await;
        assert_eq!(s, 404);
        let r = service
            .request(reqwest::Method::PUT, &format!("/v2/images/{id}/locations"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
    }
);

backend_test!(locations_api_respects_the_import_lock, |app| async move {
    let owner = app.caller("p1", "member");
    let id = raw_image(&owner).await;
    // A live import task holds the image.
    let task = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now().naive_utc();
    let t = glint::domain::task::Task::new(
        task.clone(),
        "api_image_import",
        "p1".into(),
        json!({}),
        Some(id.clone()),
        None,
        None,
        now,
    );
    glint::db::tasks::insert(&mut app.db(), &t).unwrap();
    sql(
        &app,
        &format!(
            "INSERT INTO image_properties (image_id, name, value, created_at, deleted) \
             VALUES ('{id}', 'os_glance_import_task', '{task}', '2026-01-01 00:00:00', false)"
        ),
    );
    let (s, v) = post_location(
        &app.caller("p1", "member,service"),
        &id,
        json!({"url": "http://h/x"}),
    )
    .await;
    assert_error((s, &v), (409, "Image has active task"));
});

backend_test!(locations_on_create, |app| async move {
    let c = app.caller("p1", "member");
    let (s, v) = json(
        c.post("/v2/images", &json!({"name": "a", "locations": []}))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert!(v.get("locations").is_none(), "{v}");
    let (s, v) = json(
        c.post(
            "/v2/images",
            &json!({"name": "b", "locations": [{"url": "http://h/x", "metadata": {}}]}),
        )
        .await,
    )
    .await;
    assert_error((s, &v), (400, "Invalid location"));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 1);
});
