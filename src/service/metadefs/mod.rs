//! Metadata definitions use cases. Every lookup, policy check and write of one
//! request runs in one transaction, in the order Glance runs them, so the same
//! request fails with the same error.

pub mod content;
pub mod load;
pub mod namespaces;
pub mod resource_types;

use crate::app::AppState;
use crate::db::metadefs::namespaces as ns_db;
use crate::db::{DbConn, DbError};
use crate::domain::context::RequestContext;
use crate::domain::metadefs::{is_visible, msg, Namespace};
use crate::error::{Error, Msg};
use crate::policy::{Enforcer, Target};

/// How a controller reports a namespace it cannot use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Objects: a missing namespace is Glance's long text, an invisible one the short.
    LongIfMissing,
    /// Properties, tags, resource types, updates and deletes: always the short text.
    Short,
}

/// Glance's `ns_repo.get` as each controller wraps it.
pub fn load_namespace(
    conn: &mut DbConn,
    ctx: &RequestContext,
    name: &str,
    how: Missing,
) -> Result<Namespace, Error> {
    match ns_db::get(conn, name)? {
        Some(n) if is_visible(ctx, &n.owner, n.visibility.as_deref()) => Ok(n),
        Some(_) => Err(Error::not_found(msg::namespace_short_not_found(name))),
        None if how == Missing::LongIfMissing => {
            Err(Error::not_found(msg::namespace_not_found(name)))
        }
        None => Err(Error::not_found(msg::namespace_short_not_found(name))),
    }
}

/// Glance's `MetadefAPIPolicy` target: the namespace's owner and visibility,
/// or the caller's project when there is no namespace yet.
pub fn target(ctx: &RequestContext, ns: Option<&Namespace>) -> Target {
    let mut t = Target::new();
    match ns {
        Some(n) => {
            t.insert("project_id", n.owner.clone());
            t.insert("visibility", n.visibility().to_owned());
        }
        None => {
            if let Some(p) = ctx.project() {
                t.insert("project_id", p.to_owned());
            }
        }
    }
    t
}

/// `MetadefAPIPolicy._enforce`: a denial is a 404 when the caller may not even
/// see the namespace, a 403 otherwise.
pub fn enforce(
    policy: &Enforcer,
    ctx: &RequestContext,
    ns: Option<&Namespace>,
    rule: &str,
) -> Result<(), Error> {
    let t = target(ctx, ns);
    if policy.allows(rule, ctx, &t) {
        return Ok(());
    }
    if rule == "get_metadef_namespace" || !policy.allows("get_metadef_namespace", ctx, &t) {
        return Err(Error::NotFound(Msg::Default));
    }
    Err(Error::policy(rule))
}

/// A list the caller may make but whose items it may not show is empty: Glance's list
/// controllers check the show rule once, for all items or none.
pub fn shown<T>(
    policy: &Enforcer,
    ctx: &RequestContext,
    n: &Namespace,
    show_rule: &str,
    all: Vec<T>,
) -> Vec<T> {
    if enforce(policy, ctx, Some(n), show_rule).is_ok() {
        all
    } else {
        Vec::new()
    }
}

/// The item a delete removes, in Glance's order: a missing item is a 404 (`missing`) before a
/// protected namespace is a 403 (`protected`).
pub fn removable<T>(
    n: &Namespace,
    item: Option<T>,
    missing: impl FnOnce() -> String,
    protected: impl FnOnce() -> String,
) -> Result<T, Error> {
    let item = item.ok_or_else(|| Error::not_found(missing()))?;
    if n.is_protected() {
        return Err(Error::forbidden(protected()));
    }
    Ok(item)
}

/// A unique-constraint failure becomes Glance's 409 text; anything else passes.
pub fn conflict(text: impl FnOnce() -> String) -> impl FnOnce(DbError) -> Error {
    move |e| match e {
        DbError::Duplicate(_) => Error::conflict(text()),
        other => other.into(),
    }
}

/// Runs one request's work in a write transaction (`AppState::write`).
pub async fn in_tx<T, F>(state: &AppState, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &AppState) -> Result<T, Error> + Send + 'static,
{
    let st = state.clone();
    state.write(move |c| f(c, &st)).await
}

/// Runs read-only work on the blocking pool.
pub async fn read<T, F>(state: &AppState, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &AppState) -> Result<T, Error> + Send + 'static,
{
    let st = state.clone();
    state.read(move |conn| f(conn, &st)).await
}

/// Before a request body is read: the namespace is visible (`how` gives the 404's text) and
/// `rule` allows the action on it; the same checks, in the same order, as the use case makes
/// first with the body.
pub async fn authorize(
    state: &AppState,
    ctx: &RequestContext,
    ns: &str,
    how: Missing,
    rule: &'static str,
) -> Result<(), Error> {
    let (ctx, ns) = (ctx.clone(), ns.to_owned());
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, how)?;
        enforce(&st.policy, &ctx, Some(&n), rule)
    })
    .await
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;

    fn ns(owner: &str, visibility: &str) -> Namespace {
        Namespace {
            id: 1,
            namespace: "N".into(),
            display_name: None,
            description: None,
            visibility: Some(visibility.into()),
            protected: None,
            owner: owner.into(),
            created_at: NaiveDateTime::default(),
            updated_at: None,
        }
    }

    #[test]
    fn denial_is_404_unless_the_namespace_is_readable() {
        let p = Enforcer::default();
        let reader = RequestContext::new(Some("p1"), &["reader"]);
        let stranger = RequestContext::new(Some("p2"), &["member"]);
        let admin = RequestContext::new(Some("p9"), &["admin"]);
        let private = ns("p1", "private");
        let public = ns("p1", "public");
        let code = |r: Result<(), Error>| match r {
            Ok(()) => 200,
            Err(Error::Forbidden(_)) => 403,
            Err(Error::NotFound(_)) => 404,
            Err(e) => panic!("{e}"),
        };
        let cases = [
            (&reader, &private, "get_metadef_objects", 200),
            (&reader, &private, "add_metadef_object", 403),
            (&stranger, &private, "get_metadef_namespace", 404),
            (&stranger, &private, "add_metadef_object", 404),
            (&stranger, &public, "get_metadef_tags", 200),
            (&stranger, &public, "add_metadef_tag", 403),
            (&admin, &private, "delete_metadef_namespace", 200),
        ];
        for (ctx, n, rule, want) in cases {
            assert_eq!(
                code(enforce(&p, ctx, Some(n), rule)),
                want,
                "{rule} {ctx:?}"
            );
        }
        assert_eq!(
            code(enforce(&p, &reader, None, "get_metadef_namespaces")),
            200
        );
        assert_eq!(
            code(enforce(&p, &reader, None, "add_metadef_namespace")),
            403
        );
        let no_reader = RequestContext::new(Some("p1"), &["_member_"]);
        assert_eq!(
            code(enforce(&p, &no_reader, None, "get_metadef_namespaces")),
            404
        );
    }

    #[test]
    fn targets() {
        let reader = RequestContext::new(Some("p1"), &["reader"]);
        let t = target(&reader, Some(&ns("p2", "public")));
        assert_eq!(t.get("project_id").map(String::as_str), Some("p2"));
        assert_eq!(t.get("visibility").map(String::as_str), Some("public"));
        let t = target(&reader, None);
        assert_eq!(t.get("project_id").map(String::as_str), Some("p1"));
        assert!(!t.contains_key("visibility"));
    }
}
