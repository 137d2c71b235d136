#!/usr/bin/env bash
# tempest/run.sh — run OpenStack Tempest's image API tests (tempest.api.image.v2, user and admin)
# against glint, behind a real Keystone. Exits non-zero if any test fails. See tempest/README.md.
#
# Usage:  bash tempest/run.sh [REGEX]
#   REGEX   which tests to run (default '^tempest\.api\.image\.v2'); tempest/exclude.txt always applies.
#           e.g. bash tempest/run.sh 'ImagesMemberTest.test_image_share_accept'
#
# What it does:
#   1. creates the virtualenv $GLINT_WORK/tempest-venv with tempest==47.0.0 from PyPI, installed against
#      the OpenStack 2026.1 upper-constraints (skipped when already done);
#   2. starts Keystone and glint if they are not running, with scripts/glint-stack.sh start, in a stack
#      of Tempest's own ($GLINT_TEMPEST_STACK_WORK: its own Keystone database and catalog on port
#      $GLINT_TEMPEST_KEYSTONE_PORT, its own glint on port $GLINT_TEMPEST_PORT with its own database),
#      so that other users of the default stack (ports 5000/9292) neither disturb a run nor are
#      disturbed by it. glint runs there with [image_format] require_image_format_match = false, like
#      the reference Glance run (Tempest's list tests upload random bytes as qcow2/vhd/ami images).
#      glint-stack.sh rebuilds glint with cargo and restarts it when the binary is newer;
#   3. renders tempest/tempest.conf.in into the Tempest workspace $GLINT_WORK/tempest (created with
#      `tempest init`; HOME is $GLINT_WORK/tempest-home so nothing is written to ~). Tempest creates
#      the primary, alt, admin and project_reader users and projects itself (dynamic credentials)
#      with the Keystone admin, and removes them after each test class;
#   4. runs `tempest run --regex REGEX --exclude-list tempest/exclude.txt --concurrency 2` and prints
#      the summary. Logs: $GLINT_WORK/tempest/tempest.log (every HTTP request/response),
#      $GLINT_TEMPEST_STACK_WORK/glint/glint.log, $GLINT_TEMPEST_STACK_WORK/keystone/keystone.log.
#
# Environment (all optional):
#   GLINT_WORK                   work dir (default <repo>/.work)
#   GLINT_SHARED                 dir holding openstack/upper-constraints-2026.1.txt (default <repo>/../shared)
#   GLINT_PYTHON                 interpreter for the virtualenv (default python3)
#   GLINT_TEMPEST_STACK_WORK     the stack's work dir (default $GLINT_WORK/tempest-stack). Pointing it at
#                                $GLINT_WORK together with the two ports 5000/9292 shares the default
#                                stack instead (glint is then restarted if its config lacks
#                                require_image_format_match = false).
#   GLINT_TEMPEST_KEYSTONE_PORT  Keystone port of that stack (default 5011)
#   GLINT_TEMPEST_PORT           glint port of that stack (default 9311)
#   GLINT_TEMPEST_CONCURRENCY    test workers (default 2)
#   GLINT_STACK_DB               glint's backend in that stack: sqlite (default), postgres or mysql (a
#                                fresh PostgreSQL or MariaDB database, dropped when the stack stops; see
#                                scripts/glint-stack.sh). scripts/test.sh runs Tempest on mysql.
#   GLINT_TEMPEST_HTTP_PORT      port of the local web server the web-download import test fetches its
#                                image from (default 9313); glint's [import_filtering_opts] allows it
#                                (allowed_ports, and allow_internal_addresses for its loopback address)
set -euo pipefail

TEMPEST_VERSION=47.0.0
DEFAULT_REGEX='^tempest\.api\.image\.v2'

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO_ROOT/tempest"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
GLINT_SHARED="${GLINT_SHARED:-$REPO_ROOT/../shared}"
CONSTRAINTS="$GLINT_SHARED/openstack/upper-constraints-2026.1.txt"
PYTHON="${GLINT_PYTHON:-python3}"

