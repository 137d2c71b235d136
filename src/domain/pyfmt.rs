//! Python's `str()`/`repr()` and `pprint.pformat(width=72, sort_dicts=False)` of
//! decoded JSON values, as jsonschema prints them in the reports Glance returns.

use serde_json::{Map, Value};

use crate::domain::python::is_space as py_space;

/// Python's `str()` of a decoded JSON value (strings unquoted).
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a decoded JSON value.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                py_float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => py_str_repr(s),
        Value::Array(list) => {
            let parts: Vec<String> = list.iter().map(py_repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent outside 1e-4..1e16.
fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let whole = exp.unsigned_abs() as usize + 1;
            if digits.len() > whole {
                format!("{}.{}", &digits[..whole], &digits[whole..])
            } else {
                format!("{digits}{}.0", "0".repeat(whole - digits.len()))
            }
        } else {
            let zeros = exp.unsigned_abs() as usize - 1;
            format!("0.{}{digits}", "0".repeat(zeros))
        }
    } else {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// Python's `repr(str)`: single quotes unless only single quotes occur, escapes for
/// the non-printable characters.
pub fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !py_printable(c) => {
                let code = u32::from(c);
                if code < 0x100 {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code < 0x10000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable` without Unicode tables: control,
/// format, separator (except space), private-use and non-characters are escaped.
fn py_printable(c: char) -> bool {
    let code = u32::from(c);
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_or_separator = matches!(
        code,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_use = matches!(code, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD);
    let non_character = matches!(code, 0xFDD0..=0xFDEF) || (code & 0xFFFE) == 0xFFFE;
    !(format_or_separator || private_use || non_character)
}

/// Python's `str.splitlines(keepends=True)`.
fn py_splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let breaks = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if breaks {
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some((j, '\n')) = iter.peek().copied() {
                    end = j + 1;
                    iter.next();
                }
            }
            lines.push(&s[start..end]);
            start = end;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// Python's `re.findall(r'\S*\s*', line)` minus its trailing empty match.
fn py_word_parts(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut seen_space = false;
    for (i, c) in line.char_indices() {
        if py_space(c) {
            seen_space = true;
        } else if seen_space {
            parts.push(&line[start..i]);
            start = i;
            seen_space = false;
        }
    }
    if start < line.len() {
        parts.push(&line[start..]);
    }
    parts
}

const PPRINT_WIDTH: i64 = 72;

fn char_len(s: &str) -> i64 {
    i64::try_from(s.chars().count()).unwrap_or(i64::MAX)
}

/// `pprint.pformat(v, width=72, sort_dicts=False)`, as jsonschema prints errors.
pub fn pformat(v: &Value) -> String {
    let mut out = String::new();
    pp_format(v, &mut out, 0, 0, 0);
    out
}

fn pp_format(v: &Value, out: &mut String, indent: i64, allowance: i64, level: usize) {
    let rep = py_repr(v);
    if char_len(&rep) > PPRINT_WIDTH - indent - allowance {
        match v {
            Value::Object(map) => return pp_dict(map, out, indent, allowance, level + 1),
            Value::Array(list) => return pp_list(list, out, indent, allowance, level + 1),
            Value::String(s) => return pp_str(s, out, indent, allowance, level + 1),
            _ => {}
        }
    }
    out.push_str(&rep);
}

fn newline_indent(indent: i64) -> String {
    format!(",\n{}", " ".repeat(usize::try_from(indent).unwrap_or(0)))
}

fn pp_dict(map: &Map<String, Value>, out: &mut String, indent: i64, allowance: i64, level: usize) {
    out.push('{');
    let indent = indent + 1;
    let allowance = allowance + 1;
    let last = map.len().saturating_sub(1);
    for (i, (key, value)) in map.iter().enumerate() {
        let rep = py_str_repr(key);
        out.push_str(&rep);
        out.push_str(": ");
        let room = if i == last { allowance } else { 1 };
        pp_format(value, out, indent + char_len(&rep) + 2, room, level);
        if i != last {
            out.push_str(&newline_indent(indent));
        }
    }
    out.push('}');
}

fn pp_list(list: &[Value], out: &mut String, indent: i64, allowance: i64, level: usize) {
    out.push('[');
    let indent = indent + 1;
    let allowance = allowance + 1;
    let last = list.len().saturating_sub(1);
    for (i, value) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(&newline_indent(indent));
        }
        let room = if i == last { allowance } else { 1 };
        pp_format(value, out, indent, room, level);
    }
    out.push(']');
}

fn pp_str(s: &str, out: &mut String, indent: i64, allowance: i64, level: usize) {
    let (indent, allowance) = if level == 1 {
        (indent + 1, allowance + 1)
    } else {
        (indent, allowance)
    };
    let lines = py_splitlines(s);
    let max_width = PPRINT_WIDTH - indent;
    let mut max_width1 = max_width;
    let mut chunks: Vec<String> = Vec::new();
    let mut rep = py_str_repr(s);
    for (i, line) in lines.iter().enumerate() {
        let last_line = i + 1 == lines.len();
        rep = py_str_repr(line);
        if last_line {
            max_width1 -= allowance;
        }
        if char_len(&rep) <= max_width1 {
            chunks.push(rep.clone());
            continue;
        }
        let parts = py_word_parts(line);
        let mut max_width2 = max_width;
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            if j + 1 == parts.len() && last_line {
                max_width2 -= allowance;
            }
            if char_len(&py_str_repr(&candidate)) > max_width2 {
                if !current.is_empty() {
                    chunks.push(py_str_repr(&current));
                }
                current = (*part).to_owned();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(py_str_repr(&current));
        }
    }
    if chunks.len() <= 1 {
        out.push_str(&rep);
        return;
    }
    if level == 1 {
        out.push('(');
    }
    let pad = " ".repeat(usize::try_from(indent).unwrap_or(0));
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(chunk);
    }
    if level == 1 {
        out.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_repr() {
        let cases = [
            (1.5, "1.5"),
            (1e20, "1e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-10, "-2.5e-10"),
            (123456789.125, "123456789.125"),
            (0.1, "0.1"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (9999999999999998.0, "9999999999999998.0"),
        ];
        for (f, want) in cases {
            assert_eq!(py_float(f), want);
        }
    }

    #[test]
    fn python_str_repr() {
        let cases = [
            ("a", "'a'"),
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("both ' \"", "'both \\' \"'"),
            ("back\\slash", "'back\\\\slash'"),
            (
                "\u{1}\u{7f}\u{85}\u{a0}\u{ad}\u{200b}\u{2028}\u{3000}\u{feff}\u{e000}\u{10ffff}",
                "'\\x01\\x7f\\x85\\xa0\\xad\\u200b\\u2028\\u3000\\ufeff\\ue000\\U0010ffff'",
            ),
            (
                "caf\u{e9} \u{4e2d} \u{1f600}",
                "'caf\u{e9} \u{4e2d} \u{1f600}'",
            ),
        ];
        for (s, want) in cases {
            assert_eq!(py_str_repr(s), want);
        }
    }
}
