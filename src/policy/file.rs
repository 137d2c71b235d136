//! The operator's policy file (`policy.yaml`, or a legacy `policy.json`):
//! a mapping of rule name to rule, read once at startup.
//!
//! oslo.policy reads both formats with one YAML loader; here JSON is tried
//! first for text that starts with `{` (for exact JSON error positions), and
//! YAML otherwise or when that fails. Any bad rule fails the whole file, with
//! the file and rule named, where oslo.policy would log it and deny.

use std::path::Path;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use super::check::Check;
use super::parser::{parse_legacy_list, parse_rule};

/// Load a policy file: every rule in file order, including names Glance does
/// not define (oslo.policy allows those; other rules may refer to them).
pub fn load_policy_file(path: &Path) -> Result<Vec<(String, Check)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("policy file {}: cannot read: {e}", path.display()))?;
    parse_policy_document(&text).map_err(|e| format!("policy file {}: {e}", path.display()))
}

/// The contents of a policy file. An empty (or comment-only, or `null`)
/// document has no rules, as in oslo.policy.
pub fn parse_policy_document(text: &str) -> Result<Vec<(String, Check)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => return from_json(&v),
            // YAML flow mappings also start with `{` (and oslo reads JSON as
            // YAML), so only report the JSON error if YAML fails too.
            Err(json_err) => {
                return from_yaml(text).map_err(|_| format!("invalid JSON: {json_err}"));
            }
        }
    }
    from_yaml(text)
}

fn from_json(v: &Value) -> Result<Vec<(String, Check)>, String> {
    let map = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        _ => return Err("expected a mapping of rule names to rules".into()),
    };
    map.iter()
        .map(|(name, rule)| Ok((name.clone(), rule_value(name, rule)?)))
        .collect()
}

fn from_yaml(text: &str) -> Result<Vec<(String, Check)>, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    let doc = match docs.as_slice() {
        [] | [Yaml::Null] => return Ok(Vec::new()),
        [doc] => doc,
        _ => return Err("expected one YAML document, found several".into()),
    };
    let Yaml::Hash(map) = doc else {
        return Err("expected a mapping of rule names to rules".into());
    };
    map.iter()
        .map(|(k, v)| {
            let Yaml::String(name) = k else {
                return Err(format!("rule names must be strings, found {k:?}"));
            };
            let v = yaml_to_json(v).map_err(|e| format!("rule {name:?}: {e}"))?;
            Ok((name.clone(), rule_value(name, &v)?))
        })
        .collect()
}

/// A rule's value: a rule string, or a legacy list of lists. A missing value
/// (`name:` in YAML, `null` in JSON) allows everyone, exactly as oslo.policy
/// treats it (an empty legacy list).
fn rule_value(name: &str, v: &Value) -> Result<Check, String> {
    let parsed = match v {
        Value::String(s) => parse_rule(s),
        Value::Array(_) => parse_legacy_list(v),
        Value::Null => Ok(Check::Allow),
        Value::Bool(_) => Err("expected a rule string or a list of lists, found a boolean".into()),
        Value::Number(_) => Err("expected a rule string or a list of lists, found a number".into()),
        Value::Object(_) => {
            Err("expected a rule string or a list of lists, found a mapping".into())
        }
    };
    parsed.map_err(|e| format!("rule {name:?}: {e}"))
}

