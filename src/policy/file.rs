//! The operator's policy file (`policy.yaml`, or a legacy `policy.json`):
//! a mapping of rule name to rule, read once at startup.
//!
//! oslo.policy reads both formats with one YAML loader; here JSON is tried
//! first for text that starts with `{` (for exact JSON error positions), and
//! YAML otherwise or when that fails. Any bad rule fails the whole file, with
//! the file and rule named, where oslo.policy would log it and deny.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use yaml_rust2::parser::{EventReceiver, Parser};
use yaml_rust2::{Event, Yaml, YamlLoader};

use super::check::Check;
use super::parser::{parse_legacy_list, parse_rule};
use crate::domain::limits::{MAX_POLICY_FILE_BYTES, MAX_POLICY_NESTING, MAX_POLICY_NODES};

/// Load a policy file: every rule in file order, including names Glance does
/// not define (oslo.policy allows those; other rules may refer to them).
pub fn load_policy_file(path: &Path) -> Result<Vec<(String, Check)>, String> {
    let text = read_bounded(path).map_err(|e| format!("policy file {}: {e}", path.display()))?;
    parse_policy_document(&text).map_err(|e| format!("policy file {}: {e}", path.display()))
}

/// Load a policy file and check its rules as start-up does (every `rule:` defined, no
/// cycle, nothing nested too deeply): what `glint check-config` runs. The number of rules.
pub fn check_policy_file(path: &Path) -> Result<usize, String> {
    let overrides = load_policy_file(path)?;
    let n = overrides.len();
    super::Enforcer::default()
        .with_overrides(overrides)
        .validate()
        .map_err(|e| format!("policy file {}: {e}", path.display()))?;
    Ok(n)
}

/// The file's text, refusing one larger than [`MAX_POLICY_FILE_BYTES`] without reading
/// more than one byte beyond the limit (the file may be growing, or be a device).
fn read_bounded(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_POLICY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_POLICY_FILE_BYTES {
        return Err(format!(
            "larger than {MAX_POLICY_FILE_BYTES} bytes; refusing to read it"
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("cannot read: not UTF-8 ({e})"))
}

/// The contents of a policy file. An empty (or comment-only, or `null`)
/// document has no rules, as in oslo.policy.
pub fn parse_policy_document(text: &str) -> Result<Vec<(String, Check)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                if json_depth(&v) > MAX_POLICY_NESTING {
                    return Err(format!(
                        "the JSON document is nested more than {MAX_POLICY_NESTING} levels \
                         deep; refusing to load it"
                    ));
                }
                return from_json(&v);
            }
            // YAML flow mappings also start with `{` (and oslo reads JSON as
            // YAML), so only report the JSON error if YAML fails too.
            Err(json_err) => {
                return from_yaml(text).map_err(|_| format!("invalid JSON: {json_err}"));
            }
        }
    }
    from_yaml(text)
}

/// Collection nesting of a JSON value (serde_json already stops at 128 levels).
fn json_depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
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
    // yaml-rust2's loader copies an alias's whole subtree at each use, so nested aliases
    // grow exponentially (a few hundred bytes can ask for gigabytes) and deep nesting
    // recurses: measure the document from its event stream, in time and memory linear in
    // the text, before building anything.
    measure_yaml(text)?;
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

/// What the YAML document would become once loaded, counted from its events.
#[derive(Default)]
struct YamlSize {
    /// Nodes so far, every alias counted as the nodes it stands for.
    nodes: u64,
    /// Open collections: (anchor id, nodes inside so far, deepest nesting inside).
    open: Vec<(usize, u64, usize)>,
    /// Each anchor's expanded size and nesting.
    anchors: HashMap<usize, (u64, usize)>,
    /// The first limit met, if any (the parser cannot be stopped from a receiver).
    exceeded: Option<String>,
}

impl YamlSize {
    /// A finished node of `nodes` nodes and `depth` levels, at the current position.
    fn add(&mut self, nodes: u64, depth: usize) {
        self.nodes = self.nodes.saturating_add(nodes);
        let at = self.open.len();
        if let Some((_, inner, deepest)) = self.open.last_mut() {
            *inner = inner.saturating_add(nodes);
            *deepest = (*deepest).max(depth);
        }
        if self.exceeded.is_none() {
            if self.nodes > MAX_POLICY_NODES {
                self.exceeded = Some(format!(
                    "the YAML document expands to more than {MAX_POLICY_NODES} nodes \
                     (nested aliases?); refusing to load it"
                ));
            } else if at + depth > MAX_POLICY_NESTING {
                self.exceeded = Some(format!(
                    "the YAML document is nested more than {MAX_POLICY_NESTING} levels deep; \
                     refusing to load it"
                ));
            }
        }
    }
}

