#!/usr/bin/env bash
# run.sh — client conformance: start the stack (real Keystone + glint in its catalog), then run
#   1. tests/conformance/osc.sh      the openstack CLI end to end (owner alpha, consumer beta, admin)
#   2. tests/conformance/glanceclient.sh  python-glanceclient, validating what it gets against the served schemas
#   3. tests/gophercloud/run.sh      the Terraform provider's image request sequences, replayed with gophercloud
# All always run; the exit status is non-zero if any failed (or the stack did not start).
# Usage: bash tests/conformance/run.sh [osc|gophercloud]   (default: both)
# Environment: GLINT_WORK (default <repo>/.work), GLINT_STACK_DB (glint's backend: sqlite, the default,
# postgres or mysql; see scripts/glint-stack.sh); see osc.sh and ../gophercloud/run.sh for the rest.
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
WHICH="${1:-all}"

t0=$(date +%s)
if ! bash "$REPO_ROOT/scripts/glint-stack.sh" start; then
  echo "conformance: the stack did not start" >&2
  exit 1
fi
BACKEND="$(bash "$REPO_ROOT/scripts/glint-stack.sh" backend)"
echo "conformance: stack ready on $BACKEND ($(( $(date +%s) - t0 )) s)"

declare -A RESULT TIME
run_suite() {
  local name="$1"; shift
  local s; s=$(date +%s)
  echo
  echo "=== $name ==="
  "$@"
  local rc=$?
  TIME[$name]=$(( $(date +%s) - s ))
  if [ "$rc" -eq 0 ]; then RESULT[$name]=PASS; else RESULT[$name]="FAIL (exit $rc)"; fi
}

case "$WHICH" in
  all|osc) run_suite osc bash "$REPO_ROOT/tests/conformance/osc.sh"
    run_suite glanceclient bash "$REPO_ROOT/tests/conformance/glanceclient.sh" ;;
esac
case "$WHICH" in
  all|gophercloud) run_suite gophercloud bash "$REPO_ROOT/tests/gophercloud/run.sh" ;;
esac

echo
echo "=== conformance summary (backend: $BACKEND) ==="
status=0
for name in osc glanceclient gophercloud; do
  [ -n "${RESULT[$name]:-}" ] || continue
  printf '%-12s %-16s %4ss\n' "$name" "${RESULT[$name]}" "${TIME[$name]}"
  [ "${RESULT[$name]}" = PASS ] || status=1
done
echo "total $(( $(date +%s) - t0 )) s"
exit "$status"
