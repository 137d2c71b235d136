//! Who may do what: one enforcer that every service call goes through.

pub mod check;
pub mod file;
pub mod metadef_rules;
pub mod parser;
pub mod rules;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

pub use check::{Check, Target};

use crate::domain::context::RequestContext;
use crate::domain::image::Image;
use crate::error::Error;

/// How deep evaluation goes (`Check::eval` denies below it), counting each `rule:` hop.
pub const MAX_DEPTH: usize = 32;

/// The most checks one rule may expand to; Glance's defaults need a few dozen.
pub const MAX_EXPANDED_CHECKS: u64 = 10_000;

/// A rule's size once every `rule:` is replaced by the rule it names.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Levels below the rule, as `Check::eval` counts them.
    depth: usize,
    /// Checks evaluated in the worst case.
    checks: u64,
}

impl Shape {
    const LEAF: Shape = Shape {
        depth: 0,
        checks: 1,
    };
}

/// Named rules: Glance's defaults, optionally overridden by an operator's file.
#[derive(Debug, Clone)]
struct RuleSet {
    rules: HashMap<String, Check>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            rules: rules::defaults()
                .into_iter()
                .chain(metadef_rules::defaults())
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }
}

/// The policy every service call asks: one rule set, which SIGHUP may replace while requests
/// run (each evaluation reads the rules in force when it starts).
#[derive(Debug, Default)]
pub struct Enforcer {
    current: RwLock<Arc<RuleSet>>,
}

impl Clone for Enforcer {
    fn clone(&self) -> Self {
        Enforcer::from_rules(self.rules())
    }
}

impl Enforcer {
    fn from_rules(rules: Arc<RuleSet>) -> Self {
        Enforcer {
            current: RwLock::new(rules),
        }
    }

    /// The rules in force. A writer that panicked left a whole `Arc` behind, so a poisoned
    /// lock still holds a usable rule set.
    fn rules(&self) -> Arc<RuleSet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replace or add rules (from a policy file).
    pub fn with_overrides(self, overrides: impl IntoIterator<Item = (String, Check)>) -> Self {
        let mut rules = (*self.rules()).clone();
        rules.rules.extend(overrides);
        Enforcer::from_rules(Arc::new(rules))
    }

    /// Puts `other`'s rules in force (SIGHUP, once they have been validated). Evaluations
    /// already running finish with the rules they started with.
    pub fn replace_with(&self, other: &Enforcer) {
        let rules = other.rules();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = rules;
    }

    /// See [`RuleSet::validate`].
    pub fn validate(&self) -> Result<(), String> {
        self.rules().validate()
    }

    /// Evaluate a named rule; an unknown rule falls back to `default` as oslo.policy does.
    pub fn allows(&self, rule: &str, ctx: &RequestContext, target: &Target) -> bool {
        self.rules().allows(rule, ctx, target)
    }

    /// `allows`, as Glance's 403 when denied.
    pub fn enforce(&self, rule: &str, ctx: &RequestContext, target: &Target) -> Result<(), Error> {
        if self.allows(rule, ctx, target) {
            Ok(())
        } else {
            Err(Error::policy(rule))
        }
    }
}

impl RuleSet {
    /// Refuse a rule set that evaluation cannot finish sensibly, so that glint fails
    /// at start-up instead of on every request:
    /// - a `rule:` cycle (an unknown name counts as `default`): oslo.policy recurses
    ///   until Python gives up; `allows` would cut it off and deny;
    /// - a rule nested deeper than [`MAX_DEPTH`] once its `rule:`s are followed, which
    ///   `allows` would silently deny;
    /// - a rule that expands to more than [`MAX_EXPANDED_CHECKS`] checks: `rule:`s are
    ///   evaluated afresh where they appear, so a few rules that each name the next
    ///   several times make every request take exponential time.
    fn validate(&self) -> Result<(), String> {
        let mut done = HashMap::new();
        let mut names: Vec<&str> = self.rules.keys().map(String::as_str).collect();
        names.sort_unstable();
        for name in names {
            let shape = self.rule_shape(name, &mut done, &mut Vec::new())?;
            if shape.depth > MAX_DEPTH {
                return Err(format!(
                    "rule {name:?} is nested too deeply once its rule: references are followed \
                     (more than {MAX_DEPTH} levels)"
                ));
            }
            if shape.checks > MAX_EXPANDED_CHECKS {
                return Err(format!(
                    "rule {name:?} expands to more than {MAX_EXPANDED_CHECKS} checks once its \
                     rule: references are followed"
                ));
            }
        }
        Ok(())
    }

