#!/usr/bin/env bash
# ui-screenshots.sh — retake docs/ui/*.png, the sharing web page's views at desktop (1280x900) and
# phone (390x844) widths, by running the browser test (tests/api/ui_browser.rs) on SQLite with
# GLINT_UI_SCREENSHOTS set. Needs Debian's chromium and chromium-driver (scripts/test.sh installs
# them) and Keystone: started here with scripts/keystone.sh when it is not already running, and
# stopped again afterwards.
#
#   bash scripts/ui-screenshots.sh            # writes docs/ui/{login,inbox,outbox,policy,history,grants-owner,grants-recipient}-{desktop,phone}.png
#   GLINT_KEYSTONE_PORT=5501 bash scripts/ui-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=0
if ! bash scripts/keystone.sh status >/dev/null 2>&1; then
  bash scripts/keystone.sh start
  started=1
fi
trap '[ "$started" = 0 ] || bash scripts/keystone.sh stop >/dev/null 2>&1 || true' EXIT
mkdir -p docs/ui
GLINT_TEST_BACKENDS=sqlite GLINT_UI_SCREENSHOTS="$PWD/docs/ui" \
  cargo test --locked --test api ui_browser::two_projects_share_and_decide_in_a_browser::sqlite
GLINT_TEST_BACKENDS=sqlite GLINT_UI_SCREENSHOTS="$PWD/docs/ui" \
  cargo test --locked --test api ui_browser::a_grant_made_and_accepted_in_a_browser::sqlite
ls -l docs/ui
