//! Operator policy files (`[oslo_policy] policy_file`) override Glance's defaults.

use serde_json::json;

use crate::backend_test;
use crate::helpers::{json, message, Backend};

fn write_policy(text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("glint-policy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

backend_test!(
    admin_only_sharing_policy,
    config = |c| {
        c.policy_file = Some(write_policy(
        "# only admins share\n\"add_member\": \"role:admin\"\n\"get_image\": \"role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))\"\n",
    ))
    },
    |app| async move {
        let owner = app.caller("p1", "member");
        let id = owner.create_image(json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, v) = json(
            owner
                .post(
                    &format!("/v2/images/{id}/members"),
                    &json!({"member": "p2"}),
                )
                .await,
        )
        .await;
        assert_eq!(
            (s, message(&v).as_str()),
            (403, "You are not authorized to complete add_member action.")
        );
        let admin = app.caller("adm", "admin");
        admin.add_member(&id, "p2").await;
        // The overridden get_image no longer lets members see shared images.
        assert_eq!(
            app.caller("p2", "member")
                .get(&format!("/v2/images/{id}"))
                .await
                .status(),
            404
        );
        assert_eq!(owner.get(&format!("/v2/images/{id}")).await.status(), 200);
    }
);

#[actix_web::test]
async fn broken_policy_file_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(dir.path(), Backend::Sqlite, None);
    config.policy_file = Some(write_policy("\"add_member\": \"role:admin or (\"\n"));
    let err = glint::startup::build_state(config)
        .err()
        .expect("must refuse");
    assert!(err.contains("add_member"), "{err}");
}

/// A rule set that would evaluate forever (or exponentially) is refused at start-up, naming
/// the file and the cycle (the policy fuzz target times out on it without the check).
#[actix_web::test]
async fn self_referencing_policy_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(dir.path(), Backend::Sqlite, None);
    let path = write_policy("\"a\": \"rule:a or rule:a or rule:a or rule:a\"\n");
    config.policy_file = Some(path.clone());
    let err = glint::startup::build_state(config)
        .err()
        .expect("must refuse");
    assert_eq!(
        err,
        format!(
            "policy file {}: rule \"a\" refers to itself: a -> a",
            path.display()
        )
    );
}