/// Bring a YAML value into the JSON model so both formats share one path.
fn yaml_to_json(y: &Yaml) -> Result<Value, String> {
    Ok(match y {
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        // Only its kind matters: a number is rejected either way.
        Yaml::Real(_) => Value::from(0.5),
        Yaml::Array(items) => {
            Value::Array(items.iter().map(yaml_to_json).collect::<Result<_, _>>()?)
        }
        Yaml::Hash(_) => Value::Object(serde_json::Map::new()),
        Yaml::Alias(_) | Yaml::BadValue => return Err("unsupported YAML value".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn role(r: &str) -> Check {
        Check::Role(r.into())
    }

    fn write(contents: &str, suffix: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new()
            .suffix(suffix)
            .tempfile()
            .unwrap_or_else(|e| panic!("tempfile: {e}"));
        f.write_all(contents.as_bytes())
            .unwrap_or_else(|e| panic!("write: {e}"));
        f
    }

    const YAML: &str = r#"# glint policy overrides
"add_member": "role:admin"
get_image: "role:admin or (role:reader and not 'private':%(visibility)s) or (role:member and project_id:%(project_id)s)"
'modify_member': 'rule:context_is_admin'   # trailing comment
my_custom_rule: role:auditor
unset_rule:
legacy: [["role:admin"], ["project_id:%(project_id)s", "role:member"]]
block: >-
  role:a
  or role:b
"#;

    #[test]
    fn yaml_file_round_trip() {
        let f = write(YAML, ".yaml");
        let rules = load_policy_file(f.path()).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "add_member",
                "get_image",
                "modify_member",
                "my_custom_rule",
                "unset_rule",
                "legacy",
                "block"
            ]
        );
        let get = |n: &str| {
            rules
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| panic!("missing {n}"))
        };
        assert_eq!(get("add_member"), role("admin"));
        assert_eq!(
            Ok(get("get_image")),
            parse_rule(
                "role:admin or (role:reader and not 'private':%(visibility)s) \
                 or (role:member and project_id:%(project_id)s)"
            )
        );
        assert_eq!(get("modify_member"), Check::Rule("context_is_admin".into()));
        assert_eq!(get("my_custom_rule"), role("auditor"));
        assert_eq!(get("unset_rule"), Check::Allow);
        assert_eq!(
            get("legacy"),
            Check::Or(vec![
                role("admin"),
                Check::And(vec![
                    Check::CredMatchesTarget {
                        cred: "project_id".into(),
                        target: "project_id".into()
                    },
                    role("member")
                ])
            ])
        );
        assert_eq!(get("block"), Check::Or(vec![role("a"), role("b")]));
    }

    #[test]
    fn json_file_round_trip() {
        let json = r#"{
            "context_is_admin": "role:admin",
            "add_member": "rule:context_is_admin",
            "get_image": "",
            "publicize_image": "!",
            "legacy": [["role:admin"], ["project_id:%(project_id)s", "role:member"]],
            "empty_legacy": [],
            "unknown_rule": "@"
        }"#;
        let f = write(json, ".json");
        let rules = load_policy_file(f.path()).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(&str, &Check)> = rules.iter().map(|(n, c)| (n.as_str(), c)).collect();
        let legacy = Check::Or(vec![
            role("admin"),
            Check::And(vec![
                Check::CredMatchesTarget {
                    cred: "project_id".into(),
                    target: "project_id".into(),
                },
                role("member"),
            ]),
        ]);
        assert_eq!(
            got,
            vec![
                ("context_is_admin", &role("admin")),
                ("add_member", &Check::Rule("context_is_admin".into())),
                ("get_image", &Check::Allow),
                ("publicize_image", &Check::Deny),
                ("legacy", &legacy),
                ("empty_legacy", &Check::Allow),
                ("unknown_rule", &Check::Allow),
            ]
        );
    }

    #[test]
    fn documents_without_rules() {
        for text in [
            "",
            "\n",
            "# only a comment\n",
            "---\n",
            "~\n",
            "{}",
            "null",
            "\u{feff}{}",
        ] {
            assert_eq!(parse_policy_document(text), Ok(vec![]), "{text:?}");
        }
    }

    #[test]
    fn yaml_flow_mapping_and_json_as_yaml() {
        // Not JSON (trailing comma, unquoted key) but valid YAML, as oslo reads it.
        let got = parse_policy_document("{add_member: 'role:admin',}");
        assert_eq!(got, Ok(vec![("add_member".into(), role("admin"))]));
        // JSON that does not start with `{` still parses as YAML.
        let got = parse_policy_document("\n\"add_member\": \"role:admin\"");
        assert_eq!(got, Ok(vec![("add_member".into(), role("admin"))]));
    }

    #[test]
    fn errors_name_file_and_rule() {
        let f = write("add_member: \"role:admin)\"\n", ".yaml");
        let err = load_policy_file(f.path()).err().unwrap_or_default();
        assert_eq!(
            err,
            format!(
                "policy file {}: rule \"add_member\": unexpected token ')' at position 11",
                f.path().display()
            )
        );
        let missing = Path::new("/nonexistent/glint/policy.yaml");
        let err = load_policy_file(missing).err().unwrap_or_default();
        assert!(
            err.starts_with("policy file /nonexistent/glint/policy.yaml: cannot read: "),
            "{err}"
        );
    }

    #[test]
    fn document_errors() {
        let cases: Vec<(&str, &str)> = vec![
            (
                "{\"a\": \"role:x\" \"b\": 1}",
                "invalid JSON: expected `,` or `}` at line 1 column 16",
            ),
            ("a: [unclosed\n", "invalid YAML: "),
            ("a: role:x\na: role:y\n", "invalid YAML: "),
            (
                "- role:admin\n",
                "expected a mapping of rule names to rules",
            ),
            (
                "[\"role:admin\"]",
                "expected a mapping of rule names to rules",
            ),
            ("\"just a string\"", "expected a mapping"),
            (
                "a: x\n---\nb: y\n",
                "expected one YAML document, found several",
            ),
            (
                "1: role:admin\n",
                "rule names must be strings, found Integer(1)",
            ),
            (
                "a: 1\n",
                "rule \"a\": expected a rule string or a list of lists, found a number",
            ),
            (
                "a: true\n",
                "rule \"a\": expected a rule string or a list of lists, found a boolean",
            ),
            (
                "a: 1.5\n",
                "rule \"a\": expected a rule string or a list of lists, found a number",
            ),
            (
                "a: {b: c}\n",
                "rule \"a\": expected a rule string or a list of lists, found a mapping",
            ),
            (
                "{\"a\": {\"b\": 1}}",
                "rule \"a\": expected a rule string or a list of lists, found a mapping",
            ),
            (
                "a: [[1]]\n",
                "rule \"a\": list item [0][0] must be a string, found a number",
            ),
            (
                "{\"a\": [[\"role:x or role:y\"]]}",
                "rule \"a\": list item [0][0] \"role:x or role:y\" contains whitespace",
            ),
            (
                "a: \"http://pdp/check\"\n",
                "rule \"a\": check 'http://pdp/check' at position 1: 'http:' checks",
            ),
            ("a: \" \"\n", "rule \"a\": rule is blank"),
            (
                "ok: role:x\nbad: role:x and\n",
                "rule \"bad\": unexpected end of rule after 'and' at position 8",
            ),
        ];
        for (text, want) in cases {
            match parse_policy_document(text) {
                Err(e) => assert!(e.contains(want), "{text:?}: got {e:?}, want {want:?}"),
                Ok(r) => panic!("{text:?} loaded as {r:?}"),
            }
        }
    }

    /// The sample handed to operators in the integration notes.
    #[test]
    fn sample_policy_yaml() {
        use crate::domain::context::RequestContext;
        use crate::policy::check::Target;

        let sample = r#"
# Only admins may share images.
"add_member": "role:admin"
# Readers see their own project's images and public ones, but not community
# images unless they are also members; admins see everything.
"get_image": "role:admin or (role:reader and (project_id:%(project_id)s or 'public':%(visibility)s)) or (role:member and not 'private':%(visibility)s)"
"#;
        let rules = parse_policy_document(sample).unwrap_or_else(|e| panic!("{e}"));
        let find = |n: &str| rules.iter().find(|(k, _)| k == n).map(|(_, c)| c.clone());
        let none = |_: &str| -> Option<&Check> { None };
        let target = |owner: &str, vis: &str| {
            let mut t = Target::new();
            t.insert("project_id", owner.to_owned());
            t.insert("visibility", vis.to_owned());
            t
        };
        let admin = RequestContext::new(Some("p9"), &["admin"]);
        let member = RequestContext::new(Some("p1"), &["member"]);
        let reader = RequestContext::new(Some("p1"), &["reader"]);
        let add_member = find("add_member").unwrap_or(Check::Allow);
        assert!(add_member.eval(&admin, &target("p1", "shared"), &none));
        assert!(!add_member.eval(&member, &target("p1", "shared"), &none));
        let get_image = find("get_image").unwrap_or(Check::Deny);
        let cases = [
            (&admin, "p1", "private", true),
            (&reader, "p1", "private", true),
            (&reader, "p2", "public", true),
            (&reader, "p2", "community", false),
            (&member, "p2", "community", true),
            (&member, "p2", "private", false),
        ];
        for (ctx, owner, vis, want) in cases {
            assert_eq!(
                get_image.eval(ctx, &target(owner, vis), &none),
                want,
                "{ctx:?} {owner} {vis}"
            );
        }
    }
}
