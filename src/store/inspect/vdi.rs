//! VirtualBox VDI.

use super::{le_u32, le_u64, Format, Region};

/// VirtualBox VDI: magic 0xbeda107f @0x40, little-endian disk size @0x170.
#[derive(Debug)]
pub(super) struct Vdi {
    header: Region,
}

impl Default for Vdi {
    fn default() -> Self {
        Vdi {
            header: Region::new(0, 512),
        }
    }
}

impl Format for Vdi {
    fn name(&self) -> &'static str {
        "vdi"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.header.capture(chunk, start);
        Ok(())
    }
    fn matches(&self) -> bool {
        self.header.complete() && le_u32(&self.header.data, 0x40) == 0xbeda_107f
    }
    fn complete(&self) -> bool {
        self.header.complete()
    }
    fn virtual_size(&self, _: u64) -> u64 {
        if self.matches() {
            le_u64(&self.header.data, 0x170)
        } else {
            0
        }
    }
}
