//! Glance's four quotas under Keystone unified limits (`glance/quota/keystone.py` with
//! oslo.limit's flat enforcement model): which limit applies, when a claim is over it, and the
//! text of the 413.

use std::collections::BTreeMap;

/// Bytes of image data in the image store, in MiB (`image_size_total`).
pub const IMAGE_SIZE_TOTAL: &str = "image_size_total";
/// Bytes of image data in staging, in MiB (`image_stage_total`).
pub const IMAGE_STAGE_TOTAL: &str = "image_stage_total";
/// Images that are not killed or deleted (`image_count_total`).
pub const IMAGE_COUNT_TOTAL: &str = "image_count_total";
/// Images being uploaded, staged, imported or copied (`image_count_uploading`).
pub const IMAGE_COUNT_UPLOADING: &str = "image_count_uploading";

/// The four resources, in the order Glance's `/v2/info/usage` lists them.
pub const RESOURCES: [&str; 4] = [
    IMAGE_SIZE_TOTAL,
    IMAGE_STAGE_TOTAL,
    IMAGE_COUNT_TOTAL,
    IMAGE_COUNT_UPLOADING,
];

/// The image statuses that count as "uploading" (Glance's `_image_get_uploading_count_by_owner`);
/// an image in another live status counts too while an import copies it to a store.
pub const UPLOADING_STATUSES: [&str; 3] = ["saving", "uploading", "importing"];
/// The image statuses that hold no data and count for no quota.
pub const GONE_STATUSES: [&str; 3] = ["killed", "deleted", "pending_delete"];

/// A byte count as the size quotas take it: whole MiB, rounded down (Glance's `// units.Mi`).
pub fn mib(bytes: i64) -> i64 {
    bytes.max(0) / (1024 * 1024)
}

/// The limits Keystone holds for one service and region: the registered (default) limits and
/// one project's own limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub registered: BTreeMap<String, i64>,
    pub project: BTreeMap<String, i64>,
}

impl Limits {
    /// The limit on `resource`: the project's own, else the registered default, else 0 (a
    /// resource without a registered limit may not be used at all, as oslo.limit rules).
    /// Negative means unlimited.
    pub fn of(&self, resource: &str) -> i64 {
        self.project
            .get(resource)
            .or_else(|| self.registered.get(resource))
            .copied()
            .unwrap_or(0)
    }
}

/// One resource a claim would take over its limit (oslo.limit's `OverLimitInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Over {
    pub resource: String,
    pub limit: i64,
    pub current: i64,
    pub delta: i64,
}

/// The resources over their limit if each of `claims` (resource, current usage, delta) were
/// granted, in resource-name order: `current + delta > limit`, a negative limit never.
pub fn over_limits(limits: &Limits, claims: &[(&str, i64, i64)]) -> Vec<Over> {
    let mut claims = claims.to_vec();
    claims.sort_by_key(|c| c.0);
    claims
        .into_iter()
        .filter_map(|(resource, current, delta)| {
            let limit = limits.of(resource);
            (limit >= 0 && current.saturating_add(delta) > limit).then(|| Over {
                resource: resource.to_owned(),
                limit,
                current,
                delta,
            })
        })
        .collect()
}

/// Glance's 413 text for a claim over its limits: `LimitExceeded` wrapping oslo.limit's
/// `ProjectOverLimit` (the project as Python prints it, `None` for none).
pub fn exceeded_text(project: Option<&str>, over: &[Over]) -> String {
    let infos: Vec<String> = over
        .iter()
        .map(|o| {
            format!(
                "Resource {} is over limit of {} due to current usage {} and delta {}",
                o.resource, o.limit, o.current, o.delta
            )
        })
        .collect();
    format!(
        "The request returned a 413 Request Entity Too Large. This generally means that rate \
         limiting or a quota threshold was breached.\n\nThe response body:\n\
         Project {} is over a limit for [{}]",
        project.unwrap_or("None"),
        infos.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(registered: &[(&str, i64)], project: &[(&str, i64)]) -> Limits {
        let map = |l: &[(&str, i64)]| l.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        Limits {
            registered: map(registered),
            project: map(project),
        }
    }

    #[test]
    fn project_limit_wins_then_registered_then_zero() {
        let l = limits(
            &[(IMAGE_COUNT_TOTAL, 5), (IMAGE_SIZE_TOTAL, -1)],
            &[(IMAGE_COUNT_TOTAL, 2)],
        );
        assert_eq!(l.of(IMAGE_COUNT_TOTAL), 2);
        assert_eq!(l.of(IMAGE_SIZE_TOTAL), -1);
        assert_eq!(l.of(IMAGE_STAGE_TOTAL), 0);
    }

    #[test]
    fn the_limit_itself_is_allowed_and_negative_is_unlimited() {
        let l = limits(&[(IMAGE_COUNT_TOTAL, 2), (IMAGE_SIZE_TOTAL, -1)], &[]);
        assert!(over_limits(&l, &[(IMAGE_COUNT_TOTAL, 1, 1)]).is_empty());
        assert_eq!(
            over_limits(&l, &[(IMAGE_COUNT_TOTAL, 2, 1)]),
            [Over {
                resource: IMAGE_COUNT_TOTAL.into(),
                limit: 2,
                current: 2,
                delta: 1
            }]
        );
        // A check with delta 0 fails once usage is already over the limit.
        assert!(over_limits(&l, &[(IMAGE_COUNT_TOTAL, 2, 0)]).is_empty());
        assert_eq!(over_limits(&l, &[(IMAGE_COUNT_TOTAL, 3, 0)]).len(), 1);
        assert!(over_limits(&l, &[(IMAGE_SIZE_TOTAL, i64::MAX, i64::MAX)]).is_empty());
        // No registered limit: nothing may be used.
        assert_eq!(over_limits(&l, &[(IMAGE_STAGE_TOTAL, 0, 1)]).len(), 1);
        assert!(over_limits(&l, &[(IMAGE_STAGE_TOTAL, 0, 0)]).is_empty());
    }

    #[test]
    fn text_as_glance_sends_it() {
        let l = limits(&[(IMAGE_SIZE_TOTAL, 1), (IMAGE_COUNT_TOTAL, 0)], &[]);
        let over = over_limits(&l, &[(IMAGE_SIZE_TOTAL, 1, 3), (IMAGE_COUNT_TOTAL, 0, 1)]);
        assert_eq!(
            exceeded_text(Some("p1"), &over),
            "The request returned a 413 Request Entity Too Large. This generally means that \
             rate limiting or a quota threshold was breached.\n\nThe response body:\n\
             Project p1 is over a limit for [Resource image_count_total is over limit of 0 due \
             to current usage 0 and delta 1, Resource image_size_total is over limit of 1 due \
             to current usage 1 and delta 3]"
        );
        assert!(exceeded_text(None, &over[..1]).contains("Project None is over"));
    }

    #[test]
    fn sizes_in_whole_mib() {
        assert_eq!(mib(0), 0);
        assert_eq!(mib(1024 * 1024 - 1), 0);
        assert_eq!(mib(1024 * 1024), 1);
        assert_eq!(mib(5 * 1024 * 1024 + 7), 5);
        assert_eq!(mib(-5), 0);
    }
}
