//! The sharing API: members endpoints, the authorisation matrix, visibility, races.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{image_ids, json, message, Caller};

async fn shared_image(c: &Caller<'_>) -> String {
    c.create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn add(c: &Caller<'_>, id: &str, member: &str) -> (u16, Value) {
    json(
        c.post(
            &format!("/v2/images/{id}/members"),
            &json!({"member": member}),
        )
        .await,
    )
    .await
}

async fn set_status(c: &Caller<'_>, id: &str, member: &str, status: &str) -> (u16, Value) {
    json(
        c.put(
            &format!("/v2/images/{id}/members/{member}"),
            &json!({"status": status}),
        )
        .await,
    )
    .await
}

async fn listed_ids(c: &Caller<'_>, query: &str) -> BTreeSet<String> {
    let path = if query.contains("limit=") {
        format!("/v2/images?{query}")
    } else {
        format!("/v2/images?limit=1000&{query}")
    };
    let (s, v) = json(c.get(&path).await).await;
    assert_eq!(s, 200, "{query}: {v}");
    image_ids(&v).into_iter().collect()
}

backend_test!(share_accept_reject_remove, |app| async move {
    let owner = app.caller("p1", "member");
    let alt = app.caller("p2", "member");
    let id = shared_image(&owner).await;
    let (s, m) = add(&owner, &id, "p2").await;
    assert_eq!(s, 200);
    assert_eq!(m["member_id"], "p2");
    assert_eq!(m["image_id"], id.as_str());
    assert_eq!(m["status"], "pending");
    assert_eq!(m["schema"], "/v2/schemas/member");
    assert_eq!(m["created_at"], m["updated_at"]);
    let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "member_id",
            "image_id",
            "status",
            "created_at",
            "updated_at",
            "schema"
        ]
    );
    // Pending: visible by id, not in the default list.
    assert_eq!(alt.get(&format!("/v2/images/{id}")).await.status(), 200);
    assert!(!listed_ids(&alt, "").await.contains(&id));
    assert!(listed_ids(&alt, "member_status=pending&visibility=shared")
        .await
        .contains(&id));
    let (s, m) = set_status(&alt, &id, "p2", "accepted").await;
    assert_eq!((s, m["status"].as_str()), (200, Some("accepted")));
    assert!(listed_ids(&alt, "").await.contains(&id));
    // The owner project's reader sees the accepted row.
    let (s, v) = json(
        app.caller("p1", "reader")
            .get(&format!("/v2/images/{id}/members"))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["schema"], "/v2/schemas/members");
    assert_eq!(v["members"].as_array().unwrap().len(), 1);
    assert_eq!(v["members"][0]["status"], "accepted");
    let (s, v) = json(
        app.caller("p1", "reader")
            .get(&format!("/v2/images/{id}/members/p2"))
            .await,
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("accepted")));
    let (s, _) = set_status(&alt, &id, "p2", "rejected").await;
    assert_eq!(s, 200);
    assert!(!listed_ids(&alt, "").await.contains(&id));
    assert_eq!(alt.get(&format!("/v2/images/{id}")).await.status(), 200);
    // Same status again is a no-op 200; back to pending is allowed.
    assert_eq!(set_status(&alt, &id, "p2", "rejected").await.0, 200);
    assert_eq!(set_status(&alt, &id, "p2", "pending").await.0, 200);
    let r = owner.delete(&format!("/v2/images/{id}/members/p2")).await;
    assert_eq!(r.status(), 204);
    assert_eq!(alt.get(&format!("/v2/images/{id}")).await.status(), 404);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND deleted"
        )),
        1
    );
    // Re-adding revives the row as pending.
    let (s, m) = add(&owner, &id, "p2").await;
    assert_eq!((s, m["status"].as_str()), (200, Some("pending")));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}'"
        )),
        1
    );
});

