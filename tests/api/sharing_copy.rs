//! Copy a shared image as your own (issue 18, `POST /v2/glint/images/{id}/copy`): the copy is
//! the caller's, its data copied inside the store (file, S3, Swift), checksums kept, counted
//! against the caller's quotas before any data moves, recorded in both sides' history; a copy
//! that fails or whose process dies is removed, never left half-written.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{json, message, Caller};
use crate::store_test;

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(data))
}

fn data_of(len: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
        .collect()
}

/// A shared image of `owner` with `data`, a property and a tag.
async fn source(owner: &Caller<'_>, data: Vec<u8>) -> String {
    let id = owner
        .create_image(
            json!({"name": "golden", "visibility": "shared", "disk_format": "raw",
                             "container_format": "bare", "os_distro": "debian", "tags": ["gold"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(owner.upload(&id, data).await.status(), 204);
    id
}

/// Shares `id` with `member` and leaves the share in `status`.
async fn share(owner: &Caller<'_>, member: &Caller<'_>, id: &str, status: &str) {
    owner
        .add_member_with(id, json!({"member": member.project}))
        .await;
    if status != "pending" {
        let path = format!("/v2/images/{id}/members/{}", member.project);
        let (s, v) = json(member.put(&path, &json!({"status": status})).await).await;
        assert_eq!(s, 200, "{v}");
    }
}

async fn copy(c: &Caller<'_>, id: &str, body: Value) -> (u16, Value) {
    json(c.post(&format!("/v2/glint/images/{id}/copy"), &body).await).await
}

/// Waits for the copy to leave `saving`: its image, or the status of the GET when it is gone.
async fn settled(c: &Caller<'_>, id: &str) -> Result<Value, u16> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (s, v) = json(c.get(&format!("/v2/images/{id}")).await).await;
        if s != 200 {
            return Err(s);
        }
        if v["status"] != "saving" {
            return Ok(v);
        }
        assert!(Instant::now() < deadline, "copy still saving: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn actions(v: &Value) -> Vec<String> {
    v["events"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

// 300 KB: a multipart copy on S3 (large objects from 100 KiB in the tests) and five segments
// on Swift (64 KiB segments), a file copy on the file store.
store_test!(
    accepted_member_copies_a_shared_image,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("owner", "member");
        let p2 = app.caller("p2", "member");
        let data = data_of(300_000);
        let src = source(&owner, data.clone()).await;
        share(&owner, &p2, &src, "accepted").await;
        let started = Instant::now();
        let (s, v) = copy(&p2, &src, json!({"name": "my golden"})).await;
        assert_eq!(s, 202, "{v}");
        let id = v["image_id"].as_str().unwrap().to_owned();
        assert_ne!(id, src);
        let img = settled(&p2, &id).await.expect("copy visible");
        eprintln!("copy of 300 KB: {:?}", started.elapsed());
        let (_, orig) = json(owner.get(&format!("/v2/images/{src}")).await).await;
        assert_eq!(img["status"], "active", "{img}");
        assert_eq!(img["owner"], "p2");
        assert_eq!(img["name"], "my golden");
        assert_eq!(img["visibility"], "private");
        assert_eq!(img["size"], 300_000);
        assert_eq!(img["checksum"], md5_hex(&data));
        for k in [
            "checksum",
            "os_hash_algo",
            "os_hash_value",
            "disk_format",
            "container_format",
        ] {
            assert_eq!(img[k], orig[k], "{k}");
        }
        assert_eq!(img["os_distro"], "debian");
        assert_eq!(img["tags"], json!(["gold"]));
        assert_eq!(img["protected"], false);
        // The copy is the caller's own data: it stays when the source goes.
        assert_eq!(
            owner.delete(&format!("/v2/images/{src}")).await.status(),
            204
        );
        let r = p2.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
        // Its location row names its own data in the default store.
        let url = app.location_of(&id);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_locations WHERE image_id = '{id}' \
                 AND value = '{url}' AND deleted = false"
            )),
            1,
            "{url}"
        );
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_image_copies"), 0);
        if let Some(swift) = &app.swift {
            let head = swift.head(&id).expect("manifest");
            assert!(head.contains_key("x-object-manifest"), "{head:?}");
        }
        // Both sides read the copy in the history.
        for c in [&owner, &p2] {
            let (s, h) = json(
                c.get(&format!("/v2/glint/share-events?image_id={src}"))
                    .await,
            )
            .await;
            assert_eq!(s, 200, "{h}");
            let a = actions(&h);
            assert!(
                a.ends_with(&[
                    "copy.start".into(),
                    "copy.finish".into(),
                    "member.delete".into()
                ]),
                "{a:?}"
            );
            let finish = &h["events"][a.len() - 2];
            assert_eq!(finish["member_id"], "p2");
            assert_eq!(
                finish["to"]["copy"],
                json!({"image_id": id, "status": "active"})
            );
            assert_eq!(finish["actor"]["project_id"], "p2");
        }
        // A small image: one CopyObject on S3, a plain object on Swift.
        let small = data_of(1000);
        let src2 = source(&owner, small.clone()).await;
        let (s, v) = copy(&owner, &src2, json!({})).await;
        assert_eq!(s, 202, "{v}");
        let id2 = v["image_id"].as_str().unwrap().to_owned();
        let img = settled(&owner, &id2).await.expect("copy");
        assert_eq!(
            (img["status"].as_str(), img["name"].as_str()),
            (Some("active"), Some("golden"))
        );
        let r = owner.get(&format!("/v2/images/{id2}/file")).await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), &small[..]);
    }
);

crate::backend_test!(
    who_may_copy,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("owner", "member");
        let src = source(&owner, data_of(1000)).await;
        let (pending, rejected) = (
            app.caller("p-pend", "member"),
            app.caller("p-rej", "member"),
        );
        share(&owner, &pending, &src, "pending").await;
        share(&owner, &rejected, &src, "rejected").await;
        // Not a member: the image does not exist for it.
        let (s, v) = copy(&app.caller("stranger", "member"), &src, json!({})).await;
        assert_eq!(s, 404, "{v}");
        // A member sees the image but may copy it only once it accepted.
        for (c, st) in [(&pending, "pending"), (&rejected, "rejected")] {
            let (s, v) = copy(c, &src, json!({})).await;
            assert_eq!(s, 403, "{v}");
            assert!(message(&v).contains(&format!("the share is {st}")), "{v}");
        }
        // A reader may not write.
        let (s, _) = copy(&app.caller("p-pend", "reader"), &src, json!({})).await;
        assert_eq!(s, 403);
        // Bad bodies, a missing image, an image without data.
        for bad in [
            json!({"visibility": "everyone"}),
            json!({"owner": "x"}),
            json!([1]),
        ] {
            let (s, v) = copy(&owner, &src, bad.clone()).await;
            assert_eq!(s, 400, "{bad}: {v}");
        }
        let (s, _) = copy(&owner, "00000000-0000-0000-0000-000000000000", json!({})).await;
        assert_eq!(s, 404);
        let queued = owner.create_image(json!({"name": "empty"})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, v) = copy(&owner, &queued, json!({})).await;
        assert_eq!(s, 409, "{v}");
        // A non-admin may not publish its copy.
        share(&owner, &app.caller("p-ok", "member"), &src, "accepted").await;
        let (s, v) = copy(
            &app.caller("p-ok", "member"),
            &src,
            json!({"visibility": "public"}),
        )
        .await;
        assert_eq!(s, 403, "{v}");
        // Nothing was created by the refusals.
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM images WHERE owner <> 'owner'"),
            0
        );
        let (s, v) = copy(
            &app.caller("p-ok", "member"),
            &src,
            json!({"visibility": "shared"}),
        )
        .await;
        assert_eq!(s, 202, "{v}");
        let img = settled(
            &app.caller("p-ok", "member"),
            v["image_id"].as_str().unwrap(),
        )
        .await
        .expect("copy");
        assert_eq!(
            (img["status"].as_str(), img["visibility"].as_str()),
            (Some("active"), Some("shared"))
        );
    }
);

