//! QEMU qcow2 (versions 2 and 3): virtual size, backing and data files, feature bits.

use super::{be_u32, be_u64, byte, Format, Region};

/// QEMU qcow2 (and v1, which the version check rejects). Big-endian header:
/// magic `QFI\xfb`, version @4, backing-file offset @8, size @24,
/// incompatible-feature bits @72 (v3).
#[derive(Debug)]
pub(super) struct Qcow2 {
    header: Region,
}

impl Default for Qcow2 {
    fn default() -> Self {
        Qcow2 {
            header: Region::new(0, 512),
        }
    }
}

impl Qcow2 {
    const FEATURES: usize = 0x48;
}

impl Format for Qcow2 {
    fn name(&self) -> &'static str {
        "qcow2"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.header.capture(chunk, start);
        Ok(())
    }
    fn matches(&self) -> bool {
        self.header.complete() && self.header.data.starts_with(b"QFI\xfb")
    }
    fn complete(&self) -> bool {
        self.header.complete()
    }
    fn virtual_size(&self, _: u64) -> u64 {
        if self.matches() {
            be_u64(&self.header.data, 24)
        } else {
            0
        }
    }
    fn safety_failures(&self) -> Vec<String> {
        let h = &self.header.data;
        let mut failures = Vec::new();
        if be_u64(h, 8) != 0 {
            failures.push("Image has a backing file".to_owned());
        }
        // Incompatible feature bit 2: external data file.
        if byte(h, Self::FEATURES + 7) & 0x04 != 0 {
            failures.push("Image has data_file set".to_owned());
        }
        match be_u32(h, 4) {
            2 => {}
            3 => {
                // Only bits 0..=3 (dirty, corrupt, data file, compression) are known.
                let unknown = (0..8).any(|i| {
                    let allowed = if i == 7 { 0x0f } else { 0x00 };
                    byte(h, Self::FEATURES + i) & !allowed != 0
                });
                if unknown {
                    failures.push("Unknown QCOW2 features found".to_owned());
                }
            }
            _ => failures.push("Unsupported qcow2 version".to_owned()),
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use crate::store::inspect::inspect_bytes;
    use crate::store::inspect::tests::qcow2_image;

    #[test]
    fn qcow2_safety_checks() {
        let failed = Err("Image failed safety checks".to_owned());
        let cases = [
            (
                "clean v3",
                qcow2_image(3, 1 << 20, 0, 0, 512),
                Ok(Some(1 << 20)),
            ),
            (
                "known feature bits",
                qcow2_image(3, 1 << 20, 0, 0b1011, 512),
                Ok(Some(1 << 20)),
            ),
            (
                "backing file",
                qcow2_image(3, 1 << 20, 0x200, 0, 512),
                failed.clone(),
            ),
            (
                "data file",
                qcow2_image(3, 1 << 20, 0, 0b100, 512),
                failed.clone(),
            ),
            (
                "unknown feature",
                qcow2_image(3, 1 << 20, 0, 1 << 4, 512),
                failed.clone(),
            ),
            (
                "high unknown feature",
                qcow2_image(3, 1 << 20, 0, 1 << 60, 512),
                failed.clone(),
            ),
            ("v1", qcow2_image(1, 1 << 20, 0, 0, 512), failed.clone()),
            (
                "v2 ignores feature bytes",
                qcow2_image(2, 1 << 20, 0, 1 << 60, 512),
                Ok(Some(1 << 20)),
            ),
        ];
        for (label, data, want) in cases {
            assert_eq!(inspect_bytes(&data).check("qcow2", true), want, "{label}");
            // Claiming raw does not bypass the checks of what the data really is.
            let raw_want = want.map(|_| Some(data.len() as u64));
            assert_eq!(
                inspect_bytes(&data).check("raw", false),
                raw_want,
                "{label} as raw"
            );
        }
    }
}
