#!/usr/bin/env bash
# osc.sh — the openstack CLI (python-openstackclient 9.0.0, the 2026.1 series) end to end against a running
# glint, as two projects of the real Keystone:
#   alice (member of alpha) owns the image, bob (member of beta) consumes it, adam (admin in alpha) where an
#   admin is needed.
# Every CLI call's exit status and printed output is asserted; each check prints `PASS  ...` or `FAIL  ...`
# and the last line is `N passed, M failed`. Exit status 0 only when nothing failed.
#
# Needs the stack started by scripts/glint-stack.sh (tests/conformance/run.sh does that first).
# Environment: GLINT_WORK (default <repo>/.work), OSC (default $GLINT_WORK/venv/bin/openstack).
# Every CLI call runs with --debug; its stderr (HTTP requests/responses, tokens hashed by keystoneauth) is kept
# in $GLINT_WORK/conformance/osc-<timestamp>/ and a failing check prints the image-API exchanges it made.
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
ENV_FILE="$GLINT_WORK/glint/env"
OSC="${OSC:-$GLINT_WORK/venv/bin/openstack}"
PY="$GLINT_WORK/venv/bin/python"

# Stray OS_* variables from the caller must not steer the CLI.
while read -r _var; do unset "$_var"; done < <(compgen -e | grep '^OS_' || true)

[ -f "$ENV_FILE" ] || { echo "osc.sh: $ENV_FILE missing: run scripts/glint-stack.sh start" >&2; exit 2; }
[ -x "$OSC" ] || { echo "osc.sh: $OSC missing: run scripts/keystone.sh install" >&2; exit 2; }
# shellcheck disable=SC1090
. "$ENV_FILE"
: "${GLINT_URL:?}" "${KEYSTONE_AUTH_URL:?}" "${ALPHA_PROJECT_ID:?}" "${BETA_PROJECT_ID:?}"
curl -s -o /dev/null --max-time 5 "$GLINT_URL/healthcheck" \
  || { echo "osc.sh: glint does not answer at $GLINT_URL: run scripts/glint-stack.sh start" >&2; exit 2; }

LOGDIR="$GLINT_WORK/conformance/osc-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$LOGDIR"
TMP="$(mktemp -d)"
PASSED=0
FAILED=0
CALLS=0
IMG=""
NAME="glint-osc-$(date +%s)-$$"
ALPHA="$ALPHA_PROJECT_ID"
BETA="$BETA_PROJECT_ID"

# ---------------------------------------------------------------------------------------------------------
# helpers

# osc <user> <project> <args...>: run the CLI as <user> scoped to <project>; sets RC, OUT (stdout file),
# ERR (stderr file without the --debug noise), DBG (full stderr with the HTTP exchanges).
osc() {
  local user="$1" project="$2"; shift 2
  CALLS=$((CALLS + 1))
  local tag; tag="$(printf '%02d' "$CALLS")-$user-$(echo "$*" | tr -c 'a-zA-Z0-9-' '_' | cut -c1-60)"
  OUT="$LOGDIR/$tag.out"; DBG="$LOGDIR/$tag.debug"; ERR="$LOGDIR/$tag.err"
  LAST_CMD="openstack $* (as $user on $project)"
  env OS_AUTH_URL="$KEYSTONE_AUTH_URL" OS_IDENTITY_API_VERSION=3 OS_REGION_NAME="${KEYSTONE_REGION:-RegionOne}" \
      OS_INTERFACE=public OS_USERNAME="$user" OS_PASSWORD="pass-$user" OS_PROJECT_NAME="$project" \
      OS_USER_DOMAIN_ID=default OS_PROJECT_DOMAIN_ID=default \
      "$OSC" --debug "$@" >"$OUT" 2>"$DBG"
  RC=$?
  # the error the CLI reports (without --debug it is all that stderr shows)
  : >"$ERR"
  if [ "$RC" -ne 0 ]; then
    grep -E 'Exception|Error|No [A-Za-z]+ found|Forbidden|Conflict|Not Found|not authorized' "$DBG" \
      | grep -vE '^(REQ|RESP)|^ +File |^Traceback' | tail -n 2 >"$ERR" || true
  fi
}

