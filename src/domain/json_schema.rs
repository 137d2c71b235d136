//! A small JSON-schema validator that answers as Python's jsonschema does in Glance
//! (`Schema.validate` with `best_match`): the keywords Glance's schemas use, in schema
//! order, with jsonschema's messages and report layout.

use std::cmp::Ordering;

use serde_json::Value;

use crate::domain::pyfmt::{pformat, py_repr, py_str_repr};
use crate::domain::pyre;
use crate::error::{Error, Result};

/// Validates `instance` against any schema without `$ref`s (inline them first) the
/// way Glance's `Schema.validate` does, answering
/// `Provided object does not match schema '<name>': <jsonschema report>`.
///
/// A schema with a `pattern` glint cannot check exactly as Python's `re` would is
/// refused whole (500, as Glance fails on a pattern Python cannot compile):
/// glint's own schemas never have one ([`check_patterns`] is tested on each).
pub fn validate_against(name: &str, schema: &Value, instance: &Value) -> Result<()> {
    check_patterns(schema)
        .map_err(|why| Error::internal(format!("schema '{name}' cannot be used: {why}")))?;
    match best_failure(schema, instance) {
        None => Ok(()),
        Some(failure) => Err(Error::bad_request(format!(
            "Provided object does not match schema '{name}': {}",
            failure.report()
        ))),
    }
}

/// Every `pattern` in `schema` and its sub-schemas compiles with Python's meaning
/// (see [`pyre`]); else why not.
pub fn check_patterns(schema: &Value) -> std::result::Result<(), String> {
    let Some(keywords) = schema.as_object() else {
        return Ok(());
    };
    for (keyword, arg) in keywords {
        match keyword.as_str() {
            "pattern" => {
                if let Some(pattern) = arg.as_str() {
                    pyre::compile(pattern)?;
                }
            }
            "properties" | "definitions" | "patternProperties" => {
                for sub in arg.as_object().into_iter().flat_map(|m| m.values()) {
                    check_patterns(sub)?;
                }
            }
            "allOf" | "anyOf" | "oneOf" => {
                for sub in arg.as_array().into_iter().flatten() {
                    check_patterns(sub)?;
                }
            }
            "items" if arg.is_array() => {
                for sub in arg.as_array().into_iter().flatten() {
                    check_patterns(sub)?;
                }
            }
            "additionalProperties" | "additionalItems" | "items" | "not" => check_patterns(arg)?,
            _ => {}
        }
    }
    Ok(())
}

/// One step in an instance or schema path (jsonschema's deque items).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Index(usize),
    Key(String),
}

impl Seg {
    fn key(s: &str) -> Seg {
        Seg::Key(s.to_owned())
    }

    fn repr(&self) -> String {
        match self {
            Seg::Index(i) => i.to_string(),
            Seg::Key(k) => py_str_repr(k),
        }
    }
}

/// A jsonschema `ValidationError`, with what its `__str__` prints.
struct Failure<'a> {
    message: String,
    keyword: &'a str,
    path: Vec<Seg>,
    schema_path: Vec<Seg>,
    schema: &'a Value,
    instance: &'a Value,
}

impl Failure<'_> {
    /// jsonschema's `_matches_type`, part of its relevance key.
    fn matches_type(&self) -> bool {
        self.schema
            .get("type")
            .is_some_and(|t| type_matches(self.instance, t))
    }

    /// jsonschema's `by_relevance()` key compared for two errors.
    fn relevance_cmp(&self, other: &Failure<'_>) -> Ordering {
        other
            .path
            .len()
            .cmp(&self.path.len())
            .then_with(|| self.path.cmp(&other.path))
            .then_with(|| (!self.matches_type()).cmp(&!other.matches_type()))
    }

    /// `str(ValidationError)`: message, failing keyword and sub-schema, instance.
    fn report(&self) -> String {
        let schema_at = &self.schema_path[..self.schema_path.len().saturating_sub(1)];
        format!(
            "{}\n\nFailed validating {} in {}:\n    {}\n\nOn {}:\n    {}",
            self.message,
            py_str_repr(self.keyword),
            format_index("schema", schema_at),
            pformat(self.schema).replace('\n', "\n    "),
            format_index("instance", &self.path),
            pformat(self.instance).replace('\n', "\n    "),
        )
    }
}

fn format_index(container: &str, segs: &[Seg]) -> String {
    let mut out = container.to_owned();
    for seg in segs {
        out.push('[');
        out.push_str(&seg.repr());
        out.push(']');
    }
    out
}

