"""Soak driver: a fixed request rate against glint with a mix of reads and
writes across several Keystone projects and users. Prints one JSON summary.

Every request has an expected status; anything else (or a transport error,
or a request slower than 30 s) counts as an error. RSS of the glint process is
sampled every 10 s."""

import argparse
import json
import os
import random
import threading
import time

import requests

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--keystone", required=True)
ap.add_argument("--pid", type=int, required=True)
ap.add_argument("--minutes", type=float, required=True)
ap.add_argument("--rate", type=float, required=True, help="requests per second, all workers together")
ap.add_argument("--workers", type=int, default=8)
ap.add_argument("--env", required=True, help="Keystone env file (project ids)")
args = ap.parse_args()

env = {}
for line in open(args.env):
    if "=" in line and not line.startswith("#"):
        k, v = line.strip().split("=", 1)
        env[k] = v.strip("'\"")


def login(user, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": "pass-" + user, "domain": {"id": "default"}}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    r = requests.post(args.keystone + "/v3/auth/tokens?nocatalog", json=body, timeout=30)
    r.raise_for_status()
    return r.headers["X-Subject-Token"]


# (user, project, project id): owners and the project they share with.
USERS = [
    ("alice", "alpha", env["ALPHA_PROJECT_ID"]),
    ("bob", "beta", env["BETA_PROJECT_ID"]),
    ("adam", "alpha", env["ALPHA_PROJECT_ID"]),
]
TOKENS = {u: login(u, p) for (u, p, _) in USERS}
READER = login("rita", "alpha")
PEER = {"alpha": ("bob", env["BETA_PROJECT_ID"]), "beta": ("alice", env["ALPHA_PROJECT_ID"])}

lock = threading.Lock()
latencies = []  # seconds, every request
counts = {}
errors = []
deadline = time.monotonic() + args.minutes * 60
interval = args.workers / args.rate  # seconds between two requests of one worker


class Pacer:
    """Issues requests on a fixed schedule; a slow request is caught up on, not skipped."""

    def __init__(self, offset):
        self.next = time.monotonic() + offset

    def wait(self):
        now = time.monotonic()
        if self.next > now:
            time.sleep(self.next - now)
        self.next += interval
        return time.monotonic() < deadline


def call(pacer, token, method, path, expect, op, **kw):
    if not pacer.wait():
        raise StopIteration
    headers = {"X-Auth-Token": token, "Accept": "application/json"}
    headers.update(kw.pop("headers", {}))
    t = time.monotonic()
    try:
        r = requests.request(method, args.url + path, headers=headers, timeout=30, **kw)
        status, text = r.status_code, r.text[:300]
    except Exception as e:  # transport error or timeout
        status, text = 0, repr(e)[:300]
    dt = time.monotonic() - t
    with lock:
        latencies.append(dt)
        counts[op] = counts.get(op, 0) + 1
        if status != expect:
            errors.append({"op": op, "path": path, "status": status, "expected": expect, "body": text})
    return r if status == expect else None


def worker(n):
    rnd = random.Random(n)
    pacer = Pacer(offset=n * interval / args.workers)
    user, project, _ = USERS[n % len(USERS)]
    token = TOKENS[user]
    peer_user, peer_project_id = PEER[project]
    peer_token = TOKENS[peer_user]
    kept = []
    try:
        while True:
            r = call(pacer, token, "POST", "/v2/images", 201, "create", json={
                "name": "soak-%d" % n, "disk_format": "raw", "container_format": "bare",
                "tags": ["soak"]})
            if r is None:
                continue
            img = r.json()["id"]
            # Random bytes, except that bytes 510-511 are never the MBR signature 55 AA: with it,
            # glint (like Glance's format inspector) reads the data as a partitioned disk whose
            # partition table fails the safety checks, and refuses the upload with a 415, which
            # happened once in ~5,000 uploads of a 30-minute soak.
            data = bytearray(os.urandom(rnd.randint(1, 16) * 1024))
            data[510] = 0
            data = bytes(data)
            call(pacer, token, "PUT", "/v2/images/%s/file" % img, 204, "upload", data=data,
                 headers={"Content-Type": "application/octet-stream"})
            call(pacer, token, "GET", "/v2/images/%s" % img, 200, "show")
            call(pacer, token, "PATCH", "/v2/images/%s" % img, 200, "patch",
                 data=json.dumps([{"op": "add", "path": "/soak_round", "value": str(rnd.random())}]),
                 headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
            call(pacer, token, "GET", "/v2/images?limit=20", 200, "list")
            call(pacer, READER, "GET", "/v2/images?visibility=all&limit=10", 200, "list-reader")
            got = call(pacer, token, "GET", "/v2/images/%s/file" % img, 200, "download")
            if got is not None and got.content != data:
                with lock:
                    errors.append({"op": "download", "path": img, "status": 200, "body": "data differs"})
            call(pacer, token, "PATCH", "/v2/images/%s" % img, 200, "share",
                 data=json.dumps([{"op": "replace", "path": "/visibility", "value": "shared"}]),
                 headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
            call(pacer, token, "POST", "/v2/images/%s/members" % img, 200, "member-add",
                 json={"member": peer_project_id})
            call(pacer, peer_token, "PUT", "/v2/images/%s/members/%s" % (img, peer_project_id), 200,
                 "member-accept", json={"status": "accepted"})
            call(pacer, peer_token, "GET", "/v2/images/%s" % img, 200, "show-shared")
            call(pacer, peer_token, "GET", "/v2/images?member_status=accepted&visibility=shared&limit=20",
                 200, "list-shared")
            call(pacer, token, "GET", "/v2/images/%s/members" % img, 200, "member-list")
            if rnd.random() < 0.5:
                call(pacer, token, "DELETE", "/v2/images/%s/members/%s" % (img, peer_project_id), 204,
                     "member-delete")
            # Keep a few images alive (lists stay non-trivial), delete the rest.
            kept.append(img)
            if len(kept) > 3:
                old = kept.pop(0)
                call(pacer, token, "DELETE", "/v2/images/%s" % old, 204, "delete")
    except StopIteration:
        pass
    for img in kept:
        requests.delete(args.url + "/v2/images/%s" % img, headers={"X-Auth-Token": token}, timeout=30)


def status_kib(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def rss_kib(pid):
    return status_kib(pid, "VmRSS")


rss = []


def sampler():
    start = time.monotonic()
    while time.monotonic() < deadline:
        with lock:
            total = len(latencies)
        # RssAnon is the heap; the rest is mostly the binary's and libraries' pages as code paths warm up.
        rss.append({"t": round(time.monotonic() - start), "rss_kib": rss_kib(args.pid),
                    "anon_kib": status_kib(args.pid, "RssAnon"), "requests": total})
        time.sleep(10)
    rss.append({"t": round(time.monotonic() - start), "rss_kib": rss_kib(args.pid),
                "anon_kib": status_kib(args.pid, "RssAnon"), "requests": len(latencies)})


started = time.monotonic()
threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
threads.append(threading.Thread(target=sampler))
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - started


def pct(p):
    s = sorted(latencies)
    return round(s[min(len(s) - 1, int(len(s) * p))] * 1000, 1) if s else None


mid = rss[len(rss) // 2]["rss_kib"] if rss else None
# "start" is after the first minute: allocator pools, caches and connections warm up first.
warm = next((s for s in rss if s["t"] >= 60), rss[0] if rss else None)
print(json.dumps({
    "minutes": args.minutes,
    "target_rate": args.rate,
    "achieved_rate": round(len(latencies) / elapsed, 1),
    "requests": len(latencies),
    "errors": len(errors),
    "error_samples": errors[:10],
    "p50_ms": pct(0.50),
    "p99_ms": pct(0.99),
    "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
    "rss_kib": {"first": rss[0]["rss_kib"] if rss else None,
                "start": warm["rss_kib"] if warm else None,
                "middle": mid,
                "end": rss[-1]["rss_kib"] if rss else None,
                "max": max(s["rss_kib"] for s in rss) if rss else None},
    "ops": counts,
    "rss_samples": rss,
}, indent=1))
