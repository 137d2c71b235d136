#!/usr/bin/env bash
# The project's test command: formatting, lints, unit tests, and the HTTP integration tests on
# SQLite, PostgreSQL and MariaDB, including the authentication tests against a real Keystone (installed from
# PyPI and started on loopback by scripts/keystone.sh).
#
#   GLINT_TEST_BACKENDS=sqlite   run without PostgreSQL and MariaDB (their test variants print SKIPPED; the
#                                conformance runs on them are skipped steps, schemathesis and Tempest run on SQLite);
#                                any comma-separated subset of sqlite,postgres,mysql (the default: all three)
#   GLINT_TEST_KEYSTONE=skip     run without Keystone (its tests print SKIPPED; no conformance suites)
#   GLINT_TEST_CONFORMANCE=skip  skip the client conformance suites (openstack CLI, gophercloud, Tempest, schemathesis)
#   GLINT_TEST_FUZZ=run          also run coverage-guided fuzzing (scripts/fuzz.sh, 15 s per target; its own
#                                sanitizer build of everything, ~10 min on two cores); without it the corpus
#                                is replayed through the same checks by tests/fuzz_corpus.rs
#   GLINT_TEST_PRIVATE_PG=skip  skip the PostgreSQL restart tests (private server via initdb/pg_ctl; needs root)
#   GLINT_TEST_MOUNT=skip       skip the disk-full tests (mount a tmpfs; needs root)
#   GLINT_TEST_BENCH=skip        skip the few-second smoke runs of bench/run.sh and bench/scale.sh
#   GLINT_TEST_TAKEOVER=skip     skip tests/takeover (glint on Glance 32's databases and back, real Glance
#                                from PyPI; on each backend in GLINT_TEST_BACKENDS)
#   GLINT_TEST_NOTIFICATIONS=skip  skip tests/notifications/compare.sh (glint's notifications against real Glance
#                                32's on RabbitMQ, event for event; needs Keystone and rabbitmqctl; ~40 s)
#   GLINT_TEST_STORES=skip       run without the object-store server (scripts/swift.sh: Swift + S3 API, Keystone
#                                auth when Keystone runs; the tests/stores tests and the s3/swift variants of the
#                                tests/api store tests print SKIPPED)
#   GLINT_TEST_PG_URL            PostgreSQL admin URL (default postgresql://postgres@127.0.0.1:5432/test)
#   GLINT_TEST_MYSQL_URL         MariaDB admin URL (default mysql://root@127.0.0.1:3306/test)
#   GLINT_TEST_REQUIRE=all       nothing may be skipped (CI): a skipping test fails, and so does the run
#                                when any test or step was skipped or any switch above says skip
#
# Every test that skips itself (helpers::skip) appends a line to $GLINT_TEST_SKIP_LOG; at the end the
# run prints, per suite, how many tests ran, passed, were skipped and failed, and why tests skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# An unknown switch value is an error, never a silent default.
case "${GLINT_TEST_FUZZ:-}" in
  "" | run) ;;
  *) echo "GLINT_TEST_FUZZ: unknown value '$GLINT_TEST_FUZZ' (known: run)" >&2; exit 2 ;;
esac
for switch in GLINT_TEST_KEYSTONE GLINT_TEST_CONFORMANCE GLINT_TEST_PRIVATE_PG \
  GLINT_TEST_MOUNT GLINT_TEST_BENCH GLINT_TEST_STORES GLINT_TEST_TAKEOVER GLINT_TEST_NOTIFICATIONS; do
  case "${!switch:-}" in
    "" | skip) ;;
    *) echo "$switch: unknown value '${!switch}' (known: skip)" >&2; exit 2 ;;
  esac
done
case "${GLINT_TEST_REQUIRE:-}" in
  "" | all) ;;
  *) echo "GLINT_TEST_REQUIRE: unknown value '$GLINT_TEST_REQUIRE' (known: all)" >&2; exit 2 ;;
