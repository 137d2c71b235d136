//! Raw data: what is left when no other format recognises the bytes.

use super::Format;

/// Unrecognised data: always matches, virtual size = byte count.
#[derive(Debug)]
pub(super) struct Raw;

impl Format for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }
    fn eat(&mut self, _: &[u8], _: u64) -> Result<(), String> {
        Ok(())
    }
    fn matches(&self) -> bool {
        true
    }
    fn complete(&self) -> bool {
        true
    }
}
