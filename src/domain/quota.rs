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

/// Glance's `StorageQuotaFull`: data of `size` bytes (`None`: not known) does not fit the
/// `remaining` bytes. Raised while the data is read, Glance gives it no arguments and its text
/// stays unformatted (`remaining: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageQuotaFull {
    pub size: Option<u64>,
    pub remaining: Option<i128>,
}

impl std::fmt::Display for StorageQuotaFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.remaining {
            None => f.write_str(
                "The size of the data %(image_size)s will exceed the limit. \
                 %(remaining)s bytes remaining.",
            ),
            Some(remaining) => {
                let size = self
                    .size
                    .map_or_else(|| "None".to_owned(), |s| s.to_string());
                write!(
                    f,
                    "The size of the data {size} will exceed the limit. {remaining} bytes remaining."
                )
            }
        }
    }
}

/// Glance's `check_quota` with `usage` bytes stored by the owner already: the bytes data of
/// `size` (`None`: not known yet) may take, or why it may not. Data of unknown size is refused
/// only when nothing is left; the caller limits what it reads to the answer.
pub fn check_storage(quota: u64, usage: u64, size: Option<u64>) -> Result<u64, StorageQuotaFull> {
    let remaining = i128::from(quota) - i128::from(usage);
    let fits = match size {
        None => remaining > 0,
        Some(s) => i128::from(s) <= remaining,
    };
    if fits {
        Ok(u64::try_from(remaining).unwrap_or(0))
    } else {
        Err(StorageQuotaFull {
            size,
            remaining: Some(remaining),
        })
    }
}

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
        assert_eq!(check_storage(100, 40, Some(60)), Ok(60));
        assert_eq!(check_storage(100, 40, None), Ok(60));
        let full = check_storage(100, 40, Some(61)).unwrap_err();
        assert_eq!(
            full.to_string(),
            "The size of the data 61 will exceed the limit. 60 bytes remaining."
        );
        // Lowered below what is stored: negative, and data of unknown size is refused too.
        let full = check_storage(10, 25, None).unwrap_err();
        assert_eq!(
            full.to_string(),
            "The size of the data None will exceed the limit. -15 bytes remaining."
        );
        assert!(check_storage(10, 10, None).is_err());
        assert_eq!(check_storage(10, 10, Some(0)), Ok(0));
        let reading = StorageQuotaFull {
            size: None,
            remaining: None,
        };
        assert_eq!(
            reading.to_string(),
            "The size of the data %(image_size)s will exceed the limit. %(remaining)s bytes remaining."
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
