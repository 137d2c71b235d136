#!/usr/bin/env bash
# swift.sh — install and run a real OpenStack Swift (Debian's packages) on loopback, with its S3 API
# (the s3api middleware) and tempauth, for glint's object-store tests and CI.
#
# Usage:  bash scripts/swift.sh <command>
#   install   apt-get install swift, swift-proxy, swift-account, swift-container, swift-object (s3api is
#             part of python3-swift), python3-keystonemiddleware and memcached (tempauth keeps its tokens
#             there); skipped when present
#   start     install if needed; write rings (one replica, one device) and configs under $GLINT_WORK/swift;
#             start memcached and the account, container, object and proxy servers on 127.0.0.1; wait
#             until a tempauth login and an account HEAD succeed; write the env file. Does nothing (but
#             rewrite the env file) when everything is already running.
#   stop      stop what `start` started (no error when nothing runs)
#   status    exit 0 when every server runs and the proxy answers, 1 if not
#   env       print the env file (shell-sourceable KEY=value lines)
#   reset     stop, then delete $GLINT_WORK/swift (data, rings, configs, logs)
#
# Environment (all optional):
#   GLINT_WORK              work dir (default <repo>/.work, gitignored)
#   GLINT_SWIFT_PORT        proxy port (default 9710); the account, container and object servers and
#                           memcached take the next four ports (9711-9714 by default)
#
# Keystone: when $GLINT_WORK/keystone/env exists (scripts/keystone.sh start wrote it; start Keystone
# first) and that Keystone answers, the proxy also takes Keystone tokens (authtoken + keystoneauth, accounts
# KEY_<project id>, operator roles admin and member), and `start` registers the object-store service with
# its public endpoint http://127.0.0.1:$GLINT_SWIFT_PORT/v1/KEY_$(project_id)s in Keystone's catalog, as a
# Swift deployment does. tempauth (accounts AUTH_<name>) and the S3 API keep working beside it. The S3
# API then also takes an EC2 credential of glint's service user (s3token; created once), whose access key
# has no `:`, so glance_store's S3 driver can use this server too.
#
# The device directory lives on the filesystem of $GLINT_WORK, which must support user xattrs
# (ext4, xfs, btrfs and tmpfs do); `start` checks that and fails loudly if not.
#
# Files under $GLINT_WORK/swift/:
#   env        S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY (tempauth user test:tester, key testing),
#              SWIFT_AUTH_URL (tempauth v1.0), SWIFT_USER, SWIFT_KEY, SWIFT_STORAGE_URL; with Keystone also
#              SWIFT_KEYSTONE_AUTH_URL (its /v3), SWIFT_KEYSTONE_USER (project:user, glance_store's form, the
#              service user of scripts/keystone.sh), SWIFT_KEYSTONE_KEY, S3_KEYSTONE_ACCESS_KEY and
#              S3_KEYSTONE_SECRET_KEY (that EC2 credential)
#   etc/       *-server.conf, *.builder, *.ring.gz;   data/d1/ the one device;   log/, run/ (pids)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
DIR="$GLINT_WORK/swift"
ETC="$DIR/etc"
RUN="$DIR/run"
LOG="$DIR/log"
DATA="$DIR/data"
ENV_FILE="$DIR/env"

PROXY_PORT="${GLINT_SWIFT_PORT:-9710}"
ACCOUNT_PORT=$((PROXY_PORT + 1))
CONTAINER_PORT=$((PROXY_PORT + 2))
OBJECT_PORT=$((PROXY_PORT + 3))
MEMCACHED_PORT=$((PROXY_PORT + 4))
SERVERS=(memcached account container object proxy)

# tempauth's fixed test identity: Swift user test:tester in account AUTH_test; the S3 access key is the
# Swift user name, the secret its key.
S3_USER="test:tester"
S3_KEY="testing"

die() { echo "swift.sh: $*" >&2; exit 1; }

installed() {
  command -v swift-proxy-server >/dev/null && command -v swift-object-server >/dev/null &&
    command -v swift-ring-builder >/dev/null && command -v memcached >/dev/null &&
    /usr/bin/python3 -c 'import swift.common.middleware.s3api.s3api, keystonemiddleware.auth_token' 2>/dev/null
}

