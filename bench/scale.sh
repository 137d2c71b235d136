#!/usr/bin/env bash
# bench/scale.sh — glint alone on PostgreSQL at growing sizes: is the cost of each request flat?
#
# Usage:  bash bench/scale.sh [SIZE ...] [--duration SECONDS] [--out FILE] [--no-build] [--keep]
#         bash bench/scale.sh --smoke
#   SIZE        image counts, e.g. 10k 100k 1M (default: 10k 100k 1M); multiples of 1,000, at least 4k
#   --duration  seconds of measured load per cell (default 5), wrk with 16 connections
#   --out       Markdown results file (default bench/SCALE.md)
#   --no-build  use the release binary as it is
#   --glint-bin PATH  measure this glint binary (e.g. an older build, for a before/after); implies --no-build
#   --keep      keep the databases (default: each is dropped after its size is measured)
#   --db sqlite the same data in SQLite files instead (Python's sqlite3 loads them; no plans captured)
#   --workloads LIST  comma-separated subset of the workloads (default: all; see bench/lib/scale.py)
#   --list-cache on|off|both  SQLite: glint's list cache ([database] glint_list_cache) on (default), off,
#               or every workload measured with it on and then again with it off ("(no cache)" rows)
#   --smoke     a few seconds: one 4k-image database, 1 s cells, debug build, no plans, no results file
#
# Each size gets a fresh PostgreSQL database <prefix>_<N> at 127.0.0.1:5432 (user postgres, trust), bulk-
# loaded with SQL (bench/lib/scale.py describes the data: images, members, and a grant of 100 images to
# 2,000 projects as 200,000 member rows), glint (noauth) on 127.0.0.1:$BENCH_SCALE_PORT,
# and wrk. At the largest size the plans of glint's statements are captured with EXPLAIN ANALYZE
# (auto_explain, set on that database only; needs read access to the PostgreSQL server log).
# A 1M-image database takes several GB and a few minutes to load.
#
# Environment: BENCH_SCALE_PORT (9400), BENCH_SCALE_DB_PREFIX (scale_glint), BENCH_GLINT_WORKERS (2),
#              GLINT_WORK (default <repo>/.work; files go to $GLINT_WORK/bench/scale/).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK/bench/scale"
WORK="$(cd "$GLINT_WORK/bench/scale" && pwd)"
PYTHON="${GLINT_PYTHON:-python3}"

SIZES=()
DURATION=5
OUT="$REPO_ROOT/bench/SCALE.md"
BUILD=1
SMOKE=0
EXTRA=()
GLINT_BIN_ARG=""
DB=postgres
ARGS=("$@")

log() { echo "scale: $*" >&2; }
die() { log "$*"; exit 1; }

size_of() {
  case "$1" in
    *[kK]) echo $(( ${1%[kK]} * 1000 )) ;;
    *[mM]) echo $(( ${1%[mM]} * 1000000 )) ;;
    *[!0-9]*|'') die "bad size '$1' (e.g. 10k, 100k, 1M, 250000)" ;;
    *) echo "$1" ;;
  esac
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --out) OUT="${2:?}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --glint-bin) GLINT_BIN_ARG="${2:?}"; BUILD=0; shift 2 ;;
    --keep) EXTRA+=(--keep); shift ;;
    --db) DB="${2:?}"; shift 2 ;;
    --workloads) EXTRA+=(--workloads "${2:?}"); shift 2 ;;
    --list-cache) EXTRA+=(--list-cache "${2:?}"); shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) SIZES+=("$(size_of "$1")"); shift ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 1 ] || die "--duration must be a whole number of seconds"
PROFILE=release
if [ "$SMOKE" = 1 ]; then
  SIZES=(4000); DURATION=1; OUT=""; EXTRA+=(--explain none); PROFILE=debug
fi
[ "${#SIZES[@]}" -gt 0 ] || SIZES=(10000 100000 1000000)

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
case "$DB" in postgres|sqlite) ;; *) die "--db must be postgres or sqlite" ;; esac
if [ "$DB" = postgres ]; then
  command -v psql >/dev/null || die "psql is needed"
  psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null \
    || die "PostgreSQL is not reachable at 127.0.0.1:5432 as postgres (trust auth)"
fi

if [ "$BUILD" = 1 ]; then
  log "building glint ($PROFILE)"
  PFLAG=(--release); [ "$PROFILE" = debug ] && PFLAG=()
  (cd "$REPO_ROOT" && cargo build "${PFLAG[@]}" --bin glint >&2)
fi
GLINT_BIN="${GLINT_BIN_ARG:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/$PROFILE/glint}"
[ -x "$GLINT_BIN" ] || die "no $GLINT_BIN (run without --no-build)"

# A run fails (exit 1, after its results are written) when any request did not get its 2xx: wrk's
# non-2xx answers, socket errors and timeouts, as scale.py counts them into each cell's "errors"; or
# when glint's log of this run has a panic or an ERROR line.
# shellcheck source=lib/glint_log.sh
. "$REPO_ROOT/bench/lib/glint_log.sh"
glint_log_mark "$WORK"
MARK="$GLINT_LOG_MARK"
"$PYTHON" "$REPO_ROOT/bench/lib/scale.py" "${SIZES[@]}" --duration "$DURATION" \
  --glint-bin "$GLINT_BIN" --work "$WORK" --port "${BENCH_SCALE_PORT:-9400}" \
  --workers "${BENCH_GLINT_WORKERS:-2}" --db-prefix "${BENCH_SCALE_DB_PREFIX:-scale_glint}" \
  --db "$DB" --out "$OUT" --cmdline="${ARGS[*]}" "${EXTRA[@]}"

RAW="$(find "$WORK" -maxdepth 1 -name 'scale-*.json' -newer "$MARK" | sort | tail -n 1)"
[ -n "$RAW" ] || die "scale.py wrote no scale-*.json in $WORK"
failed=0
"$PYTHON" - "$RAW" <<'PY' || failed=1
import json, sys
bad = []
for run in json.load(open(sys.argv[1]))["results"]:
    for w, c in run.get("cells", {}).items():
        if c.get("errors"):
            bad.append(f"N={run.get('n')} {w}: {c['errors']} errors {c.get('error_statuses', '')} "
                       f"{c.get('samples', [])[:1]}")
for line in bad:
    print("scale: FAILED", line, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
glint_log_check "$WORK" || failed=1
[ "$failed" = 0 ] || die "requests failed during the run (see above); results: $RAW"