backend_test!(create_errors_in_glance_order, |app| async move {
    let owner = app.caller("p1", "member");
    let id = shared_image(&owner).await;
    let path = format!("/v2/images/{id}/members");
    for (body, msg) in [
        (json!({}), "Member to be added not specified"),
        (json!({"member": ""}), "Member can't be empty"),
        (
            json!(["p2"]),
            "Expected a member in the form: {\"member\": \"image_id\"}",
        ),
    ] {
        let (s, v) = json(owner.post(&path, &body).await).await;
        assert_eq!((s, message(&v).as_str()), (400, msg));
    }
    let (s, v) = json(
        owner
            .request(reqwest::Method::POST, &path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, message(&v).as_str()),
        (400, "Body expected in request.")
    );
    let missing = "11111111-2222-3333-4444-555555555555";
    let (s, v) = add(&owner, missing, "p2").await;
    assert_eq!(
        (s, message(&v)),
        (404, format!("Image {missing} not found."))
    );
    assert_eq!(add(&owner, &id, "p2").await.0, 200);
    let (s, v) = add(&owner, &id, "p2").await;
    assert_eq!(
        (s, message(&v)),
        (409, format!("Member p2 is duplicated for image {id}"))
    );
    let private = owner.create_image(json!({"visibility": "private"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = add(&owner, &private, "p2").await;
    assert_eq!(
        (s, message(&v)),
        (
            403,
            format!("Not allowed to create members for image {private}.")
        )
    );
    let (s, _) = add(&app.caller("adm", "admin"), &private, "p2").await;
    assert_eq!(s, 403);
    // Sharing with one's own project is allowed (Terraform's acceptance test does it).
    assert_eq!(add(&owner, &id, "p1").await.0, 200);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM image_members"), 2);
});

backend_test!(
    quota_before_duplicate,
    config = |c| c.image_member_quota = 2,
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = shared_image(&owner).await;
        assert_eq!(add(&owner, &id, "a").await.0, 200);
        assert_eq!(add(&owner, &id, "b").await.0, 200);
        let (s, v) = add(&owner, &id, "c").await;
        assert_eq!(s, 413);
        assert_eq!(
        message(&v),
        format!("Image member limit exceeded for image {id}: The limit has been exceeded on the number of allowed image members for this image. Attempted: 3, Maximum: 2:")
    );
        // At the limit, a duplicate also gets 413 (quota is checked first).
        assert_eq!(add(&owner, &id, "a").await.0, 413);
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM image_members WHERE NOT deleted"),
            2
        );
    }
);

backend_test!(update_and_show_errors, |app| async move {
    let owner = app.caller("p1", "member");
    let alt = app.caller("p2", "member");
    let id = shared_image(&owner).await;
    add(&owner, &id, "p2").await;
    add(&owner, &id, "p3").await;
    let (s, v) = set_status(&owner, &id, "p2", "accepted").await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            403,
            "You are not authorized to complete modify_member action."
        )
    );
    // Authorisation before validation.
    assert_eq!(
        set_status(&owner, &id, "p2", "notavalidstatus").await.0,
        403
    );
    let (s, v) = set_status(&alt, &id, "p2", "notavalidstatus").await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            400,
            "Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\"."
        )
    );
    let (s, v) = set_status(&alt, &id, "p3", "accepted").await;
    assert_eq!(
        (s, message(&v)),
        (
            404,
            format!("p3 not found in the member list of the image {id}.")
        )
    );
    let (s, v) = json(
        alt.put(&format!("/v2/images/{id}/members/p2"), &json!({}))
            .await,
    )
    .await;
    assert_eq!((s, message(&v).as_str()), (400, "Status not specified"));
    let (s, v) = json(
        alt.put(&format!("/v2/images/{id}/members/p2"), &json!(["accepted"]))
            .await,
    )
    .await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            400,
            "Expected a status in the form: {\"status\": \"status\"}"
        )
    );
    // A member sees only its own row.
    let (_, v) = json(alt.get(&format!("/v2/images/{id}/members")).await).await;
    assert_eq!(v["members"].as_array().unwrap().len(), 1);
    assert_eq!(v["members"][0]["member_id"], "p2");
    let (s, _) = json(alt.get(&format!("/v2/images/{id}/members/p3")).await).await;
    assert_eq!(s, 404);
    // A member cannot delete itself; the owner can; an admin may change anyone's status.
    assert_eq!(
        alt.delete(&format!("/v2/images/{id}/members/p2"))
            .await
            .status(),
        403
    );
    let (s, m) = set_status(&app.caller("adm", "admin"), &id, "p3", "rejected").await;
    assert_eq!((s, m["status"].as_str()), (200, Some("rejected")));
    let (_, v) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
    assert_eq!(v["members"].as_array().unwrap().len(), 2);
    // openstacksdk sends `member` along with `status`.
    let (s, _) = json(
        alt.put(
            &format!("/v2/images/{id}/members/p2"),
            &json!({"member": "p2", "status": "accepted"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM image_members WHERE member = 'p2' AND status = 'accepted'"
        ),
        1
    );
});

