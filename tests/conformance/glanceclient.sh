#!/usr/bin/env bash
# glanceclient.sh — python-glanceclient (4.11.0, the 2026.1 series), the library Glance's own CLI and many
# scripts use, against a running glint: it builds a warlock model from /v2/schemas/member and
# /v2/schemas/image and validates every member and image it receives against them (Glance's member schema,
# like glint's, admits undeclared keys, so what this checks is that `os_glint`, which glint declares when
# the sharing extensions are on, has the declared shape; issue 17: old clients with the extensions on).
# Owner alice (alpha) shares with beta; bob (beta) accepts. With the extensions on, the
# member also carries `os_glint` data (expiry and a note) set through glint's own route first.
# Needs the stack of scripts/glint-stack.sh (tests/conformance/run.sh starts it). Installs the pinned
# client into $GLINT_WORK/venv (the Keystone/openstack CLI venv) when missing.
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
GLINT_SHARED="${GLINT_SHARED:-$REPO_ROOT/../shared}"
CONSTRAINTS="$GLINT_SHARED/openstack/upper-constraints-2026.1.txt"
GLANCECLIENT_VERSION=4.11.0
ENV_FILE="$GLINT_WORK/glint/env"
PY="$GLINT_WORK/venv/bin/python"

[ -f "$ENV_FILE" ] || { echo "glanceclient.sh: $ENV_FILE missing: run scripts/glint-stack.sh start" >&2; exit 2; }
[ -x "$PY" ] || { echo "glanceclient.sh: $PY missing: run scripts/keystone.sh install" >&2; exit 2; }
if [ "$("$PY" -c 'import glanceclient, importlib.metadata as m; print(m.version("python-glanceclient"))' 2>/dev/null)" \
    != "$GLANCECLIENT_VERSION" ]; then
  echo "glanceclient.sh: installing python-glanceclient==$GLANCECLIENT_VERSION"
  "$PY" -m pip install -q --no-input --disable-pip-version-check -c "$CONSTRAINTS" \
    "python-glanceclient==$GLANCECLIENT_VERSION" >"$GLINT_WORK/glanceclient-pip.log" 2>&1 \
    || { echo "glanceclient.sh: pip install failed (see $GLINT_WORK/glanceclient-pip.log)" >&2; exit 2; }
fi
while read -r _var; do unset "$_var"; done < <(compgen -e | grep '^OS_' || true)
# shellcheck disable=SC1090
set -a; . "$ENV_FILE"; set +a
exec "$PY" - <<'PY'
import datetime
import os
import sys

from glanceclient import Client
from keystoneauth1 import session
from keystoneauth1.identity import v3

url, auth_url = os.environ["GLINT_URL"], os.environ["KEYSTONE_AUTH_URL"]
alpha, beta = os.environ["ALPHA_PROJECT_ID"], os.environ["BETA_PROJECT_ID"]
region = os.environ.get("KEYSTONE_REGION", "RegionOne")
passed = failed = 0


def check(desc, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"PASS  {desc}")
    else:
        failed += 1
        print(f"FAIL  {desc}\n        {detail}")


def sess(user, project):
    auth = v3.Password(auth_url=auth_url, username=user, password=f"pass-{user}", project_name=project,
                       user_domain_id="default", project_domain_id="default")
    return session.Session(auth=auth)


alice, bob = sess("alice", "alpha"), sess("bob", "beta")
# The endpoint from the catalog, as a user's client finds it.
ga = Client("2", session=alice, region_name=region)
gb = Client("2", session=bob, region_name=region)
sharing = alice.get(f"{url}/v2/glint", raise_exc=False).status_code == 200
print(f"glanceclient: sharing extensions {'on' if sharing else 'off'}")

img = ga.images.create(name=f"glint-glanceclient-{os.getpid()}", visibility="shared",
                       disk_format="raw", container_format="bare")
try:
    check("images.create: a model validated against /v2/schemas/image", img.status == "queued",
          f"status {img.status}")
    m = ga.image_members.create(img.id, beta)
    check("image_members.create: pending, validated against /v2/schemas/member",
          m.status == "pending" and m.member_id == beta, f"{dict(m)}")
    if sharing:
        expires = (datetime.datetime.utcnow() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        r = alice.put(f"{url}/v2/glint/images/{img.id}/members/{beta}", raise_exc=False,
                      json={"os_glint": {"expires_at": expires, "note": "shared by the glanceclient check"}})
        check("PUT /v2/glint/.../members/beta (owner): expiry and note set", r.status_code == 200,
              f"{r.status_code} {r.text[:300]}")
    members = list(ga.image_members.list(img.id))
    check("image_members.list (owner): one member, each validated by the client's schema model",
          [x.member_id for x in members] == [beta], f"{[dict(x) for x in members]}")
    if sharing:
        ext = dict(members[0]).get("os_glint") or {}
        check("image_members.list (owner): os_glint carries the note through the client's model",
              ext.get("note") == "shared by the glanceclient check", f"{dict(members[0])}")
    u = gb.image_members.update(img.id, beta, "accepted")
    check("image_members.update (member): accepted, validated", u.status == "accepted", f"{dict(u)}")
    listed = [i.id for i in gb.images.list(filters={"visibility": "shared", "member_status": "accepted"})]
    check("images.list shared/accepted (member): lists the image, each image validated", img.id in listed,
          f"{listed}")
    got = gb.images.get(img.id)
    check("images.get (member): the shared image", got.id == img.id and got.owner == alpha, f"{dict(got)}")
    ga.image_members.delete(img.id, beta)
    check("image_members.delete (owner): no member left", list(ga.image_members.list(img.id)) == [])
finally:
    ga.images.delete(img.id)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
