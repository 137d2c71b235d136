//! Guardrails (`[glint_sharing] guardrails`, operator-wide, opt-in): what no project may do with
//! its images, whatever its policy allows: make them `public` or `community`, or share them
//! outside its own domain. Refusals are 403 with the guardrail named.

use super::image::Visibility;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guardrails {
    pub no_public: bool,
    pub no_community: bool,
    pub no_outside_domain: bool,
}

impl Guardrails {
    /// `public, community, outside_domain` (any of them; empty: none).
    pub fn parse(text: &str) -> Result<Guardrails, String> {
        let mut g = Guardrails::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item {
                "public" => g.no_public = true,
                "community" => g.no_community = true,
                "outside_domain" => g.no_outside_domain = true,
                other => {
                    return Err(format!(
                        "[glint_sharing] guardrails: '{other}' is not one of public, community, \
                         outside_domain"
                    ))
                }
            }
        }
        Ok(g)
    }

    /// The guardrails' names, in their documented order (how they are shown and stored).
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.no_public, "public"),
            (self.no_community, "community"),
            (self.no_outside_domain, "outside_domain"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// Both sets at once: a domain's guardrails only ever add to the operator's.
    pub fn union(self, other: Guardrails) -> Guardrails {
        Guardrails {
            no_public: self.no_public || other.no_public,
            no_community: self.no_community || other.no_community,
            no_outside_domain: self.no_outside_domain || other.no_outside_domain,
        }
    }

    pub fn is_empty(self) -> bool {
        self == Guardrails::default()
    }

    /// Why an image may not become `v`, if it may not.
    pub fn visibility_refusal(self, v: Visibility) -> Option<String> {
        let forbidden = match v {
            Visibility::Public => self.no_public,
            Visibility::Community => self.no_community,
            _ => false,
        };
        forbidden.then(|| {
            format!(
                "Images may not be made {v} in this cloud (guardrail '{v}' of [glint_sharing] \
                 guardrails)"
            )
        })
    }

    /// Why a share from `owner_domain` to a project of `member_domain` is refused, if it is.
    pub fn domain_refusal(
        self,
        member: &str,
        owner_domain: Option<&str>,
        member_domain: Option<&str>,
    ) -> Option<String> {
        match (owner_domain, member_domain) {
            (Some(o), Some(m)) if self.no_outside_domain && o != m => Some(format!(
                "Images may not be shared outside their owner's domain in this cloud: project \
                 {member} is in another domain (guardrail 'outside_domain')"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardrails_parse_and_refuse() {
        let g = Guardrails::parse("public, outside_domain").unwrap();
        assert!(g.no_public && !g.no_community && g.no_outside_domain);
        assert!(Guardrails::parse("private").is_err());
        assert_eq!(Guardrails::parse("").unwrap(), Guardrails::default());
        assert!(g.visibility_refusal(Visibility::Public).is_some());
        assert!(g.visibility_refusal(Visibility::Community).is_none());
        assert!(g.visibility_refusal(Visibility::Shared).is_none());
        assert!(g.domain_refusal("p", Some("d1"), Some("d2")).is_some());
        assert!(g.domain_refusal("p", Some("d1"), Some("d1")).is_none());
        assert!(g.domain_refusal("p", None, Some("d1")).is_none());
        assert!(Guardrails::default()
            .domain_refusal("p", Some("d1"), Some("d2"))
            .is_none());
    }

    #[test]
    fn names_round_trip_and_union_only_adds() {
        let g = Guardrails::parse("outside_domain,public").unwrap();
        assert_eq!(g.names(), ["public", "outside_domain"]);
        assert_eq!(Guardrails::parse(&g.names().join(",")).unwrap(), g);
        let c = Guardrails::parse("community").unwrap();
        assert_eq!(
            g.union(c).names(),
            ["public", "community", "outside_domain"]
        );
        assert_eq!(g.union(Guardrails::default()), g);
        assert!(Guardrails::default().is_empty() && !c.is_empty());
    }
}
