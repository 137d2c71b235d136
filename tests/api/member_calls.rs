//! The membership calls many tests make on the way to what they check: offer an image to a
//! project, answer the offer, withdraw it; each asserts Glance's success status.

use serde_json::{json, Value};

use crate::helpers::{json, Caller};

impl Caller<'_> {
    /// `POST /v2/images/{image}/members` for `member`, asserting 200; the member's body.
    pub async fn add_member(&self, image: &str, member: &str) -> Value {
        self.add_member_with(image, json!({"member": member})).await
    }

    /// `POST /v2/images/{image}/members` with `body` as it stands, asserting 200.
    pub async fn add_member_with(&self, image: &str, body: Value) -> Value {
        let (s, v) = json(
            self.post(&format!("/v2/images/{image}/members"), &body)
                .await,
        )
        .await;
        assert_eq!(s, 200, "add member {body} to {image}: {v}");
        v
    }

    /// `PUT /v2/images/{image}/members/{member}` to `status`, asserting 200; the member's body.
    pub async fn set_member_status(&self, image: &str, member: &str, status: &str) -> Value {
        let (s, v) = json(
            self.put(
                &format!("/v2/images/{image}/members/{member}"),
                &json!({"status": status}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{member} {status} on {image}: {v}");
        v
    }

    /// `DELETE /v2/images/{image}/members/{member}`, asserting 204.
    pub async fn remove_member(&self, image: &str, member: &str) {
        let r = self
            .delete(&format!("/v2/images/{image}/members/{member}"))
            .await;
        assert_eq!(r.status(), 204, "remove {member} from {image}");
    }
}
