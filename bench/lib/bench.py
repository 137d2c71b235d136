#!/usr/bin/env python3
"""glint vs Glance side-by-side benchmark driver (Python standard library only).

Started by bench/run.sh, which installs Glance, builds glint and starts Keystone first. This file:
creates the databases (SQLite files, or databases bench_glint / bench_glance on PostgreSQL or MariaDB), writes both
servers' configs, runs their schema migrations, seeds identical data in bulk SQL, starts glint and
Glance (gunicorn) on loopback, drives every workload with wrk (curl for uploads), samples the servers'
resident memory and CPU time from /proc, prints the Markdown tables and writes bench/RESULTS.md.

Nothing here asserts on timings: it measures and reports.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

NS = uuid.UUID("6f1d3c2a-0b7e-4c55-9a51-6c1f00b0e7a1")
BASE_TIME = datetime.datetime(2026, 1, 1, 0, 0, 0)
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024

API_WORKLOADS = [
    # name, description
    ("image-show", "GET /v2/images/{id} as the owner (1,000 images in turn)"),
    ("member-list", "GET /v2/images/{id}/members as the owner (100 images, 4 or 5 members each)"),
    ("list-default", "GET /v2/images as the consumer (100 accepted shares among 10,000 images)"),
    ("list-shared-all", "GET /v2/images?visibility=shared&member_status=all as the consumer"),
    ("list-owner", "GET /v2/images as the owner (first page of 25; it sees its 1,000 images)"),
    ("member-status", "PUT /v2/images/{id}/members/{consumer} as the consumer, accepted/rejected in turn"),
    ("member-create-delete", "POST /v2/images/{id}/members, then DELETE it, as the owner (new ids)"),
]
TRANSFER_WORKLOADS = ["download", "upload"]


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def try_sh(cmd, **kw):
    try:
        return subprocess.run(cmd, text=True, capture_output=True, timeout=60, **kw).stdout.strip()
    except Exception as e:  # noqa: BLE001 - only used for version strings
        return f"? ({e})"


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


# ----------------------------------------------------------------------------- /proc sampling

def proc_tree(root_pid):
    """root_pid and all its descendants (gunicorn master + workers)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    except OSError:
        return 0.0


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


def pg_backend_pids(dbname):
    out = try_sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-tAc",
                  f"SELECT pid FROM pg_stat_activity WHERE datname = '{dbname}'"])
    return [int(x) for x in out.split() if x.isdigit()]


def mariadb_pids(_dbname):
    # MariaDB serves every connection from threads of one process: its CPU cannot be told apart per
    # database, so the whole server is sampled (only one of the two servers is under load at a time).
    out = try_sh(["pidof", "mariadbd"]) or try_sh(["pidof", "mysqld"])
    return [int(x) for x in out.split() if x.isdigit()]


class Sampler:
    """Samples a server's process tree (and its database's processes) while a load runs.

    CPU is the growth of utime+stime of each pid seen during the run (a pid's first reading is its
    baseline, or 0 if it was born during the run); RSS is the peak of the summed resident sets.
    """

    def __init__(self, server, interval=0.2):
        self.server = server
        self.interval = interval
        self.stop_evt = threading.Event()
        self.base, self.last, self.db_base, self.db_last = {}, {}, {}, {}
        self.peak_rss = 0
        self.thread = None

    def _pids(self):
        return proc_tree(self.server.pid)

    def _db_pids(self):
        if not self.server.pg_dbname:
            return []
        return (mariadb_pids if self.server.dbkind == "mariadb" else pg_backend_pids)(self.server.pg_dbname)

    def _read(self, first=False):
        pids = self._pids()
        rss = 0
        for p in pids:
            c = cpu_seconds(p)
            if p not in self.base:
                self.base[p] = c if first else 0.0
            self.last[p] = max(self.last.get(p, 0.0), c)
            rss += rss_bytes(p)
        self.peak_rss = max(self.peak_rss, rss)

    def _read_db(self, first=False):
        for p in self._db_pids():
            c = cpu_seconds(p)
            if p not in self.db_base:
                self.db_base[p] = c if first else 0.0
            self.db_last[p] = max(self.db_last.get(p, 0.0), c)

    def _loop(self):
        n = 0
        while not self.stop_evt.wait(self.interval):
            self._read()
            n += 1
            if self.server.pg_dbname and n % 3 == 0:
                self._read_db()

    def start(self):
        self._read(first=True)
        if self.server.pg_dbname:
            self._read_db(first=True)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_evt.set()
        self.thread.join()
        self._read()
        if self.server.pg_dbname:
            self._read_db()
        cpu = sum(self.last[p] - self.base[p] for p in self.last)
        db_cpu = sum(self.db_last[p] - self.db_base[p] for p in self.db_last) if self.server.pg_dbname else None
        return {"cpu_s": cpu, "db_cpu_s": db_cpu, "rss_peak": self.peak_rss}


def server_rss(server):
    return sum(rss_bytes(p) for p in proc_tree(server.pid))


# ----------------------------------------------------------------------------- HTTP helpers

def http(method, url, token=None, body=None, ctype="application/json", timeout=120):
    headers = {}
    if token:
        headers["X-Auth-Token"] = token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = ctype
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, raw, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def keystone_token(auth_url, user, password, project):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    status, raw, headers = http("POST", f"{auth_url}/auth/tokens", body=body)
    if status != 201:
        raise RuntimeError(f"keystone token for {user}: HTTP {status}: {raw[:200]!r}")
    return headers.get("X-Subject-Token") or headers.get("x-subject-token")


# ----------------------------------------------------------------------------- servers

