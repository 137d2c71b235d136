#!/usr/bin/env bash
# glint-stack.sh — a running glint in front of the real Keystone, registered in Keystone's catalog as
# the `image` service, for the conformance suites (Tempest, the openstack CLI, gophercloud).
#
# Usage:  bash scripts/glint-stack.sh start|stop|status|backend|env
#   start   start Keystone (scripts/keystone.sh start), build glint, write $GLINT_WORK/glint/glint-api.conf
#           (keystone auth, the database GLINT_STACK_DB says), register the image service and its
#           endpoints (region RegionOne) at http://127.0.0.1:$GLINT_PORT, start glint and wait until it
#           answers. Restarts glint if the binary is newer than the running one or if it runs on another
#           backend than GLINT_STACK_DB asks for. The catalog is changed only in the Keystone this script
#           started (scripts/keystone.sh's, under $GLINT_WORK/keystone, checked by its pid); with
#           GLINT_STACK_KEYSTONE_ENV (an existing Keystone) it is left alone unless
#           GLINT_STACK_REPOINT_CATALOG=yes says otherwise. Refuses a port another process listens on.
#   stop    stop glint (Keystone keeps running; stop it with scripts/keystone.sh stop); on PostgreSQL and
#           MariaDB also drop the stack's database and its image directory
#   status  exit 0 when glint answers
#   backend print the backend the running glint uses (sqlite, postgres, mysql or url)
#   env     print the path of the env file ($GLINT_WORK/glint/env: GLINT_URL plus Keystone's env)
# Environment: GLINT_WORK (default <repo>/.work), GLINT_PORT (default 9292),
#              GLINT_STACK_DB      sqlite (default: $GLINT_WORK/glint/glint.db, kept across restarts) or
#                                  postgres (a fresh database glint_stack_<work dir hash>_<port>, created
#                                  on start under GLINT_TEST_PG_URL's server, images under
#                                  $GLINT_WORK/glint/postgres; both dropped on stop) or
#                                  mysql (alias mariadb: the same on GLINT_TEST_MYSQL_URL's server, images
#                                  under $GLINT_WORK/glint/mysql; glint connects with mysql+pymysql://),
#              GLINT_STACK_DB_URL  any database URL instead (backend "url"; never dropped),
#              GLINT_TEST_PG_URL   PostgreSQL admin URL (default postgresql://postgres@127.0.0.1:5432/test),
#              GLINT_TEST_MYSQL_URL MariaDB admin URL (default mysql://root@127.0.0.1:3306/test; needs the
#                                  mysql client),
#              GLINT_STACK_CONF_EXTRA (extra INI lines appended to the generated config),
#              GLINT_STACK_KEYSTONE_ENV  an existing Keystone instead of starting one: a file of KEY=value
#                                  lines as scripts/keystone.sh writes ($GLINT_WORK/keystone/env):
#                                  KEYSTONE_URL, KEYSTONE_AUTH_URL, KEYSTONE_REGION, GLINT_SERVICE_USER,
#                                  GLINT_SERVICE_PASSWORD, GLINT_SERVICE_PROJECT (glint's service user,
#                                  which must be allowed to validate tokens), and, only for
#                                  GLINT_STACK_REPOINT_CATALOG=yes, KEYSTONE_ADMIN_USER,
#                                  KEYSTONE_ADMIN_PASSWORD, KEYSTONE_ADMIN_PROJECT,
#              GLINT_STACK_REPOINT_CATALOG  yes: create or repoint the image service's endpoints even in a
#                                  Keystone this script did not start (a real cloud's catalog then sends
#                                  every client of its image service to this glint); anything else: never.
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
# The backend of the running glint, its database URL and data dir (written on start, read on stop).
BACKEND_FILE="$DIR/backend"
KS_OWN_ENV="$GLINT_WORK/keystone/env"
KS_ENV="${GLINT_STACK_KEYSTONE_ENV:-$KS_OWN_ENV}"
REPOINT="${GLINT_STACK_REPOINT_CATALOG:-no}"
PG_ADMIN="${GLINT_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}"
MY_ADMIN="${GLINT_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
if [ -n "${GLINT_STACK_DB_URL:-}" ]; then
  WANT_BACKEND=url