pass() { PASSED=$((PASSED + 1)); echo "PASS  $1"; }
fail() {
  FAILED=$((FAILED + 1)); echo "FAIL  $1"; shift
  local l; for l in "$@"; do echo "        $l"; done
  echo "        command: $LAST_CMD (exit $RC)"
  echo "        stdout: $(head -c 600 "$OUT" | tr '\n' '~' | sed 's/~/\n                /g')"
  [ -s "$ERR" ] && echo "        stderr: $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
  # the image-API exchanges of that call (tokens are hashed by keystoneauth)
  awk -v g="$GLINT_URL" '/^REQ: /{show = (index($0, g) > 0)} show && /^(REQ|RESP)/' "$DBG" | tail -n 9 \
    | cut -c1-400 | sed 's/^/        | /'
  echo "        log: $DBG"
}

# check <description> <condition command...>: PASS when the command succeeds, else FAIL with its message.
check() {
  local desc="$1"; shift
  local why
  if why="$("$@" 2>&1)"; then pass "$desc"; else fail "$desc" "${why:-condition false: $*}"; fi
}

ok() { [ "$RC" -eq 0 ] || { echo "exit status $RC, expected 0"; return 1; }; }
not_ok() { [ "$RC" -ne 0 ] || { echo "exit status 0, expected a failure"; return 1; }; }
out_empty() { [ ! -s "$OUT" ] || [ -z "$(tr -d '[:space:]' <"$OUT")" ] || { echo "expected no output"; return 1; }; }
err_has() { grep -qF -- "$1" "$ERR" "$DBG" || { echo "stderr lacks: $1"; return 1; }; }
# status_is <code>: the last image-API response of the last call had exactly this HTTP status, read
# from keystoneauth's debug status line ("RESP: [409] ...") of an exchange with glint, not from the
# digits appearing anywhere in the log (an image id or a request id can contain "409").
last_status() {
  awk -v g="$GLINT_URL" '/^REQ: /{show = (index($0, g) > 0)}
    show && /^RESP: \[[0-9][0-9][0-9]\]/ {s = substr($0, 8, 3)}
    END {print s}' "$DBG"
}
status_is() {
  local s; s="$(last_status)"
  [ "$s" = "$1" ] || { echo "last image-API response: ${s:-none}, expected $1"; return 1; }
}

# json <python expression over `d`> : evaluate against the JSON printed by the last call (-f json).
json() {
  "$PY" - "$OUT" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
try:
    r = eval(sys.argv[2], {"d": d})
except Exception as e:
    print("cannot evaluate %s: %r; output: %s" % (sys.argv[2], e, json.dumps(d)[:400])); sys.exit(1)
if not r:
    print("false: %s; output: %s" % (sys.argv[2], json.dumps(d)[:600])); sys.exit(1)
PY
}

# rows <n> <cell>... : the table printed by the last call has exactly <n> rows whose first cells equal <cell>...
# (an empty <cell> matches anything). Header and border lines are ignored.
rows() {
  "$PY" - "$OUT" "$@" <<'PY'
import sys
path, n, want = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
lines = [l for l in open(path).read().splitlines() if l.startswith("|")]
table = [[c.strip() for c in l.strip("|").split("|")] for l in lines]
header, body = (table[0], table[1:]) if table else ([], [])
hits = [r for r in body if len(r) >= len(want) and all(w == "" or r[i] == w for i, w in enumerate(want))]
if len(hits) != n:
    print("expected %d row(s) matching %s, found %d; table header %s, %d row(s)" % (n, want, len(hits), header, len(body)))
    sys.exit(1)
PY
}

# field <name> <value>: the two-column Field/Value table printed by the last call has <name> = <value>
field() { rows 1 "$1" "$2"; }
field_re() {
  local v; v="$(awk -F'|' -v k="$1" '{gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $3)} $2==k {print $3}' "$OUT")"
  [[ "$v" =~ $2 ]] || { echo "field $1 = '$v' does not match /$2/"; return 1; }
}

cleanup() {
  if [ -n "$IMG" ]; then
    osc alice alpha image delete "$IMG"
    [ "$RC" -eq 0 ] || echo "osc.sh: cleanup: could not delete image $IMG (see $DBG)" >&2
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "osc.sh: openstack CLI $("$OSC" --version 2>&1 | awk '{print $2}') against $GLINT_URL (logs: $LOGDIR)"

# ---------------------------------------------------------------------------------------------------------
# 1. owner creates an image with data; --private so that `image set --shared` below changes something
head -c 1048576 /dev/urandom >"$TMP/image.raw"
printf 'glint-osc-trailer' >>"$TMP/image.raw"
SIZE="$(stat -c %s "$TMP/image.raw")"
MD5="$(md5sum "$TMP/image.raw" | awk '{print $1}')"
SHA512="$(sha512sum "$TMP/image.raw" | awk '{print $1}')"

osc alice alpha image create --file "$TMP/image.raw" --disk-format raw --container-format bare --private "$NAME" -f json
check "image create --file: exit 0" ok
if [ "$RC" -eq 0 ]; then
  IMG="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT" 2>/dev/null)"