class Server:
    def __init__(self, name, port, workdir, logfile):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.dir = workdir
        self.logfile = logfile
        self.proc = None
        self.pg_dbname = None  # the server database's name (PostgreSQL or MariaDB), for DB CPU sampling
        self.dbkind = None

    @property
    def pid(self):
        return self.proc.pid

    def wait_up(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.logfile}")
            try:
                status, _, _ = http("GET", f"{self.url}/healthcheck", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer on {self.url} in {timeout}s; see {self.logfile}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def keystone_section(ks):
    return f"""[keystone_authtoken]
www_authenticate_uri = {ks['KEYSTONE_URL']}
auth_url = {ks['KEYSTONE_AUTH_URL']}
auth_type = password
username = {ks['GLINT_SERVICE_USER']}
password = {ks['GLINT_SERVICE_PASSWORD']}
project_name = {ks['GLINT_SERVICE_PROJECT']}
user_domain_name = Default
project_domain_name = Default
token_cache_time = 300
"""


def setup_glint(a, ks, dbkind, workdir):
    d = os.path.join(workdir, "glint")
    os.makedirs(os.path.join(d, "images"), exist_ok=True)
    if dbkind == "sqlite":
        url = f"sqlite:///{d}/glint.db"
    elif dbkind == "mariadb":
        url = f"mysql+pymysql://root@127.0.0.1:3306/{a.pg_glint_db}?charset=utf8mb4"
    else:
        url = f"postgresql://postgres@127.0.0.1:5432/{a.pg_glint_db}"
    conf = os.path.join(d, "glint-api.conf")
    with open(conf, "w") as f:
        f.write(f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {a.glint_port}
workers = {a.glint_workers}
public_endpoint = http://127.0.0.1:{a.glint_port}

[database]
connection = {url}

[glance_store]
filesystem_store_datadir = {d}/images

[paste_deploy]
flavor = keystone

{keystone_section(ks)}""")
    os.chmod(conf, 0o600)
    sh([a.glint_bin, "--config-file", conf, "--data-dir", d, "db", "sync"])
    srv = Server("glint", a.glint_port, d, os.path.join(d, "glint.log"))
    srv.conf = conf
    srv.db_url = url
    if dbkind != "sqlite":
        srv.pg_dbname = a.pg_glint_db
    srv.dbkind = dbkind
    return srv


def start_glint(a, srv):
    logf = open(srv.logfile, "a")
    srv.proc = subprocess.Popen([a.glint_bin, "--config-file", srv.conf, "--data-dir", srv.dir, "serve"],
                                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    srv.wait_up()


def setup_glance(a, ks, dbkind, workdir):
    d = os.path.join(workdir, "glance")
    for sub in ("images", "staging", "cache"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    if dbkind == "sqlite":
        url = f"sqlite:///{d}/glance.db"
    elif dbkind == "mariadb":
        url = f"mysql+pymysql://root@127.0.0.1:3306/{a.pg_glance_db}?charset=utf8mb4"
    else:
        url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{a.pg_glance_db}"
    paste_src = os.path.join(a.glance_venv, "etc", "glance", "glance-api-paste.ini")
    with open(paste_src) as f:
        paste = f.read().replace("/etc/glance/healthcheck_disable", f"{d}/healthcheck_disable")
    with open(os.path.join(d, "glance-api-paste.ini"), "w") as f:
        f.write(paste)
    conf = os.path.join(d, "glance-api.conf")
    with open(conf, "w") as f:
        f.write(f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {a.glance_port}
log_file = {d}/glance.log
node_staging_uri = file://{d}/staging
worker_self_reference_url = http://127.0.0.1:{a.glance_port}
image_cache_dir = {d}/cache
public_endpoint = http://127.0.0.1:{a.glance_port}

[database]
connection = {url}

[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {d}/images

[paste_deploy]
flavor = keystone
config_file = {d}/glance-api-paste.ini

{keystone_section(ks)}""")
    os.chmod(conf, 0o600)
    with open(os.path.join(d, "bench_glance_wsgi.py"), "w") as f:
        f.write("# Glance parses sys.argv with oslo.config: drop gunicorn's arguments first.\n"
                "import sys\nsys.argv = sys.argv[:1]\n"
                "from glance.wsgi.api import application  # noqa: E402,F401\n")
    sh([os.path.join(a.glance_venv, "bin", "glance-manage"), "--config-file", conf, "db_sync"])
    srv = Server("Glance", a.glance_port, d, os.path.join(d, "glance.log"))
    srv.conf = conf
    srv.db_url = url
    if dbkind != "sqlite":
        srv.pg_dbname = a.pg_glance_db
    srv.dbkind = dbkind
    return srv


def start_glance(a, srv):
    logf = open(os.path.join(srv.dir, "gunicorn.log"), "a")
    env = dict(os.environ, OS_GLANCE_CONFIG_DIR=srv.dir)
    cmd = [os.path.join(a.glance_venv, "bin", "gunicorn"), "--chdir", srv.dir,
           "--bind", f"127.0.0.1:{a.glance_port}", "--workers", str(a.glance_workers),
           "--worker-class", "gthread", "--threads", str(a.glance_threads),
           "--timeout", "600", "--no-control-socket", "bench_glance_wsgi:application"]
    srv.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    srv.wait_up(timeout=180)


# ----------------------------------------------------------------------------- databases and seeding

def psql(db, sql_or_file, is_file=False):
    cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-q"]
    cmd += ["-f", sql_or_file] if is_file else ["-c", sql_or_file]
    return sh(cmd)


def mysql(sql_or_file, db=None, is_file=False):
    cmd = ["mysql", "--protocol=TCP", "-h", "127.0.0.1", "-P", "3306", "-u", "root"] + ([db] if db else [])
    if is_file:
        with open(sql_or_file) as f:
            return sh(cmd, stdin=f)
    return sh(cmd + ["-e", sql_or_file])


def reset_databases(a, dbkind, workdir):
    for name in ("glint", "glance"):
        path = os.path.join(workdir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
    if dbkind == "postgres":
        for db in (a.pg_glint_db, a.pg_glance_db):
            psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            psql("postgres", f'CREATE DATABASE "{db}"')
    elif dbkind == "mariadb":
        for db in (a.pg_glint_db, a.pg_glance_db):
            mysql(f"DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}` CHARACTER SET utf8mb4")


class Dataset:
    """The identical data both servers get. Deterministic ids (uuid5), so runs are comparable."""

    def __init__(self, n_images, n_shares, owner, consumer, layout="spread"):
        self.owner, self.consumer = owner, consumer
        self.n_images, self.n_shares = n_images, n_shares
        self.ids = [str(uuid.uuid5(NS, f"image-{i}")) for i in range(n_images)]
        self.owned = min(1000, n_images)          # images 0..owned-1 belong to the owner project
        # shared with the consumer, accepted: spread evenly over the creation order (neutral for any
        # query plan), or the oldest ones (worst case for a plan that scans images newest first)
        if layout == "oldest":
            self.share_idx = list(range(n_shares))
        else:
            step = n_images // n_shares
            self.share_idx = [step // 2 + k * step for k in range(n_shares)]
        self.shared_ids = [self.ids[i] for i in self.share_idx]
        self.member_list_ids = self.ids[:100]      # 4 extra pending members each
        self.create_ids = self.ids[200:300]        # member create/delete targets (no seeded members)
        self.show_ids = self.ids[:self.owned]

    def rows(self):
        images, props, tags, members = [], [], [], []
        others = [uuid.uuid5(NS, f"project-{k}").hex for k in range(90)]
        shares = set(self.share_idx)
        for i, iid in enumerate(self.ids):
            t = BASE_TIME + datetime.timedelta(seconds=i)
            owner = self.owner if i < self.owned else others[i % 90]
            vis = "shared" if i < self.owned or i % 10 == 0 or i in shares else "private"
            name = f"bench-{i:05d}"
            images.append(dict(
                id=iid, name=name, size=12_582_912, status="active", created_at=t, updated_at=t,
                deleted_at=None, deleted=False, disk_format="qcow2", container_format="bare",
                checksum=hashlib.md5(name.encode()).hexdigest(), owner=owner, min_disk=0, min_ram=0,
                protected=False, virtual_size=1_073_741_824, visibility=vis, os_hidden=False,
                os_hash_algo="sha512", os_hash_value=hashlib.sha512(name.encode()).hexdigest()))
            for k, v in (("os_distro", "ubuntu"), ("bench_index", str(i))):
                props.append(dict(image_id=iid, name=k, value=v, created_at=t, updated_at=t,
                                  deleted_at=None, deleted=False))
            tags.append(dict(image_id=iid, value="bench", created_at=t, updated_at=t,
                             deleted_at=None, deleted=False))
        for i, iid in enumerate(self.shared_ids):
            t = BASE_TIME + datetime.timedelta(days=1, seconds=i)
            members.append(dict(image_id=iid, member=self.consumer, can_share=False, status="accepted",
                                created_at=t, updated_at=t, deleted_at=None, deleted=False))
        for i, iid in enumerate(self.member_list_ids):
            t = BASE_TIME + datetime.timedelta(days=2, seconds=i)
            for k in range(4):
                members.append(dict(image_id=iid, member=uuid.uuid5(NS, f"member-{k}").hex, can_share=False,
                                    status="pending", created_at=t, updated_at=t, deleted_at=None,
                                    deleted=False))
        return {"images": images, "image_properties": props, "image_tags": tags, "image_members": members}


def _sqlite_value(v):
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    return v


def _pg_copy_value(v):
    if v is None:
        return r"\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _mysql_value(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime.datetime):
        v = v.strftime("%Y-%m-%d %H:%M:%S.%f")
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def seed(srv, dbkind, tables, tmpdir):
    t0 = time.time()
    if dbkind == "sqlite":
        path = srv.db_url.split("sqlite:///", 1)[1]
        con = sqlite3.connect(path)
        with con:
            for table, rows in tables.items():
                cols = list(rows[0].keys())
                con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                [tuple(_sqlite_value(r[c]) for c in cols) for r in rows])
        con.execute("ANALYZE")
        con.close()
    elif dbkind == "mariadb":
        # multi-row INSERTs, 1,000 rows each, in one transaction, then ANALYZE TABLE
        script = os.path.join(tmpdir, f"seed-{srv.pg_dbname}.sql")
        with open(script, "w") as f:
            f.write("SET autocommit = 0;\n")
            for table, rows in tables.items():
                cols = list(rows[0].keys())
                for i in range(0, len(rows), 1000):
                    f.write(f"INSERT INTO {table} ({', '.join(cols)}) VALUES\n")
                    f.write(",\n".join("(" + ", ".join(_mysql_value(r[c]) for c in cols) + ")"
                                       for r in rows[i:i + 1000]) + ";\n")
            f.write("COMMIT;\n")
            f.write(f"ANALYZE TABLE {', '.join(tables)};\n")
        mysql(script, db=srv.pg_dbname, is_file=True)
    else:
        script = os.path.join(tmpdir, f"seed-{srv.pg_dbname}.sql")
        with open(script, "w") as f:
            f.write("BEGIN;\n")
            for table, rows in tables.items():
                cols = list(rows[0].keys())
                f.write(f"COPY {table} ({', '.join(cols)}) FROM STDIN;\n")
                for r in rows:
                    f.write("\t".join(_pg_copy_value(r[c]) for c in cols) + "\n")
                f.write("\\.\n")
            f.write("COMMIT;\nANALYZE;\n")
        psql(srv.pg_dbname, script, is_file=True)
    log(f"seeded {srv.name} ({dbkind}) in {time.time() - t0:.1f}s: "
        + ", ".join(f"{len(v)} {k}" for k, v in tables.items()))


# ----------------------------------------------------------------------------- load

def parse_wrk(out):
    res = {"statuses": {}, "samples": []}
    for line in out.splitlines():
        if line.startswith("BENCH "):
            for kv in line[6:].split():
                k, v = kv.split("=")
                res[k] = float(v)
        elif line.startswith("BENCH_STATUS"):
            for kv in line.split()[1:]:
                k, v = kv.split("=")
                res["statuses"][int(k)] = int(v)
        elif line.startswith("BENCH_SAMPLE "):
            res["samples"].append(line[13:])
    if "requests" not in res:
        raise RuntimeError(f"wrk printed no BENCH line:\n{out[-2000:]}")
    return res


def run_wrk(a, srv, url_path, conc, duration, script, env, timeout_s=60):
    threads = max(1, min(conc, a.wrk_threads))
    cmd = ["wrk", "-t", str(threads), "-c", str(conc), "-d", f"{duration}s", "--timeout", f"{timeout_s}s",
           "-s", script, srv.url + url_path]
    full_env = dict(os.environ, **env)
    sampler = Sampler(srv)
    load0 = os.getloadavg()[0]
    sampler.start()
    p = subprocess.run(cmd, text=True, capture_output=True, env=full_env)
    usage = sampler.stop()
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stderr[-2000:]}")
    r = parse_wrk(p.stdout)
    r.update(usage)
    r["loadavg_before"] = load0
    r["loadavg_after"] = os.getloadavg()[0]
    r["wrk_threads"] = threads
    return r


def summarize_api(r, idle_rss):
    secs = r["duration_us"] / 1e6
    n = int(r["requests"])
    bad_status = sum(v for k, v in r["statuses"].items() if not 200 <= k <= 299)
    sock = int(r["connect"] + r["read"] + r["write"] + r["timeout"])
    return {
        "requests": n,
        "rps": n / secs if secs else 0.0,
        "p50_ms": r["p50"] / 1000.0,
        "p99_ms": r["p99"] / 1000.0,
        "errors": bad_status + sock,
        "error_statuses": {k: v for k, v in r["statuses"].items() if not 200 <= k <= 299},
        "socket_errors": sock,
        "rss_idle_mib": idle_rss / MIB,
        "rss_load_mib": r["rss_peak"] / MIB,
        "cpu_per_1k": r["cpu_s"] / n * 1000 if n else None,
        "db_cpu_per_1k": (r["db_cpu_s"] / n * 1000) if (n and r["db_cpu_s"] is not None) else None,
        "cpu_s": r["cpu_s"],
        "loadavg": [r["loadavg_before"], r["loadavg_after"]],
        "samples": r["samples"][:3],
    }


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def api_workload_files(ds, tmpdir, consumer):
    files = {}

    def put(name, lines):
        path = os.path.join(tmpdir, f"{name}.reqs")
        write_lines(path, lines)
        files[name] = path

    put("image-show", [f"GET\t/v2/images/{i}" for i in ds.show_ids])
    put("member-list", [f"GET\t/v2/images/{i}/members" for i in ds.member_list_ids])
    put("list-default", ["GET\t/v2/images"])
    put("list-shared-all", ["GET\t/v2/images?visibility=shared&member_status=all"])
    put("list-owner", ["GET\t/v2/images"])
    put("member-status", [f'PUT\t/v2/images/{i}/members/{consumer}\t{{"status": "{s}"}}'
                          for s in ("rejected", "accepted") for i in ds.shared_ids])
    images = os.path.join(tmpdir, "member-create-delete.images")
    write_lines(images, ds.create_ids)
    files["member-create-delete"] = images
    return files


def sanity_checks(srv, tokens, ds):
    """Both servers must return the same data for the list workloads; differences are findings."""
    out = {}
    for name, path, tok in (("list-default", "/v2/images?limit=1000", "consumer"),
                            ("list-shared-all", "/v2/images?visibility=shared&member_status=all&limit=1000",
                             "consumer"),
                            ("list-owner", "/v2/images?limit=1000", "owner"),
                            ("member-list", f"/v2/images/{ds.member_list_ids[0]}/members", "owner"),
                            ("image-show", f"/v2/images/{ds.show_ids[0]}", "owner")):
        status, raw, _ = http("GET", srv.url + path, token=tokens[tok])
        body = json.loads(raw or b"{}") if status == 200 else {}
        if "images" in body:
            out[name] = (status, len(body["images"]))
        elif "members" in body:
            out[name] = (status, len(body["members"]))
        else:
            out[name] = (status, body.get("id"))
    return out


def warm_up(srv, tokens, ds, rounds=20):
    # enough requests that every gunicorn worker has validated (and cached) both tokens
    for _ in range(rounds):
        http("GET", f"{srv.url}/v2/images/{ds.show_ids[0]}", token=tokens["owner"])
        http("GET", f"{srv.url}/v2/images?limit=5", token=tokens["consumer"])


def restore_member_status(srv, tokens, ds, consumer):
    bad = 0
    for iid in ds.shared_ids:
        st, _, _ = http("PUT", f"{srv.url}/v2/images/{iid}/members/{consumer}", token=tokens["consumer"],
                        body={"status": "accepted"})
        bad += st != 200
    return bad


def create_image(srv, token, name):
    st, raw, _ = http("POST", f"{srv.url}/v2/images", token=token,
                      body={"name": name, "disk_format": "raw", "container_format": "bare"})
    if st != 201:
        raise RuntimeError(f"{srv.name}: POST /v2/images -> {st}: {raw[:300]!r}")
    return json.loads(raw)["id"]


def curl_upload(srv, token, image_id, payload):
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-X", "PUT",
           "-H", f"X-Auth-Token: {token}", "-H", "Content-Type: application/octet-stream", "-H", "Expect:",
           "--upload-file", payload, f"{srv.url}/v2/images/{image_id}/file"]
    p = subprocess.run(cmd, text=True, capture_output=True)
    code, secs = (p.stdout.split() + ["000", "0"])[:2]
    return int(code), float(secs)