crate::backend_test!(copy_is_off_without_the_extensions, |app| async move {
    let owner = app.caller("owner", "member");
    let src = source(&owner, data_of(10)).await;
    let (s, _) = copy(&owner, &src, json!({})).await;
    assert_eq!(s, 404);
});

crate::backend_test!(
    quotas_are_counted_before_any_data_moves,
    config = |c| {
        c.sharing.enabled = true;
        c.data_rules.user_storage_quota = Some(150_000);
    },
    |app| async move {
        let owner = app.caller("owner", "member");
        let p2 = app.caller("p2", "member");
        let src = source(&owner, data_of(100_000)).await;
        share(&owner, &p2, &src, "accepted").await;
        // p2 holds 60 KB already: 100 KB more do not fit its 150 KB.
        let mine = p2
            .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(p2.upload(&mine, data_of(60_000)).await.status(), 204);
        let files = app.store_files();
        let (s, v) = copy(&p2, &src, json!({})).await;
        assert_eq!(s, 413, "{v}");
        assert!(message(&v).contains("storage quota"), "{v}");
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM images WHERE owner = 'p2'"),
            1
        );
        assert_eq!(app.store_files(), files);
        // The owner's own quota is its own: 100 KB + a 100 KB copy would pass 150 KB too.
        let (s, _) = copy(&owner, &src, json!({})).await;
        assert_eq!(s, 413);
        assert_eq!(p2.delete(&format!("/v2/images/{mine}")).await.status(), 204);
        let (s, v) = copy(&p2, &src, json!({})).await;
        assert_eq!(s, 202, "{v}");
        let img = settled(&p2, v["image_id"].as_str().unwrap())
            .await
            .expect("copy");
        assert_eq!(img["status"], "active");
    }
);

