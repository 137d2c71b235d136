#!/usr/bin/env bash
# tests/notifications/compare.sh — glint's notifications against real Glance 32's on RabbitMQ, event for
# event and field for field (issue 21). The driver is tests/notifications/compare.py.
#
# Usage:  bash tests/notifications/compare.sh [--dump FILE]
#   --dump FILE   also write both captured streams, normalised, as JSON (for reading a difference)
#
# Glance 32 (gunicorn) and glint both run on SQLite with `[oslo_messaging_notifications] driver =
# messagingv2`, each publishing into a RabbitMQ virtual host of its own (glint-notify-compare-glance and
# -glint, made with rabbitmqctl and deleted afterwards), so both keep the default exchange and topic. One
# scripted sequence (image create/update/tags/upload/download/share/accept/reject/unshare/deactivate/
# reactivate/delete, an upload over image_size_cap, a glance-direct import, metadef namespace/object/
# property/tag/resource type changes) runs against each as the same Keystone users; the captured streams
# are compared, ids and times aside. Prints a table (event type, Glance count, glint count, fields
# differing) and every difference; exit status 0 only when there is none, apart from the few that
# compare.py's ALLOWED list names (image states Glance leaves behind that glint does not copy, each
# with its row in api-ref/differences.md), which are printed as ALLOWED.
#
# Needs: Keystone (scripts/keystone.sh start; its env file $GLINT_KEYSTONE_ENV, default
# $GLINT_WORK/keystone/env), RabbitMQ at 127.0.0.1:5672 (guest/guest) and rabbitmqctl allowed to manage
# it. Installs Glance 32 into $GLINT_WORK/bench/glance-venv when missing, exactly as bench/run.sh and
# tests/takeover/run.sh do (the same venv and marker), and builds target/debug/glint unless
# GLINT_NOTIFY_NO_BUILD=1. Ports: Glance 9680, glint 9681. Work files and logs:
# $GLINT_WORK/notifications/. Everything started here is stopped on exit, also on failure.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK/bench"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
GLINT_SHARED="${GLINT_SHARED:-$REPO_ROOT/../shared}"
CONSTRAINTS="$GLINT_SHARED/openstack/upper-constraints-2026.1.txt"
GLANCE_VENV="$GLINT_WORK/bench/glance-venv"
PYTHON="${GLINT_PYTHON:-python3}"
KEYSTONE_ENV="${GLINT_KEYSTONE_ENV:-$GLINT_WORK/keystone/env}"
WORK="$GLINT_WORK/notifications"

log() { echo "notifications: $*" >&2; }
die() { log "$*"; exit 1; }

DUMP=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dump) DUMP=(--dump "${2:?}"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

[ -f "$KEYSTONE_ENV" ] || die "no Keystone env file $KEYSTONE_ENV (bash scripts/keystone.sh start)"
command -v rabbitmqctl >/dev/null || die "rabbitmqctl not found (RabbitMQ's CLI makes the virtual hosts)"
rabbitmqctl -q list_vhosts >/dev/null || die "rabbitmqctl cannot reach RabbitMQ"

# --- Glance in its own virtualenv, as bench/run.sh installs it (bench/lib/glance_venv.sh) ---------------
# shellcheck source=../../bench/lib/glance_venv.sh
. "$REPO_ROOT/bench/lib/glance_venv.sh"
ensure_glance_venv "$GLANCE_VENV" "$CONSTRAINTS"

# --- glint ---------------------------------------------------------------------------------------------
if [ "${GLINT_NOTIFY_NO_BUILD:-0}" != 1 ]; then
  (cd "$REPO_ROOT" && cargo build --locked --bin glint >&2)
fi
GLINT_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/glint"
[ -x "$GLINT_BIN" ] || die "no $GLINT_BIN"

# --- run; whatever the driver started is stopped on exit ----------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK"
PIDFILE="$WORK/pids"
: >"$PIDFILE"
# shellcheck source=../../bench/lib/stop_started.sh
. "$REPO_ROOT/bench/lib/stop_started.sh"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_started "${DRIVER:-}" "$PIDFILE"
  for side in glance glint; do rabbitmqctl -q delete_vhost "glint-notify-compare-$side" >/dev/null 2>&1 || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DRIVER=""
"$GLANCE_VENV/bin/python" "$REPO_ROOT/tests/notifications/compare.py" --work "$WORK" \
  --glance-venv "$GLANCE_VENV" --glint-bin "$GLINT_BIN" --keystone-env "$KEYSTONE_ENV" \
  --pidfile "$PIDFILE" "${DUMP[@]}" &
DRIVER=$!
wait "$DRIVER"
