#!/usr/bin/env bash
# keystone.sh — install and run a real OpenStack Keystone (from PyPI) on loopback, for glint's tests and CI.
#
# Usage:  bash scripts/keystone.sh <command>
#   install               create $GLINT_WORK/venv and pip-install keystone 29.0.2, python-openstackclient 9.0.0
#                         and gunicorn 25.2.0 against the OpenStack 2026.1 upper-constraints (skipped when done)
#   start                 install if needed; write $GLINT_WORK/keystone/keystone.conf; the first time only:
#                         db_sync, fernet/receipt/credential key setup and `keystone-manage bootstrap`; start
#                         Keystone under gunicorn (1 worker, 1 thread) on 127.0.0.1:$GLINT_KEYSTONE_PORT and wait
#                         until GET /v3 answers; provision glint's identities (below) and write the env file.
#                         Does nothing when Keystone is already running and provisioned.
#   stop                  stop Keystone (no error when it is not running)
#   restart               stop, then start
#   status                print whether Keystone is running; exit 0 if it is (and answers GET /v3), 1 if not
#   token <user> <project>  print a project-scoped token (password pass-<user>; `admin` and `glint` use theirs)
#   reset                 stop Keystone and delete its data ($GLINT_WORK/keystone); keeps the venv
#
# Environment (all optional):
#   GLINT_WORK                     work dir (default <repo>/.work, gitignored); everything is written under it
#   GLINT_SHARED                   dir holding openstack/upper-constraints-2026.1.txt (default <repo>/../shared)
#   GLINT_PYTHON                   interpreter used to create the venv (default python3; Keystone needs >= 3.10)
#   GLINT_KEYSTONE_PORT            port on 127.0.0.1 (default 5000)
#   GLINT_KEYSTONE_ADMIN_PASSWORD  password of Keystone's `admin` user (default admin-secret)
#   GLINT_SERVICE_PASSWORD         password of glint's service user `glint` (default glint-secret)
#
# Identities provisioned (domain Default; idempotent, with the venv's `openstack` CLI, as admin):
#   project service: user glint (roles service + admin). Keystone 29's identity:validate_token is
#                    "rule:admin_required or (role:reader and system_scope:all) or rule:service_role or
#                    rule:token_subject", so either role lets glint validate users' tokens (admin also makes
#                    it a Keystone cloud admin: fine for tests).
#   project alpha:   alice (member), rita (reader), adam (admin)
#   project beta:    bob (member)
#   passwords: pass-<username>.  Roles imply admin -> manager -> member -> reader.
#
# Files under $GLINT_WORK/keystone/:
#   env            shell-sourceable KEY=value lines for tests: KEYSTONE_URL, KEYSTONE_AUTH_URL, KEYSTONE_REGION,
#                  KEYSTONE_ADMIN_USER, KEYSTONE_ADMIN_PASSWORD, KEYSTONE_ADMIN_PROJECT, GLINT_SERVICE_USER,
#                  GLINT_SERVICE_PASSWORD, GLINT_SERVICE_PROJECT, GLINT_SERVICE_DOMAIN, ADMIN_PROJECT_ID,
#                  SERVICE_PROJECT_ID, ALPHA_PROJECT_ID, BETA_PROJECT_ID, GLINT_USER_ID, ALICE_USER_ID,
#                  BOB_USER_ID, RITA_USER_ID, ADAM_USER_ID
#   keystone.conf, keystone.db (SQLite, WAL), fernet-keys/, receipt-keys/, credential-keys/,
#   keystone.log (Keystone), gunicorn.log + access.log (server), gunicorn.pid, glint_keystone_wsgi.py
#
# Example:
#   bash scripts/keystone.sh start && . .work/keystone/env
#   TOKEN=$(bash scripts/keystone.sh token alice alpha)
#   curl -s -H "X-Auth-Token: $TOKEN" "$KEYSTONE_URL/v3/auth/tokens" -H "X-Subject-Token: $TOKEN"
#
# Passwords and tokens are never printed, except by `token` (its whole output is the token).
set -euo pipefail

