//! oslo.policy's rule language, parsed into [`Check`].
//!
//! The accepted language is oslo.policy's (`_parser.py`, `_checks.py`):
//! tokens split on whitespace, `(`/`)` peeled off token edges, keywords
//! `not` > `and` > `or` (case-insensitive), and single checks of the form
//! `@`, `!`, `role:<name>`, `rule:<name>` or `<kind>:<match>`.
//!
//! One deliberate difference: oslo.policy logs a rule it cannot understand and
//! turns it into `!`, so a typo silently locks everyone out. Here every such
//! rule is an `Err` naming the problem, so glint can refuse to start instead.
//! The same goes for checks oslo would accept but then fail on at enforcement
//! time (a malformed `%(...)s`, a literal `ast.literal_eval` rejects).

use serde_json::Value;

use super::check::Check;
// oslo's `\s+` split is Python's `str.isspace()`.
use crate::domain::python::is_space;

// `Check::eval` denies anything nested deeper than MAX_DEPTH, so a deeper rule could
// never pass; refusing it also bounds the parser's recursion.
use super::MAX_DEPTH;

/// Parse a rule in the policy language. The empty string allows everyone, as
/// in oslo.policy.
pub fn parse_rule(text: &str) -> Result<Check, String> {
    if text.is_empty() {
        return Ok(Check::Allow);
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        // oslo.policy fails to parse a blank rule and denies; say so instead.
        return Err(
            "rule is blank (use \"\" or \"@\" to allow everyone, \"!\" to allow no one)".into(),
        );
    }
    let mut p = Parser { tokens, next: 0 };
    let check = p.or_expr(0)?;
    if let Some(t) = p.peek() {
        return Err(format!(
            "unexpected token {} at position {}",
            t.shown(),
            t.pos
        ));
    }
    if depth(&check) > MAX_DEPTH {
        return Err(format!(
            "rule is nested too deeply (more than {MAX_DEPTH} levels)"
        ));
    }
    Ok(check)
}

/// Parse the legacy list-of-lists form: the outer list is OR, each inner list
/// is AND, and every item is one check (no `and`/`or`/`not`/parentheses).
/// Like oslo.policy, `[]` allows everyone, an empty inner list (or empty
/// string) is skipped, and a list of only empty inner lists allows no one.
pub fn parse_legacy_list(v: &Value) -> Result<Check, String> {
    let Value::Array(outer) = v else {
        return Err(format!(
            "expected a list of lists of checks, found {}",
            json_kind(v)
        ));
    };
    if outer.is_empty() {
        return Ok(Check::Allow);
    }
    let mut any = Vec::new();
    for (i, inner) in outer.iter().enumerate() {
        let items: Vec<(String, &Value)> = match inner {
            Value::String(s) if s.is_empty() => continue,
            Value::String(_) => vec![(format!("[{i}]"), inner)],
            Value::Array(a) if a.is_empty() => continue,
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(j, item)| (format!("[{i}][{j}]"), item))
                .collect(),
            other => {
                return Err(format!(
                    "list item [{i}] must be a string or a list of strings, found {}",
                    json_kind(other)
                ))
            }
        };
        let mut all = Vec::with_capacity(items.len());
        for (at, item) in items {
            let Value::String(s) = item else {
                return Err(format!(
                    "list item {at} must be a string, found {}",
                    json_kind(item)
                ));
            };
            // oslo.policy keeps whitespace as part of the check here (so
            // "role:admin or role:x" is one odd role name that never matches);
            // that is always a mistake, so refuse it.
            if s.chars().any(is_space) {
                return Err(format!(
                    "list item {at} {s:?} contains whitespace; each list item is a single check"
                ));
            }
            all.push(parse_check(s).map_err(|e| format!("list item {at} {s:?}: {e}"))?);
        }
        any.push(join_unless_single(all, Check::And));
    }
    Ok(match any.len() {
        0 => Check::Deny,
        _ => join_unless_single(any, Check::Or),
    })
}

