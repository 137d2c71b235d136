#!/usr/bin/env bash
# The project's test command: formatting, lints, and every test on SQLite and PostgreSQL.
# PostgreSQL must be reachable at GLINT_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test);
# set GLINT_TEST_BACKENDS=sqlite to run without it (the PostgreSQL variants then say SKIPPED).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked -- --test-threads="${GLINT_TEST_THREADS:-4}"
