//! Query parameters of the metadefs list calls, checked in Glance's order with its texts.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::{MetadefTag, Namespace};
use crate::domain::limits::MAX_LIST_IN_VALUES;
use crate::domain::list_query::{self, decode_pairs};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// Namespace columns a list may be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsSortKey {
    Namespace,
    DisplayName,
    Description,
    Visibility,
    Protected,
    Owner,
    CreatedAt,
    UpdatedAt,
    Id,
}

impl NsSortKey {
    fn parse(s: &str) -> Option<NsSortKey> {
        Some(match s {
            "namespace" => NsSortKey::Namespace,
            "display_name" => NsSortKey::DisplayName,
            "description" => NsSortKey::Description,
            "visibility" => NsSortKey::Visibility,
            "protected" => NsSortKey::Protected,
            "owner" => NsSortKey::Owner,
            "created_at" => NsSortKey::CreatedAt,
            "updated_at" => NsSortKey::UpdatedAt,
            "id" => NsSortKey::Id,
            _ => return None,
        })
    }
}

/// `GET /v2/metadefs/namespaces`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceQuery {
    pub limit: i64,
    pub marker: Option<String>,
    /// Sorted by this key, then `created_at`, then `id`, all in `sort_dir`.
    pub sort_key: NsSortKey,
    pub sort_dir: SortDir,
    pub visibility: Option<String>,
    pub resource_types: Option<Vec<String>>,
    /// The decoded parameters in request order, for the paging links.
    pub params: Vec<(String, String)>,
}

/// A parameter's value the way WebOb's `params.get` sees it (the last one wins).
fn last<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn sort_dir(pairs: &[(String, String)]) -> Result<SortDir> {
    match last(pairs, "sort_dir").unwrap_or("desc") {
        "asc" => Ok(SortDir::Asc),
        "desc" => Ok(SortDir::Desc),
        other => Err(Error::bad_request(format!(
            "Invalid sort direction: {other}"
        ))),
    }
}

fn int_limit(s: &str) -> Result<i64> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| Error::bad_request("limit param must be an integer"))
}

fn check_visibility(pairs: &[(String, String)], allowed: &[&str]) -> Result<Option<String>> {
    match last(pairs, "visibility") {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
        Some(v) => Err(Error::bad_request(format!("Invalid visibility value: {v}"))),
    }
}

pub fn namespaces(raw: &str, default_limit: i64, max_limit: i64) -> Result<NamespaceQuery> {
    let pairs = decode_pairs(raw, false)?;
    let limit = match last(&pairs, "limit") {
        None => default_limit,
        Some(s) => int_limit(s)?,
    }
    .min(max_limit);
    let sort_dir = sort_dir(&pairs)?;
    let visibility = check_visibility(&pairs, &["public", "private"])?;
    if limit < 0 {
        return Err(Error::bad_request("limit param must be positive"));
    }
    let key = last(&pairs, "sort_key").unwrap_or("created_at");
    // Glance lets an unknown key reach the database and fail there (500).
    let sort_key = NsSortKey::parse(key)
        .ok_or_else(|| Error::bad_request(format!("Invalid sort key: {key}")))?;
    // One condition per distinct name, and no more than an `in:` list may hold.
    let resource_types = match last(&pairs, "resource_types") {
        None => None,
        Some(s) => {
            let mut seen = HashSet::new();
            let names: Vec<String> = s
                .split(',')
                .filter(|n| seen.insert(*n))
                .map(str::to_owned)
                .collect();
            if names.len() > MAX_LIST_IN_VALUES {
                return Err(Error::bad_request(format!(
                    "Too many resource types: {} were given, at most {MAX_LIST_IN_VALUES} \
                     are allowed in one request.",
                    names.len()
                )));
            }
            Some(names)
        }
    };
    Ok(NamespaceQuery {
        limit,
        marker: last(&pairs, "marker").map(str::to_owned),
        sort_key,
        sort_dir,
        visibility,
        resource_types,
        params: pairs,
    })
}

const NAMESPACES: &str = "/v2/metadefs/namespaces";

/// The list's `first` link: every parameter but `marker`, as Python's `dict` keeps them.
pub fn first_link(params: &[(String, String)]) -> String {
    list_query::first_link(NAMESPACES, params)
}

/// The list's `next` link: the same parameters with the last namespace as `marker`.
pub fn next_link(params: &[(String, String)], last_namespace: &str) -> String {
    list_query::next_link(NAMESPACES, params, last_namespace)
}

/// `GET .../tags`: paging is optional (no default limit).
#[derive(Debug, Clone, PartialEq)]
pub struct TagQuery {
    pub limit: Option<i64>,
    pub marker: Option<String>,
    pub sort_key: String,
    pub sort_dir: SortDir,
}

