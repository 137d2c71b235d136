//! Reminders before a share expires (`[glint_sharing] expiry_reminders`, e.g. 7d,1d): each share
//! gets at most one `image.member.expiry_reminder` per threshold for its current `expires_at`.
//! A share that is already closer to its expiry than several thresholds gets only the shortest
//! of them (one reminder, not a burst).

use std::time::Duration;

use chrono::NaiveDateTime;

/// The threshold (seconds) to remind at now, if any: the shortest threshold not shorter than the
/// time left, unless a reminder at that threshold or a shorter one went out already. `thresholds`
/// in any order; an expired share gets none.
pub fn due(
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
    thresholds: &[Duration],
    reminded: Option<u64>,
) -> Option<u64> {
    let left = (expires_at - now).num_seconds();
    let left = u64::try_from(left).ok().filter(|l| *l > 0)?;
    let t = thresholds
        .iter()
        .map(Duration::as_secs)
        .filter(|t| *t >= left)
        .min()?;
    match reminded {
        Some(r) if r <= t => None,
        _ => Some(t),
    }
}

/// The longest threshold: shares expiring further away need no look.
pub fn horizon(thresholds: &[Duration]) -> Option<Duration> {
    thresholds.iter().max().copied()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn once_per_threshold_shortest_first_when_late() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let day = 86_400;
        let ts = [Duration::from_secs(7 * day), Duration::from_secs(day)];
        let at = |secs: i64| now + chrono::Duration::seconds(secs);
        let d = |s: u64| s as i64;
        // (seconds left, reminded before, due)
        let table = [
            (d(8 * day), None, None),
            (d(7 * day), None, Some(7 * day)),
            (d(3 * day), None, Some(7 * day)),
            (d(3 * day), Some(7 * day), None),
            (d(day), Some(7 * day), Some(day)),
            (d(day) - 1, Some(day), None),
            // Shared with less than a day left: only the 1-day reminder.
            (3600, None, Some(day)),
            (0, None, None),
            (-5, None, None),
        ];
        for (i, (left, reminded, want)) in table.into_iter().enumerate() {
            assert_eq!(due(at(left), now, &ts, reminded), want, "row {i}");
        }
        assert_eq!(due(at(60), now, &[], None), None);
        assert_eq!(horizon(&ts), Some(Duration::from_secs(7 * day)));
        assert_eq!(horizon(&[]), None);
    }
}
