# bench/lib/stop_started.sh — sourced by the scripts whose Python driver starts servers (Glance under
# gunicorn, glint) in process groups of their own and writes each group leader's pid to a file
# (tests/takeover/run.sh, tests/notifications/compare.sh).
#
#   stop_started DRIVER_PID PIDFILE
#     Asks the driver to stop (TERM; it stops its servers itself) and waits up to 20 s, then stops every
#     process group still alive from PIDFILE: TERM, up to 5 s, then KILL. For an EXIT trap, so that a
#     failure or an interrupt leaves nothing running.
stop_started() {
  local driver=$1 pidfile=$2 pid
  if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
    kill -TERM "$driver" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$driver" 2>/dev/null || break; sleep 0.5; done
  fi
  [ -f "$pidfile" ] || return 0
  while read -r pid; do
    [ -n "$pid" ] || continue
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done <"$pidfile"
}
