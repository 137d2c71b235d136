//! The sharing extensions' trust policy (issue 17): a recipient project auto-accepts offers from
//! owners, domains or its own domain it trusts, and hides or refuses the others, or only marks
//! what would have happened (audit). Set by the recipient only. And the cross-tenant matrix of
//! every `/v2/glint` route.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, message, Backend, Caller, TestApp};

/// A new shared image of `c`'s project.
async fn shared_image(c: &Caller<'_>, name: &str) -> String {
    c.create_image(json!({"name": name, "visibility": "shared", "disk_format": "raw"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `c` (its token's project in `domain`) offers `image` to `member`.
async fn offer(c: &Caller<'_>, domain: &str, image: &str, member: &str) -> (u16, Value) {
    let r = c
        .request(Method::POST, &format!("/v2/images/{image}/members"))
        .header("X-Project-Domain-Id", domain)
        .json(&json!({ "member": member }))
        .send()
        .await
        .unwrap();
    json(r).await
}

/// `c` (in `domain`) sets `project`'s policy.
async fn set_policy(c: &Caller<'_>, domain: &str, project: &str, body: Value) -> (u16, Value) {
    let r = c
        .request(
            Method::PUT,
            &format!("/v2/glint/projects/{project}/share-policy"),
        )
        .header("X-Project-Domain-Id", domain)
        .json(&body)
        .send()
        .await
        .unwrap();
    json(r).await
}

async fn inbox(c: &Caller<'_>, q: &str) -> Value {
    let (s, v) = json(c.get(&format!("/v2/glint/inbox{q}")).await).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn inbox_ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["image"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

crate::backend_test!(
    trusted_owners_are_accepted_untrusted_hidden_or_refused,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let recipient = app.caller("p2", "member");
        // No policy yet: the default, which changes nothing.
        let (s, v) = json(recipient.get("/v2/glint/projects/p2/share-policy").await).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["share_policy"],
            json!({"auto_accept": {"owners": [], "domains": [], "same_domain": false},
                   "untrusted": "allow", "mode": "enforce", "project_id": "p2",
                   "domain_id": null, "updated_at": null})
        );
        let (s, v) = set_policy(
            &recipient,
            "d2",
            "p2",
            json!({"auto_accept": {"owners": ["p1"], "domains": ["corp"]}, "untrusted": "hide"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["share_policy"]["domain_id"], "d2");
        assert_eq!(v["share_policy"]["untrusted"], "hide");
        let (_, again) = json(recipient.get("/v2/glint/projects/p2/share-policy").await).await;
        assert_eq!(again, v);

        // A listed owner, and an owner in a listed domain: accepted on arrival.
        let (p1, p3, p4) = (
            app.caller("p1", "member"),
            app.caller("p3", "member"),
            app.caller("p4", "member"),
        );
        let a = shared_image(&p1, "a").await;
        let (s, m) = offer(&p1, "elsewhere", &a, "p2").await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["status"], "accepted");
        assert_eq!(m["os_glint"]["policy"], "auto_accepted");
        let b = shared_image(&p3, "b").await;
        let (s, m) = offer(&p3, "corp", &b, "p2").await;
        assert_eq!((s, m["status"].as_str()), (200, Some("accepted")), "{m}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE member = 'p2' \
                 AND status = 'accepted' AND image_id IN ('{a}', '{b}') AND NOT deleted"
            )),
            2
        );
        // The member sees them at once, as accepted shares.
        let (_, l) = json(
            recipient
                .get("/v2/images?member_status=accepted&visibility=shared")
                .await,
        )
        .await;
        assert_eq!(
            sorted(crate::helpers::image_ids(&l)),
            sorted(vec![a.clone(), b.clone()])
        );

        // Untrusted: a pending offer the inbox leaves out, counts included.
        let c = shared_image(&p4, "c").await;
        let (s, m) = offer(&p4, "other", &c, "p2").await;
        assert_eq!((s, m["status"].as_str()), (200, Some("pending")), "{m}");
        assert_eq!(m["os_glint"]["policy"], "hidden");
        let v = inbox(&recipient, "").await;
        assert_eq!(inbox_ids(&v), Vec::<String>::new(), "{v}");
        assert_eq!(v["counts"]["pending"], 0, "{v}");
        assert_eq!(v["counts"]["accepted"], 2, "{v}");
        assert!(!inbox_ids(&inbox(&recipient, "?status=all").await).contains(&c));
        // The recipient can still review what its policy hid.
        let v = inbox(&recipient, "?status=hidden").await;
        assert_eq!(inbox_ids(&v), vec![c.clone()], "{v}");
        assert_eq!(v["shares"][0]["member"]["os_glint"]["policy"], "hidden");
        // Still an ordinary member row: the recipient may accept it, and then it shows.
        recipient.set_member_status(&c, "p2", "accepted").await;
        assert!(inbox_ids(&inbox(&recipient, "?status=accepted").await).contains(&c));
        assert_eq!(
            inbox_ids(&inbox(&recipient, "?status=hidden").await),
            Vec::<String>::new()
        );

        // reject: the owner gets 403 with why, and nothing is written.
        let (s, _) = set_policy(
            &recipient,
            "d2",
            "p2",
            json!({"auto_accept": {"owners": ["p1"]}, "untrusted": "reject"}),
        )
        .await;
        assert_eq!(s, 200);
        let d = shared_image(&p4, "d").await;
        let (s, v) = offer(&p4, "other", &d, "p2").await;
        assert_eq!(s, 403, "{v}");
        assert!(
            message(&v).contains("Project p2 does not accept image shares from project p4"),
            "{v}"
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{d}'"
            )),
            0
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_share_events WHERE image_id = '{d}'"
            )),
            0
        );
        // A trusted owner still gets through; other recipients are not affected.
        let (s, m) = offer(&p4, "other", &d, "p5").await;
        assert_eq!((s, m["status"].as_str()), (200, Some("pending")), "{m}");
        assert!(m["os_glint"].get("policy").is_none(), "{m}");

        // audit: nothing changes, each offer shows what would have happened.
        let (s, _) = set_policy(
            &recipient,
            "d2",
            "p2",
            json!({"auto_accept": {"owners": ["p1"]}, "untrusted": "reject", "mode": "audit"}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, m) = offer(&p4, "other", &d, "p2").await;
        assert_eq!((s, m["status"].as_str()), (200, Some("pending")), "{m}");
        assert_eq!(m["os_glint"]["policy"], "would_reject");
        let e = shared_image(&p1, "e").await;
        let (s, m) = offer(&p1, "elsewhere", &e, "p2").await;
        assert_eq!((s, m["status"].as_str()), (200, Some("pending")), "{m}");
        assert_eq!(m["os_glint"]["policy"], "would_auto_accept");
        // Both sides read the mark later; audited offers stay in the inbox.
        let (_, m) = json(recipient.get(&format!("/v2/images/{e}/members/p2")).await).await;
        assert_eq!(m["os_glint"]["policy"], "would_auto_accept");
        assert_eq!(
            inbox_ids(&inbox(&recipient, "").await),
            sorted(vec![d.clone(), e.clone()])
        );
    }
);

crate::backend_test!(
    same_domain_trust_uses_each_sides_recorded_domain,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let recipient = app.caller("p6", "member");
        let (s, v) = set_policy(
            &recipient,
            "d6",
            "p6",
            json!({"auto_accept": {"same_domain": true}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let near = app.caller("p7", "member");
        let far = app.caller("p8", "member");
        let i = shared_image(&near, "near").await;
        let (_, m) = offer(&near, "d6", &i, "p6").await;
        assert_eq!(m["status"], "accepted", "{m}");
        let j = shared_image(&far, "far").await;
        let (_, m) = offer(&far, "d9", &j, "p6").await;
        assert_eq!(m["status"], "pending", "{m}");
        // An admin setting the policy keeps the domain the project recorded.
        let admin = app.caller("padmin", "admin");
        let (s, v) = set_policy(
            &admin,
            "admin-domain",
            "p6",
            json!({"auto_accept": {"same_domain": true}, "untrusted": "hide"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["share_policy"]["domain_id"], "d6");
        // Without a domain in the owner's token, same_domain never matches.
        let k = shared_image(&near, "k").await;
        let (s, m) = json(
            near.post(&format!("/v2/images/{k}/members"), &json!({"member": "p6"}))
                .await,
        )
        .await;
        assert_eq!((s, m["status"].as_str()), (200, Some("pending")), "{m}");
        assert_eq!(m["os_glint"]["policy"], "hidden");
    }
);

#[actix_web::test]
async fn policy_bodies_are_checked_with_glance_style_400s() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.sharing.enabled = true).await;
    let p2 = app.caller("p2", "member");
    let many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
    for (body, says) in [
        (json!([]), "Expected a policy"),
        (
            json!({"untrusted": "drop"}),
            "Invalid untrusted value: drop",
        ),
        (json!({"mode": "loud"}), "Invalid mode value: loud"),
        (
            json!({"auto_acept": {}}),
            "auto_acept is not a policy field",
        ),
        (json!({"auto_accept": {"owners": "p1"}}), "must be a list"),
        (json!({"auto_accept": {"owners": [""]}}), "non-empty"),
        (json!({"auto_accept": {"owners": many}}), "at most 100"),
        (json!({"auto_accept": {"same_domain": 1}}), "true or false"),
    ] {
        let (s, v) = set_policy(&p2, "d", "p2", body.clone()).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert!(message(&v).contains(says), "{body}: {v}");
    }
    // Not JSON at all.
    let r = p2
        .request(Method::PUT, "/v2/glint/projects/p2/share-policy")
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // An over-long project id in the path.
    let long = "x".repeat(256);
    let (s, _) = json(
        p2.get(&format!("/v2/glint/projects/{long}/share-policy"))
            .await,
    )
    .await;
    assert_eq!(s, 400);
    // Nothing was stored by any of them; other methods get 405.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_share_policy"), 0);
    let r = p2.delete("/v2/glint/projects/p2/share-policy").await;
    assert_eq!(r.status(), 405);
}

// Every `/v2/glint` route, from both sides of a share and from a third project: nobody reads
// another project's inbox, policy or history, or decides for another project; readers do not
// write; the owner cannot set the trust policy of its recipient.
crate::backend_test!(
    cross_tenant_matrix,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let recipient = app.caller("p2", "member");
        let recipient_reader = app.caller("p2", "reader");
        let stranger = app.caller("p3", "member");
        let stranger_reader = app.caller("p3", "reader");
        let nobody = app.caller("p3", "observer");
        let admin = app.caller("p9", "admin");
        let id = shared_image(&owner, "m").await;
        let (s, _) = offer(&owner, "d1", &id, "p2").await;
        assert_eq!(s, 200);

        // Discovery: any reader; no role, no answer.
        for c in [&owner, &recipient_reader, &stranger_reader, &admin] {
            assert_eq!(c.get("/v2/glint").await.status(), 200);
        }
        assert_eq!(nobody.get("/v2/glint").await.status(), 403);

        // Trust policy: the project's readers read it, its members and admins set it.
        let policy = "/v2/glint/projects/p2/share-policy";
        let trusting_p1 = json!({"auto_accept": {"owners": ["p1"]}});
        for (c, get, put) in [
            (&recipient, 200, 200),
            (&recipient_reader, 200, 403),
            (&owner, 403, 403),
            (&stranger, 403, 403),
            (&nobody, 403, 403),
            (&admin, 200, 200),
        ] {
            let who = format!("{} {}", c.project, c.roles);
            assert_eq!(c.get(policy).await.status(), get, "GET by {who}");
            let (s, v) = set_policy(c, "d", "p2", trusting_p1.clone()).await;
            assert_eq!(s, put, "PUT by {who}: {v}");
        }
        // The owner's attempt left nothing behind that trusts it: the row is the recipient's
        // (or the admin's) write, made by their users.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) AS n FROM glint_share_policy WHERE updated_by IN ('user-p1', 'user-p3')"
            ),
            0
        );
        // A project cannot trust itself into another project's policy through its own path.
        let (s, v) = set_policy(&owner, "d", "p1", trusting_p1.clone()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM glint_share_policy WHERE project_id = 'p2' AND updated_by = 'user-p1'"),
            0
        );

        // Inbox: each project reads only its own.
        let (s, v) = json(recipient_reader.get("/v2/glint/inbox").await).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["shares"][0]["image"]["id"], id.as_str());
        for c in [&stranger, &owner] {
            let (s, v) = json(c.get("/v2/glint/inbox?status=all").await).await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(v["shares"], json!([]), "{v}");
        }
        assert_eq!(nobody.get("/v2/glint/inbox").await.status(), 403);

        // Decisions: only for the caller's own project, never by readers.
        let decide = json!({"status": "accepted", "image_ids": [id]});
        let (s, v) = json(stranger.post("/v2/glint/inbox/decisions", &decide).await).await;
        assert_eq!(
            (s, v["results"][0]["outcome"].as_str()),
            (200, Some("not_found")),
            "{v}"
        );
        let (s, v) = json(owner.post("/v2/glint/inbox/decisions", &decide).await).await;
        assert_eq!(
            (s, v["results"][0]["outcome"].as_str()),
            (200, Some("not_found")),
            "{v}"
        );
        let (s, _) = json(
            recipient_reader
                .post("/v2/glint/inbox/decisions", &decide)
                .await,
        )
        .await;
        assert_eq!(s, 403);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND status = 'pending'"
            )),
            1
        );

        // Member extension data: the owner's keys by the owner, the member's by the member.
        let ext = format!("/v2/glint/images/{id}/members/p2");
        let note = json!({"os_glint": {"note": "n"}});
        let renew = json!({"os_glint": {"renewal_requested": true}});
        for (c, body, want) in [
            (&stranger, &note, 404),
            (&stranger, &renew, 404),
            (&recipient, &note, 403),
            (&recipient_reader, &renew, 403),
            (&owner, &renew, 403),
        ] {
            let (s, v) = json(c.put(&ext, body).await).await;
            assert_eq!(s, want, "{} {} {body}: {v}", c.project, c.roles);
        }
        let (s, _) = json(owner.put(&ext, &note).await).await;
        assert_eq!(s, 200);
        let (s, _) = json(recipient.put(&ext, &renew).await).await;
        assert_eq!(s, 200);

        // History: the owner and the member read the share's events; a stranger reads none of
        // them, even naming the image or the member; a reader reads; an admin reads all.
        let q = format!("/v2/glint/share-events?image_id={id}");
        for (c, n) in [
            (&owner, 3),
            (&recipient_reader, 3),
            (&admin, 3),
            (&stranger, 0),
        ] {
            let (s, v) = json(c.get(&q).await).await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(
                v["events"].as_array().unwrap().len(),
                n,
                "{} {v}",
                c.project
            );
        }
        let (_, v) = json(stranger.get("/v2/glint/share-events?member_id=p2").await).await;
        assert_eq!(v["events"], json!([]));
        assert_eq!(nobody.get("/v2/glint/share-events").await.status(), 403);

        // Batch share: the owner and an admin share; the recipient (who sees the image) may not
        // pass it on; a stranger does not even learn it exists; readers and no role: 403.
        let to = |p: &str| json!({"images": [id], "targets": {"projects": [p]}});
        for (c, target, want) in [
            (&recipient, "p4", "forbidden"),
            (&stranger, "p4", "not_found"),
            (&owner, "p4", "created"),
            (&admin, "p5", "created"),
            (&owner, "p2", "exists"),
        ] {
            let (s, v) = json(c.post("/v2/glint/shares", &to(target)).await).await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(
                v["results"][0]["outcome"], want,
                "{} {}: {v}",
                c.project, c.roles
            );
        }
        for c in [&recipient_reader, &stranger_reader, &nobody] {
            let (s, _) = json(c.post("/v2/glint/shares", &to("p6")).await).await;
            assert_eq!(s, 403, "{} {}", c.project, c.roles);
        }
        let mut members: Vec<String> = {
            let (_, v) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
            v["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["member_id"].as_str().unwrap().to_owned())
                .collect()
        };
        members.sort();
        assert_eq!(members, ["p2", "p4", "p5"]);
    }
);

