#!/usr/bin/env python3
"""glint alone on PostgreSQL at growing image counts: does the cost of each request stay flat?

Started by bench/scale.sh. For each size N: a fresh database, `glint db sync`, a bulk load in SQL
(generate_series, secondary indexes dropped during the load and rebuilt after, ANALYZE), glint on
loopback with noauth (identity headers, so the figures are the database's and glint's, not
Keystone's), then each workload under wrk for a fixed time. At the largest size every workload's
statements are captured with EXPLAIN ANALYZE (auto_explain, set on that database only) and their key
lines are recorded: the indexes used, any sequential scan, and how many statements one request makes.

The data is shaped so that what the two callers may see does not grow with N: the owner project owns
1,000 images; the consumer is an accepted member of 100; 20 images are public and 20 community; the
rest belong to 1,000 other projects (10 % shared, the rest private). Every image has 5 properties,
2 tags and 10 members (from a pool of N/100 other projects; statuses mixed). So a flat curve means
the cost follows what the caller may see, not the size of the table.

On top, a grant as `POST /v2/glint/grants` leaves it (issue #18): 100 of the owner's images granted to
a domain of 2,000 projects, materialised as 200,000 accepted member rows with their
`glint_member_ext` rows (via = 'grant', grant_id) and the `glint_grants`, `glint_grant_images` and
`glint_grant_projects` rows; the *grantee* is one of those 2,000 projects.

Nothing here asserts on timings: it measures and reports.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (shared helpers: Server, wrk, psql, /proc sampling)
from bench import log, psql, run_wrk, sh, write_lines  # noqa: E402

OWNER = "5ca1e0a1000000000000000000000001"
CONSUMER = "5ca1e0b2000000000000000000000002"
WIDE = "5ca1e0c3000000000000000000000003"    # owns N/10 images
ADMIN = "5ca1e0d4000000000000000000000004"   # an admin: sees every image
GRANTEE = "5ca1e0e5000000000000000000000005"  # one of the 2,000 projects a grant reached
GRANT_ID = "5ca1e0f6-0000-0000-0000-000000000006"
GRANT_IMAGES = 100
GRANT_PROJECTS = 2000
PG_LOG = "/var/log/postgresql/postgresql-15-main.log"

WORKLOADS = [
    ("member-list", "GET /v2/images/{id}/members as the owner (100 of its images, 10 members each)"),
    ("member-update", "PUT /v2/images/{id}/members/{consumer} {\"status\": \"accepted\"} as the consumer "
                      "(its 100 shares)"),
    ("image-show", "GET /v2/images/{id} as the owner (its 1,000 images)"),
    ("list-consumer", "GET /v2/images as the consumer (first page of 25; it sees 120 images)"),
    ("list-consumer-deep", "GET /v2/images?marker=<its 100th image> as the consumer"),
    ("list-owner", "GET /v2/images as the owner (first page of 25; it sees 1,020 images)"),
    ("list-owner-deep", "GET /v2/images?marker=<its 900th image> as the owner"),
    ("list-owner-1000", "GET /v2/images?limit=1000 as the owner"),
    ("list-owner-1000-c1", "the same, one request at a time (wrk c=1): the latency of a 1,000-image page"),
    ("list-consumer-1", "GET /v2/images?limit=1 as the consumer"),
    ("list-owner-1", "GET /v2/images?limit=1 as the owner"),
    ("list-wide", "GET /v2/images as a project owning N/10 images (first page of 25)"),
    ("list-wide-deep", "GET /v2/images?marker=<its 900th image> as that project"),
    ("list-wide-1", "GET /v2/images?limit=1 as that project"),
    ("list-admin", "GET /v2/images as an admin (sees all N images; first page of 25)"),
    ("list-admin-deep", "GET /v2/images?marker=<its 900th image> as the admin"),
    ("list-admin-1", "GET /v2/images?limit=1 as the admin"),
    ("grant-list-grantee", "GET /v2/images as a project a grant reached (first page of 25; it sees 100 "
                           "granted images, accepted, and the 20 public ones)"),
    ("grant-list-grantee-shared", "GET /v2/images?visibility=shared&member_status=all as that project "
                                  "(`--shared`: the 100 granted images, first page of 25)"),
    ("grant-member-list", "GET /v2/images/{id}/members as the owner of a granted image (the 100 granted "
                          "images, 2,010 members each: Glance's member list has no paging)"),
]


def headers(project):
    roles = "admin,reader,member" if project == ADMIN else "reader,member"
    return {"X-Project-Id": project, "X-User-Id": f"user-{project[:8]}", "X-Roles": roles}


def call(srv, method, path, project, body=None):
    h = headers(project)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(srv.url + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


LOAD_SQL = """
\\set ON_ERROR_STOP 1
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';
-- no foreign-key triggers during the bulk load (this session only; the data is consistent by construction)
SET session_replication_role = replica;
CREATE TEMP TABLE saved_indexes AS
  SELECT indexname, indexdef FROM pg_indexes
  WHERE schemaname = 'public'
    AND tablename IN ('images', 'image_properties', 'image_tags', 'image_members', 'glint_member_ext')
    AND indexname NOT IN (SELECT conname FROM pg_constraint);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM saved_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;

