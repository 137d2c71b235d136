#!/usr/bin/env bash
# The project's test command: formatting, lints, unit tests, and the HTTP integration tests on
# SQLite and PostgreSQL, including the authentication tests against a real Keystone (installed from
# PyPI and started on loopback by scripts/keystone.sh).
#
#   GLINT_TEST_BACKENDS=sqlite   run without PostgreSQL (its test variants print SKIPPED)
#   GLINT_TEST_KEYSTONE=skip     run without Keystone (its tests print SKIPPED; no conformance suites)
#   GLINT_TEST_CONFORMANCE=skip  skip the client conformance suites (openstack CLI, gophercloud, Tempest)
#   GLINT_TEST_FUZZ=skip         skip the bounded fuzzing run (scripts/fuzz.sh, 15 s per target)
#   GLINT_TEST_PRIVATE_PG=skip  skip the PostgreSQL restart tests (private server via initdb/pg_ctl; needs root)
#   GLINT_TEST_MOUNT=skip       skip the disk-full tests (mount a tmpfs; needs root)
#   GLINT_TEST_BENCH=skip        skip the few-second smoke runs of bench/run.sh and bench/scale.sh
#   GLINT_TEST_PG_URL            PostgreSQL admin URL (default postgresql://postgres@127.0.0.1:5432/test)
set -euo pipefail
cd "$(dirname "$0")/.."

# Stop, on success, failure or interrupt, every daemon this run started (and only those: a Keystone
# or glint stack that was already up when the run began is left as it was).
WORK="${GLINT_WORK:-$PWD/.work}"
TEMPEST_WORK="${GLINT_TEMPEST_STACK_WORK:-$WORK/tempest-stack}"
was_up() { bash scripts/keystone.sh status >/dev/null 2>&1; }
KEYSTONE_WAS_UP=0; was_up && KEYSTONE_WAS_UP=1
STACK_WAS_UP=0; bash scripts/glint-stack.sh status >/dev/null 2>&1 && STACK_WAS_UP=1
TEMPEST_WAS_UP=0
GLINT_WORK="$TEMPEST_WORK" GLINT_KEYSTONE_PORT="${GLINT_TEMPEST_KEYSTONE_PORT:-5011}" \
  GLINT_PORT="${GLINT_TEMPEST_PORT:-9311}" bash scripts/glint-stack.sh status >/dev/null 2>&1 && TEMPEST_WAS_UP=1
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$TEMPEST_WAS_UP" = 0 ] && [ -d "$TEMPEST_WORK" ]; then
    GLINT_WORK="$TEMPEST_WORK" GLINT_PORT="${GLINT_TEMPEST_PORT:-9311}" bash scripts/glint-stack.sh stop >/dev/null 2>&1 || true
    GLINT_WORK="$TEMPEST_WORK" GLINT_KEYSTONE_PORT="${GLINT_TEMPEST_KEYSTONE_PORT:-5011}" \
      bash scripts/keystone.sh stop >/dev/null 2>&1 || true
  fi
  [ "$STACK_WAS_UP" = 1 ] || bash scripts/glint-stack.sh stop >/dev/null 2>&1 || true
  [ "$KEYSTONE_WAS_UP" = 1 ] || bash scripts/keystone.sh stop >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

if [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
  bash scripts/keystone.sh start
fi

cargo test --locked -- --test-threads="${GLINT_TEST_THREADS:-4}"

# Coverage-guided fuzzing of the parsers (PATCH bodies, list queries, policy rules and files,
# glance-api.conf), bounded; longer runs by hand as fuzz/README.md says.
if [ "${GLINT_TEST_FUZZ:-}" != "skip" ]; then
  bash scripts/fuzz.sh "${GLINT_FUZZ_SECONDS:-15}"
fi

# Keep the benchmark scripts working: a few seconds each, no timing assertions, no results rewritten.
# bench/run.sh needs Keystone's tokens; bench/scale.sh needs PostgreSQL.
if [ "${GLINT_TEST_BENCH:-}" != "skip" ]; then
  if [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
    BENCH_GLINT_PORT="${GLINT_TEST_BENCH_PORT:-9490}" BENCH_GLANCE_PORT=$(( ${GLINT_TEST_BENCH_PORT:-9490} + 1 )) \
      BENCH_CEILING_PORT=$(( ${GLINT_TEST_BENCH_PORT:-9490} + 2 )) BENCH_PG_PREFIX=smoke \
      bash bench/run.sh --smoke
  fi
  if [ "${GLINT_TEST_BACKENDS:-}" != "sqlite" ]; then
    BENCH_SCALE_PORT=$(( ${GLINT_TEST_BENCH_PORT:-9490} + 3 )) BENCH_SCALE_DB_PREFIX=smoke_scale \
      bash bench/scale.sh --smoke
  fi
fi

# Conformance with real clients against a running glint + Keystone stack: the openstack CLI,
# gophercloud (the Terraform provider's library), Tempest, and schemathesis against api-ref/openapi.yaml.
if [ "${GLINT_TEST_CONFORMANCE:-}" != "skip" ] && [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
  bash tests/conformance/run.sh
  bash tempest/run.sh
  bash api-ref/check.sh
fi
