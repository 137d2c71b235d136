//! The cross-domain rule (`[glint_sharing] cross_domain_requires_domain`, an anti-spam measure):
//! a share with a project of another domain than the image owner's must name that domain
//! (`os_glint.domain` on a member create; a batch target by `{"name", "domain"}`), so that a
//! project id picked up somewhere is not enough to push images into a stranger's inbox.

use serde_json::Value;

use crate::error::Error;

/// `os_glint.domain` of a member create: the target project's domain id, when given.
pub fn named(os_glint: Option<&Value>) -> Result<Option<String>, Error> {
    match os_glint.and_then(|o| o.get("domain")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 255 => Ok(Some(s.clone())),
        Some(_) => Err(Error::bad_request(
            "os_glint.domain must be the id of the member project's domain (a string of 1 to \
             255 characters)",
        )),
    }
}

/// Why a share of an image owned in `owner_domain` with `member` (in `member_domain`) is
/// refused, given the domain the caller `named`; `None` when it may go ahead. What is unknown
/// (a project Keystone does not know, an owner without a domain) is left to other checks.
pub fn refusal(
    member: &str,
    owner_domain: Option<&str>,
    member_domain: Option<&str>,
    named: Option<&str>,
) -> Option<String> {
    let (Some(owner), Some(theirs)) = (owner_domain, member_domain) else {
        return None;
    };
    if owner == theirs || named == Some(theirs) {
        return None;
    }
    Some(match named {
        Some(n) => format!(
            "os_glint.domain '{n}' is not the domain of project {member}: a share with a project \
             of another domain must name that project's domain"
        ),
        None => format!(
            "Project {member} is in another domain than the image's owner: name its domain in \
             os_glint.domain to share with it (cross_domain_requires_domain)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn another_domain_must_be_named() {
        let r = |o, m, n| refusal("p2", o, m, n);
        assert_eq!(r(Some("d1"), Some("d1"), None), None);
        assert_eq!(r(Some("d1"), Some("d2"), Some("d2")), None);
        assert!(r(Some("d1"), Some("d2"), None).is_some_and(|m| m.contains("os_glint.domain")));
        assert!(r(Some("d1"), Some("d2"), Some("d1")).is_some_and(|m| m.contains("'d1'")));
        assert_eq!(r(None, Some("d2"), None), None);
        assert_eq!(r(Some("d1"), None, None), None);
        assert_eq!(
            named(Some(&json!({"domain": "d2"}))).unwrap(),
            Some("d2".into())
        );
        assert_eq!(named(Some(&json!({"note": "x"}))).unwrap(), None);
        assert_eq!(named(None).unwrap(), None);
        assert!(named(Some(&json!({"domain": 3}))).is_err());
        assert!(named(Some(&json!({"domain": ""}))).is_err());
    }
}