backend_test!(members_inert_when_not_shared, |app| async move {
    let owner = app.caller("p1", "member");
    let alt = app.caller("p2", "member");
    let id = shared_image(&owner).await;
    add(&owner, &id, "p2").await;
    set_status(&alt, &id, "p2", "accepted").await;
    let patch = |v: &'static str| {
        owner
            .request(reqwest::Method::PATCH, &format!("/v2/images/{id}"))
            .header(
                "Content-Type",
                "application/openstack-images-v2.1-json-patch",
            )
            .body(json!([{"op": "replace", "path": "/visibility", "value": v}]).to_string())
            .send()
    };
    assert_eq!(patch("private").await.unwrap().status(), 200);
    assert_eq!(alt.get(&format!("/v2/images/{id}")).await.status(), 404);
    assert!(!listed_ids(&alt, "").await.contains(&id));
    let (s, v) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
    assert_eq!(
        (s, message(&v)),
        (
            403,
            format!("Not allowed to list members for image {id}: Only shared images have members.")
        )
    );
    let (s, v) = json(owner.get(&format!("/v2/images/{id}/members/p2")).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (404, "Only shared images have members.")
    );
    let (s, v) = set_status(&owner, &id, "p2", "rejected").await;
    assert_eq!(
        (s, message(&v)),
        (
            403,
            format!("Not allowed to update members for image {id}.")
        )
    );
    let (s, v) = json(owner.delete(&format!("/v2/images/{id}/members/p2")).await).await;
    assert_eq!(
        (s, message(&v)),
        (
            403,
            format!("Not allowed to delete members for image {id}.")
        )
    );
    assert_eq!(app.count(&format!("SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND NOT deleted AND status = 'accepted'")), 1);
    // Back to shared: the old answer counts again.
    assert_eq!(patch("shared").await.unwrap().status(), 200);
    assert!(listed_ids(&alt, "").await.contains(&id));
});

backend_test!(image_delete_removes_members, |app| async move {
    let owner = app.caller("p1", "member");
    let id = shared_image(&owner).await;
    add(&owner, &id, "p2").await;
    assert_eq!(
        owner.delete(&format!("/v2/images/{id}")).await.status(),
        204
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND NOT deleted"
        )),
        0
    );
    assert_eq!(
        json(
            app.caller("p2", "member")
                .get(&format!("/v2/images/{id}/members"))
                .await
        )
        .await
        .0,
        404
    );
});