def run_upload(a, srv, token, conc, duration, payload, size):
    """conc parallel curl loops: create image (untimed), PUT 256 MiB (timed), delete (untimed)."""
    deadline = time.time() + duration
    results, lock = [], threading.Lock()
    sampler = Sampler(srv)
    load0 = os.getloadavg()[0]

    def loop(k):
        n = 0
        while time.time() < deadline or n == 0:
            iid = create_image(srv, token, f"bench-upload-{k}-{n}")
            t0 = time.time()
            code, secs = curl_upload(srv, token, iid, payload)
            t1 = time.time()
            with lock:
                results.append((code, secs, t0, t1))
            http("DELETE", f"{srv.url}/v2/images/{iid}", token=token)
            n += 1

    sampler.start()
    ths = [threading.Thread(target=loop, args=(k,)) for k in range(conc)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    usage = sampler.stop()
    ok = [r for r in results if r[0] == 204]
    # throughput over the wall time the uploads covered
    span = (max(r[3] for r in results) - min(r[2] for r in results)) if results else 0
    lat = sorted(r[1] for r in ok)
    return {
        "requests": len(results), "ok": len(ok),
        "mib_s": len(ok) * size / MIB / span if span else 0.0,
        "p50_s": percentile(lat, 50), "p99_s": percentile(lat, 99),
        "errors": len(results) - len(ok),
        "error_statuses": sorted({r[0] for r in results if r[0] != 204}),
        "rss_load_mib": usage["rss_peak"] / MIB,
        "cpu_per_gib": usage["cpu_s"] / (len(ok) * size / (1024 * MIB)) if ok else None,
        "db_cpu_s": usage["db_cpu_s"], "cpu_s": usage["cpu_s"],
        "loadavg": [load0, os.getloadavg()[0]],
    }


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def run_download(a, srv, token, image_id, conc, duration, tmpdir):
    reqs = os.path.join(tmpdir, f"download-{srv.name}.reqs")
    write_lines(reqs, [f"GET\t/v2/images/{image_id}/file"])
    r = run_wrk(a, srv, "/", conc, duration, os.path.join(a.lua_dir, "requests.lua"),
                {"BENCH_REQS": reqs, "BENCH_TOKEN": token, "BENCH_BODY": "0"}, timeout_s=600)
    secs = r["duration_us"] / 1e6
    n = int(r["requests"])
    gib = r["bytes"] / (1024 * MIB)
    return {
        "requests": n, "mib_s": r["bytes"] / MIB / secs if secs else 0.0,
        "p50_s": r["p50"] / 1e6 if n else None, "p99_s": r["p99"] / 1e6 if n else None,
        "errors": int(r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]),
        "rss_load_mib": r["rss_peak"] / MIB,
        "cpu_per_gib": r["cpu_s"] / gib if gib else None,
        "db_cpu_s": r["db_cpu_s"], "cpu_s": r["cpu_s"],
        "loadavg": [r["loadavg_before"], r["loadavg_after"]],
    }


