//! Notifications on a real RabbitMQ (127.0.0.1:5672, guest/guest): the envelope, the routing
//! and each payload as Glance sends them; requests that succeed while the broker is away; and
//! delivery that resumes after the connection is cut and healed (a TCP proxy the test owns).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use glint::config::notifications::{Driver, TransportUrl};
use glint::config::Config;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, Consumer, ExchangeKind};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{json, skip, Backend, Caller, TestApp};

pub(crate) const BROKER: &str = "127.0.0.1:5672";

/// A consumer bound to `<topic>.info` and `<topic>.error` on a fresh exchange, as a
/// Ceilometer-like listener would be; everything it made is deleted by `finish`.
pub(crate) struct Listener {
    conn: Connection,
    consumer: Consumer,
    exchange: String,
    topic: String,
}

impl Listener {
    pub(crate) async fn start() -> Option<Listener> {
        let Ok(conn) = Connection::connect(
            &format!("amqp://guest:guest@{BROKER}/%2f"),
            ConnectionProperties::default(),
        )
        .await
        else {
            skip("RabbitMQ is not reachable at 127.0.0.1:5672");
            return None;
        };
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let exchange = format!("glint-test-{suffix}");
        let topic = format!("glint-test-notifications-{suffix}");
        let ch = conn.create_channel().await.unwrap();
        ch.exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        let q = ch
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        for priority in ["info", "error"] {
            ch.queue_bind(
                q.name().clone(),
                exchange.as_str().into(),
                format!("{topic}.{priority}").as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        }
        let consumer = ch
            .basic_consume(
                q.name().clone(),
                "glint-test".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Some(Listener {
            conn,
            consumer,
            exchange,
            topic,
        })
    }

    /// glint publishing to this listener's exchange and topic through `url`.
    pub(crate) fn configure(&self, c: &mut Config, url: &str, queue_size: usize) {
        let n = &mut c.notifications;
        n.drivers = vec![Driver::MessagingV2];
        n.topics = vec![self.topic.clone()];
        n.control_exchange = self.exchange.clone();
        n.transport = TransportUrl::parse(url).unwrap();
        n.queue_size = queue_size;
    }

    /// The next delivery: routing key, content type and the envelope's JSON.
    async fn next(&mut self) -> (String, Option<String>, Value) {
        let d = tokio::time::timeout(Duration::from_secs(60), self.consumer.next())
            .await
            .expect("a notification within a minute")
            .expect("consumer open")
            .expect("delivery");
        d.ack(BasicAckOptions::default()).await.unwrap();
        let ct = d.properties.content_type().as_ref().map(|s| s.to_string());
        // kombu's properties, as oslo.messaging publishes them.
        assert_eq!(
            d.properties
                .content_encoding()
                .as_ref()
                .map(|s| s.to_string()),
            Some("utf-8".to_owned())
        );
        assert_eq!(*d.properties.delivery_mode(), Some(2));
        let body: Value = serde_json::from_slice(&d.data).expect("JSON body");
        (d.routing_key.to_string(), ct, body)
    }

    /// The inner message of the next delivery, after checking the envelope.
    pub(crate) async fn message(&mut self) -> Value {
        let (key, ct, env) = self.next().await;
        assert_eq!(key, format!("{}.info", self.topic));
        assert_eq!(ct.as_deref(), Some("application/json"));
        let keys: Vec<&String> = env.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["oslo.version", "oslo.message"]);
        assert_eq!(env["oslo.version"], "2.0");
        serde_json::from_str(env["oslo.message"].as_str().unwrap()).unwrap()
    }

    /// A listener and glint on `backend` publishing to it (as `app_on`).
    async fn with_app(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<(Listener, TestApp)> {
        let l = Listener::start().await?;
        let app = l.app_on(backend, tweak).await;
        Some((l, app))
    }

    /// glint on `backend` publishing straight to this listener (a queue of 100), then `tweak`.
    async fn app_on(&self, backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let url = format!("rabbit://guest:guest@{BROKER}/");
        TestApp::spawn_with(backend, |c| {
            self.configure(c, &url, 100);
            tweak(c);
        })
        .await
    }

    /// `owner`'s new shared image "x", once its `image.create` has arrived.
    async fn shared_image(&mut self, owner: &Caller<'_>) -> String {
        let id = owner
            .create_image(json!({"name": "x", "visibility": "shared"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_envelope(&self.message().await, "image.create");
        id
    }

    pub(crate) async fn finish(self) {
        let ch = self.conn.create_channel().await.unwrap();
        // The default queues glint declares, as oslo.messaging does, named by routing key.
        for priority in ["info", "error"] {
            let _ = ch
                .queue_delete(
                    format!("{}.{priority}", self.topic).as_str().into(),
                    QueueDeleteOptions::default(),
                )
                .await;
        }
        let _ = ch
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
        let _ = self.conn.close(200, "bye".into()).await;
    }
}

pub(crate) fn assert_envelope(m: &Value, event_type: &str) {
    let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "message_id",
            "publisher_id",
            "event_type",
            "priority",
            "payload",
            "timestamp",
            "_unique_id"
        ]
    );
    assert_eq!(m["event_type"], event_type);
    assert_eq!(m["publisher_id"], "image.localhost");
    assert_eq!(m["priority"], "INFO");
    assert_eq!(m["message_id"].as_str().unwrap().len(), 36);
    assert_eq!(m["_unique_id"].as_str().unwrap().len(), 32);
    // Python's str(datetime): "2026-12-05 22:01:02.123456".
    let ts = m["timestamp"].as_str().unwrap();
    assert_eq!(&ts[10..11], " ", "{ts}");
    assert!(chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f").is_ok());
}

/// Glance's times in payloads: whole seconds and `Z`.
fn assert_isotime(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("a time, got {v}"));
    assert!(
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "{s}"
    );
}

/// The sharing extensions on.
fn sharing_on(c: &mut Config) {
    c.sharing.enabled = true;
}

/// An image payload, times and ids aside.
fn image_fields(p: &Value) -> Value {
    let mut p = p.clone();
    for k in ["created_at", "updated_at"] {
        assert_isotime(&p[k]);
        p[k] = json!("T");
    }
    p["id"] = json!("ID");
    p
}

#[actix_web::test]
async fn image_and_member_events_as_glance_sends_them() {
    let Some((mut l, app)) = Listener::with_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let owner = app.caller("p1", "member,reader");
    let other = app.caller("p2", "member,reader");

    let img = owner
        .create_image(
            json!({"name": "n1", "disk_format": "raw", "container_format": "bare",
                             "visibility": "shared", "hw_arch": "x86_64", "tags": ["t1"]}),
        )
        .await;
    let id = img["id"].as_str().unwrap().to_owned();
    let m = l.message().await;
    assert_envelope(&m, "image.create");
    assert_eq!(m["payload"]["id"], id.as_str());
    let expected = json!({
        "id": "ID", "name": "n1", "status": "queued", "created_at": "T", "updated_at": "T",
        "min_disk": 0, "min_ram": 0, "protected": false, "checksum": null, "owner": "p1",
        "disk_format": "raw", "container_format": "bare", "size": null, "virtual_size": null,
        "is_public": false, "visibility": "shared", "properties": {"hw_arch": "x86_64"},
        "tags": ["t1"], "deleted": false, "deleted_at": null
    });
    assert_eq!(image_fields(&m["payload"]), expected);
    // Key order as Glance's dict.
    let keys: Vec<&String> = m["payload"].as_object().unwrap().keys().collect();
    let want: Vec<&String> = expected.as_object().unwrap().keys().collect();
    assert_eq!(keys, want);

    let r = owner
        .patch(
            &format!("/v2/images/{id}"),
            &json!([{"op": "replace", "path": "/name", "value": "n2"}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let m = l.message().await;
    assert_envelope(&m, "image.update");
    let mut want = expected.clone();
    want["name"] = json!("n2");
    assert_eq!(image_fields(&m["payload"]), want);

    owner.add_member(&id, "p2").await;
    other.set_member_status(&id, "p2", "accepted").await;
    owner.remove_member(&id, "p2").await;
    for (event, status, deleted) in [
        ("image.member.create", "pending", false),
        ("image.member.update", "accepted", false),
        ("image.member.delete", "accepted", true),
    ] {
        let m = l.message().await;
        assert_envelope(&m, event);
        let p = &m["payload"];
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "image_id",
                "member_id",
                "status",
                "created_at",
                "updated_at",
                "deleted",
                "deleted_at"
            ]
        );
        assert_eq!(p["image_id"], id.as_str());
        assert_eq!(p["member_id"], "p2");
        assert_eq!(p["status"], status, "{event}");
        assert_isotime(&p["created_at"]);
        assert_isotime(&p["updated_at"]);
        assert_eq!(p["deleted"], deleted, "{event}");
        if deleted {
            assert_isotime(&p["deleted_at"]);
        } else {
            assert_eq!(p["deleted_at"], Value::Null);
        }
    }

    // A refused change publishes nothing: the next event is the delete's.
    let r = owner
        .patch(
            &format!("/v2/images/{id}"),
            &json!([{"op": "replace", "path": "/status", "value": "active"}]),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        owner.delete(&format!("/v2/images/{id}")).await.status(),
        204
    );
    assert_eq!(
        app.state.notifier.stats().dropped.load(Ordering::Relaxed),
        0
    );
    // Stopping glint right away still delivers what was queued (the drain on stop).
    drop(app);
    let m = l.message().await;
    assert_envelope(&m, "image.delete");
    let p = &m["payload"];
    assert_eq!(p["id"], id.as_str());
    assert_eq!(p["status"], "deleted");
    assert_eq!(p["deleted"], true);
    assert_isotime(&p["deleted_at"]);
    assert_eq!(p["name"], "n2");
    l.finish().await;
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[actix_web::test]
async fn requests_succeed_while_the_broker_is_unreachable() {
    let url = format!("rabbit://guest:guest@127.0.0.1:{}/", closed_port());
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.notifications.drivers = vec![Driver::MessagingV2];
        c.notifications.transport = TransportUrl::parse(&url).unwrap();
        c.notifications.queue_size = 2;
    })
    .await;
    let owner = app.caller("p1", "member,reader");
    let mut events = 0;
    for i in 0..4 {
        let img = owner
            .create_image(json!({"name": format!("i{i}"), "visibility": "shared"}))
            .await;
        let id = img["id"].as_str().unwrap().to_owned();
        let r = owner
            .patch(
                &format!("/v2/images/{id}"),
                &json!([{"op": "replace", "path": "/name", "value": "x"}]),
            )
            .await;
        assert_eq!(r.status(), 200);
        owner.add_member(&id, "p2").await;
        assert_eq!(
            owner.delete(&format!("/v2/images/{id}")).await.status(),
            204
        );
        events += 4;
    }
    let stats = app.state.notifier.stats();
    // The queue holds 2 and the publisher at most one more while it waits to reconnect.
    let dropped = stats.dropped.load(Ordering::Relaxed);
    assert!(dropped >= events - 3, "dropped {dropped} of {events}");
    assert_eq!(stats.published.load(Ordering::Relaxed), 0);
    assert!(app.state.notifier.queue_depth() <= 2);
}

/// A TCP proxy to the broker that the test can cut (close every connection, refuse new
/// ones) and heal.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let (c, g) = (cut.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut_signal = g.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(BROKER).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut_signal.changed() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            cut,
            generation,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[actix_web::test]
async fn delivery_resumes_after_the_connection_heals() {
    let Some(mut l) = Listener::start().await else {
        return;
    };
    let proxy = Proxy::start().await;
    let url = format!("rabbit://guest:guest@127.0.0.1:{}/", proxy.port);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| l.configure(c, &url, 2)).await;
    let owner = app.caller("p1", "member,reader");
    let create = |name: &str| {
        let body = json!({"name": name});
        let owner = &owner;
        async move {
            owner.create_image(body).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    let before = create("before").await;
    let m = l.message().await;
    assert_eq!(m["payload"]["id"], before.as_str());

    proxy.cut();
    for i in 0..8 {
        create(&format!("during-{i}")).await;
    }
    let stats = app.state.notifier.stats();
    let dropped = stats.dropped.load(Ordering::Relaxed);
    assert!(dropped > 0, "the queue of 2 overflowed");

    proxy.heal();
    // Once reconnected and the backlog taken, a new event has room in the queue.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !(stats.connected.load(Ordering::Relaxed) && app.state.notifier.queue_depth() == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "no reconnection: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = create("after").await;
    // What waited in the queue arrives first, then the new event; nothing else.
    let mut names = Vec::new();
    loop {
        let m = l.message().await;
        let name = m["payload"]["name"].as_str().unwrap().to_owned();
        names.push(name.clone());
        if m["payload"]["id"] == after.as_str() {
            break;
        }
        assert!(name.starts_with("during-"), "{name}");
    }
    // At most: a batch the publisher held when it found the connection gone (the queue's 2
    // and the one it waited for), the queue refilled (2), and the new event.
    assert!(names.len() <= 6, "{names:?}");
    assert!(stats.published.load(Ordering::Relaxed) >= 2);
    drop(app);
    l.finish().await;
}

impl Listener {
    /// The next message's event type and priority, with the routing key matching the priority.
    async fn event(&mut self) -> (String, String, Value) {
        let (key, _, env) = self.next().await;
        let m: Value = serde_json::from_str(env["oslo.message"].as_str().unwrap()).unwrap();
        let priority = m["priority"].as_str().unwrap().to_owned();
        assert_eq!(key, format!("{}.{}", self.topic, priority.to_lowercase()));
        (m["event_type"].as_str().unwrap().to_owned(), priority, m)
    }
}

/// What follows an upload over `image_size_cap`: Glance's ERROR `image.upload` with its text,
/// then the image back to `queued` (`base`).
async fn too_large_events(l: &mut Listener, id: &str, base: &Value) {
    let (e, prio, m) = l.event().await;
    assert_eq!((e.as_str(), prio.as_str()), ("image.upload", "ERROR"));
    assert_eq!(
        m["payload"],
        json!(format!(
            "Failed to upload image data for image {id} due to internal error: \
             The provided image is too large."
        ))
    );
    let (e, _, m) = l.event().await;
    assert_eq!(e, "image.update");
    assert_eq!(image_fields(&m["payload"]), *base);
}

/// A task payload, times and ids aside.
fn task_fields(p: &Value) -> Value {
    let mut p = p.clone();
    for k in ["created_at", "updated_at", "expires_at"] {
        if !p[k].is_null() {
            assert_isotime(&p[k]);
            p[k] = json!("T");
        }
    }
    p["id"] = json!("ID");
    p
}

#[actix_web::test]
async fn data_and_import_events_as_glance_sends_them() {
    let Some(mut l) = Listener::start().await else {
        return;
    };
    // On each backend: the rows the events are built from come from each.
    for backend in crate::helpers::backends() {
        let app = l
            .app_on(backend, |c| {
                c.image_size_cap = 16;
                c.worker_self_reference_url = Some("http://worker-1:9292".into());
            })
            .await;
        let owner = app.caller("p1", "member,reader");
        let base = json!({
            "id": "ID", "name": "n1", "status": "queued", "created_at": "T", "updated_at": "T",
            "min_disk": 0, "min_ram": 0, "protected": false, "checksum": null, "owner": "p1",
            "disk_format": "raw", "container_format": "bare", "size": null, "virtual_size": null,
            "is_public": false, "visibility": "shared", "properties": {},
            "tags": [], "deleted": false, "deleted_at": null
        });
        let with_import = |mut v: Value| {
            v["os_glance_importing_to_stores"] = json!([]);
            v["os_glance_failed_import"] = json!([]);
            v
        };
        let new_image = || async {
            owner
                .create_image(json!({"name": "n1", "disk_format": "raw",
                                     "container_format": "bare", "visibility": "shared"}))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };

        // Create, upload: update (saving), prepare, upload, activate, update (active).
        let id = new_image().await;
        assert_eq!(l.event().await.0, "image.create");
        assert_eq!(
            owner.upload(&id, b"0123456789".to_vec()).await.status(),
            204
        );
        let mut saving = base.clone();
        saving["status"] = json!("saving");
        let mut active = base.clone();
        active["status"] = json!("active");
        active["size"] = json!(10);
        active["virtual_size"] = json!(10);
        active["checksum"] = json!("781e5e245d69b566979b86e28d23f2c7");
        for (event, want) in [
            ("image.update", saving.clone()),
            ("image.prepare", with_import(saving.clone())),
            ("image.upload", with_import(active.clone())),
            ("image.activate", active.clone()),
            ("image.update", active.clone()),
        ] {
            let (e, prio, m) = l.event().await;
            assert_eq!((e.as_str(), prio.as_str()), (event, "INFO"));
            assert_eq!(m["payload"]["id"], id.as_str());
            assert_eq!(image_fields(&m["payload"]), want, "{event}");
        }

        // Download: image.send once the last byte is out, with the receiver.
        let r = owner.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"0123456789");
        let (e, prio, m) = l.event().await;
        assert_eq!((e.as_str(), prio.as_str()), ("image.send", "INFO"));
        assert_eq!(
            serde_json::to_string(&m["payload"]).unwrap(),
            json!({"bytes_sent": 10, "image_id": id, "owner_id": "p1",
                   "receiver_tenant_id": "p1", "receiver_user_id": "user-p1"})
            .to_string()
        );

        // A failed upload (over image_size_cap): the ERROR image.upload with Glance's text, then
        // the image back to queued.
        let id = new_image().await;
        assert_eq!(l.event().await.0, "image.create");
        // Chunked, so the cap is met by the store and not by Content-Length.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![7; 32]), Ok(vec![7; 32])];
        let r = owner
            .request(reqwest::Method::PUT, &format!("/v2/images/{id}/file"))
            .header("Content-Type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let (e, _, m) = l.event().await;
        assert_eq!(e, "image.update");
        assert_eq!(image_fields(&m["payload"]), saving);
        let (e, _, m) = l.event().await;
        assert_eq!(e, "image.prepare");
        assert_eq!(image_fields(&m["payload"]), with_import(saving.clone()));
        too_large_events(&mut l, &id, &base).await;

        // The same with a Content-Length over the cap: refused without reading the body, after
        // the same events as Glance, which only finds out while reading it.
        let r = owner.upload(&id, vec![7; 64]).await;
        assert_eq!(r.status(), 413);
        for (event, priority, want) in [
            ("image.update", "INFO", saving.clone()),
            ("image.prepare", "INFO", with_import(saving.clone())),
        ] {
            let (e, prio, m) = l.event().await;
            assert_eq!((e.as_str(), prio.as_str()), (event, priority));
            assert_eq!(image_fields(&m["payload"]), want, "{event}");
        }
        too_large_events(&mut l, &id, &base).await;

        // glance-direct: stage (two updates), import (the task and the flow's events).
        let r = owner
            .request(reqwest::Method::PUT, &format!("/v2/images/{id}/stage"))
            .header("Content-Type", "application/octet-stream")
            .body(b"abc".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let mut uploading = base.clone();
        uploading["status"] = json!("uploading");
        let (e, _, m) = l.event().await;
        assert_eq!(e, "image.update");
        assert_eq!(image_fields(&m["payload"]), uploading);
        uploading["size"] = json!(3);
        // The stage records where the data lives (worker_self_reference_url), as Glance does.
        let mut staged = uploading.clone();
        staged["properties"] = json!({"os_glance_stage_host": "http://worker-1:9292"});
        let (e, _, m) = l.event().await;
        assert_eq!(e, "image.update");
        assert_eq!(image_fields(&m["payload"]), staged);
        // ... which the API never shows.
        let (s, shown) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(s, 200);
        assert_eq!(shown.get("os_glance_stage_host"), None, "{shown}");
        assert_eq!(shown["status"], "uploading");

        let r = owner
            .post(
                &format!("/v2/images/{id}/import"),
                &json!({"method": {"name": "glance-direct"}}),
            )
            .await;
        assert_eq!(r.status(), 202);
        // `expires_at` is a time even before the task ends: Glance formats its missing expiry
        // with `isotime(None)`, the current time.
        let task = |status: &str| {
            json!({"id": "ID", "type": "api_image_import", "status": status, "result": null,
                   "owner": "p1", "message": null, "expires_at": "T", "created_at": "T",
                   "updated_at": "T", "deleted": false, "deleted_at": null})
        };
        let (e, _, m) = l.event().await;
        assert_eq!(e, "task.create");
        assert_eq!(task_fields(&m["payload"]), task("pending"));
        let task_id = m["payload"]["id"].as_str().unwrap().to_owned();
        let (e, _, m) = l.event().await;
        assert_eq!(e, "task.processing");
        assert_eq!(task_fields(&m["payload"]), task("processing"));
        assert_eq!(m["payload"]["id"], task_id.as_str());

        let mut importing = uploading.clone();
        importing["status"] = json!("importing");
        // The import's bookkeeping, empty without multiple stores (as Glance leaves it).
        importing["properties"] = json!({"os_glance_failed_import": "",
            "os_glance_import_task": task_id, "os_glance_importing_to_stores": ""});
        let mut imported = importing.clone();
        imported["status"] = json!("active");
        imported["virtual_size"] = json!(3);
        imported["checksum"] = json!("900150983cd24fb0d6963f7d28e17f72");
        for (event, want) in [
            ("image.update", importing.clone()),
            ("image.prepare", with_import(importing.clone())),
            ("image.upload", with_import(imported.clone())),
            ("image.activate", imported.clone()),
            // Twice, as Glance's flow saves it again when it checks the image is active.
            ("image.update", imported.clone()),
            ("image.update", imported.clone()),
        ] {
            let (e, prio, m) = l.event().await;
            assert_eq!((e.as_str(), prio.as_str()), (event, "INFO"));
            assert_eq!(image_fields(&m["payload"]), want, "{event}");
        }
        let (e, _, m) = l.event().await;
        assert_eq!(e, "task.success");
        assert_eq!(task_fields(&m["payload"]), task("success"));
        // task.run last, with the task as the request created it.
        let (e, _, m) = l.event().await;
        assert_eq!(e, "task.run");
        assert_eq!(task_fields(&m["payload"]), task("pending"));
        assert_eq!(m["payload"]["id"], task_id.as_str());

        // A failing import (the staged bytes are not the qcow2 the image declares): the flow's
        // events up to task.failure, and no task.run (Glance's flow raises out of it).
        let bad = owner
            .create_image(json!({"name": "n2", "disk_format": "qcow2", "container_format": "bare"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        owner.stage_and_import(&bad, b"abc".to_vec()).await;
        let mut seen = Vec::new();
        while seen.last().map(|(e, _): &(String, String)| e.as_str()) != Some("task.failure") {
            let (e, prio, _) = l.event().await;
            seen.push((e, prio));
        }
        let seen: Vec<(&str, &str)> = seen.iter().map(|(e, p)| (e.as_str(), p.as_str())).collect();
        assert_eq!(
            seen,
            [
                ("image.create", "INFO"),
                ("image.update", "INFO"),
                ("image.update", "INFO"),
                ("task.create", "INFO"),
                ("task.processing", "INFO"),
                ("image.update", "INFO"),
                ("image.prepare", "INFO"),
                ("image.upload", "ERROR"),
                ("image.update", "INFO"),
                ("task.failure", "INFO"),
            ]
        );
        assert_eq!(
            owner.delete(&format!("/v2/images/{bad}")).await.status(),
            204
        );
        assert_eq!(l.event().await.0, "image.delete");

        drop(app);
    }
    l.finish().await;
}

/// A client that goes away in the middle of a chunked upload: the image back to queued, and
/// Glance's ERROR `image.upload` with the text Glance gives under gunicorn.
#[actix_web::test]
async fn a_cut_off_upload_sends_glances_error() {
    let Some(mut l) = Listener::start().await else {
        return;
    };
    // On each backend: the rows the events are built from come from each.
    for backend in crate::helpers::backends() {
        let app = l.app_on(backend, |_| {}).await;
        let owner = app.caller("p1", "member,reader");
        let id = owner
            .create_image(json!({"name": "n1", "disk_format": "raw", "container_format": "bare"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(l.event().await.0, "image.create");
        let mut stream = crate::raw::connect(&app).await;
        let head = crate::raw::head(
            "PUT",
            &format!("/v2/images/{id}/file"),
            "p1",
            "member,reader",
            &[
                ("Content-Type", "application/octet-stream"),
                ("Transfer-Encoding", "chunked"),
            ],
        );
        let mut req = head.into_bytes();
        req.extend_from_slice(b"10\r\n0123456789abcdef\r\n");
        tokio::io::AsyncWriteExt::write_all(&mut stream, &req)
            .await
            .unwrap();
        // The upload has begun (the image is saving) before the client goes.
        let (e, _, m) = l.event().await;
        assert_eq!(
            (e.as_str(), &m["payload"]["status"]),
            ("image.update", &json!("saving"))
        );
        assert_eq!(l.event().await.0, "image.prepare");
        drop(stream);
        let (e, prio, m) = l.event().await;
        assert_eq!((e.as_str(), prio.as_str()), ("image.upload", "ERROR"));
        assert_eq!(
            m["payload"],
            json!(format!(
                "Failed to upload image data for image {id} due to internal error: \
                 No more data after: None"
            ))
        );
        let (e, _, m) = l.event().await;
        assert_eq!(
            (e.as_str(), &m["payload"]["status"]),
            ("image.update", &json!("queued"))
        );
        let (s, img) = json(owner.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!((s, &img["status"]), (200, &json!("queued")));
        drop(app);
    }
    l.finish().await;
}

/// Glance saves any non-empty PATCH, and its save sets `updated_at`: a patch that changes
/// nothing still moves `updated_at` and sends `image.update` with it; an empty one does neither.
#[actix_web::test]
async fn a_patch_that_changes_nothing_still_saves() {
    let Some((mut l, app)) = Listener::with_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let owner = app.caller("p1", "member,reader");
    let img = owner.create_image(json!({"name": "same"})).await;
    let id = img["id"].as_str().unwrap().to_owned();
    assert_eq!(l.message().await["event_type"], "image.create");
    // Payload times have whole seconds: let one pass so a new updated_at shows.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, empty) = json(owner.patch(&format!("/v2/images/{id}"), &json!([])).await).await;
    assert_eq!(s, 200);
    assert_eq!(empty["updated_at"], img["updated_at"]);
    let (s, same) = json(
        owner
            .patch(
                &format!("/v2/images/{id}"),
                &json!([{"op": "replace", "path": "/name", "value": "same"}]),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(same["name"], "same");
    assert_ne!(same["updated_at"], img["updated_at"]);
    // The next event is the no-op patch's (the empty patch sent nothing).
    let m = l.message().await;
    assert_envelope(&m, "image.update");
    assert_eq!(m["payload"]["updated_at"], same["updated_at"]);
    assert_eq!(m["payload"]["name"], "same");
    let (_, shown) = json(owner.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(shown["updated_at"], same["updated_at"]);
    drop(app);
    l.finish().await;
}

#[actix_web::test]
async fn metadef_namespace_events_as_glance_sends_them() {
    let Some((mut l, app)) = Listener::with_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let admin = app.caller("p1", "admin,member,reader");
    let (s, _) = json(
        admin
            .post(
                "/v2/metadefs/namespaces",
                &json!({"namespace": "ns1", "display_name": "One", "description": "d"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = json(
        admin
            .put(
                "/v2/metadefs/namespaces/ns1",
                &json!({"namespace": "ns2", "display_name": "Two", "visibility": "public"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let r = admin.delete("/v2/metadefs/namespaces/ns2/tags").await;
    assert_eq!(r.status(), 204);
    let r = admin.delete("/v2/metadefs/namespaces/ns2").await;
    assert_eq!(r.status(), 204);
    let fields = |p: &Value| {
        let mut p = p.clone();
        for k in ["created_at", "updated_at"] {
            assert_isotime(&p[k]);
            p[k] = json!("T");
        }
        if !p["deleted_at"].is_null() {
            assert_isotime(&p["deleted_at"]);
            p["deleted_at"] = json!("T");
        }
        p
    };
    let one = json!({"namespace": "ns1", "namespace_old": "ns1", "display_name": "One",
        "protected": false, "visibility": "private", "owner": "p1", "description": "d",
        "created_at": "T", "updated_at": "T", "deleted": false, "deleted_at": null});
    let mut two = one.clone();
    two["namespace"] = json!("ns2");
    two["display_name"] = json!("Two");
    two["visibility"] = json!("public");
    two["description"] = json!(null);
    let mut updated = two.clone();
    updated["namespace_old"] = json!("ns1");
    two["namespace_old"] = json!("ns2");
    let mut gone = two.clone();
    gone["deleted"] = json!(true);
    gone["deleted_at"] = json!("T");
    for (event, want) in [
        ("metadef_namespace.create", one),
        ("metadef_namespace.update", updated),
        ("metadef_namespace.delete_tags", two),
        ("metadef_namespace.delete", gone),
    ] {
        let m = l.message().await;
        assert_envelope(&m, event);
        assert_eq!(fields(&m["payload"]), want, "{event}");
        let keys: Vec<&String> = m["payload"].as_object().unwrap().keys().collect();
        let order: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(keys, order);
    }
    drop(app);
    l.finish().await;
}

#[actix_web::test]
async fn metadef_tag_events_as_glance_sends_them() {
    let Some((mut l, app)) = Listener::with_app(Backend::Sqlite, |_| {}).await else {
        return;
    };
    let admin = app.caller("p1", "admin,member,reader");
    let (s, _) = json(
        admin
            .post("/v2/metadefs/namespaces", &json!({"namespace": "tns"}))
            .await,
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(l.message().await["event_type"], "metadef_namespace.create");
    let r = admin
        .request(reqwest::Method::POST, "/v2/metadefs/namespaces/tns/tags/t1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (s, _) = json(
        admin
            .post(
                "/v2/metadefs/namespaces/tns/tags",
                &json!({"tags": [{"name": "t2"}, {"name": "t3"}]}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = json(
        admin
            .put(
                "/v2/metadefs/namespaces/tns/tags/t2",
                &json!({"name": "t4"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        admin
            .delete("/v2/metadefs/namespaces/tns/tags/t4")
            .await
            .status(),
        204
    );
    // Without append the bulk create replaced t1: t2 and t3 are announced, one each.
    for (event, name, old, deleted) in [
        ("metadef_tag.create", "t1", "t1", false),
        ("metadef_tag.create", "t2", "t2", false),
        ("metadef_tag.create", "t3", "t3", false),
        ("metadef_tag.update", "t4", "t2", false),
        ("metadef_tag.delete", "t4", "t4", true),
    ] {
        let m = l.message().await;
        assert_envelope(&m, event);
        let p = &m["payload"];
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "namespace",
                "name",
                "name_old",
                "created_at",
                "updated_at",
                "deleted",
                "deleted_at"
            ]
        );
        assert_eq!(
            (&p["namespace"], &p["name"], &p["name_old"], &p["deleted"]),
            (&json!("tns"), &json!(name), &json!(old), &json!(deleted)),
            "{event}"
        );
        assert_isotime(&p["created_at"]);
        assert_isotime(&p["updated_at"]);
        match deleted {
            true => assert_isotime(&p["deleted_at"]),
            false => assert_eq!(p["deleted_at"], Value::Null),
        }
    }
    drop(app);
    l.finish().await;
}

/// A namespace created with its content announces each piece as Glance's repositories add
/// them (resource types, objects, tags, properties); resource type associations have their own
/// events; object payloads carry `default` as Glance's API model holds it (a string) and
/// `required` as the request gave it (null when absent).
#[actix_web::test]
async fn metadef_content_and_resource_type_events_as_glance_sends_them() {
    let Some(mut l) = Listener::start().await else {
        return;
    };
    // On each backend: the rows the events are built from come from each.
    for backend in crate::helpers::backends() {
        let app = l.app_on(backend, |_| {}).await;
        let admin = app.caller("p1", "admin,member,reader");
        let (s, _) = json(
            admin
                .post(
                    "/v2/metadefs/namespaces",
                    &json!({"namespace": "full",
                        "resource_type_associations": [{"name": "OS::Nova::Flavor", "prefix": "hw:"}],
                        "objects": [{"name": "o", "properties": {"a": {"type": "integer", "title": "A", "default": 3}}}],
                        "tags": [{"name": "x"}],
                        "properties": {"pp": {"type": "boolean", "title": "PP", "default": true}}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 201);
        let ns = "/v2/metadefs/namespaces/full";
        let (s, _) = json(
            admin
                .post(
                    &format!("{ns}/resource_types"),
                    &json!({"name": "OS::Glance::Image", "prefix": "hw_"}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 201);
        let r = admin
            .delete(&format!("{ns}/resource_types/OS::Glance::Image"))
            .await;
        assert_eq!(r.status(), 204);
        let (s, _) = json(
            admin
                .put(
                    &format!("{ns}/objects/o"),
                    &json!({"name": "o", "properties": {"a": {"type": "boolean", "title": "A", "default": false}}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200);

        let events: Vec<Value> = {
            let mut v = Vec::new();
            for _ in 0..8 {
                v.push(l.message().await);
            }
            v
        };
        let names: Vec<&str> = events
            .iter()
            .map(|m| m["event_type"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "metadef_namespace.create",
                "metadef_resource_type.create",
                "metadef_object.create",
                "metadef_tag.create",
                "metadef_property.create",
                "metadef_resource_type.create",
                "metadef_resource_type.delete",
                "metadef_object.update"
            ]
        );
        let p = |i: usize| &events[i]["payload"];
        let rt = |v: &Value| {
            let mut v = v.clone();
            for k in ["created_at", "updated_at"] {
                assert_isotime(&v[k]);
                v[k] = json!("T");
            }
            if v["deleted"] == true {
                assert_isotime(&v["deleted_at"]);
                v["deleted_at"] = json!("T");
            }
            serde_json::to_string(&v).unwrap()
        };
        assert_eq!(
            rt(p(1)),
            r#"{"namespace":"full","name":"OS::Nova::Flavor","name_old":"OS::Nova::Flavor","prefix":"hw:","properties_target":null,"created_at":"T","updated_at":"T","deleted":false,"deleted_at":null}"#
        );
        assert_eq!(
            rt(p(6)),
            r#"{"namespace":"full","name":"OS::Glance::Image","name_old":"OS::Glance::Image","prefix":"hw_","properties_target":null,"created_at":"T","updated_at":"T","deleted":true,"deleted_at":"T"}"#
        );
        assert_eq!(
            (
                &p(2)["name"],
                &p(2)["required"],
                &p(2)["properties"][0]["default"]
            ),
            (&json!("o"), &Value::Null, &json!("3"))
        );
        assert_eq!(
            (&p(3)["name"], &p(3)["namespace"]),
            (&json!("x"), &json!("full"))
        );
        assert_eq!(
            (&p(4)["name"], &p(4)["default"]),
            (&json!("pp"), &json!("True"))
        );
        assert_eq!(
            (&p(7)["required"], &p(7)["properties"][0]["default"]),
            (&Value::Null, &json!("False"))
        );
        drop(app);
    }
    l.finish().await;
}

/// The sharing extensions' sweep: an expired share (its own expiry, or a pending offer past
/// `pending_ttl`) stays visible to the owner for `expired_retention`, then the sweep removes the
/// member row and Glance's `image.member.delete` goes out; a live share is left alone.
#[actix_web::test]
async fn expired_shares_are_removed_after_their_retention_with_glances_event() {
    let Some(mut l) = Listener::start().await else {
        return;
    };
    let app = l
        .app_on(Backend::Sqlite, |c| {
            c.sharing.enabled = true;
            c.sharing.expired_retention = Duration::from_secs(2);
            c.sharing.pending_ttl = Some(Duration::from_secs(4));
        })
        .await;
    let owner = app.caller("p1", "member,reader");
    let id = l.shared_image(&owner).await;
    let start = std::time::Instant::now();
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let add = |member: &'static str, ext: Value| {
        let path = format!("/v2/images/{id}/members");
        let owner = &owner;
        async move {
            let (s, v) = json(
                owner
                    .post(&path, &json!({"member": member, "os_glint": ext}))
                    .await,
            )
            .await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    // p2: expires in 4-5 s (accepted); p3: a pending offer (pending_ttl 4 s); p4: accepted, no
    // expiry: stays.
    add("p2", json!({"expires_at": soon})).await;
    let v = add("p3", json!(null)).await;
    assert!(
        v["os_glint"]["expires_at"].is_string(),
        "the ttl shows as the offer's expiry: {v}"
    );
    add("p4", json!({"note": "kept"})).await;
    for p in ["p2", "p4"] {
        let (s, _) = json(
            app.caller(p, "member")
                .put(
                    &format!("/v2/images/{id}/members/{p}"),
                    &json!({"status": "accepted"}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200);
    }
    for _ in 0..5 {
        l.message().await; // 3 creates, 2 updates
    }
    // Before retention has passed: nothing is removed, and the owner sees both expired.
    let removed = glint::service::sharing_sweep::purge_expired(&app.state)
        .await
        .unwrap();
    assert!(removed.is_empty(), "{removed:?}");
    // Both expired (at most 5 s after the start), retention (2 s) not yet over.
    tokio::time::sleep(Duration::from_millis(5300).saturating_sub(start.elapsed())).await;
    let (_, l2) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
    let states: Vec<(String, String)> = l2["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["member_id"].as_str().unwrap().to_owned(),
                m["os_glint"]["state"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("p2".into(), "expired".into()),
            ("p3".into(), "expired".into()),
            ("p4".into(), "active".into())
        ]
    );
    // p3 lost the pending offer: the image is gone for it.
    assert_eq!(
        app.caller("p3", "member")
            .get(&format!("/v2/images/{id}"))
            .await
            .status(),
        404
    );
    tokio::time::sleep(Duration::from_millis(7500).saturating_sub(start.elapsed())).await;
    let mut removed: Vec<String> = glint::service::sharing_sweep::purge_expired(&app.state)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.member_id)
        .collect();
    removed.sort();
    assert_eq!(removed, ["p2", "p3"]);
    let mut events = Vec::new();
    for _ in 0..2 {
        let m = l.message().await;
        assert_envelope(&m, "image.member.delete");
        assert_eq!(m["payload"]["deleted"], true);
        events.push(m["payload"]["member_id"].as_str().unwrap().to_owned());
    }
    events.sort();
    assert_eq!(events, ["p2", "p3"]);
    let live: Vec<String> = {
        let (_, v) = json(owner.get(&format!("/v2/images/{id}/members")).await).await;
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["member_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(live, ["p4"]);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 1);
    // A second sweep finds nothing.
    assert!(glint::service::sharing_sweep::purge_expired(&app.state)
        .await
        .unwrap()
        .is_empty());
    l.finish().await;
}

/// A trust policy's acceptance is still Glance's `image.member.create`, with Glance's payload
/// (the member as created: `accepted`; nothing of glint's), and a refused offer sends nothing.
#[actix_web::test]
async fn a_trusted_offer_sends_glances_member_create_as_accepted() {
    let Some((mut l, app)) = Listener::with_app(Backend::Sqlite, sharing_on).await else {
        return;
    };
    let (s, _) = json(
        app.caller("p2", "member")
            .put(
                "/v2/glint/projects/p2/share-policy",
                &json!({"auto_accept": {"owners": ["p1"]}, "untrusted": "reject"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let owner = app.caller("p1", "member");
    let id = l.shared_image(&owner).await;
    owner.add_member(&id, "p2").await;
    let m = l.message().await;
    assert_envelope(&m, "image.member.create");
    let mut keys: Vec<&String> = m["payload"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "deleted",
            "deleted_at",
            "image_id",
            "member_id",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(m["payload"]["status"], "accepted");
    assert_eq!(m["payload"]["member_id"], "p2");
    // An untrusted owner is refused: no member, no event; the next event is the next change.
    let other = app.caller("p4", "member");
    let j = other
        .create_image(json!({"name": "y", "visibility": "shared"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_envelope(&l.message().await, "image.create");
    let (s, _) = json(
        other
            .post(&format!("/v2/images/{j}/members"), &json!({"member": "p2"}))
            .await,
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(other.delete(&format!("/v2/images/{j}")).await.status(), 204);
    assert_envelope(&l.message().await, "image.delete");
    l.finish().await;
}

/// An expiry reminder is a notification of its own name, with Glance's member fields, the
/// expiry and the threshold; it goes out once.
#[actix_web::test]
async fn expiry_reminders_are_their_own_notification() {
    let Some(mut l) = Listener::start().await else {
        return;
    };
    let app = l
        .app_on(Backend::Sqlite, |c| {
            c.sharing.enabled = true;
            c.sharing.expiry_reminders = vec![Duration::from_secs(7 * 86_400)];
        })
        .await;
    let owner = app.caller("p1", "member");
    let id = l.shared_image(&owner).await;
    let at = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    owner
        .add_member_with(&id, json!({"member": "p2", "os_glint": {"expires_at": at}}))
        .await;
    assert_envelope(&l.message().await, "image.member.create");
    glint::service::sharing_sweep::purge_expired(&app.state)
        .await
        .unwrap();
    let m = l.message().await;
    assert_envelope(&m, "image.member.expiry_reminder");
    assert_eq!(m["payload"]["member_id"], "p2");
    assert_eq!(m["payload"]["image_id"], id.as_str());
    assert_eq!(m["payload"]["status"], "pending");
    assert_eq!(m["payload"]["expires_at"], at.as_str());
    assert_eq!(m["payload"]["remind_before_seconds"], 7 * 86_400);
    // Once: a second sweep sends nothing; the next message is the next change.
    glint::service::sharing_sweep::purge_expired(&app.state)
        .await
        .unwrap();
    owner.remove_member(&id, "p2").await;
    assert_envelope(&l.message().await, "image.member.delete");
    l.finish().await;
}

/// A batch share sends Glance's `image.member.create` for each member it creates, then one
/// `image.member.batch_share` of its own summing the call up; a dry run sends nothing.
#[actix_web::test]
async fn batch_share_notifies_each_member_and_the_batch() {
    let Some((mut l, app)) = Listener::with_app(Backend::Sqlite, sharing_on).await else {
        return;
    };
    let owner = app.caller("p1", "member");
    let id = l.shared_image(&owner).await;
    let body =
        |dry: bool| json!({"images": [id], "targets": {"projects": ["p2", "p3"]}, "dry_run": dry});
    let (s, _) = json(owner.post("/v2/glint/shares", &body(true)).await).await;
    assert_eq!(s, 200);
    let (s, _) = json(owner.post("/v2/glint/shares", &body(false)).await).await;
    assert_eq!(s, 200);
    for member in ["p2", "p3"] {
        let m = l.message().await;
        assert_envelope(&m, "image.member.create");
        assert_eq!(m["payload"]["member_id"], member);
        assert_eq!(m["payload"]["status"], "pending");
    }
    let m = l.message().await;
    assert_envelope(&m, "image.member.batch_share");
    assert_eq!(m["payload"]["project_id"], "p1");
    assert_eq!(m["payload"]["outcomes"], json!({"created": 2}));
    assert_eq!(
        m["payload"]["created"],
        json!([{"image_id": id, "member_id": "p2"}, {"image_id": id, "member_id": "p3"}])
    );
    // Repeated: nothing created, so no notification; the next one is the next change.
    let (s, _) = json(owner.post("/v2/glint/shares", &body(false)).await).await;
    assert_eq!(s, 200);
    owner.remove_member(&id, "p2").await;
    assert_envelope(&l.message().await, "image.member.delete");
    l.finish().await;
}

/// When an image with members is deleted, each member is told by a notification of glint's own
/// (`image.member.image_deleted`: Glance's member fields and the instant), after `image.delete`.
#[actix_web::test]
async fn each_member_is_told_when_an_image_is_deleted() {
    let Some((mut l, app)) = Listener::with_app(Backend::Sqlite, sharing_on).await else {
        return;
    };
    let owner = app.caller("p1", "member");
    let id = l.shared_image(&owner).await;
    for member in ["p2", "p3"] {
        owner.add_member(&id, member).await;
        assert_envelope(&l.message().await, "image.member.create");
    }
    assert_eq!(
        owner.delete(&format!("/v2/images/{id}")).await.status(),
        204
    );
    assert_envelope(&l.message().await, "image.delete");
    for member in ["p2", "p3"] {
        let m = l.message().await;
        assert_envelope(&m, "image.member.image_deleted");
        assert_eq!(m["payload"]["member_id"], member);
        assert_eq!(m["payload"]["image_id"], id.as_str());
        assert_eq!(m["payload"]["status"], "pending");
        assert!(m["payload"]["image_deleted_at"].is_string(), "{m}");
    }
    l.finish().await;
}

/// A grant (real Keystone) sends Glance's `image.member.create` for each project it reaches, then
/// `image.grant.create`; revoking sends `image.member.delete` for each row, then
/// `image.grant.delete`.
#[actix_web::test]
async fn grants_notify_each_member_and_the_grant() {
    let Some(env) = crate::keystone::keystone_env() else {
        return;
    };
    let Some(mut l) = Listener::start().await else {
        return;
    };
    let mut ks = crate::sharing_grants::Ks::new(&env).await;
    let d = ks.domain().await;
    let p1 = ks.project(&d, None).await;
    let p2 = ks.project(&d, None).await;
    let kc = crate::keystone::keystone_config(&env, crate::keystone::var(&env, "KEYSTONE_URL"));
    let app = l
        .app_on(Backend::Sqlite, |c| {
            kc(c);
            sharing_on(c);
        })
        .await;
    let alice = crate::keystone::token(&env, "alice", Some("alpha")).await;
    let send = |m: reqwest::Method, path: &str, body: Option<Value>| {
        let mut rb = app
            .client
            .request(m, app.url(path))
            .header("X-Auth-Token", &alice);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send()
    };
    let r = send(
        reqwest::Method::POST,
        "/v2/images",
        Some(json!({"name": "g", "visibility": "shared"})),
    )
    .await
    .unwrap();
    let (s, img) = json(r).await;
    assert_eq!(s, 201, "{img}");
    let id = img["id"].as_str().unwrap().to_owned();
    assert_envelope(&l.message().await, "image.create");
    let r = send(
        reqwest::Method::POST,
        "/v2/glint/grants",
        Some(json!({"images": [id], "target": {"domain": d}})),
    )
    .await
    .unwrap();
    let (s, g) = json(r).await;
    assert_eq!(s, 201, "{g}");
    let gid = g["grant"]["id"].as_str().unwrap().to_owned();
    let mut members = Vec::new();
    for _ in 0..2 {
        let m = l.message().await;
        assert_envelope(&m, "image.member.create");
        assert_eq!(m["payload"]["status"], "pending");
        members.push(m["payload"]["member_id"].as_str().unwrap().to_owned());
    }
    members.sort();
    let mut want = vec![p1.clone(), p2.clone()];
    want.sort();
    assert_eq!(members, want);
    let m = l.message().await;
    assert_envelope(&m, "image.grant.create");
    assert_eq!(m["payload"]["grant_id"], json!(gid));
    assert_eq!(m["payload"]["target"], json!({"domain": d}));
    assert_eq!(m["payload"]["members_created"], 2);
    let r = send(
        reqwest::Method::DELETE,
        &format!("/v2/glint/grants/{gid}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    for _ in 0..2 {
        assert_envelope(&l.message().await, "image.member.delete");
    }
    let m = l.message().await;
    assert_envelope(&m, "image.grant.delete");
    assert_eq!(m["payload"]["members_removed"], 2);
    l.finish().await;
    drop(app);
    ks.cleanup().await;
}
