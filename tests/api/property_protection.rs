//! Property protections (`[DEFAULT] property_protection_file`), in both rule formats, as
//! Glance 32's functional tests exercise them: create, read (show and list), update and delete
//! of protected properties by each role, and what the database holds afterwards.

use serde_json::{json, Value};

use glint::config::Config;

use crate::backend_test;
use crate::helpers::{json, message, Caller, TestApp};

/// Glance's `tests/etc/property-protections.conf`, in part, with the same rules.
const ROLES: &str = "\
[^x_owner_.*]
create = admin,member
read = admin,member
update = admin,member
delete = admin,member

[spl_create_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin

[spl_read_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin

[spl_read_only_prop]
create = admin
read = admin,spl_role
update = admin
delete = admin

[spl_update_prop]
create = admin,spl_role
read = admin,spl_role
update = admin,spl_role
delete = admin

[spl_delete_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin,spl_role

[spl_delete_empty_prop]
create = admin,spl_role
read = admin,spl_role
update = admin
delete = admin,spl_role

[^x_all_permitted.*]
create = @
read = @
update = @
delete = @

[^x_none_permitted.*]
create = !
read = !
update = !
delete = !

[x_none_read]
create = admin,member
read = !
update = !
delete = !

[x_case_insensitive]
create = admin,Member
read = admin,Member
update = admin,Member
delete = admin,Member

[.*]
create = admin
read = admin
update = admin
delete = admin
";

/// Glance's `tests/etc/property-protections-policies.conf`, in part.
const POLICIES: &str = "\
[spl_creator_policy]
create = glance_creator
read = glance_creator
update = context_is_admin
delete = context_is_admin

[x_none_update]
create = context_is_admin
read = context_is_admin
update = !
delete = context_is_admin

[x_none_delete]
create = context_is_admin
read = context_is_admin
update = context_is_admin
delete = !

[x_undefined_rule]
create = no_such_rule
read = @
update = @
delete = @

[.*]
create = context_is_admin
read = context_is_admin
update = context_is_admin
delete = context_is_admin
";

/// Writes `text` beside the app's data directory and returns its path.
fn beside_data(c: &glint::config::Config, name: &str, text: &str) -> std::path::PathBuf {
    let path = c.filesystem_store_datadir.with_file_name(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn reserved(name: &str) -> String {
    format!("Attribute '{name}' is reserved.")
}

async fn create(c: &Caller<'_>, body: Value) -> (u16, Value) {
    let mut body = body;
    body["disk_format"] = json!("raw");
    body["container_format"] = json!("bare");
    json(c.post("/v2/images", &body).await).await
}

async fn patch(c: &Caller<'_>, id: &str, ops: Value) -> (u16, Value) {
    json(c.patch(&format!("/v2/images/{id}"), &ops).await).await
}

/// The role-based rules file (`ROLES`) as the deployment's.
fn roles_file(c: &mut Config) {
    c.data_rules.property_protection_file = Some(beside_data(c, "pp.conf", ROLES));
}

/// Stored (not deleted) rows of the image's property `name`, and their value.
fn stored(app: &TestApp, id: &str, name: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{id}' AND name = '{name}'"
    ))
}

backend_test!(
    roles_create_by_role,
    config = |c| roles_file(c),
    |app| async move {
        let member = app.caller("p1", "reader,member");
        // Not allowed to set `foo`: the whole create is refused and nothing is stored.
        let (s, v) = create(
            &member,
            json!({"name": "a", "foo": "bar", "x_owner_foo": "o"}),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("foo")));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 0);
        let (s, v) = create(&member, json!({"name": "a", "x_owner_foo": "o_s_bar"})).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["x_owner_foo"], "o_s_bar");
        // '!' refuses even admin; '@' admits a role no section names.
        let admin = app.caller("p1", "admin");
        let (s, v) = create(&admin, json!({"x_none_permitted_admin": "1"})).await;
        assert_eq!((s, message(&v)), (403, reserved("x_none_permitted_admin")));
        let joe = app.caller("p1", "reader,member,joe_soap");
        let (s, v) = create(&joe, json!({"x_all_permitted_joe_soap": "1"})).await;
        assert_eq!(
            (s, v["x_all_permitted_joe_soap"].clone()),
            (201, json!("1"))
        );
        // A section is searched in the name: `spl_create_prop` covers `spl_create_prop_policy`.
        let spl = app.caller("p1", "reader,member,spl_role");
        let (s, v) = create(&spl, json!({"spl_create_prop_policy": "x"})).await;
        assert_eq!(s, 201, "{v}");
        // Roles are compared case-insensitively.
        let shouting = app.caller("p1", "READER,MEMBER");
        let (s, v) = create(&shouting, json!({"x_case_insensitive": "1"})).await;
        assert_eq!((s, v["x_case_insensitive"].clone()), (201, json!("1")));
        // A common property falls to the catch-all section like any other.
        let (s, v) = create(&member, json!({"os_distro": "x"})).await;
        assert_eq!((s, message(&v)), (403, reserved("os_distro")));
    }
);