INSERT INTO images (id, name, size, status, created_at, updated_at, deleted, disk_format, container_format,
                    checksum, owner, min_disk, min_ram, protected, virtual_size, visibility, os_hidden,
                    os_hash_algo, os_hash_value)
SELECT md5('image-' || i)::uuid::text, 'scale-' || lpad(i::text, 7, '0'), 12582912 + i % 1000, 'active',
       TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', TIMESTAMP '2026-01-01' + i * INTERVAL '1 second',
       false, 'qcow2', 'bare', md5('scale-' || i),
       CASE WHEN i % :step_owner = 0 THEN :'owner' WHEN i % 10 = 7 THEN :'wide'
            ELSE md5('project-' || (i % 1000)) END,
       0, 0, false, 1073741824,
       CASE WHEN i % :step_owner = 0 THEN 'shared'
            WHEN i % :step_open = 1 THEN 'public'
            WHEN i % :step_open = 2 THEN 'community'
            WHEN i % :step_share = 3 THEN 'shared'
            WHEN i % 10 = 5 THEN 'shared'
            ELSE 'private' END,
       false, 'sha512', encode(sha512(('scale-' || i)::bytea), 'hex')
FROM generate_series(0, :n - 1) AS i;

INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT md5('image-' || i)::uuid::text, p.name,
       CASE p.name WHEN 'os_distro' THEN (ARRAY['ubuntu', 'debian', 'centos'])[1 + i % 3]
                   WHEN 'os_version' THEN (20 + i % 5)::text
                   WHEN 'hw_disk_bus' THEN 'virtio'
                   WHEN 'hw_qemu_guest_agent' THEN 'yes'
                   ELSE i::text END,
       TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', false
FROM generate_series(0, :n - 1) AS i,
     (VALUES ('os_distro'), ('os_version'), ('hw_disk_bus'), ('hw_qemu_guest_agent'), ('scale_index')) AS p(name);

INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted)
SELECT md5('image-' || i)::uuid::text, t.v,
       TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', TIMESTAMP '2026-01-01' + i * INTERVAL '1 second', false
FROM generate_series(0, :n - 1) AS i,
     LATERAL (VALUES ('scale'), ('tier-' || i % 5)) AS t(v);

-- 10 members per image from a pool of :pool projects (never the owner or the consumer)
INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at, deleted)
SELECT md5('image-' || i)::uuid::text, md5('member-' || ((i * 10 + k) % :pool)), false,
       (ARRAY['accepted', 'pending', 'rejected'])[1 + k % 3],
       TIMESTAMP '2026-01-01' + i * INTERVAL '1 second' + k * INTERVAL '1 millisecond',
       TIMESTAMP '2026-01-01' + i * INTERVAL '1 second' + k * INTERVAL '1 millisecond', false
FROM generate_series(0, :n - 1) AS i, generate_series(0, 9) AS k;

-- the consumer: an accepted member of 100 shared images spread over the creation order
INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at, deleted)
SELECT md5('image-' || i)::uuid::text, :'consumer', false, 'accepted',
       TIMESTAMP '2026-01-02' + i * INTERVAL '1 second', TIMESTAMP '2026-01-02' + i * INTERVAL '1 second', false
FROM generate_series(0, :n - 1) AS i WHERE i % :step_share = 3;

