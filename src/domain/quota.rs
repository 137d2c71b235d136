//! Glance's per-image quotas (`image_property_quota`, `image_tag_quota`,
//! `image_member_quota`): one rule and one text for all of them; and the legacy per-owner
//! storage quota (`user_storage_quota`).

/// Whether `attempted` items break `quota`; a negative quota means unlimited.
pub fn exceeded(attempted: i64, quota: i64) -> bool {
    quota >= 0 && attempted > quota
}

/// A count as the quota rule takes it (saturating, never wraps).
pub fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Glance's `*LimitExceeded` sentence for `what` (`"image tags"`, `"image properties"`,
/// `"image members for this image"`); callers prefix or suffix it as Glance does.
pub fn limit_text(what: &str, attempted: i64, quota: i64) -> String {
    format!(
        "The limit has been exceeded on the number of allowed {what}. \
         Attempted: {attempted}, Maximum: {quota}"
    )
}

/// `user_storage_quota` as Glance's `get_remaining_quota` reads it: digits, optionally followed
/// by `B`, `KB`, `MB`, `GB` or `TB` (powers of 1024), nothing else. `None`: unlimited (zero).
pub fn parse_storage_quota(v: &str) -> Result<Option<u64>, String> {
    let invalid = || {
        format!(
            "invalid value '{v}' (a number of bytes, optionally followed by B, KB, MB, GB or TB)"
        )
    };
    let digits_end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at(digits_end);
    let factor: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return Err(invalid()),
    };
    if digits.is_empty() {
        return Err(invalid());
    }
    let n: u64 = digits.parse().map_err(|_| invalid())?;
    let bytes = n.checked_mul(factor).ok_or_else(invalid)?;
    Ok((bytes > 0).then_some(bytes))
}

/// What an owner may still store under `quota` when `usage` bytes are stored already (negative
/// when the quota was lowered below the usage).
pub fn storage_remaining(quota: u64, usage: u64) -> i128 {
    i128::from(quota) - i128::from(usage)
}

/// Glance's `StorageQuotaFull` text for data of `size` bytes (`None`: unknown, Python's `None`),
/// as the 413 answer of an upload shows it.
pub fn storage_quota_full(size: Option<u64>, remaining: i128) -> String {
    let size = size.map_or_else(|| "None".to_owned(), |s| s.to_string());
    format!(
        "Image exceeds the storage quota: The size of the data {size} will exceed the limit. \
         {remaining} bytes remaining."
    )
}

/// The same answer when the limit is found while the data is read: Glance raises the exception
/// without arguments, so its text is left unformatted.
pub const STORAGE_QUOTA_FULL_WHILE_READING: &str = "Image exceeds the storage quota: The size of \
     the data %(image_size)s will exceed the limit. %(remaining)s bytes remaining.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_quota_as_glance_reads_it() {
        for (v, want) in [
            ("0", Ok(None)),
            ("0GB", Ok(None)),
            ("100", Ok(Some(100))),
            ("100B", Ok(Some(100))),
            ("1KB", Ok(Some(1024))),
            ("10MB", Ok(Some(10 << 20))),
            ("10GB", Ok(Some(10 << 30))),
            ("2TB", Ok(Some(2 << 40))),
        ] {
            assert_eq!(parse_storage_quota(v), want, "{v}");
        }
        for bad in [
            "",
            "GB",
            "10 GB",
            "10gb",
            "10G",
            "10PB",
            "-1",
            "1.5GB",
            "99999999999999999999",
        ] {
            assert!(parse_storage_quota(bad).is_err(), "{bad:?}");
        }
        assert_eq!(storage_remaining(10, 25), -15);
        assert_eq!(
            storage_quota_full(Some(100), 50),
            "Image exceeds the storage quota: The size of the data 100 will exceed the limit. 50 bytes remaining."
        );
        assert_eq!(
            storage_quota_full(None, 0),
            "Image exceeds the storage quota: The size of the data None will exceed the limit. 0 bytes remaining."
        );
    }

    #[test]
    fn negative_is_unlimited_and_the_quota_itself_is_allowed() {
        for (attempted, quota, want) in [
            (0, -1, false),
            (i64::MAX, -1, false),
            (0, 0, false),
            (1, 0, true),
            (128, 128, false),
            (129, 128, true),
            (i64::MAX, i64::MAX, false),
        ] {
            assert_eq!(exceeded(attempted, quota), want, "{attempted} {quota}");
        }
        assert_eq!(count(3), 3);
        assert_eq!(
            limit_text("image tags", 3, 2),
            "The limit has been exceeded on the number of allowed image tags. Attempted: 3, Maximum: 2"
        );
    }
}