backend_test!(
    roles_read_hides_properties_in_show_list_and_answers,
    config = |c| roles_file(c),
    |app| async move {
        let admin = app.caller("p1", "admin");
        let (s, v) = create(
            &admin,
            json!({"name": "i", "spl_read_prop": "r", "x_owner_foo": "o", "x_none_read": "hidden"}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        // Created, stored, but no one may read it: not even in the create's answer.
        assert!(v.get("x_none_read").is_none(), "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        assert_eq!(stored(&app, &id, "x_none_read"), 1);
        let spl = app.caller("p1", "reader,member,spl_role");
        let member = app.caller("p1", "reader,member");
        let (_, v) = json(spl.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(
            (v["spl_read_prop"].clone(), v["x_owner_foo"].clone()),
            (json!("r"), json!("o"))
        );
        let (_, v) = json(member.get(&format!("/v2/images/{id}")).await).await;
        assert!(v.get("spl_read_prop").is_none(), "{v}");
        assert_eq!(v["x_owner_foo"], "o");
        let (_, v) = json(member.get("/v2/images").await).await;
        assert_eq!(v["images"][0]["id"], id.as_str());
        assert!(v["images"][0].get("spl_read_prop").is_none(), "{v}");
        assert!(v["images"][0].get("x_none_read").is_none(), "{v}");
        let (_, v) = json(spl.get("/v2/images").await).await;
        assert_eq!(v["images"][0]["spl_read_prop"], "r");
        // A filter on a property the caller may not read still selects by it (as in Glance),
        // but never shows it.
        let (_, v) = json(member.get("/v2/images?spl_read_prop=r").await).await;
        assert_eq!(v["images"].as_array().unwrap().len(), 1, "{v}");
        assert!(v["images"][0].get("spl_read_prop").is_none(), "{v}");
    }
);

backend_test!(
    roles_update_and_delete_by_role,
    config = |c| roles_file(c),
    |app| async move {
        let spl = app.caller("p1", "reader,member,spl_role");
        let (s, v) = create(
            &spl,
            json!({"name": "i", "spl_create_prop": "c", "spl_read_prop": "r",
                   "spl_update_prop": "u0", "spl_delete_prop": "d", "spl_delete_empty_prop": ""}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        // One forbidden operation refuses the whole patch.
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "replace", "path": "/spl_read_prop", "value": "r2"},
                   {"op": "replace", "path": "/spl_update_prop", "value": "u"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("spl_read_prop")));
        // Replacing with the same value still needs `update`.
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "replace", "path": "/spl_read_prop", "value": "r"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("spl_read_prop")));
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "add", "path": "/spl_new_prop", "value": "new"},
                   {"op": "remove", "path": "/spl_create_prop"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("spl_new_prop")));
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "remove", "path": "/spl_create_prop"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("spl_create_prop")));
        // `add` of a present property asks `update`.
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "add", "path": "/spl_create_prop", "value": "c2"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("spl_create_prop")));
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{id}' AND value = 'c'"
            )),
            1
        );
        // Allowed: an update through an empty value (Glance bug 1332103), then deletes.
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "replace", "path": "/spl_update_prop", "value": ""},
                   {"op": "replace", "path": "/spl_update_prop", "value": "u"}]),
        )
        .await;
        assert_eq!((s, v["spl_update_prop"].clone()), (200, json!("u")), "{v}");
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "remove", "path": "/spl_delete_prop"},
                   {"op": "remove", "path": "/spl_delete_empty_prop"}]),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert!(v.get("spl_delete_prop").is_none() && v.get("spl_delete_empty_prop").is_none());
        assert_eq!(stored(&app, &id, "spl_delete_prop"), 0);
        assert_eq!(stored(&app, &id, "spl_update_prop"), 1);
        // Admin may update what spl_role may not.
        let admin = app.caller("p1", "admin");
        let (s, v) = patch(
            &admin,
            &id,
            json!([{"op": "replace", "path": "/spl_read_prop", "value": "r2"}]),
        )
        .await;
        assert_eq!((s, v["spl_read_prop"].clone()), (200, json!("r2")), "{v}");
    }
);