KEYSTONE_VERSION=29.0.2
OSC_VERSION=9.0.0
GUNICORN_VERSION=25.2.0

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
GLINT_SHARED="${GLINT_SHARED:-$REPO_ROOT/../shared}"
CONSTRAINTS="$GLINT_SHARED/openstack/upper-constraints-2026.1.txt"
PYTHON="${GLINT_PYTHON:-python3}"

PORT="${GLINT_KEYSTONE_PORT:-5000}"
ADMIN_PASSWORD="${GLINT_KEYSTONE_ADMIN_PASSWORD:-admin-secret}"
SERVICE_PASSWORD="${GLINT_SERVICE_PASSWORD:-glint-secret}"
REGION=RegionOne
KEYSTONE_URL="http://127.0.0.1:$PORT"
AUTH_URL="$KEYSTONE_URL/v3"

VENV="$GLINT_WORK/venv"
VENV_MARKER="$VENV/.glint-keystone-installed"
KS_DIR="$GLINT_WORK/keystone"
CONF="$KS_DIR/keystone.conf"
PIDFILE="$KS_DIR/gunicorn.pid"
ENV_FILE="$KS_DIR/env"
SETUP_MARKER="$KS_DIR/.setup-done"
PROVISION_MARKER="$KS_DIR/.provisioned"
LOCKFILE="$GLINT_WORK/keystone.lock"
START_TIMEOUT=60

# Stray OS_* variables (OS_CLOUD, OS_TOKEN, ...) from the caller's shell must not steer the CLI or Keystone.
while read -r _var; do unset "$_var"; done < <(compgen -e | grep '^OS_' || true)

say() { echo "keystone.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

lock() {
  exec 9>"$LOCKFILE"
  if ! flock -w 600 9; then die "timed out waiting for another keystone.sh run (lock $LOCKFILE)"; fi
}

# Commands from the venv run with HOME inside the work dir, so nothing lands in ~.
venv_run() {
  HOME="$KS_DIR/home" XDG_CACHE_HOME="$KS_DIR/home/.cache" XDG_CONFIG_HOME="$KS_DIR/home/.config" \
    PATH="$VENV/bin:$PATH" "$@"
}

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------------------------------------- install

install_spec() {
  local pyver
  pyver="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
  printf 'keystone==%s python-openstackclient==%s gunicorn==%s python=%s constraints=%s\n' \
    "$KEYSTONE_VERSION" "$OSC_VERSION" "$GUNICORN_VERSION" "$pyver" "$(sha256sum <"$CONSTRAINTS" | cut -d' ' -f1)"
}

cmd_install() {
  [ -f "$CONSTRAINTS" ] || die "constraints file not found: $CONSTRAINTS (set GLINT_SHARED to the dir holding openstack/)"
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set GLINT_PYTHON)"
  local spec
  spec="$(install_spec)"
  if [ -f "$VENV_MARKER" ] && [ "$(cat "$VENV_MARKER")" = "$spec" ] && "$VENV/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  local pyver='import sys; print("%d.%d.%d" % sys.version_info[:3])'
  if [ -d "$VENV" ] && [ "$("$VENV/bin/python" -c "$pyver" 2>/dev/null)" != "$("$PYTHON" -c "$pyver")" ]; then
    say "removing venv $VENV (broken, or made by another Python than $PYTHON)"
    rm -rf "$VENV"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating venv $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  mkdir -p "$GLINT_WORK/logs"
  local log="$GLINT_WORK/logs/pip-install.log"
  say "installing keystone==$KEYSTONE_VERSION python-openstackclient==$OSC_VERSION gunicorn==$GUNICORN_VERSION" \
    "(a few minutes on a fresh machine; log: $log)"
  rm -f "$VENV_MARKER"
  if ! "$VENV/bin/python" -m pip install --no-input --disable-pip-version-check -c "$CONSTRAINTS" \
    "keystone==$KEYSTONE_VERSION" "python-openstackclient==$OSC_VERSION" "gunicorn==$GUNICORN_VERSION" \
    >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "pip install failed (full log: $log)"
  fi
  echo "$spec" >"$VENV_MARKER"
  say "installed into $VENV"
}

