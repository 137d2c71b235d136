//! Keystone's answers about projects (`GET /v3/projects/{id}`: enabled, domain), remembered
//! briefly per process so that repeated shares with the same project (member creates, batches,
//! the domain checks of `cross_domain_requires_domain` and the `outside_domain` guardrails) do
//! not each ask Keystone. Bounded in entries and in time. Only an enabled project is kept: an
//! unknown or disabled one is asked again every time, so a refusal is never remembered and a
//! project created or enabled meanwhile is seen at once. A project disabled after it was kept
//! is still taken for up to `PROJECT_TTL` (its domain cannot change in Keystone).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;

use crate::auth::keystone::Project;

/// How long an enabled project's answer is kept.
pub const PROJECT_TTL: Duration = Duration::from_secs(60);
/// Projects kept at most (least recently used ones go first).
pub const PROJECT_MAX: u64 = 10_000;

pub struct ProjectCache {
    cache: Cache<String, Project>,
    lookups: AtomicU64,
}

impl Default for ProjectCache {
    fn default() -> Self {
        ProjectCache {
            cache: Cache::builder()
                .max_capacity(PROJECT_MAX)
                .time_to_live(PROJECT_TTL)
                .build(),
            lookups: AtomicU64::new(0),
        }
    }
}

impl ProjectCache {
    /// The project `id`: kept, or asked with `lookup` (Keystone) and kept when enabled.
    /// A failed lookup is not kept either: it is the caller's error.
    pub async fn project<E, F, Fut>(&self, id: &str, lookup: F) -> Result<Option<Project>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Project>, E>>,
    {
        if let Some(p) = self.cache.get(id).await {
            return Ok(Some(p));
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let found = lookup().await?;
        if let Some(p) = &found {
            self.remember(p).await;
        }
        Ok(found)
    }

    /// A project learnt another way (a batch target resolved by name): kept when enabled.
    pub async fn remember(&self, p: &Project) {
        if p.enabled {
            self.cache.insert(p.id.clone(), p.clone()).await;
        }
    }

    /// How many lookups were not answered from the cache (for tests and metrics).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn project(id: &str, enabled: bool) -> Project {
        Project {
            id: id.into(),
            name: None,
            domain_id: Some("d1".into()),
            parent_id: None,
            enabled,
        }
    }

    /// A stand-in for Keystone counting its calls.
    async fn ask(
        cache: &ProjectCache,
        calls: &Cell<u32>,
        id: &str,
        answer: Option<Project>,
    ) -> Option<Project> {
        cache
            .project(id, || async {
                calls.set(calls.get() + 1);
                Ok::<_, String>(answer)
            })
            .await
            .unwrap()
    }

    #[actix_web::test]
    async fn enabled_projects_are_kept_refusals_are_not() {
        let cache = ProjectCache::default();
        let calls = Cell::new(0);
        // An enabled project: Keystone once, however often it is shared with.
        for _ in 0..3 {
            let p = ask(&cache, &calls, "p1", Some(project("p1", true))).await;
            assert_eq!(p.unwrap().domain_id.as_deref(), Some("d1"));
        }
        assert_eq!(calls.get(), 1);
        // Unknown, then created: the second lookup sees it.
        assert!(ask(&cache, &calls, "p2", None).await.is_none());
        assert!(ask(&cache, &calls, "p2", Some(project("p2", true)))
            .await
            .is_some());
        assert_eq!(calls.get(), 3);
        // Disabled: asked each time, never taken from the cache.
        for _ in 0..2 {
            let p = ask(&cache, &calls, "p3", Some(project("p3", false))).await;
            assert!(!p.unwrap().enabled);
        }
        assert_eq!(calls.get(), 5);
        assert_eq!(cache.lookups(), 5);
        // A failed lookup is the caller's error, and nothing is kept.
        let failed = cache
            .project("p4", || async { Err::<Option<Project>, _>("down") })
            .await;
        assert_eq!(failed, Err("down"));
        assert!(ask(&cache, &calls, "p4", None).await.is_none());
        assert_eq!(calls.get(), 6);
        // Learnt from a lookup by name: no lookup by id afterwards.
        cache.remember(&project("p5", true)).await;
        assert!(ask(&cache, &calls, "p5", None).await.is_some());
        assert_eq!(calls.get(), 6);
    }
}
