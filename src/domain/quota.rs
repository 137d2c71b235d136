//! Glance's per-image quotas (`image_property_quota`, `image_tag_quota`,
//! `image_member_quota`): one rule and one text for all of them.

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

#[cfg(test)]
mod tests {
    use super::*;

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