-- a grant as POST /v2/glint/grants leaves it: the owner's first :grant_images images granted to a
-- domain of :grant_projects projects (the grantee first), one accepted member row per (image, project)
INSERT INTO glint_grants (id, owner, target_kind, target_id, target_domain_id, decision, decided_by,
                          decided_at, created_by, created_at)
VALUES (:'grant_id', :'owner', 'domain', 'scale-domain', 'scale-domain', 'accepted', 'scale-admin',
        TIMESTAMP '2026-01-03', 'scale-owner', TIMESTAMP '2026-01-03');
CREATE TEMP TABLE grant_projects AS
  SELECT CASE WHEN k = 0 THEN :'grantee' ELSE md5('grantee-' || k) END AS project
  FROM generate_series(0, :grant_projects - 1) AS k;
CREATE TEMP TABLE grant_images AS
  SELECT md5('image-' || (j * :step_owner))::uuid::text AS image_id, j
  FROM generate_series(0, :grant_images - 1) AS j;
INSERT INTO glint_grant_images (grant_id, image_id) SELECT :'grant_id', image_id FROM grant_images;
INSERT INTO glint_grant_projects (grant_id, project_id) SELECT :'grant_id', project FROM grant_projects;
INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at, deleted)
SELECT gi.image_id, gp.project, false, 'accepted',
       TIMESTAMP '2026-01-03' + gi.j * INTERVAL '1 second', TIMESTAMP '2026-01-03' + gi.j * INTERVAL '1 second',
       false
FROM grant_images gi, grant_projects gp;
INSERT INTO glint_member_ext (image_id, member, renewal_requested, via, grant_id)
SELECT gi.image_id, gp.project, false, 'grant', :'grant_id' FROM grant_images gi, grant_projects gp;

