//! Python `re` patterns (as jsonschema's `pattern` keyword uses them: `re.search`)
//! checked with the `regex` crate.
//!
//! The two syntaxes mostly agree; where they do not, a pattern is translated so
//! that it matches exactly what Python matches, or refused when that cannot be
//! promised. Translated: `$` (Python also matches before a final newline), `\Z`,
//! `\s`/`\S` (Python's `isspace` adds U+001C..U+001F), `\w`/`\W` (Python: letters,
//! numbers and `_`; Rust adds marks and connectors), `{,n}`, a `{` that is no
//! quantifier (a literal in Python), escaped punctuation (`\<` is a word boundary
//! in Rust) and every literal inside `[...]` (Rust reads `[`, `&&`, `--`, `~~` there
//! as set operations). Refused: back-references, look-around, inline flags,
//! comments, `\b`/`\B` outside a class, `\N{..}`, octal escapes, unknown escapes,
//! and `$` with something after it that could still consume the final newline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;

/// How many distinct compiled patterns are kept; Glance's schemas hold a handful.
const CACHE_ENTRIES: usize = 64;

/// The compiled form of a Python pattern, or why glint cannot check it.
pub fn compile(pattern: &str) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(re) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = Arc::new(
        Regex::new(&translate(pattern)?)
            .map_err(|e| format!("pattern {pattern:?} cannot be compiled: {e}"))?,
    );
    if let Ok(mut c) = cache.lock() {
        if c.len() < CACHE_ENTRIES {
            c.insert(pattern.to_owned(), Arc::clone(&re));
        }
    }
    Ok(re)
}

/// Python's `re.search(pattern, s) is not None`.
pub fn search(pattern: &str, s: &str) -> Result<bool, String> {
    Ok(compile(pattern)?.is_match(s))
}

/// `[\s\x1c-\x1f]` without the brackets: Python's `\s` inside a class.
const SPACE_ITEMS: &str = r"\s\x1C-\x1F";
/// Python's `\w` inside a class: letters, numbers, underscore.
const WORD_ITEMS: &str = r"\p{L}\p{N}_";

/// Python's "nothing to repeat" / "multiple repeat" errors.
const BAD_REPEAT: &str = "a repeat of nothing, of an anchor or of a repeat";

