//! Microsoft VHD (fixed and dynamic): the footer copy at the start.

use super::{be_u64, Format, Region};

/// Microsoft VHD (qemu "vpc"): the 512-byte footer copy at the start,
/// `conectix` magic, big-endian current size @40.
#[derive(Debug)]
pub(super) struct Vhd {
    header: Region,
}

impl Default for Vhd {
    fn default() -> Self {
        Vhd {
            header: Region::new(0, 512),
        }
    }
}

impl Format for Vhd {
    fn name(&self) -> &'static str {
        "vhd"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.header.capture(chunk, start);
        Ok(())
    }
    fn matches(&self) -> bool {
        // Like oslo.utils: the magic alone decides, even in a short file.
        self.header.data.starts_with(b"conectix")
    }
    fn complete(&self) -> bool {
        self.header.complete()
    }
    fn virtual_size(&self, _: u64) -> u64 {
        if self.complete() && self.matches() {
            be_u64(&self.header.data, 40)
        } else {
            0
        }
    }
}
