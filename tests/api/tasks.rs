//! The tasks API: admin-only, legacy `import` tasks, listing, expiry, schemas,
//! and the task tables being the same on both backends.

use std::time::Duration;

use diesel::prelude::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{json, message, Backend, Caller, TestApp};

fn legacy(import_from: &str) -> Value {
    json!({
        "type": "import",
        "input": {
            "import_from": import_from,
            "import_from_format": "qcow2",
            "image_properties": {"disk_format": "qcow2", "container_format": "bare", "name": "t"}
        }
    })
}

async fn wait_task(c: &Caller<'_>, id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let (s, t) = json(c.get(&format!("/v2/tasks/{id}")).await).await;
        assert_eq!(s, 200, "{t}");
        if t["status"] == status {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} did not reach {status}");
}

backend_test!(tasks_are_admin_only, |app| async move {
    let admin = app.caller("p1", "admin");
    let (s, t) = json(
        admin
            .post("/v2/tasks", &legacy("http://127.0.0.1/x.qcow2"))
            .await,
    )
    .await;
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    for roles in ["member", "reader"] {
        let c = app.caller("p1", roles);
        // Refused before the body is even looked at.
        let r = c
            .request(reqwest::Method::POST, "/v2/tasks")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{roles}");
        assert_eq!(c.get("/v2/tasks").await.status(), 403, "{roles}");
        assert_eq!(
            c.get(&format!("/v2/tasks/{id}")).await.status(),
            403,
            "{roles}"
        );
        assert_eq!(
            c.delete(&format!("/v2/tasks/{id}")).await.status(),
            403,
            "{roles}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM tasks"), 1);
    // Tasks cannot be deleted, even by admins.
    let r = admin.delete(&format!("/v2/tasks/{id}")).await;
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET");
    let (_, v) = json(r).await;
    assert!(message(&v).starts_with("This operation is currently not permitted on Glance Tasks."));
    let r = admin
        .request(reqwest::Method::PUT, &format!("/v2/tasks/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
});

backend_test!(legacy_import_task, |app| async move {
    let admin = app.caller("p1", "admin");
    for (from, msg) in [
        ("ftp://example.com/x", "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']"),
        ("file:///etc/passwd", "File based imports are not allowed. Please use a non-local source of image data."),
        ("http://does-not.exist.invalid/x.qcow2", "URI for legacy import task does not pass filtering: http://does-not.exist.invalid/x.qcow2"),
        ("http://127.0.0.1:8080/x", "URI for legacy import task does not pass filtering: http://127.0.0.1:8080/x"),
    ] {
        let (s, v) = json(admin.post("/v2/tasks", &legacy(from)).await).await;
        assert_eq!((s, message(&v).as_str()), (400, msg), "{from}");
    }
    let (s, v) = json(
        admin
            .post("/v2/tasks", &json!({"type": "import", "input": {}}))
            .await,
    )
    .await;
    assert_eq!((s, message(&v).as_str()), (400, "Invalid location: None"));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM tasks"), 0);

    let r = admin
        .post("/v2/tasks", &legacy("http://127.0.0.1/x.qcow2"))
        .await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let (_, t) = json(r).await;
    let id = t["id"].as_str().unwrap().to_owned();
    assert!(location.ends_with(&format!("/v2/tasks/{id}")), "{location}");
    assert_eq!(t["type"], "import");
    assert_eq!(t["status"], "pending");
    assert_eq!(t["owner"], "p1");
    assert_eq!(t["input"], legacy("http://127.0.0.1/x.qcow2")["input"]);
    assert_eq!(t["result"], Value::Null);
    assert_eq!(t["message"], "");
    assert_eq!(t["self"], format!("/v2/tasks/{id}"));
    assert_eq!(t["schema"], "/v2/schemas/task");
    assert!(t.get("expires_at").is_none());
    // It fails when it runs; the record then expires 48 hours later.
    let t = wait_task(&admin, &id, "failure").await;
    assert!(!t["message"].as_str().unwrap().is_empty());
    let parse = |v: &Value| {
        chrono::NaiveDateTime::parse_from_str(v.as_str().unwrap(), "%Y-%m-%dT%H:%M:%SZ").unwrap()
    };
    assert_eq!(
        parse(&t["expires_at"]) - parse(&t["updated_at"]),
        chrono::Duration::hours(48)
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 0);
});

backend_test!(create_body_checks, |app| async move {
    let admin = app.caller("p1", "admin");
    let r = admin
        .request(reqwest::Method::POST, "/v2/tasks")
        .send()
        .await
        .unwrap();
    let (s, v) = json(r).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (400, "Body expected in request.")
    );
    for (body, prefix) in [
        (json!({"input": {}}), "Task 'type' is required"),
        (json!({"type": "import"}), "Task 'input' is required"),
        (
            json!({"type": "copy", "input": {}}),
            "Provided object does not match schema 'task': 'copy' is not one of ['import', 'api_image_import', 'location_import']",
        ),
        (
            json!({"type": "import", "input": 5}),
            "Provided object does not match schema 'task': 5 is not of type 'null', 'object'",
        ),
        (
            json!({"type": "import", "input": {}, "colour": "red"}),
            "Provided object does not match schema 'task': Additional properties are not allowed ('colour' was unexpected)",
        ),
    ] {
        let (s, v) = json(admin.post("/v2/tasks", &body).await).await;
        assert_eq!(s, 400, "{body}");
        assert!(message(&v).starts_with(prefix), "{body}: {}", message(&v));
    }
    // A hand-made import task holds no image lock: it fails, the image is untouched.
    let img = admin
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await;
    let iid = img["id"].as_str().unwrap();
    let (s, t) = json(
        admin
            .post(
                "/v2/tasks",
                &json!({"type": "api_image_import", "input": {"image_id": iid}}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(t["image_id"], iid);
    let t = wait_task(&admin, t["id"].as_str().unwrap(), "failure").await;
    assert_eq!(t["message"], "Task failed due to Internal Error");
    let (_, img) = json(admin.get(&format!("/v2/images/{iid}")).await).await;
    assert_eq!(img["status"], "queued");
    let (_, v) = json(
        admin
            .get("/v2/tasks/00000000-0000-0000-0000-000000000000")
            .await,
    )
    .await;
    assert_eq!(
        message(&v),
        "Task with the given id 00000000-0000-0000-0000-000000000000 was not found"
    );
});

/// Create `n` failed legacy tasks as `c`, one second apart in `created_at`.
async fn make_tasks(app: &TestApp, c: &Caller<'_>, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (s, t) = json(
            c.post("/v2/tasks", &legacy("http://127.0.0.1/x.qcow2"))
                .await,
        )
        .await;
        assert_eq!(s, 201);
        let id = t["id"].as_str().unwrap().to_owned();
        wait_task(c, &id, "failure").await;
        let at = (chrono::Utc::now() - chrono::Duration::seconds(100 - i as i64)).naive_utc();
        let at =
            at - chrono::Duration::nanoseconds(i64::from(at.and_utc().timestamp_subsec_nanos()));
        use glint::db::tasks::tasks;
        diesel::update(tasks::table.find(&id))
            .set(tasks::created_at.eq(at))
            .execute(&mut *app.db())
            .unwrap();
        ids.push(id);
    }
    ids
}

fn ids(v: &Value) -> Vec<String> {
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

backend_test!(listing_paging_and_expiry, |app| async move {
    let admin = app.caller("p1", "admin");
    let made = make_tasks(&app, &admin, 3).await;
    let (s, v) = json(admin.get("/v2/tasks").await).await;
    assert_eq!(s, 200);
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(ids(&v), newest_first);
    assert_eq!(v["first"], "/v2/tasks");
    assert_eq!(v["schema"], "/v2/schemas/tasks");
    assert!(v.get("next").is_none());
    let item = &v["tasks"][0];
    assert!(item.get("input").is_none() && item.get("message").is_none());
    assert_eq!(item["status"], "failure");
    // Pages of two, oldest first.
    let (_, p1) = json(admin.get("/v2/tasks?limit=2&sort_dir=asc").await).await;
    assert_eq!(ids(&p1), made[..2].to_vec());
    assert_eq!(p1["first"], "/v2/tasks?limit=2&sort_dir=asc");
    let next = p1["next"].as_str().unwrap().to_owned();
    assert_eq!(
        next,
        format!("/v2/tasks?limit=2&sort_dir=asc&marker={}", made[1])
    );
    let (_, p2) = json(admin.get(&next).await).await;
    assert_eq!(ids(&p2), made[2..].to_vec());
    // Filters.
    let (_, v) = json(admin.get("/v2/tasks?status=success").await).await;
    assert!(ids(&v).is_empty());
    let (_, v) = json(admin.get(&format!("/v2/tasks?id={}", made[1])).await).await;
    assert_eq!(ids(&v), vec![made[1].clone()]);
    for (q, msg) in [
        ("sort_dir=sideways", "Invalid sort direction: sideways"),
        ("status=done", "Invalid status value: done"),
        (
            "type=api_image_import",
            "Invalid type value: api_image_import",
        ),
        ("sort_key=colour", "Sort key supplied was not valid."),
        ("marker=nope", "Invalid marker format"),
        ("limit=-1", "limit param must be positive"),
    ] {
        let (s, v) = json(admin.get(&format!("/v2/tasks?{q}")).await).await;
        assert_eq!((s, message(&v).as_str()), (400, msg), "{q}");
    }
    let (s, v) = json(
        admin
            .get("/v2/tasks?marker=00000000-0000-0000-0000-000000000000")
            .await,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    // An expired task disappears from lists; an admin can still read it.
    {
        use glint::db::tasks::tasks;
        let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).naive_utc();
        diesel::update(tasks::table.find(&made[0]))
            .set(tasks::expires_at.eq(Some(past)))
            .execute(&mut *app.db())
            .unwrap();
    }
    let (_, v) = json(admin.get("/v2/tasks").await).await;
    assert_eq!(ids(&v), vec![made[2].clone(), made[1].clone()]);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM tasks WHERE deleted"),
        1
    );
    assert_eq!(
        admin.get(&format!("/v2/tasks/{}", made[0])).await.status(),
        200
    );
});

backend_test!(task_schemas, |app| async move {
    let c = app.caller("p1", "reader");
    let (s, v) = json(c.get("/v2/schemas/task").await).await;
    assert_eq!(s, 200);
    assert_eq!(v["name"], "task");
    assert_eq!(v["additionalProperties"], false);
    let keys: Vec<&str> = v["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "type",
            "status",
            "input",
            "result",
            "owner",
            "message",
            "image_id",
            "request_id",
            "user_id",
            "expires_at",
            "created_at",
            "updated_at",
            "self",
            "schema"
        ]
    );
    let (s, v) = json(c.get("/v2/schemas/tasks").await).await;
    assert_eq!(s, 200);
    assert_eq!(v["name"], "tasks");
    let item = &v["properties"]["tasks"]["items"]["properties"];
    assert!(item.get("input").is_none() && item.get("status").is_some());
    assert_eq!(v["links"][1], json!({"rel": "next", "href": "{next}"}));
});

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Col {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

fn task_columns(app: &TestApp) -> Vec<Col> {
    let sql = match app.backend {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" = 0 AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name IN ('tasks', 'task_info')"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             is_nullable = 'YES' AS nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name IN ('tasks', 'task_info')"
        }
        Backend::Mysql => {
            "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, \
             IS_NULLABLE = 'YES' AS nullable FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('tasks', 'task_info')"
        }
    };
    let mut cols: Vec<Col> = diesel::sql_query(sql).load(&mut *app.db()).unwrap();
    // SQLite reports a TEXT PRIMARY KEY as nullable; Glance's (and ours) are not.
    for c in &mut cols {
        if c.column_name == "id" || c.column_name == "task_id" {
            c.nullable = false;
        }
    }
    cols.sort();
    cols
}

#[actix_web::test]
async fn task_tables_are_the_same_on_both_backends() {
    let backends = crate::helpers::backends();
    if !(backends.contains(&Backend::Sqlite) && backends.contains(&Backend::Postgres)) {
        crate::helpers::skip("needs both backends in GLINT_TEST_BACKENDS");
        return;
    }
    let sqlite = TestApp::spawn(Backend::Sqlite).await;
    let pg = TestApp::spawn(Backend::Postgres).await;
    let (a, b) = (task_columns(&sqlite), task_columns(&pg));
    assert_eq!(a.len(), 16, "{a:?}");
    assert_eq!(a, b);
}