# ----------------------------------------------------------------------------- reporting

def fmt_num(v, digits=1):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.{max(0, digits - 1)}f}" if digits else f"{v:.0f}"
    return f"{v:.{digits}f}" if v >= 0.1 or v == 0 else f"{v:.3f}"


def pair(g, G, digits=1, ratio=True):
    s = f"{fmt_num(g, digits)} / {fmt_num(G, digits)}"
    if ratio and g is not None and G not in (None, 0):
        s += f" (×{g / G:.2f})"
    return s


NONE = {"rps": None, "p50_ms": None, "p99_ms": None, "errors": "—", "rss_idle_mib": None,
        "rss_load_mib": None, "cpu_per_1k": None, "db_cpu_per_1k": None, "mib_s": None, "p50_s": None,
        "p99_s": None, "requests": "—", "cpu_per_gib": None}


def api_table(cells, ceiling=None, dbkind="postgres"):
    lines = ["| workload | c | req/s | p50 ms | p99 ms | errors | RSS idle MiB | RSS load MiB | CPU-s / 1k req |",
             "|---|---:|---|---|---|---|---|---|---|"]
    has_db = any(c["glint"].get("db_cpu_per_1k") is not None for c in cells)
    if has_db:
        lines[0] += (" MariaDB server CPU-s / 1k req |" if dbkind == "mariadb" else " PG backend CPU-s / 1k req |")
        lines[1] += "---|"
    if ceiling:
        lines[0] += " glint ÷ ceiling req/s |"
        lines[1] += "---:|"
    for c in cells:
        g, G = c["glint"], c.get("glance") or NONE
        row = (f"| {c['workload']} | {c['c']} | {pair(g['rps'], G['rps'], 0)} | {pair(g['p50_ms'], G['p50_ms'], 2)} | "
               f"{pair(g['p99_ms'], G['p99_ms'], 2)} | {g['errors']} / {G['errors']} | "
               f"{pair(g['rss_idle_mib'], G['rss_idle_mib'], 0)} | {pair(g['rss_load_mib'], G['rss_load_mib'], 0)} | "
               f"{pair(g['cpu_per_1k'], G['cpu_per_1k'], 2)} |")
        if has_db:
            row += f" {pair(g.get('db_cpu_per_1k'), G.get('db_cpu_per_1k'), 2)} |"
        if ceiling:
            top = ceiling.get(c["c"], {}).get("rps")
            row += f" {g['rps'] / top:.0%} |" if top else " — |"
        lines.append(row)
    return "\n".join(lines)


