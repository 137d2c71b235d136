#!/usr/bin/env python3
"""Takeover, hand-back and mixed-fleet tests between real Glance 32 and glint (issue 14).

Started by tests/takeover/run.sh, which installs Glance and builds glint first. Standard library only;
the HTTP and Keystone helpers come from bench/lib/bench.py. For each backend given:

forward   a fresh database made by `glance-manage db_sync`, filled through Glance's API (images with data,
          properties, tags, every visibility, members pending/accepted/rejected/removed, a deleted and a
          deactivated image); every list, show, member list, member show and download is recorded per
          user; Glance stops; `glint db sync` adopts the database; glint serves it and the same requests,
          replayed as the same users, must answer the same (status, JSON field by field, data checksum).
reverse   a fresh database made by `glint db sync`, the same fill through glint's API, recorded; glint
          stops; Glance serves the same database and store; the replay is compared the same way.
mixed     Glance and glint on one database and store at once; threads add members, change statuses,
          remove members and delete images on both, interleaved; then SQL checks of the rows and both APIs
          must answer the same for every image.

stores    Glance and glint on one database, with glance_store's swift store and then its s3 store on the
          Swift server of scripts/swift.sh (Keystone v3 for Swift, an EC2 credential for S3): each reads
          the data the other wrote, byte for byte, and deletes it from the object store (not run by
          default: `--phases ...,stores` with `--swift-env`).

A difference fails the run unless ALLOWED (below) lists it, with the line of api-ref/differences.md that
documents it. Known gaps of glint that are not documented differences are reported as failures, by design.
Work files: $GLINT_WORK/takeover/<backend>/<phase>/ (configs, logs, the shared store directory).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench", "lib"))
from bench import Server, http, keystone_section, keystone_token, read_env  # noqa: E402

GLANCE_PORT = 9660
GLINT_PORT = 9670

# Differences that do not fail the run: (phase regex, request regex, JSON path regex, why). Each must be a
# difference api-ref/differences.md documents. Keep this list short.
ALLOWED = [
    # (backend, phase, request, path in the answer: regular expressions; why: differences.md's row)
    ("postgres", ".*", r"sort_key=(name|size|disk_format|container_format|updated_at)|"
     r"sort=[^&]*(name|size|disk_format|container_format|updated_at)", r"^/body/(images|next)",
     "differences.md: Image list sorted by a nullable key on PostgreSQL (glint puts NULL lowest on every "
     "backend; Glance's PostgreSQL puts it highest)"),
]


def log(msg):
    print(f"takeover: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- processes we started

PIDFILE = None


def note_pid(pid):
    """run.sh's trap kills the process groups listed here if this driver dies without stopping them."""
    if PIDFILE:
        with open(PIDFILE, "a") as f:
            f.write(f"{pid}\n")


RUNNING = []
RUNNING_LOCK = threading.Lock()
STOPPING = threading.Event()  # set on TERM: no server starts any more


def stop_all(backend=None):
    """Stops the servers of one backend's run (all when None)."""
    with RUNNING_LOCK:
        servers = [s for s in RUNNING if backend is None or s.backend == backend]
    for srv in servers:
        stop(srv)


def stop(srv):
    if srv.proc and srv.proc.poll() is None:
        try:
            os.killpg(srv.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            srv.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(srv.proc.pid, signal.SIGKILL)
            srv.proc.wait()
    srv.proc = None
    with RUNNING_LOCK:
        if srv in RUNNING:
            RUNNING.remove(srv)


# ----------------------------------------------------------------------------- databases

class Database:
    """A fresh database of one backend, named takeover_<phase>, reachable as Glance and glint spell it."""

    def __init__(self, backend, phase, workdir):
        self.backend = backend
        self.name = f"takeover_{phase}"
        if backend == "sqlite":
            self.path = os.path.join(workdir, "images.db")
            self.url = f"sqlite:///{self.path}"
        elif backend == "postgres":
            self.url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.name}"
        else:
            self.url = f"mysql+pymysql://root@127.0.0.1:3306/{self.name}?charset=utf8mb4"

    def create(self):
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
        elif self.backend == "postgres":
            run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc",
                 f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'])
            run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc",
                 f'CREATE DATABASE "{self.name}"'])
        else:
            run(["mysql", "-h", "127.0.0.1", "-u", "root", "-e",
                 f"DROP DATABASE IF EXISTS `{self.name}`; CREATE DATABASE `{self.name}` "
                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"])

    def query(self, sql):
        """Rows as lists of strings (NULL as None)."""
        if self.backend == "sqlite":
            con = sqlite3.connect(self.path, timeout=30)
            try:
                return [[None if v is None else str(v) for v in row] for row in con.execute(sql)]
            finally:
                con.close()
        if self.backend == "postgres":
            out = run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", self.name, "-v", "ON_ERROR_STOP=1",
                       "-qtAX", "-F", "\t", "-P", "null=\\N", "-c", sql])
        else:
            out = run(["mysql", "-h", "127.0.0.1", "-u", "root", "-N", "-B", self.name, "-e", sql])
        rows = []
        for line in out.splitlines():
            if line == "":
                continue
            rows.append([None if v in ("\\N", "NULL") else v for v in line.split("\t")])
        return rows

    def tables(self):
        if self.backend == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        elif self.backend == "postgres":
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        else:
            sql = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{self.name}'"
        return sorted(r[0] for r in self.query(sql))

    def false(self):
        return "0" if self.backend != "postgres" else "false"


def run(cmd, **kw):
    p = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {p.returncode}: {p.stderr.strip()[-2000:]}")
    return p.stdout


# ----------------------------------------------------------------------------- servers

