//! Contract section 12, "compatibility checklist": one named test per item that concerns sharing.

use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{image_ids, json, Caller};

async fn image(c: &Caller<'_>, body: Value) -> String {
    c.create_image(body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ids(c: &Caller<'_>, query: &str) -> Vec<String> {
    image_ids(&json(c.get(&format!("/v2/images?{query}")).await).await.1)
}

backend_test!(item01_member_create_answers_200_not_201, |app| async move {
    let owner = app.caller("p1", "member");
    let id = image(&owner, json!({})).await;
    let r = owner
        .post(
            &format!("/v2/images/{id}/members"),
            &json!({"member": "p2"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
});

backend_test!(
    item02_member_and_member_id_keys_and_schemas,
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = image(&owner, json!({})).await;
        let m = owner.add_member(&id, "p2").await;
        assert_eq!(m["member_id"], "p2");
        assert!(m.get("member").is_none());
        assert_eq!(m["schema"], "/v2/schemas/member");
        let (_, list) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
        assert_eq!(list["schema"], "/v2/schemas/members");
        let mut keys: Vec<&String> = list.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["members", "schema"], "no pagination links");
    }
);

backend_test!(item03_default_visibility_is_shared, |app| async move {
    let (_, v) = json(
        app.caller("p1", "member")
            .post("/v2/images", &json!({}))
            .await,
    )
    .await;
    assert_eq!(v["visibility"], "shared");
});

backend_test!(
    item04_pending_and_rejected_members_can_get_and_download,
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = image(
            &owner,
            json!({"disk_format": "raw", "container_format": "bare"}),
        )
        .await;
        assert_eq!(owner.upload(&id, b"bits".to_vec()).await.status(), 204);
        let v = owner.add_member(&id, "p2").await;
        assert_eq!(v["status"], "pending", "{v}");
        let member = app.caller("p2", "member");
        let stored = |status: &str| {
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' \
                 AND member = 'p2' AND status = '{status}' AND NOT deleted"
            ))
        };
        for status in ["pending", "rejected"] {
            if status == "rejected" {
                let (s, v) = json(
                    member
                        .put(
                            &format!("/v2/images/{id}/members/p2"),
                            &json!({"status": "rejected"}),
                        )
                        .await,
                )
                .await;
                assert_eq!((s, v["status"].as_str()), (200, Some("rejected")), "{v}");
            }
            // The status took effect: in the database, in the member's own view of its row, and
            // in which member_status lists the image.
            assert_eq!(stored(status), 1, "{status}");
            assert_eq!(
                app.count(&format!(
                    "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND NOT deleted"
                )),
                1
            );
            let (s, v) = json(member.get(&format!("/v2/images/{id}/members/p2")).await).await;
            assert_eq!((s, v["status"].as_str()), (200, Some(status)), "{v}");
            assert_eq!(
                member.get(&format!("/v2/images/{id}")).await.status(),
                200,
                "{status}"
            );
            let r = member.get(&format!("/v2/images/{id}/file")).await;
            assert_eq!(r.status(), 200, "{status}");
            assert_eq!(r.bytes().await.unwrap().as_ref(), b"bits");
            assert!(
                !ids(&member, "").await.contains(&id),
                "{status}: not in the list"
            );
            for listed in ["pending", "accepted", "rejected"] {
                assert_eq!(
                    ids(&member, &format!("member_status={listed}"))
                        .await
                        .contains(&id),
                    listed == status,
                    "{status}: member_status={listed}"
                );
            }
        }
    }
);

backend_test!(item05_member_sees_only_its_own_row, |app| async move {
    let owner = app.caller("p1", "member");
    let id = image(&owner, json!({})).await;
    for m in ["p2", "p3", "p4"] {
        owner
            .post(&format!("/v2/images/{id}/members"), &json!({"member": m}))
            .await;
    }
    let (_, v) = json(
        app.caller("p3", "member")
            .get(&format!("/v2/images/{id}/members"))
            .await,
    )
    .await;
    let rows = v["members"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["member_id"], "p3");
    let (_, v) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
    assert_eq!(v["members"].as_array().unwrap().len(), 3);
});

backend_test!(item06_who_may_change_status_and_delete, |app| async move {
    let owner = app.caller("p1", "member");
    let id = image(&owner, json!({})).await;
    owner.add_member(&id, "p2").await;
    let path = format!("/v2/images/{id}/members/p2");
    assert_eq!(
        owner
            .put(&path, &json!({"status": "accepted"}))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.caller("adm", "admin")
            .put(&path, &json!({"status": "accepted"}))
            .await
            .status(),
        200
    );
    assert_eq!(app.caller("p2", "member").delete(&path).await.status(), 403);
    assert_eq!(owner.delete(&path).await.status(), 204);
});

