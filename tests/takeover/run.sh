#!/usr/bin/env bash
# tests/takeover/run.sh — glint takes over a database real Glance 32 made, hands one back, and runs beside
# Glance on one database and store (issue 14's "How it is checked"). The driver is tests/takeover/takeover.py.
#
# Usage:  bash tests/takeover/run.sh <backend>... [--phases forward,reverse,mixed]
#   backend: sqlite, postgres, mysql (or all). Several run one after the other in one go.
#   phases: forward, reverse, mixed (the default), and stores (Glance and glint on one database and the
#   Swift server of scripts/swift.sh, started after Keystone; its env file $GLINT_SWIFT_ENV, default
#   $GLINT_WORK/swift/env), which adds python-swiftclient and boto3 to Glance's venv.
#
# Needs: Keystone (scripts/keystone.sh start; its env file $GLINT_KEYSTONE_ENV, default
# $GLINT_WORK/keystone/env), PostgreSQL at 127.0.0.1:5432 as postgres (psql), MariaDB at 127.0.0.1:3306 as
# root (mysql CLI), for the backends asked for. Installs Glance 32 into $GLINT_WORK/bench/glance-venv when
# missing, exactly as bench/run.sh does (plus PyMySQL), and builds target/debug/glint unless
# GLINT_TAKEOVER_NO_BUILD=1. Ports: Glance 9660-9661, glint 9670-9671. Databases: takeover_fwd,
# takeover_rev, takeover_mix (PostgreSQL and MariaDB; recreated each run). Work files, configs and logs:
# $GLINT_WORK/takeover/<backend>/<phase>/. Everything started here is stopped on exit, also on failure.
# Exit status: 0 when every compared request answered the same on both servers and every row check held.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK/bench" "$GLINT_WORK/takeover"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
GLINT_SHARED="${GLINT_SHARED:-$REPO_ROOT/../shared}"
CONSTRAINTS="$GLINT_SHARED/openstack/upper-constraints-2026.1.txt"
GLANCE_VENV="$GLINT_WORK/bench/glance-venv"
PYTHON="${GLINT_PYTHON:-python3}"
KEYSTONE_ENV="${GLINT_KEYSTONE_ENV:-$GLINT_WORK/keystone/env}"
SWIFT_ENV="${GLINT_SWIFT_ENV:-$GLINT_WORK/swift/env}"

log() { echo "takeover: $*" >&2; }
die() { log "$*"; exit 1; }

BACKENDS=()
PHASES=forward,reverse,mixed
while [ $# -gt 0 ]; do
  case "$1" in
    sqlite | postgres | mysql) BACKENDS+=("$1"); shift ;;
    postgresql) BACKENDS+=(postgres); shift ;;
    mariadb) BACKENDS+=(mysql); shift ;;
    all) BACKENDS+=(sqlite postgres mysql); shift ;;
    --phases) PHASES="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "${#BACKENDS[@]}" -gt 0 ] || die "name a backend: sqlite, postgres, mysql or all"

[ -f "$KEYSTONE_ENV" ] || die "no Keystone env file $KEYSTONE_ENV (bash scripts/keystone.sh start)"
for b in "${BACKENDS[@]}"; do
  case "$b" in
    postgres) psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null ||
      die "PostgreSQL is not reachable at 127.0.0.1:5432 as postgres" ;;
    mysql) mysql -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null ||
      die "MariaDB is not reachable at 127.0.0.1:3306 as root" ;;
  esac
done

# --- Glance in its own virtualenv, as bench/run.sh installs it (bench/lib/glance_venv.sh) ---------------
# shellcheck source=../../bench/lib/glance_venv.sh
. "$REPO_ROOT/bench/lib/glance_venv.sh"
# The stores phase: glance_store's swift and s3 drivers need python-swiftclient and boto3.
extra=()
[[ ",$PHASES," != *,stores,* ]] || extra=(python-swiftclient boto3)
ensure_glance_venv "$GLANCE_VENV" "$CONSTRAINTS" ${extra[@]+"${extra[@]}"}

# --- glint ---------------------------------------------------------------------------------------------
if [ "${GLINT_TAKEOVER_NO_BUILD:-0}" != 1 ]; then
  (cd "$REPO_ROOT" && cargo build --locked --bin glint >&2)
fi
GLINT_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/glint"
[ -x "$GLINT_BIN" ] || die "no $GLINT_BIN"

# --- run; whatever the driver started is stopped on exit ----------------------------------------------
PIDFILE="$GLINT_WORK/takeover/pids"
: >"$PIDFILE"
# shellcheck source=../../bench/lib/stop_started.sh
. "$REPO_ROOT/bench/lib/stop_started.sh"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_started "${DRIVER:-}" "$PIDFILE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DRIVER=""
"$PYTHON" "$REPO_ROOT/tests/takeover/takeover.py" "${BACKENDS[@]}" --phases "$PHASES" \
  --work "$GLINT_WORK/takeover" --glance-venv "$GLANCE_VENV" --glint-bin "$GLINT_BIN" \
  --keystone-env "$KEYSTONE_ENV" --pidfile "$PIDFILE" --swift-env "$SWIFT_ENV" &
DRIVER=$!
wait "$DRIVER"
