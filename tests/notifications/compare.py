#!/usr/bin/env python3
"""glint's notifications against real Glance 32's, event for event and field for field (issue 21).

Started by tests/notifications/compare.sh, which installs Glance and builds glint first; runs with the
Python of Glance's virtualenv (kombu comes with oslo.messaging there). Both servers publish with
`[oslo_messaging_notifications] driver = messagingv2` to the local RabbitMQ, each into a virtual host of
its own (so both keep the default exchange `glance` and topic `notifications`). A consumer bound to every
routing key of that exchange captures each stream; one scripted sequence of API calls runs against Glance,
then against glint, as the same Keystone users. Then, per event in order: event type, priority, publisher,
the 2.0 envelope and its serialisation, the message's keys and their order, the AMQP properties, exchange
and routing key, and the payload field by field. Ids are replaced by what they name (an image by its name
in the sequence, a project or user by its Keystone name, any other id by its rank inside its message);
times are compared by format, not value. Prints a table and exits 1 on any difference.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench", "lib"))
from bench import Server, http, keystone_section, keystone_token, read_env  # noqa: E402

import kombu  # noqa: E402  (from Glance's virtualenv)

GLANCE_PORT = 9680
GLINT_PORT = 9681
EXCHANGE = "glance"  # Glance's default control_exchange; glint's too
SIZE_CAP = 4096  # image_size_cap on both: the failed upload sends more


# Differences that do not fail the run: (event type, image name, payload field, why). Each is a state
# Glance leaves an image in that glint does not copy, with its row in api-ref/differences.md; the events
# themselves are the same. Keep this list short.
ALLOWED = [
    ("image.update", "cmp-not-qcow2", "payload.checksum",
     "differences.md: Glance keeps the checksum of an upload refused for its format"),
    ("image.delete", "cmp-not-qcow2", "payload.checksum",
     "differences.md: Glance keeps the checksum of an upload refused for its format"),
    ("image.update", "cmp-import-not-qcow2", "payload.status",
     "differences.md: Glance leaves an image whose import failed in importing"),
    ("image.update", "cmp-import-not-qcow2", "payload.properties",
     "differences.md: Glance leaves an image whose import failed in importing (the lock in its last save)"),
]


ALLOWED_SEEN = []


def allowed(event_type, image_name, field):
    return next((why for et, name, f, why in ALLOWED
                 if (et, name, f) == (event_type, image_name, field)), None)


def log(msg):
    print(f"notifications: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- processes we started

PIDFILE = None
PROCS = []


def note_pid(pid):
    if PIDFILE:
        with open(PIDFILE, "a") as f:
            f.write(f"{pid}\n")


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def run(cmd, **kw):
    p = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {p.returncode}: {p.stderr.strip()[-2000:]}")
    return p.stdout


# ----------------------------------------------------------------------------- RabbitMQ

def vhost(side):
    return f"glint-notify-compare-{side}"


def rabbitmqctl(*args):
    return run(["rabbitmqctl", "-q", *args])


def fresh_vhost(side):
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost(side)], capture_output=True)
    rabbitmqctl("add_vhost", vhost(side))
    rabbitmqctl("set_permissions", "-p", vhost(side), "guest", ".*", ".*", ".*")


def drop_vhost(side):
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost(side)], capture_output=True)


def queues(side):
    """The queues the server declared in its virtual host (the capture queue aside), with their flags."""
    out = rabbitmqctl("list_queues", "-p", vhost(side), "--no-table-headers", "name", "durable", "auto_delete",
                      "exclusive", "arguments")
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    return sorted(r for r in rows if not r[0].startswith("capture"))


class Capture:
    """Every message published to the `glance` exchange of one virtual host, in arrival order."""

    def __init__(self, side):
        self.side = side
        self.messages = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.conn = kombu.Connection(f"amqp://guest:guest@127.0.0.1:5672/{vhost(side)}")
        self.conn.connect()
        # The exchange as oslo.messaging declares it (topic, not durable, not auto-deleted).
        ex = kombu.Exchange(EXCHANGE, type="topic", durable=False, auto_delete=False)
        self.queue = kombu.Queue("capture", exchange=ex, routing_key="#", exclusive=True, durable=False)
        self.consumer = kombu.Consumer(self.conn, queues=[self.queue], callbacks=[self.on_message],
                                       accept=None, no_ack=True)
        self.consumer.consume()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def on_message(self, body, message):
        with self.lock:
            self.messages.append({
                "raw": message.body if isinstance(message.body, bytes) else message.body.encode(),
                "properties": dict(message.properties),
                "headers": dict(message.headers or {}),
                "exchange": message.delivery_info.get("exchange"),
                "routing_key": message.delivery_info.get("routing_key"),
            })

    def loop(self):
        while not self.stopping.is_set():
            try:
                self.conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass
            except OSError:
                if not self.stopping.is_set():
                    raise

    def count(self):
        with self.lock:
            return len(self.messages)

    def settle(self, quiet=2.0, limit=30.0):
        """Waits until nothing new has arrived for `quiet` seconds (glint publishes asynchronously)."""
        start, n, since = time.time(), self.count(), time.time()
        while time.time() - start < limit:
            time.sleep(0.2)
            if self.count() != n:
                n, since = self.count(), time.time()
            elif time.time() - since >= quiet:
                return
        log(f"{self.side}: messages still arriving after {limit} s")

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        try:
            self.conn.release()
        except Exception:  # noqa: BLE001  (closing)
            pass


# ----------------------------------------------------------------------------- servers

def write_conf(path, side, port, d, ks, glance_extra):
    extra = ""
    if glance_extra:
        extra = (f"log_file = {d}/glance.log\nnode_staging_uri = file://{d}/staging\n"
                 f"worker_self_reference_url = http://127.0.0.1:{port}\n")
    with open(path, "w") as f:
        f.write(f"""[DEFAULT]