SET session_replication_role = DEFAULT;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM saved_indexes LOOP EXECUTE r.indexdef; END LOOP;
END $$;
SELECT setval(pg_get_serial_sequence('image_properties', 'id'), (SELECT coalesce(max(id), 1) FROM image_properties));
SELECT setval(pg_get_serial_sequence('image_tags', 'id'), (SELECT coalesce(max(id), 1) FROM image_tags));
SELECT setval(pg_get_serial_sequence('image_members', 'id'), (SELECT coalesce(max(id), 1) FROM image_members));
ANALYZE;
"""


def load_sqlite(path, n):
    """The same data as LOAD_SQL, written with Python's sqlite3 into glint's migrated file."""
    import datetime as dt
    import hashlib
    import sqlite3

    def uid(s):
        h = hashlib.md5(s.encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def md5(s):
        return hashlib.md5(s.encode()).hexdigest()

    base = dt.datetime(2026, 1, 1)
    ts = lambda i, ms=0: (base + dt.timedelta(seconds=i, milliseconds=ms)).strftime(
        "%Y-%m-%d %H:%M:%S.%f" if ms else "%Y-%m-%d %H:%M:%S")
    step_owner, step_open, step_share, pool = n // 1000, n // 20, n // 100, max(n // 100, 10)
    t0 = time.time()
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = OFF")
    images, props, tags, members = [], [], [], []
    for i in range(n):
        iid = uid(f"image-{i}")
        owner = OWNER if i % step_owner == 0 else WIDE if i % 10 == 7 else md5(f"project-{i % 1000}")
        vis = ("shared" if i % step_owner == 0 else "public" if i % step_open == 1 else
               "community" if i % step_open == 2 else "shared" if i % step_share == 3 or i % 10 == 5
               else "private")
        images.append((iid, f"scale-{i:07d}", 12582912 + i % 1000, "active", ts(i), ts(i), 0, "qcow2", "bare",
                       md5(f"scale-{i}"), owner, 0, 0, 0, 1073741824, vis, 0, "sha512",
                       hashlib.sha512(f"scale-{i}".encode()).hexdigest()))
        for name, value in (("os_distro", ["ubuntu", "debian", "centos"][i % 3]), ("os_version", str(20 + i % 5)),
                            ("hw_disk_bus", "virtio"), ("hw_qemu_guest_agent", "yes"), ("scale_index", str(i))):
            props.append((iid, name, value, ts(i), ts(i), 0))
        for v in ("scale", f"tier-{i % 5}"):
            tags.append((iid, v, ts(i), ts(i), 0))
        for k in range(10):
            members.append((iid, md5(f"member-{(i * 10 + k) % pool}"), 0, ["accepted", "pending", "rejected"][k % 3],
                            ts(i, k + 1), ts(i, k + 1), 0))
        if i % step_share == 3:
            members.append((iid, CONSUMER, 0, "accepted", ts(86400 + i), ts(86400 + i), 0))
    # the grant, as LOAD_SQL writes it
    grantees = [GRANTEE] + [md5(f"grantee-{k}") for k in range(1, GRANT_PROJECTS)]
    granted = [uid(f"image-{j * step_owner}") for j in range(GRANT_IMAGES)]
    exts = []
    for j, iid in enumerate(granted):
        for p in grantees:
            members.append((iid, p, 0, "accepted", ts(2 * 86400 + j), ts(2 * 86400 + j), 0))
            exts.append((iid, p, 0, "grant", GRANT_ID))
    c.execute("INSERT INTO glint_grants (id, owner, target_kind, target_id, target_domain_id, decision, "
              "decided_by, decided_at, created_by, created_at) VALUES (?, ?, 'domain', 'scale-domain', "
              "'scale-domain', 'accepted', 'scale-admin', ?, 'scale-owner', ?)",
              (GRANT_ID, OWNER, ts(2 * 86400), ts(2 * 86400)))
    c.executemany("INSERT INTO glint_grant_images (grant_id, image_id) VALUES (?, ?)",
                  [(GRANT_ID, i) for i in granted])
    c.executemany("INSERT INTO glint_grant_projects (grant_id, project_id) VALUES (?, ?)",
                  [(GRANT_ID, p) for p in grantees])
    c.executemany("INSERT INTO glint_member_ext (image_id, member, renewal_requested, via, grant_id) "
                  "VALUES (?, ?, ?, ?, ?)", exts)
    c.executemany("INSERT INTO images (id, name, size, status, created_at, updated_at, deleted, disk_format, "
                  "container_format, checksum, owner, min_disk, min_ram, protected, virtual_size, visibility, "
                  "os_hidden, os_hash_algo, os_hash_value) VALUES (" + ", ".join("?" * 19) + ")", images)
    c.executemany("INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted) "
                  "VALUES (?, ?, ?, ?, ?, ?)", props)
    c.executemany("INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted) "
                  "VALUES (?, ?, ?, ?, ?)", tags)
    c.executemany("INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at, "
                  "deleted) VALUES (?, ?, ?, ?, ?, ?, ?)", members)
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    secs = time.time() - t0
    size = f"{os.path.getsize(path) // (1 << 20)} MB"
    log(f"loaded {n} images into {path} in {secs:.0f}s ({size})")
    return secs, size


def load(a, db, n, workdir):
    if a.db == "sqlite":
        return load_sqlite(db, n)
    step_owner = n // 1000
    script = os.path.join(workdir, "load.sql")
    with open(script, "w") as f:
        f.write(LOAD_SQL)
    t0 = time.time()
    sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-q",
        "-v", f"n={n}", "-v", f"step_owner={step_owner}", "-v", f"step_open={n // 20}",
        "-v", f"step_share={n // 100}", "-v", f"pool={max(n // 100, 10)}",
        "-v", f"owner={OWNER}", "-v", f"consumer={CONSUMER}", "-v", f"wide={WIDE}",
        "-v", f"grantee={GRANTEE}", "-v", f"grant_id={GRANT_ID}", "-v", f"grant_images={GRANT_IMAGES}",
        "-v", f"grant_projects={GRANT_PROJECTS}", "-f", script])
    secs = time.time() - t0
    size = sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc",
               "SELECT pg_size_pretty(pg_database_size(current_database()))"]).strip()
    log(f"loaded {n} images into {db} in {secs:.0f}s ({size})")
    return secs, size


def setup_glint(a, n):
    d = os.path.join(a.work, f"glint-{n}")
    os.makedirs(os.path.join(d, "images"), exist_ok=True)
    if a.db == "sqlite":
        db = os.path.join(d, "glint.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        url = f"sqlite:///{db}"
    else:
        db = f"{a.db_prefix}_{n}"
        psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        psql("postgres", f'CREATE DATABASE "{db}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{db}"
    conf = os.path.join(d, "glint-api.conf")
    with open(conf, "w") as f:
        f.write(f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {a.port}
workers = {a.workers}
auth_strategy = noauth

[database]
connection = {url}

[glance_store]
filesystem_store_datadir = {d}/images
""")
    sh([a.glint_bin, "--config-file", conf, "--data-dir", d, "db", "sync"])
    srv = bench.Server("glint", a.port, d, os.path.join(d, "glint.log"))
    srv.conf = conf
    srv.pg_dbname = db
    return srv, db, d


