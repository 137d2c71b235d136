//! The sharing history (issue 17): every change of a share, through Glance's routes and glint's,
//! is recorded with who, from which project, under which request id, how, and the state before
//! and after; it outlives the member and the image, pages by keyset, and is purged after
//! `history_retention`. Off, nothing is written.

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, Backend, Caller, TestApp};

async fn shared_image(c: &Caller<'_>, name: &str) -> String {
    c.create_image(json!({"name": name, "visibility": "shared", "disk_format": "raw"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn events(c: &Caller<'_>, q: &str) -> Vec<Value> {
    let (s, v) = json(c.get(&format!("/v2/glint/share-events{q}")).await).await;
    assert_eq!(s, 200, "{v}");
    v["events"].as_array().unwrap().clone()
}

/// (action, via, from, to) of each event.
fn summary(evs: &[Value]) -> Vec<(String, String, Value, Value)> {
    evs.iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["via"].as_str().unwrap().to_owned(),
                e["from"].clone(),
                e["to"].clone(),
            )
        })
        .collect()
}

fn s(a: &str, v: &str, from: Value, to: Value) -> (String, String, Value, Value) {
    (a.to_owned(), v.to_owned(), from, to)
}

crate::backend_test!(
    every_sharing_change_is_recorded_and_outlives_the_image,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        let member = app.caller("p2", "member");
        let id = shared_image(&owner, "h").await;
        // Offered with a note, under a request id of the client's choosing.
        let r = owner
            .request(Method::POST, &format!("/v2/images/{id}/members"))
            .header("X-Openstack-Request-Id", "req-history-1")
            .json(&json!({"member": "p2", "os_glint": {"note": "ci"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Accepted through Glance's route, note changed through glint's, rejected in bulk,
        // removed through Glance's route.
        member.set_member_status(&id, "p2", "accepted").await;
        let (st, v) = json(
            owner
                .put(
                    &format!("/v2/glint/images/{id}/members/p2"),
                    &json!({"os_glint": {"note": "ci, until friday"}}),
                )
                .await,
        )
        .await;
        assert_eq!(st, 200, "{v}");
        // A change that changes nothing records nothing.
        let (st, _) = json(
            owner
                .put(
                    &format!("/v2/glint/images/{id}/members/p2"),
                    &json!({"os_glint": {"note": "ci, until friday"}}),
                )
                .await,
        )
        .await;
        assert_eq!(st, 200);
        let (st, v) = json(
            member
                .post(
                    "/v2/glint/inbox/decisions",
                    &json!({"status": "rejected", "image_ids": [id]}),
                )
                .await,
        )
        .await;
        assert_eq!(
            (st, v["results"][0]["outcome"].as_str()),
            (200, Some("updated")),
            "{v}"
        );
        owner.remove_member(&id, "p2").await;
        // An offer to a project that trusts p1: accepted by its policy.
        let trusting = app.caller("p3", "member");
        let (st, _) = json(
            trusting
                .put(
                    "/v2/glint/projects/p3/share-policy",
                    &json!({"auto_accept": {"owners": ["p1"]}}),
                )
                .await,
        )
        .await;
        assert_eq!(st, 200);
        owner.add_member(&id, "p3").await;

        let all = events(&owner, &format!("?image_id={id}")).await;
        let note = |n: &str| json!({"os_glint": {"note": n}});
        assert_eq!(
            summary(&all),
            vec![
                s(
                    "member.create",
                    "direct",
                    Value::Null,
                    json!({"status": "pending", "os_glint": {"note": "ci"}})
                ),
                s(
                    "member.update",
                    "direct",
                    json!({"status": "pending"}),
                    json!({"status": "accepted"})
                ),
                s(
                    "member.change",
                    "direct",
                    note("ci"),
                    note("ci, until friday")
                ),
                s(
                    "member.update",
                    "inbox",
                    json!({"status": "accepted"}),
                    json!({"status": "rejected"})
                ),
                s(
                    "member.delete",
                    "direct",
                    json!({"status": "rejected", "os_glint": {"note": "ci, until friday"}}),
                    Value::Null
                ),
                s(
                    "member.create",
                    "trust_policy",
                    Value::Null,
                    json!({"status": "accepted", "os_glint": {"policy": "auto_accepted"}})
                ),
            ]
        );
        // Who, from where, under which request, about what.
        let first = &all[0];
        assert_eq!(
            first["actor"],
            json!({"user_id": "user-p1", "project_id": "p1"})
        );
        assert_eq!(first["request_id"], "req-history-1");
        assert_eq!(
            (first["image_id"].as_str(), first["member_id"].as_str()),
            (Some(id.as_str()), Some("p2"))
        );
        assert_eq!(first["owner"], "p1");
        assert_eq!(
            all[1]["actor"],
            json!({"user_id": "user-p2", "project_id": "p2"})
        );
        assert!(all[1]["request_id"].as_str().unwrap().starts_with("req-"));
        let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        for e in &all {
            chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap();
        }

        // Each side reads its own: p2 the five naming it, p3 the one naming it and the change of
        // its own trust policy.
        assert_eq!(events(&member, "").await.len(), 5);
        let p3 = events(&trusting, "").await;
        assert_eq!(p3.len(), 2);
        assert_eq!(p3[0]["action"], "share_policy.update");
        assert_eq!(events(&owner, "?member_id=p3").await.len(), 1);

        // Keyset paging, bounded by the limit.
        let (st, page) = json(owner.get("/v2/glint/share-events?limit=4").await).await;
        assert_eq!(st, 200);
        assert_eq!(page["events"].as_array().unwrap().len(), 4);
        let next = page["next"].as_str().unwrap().to_owned();
        assert!(next.contains("marker="), "{next}");
        let (_, rest) = json(owner.get(&next).await).await;
        assert_eq!(rest["events"].as_array().unwrap().len(), 2);
        assert_eq!(rest["events"][0]["id"], all[4]["id"]);
        // since: the events at or after an instant.
        let later = (Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
        assert!(events(&owner, &format!("?since={later}")).await.is_empty());
        let earlier = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
        assert_eq!(events(&owner, &format!("?since={earlier}")).await.len(), 6);
        for bad in ["?marker=x", "?since=yesterday", "?limit=-1", "?owner=p1"] {
            let (st, v) = json(owner.get(&format!("/v2/glint/share-events{bad}")).await).await;
            assert_eq!(st, 400, "{bad}: {v}");
        }

        // The image goes, and p3's share with it (recorded); its history stays, for both sides.
        assert_eq!(owner.delete_status(&format!("/v2/images/{id}")).await, 204);
        let after = events(&owner, &format!("?image_id={id}")).await;
        assert_eq!(after.len(), 7);
        assert_eq!(
            summary(&after[6..]),
            vec![s(
                "member.delete",
                "image_delete",
                json!({"status": "accepted", "os_glint": {"policy": "auto_accepted"}}),
                Value::Null
            )]
        );
        assert_eq!(after[6]["member_id"], "p3");
        assert_eq!(events(&member, &format!("?image_id={id}")).await.len(), 5);
        assert_eq!(events(&trusting, &format!("?image_id={id}")).await.len(), 2);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_share_events WHERE image_id = '{id}'"
            )),
            7
        );
    }
);

crate::backend_test!(
    the_sweep_records_expiry_purges_and_drops_old_events,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.expired_retention = Duration::ZERO;
        c.sharing.history_retention = Some(Duration::from_secs(2));
    },
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = shared_image(&owner, "x").await;
        let expires = Utc::now().trunc_subsecs(0) + chrono::Duration::seconds(3);
        let at = expires.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        owner
            .add_member_with(&id, json!({"member": "p2", "os_glint": {"expires_at": at}}))
            .await;
        let wait = (expires - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300);
        tokio::time::sleep(wait).await;
        let removed = glint::service::sharing_sweep::purge_expired(&app.state)
            .await
            .unwrap();
        assert_eq!(removed.len(), 1);
        // The create event was older than history_retention and went; the purge is recorded.
        let evs = events(&owner, "").await;
        assert_eq!(
            summary(&evs),
            vec![s(
                "member.purge",
                "expiry",
                json!({"status": "pending", "os_glint": {"expires_at": at}}),
                Value::Null
            )]
        );
        assert_eq!(
            evs[0]["actor"],
            json!({"user_id": null, "project_id": null})
        );
        assert_eq!(evs[0]["owner"], "p1");
        assert_eq!(events(&app.caller("p2", "reader"), "").await.len(), 1);
    }
);