// The source goes between the copy's start and its end: the copy fails cleanly (gone, with its
// data, and recorded), whichever store step noticed.
crate::backend_test!(
    source_deleted_mid_copy_fails_cleanly,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        use glint::domain::id::ImageId;
        use glint::domain::image_copy::CopyRequest;
        use glint::service::image_copy;
        let owner = app.caller("owner", "member");
        let p2 = app.caller("p2", "member");
        let src = source(&owner, data_of(50_000)).await;
        share(&owner, &p2, &src, "accepted").await;
        let before = app.store_files();
        let ctx = context("p2");
        let req = CopyRequest::parse(&json!({})).unwrap();
        let job = image_copy::start(&app.state, ctx, ImageId::from_path(src.as_str()), req)
            .await
            .expect("start");
        let id = job.image.id.clone();
        let (_, img) = json(p2.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(img["status"], "saving", "{img}");
        assert_eq!(
            owner.delete(&format!("/v2/images/{src}")).await.status(),
            204
        );
        let e = image_copy::run(&app.state, job)
            .await
            .expect_err("source gone");
        assert!(e.to_string().contains(&src), "{e}");
        assert_eq!(settled(&p2, &id).await.err(), Some(404));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_image_copies"), 0);
        let data_left: Vec<String> = app
            .store_files()
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        assert!(data_left.is_empty(), "{data_left:?}");
        let (_, h) = json(
            p2.get(&format!("/v2/glint/share-events?image_id={src}"))
                .await,
        )
        .await;
        let a = actions(&h);
        assert_eq!(a.last().map(String::as_str), Some("copy.fail"), "{a:?}");
    }
);

// A copy whose process died (its heartbeat stopped, data half-written): the recovery sweep
// removes data, image and row, and records the failure.
crate::backend_test!(
    a_copy_of_a_dead_process_is_swept,
    config = |c| {
        c.sharing.enabled = true;
        c.upload_stale_timeout = 1;
    },
    |app| async move {
        use glint::domain::id::ImageId;
        use glint::domain::image_copy::CopyRequest;
        use glint::service::image_copy;
        let owner = app.caller("owner", "member");
        let p2 = app.caller("p2", "member");
        let src = source(&owner, data_of(50_000)).await;
        share(&owner, &p2, &src, "accepted").await;
        let req = CopyRequest::parse(&json!({"name": "c"})).unwrap();
        let job = image_copy::start(
            &app.state,
            context("p2"),
            ImageId::from_path(src.as_str()),
            req,
        )
        .await
        .expect("start");
        let id = job.image.id.clone();
        // The process "dies" with half the data written.
        drop(job);
        let path = app.state.config.filesystem_store_datadir.join(&id);
        std::fs::write(&path, data_of(20_000)).unwrap();
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_image_copies"), 1);
        tokio::time::sleep(Duration::from_millis(2200)).await;
        glint::service::recovery::recover_stale_uploads(&app.state)
            .await
            .expect("sweep");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_image_copies"), 0);
        assert!(!path.exists());
        assert_eq!(settled(&p2, &id).await.err(), Some(404));
        let (_, h) = json(
            owner
                .get(&format!("/v2/glint/share-events?image_id={src}"))
                .await,
        )
        .await;
        let last = h["events"].as_array().unwrap().last().cloned().unwrap();
        assert_eq!(last["action"], "copy.fail", "{h}");
        assert_eq!(last["via"], "recovery");
        assert_eq!(last["to"]["copy"]["image_id"], json!(id));
        // The source is untouched.
        let (s, img) = json(owner.get(&format!("/v2/images/{src}")).await).await;
        assert_eq!((s, img["status"].as_str()), (200, Some("active")));
    }
);

fn context(project: &str) -> glint::domain::context::RequestContext {
    glint::domain::context::RequestContext {
        project_id: Some(project.to_owned()),
        user_id: Some(format!("user-{project}")),
        roles: vec!["member".to_owned()],
        ..Default::default()
    }
}

crate::backend_test!(
    guardrails_forbid_public_and_community_images,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.guardrails =
            glint::domain::guardrails::Guardrails::parse("public,community").unwrap();
    },
    |app| async move {
        // Even an admin, whose policy allows publishing.
        let admin = app.caller("admin-p", "admin");
        let (s, v) = json(
            admin
                .post("/v2/images", &json!({"visibility": "public"}))
                .await,
        )
        .await;
        assert_eq!(s, 403, "{v}");
        assert!(message(&v).contains("guardrail 'public'"), "{v}");
        let src = source(&admin, data_of(100)).await;
        let patch = json!([{"op": "replace", "path": "/visibility", "value": "community"}]);
        let (s, v) = json(admin.patch(&format!("/v2/images/{src}"), &patch).await).await;
        assert_eq!(s, 403, "{v}");
        assert!(message(&v).contains("guardrail 'community'"), "{v}");
        let (s, v) = copy(&admin, &src, json!({"visibility": "public"})).await;
        assert_eq!(s, 403, "{v}");
        let patch = json!([{"op": "replace", "path": "/visibility", "value": "private"}]);
        let (s, v) = json(admin.patch(&format!("/v2/images/{src}"), &patch).await).await;
        assert_eq!((s, v["visibility"].as_str()), (200, Some("private")), "{v}");
        assert_eq!(
            app.count(
                "SELECT COUNT(*) AS n FROM images WHERE visibility IN ('public', 'community')"
            ),
            0
        );
    }
);