VENV="$GLINT_WORK/tempest-venv"
VENV_MARKER="$VENV/.glint-tempest-$TEMPEST_VERSION"
WORKSPACE="$GLINT_WORK/tempest"
TEMPEST_HOME="$GLINT_WORK/tempest-home"
STACK_WORK="${GLINT_TEMPEST_STACK_WORK:-$GLINT_WORK/tempest-stack}"
KEYSTONE_PORT="${GLINT_TEMPEST_KEYSTONE_PORT:-5011}"
GLINT_PORT="${GLINT_TEMPEST_PORT:-9311}"
CONCURRENCY="${GLINT_TEMPEST_CONCURRENCY:-2}"
HTTP_PORT="${GLINT_TEMPEST_HTTP_PORT:-9313}"
REGEX="${1:-$DEFAULT_REGEX}"
FORMAT_LINE='require_image_format_match = false'
# web-download may fetch from the local image server (Glance's default ports are 80 and 443 only).
PORTS_LINE="allowed_ports = 80,443,$HTTP_PORT"
# ...which is on loopback, an internal address glint refuses to fetch from unless the operator
# allows it (a difference from Glance); the rest of Glance's filter stays as it is.
INTERNAL_LINE='allow_internal_addresses = true'
# Multi-store mode (Glance's enabled_backends) with two file stores, so that Tempest finds stores in
# /v2/info/stores and runs its multi-store, copy-image and store-weight tests. `local2` comes first
# (imports to all stores write it first) but weighs less than `local` (the default): `stores` and
# downloads follow the weights, and the weight order is also the alphabetical one Tempest's
# waiter compares against. Beside them the read-only http store (`web`, as devstack names it)
# for the location tests, with show_multiple_locations on, as Tempest's manage_locations needs.
STORE_LINE='enabled_backends = local2:file,local:file,web:http
show_multiple_locations = true'
MULTISTORE_CONF='[local]
store_description = glint local filesystem store
weight = 100
[local2]
store_description = glint second filesystem store
weight = 50'
# The location tests' URLs are on loopback too: the local image server, and the random port of
# HashCalculationRemoteDeletionTest's server.
HTTP_STORE_LINE='allow_internal_addresses = true'

log() { echo "tempest/run.sh: $*" >&2; }

# Stray OS_* variables from the caller's shell must not steer Tempest, the CLI or Keystone.
while read -r _var; do unset "$_var"; done < <(compgen -e | grep '^OS_' || true)
unset TEMPEST_CONFIG TEMPEST_CONFIG_DIR

# --- 1. virtualenv ------------------------------------------------------------------------------
install_tempest() {
  if [ -f "$VENV_MARKER" ]; then return 0; fi
  [ -f "$CONSTRAINTS" ] || { log "constraints file not found: $CONSTRAINTS (set GLINT_SHARED)"; exit 1; }
  log "installing tempest $TEMPEST_VERSION into $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  mkdir -p "$GLINT_WORK/logs"
  if ! "$VENV/bin/pip" install --disable-pip-version-check -c "$CONSTRAINTS" "tempest==$TEMPEST_VERSION" \
      > "$GLINT_WORK/logs/tempest-pip-install.log" 2>&1; then
    tail -n 30 "$GLINT_WORK/logs/tempest-pip-install.log" >&2
    log "pip install failed (log: $GLINT_WORK/logs/tempest-pip-install.log)"; exit 1
  fi
  touch "$VENV_MARKER"
}

# --- 2. Keystone + glint ------------------------------------------------------------------------
# GLINT_TEMPEST_CONF_EXTRA: more INI lines for glint's config (scripts/test.sh turns the sharing
# extensions on with it: old clients must not notice them).
stack() {  # run scripts/glint-stack.sh (and through it scripts/keystone.sh) on Tempest's stack
  GLINT_WORK="$STACK_WORK" GLINT_KEYSTONE_PORT="$KEYSTONE_PORT" GLINT_PORT="$GLINT_PORT" \
    GLINT_SHARED="$GLINT_SHARED" GLINT_STACK_CONF_EXTRA="$(printf '[DEFAULT]\n%s\n[glance_store]\ndefault_backend = local\n%s\n[glint_http_store]\n%s\n[image_format]\n%s\n[import_filtering_opts]\n%s\n%s\n%s\n' "$STORE_LINE" "$MULTISTORE_CONF" "$HTTP_STORE_LINE" "$FORMAT_LINE" "$PORTS_LINE" "$INTERNAL_LINE" "${GLINT_TEMPEST_CONF_EXTRA:-}")" \
    bash "$REPO_ROOT/scripts/glint-stack.sh" "$@"
}