// Contract 4.3, every cell: (operation, caller) -> status, for a shared image.
backend_test!(authorisation_matrix_shared, |app| async move {
    let callers: [(&str, &str, &str); 6] = [
        ("Om", "own", "member"),
        ("Or", "own", "reader"),
        ("Mm", "mem", "member"),
        ("Mr", "mem", "reader"),
        ("X", "other", "member"),
        ("A", "adm", "admin"),
    ];
    // Expected: get, download, patch, list members, show own/any row, add, update own, update other's, delete row.
    let expected: [(&str, [u16; 9]); 6] = [
        ("Om", [200, 200, 200, 200, 200, 200, 0, 403, 204]),
        ("Or", [200, 403, 403, 200, 200, 403, 0, 403, 403]),
        ("Mm", [200, 200, 403, 200, 200, 403, 200, 404, 403]),
        ("Mr", [200, 403, 403, 200, 200, 403, 403, 404, 403]),
        ("X", [404, 404, 404, 404, 404, 404, 404, 404, 404]),
        ("A", [200, 200, 200, 200, 200, 200, 200, 200, 204]),
    ];
    for ((label, project, roles), (elabel, want)) in callers.iter().zip(expected.iter()) {
        assert_eq!(label, elabel);
        let owner = app.caller("own", "member");
        let id = owner
            .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        owner.upload(&id, b"data".to_vec()).await;
        add(&owner, &id, "mem").await;
        add(&owner, &id, "third").await;
        let c = app.caller(project, roles);
        let mut got = [0u16; 9];
        got[0] = c.get(&format!("/v2/images/{id}")).await.status().as_u16();
        got[1] = c
            .get(&format!("/v2/images/{id}/file"))
            .await
            .status()
            .as_u16();
        got[2] = c
            .patch(
                &format!("/v2/images/{id}"),
                &json!([{"op": "add", "path": "/k", "value": "v"}]),
            )
            .await
            .status()
            .as_u16();
        got[3] = c
            .get(&format!("/v2/images/{id}/members"))
            .await
            .status()
            .as_u16();
        let row = if *project == "mem" || *project == "other" {
            "mem"
        } else {
            "third"
        };
        got[4] = c
            .get(&format!("/v2/images/{id}/members/{row}"))
            .await
            .status()
            .as_u16();
        got[5] = add(&c, &id, "newcomer").await.0;
        got[6] = if *project == "own" {
            0
        } else {
            set_status(
                &c,
                &id,
                if *project == "adm" { "mem" } else { project },
                "accepted",
            )
            .await
            .0
        };
        got[7] = set_status(&c, &id, "third", "accepted").await.0;
        let del = if *project == "mem" { "mem" } else { "third" };
        got[8] = c
            .delete(&format!("/v2/images/{id}/members/{del}"))
            .await
            .status()
            .as_u16();
        assert_eq!(&got, want, "caller {label}");
    }
});

// Non-shared images: owner and admin get 403 (404 for show); others 404 on private.
backend_test!(authorisation_matrix_not_shared, |app| async move {
    for vis in ["private", "public", "community"] {
        let admin = app.caller("adm", "admin");
        let img = admin
            .create_image(json!({"visibility": "shared", "owner": "own"}))
            .await;
        let id = img["id"].as_str().unwrap().to_owned();
        add(&admin, &id, "mem").await;
        admin
            .patch(
                &format!("/v2/images/{id}"),
                &json!([{"op": "replace", "path": "/visibility", "value": vis}]),
            )
            .await;
        for (project, roles) in [
            ("own", "member"),
            ("adm", "admin"),
            ("mem", "member"),
            ("other", "member"),
        ] {
            let c = app.caller(project, roles);
            let privileged = project == "own" || project == "adm";
            let sees = privileged || vis != "private";
            let want_mutation = if sees { 403 } else { 404 };
            let got = [
                c.get(&format!("/v2/images/{id}/members"))
                    .await
                    .status()
                    .as_u16(),
                add(&c, &id, "x").await.0,
                set_status(&c, &id, "mem", "accepted").await.0,
                c.delete(&format!("/v2/images/{id}/members/mem"))
                    .await
                    .status()
                    .as_u16(),
                c.get(&format!("/v2/images/{id}/members/mem"))
                    .await
                    .status()
                    .as_u16(),
            ];
            assert_eq!(
                got,
                [
                    want_mutation,
                    want_mutation,
                    want_mutation,
                    want_mutation,
                    404
                ],
                "{vis} {project}"
            );
        }
    }
});

