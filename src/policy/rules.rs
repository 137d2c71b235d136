//! Glance's default policy (Secure RBAC, `enforce_new_defaults = True`),
//! written in the same rule language an operator's policy file uses.

use super::check::Check;

fn role(r: &str) -> Check {
    Check::Role(r.to_owned())
}
fn owner() -> Check {
    Check::CredMatchesTarget {
        cred: "project_id".into(),
        target: "project_id".into(),
    }
}
fn is_member() -> Check {
    Check::CredMatchesTarget {
        cred: "project_id".into(),
        target: "member_id".into(),
    }
}
fn visibility_is(v: &str) -> Check {
    Check::LiteralMatchesTarget {
        literal: v.into(),
        target: "visibility".into(),
    }
}
fn cred_is_target(cred: &str, target: &str) -> Check {
    Check::CredMatchesTarget {
        cred: cred.into(),
        target: target.into(),
    }
}
/// Keystone's `manager` persona in a project of the target's domain.
fn domain_manager() -> Check {
    and(vec![
        role("manager"),
        cred_is_target("project_domain_id", "target_domain_id"),
    ])
}
fn or(cs: Vec<Check>) -> Check {
    Check::Or(cs)
}
fn and(cs: Vec<Check>) -> Check {
    Check::And(cs)
}

/// The named default rules, as Glance registers them.
pub fn defaults() -> Vec<(&'static str, Check)> {
    let admin = || role("admin");
    let admin_or_member_owner = || or(vec![admin(), and(vec![role("member"), owner()])]);
    let reader_sees = |r: &str| {
        or(vec![
            admin(),
            and(vec![
                role(r),
                or(vec![
                    owner(),
                    is_member(),
                    visibility_is("community"),
                    visibility_is("public"),
                    visibility_is("shared"),
                ]),
            ]),
        ])
    };
    let owner_or_member_reader = || {
        or(vec![
            admin(),
            and(vec![role("reader"), or(vec![owner(), is_member()])]),
        ])
    };
    vec![
        ("context_is_admin", admin()),
        // glint's sharing extensions (Secure RBAC: reader reads, member writes, admin all).
        ("glint:discover", or(vec![admin(), role("reader")])),
        // The inbox is always the caller's own project's.
        ("glint:get_inbox", or(vec![admin(), role("reader")])),
        ("glint:decide_inbox", or(vec![admin(), role("member")])),
        ("glint:modify_member_ext", admin_or_member_owner()),
        (
            "glint:request_renewal",
            or(vec![admin(), and(vec![role("member"), is_member()])]),
        ),
        // A trust policy belongs to the recipient project (`project_id` is the path's project):
        // its readers read it, its members set it; the owners it trusts have no say.
        (
            "glint:get_share_policy",
            or(vec![admin(), and(vec![role("reader"), owner()])]),
        ),
        (
            "glint:set_share_policy",
            or(vec![admin(), and(vec![role("member"), owner()])]),
        ),
        // Which events a caller reads is decided by its project (owner or member), not here.
        ("glint:get_share_events", or(vec![admin(), role("reader")])),
        // Batch share: each pair is still decided by `add_member` on its image.
        ("glint:batch_share", or(vec![admin(), role("member")])),
        // Webhooks are the caller's project's own (decided by the service, not by the target).
        ("glint:get_webhooks", or(vec![admin(), role("reader")])),
        ("glint:manage_webhooks", or(vec![admin(), role("member")])),
        // Grants (`/v2/glint/grants`): made by the owner's members (each image is still checked
        // with `add_member`); read by the owner's readers, by a project the grant reached, and
        // by the target domain's manager; consent for the whole target by its domain's manager
        // (Keystone's `manager` persona scoped to a project of that domain) or an admin.
        ("glint:create_grant", or(vec![admin(), role("member")])),
        ("glint:get_grants", or(vec![admin(), role("reader")])),
        (
            "glint:get_grant",
            or(vec![
                admin(),
                and(vec![
                    role("reader"),
                    or(vec![owner(), cred_is_target("project_id", "recipient_id")]),
                ]),
                domain_manager(),
            ]),
        ),
        ("glint:delete_grant", admin_or_member_owner()),
        (
            "glint:decide_grant",
            or(vec![
                admin(),
                and(vec![
                    role("member"),
                    cred_is_target("project_id", "recipient_id"),
                ]),
            ]),
        ),
        (
            "glint:decide_grant_for_domain",
            or(vec![admin(), domain_manager()]),
        ),
        // A domain's guardrails (`target_domain_id` is the path's domain): read by its
        // projects' readers, set by its manager (Keystone's `manager` persona in a project of
        // that domain) or a cloud admin. A domain can only add to the operator's guardrails.
        (
            "glint:get_domain_guardrails",
            or(vec![
                admin(),
                and(vec![
                    role("reader"),
                    cred_is_target("project_domain_id", "target_domain_id"),
                ]),
                domain_manager(),
            ]),
        ),
        (
            "glint:set_domain_guardrails",
            or(vec![admin(), domain_manager()]),
        ),
        // Copy an image as the caller's own: on the source's target (`download_image` and the
        // share's state are checked too; the copy is created under `add_image`).
        ("glint:copy_image", or(vec![admin(), role("member")])),
        ("default", Check::Deny),
        (
            "get_images",
            or(vec![admin(), and(vec![role("reader"), owner()])]),
        ),
        ("get_image", reader_sees("reader")),
        ("download_image", reader_sees("member")),
        ("add_image", admin_or_member_owner()),
        ("modify_image", admin_or_member_owner()),
        ("delete_image", admin_or_member_owner()),
        ("upload_image", admin_or_member_owner()),
        ("deactivate", admin_or_member_owner()),
        ("reactivate", admin_or_member_owner()),
        ("communitize_image", admin_or_member_owner()),
        ("publicize_image", admin()),
        ("add_member", admin_or_member_owner()),
        // ADMIN_OR_SERVICE_ROLE in Glance's discovery policies.
        ("stores_info_detail", or(vec![admin(), role("service")])),
        // Who sees `direct_url` (`show_image_direct_url`) and `locations`
        // (`show_multiple_locations`).
        (
            "get_image_location",
            or(vec![admin(), and(vec![role("reader"), owner()])]),
        ),
        // JSON-patch of `/locations` (`show_multiple_locations`).
        ("set_image_location", admin_or_member_owner()),
        ("delete_image_location", admin()),
        // copy-image import (multi-store): project admins, as Glance.
        ("copy_image", admin()),
        // Glance's service-to-service rule; its 2026.1 default still admits admins.
        ("service_api", or(vec![role("service"), admin()])),
        // The v2.17 locations API.
        (
            "add_image_location",
            or(vec![
                Check::Rule("service_api".into()),
                and(vec![role("member"), owner()]),
            ]),
        ),
        ("fetch_image_location", Check::Rule("service_api".into())),
        ("delete_member", admin_or_member_owner()),
        ("get_member", owner_or_member_reader()),
        ("get_members", owner_or_member_reader()),
        (
            "modify_member",
            or(vec![admin(), and(vec![role("member"), is_member()])]),
        ),
        // The (deprecated) tasks API: admins only.
        ("tasks_api_access", Check::Rule("context_is_admin".into())),
    ]
}
