#!/usr/bin/env bash
# Soak: glint (release build) behind the real Keystone, at a fixed request rate
# with a mix of reads and writes across several projects and users, for
# MINUTES on each backend. Zero errors and flat memory expected: the run fails (exit 1) on any
# request that did not get its expected status, on a panic or an ERROR line in glint's log, and when
# glint's resident memory at the end exceeds its level after the first minute by more than
# SOAK_MAX_GROWTH_PCT percent (default 20) and more than SOAK_MAX_GROWTH_KIB (default 16384) at once.
#
# Usage:  bash tests/soak/run.sh [MINUTES] [RATE]      (defaults: 10 minutes, 40 requests/s)
# Environment: SOAK_BACKENDS ("sqlite postgres"), SOAK_PORT (9470), SOAK_WORKERS (8),
#              SOAK_CONF_EXTRA (INI lines appended to glint's config, e.g. "[database]\nmax_pool_size = 2"),
#              GLINT_TEST_PG_URL (admin URL of the PostgreSQL that gets a scratch database),
#              GLINT_WORK (<repo>/.work: Keystone's env and the Python venv),
#              SOAK_MAX_GROWTH_PCT (20), SOAK_MAX_GROWTH_KIB (16384).
# Writes one JSON summary per backend to $GLINT_WORK/soak/<backend>-<time>.json and prints it.
set -euo pipefail

MINUTES="${1:-10}"
RATE="${2:-40}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
PORT="${SOAK_PORT:-9470}"
BACKENDS="${SOAK_BACKENDS:-sqlite postgres}"
PG_ADMIN="${GLINT_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}"
KS_ENV="$GLINT_WORK/keystone/env"
PY="$GLINT_WORK/venv/bin/python"
OUT="$GLINT_WORK/soak"
mkdir -p "$OUT"

log() { echo "soak: $*" >&2; }

[ -f "$KS_ENV" ] || { log "no Keystone env at $KS_ENV: run scripts/keystone.sh start"; exit 2; }
# shellcheck disable=SC1090
. "$KS_ENV"

log "building glint (release)"
(cd "$REPO_ROOT" && cargo build --release --quiet)
BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/glint"

GLINT_PID=""
PG_DB=""
WORK=""
cleanup() {
  if [ -n "$GLINT_PID" ] && kill -0 "$GLINT_PID" 2>/dev/null; then
    kill "$GLINT_PID"; wait "$GLINT_PID" 2>/dev/null || true
  fi
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  [ -n "$WORK" ] && rm -rf "$WORK"
  GLINT_PID=""; PG_DB=""; WORK=""
}
trap cleanup EXIT

status=0
for backend in $BACKENDS; do
  WORK="$(mktemp -d /tmp/glint-soak.XXXXXX)"
  case "$backend" in
    sqlite) DB_URL="sqlite:///$WORK/glint.db" ;;
    postgres)
      PG_DB="glint_soak_$(date +%s)_$$"
      psql "$PG_ADMIN" -q -c "CREATE DATABASE $PG_DB" >/dev/null
      DB_URL="${PG_ADMIN%/*}/$PG_DB" ;;
    *) log "unknown backend $backend"; exit 2 ;;
  esac
  cat > "$WORK/glint-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $PORT
workers = 2
auth_strategy = keystone
[database]
connection = $DB_URL
[glance_store]
filesystem_store_datadir = $WORK/images
[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_URL
username = $GLINT_SERVICE_USER
password = $GLINT_SERVICE_PASSWORD
project_name = $GLINT_SERVICE_PROJECT
CONF
  printf '%b\n' "${SOAK_CONF_EXTRA:-}" >> "$WORK/glint-api.conf"
  RUST_LOG=warn "$BIN" --config-file "$WORK/glint-api.conf" --data-dir "$WORK" serve 2>"$WORK/glint.log" &
  GLINT_PID=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthcheck" && break
    sleep 0.1
  done
  log "$backend: $MINUTES min at $RATE req/s against pid $GLINT_PID"
  result="$OUT/$backend-$(date +%Y%m%dT%H%M%S).json"
  "$PY" "$REPO_ROOT/tests/soak/driver.py" --url "http://127.0.0.1:$PORT" --keystone "$KEYSTONE_URL" \
    --pid "$GLINT_PID" --minutes "$MINUTES" --rate "$RATE" --workers "${SOAK_WORKERS:-8}" \
    --env "$KS_ENV" > "$result"
  "$PY" - "$result" "$backend" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
print("%s: %s min, %s req/s target, %s req/s achieved, %d requests, %d errors, p50 %s ms, p99 %s ms, "
      "RSS KiB first/start/middle/end/max %s" % (sys.argv[2], r["minutes"], r["target_rate"], r["achieved_rate"],
      r["requests"], r["errors"], r["p50_ms"], r["p99_ms"],
      "/".join(str(r["rss_kib"][k]) for k in ("first", "start", "middle", "end", "max"))))
for e in r["error_samples"]:
    print("  error:", e)
PYEOF
  errors="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$result")"
  [ "$errors" = 0 ] || { log "$backend: FAILED: $errors requests did not get their expected status"; status=1; }
  if grep -q "panicked" "$WORK/glint.log"; then log "$backend: FAILED: glint panicked"; status=1; fi
  if grep -qE ' ERROR ' "$WORK/glint.log"; then
    log "$backend: FAILED: ERROR lines in glint's log:"
    grep -E ' ERROR ' "$WORK/glint.log" | head -n 5 >&2
    status=1
  fi
  # Memory: the level after the first minute (allocator pools, caches and connections warmed up)
  # against the end; growth beyond both bounds fails the run.
  if ! "$PY" - "$result" "${SOAK_MAX_GROWTH_PCT:-20}" "${SOAK_MAX_GROWTH_KIB:-16384}" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))["rss_kib"]
pct, kib = float(sys.argv[2]), int(sys.argv[3])
start, end = r["start"], r["end"]
if start is None or end is None:
    print("soak: FAILED: no memory samples", file=sys.stderr)
    sys.exit(1)
growth = end - start
if growth > kib and growth > start * pct / 100:
    print(f"soak: FAILED: RSS grew from {start} KiB to {end} KiB (+{growth} KiB, "
          f"+{100 * growth / start:.0f}%; bounds {pct:.0f}% and {kib} KiB)", file=sys.stderr)
    sys.exit(1)
PYEOF
  then
    status=1
  fi
  log "full summary: $result"
  cleanup
done
exit $status