pub fn tags(raw: &str) -> Result<TagQuery> {
    let pairs = decode_pairs(raw, false)?;
    let sort_dir = sort_dir(&pairs)?;
    check_visibility(&pairs, &["public", "private", "shared"])?;
    let sort_key = last(&pairs, "sort_key").unwrap_or("created_at");
    if !matches!(sort_key, "name" | "created_at" | "updated_at" | "id") {
        return Err(Error::bad_request(format!("Invalid sort key: {sort_key}")));
    }
    let limit = match last(&pairs, "limit") {
        None | Some("") => None,
        Some(s) => {
            let n = int_limit(s)?;
            if n < 0 {
                return Err(Error::bad_request("limit param must be positive"));
            }
            // Glance treats 0 like no limit (`if limit:`).
            (n > 0).then_some(n)
        }
    };
    Ok(TagQuery {
        limit,
        marker: last(&pairs, "marker")
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        sort_key: sort_key.to_owned(),
        sort_dir,
    })
}

/// `GET .../objects`: parameters are checked, but Glance returns every object.
pub fn objects(raw: &str) -> Result<()> {
    let pairs = decode_pairs(raw, false)?;
    sort_dir(&pairs)?;
    check_visibility(&pairs, &["public", "private", "shared"])?;
    if let Some(s) = last(&pairs, "limit") {
        if int_limit(s)? <= 0 {
            return Err(Error::bad_request("limit param must be positive"));
        }
    }
    Ok(())
}

/// Namespace show checks a `visibility` parameter like the list does.
pub fn show_visibility(raw: &str) -> Result<()> {
    let pairs = decode_pairs(raw, false)?;
    check_visibility(&pairs, &["public", "private"]).map(|_| ())
}

/// `resource_type` on namespace and property show.
pub fn resource_type(raw: &str) -> Result<Option<String>> {
    let pairs = decode_pairs(raw, false)?;
    Ok(last(&pairs, "resource_type")
        .filter(|s| !s.is_empty())
        .map(str::to_owned))
}

