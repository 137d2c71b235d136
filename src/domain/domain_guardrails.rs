//! Per-domain guardrails (`/v2/glint/domains/{domain_id}/guardrails`, issue 18, opt-in): a
//! domain's admin forbids its projects what the operator's `[glint_sharing] guardrails` forbid
//! everyone (public or community images, shares outside the domain). A project's effective
//! guardrails are the operator's and its domain's together: a domain can add, never relax.

use serde_json::Value;

use super::guardrails::Guardrails;
use super::image::Visibility;
use crate::error::Error;

/// The longest domain id taken (Keystone's are 64 characters; the column holds 255).
pub const MAX_DOMAIN_ID_LEN: usize = 255;

/// The body of a PUT: `{"guardrails": ["public", "community", "outside_domain"]}` (any of
/// them, each at most once; `[]` clears them). Unknown keys and names are refused by name.
pub fn parse_body(body: &Value) -> Result<Guardrails, Error> {
    let Value::Object(o) = body else {
        return Err(Error::bad_request(
            "The body must be a JSON object: {\"guardrails\": [...]}",
        ));
    };
    if let Some(k) = o.keys().find(|k| *k != "guardrails") {
        return Err(Error::bad_request(format!(
            "Unknown key '{k}' (known: guardrails)"
        )));
    }
    let Some(Value::Array(items)) = o.get("guardrails") else {
        return Err(Error::bad_request(
            "'guardrails' must be a list of any of public, community, outside_domain",
        ));
    };
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str() {
            Some(n @ ("public" | "community" | "outside_domain")) if !names.contains(&n) => {
                names.push(n)
            }
            Some(n @ ("public" | "community" | "outside_domain")) => {
                return Err(Error::bad_request(format!(
                    "Guardrail '{n}' is given more than once"
                )))
            }
            _ => {
                return Err(Error::bad_request(format!(
                    "Guardrail {item} is not one of public, community, outside_domain"
                )))
            }
        }
    }
    Guardrails::parse(&names.join(",")).map_err(Error::bad_request)
}

/// The guardrails that apply to one acting project: the operator's, and its domain's (when it
/// set any). Refusals name where the guardrail comes from; the operator's win when both forbid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective {
    pub operator: Guardrails,
    /// The acting project's domain and the guardrails its admin set.
    pub domain: Option<(String, Guardrails)>,
}

impl Effective {
    fn domain_rails(&self) -> Guardrails {
        self.domain.as_ref().map(|(_, g)| *g).unwrap_or_default()
    }

    /// Everything forbidden, whoever forbade it.
    pub fn all(&self) -> Guardrails {
        self.operator.union(self.domain_rails())
    }

    /// Why an image may not become `v`, if it may not.
    pub fn visibility_refusal(&self, v: Visibility) -> Option<String> {
        if let Some(why) = self.operator.visibility_refusal(v) {
            return Some(why);
        }
        let (d, g) = self.domain.as_ref()?;
        g.visibility_refusal(v).map(|_| {
            format!(
                "Images may not be made {v} in domain {d} (guardrail '{v}' of domain {d}, set by \
                 its admin)"
            )
        })
    }

    /// Why a share to `member`, a project of `member_domain`, by a project of `owner_domain`
    /// is refused, if it is.
    pub fn domain_refusal(
        &self,
        member: &str,
        owner_domain: Option<&str>,
        member_domain: Option<&str>,
    ) -> Option<String> {
        if let Some(why) = self
            .operator
            .domain_refusal(member, owner_domain, member_domain)
        {
            return Some(why);
        }
        let (d, g) = self.domain.as_ref()?;
        g.domain_refusal(member, owner_domain, member_domain)
            .map(|_| {
                format!(
                    "Images of domain {d} may not be shared outside it: project {member} is in \
                     another domain (guardrail 'outside_domain' of domain {d}, set by its admin)"
                )
            })
    }

    /// Why a grant to `target` (a domain, or a subtree's root project), in `target_domain`, is
    /// refused, if it is.
    pub fn grant_refusal(
        &self,
        target: &str,
        owner_domain: Option<&str>,
        target_domain: &str,
    ) -> Option<String> {
        if owner_domain? == target_domain {
            return None;
        }
        if self.operator.no_outside_domain {
            return Some(format!(
                "Images may not be shared outside their owner's domain in this cloud: the \
                 grant's target {target} is in domain {target_domain} (guardrail \
                 'outside_domain')"
            ));
        }
        let (d, g) = self.domain.as_ref()?;
        g.no_outside_domain.then(|| {
            format!(
                "Images of domain {d} may not be shared outside it: the grant's target {target} \
                 is in domain {target_domain} (guardrail 'outside_domain' of domain {d}, set by \
                 its admin)"
            )
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rails(s: &str) -> Guardrails {
        Guardrails::parse(s).unwrap()
    }

    #[test]
    fn bodies() {
        assert_eq!(
            parse_body(&json!({"guardrails": ["outside_domain", "public"]})).unwrap(),
            rails("public,outside_domain")
        );
        assert_eq!(parse_body(&json!({"guardrails": []})).unwrap(), rails(""));
        for bad in [
            json!({"guardrails": ["private"]}),
            json!({"guardrails": ["public", "public"]}),
            json!({"guardrails": "public"}),
            json!({"guardrails": [1]}),
            json!({}),
            json!({"guardrails": [], "x": 1}),
            json!([]),
        ] {
            assert!(parse_body(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_domain_adds_and_never_relaxes() {
        let e = Effective {
            operator: rails("community"),
            domain: Some(("d1".into(), rails("public,outside_domain"))),
        };
        assert_eq!(e.all(), rails("public,community,outside_domain"));
        let why = e.visibility_refusal(Visibility::Public).unwrap();
        assert!(why.contains("guardrail 'public' of domain d1"), "{why}");
        // The operator's refusal is named as the operator's.
        let why = e.visibility_refusal(Visibility::Community).unwrap();
        assert!(why.contains("[glint_sharing] guardrails"), "{why}");
        assert!(e.visibility_refusal(Visibility::Shared).is_none());
        let why = e.domain_refusal("p2", Some("d1"), Some("d2")).unwrap();
        assert!(why.contains("'outside_domain' of domain d1"), "{why}");
        assert!(e.domain_refusal("p2", Some("d1"), Some("d1")).is_none());
        let why = e.grant_refusal("p9", Some("d1"), "d2").unwrap();
        assert!(why.contains("target p9 is in domain d2"), "{why}");
        assert!(why.contains("'outside_domain' of domain d1"), "{why}");
        assert!(e.grant_refusal("p9", Some("d1"), "d1").is_none());
        assert!(e.grant_refusal("p9", None, "d2").is_none());
        let op = Effective {
            operator: rails("outside_domain"),
            domain: None,
        };
        let why = op.grant_refusal("d2", Some("d1"), "d2").unwrap();
        assert!(why.contains("in this cloud"), "{why}");
        // An empty domain set leaves the operator's as they are.
        let e = Effective {
            operator: rails("public"),
            domain: Some(("d1".into(), rails(""))),
        };
        assert!(e.visibility_refusal(Visibility::Public).is_some());
        assert!(e.domain_refusal("p2", Some("d1"), Some("d2")).is_none());
        assert!(Effective::default()
            .visibility_refusal(Visibility::Public)
            .is_none());
    }
}
