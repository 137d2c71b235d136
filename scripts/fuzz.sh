#!/usr/bin/env bash
# Coverage-guided fuzzing of glint's parsers with cargo-fuzz (libFuzzer); see fuzz/README.md.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds the targets in fuzz/ (default: all of patch, list_query, policy, config) and runs each
# for SECONDS_PER_TARGET (default 15) from the committed seeds in fuzz/corpus/<target>/. New
# inputs go to fuzz/corpus-grown/<target>/ (not committed), crashes to fuzz/artifacts/<target>/.
# Exits non-zero if any target crashed, timed out or ran out of memory, naming the input.
#
#   GLINT_FUZZ_SANITIZER=none|address  default none: on this 2-core machine ASan makes the build
#                                      about twice as slow and every run slower (see fuzz/README.md)
#   GLINT_FUZZ_TIMEOUT=SECONDS         one input taking longer than this is a hang (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-15}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(patch list_query policy config)
fi
sanitizer=${GLINT_FUZZ_SANITIZER:-none}
timeout=${GLINT_FUZZ_TIMEOUT:-10}

# Pinned, installed into the project's own .work (gitignored), never globally.
cargo_fuzz_version=0.13.2
cargo_fuzz="$root/.work/cargo-fuzz/bin/cargo-fuzz"
if ! { [ -x "$cargo_fuzz" ] && "$cargo_fuzz" --version | grep -qF "$cargo_fuzz_version"; }; then
  cargo install --locked cargo-fuzz --version "$cargo_fuzz_version" --root "$root/.work/cargo-fuzz"
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer, sanitizer coverage); the machine has only
# a stable toolchain, which accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
# The fuzz crate is its own workspace with its own target dir (fuzz/target), never the main one.
unset CARGO_TARGET_DIR
cd fuzz

start=$(date +%s)
"$cargo_fuzz" build --sanitizer "$sanitizer"
echo "fuzz: build took $(($(date +%s) - start)) s (sanitizer $sanitizer)"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus-grown/$t" "corpus/$t"
  log="$(mktemp)"
  echo "fuzz: $t for ${seconds} s"
  # The first corpus directory receives new inputs, so the committed seeds stay as they are.
  if "$cargo_fuzz" run --sanitizer "$sanitizer" "$t" "corpus-grown/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' "$log" |
      tr '\n' ' ' | sed "s/^/fuzz: $t: /"
    echo
  else
    tail -n 60 "$log"
    input=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/Test unit written to //')
    echo "fuzz: $t FAILED; input: ${input:-$root/fuzz/artifacts/$t/ (see the log above)}"
    echo "fuzz: reproduce with: cd fuzz && RUSTC_BOOTSTRAP=1 $cargo_fuzz run --sanitizer $sanitizer $t ${input:-<input>}"
    failed+=("$t")
  fi
  rm -f "$log"
done
echo "fuzz: total $(($(date +%s) - start)) s"

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}"
  exit 1
fi