impl EventReceiver for YamlSize {
    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Scalar(_, _, anchor, _) => {
                if anchor > 0 {
                    self.anchors.insert(anchor, (1, 0));
                }
                self.add(1, 0);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.open.push((anchor, 1, 0));
                if self.exceeded.is_none() && self.open.len() > MAX_POLICY_NESTING {
                    self.exceeded = Some(format!(
                        "the YAML document is nested more than {MAX_POLICY_NESTING} levels \
                         deep; refusing to load it"
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, nodes, deepest)) = self.open.pop() {
                    if anchor > 0 {
                        self.anchors.insert(anchor, (nodes, deepest + 1));
                    }
                    // The collection itself was counted in `nodes`; its contents already
                    // went into the running total.
                    self.nodes = self.nodes.saturating_add(1);
                    if let Some((_, inner, d)) = self.open.last_mut() {
                        *inner = inner.saturating_add(nodes);
                        *d = (*d).max(deepest + 1);
                    }
                    self.add(0, 0);
                }
            }
            Event::Alias(anchor) => {
                let (nodes, depth) = self.anchors.get(&anchor).copied().unwrap_or((1, 0));
                self.add(nodes, depth);
            }
            _ => {}
        }
    }
}

/// Refuse a YAML document that would expand beyond [`MAX_POLICY_NODES`] nodes or nest
/// beyond [`MAX_POLICY_NESTING`] levels.
fn measure_yaml(text: &str) -> Result<(), String> {
    let mut size = YamlSize::default();
    Parser::new_from_str(text)
        .load(&mut size, true)
        .map_err(|e| format!("invalid YAML: {e}"))?;
    match size.exceeded {
        Some(why) => Err(why),
        None => Ok(()),
    }
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

    /// Nine levels of nine aliases each (about 400 bytes) stand for 9^9 nodes.
    fn alias_bomb() -> String {
        let mut y = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(",");
            y.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        y
    }

    #[test]
    fn alias_bomb_is_refused_fast() {
        let bomb = alias_bomb();
        assert!(bomb.len() < 500, "{}", bomb.len());
        let f = write(&bomb, ".yaml");
        let started = std::time::Instant::now();
        let e = load_policy_file(f.path()).map(|r| r.len()).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        assert!(e.contains("expands to more than 100000 nodes"), "{e}");
    }

    #[test]
    fn a_few_aliases_still_load() {
        let y = "base: &admin \"role:admin\"\nadd_member: *admin\nlegacy: &l [[\"role:a\"]]\nother: *l\n";
        let rules = parse_policy_document(y).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[1].1, role("admin"));
        assert_eq!(rules[3].1, role("a"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("a: {}{}\n", "[".repeat(40), "]".repeat(40));
        let e = parse_policy_document(&deep).map(|r| r.len()).unwrap_err();
        assert!(e.contains("nested more than 32 levels"), "{e}");
        // Far deeper: the scanner's own limit answers first, an error all the same.
        let deeper = format!("a: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
        let e = parse_policy_document(&deeper).map(|r| r.len()).unwrap_err();
        assert!(e.contains("invalid YAML"), "{e}");
        // Block nesting has no scanner limit: ours applies.
        let mut block = String::new();
        for i in 0..40 {
            block.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
        }
        let e = parse_policy_document(&block).map(|r| r.len()).unwrap_err();
        assert!(e.contains("nested more than 32 levels"), "{e}");
        // Nested aliases add their depth to where they are used.
        let y = "a: &a [[[[[[[[[[[[[[[[[[[[\"x\"]]]]]]]]]]]]]]]]]]]]\nb: [[[[[[[[[[[[[[*a]]]]]]]]]]]]]]\n";
        let e = parse_policy_document(y).map(|r| r.len()).unwrap_err();
        assert!(e.contains("nested more than 32 levels"), "{e}");
        let json = format!("{{\"a\": {}{}}}", "[".repeat(40), "]".repeat(40));
        let e = parse_policy_document(&json).map(|r| r.len()).unwrap_err();
        assert!(
            e.contains("JSON document is nested more than 32 levels"),
            "{e}"
        );
        // JSON: serde_json's own recursion limit, then the YAML reading refuses it too.
        let json = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_policy_document(&json).is_err());
    }

    #[test]
    fn oversized_file_is_refused() {
        let big = format!("a: \"{}\"\n", "x".repeat(MAX_POLICY_FILE_BYTES as usize));
        let f = write(&big, ".yaml");
        let e = load_policy_file(f.path()).map(|r| r.len()).unwrap_err();
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        assert!(e.contains("larger than 1048576 bytes"), "{e}");
    }
}
