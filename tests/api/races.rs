//! Races, on both backends: requests that change the same image or member at
//! the same moment. Whatever the interleaving: no 5xx, no deleted row comes
//! back, and the final state is one some serial order would give.
//!
//! Two PATCHes of one image: Glance reads the image, applies the patch and
//! writes every field back with no lock, so a concurrent PATCH of an unrelated
//! field can be lost. glint applies each PATCH under the image's row lock
//! (serially): both changes survive, and for the same field the last writer wins.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{json, Caller, TestApp};

const ROUNDS: usize = 20;

async fn shared_image(c: &Caller<'_>) -> String {
    c.create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn no_5xx(codes: &[u16], what: &str) {
    assert!(codes.iter().all(|c| *c < 500), "{what}: {codes:?}");
}

fn live(app: &TestApp, table: &str, id: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE image_id = '{id}' AND NOT deleted"
    ))
}

async fn status_of(r: reqwest::Response) -> u16 {
    let s = r.status().as_u16();
    let _ = r.bytes().await;
    s
}

async fn patch(c: &Caller<'_>, id: &str, ops: Value) -> u16 {
    status_of(c.patch(&format!("/v2/images/{id}"), &ops).await).await
}

crate::backend_test!(accept_vs_delete_member, |app| async move {
    let owner = app.caller("p1", "member");
    let member = app.caller("p2", "member");
    for round in 0..ROUNDS {
        let id = shared_image(&owner).await;
        let path = format!("/v2/images/{id}/members/p2");
        assert_eq!(
            status_of(
                owner
                    .post(
                        &format!("/v2/images/{id}/members"),
                        &json!({"member": "p2"})
                    )
                    .await
            )
            .await,
            200
        );
        let status = if round % 2 == 0 {
            "accepted"
        } else {
            "rejected"
        };
        // The member answers three times while the owner removes it.
        let updates = join_all((0..3).map(|_| async {
            status_of(member.put(&path, &json!({ "status": status })).await).await
        }));
        let (codes, deleted) = futures_util::future::join(updates, async {
            status_of(owner.delete(&path).await).await
        })
        .await;
        no_5xx(&codes, "member updates");
        assert!(codes.iter().all(|c| *c == 200 || *c == 404), "{codes:?}");
        assert_eq!(deleted, 204);
        // Deleted stays deleted: no update brought the row back.
        assert_eq!(live(&app, "image_members", &id), 0, "round {round}");
        assert_eq!(status_of(member.get(&path).await).await, 404);
        assert_eq!(status_of(owner.get(&path).await).await, 404);
        let (s, v) = json(member.get("/v2/images?member_status=all").await).await;
        assert_eq!(s, 200);
        assert!(
            !v["images"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id.as_str()),
            "round {round}: deleted member still sees the image"
        );
        // Added again, the member starts over as pending.
        let (s, m) = json(
            owner
                .post(
                    &format!("/v2/images/{id}/members"),
                    &json!({"member": "p2"}),
                )
                .await,
        )
        .await;
        assert_eq!((s, m["status"].as_str()), (200, Some("pending")));
    }
});

crate::backend_test!(concurrent_patches_lose_nothing, |app| async move {
    let owner = app.caller("p1", "member");
    let admin = app.caller("p9", "admin,member");
    let id = shared_image(&owner).await;
    for round in 0..ROUNDS {
        // Unrelated fields: each side its own property (and the owner the name,
        // the admin min_ram); one field both write: `contended`.
        let a = patch(
            &owner,
            &id,
            json!([
                {"op": "add", "path": format!("/owner_{round}"), "value": "o"},
                {"op": "replace", "path": "/name", "value": format!("name-{round}")},
                {"op": "add", "path": "/contended", "value": format!("owner-{round}")},
            ]),
        );
        let b = patch(
            &admin,
            &id,
            json!([
                {"op": "add", "path": format!("/admin_{round}"), "value": "a"},
                {"op": "replace", "path": "/min_ram", "value": round},
                {"op": "add", "path": "/contended", "value": format!("admin-{round}")},
            ]),
        );
        let (sa, sb) = futures_util::future::join(a, b).await;
        assert_eq!((sa, sb), (200, 200), "round {round}");
        let (s, img) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 200);
        assert_eq!(
            img[format!("owner_{round}")],
            "o",
            "round {round}: owner's update lost"
        );
        assert_eq!(
            img[format!("admin_{round}")],
            "a",
            "round {round}: admin's update lost"
        );
        assert_eq!(img["name"], format!("name-{round}"));
        assert_eq!(img["min_ram"], round);
        let c = img["contended"].as_str().unwrap();
        assert!(
            c == format!("owner-{round}") || c == format!("admin-{round}"),
            "{c}"
        );
        // The database holds what the API shows: one live row per property.
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{id}' \
                 AND name = 'contended' AND NOT deleted"
            )),
            1
        );
    }
    assert_eq!(
        live(&app, "image_properties", &id),
        2 * ROUNDS as i64 + 1,
        "every property of every round, plus `contended`"
    );
});

