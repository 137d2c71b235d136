//! VMware VMDK: the sparse header and its embedded (or stand-alone) text descriptor.

use crate::domain::python::is_ascii_space;

use super::{bytes_at, le_u32, le_u64, Format, Region, Tail};

/// VMware VMDK. Accepted subformats are the single-file `monolithicSparse` and
/// `streamOptimized`: a little-endian sparse header (`KDMV`, capacity in
/// sectors @12, descriptor sector/length @28/@36, grain directory @56) and a
/// text descriptor at 0x200 whose extents must not name other files. A text-only
/// descriptor file (no `KDMV`) is recognised too, and refused by the checks.
#[derive(Debug)]
pub(super) struct Vmdk {
    header: Option<Region>,
    header_parsed: bool,
    descriptor: Region,
    descriptor_parsed: bool,
    footer: Option<Tail>,
    desc_text: Option<String>,
    vmdk_type: Option<String>,
}

impl Default for Vmdk {
    fn default() -> Self {
        Vmdk {
            header: Some(Region::at_least(0, 512, Self::MIN_SPARSE_HEADER)),
            header_parsed: false,
            // Until a sparse header says otherwise, the descriptor may be the file itself.
            descriptor: Region::at_least(0, Self::DESC_MAX_SIZE, 4),
            descriptor_parsed: false,
            footer: None,
            desc_text: None,
            vmdk_type: None,
        }
    }
}

struct SparseHeader {
    signature: [u8; 4],
    version: u32,
    desc_sector: u64,
    desc_sectors: u64,
    gd_offset: u64,
}

impl SparseHeader {
    fn parse(d: &[u8]) -> Self {
        SparseHeader {
            signature: bytes_at(d, 0).unwrap_or_default(),
            version: le_u32(d, 4),
            desc_sector: le_u64(d, 28),
            desc_sectors: le_u64(d, 36),
            gd_offset: le_u64(d, 56),
        }
    }
}

impl Vmdk {
    const DESC_OFFSET: u64 = 0x200;
    const DESC_MAX_SIZE: usize = (1 << 20) - 1;
    const GD_AT_END: u64 = u64::MAX;
    const MIN_SPARSE_HEADER: usize = 64;
    const FOOTER_LEN: usize = 1536;
    const MARKER_EOS: u32 = 0;
    const MARKER_FOOTER: u32 = 3;
    const SUPPORTED: [&'static str; 2] = ["monolithicsparse", "streamoptimized"];

    fn parse_header(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        let Some(h) = self.header.as_ref() else {
            return Ok(());
        };
        let hdr = SparseHeader::parse(&h.data);
        if &hdr.signature != b"KDMV" {
            if h.data.iter().all(|&b| is_python_text(b)) {
                // Possibly a text-only descriptor file: judge it by its text.
                self.header = None;
                return Ok(());
            }
            return Err("Signature KDMV not found".to_owned());
        }
        if !(1..=3).contains(&hdr.version) {
            return Err(format!("Unsupported format version {}", hdr.version));
        }
        if hdr.gd_offset == Self::GD_AT_END && self.footer.is_none() {
            // The real header is in a footer, which a stream only sees at its end.
            let mut tail = Tail::new(Self::FOOTER_LEN);
            tail.capture(chunk);
            self.footer = Some(tail);
        }
        if hdr.desc_sector.checked_mul(512) != Some(Self::DESC_OFFSET) {
            return Err("Wrong descriptor location".to_owned());
        }
        if self.descriptor.offset == 0 {
            let size = hdr
                .desc_sectors
                .saturating_mul(512)
                .min(Self::DESC_MAX_SIZE as u64);
            let mut desc = Region::new(Self::DESC_OFFSET, size as usize);
            desc.capture(chunk, start);
            self.descriptor = desc;
            self.descriptor_parsed = false;
        }
        Ok(())
    }

    fn parse_descriptor(&mut self) {
        let data = &self.descriptor.data;
        let text = match data.iter().position(|&b| b == 0) {
            Some(nul) => &data[..nul],
            None => &data[..],
        };
        if !text.is_ascii() {
            tracing::debug!("VMDK descriptor is not ASCII");
            return;
        }
        let text = String::from_utf8_lossy(text).to_ascii_lowercase();
        let key = "createtype=\"";
        let vmdk_type = text
            .find(key)
            .map(|i| &text[i + key.len()..])
            .and_then(|rest| {
                rest.find('"')
                    .filter(|&n| n < 64)
                    .map(|n| rest[..n].to_owned())
            })
            .unwrap_or_else(|| "formatnotfound".to_owned());
        self.vmdk_type = Some(vmdk_type);
        self.desc_text = Some(text);
    }

    fn supported(&self) -> bool {
        self.vmdk_type
            .as_deref()
            .is_some_and(|t| Self::SUPPORTED.contains(&t))
    }

    fn check_descriptor(&self) -> Option<&'static str> {
        let text = match self.desc_text.as_deref() {
            Some(t) if !t.is_empty() => t,
            _ => return Some("No descriptor found"),
        };
        if !self.supported() {
            return Some("Unsupported subformat");
        }
        let mut extents = Vec::new();
        for line in text
            .split('\n')
            .map(|l| l.trim_matches(|c: char| u8::try_from(c).is_ok_and(is_ascii_space)))
        {
            if line.is_empty() || line.starts_with('#') || line.starts_with("ddb") {
                continue;
            }
            let is_field = line
                .split_once('=')
                .is_some_and(|(key, _)| !key.contains(' '));
            if is_field {
                continue;
            }
            let access = line.split(' ').next().unwrap_or_default();
            if ["rw", "rdonly", "noaccess"].contains(&access) {
                extents.push(line);
            } else {
                return Some("Invalid VMDK descriptor data");
            }
        }
        if extents.iter().any(|e| e.contains('/')) {
            return Some("Invalid extent filenames found");
        }
        if extents.is_empty() {
            return Some("No extents found");
        }
        None
    }

