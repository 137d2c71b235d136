//! Three glint processes as one service: one PostgreSQL or MariaDB database, one object store
//! (the S3 API of the Swift server `scripts/swift.sh` runs), each process with its own port,
//! data and staging directories and `worker_self_reference_url`. Data uploaded through one is
//! read through another; a share made on one is accepted on another; data staged on one is
//! imported (or deleted) through another, which replays the request on the staging worker; a
//! worker killed mid-upload is recovered by the others; and a staging worker that is down gives
//! a clear 504 and loses nothing.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use md5::Digest;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::helpers::{
    create_mysql_database, create_pg_database, drop_mysql_database, drop_pg_database,
    mysql_url_for, pg_url_for, skip, Backend,
};
use crate::process::{free_port, on_backend, spawn, wait_up, Glint};

/// The S3 endpoint and keys of `GLINT_SWIFT_ENV`, with a bucket of this test's own.
fn s3_lines() -> Option<String> {
    let path = std::env::var("GLINT_SWIFT_ENV").ok()?;
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("GLINT_SWIFT_ENV={path}: cannot read: {e}"));
    let env: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let bucket = format!(
        "glint-cluster-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    Some(format!(
        "stores = file,s3\ndefault_store = s3\ns3_store_host = {}\ns3_store_access_key = {}\n\
         s3_store_secret_key = {}\ns3_store_bucket = {bucket}\ns3_store_create_bucket_on_put = true\n\
         s3_store_bucket_url_format = path\n",
        env.get("S3_ENDPOINT")?,
        env.get("S3_ACCESS_KEY")?,
        env.get("S3_SECRET_KEY")?,
    ))
}

/// One worker: its directory (config, `images/`, `staging/`, `glint.log`) and port.
struct Node {
    dir: tempfile::TempDir,
    base: String,
    port: u16,
    config: PathBuf,
}

impl Node {
    fn staged(&self, id: &str) -> bool {
        self.dir.path().join("staging").join(id).exists()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("glint.log")).unwrap_or_default()
    }

    async fn start(&self, client: &reqwest::Client) -> Glint {
        let glint = spawn(&self.config, self.dir.path(), &[]);
        wait_up(client, &self.base).await;
        glint
    }
}

/// The deployment: its nodes and the database they share (dropped with it).
struct Cluster {
    nodes: Vec<Node>,
    db: (Backend, String),
}