def ceiling_table(ceiling):
    lines = ["| c | req/s | p50 ms | p99 ms | errors | RSS load MiB |", "|---:|---:|---:|---:|---:|---:|"]
    for c, r in sorted(ceiling.items()):
        lines.append(f"| {c} | {r['rps']:.0f} | {fmt_num(r['p50_ms'], 2)} | {fmt_num(r['p99_ms'], 2)} | "
                     f"{r['errors']} | {fmt_num(r['rss_load_mib'], 0)} |")
    return "\n".join(lines)


def transfer_table(cells, dd):
    lines = [f"Disk (dd, 256 MiB, same filesystem): write with fdatasync {dd['write_mib_s']:.0f} MiB/s, "
             f"read from page cache {dd['read_cached_mib_s']:.0f} MiB/s, read with O_DIRECT "
             f"{dd['read_direct_mib_s']:.0f} MiB/s.", "",
             "*÷ dd*: MiB/s as a fraction of dd's figure (upload: write with fdatasync; download: read from "
             "page cache, where a just-written 256 MiB image is served from). Downloads count partial "
             "transfers; *requests* are the completed ones.", "",
             "| workload | c | MiB/s | ÷ dd | p50 s | p99 s | requests | errors | RSS load MiB | CPU-s / GiB |",
             "|---|---:|---|---|---|---|---|---|---|---|"]
    for c in cells:
        g, G = c["glint"], c.get("glance") or NONE
        ref = dd["write_mib_s"] if c["workload"] == "upload" else dd["read_cached_mib_s"]
        vs = (f"{g['mib_s'] / ref:.2f} / " + (f"{G['mib_s'] / ref:.2f}" if G['mib_s'] is not None else "—")
              if ref else "—")
        lines.append(
            f"| {c['workload']} | {c['c']} | {pair(g['mib_s'], G['mib_s'], 0)} | {vs} | "
            f"{pair(g['p50_s'], G['p50_s'], 2)} | {pair(g['p99_s'], G['p99_s'], 2)} | "
            f"{g['requests']} / {G['requests']} | {g['errors']} / {G['errors']} | "
            f"{pair(g['rss_load_mib'], G['rss_load_mib'], 0)} | {pair(g['cpu_per_gib'], G['cpu_per_gib'], 2)} |")
    return "\n".join(lines)