/// The new rules are the operator's to change: here only admins set trust policies, and members
/// may not read the history.
#[actix_web::test]
async fn the_new_rules_can_be_overridden_in_the_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        "\"glint:set_share_policy\": \"role:admin\"\n\
         \"glint:get_share_events\": \"role:admin\"\n\
         \"glint:batch_share\": \"role:admin\"\n",
    )
    .unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.sharing.enabled = true;
        c.policy_file = Some(path.clone());
    })
    .await;
    let p2 = app.caller("p2", "member");
    let (s, v) = set_policy(&p2, "d", "p2", json!({"untrusted": "reject"})).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            403,
            "You are not authorized to complete glint:set_share_policy action."
        )
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_share_policy"), 0);
    let (s, _) = set_policy(&app.caller("adm", "admin"), "d", "p2", json!({})).await;
    assert_eq!(s, 200);
    // Reading the policy keeps its default rule.
    assert_eq!(
        p2.get("/v2/glint/projects/p2/share-policy").await.status(),
        200
    );
    assert_eq!(p2.get("/v2/glint/share-events").await.status(), 403);
    let (s, v) = json(
        p2.post(
            "/v2/glint/shares",
            &json!({"images": ["x"], "targets": {"projects": ["p3"]}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            403,
            "You are not authorized to complete glint:batch_share action."
        )
    );
    assert_eq!(
        app.caller("adm", "admin")
            .get("/v2/glint/share-events")
            .await
            .status(),
        200
    );
}
