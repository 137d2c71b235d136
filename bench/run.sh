#!/usr/bin/env bash
# bench/run.sh — glint and the real OpenStack Glance side by side, same Keystone, same data, same load.
#
# Usage:  bash bench/run.sh [--db sqlite|postgres|mariadb|both] [--duration SECONDS] [--quick]
#                           [--concurrency 1,16,64] [--workloads LIST] [--out FILE] [--no-build]
#   --db           database kind for both servers (default both: SQLite first, then PostgreSQL; mariadb
#                  (alias mysql): MariaDB at 127.0.0.1:3306, user root, both servers through
#                  mysql+pymysql:// URLs, Glance with PyMySQL)
#   --duration     seconds of measured load per cell (default 10; 3 with --quick)
#   --quick        short cells; download at c <= 16 and upload at c = 1 only
#   --concurrency  comma-separated concurrency levels (default 1,16,64)
#   --workloads    comma-separated subset of: image-show, member-list, list-default, list-shared-all, list-owner,
#                  member-status, member-create-delete, download, upload (default: all)
#   --out          Markdown results file (default bench/RESULTS.md)
#   --no-build     use target/release/glint (and the ceiling) as they are
#   --smoke        keep the scripts working (CI): SQLite (or the --db given: sqlite, postgres or mariadb),
#                  c=16, 1 s cells, 1 MiB transfers, debug build,
#                  glint and the ceiling only (Glance too if its venv is already installed), results
#                  written to $GLINT_WORK/bench/smoke-RESULTS.md, not bench/RESULTS.md
#
# What it does: starts the project's Keystone (scripts/keystone.sh start, idempotent, never stopped here);
# creates $GLINT_WORK/bench/glance-venv with Glance 32.0.0 + gunicorn 25.2.0 + psycopg2-binary from PyPI
# (OpenStack 2026.1 upper-constraints, the series of Keystone 29; PyMySQL added, with the same constraints,
# when --db mariadb finds it missing); installs wrk from Debian if missing;
# builds glint and the ceiling (cargo build --release --bin glint --example ceiling: bench/ceiling.rs, an
# actix-web server answering a fixed member list with no work, measured with the same wrk settings); then bench/lib/bench.py does the rest: databases
# (SQLite files, or databases bench_glint / bench_glance on PostgreSQL at 127.0.0.1:5432, user postgres,
# or on MariaDB at 127.0.0.1:3306, user root),
# bulk seeding, glint on 127.0.0.1:$BENCH_GLINT_PORT and Glance (gunicorn) on 127.0.0.1:$BENCH_GLANCE_PORT,
# load, and the results table (printed, and written to --out). Both servers are stopped at the end.
#
# Environment: GLINT_WORK (default <repo>/.work), BENCH_GLINT_PORT (9400), BENCH_GLANCE_PORT (9401),
#              BENCH_CEILING_PORT (9402), BENCH_PG_PREFIX (bench: databases bench_glint, bench_glance, on
#              PostgreSQL or MariaDB),
#              BENCH_GLANCE_WORKERS (2), BENCH_GLANCE_THREADS (8), BENCH_GLINT_WORKERS (2),
#              BENCH_IMAGES (10000), BENCH_SHARES (100), BENCH_IMAGE_MIB (256), BENCH_SHARE_LAYOUT (spread:
#              the consumer's shares spread evenly over the creation order; oldest: they are the oldest
#              images, the worst case for a newest-first scan).
# Data, configs and logs: $GLINT_WORK/bench/<sqlite|postgres|mariadb>/{glint,glance}/ (recreated each run).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK/bench"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
export GLINT_WORK
BENCH_WORK="$GLINT_WORK/bench"
GLINT_SHARED="${GLINT_SHARED:-$REPO_ROOT/../shared}"
CONSTRAINTS="$GLINT_SHARED/openstack/upper-constraints-2026.1.txt"
GLANCE_VENV="$BENCH_WORK/glance-venv"
PYTHON="${GLINT_PYTHON:-python3}"