fi
if [ -z "$IMG" ]; then
  # without an image nothing else can run
  fail "image create --file: printed an image id"
  echo "$PASSED passed, $FAILED failed"; exit 1
fi
check "image create: prints name, active status, size $SIZE, owner alpha, private" \
  json "d['name'] == '$NAME' and d['status'] == 'active' and d['size'] == $SIZE and d['owner'] == '$ALPHA' and d['visibility'] == 'private'"
check "image create: prints md5 checksum of the file" json "d['checksum'] == '$MD5'"
check "image create: prints os_hash_algo sha512 and the file's sha512" \
  json "d['properties']['os_hash_algo'] == 'sha512' and d['properties']['os_hash_value'] == '$SHA512'"
check "image create: prints bare/raw, protected false, min_disk/min_ram 0, file and schema links" \
  json "d['container_format'] == 'bare' and d['disk_format'] == 'raw' and d['protected'] is False and d['min_disk'] == 0 and d['min_ram'] == 0 and d['file'] == '/v2/images/$IMG/file' and d['schema'] == '/v2/schemas/image'"
check "image create: prints whole-second UTC timestamps" \
  json "all(__import__('re').fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', d[k]) for k in ('created_at', 'updated_at'))"

osc bob beta image show "$IMG"
check "consumer cannot see the private image (image show fails: No Image found)" \
  eval 'not_ok && err_has "No Image found for $IMG"'

# 2. owner shares it
# by name: the CLI tries GET /v2/images/<name> (404), then GET /v2/images?name=<name>
osc alice alpha image set --shared "$NAME"
check "image set --shared <name>: exit 0, prints nothing" eval 'ok && out_empty'
osc alice alpha image show "$IMG"
check "image show after set --shared: visibility shared, status active, checksum kept" \
  eval 'ok && field visibility shared && field status active && field checksum "$MD5" && field owner "$ALPHA"'

# 3. owner adds project beta (by id: a member-role user may not look up other projects in Keystone)
osc alice alpha image add project "$IMG" "$BETA"
check "image add project: exit 0" ok
check "image add project: prints image_id, member_id beta, status pending, member schema" \
  eval 'field image_id "$IMG" && field member_id "$BETA" && field status pending && field schema /v2/schemas/member'
check "image add project: prints created_at and updated_at as ...Z timestamps" \
  eval 'field_re created_at "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" && field_re updated_at "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"'

osc alice alpha image add project "$IMG" "$BETA"
check "image add project again: refused (409 duplicate)" eval 'not_ok && status_is 409'

# 4. owner lists members
osc alice alpha image member list "$IMG"
check "image member list (owner): exit 0, exactly one row: image, beta, pending" eval 'ok && rows 1 "$IMG" "$BETA" pending'
check "image member list (owner): columns Image ID, Member ID, Status" \
  eval 'grep -qE "^\| Image ID +\| Member ID +\| Status +\|$" "$OUT" || { echo "header not found"; false; }'

# 5. consumer finds the pending share
osc bob beta image list --shared --member-status pending
check "image list --shared --member-status pending (consumer): exit 0, lists the image as active" \
  eval 'ok && rows 1 "$IMG" "$NAME" active'
osc bob beta image list --shared --member-status accepted
check "image list --shared --member-status accepted (consumer): the pending image is not listed" \
  eval 'ok && rows 0 "$IMG"'
osc bob beta image list
check "image list (consumer): a pending share is not in the default list" eval 'ok && rows 0 "$IMG"'
osc bob beta image list --shared --member-status all
check "image list --shared --member-status all (consumer): lists the pending image" eval 'ok && rows 1 "$IMG" "$NAME" active'
osc bob beta image member list "$IMG"
check "image member list (consumer): only its own row, pending" eval 'ok && rows 1 "$IMG" "$BETA" pending && rows 1 "" "" ""'
osc alice alpha image set --accept --project "$BETA" "$IMG"
check "image set --accept --project (owner, not admin): refused with 403 modify_member" \
  eval 'not_ok && status_is 403 && err_has "not authorized to complete modify_member action"'

