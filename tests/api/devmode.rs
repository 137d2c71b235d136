//! A newcomer's first requests: the noauth development identity (`[glint_noauth]`), used by
//! requests that carry no identity header (the `openstack` CLI with `--os-auth-type none`),
//! headers winning over it; and the 401 of a server with no Keystone saying what to configure.

use glint::config::noauth::NoauthIdentity;
use glint::config::AuthStrategy;
use serde_json::json;

use crate::backend_test;
use crate::helpers::{image_ids, json};

backend_test!(
    dev_identity_without_headers,
    config = |c| {
        c.noauth_identity = Some(NoauthIdentity {
            project_id: "dev-project".into(),
            user_id: Some("dev-user".into()),
            roles: vec!["member".into(), "reader".into()],
        })
    },
    |app| async move {
        // What `openstack --os-auth-type none` sends: no identity header, a placeholder token.
        let bare = |rb: reqwest::RequestBuilder| {
            rb.header("X-Auth-Token", "notused")
                .header("Accept", "application/json")
        };
        let r = bare(app.client.post(app.url("/v2/images")))
            .json(&json!({"name": "dev", "disk_format": "raw", "container_format": "bare"}))
            .send()
            .await
            .unwrap();
        let (s, img) = json(r).await;
        assert_eq!(s, 201, "{img}");
        assert_eq!(img["owner"], "dev-project");
        let id = img["id"].as_str().unwrap().to_owned();
        let owner_in_db = app.count(&format!(
            "SELECT COUNT(*) AS n FROM images WHERE id = '{id}' AND owner = 'dev-project'"
        ));
        assert_eq!(owner_in_db, 1);
        let r = bare(app.client.get(app.url("/v2/images")))
            .send()
            .await
            .unwrap();
        let (s, list) = json(r).await;
        assert_eq!(s, 200);
        assert_eq!(image_ids(&list), vec![id.clone()]);
        // The identity is a member, not an admin: an admin-only call is refused.
        let r = bare(app.client.get(app.url("/v2/tasks")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);

        // Headers win: another project does not see the private image.
        let other = app.caller("other-project", "member");
        let (s, list) = json(other.get("/v2/images").await).await;
        assert_eq!(s, 200);
        assert!(image_ids(&list).is_empty(), "{list}");
        let (s, _) = json(other.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 404);
        let (s, img) = json(
            other
                .post(
                    "/v2/images",
                    &json!({"disk_format": "raw", "container_format": "bare"}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(img["owner"], "other-project");
    }
);

backend_test!(
    noauth_without_dev_identity_needs_headers,
    |app| async move {
        // Off by default: no header, no project, and creating an image is refused as before.
        let r = app
            .client
            .post(app.url("/v2/images"))
            .header("Accept", "application/json")
            .json(&json!({"disk_format": "raw", "container_format": "bare"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 0);
    }
);

backend_test!(
    no_keystone_401_says_what_to_do,
    config = |c| {
        c.auth_strategy = AuthStrategy::Keystone;
    },
    |app| async move {
        let r = app
            .client
            .get(app.url("/v2/images"))
            .header("X-Auth-Token", "anything")
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let (s, body) = json(r).await;
        assert_eq!(s, 401);
        let text = body.to_string();
        assert!(text.contains("[keystone_authtoken] auth_url"), "{text}");
        assert!(text.contains("auth_strategy = noauth"), "{text}");
        // The rest of the 401 is Glance's.
        assert!(
            text.contains("This server could not verify that you are authorized"),
            "{text}"
        );
    }
);
