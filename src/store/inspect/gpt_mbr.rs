//! GPT and MBR partition tables (the protective MBR and its entries).

use super::{byte, le_u16, le_u32, Format, Region};

/// MBR/GPT partitioned disk: boot signature 0xAA55, excluding FAT boot
/// sectors; the partition entries are sanity-checked.
#[derive(Debug)]
pub(super) struct Gpt {
    mbr: Region,
}

impl Default for Gpt {
    fn default() -> Self {
        Gpt {
            mbr: Region::new(0, 512),
        }
    }
}

impl Gpt {
    const PTE_START: usize = 446;

    fn check_partitions(&self) -> Option<String> {
        let d = &self.mbr.data;
        let mut valid = Vec::new();
        let mut found_gpt = false;
        for i in 0..4 {
            let pte = Self::PTE_START + 16 * i;
            if !matches!(byte(d, pte), 0x00 | 0x80) {
                return Some(format!("MBR PTE {i} has invalid boot flag"));
            }
            let os_type = byte(d, pte + 4);
            if os_type != 0 {
                valid.push(i);
            }
            if os_type == 0xee {
                found_gpt = true;
                if d.get(pte + 1..pte + 4) != Some(&[0x00, 0x02, 0x00][..]) {
                    return Some("GPT MBR has invalid start CHS".to_owned());
                }
                if le_u32(d, pte + 8) != 1 {
                    return Some("GPT MBR has invalid start LBA".to_owned());
                }
            }
        }
        if found_gpt && valid != [0] {
            return Some("GPT MBR defines invalid extra partitions".to_owned());
        }
        if valid.is_empty() {
            return Some("GPT MBR has no partitions defined".to_owned());
        }
        None
    }
}

impl Format for Gpt {
    fn name(&self) -> &'static str {
        "gpt"
    }
    fn eat(&mut self, chunk: &[u8], start: u64) -> Result<(), String> {
        self.mbr.capture(chunk, start);
        Ok(())
    }
    fn matches(&self) -> bool {
        let d = &self.mbr.data;
        // Two FATs and a fixed-disk media byte: a FAT volume boot record.
        let is_fat = byte(d, 0x10) == 2 && byte(d, 0x15) == 0xf8;
        self.mbr.complete() && le_u16(d, 510) == 0xaa55 && !is_fat
    }
    fn complete(&self) -> bool {
        self.mbr.complete()
    }
    fn safety_failures(&self) -> Vec<String> {
        self.check_partitions().into_iter().collect()
    }
}