start_stack() {
  mkdir -p "$STACK_WORK"
  STACK_WORK="$(cd "$STACK_WORK" && pwd)"
  if [ "$STACK_WORK" != "$GLINT_WORK" ] && [ ! -e "$STACK_WORK/venv" ]; then
    # Share the Keystone/OpenStackClient virtualenv of the default work dir instead of a second copy.
    GLINT_WORK="$GLINT_WORK" bash "$REPO_ROOT/scripts/keystone.sh" install >&2
    ln -s "$GLINT_WORK/venv" "$STACK_WORK/venv"
  fi
  local conf="$STACK_WORK/glint/glint-api.conf"
  local line
  for line in "$STORE_LINE" "$FORMAT_LINE" "$PORTS_LINE" "$INTERNAL_LINE"; do
    if stack status && ! grep -qx "$line" "$conf" 2>/dev/null; then
      log "glint at port $GLINT_PORT runs without '$line': restarting it"
      stack stop
    fi
  done
  stack start
  for line in "$STORE_LINE" "$FORMAT_LINE" "$PORTS_LINE" "$INTERNAL_LINE"; do
    grep -qx "$line" "$conf" || { log "$conf lacks '$line'"; exit 1; }
  done
  # The metadefs tests need resource types, which a Glance deployment gets from
  # `glance-manage db_load_metadefs`; glint's equivalent loads its test catalog (idempotent).
  "${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/glint" --config-file "$conf" --data-dir "$STACK_WORK/glint" \
    db load-metadefs "$REPO_ROOT/tests/fixtures/metadefs" >&2 \
    || { log "glint db load-metadefs failed"; exit 1; }
}

# The web server Tempest's web-download import test fetches from (the machine may have no Internet
# access; Tempest's default http_qcow2_image is on download.cirros-cloud.net). Stopped on exit.
HTTP_PID=""
start_image_server() {
  local dir="$GLINT_WORK/tempest-http"
  mkdir -p "$dir"
  # Random bytes named like Tempest's images; glint runs with require_image_format_match = false.
  [ -s "$dir/cirros.qcow2" ] || head -c 1048576 /dev/urandom > "$dir/cirros.qcow2"
  [ -s "$dir/cirros.tar.gz" ] || cp "$dir/cirros.qcow2" "$dir/cirros.tar.gz"
  "$PYTHON" -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$dir" \
    > "$GLINT_WORK/tempest-http.log" 2>&1 &
  HTTP_PID=$!
  trap '[ -z "$HTTP_PID" ] || kill "$HTTP_PID" 2>/dev/null || true' EXIT
  local _
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "the image server did not start on port $HTTP_PORT (log: $GLINT_WORK/tempest-http.log)"; exit 1
}

# --- 3. workspace and tempest.conf --------------------------------------------------------------
render_config() {
  # shellcheck disable=SC1091
  set -a; . "$STACK_WORK/glint/env"; set +a
  export TEMPEST_WORKSPACE="$WORKSPACE" GLINT_TEMPEST_HTTP_PORT="$HTTP_PORT"
  mkdir -p "$TEMPEST_HOME"
  if [ ! -f "$WORKSPACE/.stestr.conf" ]; then
    rm -rf "$WORKSPACE"
    (cd "$GLINT_WORK" && "$VENV/bin/tempest" init --name glint "$WORKSPACE" >/dev/null 2>&1) \
      || { log "tempest init failed"; exit 1; }
  fi
  "$VENV/bin/python" - "$HERE/tempest.conf.in" "$WORKSPACE/etc/tempest.conf" <<'PY'
import os, re, sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
def sub(m):
    name = m.group(1)
    if name not in os.environ:
        sys.exit("tempest.conf.in: %s is not set" % name)
    return os.environ[name]
text = re.sub(r'@([A-Z_][A-Z0-9_]*)@', sub, text)
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, 'w') as f:
    f.write(text)
PY
}