def dd_figures(tmpdir):
    path = os.path.join(tmpdir, "dd.tmp")

    def dd(args):
        p = subprocess.run(["dd"] + args, text=True, capture_output=True)
        m = re.search(r"(\d+) bytes .* copied, ([\d.]+) s", p.stderr)
        return int(m.group(1)) / MIB / float(m.group(2)) if m else 0.0

    w = dd(["if=/dev/zero", f"of={path}", "bs=1M", "count=256", "conv=fdatasync"])
    rc = dd([f"if={path}", "of=/dev/null", "bs=1M"])
    rd = dd([f"if={path}", "of=/dev/null", "bs=1M", "iflag=direct"])
    os.unlink(path)
    return {"write_mib_s": w, "read_cached_mib_s": rc, "read_direct_mib_s": rd}


def machine_info(a):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    gpy = os.path.join(a.glance_venv, "bin", "python")
    vers = try_sh([gpy, "-c", "import importlib.metadata as m, sqlite3; print(' '.join(f'{p}={m.version(p)}' for p in "
                   "('glance','keystonemiddleware','gunicorn','SQLAlchemy','oslo.db','glance_store','psycopg2-binary','PyMySQL'))"
                   " + ' sqlite=' + sqlite3.sqlite_version)"])
    ks_py = os.path.join(a.work_root, "venv", "bin", "python")
    ks_ver = try_sh([ks_py, "-c", "import importlib.metadata as m; print(m.version('keystone'))"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": f"{cpu}, {os.cpu_count()} cores", "mem_mib": mem,
        "glint": try_sh([a.glint_bin, "--version"]),
        "glance_side": vers, "keystone": ks_ver,
        "wrk": try_sh(["sh", "-c", "wrk -v 2>&1 | head -n1"]),
        "curl": try_sh(["sh", "-c", "curl --version | head -n1"]),
        "postgres": try_sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"]),
        "mariadb": (try_sh(["mysql", "--protocol=TCP", "-h", "127.0.0.1", "-u", "root", "-NBe", "SELECT VERSION()"])
                    if a.db == "mariadb" else None),
        "python": platform.python_version(),
    }


def quiet_note(load_start):
    """How far to trust the figures: a load average under 2 before the first cell means nothing else
    was running (wrk itself always shares the two cores with the servers)."""
    if load_start < 2.0:
        return ("Taken on a quiet 2-core machine (nothing else running). wrk runs on the same two cores as "
                "the servers, so every server, the ceiling included, shares the CPU with the load generator.")
    return ("**These figures were taken on a busy, shared 2-core machine** (load average "
            f"{load_start:.1f} at the start; wrk ran on the same two cores as the servers). Read them as rough "
            "relative figures, not as capacity numbers. To reproduce on a quiet machine: "
            "`bash bench/run.sh --db both --duration 30`.")


def render(a, info, results):
    out = ["# glint vs Glance: side-by-side benchmark", ""]
    out += [f"Taken {info['date']} with `bash bench/run.sh {a.cmdline}`.", "",
            quiet_note(results['loadavg_start']),
            "", "## Machine and versions", "",
            f"- machine: {info['host']}; {info['cpu']}; {info['mem_mib']} MiB RAM; load average at start "
            f"{results['loadavg_start']:.2f}, at end {results['loadavg_end']:.2f}",
            f"- glint: `{info['glint']}` (release build, `workers = {a.glint_workers}`, keystone auth, "
            f"token_cache_time 300)",
            f"- Glance side: {info['glance_side']}; gunicorn {a.glance_workers} workers × {a.glance_threads} "
            f"threads (gthread), paste flavor keystone, keystonemiddleware in-process token cache "
            f"(no memcached), token_cache_time 300, file store",
            f"- Keystone {info['keystone']} (shared by both, {info.get('keystone_url', '127.0.0.1:5000')}); PostgreSQL {info['postgres']}; "
            + (f"MariaDB {info['mariadb']} (both servers through PyMySQL's URL form, `mysql+pymysql://`); "
               if info.get("mariadb") else "") +
            f"{info['wrk']}; {info['curl']}; Python {info['python']}",
            f"- duration per cell {a.duration}s (after a warm-up); concurrency {' '.join(map(str, a.conc))}; "
            f"wrk threads min(c, {a.wrk_threads}); data: {a.images} images, {a.shares} accepted shares "
            f"({'spread evenly over the creation order' if a.share_layout == 'spread' else 'the oldest images'})",
            ""]
    out += ["## How to read", "",
            "Each cell is `glint / Glance (×ratio)`, ratio = glint ÷ Glance: above 1 is better for glint for "
            "req/s and MiB/s, below 1 is better for glint for latency, memory and CPU. *errors* counts non-2xx "
            "answers plus socket errors and timeouts. *RSS* is the summed resident memory of the server's "
            "processes (glint: one process; Glance: gunicorn master + workers), idle just before the cell and "
            "peak during it. *CPU-s / 1k req* is the servers' user+system CPU time per 1,000 completed "
            "requests (the database server's CPU shown apart: PostgreSQL's backends of that database; MariaDB's "
            "whole server process, which serves both databases from one process). Workloads:", ""]
    for name, desc in API_WORKLOADS:
        out.append(f"- **{name}**: {desc}")
    out += [f"- **download**: GET /v2/images/{{id}}/file of a {a.image_mib} MiB image (wrk, body discarded)",
            f"- **upload**: PUT /v2/images/{{id}}/file of {a.image_mib} MiB (curl, one new image per upload; "
            "the image create and delete are not timed). glint fsyncs an upload before it answers; "
            "glance_store's file driver does not.", ""]
    for db in results["dbs"]:
        r = results["dbs"][db]
        out += [f"## {db}", ""]
        if r.get("checks") and "glance" in r["checks"]:
            out += ["Sanity check (status, result size) glint vs Glance: " + "; ".join(
                f"{k}: {r['checks']['glint'][k]} vs {r['checks']['glance'][k]}" for k in r["checks"]["glint"]), ""]
        out += ["Idle RSS right after start-up and warm-up: " + ", ".join(
            f"{'Glance' if k == 'glance' else k} {v:.0f} MiB" for k, v in r["idle"].items()) + ".", ""]
        if r.get("ceiling"):
            out += ["**Ceiling** (same run, same wrk settings, `GET /v2/images/{id}/members`): "
                    "`bench/ceiling.rs`, an actix-web server with the same worker count as glint that "
                    "answers a fixed member list and does no other work.", "",
                    ceiling_table(r["ceiling"]), ""]
        if r["api"]:
            out += [api_table(r["api"], r.get("ceiling"), db), ""]
        if r["transfer"]:
            out += [transfer_table(r["transfer"], results["dd"]), ""]
        if r.get("notes"):
            out += ["Notes:", ""] + [f"- {n}" for n in r["notes"]] + [""]
    return "\n".join(out)


# ----------------------------------------------------------------------------- main

def run_db(a, ks, dbkind, tokens_fn, results):
    workdir = os.path.join(a.work, dbkind)
    tmpdir = os.path.join(workdir, "tmp")
    log(f"=== {dbkind}: preparing databases in {workdir}")
    reset_databases(a, dbkind, workdir)
    os.makedirs(tmpdir, exist_ok=True)
    glint = setup_glint(a, ks, dbkind, workdir)
    glance = setup_glance(a, ks, dbkind, workdir) if a.with_glance else None
    owner_pid, consumer_pid = ks["ALPHA_PROJECT_ID"], ks["BETA_PROJECT_ID"]
    ds = Dataset(a.images, a.shares, owner_pid, consumer_pid, a.share_layout)
    tables = ds.rows()
    seed(glint, dbkind, tables, tmpdir)
    servers = {"glint": glint}
    if glance:
        seed(glance, dbkind, tables, tmpdir)
        servers["glance"] = glance
    ceiling = Server("ceiling", a.ceiling_port, workdir, os.path.join(workdir, "ceiling.log"))
    res = {"api": [], "transfer": [], "notes": [], "idle": {}, "ceiling": {}}
    results["dbs"][dbkind] = res
    try:
        log("starting glint and Glance")
        start_glint(a, glint)
        if glance:
            start_glance(a, glance)
        tokens = tokens_fn()
        for s in servers.values():
            warm_up(s, tokens, ds)
        res["checks"] = {k: sanity_checks(s, tokens, ds) for k, s in servers.items()}
        if glance and res["checks"]["glint"] != res["checks"]["glance"]:
            res["notes"].append("glint and Glance answered the sanity checks differently (see above)")
        time.sleep(1)
        res["idle"] = {k: server_rss(s) / MIB for k, s in servers.items()}
        files = api_workload_files(ds, tmpdir, consumer_pid)
        lua = os.path.join(a.lua_dir, "requests.lua")
        if a.ceiling_bin:
            # the ceiling: same load generator and settings, a server that does no work
            logf = open(ceiling.logfile, "a")
            ceiling.proc = subprocess.Popen([a.ceiling_bin, str(a.ceiling_port), str(a.glint_workers)],
                                            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
            ceiling.wait_up()
            env = {"BENCH_REQS": files["member-list"], "BENCH_TOKEN": tokens["owner"]}
            for c in a.conc:
                idle = server_rss(ceiling)
                run_wrk(a, ceiling, "/", c, 1, lua, env)
                res["ceiling"][c] = summarize_api(run_wrk(a, ceiling, "/", c, a.duration, lua, env), idle)
                log(f"{dbkind} ceiling c={c}: {res['ceiling'][c]['rps']:.0f} req/s "
                    f"p50 {res['ceiling'][c]['p50_ms']:.2f} ms p99 {res['ceiling'][c]['p99_ms']:.2f} ms")
            ceiling.stop()
        for wl, _desc in API_WORKLOADS:
            if wl not in a.workloads:
                continue
            for c in a.conc:
                cell = {"workload": wl, "c": c}
                for k, s in servers.items():
                    tok = tokens["consumer"] if wl in ("list-default", "list-shared-all", "member-status") \
                        else tokens["owner"]
                    if wl == "member-create-delete":
                        script, env = os.path.join(a.lua_dir, "member_cd.lua"), {
                            "BENCH_IMAGES": files[wl], "BENCH_TOKEN": tok,
                            "BENCH_NONCE": f"{k}{c}{int(time.time())}"}
                    else:
                        script, env = lua, {"BENCH_REQS": files[wl], "BENCH_TOKEN": tok}
                    # a short unmeasured warm-up of the same requests, then the measured run
                    idle = server_rss(s)
                    run_wrk(a, s, "/", c, 1, script, dict(env, BENCH_NONCE=env.get("BENCH_NONCE", "") + "w"))
                    r = run_wrk(a, s, "/", c, a.duration, script, env)
                    cell[k] = summarize_api(r, idle)
                    log(f"{dbkind} {wl} c={c} {k}: {cell[k]['rps']:.0f} req/s p50 {cell[k]['p50_ms']:.1f} ms "
                        f"p99 {cell[k]['p99_ms']:.1f} ms errors {cell[k]['errors']} {cell[k]['error_statuses']}"
                        f"{' sample: ' + cell[k]['samples'][0] if cell[k]['samples'] else ''}")
                    if wl == "member-status":
                        bad = restore_member_status(s, tokens, ds, consumer_pid)
                        if bad:
                            res["notes"].append(f"{k}: {bad} member status restores failed after {wl} c={c}")
                res["api"].append(cell)
        want_dl = "download" in a.workloads
        want_ul = "upload" in a.workloads
        if want_dl or want_ul:
            payload = a.payload
            big = {}
            for k, s in servers.items():
                iid = create_image(s, tokens["owner"], "bench-download")
                code, secs = curl_upload(s, tokens["owner"], iid, payload)
                if code != 204:
                    if k == "glint":
                        raise RuntimeError(f"{k}: seeding the download image answered {code}")
                    # Glance on SQLite can fail its own upload (database is locked): no transfer cells
                    res["notes"].append(f"{k}: uploading the download image answered {code}; "
                                        "no transfer figures for it")
                    log(res["notes"][-1])
                    continue
                big[k] = iid
            if want_dl:
                for c in a.dl_conc:
                    cell = {"workload": "download", "c": c}
                    for k, s in servers.items():
                        if k not in big:
                            continue
                        cell[k] = run_download(a, s, tokens["owner"], big[k], c, a.duration, tmpdir)
                        log(f"{dbkind} download c={c} {k}: {cell[k]['mib_s']:.0f} MiB/s "
                            f"({cell[k]['requests']} done, errors {cell[k]['errors']})")
                    res["transfer"].append(cell)
            if want_ul:
                for c in a.ul_conc:
                    cell = {"workload": "upload", "c": c}
                    for k, s in servers.items():
                        if k not in big:
                            continue
                        cell[k] = run_upload(a, s, tokens["owner"], c, a.duration, payload, a.image_mib * MIB)
                        log(f"{dbkind} upload c={c} {k}: {cell[k]['mib_s']:.0f} MiB/s "
                            f"({cell[k]['ok']}/{cell[k]['requests']} ok {cell[k]['error_statuses']})")
                    res["transfer"].append(cell)
    finally:
        for s in list(servers.values()) + [ceiling]:
            s.stop()
    log(f"=== {dbkind}: done (logs: {', '.join(s.logfile for s in servers.values())})")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgres", "mariadb", "both"], default="both")
    p.add_argument("--duration", type=int, default=10, help="seconds of load per cell")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--concurrency", default="1,16,64")
    p.add_argument("--workloads", default=",".join([w for w, _ in API_WORKLOADS] + TRANSFER_WORKLOADS))
    p.add_argument("--repo", required=True)
    p.add_argument("--work", required=True, help="bench work dir (data, logs, configs)")
    p.add_argument("--work-root", required=True, help="project work dir holding keystone/ and venv/")
    p.add_argument("--glance-venv", required=True)
    p.add_argument("--glint-bin", required=True)
    p.add_argument("--glint-port", type=int, default=9400)
    p.add_argument("--glance-port", type=int, default=9401)
    p.add_argument("--glint-workers", type=int, default=2)
    p.add_argument("--glance-workers", type=int, default=2)
    p.add_argument("--glance-threads", type=int, default=8)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--shares", type=int, default=100)
    p.add_argument("--image-mib", type=int, default=256)
    p.add_argument("--share-layout", choices=["spread", "oldest"], default="spread")
    p.add_argument("--pg-glint-db", default="bench_glint")
    p.add_argument("--pg-glance-db", default="bench_glance")
    p.add_argument("--no-glance", dest="with_glance", action="store_false", help="glint only")
    p.add_argument("--ceiling-bin", default="", help="bench/ceiling.rs binary (empty: no ceiling cell)")
    p.add_argument("--ceiling-port", type=int, default=9402)
    p.add_argument("--out", required=True, help="Markdown results file")
    p.add_argument("--cmdline", default="")
    a = p.parse_args()
    a.conc = [int(x) for x in a.concurrency.replace(" ", ",").split(",") if x]
    a.workloads = set(a.workloads.split(","))
    a.dl_conc = [c for c in a.conc if c <= 16] if a.quick else a.conc
    a.ul_conc = [1] if a.quick else [1, 4]
    a.lua_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk")
    if a.shares > 1000 or a.images < 1000:
        p.error("--images must be >= 1000 and --shares <= 1000")
    os.makedirs(a.work, exist_ok=True)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    ks = read_env(os.path.join(a.work_root, "keystone", "env"))

    def tokens_fn():
        return {"owner": keystone_token(ks["KEYSTONE_AUTH_URL"], "alice", "pass-alice", "alpha"),
                "consumer": keystone_token(ks["KEYSTONE_AUTH_URL"], "bob", "pass-bob", "beta")}

    a.payload = os.path.join(a.work, f"payload-{a.image_mib}MiB.bin")
    if not os.path.exists(a.payload) or os.path.getsize(a.payload) != a.image_mib * MIB:
        with open(a.payload, "wb") as f:
            for _ in range(a.image_mib):
                f.write(os.urandom(MIB))
    info = machine_info(a)
    info["keystone_url"] = ks["KEYSTONE_URL"].split("://", 1)[-1]
    results = {"dbs": {}, "loadavg_start": os.getloadavg()[0]}
    results["dd"] = dd_figures(a.work)
    log(f"dd: {results['dd']}")
    dbs = ["sqlite", "postgres"] if a.db == "both" else [a.db]
    for db in dbs:
        run_db(a, ks, db, tokens_fn, results)
    results["loadavg_end"] = os.getloadavg()[0]
    md = render(a, info, results)
    with open(a.out, "w") as f:
        f.write(md)
    raw = os.path.join(a.work, "results-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
    with open(raw, "w") as f:
        json.dump({"info": info, "results": results, "args": {k: (sorted(v) if isinstance(v, set) else v)
                                                              for k, v in vars(a).items()}}, f, indent=1,
                  default=str)
    print(md)
    log(f"wrote {a.out} and {raw}")


if __name__ == "__main__":
    main()
