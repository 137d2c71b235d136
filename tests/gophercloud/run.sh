#!/usr/bin/env bash
# run.sh — build and run the gophercloud replay of the Terraform provider's image request sequences
# (tests/gophercloud/main.go) against the running glint stack.
#
# Usage: bash tests/gophercloud/run.sh [build]     (`build` only builds)
# Needs: the stack from scripts/glint-stack.sh start (tests/conformance/run.sh starts it first).
# Installs Debian's golang-go and golang-github-gophercloud-gophercloud-dev (gophercloud 0.12) with apt-get when
# they are missing (root needed), then builds offline in GOPATH mode — no module downloads:
#   GOPATH=$GLINT_WORK/gophercloud/gopath:/usr/share/gocode GO111MODULE=off go build
# The binary and Go's caches go under $GLINT_WORK/gophercloud (never into the repository).
# Environment: GLINT_WORK (default <repo>/.work), GOPHER_TRACE=1 (print every HTTP exchange),
#              GLINT_POLL_DELAY (seconds between status polls, default 1).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
GLINT_WORK="${GLINT_WORK:-$REPO_ROOT/.work}"
mkdir -p "$GLINT_WORK/gophercloud"
GLINT_WORK="$(cd "$GLINT_WORK" && pwd)"
OUT="$GLINT_WORK/gophercloud"
GOPHERCLOUD_SRC=/usr/share/gocode/src/github.com/gophercloud/gophercloud

if ! command -v go >/dev/null 2>&1 || [ ! -d "$GOPHERCLOUD_SRC/openstack/imageservice/v2/members" ]; then
  echo "gophercloud/run.sh: installing golang-go and golang-github-gophercloud-gophercloud-dev" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq golang-go golang-github-gophercloud-gophercloud-dev >&2
fi

# GOPATH mode: the program is a package under <gopath>/src; Debian's gophercloud comes from /usr/share/gocode.
GOPATH_DIR="$OUT/gopath"
PKG_DIR="$GOPATH_DIR/src/glint.local/gophercloud-conformance"
mkdir -p "$PKG_DIR"
cp "$HERE/main.go" "$PKG_DIR/main.go"
BIN="$OUT/glint-gophercloud"
(
  cd "$PKG_DIR"
  GOPATH="$GOPATH_DIR:/usr/share/gocode" GO111MODULE=off GOPROXY=off \
    GOCACHE="$OUT/cache" HOME="$OUT" go build -o "$BIN" . 2>&1 | sed 's/^/go build: /' >&2
  exit "${PIPESTATUS[0]}"
) || { echo "gophercloud/run.sh: build failed" >&2; exit 1; }

[ "${1:-}" = build ] && { echo "built $BIN"; exit 0; }

ENV_FILE="$GLINT_WORK/glint/env"
[ -f "$ENV_FILE" ] || { echo "gophercloud/run.sh: $ENV_FILE missing: run scripts/glint-stack.sh start" >&2; exit 2; }
while read -r _var; do unset "$_var"; done < <(compgen -e | grep '^OS_' || true)
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
echo "gophercloud/run.sh: gophercloud $(dpkg-query -W -f '${Version}' golang-github-gophercloud-gophercloud-dev 2>/dev/null || echo '?'), $(go version | awk '{print $3}'), image service from the catalog of $KEYSTONE_AUTH_URL"
exec "$BIN"
