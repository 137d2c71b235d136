//! libFuzzer entry for fuzz/checks/config.rs (the input format and invariants are described there;
//! tests/fuzz_corpus.rs replays the corpus through the same check in every test run).
#![no_main]

#[path = "../checks/config.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