/// jsonschema's `best_match` over every error: the maximum relevance, first one on ties.
fn best_failure<'a>(schema: &'a Value, instance: &'a Value) -> Option<Failure<'a>> {
    let mut failures = Vec::new();
    collect_failures(
        schema,
        instance,
        &mut Vec::new(),
        &mut Vec::new(),
        &mut failures,
    );
    let mut best: Option<Failure<'a>> = None;
    for failure in failures {
        let better = best
            .as_ref()
            .is_none_or(|b| failure.relevance_cmp(b) == Ordering::Greater);
        if better {
            best = Some(failure);
        }
    }
    best
}

/// Walks the keywords in schema order, as jsonschema's `iter_errors` does.
fn collect_failures<'a>(
    schema: &'a Value,
    instance: &'a Value,
    path: &mut Vec<Seg>,
    schema_path: &mut Vec<Seg>,
    out: &mut Vec<Failure<'a>>,
) {
    let Some(keywords) = schema.as_object() else {
        return;
    };
    for (keyword, arg) in keywords {
        let mut fail = |message: String| {
            let mut at = schema_path.clone();
            at.push(Seg::key(keyword));
            out.push(Failure {
                message,
                keyword,
                path: path.clone(),
                schema_path: at,
                schema,
                instance,
            });
        };
        match keyword.as_str() {
            "type" if !type_matches(instance, arg) => {
                let names = match arg {
                    Value::Array(list) => list.iter().map(py_repr).collect::<Vec<_>>(),
                    other => vec![py_repr(other)],
                };
                fail(format!(
                    "{} is not of type {}",
                    py_repr(instance),
                    names.join(", ")
                ));
            }
            "enum" => {
                let allowed = arg.as_array().map(Vec::as_slice).unwrap_or_default();
                if !allowed.iter().any(|a| json_equal(a, instance)) {
                    fail(format!(
                        "{} is not one of {}",
                        py_repr(instance),
                        py_repr(arg)
                    ));
                }
            }
            "maxLength" => {
                if let (Some(s), Some(max)) = (instance.as_str(), arg.as_u64()) {
                    if s.chars().count() as u64 > max {
                        let what = if max == 0 {
                            "is expected to be empty"
                        } else {
                            "is too long"
                        };
                        fail(format!("{} {what}", py_repr(instance)));
                    }
                }
            }
            "minLength" => {
                if let (Some(s), Some(min)) = (instance.as_str(), arg.as_u64()) {
                    if (s.chars().count() as u64) < min {
                        let what = if min == 1 {
                            "should be non-empty"
                        } else {
                            "is too short"
                        };
                        fail(format!("{} {what}", py_repr(instance)));
                    }
                }
            }
            "pattern" => {
                // `check_patterns` has refused the schema if this does not compile.
                let re = arg.as_str().and_then(|p| pyre::compile(p).ok());
                if let (Some(s), Some(re)) = (instance.as_str(), re) {
                    if !re.is_match(s) {
                        fail(format!(
                            "{} does not match {}",
                            py_repr(instance),
                            py_repr(arg)
                        ));
                    }
                }
            }
            "required" => {
                if let (Some(object), Some(names)) = (instance.as_object(), arg.as_array()) {
                    for name in names.iter().filter_map(Value::as_str) {
                        if !object.contains_key(name) {
                            fail(format!("{} is a required property", py_str_repr(name)));
                        }
                    }
                }
            }
            "dependentRequired" => {
                if let (Some(object), Some(deps)) = (instance.as_object(), arg.as_object()) {
                    for (name, needs) in deps {
                        if !object.contains_key(name) {
                            continue;
                        }
                        let needs = needs.as_array().map(Vec::as_slice).unwrap_or_default();
                        for need in needs.iter().filter_map(Value::as_str) {
                            if !object.contains_key(need) {
                                fail(format!(
                                    "{} is a dependency of {}",
                                    py_str_repr(need),
                                    py_str_repr(name)
                                ));
                            }
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(object), Some(props)) = (instance.as_object(), arg.as_object()) {
                    for (name, sub) in props {
                        if let Some(value) = object.get(name) {
                            path.push(Seg::key(name));
                            schema_path.push(Seg::key("properties"));
                            schema_path.push(Seg::key(name));
                            collect_failures(sub, value, path, schema_path, out);
                            schema_path.truncate(schema_path.len() - 2);
                            path.pop();
                        }
                    }
                }
            }
            "additionalProperties" => {
                let Some(object) = instance.as_object() else {
                    continue;
                };
                let declared = keywords.get("properties").and_then(Value::as_object);
                let mut extras: Vec<&String> = object
                    .keys()
                    .filter(|k| !declared.is_some_and(|d| d.contains_key(k.as_str())))
                    .collect();
                if arg.is_object() {
                    for name in extras {
                        if let Some(value) = object.get(name) {
                            path.push(Seg::key(name));
                            schema_path.push(Seg::key("additionalProperties"));
                            collect_failures(arg, value, path, schema_path, out);
                            schema_path.pop();
                            path.pop();
                        }
                    }
                } else if arg == &Value::Bool(false) && !extras.is_empty() {
                    extras.sort();
                    let verb = if extras.len() == 1 { "was" } else { "were" };
                    let names: Vec<String> = extras.iter().map(|k| py_str_repr(k)).collect();
                    fail(format!(
                        "Additional properties are not allowed ({} {verb} unexpected)",
                        names.join(", ")
                    ));
                }
            }
            "minimum" => {
                if let (Some(x), Some(min)) = (number(instance), arg.as_f64()) {
                    if x < min {
                        fail(format!(
                            "{} is less than the minimum of {}",
                            py_repr(instance),
                            py_repr(arg)
                        ));
                    }
                }
            }
            "minItems" => {
                if let (Some(list), Some(min)) = (instance.as_array(), arg.as_u64()) {
                    if (list.len() as u64) < min {
                        let what = if min == 1 {
                            "should be non-empty"
                        } else {
                            "is too short"
                        };
                        fail(format!("{} {what}", py_repr(instance)));
                    }
                }
            }
            "uniqueItems" if arg == &Value::Bool(true) => {
                if let Some(list) = instance.as_array() {
                    // One canonical key per item (equal keys exactly when `json_equal`),
                    // so a long list costs linear time, not a comparison of every pair.
                    let mut seen = std::collections::HashSet::with_capacity(list.len());
                    let repeated = !list.iter().all(|item| seen.insert(canonical_key(item)));
                    if repeated {
                        fail(format!("{} has non-unique elements", py_repr(instance)));
                    }
                }
            }
            "allOf" => {
                for (index, sub) in arg
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    schema_path.push(Seg::key("allOf"));
                    schema_path.push(Seg::Index(index));
                    collect_failures(sub, instance, path, schema_path, out);
                    schema_path.truncate(schema_path.len() - 2);
                }
            }
            "items" => {
                if let Some(list) = instance.as_array() {
                    for (index, item) in list.iter().enumerate() {
                        path.push(Seg::Index(index));
                        schema_path.push(Seg::key("items"));
                        collect_failures(arg, item, path, schema_path, out);
                        schema_path.pop();
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

/// A JSON number (booleans are not numbers for jsonschema).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// JSON Schema type test with jsonschema's draft 6+ rules (`2.0` is an integer, `true` is not).
fn type_matches(instance: &Value, types: &Value) -> bool {
    let one = |name: &Value| match name.as_str() {
        Some("null") => instance.is_null(),
        Some("string") => instance.is_string(),
        Some("boolean") => instance.is_boolean(),
        Some("object") => instance.is_object(),
        Some("array") => instance.is_array(),
        Some("number") => instance.is_number(),
        Some("integer") => match instance {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        _ => false,
    };
    match types {
        Value::Array(list) => list.iter().any(one),
        other => one(other),
    }
}

/// jsonschema's `equal`: numbers by value (`1 == 1.0`), booleans never equal numbers.
/// A text that two values share exactly when [`json_equal`] holds between them: numbers by
/// their `f64` value, object members in key order.
fn canonical_key(v: &Value) -> String {
    fn put(v: &Value, out: &mut String) {
        match v {
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // -0.0 == 0.0 for json_equal.
                let f = if f == 0.0 { 0.0 } else { f };
                out.push_str(&format!("n{f:?}"));
            }
            Value::Array(items) => {
                out.push('[');
                for i in items {
                    put(i, out);
                    out.push(',');
                }
                out.push(']');
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    put(&map[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    put(v, &mut out);
    out
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_pattern_is_checked() {
        let schema = json!({
            "type": "object",
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z]{2}\\d+$"},
                "tags": {"type": "array", "items": {"type": "string", "pattern": "^\\S+$"}}
            }
        });
        assert_eq!(
            validate_against("x", &schema, &json!({"code": "AB12"})),
            Ok(())
        );
        assert_eq!(
            validate_against("x", &schema, &json!({"code": "AB12\n"})),
            Ok(()),
            "Python's `$` matches before a final newline"
        );
        let got = validate_against("x", &schema, &json!({"code": "ab12"})).unwrap_err();
        assert_eq!(
            got,
            Error::bad_request(
                "Provided object does not match schema 'x': 'ab12' does not match \
                 '^[A-Z]{2}\\\\d+$'\n\n\
                 Failed validating 'pattern' in schema['properties']['code']:\n    \
                 {'type': 'string', 'pattern': '^[A-Z]{2}\\\\d+$'}\n\n\
                 On instance['code']:\n    'ab12'"
            )
        );
        let got = validate_against("x", &schema, &json!({"tags": ["ok", "a\u{1f}b"]}));
        assert!(
            got.unwrap_err()
                .to_string()
                .contains("'a\\x1fb' does not match '^\\\\S+$'"),
            "Python's \\S excludes U+001F"
        );
        // Patterns only apply to strings.
        assert_eq!(
            validate_against("x", &json!({"pattern": "^a$"}), &json!(5)),
            Ok(())
        );
    }

    #[test]
    fn schemas_with_patterns_it_cannot_check_are_refused() {
        for pattern in ["(a)\\1", "a(?=b)", "\\bx", "(?i)a"] {
            let schema = json!({
                "type": "object",
                "properties": {"p": {"type": "string", "pattern": pattern}}
            });
            assert!(check_patterns(&schema).is_err(), "{pattern}");
            // Refused whole, even when the instance never reaches the pattern.
            for instance in [json!({"p": "a"}), json!({})] {
                let got = validate_against("x", &schema, &instance).unwrap_err();
                assert!(matches!(got, Error::Internal(_)), "{pattern}: {got:?}");
            }
        }
        let nested = json!({"allOf": [{"items": {"additionalProperties": {"pattern": "(?<=a)"}}}]});
        assert!(check_patterns(&nested).is_err());
    }

    #[test]
    fn glints_own_schemas_have_only_checkable_patterns() {
        let mut schemas = vec![
            crate::domain::image_schema::image_schema().clone(),
            crate::domain::task::task_schema(),
            crate::domain::task::tasks_schema(),
        ];
        for name in [
            "namespace",
            "namespaces",
            "object",
            "objects",
            "property",
            "properties",
            "tag",
            "tags",
            "resource_type",
            "resource_types",
        ] {
            schemas.push(crate::domain::metadefs::schemas::by_name(name).unwrap());
        }
        for schema in &schemas {
            assert_eq!(check_patterns(schema), Ok(()), "{}", schema["name"]);
        }
        // The image schema's id pattern is checked (it used to be the only one).
        let id = &crate::domain::image_schema::image_schema()["properties"]["id"];
        assert!(id["pattern"].is_string());
        assert!(validate_against("id", id, &json!("01234567-89ab-cdef-0123-456789abcdef")).is_ok());
        assert!(
            validate_against("id", id, &json!("01234567-89ab-cdef-0123-456789abcdeg")).is_err()
        );
    }

    #[test]
    fn unique_items_canonical_keys_agree_with_json_equal() {
        let values = [
            json!(1),
            json!(1.0),
            json!(-0.0),
            json!(0),
            json!("1"),
            json!(true),
            json!(null),
            json!([1, "a"]),
            json!([1.0, "a"]),
            json!({"a": 1, "b": [2]}),
            json!({"b": [2.0], "a": 1}),
            json!({"a": 1}),
            json!("a\",\""),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(
                    canonical_key(a) == canonical_key(b),
                    json_equal(a, b),
                    "{a} {b}"
                );
            }
        }
        // A long list of distinct strings is checked in linear time (comparing every pair
        // would be 2 * 10^10 comparisons); a repeat is still found.
        let schema = json!({"type": "array", "uniqueItems": true});
        let mut list: Vec<Value> = (0..200_000).map(|i| json!(format!("v{i}"))).collect();
        assert!(validate_against("x", &schema, &Value::Array(list.clone())).is_ok());
        list.push(json!("v7"));
        assert!(validate_against("x", &schema, &Value::Array(list)).is_err());
    }
}
