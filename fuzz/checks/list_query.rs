//! `GET /v2/images` query strings: `list_query::parse`, `first_link`, `next_link`.
//!
//! Input: the raw query string (without `?`), read as UTF-8 (lossily).
//!
//! Invariants beyond "no panic":
//! - a refusal is a 400;
//! - an accepted query has a limit within `[0, api_limit_max]` and a full sort order
//!   naming each column once, each tag once, and no more filters than `MAX_LIST_FILTERS`;
//! - the links are plain ASCII;
//! - when no key repeats (links keep one value per key, as Glance's do), the
//!   `next` link parses back to the same query with the new marker, and the
//!   `first` link to the same query without one; otherwise following a link is
//!   an accepted query with the new marker or a 400.

use std::collections::HashSet;

use glint::domain::list_query::{self, ListDefaults, ListQuery};
use glint::error::Error;

const LAST_ID: &str = "e1b2c3d4-0000-4000-8000-00000000000a";

fn query_of(link: &str) -> &str {
    let rest = link
        .strip_prefix("/v2/images")
        .unwrap_or_else(|| panic!("link {link:?} is not under /v2/images"));
    match rest.strip_prefix('?') {
        Some(q) => q,
        None => {
            assert!(rest.is_empty(), "link {link:?}");
            ""
        }
    }
}

fn reparse(link: &str, d: &ListDefaults) -> Result<ListQuery, Error> {
    assert!(
        link.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/?=&%+_.-~".contains(&b)),
        "link {link:?} is not plain ASCII"
    );
    list_query::parse(query_of(link), d)
}

/// WebOb splits pairs on `;` as well as `&`; form_urlencoded only on `&`.
fn has_repeated_key(raw: &str) -> bool {
    let joined = raw.replace(';', "&");
    let mut seen = HashSet::new();
    form_urlencoded::parse(joined.as_bytes()).any(|(k, _)| !seen.insert(k.into_owned()))
}

/// One input: returns normally or panics with what broke.
pub fn check(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let d = ListDefaults::default();
    let q = match list_query::parse(&raw, &d) {
        Ok(q) => q,
        Err(e) => {
            assert!(matches!(e, Error::BadRequest(_)), "{raw:?}: {e:?}");
            return;
        }
    };
    assert!(
        (0..=d.api_limit_max).contains(&q.limit),
        "limit {}",
        q.limit
    );
    assert!(!q.sort.is_empty(), "no sort order for {raw:?}");
    // Bounded work: each sort column once, each tag once, the filters within the limits.
    let once = |i: usize| !q.sort[..i].iter().any(|(k, _)| *k == q.sort[i].0);
    assert!(
        (0..q.sort.len()).all(once),
        "a repeated sort key: {:?}",
        q.sort
    );
    let tags: HashSet<_> = q.tags.iter().collect();
    assert_eq!(tags.len(), q.tags.len(), "a repeated tag: {:?}", q.tags);
    assert!(q.tags.len() + q.properties.len() <= glint::domain::limits::MAX_LIST_FILTERS);

    let params = list_query::lenient_pairs(&raw);
    let next = list_query::next_link("/v2/images", &params, LAST_ID);
    let first = list_query::first_link("/v2/images", &params);
    let (from_next, from_first) = (reparse(&next, &d), reparse(&first, &d));

    if has_repeated_key(&raw) {
        // Glance's links keep the last value of a key while parsing uses the first of
        // some (`limit`, `marker`, ...), so `?limit=1&limit=x` links to a 400; glint
        // links the same way. Following such a link must still be a clean answer.
        for r in [&from_next, &from_first] {
            if let Err(e) = r {
                assert!(matches!(e, Error::BadRequest(_)), "{e:?}");
            }
        }
        if let Ok(n) = &from_next {
            assert_eq!(n.marker.as_deref(), Some(LAST_ID), "{next}");
        }
        return;
    }
    let mut expect = q.clone();
    expect.marker = Some(LAST_ID.to_owned());
    match from_next {
        Ok(n) => assert_eq!(n, expect, "next link {next:?} of {raw:?}"),
        Err(e) => panic!("next link {next:?} of {raw:?} does not parse: {e:?}"),
    }
    expect.marker = None;
    match from_first {
        Ok(f) => assert_eq!(f, expect, "first link {first:?} of {raw:?}"),
        Err(e) => panic!("first link {first:?} of {raw:?} does not parse: {e:?}"),
    }
}
