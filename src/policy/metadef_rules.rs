//! Glance's default metadefs policy (glance/policies/metadef.py): anyone with
//! the reader role reads their own project's and public namespaces; only
//! admins change anything.

use super::check::Check;

/// `rule:context_is_admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))`
fn reader_get_namespace() -> Check {
    Check::Or(vec![
        Check::Rule("context_is_admin".into()),
        Check::And(vec![
            Check::Role("reader".into()),
            Check::Or(vec![
                Check::CredMatchesTarget {
                    cred: "project_id".into(),
                    target: "project_id".into(),
                },
                Check::LiteralMatchesTarget {
                    literal: "public".into(),
                    target: "visibility".into(),
                },
            ]),
        ]),
    ])
}

pub fn defaults() -> Vec<(&'static str, Check)> {
    let metadef_admin = || Check::Rule("metadef_admin".into());
    let mut v = vec![
        ("metadef_default", Check::Allow),
        ("metadef_admin", Check::Rule("context_is_admin".into())),
        (
            "get_metadef_namespaces",
            Check::Or(vec![
                Check::Rule("context_is_admin".into()),
                Check::And(vec![
                    Check::Role("reader".into()),
                    Check::CredMatchesTarget {
                        cred: "project_id".into(),
                        target: "project_id".into(),
                    },
                ]),
            ]),
        ),
    ];
    for name in [
        "get_metadef_namespace",
        "get_metadef_object",
        "get_metadef_objects",
        "list_metadef_resource_types",
        "get_metadef_resource_type",
        "get_metadef_property",
        "get_metadef_properties",
        "get_metadef_tag",
        "get_metadef_tags",
    ] {
        v.push((name, reader_get_namespace()));
    }
    for name in [
        "modify_metadef_namespace",
        "add_metadef_namespace",
        "delete_metadef_namespace",
        "modify_metadef_object",
        "add_metadef_object",
        "delete_metadef_object",
        "add_metadef_resource_type_association",
        "remove_metadef_resource_type_association",
        "modify_metadef_property",
        "add_metadef_property",
        "remove_metadef_property",
        "modify_metadef_tag",
        "add_metadef_tag",
        "add_metadef_tags",
        "delete_metadef_tag",
        "delete_metadef_tags",
    ] {
        v.push((name, metadef_admin()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::{parser::parse_rule, Enforcer, Target};
    use super::*;
    use crate::domain::context::RequestContext;

    /// Glance's check strings, parsed, must decide like the built-in rules.
    #[test]
    fn builtin_rules_match_glance_strings() {
        let admin = "rule:context_is_admin";
        let get_ns = format!(
            "{admin} or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s))"
        );
        let glance: Vec<(String, String)> = defaults()
            .into_iter()
            .map(|(name, _)| {
                let text = match name {
                    "metadef_default" => String::new(),
                    "metadef_admin" => admin.to_owned(),
                    "get_metadef_namespaces" => {
                        format!("{admin} or (role:reader and project_id:%(project_id)s)")
                    }
                    n if n.starts_with("get_") || n.starts_with("list_") => get_ns.clone(),
                    _ => "rule:metadef_admin".to_owned(),
                };
                (name.to_owned(), text)
            })
            .collect();
        let overrides = glance.iter().map(|(n, t)| {
            let c = parse_rule(t).unwrap_or_else(|e| panic!("{n}: {e}"));
            (n.clone(), c)
        });
        let from_strings = Enforcer::default().with_overrides(overrides);
        let builtin = Enforcer::default();
        let ctxs = [
            RequestContext::new(Some("p1"), &["admin"]),
            RequestContext::new(Some("p1"), &["member"]),
            RequestContext::new(Some("p1"), &["reader"]),
            RequestContext::new(Some("p2"), &["reader"]),
            RequestContext::new(Some("p1"), &[]),
            RequestContext::new(None, &["reader"]),
        ];
        let mut targets = vec![Target::new()];
        for owner in ["p1", "p2"] {
            for vis in ["public", "private"] {
                let mut t = Target::new();
                t.insert("project_id", owner.into());
                t.insert("visibility", vis.into());
                targets.push(t);
            }
        }
        for (name, _) in &glance {
            for c in &ctxs {
                for t in &targets {
                    assert_eq!(
                        builtin.allows(name, c, t),
                        from_strings.allows(name, c, t),
                        "{name} {c:?} {t:?}"
                    );
                }
            }
        }
        let mut t = Target::new();
        t.insert("project_id", "p2".into());
        t.insert("visibility", "public".into());
        let reader = RequestContext::new(Some("p1"), &["reader"]);
        assert!(builtin.allows("get_metadef_namespace", &reader, &t));
        assert!(!builtin.allows("add_metadef_object", &reader, &t));
        let member = RequestContext::new(Some("p2"), &["member"]);
        assert!(!builtin.allows("modify_metadef_namespace", &member, &t));
    }
}