fn ns_cmp(key: NsSortKey, a: &Namespace, b: &Namespace) -> Ordering {
    let first = match key {
        NsSortKey::Namespace => a.namespace.cmp(&b.namespace),
        NsSortKey::DisplayName => a.display_name.cmp(&b.display_name),
        NsSortKey::Description => a.description.cmp(&b.description),
        NsSortKey::Visibility => a.visibility.cmp(&b.visibility),
        NsSortKey::Protected => a.protected.cmp(&b.protected),
        NsSortKey::Owner => a.owner.cmp(&b.owner),
        NsSortKey::CreatedAt => Ordering::Equal,
        NsSortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        NsSortKey::Id => a.id.cmp(&b.id),
    };
    first
        .then_with(|| a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

fn directed(o: Ordering, dir: SortDir) -> Ordering {
    match dir {
        SortDir::Asc => o,
        SortDir::Desc => o.reverse(),
    }
}

/// oslo.db's `paginate_query`: order by (sort_key, created_at, id) in one
/// direction, start after the marker, take `limit`.
pub fn page_namespaces(
    mut all: Vec<Namespace>,
    q: &NamespaceQuery,
    marker: Option<&Namespace>,
) -> Vec<Namespace> {
    all.sort_by(|a, b| directed(ns_cmp(q.sort_key, a, b), q.sort_dir));
    all.into_iter()
        .filter(|n| {
            marker
                .is_none_or(|m| directed(ns_cmp(q.sort_key, n, m), q.sort_dir) == Ordering::Greater)
        })
        .take(usize::try_from(q.limit).unwrap_or(0))
        .collect()
}

fn tag_cmp(key: &str, a: &MetadefTag, b: &MetadefTag) -> Ordering {
    let first = match key {
        "name" => a.name.cmp(&b.name),
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        "id" => a.id.cmp(&b.id),
        _ => Ordering::Equal,
    };
    first
        .then_with(|| a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// The same paging for tags, whose marker is a tag name.
pub fn page_tags(
    mut all: Vec<MetadefTag>,
    q: &TagQuery,
    marker: Option<&MetadefTag>,
) -> Vec<MetadefTag> {
    all.sort_by(|a, b| directed(tag_cmp(&q.sort_key, a, b), q.sort_dir));
    all.into_iter()
        .filter(|t| {
            marker.is_none_or(|m| {
                directed(tag_cmp(&q.sort_key, t, m), q.sort_dir) == Ordering::Greater
            })
        })
        .take(
            q.limit
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(usize::MAX),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn ns(id: i32, name: &str, secs: i64) -> Namespace {
        Namespace {
            id,
            namespace: name.into(),
            display_name: None,
            description: None,
            visibility: None,
            protected: None,
            owner: "p".into(),
            created_at: NaiveDateTime::default() + chrono::Duration::seconds(secs),
            updated_at: None,
        }
    }

    #[test]
    fn namespace_paging() {
        let all = vec![ns(1, "b", 10), ns(2, "a", 20), ns(3, "c", 20)];
        let names = |v: Vec<Namespace>| v.into_iter().map(|n| n.namespace).collect::<Vec<_>>();
        let q = namespaces("limit=2", 25, 1000).unwrap_or_else(|e| panic!("{e}"));
        // created_at desc, then id desc
        assert_eq!(names(page_namespaces(all.clone(), &q, None)), ["c", "a"]);
        let m = all[1].clone();
        assert_eq!(names(page_namespaces(all.clone(), &q, Some(&m))), ["b"]);
        let q = namespaces("sort_key=namespace&sort_dir=asc", 25, 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            names(page_namespaces(all.clone(), &q, None)),
            ["a", "b", "c"]
        );
        let m = all[0].clone();
        assert_eq!(names(page_namespaces(all.clone(), &q, Some(&m))), ["c"]);
        let q = namespaces("limit=0", 25, 1000).unwrap_or_else(|e| panic!("{e}"));
        assert!(page_namespaces(all, &q, None).is_empty());
    }

    #[test]
    fn tag_paging() {
        let tag = |id: i32, name: &str| MetadefTag {
            id,
            name: name.into(),
            created_at: NaiveDateTime::default(),
            updated_at: None,
        };
        let all = vec![tag(1, "x"), tag(2, "a"), tag(3, "m")];
        let q = tags("sort_key=name&sort_dir=asc&limit=2").unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<String> = page_tags(all.clone(), &q, None)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(got, ["a", "m"]);
        let marker = all[2].clone();
        let got: Vec<String> = page_tags(all, &q, Some(&marker))
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(got, ["x"]);
    }

    fn msg(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn namespace_defaults_and_caps() {
        let q = namespaces("", 25, 1000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (q.limit, q.sort_key, q.sort_dir),
            (25, NsSortKey::CreatedAt, SortDir::Desc)
        );
        let q = namespaces("limit=5000&sort_dir=asc&sort_key=namespace", 25, 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (q.limit, q.sort_key, q.sort_dir),
            (1000, NsSortKey::Namespace, SortDir::Asc)
        );
        let q = namespaces("resource_types=A,B&visibility=public", 25, 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.resource_types, Some(vec!["A".into(), "B".into()]));
        assert_eq!(q.visibility.as_deref(), Some("public"));
        // Each name once; beyond MAX_LIST_IN_VALUES distinct names, a 400 naming the limit.
        let q = namespaces("resource_types=A,B,A,B,A", 25, 1000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.resource_types, Some(vec!["A".into(), "B".into()]));
        let names = |n: usize| {
            (0..n)
                .map(|i| format!("R{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let raw = format!("resource_types={}", names(MAX_LIST_IN_VALUES));
        assert!(namespaces(&raw, 25, 1000).is_ok());
        let raw = format!("resource_types={}", names(MAX_LIST_IN_VALUES + 1));
        assert_eq!(
            namespaces(&raw, 25, 1000).map(|_| ()),
            Err(Error::bad_request(
                "Too many resource types: 1001 were given, at most 1000 are allowed in one request."
            ))
        );
        // The links keep one value per key (the last) at its first place, in linear time.
        let many: Vec<(String, String)> = (0..20_000)
            .map(|i| (format!("k{}", i % 10_000), i.to_string()))
            .collect();
        let link = first_link(&many);
        assert!(
            link.starts_with("/v2/metadefs/namespaces?k0=10000&k1=10001&"),
            "{}",
            &link[..80]
        );
    }

    #[test]
    fn namespace_errors_in_glance_order() {
        let cases = [
            ("limit=x&sort_dir=up", "400: limit param must be an integer"),
            ("limit=-1&sort_dir=up", "400: Invalid sort direction: up"),
            (
                "limit=-1&visibility=shared",
                "400: Invalid visibility value: shared",
            ),
            ("limit=-1", "400: limit param must be positive"),
            ("sort_key=bogus", "400: Invalid sort key: bogus"),
        ];
        for (q, want) in cases {
            assert_eq!(msg(namespaces(q, 25, 1000).unwrap_err()), want, "{q}");
        }
    }

    #[test]
    fn links() {
        let q = namespaces("limit=2&marker=a&visibility=public", 25, 1000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            first_link(&q.params),
            "/v2/metadefs/namespaces?limit=2&visibility=public"
        );
        assert_eq!(
            next_link(&q.params, "OS::Glance:x y"),
            "/v2/metadefs/namespaces?limit=2&visibility=public&marker=OS%3A%3AGlance%3Ax+y"
        );
        assert_eq!(first_link(&[]), "/v2/metadefs/namespaces");
    }

    #[test]
    fn tag_and_object_queries() {
        let t = tags("limit=0&sort_dir=asc&sort_key=name").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.limit, t.sort_dir), (None, SortDir::Asc));
        assert_eq!(
            msg(tags("limit=-2").unwrap_err()),
            "400: limit param must be positive"
        );
        assert!(tags("visibility=shared").is_ok());
        assert_eq!(
            msg(objects("limit=0").unwrap_err()),
            "400: limit param must be positive"
        );
        assert!(objects("limit=3&visibility=private").is_ok());
        assert_eq!(
            resource_type("resource_type=OS::Nova::Server")
                .ok()
                .flatten()
                .as_deref(),
            Some("OS::Nova::Server")
        );
    }
}
