//! Deletion protection while shared (issue 18): opt-in per image (`os_glint_protect_while_shared`)
//! or operator-wide (`[glint_sharing] protect_shared_images`), an image with accepted members
//! answers 409 naming how many; when deletion is allowed, each recipient finds it in its history.

use serde_json::{json, Value};

use crate::helpers::{json, message, Caller, TestApp};

async fn image(c: &Caller<'_>, props: Value) -> String {
    let mut body = json!({"name": "golden", "visibility": "shared"});
    body.as_object_mut()
        .unwrap()
        .extend(props.as_object().unwrap().clone());
    c.create_image(body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn share(app: &TestApp, owner: &Caller<'_>, id: &str, member: &str, status: &str) {
    owner.add_member(id, member).await;
    if status != "pending" {
        let (s, v) = json(
            app.caller(member, "member")
                .put(
                    &format!("/v2/images/{id}/members/{member}"),
                    &json!({"status": status}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
}

fn live(app: &TestApp, id: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM images WHERE id = '{id}' AND deleted = false"
    ))
}

crate::backend_test!(
    an_owner_protects_an_image_while_it_is_accepted,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("owner", "member");
        let id = image(&owner, json!({"os_glint_protect_while_shared": "true"})).await;
        // Offered only: nobody relies on it yet.
        share(&app, &owner, &id, "p1", "accepted").await;
        share(&app, &owner, &id, "p2", "accepted").await;
        share(&app, &owner, &id, "p3", "pending").await;
        share(&app, &owner, &id, "p4", "rejected").await;
        let r = owner.delete(&format!("/v2/images/{id}")).await;
        let (s, v) = json(r).await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(
            message(&v),
            format!(
                "Image {id} is shared with 2 projects that accepted it and is protected while \
                 shared (os_glint_protect_while_shared or [glint_sharing] protect_shared_images): \
                 remove its members first."
            )
        );
        assert_eq!(live(&app, &id), 1);
        // An admin is held too: the protection is about the recipients.
        let (s, _) = json(
            app.caller("admin", "admin")
                .delete(&format!("/v2/images/{id}"))
                .await,
        )
        .await;
        assert_eq!(s, 409);
        // One leaves (rejects): one left, named.
        share(&app, &owner, &id, "p5", "pending").await;
        app.caller("p2", "member")
            .set_member_status(&id, "p2", "rejected")
            .await;
        let (s, v) = json(owner.delete(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 409);
        assert!(
            message(&v).contains("with 1 project that accepted it"),
            "{v}"
        );
        // Glance's own `protected` still wins (403).
        let (s, _) = json(
            owner
                .patch(
                    &format!("/v2/images/{id}"),
                    &json!([{"op": "replace", "path": "/protected", "value": true}]),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200);
        let (s, _) = json(owner.delete(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 403);
        // The owner lifts its own protection: the delete goes through, and each recipient
        // (whatever its status) finds it in the history.
        let (s, _) = json(
            owner
                .patch(
                    &format!("/v2/images/{id}"),
                    &json!([{"op": "replace", "path": "/protected", "value": false},
                            {"op": "remove", "path": "/os_glint_protect_while_shared"}]),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200);
        let r = owner.delete(&format!("/v2/images/{id}")).await;
        assert_eq!(r.status(), 204);
        assert_eq!(live(&app, &id), 0);
        for member in ["p1", "p2", "p3", "p4", "p5"] {
            let (s, h) = json(
                app.caller(member, "reader")
                    .get(&format!("/v2/glint/share-events?image_id={id}"))
                    .await,
            )
            .await;
            assert_eq!(s, 200, "{h}");
            let last = h["events"].as_array().unwrap().last().cloned().unwrap();
            assert_eq!(last["action"], "member.delete", "{member}: {h}");
            assert_eq!(last["via"], "image_delete", "{member}: {h}");
            assert_eq!(last["member_id"], member);
        }
    }
);

crate::backend_test!(
    the_operator_protects_every_shared_image,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.protect_shared_images = true;
    },
    |app| async move {
        let owner = app.caller("owner", "member");
        let a = image(&owner, json!({})).await;
        share(&app, &owner, &a, "p1", "accepted").await;
        let (s, v) = json(owner.delete(&format!("/v2/images/{a}")).await).await;
        assert_eq!(s, 409, "{v}");
        assert!(
            message(&v).contains("with 1 project that accepted it"),
            "{v}"
        );
        // The owner's "false" does not lift the operator's protection.
        let b = image(&owner, json!({"os_glint_protect_while_shared": "false"})).await;
        share(&app, &owner, &b, "p1", "accepted").await;
        let (s, _) = json(owner.delete(&format!("/v2/images/{b}")).await).await;
        assert_eq!(s, 409);
        // Without accepted members (removed, or never accepted), deletes go through.
        owner.remove_member(&a, "p1").await;
        assert_eq!(owner.delete(&format!("/v2/images/{a}")).await.status(), 204);
        let c = image(&owner, json!({})).await;
        share(&app, &owner, &c, "p1", "pending").await;
        assert_eq!(owner.delete(&format!("/v2/images/{c}")).await.status(), 204);
        assert_eq!(live(&app, &b), 1);
    }
);

crate::backend_test!(
    expired_shares_do_not_hold_an_image,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.protect_shared_images = true;
    },
    |app| async move {
        let owner = app.caller("owner", "member");
        let id = image(&owner, json!({})).await;
        let at = (chrono::Utc::now() + chrono::Duration::seconds(3))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        owner
            .add_member_with(&id, json!({"member": "p1", "os_glint": {"expires_at": at}}))
            .await;
        app.caller("p1", "member")
            .set_member_status(&id, "p1", "accepted")
            .await;
        let (s, _) = json(owner.delete(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 409);
        // Once the share has expired the member has lost the image: nothing holds it.
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        assert_eq!(
            owner.delete(&format!("/v2/images/{id}")).await.status(),
            204
        );
    }
);

crate::backend_test!(
    off_the_property_is_only_a_property,
    config = |c| c.sharing.protect_shared_images = true,
    |app| async move {
        let owner = app.caller("owner", "member");
        let id = image(&owner, json!({"os_glint_protect_while_shared": "true"})).await;
        share(&app, &owner, &id, "p1", "accepted").await;
        assert_eq!(
            owner.delete(&format!("/v2/images/{id}")).await.status(),
            204
        );
    }
);