install() {
  installed && return 0
  command -v apt-get >/dev/null || die "apt-get not found: install OpenStack Swift and memcached by hand"
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  local pkgs=(swift swift-proxy swift-account swift-container swift-object python3-keystonemiddleware memcached)
  echo "swift.sh: installing ${pkgs[*]} (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"; then
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"
  fi
  installed || die "Swift installed but swift-proxy-server, swift-ring-builder, memcached or s3api is missing"
}

pid_of() { [ -s "$RUN/$1.pid" ] && cat "$RUN/$1.pid"; }
alive() { local pid; pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null; }

proxy_answers() { curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$PROXY_PORT/healthcheck" 2>/dev/null; }

status() {
  local s
  for s in "${SERVERS[@]}"; do alive "$s" || return 1; done
  proxy_answers
}

check_xattrs() {
  /usr/bin/python3 - "$DATA" <<'EOF' || die "the filesystem of $DATA has no user xattrs, which Swift needs; set GLINT_WORK to a directory on ext4/xfs/tmpfs"
import os, sys, tempfile
with tempfile.NamedTemporaryFile(dir=sys.argv[1]) as f:
    os.setxattr(f.name, "user.glint.check", b"1")
    assert os.getxattr(f.name, "user.glint.check") == b"1"
EOF
}

# The Keystone of scripts/keystone.sh, when it runs: sets KEYSTONE_URL and friends from its env file.
KEYSTONE_ENV="$GLINT_WORK/keystone/env"
keystone_up() {
  [ -s "$KEYSTONE_ENV" ] || return 1
  # shellcheck disable=SC1090
  . "$KEYSTONE_ENV"
  curl -fsS -o /dev/null --max-time 5 "$KEYSTONE_URL/v3" 2>/dev/null
}

# The object-store service and endpoint in Keystone's catalog (idempotent).
register_endpoint() {
  local os=("$GLINT_WORK/venv/bin/openstack" --os-auth-url "$KEYSTONE_AUTH_URL" --os-identity-api-version 3
    --os-username "$KEYSTONE_ADMIN_USER" --os-password "$KEYSTONE_ADMIN_PASSWORD"
    --os-project-name "$KEYSTONE_ADMIN_PROJECT" --os-user-domain-name Default --os-project-domain-name Default)
  local url="http://127.0.0.1:$PROXY_PORT/v1/KEY_%(project_id)s"
  "${os[@]}" service show object-store >/dev/null 2>&1 ||
    "${os[@]}" service create --name swift object-store >/dev/null
  local have
  have=$("${os[@]}" endpoint list --service object-store --interface public -f value -c URL 2>/dev/null || true)
  if [ "$have" != "$url" ]; then
    local id
    for id in $("${os[@]}" endpoint list --service object-store -f value -c ID); do
      "${os[@]}" endpoint delete "$id" >/dev/null
    done
    "${os[@]}" endpoint create --region "$KEYSTONE_REGION" object-store public "$url" >/dev/null
  fi
}

keystone_in_proxy() { grep -q '^\[filter:s3token\]' "$ETC/proxy-server.conf" 2>/dev/null; }

# An EC2 credential of glint's service user (created once): S3 access keys without `:`, which
# glance_store's S3 location parser needs (tempauth's are `account:user`).
EC2_ACCESS=""; EC2_SECRET=""
ec2_credential() {
  local os=("$GLINT_WORK/venv/bin/openstack" --os-auth-url "$KEYSTONE_AUTH_URL" --os-identity-api-version 3
    --os-username "$GLINT_SERVICE_USER" --os-password "$GLINT_SERVICE_PASSWORD"
    --os-project-name "$GLINT_SERVICE_PROJECT" --os-user-domain-name Default --os-project-domain-name Default)
  local line
  line=$("${os[@]}" ec2 credentials list -f value -c Access -c Secret -c "Project ID" 2>/dev/null |
    awk -v p="$SERVICE_PROJECT_ID" '$3 == p { print $1, $2; exit }')
  if [ -z "$line" ]; then
    line=$("${os[@]}" ec2 credentials create -f value -c access -c secret | tr '\n' ' ')
  fi
  read -r EC2_ACCESS EC2_SECRET <<<"$line"
  [ -n "$EC2_ACCESS" ] && [ -n "$EC2_SECRET" ]
}

write_configs() {
  local user common keystone=0 auth="tempauth"
  if keystone_up; then
    keystone=1
    # authtoken and keystoneauth before tempauth: requests without a valid Keystone token pass on
    # (delay_auth_decision) and tempauth, last, authorizes its own tokens and the S3 API's requests.
    # s3token after authtoken (which would otherwise mark its identity invalid) checks S3 requests
    # signed with a Keystone EC2 credential; others (tempauth's `test:tester`) pass on to tempauth.
    auth="authtoken s3token keystoneauth tempauth"
  fi
  user="$(id -un)"
  common="bind_ip = 127.0.0.1
devices = $DATA
mount_check = false
swift_dir = $ETC
user = $user
workers = 0
log_name = %s"
  mkdir -p "$ETC"
  # shellcheck disable=SC2059
  {
    printf "[DEFAULT]\n$common\nbind_port = $ACCOUNT_PORT\n\n" account
    printf '[pipeline:main]\npipeline = account-server\n\n[app:account-server]\nuse = egg:swift#account\n'
  } >"$ETC/account-server.conf"
  # shellcheck disable=SC2059
  {
    printf "[DEFAULT]\n$common\nbind_port = $CONTAINER_PORT\n\n" container
    printf '[pipeline:main]\npipeline = container-server\n\n[app:container-server]\nuse = egg:swift#container\n'
  } >"$ETC/container-server.conf"
  # shellcheck disable=SC2059
  {
    printf "[DEFAULT]\n$common\nbind_port = $OBJECT_PORT\n\n" object
    printf '[pipeline:main]\npipeline = object-server\n\n[app:object-server]\nuse = egg:swift#object\n'
  } >"$ETC/object-server.conf"
  # s3api before tempauth (it turns S3 signatures into auth details tempauth checks); slo after both,
  # because s3api completes multipart uploads as SLO manifests.
  cat >"$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
swift_dir = $ETC
user = $user
workers = 0
log_name = proxy

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api $auth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $S3_KEY .admin
storage_url_scheme = http

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
EOF
  [ "$keystone" = 1 ] || return 0
  cat >>"$ETC/proxy-server.conf" <<EOF

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_URL
auth_type = password
username = $GLINT_SERVICE_USER
password = $GLINT_SERVICE_PASSWORD
project_name = $GLINT_SERVICE_PROJECT
user_domain_name = Default
project_domain_name = Default
delay_auth_decision = true
cache = swift.cache
include_service_catalog = false

[filter:s3token]
use = egg:swift#s3token
auth_uri = $KEYSTONE_URL/v3
reseller_prefix = KEY_
delay_auth_decision = true
# Keystone 29 answers /v3/s3tokens only to a service.
auth_type = password
auth_url = $KEYSTONE_URL
username = $GLINT_SERVICE_USER
password = $GLINT_SERVICE_PASSWORD
project_name = $GLINT_SERVICE_PROJECT
user_domain_name = Default
project_domain_name = Default

[filter:keystoneauth]
use = egg:swift#keystoneauth
reseller_prefix = KEY_
operator_roles = admin, member
EOF
}

build_rings() {
  local ring port
  for ring in account container object; do
    [ -s "$ETC/$ring.ring.gz" ] && continue
    case "$ring" in
      account) port=$ACCOUNT_PORT ;;
      container) port=$CONTAINER_PORT ;;
      object) port=$OBJECT_PORT ;;
    esac
    rm -f "$ETC/$ring.builder"
    # 2^8 partitions, one replica, min_part_hours 1; one device on loopback.
    swift-ring-builder "$ETC/$ring.builder" create 8 1 1 >/dev/null
    swift-ring-builder "$ETC/$ring.builder" add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null
    swift-ring-builder "$ETC/$ring.builder" rebalance >/dev/null ||
      [ -s "$ETC/$ring.ring.gz" ] || die "swift-ring-builder rebalance failed for $ring"
  done
}

