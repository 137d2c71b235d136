#!/usr/bin/env bash
# bench/stores.sh — throughput of one large upload and download per image store, and the glint
# process's peak RSS during the upload.
#
# Usage:  bash bench/stores.sh [--size MIB] [--stores file,s3] [--port PORT] [--release]
#   --size     image size in MiB (default 200)
#   --stores   which default stores to measure (default file,s3,swift)
#   --port     glint's port (default 9390)
#   --chunked  upload with Transfer-Encoding: chunked (no declared size: Swift then writes segments)
#   --release  use target/release/glint (cargo build --release); else target/debug/glint (cargo build)
#   --vs-glance the same upload and download through real Glance 32 and through glint, one after the other
#              on each store, behind the real Keystone, with glint ÷ Glance per store
#              (bench/lib/stores_vs_glance.py; installs Glance with python-swiftclient and boto3 into
#              $GLINT_WORK/bench/glance-venv when missing). --chunked does not apply.
#
# Needs the object-store server for s3 and swift (bash scripts/keystone.sh start, then
# bash scripts/swift.sh start; its env file is read from $GLINT_WORK/swift/env); swift uses Keystone v3
# and glance_store's default object sizes (a 200 MiB upload with its length is one plain object). glint runs with auth_strategy = noauth on SQLite in a temporary directory,
# one fresh process per store; the upload is one curl PUT of a file with Content-Length, the download
# one GET to /dev/null. Peak RSS is the kernel's VmHWM of the glint process after the upload (its
# idle RSS is printed beside it). Prints one Markdown table row per store.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
SIZE=200 STORES=file,s3,swift PORT=9390 PROFILE=debug CHUNKED=() VS_GLANCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --stores) STORES="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --release) PROFILE=release; shift ;;
    --chunked) CHUNKED=(-H "Transfer-Encoding: chunked"); shift ;;
    --vs-glance) VS_GLANCE=1; shift ;;
    *) echo "bench/stores.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$PROFILE" = release ]; then cargo build -q --release --bin glint; else cargo build -q --bin glint; fi
BIN="target/$PROFILE/glint"

if [ "$VS_GLANCE" = 1 ]; then
  # shellcheck source=lib/glance_venv.sh
  . "$REPO_ROOT/bench/lib/glance_venv.sh"
  ensure_glance_venv "$GLINT_WORK/bench/glance-venv" "${GLINT_SHARED:-$REPO_ROOT/../shared}/openstack/upper-constraints-2026.1.txt" \
    python-swiftclient boto3
  exec python3 "$REPO_ROOT/bench/lib/stores_vs_glance.py" --size "$SIZE" --stores "$STORES" \
    --glance-venv "$GLINT_WORK/bench/glance-venv" --glint-bin "$BIN" \
    --keystone-env "$GLINT_WORK/keystone/env" --swift-env "$GLINT_WORK/swift/env"
fi

TMP="$(mktemp -d)"
PID=""
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
head -c "$((SIZE * 1024 * 1024))" /dev/urandom >"$TMP/image"
H=(-H "X-Project-Id: bench" -H "X-Roles: admin,member,reader")
URL="http://127.0.0.1:$PORT"

echo "| store | build | size${CHUNKED[0]+ (chunked)} | upload MiB/s | download MiB/s | RSS idle -> peak during upload |"
echo "|---|---|---|---|---|---|"
for store in ${STORES//,/ }; do
  dir="$TMP/$store"; mkdir -p "$dir"
  conf="$dir/glance-api.conf"
  printf '[DEFAULT]\nauth_strategy = noauth\nbind_port = %s\n[database]\nconnection = sqlite:///%s/glint.db\n' \
    "$PORT" "$dir" >"$conf"
  printf '[glance_store]\nfilesystem_store_datadir = %s/images\n' "$dir" >>"$conf"
  bucket=""
  case "$store" in
    file) ;;
    s3)
      # shellcheck disable=SC1091
      . "$GLINT_WORK/swift/env"
      bucket="glint-bench-$(date +%s)"
      printf 'stores = file,s3\ndefault_store = s3\ns3_store_host = %s\ns3_store_access_key = %s\n' \
        "$S3_ENDPOINT" "$S3_ACCESS_KEY" >>"$conf"
      printf 's3_store_secret_key = %s\ns3_store_bucket = %s\ns3_store_create_bucket_on_put = true\n' \
        "$S3_SECRET_KEY" "$bucket" >>"$conf"
      printf 's3_store_bucket_url_format = path\n' >>"$conf" ;;
    swift)
      # shellcheck disable=SC1091
      . "$GLINT_WORK/swift/env"
      [ -n "${SWIFT_KEYSTONE_AUTH_URL:-}" ] || { echo "bench/stores.sh: Swift runs without Keystone" >&2; exit 2; }
      container="glint-bench-$(date +%s)"
      printf 'stores = file,swift\ndefault_store = swift\nswift_store_auth_address = %s\n' \
        "$SWIFT_KEYSTONE_AUTH_URL" >>"$conf"
      printf 'swift_store_user = %s\nswift_store_key = %s\nswift_store_container = %s\n' \
        "$SWIFT_KEYSTONE_USER" "$SWIFT_KEYSTONE_KEY" "$container" >>"$conf"
      printf 'swift_store_create_container_on_put = true\n' >>"$conf" ;;
    *) echo "bench/stores.sh: unknown store $store" >&2; exit 2 ;;
  esac
  RUST_LOG=warn "$BIN" --config-file "$conf" --data-dir "$dir" serve >"$dir/glint.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -fs "$URL/versions" >/dev/null 2>&1 && break; sleep 0.2; done
  idle=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  id=$(curl -fsS "${H[@]}" -H 'Content-Type: application/json' \
    -d '{"disk_format":"raw","container_format":"bare"}' "$URL/v2/images" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  up=$(curl -fsS -o /dev/null -w '%{time_total}' "${H[@]}" -H 'Content-Type: application/octet-stream' \
    ${CHUNKED[@]+"${CHUNKED[@]}"} -X PUT -T "$TMP/image" "$URL/v2/images/$id/file")
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
  down=$(curl -fsS -o /dev/null -w '%{time_total}' "${H[@]}" "$URL/v2/images/$id/file")
  curl -fsS -o /dev/null "${H[@]}" -X DELETE "$URL/v2/images/$id"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  if [ -n "$bucket" ]; then
    # The image is deleted; the empty bucket (a Swift container) goes too.
    token=$(curl -fsS -D - -o /dev/null -H "X-Auth-User: $SWIFT_USER" -H "X-Auth-Key: $SWIFT_KEY" \
      "$SWIFT_AUTH_URL" | awk 'tolower($1) == "x-auth-token:" {print $2}' | tr -d '\r')
    curl -fsS -o /dev/null -X DELETE -H "X-Auth-Token: $token" "$SWIFT_STORAGE_URL/$bucket" || true
  fi
  python3 - "$store" "$PROFILE" "$SIZE" "$up" "$down" "$idle" "$peak" <<'EOF'
import sys
store, profile, size, up, down, idle, peak = sys.argv[1:]
size = int(size)
print(f"| {store} | {profile} | {size} MiB | {size / float(up):.0f} | {size / float(down):.0f} "
      f"| {int(idle) // 1024} MB -> {int(peak) // 1024} MB |")
EOF
done