bind_host = 127.0.0.1
bind_port = {port}
public_endpoint = http://127.0.0.1:{port}
image_size_cap = {SIZE_CAP}
transport_url = rabbit://guest:guest@127.0.0.1:5672/{vhost(side)}
{extra}
[oslo_messaging_notifications]
driver = messagingv2

[database]
connection = sqlite:///{d}/images.db

[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {d}/images

[paste_deploy]
flavor = keystone
{"config_file = " + d + "/glance-api-paste.ini" if glance_extra else ""}

{keystone_section(ks)}""")
    os.chmod(path, 0o600)


def start_glance(a, ks):
    d = os.path.join(a.work, "glance")
    for sub in ("staging", "images"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(a.glance_venv, "etc", "glance", "glance-api-paste.ini")) as f:
        paste = f.read().replace("/etc/glance/healthcheck_disable", f"{d}/healthcheck_disable")
    with open(os.path.join(d, "glance-api-paste.ini"), "w") as f:
        f.write(paste)
    conf = os.path.join(d, "glance-api.conf")
    write_conf(conf, "glance", GLANCE_PORT, d, ks, glance_extra=True)
    with open(os.path.join(d, "compare_glance_wsgi.py"), "w") as f:
        f.write("# Glance parses sys.argv with oslo.config: drop gunicorn's arguments first.\n"
                "import sys\nsys.argv = sys.argv[:1]\n"
                "from glance.wsgi.api import application  # noqa: E402,F401\n")
    bin_ = os.path.join(a.glance_venv, "bin")
    run([os.path.join(bin_, "glance-manage"), "--config-file", conf, "db_sync"])
    logf = open(os.path.join(d, "gunicorn.log"), "a")
    env = dict(os.environ, OS_GLANCE_CONFIG_DIR=d)
    p = subprocess.Popen([os.path.join(bin_, "gunicorn"), "--chdir", d, "--bind", f"127.0.0.1:{GLANCE_PORT}",
                          "--workers", "1", "--worker-class", "gthread", "--threads", "4", "--timeout", "120",
                          "--no-control-socket", "compare_glance_wsgi:application"],
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         start_new_session=True)
    PROCS.append(p)
    note_pid(p.pid)
    srv = Server("Glance", GLANCE_PORT, d, os.path.join(d, "glance.log"))
    srv.proc = p
    return srv


def start_glint(a, ks):
    d = os.path.join(a.work, "glint")
    os.makedirs(os.path.join(d, "images"), exist_ok=True)
    conf = os.path.join(d, "glance-api.conf")
    write_conf(conf, "glint", GLINT_PORT, d, ks, glance_extra=False)
    run([a.glint_bin, "--config-file", conf, "--data-dir", d, "db", "sync"])
    logf = open(os.path.join(d, "glint.log"), "a")
    p = subprocess.Popen([a.glint_bin, "--config-file", conf, "--data-dir", d, "serve"],
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    PROCS.append(p)
    note_pid(p.pid)
    srv = Server("glint", GLINT_PORT, d, os.path.join(d, "glint.log"))
    srv.proc = p
    return srv


# ----------------------------------------------------------------------------- the sequence

USERS = {
    # name: (user, password, project)
    "alice": ("alice", "pass-alice", "alpha"),  # member of alpha: owns the images
    "adam": ("adam", "pass-adam", "alpha"),  # admin of alpha: deactivate, reactivate
    "bob": ("bob", "pass-bob", "beta"),  # member of beta: the image is shared with him
    "admin": ("admin", None, "admin"),  # the cloud admin: metadefs
}


class Tokens(dict):
    def __init__(self, ks):
        super().__init__()
        for name, (user, password, project) in USERS.items():
            self[name] = keystone_token(ks["KEYSTONE_AUTH_URL"], user, password or ks["KEYSTONE_ADMIN_PASSWORD"],
                                        project)


def sequence(srv, tokens, ks):
    """The scripted calls; returns {image name: id} for the id mapping."""
    images = {}
    beta = ks["BETA_PROJECT_ID"]

    def call(user, method, path, body=None, expect=(200,), ctype="application/json", headers=None):
        import urllib.request
        import urllib.error
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        h = {"X-Auth-Token": tokens[user]}
        if data is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        req = urllib.request.Request(srv.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in expect:
            raise RuntimeError(f"{srv.name}: {user} {method} {path}: HTTP {status} (wanted {expect}): {raw[:300]!r}")
        return json.loads(raw) if raw and raw[:1] in (b"{", b"[") else raw

    patch_type = "application/openstack-images-v2.1-json-patch"

    def patch(user, name, ops):
        call(user, "PATCH", f"/v2/images/{images[name]}", ops, ctype=patch_type)

    def create(name, **extra):
        body = {"name": name, "disk_format": "raw", "container_format": "bare"}
        body.update(extra)
        images[name] = call("alice", "POST", "/v2/images", body, expect=(201,))["id"]
        return images[name]

    data = bytes(range(256)) * 4  # 1 KiB

    # An image's life: create, updates of every kind, upload, downloads, sharing, deactivation, deletion.
    i = create("cmp-life", visibility="shared", tags=["t1"], hw_arch="x86_64", prop_x="1", min_ram=0)
    patch("alice", "cmp-life", [{"op": "add", "path": "/prop_a", "value": "a"}])
    patch("alice", "cmp-life", [{"op": "replace", "path": "/prop_x", "value": "2"}])
    patch("alice", "cmp-life", [{"op": "remove", "path": "/hw_arch"}])
    patch("alice", "cmp-life", [{"op": "replace", "path": "/tags", "value": ["t1", "t2"]},
                                {"op": "replace", "path": "/min_ram", "value": 512}])
    call("alice", "PUT", f"/v2/images/{i}/tags/t3", expect=(204,))
    call("alice", "DELETE", f"/v2/images/{i}/tags/t1", expect=(204,))
    call("alice", "PUT", f"/v2/images/{i}/file", data, expect=(204,), ctype="application/octet-stream")
    call("alice", "GET", f"/v2/images/{i}/file")
    call("alice", "GET", f"/v2/images/{i}/file", expect=(206,), headers={"Range": "bytes=0-99"})
    call("alice", "POST", f"/v2/images/{i}/members", {"member": beta})
    call("bob", "PUT", f"/v2/images/{i}/members/{beta}", {"status": "accepted"})
    call("bob", "GET", f"/v2/images/{i}/file")
    call("bob", "PUT", f"/v2/images/{i}/members/{beta}", {"status": "rejected"})
    call("alice", "DELETE", f"/v2/images/{i}/members/{beta}", expect=(204,))
    call("adam", "POST", f"/v2/images/{i}/actions/deactivate", expect=(204,))
    call("adam", "POST", f"/v2/images/{i}/actions/reactivate", expect=(204,))
    call("alice", "DELETE", f"/v2/images/{i}", expect=(204,))

    # A public image (an admin's), shared and deleted with its member still there.
    p = call("adam", "POST", "/v2/images", {"name": "cmp-public", "disk_format": "qcow2",
                                            "container_format": "bare", "visibility": "public",
                                            "min_disk": 1, "protected": False, "os_hidden": True},
             expect=(201,))["id"]
    images["cmp-public"] = p
    call("adam", "PATCH", f"/v2/images/{p}", [{"op": "replace", "path": "/visibility", "value": "shared"}],
         ctype=patch_type)
    call("adam", "POST", f"/v2/images/{p}/members", {"member": beta})
    call("adam", "DELETE", f"/v2/images/{p}", expect=(204,))

    # Text Python escapes (non-ASCII, astral, quotes, backslashes), other visibilities, protection.
    u = create("cmp-unicode", note='quote" back\\slash \u00e9 \u2603', visibility="community")
    call("alice", "PATCH", f"/v2/images/{u}", [{"op": "replace", "path": "/name", "value": "\u00dcn\u00efcode \u2603"},
                                                {"op": "replace", "path": "/protected", "value": True}],
         ctype=patch_type)
    call("alice", "DELETE", f"/v2/images/{u}", expect=(403,))
    call("alice", "PATCH", f"/v2/images/{u}", [{"op": "replace", "path": "/protected", "value": False}],
         ctype=patch_type)
    call("alice", "DELETE", f"/v2/images/{u}", expect=(204,))

    # An upload whose body is cut off: the client goes away after one chunk.
    c = create("cmp-cut")
    import socket
    sock = socket.create_connection(("127.0.0.1", srv.port))
    sock.sendall((f"PUT /v2/images/{c}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"X-Auth-Token: {tokens['alice']}\r\nContent-Type: application/octet-stream\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n100\r\n").encode() + b"y" * 0x100 + b"\r\n")
    time.sleep(0.5)
    sock.close()
    deadline = time.time() + 30
    while call("alice", "GET", f"/v2/images/{c}")["status"] != "queued":
        if time.time() > deadline:
            raise RuntimeError(f"{srv.name}: the cut-off upload left the image in another state")
        time.sleep(0.3)
    call("alice", "DELETE", f"/v2/images/{c}", expect=(204,))

    # Uploads and imports whose bytes are not the declared disk format.
    f = create("cmp-not-qcow2", disk_format="qcow2")
    call("alice", "PUT", f"/v2/images/{f}/file", data, expect=(400, 415), ctype="application/octet-stream")
    call("alice", "DELETE", f"/v2/images/{f}", expect=(204,))
    g = create("cmp-import-not-qcow2", disk_format="qcow2")
    call("alice", "PUT", f"/v2/images/{g}/stage", data, expect=(204,), ctype="application/octet-stream")
    call("alice", "POST", f"/v2/images/{g}/import", {"method": {"name": "glance-direct"}}, expect=(202,))
    deadline = time.time() + 20
    while "os_glance_import_task" in call("alice", "GET", f"/v2/images/{g}"):
        if time.time() > deadline:
            raise RuntimeError(f"{srv.name}: the failing import did not end in 60 s: {call('alice', 'GET', f'/v2/images/{g}')}")
        time.sleep(0.3)
    call("alice", "DELETE", f"/v2/images/{g}", expect=(204,))

    # A failed upload: more than image_size_cap.
    j = create("cmp-too-big")
    call("alice", "PUT", f"/v2/images/{j}/file", b"x" * (2 * SIZE_CAP), expect=(413,),
         ctype="application/octet-stream")
    call("alice", "DELETE", f"/v2/images/{j}", expect=(204,))

    # An interoperable import: stage, then glance-direct.
    k = create("cmp-import")
    call("alice", "PUT", f"/v2/images/{k}/stage", data, expect=(204,), ctype="application/octet-stream")
    call("alice", "POST", f"/v2/images/{k}/import", {"method": {"name": "glance-direct"}}, expect=(202,))
    deadline = time.time() + 20
    # Done when active and the import's lock is gone (the flow's last step).
    while (lambda img: img["status"] != "active" or "os_glance_import_task" in img)(
            call("alice", "GET", f"/v2/images/{k}")):
        if time.time() > deadline:
            raise RuntimeError(f"{srv.name}: the import did not finish in 60 s")
        time.sleep(0.3)
    call("alice", "DELETE", f"/v2/images/{k}", expect=(204,))

    # Metadefs, as the cloud admin.
    ns = "/v2/metadefs/namespaces"
    call("admin", "POST", ns, {"namespace": "cmp-ns", "display_name": "Compare", "description": "d",
                               "visibility": "public", "protected": False}, expect=(201,))
    call("admin", "PUT", f"{ns}/cmp-ns", {"namespace": "cmp-ns2", "display_name": "Compare 2",
                                          "description": "d2", "visibility": "public", "protected": False})
    n = f"{ns}/cmp-ns2"
    call("admin", "POST", f"{n}/objects", {
        "name": "obj1", "description": "o", "required": ["p1"],
        "properties": {"p1": {"type": "string", "title": "P1", "default": "x"},
                       "p2": {"type": "integer", "title": "P2", "minimum": 0, "maximum": 8}}}, expect=(201,))
    call("admin", "PUT", f"{n}/objects/obj1", {
        "name": "obj2", "description": "o2",
        "properties": {"p1": {"type": "boolean", "title": "P1", "default": False}}})
    call("admin", "POST", f"{n}/properties", {"name": "prop1", "title": "Prop", "type": "string",
                                              "enum": ["a", "b"], "default": "a"}, expect=(201,))
    call("admin", "PUT", f"{n}/properties/prop1", {"name": "prop2", "title": "Prop 2", "type": "integer",
                                                   "minimum": 1})
    call("admin", "POST", f"{n}/tags/tag1", expect=(201,))
    call("admin", "PUT", f"{n}/tags/tag1", {"name": "tag2"})
    call("admin", "POST", f"{n}/tags", {"tags": [{"name": "ta"}, {"name": "tb"}]}, expect=(201,))
    call("admin", "POST", f"{n}/resource_types", {"name": "OS::Glance::Image", "prefix": "hw_"}, expect=(201,))
    call("admin", "DELETE", f"{n}/resource_types/OS::Glance::Image", expect=(204,))
    call("admin", "DELETE", f"{n}/properties/prop2", expect=(204,))
    call("admin", "DELETE", f"{n}/objects/obj2", expect=(204,))
    call("admin", "DELETE", f"{n}/tags/ta", expect=(204,))  # the bulk create replaced tag2
    call("admin", "POST", f"{n}/objects", {"name": "obj3", "properties": {}}, expect=(201,))
    call("admin", "POST", f"{n}/properties", {"name": "prop3", "title": "P3", "type": "string"}, expect=(201,))
    call("admin", "DELETE", f"{n}/objects", expect=(204,))
    call("admin", "DELETE", f"{n}/properties", expect=(204,))
    call("admin", "DELETE", f"{n}/tags", expect=(204,))
    call("admin", "DELETE", n, expect=(204,))
    # A namespace created with its content in one body, then deleted with it.
    call("admin", "POST", ns, {
        "namespace": "cmp-full", "display_name": "Full",
        "resource_type_associations": [{"name": "OS::Nova::Flavor", "prefix": "hw:"}],
        "objects": [{"name": "o", "properties": {"a": {"type": "integer", "title": "A", "default": 3}}}],
        "properties": {"pp": {"type": "boolean", "title": "PP", "default": True}},
        "tags": [{"name": "x"}]}, expect=(201,))
    call("admin", "DELETE", f"{ns}/cmp-full", expect=(204,))
    return images


# ----------------------------------------------------------------------------- comparison

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{32}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")


class Names:
    """Replaces ids by what they name: known ids by name, others by rank of first sight in one message."""

    def __init__(self, known):
        self.known = known  # id -> label
        self.local = {}

    def text(self, s):
        for url in self.known.get("urls", ()):
            s = s.replace(url, "<server url>")

        def name_id(m):
            v = m.group(0)
            if v in self.known:
                return f"<{self.known[v]}>"
            if v not in self.local:
                self.local[v] = f"<id{len(self.local)}>"
            return self.local[v]

        s = UUID.sub(name_id, s)
        return TIME.sub(lambda m: "<time " + re.sub(r"\d", "9", m.group(0)) + ">", s)

    def value(self, v):
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return OrderedDict((self.text(k), self.value(x)) for k, x in v.items())
        return v


# Orders Glance does not define, compared without order: an image's tags are a Python set
# (`list(image.tags)`: hash order, which changes with every process), its properties come in
# database row order; glint sends both sorted by name.
UNORDERED = {
    "tags": lambda v: sorted(v) if isinstance(v, list) else v,
    "properties": lambda v: OrderedDict(sorted(v.items())) if isinstance(v, dict) else v,
}


def describe(m, known):
    """One captured message as a flat {field: normalised value}, for a field-by-field comparison."""
    names = Names(known)
    out = OrderedDict()
    out["exchange"] = m["exchange"]
    out["routing_key"] = m["routing_key"]
    for k, v in sorted(m["properties"].items()):
        if k == "application_headers":
            continue
        out[f"property {k}"] = names.value(v)
    out["headers"] = names.value(m["headers"])
    raw = m["raw"].decode()
    try:
        env = json.loads(raw, object_pairs_hook=OrderedDict)
    except ValueError:
        out["body"] = f"not JSON: {raw[:80]}"
        return out
    out["envelope keys"] = list(env.keys())
    out["envelope serialised as json.dumps"] = raw == json.dumps(env)
    out["oslo.version"] = env.get("oslo.version")
    inner_raw = env.get("oslo.message")
    if not isinstance(inner_raw, str):
        out["oslo.message"] = "missing"
        return out
    msg = json.loads(inner_raw, object_pairs_hook=OrderedDict)
    out["message keys"] = list(msg.keys())
    out["message serialised as json.dumps"] = inner_raw == json.dumps(msg)
    for k, v in msg.items():
        if k == "payload":
            continue
        out[k] = names.value(v)
    payload = msg.get("payload")
    out["payload type"] = type(payload).__name__
    if isinstance(payload, dict):
        out["payload keys"] = list(names.value(payload).keys())
        for k, v in payload.items():
            v = names.value(v)
            if msg.get("event_type", "").startswith("image.") and k in UNORDERED:
                v = UNORDERED[k](v)
            out[f"payload.{k}"] = v
    else:
        out["payload"] = names.value(payload)
    return out


def event_key(m):
    try:
        msg = json.loads(json.loads(m["raw"])["oslo.message"])
        return msg["event_type"], msg["priority"]
    except (ValueError, KeyError, TypeError):
        return "(unreadable)", ""


def compare(glance, glint, known_glance, known_glint):
    """Aligns the two streams by (event type, priority) and compares each aligned pair.
    Returns (rows for the table, list of difference lines)."""
    import difflib
    diffs = []
    per_type = OrderedDict()

    def row(et):
        return per_type.setdefault(et, {"glance": 0, "glint": 0, "fields": set(), "allowed": set()})

    for et, _ in map(event_key, glance):
        row(et)["glance"] += 1
    for et, _ in map(event_key, glint):
        row(et)["glint"] += 1

    def pair(i, j, ma, mb, et, prio):
        da, db = describe(ma, known_glance), describe(mb, known_glint)
        for field in list(OrderedDict.fromkeys(list(da) + list(db))):
            va, vb = da.get(field, "(absent)"), db.get(field, "(absent)")
            if va != vb:
                text = f"#{i} {et} {prio}: {field}: Glance {json.dumps(va)[:300]} glint {json.dumps(vb)[:300]}"
                why = allowed(et, da.get("payload.name"), field)
                if why:
                    row(et)["allowed"].add(field)
                    ALLOWED_SEEN.append(f"{text} ({why})")
                    continue
                row(et)["fields"].add(field)
                diffs.append(text)

    # Glance sends `task.run` from the thread that ran the whole import flow, once the flow's
    # engine returns: after the task's end, at a moment that varies with the machine (seen
    # several requests later). Where it may be: anywhere after the task's success or failure.
    # The runs are compared in order among themselves, the rest of the stream in order.
    def split(stream):
        runs, rest = [], []
        for m in stream:
            (runs if event_key(m)[0] == "task.run" else rest).append(m)
        return runs, rest

    def ended_before(stream, m):
        before = stream[:stream.index(m)]
        return any(event_key(x)[0] in ("task.success", "task.failure") for x in before)

    runs_a, glance_rest = split(glance)
    runs_b, glint_rest = split(glint)
    for k, (ma, mb) in enumerate(zip(runs_a, runs_b)):
        pair(k, k, ma, mb, "task.run", event_key(ma)[1])
        for name, stream, m in (("Glance", glance, ma), ("glint", glint, mb)):
            if not ended_before(stream, m):
                row("task.run")["fields"].add("(before the task ended)")
                diffs.append(f"{name}: task.run #{k} came before the task ended")
    if len(runs_a) != len(runs_b):
        row("task.run")["fields"].add("(count)")
        diffs.append(f"task.run: Glance sent {len(runs_a)}, glint {len(runs_b)}")
    glance, glint = glance_rest, glint_rest
    ga = [event_key(m) for m in glance]
    gb = [event_key(m) for m in glint]
    sm = difflib.SequenceMatcher(a=ga, b=gb, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        if op == "equal":
            for i, j in zip(range(a0, a1), range(b0, b1)):
                pair(i, j, glance[i], glint[j], *ga[i])
        else:
            for i in range(a0, a1):
                row(ga[i][0])["fields"].add("(missing in glint)" if op != "replace" else "(order/priority)")
                diffs.append(f"Glance #{i} {ga[i][0]} {ga[i][1]}: no counterpart in glint ({op})")
            for j in range(b0, b1):
                row(gb[j][0])["fields"].add("(extra in glint)" if op != "replace" else "(order/priority)")
                diffs.append(f"glint #{j} {gb[j][0]} {gb[j][1]}: no counterpart in Glance ({op})")
    return per_type, diffs


def print_table(per_type, queues_glance, queues_glint):
    w = max([len(k) for k in per_type] + [10])
    print(f"{'event type':<{w}}  {'Glance':>6}  {'glint':>6}  fields differing")
    for et, r in per_type.items():
        fields = ", ".join(sorted(r["fields"])) or "-"
        if r["allowed"]:
            fields += " (allowed: " + ", ".join(sorted(r["allowed"])) + ")"
        print(f"{et:<{w}}  {r['glance']:>6}  {r['glint']:>6}  {fields}")
    print(f"{'(total)':<{w}}  {sum(r['glance'] for r in per_type.values()):>6}  "
          f"{sum(r['glint'] for r in per_type.values()):>6}")
    same = "same" if queues_glance == queues_glint else "DIFFER"
    print(f"queues declared: Glance {queues_glance}; glint {queues_glint}: {same}")


# ----------------------------------------------------------------------------- main

def main():
    global PIDFILE
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--glance-venv", required=True)
    p.add_argument("--glint-bin", required=True)
    p.add_argument("--keystone-env", required=True)
    p.add_argument("--pidfile")
    p.add_argument("--dump", help="write both captured streams (normalised) to this JSON file")
    a = p.parse_args()
    PIDFILE = a.pidfile
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ks = read_env(a.keystone_env)
    sides = ("glance", "glint")
    captures = {}
    try:
        for side in sides:
            fresh_vhost(side)
            captures[side] = Capture(side)
        servers = {"glance": start_glance(a, ks), "glint": start_glint(a, ks)}
        for srv in servers.values():
            srv.wait_up(timeout=300)
        tokens = Tokens(ks)
        users = {ks[f"{u.upper()}_USER_ID"]: f"user {u}" for u in ("alice", "bob", "adam")}
        projects = {ks[f"{p.upper()}_PROJECT_ID"]: f"project {p}" for p in ("alpha", "beta", "admin")}
        known = {}
        for side in sides:
            t0 = time.time()
            images = sequence(servers[side], tokens, ks)
            captures[side].settle()
            known[side] = dict(users, **projects, **{v: f"image {k}" for k, v in images.items()})
            known[side]["urls"] = [servers[side].url]
            log(f"{side}: sequence and capture in {time.time() - t0:.1f} s, {captures[side].count()} messages")
        q = {side: queues(side) for side in sides}
    finally:
        for c in captures.values():
            c.close()
        stop_all()
    per_type, diffs = compare(captures["glance"].messages, captures["glint"].messages,
                              known["glance"], known["glint"])
    if a.dump:
        with open(a.dump, "w") as f:
            json.dump({side: [describe(m, known[side]) for m in captures[side].messages] for side in sides}, f,
                      indent=1)
    for side in sides:
        drop_vhost(side)
    print_table(per_type, q["glance"], q["glint"])
    if q["glance"] != q["glint"]:
        diffs.append("the queues declared differ")
    if not captures["glance"].messages:
        diffs.append("Glance sent nothing: the comparison compared nothing")
    for d in ALLOWED_SEEN:
        print(f"ALLOWED {d}")
    for d in diffs:
        print(f"DIFF {d}")
    print(f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