// One fixture matrix through the pure predicate, each backend's SQL list query and HTTP.
/// What Glance answers in the visibility matrix, written cell by cell from its rules, independent of
/// glint's predicate and SQL (glance/db/sqlalchemy/api.py `_select_images_query` and
/// `_image_get_all`, glance/db/utils.py `is_image_visible`):
/// - A listing by a non-admin is the union of the public and community images, the caller's own
///   images, and the *shared* images the caller is a member of with the asked `member_status`
///   (default `accepted`; `all` means any status). A membership on a private, community or public
///   image adds nothing. An admin's listing starts from every image and ignores `member_status`.
/// - Then `visibility=X` keeps only X (`all` keeps everything); no `visibility` drops community
///   images except the caller's own.
/// - `GET /v2/images/{id}`: admins and the owner see everything; others see public and community
///   images, and shared images they are a member of in any status, rejected included.
///
/// A mask has one character per fixture, `x` when the image is in the answer, in four groups:
/// private, shared, community, public; in each group the member `mem`'s status is none, pending,
/// accepted, rejected (the images are owned by `own`; the membership of `mem` was added while
/// each image was shared, then its visibility changed).
const EXPECTED_GET: [(&str, &str, &str); 5] = [
    ("own", "member", "xxxx xxxx xxxx xxxx"),
    ("mem", "member", ".... .xxx xxxx xxxx"),
    ("mem", "reader", ".... .xxx xxxx xxxx"),
    ("other", "member", ".... .... xxxx xxxx"),
    ("adm", "admin", "xxxx xxxx xxxx xxxx"),
];

/// `GET /v2/images?<visibility>&<member_status>`: per caller and visibility query, one mask per
/// member_status query, in the order none, pending, accepted, rejected, all.
#[rustfmt::skip]
const EXPECTED_LIST: [(&str, &str, &str, [&str; 5]); 30] = [
    ("own", "member", "",                     ["xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx"]),
    ("own", "member", "visibility=all",       ["xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx"]),
    ("own", "member", "visibility=public",    [".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx"]),
    ("own", "member", "visibility=private",   ["xxxx .... .... ....", "xxxx .... .... ....", "xxxx .... .... ....", "xxxx .... .... ....", "xxxx .... .... ...."]),
    ("own", "member", "visibility=shared",    [".... xxxx .... ....", ".... xxxx .... ....", ".... xxxx .... ....", ".... xxxx .... ....", ".... xxxx .... ...."]),
    ("own", "member", "visibility=community", [".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ...."]),
    ("mem", "member", "",                     [".... ..x. .... xxxx", ".... .x.. .... xxxx", ".... ..x. .... xxxx", ".... ...x .... xxxx", ".... .xxx .... xxxx"]),
    ("mem", "member", "visibility=all",       [".... ..x. xxxx xxxx", ".... .x.. xxxx xxxx", ".... ..x. xxxx xxxx", ".... ...x xxxx xxxx", ".... .xxx xxxx xxxx"]),
    ("mem", "member", "visibility=public",    [".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx"]),
    ("mem", "member", "visibility=private",   [".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ...."]),
    ("mem", "member", "visibility=shared",    [".... ..x. .... ....", ".... .x.. .... ....", ".... ..x. .... ....", ".... ...x .... ....", ".... .xxx .... ...."]),
    ("mem", "member", "visibility=community", [".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ...."]),
    ("mem", "reader", "",                     [".... ..x. .... xxxx", ".... .x.. .... xxxx", ".... ..x. .... xxxx", ".... ...x .... xxxx", ".... .xxx .... xxxx"]),
    ("mem", "reader", "visibility=all",       [".... ..x. xxxx xxxx", ".... .x.. xxxx xxxx", ".... ..x. xxxx xxxx", ".... ...x xxxx xxxx", ".... .xxx xxxx xxxx"]),
    ("mem", "reader", "visibility=public",    [".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx"]),
    ("mem", "reader", "visibility=private",   [".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ...."]),
    ("mem", "reader", "visibility=shared",    [".... ..x. .... ....", ".... .x.. .... ....", ".... ..x. .... ....", ".... ...x .... ....", ".... .xxx .... ...."]),
    ("mem", "reader", "visibility=community", [".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ...."]),
    ("other", "member", "",                     [".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx"]),
    ("other", "member", "visibility=all",       [".... .... xxxx xxxx", ".... .... xxxx xxxx", ".... .... xxxx xxxx", ".... .... xxxx xxxx", ".... .... xxxx xxxx"]),
    ("other", "member", "visibility=public",    [".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx"]),
    ("other", "member", "visibility=private",   [".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ...."]),
    ("other", "member", "visibility=shared",    [".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ....", ".... .... .... ...."]),
    ("other", "member", "visibility=community", [".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ...."]),
    ("adm", "admin", "",                     ["xxxx xxxx .... xxxx", "xxxx xxxx .... xxxx", "xxxx xxxx .... xxxx", "xxxx xxxx .... xxxx", "xxxx xxxx .... xxxx"]),
    ("adm", "admin", "visibility=all",       ["xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx", "xxxx xxxx xxxx xxxx"]),
    ("adm", "admin", "visibility=public",    [".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx", ".... .... .... xxxx"]),
    ("adm", "admin", "visibility=private",   ["xxxx .... .... ....", "xxxx .... .... ....", "xxxx .... .... ....", "xxxx .... .... ....", "xxxx .... .... ...."]),
    ("adm", "admin", "visibility=shared",    [".... xxxx .... ....", ".... xxxx .... ....", ".... xxxx .... ....", ".... xxxx .... ....", ".... xxxx .... ...."]),
    ("adm", "admin", "visibility=community", [".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ....", ".... .... xxxx ...."]),
];