    /// The rule `rule:<name>` (and `allows(name)`) ends up at, with its key.
    fn resolve(&self, name: &str) -> Option<(&str, &Check)> {
        self.rules
            .get_key_value(name)
            .or_else(|| self.rules.get_key_value("default"))
            .map(|(k, v)| (k.as_str(), v))
    }

    fn rule_shape<'a>(
        &'a self,
        name: &'a str,
        done: &mut HashMap<&'a str, Shape>,
        path: &mut Vec<&'a str>,
    ) -> Result<Shape, String> {
        if let Some(shape) = done.get(name) {
            return Ok(*shape);
        }
        if let Some(i) = path.iter().position(|n| *n == name) {
            let cycle: Vec<&str> = path[i..].iter().copied().chain([name]).collect();
            return Err(format!(
                "rule {name:?} refers to itself: {}",
                cycle.join(" -> ")
            ));
        }
        // Every hop adds a level, so a longer chain is too deep anyway; stopping
        // here also bounds this recursion.
        if path.len() > MAX_DEPTH {
            return Err(format!(
                "rule {:?} is nested too deeply once its rule: references are followed \
                 (more than {MAX_DEPTH} levels)",
                path[0]
            ));
        }
        let Some((_, check)) = self.resolve(name) else {
            return Ok(Shape::LEAF);
        };
        path.push(name);
        let shape = self.check_shape(check, done, path)?;
        path.pop();
        done.insert(name, shape);
        Ok(shape)
    }

    fn check_shape<'a>(
        &'a self,
        check: &'a Check,
        done: &mut HashMap<&'a str, Shape>,
        path: &mut Vec<&'a str>,
    ) -> Result<Shape, String> {
        let children: Vec<Shape> = match check {
            Check::Rule(n) => match self.resolve(n) {
                Some((key, _)) => vec![self.rule_shape(key, done, path)?],
                None => Vec::new(),
            },
            Check::Not(c) => vec![self.check_shape(c, done, path)?],
            Check::And(cs) | Check::Or(cs) => cs
                .iter()
                .map(|c| self.check_shape(c, done, path))
                .collect::<Result<_, _>>()?,
            _ => return Ok(Shape::LEAF),
        };
        Ok(Shape {
            depth: 1 + children.iter().map(|s| s.depth).max().unwrap_or(0),
            checks: children
                .iter()
                .fold(1u64, |n, s| n.saturating_add(s.checks)),
        })
    }

    fn allows(&self, rule: &str, ctx: &RequestContext, target: &Target) -> bool {
        // oslo.policy: a `rule:` naming an unknown rule falls back to `default`.
        // Borrowed, not cloned: this runs on every request.
        let lookup = |name: &str| self.rules.get(name).or_else(|| self.rules.get("default"));
        lookup(rule).is_some_and(|check| check.eval(ctx, target, &lookup))
    }
}

/// Glance's `ImageTarget`: the owner is `project_id`; `member_id` is the caller's
/// project when the caller sees a shared image only through a member row.
/// Reads only the image row's own columns: the members API loads images without their tags
/// and properties (`access::load_visible_row`) and builds its targets here.
pub fn image_target(img: &Image, ctx: &RequestContext, caller_is_member: bool) -> Target {
    let mut t = Target::new();
    if let Some(o) = &img.owner {
        t.insert("project_id", o.clone());
        t.insert("owner", o.clone());
    }
    t.insert("visibility", img.visibility.as_str().to_owned());
    if caller_is_member {
        if let Some(p) = ctx.project() {
            t.insert("member_id", p.to_owned());
        }
    }
    t
}

/// The target for creating an image: only the requested owner matters.
pub fn new_image_target(owner: Option<&str>) -> Target {
    let mut t = Target::new();
    if let Some(o) = owner {
        t.insert("project_id", o.to_owned());
        t.insert("owner", o.to_owned());
    }
    t
}

