//! The sharing extensions' first features (issue 17): member expiry and notes under `os_glint`,
//! and `/v2/glint` discovery. Off (the default) every answer is Glance's; on, an expired member
//! loses the image at the instant of expiry in show, download, list and the members API, while
//! the owner still sees the row, marked expired.

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use serde_json::{json, Value};

use crate::helpers::{image_ids, json, message, Backend, Caller, TestApp};

async fn shared_image(owner: &Caller<'_>) -> String {
    let id = owner
        .create_image(json!({"name": "base", "visibility": "shared",
                             "disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(owner.upload(&id, vec![5; 4096]).await.status(), 204);
    id
}

/// A new shared image of `c`'s project, offered to p2 with `ext` as its `os_glint`.
async fn share_with_p2(c: &Caller<'_>, name: &str, ext: Value) -> String {
    let id = c
        .create_image(json!({"name": name, "visibility": "shared", "disk_format": "raw"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.add_member_with(&id, json!({"member": "p2", "os_glint": ext}))
        .await;
    id
}

async fn decide(c: &Caller<'_>, body: Value) -> (u16, Value) {
    json(c.post("/v2/glint/inbox/decisions", &body).await).await
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[actix_web::test]
async fn off_every_answer_is_glances() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.caller("p1", "member");
    let id = shared_image(&owner).await;
    // Glance reads only `member`: os_glint is ignored, whatever it holds, and nothing is kept.
    let m = owner
        .add_member_with(
            &id,
            json!({"member": "p2", "os_glint": {"expires_at": "bad", "note": 5}}),
        )
        .await;
    assert_eq!(
        keys(&m),
        [
            "created_at",
            "image_id",
            "member_id",
            "schema",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
    let (_, list) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
    assert_eq!(list["members"][0], m);
    // /v2/glint answers as any unknown /v2 path.
    let glint = owner.get("/v2/glint").await;
    let (gs, gh, gb) = (
        glint.status(),
        glint.headers().get("content-type").cloned(),
        glint.text().await.unwrap(),
    );
    let other = owner.get("/v2/no-such-thing").await;
    assert_eq!(gs, 404);
    assert_eq!(
        (gs, gh),
        (other.status(), other.headers().get("content-type").cloned())
    );
    assert_eq!(gb, other.text().await.unwrap());
    // Glance's member schemas.
    let (_, schema) = json(owner.get("/v2/schemas/member").await).await;
    assert!(schema["properties"].get("os_glint").is_none(), "{schema}");
    assert_eq!(schema, glint::api::v2::schemas::member_schema());
}

crate::backend_test!(
    expiry_after_2038_is_kept,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        // MySQL's TIMESTAMP ends in January 2038; an expiry must not be bound or kept as one.
        let owner = app.caller("p1", "member");
        let id = shared_image(&owner).await;
        let at = "2099-01-31T23:59:59Z";
        let m = owner
            .add_member_with(&id, json!({"member": "p2", "os_glint": {"expires_at": at}}))
            .await;
        assert_eq!(m["os_glint"]["expires_at"], at, "{m}");
        let (s, m) = json(owner.get(&format!("/v2/images/{id}/members/p2")).await).await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["os_glint"]["expires_at"], at, "{m}");
        let (s, m) = json(
            owner
                .put(
                    &format!("/v2/glint/images/{id}/members/p2"),
                    &json!({"os_glint": {"expires_at": "2150-06-30T12:00:00Z"}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200, "{m}");
        let (_, m) = json(owner.get(&format!("/v2/images/{id}/members/p2")).await).await;
        assert_eq!(m["os_glint"]["expires_at"], "2150-06-30T12:00:00Z", "{m}");
    }
);

crate::backend_test!(
    expiry_ends_access_at_the_instant,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let consumer = app.caller("p2", "member");
        let id = shared_image(&owner).await;
        // A few seconds: room for the requests below on a loaded machine.
        let expires = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(6);
        let at = expires.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let m = owner.add_member_with(&id, json!({"member": "p2", "os_glint": {"expires_at": at, "note": "CI runners, until Friday"}})).await;
        assert_eq!(m["status"], "pending");
        assert_eq!(
            m["os_glint"],
            json!({"expires_at": at, "note": "CI runners, until Friday", "state": "active"})
        );
        let v = consumer.set_member_status(&id, "p2", "accepted").await;
        assert_eq!(v["os_glint"]["note"], "CI runners, until Friday");

        // Before the instant: the member sees, downloads and lists the image.
        assert_eq!(consumer.get_status(&format!("/v2/images/{id}")).await, 200);
        assert_eq!(
            consumer.get_status(&format!("/v2/images/{id}/file")).await,
            200
        );
        let (_, l) = json(consumer.get("/v2/images").await).await;
        assert_eq!(image_ids(&l), vec![id.clone()]);
        let (s, v) = json(consumer.get(&format!("/v2/images/{id}/members/p2")).await).await;
        assert_eq!(
            (s, v["os_glint"]["state"].as_str()),
            (200, Some("active")),
            "{v}"
        );

        let wait = (expires - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300);
        tokio::time::sleep(wait).await;

        // After it: as if the member row were gone.
        let (s, v) = json(consumer.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 404, "{v}");
        assert_eq!(
            consumer.get_status(&format!("/v2/images/{id}/file")).await,
            404
        );
        for q in [
            "",
            "?visibility=shared",
            "?member_status=all&visibility=shared",
            "?member_status=accepted",
        ] {
            let (s, l) = json(consumer.get(&format!("/v2/images{q}")).await).await;
            assert_eq!((s, image_ids(&l)), (200, Vec::<String>::new()), "{q}");
        }
        let (s, _) = json(consumer.get(&format!("/v2/images/{id}/members/p2")).await).await;
        assert_eq!(s, 404);
        let (s, _) = json(
            consumer
                .put(
                    &format!("/v2/images/{id}/members/p2"),
                    &json!({"status": "rejected"}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 404);
        // A marker naming the image is as unknown to the member as the image.
        let (s, v) = json(consumer.get(&format!("/v2/images?marker={id}")).await).await;
        assert_eq!(s, 400, "{v}");

        // The owner still sees the row, expired, and it is still in the database.
        let (s, l) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
        assert_eq!(s, 200);
        assert_eq!(l["members"][0]["status"], "accepted");
        assert_eq!(l["members"][0]["os_glint"]["state"], "expired");
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM image_members WHERE NOT deleted"),
            1
        );
        // Removing the member removes its extension data; adding it again starts afresh.
        owner.remove_member(&id, "p2").await;
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
        let m = owner.add_member(&id, "p2").await;
        assert!(m.get("os_glint").is_none(), "{m}");
        consumer.set_member_status(&id, "p2", "accepted").await;
        assert_eq!(consumer.get_status(&format!("/v2/images/{id}")).await, 200);
    }
);

crate::backend_test!(
    bad_extension_data_is_refused_and_nothing_written,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = shared_image(&owner).await;
        for (ext, want) in [
            (
                json!({"expires_at": "2001-01-01T00:00:00Z"}),
                "is not in the future",
            ),
            (json!({"expires_at": "next week"}), "RFC 3339"),
            (
                json!({"note": "x".repeat(1001)}),
                "longer than 1000 characters",
            ),
            (json!({"expiry": "2099-01-01T00:00:00Z"}), "os_glint.expiry"),
            (json!(["x"]), "must be an object"),
        ] {
            let (s, v) = json(
                owner
                    .post(
                        &format!("/v2/images/{id}/members"),
                        &json!({"member": "p2", "os_glint": ext}),
                    )
                    .await,
            )
            .await;
            assert_eq!(s, 400, "{ext}: {v}");
            assert!(message(&v).contains(want), "{ext}: {v}");
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM image_members"), 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
        // Another project cannot read the note: p3 sees neither image nor member.
        owner
            .add_member_with(&id, json!({"member": "p2", "os_glint": {"note": "for p2"}}))
            .await;
        let (s, _) = json(
            app.caller("p3", "member")
                .get(&format!("/v2/images/{id}/members/p2"))
                .await,
        )
        .await;
        assert_eq!(s, 404);
    }
);

#[actix_web::test]
async fn on_discovery_and_schemas_declare_the_extensions() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.sharing.enabled = true).await;
    let c = app.caller("p1", "reader");
    let (s, v) = json(c.get("/v2/glint").await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"extensions": ["member-expiry", "member-note", "member-renewal-request",
                              "member-last-download", "inbox", "inbox-decisions",
                              "inbox-owner-names", "share-policy", "share-events", "batch-share",
                              "webhooks", "image-copy", "domain-guardrails"],
               "limits": {"note_max_chars": 1000, "decisions_max_images": 100,
                          "share_policy_max_ids": 100, "batch_max_images": 100,
                          "batch_max_projects": 1000, "batch_max_pairs": 2000}})
    );
    let (_, member) = json(c.get("/v2/schemas/member").await).await;
    assert_eq!(member["properties"]["os_glint"]["type"], "object");
    assert_eq!(
        member["properties"]["status"]["enum"],
        json!(["pending", "accepted", "rejected"])
    );
    let (_, members) = json(c.get("/v2/schemas/members").await).await;
    assert_eq!(members["properties"]["members"]["items"], member);

    // Other methods: 405 naming the allowed one, as on Glance's routes.
    let r = c
        .request(reqwest::Method::POST, "/v2/glint")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET")
    );

    // The rule is the operator's to change (policy file), like Glance's own.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "\"glint:discover\": \"role:admin\"\n").unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.sharing.enabled = true;
        c.policy_file = Some(policy);
    })
    .await;
    let (s, _) = json(app.caller("p1", "reader").get("/v2/glint").await).await;
    assert_eq!(s, 403);
    let (s, _) = json(app.caller("p1", "admin").get("/v2/glint").await).await;
    assert_eq!(s, 200);
}

crate::backend_test!(
    owner_and_member_change_their_own_keys,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let consumer = app.caller("p2", "member");
        let id = shared_image(&owner).await;
        let day = (Utc::now().trunc_subsecs(0) + chrono::Duration::days(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        owner
            .add_member_with(
                &id,
                json!({"member": "p2", "os_glint": {"expires_at": day}}),
            )
            .await;
        let put = |c: &Caller<'_>, body: Value| {
            let path = format!("/v2/glint/images/{id}/members/p2");
            let c = c.request(reqwest::Method::PUT, &path).json(&body);
            async move { json(c.send().await.unwrap()).await }
        };
        // The member asks for a renewal; both sides see it.
        let (s, v) = put(&consumer, json!({"os_glint": {"renewal_requested": true}})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["os_glint"],
            json!({"expires_at": day, "renewal_requested": true, "state": "active"})
        );
        assert_eq!(v["status"], "pending");
        let (_, l) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
        assert_eq!(l["members"][0]["os_glint"]["renewal_requested"], true);
        // Each side only its own keys (403), and nobody else at all (404).
        let (s, v) = put(&consumer, json!({"os_glint": {"expires_at": null}})).await;
        assert_eq!(
            (s, message(&v)),
            (
                403,
                "os_glint.expires_at is set by the image owner of this share".to_owned()
            )
        );
        let (s, _) = put(&owner, json!({"os_glint": {"renewal_requested": false}})).await;
        assert_eq!(s, 403);
        let (s, _) = put(
            &app.caller("p3", "member"),
            json!({"os_glint": {"note": "x"}}),
        )
        .await;
        assert_eq!(s, 404);
        let (s, _) = put(
            &app.caller("p2", "reader"),
            json!({"os_glint": {"renewal_requested": false}}),
        )
        .await;
        assert_eq!(s, 403);
        // The owner extends the share: the request is answered (cleared); a note is added.
        let week = (Utc::now().trunc_subsecs(0) + chrono::Duration::days(7))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let (s, v) = put(
            &owner,
            json!({"os_glint": {"expires_at": week, "note": "renewed"}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["os_glint"],
            json!({"expires_at": week, "note": "renewed", "state": "active"})
        );
        let (_, v) = json(consumer.get(&format!("/v2/images/{id}/members/p2")).await).await;
        assert_eq!(v["os_glint"]["expires_at"], week);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext WHERE note = 'renewed' AND NOT renewal_requested"), 1);
        // Removing both leaves nothing: os_glint is left out and the row is gone.
        let (s, v) = put(
            &owner,
            json!({"os_glint": {"expires_at": null, "note": null}}),
        )
        .await;
        assert_eq!(s, 200);
        assert!(v.get("os_glint").is_none(), "{v}");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
        // Bad requests change nothing.
        let (s, _) = put(&owner, json!({"expires_at": week})).await;
        assert_eq!(s, 400);
        let (s, _) = put(
            &owner,
            json!({"os_glint": {"expires_at": "2001-01-01T00:00:00Z"}}),
        )
        .await;
        assert_eq!(s, 400);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
    }
);

#[actix_web::test]
async fn off_the_change_route_is_an_unknown_path() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.caller("p1", "member");
    let id = shared_image(&owner).await;
    let r = owner
        .request(
            reqwest::Method::PUT,
            &format!("/v2/glint/images/{id}/members/p2"),
        )
        .json(&json!({"os_glint": {"note": "x"}}))
        .send()
        .await
        .unwrap();
    let other = owner.get("/v2/no-such-thing").await;
    assert_eq!(r.status(), 404);
    for (method, path) in [
        (reqwest::Method::POST, "/v2/glint"),
        (reqwest::Method::DELETE, "/v2/glint/inbox"),
    ] {
        let r = owner.request(method, path).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    assert_eq!(r.text().await.unwrap(), other.text().await.unwrap());
}

crate::backend_test!(
    pending_offers_expire_after_the_ttl,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.pending_ttl = Some(Duration::from_secs(3));
    },
    |app| async move {
        let owner = app.caller("p1", "member");
        let consumer = app.caller("p2", "member");
        let pending_id = shared_image(&owner).await;
        let accepted_id = shared_image(&owner).await;
        let start = std::time::Instant::now();
        for id in [&pending_id, &accepted_id] {
            owner.add_member(id, "p2").await;
        }
        consumer
            .set_member_status(&accepted_id, "p2", "accepted")
            .await;
        let listed = |q: &'static str| {
            let c = &consumer;
            async move {
                let (s, v) = json(c.get(&format!("/v2/images?visibility=shared&{q}")).await).await;
                assert_eq!(s, 200, "{v}");
                let mut ids = image_ids(&v);
                ids.sort();
                ids
            }
        };
        let mut both = vec![pending_id.clone(), accepted_id.clone()];
        both.sort();
        assert_eq!(listed("member_status=all").await, both);
        assert_eq!(
            listed("member_status=pending").await,
            std::slice::from_ref(&pending_id)
        );
        tokio::time::sleep(Duration::from_millis(3500).saturating_sub(start.elapsed())).await;
        // The unanswered offer has expired; the accepted share (answered) has not.
        assert_eq!(
            listed("member_status=all").await,
            std::slice::from_ref(&accepted_id)
        );
        assert!(listed("member_status=pending").await.is_empty());
        assert_eq!(
            consumer
                .get_status(&format!("/v2/images/{pending_id}"))
                .await,
            404
        );
        assert_eq!(
            consumer
                .get_status(&format!("/v2/images/{accepted_id}"))
                .await,
            200
        );
        let (_, v) = json(
            owner
                .get(&format!("/v2/images/{pending_id}/members/p2"))
                .await,
        )
        .await;
        assert_eq!(v["os_glint"]["state"], "expired", "{v}");
        assert_eq!(v["status"], "pending");
    }
);

crate::backend_test!(
    the_inbox_lists_a_projects_shares_with_counts_and_pages,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let alpha = app.caller("p1", "member");
        let gamma = app.caller("p9", "member");
        let beta = app.caller("p2", "member");
        let soon = (Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(2))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let a1 = share_with_p2(&alpha, "a1", json!(null)).await;
        let a2 = share_with_p2(&alpha, "a2", json!({"note": "please"})).await;
        let a3 = share_with_p2(&alpha, "a3", json!(null)).await;
        let gone = share_with_p2(&alpha, "gone", json!({"expires_at": soon})).await;
        let g1 = share_with_p2(&gamma, "g1", json!(null)).await;
        beta.set_member_status(&a3, "p2", "accepted").await;
        // beta's own image shared with itself is not an offer.
        let own = beta
            .create_image(json!({"name": "own", "visibility": "shared"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        beta.add_member(&own, "p2").await;
        tokio::time::sleep(Duration::from_millis(2300)).await;

        let inbox = |q: String| {
            let c = &beta;
            async move {
                let (s, v) = json(c.get(&format!("/v2/glint/inbox{q}")).await).await;
                assert_eq!(s, 200, "{q}: {v}");
                v
            }
        };
        let ids = |v: &Value| -> Vec<String> {
            v["shares"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["image"]["id"].as_str().unwrap().to_owned())
                .collect()
        };
        // Shares of the same second are ordered by image id: compare as sets, and the pages
        // against the whole list.
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        // Pending by default; the expired one is counted apart.
        let v = inbox(String::new()).await;
        assert_eq!(
            sorted(ids(&v)),
            sorted(vec![g1.clone(), a2.clone(), a1.clone()])
        );
        assert_eq!(
            v["counts"],
            json!({"pending": 3, "accepted": 1, "rejected": 0, "expired": 1})
        );
        assert!(v.get("next").is_none(), "{v}");
        let first = v["shares"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["image"]["id"] == a2.as_str())
            .unwrap();
        assert_eq!(first["image"]["name"], "a2");
        assert_eq!(first["image"]["owner"], "p1");
        assert_eq!(first["member"]["member_id"], "p2");
        assert_eq!(first["member"]["os_glint"]["note"], "please");
        let v = inbox("?status=expired".into()).await;
        assert_eq!(ids(&v), std::slice::from_ref(&gone));
        assert_eq!(v["shares"][0]["member"]["os_glint"]["state"], "expired");
        let v = inbox("?status=all".into()).await;
        let all = ids(&v);
        assert_eq!(
            sorted(all.clone()),
            sorted(vec![
                g1.clone(),
                gone.clone(),
                a3.clone(),
                a2.clone(),
                a1.clone()
            ])
        );
        let v = inbox("?owner=p9".into()).await;
        assert_eq!(ids(&v), std::slice::from_ref(&g1));
        assert_eq!(
            v["counts"],
            json!({"pending": 1, "accepted": 0, "rejected": 0, "expired": 0})
        );
        // Pages of one, following `next`, give the same shares.
        let mut paged = Vec::new();
        let mut q = "?status=all&limit=2".to_owned();
        loop {
            let v = inbox(q.clone()).await;
            paged.extend(ids(&v));
            match v["next"].as_str() {
                Some(next) => q = next.trim_start_matches("/v2/glint/inbox").to_owned(),
                None => break,
            }
            assert!(paged.len() <= 5, "{paged:?}");
        }
        assert_eq!(paged, all);
        // Another project's inbox holds none of this; a marker outside the inbox is refused.
        let (s, v) = json(
            app.caller("p3", "member")
                .get("/v2/glint/inbox?status=all")
                .await,
        )
        .await;
        assert_eq!(
            (s, v["shares"].as_array().map(Vec::len)),
            (200, Some(0)),
            "{v}"
        );
        let (s, _) = json(
            app.caller("p3", "member")
                .get(&format!("/v2/glint/inbox?marker={a1}"))
                .await,
        )
        .await;
        assert_eq!(s, 400);
        let (s, _) = json(beta.get("/v2/glint/inbox?status=done").await).await;
        assert_eq!(s, 400);
    }
);

crate::backend_test!(
    bulk_decisions_are_ordinary_member_updates,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let alpha = app.caller("p1", "member");
        let gamma = app.caller("p9", "member");
        let beta = app.caller("p2", "member");
        let a1 = share_with_p2(&alpha, "a1", json!(null)).await;
        let a2 = share_with_p2(&alpha, "a2", json!(null)).await;
        let a3 = share_with_p2(&alpha, "a3", json!(null)).await;
        let g1 = share_with_p2(&gamma, "g1", json!(null)).await;
        beta.set_member_status(&g1, "p2", "accepted").await;
        let status_of = |id: &str| {
            app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}' AND member = 'p2' \
             AND NOT deleted AND status = 'accepted'"
        ))
        };
        let (s, v) = decide(
            &beta,
            json!({"status": "accepted", "image_ids": [a1, a2, g1, "no-such-image"]}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v,
            json!({"results": [
                {"image_id": a1, "outcome": "updated"},
                {"image_id": a2, "outcome": "updated"},
                {"image_id": g1, "outcome": "unchanged"},
                {"image_id": "no-such-image", "outcome": "not_found"},
            ]})
        );
        assert_eq!(
            (
                status_of(&a1),
                status_of(&a2),
                status_of(&a3),
                status_of(&g1)
            ),
            (1, 1, 0, 1)
        );
        // Everything from one owner: accepted and pending alike, nothing of another owner's.
        let (s, v) = decide(&beta, json!({"status": "rejected", "owner": "p1"})).await;
        assert_eq!(s, 200, "{v}");
        let mut outcomes: Vec<(String, String)> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["image_id"].as_str().unwrap().to_owned(),
                    r["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        outcomes.sort();
        let mut want = vec![
            (a1.clone(), "updated".to_owned()),
            (a2.clone(), "updated".to_owned()),
            (a3.clone(), "updated".to_owned()),
        ];
        want.sort();
        assert_eq!(outcomes, want);
        assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM image_members WHERE member = 'p2' AND NOT deleted AND status = 'rejected'"),
        3
    );
        assert_eq!(status_of(&g1), 1);
        // Another project decides only for itself: it has no row on these images.
        let (s, v) = decide(
            &app.caller("p3", "member"),
            json!({"status": "accepted", "image_ids": [a1]}),
        )
        .await;
        assert_eq!(
            (s, v["results"][0]["outcome"].as_str()),
            (200, Some("not_found"))
        );
        // A reader may not decide; a bad body writes nothing.
        let (s, _) = decide(
            &app.caller("p2", "reader"),
            json!({"status": "accepted", "image_ids": [a1]}),
        )
        .await;
        assert_eq!(s, 403);
        let (s, _) = decide(&beta, json!({"status": "pending", "image_ids": [a1]})).await;
        assert_eq!(s, 400);
        assert_eq!(status_of(&a1), 0);
    }
);

crate::backend_test!(
    bulk_decisions_racing_member_updates_stay_consistent,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let alpha = app.caller("p1", "member");
        let beta = app.caller("p2", "member");
        let mut ids = Vec::new();
        for i in 0..8 {
            ids.push(share_with_p2(&alpha, &format!("r{i}"), json!(null)).await);
        }
        let bulk = async {
            let mut outcomes = Vec::new();
            for status in ["accepted", "rejected", "accepted"] {
                let (s, v) = json(
                    beta.post(
                        "/v2/glint/inbox/decisions",
                        &json!({"status": status, "image_ids": ids}),
                    )
                    .await,
                )
                .await;
                assert_eq!(s, 200, "{v}");
                outcomes.extend(
                    v["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["outcome"].as_str().unwrap().to_owned()),
                );
            }
            outcomes
        };
        let single = async {
            for (i, id) in ids.iter().enumerate() {
                let status = if i % 2 == 0 { "rejected" } else { "pending" };
                beta.set_member_status(id, "p2", status).await;
            }
            // The owner removes one share meanwhile.
            assert_eq!(
                alpha
                    .delete(&format!("/v2/images/{}/members/p2", ids[7]))
                    .await
                    .status(),
                204
            );
        };
        let (outcomes, ()) = tokio::join!(bulk, single);
        assert!(
            outcomes
                .iter()
                .all(|o| ["updated", "unchanged", "not_found"].contains(&o.as_str())),
            "{outcomes:?}"
        );
        // One live row per remaining share, each in one of Glance's statuses.
        assert_eq!(
            app.count(
                "SELECT COUNT(*) AS n FROM image_members WHERE member = 'p2' AND NOT deleted"
            ),
            7
        );
        assert_eq!(
            app.count(
                "SELECT COUNT(*) AS n FROM image_members WHERE member = 'p2' AND NOT deleted \
                   AND status NOT IN ('pending', 'accepted', 'rejected')"
            ),
            0
        );
    }
);