esac
IFS=, read -r -a wanted_backends <<<"${GLINT_TEST_BACKENDS:-sqlite,postgres,mysql}"
has_sqlite=0; has_postgres=0; has_mysql=0
for b in "${wanted_backends[@]}"; do
  case "${b// /}" in
    sqlite) has_sqlite=1 ;;
    postgres | postgresql) has_postgres=1 ;;
    mysql | mariadb) has_mysql=1 ;;
    *) echo "GLINT_TEST_BACKENDS: unknown backend '$b' (known: sqlite, postgres, mysql)" >&2; exit 2 ;;
  esac
done
if [ "${GLINT_TEST_REQUIRE:-}" = all ]; then
  for switch in GLINT_TEST_KEYSTONE GLINT_TEST_CONFORMANCE GLINT_TEST_PRIVATE_PG \
    GLINT_TEST_MOUNT GLINT_TEST_BENCH GLINT_TEST_STORES GLINT_TEST_TAKEOVER GLINT_TEST_NOTIFICATIONS; do
    if [ "${!switch:-}" = skip ]; then
      echo "GLINT_TEST_REQUIRE=all forbids $switch=skip" >&2; exit 2
    fi
  done
  if [ "$has_sqlite$has_postgres$has_mysql" != 111 ]; then
    echo "GLINT_TEST_REQUIRE=all needs all three backends (GLINT_TEST_BACKENDS=${GLINT_TEST_BACKENDS:-})" >&2; exit 2
  fi
fi

# Stop, on success, failure or interrupt, every daemon this run started (and only those: a Keystone
# or glint stack that was already up when the run began is left as it was).
WORK="${GLINT_WORK:-$PWD/.work}"
TEMPEST_WORK="${GLINT_TEMPEST_STACK_WORK:-$WORK/tempest-stack}"
was_up() { bash scripts/keystone.sh status >/dev/null 2>&1; }
KEYSTONE_WAS_UP=0; was_up && KEYSTONE_WAS_UP=1
STACK_WAS_UP=0; bash scripts/glint-stack.sh status >/dev/null 2>&1 && STACK_WAS_UP=1
SWIFT_WAS_UP=0; bash scripts/swift.sh status >/dev/null 2>&1 && SWIFT_WAS_UP=1
TEMPEST_WAS_UP=0
GLINT_WORK="$TEMPEST_WORK" GLINT_KEYSTONE_PORT="${GLINT_TEMPEST_KEYSTONE_PORT:-5011}" \
  GLINT_PORT="${GLINT_TEMPEST_PORT:-9311}" bash scripts/glint-stack.sh status >/dev/null 2>&1 && TEMPEST_WAS_UP=1
mkdir -p "$WORK"
export GLINT_TEST_SKIP_LOG="$WORK/test-skips.log"
: >"$GLINT_TEST_SKIP_LOG"
CARGO_TEST_LOG="$WORK/cargo-test.log"
rm -f "$CARGO_TEST_LOG"
# One line per conformance suite run: suite, backend, result, seconds.
CONFORMANCE_LOG="$WORK/conformance-results.tsv"
: >"$CONFORMANCE_LOG"
# Wall time of each step (name, seconds), printed with the summary: the whole run has to stay well inside
# CI's budget on two cores, and this says where the time goes.
PHASE_LOG="$WORK/phases.tsv"
: >"$PHASE_LOG"
RUN_START=$(date +%s); PHASE_NAME=""; PHASE_START=$RUN_START
phase() {  # NAME: end the current step, start NAME ("" ends the last one)
  local now; now=$(date +%s)
  [ -z "$PHASE_NAME" ] || printf '%s\t%s\n' "$PHASE_NAME" "$(( now - PHASE_START ))" >>"$PHASE_LOG"
  PHASE_NAME="$1"; PHASE_START=$now
}
# A step of this script left out by a switch: counted like a skipping test (suite "script").
skip_step() { printf 'script\t%s\t%s\n' "$1" "$2" >>"$GLINT_TEST_SKIP_LOG"; echo "SKIPPED: $1 ($2)"; }

