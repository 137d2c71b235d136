#!/usr/bin/env bash
# glint-stack.sh — a running glint in front of the real Keystone, registered in Keystone's catalog as
# the `image` service, for the conformance suites (Tempest, the openstack CLI, gophercloud).
#
# Usage:  bash scripts/glint-stack.sh start|stop|status|env
#   start   start Keystone (scripts/keystone.sh start), build glint, write $GLINT_WORK/glint/glint-api.conf
#           (keystone auth, SQLite under $GLINT_WORK/glint unless GLINT_STACK_DB_URL is set), register the
#           image service and its endpoints (region RegionOne) at http://127.0.0.1:$GLINT_PORT, start glint
#           and wait until it answers. Restarts glint if the binary is newer than the running one.
#   stop    stop glint (Keystone keeps running; stop it with scripts/keystone.sh stop)
#   status  exit 0 when glint answers
#   env     print the path of the env file ($GLINT_WORK/glint/env: GLINT_URL plus Keystone's env)
# Environment: GLINT_WORK (default <repo>/.work), GLINT_PORT (default 9292), GLINT_STACK_DB_URL,
#              GLINT_STACK_CONF_EXTRA (extra INI lines appended to the generated config).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK/glint"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
DIR="$GLINT_WORK/glint"
PORT="${GLINT_PORT:-9292}"
URL="http://127.0.0.1:$PORT"
BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/glint"
PIDFILE="$DIR/glint.pid"
export GLINT_WORK

log() { echo "glint-stack: $*" >&2; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
    && curl -s -o /dev/null --max-time 2 "$URL/healthcheck"
}

stop() {
  if [ -f "$PIDFILE" ]; then
    local pid; pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$PIDFILE"
  fi
}

register_catalog() {
  # shellcheck disable=SC1091
  . "$GLINT_WORK/keystone/env"
  local os="$GLINT_WORK/venv/bin/openstack"
  export OS_AUTH_URL="$KEYSTONE_AUTH_URL" OS_USERNAME="$KEYSTONE_ADMIN_USER" OS_PASSWORD="$KEYSTONE_ADMIN_PASSWORD" \
         OS_PROJECT_NAME="$KEYSTONE_ADMIN_PROJECT" OS_USER_DOMAIN_ID=default OS_PROJECT_DOMAIN_ID=default \
         OS_IDENTITY_API_VERSION=3
  local sid
  sid="$("$os" service list -f value -c ID -c Type | awk '$2=="image"{print $1; exit}')"
  if [ -z "$sid" ]; then
    sid="$("$os" service create --name glance --description "glint image service" image -f value -c id)"
  fi
  for iface in public internal admin; do
    local eid
    eid="$("$os" endpoint list --service "$sid" --interface "$iface" --region "$KEYSTONE_REGION" -f value -c ID | head -n1)"
    if [ -z "$eid" ]; then
      "$os" endpoint create --region "$KEYSTONE_REGION" "$sid" "$iface" "$URL" >/dev/null
    else
      "$os" endpoint set --url "$URL" "$eid"
    fi
  done
}

write_config() {
  # shellcheck disable=SC1091
  . "$GLINT_WORK/keystone/env"
  local db="${GLINT_STACK_DB_URL:-sqlite:///$DIR/glint.db}"
  cat > "$DIR/glint-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $PORT
workers = 2
public_endpoint = $URL

[database]
connection = $db

[glance_store]
filesystem_store_datadir = $DIR/images

[paste_deploy]
flavor = keystone

[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_AUTH_URL
auth_type = password
username = $GLINT_SERVICE_USER
password = $GLINT_SERVICE_PASSWORD
project_name = $GLINT_SERVICE_PROJECT
user_domain_name = Default
project_domain_name = Default
${GLINT_STACK_CONF_EXTRA:-}
CONF
  chmod 600 "$DIR/glint-api.conf"
  { cat "$GLINT_WORK/keystone/env"; echo "GLINT_URL=$URL"; } > "$DIR/env"
}

start() {
  bash "$REPO_ROOT/scripts/keystone.sh" start >&2
  (cd "$REPO_ROOT" && cargo build --bin glint >&2)
  if running && [ "$BIN" -ot "$PIDFILE" ]; then
    log "glint already running at $URL"
    return 0
  fi
  stop
  write_config
  register_catalog
  log "starting glint at $URL"
  nohup "$BIN" --config-file "$DIR/glint-api.conf" --data-dir "$DIR" serve >> "$DIR/glint.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 2 "$URL/healthcheck"; then
      log "glint is up (log: $DIR/glint.log)"
      return 0
    fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -n 30 "$DIR/glint.log" >&2; log "glint exited"; exit 1; }
    sleep 0.2
  done
  log "glint did not answer in time"; tail -n 30 "$DIR/glint.log" >&2; exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  env) echo "$DIR/env" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
