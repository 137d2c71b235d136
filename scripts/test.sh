#!/usr/bin/env bash
# The project's test command: formatting, lints, unit tests, and the HTTP integration tests on
# SQLite and PostgreSQL, including the authentication tests against a real Keystone (installed from
# PyPI and started on loopback by scripts/keystone.sh).
#
#   GLINT_TEST_BACKENDS=sqlite   run without PostgreSQL (its test variants print SKIPPED)
#   GLINT_TEST_KEYSTONE=skip     run without Keystone (its tests print SKIPPED; no conformance suites)
#   GLINT_TEST_CONFORMANCE=skip  skip the client conformance suites (openstack CLI, gophercloud, Tempest)
#   GLINT_TEST_PG_URL            PostgreSQL admin URL (default postgresql://postgres@127.0.0.1:5432/test)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

if [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
  bash scripts/keystone.sh start
fi

cargo test --locked -- --test-threads="${GLINT_TEST_THREADS:-4}"

# Conformance with real clients against a running glint + Keystone stack: the openstack CLI,
# gophercloud (the Terraform provider's library), Tempest, and schemathesis against api-ref/openapi.yaml.
if [ "${GLINT_TEST_CONFORMANCE:-}" != "skip" ] && [ "${GLINT_TEST_KEYSTONE:-}" != "skip" ]; then
  bash tests/conformance/run.sh
  bash tempest/run.sh
  bash api-ref/check.sh
fi