launch() {
  local name=$1
  shift
  alive "$name" && return 0
  nohup "$@" >"$LOG/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

storage_url=""
login() {
  local headers
  headers=$(curl -fsS --max-time 5 -D - -o /dev/null -H "X-Auth-User: $S3_USER" -H "X-Auth-Key: $S3_KEY" \
    "http://127.0.0.1:$PROXY_PORT/auth/v1.0" 2>/dev/null) || return 1
  storage_url=$(printf '%s\n' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-storage-url" { print $2 }')
  local token
  token=$(printf '%s\n' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-auth-token" { print $2 }')
  [ -n "$storage_url" ] && [ -n "$token" ] || return 1
  # Creates the account (account_autocreate) and proves proxy, memcached and account server work.
  curl -fsS --max-time 5 -o /dev/null -I -H "X-Auth-Token: $token" "$storage_url"
}

write_env() {
  cat >"$ENV_FILE.tmp" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT
S3_REGION=us-east-1
S3_ACCESS_KEY=$S3_USER
S3_SECRET_KEY=$S3_KEY
SWIFT_AUTH_URL=http://127.0.0.1:$PROXY_PORT/auth/v1.0
SWIFT_USER=$S3_USER
SWIFT_KEY=$S3_KEY
SWIFT_STORAGE_URL=$storage_url
EOF
  if keystone_in_proxy && keystone_up; then
    cat >>"$ENV_FILE.tmp" <<EOF
SWIFT_KEYSTONE_AUTH_URL=$KEYSTONE_AUTH_URL
SWIFT_KEYSTONE_USER=$GLINT_SERVICE_PROJECT:$GLINT_SERVICE_USER
SWIFT_KEYSTONE_KEY=$GLINT_SERVICE_PASSWORD
EOF
    ec2_credential || die "cannot create an EC2 credential for $GLINT_SERVICE_USER"
    cat >>"$ENV_FILE.tmp" <<EOF
S3_KEYSTONE_ACCESS_KEY=$EC2_ACCESS
S3_KEYSTONE_SECRET_KEY=$EC2_SECRET
EOF
  fi
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

start() {
  install
  mkdir -p "$RUN" "$LOG" "$DATA/d1"
  if status && login && { keystone_in_proxy || ! keystone_up; }; then
    ! keystone_in_proxy || register_endpoint
    write_env
    echo "swift.sh: already running (proxy on 127.0.0.1:$PROXY_PORT); env in $ENV_FILE"
    return 0
  fi
  # A proxy started before Keystone was up is restarted with Keystone in its pipeline.
  if alive proxy; then
    kill "$(pid_of proxy)"
    for _ in $(seq 1 50); do alive proxy || break; sleep 0.2; done
  fi
  check_xattrs
  write_configs
  build_rings
  launch memcached memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -u "$(id -un)"
  launch account swift-account-server "$ETC/account-server.conf" --verbose
  launch container swift-container-server "$ETC/container-server.conf" --verbose
  launch object swift-object-server "$ETC/object-server.conf" --verbose
  launch proxy swift-proxy-server "$ETC/proxy-server.conf" --verbose
  local i s
  for i in $(seq 1 120); do
    for s in "${SERVERS[@]}"; do
      if ! alive "$s"; then
        tail -n 30 "$LOG/$s.log" >&2 || true
        stop >/dev/null
        die "$s exited during start-up (log above, $LOG/$s.log)"
      fi
    done
    if proxy_answers && login; then
      ! keystone_in_proxy || register_endpoint
      write_env
      echo "swift.sh: Swift proxy (S3 + Swift API) on 127.0.0.1:$PROXY_PORT; env in $ENV_FILE"
      return 0
    fi
    sleep 0.5
  done
  tail -n 30 "$LOG/proxy.log" >&2 || true
  stop >/dev/null
  die "the Swift proxy did not answer a tempauth login within 60 s (logs in $LOG)"
}

stop() {
  local s pid i
  for s in proxy object container account memcached; do
    pid=$(pid_of "$s") || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$s.pid"
  done
  echo "swift.sh: stopped"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status)
    if status; then echo "swift.sh: running on 127.0.0.1:$PROXY_PORT"; else echo "swift.sh: not running"; exit 1; fi ;;
  env) [ -s "$ENV_FILE" ] || die "no env file: run start first"; cat "$ENV_FILE" ;;
  reset) stop; rm -rf "$DIR" ;;
  *) echo "usage: $0 install|start|stop|status|env|reset" >&2; exit 2 ;;
esac