/// The 16 answers of a mask, in fixture order.
fn mask_of(mask: &str) -> Vec<bool> {
    let cells: Vec<bool> = mask
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| match c {
            'x' => true,
            '.' => false,
            other => panic!("mask {mask:?}: unexpected {other:?}"),
        })
        .collect();
    assert_eq!(cells.len(), 16, "mask {mask:?}");
    cells
}

backend_test!(
    visibility_matrix_predicate_sql_http_agree,
    |app| async move {
        use glint::domain::context::RequestContext;
        use glint::domain::list_query::{parse, ListDefaults};
        use glint::domain::visibility::{can_see, listed, VisibilityFacts};

        let owner = app.caller("own", "member");
        let member = app.caller("mem", "member");
        let mut fixtures: Vec<(
            String,
            glint::domain::image::Visibility,
            Option<glint::domain::member::MemberStatus>,
        )> = Vec::new();
        for vis in ["private", "shared", "community", "public"] {
            for status in [None, Some("pending"), Some("accepted"), Some("rejected")] {
                let admin = app.caller("adm", "admin");
                let id = admin
                    .create_image(json!({"owner": "own", "name": format!("{vis}-{status:?}")}))
                    .await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                if let Some(s) = status {
                    add(&owner, &id, "mem").await;
                    if s != "pending" {
                        assert_eq!(set_status(&member, &id, "mem", s).await.0, 200);
                    }
                }
                if vis != "shared" {
                    let r = admin
                        .patch(
                            &format!("/v2/images/{id}"),
                            &json!([{"op": "replace", "path": "/visibility", "value": vis}]),
                        )
                        .await;
                    assert_eq!(r.status(), 200);
                }
                fixtures.push((id, vis.parse().unwrap(), status.map(|s| s.parse().unwrap())));
            }
        }
        let callers = [
            ("own", "member"),
            ("mem", "member"),
            ("mem", "reader"),
            ("other", "member"),
            ("adm", "admin"),
        ];
        let defaults = ListDefaults {
            limit_param_default: 25,
            api_limit_max: 1000,
        };
        let mut cells = 0;
        for (project, roles) in callers {
            let ctx = RequestContext::new(Some(project), &roles.split(',').collect::<Vec<_>>());
            let http = app.caller(project, roles);
            let expected_get = mask_of(
                EXPECTED_GET
                    .iter()
                    .find(|(p, r, _)| (*p, *r) == (project, roles))
                    .expect("GET row")
                    .2,
            );
            for (n, (id, vis, status)) in fixtures.iter().enumerate() {
                let facts = VisibilityFacts {
                    owner: Some("own"),
                    visibility: *vis,
                    membership: if project == "mem" { *status } else { None },
                };
                let by_id = http
                    .get(&format!("/v2/images/{id}"))
                    .await
                    .status()
                    .as_u16()
                    == 200;
                assert_eq!(
                    expected_get[n], by_id,
                    "GET by {project}/{roles} of {vis} {status:?}: Glance's rule says {}",
                    expected_get[n]
                );
                assert_eq!(
                    can_see(&ctx, facts),
                    by_id,
                    "GET {project} {vis} {status:?}"
                );
            }
            for v in [
                "",
                "visibility=all",
                "visibility=public",
                "visibility=private",
                "visibility=shared",
                "visibility=community",
            ] {
                let row = EXPECTED_LIST
                    .iter()
                    .find(|(p, r, vv, _)| (*p, *r, *vv) == (project, roles, v))
                    .expect("list row")
                    .3;
                for (column, ms) in [
                    "",
                    "member_status=pending",
                    "member_status=accepted",
                    "member_status=rejected",
                    "member_status=all",
                ]
                .into_iter()
                .enumerate()
                {
                    let query = [v, ms, "limit=1000"]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("&");
                    let q = parse(&query, &defaults).unwrap();
                    let predicate: BTreeSet<String> = fixtures
                        .iter()
                        .filter(|(_, vis, status)| {
                            let facts = VisibilityFacts {
                                owner: Some("own"),
                                visibility: *vis,
                                membership: if project == "mem" { *status } else { None },
                            };
                            listed(&ctx, facts, q.visibility, q.member_status)
                        })
                        .map(|(id, _, _)| id.clone())
                        .collect();
                    let sql: BTreeSet<String> = {
                        let mut conn = app.db();
                        glint::db::images::list(&mut conn, &ctx, &q, None)
                            .unwrap()
                            .into_iter()
                            .map(|i| i.id)
                            .collect()
                    };
                    let over_http = listed_ids(&http, &query).await;
                    let expected: BTreeSet<String> = fixtures
                        .iter()
                        .zip(mask_of(row[column]))
                        .filter(|(_, listed)| *listed)
                        .map(|((id, _, _), _)| id.clone())
                        .collect();
                    assert_eq!(
                        over_http, expected,
                        "HTTP vs Glance's rule: {project}/{roles} {query}: expected {}",
                        row[column]
                    );
                    assert_eq!(
                        predicate, sql,
                        "predicate vs SQL: {project}/{roles} {query}"
                    );
                    assert_eq!(sql, over_http, "SQL vs HTTP: {project}/{roles} {query}");
                    cells += 1;
                }
            }
        }
        assert_eq!(cells, 5 * 30);
    }
);