else
  WANT_BACKEND="${GLINT_STACK_DB:-sqlite}"
  case "$WANT_BACKEND" in
    sqlite | postgres | mysql) ;;
    postgresql) WANT_BACKEND=postgres ;;
    mariadb) WANT_BACKEND=mysql ;;
    *) echo "GLINT_STACK_DB: unknown backend '$WANT_BACKEND' (known: sqlite, postgres, mysql)" >&2; exit 2 ;;
  esac
fi
# One database per stack: the work dir and port tell two stacks on one database server apart.
PG_DB="glint_stack_$(printf '%s' "$DIR" | md5sum | cut -c1-8)_$PORT"
export GLINT_WORK

log() { echo "glint-stack: $*" >&2; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
    && curl -s -o /dev/null --max-time 2 "$URL/healthcheck"
}

running_backend() { [ -f "$BACKEND_FILE" ] && sed -n 1p "$BACKEND_FILE"; }

# my_admin SQL: run SQL on the MariaDB server of GLINT_TEST_MYSQL_URL with the mysql client (the URL's
# user, password, host and port; the password goes through MYSQL_PWD, never the command line).
my_admin() {
  local host port user pw
  read -r host port user pw < <(python3 -c '
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(p.hostname or "127.0.0.1", p.port or 3306, u.unquote(p.username or "root"), u.unquote(p.password or "") or "-")
' "$MY_ADMIN")
  [ "$pw" != - ] || pw=""
  MYSQL_PWD="$pw" mysql --protocol=TCP -h "$host" -P "$port" -u "$user" -e "$1"
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
  # A PostgreSQL or MariaDB stack leaves nothing behind: its database and its images go with it.
  case "$(running_backend)" in
    postgres)
      local db; db="$(sed -n 2p "$BACKEND_FILE")"
      psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null \
        || log "could not drop database $db"
      rm -rf "$DIR/postgres"
      ;;
    mysql)
      local db; db="$(sed -n 2p "$BACKEND_FILE")"
      my_admin "DROP DATABASE IF EXISTS \`$db\`" >/dev/null || log "could not drop database $db"
      rm -rf "$DIR/mysql"
      ;;
  esac
  rm -f "$BACKEND_FILE"
}

# Whether the Keystone of $KS_ENV is the one scripts/keystone.sh started for this work dir: its
# gunicorn, by the pid file it wrote, serving the URL of its env file.
own_keystone() {
  [ -z "${GLINT_STACK_KEYSTONE_ENV:-}" ] || return 1
  local pid; pid="$(cat "$GLINT_WORK/keystone/gunicorn.pid" 2>/dev/null)" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--chdir $GLINT_WORK/keystone " || return 1
  # shellcheck disable=SC1090
  ( . "$KS_ENV"; [ "$KEYSTONE_URL" = "http://127.0.0.1:${GLINT_KEYSTONE_PORT:-5000}" ] )
}

# The catalog: only in our own Keystone, or when GLINT_STACK_REPOINT_CATALOG=yes says so.
catalog() {
  if own_keystone; then
    log "registering glint as the image service of the Keystone this script started"
    register_catalog
  elif [ "$REPOINT" = yes ]; then
    log "GLINT_STACK_REPOINT_CATALOG=yes: pointing the image service of $KEYSTONE_URL at $URL"
    register_catalog
  else
    log "Keystone at $KEYSTONE_URL was not started by this script: its catalog is left as it is"
    log "(reach glint with OS_IMAGE_ENDPOINT_OVERRIDE=$URL in the openstack CLI's environment; docs/DEPLOY.md)"
  fi
}

