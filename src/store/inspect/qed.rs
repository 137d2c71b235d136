//! QEMU QED: recognised only to be refused.

use super::{Format, Region};

/// QEMU QED: recognised only to be refused.
#[derive(Debug)]
pub(super) struct Qed {
    header: Region,
}

impl Default for Qed {
    fn default() -> Self {
        Qed {
            header: Region::new(0, 512),
        }
    }
}

impl Format for Qed {
    fn name(&self) -> &'static str {
        "qed"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.header.capture(chunk, start);
        Ok(())
    }
    fn matches(&self) -> bool {
        self.header.complete() && self.header.data.starts_with(b"QED\x00")
    }
    fn complete(&self) -> bool {
        self.header.complete()
    }
    fn safety_failures(&self) -> Vec<String> {
        vec!["This file format is not allowed".to_owned()]
    }
}