async fn race<F, Fut>(n: usize, f: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    futures_util::future::join_all((0..n).map(f)).await
}

backend_test!(concurrent_duplicate_adds, |app| async move {
    let owner = app.caller("p1", "member");
    for _ in 0..3 {
        let id = shared_image(&owner).await;
        let codes = race(8, |_| async { add(&owner, &id, "p2").await.0 }).await;
        assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
        assert_eq!(codes.iter().filter(|c| **c == 409).count(), 7, "{codes:?}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND NOT deleted"
            )),
            1
        );
    }
});

backend_test!(
    concurrent_adds_respect_quota,
    config = |c| c.image_member_quota = 5,
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = shared_image(&owner).await;
        let codes = race(12, |i| {
            let (owner, id) = (&owner, &id);
            async move { add(owner, id, &format!("m{i}")).await.0 }
        })
        .await;
        assert_eq!(codes.iter().filter(|c| **c == 200).count(), 5, "{codes:?}");
        assert_eq!(codes.iter().filter(|c| **c == 413).count(), 7, "{codes:?}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND NOT deleted"
            )),
            5
        );
    }
);

backend_test!(status_update_racing_delete, |app| async move {
    let owner = app.caller("p1", "member");
    let alt = app.caller("p2", "member");
    for _ in 0..5 {
        let id = shared_image(&owner).await;
        add(&owner, &id, "p2").await;
        let path = format!("/v2/images/{id}/members/p2");
        let (upd, del) = futures_util::future::join(
            set_status(&alt, &id, "p2", "accepted"),
            owner.delete(&path),
        )
        .await;
        assert!(upd.0 == 200 || upd.0 == 404, "{upd:?}");
        assert_eq!(del.status(), 204);
        // Whatever the order, the row stays deleted: nothing resurrected.
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND NOT deleted"
            )),
            0
        );
        assert!(!listed_ids(&alt, "").await.contains(&id));
    }
});

