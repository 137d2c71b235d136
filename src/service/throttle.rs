//! "At most once per interval per key", in memory and bounded: what keeps a frequent event (a
//! token validated, an image downloaded) from becoming a database write each time it happens.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub struct Throttle {
    interval: Duration,
    /// Keys remembered at most; past it, keys whose interval has passed are forgotten, and if
    /// that is not enough, all (a few extra writes rather than unbounded memory).
    cap: usize,
    last: Mutex<HashMap<String, Instant>>,
}

impl Throttle {
    pub fn new(interval: Duration, cap: usize) -> Throttle {
        Throttle {
            interval,
            cap,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` is due now: true the first time, then not again until `interval` passed.
    pub fn due(&self, key: &str) -> bool {
        self.due_at(key, Instant::now())
    }

    fn due_at(&self, key: &str, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = last.get(key) {
            if now.saturating_duration_since(*t) < self.interval {
                return false;
            }
        }
        if last.len() >= self.cap && !last.contains_key(key) {
            last.retain(|_, t| now.saturating_duration_since(*t) < self.interval);
            if last.len() >= self.cap {
                last.clear();
            }
        }
        last.insert(key.to_owned(), now);
        true
    }

    /// Forget `key`, so its next event is due (a write that failed is tried again).
    pub fn forget(&self, key: &str) {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// The throttles of the sharing extensions' bookkeeping.
pub struct Throttles {
    /// A project's name recorded (`service::project_names`), per (project, name, domain).
    pub project_names: Throttle,
    /// A share's `last_download_at` written (`service::share_downloads`), per (image, member).
    pub downloads: Throttle,
}

impl Default for Throttles {
    fn default() -> Throttles {
        Throttles {
            project_names: Throttle::new(Duration::from_secs(3600), 10_000),
            downloads: Throttle::new(Duration::from_secs(60), 10_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_interval_per_key() {
        let t = Throttle::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        assert!(t.due_at("a", t0));
        assert!(!t.due_at("a", t0 + Duration::from_secs(59)));
        assert!(t.due_at("b", t0 + Duration::from_secs(59)));
        assert!(t.due_at("a", t0 + Duration::from_secs(60)));
        t.forget("b");
        assert!(t.due_at("b", t0 + Duration::from_secs(61)));
    }

    #[test]
    fn bounded_by_its_cap() {
        let t = Throttle::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for k in ["a", "b", "c"] {
            assert!(t.due_at(k, t0));
        }
        // Full of live keys: all are forgotten to make room; "a" is due again.
        assert!(t.due_at("d", t0));
        assert!(t.due_at("a", t0));
        assert!(t.last.lock().unwrap().len() <= 3);
        // Keys whose interval passed go first.
        let t1 = t0 + Duration::from_secs(61);
        assert!(t.due_at("e", t1));
        assert!(!t.due_at("e", t1));
    }
}
