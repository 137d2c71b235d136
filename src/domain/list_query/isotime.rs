//! ISO 8601 times as Glance reads them in `created_at`/`updated_at` filters:
//! `oslo_utils.timeutils.parse_isotime` (the `iso8601` package's regex, matched
//! here by hand in the regex's order) and `normalize_time`. Pure.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};

/// `oslo_utils.timeutils.parse_isotime` (the `iso8601` package): the local
/// time and its UTC offset in minutes (UTC when the string has no zone).
pub(super) fn parse_isotime(s: &str) -> Option<(NaiveDateTime, i64)> {
    // Python's `$` also matches before one final newline.
    let s = s.strip_suffix('\n').unwrap_or(s).as_bytes();
    let m = iso_match(s)?;
    let num = |r: (usize, usize)| -> u32 {
        s[r.0..r.1]
            .iter()
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
    };
    let year = i32::try_from(num(m.year)).ok()?;
    if year < 1 {
        return None;
    }
    let month = m.month.map_or(1, num);
    let day = m.day.map_or(1, num);
    let (mut hour, mut minute, mut second, mut micro, mut offset) = (0, 0, 0, 0, 0);
    if let Some(t) = m.time {
        hour = num(t.hour);
        minute = t.minute.map_or(0, num);
        second = t.second.map_or(0, num);
        // int(Decimal("0.<digits>") * 10**6): the first six digits, zero-padded.
        micro = t.fraction.map_or(0, |(a, b)| {
            (0..6).fold(0, |acc, k| {
                let d = if a + k < b {
                    u32::from(s[a + k] - b'0')
                } else {
                    0
                };
                acc * 10 + d
            })
        });
        if let Some(tz) = t.tz {
            let h = i64::from(num(tz.hour));
            let mi = tz.minute.map_or(0, |r| i64::from(num(r)));
            let total = h * 60 + mi;
            // datetime.timezone needs |offset| < 24h.
            if total >= 24 * 60 {
                return None;
            }
            offset = if tz.negative { -total } else { total };
        }
    }
    let dt = NaiveDate::from_ymd_opt(year, month, day)?
        .and_hms_micro_opt(hour, minute, second, micro)?;
    Some((dt, offset))
}

/// `timeutils.normalize_time`: to naive UTC, within Python's years 1..=9999.
pub(super) fn normalize_time(local: NaiveDateTime, offset_min: i64) -> Option<NaiveDateTime> {
    let utc = local.checked_sub_signed(TimeDelta::try_minutes(offset_min)?)?;
    (1..=9999).contains(&utc.year()).then_some(utc)
}

type Span = (usize, usize);

struct IsoMatch {
    year: Span,
    month: Option<Span>,
    day: Option<Span>,
    time: Option<IsoTime>,
}

struct IsoTime {
    hour: Span,
    minute: Option<Span>,
    second: Option<Span>,
    fraction: Option<Span>,
    tz: Option<IsoTz>,
}

struct IsoTz {
    negative: bool,
    hour: Span,
    minute: Option<Span>,
}

fn digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// `iso8601.ISO8601_REGEX.match(s)` with `$` at the end, trying alternatives
/// in the regex's order so the same groups win.
fn iso_match(s: &[u8]) -> Option<IsoMatch> {
    if !(0..4).all(|i| digit(s, i)) {
        return None;
    }
    let year = (0, 4);
    if s.len() == 4 {
        return Some(IsoMatch {
            year,
            month: None,
            day: None,
            time: None,
        });
    }
    // `-M{1,2}` (two digits first) | `MM` not followed by the end.
    let mut months = Vec::new();
    if s.get(4) == Some(&b'-') {
        if digit(s, 5) && digit(s, 6) {
            months.push((5, 7));
        }
        if digit(s, 5) {
            months.push((5, 6));
        }
    }
    if digit(s, 4) && digit(s, 5) && s.len() != 6 {
        months.push((4, 6));
    }
    for month in months {
        let p = month.1;
        let mut days = Vec::new();
        if s.get(p) == Some(&b'-') {
            if digit(s, p + 1) && digit(s, p + 2) {
                days.push((p + 1, p + 3));
            }
            if digit(s, p + 1) {
                days.push((p + 1, p + 2));
            }
        }
        if digit(s, p) && digit(s, p + 1) {
            days.push((p, p + 2));
        }
        let found = |day, time| {
            Some(IsoMatch {
                year,
                month: Some(month),
                day,
                time,
            })
        };
        for day in days {
            if let Some(t) = iso_time(s, day.1) {
                return found(Some(day), Some(t));
            }
            if day.1 == s.len() {
                return found(Some(day), None);
            }
        }
        // The day (and time) group is optional: `YYYY-MM`.
        if p == s.len() {
            return found(None, None);
        }
    }
    None
}

/// `[ T]HH(:?MM)?(:?S{1,2}([.,]F+)?)?(Z|[-+]HH:?(MM)?)?$` from `p`. Only the
/// minute group can usefully backtrack (`T1030.5` is 10:00:30.5); every other
/// choice is forced by the next character.
fn iso_time(s: &[u8], p: usize) -> Option<IsoTime> {
    if !matches!(s.get(p), Some(b' ' | b'T')) || !digit(s, p + 1) || !digit(s, p + 2) {
        return None;
    }
    let hour = (p + 1, p + 3);
    let q = p + 3;
    let mq = if s.get(q) == Some(&b':') { q + 1 } else { q };
    if digit(s, mq) && digit(s, mq + 1) {
        if let Some(t) = iso_time_rest(s, hour, Some((mq, mq + 2)), mq + 2) {
            return Some(t);
        }
    }
    iso_time_rest(s, hour, None, q)
}

fn iso_time_rest(s: &[u8], hour: Span, minute: Option<Span>, q: usize) -> Option<IsoTime> {
    let mut r = q;
    let (mut second, mut fraction) = (None, None);
    let sq = if s.get(q) == Some(&b':') { q + 1 } else { q };
    if digit(s, sq) {
        let end = if digit(s, sq + 1) { sq + 2 } else { sq + 1 };
        second = Some((sq, end));
        r = end;
        if matches!(s.get(r), Some(b'.' | b',')) && digit(s, r + 1) {
            let mut e = r + 1;
            while digit(s, e) {
                e += 1;
            }
            fraction = Some((r + 1, e));
            r = e;
        }
    }
    let mut tz = None;
    match s.get(r) {
        Some(b'Z') => r += 1,
        Some(&sign @ (b'+' | b'-')) if digit(s, r + 1) && digit(s, r + 2) => {
            let h = (r + 1, r + 3);
            r += 3;
            if s.get(r) == Some(&b':') {
                r += 1;
            }
            let m = if digit(s, r) && digit(s, r + 1) {
                r += 2;
                Some((r - 2, r))
            } else {
                None
            };
            tz = Some(IsoTz {
                negative: sign == b'-',
                hour: h,
                minute: m,
            });
        }
        _ => {}
    }
    (r == s.len()).then_some(IsoTime {
        hour,
        minute,
        second,
        fraction,
        tz,
    })
}