/// Rewrites a Python pattern into `regex` syntax with the same matches.
pub fn translate(pattern: &str) -> Result<String, String> {
    let refuse = |what: &str| Err(format!("pattern {pattern:?}: {what} cannot be checked"));
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    let mut depth = 0usize;
    // What the previous token was: Python refuses `*` after nothing, an anchor or
    // another repeat (`a**`, possessive `a*+`), which `regex` would accept.
    let mut prev = Token::Nothing;
    while i < chars.len() {
        let c = chars[i];
        let mut token = Token::Atom;
        let repeat = |prev: Token, lazy: bool| match prev {
            Token::Atom => Ok(Token::Repeat),
            Token::Repeat if lazy => Ok(Token::Lazy),
            _ => Err(format!(
                "pattern {pattern:?}: {BAD_REPEAT} cannot be checked"
            )),
        };
        match c {
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return refuse("a trailing backslash");
                };
                i += 2;
                match e {
                    'A' => {
                        out.push_str(r"\A");
                        token = Token::Nothing;
                    }
                    'd' | 'D' | 'n' | 't' | 'r' | 'f' | 'v' | 'a' => {
                        out.push('\\');
                        out.push(e);
                    }
                    'Z' => {
                        out.push_str(r"\z");
                        token = Token::Nothing;
                    }
                    's' => out.push_str(&format!("[{SPACE_ITEMS}]")),
                    'S' => out.push_str(&format!("[^{SPACE_ITEMS}]")),
                    'w' => out.push_str(&format!("[{WORD_ITEMS}]")),
                    'W' => out.push_str(&format!("[^{WORD_ITEMS}]")),
                    'x' | 'u' | 'U' => {
                        let (ch, used) = hex_escape(&chars[i..], e).ok_or_else(|| {
                            format!("pattern {pattern:?}: a bad \\{e} escape cannot be checked")
                        })?;
                        i += used;
                        push_literal(&mut out, ch);
                    }
                    '0' => {
                        // Python: `\0` plus up to two octal digits is a character.
                        let mut code = 0u32;
                        let mut used = 0;
                        while used < 2
                            && chars.get(i + used).is_some_and(|d| ('0'..='7').contains(d))
                        {
                            code = code * 8 + chars[i + used].to_digit(8).unwrap_or(0);
                            used += 1;
                        }
                        i += used;
                        push_literal(&mut out, char::from_u32(code).unwrap_or('\0'));
                    }
                    e if e.is_ascii_alphanumeric() => {
                        return refuse(&format!("the escape \\{e}"));
                    }
                    e => push_literal(&mut out, e),
                }
            }
            '[' => {
                let (class, used) = class(&chars[i..])
                    .map_err(|what| format!("pattern {pattern:?}: {what} cannot be checked"))?;
                out.push_str(&class);
                i += used;
            }
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    match chars.get(i + 2) {
                        Some(':') => {
                            out.push_str("(?:");
                            i += 3;
                        }
                        Some('P') if chars.get(i + 3) == Some(&'<') => {
                            let name: String =
                                chars[i + 4..].iter().take_while(|&&ch| ch != '>').collect();
                            let ok = name
                                .chars()
                                .next()
                                .is_some_and(|f| f == '_' || f.is_ascii_alphabetic())
                                && name
                                    .chars()
                                    .all(|ch| ch == '_' || ch.is_ascii_alphanumeric())
                                && chars.get(i + 4 + name.chars().count()) == Some(&'>');
                            if !ok {
                                return refuse("this group name");
                            }
                            out.push_str(&format!("(?P<{name}>"));
                            i += 5 + name.chars().count();
                        }
                        _ => return refuse("an extension group `(?...)`"),
                    }
                } else {
                    out.push('(');
                    i += 1;
                }
                depth += 1;
                token = Token::Nothing;
            }
            ')' => {
                depth = depth.saturating_sub(1);
                out.push(')');
                i += 1;
            }
            '$' => {
                if !nothing_follows(&chars[i + 1..], depth) {
                    return refuse("`$` followed by more pattern");
                }
                out.push_str(r"(?:\n?\z)");
                token = Token::Nothing;
                i += 1;
            }
            '{' => {
                let rest: String = chars[i..].iter().take_while(|&&ch| ch != '}').collect();
                let closed = chars.get(i + rest.chars().count()) == Some(&'}');
                match quantifier(&rest[1..]) {
                    Some(q) if closed => {
                        token = repeat(prev, false)?;
                        out.push_str(&q);
                        i += rest.chars().count() + 1;
                    }
                    _ => {
                        out.push_str(r"\{");
                        i += 1;
                    }
                }
            }
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            c => {
                if matches!(c, '*' | '+' | '?') {
                    token = repeat(prev, c == '?')?;
                    out.push(c);
                } else if matches!(c, '^' | '|') {
                    token = Token::Nothing;
                    out.push(c);
                } else if c == '.' {
                    out.push(c);
                } else {
                    push_literal(&mut out, c);
                }
                i += 1;
            }
        }
        prev = token;
    }
    Ok(out)
}

/// The kind of the token just translated, for the repeat rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Start, `(`, `|` or an anchor: nothing a repeat could apply to.
    Nothing,
    Atom,
    Repeat,
    /// A repeat made lazy (`*?`): nothing more may follow.
    Lazy,
}

/// After a `$` at `depth`: only group ends, then either the end or a top-level `|`.
/// Then nothing can follow the `$` and consume the newline it let through.
fn nothing_follows(rest: &[char], mut depth: usize) -> bool {
    for &c in rest {
        match c {
            ')' if depth > 0 => depth -= 1,
            '|' => return depth == 0,
            _ => return false,
        }
    }
    true
}