def list_ids(srv, project, query="limit=1000"):
    st, raw = call(srv, "GET", f"/v2/images?{query}", project)
    if st != 200:
        raise RuntimeError(f"list as {project}: {st} {raw[:300]!r}")
    return [i["id"] for i in json.loads(raw)["images"]]


def request_files(srv, d):
    owner_ids = list_ids(srv, OWNER)           # 1,000 of the owner's 1,020 visible images, newest first
    consumer_ids = list_ids(srv, CONSUMER)      # all 120
    st, raw = call(srv, "GET", "/v2/images?limit=1000&owner=" + OWNER, OWNER)
    owned = [i["id"] for i in json.loads(raw)["images"]]
    st, raw = call(srv, "GET", "/v2/images?limit=1000&visibility=shared", CONSUMER)
    shares = [i["id"] for i in json.loads(raw)["images"]]
    if len(owned) < 2 or len(shares) < 2 or len(consumer_ids) < 2:
        raise RuntimeError(f"unexpected data: {len(owned)} owned, {len(shares)} shared, "
                           f"{len(consumer_ids)} visible to the consumer")
    wide_ids = list_ids(srv, WIDE)
    admin_ids = list_ids(srv, ADMIN)
    st, raw = call(srv, "GET", "/v2/images?limit=1000&visibility=shared&member_status=all", GRANTEE)
    granted = [i["id"] for i in json.loads(raw)["images"]] if st == 200 else []
    if len(granted) != GRANT_IMAGES:
        raise RuntimeError(f"the grantee sees {len(granted)} granted images, not {GRANT_IMAGES}: {st}")
    deep_c = consumer_ids[min(99, len(consumer_ids) - 2)]
    deep_o = owner_ids[min(899, len(owner_ids) - 2)]
    reqs = {
        "member-list": (OWNER, [f"GET\t/v2/images/{i}/members" for i in owned[:100]]),
        "member-update": (CONSUMER, [f'PUT\t/v2/images/{i}/members/{CONSUMER}\t{{"status": "accepted"}}'
                                     for i in shares[:100]]),
        "image-show": (OWNER, [f"GET\t/v2/images/{i}" for i in owned]),
        "list-consumer": (CONSUMER, ["GET\t/v2/images"]),
        "list-consumer-deep": (CONSUMER, [f"GET\t/v2/images?marker={deep_c}"]),
        "list-owner": (OWNER, ["GET\t/v2/images"]),
        "list-owner-deep": (OWNER, [f"GET\t/v2/images?marker={deep_o}"]),
        "list-owner-1000": (OWNER, ["GET\t/v2/images?limit=1000"]),
    }
    reqs["list-owner-1000-c1"] = reqs["list-owner-1000"]
    reqs.update({
        "list-consumer-1": (CONSUMER, ["GET\t/v2/images?limit=1"]),
        "list-owner-1": (OWNER, ["GET\t/v2/images?limit=1"]),
        "list-wide": (WIDE, ["GET\t/v2/images"]),
        "list-wide-deep": (WIDE, [f"GET\t/v2/images?marker={wide_ids[min(899, len(wide_ids) - 2)]}"]),
        "list-wide-1": (WIDE, ["GET\t/v2/images?limit=1"]),
        "list-admin": (ADMIN, ["GET\t/v2/images"]),
        "list-admin-deep": (ADMIN, [f"GET\t/v2/images?marker={admin_ids[min(899, len(admin_ids) - 2)]}"]),
        "list-admin-1": (ADMIN, ["GET\t/v2/images?limit=1"]),
        "grant-list-grantee": (GRANTEE, ["GET\t/v2/images"]),
        "grant-list-grantee-shared": (GRANTEE, ["GET\t/v2/images?visibility=shared&member_status=all"]),
        "grant-member-list": (OWNER, [f"GET\t/v2/images/{i}/members" for i in granted]),
    })
    files = {}
    for name, (project, lines) in reqs.items():
        path = os.path.join(d, f"{name}.reqs")
        write_lines(path, lines)
        files[name] = (project, path, lines[0])
    facts = {"owned": len(owned), "consumer_sees": len(consumer_ids), "shares": len(shares),
             "wide_sees": len(wide_ids), "admin_sees": len(admin_ids), "grantee_shared": len(granted),
             "grantee_sees": len(list_ids(srv, GRANTEE))}
    return files, facts