SUMMARY_PY='
import collections, re, sys
import subunit, testtools
strip = lambda t: re.sub(r"\[.*\]$", "", t)
selected = [strip(l.strip()) for l in open(sys.argv[1]) if l.startswith("tempest.")]
status, reasons = {}, {}
class R(testtools.StreamResult):
    def status(self, test_id=None, test_status=None, file_name=None, file_bytes=None, **kw):
        if not test_id:
            return
        if file_name == "reason" and file_bytes:
            reasons[test_id] = reasons.get(test_id, "") + bytes(file_bytes).decode("utf-8", "replace")
        if test_status in ("success", "fail", "skip", "xfail", "uxsuccess"):
            status[test_id] = test_status
r = R(); r.startTestRun()
subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout").run(r)
r.stopTestRun()
per_test, skip_why = {}, {}
for tid, st in status.items():
    m = re.match(r"setUpClass \((.*)\)$", tid)
    names = [t for t in selected if t.startswith(m.group(1) + ".")] if m else [strip(tid)]
    for t in names:
        per_test[t] = {"xfail": "success", "uxsuccess": "fail"}.get(st, st)
        if st == "skip":
            skip_why[t] = reasons.get(tid, "").strip()
c = collections.Counter(per_test.values())
missing = [t for t in selected if t not in per_test]
print("selected: %d   passed: %d   skipped: %d   failed: %d%s" % (
    len(selected) or len(per_test), c["success"], c["skip"], c["fail"],
    ("   not run: %d" % len(missing)) if selected and missing else ""))
for t in sorted(t for t, st in per_test.items() if st == "skip"):
    print("  SKIPPED %s: %s" % (t, skip_why.get(t, "")))
for t in sorted(t for t, st in per_test.items() if st == "fail"):
    print("  FAILED  %s" % t)
'

# --- 4. run ------------------------------------------------------------------------------------
run_tempest() {
  cd "$WORKSPACE"
  rm -f tempest.log
  log "running tempest ($REGEX, concurrency $CONCURRENCY) against $GLINT_URL"
  local start rc=0 before
  before="$(cat .stestr/next-stream 2>/dev/null || true)"
  start=$(date +%s)
  "$VENV/bin/tempest" run --config-file "$WORKSPACE/etc/tempest.conf" \
    --regex "$REGEX" --exclude-list "$HERE/exclude.txt" --concurrency "$CONCURRENCY" || rc=$?
  local elapsed=$(( $(date +%s) - start ))
  echo
  echo "======== glint Tempest summary ========"
  # Counts per test id from the subunit stream of this run (stestr's "last" run). A class skipped in
  # setUpClass reports one skip result: it is expanded to the selected tests of that class.
  "$VENV/bin/tempest" run --list-tests --config-file "$WORKSPACE/etc/tempest.conf" \
    --regex "$REGEX" --exclude-list "$HERE/exclude.txt" 2>/dev/null | grep '^tempest\.' > "$WORKSPACE/selected.txt" || true
  if [ "$(cat .stestr/next-stream 2>/dev/null)" != "$before" ]; then
    "$VENV/bin/stestr" last --subunit 2>/dev/null | "$VENV/bin/python" -c "$SUMMARY_PY" "$WORKSPACE/selected.txt" || true
  else
    echo "no test ran (regex: $REGEX; $(wc -l < "$WORKSPACE/selected.txt") tests selected)"
    [ "$rc" -ne 0 ] || rc=1
  fi
  echo "backend: $(stack backend || echo unknown)"
  echo "run time: ${elapsed}s   (workspace: $WORKSPACE, log: $WORKSPACE/tempest.log)"
  if [ "$rc" -ne 0 ]; then
    echo "RESULT: FAILED (tempest exit code $rc)"
  else
    echo "RESULT: OK"
  fi
  return "$rc"
}

install_tempest
start_stack
start_image_server
export HOME="$TEMPEST_HOME" XDG_CONFIG_HOME="$TEMPEST_HOME/.config" XDG_CACHE_HOME="$TEMPEST_HOME/.cache"
render_config
export TEMPEST_CONFIG_DIR="$WORKSPACE/etc" TEMPEST_CONFIG=tempest.conf
run_tempest
