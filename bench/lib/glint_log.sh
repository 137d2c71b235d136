# Sourced by bench/run.sh and bench/scale.sh: did glint log a panic or an ERROR during this run?
# glint's logs can be appended to across runs, so only what this run adds is looked at.
#
#   glint_log_mark DIR     before the run: remember where each glint.log under DIR ends, and the
#                          run's start (GLINT_LOG_MARK, a file removed on exit)
#   glint_log_check DIR    after it: print the first panic/ERROR lines of each log under DIR written
#                          since; returns 1 if there were any
# Needs a `log` function (each script prefixes its own messages).

declare -A GLINT_LOG_START=()
GLINT_LOG_MARK=""

glint_log_mark() {
  GLINT_LOG_MARK="$(mktemp "$1/.run-start.XXXXXX")"
  trap 'rm -f "$GLINT_LOG_MARK"' EXIT
  local f
  while IFS= read -r f; do GLINT_LOG_START["$f"]=$(stat -c %s "$f"); done < <(find "$1" -name glint.log)
}

glint_log_check() {
  local glint_log lines bad=0
  while IFS= read -r glint_log; do
    lines="$(tail -c +"$(( ${GLINT_LOG_START["$glint_log"]:-0} + 1 ))" "$glint_log" | grep -E 'panicked| ERROR ' || true)"
    if [ -n "$lines" ]; then
      log "FAILED: panic or ERROR lines in $glint_log:"
      printf '%s\n' "$lines" | head -n 5 >&2
      bad=1
    fi
  done < <(find "$1" -name glint.log -newer "$GLINT_LOG_MARK")
  return "$bad"
}
