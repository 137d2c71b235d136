//! Microsoft VHDX: region table, metadata region and its Virtual Disk Size item.

use super::{bytes_at, le_u16, le_u32, le_u64, Format, Region};

/// A Microsoft GUID as stored on disk (first three fields little-endian).
const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// Microsoft VHDX: `vhdxfile` identity, a region table at 192 KiB pointing
/// to the metadata region, whose table points to the Virtual Disk Size item.
#[derive(Debug)]
pub(super) struct Vhdx {
    ident: Region,
    header: Region,
    metadata: Option<Region>,
    vds: Option<Region>,
}

impl Default for Vhdx {
    fn default() -> Self {
        Vhdx {
            ident: Region::new(0, 32),
            header: Region::new(192 * 1024, 64 * 1024),
            metadata: None,
            vds: None,
        }
    }
}

impl Vhdx {
    /// 8B7CA206-4790-4B9A-B8FE-575F050F886E
    pub(super) const METAREGION: [u8; 16] = guid(
        0x8B7C_A206,
        0x4790,
        0x4B9A,
        [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
    );
    /// 2FA54224-CD1B-4876-B211-5DBED83BF4B8
    pub(super) const VIRTUAL_DISK_SIZE: [u8; 16] = guid(
        0x2FA5_4224,
        0xCD1B,
        0x4876,
        [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8],
    );
    /// A table header plus at most 2047 entries of 32 bytes.
    const TABLE_MAX: usize = 2048 * 32;

    fn find_meta_region(&self) -> Result<Option<Region>, String> {
        let h = &self.header.data;
        if le_u32(h, 0) != u32::from_le_bytes(*b"regi") {
            return Err("Region signature not found".to_owned());
        }
        let count = le_u32(h, 8);
        if count >= 2048 {
            return Err(format!("Region count is {count} (limit 2047)"));
        }
        for i in 0..count as usize {
            let entry = 16 + i * 32;
            if bytes_at::<16>(h, entry) == Some(Self::METAREGION) {
                return Ok(Some(Region::new(le_u64(h, entry + 16), Self::TABLE_MAX)));
            }
        }
        Ok(None)
    }

    fn find_vds_entry(&mut self) -> Result<Option<Region>, String> {
        let Some(meta) = self.metadata.as_mut() else {
            return Ok(None);
        };
        let m = &meta.data;
        if m.len() < 32 {
            return Ok(None);
        }
        if !m.starts_with(b"metadata") {
            return Err("Invalid signature for metadata region".to_owned());
        }
        let count = usize::from(le_u16(m, 10));
        if m.len() < 32 + count * 32 {
            return Ok(None);
        }
        if count >= 2048 {
            return Err(format!("Metadata item count is {count} (limit 2047)"));
        }
        for i in 0..count {
            let entry = 32 + i * 32;
            if bytes_at::<16>(m, entry) == Some(Self::VIRTUAL_DISK_SIZE) {
                let item_offset = u64::from(le_u32(m, entry + 16));
                let item_len = (le_u32(m, entry + 20) as usize).min(Self::TABLE_MAX);
                let at = meta.offset + item_offset;
                // Enough of the table is held: stop filling it.
                meta.len = meta.data.len();
                return Ok(Some(Region::new(at, item_len)));
            }
        }
        Ok(None)
    }
}

impl Format for Vhdx {
    fn name(&self) -> &'static str {
        "vhdx"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.ident.capture(chunk, start);
        if self.ident.complete() && !self.matches() {
            return Err("no vhdxfile identity".to_owned());
        }
        self.header.capture(chunk, start);
        if let Some(r) = self.metadata.as_mut() {
            r.capture(chunk, start);
        }
        if let Some(r) = self.vds.as_mut() {
            r.capture(chunk, start);
        }
        // A newly found region may start inside this very chunk.
        if self.header.complete() && self.metadata.is_none() {
            if let Some(mut r) = self.find_meta_region()? {
                r.capture(chunk, start);
                self.metadata = Some(r);
            }
        }
        if self.metadata.is_some() && self.vds.is_none() {
            if let Some(mut r) = self.find_vds_entry()? {
                r.capture(chunk, start);
                self.vds = Some(r);
            }
        }
        Ok(())
    }
    fn matches(&self) -> bool {
        self.ident.data.starts_with(b"vhdxfile")
    }
    fn complete(&self) -> bool {
        self.ident.complete()
            && self.header.complete()
            && self.metadata.as_ref().is_none_or(Region::complete)
            && self.vds.as_ref().is_none_or(Region::complete)
    }
    fn virtual_size(&self, _: u64) -> u64 {
        match &self.vds {
            Some(r) if r.complete() && r.data.len() == 8 => le_u64(&r.data, 0),
            _ => 0,
        }
    }
}
