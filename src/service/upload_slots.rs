//! How many data transfers (uploads and stages) each project has in progress in this process,
//! bounded by `max_concurrent_uploads_per_project`. Held in `AppState`.

use crate::error::Error;

/// The data uploads and stages in progress, per project, in this process
/// (`max_concurrent_uploads_per_project`).
#[derive(Debug)]
pub struct UploadSlots {
    limit: usize,
    in_progress: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// One upload's place in [`UploadSlots`]; dropping it frees the place.
#[derive(Debug)]
pub struct UploadSlot {
    slots: std::sync::Arc<UploadSlots>,
    project: String,
}

impl UploadSlots {
    pub fn new(limit: usize) -> Self {
        UploadSlots {
            limit,
            in_progress: Default::default(),
        }
    }

    /// A place for one more upload of `project`, or 413 naming the limit.
    pub fn acquire(self: &std::sync::Arc<Self>, project: &str) -> Result<UploadSlot, Error> {
        let mut map = self
            .in_progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(project.to_owned()).or_insert(0);
        if *n >= self.limit {
            return Err(Error::too_large(format!(
                "Project {project} already has {n} image uploads in progress: \
                 max_concurrent_uploads_per_project is {}. Retry when one has finished.",
                self.limit
            )));
        }
        *n += 1;
        Ok(UploadSlot {
            slots: self.clone(),
            project: project.to_owned(),
        })
    }

    /// Uploads of `project` in progress.
    pub fn in_progress(&self, project: &str) -> usize {
        self.in_progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(project)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut map = self
            .slots
            .in_progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.project) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.project);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Msg;

    #[test]
    fn upload_slots_bound_each_project() {
        let slots = std::sync::Arc::new(UploadSlots::new(2));
        let a1 = slots.acquire("a").expect("first");
        let a2 = slots.acquire("a").expect("second");
        let refused = slots.acquire("a").expect_err("third");
        assert!(
            matches!(&refused, Error::PayloadTooLarge(Msg::Explanation(m))
                if m.contains("max_concurrent_uploads_per_project is 2")),
            "{refused:?}"
        );
        // Another project has its own places.
        let b = slots.acquire("b").expect("other project");
        assert_eq!((slots.in_progress("a"), slots.in_progress("b")), (2, 1));
        drop(a1);
        assert_eq!(slots.in_progress("a"), 1);
        let a3 = slots.acquire("a").expect("a place was freed");
        drop((a2, a3, b));
        assert_eq!((slots.in_progress("a"), slots.in_progress("b")), (0, 0));
        assert!(slots.in_progress.lock().expect("lock").is_empty());
    }
}
