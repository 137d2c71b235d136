//! Expiry reminders (issue 17, `[glint_sharing] expiry_reminders`): each share about to expire is
//! reminded once per threshold for its current expiry; a new expiry starts again; a share closer
//! to its expiry than several thresholds gets only the shortest; declined offers, shares without
//! an expiry and shares further away get none.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{json, Caller};

async fn share(owner: &Caller<'_>, member: &str, expires_in: chrono::Duration) -> String {
    let id = owner
        .create_image(json!({"name": member, "visibility": "shared"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = (chrono::Utc::now() + expires_in)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    owner
        .add_member_with(
            &id,
            json!({"member": member, "os_glint": {"expires_at": at}}),
        )
        .await;
    id
}

crate::backend_test!(
    reminders_go_out_once_per_threshold,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.expiry_reminders = vec![Duration::from_secs(86_400), Duration::from_secs(3600)];
    },
    |app| async move {
        let owner = app.caller("p1", "member");
        let sweep = || async {
            let mut v: Vec<(String, u64)> = glint::service::expiry_reminders::send_due(&app.state)
                .await
                .unwrap()
                .into_iter()
                .map(|(m, t)| (m.member_id, t))
                .collect();
            v.sort();
            v
        };
        let hours = chrono::Duration::hours;
        let a = share(&owner, "p2", hours(5)).await; // inside the 1-day threshold
        share(&owner, "p3", chrono::Duration::minutes(30)).await; // inside both: only 1 hour
        share(&owner, "p4", hours(48)).await; // too far
        let d = share(&owner, "p5", hours(5)).await; // declined below
        app.caller("p5", "member")
            .set_member_status(&d, "p5", "rejected")
            .await;
        let (_, v) = json(owner.get("/v2/glint").await).await;
        assert!(v["extensions"]
            .as_array()
            .unwrap()
            .contains(&json!("expiry-reminders")));
        assert_eq!(
            sweep().await,
            [("p2".to_owned(), 86_400), ("p3".to_owned(), 3600)]
        );
        // Sent is sent: the next sweeps find nothing.
        assert_eq!(sweep().await, []);
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM glint_member_ext WHERE reminded_secs IS NOT NULL"),
            2
        );
        // A new expiry restarts the reminders: now within the hour, so the 1-hour one.
        let soon = (chrono::Utc::now() + chrono::Duration::minutes(20))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let (s, v) = json(
            owner
                .put(
                    &format!("/v2/glint/images/{a}/members/p2"),
                    &json!({"os_glint": {"expires_at": soon}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert!(v["os_glint"].get("reminded").is_none(), "{v}");
        assert_eq!(sweep().await, [("p2".to_owned(), 3600)]);
        assert_eq!(sweep().await, []);
        // A note change keeps what was sent.
        let (s, _) = json(
            owner
                .put(
                    &format!("/v2/glint/images/{a}/members/p2"),
                    &json!({"os_glint": {"note": "n"}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(sweep().await, []);
    }
);

crate::backend_test!(
    no_reminders_unless_configured,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        share(&owner, "p2", chrono::Duration::minutes(10)).await;
        assert!(glint::service::expiry_reminders::send_due(&app.state)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM glint_member_ext WHERE reminded_secs IS NOT NULL"),
            0
        );
    }
);
