//! ISO 9660 (the primary volume descriptor after the system area).

use super::{byte, le_u16, le_u32, Format, Region};

/// ISO 9660 / UDF: a volume descriptor after the 32 KiB system area; for a
/// primary descriptor, size = block count @80 × block size @128 (LE halves).
#[derive(Debug)]
pub(super) struct Iso {
    /// Only the descriptor is kept; the system area just has to have passed.
    descriptor: Region,
}

impl Default for Iso {
    fn default() -> Self {
        Iso {
            descriptor: Region::new(32 * 1024, 2 * 1024),
        }
    }
}

impl Format for Iso {
    fn name(&self) -> &'static str {
        "iso"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.descriptor.capture(chunk, start);
        Ok(())
    }
    fn matches(&self) -> bool {
        self.complete()
            && matches!(
                self.descriptor.data.get(1..6),
                Some(b"CD001" | b"NSR02" | b"NSR03")
            )
    }
    fn complete(&self) -> bool {
        self.descriptor.complete()
    }
    fn virtual_size(&self, _: u64) -> u64 {
        let d = &self.descriptor.data;
        if !self.matches() || byte(d, 0) != 1 {
            return 0;
        }
        u64::from(le_u32(d, 80)) * u64::from(le_u16(d, 128))
    }
}