backend_test!(item07_member_show_is_never_403, |app| async move {
    let owner = app.caller("p1", "member");
    let id = image(&owner, json!({})).await;
    owner.add_member(&id, "p2").await;
    owner.add_member(&id, "p3").await;
    let member = app.caller("p2", "reader");
    assert_eq!(
        member
            .get_status(&format!("/v2/images/{id}/members/p3"))
            .await,
        404
    );
    assert_eq!(
        app.caller("p9", "member")
            .get_status(&format!("/v2/images/{id}/members/p2"))
            .await,
        404
    );
    let r = app
        .caller("adm", "admin")
        .patch(
            &format!("/v2/images/{id}"),
            &json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.caller("p9", "member")
            .get_status(&format!("/v2/images/{id}/members/p2"))
            .await,
        404
    );
    assert_eq!(
        app.caller("adm", "admin")
            .get_status(&format!("/v2/images/{id}/members/p2"))
            .await,
        404
    );
});

backend_test!(
    item08_members_inert_off_shared_even_for_admin,
    |app| async move {
        let admin = app.caller("adm", "admin");
        let id = image(&admin, json!({"owner": "p1"})).await;
        admin
            .post(
                &format!("/v2/images/{id}/members"),
                &json!({"member": "p2"}),
            )
            .await;
        admin
            .patch(
                &format!("/v2/images/{id}"),
                &json!([{"op": "replace", "path": "/visibility", "value": "private"}]),
            )
            .await;
        assert_eq!(
            admin.get_status(&format!("/v2/images/{id}/members")).await,
            403
        );
        assert_eq!(
            admin
                .post(
                    &format!("/v2/images/{id}/members"),
                    &json!({"member": "p3"})
                )
                .await
                .status(),
            403
        );
        assert_eq!(
            admin
                .get_status(&format!("/v2/images/{id}/members/p2"))
                .await,
            404
        );
        assert_eq!(
            app.caller("p2", "member")
                .get_status(&format!("/v2/images/{id}"))
                .await,
            404
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND NOT deleted"
            )),
            1
        );
    }
);

backend_test!(item09_list_filters_compose_as_glance, |app| async move {
    let p1 = app.caller("p1", "member");
    let p2 = app.caller("p2", "member");
    let shared = image(&p1, json!({})).await;
    let community = image(&p1, json!({"visibility": "community"})).await;
    let private = image(&p1, json!({"visibility": "private"})).await;
    let own = image(&p2, json!({})).await;
    p1.post(
        &format!("/v2/images/{shared}/members"),
        &json!({"member": "p2"}),
    )
    .await;
    // member_status narrows only the shared-with-me part: p2's own image stays.
    let pending = ids(&p2, "member_status=pending").await;
    assert!(pending.contains(&shared) && pending.contains(&own));
    assert!(!ids(&p2, "").await.contains(&shared));
    // Others' community images only when asked for.
    assert!(!ids(&p2, "").await.contains(&community));
    assert!(ids(&p2, "visibility=community").await.contains(&community));
    assert!(ids(&p2, "visibility=all").await.contains(&community));
    // Admins list everyone's private images.
    assert!(ids(&app.caller("adm", "admin"), "")
        .await
        .contains(&private));
});

backend_test!(
    item14_readers_read_but_do_not_download_accept_or_mutate,
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = image(
            &owner,
            json!({"disk_format": "raw", "container_format": "bare"}),
        )
        .await;
        owner.upload(&id, b"x".to_vec()).await;
        owner.add_member(&id, "p2").await;
        let reader = app.caller("p2", "reader");
        assert_eq!(reader.get_status(&format!("/v2/images/{id}")).await, 200);
        assert_eq!(
            reader.get_status(&format!("/v2/images/{id}/file")).await,
            403
        );
        assert_eq!(
            reader
                .put(
                    &format!("/v2/images/{id}/members/p2"),
                    &json!({"status": "accepted"})
                )
                .await
                .status(),
            403
        );
        // admin implies member implies reader.
        assert_eq!(
            app.caller("p1", "admin")
                .get_status(&format!("/v2/images/{id}/file"))
                .await,
            200
        );
        assert_eq!(
            app.caller("p1", "reader")
                .patch(&format!("/v2/images/{id}"), &json!([]))
                .await
                .status(),
            403
        );
    }
);