fn join_unless_single(mut cs: Vec<Check>, join: fn(Vec<Check>) -> Check) -> Check {
    if cs.len() == 1 {
        cs.remove(0)
    } else {
        join(cs)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[derive(Debug)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// A token wholly inside quotes. oslo.policy lexes it but no grammar rule
    /// uses it, so it is always an error; kept to say so precisely.
    Quoted,
    Check(Check),
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    /// The token's text as written.
    text: String,
    /// 1-based character position in the rule.
    pos: usize,
}

impl Token {
    fn shown(&self) -> String {
        match self.tok {
            Tok::Quoted => self.text.clone(),
            _ => format!("'{}'", self.text),
        }
    }
}

/// oslo.policy's `_parse_tokenize`: split on whitespace, then peel leading
/// `(` and trailing `)` off each piece, so `(role:a` and `%(x)s)` work without
/// spaces while the parentheses inside `%(x)s` stay part of the check.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_space(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !is_space(chars[i]) {
            i += 1;
        }
        let word = &chars[start..i];
        let lead = word.iter().take_while(|&&c| c == '(').count();
        for k in 0..lead {
            tokens.push(Token {
                tok: Tok::LParen,
                text: "(".into(),
                pos: start + k + 1,
            });
        }
        let rest = &word[lead..];
        if rest.is_empty() {
            continue;
        }
        let trail = rest.iter().rev().take_while(|&&c| c == ')').count();
        let clean: String = rest[..rest.len() - trail].iter().collect();
        let pos = start + lead + 1;
        if !clean.is_empty() {
            let tok = match clean.to_lowercase().as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                // oslo tests the quotes before peeling `)`, so `'x')` is not quoted.
                _ if rest.len() >= 2
                    && matches!(rest[0], '\'' | '"')
                    && rest[rest.len() - 1] == rest[0] =>
                {
                    Tok::Quoted
                }
                _ => Tok::Check(
                    parse_check(&clean)
                        .map_err(|e| format!("check '{clean}' at position {pos}: {e}"))?,
                ),
            };
            tokens.push(Token {
                tok,
                text: clean.clone(),
                pos,
            });
        }
        let after = pos + (rest.len() - trail);
        for k in 0..trail {
            tokens.push(Token {
                tok: Tok::RParen,
                text: ")".into(),
                pos: after + k,
            });
        }
    }
    Ok(tokens)
}

/// Recursive descent over oslo's grammar. oslo's greedy shift-reduce parser
/// accepts exactly this language: `or` of `and` of (`not`* atom), where an
/// atom is a check or a parenthesised expression.
struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn take_if(&mut self, want: fn(&Tok) -> bool) -> bool {
        let hit = self.peek().is_some_and(|t| want(&t.tok));
        if hit {
            self.next += 1;
        }
        hit
    }

    fn or_expr(&mut self, nest: usize) -> Result<Check, String> {
        let mut items = vec![self.and_expr(nest)?];
        while self.take_if(|t| matches!(t, Tok::Or)) {
            items.push(self.and_expr(nest)?);
        }
        Ok(join_unless_single(items, Check::Or))
    }

    fn and_expr(&mut self, nest: usize) -> Result<Check, String> {
        let mut items = vec![self.unary(nest)?];
        while self.take_if(|t| matches!(t, Tok::And)) {
            items.push(self.unary(nest)?);
        }
        Ok(join_unless_single(items, Check::And))
    }

    fn unary(&mut self, nest: usize) -> Result<Check, String> {
        if nest > MAX_DEPTH {
            return Err(format!(
                "rule is nested too deeply (more than {MAX_DEPTH} levels)"
            ));
        }
        let Some(t) = self.tokens.get(self.next) else {
            return Err(self.end_error());
        };
        let (pos, shown) = (t.pos, t.shown());
        match &t.tok {
            Tok::Not => {
                self.next += 1;
                Ok(Check::Not(Box::new(self.unary(nest + 1)?)))
            }
            Tok::LParen => {
                self.next += 1;
                let inner = self.or_expr(nest + 1)?;
                match self.peek() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => {
                        self.next += 1;
                        Ok(inner)
                    }
                    Some(t) => Err(format!(
                        "unexpected token {} at position {} (expected ')' to close '(' at position {pos})",
                        t.shown(),
                        t.pos
                    )),
                    None => Err(format!("unclosed '(' at position {pos}")),
                }
            }
            Tok::Check(c) => {
                let c = c.clone();
                self.next += 1;
                Ok(c)
            }
            Tok::Quoted => Err(format!(
                "quoted string {shown} at position {pos} is not a check \
                 (a quoted literal needs a target: 'literal':%(field)s)"
            )),
            Tok::RParen | Tok::And | Tok::Or => {
                Err(format!("unexpected token {shown} at position {pos}"))
            }
        }
    }

    /// Only reached with at least one token consumed: blank rules are caught earlier.
    fn end_error(&self) -> String {
        match self.next.checked_sub(1).and_then(|i| self.tokens.get(i)) {
            Some(last) => format!(
                "unexpected end of rule after {} at position {}",
                last.shown(),
                last.pos
            ),
            None => "unexpected end of rule".into(),
        }
    }
}

