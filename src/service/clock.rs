//! The service layer's clock: now, in whole seconds, as Glance's database keeps times.

use chrono::{NaiveDateTime, Timelike, Utc};

/// Now, truncated to the second.
pub fn now() -> NaiveDateTime {
    let n = Utc::now().naive_utc();
    n.with_nanosecond(0).unwrap_or(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_has_whole_seconds() {
        assert_eq!(chrono::Timelike::nanosecond(&super::now()), 0);
    }
}