    fn check_footer(&self, footer: &Tail) -> Option<&'static str> {
        let header = self
            .header
            .as_ref()
            .map(|h| h.data.as_slice())
            .unwrap_or_default();
        let h = SparseHeader::parse(header);
        let f = SparseHeader::parse(footer.data.get(512..).unwrap_or_default());
        if h.signature != f.signature {
            return Some("Header and footer signature do not match");
        }
        if h.version != f.version {
            return Some("Header and footer versions do not match");
        }
        if (h.desc_sector, h.desc_sectors) != (f.desc_sector, f.desc_sectors) {
            return Some("Footer specifies a different descriptor than header");
        }
        if f.gd_offset == Self::GD_AT_END {
            return Some("Footer indicates another footer");
        }
        let marker_ok = |m: &[u8], want_type: u32, want_zero_val: bool| {
            (!want_zero_val || le_u64(m, 0) == 0)
                && le_u32(m, 8) == 0
                && le_u32(m, 12) == want_type
                && m.get(16..512)
                    .is_some_and(|pad| pad.iter().all(|&b| b == 0))
        };
        let d = &footer.data;
        if !marker_ok(d.get(..512).unwrap_or_default(), Self::MARKER_FOOTER, false) {
            return Some("Footer marker is invalid");
        }
        if !marker_ok(d.get(1024..).unwrap_or_default(), Self::MARKER_EOS, true) {
            return Some("End-of-stream marker is invalid");
        }
        None
    }
}

/// Python's `str.isprintable() or str.isspace()` for one ASCII byte.
fn is_python_text(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) || is_ascii_space(b)
}

impl Format for Vmdk {
    fn subformat(&self) -> Option<&str> {
        self.vmdk_type.as_deref()
    }

    fn name(&self) -> &'static str {
        "vmdk"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        if let Some(h) = self.header.as_mut() {
            h.capture(chunk, start);
        }
        self.descriptor.capture(chunk, start);
        if let Some(t) = self.footer.as_mut() {
            t.capture(chunk);
        }
        if !self.header_parsed && self.header.as_ref().is_some_and(Region::complete) {
            self.header_parsed = true;
            if let Err(e) = self.parse_header(chunk, start) {
                // Not a VMDK: the text kept as a possible descriptor is useless.
                self.descriptor.data = Vec::new();
                return Err(e);
            }
        }
        if !self.descriptor_parsed && self.descriptor.complete() {
            self.descriptor_parsed = true;
            self.parse_descriptor();
        }
        Ok(())
    }
    fn finish(&mut self) {
        if let Some(t) = self.footer.as_mut() {
            t.finished = true;
        }
    }
    fn matches(&self) -> bool {
        match &self.header {
            Some(h) => h.data.starts_with(b"KDMV"),
            None => self
                .vmdk_type
                .as_deref()
                .is_some_and(|t| t != "formatnotfound"),
        }
    }
    fn complete(&self) -> bool {
        self.header.as_ref().is_none_or(Region::complete)
            && self.descriptor.complete()
            && self.footer.as_ref().is_none_or(Tail::complete)
    }
    fn virtual_size(&self, _: u64) -> u64 {
        let has_text = self.desc_text.as_deref().is_some_and(|t| !t.is_empty());
        match &self.header {
            Some(h) if has_text && self.supported() => le_u64(&h.data, 12).saturating_mul(512),
            _ => 0,
        }
    }
    fn safety_failures(&self) -> Vec<String> {
        let mut failures: Vec<String> = self
            .check_descriptor()
            .into_iter()
            .map(Into::into)
            .collect();
        if let Some(footer) = &self.footer {
            failures.extend(self.check_footer(footer).map(Into::into));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use crate::store::inspect::inspect_bytes;

    #[test]
    fn text_vmdk_descriptor_is_recognised_and_refused() {
        let text = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"other.vmdk\" 0\n";
        let ins = inspect_bytes(text.as_bytes());
        assert_eq!(ins.detected().as_deref(), Ok("vmdk"));
        assert_eq!(
            ins.check("vmdk", true),
            Err("Image failed safety checks".to_owned())
        );
        // Plain text without createType stays raw.
        assert_eq!(
            inspect_bytes(&b"just text\n".repeat(100))
                .detected()
                .as_deref(),
            Ok("raw")
        );
    }
}