/// The body of a Python `{...}` quantifier (`m`, `m,`, `m,n`, `,n`, `,`) in `regex` syntax.
fn quantifier(body: &str) -> Option<String> {
    let digits = |s: &str| s.is_empty() || s.chars().all(|c| c.is_ascii_digit());
    match body.split_once(',') {
        None if !body.is_empty() && digits(body) => Some(format!("{{{body}}}")),
        Some((m, n)) if digits(m) && digits(n) => {
            let m = if m.is_empty() { "0" } else { m };
            Some(format!("{{{m},{n}}}"))
        }
        _ => None,
    }
}

/// `\xhh`, `\uhhhh`, `\Uhhhhhhhh` (the letter already read): the character and digits used.
fn hex_escape(rest: &[char], kind: char) -> Option<(char, usize)> {
    let n = match kind {
        'x' => 2,
        'u' => 4,
        _ => 8,
    };
    let digits: String = rest.iter().take(n).collect();
    if digits.chars().count() != n || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let code = u32::from_str_radix(&digits, 16).ok()?;
    Some((char::from_u32(code)?, n))
}

/// A literal character, escaped whenever `regex` could read it as syntax.
fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || c == '_' {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
    }
}

/// One item of a character class: a character, or a class escape's items.
enum Item {
    Char(char),
    Set(&'static str),
}

/// A Python `[...]` starting at `chars[0]`: the `regex` class and the characters used.
fn class(chars: &[char]) -> Result<(String, usize), String> {
    let mut out = String::from("[");
    let mut i = 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let first = i;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("an unterminated `[`".into());
        };
        if c == ']' && i > first {
            out.push(']');
            return Ok((out, i + 1));
        }
        let (item, used) = class_item(&chars[i..])?;
        i += used;
        // A range unless the `-` is the last thing before `]`.
        let range = chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&n| n != ']');
        match item {
            Item::Char(lo) if range => {
                let (hi, used) = class_item(&chars[i + 1..])?;
                let Item::Char(hi) = hi else {
                    return Err("a range ending in a class escape".into());
                };
                if hi < lo {
                    return Err("a reversed range".into());
                }
                i += 1 + used;
                push_literal(&mut out, lo);
                out.push('-');
                push_literal(&mut out, hi);
            }
            Item::Char(c) => push_literal(&mut out, c),
            Item::Set(_) if range => return Err("a range starting at a class escape".into()),
            Item::Set(items) => out.push_str(items),
        }
    }
}