def hdr_env(project):
    return "|".join(f"{k}: {v}" for k, v in headers(project).items())


# ----------------------------------------------------------------------------- EXPLAIN via auto_explain

def pg_log_readable():
    try:
        with open(PG_LOG, "rb"):
            return True
    except OSError:
        return False


def explain_all(a, srv, db, files):
    """Capture the plans of every statement glint runs for one request of each workload."""
    settings = {"session_preload_libraries": "auto_explain", "auto_explain.log_min_duration": "0",
                "auto_explain.log_analyze": "on", "auto_explain.log_buffers": "off",
                "auto_explain.log_timing": "on", "auto_explain.log_format": "text"}
    for k, v in settings.items():
        psql("postgres", f'ALTER DATABASE "{db}" SET {k} = \'{v}\'')
    out = {}
    try:
        bench.start_glint(a, srv)
        for name, (project, _, line) in files.items():
            if name.endswith("-c1"):  # the same request as its c=16 twin
                continue
            parts = line.split("\t")
            method, path = parts[0], parts[1]
            body = json.loads(parts[2]) if len(parts) > 2 else None
            call(srv, method, path, project, body)     # warm: the pool's connections exist
            time.sleep(0.3)
            start = os.path.getsize(PG_LOG)
            st, _ = call(srv, method, path, project, body)
            time.sleep(0.8)
            with open(PG_LOG, "rb") as f:
                f.seek(start)
                text = f.read().decode("utf-8", "replace")
            out[name] = {"status": st, "plans": parse_plans(text, db)}
    finally:
        srv.stop()
        for k in settings:
            psql("postgres", f'ALTER DATABASE "{db}" RESET {k}')
    return out


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def parse_plans(text, db):
    """auto_explain blocks of this database: (duration ms, query text, plan lines)."""
    plans, cur = [], None
    for line in text.splitlines():
        if LOG_LINE.match(line):
            if cur:
                plans.append(cur)
                cur = None
            m = re.search(r"duration: ([\d.]+) ms\s+plan:", line)
            if m and (f"@{db} " in line or db in line or "@" not in line):
                cur = {"ms": float(m.group(1)), "query": "", "plan": []}
        elif cur is not None:
            s = line.strip()
            if s.startswith("Query Text:"):
                cur["query"] = s[len("Query Text:"):].strip()
            elif s:
                cur["plan"].append(line.rstrip())
    if cur:
        plans.append(cur)
    return plans


KEY = re.compile(r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan|Bitmap Heap Scan|BitmapOr|"
                 r"Nested Loop|Hash Join|Merge Join|Sort|Limit|SubPlan|InitPlan|Update on|Insert on)")


def key_lines(plan):
    keep = []
    for line in plan:
        s = line.strip().lstrip("-> ").strip()
        if KEY.search(s):
            # drop cost estimates, keep actual rows and loops
            s = re.sub(r"\(cost=[^)]*\)\s*", "", s)
            keep.append(s)
    return keep


def summarize_plans(ex):
    rows = []
    for name, e in ex.items():
        plans = e["plans"]
        stmts = [p for p in plans if p["query"].upper() != "SELECT 1"]
        seq = [ln for p in plans for ln in p["plan"]
               if re.search(r"Seq Scan on (images|image_members|image_properties|image_tags)\b", ln)]
        rows.append({"workload": name, "status": e["status"], "statements": len(plans),
                     "non_ping": len(stmts), "seq_scans": len(seq),
                     "ms": sum(p["ms"] for p in plans),
                     "details": [{"ms": p["ms"], "query": p["query"][:160], "key": key_lines(p["plan"])}
                                 for p in plans]})
    return rows


# ----------------------------------------------------------------------------- report

def fmt(v):
    return "—" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}")


NO_CACHE = " (no cache)"