def store_section(store):
    """`store`: the file store's directory, or a whole `[glance_store]` section (an object store)."""
    if store.startswith("[glance_store]"):
        return store
    return f"[glance_store]\nstores = file\ndefault_store = file\nfilesystem_store_datadir = {store}\n"


def write_conf(path, port, db, store, d, ks, glance_extra=True):
    """One glance-api.conf for both servers; only the port (and Glance's own file paths) differ."""
    extra = ""
    if glance_extra:
        extra = (f"log_file = {d}/glance.log\nnode_staging_uri = file://{d}/staging\n"
                 f"worker_self_reference_url = http://127.0.0.1:{port}\nimage_cache_dir = {d}/cache\n")
    with open(path, "w") as f:
        f.write(f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {port}
public_endpoint = http://127.0.0.1:{port}
{extra}
[database]
connection = {db.url}

{store_section(store)}

[paste_deploy]
flavor = keystone
{"config_file = " + d + "/glance-api-paste.ini" if glance_extra else ""}

{keystone_section(ks)}""")
    os.chmod(path, 0o600)


BACKENDS = ["sqlite", "postgres", "mysql"]


class Ctx:
    def __init__(self, a, ks, backend):
        self.a = a
        self.ks = ks
        self.backend = backend
        # Each backend runs in a thread of its own, on ports of its own: Glance 9660 + 2i (+1 in the mixed
        # fleet), glint 9670 + 2i (+1).
        i = BACKENDS.index(backend)
        self.glance_port = GLANCE_PORT + 2 * i
        self.glint_port = GLINT_PORT + 2 * i
        self.work = os.path.join(a.work, backend)
        self.glance_bin = os.path.join(a.glance_venv, "bin")


def glance_server(ctx, phase, db, store, extra=0, cache_driver=None):
    port = ctx.glance_port + extra
    d = os.path.join(ctx.work, phase, f"glance-{port}")
    for sub in ("staging", "cache"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(ctx.a.glance_venv, "etc", "glance", "glance-api-paste.ini")) as f:
        paste = f.read().replace("/etc/glance/healthcheck_disable", f"{d}/healthcheck_disable")
    with open(os.path.join(d, "glance-api-paste.ini"), "w") as f:
        f.write(paste)
    conf = os.path.join(d, "glance-api.conf")
    write_conf(conf, port, db, store, d, ctx.ks)
    if cache_driver:
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("[DEFAULT]\n", f"[DEFAULT]\nimage_cache_driver = {cache_driver}\n", 1))
    with open(os.path.join(d, "takeover_glance_wsgi.py"), "w") as f:
        f.write("# Glance parses sys.argv with oslo.config: drop gunicorn's arguments first.\n"
                "import sys\nsys.argv = sys.argv[:1]\n"
                "from glance.wsgi.api import application  # noqa: E402,F401\n")
    srv = Server("Glance", port, d, os.path.join(d, "glance.log"))
    srv.conf = conf
    srv.backend = ctx.backend
    return srv


def glance_db_sync(ctx, srv):
    run([os.path.join(ctx.glance_bin, "glance-manage"), "--config-file", srv.conf, "db_sync"])


def start_glance(ctx, srv):
    logf = open(os.path.join(srv.dir, "gunicorn.log"), "a")
    env = dict(os.environ, OS_GLANCE_CONFIG_DIR=srv.dir)
    cmd = [os.path.join(ctx.glance_bin, "gunicorn"), "--chdir", srv.dir, "--bind", f"127.0.0.1:{srv.port}",
           "--workers", "1", "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
           "--no-control-socket", "takeover_glance_wsgi:application"]
    srv.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    note_pid(srv.proc.pid)
    with RUNNING_LOCK:
        RUNNING.append(srv)
        if STOPPING.is_set():
            raise RuntimeError("stopping")
    srv.wait_up(timeout=300)  # Glance takes seconds, or minutes on a loaded machine


def glint_server(ctx, phase, db, store, extra=0):
    port = ctx.glint_port + extra
    d = os.path.join(ctx.work, phase, f"glint-{port}")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "glance-api.conf")
    write_conf(conf, port, db, store, d, ctx.ks, glance_extra=False)
    srv = Server("glint", port, d, os.path.join(d, "glint.log"))
    srv.conf = conf
    srv.backend = ctx.backend
    return srv


def glint_db_sync(ctx, srv):
    return run([ctx.a.glint_bin, "--config-file", srv.conf, "--data-dir", srv.dir, "db", "sync"])


def start_glint(ctx, srv):
    logf = open(srv.logfile, "a")
    srv.proc = subprocess.Popen([ctx.a.glint_bin, "--config-file", srv.conf, "--data-dir", srv.dir, "serve"],
                                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    note_pid(srv.proc.pid)
    with RUNNING_LOCK:
        RUNNING.append(srv)
        if STOPPING.is_set():
            raise RuntimeError("stopping")
    srv.wait_up(timeout=60)


# ----------------------------------------------------------------------------- users and requests

USERS = {
    # name: (user, password, project)
    "alice": ("alice", "pass-alice", "alpha"),   # member of alpha
    "adam": ("adam", "pass-adam", "alpha"),      # admin of alpha (public images, deactivate)
    "bob": ("bob", "pass-bob", "beta"),          # member of beta
    "admin": ("admin", None, "admin"),           # the cloud admin, in project admin
}
# The users whose views are recorded and compared: one per project, and the admin's view of everything.
VIEWERS = ["alice", "bob", "admin"]


class Tokens:
    def __init__(self, ks):
        self.ks = ks
        self.cache = {}
        self.lock = threading.Lock()

    def __getitem__(self, name):
        with self.lock:
            if name not in self.cache:
                user, password, project = USERS[name]
                if password is None:
                    password = self.ks["KEYSTONE_ADMIN_PASSWORD"]
                self.cache[name] = keystone_token(self.ks["KEYSTONE_AUTH_URL"], user, password, project)
            return self.cache[name]


def call(srv, tokens, user, method, path, body=None, ctype="application/json", expect=None):
    status, raw, headers = http(method, srv.url + path, tokens[user], body, ctype=ctype, timeout=60)
    if expect is not None and status not in (expect if isinstance(expect, tuple) else (expect,)):
        raise RuntimeError(f"{srv.name}: {user} {method} {path}: HTTP {status} (wanted {expect}): {raw[:300]!r}")
    return status, raw, headers


def jcall(srv, tokens, user, method, path, body=None, expect=None, ctype="application/json"):
    status, raw, _ = call(srv, tokens, user, method, path, body, ctype, expect)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


# ----------------------------------------------------------------------------- the fill

def fill(srv, tokens, ks):
    """Images of every kind, made through srv's API. Returns {name: id}, and members {id: [member ids]}."""
    alpha, beta, service = ks["ALPHA_PROJECT_ID"], ks["BETA_PROJECT_ID"], ks["SERVICE_PROJECT_ID"]
    ids, members = {}, {}

    def create(user, name, visibility="private", data=None, tags=(), **props):
        body = {"name": name, "visibility": visibility, "disk_format": "raw", "container_format": "bare",
                "tags": list(tags), **props}
        _, img = jcall(srv, tokens, user, "POST", "/v2/images", body, expect=201)
        ids[name] = img["id"]
        if data is not None:
            call(srv, tokens, user, "PUT", f"/v2/images/{img['id']}/file", data,
                 ctype="application/octet-stream", expect=204)
        return img["id"]

    def share(owner, image, member_project, member_user=None, status=None):
        jcall(srv, tokens, owner, "POST", f"/v2/images/{image}/members", {"member": member_project}, expect=200)
        members.setdefault(image, []).append(member_project)
        if status:
            jcall(srv, tokens, member_user, "PUT", f"/v2/images/{image}/members/{member_project}",
                  {"status": status}, expect=200)

    create("alice", "a-private", data=b"alpha private data\n" * 40, tags=("t1", "t2"),
           os_distro="cirros", custom_key="v1", min_disk=1, min_ram=64)
    create("alice", "a-queued", tags=("empty",), note="no data")
    create("alice", "a-protected", data=b"protected\n", protected=True)
    shared = create("alice", "a-shared", visibility="shared", data=b"shared with beta, pending\n")
    share("alice", shared, beta)  # pending
    share("alice", shared, service)  # pending, a second member
    acc = create("alice", "a-shared-accepted", visibility="shared", data=b"accepted by beta\n" * 7,
                 tags=("shared",))
    share("alice", acc, beta, "bob", "accepted")
    rej = create("alice", "a-shared-rejected", visibility="shared", data=b"rejected by beta\n")
    share("alice", rej, beta, "bob", "rejected")
    # A member that was added, accepted, then removed: a deleted member row.
    gone = create("alice", "a-shared-removed", visibility="shared", data=b"member removed\n")
    share("alice", gone, beta, "bob", "accepted")
    call(srv, tokens, "alice", "DELETE", f"/v2/images/{gone}/members/{beta}", expect=204)
    members[gone].remove(beta)
    # A private image with a member (Glance keeps members of an image made private again).
    priv = create("alice", "a-was-shared", visibility="shared", data=b"shared then private\n")
    share("alice", priv, beta, "bob", "accepted")
    jcall(srv, tokens, "alice", "PATCH", f"/v2/images/{priv}",
          [{"op": "replace", "path": "/visibility", "value": "private"}], expect=200,
          ctype="application/openstack-images-v2.1-json-patch")
    create("alice", "a-community", visibility="community", data=b"community data\n", os_type="linux")
    create("adam", "a-public", visibility="public", data=b"public data of alpha\n" * 3, tags=("public",))
    deleted = create("alice", "a-deleted", data=b"soon deleted\n")
    call(srv, tokens, "alice", "DELETE", f"/v2/images/{deleted}", expect=204)
    deact = create("alice", "a-deactivated", data=b"deactivated data\n")
    call(srv, tokens, "adam", "POST", f"/v2/images/{deact}/actions/deactivate", expect=204)
    # A property changed after creation, one removed, a tag added and one removed.
    img = ids["a-private"]
    jcall(srv, tokens, "alice", "PATCH", f"/v2/images/{img}",
          [{"op": "replace", "path": "/custom_key", "value": "v2"},
           {"op": "add", "path": "/removed_prop", "value": "x"}], expect=200,
          ctype="application/openstack-images-v2.1-json-patch")
    jcall(srv, tokens, "alice", "PATCH", f"/v2/images/{img}",
          [{"op": "remove", "path": "/removed_prop"}], expect=200,
          ctype="application/openstack-images-v2.1-json-patch")
    call(srv, tokens, "alice", "PUT", f"/v2/images/{img}/tags/t3", expect=204)
    call(srv, tokens, "alice", "DELETE", f"/v2/images/{img}/tags/t1", expect=204)

    create("bob", "b-private", data=b"beta private\n" * 11, tags=("beta",), hw_disk_bus="virtio")
    bsh = create("bob", "b-shared", visibility="shared", data=b"beta shares with alpha\n")
    share("bob", bsh, alpha, "alice", "accepted")
    share("bob", bsh, service)
    bsh2 = create("bob", "b-shared-rejected", visibility="shared", data=b"alpha said no\n")
    share("bob", bsh2, alpha, "alice", "rejected")
    create("bob", "b-community", visibility="community")  # queued, community

    create("admin", "adm-public", visibility="public", data=b"the admin's public image\n" * 5, os_distro="ubuntu")
    create("admin", "adm-private", data=b"admin private\n")
    return ids, members


# ----------------------------------------------------------------------------- recording and comparing

def list_paths():
    return ["/v2/images", "/v2/images?visibility=all", "/v2/images?visibility=shared&member_status=all",
            "/v2/images?sort=name:asc", "/v2/images?visibility=all&sort_key=size&sort_dir=asc"]


def record(srv, tokens, ids, members):
    """[(user, kind, path, answer)] in order; the paged walks follow srv's own next links."""
    out = []

    def get(user, path, kind="json"):
        status, raw, headers = call(srv, tokens, user, "GET", path)
        out.append((user, kind, path, answer(kind, status, raw, headers)))
        return status, raw

    for user in VIEWERS:
        for p in list_paths():
            get(user, p)
        path, pages = "/v2/images?limit=2", 0
        while path and pages < 40:
            status, raw = get(user, path)
            pages += 1
            path = json.loads(raw).get("next") if status == 200 else None
        for name, image in sorted(ids.items()):
            get(user, f"/v2/images/{image}")
            get(user, f"/v2/images/{image}/members")
            for m in members.get(image, []):
                get(user, f"/v2/images/{image}/members/{m}")
            get(user, f"/v2/images/{image}/file", kind="data")
    return out


def answer(kind, status, raw, headers):
    if kind == "data" and status in (200, 206):
        return {"status": status, "sha256": hashlib.sha256(raw).hexdigest(), "length": len(raw),
                "Content-MD5": {k.lower(): v for k, v in headers.items()}.get("content-md5")}
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return {"status": status, "body": body}


def keyed(lst):
    """A list of images or members, as {id: item} with the order of the ids, or None if not such a list."""
    if not lst or not all(isinstance(x, dict) for x in lst):
        return None
    for key in ("id", "member_id"):
        if all(key in x for x in lst):
            return key
    return None


def diff(a, b, path=""):
    """[(path, a_value, b_value)] where a and b differ; '<absent>' marks a field one side lacks."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append((f"{path}/{k}", "<absent>", b[k]))
            elif k not in b:
                out.append((f"{path}/{k}", a[k], "<absent>"))
            else:
                out += diff(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list):
        key = keyed(a) if keyed(a) == keyed(b) else None
        if key and all(isinstance(x, dict) for x in a + b):
            ia, ib = [x[key] for x in a], [x[key] for x in b]
            # Glance's member list has no ORDER BY (its database's order: on PostgreSQL an updated row
            # moves), so members compare as a set; every other list keeps its order.
            if path.endswith("/members"):
                ia, ib = sorted(ia), sorted(ib)
            if ia != ib:
                out.append((f"{path}[{key}s]", ia, ib))
            by_b = {x[key]: x for x in b}
            for x in a:
                if x[key] in by_b:
                    out += diff(x, by_b[x[key]], f"{path}[{key}={x[key]}]")
        elif path.endswith("/tags"):
            if sorted(a) != sorted(b):
                out.append((path, a, b))
        elif len(a) != len(b):
            out.append((path, a, b))
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                out += diff(x, y, f"{path}[{i}]")
    elif a != b:
        out.append((path, a, b))
    return out


def allowed(backend, phase, request, path):
    for be, ph, req, p, _why in ALLOWED:
        if re.search(be, backend) and re.search(ph, phase) and re.search(req, request) and re.search(p, path):
            return True
    return False


class Report:
    def __init__(self):
        self.failures = []  # (backend, phase, text)
        self.notes = []
        self.counts = {}

    def fail(self, backend, phase, text):
        self.failures.append((backend, phase, text))
        print(f"FAIL [{backend} {phase}] {text}", flush=True)

    def note(self, backend, phase, text):
        self.notes.append((backend, phase, text))
        print(f"NOTE [{backend} {phase}] {text}", flush=True)


def short(v, n=160):
    s = json.dumps(v, sort_keys=True) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + "..."


def replay_compare(report, backend, phase, first, second, recorded, tokens):
    """Replays recorded requests on `second` and compares with what `first` answered."""
    n = ndiff = 0
    for user, kind, path, want in recorded:
        status, raw, headers = call(second, tokens, user, "GET", path)
        got = answer(kind, status, raw, headers)
        n += 1
        request = f"{user} GET {path}"
        diffs = [d for d in diff(want, got) if not allowed(backend, phase, request, d[0])]
        if diffs:
            ndiff += 1
            lines = [f"{request}: {first.name} and {second.name} differ"]
            for p, x, y in diffs[:12]:
                lines.append(f"    {p or '/'}: {first.name} {short(x)}  {second.name} {short(y)}")
            if len(diffs) > 12:
                lines.append(f"    ... and {len(diffs) - 12} more")
            report.fail(backend, phase, "\n".join(lines))
    report.counts[(backend, phase)] = (n, ndiff)
    log(f"{backend} {phase}: {n} requests replayed on {second.name}, {ndiff} differ")


# ----------------------------------------------------------------------------- phases

def forward(ctx, report, tokens):
    phase = "forward"
    base = os.path.join(ctx.work, phase)
    shutil.rmtree(base, ignore_errors=True)
    store = os.path.join(base, "store")
    os.makedirs(store)
    db = Database(ctx.backend, "fwd", base)
    db.create()
    glance = glance_server(ctx, phase, db, store)
    glint = glint_server(ctx, phase, db, store)
    glance_db_sync(ctx, glance)
    start_glance(ctx, glance)
    try:
        ids, members = fill(glance, tokens, ctx.ks)
        recorded = record(glance, tokens, ids, members)
    finally:
        stop(glance)
    before = db.tables()
    out = glint_db_sync(ctx, glint)
    log(f"{ctx.backend} forward: glint db sync: {out.strip() or '(no output)'}")
    log(f"{ctx.backend} forward: tables glint added: {sorted(set(db.tables()) - set(before))}")
    # Glance's own migration tool must still accept the database glint adopted; it runs while glint serves.
    manage = subprocess.Popen([os.path.join(ctx.glance_bin, "glance-manage"), "--config-file", glance.conf,
                               "db_sync"], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    start_glint(ctx, glint)
    try:
        replay_compare(report, ctx.backend, phase, glance, glint, recorded, tokens)
    finally:
        stop(glint)
        out = manage.communicate()[0]
    if manage.returncode != 0:
        report.fail(ctx.backend, phase, f"glance-manage db_sync after glint db sync failed: {out.strip()[-600:]}")
    else:
        log(f"{ctx.backend} {phase}: glance-manage db_sync after glint: ok: {out.strip()[-60:]}")
    # The mixed fleet goes on with this database: made by Glance, filled by Glance, adopted by glint.
    ctx.adopted = (db, store, sorted(ids.values()))


def last_exception(srv):
    """The last line of the last Python exception in Glance's gunicorn log."""
    try:
        with open(os.path.join(srv.dir, "gunicorn.log")) as f:
            lines = [x.rstrip() for x in f if re.match(r"^[a-zA-Z_.]+(Error|Exception|Table)\b|^\w+\.\w+.*: ", x)]
        return lines[-1][:300] if lines else "(no exception in gunicorn.log)"
    except OSError:
        return "(no gunicorn.log)"


def reverse(ctx, report, tokens):
    phase = "reverse"
    base = os.path.join(ctx.work, phase)
    shutil.rmtree(base, ignore_errors=True)
    store = os.path.join(base, "store")
    os.makedirs(store)
    db = Database(ctx.backend, "rev", base)
    db.create()
    glance = glance_server(ctx, phase, db, store)
    glint = glint_server(ctx, phase, db, store)
    glint_db_sync(ctx, glint)
    start_glint(ctx, glint)
    try:
        ids, members = fill(glint, tokens, ctx.ks)
        recorded = record(glint, tokens, ids, members)
    finally:
        stop(glint)
    has_alembic = "alembic_version" in db.tables()
    version = db.query("SELECT version_num FROM alembic_version") if has_alembic else None
    report.note(ctx.backend, phase, f"database glint made: alembic_version "
                f"{'= ' + str(version) if has_alembic else 'absent'}")
    nloc = db.query("SELECT COUNT(*) FROM image_locations")[0][0]
    report.note(ctx.backend, phase, f"image_locations rows glint wrote for {len(ids)} images: {nloc}")
    try:
        start_glance(ctx, glance)
    except RuntimeError as e:
        stop(glance)
        report.fail(ctx.backend, phase, f"Glance does not start on the database glint made: {e}: "
                    f"{last_exception(glance)}")
        # Go on with Glance's other image cache driver, which keeps its table in a local SQLite file instead
        # of the database's node_reference and cached_images, to find what else Glance cannot serve.
        glance = glance_server(ctx, phase + "-cache-sqlite", db, store, cache_driver="sqlite")
        try:
            start_glance(ctx, glance)
        except RuntimeError as e:
            report.fail(ctx.backend, phase, f"nor with image_cache_driver = sqlite: {e}: {last_exception(glance)}")
            return
        report.note(ctx.backend, phase, "Glance started with image_cache_driver = sqlite; the replay below "
                    "is against that Glance")
    manage = subprocess.Popen([os.path.join(ctx.glance_bin, "glance-manage"), "--config-file", glance.conf,
                               "db_version"], text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        replay_compare(report, ctx.backend, phase, glint, glance, recorded, tokens)
    finally:
        stop(glance)
        out, err = manage.communicate()
    report.note(ctx.backend, phase, f"glance-manage db_version on glint's database: exit {manage.returncode}: "
                f"{(out.strip() or err.strip()).splitlines()[-1:]}")


def mixed(ctx, report, tokens):
    phase = "mixed"
    base = os.path.join(ctx.work, phase)
    shutil.rmtree(base, ignore_errors=True)
    if getattr(ctx, "adopted", None):
        # The forward phase's database and store (Glance's data, adopted by glint): both serve it again.
        db, store, earlier = ctx.adopted
        glance = glance_server(ctx, phase, db, store, 1)
        glint = glint_server(ctx, phase, db, store, 1)
    else:
        store = os.path.join(base, "store")
        os.makedirs(store)
        db = Database(ctx.backend, "mix", base)
        db.create()
        glance = glance_server(ctx, phase, db, store, 1)
        glint = glint_server(ctx, phase, db, store, 1)
        glance_db_sync(ctx, glance)
        glint_db_sync(ctx, glint)
        earlier = []
    start_glance(ctx, glance)
    start_glint(ctx, glint)
    servers = [glance, glint]
    beta, service = ctx.ks["BETA_PROJECT_ID"], ctx.ks["SERVICE_PROJECT_ID"]
    errors = {"Glance": [], "glint": []}
    deleted = set()
    lock = threading.Lock()

    def req(srv, user, method, path, body=None):
        try:
            status, raw, _ = call(srv, tokens, user, method, path, body)
        except Exception as e:  # noqa: BLE001 - a dropped connection is an error of that server
            status, raw = 0, str(e).encode()
        if status >= 500 or status == 0:
            with lock:
                errors[srv.name].append(f"{user} {method} {path}: HTTP {status}: {raw[:200]!r}")
        return status

    def together(*calls):
        """Runs the calls at the same moment, one thread each; their statuses in order."""
        res = [None] * len(calls)
        barrier = threading.Barrier(len(calls))

        def go(i, c):
            barrier.wait()
            res[i] = req(*c)
        ts = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(calls)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return res

    anomalies = []
    revived_twice = []
    duplicated = set()

    def scenario(i, image):
        a, b = servers[i % 2], servers[(i + 1) % 2]
        path = f"/v2/images/{image}/members"
        for rnd in range(3):
            # The same member added through both at once: one 200, one 409.
            st = together((a, "alice", "POST", path, {"member": beta}), (b, "alice", "POST", path, {"member": beta}))
            # Both 409 is right when the member is still there (a removal before failed on a server error).
            live = db.query(f"SELECT COUNT(*) FROM image_members WHERE image_id = '{image}' AND member = "
                            f"'{beta}' AND deleted = {db.false()}")[0][0]
            if st.count(200) > 1 and int(live) == 1:
                # Both found the same removed row and made it live again (Glance's add reuses a deleted row as
                # glint's does, and takes no lock glint's lock excludes): one membership, as if one had won.
                with lock:
                    revived_twice.append(image)
            elif int(live) > 1 and ctx.backend == "mysql" and all(x in (200, 409) for x in st):
                # Glance checks for the member and inserts without a lock, and MySQL has no partial unique index
                # to refuse a second live row: Glance beside any other writer (Glance too) can leave two.
                # Documented (docs/TAKEOVER.md); glint must still serve and delete them (checked below).
                with lock:
                    duplicated.add((image, beta))
            elif st.count(200) > 1 or int(live) > 1 or any(x not in (200, 409) and x < 500 and x != 0 for x in st):
                anomalies.append(f"image {image} round {rnd}: the same member added through {a.name} and "
                                 f"{b.name} at once: they answered {st}; live rows for (image, member) "
                                 f"right after: {live}")
            # Statuses changed through both at once, several times.
            for k in range(3):
                together((a, "bob", "PUT", f"{path}/{beta}", {"status": "accepted"}),
                         (b, "bob", "PUT", f"{path}/{beta}", {"status": "rejected" if k % 2 else "pending"}))
            # A second member added on one while the first is removed on the other.
            together((b, "alice", "POST", path, {"member": service}), (a, "alice", "DELETE", f"{path}/{beta}"))
            together((a, "alice", "DELETE", f"{path}/{service}"), (b, "alice", "GET", path))
        # Half the images end deleted, through one server while the other adds and updates members.
        together((a, "alice", "POST", path, {"member": beta}))
        if i % 2 == 0:
            st = together((b, "alice", "DELETE", f"/v2/images/{image}"),
                          (a, "alice", "POST", path, {"member": service}),
                          (a, "bob", "PUT", f"{path}/{beta}", {"status": "accepted"}))
            if st[0] == 204:
                with lock:
                    deleted.add(image)
            else:
                anomalies.append(f"image {image}: delete answered {st[0]}")

    try:
        images = []
        for i in range(8):
            srv = servers[i % 2]
            _, img = jcall(srv, tokens, "alice", "POST", "/v2/images",
                           {"name": f"mix-{i}", "visibility": "shared", "disk_format": "raw",
                            "container_format": "bare"}, expect=201)
            call(srv, tokens, "alice", "PUT", f"/v2/images/{img['id']}/file", f"mixed {i}\n".encode(),
                 ctype="application/octet-stream", expect=204)
            images.append(img["id"])
        threads = [threading.Thread(target=scenario, args=(i, im)) for i, im in enumerate(images)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log(f"{ctx.backend} mixed: concurrent phase took {time.time() - t0:.1f}s")

        for name in ("glint", "Glance"):
            if not errors[name]:
                continue
            text = f"{len(errors[name])} server errors from {name}; first: " + "; ".join(errors[name][:2])
            locked = 0
            if name == "Glance" and ctx.backend == "sqlite":
                with open(glance.logfile, errors="replace") as f:
                    locked = sum(1 for x in f if "Caught error: (sqlite3.OperationalError) database is locked" in x)
            if locked >= len(errors[name]):
                # Glance's own limit on SQLite (no busy timeout: a write meeting another one fails at once),
                # whoever the other writer is; bench/run.sh sees the same with Glance alone.
                report.note(ctx.backend, phase, f"{len(errors[name])} Glance 500s, all 'database is locked' "
                            "(Glance on SQLite, not glint)")
            else:
                report.fail(ctx.backend, phase, text)
        for x in anomalies:
            report.fail(ctx.backend, phase, x)
        if revived_twice:
            report.note(ctx.backend, phase, f"{len(revived_twice)} times the same member added through both at "
                        "once answered 200 twice with one live row after (both re-used the removed row)")

        # The rows.
        f = db.false()
        ids = ",".join(f"'{x}'" for x in images)
        dup = db.query("SELECT image_id, member, COUNT(*) FROM image_members WHERE deleted = "
                       f"{f} GROUP BY image_id, member HAVING COUNT(*) > 1")
        for r in dup:
            if ctx.backend == "mysql" and (r[0], r[1]) in duplicated:
                continue
            report.fail(ctx.backend, phase, f"two live member rows for one (image, member): {r}")
        if duplicated:
            report.note(ctx.backend, phase, f"{len(duplicated)} times two live rows for one (image, member) after "
                        "Glance added the member at the same moment as the other server (Glance takes no lock; "
                        f"MySQL has no partial unique index); {len(dup)} such pairs left at the end")
        bad = db.query(f"SELECT id, status, deleted FROM images WHERE id IN ({ids}) AND "
                       f"((status = 'deleted') <> (deleted <> {f}))")
        for r in bad:
            report.fail(ctx.backend, phase, f"image status and deleted flag disagree: {r}")
        for r in db.query(f"SELECT id, status, deleted FROM images WHERE id IN ({ids})"):
            if r[0] in deleted and r[1] != "deleted":
                report.fail(ctx.backend, phase, f"deleted image revived: {r}")
            if r[0] not in deleted and r[1] != "active":
                report.fail(ctx.backend, phase, f"image should be active: {r}")
        st = db.query(f"SELECT image_id, member, status FROM image_members WHERE deleted = {f} AND "
                      "status NOT IN ('pending', 'accepted', 'rejected')")
        for r in st:
            report.fail(ctx.backend, phase, f"member row with an unknown status: {r}")
        live_on_deleted = db.query(f"SELECT m.image_id, m.member, m.status, m.deleted_at, m.updated_at "
                                   f"FROM image_members m JOIN images i ON i.id = m.image_id "
                                   f"WHERE m.deleted = {f} AND i.deleted <> {f}")
        # A member write racing the image's delete. Glance's member update writes deleted = false by row id
        # and leaves deleted_at (so such a row has deleted_at set); glint's revive clears deleted_at and
        # runs under the image row's lock. Reported, not failed: Glance does this beside itself too.
        if live_on_deleted:
            by = "Glance (deleted_at left set)" if all(r[3] for r in live_on_deleted) else "glint or Glance"
            report.note(ctx.backend, phase, f"{len(live_on_deleted)} live member rows of deleted images, made "
                        f"live again by {by} racing the image delete: {live_on_deleted[:3]}")
        nrows = db.query(f"SELECT COUNT(*) FROM image_members WHERE image_id IN ({ids})")[0][0]
        log(f"{ctx.backend} mixed: {len(images)} images, {len(deleted)} deleted, {nrows} member rows, "
            f"{len(dup)} duplicate live pairs")

        # Both APIs answer the same for every image.
        n = ndiff = 0
        # The mixed images, and the forward phase's (served by both at once now).
        for image in images + earlier:
            for user, path in (("alice", f"/v2/images/{image}"), ("alice", f"/v2/images/{image}/members"),
                               ("bob", f"/v2/images/{image}"), ("bob", f"/v2/images/{image}/members/{beta}"),
                               ("alice", f"/v2/images/{image}/members/{service}"),
                               ("alice", f"/v2/images/{image}/file")):
                kind = "data" if path.endswith("/file") else "json"
                s1, r1, h1 = call(glance, tokens, user, "GET", path)
                s2, r2, h2 = call(glint, tokens, user, "GET", path)
                d = diff(answer(kind, s1, r1, h1), answer(kind, s2, r2, h2))
                n += 1
                request = f"{user} GET {path}"
                d = [x for x in d if not allowed(ctx.backend, phase, request, x[0])]
                if d and ctx.backend == "mysql" and any(r[0] == image for r in dup):
                    # Two rows for one member (see `duplicated`): each server lists both in its own order and
                    # shows one of them; which one is not a difference between the two.
                    shown = path.rsplit("/", 1)[-1]
                    if path.endswith("/members"):
                        d = [x for x in d if not x[0].startswith("/body/members")]
                    elif (image, shown) in {(r[0], r[1]) for r in dup}:
                        d = [x for x in d if not x[0].startswith("/body")]
                if d:
                    ndiff += 1
                    report.fail(ctx.backend, phase, f"{request}: Glance and glint differ\n" + "\n".join(
                        f"    {p or '/'}: Glance {short(x)}  glint {short(y)}" for p, x, y in d[:12]))
        report.counts[(ctx.backend, phase)] = (n, ndiff)
        log(f"{ctx.backend} mixed: {n} requests compared between the two, {ndiff} differ")
    finally:
        stop(glance)
        stop(glint)


# ----------------------------------------------------------------------------- main

def object_store_sections(env, backend, datadir):
    """The swift and s3 `[glance_store]` sections both servers use, one container/bucket per backend."""
    name = f"glint-takeover-{backend}-{os.getpid()}"
    common = f"[glance_store]\nfilesystem_store_datadir = {datadir}\n"
    return {
        "swift": common + (
            "stores = file,swift\ndefault_store = swift\nswift_store_auth_version = 3\n"
            f"swift_store_auth_address = {env['SWIFT_KEYSTONE_AUTH_URL']}\n"
            f"swift_store_user = {env['SWIFT_KEYSTONE_USER']}\nswift_store_key = {env['SWIFT_KEYSTONE_KEY']}\n"
            f"swift_store_container = {name}\nswift_store_create_container_on_put = true\n"),
        "s3": common + (
            "stores = file,s3\ndefault_store = s3\n"
            f"s3_store_host = {env['S3_ENDPOINT']}\n"
            f"s3_store_access_key = {env['S3_KEYSTONE_ACCESS_KEY']}\n"
            f"s3_store_secret_key = {env['S3_KEYSTONE_SECRET_KEY']}\n"
            f"s3_store_bucket = {name}\ns3_store_create_bucket_on_put = true\n"
            "s3_store_bucket_url_format = path\n"),
    }


def stores(ctx, report, tokens):
    """Glance and glint on one database and one object store: each reads and deletes what the other wrote."""
    if not ctx.a.swift_env or not os.path.exists(ctx.a.swift_env):
        report.fail(ctx.backend, "stores", "no --swift-env: start scripts/swift.sh (after Keystone)")
        return
    env = read_env(ctx.a.swift_env)
    if "S3_KEYSTONE_ACCESS_KEY" not in env:
        report.fail(ctx.backend, "stores", "the Swift server takes no Keystone credentials (start Keystone first)")
        return
    base = os.path.join(ctx.work, "stores")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    db = Database(ctx.backend, "stores", base)
    db.create()
    synced = False
    for kind, section in object_store_sections(env, ctx.backend, os.path.join(base, "files")).items():
        phase = f"stores-{kind}"
        glance = glance_server(ctx, phase, db, section)
        glint = glint_server(ctx, phase, db, section)
        if not synced:
            glance_db_sync(ctx, glance)
            glint_db_sync(ctx, glint)
            synced = True
        start_glance(ctx, glance)
        start_glint(ctx, glint)
        checks = failures = 0
        for writer, reader in ((glint, glance), (glance, glint)):
            data = os.urandom(300_000)
            _, img = jcall(writer, tokens, "alice", "POST", "/v2/images",
                           {"name": f"{kind} by {writer.name}", "disk_format": "raw", "container_format": "bare"},
                           expect=201)
            iid = img["id"]
            call(writer, tokens, "alice", "PUT", f"/v2/images/{iid}/file", data,
                 ctype="application/octet-stream", expect=204)
            # The location is the writer's, in glance_store's form, readable by the other.
            loc = db.query(f"SELECT value FROM image_locations WHERE image_id = '{iid}' AND deleted = {db.false()}")
            # glance_store writes s3:// for an http endpoint too (s3+https:// for https).
            scheme = {"swift": "swift+http://", "s3": "s3://"}[kind]
            checks += 1
            if len(loc) != 1 or not loc[0][0].startswith(scheme):
                failures += 1
                report.fail(ctx.backend, phase, f"{writer.name}'s location is not {scheme}...: {short(loc)}")
            status, raw, headers = call(reader, tokens, "alice", "GET", f"/v2/images/{iid}/file")
            checks += 1
            if status != 200 or raw != data:
                failures += 1
                report.fail(ctx.backend, phase, f"{reader.name} reading {writer.name}'s {kind} object: HTTP {status}, "
                            f"{len(raw)} bytes (wanted {len(data)}): {raw[:200]!r}")
            checks += 1
            md5 = hashlib.md5(data).hexdigest()
            if (headers.get("Content-MD5") or headers.get("content-md5")) != md5:
                failures += 1
                report.fail(ctx.backend, phase, f"{reader.name}: Content-MD5 of {writer.name}'s image is "
                            f"{headers.get('Content-MD5')!r}, not {md5}")
            # The reader deletes it: the object goes from the store too (the writer can no longer read it).
            call(reader, tokens, "alice", "DELETE", f"/v2/images/{iid}", expect=204)
            checks += 1
            gone = db.query(f"SELECT status FROM image_locations WHERE image_id = '{iid}'")
            if [r[0] for r in gone] != ["deleted"]:
                failures += 1
                report.fail(ctx.backend, phase, f"{reader.name} deleting {writer.name}'s image left locations "
                            f"{short(gone)}")
        report.counts[(ctx.backend, phase)] = (checks, failures)
        stop_all(ctx.backend)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("backends", nargs="+", choices=["sqlite", "postgres", "mysql"])
    ap.add_argument("--phases", default="forward,reverse,mixed")
    ap.add_argument("--work", required=True)
    ap.add_argument("--glance-venv", required=True)
    ap.add_argument("--glint-bin", required=True)
    ap.add_argument("--keystone-env", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--swift-env", help="the env file of scripts/swift.sh (for the stores phase)")
    a = ap.parse_args()
    global PIDFILE
    PIDFILE = a.pidfile
    # A TERM (run.sh's trap) ends the run through the finally below, which stops every server.
    def on_term(*_):
        STOPPING.set()
        sys.exit(143)
    signal.signal(signal.SIGTERM, on_term)
    ks = read_env(a.keystone_env)
    tokens = Tokens(ks)
    report = Report()
    phases = {"forward": forward, "reverse": reverse, "mixed": mixed, "stores": stores}
    t0 = time.time()

    def run_backend(backend):
        ctx = Ctx(a, ks, backend)
        for ph in a.phases.split(","):
            t = time.time()
            log(f"=== {backend} {ph} ===")
            try:
                phases[ph](ctx, report, tokens)
            except Exception as e:  # noqa: BLE001 - a phase that breaks is a failure; go on with the next
                traceback.print_exc()
                report.fail(backend, ph, f"phase did not finish: {e}")
            finally:
                stop_all(backend)
            log(f"{backend} {ph}: {time.time() - t:.0f}s")

    # The backends run side by side (their own ports and databases): the run takes about as long as the
    # slowest one instead of the sum.
    try:
        threads = [threading.Thread(target=run_backend, args=(b,), daemon=True) for b in dict.fromkeys(a.backends)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    except BaseException:
        STOPPING.set()
        raise
    finally:
        stop_all()
    print("\n== takeover summary ==")
    for (backend, ph), (n, nd) in sorted(report.counts.items()):
        print(f"  {backend:9s} {ph:8s} {n:4d} requests compared, {nd:3d} differ")
    for backend, ph, text in report.notes:
        print(f"  note [{backend} {ph}] {text}")
    kinds = {}
    for backend, ph, text in report.failures:
        head, *rest = text.split("\n")
        m = re.match(r"(\w+) GET (\S+): ", head)
        if m:
            what = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{32}", "*", m.group(2))
            what = re.sub(r"marker=\*", "marker=*", what)
            sig = " ".join(sorted(set(r.strip().split(":")[0] for r in rest)))
            key = (backend, ph, f"GET {what} differs at {sig}")
        else:
            key = (backend, ph, re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "*", head)[:200])
        kinds[key] = kinds.get(key, 0) + 1
    if kinds:
        print("  failures by kind (backend, phase, count, what):")
        for (backend, ph, what), k in sorted(kinds.items()):
            print(f"    {backend:9s} {ph:8s} {k:4d}x {what}")
    by = {}
    for backend, ph, _ in report.failures:
        by[(backend, ph)] = by.get((backend, ph), 0) + 1
    for (backend, ph), k in sorted(by.items()):
        print(f"  FAIL {backend} {ph}: {k} failures")
    print(f"  {time.time() - t0:.0f}s in all")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
