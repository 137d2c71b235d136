//! The projects one process has checked for grants recently (`service::grants::project_seen`),
//! so that a project's requests do not each look for grants it may have been reached by. Kept
//! apart from `service::grants` because `AppState` holds it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a process trusts that a project it saw has every grant row it should have.
pub const SEEN_TTL: Duration = Duration::from_secs(600);
/// Projects remembered at most (the memory is cleared when full: a re-check is cheap).
const SEEN_MAX: usize = 100_000;

/// The projects this process has checked for grants recently.
#[derive(Default)]
pub struct Seen(Mutex<HashMap<String, Instant>>);

impl Seen {
    pub(crate) fn fresh(&self, project: &str) -> bool {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(project).is_some_and(|t| t.elapsed() < SEEN_TTL)
    }

    pub(crate) fn mark(&self, project: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= SEEN_MAX {
            seen.clear();
        }
        seen.insert(project.to_owned(), Instant::now());
    }

    /// Forget every project: a new grant must reach them on their next request.
    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn seen_projects_are_remembered_until_cleared() {
        let seen = Seen::default();
        assert!(!seen.fresh("p"));
        seen.mark("p");
        assert!(seen.fresh("p") && !seen.fresh("q"));
        // A new grant makes every project look again.
        seen.clear();
        assert!(!seen.fresh("p"));
    }
}
