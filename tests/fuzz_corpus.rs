//! Replays every input of the fuzzing corpus (fuzz/corpus/<target>) through the fuzz targets' own
//! checks (fuzz/checks), so the invariants the fuzzers found inputs for hold in every test run without
//! the fuzzing toolchain; coverage-guided runs stay with scripts/fuzz.sh.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/checks/config.rs"]
mod config;
#[path = "../fuzz/checks/list_query.rs"]
mod list_query;
#[path = "../fuzz/checks/patch.rs"]
mod patch;
#[path = "../fuzz/checks/policy.rs"]
mod policy;

/// Runs `check` on each file of fuzz/corpus/`target`; fails naming every input that panicked.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} holds no inputs", dir.display());
    let failed: Vec<String> = inputs
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs broke an invariant (reproduce with cargo fuzz run {target} <file>): {failed:?}",
        failed.len(),
        inputs.len()
    );
}

#[test]
fn config_corpus() {
    replay("config", config::check);
}

#[test]
fn list_query_corpus() {
    replay("list_query", list_query::check);
}

#[test]
fn patch_corpus() {
    replay("patch", patch::check);
}

#[test]
fn policy_corpus() {
    replay("policy", policy::check);
}
