//! Who can see an image: the one pure statement of Glance's visibility rule.
//! The SQL list filter in `db::images` must agree with `listed`; the fixture
//! matrix in the tests checks both against each other.

use super::context::RequestContext;
use super::image::Visibility;
use super::member::MemberStatus;

/// The facts about one image that decide visibility.
#[derive(Debug, Clone, Copy)]
pub struct VisibilityFacts<'a> {
    pub owner: Option<&'a str>,
    pub visibility: Visibility,
    /// The caller project's non-deleted member row on this image, if any.
    pub membership: Option<MemberStatus>,
}

/// `visibility=` list filter; `None` is the default (hides others' community images).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityFilter {
    Default,
    All,
    Only(Visibility),
}

/// `member_status=` list filter (default `accepted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatusFilter {
    All,
    Only(MemberStatus),
}

impl Default for MemberStatusFilter {
    fn default() -> Self {
        MemberStatusFilter::Only(MemberStatus::Accepted)
    }
}

fn is_owner(ctx: &RequestContext, owner: Option<&str>) -> bool {
    matches!((ctx.project(), owner), (Some(p), Some(o)) if p == o)
}

/// May the caller GET this image by id? Pending and rejected members may;
/// an image without an owner is seen only when public or community.
pub fn can_see(ctx: &RequestContext, img: VisibilityFacts<'_>) -> bool {
    if ctx.is_admin() {
        return true;
    }
    match img.visibility {
        Visibility::Public | Visibility::Community => true,
        Visibility::Private => is_owner(ctx, img.owner),
        Visibility::Shared => is_owner(ctx, img.owner) || img.membership.is_some(),
    }
}

/// Is this image in the caller's `GET /v2/images` result (before the other filters)?
pub fn listed(
    ctx: &RequestContext,
    img: VisibilityFacts<'_>,
    vis: VisibilityFilter,
    member_status: MemberStatusFilter,
) -> bool {
    let own = is_owner(ctx, img.owner);
    let candidate = if ctx.is_admin() {
        true
    } else if ctx.project().is_none() {
        img.visibility == Visibility::Public
    } else {
        match img.visibility {
            Visibility::Public | Visibility::Community => true,
            Visibility::Private => own,
            Visibility::Shared => {
                own || match (img.membership, member_status) {
                    (Some(_), MemberStatusFilter::All) => true,
                    (Some(s), MemberStatusFilter::Only(want)) => s == want,
                    (None, _) => false,
                }
            }
        }
    };
    candidate
        && match vis {
            VisibilityFilter::All => true,
            VisibilityFilter::Only(v) => img.visibility == v,
            VisibilityFilter::Default => img.visibility != Visibility::Community || own,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberStatus::*;
    use Visibility::*;

    fn facts(vis: Visibility, membership: Option<MemberStatus>) -> VisibilityFacts<'static> {
        VisibilityFacts {
            owner: Some("owner"),
            visibility: vis,
            membership,
        }
    }

    fn ctx(project: &str, roles: &[&str]) -> RequestContext {
        RequestContext::new(Some(project), roles)
    }

    #[test]
    fn get_by_id_table() {
        let owner = ctx("owner", &["member"]);
        let other = ctx("other", &["member"]);
        let admin = ctx("adminproj", &["admin"]);
        // (visibility, membership, owner sees, other sees, admin sees)
        let table = [
            (Public, None, true, true, true),
            (Community, None, true, true, true),
            (Private, None, true, false, true),
            (Private, Some(Accepted), true, false, true),
            (Shared, None, true, false, true),
            (Shared, Some(Pending), true, true, true),
            (Shared, Some(Rejected), true, true, true),
            (Shared, Some(Accepted), true, true, true),
        ];
        for (vis, m, o, x, a) in table {
            let f = facts(vis, m);
            assert_eq!(can_see(&owner, facts(vis, None)), o, "{vis} owner");
            assert_eq!(can_see(&other, f), x, "{vis} {m:?} other");
            assert_eq!(can_see(&admin, f), a, "{vis} admin");
        }
    }

    #[test]
    fn ownerless_image_is_hidden_unless_public() {
        let other = ctx("other", &["member"]);
        let f = |v| VisibilityFacts {
            owner: None,
            visibility: v,
            membership: None,
        };
        assert!(can_see(&other, f(Public)));
        assert!(!can_see(&other, f(Private)));
        assert!(!can_see(&other, f(Shared)));
    }

    #[test]
    fn default_list() {
        let other = ctx("other", &["member"]);
        let d = VisibilityFilter::Default;
        let ms = MemberStatusFilter::default();
        assert!(listed(&other, facts(Public, None), d, ms));
        assert!(!listed(&other, facts(Community, None), d, ms));
        assert!(!listed(&other, facts(Shared, Some(Pending)), d, ms));
        assert!(!listed(&other, facts(Shared, Some(Rejected)), d, ms));
        assert!(listed(&other, facts(Shared, Some(Accepted)), d, ms));
        assert!(!listed(&other, facts(Private, Some(Accepted)), d, ms));
        let owner = ctx("owner", &["member"]);
        for v in Visibility::ALL {
            assert!(listed(&owner, facts(*v, None), d, ms), "{v}");
        }
    }

    #[test]
    fn member_status_narrows_only_shared_with_me() {
        let other = ctx("other", &["member"]);
        let pending = MemberStatusFilter::Only(Pending);
        let shared = VisibilityFilter::Only(Shared);
        assert!(listed(
            &other,
            facts(Shared, Some(Pending)),
            shared,
            pending
        ));
        assert!(!listed(
            &other,
            facts(Shared, Some(Accepted)),
            shared,
            pending
        ));
        assert!(listed(
            &other,
            facts(Public, None),
            VisibilityFilter::Default,
            pending
        ));
        let all = MemberStatusFilter::All;
        for s in MemberStatus::ALL {
            assert!(listed(&other, facts(Shared, Some(*s)), shared, all));
        }
    }

    #[test]
    fn community_needs_asking_for() {
        let other = ctx("other", &["member"]);
        let ms = MemberStatusFilter::default();
        assert!(listed(
            &other,
            facts(Community, None),
            VisibilityFilter::All,
            ms
        ));
        assert!(listed(
            &other,
            facts(Community, None),
            VisibilityFilter::Only(Community),
            ms
        ));
    }

    #[test]
    fn admin_lists_everything_but_others_community_by_default() {
        let admin = ctx("adminproj", &["admin"]);
        let ms = MemberStatusFilter::Only(Rejected);
        assert!(listed(
            &admin,
            facts(Private, None),
            VisibilityFilter::Default,
            ms
        ));
        assert!(listed(
            &admin,
            facts(Shared, None),
            VisibilityFilter::Default,
            ms
        ));
        assert!(!listed(
            &admin,
            facts(Community, None),
            VisibilityFilter::Default,
            ms
        ));
    }

    #[test]
    fn projectless_caller_sees_public_only_in_lists() {
        let anon = RequestContext::new(None, &["reader"]);
        let ms = MemberStatusFilter::default();
        assert!(listed(
            &anon,
            facts(Public, None),
            VisibilityFilter::All,
            ms
        ));
        assert!(!listed(
            &anon,
            facts(Community, None),
            VisibilityFilter::All,
            ms
        ));
    }
}