# 6. consumer accepts
osc bob beta image set --accept "$IMG"
check "image set --accept (consumer): exit 0, prints nothing" eval 'ok && out_empty'
osc alice alpha image member list "$IMG"
check "image member list (owner) after accept: beta accepted" eval 'ok && rows 1 "$IMG" "$BETA" accepted'

# 7. consumer lists and downloads
osc bob beta image list
check "image list (consumer) after accept: lists the image as active" eval 'ok && rows 1 "$IMG" "$NAME" active'
osc bob beta image list --shared --member-status accepted
check "image list --shared --member-status accepted (consumer): lists the image" eval 'ok && rows 1 "$IMG" "$NAME" active'
osc bob beta image list --shared --member-status pending
check "image list --shared --member-status pending (consumer): no longer lists it" eval 'ok && rows 0 "$IMG"'
osc bob beta image member get "$IMG" "$BETA"
check "image member get (consumer): own row, accepted" \
  eval 'ok && field image_id "$IMG" && field member_id "$BETA" && field status accepted && field schema /v2/schemas/member'
osc bob beta image show "$NAME"
check "image show <name> (consumer) after accept: found through the list, shows the image" eval 'ok && field id "$IMG" && field owner "$ALPHA"'
osc bob beta image show "$IMG" -f json
check "image show (consumer): shared, active, owner alpha, size and checksum" \
  eval 'ok && json "d[\"visibility\"] == \"shared\" and d[\"status\"] == \"active\" and d[\"owner\"] == \"$ALPHA\" and d[\"size\"] == $SIZE and d[\"checksum\"] == \"$MD5\""'
osc bob beta image save --file "$TMP/saved.raw" "$IMG"
check "image save (consumer): exit 0, prints nothing" eval 'ok && out_empty'
check "image save: bytes identical to the uploaded file" cmp "$TMP/image.raw" "$TMP/saved.raw"

# 8. consumer rejects
osc bob beta image set --reject "$IMG"
check "image set --reject (consumer): exit 0, prints nothing" eval 'ok && out_empty'
osc bob beta image member list "$IMG"
check "image member list (consumer) after reject: own row rejected" eval 'ok && rows 1 "$IMG" "$BETA" rejected'
osc bob beta image list
check "image list (consumer) after reject: the image is gone from the default list" eval 'ok && rows 0 "$IMG"'
osc bob beta image list --shared --member-status rejected
check "image list --shared --member-status rejected (consumer): lists the image" eval 'ok && rows 1 "$IMG" "$NAME" active'
osc bob beta image show "$IMG"
check "image show (consumer) after reject: still readable by id" eval 'ok && field id "$IMG" && field status active'
osc bob beta image show "$NAME"
check "image show <name> (consumer) after reject: not found by name (rejected shares are not listed)" \
  eval 'not_ok && err_has "No Image found for $NAME"'

# 9. admin changes the consumer's status (project looked up by name: admins may read Keystone's projects)
osc adam alpha image set --pending --project beta "$IMG"
check "image set --pending --project beta (admin): exit 0, prints nothing" eval 'ok && out_empty'
osc adam alpha image member list "$IMG"
check "image member list (admin): beta pending" eval 'ok && rows 1 "$IMG" "$BETA" pending'

# 10. owner removes the project
osc alice alpha image remove project "$IMG" "$BETA"
check "image remove project (owner): exit 0, prints nothing" eval 'ok && out_empty'
osc alice alpha image member list "$IMG"
check "image member list (owner) after remove: no rows" eval 'ok && rows 0 ""'

# 11. final state
osc bob beta image show "$IMG"
check "final: consumer can no longer see the image (No Image found)" eval 'not_ok && err_has "No Image found for $IMG"'
osc bob beta image list --shared
check "final: image list --shared (consumer) does not list it" eval 'ok && rows 0 "$IMG"'
osc alice alpha image show "$IMG" -f json
check "final: owner sees it shared, active, same size and checksum" \
  eval 'ok && json "d[\"visibility\"] == \"shared\" and d[\"status\"] == \"active\" and d[\"size\"] == $SIZE and d[\"checksum\"] == \"$MD5\""'
osc alice alpha image list
check "final: image list (owner) lists it" eval 'ok && rows 1 "$IMG" "$NAME" active'

# 12. clean up (and check the deletion)
osc alice alpha image delete "$IMG"
check "image delete (owner): exit 0, prints nothing" eval 'ok && out_empty'
if [ "$RC" -eq 0 ]; then
  DELETED="$IMG"; IMG=""
  osc alice alpha image show "$DELETED"
  check "image show after delete: No Image found" eval 'not_ok && err_has "No Image found for $DELETED"'
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