def set_list_cache(conf, on):
    """Rewrites glint's config with `[database] glint_list_cache` on or off."""
    with open(conf) as f:
        text = f.read()
    text = re.sub(r"\nglint_list_cache = \w+", "", text)
    text = text.replace("[database]\n", f"[database]\nglint_list_cache = {'true' if on else 'false'}\n")
    with open(conf, "w") as f:
        f.write(text)


def render(a, results, explains, started):
    sizes = [r["n"] for r in results]
    title = "SQLite" if a.db == "sqlite" else "PostgreSQL"
    lines = [f"# glint at scale: {title}, {sizes[0]:,} to {sizes[-1]:,} images", "",
             f"Taken {started} UTC with `bash bench/scale.sh {a.cmdline}`. glint alone (release build, "
             f"`workers = {a.workers}`, noauth identity headers), wrk c={a.conc}, {a.duration} s per cell "
             "after a 1 s warm-up, load average " + f"{os.getloadavg()[2]:.1f} (15 min) when written. 2 cores "
             "shared by glint, PostgreSQL and wrk: compare the sizes with each other, not with other "
             "machines.", "",
             f"- machine: {platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} cores",
             f"- {'SQLite (bundled with glint)' if a.db == 'sqlite' else a.pg_version}; wrk: {a.wrk_version}",
             "- data per size N (bulk SQL, `bench/lib/scale.py`): the owner owns 1,000 images, the consumer "
             "is an accepted member of 100 shared ones, 20 public and 20 community images; the rest belong to "
             "1,000 other projects (10 % shared, the rest private) and to the *wide* project, which owns "
             "N/10 private images. Every image has 5 properties, 2 tags and 10 members (N/100 member "
             "projects, accepted/pending/rejected). What the consumer (120) and the owner (1,020) may see "
             "does not grow with N; the wide project sees N/10 + 20, the admin all N. A grant: 100 of the owner's "
             "images granted to 2,000 projects (200,000 accepted member rows with `glint_member_ext` via = "
             "grant, and the grant's own rows); the grantee, one of them, sees 120.", ""]
    lines += ["| size | images | member rows | load s | database |", "|---:|---:|---:|---:|---|"]
    for r in results:
        rows = r["n"] * 10 + 100 + GRANT_IMAGES * GRANT_PROJECTS
        lines.append(f"| {r['n']:,} | {r['n']:,} | {rows:,} | {r['load_s']:.0f} | {r['db_size']} |")
    lines += ["", "Workloads:", ""] + [f"- **{w}**: {d}" for w, d in WORKLOADS] + [""]
    head = "| workload | " + " | ".join(f"{n:,}: req/s, p50 / p99 ms" for n in sizes)
    if len(sizes) > 1:
        head += f" | p50 {sizes[-1]:,} ÷ {sizes[0]:,}"
    lines += [head + " |", "|---|" + "---|" * (len(sizes) + (1 if len(sizes) > 1 else 0))]
    keys = [k for w, _ in WORKLOADS for k in (w, w + NO_CACHE)
            if any(k in r["cells"] for r in results)]
    for w in keys:
        cells, p50s = [], []
        for r in results:
            c = r["cells"].get(w)
            if not c:
                cells.append("—")
                p50s.append(None)
                continue
            err = f", **{c['errors']} errors**" if c["errors"] else ""
            cells.append(f"{c['rps']:.0f}, {fmt(c['p50_ms'])} / {fmt(c['p99_ms'])}{err}")
            p50s.append(c["p50_ms"])
        row = f"| {w} | " + " | ".join(cells)
        if len(sizes) > 1:
            row += " | " + (f"×{p50s[-1] / p50s[0]:.2f}" if p50s[0] and p50s[-1] else "—")
        lines.append(row + " |")
    lines.append("")
    if explains:
        n, ex = explains
        lines += [f"## Plans at {n:,} images (EXPLAIN ANALYZE of glint's own statements)", "",
                  "Captured with `auto_explain` (log_analyze) set on the benchmark database only, one request "
                  "per workload after a warm-up request. *statements*: what one request runs, including the "
                  "pool's `SELECT 1` check-out ping; *seq scans*: sequential scans of the image tables.", "",
                  "| workload | HTTP | statements | seq scans | DB ms |", "|---|---:|---:|---:|---:|"]
        for s in ex:
            lines.append(f"| {s['workload']} | {s['status']} | {s['statements']} | {s['seq_scans']} | "
                         f"{s['ms']:.2f} |")
        lines.append("")
        for s in ex:
            lines += [f"**{s['workload']}**", "", "```"]
            for d in s["details"]:
                if d["query"].upper() == "SELECT 1":
                    lines.append(f"[{d['ms']:.3f} ms] SELECT 1")
                    continue
                lines.append(f"[{d['ms']:.3f} ms] {d['query']}")
                lines += [f"    {k}" for k in d["key"]]
            lines += ["```", ""]
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sizes", nargs="+", type=int)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--conc", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port", type=int, default=9400)
    p.add_argument("--glint-bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--db-prefix", default="scale_glint")
    p.add_argument("--out", default="")
    p.add_argument("--explain", choices=["largest", "none"], default="largest")
    p.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    p.add_argument("--cmdline", default="")
    p.add_argument("--workloads", default="", help="comma-separated subset of the workloads")
    p.add_argument("--list-cache", choices=["on", "off", "both"], default="on",
                   help="SQLite: glint's list cache on, off, or each workload measured both ways")
    a = p.parse_args()
    known = [w for w, _ in WORKLOADS]
    a.workloads = a.workloads.split(",") if a.workloads else known
    unknown = sorted(set(a.workloads) - set(known))
    if unknown:
        p.error(f"unknown workloads {unknown}; known: {','.join(known)}")
    a.wrk_threads = 2
    a.lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk", "requests.lua")
    a.pg_version = bench.try_sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-tAc",
                                 "SELECT split_part(version(), ' on ', 1)"])
    a.wrk_version = bench.try_sh(["sh", "-c", "wrk -v 2>&1 | head -n1"]).split(" Copyright")[0]
    os.makedirs(a.work, exist_ok=True)
    started = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
    results, explains = [], None
    for n in a.sizes:
        if n < 4000 or n % 1000:
            p.error("sizes must be multiples of 1,000 and at least 4,000")
        srv, db, d = setup_glint(a, n)
        try:
            load_s, db_size = load(a, db, n, d)
            bench.start_glint(a, srv)
            files, facts = request_files(srv, d)
            log(f"N={n}: {facts}")
            cells = {}
            # SQLite's list cache (`[database] glint_list_cache`) answers a repeated page without
            # its statements; "both" measures every workload again with it off, which is what
            # the statements themselves cost.
            passes = {"on": [""], "off": [NO_CACHE], "both": ["", NO_CACHE]}[a.list_cache]
            if a.db != "sqlite":
                passes = [""]
            for i, suffix in enumerate(passes):
                if i > 0 or suffix:
                    srv.stop()
                    set_list_cache(srv.conf, on=not suffix)
                    bench.start_glint(a, srv)
                for w in a.workloads:
                    project, path, _ = files[w]
                    env = {"BENCH_REQS": path, "BENCH_HEADERS": hdr_env(project)}
                    conc = 1 if w.endswith("-c1") else a.conc
                    run_wrk(a, srv, "/", conc, 1, a.lua, env)          # warm-up, unmeasured
                    r = run_wrk(a, srv, "/", conc, a.duration, a.lua, env)
                    cells[w + suffix] = bench.summarize_api(r, bench.server_rss(srv))
                    c = cells[w + suffix]
                    log(f"N={n} {w}{suffix}: {c['rps']:.0f} req/s p50 {c['p50_ms']:.2f} ms "
                        f"p99 {c['p99_ms']:.2f} ms errors {c['errors']} {c['samples'][:1]}")
            srv.stop()
            results.append({"n": n, "load_s": load_s, "db_size": db_size, "facts": facts, "cells": cells})
            if n == max(a.sizes) and a.explain == "largest" and a.db == "postgres":
                if pg_log_readable():
                    explains = (n, summarize_plans(explain_all(a, srv, db, files)))
                else:
                    log(f"cannot read {PG_LOG}: no plans recorded")
        finally:
            srv.stop()
            if a.keep:
                pass
            elif a.db == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(db + suffix):
                        os.remove(db + suffix)
            else:
                psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    md = render(a, results, explains, started)
    print(md)
    raw = os.path.join(a.work, "scale-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(raw, "w") as f:
        json.dump({"results": results, "explains": explains}, f, indent=1, default=str)
    if a.out:
        with open(a.out, "w") as f:
            f.write(md)
        log(f"wrote {a.out} and {raw}")


if __name__ == "__main__":
    main()