/// Glance adding a member at the same moment as another server can leave two live rows for one
/// (image, member) on MySQL (it takes no lock; MySQL has no partial unique index). glint then
/// still deletes the member, and the image, without tripping Glance's unique key
/// (image_id, member, deleted_at).
#[actix_web::test]
async fn duplicate_live_member_rows_are_deleted_cleanly() {
    use crate::helpers::{Backend, TestApp};
    use diesel::RunQueryDsl;
    if !crate::helpers::backends().contains(&Backend::Mysql) {
        crate::helpers::skip("mysql not in GLINT_TEST_BACKENDS");
        return;
    }
    let app = TestApp::spawn(Backend::Mysql).await;
    let owner = app.caller("p1", "member");
    let id = owner.create_image(json!({"visibility": "shared"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let twice = |member: &str| {
        for _ in 0..2 {
            diesel::sql_query(format!(
                "INSERT INTO image_members (image_id, member, can_share, status, created_at, \
                 updated_at, deleted) VALUES ('{id}', '{member}', 0, 'pending', NOW(), NOW(), 0)"
            ))
            .execute(&mut *app.db())
            .unwrap();
        }
    };
    let live = |member: &str| {
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' \
             AND member = '{member}' AND NOT deleted"
        ))
    };
    twice("p2");
    assert_eq!(live("p2"), 2);
    owner.remove_member(&id, "p2").await;
    assert_eq!(live("p2"), 0);
    let (s, _) = json(owner.get(&format!("/v2/images/{id}/members/p2")).await).await;
    assert_eq!(s, 404);
    twice("p3");
    // A row of p4 deleted in this very second (Glance deleted and re-added it): the image delete
    // soft-deletes p4's live row at the same (image_id, member, deleted_at) second.
    for deleted in [1, 0] {
        diesel::sql_query(format!(
            "INSERT INTO image_members (image_id, member, can_share, status, created_at, \
             updated_at, deleted_at, deleted) VALUES ('{id}', 'p4', 0, 'pending', NOW(), NOW(), \
             IF({deleted}, NOW(), NULL), {deleted})"
        ))
        .execute(&mut *app.db())
        .unwrap();
    }
    assert_eq!(
        owner.delete(&format!("/v2/images/{id}")).await.status(),
        204
    );
    assert_eq!((live("p3"), live("p4")), (0, 0));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND deleted"
        )),
        3,
        "one deleted row per member (p2, p3, p4), the duplicates gone"
    );
}