crate::backend_test!(delete_image_during_member_operations, |app| async move {
    let owner = app.caller("p1", "member");
    let p2 = app.caller("p2", "member");
    for round in 0..ROUNDS {
        let id = shared_image(&owner).await;
        let members = format!("/v2/images/{id}/members");
        for m in ["p2", "p3"] {
            assert_eq!(
                status_of(owner.post(&members, &json!({ "member": m })).await).await,
                200
            );
        }
        let ops = async {
            let add =
                async { status_of(owner.post(&members, &json!({"member": "p4"})).await).await };
            let accept = async {
                status_of(
                    p2.put(&format!("{members}/p2"), &json!({"status": "accepted"}))
                        .await,
                )
                .await
            };
            let remove = async { status_of(owner.delete(&format!("{members}/p3")).await).await };
            let list = async { status_of(owner.get(&members).await).await };
            let show = async { status_of(p2.get(&format!("{members}/p2")).await).await };
            let (a, b, c, d, e) = futures_util::join!(add, accept, remove, list, show);
            vec![a, b, c, d, e]
        };
        let (codes, deleted) = futures_util::future::join(ops, async {
            status_of(owner.delete(&format!("/v2/images/{id}")).await).await
        })
        .await;
        no_5xx(&codes, "member operations");
        assert!(
            codes.iter().all(|c| [200, 204, 404].contains(c)),
            "round {round}: {codes:?}"
        );
        assert_eq!(deleted, 204);
        // Nothing of the image is live afterwards, however the requests interleaved.
        assert_eq!(
            live(&app, "image_members", &id),
            0,
            "round {round}: member revived"
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM images WHERE id = '{id}' AND deleted AND status = 'deleted'"
            )),
            1
        );
        assert_eq!(
            status_of(owner.get(&format!("/v2/images/{id}")).await).await,
            404
        );
        assert_eq!(status_of(owner.get(&members).await).await, 404);
        assert_eq!(
            status_of(owner.post(&members, &json!({"member": "p5"})).await).await,
            404
        );
        assert_eq!(live(&app, "image_members", &id), 0);
    }
});

crate::backend_test!(delete_image_during_download, |app| async move {
    use futures_util::StreamExt;
    use md5::Digest;
    let owner = app.caller("p1", "member");
    let data: Vec<u8> = (0..6_000_000u32).map(|i| (i % 241) as u8).collect();
    let mut completed = 0;
    for round in 0..6 {
        let id = shared_image(&owner).await;
        assert_eq!(status_of(owner.upload(&id, data.clone()).await).await, 204);
        let file = format!("/v2/images/{id}/file");
        // Three downloads under way (first bytes received), then the delete.
        let mut streams = Vec::new();
        for _ in 0..3 {
            let r = owner.get(&file).await;
            assert_eq!(r.status(), 200);
            let mut s = r.bytes_stream();
            let first = s
                .next()
                .await
                .expect("first chunk")
                .expect("first chunk ok");
            streams.push((first.to_vec(), s));
        }
        let (deleted, outcomes) = futures_util::future::join(
            async { status_of(owner.delete(&format!("/v2/images/{id}")).await).await },
            join_all(streams.into_iter().map(|(mut got, mut s)| async move {
                while let Some(chunk) = s.next().await {
                    match chunk {
                        Ok(c) => got.extend_from_slice(&c),
                        Err(_) => return None,
                    }
                }
                Some(got)
            })),
        )
        .await;
        assert_eq!(deleted, 204);
        // Each download had the file open before the delete; as with Glance's filesystem store,
        // an open file outlives its unlinking, so every one of them ends with all the bytes.
        assert!(
            outcomes.iter().all(Option::is_some),
            "round {round}: a download under way was cut by the delete"
        );
        for got in outcomes.into_iter().flatten() {
            // A download that ended normally has every byte, in order.
            assert_eq!(
                got.len(),
                data.len(),
                "round {round}: short download ended cleanly"
            );
            assert_eq!(
                hex::encode(md5::Md5::digest(&got)),
                hex::encode(md5::Md5::digest(&data))
            );
            completed += 1;
        }
        // Afterwards: gone, and the service answers normally.
        assert_eq!(
            status_of(owner.get(&format!("/v2/images/{id}")).await).await,
            404
        );
        assert_eq!(status_of(owner.get(&file).await).await, 404);
        assert!(
            !app.store_files().contains(&id),
            "round {round}: data left behind"
        );
        assert_eq!(status_of(owner.get("/v2/images").await).await, 200);
    }
    assert_eq!(completed, 18, "downloads completed byte for byte");
});

crate::backend_test!(deactivate_reactivate_delete, |app| async move {
    let owner = app.caller("p1", "member");
    let admin = app.caller("p9", "admin,member");
    for round in 0..ROUNDS {
        let id = shared_image(&owner).await;
        assert_eq!(
            status_of(owner.upload(&id, vec![5u8; 1000]).await).await,
            204
        );
        let act = |what: &'static str| {
            let (admin, id) = (&admin, id.clone());
            async move {
                status_of(
                    admin
                        .request(
                            reqwest::Method::POST,
                            &format!("/v2/images/{id}/actions/{what}"),
                        )
                        .send()
                        .await
                        .unwrap(),
                )
                .await
            }
        };
        // Without the delete: every answer is 204 and the image ends active or deactivated.
        let codes = join_all([
            act("deactivate"),
            act("reactivate"),
            act("deactivate"),
            act("reactivate"),
        ])
        .await;
        assert_eq!(codes, vec![204; 4], "round {round}");
        let (_, img) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert!(
            img["status"] == "active" || img["status"] == "deactivated",
            "{img}"
        );
        // With it: actions either happen before (204) or find no image (404).
        let delete = async { status_of(admin.delete(&format!("/v2/images/{id}")).await).await };
        let (codes, deleted) = futures_util::future::join(
            join_all([act("deactivate"), act("reactivate"), act("deactivate")]),
            delete,
        )
        .await;
        no_5xx(&codes, "actions");
        assert!(
            codes.iter().all(|c| *c == 204 || *c == 404),
            "round {round}: {codes:?}"
        );
        assert_eq!(deleted, 204);
        // No action brought the image back to life.
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM images WHERE id = '{id}' AND deleted AND status = 'deleted'"
            )),
            1,
            "round {round}"
        );
        assert_eq!(
            status_of(owner.get(&format!("/v2/images/{id}")).await).await,
            404
        );
        assert!(!app.store_files().contains(&id));
    }
});
