# bench/lib/glance_venv.sh — sourced by the scripts that run real Glance 32 beside glint (bench/run.sh,
# bench/stores.sh, tests/takeover/run.sh, tests/notifications/compare.sh): one place that installs it.
#
#   ensure_glance_venv VENV CONSTRAINTS [PACKAGE...]
#     Creates VENV with Glance, gunicorn, psycopg2-binary and PyMySQL (Glance's MariaDB driver, not in its
#     requirements) from PyPI against the OpenStack constraints file, once (a marker file says it is done),
#     then adds each PACKAGE not yet installed (e.g. python-swiftclient and boto3 for glance_store's swift
#     and s3 drivers). Uses $PYTHON (default python3) to create the venv; pip's output goes to stderr.
GLANCE_VERSION=32.0.0
GLANCE_GUNICORN_VERSION=25.2.0

ensure_glance_venv() {
  local venv=$1 constraints=$2
  shift 2
  local marker="$venv/.bench-glance-$GLANCE_VERSION"
  if [ ! -f "$marker" ]; then
    [ -f "$constraints" ] || { echo "glance_venv: missing $constraints" >&2; return 1; }
    echo "glance_venv: installing Glance $GLANCE_VERSION into $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip >&2 || true
    "$venv/bin/pip" install -q -c "$constraints" "glance==$GLANCE_VERSION" \
      "gunicorn==$GLANCE_GUNICORN_VERSION" psycopg2-binary PyMySQL >&2
    touch "$marker"
  fi
  # A venv made before PyMySQL was part of it, and the packages asked for.
  local missing=() p
  for p in PyMySQL "$@"; do
    "$venv/bin/pip" show -q "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "glance_venv: adding ${missing[*]} to $venv" >&2
    "$venv/bin/pip" install -q -c "$constraints" "${missing[@]}" >&2
  fi
}
