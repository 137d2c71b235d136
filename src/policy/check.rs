//! oslo.policy's rule language as a data structure, and its evaluation.
//! Glance's defaults are built from it (`rules.rs`); an operator's policy file
//! is parsed into the same structure, so both go through one evaluator.

use std::collections::HashMap;

use crate::domain::context::RequestContext;

/// One policy expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `@` (or an empty rule): always passes.
    Allow,
    /// `!`: never passes.
    Deny,
    /// `role:<name>` (case-insensitive; implied roles honoured).
    Role(String),
    /// `rule:<name>`: another named rule.
    Rule(String),
    /// `<cred>:%(<target>)s`: a caller attribute equals a target attribute.
    CredMatchesTarget {
        cred: String,
        target: String,
    },
    /// `'<literal>':%(<target>)s`: a constant equals a target attribute.
    LiteralMatchesTarget {
        literal: String,
        target: String,
    },
    /// `<cred>:<literal>`: a caller attribute equals a constant (e.g. `is_admin:True`).
    CredIs {
        cred: String,
        value: String,
    },
    Not(Box<Check>),
    And(Vec<Check>),
    Or(Vec<Check>),
}

/// The attributes of the object a rule is checked against (oslo.policy's "target").
pub type Target = HashMap<&'static str, String>;

impl Check {
    /// `rules` resolves `rule:<name>`; the rules it lends live as long as `'r`.
    pub fn eval<'r>(
        &self,
        ctx: &RequestContext,
        target: &Target,
        rules: &dyn Fn(&str) -> Option<&'r Check>,
    ) -> bool {
        self.eval_depth(ctx, target, rules, 0)
    }

    fn eval_depth<'r>(
        &self,
        ctx: &RequestContext,
        target: &Target,
        rules: &dyn Fn(&str) -> Option<&'r Check>,
        depth: usize,
    ) -> bool {
        // A rule that refers to itself must not loop forever; deny instead.
        if depth > super::MAX_DEPTH {
            return false;
        }
        let recurse = |c: &Check| c.eval_depth(ctx, target, rules, depth + 1);
        match self {
            Check::Allow => true,
            Check::Deny => false,
            Check::Role(r) => ctx.has_role(&r.to_ascii_lowercase()),
            Check::Rule(name) => rules(name).is_some_and(recurse),
            Check::CredMatchesTarget { cred, target: t } => {
                match (cred_value(ctx, cred), target.get(t.as_str())) {
                    (Some(c), Some(v)) => &c == v,
                    _ => false,
                }
            }
            Check::LiteralMatchesTarget { literal, target: t } => {
                target.get(t.as_str()).is_some_and(|v| v == literal)
            }
            Check::CredIs { cred, value } => cred_value(ctx, cred).is_some_and(|c| &c == value),
            Check::Not(c) => !recurse(c),
            Check::And(cs) => cs.iter().all(recurse),
            Check::Or(cs) => cs.iter().any(recurse),
        }
    }
}

/// The caller attributes a rule may name (oslo.context's policy values).
fn cred_value(ctx: &RequestContext, cred: &str) -> Option<String> {
    match cred {
        "project_id" | "tenant" | "tenant_id" => ctx.project_id.clone(),
        "user_id" | "user" => ctx.user_id.clone(),
        "project_domain_id" => ctx.project_domain_id.clone(),
        "is_admin" => Some(if ctx.is_admin() { "True" } else { "False" }.to_owned()),
        _ => None,
    }
}
