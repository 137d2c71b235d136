//! oslo.policy rules and policy files: `parser::parse_rule`,
//! `file::parse_policy_document`, then enforcement with the parsed rules.
//!
//! Input: text, read both as one rule and as a whole policy file (YAML or JSON).
//!
//! Invariants beyond "no panic":
//! - parse -> render -> parse gives the same rule (the renderer below writes the
//!   rule language with the fewest parentheses; rules it cannot write, such as a
//!   legacy-list check ending in `)`, are skipped);
//! - a policy file written back as JSON from its parsed rules loads to the same rules;
//! - a rule set that `Enforcer::validate` accepts (as start-up does) evaluates
//!   quickly for every rule of the file and every Glance rule (libFuzzer's timeout
//!   catches runaway evaluation), and a rule on its own evaluates the same through
//!   the enforcer as directly.

use glint::domain::context::RequestContext;
use glint::policy::file::parse_policy_document;
use glint::policy::parser::parse_rule;
use glint::policy::{Check, Enforcer, Target};

/// Python's `str.isspace()`, as the rule tokenizer splits on it.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// One check as a token the tokenizer gives back unchanged, if there is one.
fn atom(c: &Check) -> Option<String> {
    let text = match c {
        Check::Allow => "@".to_owned(),
        Check::Deny => "!".to_owned(),
        Check::Role(r) => format!("role:{}", r.replace('%', "%%")),
        Check::Rule(r) => format!("rule:{r}"),
        Check::CredMatchesTarget { cred, target } => format!("{cred}:%({target})s"),
        Check::LiteralMatchesTarget { literal, target } => {
            let q = if literal.contains('\'') { '"' } else { '\'' };
            format!("{q}{literal}{q}:%({target})s")
        }
        Check::CredIs { cred, value } => format!("{cred}:{}", value.replace('%', "%%")),
        Check::Not(_) | Check::And(_) | Check::Or(_) => return None,
    };
    let plain = !text.is_empty()
        && !text.starts_with('(')
        && !text.ends_with(')')
        && !text.chars().any(is_py_space)
        && !matches!(text.to_lowercase().as_str(), "and" | "or" | "not");
    plain.then_some(text)
}

/// The rule language for `c`, with parentheses only where the grammar needs them.
fn render(c: &Check) -> Option<String> {
    fn paren(s: String) -> String {
        format!("({s})")
    }
    Some(match c {
        Check::Not(inner) => match **inner {
            Check::And(_) | Check::Or(_) => format!("not {}", paren(render(inner)?)),
            _ => format!("not {}", render(inner)?),
        },
        Check::And(cs) => cs
            .iter()
            .map(|x| match x {
                Check::And(_) | Check::Or(_) => render(x).map(paren),
                _ => render(x),
            })
            .collect::<Option<Vec<_>>>()?
            .join(" and "),
        Check::Or(cs) => cs
            .iter()
            .map(|x| match x {
                Check::Or(_) => render(x).map(paren),
                _ => render(x),
            })
            .collect::<Option<Vec<_>>>()?
            .join(" or "),
        other => atom(other)?,
    })
}

fn contexts() -> Vec<RequestContext> {
    let mut user = RequestContext::new(Some("p1"), &["member"]);
    user.user_id = Some("u1".into());
    vec![
        RequestContext::new(Some("p1"), &["admin"]),
        user,
        RequestContext::new(Some("p2"), &["reader"]),
        RequestContext::new(None, &[]),
    ]
}

fn targets() -> Vec<Target> {
    let mut owned = Target::new();
    owned.insert("project_id", "p1".into());
    owned.insert("owner", "p1".into());
    owned.insert("visibility", "private".into());
    let mut shared = owned.clone();
    shared.insert("visibility", "shared".into());
    shared.insert("member_id", "p2".into());
    let mut public = Target::new();
    public.insert("project_id", "p3".into());
    public.insert("visibility", "public".into());
    vec![owned, shared, public, Target::new()]
}

/// Glance's rule names, looked up through an operator's overrides.
const GLANCE_RULES: &[&str] = &[
    "default",
    "get_image",
    "get_images",
    "add_image",
    "modify_image",
    "publicize_image",
    "communitize_image",
    "delete_image",
    "download_image",
    "upload_image",
    "add_member",
    "get_members",
    "modify_member",
];

fn round_trip(rule: &Check, what: &str) {
    if let Some(text) = render(rule) {
        match parse_rule(&text) {
            Ok(again) => assert_eq!(&again, rule, "{what}: rendered as {text:?}"),
            Err(e) => panic!("{what}: rendered as {text:?}, which does not parse: {e}"),
        }
    }
}

/// One rule, as the override of a rule named `fuzzed`.
fn single_rule(text: &str) {
    let Ok(rule) = parse_rule(text) else {
        return;
    };
    round_trip(&rule, "rule");
    let enforcer = Enforcer::default().with_overrides([("fuzzed".to_owned(), rule.clone())]);
    // As at start-up: a rule set that fails validation never gets to evaluate.
    if enforcer.validate().is_err() {
        return;
    }
    let lookup = |name: &str| {
        if name == "fuzzed" {
            Some(&rule)
        } else {
            None
        }
    };
    for ctx in &contexts() {
        for t in &targets() {
            // Unknown rule names resolve to `default` in the enforcer only, so
            // compare when the rule names no other rule.
            if !text.contains("rule:") {
                assert_eq!(
                    enforcer.allows("fuzzed", ctx, t),
                    rule.eval(ctx, t, &lookup)
                );
            } else {
                enforcer.allows("fuzzed", ctx, t);
            }
        }
    }
}

/// One input: returns normally or panics with what broke.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    single_rule(&text);

    let Ok(rules) = parse_policy_document(&text) else {
        return;
    };
    let mut doc = serde_json::Map::new();
    let mut writable = true;
    for (name, rule) in &rules {
        round_trip(rule, name);
        match render(rule) {
            Some(r) => {
                doc.insert(name.clone(), r.into());
            }
            None => writable = false,
        }
    }
    if writable {
        let json = serde_json::Value::Object(doc).to_string();
        match parse_policy_document(&json) {
            Ok(again) => assert_eq!(again, rules, "written back as {json}"),
            Err(e) => panic!("written back as {json}: {e}"),
        }
    }
    let enforcer = Enforcer::default().with_overrides(rules.clone());
    if enforcer.validate().is_err() {
        return;
    }
    for ctx in &contexts() {
        for t in &targets() {
            for name in GLANCE_RULES
                .iter()
                .copied()
                .chain(rules.iter().map(|(n, _)| n.as_str()))
            {
                enforcer.allows(name, ctx, t);
            }
        }
    }
}