backend_test!(
    roles_unreadable_properties_do_not_exist_for_the_caller_and_are_kept,
    config = |c| roles_file(c),
    |app| async move {
        let admin = app.caller("p1", "admin");
        let (s, v) = create(
            &admin,
            json!({"name": "i", "spl_read_only_prop": "secret", "x_none_read": "n"}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        let member = app.caller("p1", "reader,member");
        // A property the caller may not read does not exist for it: 409, as Glance answers.
        for op in [
            json!({"op": "replace", "path": "/spl_read_only_prop", "value": "x"}),
            json!({"op": "remove", "path": "/spl_read_only_prop"}),
        ] {
            let (s, v) = patch(&member, &id, json!([op])).await;
            assert_eq!(
                (s, message(&v)),
                (
                    409,
                    "Property spl_read_only_prop does not exist.".to_owned()
                ),
                "{op}"
            );
        }
        // `x_none_read` may be created by a member: `add` asks `create`, since it cannot be read.
        let (s, v) = patch(
            &member,
            &id,
            json!([{"op": "add", "path": "/x_none_read", "value": "m"}]),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert!(v.get("x_none_read").is_none());
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{id}' AND name = 'x_none_read' AND value = 'm'"
            )),
            1
        );
        // Another change by the member leaves what it cannot read as it was.
        let (s, v) = patch(
            &member,
            &id,
            json!([{"op": "replace", "path": "/name", "value": "renamed"}]),
        )
        .await;
        assert_eq!((s, v["name"].clone()), (200, json!("renamed")));
        assert!(v.get("spl_read_only_prop").is_none(), "{v}");
        assert_eq!(stored(&app, &id, "spl_read_only_prop"), 1);
        let (_, v) = json(admin.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(v["spl_read_only_prop"], "secret");
        assert_eq!(v["name"], "renamed");
    }
);

backend_test!(
    policies_name_rules_of_the_one_enforcer,
    config = |c| {
        c.data_rules.property_protection_file = Some(beside_data(c, "pp.conf", POLICIES));
        c.data_rules.property_protection_rule_format =
            glint::domain::property_protection::RuleFormat::Policies;
        c.policy_file = Some(beside_data(
            c,
            "policy.yaml",
            "\"glance_creator\": \"role:admin or role:spl_role\"\n",
        ));
    },
    |app| async move {
        let member = app.caller("p1", "reader,member");
        let (s, v) = create(&member, json!({"foo": "bar"})).await;
        assert_eq!((s, message(&v)), (403, reserved("foo")));
        let admin = app.caller("p1", "admin");
        let (s, v) = create(&admin, json!({"foo": "bar"})).await;
        assert_eq!((s, v["foo"].clone()), (201, json!("bar")));
        let spl = app.caller("p1", "reader,member,spl_role");
        let (s, v) = create(&spl, json!({"spl_creator_policy": "c"})).await;
        assert_eq!(
            (s, v["spl_creator_policy"].clone()),
            (201, json!("c")),
            "{v}"
        );
        let id = v["id"].as_str().unwrap().to_owned();
        // `update = context_is_admin`.
        let (s, v) = patch(
            &spl,
            &id,
            json!([{"op": "replace", "path": "/spl_creator_policy", "value": "d"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("spl_creator_policy")));
        // A member may not read what `glance_creator` guards.
        let (_, v) = json(member.get(&format!("/v2/images/{id}")).await).await;
        assert!(v.get("spl_creator_policy").is_none(), "{v}");
        // A rule the policy does not define falls back to `default`, as in oslo.policy; glint's
        // `default` denies (Glance's is empty: allowed; see api-ref/differences.md).
        let (s, v) = create(&admin, json!({"x_undefined_rule": "1"})).await;
        assert_eq!((s, message(&v)), (403, reserved("x_undefined_rule")));
        let (s, v) = create(&admin, json!({"x_none_update": "1", "x_none_delete": "1"})).await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        let (s, v) = patch(
            &admin,
            &id,
            json!([{"op": "replace", "path": "/x_none_update", "value": "2"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("x_none_update")));
        let (s, v) = patch(
            &admin,
            &id,
            json!([{"op": "replace", "path": "/x_none_delete", "value": "2"}]),
        )
        .await;
        assert_eq!((s, v["x_none_delete"].clone()), (200, json!("2")));
        let (s, v) = patch(
            &admin,
            &id,
            json!([{"op": "remove", "path": "/x_none_delete"}]),
        )
        .await;
        assert_eq!((s, message(&v)), (403, reserved("x_none_delete")));
        assert_eq!(stored(&app, &id, "x_none_delete"), 1);
    }
);
