//! The image store's filesystem fills up in the middle of an upload: a real
//! ENOSPC from the kernel, on a small tmpfs mounted for the test (needs root;
//! skipped otherwise). Glance answers 413 "Image storage media is full: ...",
//! puts the image back to `queued` and leaves no partial file.

use std::path::{Path, PathBuf};
use std::process::Command;

use md5::Digest;
use serde_json::json;

use crate::helpers::{backends, json, message, TestApp};

/// A tmpfs of `size` mounted on a temporary directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        if std::env::var("GLINT_TEST_MOUNT").as_deref() == Ok("skip") {
            crate::helpers::skip("disk-full tests (GLINT_TEST_MOUNT=skip)");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            crate::helpers::skip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

const FULL: &str =
    "Image storage media is full: There is not enough disk space on the image storage media.";

#[actix_web::test]
async fn disk_full_mid_upload_is_413_and_queued() {
    for backend in backends() {
        let Some(fs) = Tmpfs::mount("4m") else { return };
        let store: PathBuf = fs.path().join("images");
        let s = store.clone();
        let app = TestApp::spawn_with(backend, move |c| c.filesystem_store_datadir = s).await;
        let who = app.caller("p1", "member");
        // Leave about 1 MiB free, so the upload below fails after writing part of its data.
        let filler = fs.path().join("filler");
        std::fs::write(&filler, vec![0u8; 3 * 1024 * 1024]).unwrap();
        let img = who
            .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
            .await;
        let id = img["id"].as_str().unwrap().to_owned();
        let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
        let (s, v) = json(who.upload(&id, data.clone()).await).await;
        assert_eq!(s, 413, "{backend:?}: {v}");
        assert_eq!(v["code"], "413 Request Entity Too Large");
        assert_eq!(message(&v), FULL);
        let (_, shown) = json(who.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(shown["status"], "queued", "{backend:?}");
        assert_eq!(shown["size"], serde_json::Value::Null);
        assert_eq!(shown["checksum"], serde_json::Value::Null);
        assert!(
            app.store_files().is_empty(),
            "{backend:?}: partial files left: {:?}",
            app.store_files()
        );
        // Download of the failed image: no data (204, as for any queued image).
        assert_eq!(
            who.get(&format!("/v2/images/{id}/file")).await.status(),
            204
        );
        // Space freed: the same image takes the same upload, and reads back intact.
        std::fs::remove_file(&filler).unwrap();
        let r = who.upload(&id, data.clone()).await;
        assert_eq!(r.status(), 204, "{backend:?}");
        let r = who.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
        let (_, shown) = json(who.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(shown["status"], "active");
        assert_eq!(shown["checksum"], hex::encode(md5::Md5::digest(&data)));
        assert_eq!(app.store_files(), vec![id.clone()]);
        drop(app);
    }
}

#[actix_web::test]
async fn disk_already_full_is_413_too() {
    // The store is full before the upload starts: the very first write fails.
    let Some(fs) = Tmpfs::mount("1m") else { return };
    let store: PathBuf = fs.path().join("images");
    let s = store.clone();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, move |c| {
        c.filesystem_store_datadir = s
    })
    .await;
    let who = app.caller("p1", "member");
    let filler = fs.path().join("filler");
    // Fill every block: write until the kernel says no.
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![1u8; 64 * 1024];
    loop {
        use std::io::Write;
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    drop(f);
    let img = who
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await;
    let id = img["id"].as_str().unwrap().to_owned();
    let (s, v) = json(who.upload(&id, vec![9u8; 600_000]).await).await;
    assert_eq!((s, message(&v).as_str()), (413, FULL));
    let (_, shown) = json(who.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(shown["status"], "queued");
    assert!(app.store_files().is_empty(), "{:?}", app.store_files());
    // Other requests are unaffected by the full store.
    assert_eq!(who.get("/v2/images").await.status(), 200);
}