DB=""
DURATION=""
QUICK=0
CONC="1,16,64"
WORKLOADS=""
OUT="$REPO_ROOT/bench/RESULTS.md"
BUILD=1
SMOKE=0
ARGS=("$@")

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --db) DB="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --concurrency) CONC="${2:?}"; shift 2 ;;
    --workloads) WORKLOADS="${2:?}"; shift 2 ;;
    --out) OUT="${2:?}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --smoke) SMOKE=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
case "$DB" in
  "") DB=both; [ "$SMOKE" = 0 ] || DB=sqlite ;;
  sqlite | postgres | mariadb | both) ;;
  mysql) DB=mariadb ;;
  *) die "--db must be sqlite, postgres, mariadb or both" ;;
esac
PROFILE=release
SMOKE_ARGS=()
if [ "$SMOKE" = 1 ]; then
  [ "$DB" != both ] || die "--smoke runs on one database: --db sqlite, postgres or mariadb"
  DURATION=1; QUICK=1; CONC=16; PROFILE=debug
  OUT="$BENCH_WORK/smoke-RESULTS.md"
  SMOKE_ARGS=(--image-mib 1 --images 1000)
fi
[ -n "$DURATION" ] || { [ "$QUICK" = 1 ] && DURATION=3 || DURATION=10; }
[[ "$DURATION" =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 1 ] || die "--duration must be a whole number of seconds"

# --- tools -------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >&2 && apt-get install -y -qq wrk >&2
  else
    die "wrk is not installed: apt-get install wrk"
  fi
fi
for t in curl psql dd; do command -v "$t" >/dev/null || die "$t is needed"; done

# --- Keystone (shared; started if needed, never stopped here) ----------------------------------------
bash "$REPO_ROOT/scripts/keystone.sh" start >&2
[ -f "$GLINT_WORK/keystone/env" ] || die "no $GLINT_WORK/keystone/env after keystone.sh start"

# --- Glance in its own virtualenv (bench/lib/glance_venv.sh) -----------------------------------------
# shellcheck source=lib/glance_venv.sh
. "$REPO_ROOT/bench/lib/glance_venv.sh"
MARKER="$GLANCE_VENV/.bench-glance-$GLANCE_VERSION"
GLANCE_ARGS=()
if [ "$SMOKE" = 1 ] && [ ! -f "$MARKER" ]; then
  log "smoke: Glance's venv is not installed; glint and the ceiling only"
  GLANCE_ARGS=(--no-glance)
else
  ensure_glance_venv "$GLANCE_VENV" "$CONSTRAINTS"
fi

# --- glint and the ceiling (release; debug for --smoke) ---------------------------------------------
if [ "$BUILD" = 1 ]; then
  log "building glint and the ceiling ($PROFILE)"
  PFLAG=(--release); [ "$PROFILE" = debug ] && PFLAG=()
  (cd "$REPO_ROOT" && cargo build "${PFLAG[@]}" --bin glint --example ceiling >&2)
fi
GLINT_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/$PROFILE/glint"
CEILING_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/$PROFILE/examples/ceiling"
[ -x "$GLINT_BIN" ] || die "no $GLINT_BIN (run without --no-build)"
[ -x "$CEILING_BIN" ] || { log "no $CEILING_BIN: no ceiling cell"; CEILING_BIN=""; }

# --- PostgreSQL or MariaDB reachable? ---------------------------------------------------------------
if [ "$DB" = postgres ] || [ "$DB" = both ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null \
    || die "PostgreSQL is not reachable at 127.0.0.1:5432 as postgres (trust auth); use --db sqlite"
fi
if [ "$DB" = mariadb ]; then
  command -v mysql >/dev/null || die "the mysql client is needed for --db mariadb"
  mysql --protocol=TCP -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null \
    || die "MariaDB is not reachable at 127.0.0.1:3306 as root (no password); use --db sqlite"
fi

WL_ARGS=()
[ -n "$WORKLOADS" ] && WL_ARGS=(--workloads "$WORKLOADS")
QUICK_ARGS=()
[ "$QUICK" = 1 ] && QUICK_ARGS=(--quick)

# A run fails (exit 1, after its results are written) when any request of glint or the ceiling did not
# get its 2xx: wrk's non-2xx answers, socket errors and timeouts, as bench.py counts them into each
# cell's "errors"; when bench.py noted a failure of glint's; or when glint's log of this run has a
# panic or an ERROR line. Glance's errors are printed, not fatal (Glance on SQLite fails its own
# requests with "database is locked" under load).
# shellcheck source=lib/glint_log.sh
. "$REPO_ROOT/bench/lib/glint_log.sh"
glint_log_mark "$BENCH_WORK"
MARK="$GLINT_LOG_MARK"
"$PYTHON" "$REPO_ROOT/bench/lib/bench.py" \
  --db "$DB" --duration "$DURATION" --concurrency "$CONC" "${QUICK_ARGS[@]}" "${WL_ARGS[@]}" \
  --repo "$REPO_ROOT" --work "$BENCH_WORK" --work-root "$GLINT_WORK" \
  --glance-venv "$GLANCE_VENV" --glint-bin "$GLINT_BIN" \
  --glint-port "${BENCH_GLINT_PORT:-9400}" --glance-port "${BENCH_GLANCE_PORT:-9401}" \
  --glint-workers "${BENCH_GLINT_WORKERS:-2}" --glance-workers "${BENCH_GLANCE_WORKERS:-2}" \
  --glance-threads "${BENCH_GLANCE_THREADS:-8}" \
  --images "${BENCH_IMAGES:-10000}" --shares "${BENCH_SHARES:-100}" --image-mib "${BENCH_IMAGE_MIB:-256}" \
  --share-layout "${BENCH_SHARE_LAYOUT:-spread}" \
  --ceiling-bin "$CEILING_BIN" --ceiling-port "${BENCH_CEILING_PORT:-9402}" \
  --pg-glint-db "${BENCH_PG_PREFIX:-bench}_glint" --pg-glance-db "${BENCH_PG_PREFIX:-bench}_glance" \
  "${GLANCE_ARGS[@]}" "${SMOKE_ARGS[@]}" \
  --out "$OUT" --cmdline="${ARGS[*]}"

RAW="$(find "$BENCH_WORK" -maxdepth 1 -name 'results-*.json' -newer "$MARK" | sort | tail -n 1)"
[ -n "$RAW" ] || die "bench.py wrote no results-*.json in $BENCH_WORK"
failed=0
"$PYTHON" - "$RAW" <<'PY' || failed=1
import json, sys
res = json.load(open(sys.argv[1]))["results"]
bad, glance = [], []
def cell_errors(where, c):
    if isinstance(c, dict) and c.get("errors"):
        return [f"{where}: {c['errors']} errors {c.get('error_statuses', '')} {c.get('samples', [])[:1]}"]
    return []
for db, r in res.get("dbs", {}).items():
    for cell in r.get("api", []) + r.get("transfer", []):
        where = f"{db} {cell.get('workload')} c={cell.get('c')}"
        bad += cell_errors(where + " glint", cell.get("glint"))
        glance += cell_errors(where + " Glance", cell.get("glance"))
    for c, cell in r.get("ceiling", {}).items():
        bad += cell_errors(f"{db} ceiling c={c}", cell)
    bad += [f"{db}: {n}" for n in r.get("notes", []) if n.startswith("glint:")]
for line in glance:
    print("bench: (not fatal)", line, file=sys.stderr)
for line in bad:
    print("bench: FAILED", line, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
glint_log_check "$BENCH_WORK" || failed=1
[ "$failed" = 0 ] || die "requests failed during the run (see above); results: $OUT, $RAW"
