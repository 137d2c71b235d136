#!/usr/bin/env python3
"""One large upload and download per image store, through real Glance 32 and through glint, in one run.

Started by `bash bench/stores.sh --vs-glance`, which installs Glance (with python-swiftclient and boto3) and
builds glint first. For each store kind (file, s3, swift), each server in turn runs alone on SQLite with the
same `[glance_store]` section (the object stores are the Swift server of scripts/swift.sh: Keystone v3 for
Swift, an EC2 credential for S3, as glance_store needs), behind the real Keystone: one `curl -T` upload of
the image file with its length, then one download to /dev/null. The peak RSS is the highest resident size of
the server's whole process tree (Glance: gunicorn and its worker) sampled every 50 ms during the upload.
Prints a Markdown table, then glint ÷ Glance per store.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (MIB, http, keystone_token, read_env, server_rss, setup_glance, setup_glint,  # noqa: E402
                   start_glance, start_glint)


def store_section(kind, env, datadir, name):
    base = f"[glance_store]\nfilesystem_store_datadir = {datadir}\n"
    if kind == "file":
        return base + "stores = file\ndefault_store = file\n"
    if kind == "swift":
        return base + (
            "stores = file,swift\ndefault_store = swift\nswift_store_auth_version = 3\n"
            f"swift_store_auth_address = {env['SWIFT_KEYSTONE_AUTH_URL']}\n"
            f"swift_store_user = {env['SWIFT_KEYSTONE_USER']}\nswift_store_key = {env['SWIFT_KEYSTONE_KEY']}\n"
            f"swift_store_container = {name}\nswift_store_create_container_on_put = true\n")
    return base + (
        "stores = file,s3\ndefault_store = s3\n"
        f"s3_store_host = {env['S3_ENDPOINT']}\n"
        f"s3_store_access_key = {env['S3_KEYSTONE_ACCESS_KEY']}\n"
        f"s3_store_secret_key = {env['S3_KEYSTONE_SECRET_KEY']}\n"
        f"s3_store_bucket = {name}\ns3_store_create_bucket_on_put = true\ns3_store_bucket_url_format = path\n")


def with_store(conf, section):
    """Replaces the file store section bench.py writes with `section`."""
    with open(conf) as f:
        text = f.read()
    start = text.index("[glance_store]")
    end = text.index("\n[", start + 1)
    with open(conf, "w") as f:
        f.write(text[:start] + section + text[end:])


def measure(srv, token, image_path, size_mib):
    status, raw, _ = http("POST", f"{srv.url}/v2/images", token,
                          {"name": "bench-store", "disk_format": "raw", "container_format": "bare"})
    if status != 201:
        raise RuntimeError(f"{srv.name}: image create: HTTP {status}: {raw[:200]!r}")
    iid = json.loads(raw)["id"]
    idle = server_rss(srv) / MIB
    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], server_rss(srv) / MIB)
            time.sleep(0.05)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    curl = ["curl", "-fsS", "-o", "/dev/null", "-w", "%{time_total}", "-H", f"X-Auth-Token: {token}"]
    try:
        up = float(subprocess.run(curl + ["-H", "Content-Type: application/octet-stream", "-X", "PUT",
                                          "-T", image_path, f"{srv.url}/v2/images/{iid}/file"],
                                  check=True, capture_output=True, text=True).stdout)
    finally:
        done.set()
        t.join()
    down = float(subprocess.run(curl + [f"{srv.url}/v2/images/{iid}/file"],
                                check=True, capture_output=True, text=True).stdout)
    http("DELETE", f"{srv.url}/v2/images/{iid}", token)
    return {"up": size_mib / up, "down": size_mib / down, "idle": idle, "peak": peak[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--stores", default="file,s3,swift")
    ap.add_argument("--glance-venv", required=True)
    ap.add_argument("--glint-bin", required=True)
    ap.add_argument("--keystone-env", required=True)
    ap.add_argument("--swift-env", required=True)
    ap.add_argument("--glance-port", type=int, default=9392)
    ap.add_argument("--glint-port", type=int, default=9393)
    a = ap.parse_args()
    # What bench.py's set-up reads.
    a.glint_workers, a.glance_workers, a.glance_threads = 2, 1, 8
    ks, env = read_env(a.keystone_env), read_env(a.swift_env)
    token = keystone_token(ks["KEYSTONE_AUTH_URL"], "alice", "pass-alice", "alpha")
    work = tempfile.mkdtemp(prefix="glint-stores-bench-")
    image = os.path.join(work, "image")
    with open(image, "wb") as f:
        for _ in range(a.size):
            f.write(os.urandom(MIB))
    rows, results = [], {}
    try:
        for kind in a.stores.split(","):
            for name, setup, start in (("Glance", setup_glance, start_glance), ("glint", setup_glint, start_glint)):
                d = os.path.join(work, f"{kind}-{name}")
                srv = setup(a, ks, "sqlite", d)
                with_store(srv.conf, store_section(kind, env, os.path.join(d, "images"),
                                                   f"glint-bench-{name.lower()}-{kind}-{os.getpid()}"))
                start(a, srv)
                try:
                    r = measure(srv, token, image, a.size)
                finally:
                    srv.stop()
                results[(kind, name)] = r
                rows.append(f"| {kind} | {name} | {r['up']:.0f} | {r['down']:.0f} | "
                            f"{r['idle']:.0f} MiB -> {r['peak']:.0f} MiB |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{a.size} MiB, one upload and one download per server and store\n")
    print("| store | server | upload MiB/s | download MiB/s | RSS idle -> peak during upload |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n| store | upload glint ÷ Glance | download glint ÷ Glance | peak RSS glint ÷ Glance |")
    print("|---|---|---|---|")
    for kind in a.stores.split(","):
        g, n = results[(kind, "Glance")], results[(kind, "glint")]
        print(f"| {kind} | ×{n['up'] / g['up']:.2f} | ×{n['down'] / g['down']:.2f} | ×{n['peak'] / g['peak']:.2f} |")


if __name__ == "__main__":
    main()