fn class_item(chars: &[char]) -> Result<(Item, usize), String> {
    let Some(&c) = chars.first() else {
        return Err("an unterminated `[`".into());
    };
    if c != '\\' {
        return Ok((Item::Char(c), 1));
    }
    let Some(&e) = chars.get(1) else {
        return Err("a trailing backslash".into());
    };
    let simple = |ch: char| Ok((Item::Char(ch), 2));
    match e {
        'd' => Ok((Item::Set(r"\d"), 2)),
        's' => Ok((Item::Set(SPACE_ITEMS), 2)),
        'w' => Ok((Item::Set(WORD_ITEMS), 2)),
        'n' => simple('\n'),
        't' => simple('\t'),
        'r' => simple('\r'),
        'f' => simple('\u{c}'),
        'v' => simple('\u{b}'),
        'a' => simple('\u{7}'),
        'b' => simple('\u{8}'),
        'x' | 'u' | 'U' => hex_escape(&chars[2..], e)
            .map(|(ch, n)| (Item::Char(ch), 2 + n))
            .ok_or_else(|| format!("a bad \\{e} escape")),
        e if e.is_ascii_alphanumeric() => Err(format!("the class escape \\{e}")),
        e => simple(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::id::{uuid_pattern_matches, UUID_PATTERN};

    /// `(pattern, subject, Python's re.search(pattern, subject) is not None)`, checked
    /// with CPython 3.11.
    const SEARCHES: &[(&str, &str, bool)] = &[
        (UUID_PATTERN, "01234567-89ab-cdef-0123-456789abcdef", true),
        (UUID_PATTERN, "01234567-89ab-cdef-0123-456789abcdef\n", true),
        (
            UUID_PATTERN,
            "01234567-89ab-cdef-0123-456789abcdef\n\n",
            false,
        ),
        (UUID_PATTERN, "x01234567-89ab-cdef-0123-456789abcdef", false),
        ("^a$", "a\n", true),
        ("^a\\Z", "a\n", false),
        ("^a\\Z", "a", true),
        ("a$|^b", "xa", true),
        ("(a$)", "a\n", true),
        ("abc", "xxabcxx", true),
        ("^abc", "xxabc", false),
        ("^\\s$", "\u{1f}", true),
        ("^\\S$", "\u{1f}", false),
        ("^[\\s]$", "\u{1c}", true),
        ("^\\w+$", "caf\u{e9}_1\u{bd}", true),
        ("^\\w$", "\u{301}", false),
        ("^\\W$", "\u{301}", true),
        ("^\\d+$", "\u{663}1", true),
        ("^a{2}$", "aa", true),
        ("^a{,2}$", "aaa", false),
        ("^a{,2}$", "", true),
        ("^a{$", "a{", true),
        ("^a{x}$", "a{x}", true),
        ("^a*?b+?c??d{1,2}?$", "bbcdd", true),
        ("^(ab)*$", "abab", true),
        ("^\\<$", "<", true),
        ("^[[a]$", "[", true),
        ("^[a&&b]$", "&", true),
        ("^[-a]$", "-", true),
        ("^[a-]$", "-", true),
        ("^[]a]$", "]", true),
        ("^[^]a]$", "b", true),
        ("^[a-c-]$", "-", true),
        ("^[\\b]$", "\u{8}", true),
        ("^[\\x41-\\x43]+$", "ABC", true),
        ("^\\u00e9$", "\u{e9}", true),
        ("^\\0$", "\0", true),
        ("^a.b$", "a\nb", false),
        ("^(?P<x>ab)+$", "abab", true),
        ("^ #$", " #", true),
        ("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$", "10.0.0.1", true),
    ];

    #[test]
    fn searches_as_python() {
        for &(pattern, s, want) in SEARCHES {
            assert_eq!(search(pattern, s), Ok(want), "{pattern:?} on {s:?}");
        }
    }

    #[test]
    fn the_uuid_pattern_agrees_with_the_hand_written_check() {
        for s in [
            "01234567-89ab-cdef-0123-456789abcdef",
            "01234567-89AB-CDEF-0123-456789abcdef\n",
            "01234567-89ab-cdef-0123-456789abcdef\r",
            "01234567-89ab-cdef-0123-456789abcdeff",
            "0123456789abcdef0123456789abcdef",
            "",
        ] {
            assert_eq!(
                search(UUID_PATTERN, s),
                Ok(uuid_pattern_matches(s)),
                "{s:?}"
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_promise() {
        for pattern in [
            "(a)\\1",
            "(?P<x>a)(?P=x)",
            "a(?=b)",
            "a(?!b)",
            "(?<=a)b",
            "(?i)a",
            "(?#c)a",
            "\\bword\\b",
            "\\N{DASH}",
            "\\1",
            "\\q",
            "a$\\n",
            "(a$)b",
            "(a$|b)c",
            "[a",
            "[z-a]",
            "[a--]",
            "[\\d-z]",
            "\\",
            "(?P<1a>x)",
            "a**",
            "a*+",
            "a{2}*",
            "a*??",
            "*a",
            "^*",
            "(*a)",
            "a|*",
            "a$*",
            "(",
        ] {
            assert!(search(pattern, "a").is_err(), "{pattern:?} was accepted");
        }
    }
}