/// Nesting levels as `Check::eval` counts them.
fn depth(c: &Check) -> usize {
    match c {
        Check::Not(inner) => 1 + depth(inner),
        Check::And(cs) | Check::Or(cs) => 1 + cs.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// One check (oslo's `_parse_check`): `!`, `@`, or `<kind>:<match>` split at
/// the first colon (so `role:compute:admin` is the role `compute:admin`).
fn parse_check(s: &str) -> Result<Check, String> {
    match s {
        "!" => return Ok(Check::Deny),
        "@" => return Ok(Check::Allow),
        _ => {}
    }
    let Some((kind, m)) = s.split_once(':') else {
        return Err("expected '<kind>:<match>', '@' or '!'".into());
    };
    match kind {
        // oslo uses the rule name as written, without target substitution.
        "rule" => Ok(Check::Rule(m.to_owned())),
        // oslo %-formats the role name with the target; only `%%` (a literal
        // `%`) is representable, `%(field)s` needs a check the AST lacks.
        "role" if m.replace("%%", "").contains('%') => {
            Err("target substitution in a role name is not supported".into())
        }
        "role" => Ok(Check::Role(m.replace("%%", "%"))),
        "http" | "https" => Err(format!(
            "'{kind}:' checks (remote policy servers) are not supported"
        )),
        _ => generic_check(kind, m),
    }
}

/// oslo's `GenericCheck`: the kind is a Python literal (`'public'`, `True`,
/// `42`) or else a caller-credential name; the match is `%(field)s` (a target
/// attribute) or else a literal string.
fn generic_check(kind: &str, m: &str) -> Result<Check, String> {
    let target = target_ref(m)?;
    Ok(match (kind_literal(kind)?, target) {
        (Some(literal), Match::Target(target)) => Check::LiteralMatchesTarget { literal, target },
        // Constant against constant: decide now, as oslo would at every call.
        (Some(literal), Match::Literal(v)) => {
            if literal == v {
                Check::Allow
            } else {
                Check::Deny
            }
        }
        (None, Match::Target(target)) => Check::CredMatchesTarget {
            cred: kind.to_owned(),
            target,
        },
        (None, Match::Literal(value)) => Check::CredIs {
            cred: kind.to_owned(),
            value,
        },
    })
}

enum Match {
    Target(String),
    Literal(String),
}

/// The match is Python-%-formatted with the target. Only a whole `%(field)s`
/// or a plain literal (`%%` meaning `%`) is representable; anything else
/// would raise in oslo at enforcement time or needs string interpolation.
fn target_ref(m: &str) -> Result<Match, String> {
    if let Some(field) = m.strip_prefix("%(").and_then(|r| r.strip_suffix(")s")) {
        if !field.is_empty() && !field.contains(['(', ')', '%']) {
            return Ok(Match::Target(field.to_owned()));
        }
    }
    if !m.contains('%') {
        return Ok(Match::Literal(m.to_owned()));
    }
    let unescaped = m.replace("%%", "");
    if unescaped.contains('%') {
        return Err(format!(
            "'{m}' is neither a whole '%(field)s' target reference nor a literal \
             (write a literal '%' as '%%')"
        ));
    }
    Ok(Match::Literal(m.replace("%%", "%")))
}

/// `Some(str(ast.literal_eval(kind)))` for the literals worth writing in a
/// policy (quoted strings, `True`/`False`/`None`, decimal integers), `None`
/// for a credential name, and an error for anything oslo would choke on or
/// that is an exotic literal (floats, escapes, containers).
fn kind_literal(kind: &str) -> Result<Option<String>, String> {
    if kind.is_empty() {
        return Err("nothing before ':'".into());
    }
    if matches!(kind, "True" | "False" | "None") {
        return Ok(Some(kind.to_owned()));
    }
    let first = kind.chars().next().unwrap_or(' ');
    if matches!(first, '\'' | '"') {
        let body = kind
            .strip_prefix(first)
            .and_then(|r| r.strip_suffix(first))
            .filter(|b| !b.contains(first) && !b.contains('\\'));
        return match body {
            Some(b) => Ok(Some(b.to_owned())),
            None => Err(format!(
                "{kind} is not a simple quoted literal (no escapes or inner {first} quotes)"
            )),
        };
    }
    if kind.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = kind.trim_start_matches('0');
        // Python rejects leading zeros except in 0, 00, ...
        if trimmed.len() < kind.len() && !trimmed.is_empty() {
            return Err(format!("{kind} is not a valid integer literal"));
        }
        return Ok(Some(
            if trimmed.is_empty() { "0" } else { trimmed }.to_owned(),
        ));
    }
    if first.is_ascii_digit()
        || matches!(first, '-' | '+' | '.' | '[' | '{' | '(')
        || kind.contains(['\'', '"', '(', ')'])
    {
        return Err(format!(
            "'{kind}' is neither a credential name nor a supported literal \
             (a quoted string, True, False, None or an integer); \
             are spaces missing around 'not', 'and', 'or' or parentheses?"
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::context::RequestContext;
    use crate::policy::check::Target;
    use crate::policy::rules;
    use serde_json::json;
    use std::collections::HashMap;

    fn role(r: &str) -> Check {
        Check::Role(r.into())
    }
    fn rule(r: &str) -> Check {
        Check::Rule(r.into())
    }
    fn cmt(cred: &str, target: &str) -> Check {
        Check::CredMatchesTarget {
            cred: cred.into(),
            target: target.into(),
        }
    }
    fn lmt(literal: &str, target: &str) -> Check {
        Check::LiteralMatchesTarget {
            literal: literal.into(),
            target: target.into(),
        }
    }
    fn cred_is(cred: &str, value: &str) -> Check {
        Check::CredIs {
            cred: cred.into(),
            value: value.into(),
        }
    }
    fn not(c: Check) -> Check {
        Check::Not(Box::new(c))
    }
    fn and(cs: Vec<Check>) -> Check {
        Check::And(cs)
    }
    fn or(cs: Vec<Check>) -> Check {
        Check::Or(cs)
    }
    fn a() -> Check {
        role("a")
    }
    fn b() -> Check {
        role("b")
    }
    fn c() -> Check {
        role("c")
    }
    fn d() -> Check {
        role("d")
    }

    #[test]
    fn single_checks() {
        let cases: Vec<(&str, Check)> = vec![
            ("", Check::Allow),
            ("@", Check::Allow),
            ("!", Check::Deny),
            ("role:admin", role("admin")),
            ("role:Admin", role("Admin")),
            ("role:compute:admin", role("compute:admin")),
            ("role:a%%b", role("a%b")),
            ("rule:context_is_admin", rule("context_is_admin")),
            ("rule:%(x)s", rule("%(x)s")),
            ("project_id:%(project_id)s", cmt("project_id", "project_id")),
            ("user_id:%(owner)s", cmt("user_id", "owner")),
            ("project_id:%(member_id)s", cmt("project_id", "member_id")),
            ("token.user.id:%(user_id)s", cmt("token.user.id", "user_id")),
            ("'public':%(visibility)s", lmt("public", "visibility")),
            ("\"shared\":%(visibility)s", lmt("shared", "visibility")),
            ("'':%(visibility)s", lmt("", "visibility")),
            ("True:%(enabled)s", lmt("True", "enabled")),
            ("False:%(enabled)s", lmt("False", "enabled")),
            ("None:%(x)s", lmt("None", "x")),
            ("42:%(size)s", lmt("42", "size")),
            ("0:%(size)s", lmt("0", "size")),
            ("is_admin:True", cred_is("is_admin", "True")),
            ("is_admin:False", cred_is("is_admin", "False")),
            ("project_id:abc", cred_is("project_id", "abc")),
            ("project_id:", cred_is("project_id", "")),
            ("project_id:50%%", cred_is("project_id", "50%")),
            ("user_id:a:b", cred_is("user_id", "a:b")),
            // Case-sensitive kinds, as oslo: `Role` is a credential name.
            ("Role:admin", cred_is("Role", "admin")),
            ("'x':x", Check::Allow),
            ("'x':y", Check::Deny),
            ("True:True", Check::Allow),
            ("1:01", Check::Deny),
            // Whitespace of every kind oslo's `\s+` splits on.
            ("  role:admin\t", role("admin")),
            ("\u{a0}role:admin\u{1f}", role("admin")),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rule(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn operators_and_precedence() {
        let cases: Vec<(&str, Check)> = vec![
            ("role:a and role:b", and(vec![a(), b()])),
            ("role:a and role:b and role:c", and(vec![a(), b(), c()])),
            ("role:a or role:b or role:c", or(vec![a(), b(), c()])),
            ("not role:a", not(a())),
            ("not not role:a", not(not(a()))),
            (
                "NOT role:a AND role:b Or role:c",
                or(vec![and(vec![not(a()), b()]), c()]),
            ),
            (
                "role:a or role:b and not role:c",
                or(vec![a(), and(vec![b(), not(c())])]),
            ),
            (
                "role:a and role:b or role:c and role:d",
                or(vec![and(vec![a(), b()]), and(vec![c(), d()])]),
            ),
            (
                "role:a or role:b and role:c or role:d",
                or(vec![a(), and(vec![b(), c()]), d()]),
            ),
            ("not role:a or role:b", or(vec![not(a()), b()])),
            (
                "role:a or not role:b and role:c",
                or(vec![a(), and(vec![not(b()), c()])]),
            ),
            (
                "(role:a or role:b) and role:c",
                and(vec![or(vec![a(), b()]), c()]),
            ),
            (
                "role:a and (role:b or role:c)",
                and(vec![a(), or(vec![b(), c()])]),
            ),
            ("not (role:a or role:b)", not(or(vec![a(), b()]))),
            ("(role:a)", a()),
            ("((role:a))", a()),
            ("( ( role:a ) )", a()),
            (
                "((role:a or (role:b and not (role:c))) and role:d)",
                and(vec![or(vec![a(), and(vec![b(), not(c())])]), d()]),
            ),
            ("(not role:a)", not(a())),
            (
                "(project_id:%(project_id)s)",
                cmt("project_id", "project_id"),
            ),
            (
                "role:a and ('public':%(visibility)s)",
                and(vec![a(), lmt("public", "visibility")]),
            ),
            ("@ and !", and(vec![Check::Allow, Check::Deny])),
            ("(@)", Check::Allow),
            // A keyword is only a keyword as a whole token.
            ("rule:and or role:or", or(vec![rule("and"), role("or")])),
            ("role:a\nand\r\n\trole:b", and(vec![a(), b()])),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rule(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn errors() {
        let cases: Vec<(&str, &str)> = vec![
            ("   ", "rule is blank"),
            ("role:admin)", "unexpected token ')' at position 11"),
            ("(role:admin", "unclosed '(' at position 1"),
            ("((role:a) or role:b", "unclosed '(' at position 1"),
            ("()", "unexpected token ')' at position 2"),
            (
                "role:a and",
                "unexpected end of rule after 'and' at position 8",
            ),
            ("not", "unexpected end of rule after 'not' at position 1"),
            ("and role:a", "unexpected token 'and' at position 1"),
            (
                "role:a or or role:b",
                "unexpected token 'or' at position 11",
            ),
            ("role:a role:b", "unexpected token 'role:b' at position 8"),
            (
                "(role:a role:b)",
                "unexpected token 'role:b' at position 9 (expected ')' to close '(' at position 1)",
            ),
            ("role:a not role:b", "unexpected token 'not' at position 8"),
            (
                "admin",
                "check 'admin' at position 1: expected '<kind>:<match>'",
            ),
            (
                "True",
                "check 'True' at position 1: expected '<kind>:<match>'",
            ),
            ("role:a or @@", "check '@@' at position 11"),
            (
                "'public'",
                "quoted string 'public' at position 1 is not a check",
            ),
            ("\"role:admin\"", "quoted string"),
            ("'a':'b'", "quoted string"),
            (
                "http://example.com/check",
                "'http:' checks (remote policy servers) are not supported",
            ),
            ("https:x", "'https:' checks"),
            (
                "role:%(role)s",
                "target substitution in a role name is not supported",
            ),
            (
                "project_id:%(project_id)",
                "neither a whole '%(field)s' target reference",
            ),
            ("project_id:%(a)s-%(b)s", "neither a whole"),
            ("project_id:%(a)d", "neither a whole"),
            ("project_id:%()s", "neither a whole"),
            ("project_id:50%", "neither a whole"),
            (":x", "nothing before ':'"),
            ("'a\\'b':%(x)s", "not a simple quoted literal"),
            ("'a:%(x)s", "not a simple quoted literal"),
            ("01:%(x)s", "not a valid integer literal"),
            (
                "1.5:%(x)s",
                "neither a credential name nor a supported literal",
            ),
            ("-1:%(x)s", "neither a credential name"),
            ("1a:%(x)s", "neither a credential name"),
            ("not(role:a)", "spaces missing"),
            ("role:a and('public':%(visibility)s)", "spaces missing"),
        ];
        for (text, want) in cases {
            match parse_rule(text) {
                Err(e) => assert!(e.contains(want), "{text:?}: got {e:?}, want {want:?}"),
                Ok(c) => panic!("{text:?} parsed as {c:?}"),
            }
        }
    }

    #[test]
    fn nesting_limit() {
        let ok = format!("{}role:a{}", "(".repeat(30), ")".repeat(30));
        assert_eq!(parse_rule(&ok), Ok(a()));
        let deep = format!("{}role:a{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_rule(&deep).is_err_and(|e| e.contains("nested too deeply")));
        let nots = format!("{}role:a", "not ".repeat(33));
        assert!(parse_rule(&nots).is_err_and(|e| e.contains("nested too deeply")));
        let fine = format!("{}role:a", "not ".repeat(32));
        assert!(parse_rule(&fine).is_ok());
        // 20 levels of alternating or/and: 40 levels in the tree.
        let mut s = "role:a".to_owned();
        for _ in 0..20 {
            s = format!("role:b or role:c and ({s})");
        }
        assert!(parse_rule(&s).is_err_and(|e| e.contains("nested too deeply")));
    }

    #[test]
    fn legacy_lists() {
        let cases: Vec<(Value, Check)> = vec![
            (json!([]), Check::Allow),
            (json!([[]]), Check::Deny),
            (json!([[], ""]), Check::Deny),
            (json!(["role:admin"]), role("admin")),
            (json!([["role:admin"]]), role("admin")),
            (json!([["@"]]), Check::Allow),
            (json!([["!"]]), Check::Deny),
            (
                json!([["role:admin"], ["project_id:%(project_id)s", "role:member"]]),
                or(vec![
                    role("admin"),
                    and(vec![cmt("project_id", "project_id"), role("member")]),
                ]),
            ),
            (
                json!([
                    ["role:a", "role:b"],
                    [],
                    "role:c",
                    ["'public':%(visibility)s"]
                ]),
                or(vec![and(vec![a(), b()]), c(), lmt("public", "visibility")]),
            ),
            (json!([["is_admin:True"]]), cred_is("is_admin", "True")),
            // Items are single checks: parentheses are part of the check.
            (json!([["role:(a)"]]), role("(a)")),
        ];
        for (v, want) in cases {
            assert_eq!(parse_legacy_list(&v), Ok(want), "{v}");
        }
        let errors: Vec<(Value, &str)> = vec![
            (
                json!("role:a"),
                "expected a list of lists of checks, found a string",
            ),
            (json!({"a": 1}), "found a mapping"),
            (
                json!([1]),
                "list item [0] must be a string or a list of strings, found a number",
            ),
            (
                json!([["role:a", null]]),
                "list item [0][1] must be a string, found null",
            ),
            (
                json!([["role:a"], [["x"]]]),
                "list item [1][0] must be a string, found a list",
            ),
            (
                json!([["role:a or role:b"]]),
                "list item [0][0] \"role:a or role:b\" contains whitespace",
            ),
            (
                json!([["role:a"], ["admin"]]),
                "list item [1][0] \"admin\": expected '<kind>:<match>'",
            ),
            (json!([[""]]), "list item [0][0] \"\": expected"),
            (
                json!(["http:x"]),
                "list item [0] \"http:x\": 'http:' checks",
            ),
        ];
        for (v, want) in errors {
            match parse_legacy_list(&v) {
                Err(e) => assert!(e.contains(want), "{v}: got {e:?}, want {want:?}"),
                Ok(c) => panic!("{v} parsed as {c:?}"),
            }
        }
    }

    /// Glance's own default check strings (glance/policies/base.py), built the
    /// same way Glance composes them.
    fn glance_defaults() -> Vec<(&'static str, String)> {
        let project_member = "role:member and project_id:%(project_id)s";
        let project_reader = "role:reader and project_id:%(project_id)s";
        let image_member = "project_id:%(member_id)s";
        let vis = "'community':%(visibility)s or 'public':%(visibility)s \
                   or 'shared':%(visibility)s";
        let sees =
            |r: &str| format!("{r} and (project_id:%(project_id)s or {image_member} or {vis})");
        let admin = "rule:context_is_admin";
        let admin_or_project_member = format!("{admin} or ({project_member})");
        let admin_or_project_reader = format!("{admin} or ({project_reader})");
        let get_image = format!("{admin} or ({})", sees("role:reader"));
        let download = format!("{admin} or ({})", sees("role:member"));
        let create = format!("{admin} or ({project_member} and project_id:%(owner)s)");
        let shared_member = format!("{admin} or (role:member and {image_member})");
        let reader_or_shared =
            format!("{admin} or role:reader and (project_id:%(project_id)s or {image_member})");
        let mut v = vec![
            ("context_is_admin", "role:admin".to_owned()),
            ("get_images", admin_or_project_reader.clone()),
            ("get_image_location", admin_or_project_reader),
            ("delete_image_location", admin.to_owned()),
            ("copy_image", admin.to_owned()),
            ("service_api", "role:service or role:admin".to_owned()),
            (
                "add_image_location",
                format!("rule:service_api or ({project_member} and project_id:%(owner)s)"),
            ),
            ("fetch_image_location", "rule:service_api".to_owned()),
            ("get_image", get_image),
            ("download_image", download),
            ("add_image", create),
            ("publicize_image", admin.to_owned()),
            (
                "stores_info_detail",
                "role:admin or role:service".to_owned(),
            ),
            ("get_member", reader_or_shared.clone()),
            ("get_members", reader_or_shared),
            ("modify_member", shared_member),
            ("tasks_api_access", admin.to_owned()),
        ];
        for name in [
            "modify_image",
            "delete_image",
            "upload_image",
            "deactivate",
            "reactivate",
            "communitize_image",
            "add_member",
            "delete_member",
            "set_image_location",
        ] {
            v.push((name, admin_or_project_member.clone()));
        }
        v
    }

    fn contexts() -> Vec<RequestContext> {
        let mut user = RequestContext::new(Some("p1"), &["member"]);
        user.user_id = Some("u1".into());
        vec![
            RequestContext::new(Some("p1"), &["admin"]),
            RequestContext::new(Some("p2"), &["Admin"]),
            RequestContext::new(None, &["admin"]),
            RequestContext::new(Some("p1"), &["member"]),
            RequestContext::new(Some("p1"), &["reader"]),
            RequestContext::new(Some("p2"), &["member"]),
            RequestContext::new(Some("p2"), &["reader"]),
            RequestContext::new(Some("p3"), &["member", "reader"]),
            RequestContext::new(Some("p1"), &[]),
            RequestContext::new(Some("p1"), &["_member_", "heat_stack_owner"]),
            RequestContext::new(None, &["member"]),
            RequestContext::new(Some("p2"), &["service"]),
            user,
        ]
    }

    fn targets() -> Vec<Target> {
        let mut out = vec![Target::new()];
        for owner in [Some("p1"), Some("p2"), None] {
            for vis in ["private", "shared", "community", "public"] {
                for member in [None, Some("p1"), Some("p2")] {
                    let mut t = Target::new();
                    if let Some(o) = owner {
                        t.insert("project_id", o.into());
                        t.insert("owner", o.into());
                    }
                    t.insert("visibility", vis.into());
                    if let Some(m) = member {
                        t.insert("member_id", m.into());
                    }
                    out.push(t);
                }
            }
        }
        out
    }

    #[test]
    fn glance_default_strings_match_builtin_defaults() {
        let parsed: HashMap<&str, Check> = glance_defaults()
            .into_iter()
            .map(|(name, text)| {
                let c = parse_rule(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                (name, c)
            })
            .collect();
        let builtin: HashMap<&str, Check> = rules::defaults().into_iter().collect();
        let parsed_lookup = |n: &str| parsed.get(n);
        let builtin_lookup = |n: &str| builtin.get(n);
        let (ctxs, tgts) = (contexts(), targets());
        let mut compared = 0;
        for (name, want) in &builtin {
            if *name == "default" || name.starts_with("glint:") {
                // Glance's `default` is "" (allow); glint's is `!` on purpose. `glint:` rules are
                // glint's own (the sharing extensions): Glance has no string for them.
                continue;
            }
            let got = parsed
                .get(name)
                .unwrap_or_else(|| panic!("no Glance string for {name}"));
            for ctx in &ctxs {
                for t in &tgts {
                    assert_eq!(
                        got.eval(ctx, t, &parsed_lookup),
                        want.eval(ctx, t, &builtin_lookup),
                        "{name} for {ctx:?} on {t:?}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 1000);
    }

    #[test]
    fn glance_get_image_tree() {
        let text = &glance_defaults()
            .into_iter()
            .find(|(n, _)| *n == "get_image")
            .map(|(_, t)| t)
            .unwrap_or_default();
        let want = or(vec![
            rule("context_is_admin"),
            and(vec![
                role("reader"),
                or(vec![
                    cmt("project_id", "project_id"),
                    cmt("project_id", "member_id"),
                    lmt("community", "visibility"),
                    lmt("public", "visibility"),
                    lmt("shared", "visibility"),
                ]),
            ]),
        ]);
        assert_eq!(parse_rule(text), Ok(want));
    }

    #[test]
    fn parsed_checks_evaluate() {
        let none = |_: &str| None;
        let admin = RequestContext::new(Some("p1"), &["admin"]);
        let member = RequestContext::new(Some("p1"), &["member"]);
        let mut t = Target::new();
        t.insert("project_id", "p1".into());
        t.insert("visibility", "public".into());
        let cases: Vec<(&str, &RequestContext, bool)> = vec![
            ("is_admin:True", &admin, true),
            ("is_admin:True", &member, false),
            ("is_admin:False", &member, true),
            ("project_id:p1", &member, true),
            ("project_id:p2", &member, false),
            ("project_id:%(project_id)s", &member, true),
            ("project_id:%(missing)s", &member, false),
            ("'public':%(visibility)s", &member, true),
            ("\"private\":%(visibility)s", &member, false),
            ("not role:admin", &member, true),
            ("not role:admin", &admin, false),
            ("role:member and not role:admin", &member, true),
            ("role:member and not role:admin", &admin, false),
            (
                "role:nobody or role:member and project_id:p1",
                &member,
                true,
            ),
            (
                "(role:nobody or role:member) and project_id:p2",
                &member,
                false,
            ),
            ("rule:missing", &admin, false),
        ];
        for (text, ctx, want) in cases {
            let c = parse_rule(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.eval(ctx, &t, &none), want, "{text} for {ctx:?}");
        }
    }
}