/// Target for list rules: the caller's own project.
pub fn project_target(ctx: &RequestContext) -> Target {
    new_image_target(ctx.project())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::file::parse_policy_document;

    fn with_file(yaml: &str) -> Enforcer {
        let rules = parse_policy_document(yaml).unwrap_or_else(|e| panic!("{e}"));
        Enforcer::default().with_overrides(rules)
    }

    #[test]
    fn glance_defaults_and_a_usual_file_are_valid() {
        assert_eq!(Enforcer::default().validate(), Ok(()));
        let e = with_file(
            "context_is_admin: role:admin\n\
             admin_or_owner: rule:context_is_admin or project_id:%(project_id)s\n\
             get_image: rule:admin_or_owner or 'public':%(visibility)s\n\
             modify_image: rule:admin_or_owner\n",
        );
        assert_eq!(e.validate(), Ok(()));
        let admin = RequestContext::new(Some("p9"), &["admin"]);
        assert!(e.allows("modify_image", &admin, &Target::new()));
    }

    #[test]
    fn a_domains_guardrails_are_set_by_its_manager_and_read_by_its_projects() {
        let e = Enforcer::default();
        let mut d1 = Target::new();
        d1.insert("target_domain_id", "d1".to_owned());
        let in_domain = |project: &str, domain: &str, roles: &[&str]| RequestContext {
            project_domain_id: Some(domain.to_owned()),
            ..RequestContext::new(Some(project), roles)
        };
        let (get, set) = ("glint:get_domain_guardrails", "glint:set_domain_guardrails");
        let manager = in_domain("p1", "d1", &["manager"]);
        assert!(e.allows(set, &manager, &d1) && e.allows(get, &manager, &d1));
        // Another domain's manager, and the domain's own members, may not set them.
        assert!(!e.allows(set, &in_domain("p2", "d2", &["manager"]), &d1));
        let member = in_domain("p1", "d1", &["member"]);
        assert!(!e.allows(set, &member, &d1) && e.allows(get, &member, &d1));
        assert!(e.allows(get, &in_domain("p1", "d1", &["reader"]), &d1));
        assert!(!e.allows(get, &in_domain("p2", "d2", &["reader"]), &d1));
        // A cloud admin, whatever its project's domain.
        let admin = in_domain("p2", "d2", &["admin"]);
        assert!(e.allows(set, &admin, &d1) && e.allows(get, &admin, &d1));
    }

    // Seen while writing fuzz/fuzz_targets/policy.rs, which times out on it: a rule
    // naming itself several times took 4^16 evaluations on every check.
    #[test]
    fn self_reference_is_refused() {
        let e = with_file("\"a\": \"rule:a or rule:a or rule:a or rule:a\"\n");
        assert_eq!(
            e.validate(),
            Err("rule \"a\" refers to itself: a -> a".to_owned())
        );
    }

    #[test]
    fn unknown_rule_falls_back_to_default_and_can_loop() {
        let e = with_file("default: rule:nope or role:admin\n");
        assert_eq!(
            e.validate(),
            Err("rule \"default\" refers to itself: default -> default".to_owned())
        );
    }

    #[test]
    fn exponential_expansion_is_refused() {
        // r0 names r1 four times, r1 names r2 four times, ...: 4^10 checks, no cycle.
        let mut yaml = String::from("r10: role:x\n");
        for i in 0..10 {
            let next = format!("rule:r{}", i + 1);
            yaml += &format!("r{i}: {next} or {next} or {next} or {next}\n");
        }
        let e = with_file(&yaml);
        let err = e.validate().unwrap_err();
        assert!(err.contains("expands to more than 10000 checks"), "{err}");
        // Three levels (64 checks) are fine.
        let small = with_file(
            "r0: rule:r1 or rule:r1 or rule:r1 or rule:r1\n\
             r1: rule:r2 or rule:r2 or rule:r2 or rule:r2\n\
             r2: role:x or role:y or role:z or role:w\n",
        );
        assert_eq!(small.validate(), Ok(()));
    }

    /// r0 -> r1 -> ... -> r<hops>, which is a role check.
    fn chain(hops: usize) -> Enforcer {
        let mut yaml = format!("r{hops}: role:x\n");
        for i in 0..hops {
            yaml += &format!("r{i}: rule:r{}\n", i + 1);
        }
        with_file(&yaml)
    }

    #[test]
    fn chains_deeper_than_evaluation_goes_are_refused() {
        // 32 hops put the role check at the deepest level evaluation still looks at.
        let e = chain(MAX_DEPTH);
        assert_eq!(e.validate(), Ok(()));
        let ctx = RequestContext::new(Some("p"), &["x"]);
        assert!(e.allows("r0", &ctx, &Target::new()));
        // One more and `allows` would deny whatever the caller's roles.
        let e = chain(MAX_DEPTH + 1);
        assert!(!e.allows("r0", &ctx, &Target::new()));
        let err = e.validate().unwrap_err();
        assert!(err.contains("nested too deeply"), "{err}");
        // Very long chains are refused without deep recursion.
        let err = chain(5000).validate().unwrap_err();
        assert!(err.contains("nested too deeply"), "{err}");
    }
}