# ---------------------------------------------------------------------------------------------- server state

server_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Only our gunicorn: a stale pid file must not make us signal an unrelated process.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "gunicorn.*glint_keystone_wsgi" || return 1
  echo "$pid"
}

# gunicorn processes of this work dir whose master is gone (e.g. killed with -9: its worker lingers for up to a
# minute, holding the port). Matched on this work dir's own pid file path, so nothing else is touched.
orphans() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"
    pid="${pid%/cmdline}"
    if tr '\0' ' ' <"$f" 2>/dev/null | grep -qF -- "gunicorn --daemon --pid $PIDFILE "; then echo "$pid"; fi
  done
}

kill_orphans() {
  local pids
  pids="$(orphans)"
  [ -n "$pids" ] || return 0
  say "stopping leftover Keystone processes: $(tr '\n' ' ' <<<"$pids")"
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  sleep 0.5
}

answers() { curl -sf -o /dev/null --max-time 3 "$AUTH_URL"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------- configuration

write_file_if_changed() { # path content
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then printf '%s\n' "$2" >"$1"; fi
}

write_config() {
  mkdir -p "$KS_DIR/home" "$KS_DIR/fernet-keys" "$KS_DIR/receipt-keys" "$KS_DIR/credential-keys"
  chmod 700 "$KS_DIR/fernet-keys" "$KS_DIR/receipt-keys" "$KS_DIR/credential-keys"
  write_file_if_changed "$CONF" "# Written by scripts/keystone.sh; edits are overwritten on start.
[DEFAULT]
log_file = $KS_DIR/keystone.log
use_stderr = false

[database]
connection = sqlite:///$KS_DIR/keystone.db

[token]
provider = fernet

[fernet_tokens]
key_repository = $KS_DIR/fernet-keys

[fernet_receipts]
key_repository = $KS_DIR/receipt-keys

[credential]
key_repository = $KS_DIR/credential-keys

[cache]
enabled = true
backend = dogpile.cache.memory

[identity]
password_hash_rounds = 4"
  write_file_if_changed "$KS_DIR/glint_keystone_wsgi.py" '"""gunicorn entry for Keystone (written by scripts/keystone.sh)."""
import os
import sys

# Keystone parses sys.argv with oslo.config: gunicorn'"'"'s own arguments would make the worker exit with code 2.
sys.argv = sys.argv[:1]
os.environ.pop("OS_KEYSTONE_CONFIG_DIR", None)
os.environ["OS_KEYSTONE_CONFIG_FILES"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keystone.conf")

from keystone.wsgi.api import application  # noqa: E402,F401'
}

manage() { venv_run keystone-manage --config-file "$CONF" "$@"; }

# db_sync, key repositories and bootstrap: only the first time (or when the pinned version, port or admin
# password changed; bootstrap is idempotent and updates the admin password and endpoint URLs).
setup_once() {
  local want
  want="keystone=$KEYSTONE_VERSION port=$PORT admin=$(sha256 "$ADMIN_PASSWORD")"
  if [ -f "$SETUP_MARKER" ] && [ "$(cat "$SETUP_MARKER")" = "$want" ]; then return 0; fi
  say "setting up Keystone's database and keys in $KS_DIR"
  rm -f "$SETUP_MARKER" "$PROVISION_MARKER"
  if [ ! -f "$KS_DIR/keystone.db" ]; then
    # WAL is a persistent property of the database file: set it once, before the schema exists.
    "$VENV/bin/python" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=WAL"); c.close()' \
      "$KS_DIR/keystone.db"
  fi
  local who=(--keystone-user "$(id -un)" --keystone-group "$(id -gn)")
  manage db_sync
  [ -f "$KS_DIR/fernet-keys/0" ] || manage fernet_setup "${who[@]}"
  [ -f "$KS_DIR/receipt-keys/0" ] || manage receipt_setup "${who[@]}"
  [ -f "$KS_DIR/credential-keys/0" ] || manage credential_setup "${who[@]}"
  OS_BOOTSTRAP_PASSWORD="$ADMIN_PASSWORD" manage bootstrap \
    --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "$AUTH_URL" --bootstrap-public-url "$AUTH_URL" --bootstrap-internal-url "$AUTH_URL"
  echo "$want" >"$SETUP_MARKER"
}

# ---------------------------------------------------------------------------------------------- run

ensure_port_free() {
  kill_orphans
  if port_busy; then
    die "127.0.0.1:$PORT is already in use by another process (another Keystone? set GLINT_KEYSTONE_PORT)"
  fi
}

launch() {
  say "starting Keystone on $KEYSTONE_URL (logs: $KS_DIR/keystone.log, $KS_DIR/gunicorn.log)"
  rm -f "$PIDFILE"
  : >>"$KS_DIR/gunicorn.log"
  local log_start
  log_start=$(($(wc -l <"$KS_DIR/gunicorn.log") + 1))
  # One worker, one thread: Keystone on SQLite gives "database is locked" errors with more.
  # 9>&-: the daemon must not inherit (and hold forever) this script's lock.
  venv_run gunicorn --daemon --pid "$PIDFILE" --chdir "$KS_DIR" --pythonpath "$KS_DIR" \
    --bind "127.0.0.1:$PORT" --workers 1 --threads 1 --worker-class sync --timeout 120 --graceful-timeout 5 \
    --error-logfile "$KS_DIR/gunicorn.log" --access-logfile "$KS_DIR/access.log" --capture-output \
    glint_keystone_wsgi:application 9>&- ||
    die "gunicorn did not start (see $KS_DIR/gunicorn.log)"
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if answers && server_pid >/dev/null; then
      say "Keystone is up (pid $(server_pid))"
      return 0
    fi
    # The pid file appears once the daemon is up; if it is there and the process is gone, it died.
    if [ -f "$PIDFILE" ] && ! server_pid >/dev/null; then break; fi
    sleep 0.5
  done
  say "Keystone did not answer GET $AUTH_URL within ${START_TIMEOUT}s; last lines of gunicorn.log and keystone.log:"
  tail -n +"$log_start" "$KS_DIR/gunicorn.log" | tail -n 25 >&2 || true
  tail -n 15 "$KS_DIR/keystone.log" >&2 2>/dev/null || true
  stop_server
  exit 1
}

stop_server() {
  local pid
  if ! pid="$(server_pid)"; then
    rm -f "$PIDFILE"
    return 1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "Keystone (pid $pid) ignored SIGTERM for 10s; killing it"
    kill -KILL -- "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  return 0
}

# ---------------------------------------------------------------------------------------------- provision

# The venv's openstack CLI, as Keystone's admin.
osc() {
  OS_AUTH_URL="$AUTH_URL" OS_IDENTITY_API_VERSION=3 OS_INTERFACE=public OS_REGION_NAME="$REGION" \
    OS_USERNAME=admin OS_PASSWORD="$ADMIN_PASSWORD" OS_PROJECT_NAME=admin \
    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default \
    venv_run openstack "$@"
}

# user:project:role triples glint's tests rely on.
ASSIGNMENTS=(glint:service:service glint:service:admin alice:alpha:member bob:beta:member rita:alpha:reader
  adam:alpha:admin)
TEST_USERS=(alice bob rita adam)

env_value() { # shell-safe value: bare when harmless, otherwise single-quoted
  if [[ "$1" =~ ^[A-Za-z0-9._:/@+=,-]*$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

provision() {
  local want
  want="v1 port=$PORT admin=$(sha256 "$ADMIN_PASSWORD") glint=$(sha256 "$SERVICE_PASSWORD")"
  if [ -f "$PROVISION_MARKER" ] && [ "$(cat "$PROVISION_MARKER")" = "$want" ] && [ -f "$ENV_FILE" ]; then
    return 0
  fi
  say "provisioning projects, users and roles"
  local out="$KS_DIR/provision.log"
  # One CLI process runs every command (the CLI's interactive mode reads them from stdin): a CLI start costs
  # over a second. Its exit status is 1 at end of input whatever happened, so the result is checked below.
  # Passwords travel in the commands on stdin, never in a process's arguments.
  {
    echo "role create --or-show service"
    for p in service alpha beta; do echo "project create --or-show --domain Default $p"; done
    echo "user create --or-show --domain Default --project service --password $(env_value "$SERVICE_PASSWORD") glint"
    # --or-show leaves an existing user's password alone: set it, in case it changed.
    echo "user set --password $(env_value "$SERVICE_PASSWORD") glint"
    for u in "${TEST_USERS[@]}"; do
      echo "user create --or-show --domain Default --password pass-$u $u"
      echo "user set --password pass-$u $u"
    done
    for a in "${ASSIGNMENTS[@]}"; do
      IFS=: read -r u p r <<<"$a"
      echo "role add --user $u --user-domain Default --project $p --project-domain Default $r"
    done
  } | osc >"$out" 2>&1 || true
  provision_errors() { grep -v -E '^[+|]|^$' "$out" | tail -n 20 >&2 || true; }

  # Check the result and collect the IDs in one more CLI call each.
  local projects users assignments
  projects="$(osc project list --domain Default -f json)" || die "openstack project list failed"
  users="$(osc user list --domain Default -f json)" || die "openstack user list failed"
  assignments="$(osc role assignment list --names -f json)" || die "openstack role assignment list failed"
  local vars
  vars="$(PROJECTS="$projects" USERS="$users" ASSIGNMENTS_JSON="$assignments" WANT="${ASSIGNMENTS[*]}" \
    "$VENV/bin/python" - <<'EOF'
import json, os, sys
projects = {p["Name"]: p["ID"] for p in json.loads(os.environ["PROJECTS"])}
users = {u["Name"]: u["ID"] for u in json.loads(os.environ["USERS"])}
have = set()
for a in json.loads(os.environ["ASSIGNMENTS_JSON"]):
    if a.get("User") and a.get("Project"):
        have.add((a["User"].split("@")[0], a["Project"].split("@")[0], a["Role"]))
missing = []
for triple in os.environ["WANT"].split():
    u, p, r = triple.split(":")
    if (u, p, r) not in have:
        missing.append(f"{u} has no role {r} on project {p}")
for p in ("admin", "service", "alpha", "beta"):
    if p not in projects:
        missing.append(f"project {p} is missing")
for u in ("glint", "alice", "bob", "rita", "adam"):
    if u not in users:
        missing.append(f"user {u} is missing")
if missing:
    print("\n".join(missing), file=sys.stderr)
    sys.exit(1)
for p in ("admin", "service", "alpha", "beta"):
    print(f"{p.upper()}_PROJECT_ID={projects[p]}")
for u in ("glint", "alice", "bob", "rita", "adam"):
    print(f"{u.upper()}_USER_ID={users[u]}")
EOF
  )" || {
    provision_errors
    die "provisioning incomplete (CLI output: $out)"
  }
  # Every user must be able to log in with its password.
  local login u p
  for login in glint:service alice:alpha bob:beta rita:alpha adam:alpha; do
    IFS=: read -r u p <<<"$login"
    if ! get_token "$u" "$p" >/dev/null; then
      provision_errors
      die "user $u cannot log in after provisioning (CLI output: $out)"
    fi
  done

  local tmp="$ENV_FILE.tmp"
  {
    echo "# Written by scripts/keystone.sh start: Keystone for glint's tests. Shell-sourceable."
    echo "KEYSTONE_URL=$KEYSTONE_URL"
    echo "KEYSTONE_AUTH_URL=$AUTH_URL"
    echo "KEYSTONE_REGION=$REGION"
    echo "KEYSTONE_ADMIN_USER=admin"
    echo "KEYSTONE_ADMIN_PASSWORD=$(env_value "$ADMIN_PASSWORD")"
    echo "KEYSTONE_ADMIN_PROJECT=admin"
    echo "GLINT_SERVICE_USER=glint"
    echo "GLINT_SERVICE_PASSWORD=$(env_value "$SERVICE_PASSWORD")"
    echo "GLINT_SERVICE_PROJECT=service"
    echo "GLINT_SERVICE_DOMAIN=Default"
    echo "$vars"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
  echo "$want" >"$PROVISION_MARKER"
  say "wrote $ENV_FILE"
}

# ---------------------------------------------------------------------------------------------- commands

cmd_start() {
  lock
  cmd_install
  umask 077
  write_config
  local pid
  if pid="$(server_pid)"; then
    if answers; then
      provision
      say "Keystone already running (pid $pid) at $KEYSTONE_URL"
      return 0
    fi
    say "Keystone (pid $pid) does not answer GET $AUTH_URL; restarting it"
    stop_server || true
  fi
  ensure_port_free
  setup_once
  launch
  provision
  say "ready: $KEYSTONE_URL (source $ENV_FILE)"
}

cmd_stop() {
  lock
  local pid
  if pid="$(server_pid)"; then
    stop_server
    say "stopped Keystone (pid $pid)"
  else
    say "Keystone is not running"
  fi
  kill_orphans
}

cmd_status() {
  local pid
  if pid="$(server_pid)"; then
    if answers; then
      echo "keystone: running (pid $pid) at $KEYSTONE_URL"
      return 0
    fi
    echo "keystone: process $pid is up but $AUTH_URL does not answer"
    return 1
  fi
  echo "keystone: not running"
  return 1
}

# Print a project-scoped token for <user> on <project> (domain Default); messages on stderr, status 1 on failure.
get_token() {
  local user="$1" project="$2" password tmp status token
  case "$user" in
    admin) password="$ADMIN_PASSWORD" ;;
    glint) password="$SERVICE_PASSWORD" ;;
    *) password="pass-$user" ;;
  esac
  tmp="$(mktemp -d)"
  # The request body (with the password) goes to curl on stdin, not in its arguments.
  status="$(U="$user" P="$password" PR="$project" "$PYTHON" -c '
import json, os
print(json.dumps({"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": os.environ["U"], "domain": {"name": "Default"}, "password": os.environ["P"]}}},
    "scope": {"project": {"name": os.environ["PR"], "domain": {"name": "Default"}}}}}))' |
    curl -s --max-time 30 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
      -H 'Content-Type: application/json' --data-binary @- "$AUTH_URL/auth/tokens?nocatalog")" || status=000
  if [ "$status" != 201 ]; then
    say "Keystone refused a token for $user on project $project (HTTP $status): $(head -c 300 "$tmp/body" 2>/dev/null)"
    rm -rf "$tmp"
    return 1
  fi
  token="$(grep -i '^x-subject-token:' "$tmp/headers" | head -n1 | cut -d: -f2- | tr -d ' \r\n')"
  rm -rf "$tmp"
  [ -n "$token" ] || { say "Keystone's answer had no X-Subject-Token header"; return 1; }
  echo "$token"
}

cmd_token() {
  [ $# -eq 2 ] || die "usage: keystone.sh token <user> <project>"
  answers || die "Keystone does not answer at $AUTH_URL (run: keystone.sh start)"
  get_token "$1" "$2" || exit 1
}

cmd_reset() {
  lock
  stop_server || true
  rm -rf "$KS_DIR"
  say "deleted $KS_DIR (the venv is kept)"
}

case "${1:-}" in
  install) lock; cmd_install; say "install: done" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  token) shift; cmd_token "$@" ;;
  reset) cmd_reset ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