#[actix_web::test]
async fn off_nothing_is_recorded_and_no_policy_applies() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.caller("p1", "member");
    let member = app.caller("p2", "member");
    // A policy row left from a time the extensions were on has no effect while they are off.
    let mut c = app.db();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO glint_share_policy (project_id, owners, domains, same_domain, untrusted, \
             mode, updated_at) VALUES ('p2', '[\"p1\"]', '[]', false, 'reject', 'enforce', \
             '2026-12-06 00:00:00.000000')",
        ),
        &mut *c,
    )
    .unwrap();
    drop(c);
    let id = shared_image(&owner, "off").await;
    let (st, m) = json(
        owner
            .post(
                &format!("/v2/images/{id}/members"),
                &json!({"member": "p2"}),
            )
            .await,
    )
    .await;
    assert_eq!((st, m["status"].as_str()), (200, Some("pending")), "{m}");
    assert!(m.get("os_glint").is_none(), "{m}");
    member.set_member_status(&id, "p2", "accepted").await;
    let p3 = app.caller("p3", "member");
    owner.add_member(&id, "p3").await;
    owner.remove_member(&id, "p2").await;
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_share_events"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
    // The new routes answer as any unknown path, whatever the method.
    let unknown = owner.get("/v2/no-such-thing").await;
    let (us, ub) = (unknown.status(), unknown.text().await.unwrap());
    assert_eq!(us, 404);
    for (method, path) in [
        (Method::GET, "/v2/glint/share-events"),
        (Method::GET, "/v2/glint/projects/p2/share-policy"),
        (Method::PUT, "/v2/glint/projects/p2/share-policy"),
        (Method::DELETE, "/v2/glint/projects/p2/share-policy"),
        (Method::POST, "/v2/glint/share-events"),
    ] {
        let r = p3
            .request(method.clone(), path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), us, "{method} {path}");
        assert_eq!(r.text().await.unwrap(), ub, "{method} {path}");
    }
}