register_catalog() {
  # shellcheck disable=SC1090
  . "$KS_ENV"
  # The CLI scripts/keystone.sh installed, else one on PATH (an existing Keystone's operator's).
  local os="$GLINT_WORK/venv/bin/openstack"
  [ -x "$os" ] || os="$(command -v openstack)" \
    || { log "no openstack CLI to register the catalog with (bash scripts/keystone.sh install)"; exit 1; }
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
  # shellcheck disable=SC1090
  . "$KS_ENV"
  local db data="$DIR"
  case "$WANT_BACKEND" in
    url) db="$GLINT_STACK_DB_URL" ;;
    sqlite) db="sqlite:///$DIR/glint.db" ;;
    postgres)
      data="$DIR/postgres"
      rm -rf "$data"
      mkdir -p "$data"
      PGOPTIONS="-c client_min_messages=warning" psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
      psql "$PG_ADMIN" -q -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
      db="${PG_ADMIN%/*}/$PG_DB"
      log "PostgreSQL database $PG_DB"
      ;;
    mysql)
      data="$DIR/mysql"
      rm -rf "$data"
      mkdir -p "$data"
      my_admin "DROP DATABASE IF EXISTS \`$PG_DB\`; CREATE DATABASE \`$PG_DB\` CHARACTER SET utf8mb4" >/dev/null
      # As a Glance deployment writes it (oslo.db's driver name and charset; glint takes both).
      db="mysql+pymysql://${MY_ADMIN#*://}"
      db="${db%/*}/$PG_DB?charset=utf8mb4"
      log "MariaDB database $PG_DB"
      ;;
  esac
  printf '%s\n%s\n%s\n' "$WANT_BACKEND" "$PG_DB" "$data" > "$BACKEND_FILE"
  cat > "$DIR/glint-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $PORT
workers = 2
public_endpoint = $URL

[database]
connection = $db

[glance_store]
filesystem_store_datadir = $data/images

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
  { cat "$KS_ENV"; echo "GLINT_URL=$URL"; } > "$DIR/env"
}

start() {
  if [ -n "${GLINT_STACK_KEYSTONE_ENV:-}" ]; then
    [ -r "$KS_ENV" ] || { log "GLINT_STACK_KEYSTONE_ENV: cannot read $KS_ENV"; exit 2; }
    log "using the existing Keystone of $KS_ENV (not starting one)"
  else
    bash "$REPO_ROOT/scripts/keystone.sh" start >&2
  fi
  (cd "$REPO_ROOT" && cargo build --bin glint >&2)
  # The same binary, backend and extra config lines: nothing to do.
  if running && [ "$BIN" -ot "$PIDFILE" ] && [ "$(running_backend)" = "$WANT_BACKEND" ] &&
    [ "${GLINT_STACK_CONF_EXTRA:-}" = "$(cat "$DIR/conf-extra" 2>/dev/null)" ]; then
    log "glint already running at $URL ($WANT_BACKEND)"
    return 0
  fi
  stop
  # Not a port someone else serves (a Glance on 9292, another glint).
  if curl -s -o /dev/null --max-time 2 "$URL/"; then
    log "something else already answers at $URL: choose another GLINT_PORT"; exit 1
  fi
  write_config
  printf '%s' "${GLINT_STACK_CONF_EXTRA:-}" > "$DIR/conf-extra"
  # shellcheck disable=SC1090
  . "$KS_ENV"
  catalog
  log "starting glint at $URL on $WANT_BACKEND"
  nohup "$BIN" --config-file "$DIR/glint-api.conf" --data-dir "$(sed -n 3p "$BACKEND_FILE")" serve \
    >> "$DIR/glint.log" 2>&1 &
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
  backend) running && running_backend ;;
  env) echo "$DIR/env" ;;
  *) echo "usage: $0 start|stop|status|backend|env" >&2; exit 2 ;;
esac
