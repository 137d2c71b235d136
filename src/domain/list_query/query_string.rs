//! Query strings as WebOb and Python's `urllib` handle them: decoding into
//! pairs (`parse_qsl_text`), the `MultiDict` operations Glance uses on them,
//! re-encoding (`urlencode`), and the `first`/`next` links of every paged
//! collection (images, tasks, metadefs namespaces). Pure.

use std::collections::HashMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

/// A collection's `first` href: `dict(params)` (one entry per key, at its first
/// position, holding its last value) without `marker`, re-encoded as Python's
/// `urlencode` after `path` (e.g. `/v2/images`). Glance builds the links of
/// images, tasks and metadefs namespaces the same way.
pub fn first_link(path: &str, params: &[(String, String)]) -> String {
    let q = encode_pairs(&link_params(params));
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    }
}

/// A collection's `next` href: as [`first_link`], with `marker=<last>` appended last.
pub fn next_link(path: &str, params: &[(String, String)], last: &str) -> String {
    let mut kept = link_params(params);
    kept.push(("marker".to_owned(), last.to_owned()));
    format!("{path}?{}", encode_pairs(&kept))
}

/// The pairs of a raw query string for its links, read leniently (a malformed
/// `%` escape is kept, bytes that are not UTF-8 are replaced): call it after the
/// query was parsed strictly, or where Glance does not reject such a query.
pub fn lenient_pairs(raw_query: &str) -> Vec<(String, String)> {
    decode_pairs(raw_query, false).unwrap_or_default()
}

fn link_params(params: &[(String, String)]) -> Vec<(String, String)> {
    let mut kept = MultiDict(params.to_vec()).into_dict();
    kept.retain(|(k, _)| k != "marker");
    kept
}

/// WebOb's query `MultiDict`, reduced to the operations Glance uses on it.
pub(super) struct MultiDict(pub(super) Vec<(String, String)>);

impl MultiDict {
    pub(super) fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub(super) fn last(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn pop_first(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    pub(super) fn pop_all(&mut self, key: &str) -> Vec<String> {
        let (taken, kept) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|(k, _)| k == key);
        self.0 = kept;
        taken.into_iter().map(|(_, v)| v).collect()
    }

    /// `dict(multidict)`: one entry per key, at its first position, holding its last value.
    /// Linear in the number of pairs.
    pub(super) fn into_dict(self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for (k, v) in self.0 {
            match at.get(&k) {
                Some(&i) => out[i].1 = v,
                None => {
                    at.insert(k.clone(), out.len());
                    out.push((k, v));
                }
            }
        }
        out
    }
}

/// WebOb's `parse_qsl_text`. `strict` turns a malformed `%` escape or
/// non-UTF-8 bytes into a 400; otherwise they are kept literally / replaced.
pub fn decode_pairs(raw: &str, strict: bool) -> Result<Vec<(String, String)>> {
    raw.split(['&', ';'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((decode(k, strict)?, decode(v, strict)?))
        })
        .collect()
}

fn decode(s: &str, strict: bool) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ if strict => {
                    return Err(Error::bad_request(
                        "Invalid query string: malformed percent-encoding.",
                    ))
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Ok(s),
        Err(_) if strict => Err(Error::bad_request(
            "Invalid query string: it is not valid UTF-8.",
        )),
        Err(e) => Ok(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex(b: Option<&u8>) -> Option<u8> {
    char::from(*b?)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// `urllib.parse.quote_plus` keeps only `A-Za-z0-9_.-~`.
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// `urllib.parse.urlencode`: `k=v` joined by `&`, space as `+`.
pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    // A literal `%` is itself encoded, so every `%20` in the output was a space.
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, QUOTE_PLUS)
            .to_string()
            .replace("%20", "+")
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images_first(q: &str) -> String {
        first_link("/v2/images", &lenient_pairs(q))
    }

    fn images_next(q: &str, last: &str) -> String {
        next_link("/v2/images", &lenient_pairs(q), last)
    }

    #[test]
    fn links() {
        let table = [
            ("", "/v2/images", "/v2/images?marker=L"),
            (
                "limit=2",
                "/v2/images?limit=2",
                "/v2/images?limit=2&marker=L",
            ),
            ("marker=abc", "/v2/images", "/v2/images?marker=L"),
            (
                "marker=abc&limit=10&sort_key=id&sort_dir=asc",
                "/v2/images?limit=10&sort_key=id&sort_dir=asc",
                "/v2/images?limit=10&sort_key=id&sort_dir=asc&marker=L",
            ),
            (
                "limit=10&marker=abc&sort=name:asc",
                "/v2/images?limit=10&sort=name%3Aasc",
                "/v2/images?limit=10&sort=name%3Aasc&marker=L",
            ),
            (
                "created_at=gt:2016-04-18T21:38:54Z",
                "/v2/images?created_at=gt%3A2016-04-18T21%3A38%3A54Z",
                "/v2/images?created_at=gt%3A2016-04-18T21%3A38%3A54Z&marker=L",
            ),
            (
                "name=a%20b+c",
                "/v2/images?name=a+b+c",
                "/v2/images?name=a+b+c&marker=L",
            ),
            // One value per key: the last, at the key's first position.
            (
                "tag=a&limit=2&tag=b",
                "/v2/images?tag=b&limit=2",
                "/v2/images?tag=b&limit=2&marker=L",
            ),
            (
                "name=%C3%A9%2F%2B~._-&x=%25",
                "/v2/images?name=%C3%A9%2F%2B~._-&x=%25",
                "/v2/images?name=%C3%A9%2F%2B~._-&x=%25&marker=L",
            ),
            (
                "foo&=v;k=1",
                "/v2/images?foo=&=v&k=1",
                "/v2/images?foo=&=v&k=1&marker=L",
            ),
            (
                "name=%2520",
                "/v2/images?name=%2520",
                "/v2/images?name=%2520&marker=L",
            ),
        ];
        for (q, first, next) in table {
            assert_eq!(images_first(q), first, "{q}");
            assert_eq!(images_next(q, "L"), next, "{q}");
        }
        assert_eq!(
            images_next("limit=1", "a b:c"),
            "/v2/images?limit=1&marker=a+b%3Ac"
        );
        // The collection is the caller's: tasks and metadefs page the same way.
        let pairs = lenient_pairs("marker=m&limit=2&sort_dir=asc");
        assert_eq!(
            first_link("/v2/tasks", &pairs),
            "/v2/tasks?limit=2&sort_dir=asc"
        );
        assert_eq!(
            next_link("/v2/metadefs/namespaces", &pairs, "OS::x"),
            "/v2/metadefs/namespaces?limit=2&sort_dir=asc&marker=OS%3A%3Ax"
        );
        assert_eq!(first_link("/v2/tasks", &[]), "/v2/tasks");
        // Undecodable input never panics here.
        assert_eq!(
            images_first("name=%ff&x=%zz"),
            "/v2/images?name=%EF%BF%BD&x=%25zz"
        );
    }
}
