//! Batch share (issue 18, `POST /v2/glint/shares`): N images to M projects in one call, one
//! outcome per pair, idempotent, with a dry run; each member created as by a single create
//! (quota, visibility, policy, trust policy) plus `os_glint.via = batch` and a history event.

use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, message, Caller, TestApp};

async fn shared_image(c: &Caller<'_>, name: &str, visibility: &str) -> String {
    c.create_image(json!({"name": name, "visibility": visibility, "disk_format": "raw"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn batch(c: &Caller<'_>, body: Value) -> (u16, Value) {
    json(c.post("/v2/glint/shares", &body).await).await
}

/// (image, member) -> outcome of a 200 answer.
fn outcomes(v: &Value) -> Vec<(String, String, String)> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|r| {
            (
                r["image_id"].as_str().unwrap().to_owned(),
                r["member_id"].as_str().unwrap_or("").to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn count_of(v: &Value, outcome: &str) -> usize {
    outcomes(v).iter().filter(|(_, _, o)| o == outcome).count()
}

fn in_list(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(",")
}

crate::backend_test!(
    twenty_images_to_fifty_projects_twice,
    config = |c| {
        c.sharing.enabled = true;
        c.image_member_quota = 60;
    },
    |app| async move {
        let owner = app.caller("owner", "member");
        let mut images = Vec::new();
        for i in 0..20 {
            images.push(shared_image(&owner, &format!("golden-{i}"), "shared").await);
        }
        let projects: Vec<String> = (0..50).map(|i| format!("proj-{i:02}")).collect();
        let body = json!({"images": images, "targets": {"projects": projects},
                          "os_glint": {"note": "golden images"}});
        let started = Instant::now();
        let (s, v) = batch(&owner, body.clone()).await;
        let first = started.elapsed();
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["results"].as_array().unwrap().len(), 1000);
        assert_eq!(count_of(&v, "created"), 1000, "{v}");
        assert_eq!(v["counts"]["created"], 1000);
        assert_eq!(v["dry_run"], false);
        // Image-major order, each pair once.
        let o = outcomes(&v);
        assert_eq!(
            (o[0].0.as_str(), o[0].1.as_str()),
            (images[0].as_str(), "proj-00")
        );
        assert_eq!(
            (o[999].0.as_str(), o[999].1.as_str()),
            (images[19].as_str(), "proj-49")
        );
        let imgs = in_list(&images);
        let members = format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE deleted = false AND image_id IN ({imgs})"
        );
        let batch_ext = format!(
            "SELECT COUNT(*) AS n FROM glint_member_ext WHERE via = 'batch' AND image_id IN ({imgs})"
        );
        let events = format!(
            "SELECT COUNT(*) AS n FROM glint_share_events WHERE via = 'batch' \
             AND action = 'member.create' AND image_id IN ({imgs})"
        );
        assert_eq!(app.count(&members), 1000);
        assert_eq!(app.count(&batch_ext), 1000);
        assert_eq!(app.count(&events), 1000);
        // Each member as a single create makes it, with the request's os_glint and via = batch.
        let (s, m) = json(
            owner
                .get(&format!("/v2/images/{}/members/proj-07", images[3]))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["status"], "pending");
        assert_eq!(
            m["os_glint"],
            json!({"note": "golden images", "via": "batch", "state": "active"})
        );
        // The recipient sees the offer as any other.
        let (s, r) = json(
            app.caller("proj-07", "reader")
                .get("/v2/images?member_status=pending&visibility=shared")
                .await,
        )
        .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["images"].as_array().unwrap().len(), 20);
        // The history says how.
        let (s, h) = json(
            owner
                .get(&format!(
                    "/v2/glint/share-events?image_id={}&member_id=proj-07",
                    images[3]
                ))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{h}");
        assert_eq!(h["events"].as_array().unwrap().len(), 1, "{h}");
        assert_eq!(h["events"][0]["via"], "batch");
        assert_eq!(h["events"][0]["action"], "member.create");
        assert_eq!(h["events"][0]["actor"]["project_id"], "owner");

        // Again: every pair exists, nothing changes.
        let started = Instant::now();
        let (s, v) = batch(&owner, body).await;
        let second = started.elapsed();
        assert_eq!(s, 200, "{v}");
        assert_eq!(count_of(&v, "exists"), 1000, "{v}");
        assert_eq!(app.count(&members), 1000);
        assert_eq!(app.count(&events), 1000);
        eprintln!(
            "BATCH 20x50 on {:?}: first {} ms, second (all exists) {} ms",
            app.backend,
            first.as_millis(),
            second.as_millis()
        );

        // Failures per pair: quota (60: 20 members already, so 40 of 50 go in), an image that
        // is not shared, one of another project shared with the caller, one that is not there.
        let full = shared_image(&owner, "full", "shared").await;
        let pre: Vec<String> = (0..20).map(|i| format!("pre-{i}")).collect();
        let (s, v) = batch(
            &owner,
            json!({"images": [full], "targets": {"projects": pre}}),
        )
        .await;
        assert_eq!((s, count_of(&v, "created")), (200, 20), "{v}");
        let private = shared_image(&owner, "private", "private").await;
        let other = app.caller("other", "member");
        let foreign = shared_image(&other, "foreign", "shared").await;
        other.add_member(&foreign, "owner").await;
        let missing = "7a6e2a5e-0000-4000-8000-000000000000";
        // Another project's private image: as missing as a missing one (nothing leaks).
        let hidden = shared_image(&other, "hidden", "private").await;
        let (s, v) = batch(
            &owner,
            json!({"images": [full, private, foreign, missing, hidden],
                   "targets": {"projects": projects}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let by = |img: &str, outcome: &str| {
            outcomes(&v)
                .iter()
                .filter(|(i, _, o)| i == img && o == outcome)
                .count()
        };
        assert_eq!(by(&full, "created"), 40, "{v}");
        assert_eq!(by(&full, "quota"), 10, "{v}");
        // The first 40 targets in the order given got in.
        let o = outcomes(&v);
        assert_eq!(o[39].2, "created");
        assert_eq!((o[40].1.as_str(), o[40].2.as_str()), ("proj-40", "quota"));
        assert_eq!(by(&private, "not_shared_visibility"), 50);
        assert_eq!(by(&foreign, "forbidden"), 50);
        assert_eq!(by(missing, "not_found"), 50);
        assert_eq!(by(&hidden, "not_found"), 50);
        // The other side: a recipient cannot pass on an image shared with it.
        let (s, v) = batch(
            &app.caller("proj-07", "member"),
            json!({"images": [images[3]], "targets": {"projects": ["proj-07", "elsewhere"]}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(count_of(&v, "forbidden"), 2, "{v}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE deleted = false \
                 AND image_id = '{full}'"
            )),
            60
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members \
                 WHERE image_id IN ('{private}', '{foreign}', '{hidden}')"
            )),
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM image_members WHERE member = 'elsewhere'"),
            0
        );
    }
);

crate::backend_test!(
    dry_run_changes_nothing,
    config = |c| {
        c.sharing.enabled = true;
        c.image_member_quota = 3;
    },
    |app| async move {
        let owner = app.caller("owner", "member");
        let a = shared_image(&owner, "a", "shared").await;
        let b = shared_image(&owner, "b", "shared").await;
        owner.add_member(&b, "p1").await;
        let counts = || {
            (
                app.count("SELECT COUNT(*) AS n FROM image_members"),
                app.count("SELECT COUNT(*) AS n FROM glint_member_ext"),
                app.count("SELECT COUNT(*) AS n FROM glint_share_events"),
            )
        };
        let before = counts();
        let body = |dry: bool| {
            json!({"images": [a, b], "targets": {"projects": ["p1", "p2", "p3", "p4"]},
                   "os_glint": {"note": "n"}, "dry_run": dry})
        };
        let (s, dry) = batch(&owner, body(true)).await;
        assert_eq!(s, 200, "{dry}");
        assert_eq!(dry["dry_run"], true);
        let o: Vec<String> = outcomes(&dry).into_iter().map(|(_, _, o)| o).collect();
        assert_eq!(
            o,
            ["created", "created", "created", "quota", "exists", "created", "created", "quota"]
        );
        assert_eq!(counts(), before);
        // The real run does what the dry run said.
        let (s, real) = batch(&owner, body(false)).await;
        assert_eq!(s, 200, "{real}");
        assert_eq!(outcomes(&real), outcomes(&dry));
        assert_eq!(counts().0, before.0 + 5);
        assert_eq!(counts().2, before.2 + 5);
    }
);

crate::backend_test!(
    trust_policies_apply_as_on_a_single_create,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("owner", "member");
        let img = shared_image(&owner, "img", "shared").await;
        for (project, policy) in [
            ("trusting", json!({"auto_accept": {"owners": ["owner"]}})),
            ("closed", json!({"untrusted": "reject"})),
        ] {
            let (s, v) = json(
                app.caller(project, "member")
                    .put(
                        &format!("/v2/glint/projects/{project}/share-policy"),
                        &policy,
                    )
                    .await,
            )
            .await;
            assert_eq!(s, 200, "{v}");
        }
        let (s, v) = batch(
            &owner,
            json!({"images": [img], "targets": {"projects": ["trusting", "closed", "plain"]}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let o: Vec<String> = outcomes(&v).into_iter().map(|(_, _, o)| o).collect();
        assert_eq!(o, ["created", "forbidden", "created"]);
        let (_, m) = json(
            owner
                .get(&format!("/v2/images/{img}/members/trusting"))
                .await,
        )
        .await;
        assert_eq!(m["status"], "accepted");
        assert_eq!(m["os_glint"]["policy"], "auto_accepted");
        assert_eq!(m["os_glint"]["via"], "batch");
        let (s, _) = json(owner.get(&format!("/v2/images/{img}/members/closed")).await).await;
        assert_eq!(s, 404);
        // The trusting project sees the image at once; the plain one has an offer.
        let (s, _) = json(
            app.caller("trusting", "reader")
                .get(&format!("/v2/images/{img}"))
                .await,
        )
        .await;
        assert_eq!(s, 200);
        let (_, m) = json(owner.get(&format!("/v2/images/{img}/members/plain")).await).await;
        assert_eq!(m["status"], "pending");
    }
);

crate::backend_test!(
    bad_requests_bounds_and_policy,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("owner", "member");
        let img = shared_image(&owner, "img", "shared").await;
        let t = json!({"projects": ["p1"]});
        for (body, text) in [
            (
                json!({"images": [img], "targets": t, "dryrun": true}),
                "'dryrun'",
            ),
            (
                json!({"images": [], "targets": t}),
                "images cannot be empty",
            ),
            (json!({"images": [img]}), "targets must be an object"),
            (
                json!({"images": [img], "targets": {"projects": [{"name": "x"}]}}),
                "valid domain",
            ),
            (
                json!({"images": [img], "targets": t, "os_glint": {"expires_at": "2001-01-01T00:00:00Z"}}),
                "not in the future",
            ),
        ] {
            let (s, v) = batch(&owner, body).await;
            assert_eq!(s, 400, "{v}");
            assert!(message(&v).contains(text), "{text}: {v}");
        }
        // The documented bound: 2,000 pairs.
        let images: Vec<String> = (0..3).map(|i| format!("i{i}")).collect();
        let projects: Vec<String> = (0..700).map(|i| format!("p{i}")).collect();
        let (s, v) = batch(
            &owner,
            json!({"images": images, "targets": {"projects": projects}}),
        )
        .await;
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("2100 pairs; at most 2000"), "{v}");
        // Names need Keystone: noauth says so instead of guessing.
        let (s, v) = batch(
            &owner,
            json!({"images": [img], "targets": {"projects": [{"name": "web", "domain": "default"}]}}),
        )
        .await;
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("resolved in Keystone"), "{v}");
        // A reader may not share; nothing was written by any of the above.
        let (s, v) = batch(
            &app.caller("owner", "reader"),
            json!({"images": [img], "targets": t}),
        )
        .await;
        assert_eq!(s, 403, "{v}");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM image_members"), 0);
        // Other methods: 405 naming POST.
        let r = owner
            .request(Method::GET, "/v2/glint/shares")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
        // Discovery lists the feature and its bounds.
        let (_, d) = json(owner.get("/v2/glint").await).await;
        assert!(d["extensions"]
            .as_array()
            .unwrap()
            .contains(&json!("batch-share")));
        assert_eq!(d["limits"]["batch_max_pairs"], 2000);
    }
);

crate::backend_test!(off_it_is_an_unknown_path, |app| async move {
    let owner = app.caller("owner", "member");
    let (s, _) = batch(
        &owner,
        json!({"images": ["x"], "targets": {"projects": ["p"]}}),
    )
    .await;
    assert_eq!(s, 404);
});

/// Targets by `{"name", "domain"}` are resolved in the real Keystone with glint's service
/// credentials; a name it does not know is `unknown_project`.
#[actix_web::test]
async fn targets_by_name_resolve_in_keystone() {
    use crate::keystone::{keystone_config, keystone_env, token, var};
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let url = var(&env, "KEYSTONE_URL").to_owned();
        let kc = keystone_config(&env, &url);
        let app = TestApp::spawn_with(backend, |c| {
            kc(c);
            c.sharing.enabled = true;
        })
        .await;
        let alice = token(&env, "alice", Some("alpha")).await;
        let beta = var(&env, "BETA_PROJECT_ID");
        let call = |method: Method, path: &str, body: Option<Value>| {
            let mut rb = app
                .client
                .request(method, app.url(path))
                .header("X-Auth-Token", &alice);
            if let Some(b) = body {
                rb = rb.json(&b);
            }
            rb
        };
        let (s, img) = json(
            call(
                Method::POST,
                "/v2/images",
                Some(json!({"name": "n", "visibility": "shared"})),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(s, 201, "{img}");
        let id = img["id"].as_str().unwrap();
        let (s, v) = json(
            call(
                Method::POST,
                "/v2/glint/shares",
                Some(json!({"images": [id], "targets": {"projects": [
                    {"name": "beta", "domain": "default"},
                    {"name": "beta", "domain": "Default"},
                    {"name": "no-such-project", "domain": "default"},
                    beta,
                ]}})),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let r = v["results"].as_array().unwrap();
        // By domain id and by domain name: the same project, created once.
        assert_eq!(r[0]["member_id"], beta);
        assert_eq!(r[0]["outcome"], "created");
        assert_eq!(
            r[0]["project"],
            json!({"name": "beta", "domain": "default"})
        );
        assert_eq!(r[1]["member_id"], beta);
        assert_eq!(r[1]["outcome"], "created");
        assert_eq!(r[2]["member_id"], Value::Null);
        assert_eq!(r[2]["outcome"], "unknown_project");
        assert_eq!(r[3]["member_id"], beta);
        assert_eq!(r[3]["outcome"], "created");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{id}'"
            )),
            1
        );
    }
}