impl Cluster {
    fn new(backend: Backend, n: usize, store: &str) -> Self {
        let (url, name) = match backend {
            Backend::Postgres => {
                let name = create_pg_database();
                (pg_url_for(&name), name)
            }
            Backend::Mysql => {
                let name = create_mysql_database();
                (mysql_url_for(&name), name)
            }
            Backend::Sqlite => unreachable!("one SQLite file is not a deployment of many nodes"),
        };
        let nodes = (0..n)
            .map(|_| {
                let dir = tempfile::tempdir().unwrap();
                let port = free_port();
                let base = format!("http://127.0.0.1:{port}");
                let config = dir.path().join("glint-api.conf");
                let mut f = std::fs::File::create(&config).unwrap();
                write!(
                    f,
                    "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\nauth_strategy = noauth\n\
                     upload_stale_timeout = 2\nworkers = 2\nworker_self_reference_url = {base}\n\
                     node_staging_uri = file://{}\n\
                     [database]\nconnection = {url}\n\
                     [glance_store]\nfilesystem_store_datadir = {}\n{store}",
                    dir.path().join("staging").display(),
                    dir.path().join("images").display(),
                )
                .unwrap();
                Node {
                    dir,
                    base,
                    port,
                    config,
                }
            })
            .collect();
        Cluster {
            nodes,
            db: (backend, name),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        match &self.db {
            (Backend::Postgres, db) => drop_pg_database(db),
            (Backend::Mysql, db) => drop_mysql_database(db),
            _ => {}
        }
    }
}

/// A request as `project` (member): status and JSON body (`null` when not JSON).
async fn call(
    client: &reqwest::Client,
    method: Method,
    url: String,
    project: &str,
    body: Option<(Vec<u8>, &str)>,
) -> (u16, Value) {
    let (status, bytes) = call_raw(client, method, url, project, body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn call_raw(
    client: &reqwest::Client,
    method: Method,
    url: String,
    project: &str,
    body: Option<(Vec<u8>, &str)>,
) -> (u16, Vec<u8>) {
    let mut rb = client
        .request(method, url)
        .header("X-Project-Id", project)
        .header("X-Roles", "member")
        .header("Accept", "application/json");
    if let Some((b, ctype)) = body {
        rb = rb.header("Content-Type", ctype).body(b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

fn json_body(v: Value) -> Option<(Vec<u8>, &'static str)> {
    Some((v.to_string().into_bytes(), "application/json"))
}

fn octets(data: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    Some((data.to_vec(), "application/octet-stream"))
}

async fn new_image(client: &reqwest::Client, node: &Node) -> String {
    let (s, img) = call(
        client,
        Method::POST,
        format!("{}/v2/images", node.base),
        "p1",
        json_body(json!({"disk_format": "raw", "container_format": "bare"})),
    )
    .await;
    assert_eq!(s, 201, "{img}");
    img["id"].as_str().unwrap().to_owned()
}

async fn image(client: &reqwest::Client, node: &Node, id: &str) -> Value {
    let (s, img) = call(
        client,
        Method::GET,
        format!("{}/v2/images/{id}", node.base),
        "p1",
        None,
    )
    .await;
    assert_eq!(s, 200, "{img}");
    img
}

/// Polls `node` (bounded) until image `id` has `status`.
async fn wait_status(client: &reqwest::Client, node: &Node, id: &str, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = image(client, node, id).await;
        if last["status"] == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("image {id} never became {status}: {last}");
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ seed).collect()
}

async fn three_nodes_are_one_service(backend: Backend) {
    let Some(store) = s3_lines() else {
        skip("the many-node test needs the S3 server of GLINT_SWIFT_ENV (scripts/swift.sh)");
        return;
    };
    let cluster = Cluster::new(backend, 3, &store);
    let [a, b, c] = &cluster.nodes[..] else {
        unreachable!()
    };
    let client = reqwest::Client::new();
    let mut glint_a = a.start(&client).await;
    let _glint_b = b.start(&client).await;
    let _glint_c = c.start(&client).await;

    // Uploaded through A, read through B.
    let id = new_image(&client, a).await;
    let payload = data(300_000, 1);
    let (s, _) = call(
        &client,
        Method::PUT,
        format!("{}/v2/images/{id}/file", a.base),
        "p1",
        octets(&payload),
    )
    .await;
    assert_eq!(s, 204);
    let (s, got) = call_raw(
        &client,
        Method::GET,
        format!("{}/v2/images/{id}/file", b.base),
        "p1",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(got == payload, "B reads what A wrote");
    let img = image(&client, c, &id).await;
    assert_eq!(img["checksum"], format!("{:x}", md5::Md5::digest(&payload)));
    assert!(
        !a.dir.path().join("images").join(&id).exists(),
        "the data is in the object store, not on A's disk"
    );

    // Shared on A, accepted on B, seen on C.
    let (s, m) = call(
        &client,
        Method::POST,
        format!("{}/v2/images/{id}/members", a.base),
        "p1",
        json_body(json!({"member": "p2"})),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    let (s, m) = call(
        &client,
        Method::PUT,
        format!("{}/v2/images/{id}/members/p2", b.base),
        "p2",
        json_body(json!({"status": "accepted"})),
    )
    .await;
    assert_eq!((s, &m["status"]), (200, &json!("accepted")), "{m}");
    let (s, list) = call(
        &client,
        Method::GET,
        format!("{}/v2/images?visibility=shared", c.base),
        "p2",
        None,
    )
    .await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = list["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let (s, got) = call_raw(
        &client,
        Method::GET,
        format!("{}/v2/images/{id}/file", c.base),
        "p2",
        None,
    )
    .await;
    assert_eq!((s, got == payload), (200, true), "the member reads it on C");

    // Staged on A, imported through B: B replays the import on A, where the data is.
    let staged = new_image(&client, a).await;
    let stage_data = data(200_000, 2);
    let (s, _) = call(
        &client,
        Method::PUT,
        format!("{}/v2/images/{staged}/stage", a.base),
        "p1",
        octets(&stage_data),
    )
    .await;
    assert_eq!(s, 204);
    assert!(a.staged(&staged) && !b.staged(&staged));
    let (s, body) = call(
        &client,
        Method::POST,
        format!("{}/v2/images/{staged}/import", b.base),
        "p1",
        json_body(json!({"method": {"name": "glance-direct"}})),
    )
    .await;
    assert_eq!(s, 202, "{body}");
    let img = wait_status(&client, c, &staged, "active").await;
    assert_eq!(img["size"], 200_000);
    assert!(
        img.get("os_glance_stage_host").is_none(),
        "the stage host is never shown"
    );
    let (s, got) = call_raw(
        &client,
        Method::GET,
        format!("{}/v2/images/{staged}/file", c.base),
        "p1",
        None,
    )
    .await;
    assert_eq!((s, got == stage_data), (200, true));
    assert!(a.log().contains("replaying") || b.log().contains("replaying"));
    for _ in 0..100 {
        if !a.staged(&staged) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !a.staged(&staged),
        "the import on A consumed its staged file"
    );

    // Staged on A, deleted through C: C replays the delete on A, and the staged file goes too.
    let doomed = new_image(&client, a).await;
    let (s, _) = call(
        &client,
        Method::PUT,
        format!("{}/v2/images/{doomed}/stage", a.base),
        "p1",
        octets(&data(1000, 3)),
    )
    .await;
    assert_eq!(s, 204);
    assert!(a.staged(&doomed));
    let (s, _) = call(
        &client,
        Method::DELETE,
        format!("{}/v2/images/{doomed}", c.base),
        "p1",
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert!(!a.staged(&doomed), "deleted on A, with its staged data");
    let (s, _) = call(
        &client,
        Method::GET,
        format!("{}/v2/images/{doomed}", b.base),
        "p1",
        None,
    )
    .await;
    assert_eq!(s, 404);

    // A dies mid-upload: the others' recovery sweep returns the image to `queued`, and it can
    // be uploaded again through C.
    let cut = new_image(&client, b).await;
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", a.port))
        .await
        .unwrap();
    let head = format!(
        "PUT /v2/images/{cut}/file HTTP/1.1\r\nHost: x\r\nX-Project-Id: p1\r\nX-Roles: member\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&vec![7u8; 1_000_000]).await.unwrap();
    wait_status(&client, c, &cut, "saving").await;
    let _ = glint_a.child.kill();
    let _ = glint_a.child.wait();
    drop(sock);
    wait_status(&client, b, &cut, "queued").await;
    let again = data(150_000, 4);
    let (s, _) = call(
        &client,
        Method::PUT,
        format!("{}/v2/images/{cut}/file", c.base),
        "p1",
        octets(&again),
    )
    .await;
    assert_eq!(s, 204);
    let img = wait_status(&client, b, &cut, "active").await;
    assert_eq!(img["size"], 150_000);

    // Staged on A, A down: an import through B is a clear 504 and changes nothing; with A back,
    // the same import goes through.
    glint_a = a.start(&client).await;
    let waiting = new_image(&client, a).await;
    let waiting_data = data(50_000, 5);
    let (s, _) = call(
        &client,
        Method::PUT,
        format!("{}/v2/images/{waiting}/stage", a.base),
        "p1",
        octets(&waiting_data),
    )
    .await;
    assert_eq!(s, 204);
    let _ = glint_a.child.kill();
    let _ = glint_a.child.wait();
    let import = json!({"method": {"name": "glance-direct"}});
    let (s, body) = call_raw(
        &client,
        Method::POST,
        format!("{}/v2/images/{waiting}/import", b.base),
        "p1",
        json_body(import.clone()),
    )
    .await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(s, 504, "{body}");
    assert!(body.contains("Stage host is unavailable"), "{body}");
    assert_eq!(image(&client, c, &waiting).await["status"], "uploading");
    assert!(a.staged(&waiting), "the staged data is kept");
    let _glint_a = a.start(&client).await;
    let (s, body) = call(
        &client,
        Method::POST,
        format!("{}/v2/images/{waiting}/import", b.base),
        "p1",
        json_body(import),
    )
    .await;
    assert_eq!(s, 202, "{body}");
    wait_status(&client, c, &waiting, "active").await;
    let (s, got) = call_raw(
        &client,
        Method::GET,
        format!("{}/v2/images/{waiting}/file", b.base),
        "p1",
        None,
    )
    .await;
    assert_eq!((s, got == waiting_data), (200, true));
}

#[tokio::test]
async fn three_nodes_on_postgres() {
    on_backend(Backend::Postgres, three_nodes_are_one_service).await;
}

#[tokio::test]
async fn three_nodes_on_mariadb() {
    on_backend(Backend::Mysql, three_nodes_are_one_service).await;
}