# Per suite: tests run, passed, skipped, failed, ignored (from cargo's "Running"/"test result" lines
# and the skip log), then every skip reason with its count.
summary() {
  [ -f "$CARGO_TEST_LOG" ] || [ -s "$GLINT_TEST_SKIP_LOG" ] || [ -s "$CONFORMANCE_LOG" ] || return 0
  local skips
  skips=$(sort -u -t $'\t' -k1,2 "$GLINT_TEST_SKIP_LOG")
  echo
  echo "== test summary =="
  if [ -f "$CARGO_TEST_LOG" ]; then
    printf '%s\n' "$skips" | awk -v require="${GLINT_TEST_REQUIRE:-}" '
      part == "skips" { if (split($0, t, "\t") >= 2) skipped[t[1]]++; next }
      $1 == "Running" {
        if ($2 == "unittests") suite = ($3 == "src/lib.rs") ? "lib" : "bin " $3
        else { suite = $2; sub(/^tests\//, "", suite); sub(/(\/main)?\.rs$/, "", suite) }
        next
      }
      $1 == "Doc-tests" { suite = "doc"; next }
      $1 == "test" && $2 == "result:" {
        p = f = ig = 0
        for (i = 3; i < NF; i++) {
          w = $(i + 1); gsub(/[;,.]/, "", w)
          if (w == "passed") p = $i
          if (w == "failed") f = $i
          if (w == "ignored") ig = $i
        }
        s = skipped[suite] + 0
        # Without the require switch a skipped test returns and cargo counts it as passed;
        # with it the skip panics and cargo counts it as failed.
        if (require != "all") p -= s
        printf "%-16s %6d ran %6d passed %6d skipped %6d failed %6d ignored\n", suite, p + s + f, p, s, f, ig
        seen[suite] = 1
      }
      END {
        for (x in skipped) if (!(x in seen) && x != "script")
          printf "%-16s did not finish; %d skipped\n", x, skipped[x]
      }' part=skips - part=cargo "$CARGO_TEST_LOG"
  fi
  if [ -s "$CONFORMANCE_LOG" ]; then
    echo "conformance suites (suite, backend, result, time):"
    awk -F'\t' '{ printf "  %-16s %-9s %-16s %5ss\n", $1, $2, $3, $4 }' "$CONFORMANCE_LOG"
  fi
  if [ -s "$PHASE_LOG" ]; then
    echo "steps (wall seconds; total $(( $(date +%s) - RUN_START ))):"
    awk -F'\t' '{ printf "  %-34s %5s\n", $1, $2 }' "$PHASE_LOG"
  fi
  if [ -n "$skips" ]; then
    echo "$(printf '%s\n' "$skips" | wc -l) skipped:"
    printf '%s\n' "$skips" | awk -F'\t' '{ print ($1 == "script" ? "script step " $2 : $1) ": " $3 }' |
      sort | uniq -c | sort -rn
  else
    echo "0 skipped"
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  phase ""
  summary || true
  if [ "$rc" = 0 ] && [ "${GLINT_TEST_REQUIRE:-}" = all ] && [ -s "$GLINT_TEST_SKIP_LOG" ]; then
    echo "GLINT_TEST_REQUIRE=all: something was skipped (see above); failing the run" >&2
    rc=1
  fi
  if [ "$TEMPEST_WAS_UP" = 0 ] && [ -d "$TEMPEST_WORK" ]; then
    GLINT_WORK="$TEMPEST_WORK" GLINT_PORT="${GLINT_TEMPEST_PORT:-9311}" bash scripts/glint-stack.sh stop >/dev/null 2>&1 || true
    GLINT_WORK="$TEMPEST_WORK" GLINT_KEYSTONE_PORT="${GLINT_TEMPEST_KEYSTONE_PORT:-5011}" \
      bash scripts/keystone.sh stop >/dev/null 2>&1 || true
  fi
  [ "$STACK_WAS_UP" = 1 ] || bash scripts/glint-stack.sh stop >/dev/null 2>&1 || true
  [ "$KEYSTONE_WAS_UP" = 1 ] || bash scripts/keystone.sh stop >/dev/null 2>&1 || true
  [ "$SWIFT_WAS_UP" = 1 ] || bash scripts/swift.sh stop >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every Debian package the run needs, installed before anything is built: glint's MySQL driver links
# the MySQL client library (libmariadb-dev; a fresh machine has only the server's runtime pieces), and
# its build script asks cargo to rebuild it, and diesel and glint after it, whenever anything under the
# library's directory (/usr/lib/x86_64-linux-gnu) changes, so a package installed between two builds
# (Swift for the store tests, wrk for the bench smokes, Go for gophercloud) would cost full rebuilds.
debian_packages=(libmariadb-dev libmariadb-dev-compat pkg-config)
[ "${GLINT_TEST_STORES:-}" = skip ] || debian_packages+=(swift swift-proxy swift-account swift-container swift-object python3-keystonemiddleware memcached)
[ "${GLINT_TEST_BENCH:-}" = skip ] || debian_packages+=(wrk)
# The sharing web page's browser tests (tests/api/ui_browser.rs, with Keystone): Chromium and its WebDriver.
[ "${GLINT_TEST_KEYSTONE:-}" = skip ] || debian_packages+=(chromium chromium-driver)
if [ "${GLINT_TEST_CONFORMANCE:-}" != skip ] && [ "${GLINT_TEST_KEYSTONE:-}" != skip ]; then
  debian_packages+=(golang-go golang-github-gophercloud-gophercloud-dev)
fi
phase "Debian packages"
missing_packages=()
for p in "${debian_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing_packages+=("$p")
done
if [ "${#missing_packages[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing_packages[@]}" >/dev/null ||
    { apt-get update -q >/dev/null &&
      apt-get install -y -q --no-install-recommends "${missing_packages[@]}" >/dev/null; }
fi

phase "fmt + clippy"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

phase "Keystone + object store start"
if [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
  bash scripts/keystone.sh start
fi
# The object stores' tests (tests/stores) need a real S3/Swift server.
if [ "${GLINT_TEST_STORES:-}" != "skip" ]; then
  bash scripts/swift.sh start
  export GLINT_SWIFT_ENV="$WORK/swift/env"
else
  unset GLINT_SWIFT_ENV
  skip_step "object-store server (scripts/swift.sh)" "GLINT_TEST_STORES=skip"
fi

# Every test binary runs even when an earlier one failed, so that the summary covers all suites:
# the unit tests, tests/api (the everyday HTTP tests) and tests/faults (crashes, database and disk faults).
phase "cargo test (build + run)"
set +e
cargo test --locked --no-fail-fast -- --test-threads="${GLINT_TEST_THREADS:-4}" 2>&1 | tee "$CARGO_TEST_LOG"
cargo_rc=${PIPESTATUS[0]}
set -e
[ "$cargo_rc" = 0 ] || exit "$cargo_rc"

# Takeover, hand-back and mixed fleet with real Glance 32 (issue 14): tests/takeover/run.sh on every wanted
# backend (about a minute for all three, once Glance's venv is installed); needs Keystone. Its result goes
# into the conformance log in conformance_run's format (conformance_run is defined further down); a failure
# ends the run like a failing cargo test, after the summary.
if [ "${GLINT_TEST_TAKEOVER:-}" = skip ]; then
  skip_step "takeover (tests/takeover)" "GLINT_TEST_TAKEOVER=skip"
elif [ "${GLINT_TEST_KEYSTONE:-}" = "skip" ]; then
  skip_step "takeover (tests/takeover)" "needs Keystone (GLINT_TEST_KEYSTONE=skip)"
else
  phase "takeover"
  takeover_backends=()
  for b in sqlite postgres mysql; do
    wanted_b="has_$b"
    if [ "${!wanted_b}" = 1 ]; then takeover_backends+=("$b"); else skip_step "takeover on $b" "$b not in GLINT_TEST_BACKENDS"; fi
  done
  takeover_rc=0; takeover_start=$(date +%s)
  echo; echo "=== takeover on ${takeover_backends[*]} ==="
  # With the object-store server up, Glance and glint also read each other's swift and s3 objects.
  takeover_phases=forward,reverse,mixed
  if [ -n "${GLINT_SWIFT_ENV:-}" ]; then
    takeover_phases+=,stores
  else
    skip_step "takeover stores phase" "no object-store server (GLINT_TEST_STORES=skip)"
  fi
  bash tests/takeover/run.sh "${takeover_backends[@]}" --phases "$takeover_phases" || takeover_rc=$?
  printf '%s\t%s\t%s\t%s\n' takeover "$(IFS=+; echo "${takeover_backends[*]}")" \
    "$([ "$takeover_rc" = 0 ] && echo PASS || echo "FAIL (exit $takeover_rc)")" \
    "$(( $(date +%s) - takeover_start ))" >>"$CONFORMANCE_LOG"
  [ "$takeover_rc" = 0 ] || exit 1
fi

# glint's notifications against real Glance 32's (issue 21): both publish to the local RabbitMQ, one scripted
# sequence runs against each, and the two streams must match event for event and field for field, ids and
# times aside (tests/notifications/compare.sh; under a minute once Glance's venv is installed; SQLite only:
# what is published does not depend on the backend). Needs Keystone; recorded like the takeover step.
if [ "${GLINT_TEST_NOTIFICATIONS:-}" = skip ]; then
  skip_step "notifications vs Glance (tests/notifications)" "GLINT_TEST_NOTIFICATIONS=skip"
elif [ "${GLINT_TEST_KEYSTONE:-}" = "skip" ]; then
  skip_step "notifications vs Glance (tests/notifications)" "needs Keystone (GLINT_TEST_KEYSTONE=skip)"
else
  phase "notifications vs Glance"
  notify_rc=0; notify_start=$(date +%s)
  echo; echo "=== notifications vs Glance 32 ==="
  GLINT_NOTIFY_NO_BUILD=1 bash tests/notifications/compare.sh || notify_rc=$?
  printf '%s\t%s\t%s\t%s\n' notifications sqlite \
    "$([ "$notify_rc" = 0 ] && echo PASS || echo "FAIL (exit $notify_rc)")" \
    "$(( $(date +%s) - notify_start ))" >>"$CONFORMANCE_LOG"
  [ "$notify_rc" = 0 ] || exit 1
fi

# Coverage-guided fuzzing of the parsers (PATCH bodies, list queries, policy rules and files,
# glance-api.conf), bounded, when asked: its sanitizer build costs more than the rest of the build, so the
# everyday run replays the corpus instead (tests/fuzz_corpus.rs, in cargo test above).
if [ "${GLINT_TEST_FUZZ:-}" = "run" ]; then
  phase "fuzz"
  bash scripts/fuzz.sh "${GLINT_FUZZ_SECONDS:-15}"
fi

# Keep the benchmark scripts working: a few seconds each, no timing assertions, no results rewritten;
# they fail on any request error wrk reports and on a panic or ERROR line in glint's log.
# bench/run.sh needs Keystone's tokens; bench/scale.sh needs PostgreSQL.
phase "bench smokes"
if [ "${GLINT_TEST_BENCH:-}" != "skip" ]; then
  if [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
    BENCH_GLINT_PORT="${GLINT_TEST_BENCH_PORT:-9490}" BENCH_GLANCE_PORT=$(( ${GLINT_TEST_BENCH_PORT:-9490} + 1 )) \
      BENCH_CEILING_PORT=$(( ${GLINT_TEST_BENCH_PORT:-9490} + 2 )) BENCH_PG_PREFIX=smoke \
      bash bench/run.sh --smoke
  else
    skip_step "bench/run.sh --smoke" "needs Keystone (GLINT_TEST_KEYSTONE=skip)"
  fi
  if [ "$has_postgres" = 1 ]; then
    BENCH_SCALE_PORT=$(( ${GLINT_TEST_BENCH_PORT:-9490} + 3 )) BENCH_SCALE_DB_PREFIX=smoke_scale \
      bash bench/scale.sh --smoke
  else
    skip_step "bench/scale.sh --smoke" "needs PostgreSQL (not in GLINT_TEST_BACKENDS)"
  fi
else
  skip_step "bench smokes" "GLINT_TEST_BENCH=skip"
fi

# Conformance with real clients against a running glint + Keystone stack: the openstack CLI (on MariaDB) and
# gophercloud (the Terraform provider's library; fast, so on each backend), schemathesis against
# api-ref/openapi.yaml (on PostgreSQL) and Tempest (on MariaDB, in a stack of its own). The heavy two run
# once; when their backend is left out of GLINT_TEST_BACKENDS they run on a wanted one, and the step
# on the missing backend is a visible skip. The summary names the backend of every run.
# conformance_run NAME BACKEND CMD...: run CMD with GLINT_STACK_DB=BACKEND, record its result.
conformance_failed=0
conformance_run() {
  local name="$1" backend="$2" s rc=0; shift 2
  phase "$name on $backend"
  s=$(date +%s)
  echo
  echo "=== $name on $backend ==="
  GLINT_STACK_DB="$backend" "$@" || rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$backend" "$([ "$rc" = 0 ] && echo PASS || echo "FAIL (exit $rc)")" \
    "$(( $(date +%s) - s ))" >>"$CONFORMANCE_LOG"
  [ "$rc" = 0 ] || conformance_failed=1
}
wanted() { local v="has_$1"; [ "${!v}" = 1 ]; }  # BACKEND (sqlite, postgres, mysql)
# The backend a run-once suite uses: its own when wanted, else the first wanted of sqlite, postgres,
# mysql (and its own is a skip).
backend_for() {  # SUITE PREFERRED
  local b
  if wanted "$2"; then echo "$2"; return; fi
  for b in sqlite postgres mysql; do wanted "$b" && break; done
  wanted "$b" || b=sqlite
  skip_step "$1 on $2" "$2 not in GLINT_TEST_BACKENDS; ran on $b" >&2
  echo "$b"
}
# CLIENT (osc+gophercloud or gophercloud) on BACKEND, or a skip when BACKEND is left out.
client_on() {  # CLIENT BACKEND
  local args=()
  [ "$1" = gophercloud ] && args=(gophercloud)
  if wanted "$2"; then
    conformance_run "$1" "$2" bash tests/conformance/run.sh "${args[@]}"
  else
    skip_step "$1 on $2" "$2 not in GLINT_TEST_BACKENDS"
  fi
}
if [ "${GLINT_TEST_CONFORMANCE:-}" != "skip" ] && [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
  # gophercloud (seconds) on every backend; the openstack CLI (a minute: a Python start per command) once,
  # on MariaDB, where most clouds keep Glance's database. SQLite's run comes last, so a stack that outlives
  # the run is on its default backend.
  # The openstack CLI, gophercloud on MariaDB and Tempest run with glint's sharing extensions on (old
  # clients must not notice them: ../shared/design/sharing-extensions.md); the rest with them off.
  sharing_on=$'[glint_sharing]\nenabled = true'
  client_on gophercloud postgres
  GLINT_STACK_CONF_EXTRA="$sharing_on" client_on osc+gophercloud "$(backend_for osc mysql)"
  conformance_run schemathesis "$(backend_for schemathesis postgres)" bash api-ref/check.sh
  client_on gophercloud sqlite
  tempest_db="$(backend_for tempest mysql)"
  GLINT_TEMPEST_CONF_EXTRA="$sharing_on" conformance_run tempest "$tempest_db" bash tempest/run.sh
  # The metrics an operator scrapes, as Tempest's run left them in that stack (still up): requests
  # by route template, latency, pool, token cache, Keystone, bytes, transfers, notifications.
  conformance_run "metrics after tempest" "$tempest_db" python3 tests/conformance/check_metrics.py \
    "http://127.0.0.1:${GLINT_TEMPEST_PORT:-9311}/metrics" --save "$WORK/metrics-after-tempest.txt"
  [ "$conformance_failed" = 0 ] || exit 1
elif [ "${GLINT_TEST_CONFORMANCE:-}" = "skip" ]; then
  skip_step "conformance suites" "GLINT_TEST_CONFORMANCE=skip"
else
  skip_step "conformance suites" "need Keystone (GLINT_TEST_KEYSTONE=skip)"
fi
