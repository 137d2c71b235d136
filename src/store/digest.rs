//! What every store computes on the way while image data streams in: size, MD5 (`checksum`),
//! the configured `os_hash` and, for `bare` images, Glance's format inspection. One
//! implementation so that all stores report identical values for identical bytes.

use md5::{Digest, Md5};

use super::inspect::{FormatRules, Inspector};
use super::{HashAlgo, Hasher, StoreError, StoredData};

/// Running digests of one upload.
pub(crate) struct DataDigest {
    algo: HashAlgo,
    md5: Md5,
    hasher: Hasher,
    /// The inspector with the `disk_format` and the `[image_format]` rules, when inspecting.
    inspect: Option<(Inspector, String, FormatRules)>,
    size: u64,
}

impl DataDigest {
    /// `inspect`: `(disk_format, rules)` for `bare` containers (see `FsStore::put`), `None` to
    /// skip inspection.
    pub(crate) fn new(algo: HashAlgo, inspect: Option<(String, FormatRules)>) -> Self {
        DataDigest {
            algo,
            md5: Md5::new(),
            hasher: Hasher::new(algo),
            inspect: inspect.map(|(format, rules)| (Inspector::new(), format, rules)),
            size: 0,
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        self.md5.update(chunk);
        self.hasher.update(chunk);
        if let Some((i, _, _)) = self.inspect.as_mut() {
            i.feed(chunk);
        }
        self.size += chunk.len() as u64;
    }

    /// Bytes seen so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The format check (an [`StoreError::InvalidImageData`] when it fails), then the values.
    pub(crate) fn finish(self) -> Result<StoredData, StoreError> {
        let virtual_size = match self.inspect {
            Some((i, format, rules)) => i
                .finish()
                .check_rules(&format, &rules)
                .map_err(StoreError::InvalidImageData)?,
            None => None,
        };
        Ok(StoredData {
            size: self.size,
            checksum: hex::encode(self.md5.finalize()),
            hash_algo: self.algo.as_str().to_owned(),
            hash_value: self.hasher.finish_hex(),
            virtual_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_do_not_depend_on_chunking() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut whole = DataDigest::new(HashAlgo::Sha256, None);
        whole.update(&data);
        let mut pieces = DataDigest::new(HashAlgo::Sha256, None);
        for c in data.chunks(7) {
            pieces.update(c);
        }
        assert_eq!(pieces.size(), 10_000);
        let (Ok(a), Ok(b)) = (whole.finish(), pieces.finish()) else {
            panic!("no inspection, no error");
        };
        assert_eq!(a, b);
        assert_eq!(a.checksum, hex::encode(Md5::digest(&data)));
        assert_eq!(a.hash_value, hex::encode(sha2::Sha256::digest(&data)));
        assert_eq!(a.hash_algo, "sha256");
    }
}
