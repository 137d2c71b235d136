//! LUKS (versions 1 and 2) encrypted volumes; never decrypted.

use super::{be_u32, bytes_at, Format, Region};

/// LUKS v1 encrypted volume: big-endian header, magic `LUKS\xba\xbe`,
/// version @6, payload offset in sectors @104.
#[derive(Debug)]
pub(super) struct Luks {
    header: Region,
}

impl Default for Luks {
    fn default() -> Self {
        Luks {
            header: Region::new(0, 592),
        }
    }
}

impl Format for Luks {
    fn name(&self) -> &'static str {
        "luks"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.header.capture(chunk, start);
        Ok(())
    }
    fn matches(&self) -> bool {
        self.header.data.starts_with(b"LUKS\xba\xbe")
    }
    fn complete(&self) -> bool {
        self.header.complete()
    }
    fn virtual_size(&self, total: u64) -> u64 {
        let payload = u64::from(be_u32(&self.header.data, 104)).saturating_mul(512);
        total.saturating_sub(payload)
    }
    fn safety_failures(&self) -> Vec<String> {
        let version = u16::from_be_bytes(bytes_at(&self.header.data, 6).unwrap_or_default());
        if version == 1 {
            Vec::new()
        } else {
            vec![format!("LUKS version {version} is not supported")]
        }
    }
}
