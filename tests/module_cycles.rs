//! No import cycle among the files of `src/` (issue #22): every file is a node, every path it
//! names into the crate (`use` trees with `{}` groups and renames, `crate::`/`super::`/`self::`
//! paths in code, paths through a name it imported) is an edge to the file that defines the
//! target. Re-exports (`pub use` in a parent module) are followed to the defining file, so a
//! `mod.rs` facade neither hides nor invents a cycle. Two kinds of reference are not edges: a
//! file's references to its own enclosing modules (`super::Item` from `store/inspect/qcow2.rs`
//! to `store/inspect/mod.rs`: Rust nests a child inside its parent, which is the package the
//! child belongs to, not a peer), and code under `#[cfg(test)]` (like a dev-dependency, it is
//! not part of the crate's structure). The test fails naming each cycle's files and the lines
//! that close it.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// One token of Rust source, comments and literals removed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// Tokens with their line numbers. Strings, chars, comments and numbers are dropped.
fn lex(src: &str) -> Vec<(Tok, usize)> {
    let b = src.as_bytes();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let count_lines = |s: &[u8]| s.iter().filter(|c| **c == b'\n').count();
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            // Block comments nest in Rust.
            let (mut depth, start) = (0, i);
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(&b[start..i]);
        } else if (c == b'r' || c == b'b') && raw_string_start(&b[i..]).is_some() {
            let (skip, hashes) = raw_string_start(&b[i..]).unwrap();
            let start = i;
            i += skip;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i = (i + close.len()).min(b.len());
            line += count_lines(&b[start..i]);
        } else if c == b'"' || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            let start = i;
            i += if c == b'b' { 2 } else { 1 };
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            line += count_lines(&b[start..i.min(b.len())]);
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): skip the literal only.
            if b.get(i + 1) == Some(&b'\\') {
                // The escaped char itself may be a quote: '\''.
                i += 3;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
            } else {
                // Lifetime or a multi-byte char: skip the quote, the name follows as an ident.
                let ch_len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                if b.get(i + 1 + ch_len) == Some(&b'\'') {
                    i += 2 + ch_len;
                } else {
                    i += 1;
                }
            }
        } else if c == b'_' || c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let word = &src[start..i];
            // `$crate` in macros is `crate`.
            let word = word.strip_prefix("r#").unwrap_or(word);
            out.push((Tok::Ident(word.to_owned()), line));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i] == b'_' || b[i] == b'.' || b[i].is_ascii_alphanumeric()) {
                // `0..n` keeps its range dots out of the number.
                if b[i] == b'.' && b.get(i + 1) == Some(&b'.') {
                    break;
                }
                i += 1;
            }
        } else if b[i..].starts_with(b"::") {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            // Skip the rest of a multi-byte char in one step.
            let len = src[i..].chars().next().map_or(1, char::len_utf8);
            if c != b'$' {
                out.push((Tok::Punct(c as char), line));
            }
            i += len;
        }
    }
    out
}

/// `r"`, `r#"`, `br##"` ...: the prefix length and the number of `#`.
fn raw_string_start(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    if b.first() == Some(&b'b') {
        i += 1;
    }
    if b.get(i) != Some(&b'r') {
        return None;
    }
    i += 1;
    let hashes = b[i..].iter().take_while(|c| **c == b'#').count();
    i += hashes;
    (b.get(i) == Some(&b'"')).then_some((i + 1, hashes))
}

/// A module path from the crate root, e.g. `["db", "connection"]`.
type ModPath = Vec<String>;

/// One `use` or code path as written, with where it is and the module it is written in.
#[derive(Debug, Clone)]
struct Ref {
    segs: Vec<String>,
    line: usize,
    /// The (possibly inline) module the path is written in.
    scope: ModPath,
    /// From a `use` item (else a path in code).
    is_use: bool,
}

/// What one file says: its paths, its `use` names (alias -> path) and its `pub use` re-exports.
#[derive(Debug, Default)]
struct FileInfo {
    refs: Vec<Ref>,
    /// Every `use` binding: (scope, alias) -> full path as written.
    aliases: HashMap<(ModPath, String), Vec<String>>,
    /// `pub use` bindings: alias -> path as written (in the file's own module).
    reexports: HashMap<String, (ModPath, Vec<String>)>,
    /// Inline `mod name { .. }` modules, as full paths.
    inline_mods: BTreeSet<ModPath>,
}

/// Expand one use tree starting at `toks[*i]` into full paths (last segment = the bound name,
/// after `as`), stopping at `;` or at the `,`/`}` closing this tree.
fn use_tree(
    toks: &[(Tok, usize)],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String)>,
) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Ident(w)) if w == "as" => {
                *i += 1;
                if let Some(Tok::Ident(alias)) = toks.get(*i).map(|t| &t.0) {
                    out.push((path.clone(), alias.clone()));
                    *i += 1;
                }
                return;
            }
            Some(Tok::Ident(w)) => {
                path.push(w.clone());
                *i += 1;
            }
            Some(Tok::Sep) => *i += 1,
            Some(Tok::Punct('*')) => {
                out.push((path.clone(), "*".into()));
                *i += 1;
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.0) {
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        None => return,
                        _ => use_tree(toks, i, &path, out),
                    }
                }
            }
            _ => {
                // `self` in a group names the prefix module itself.
                if path.last().map(String::as_str) == Some("self") {
                    path.pop();
                }
                if let Some(last) = path.last().cloned() {
                    out.push((path, last));
                }
                return;
            }
        }
    }
}

/// Whether the `mod` at `toks[i]` carries `#[cfg(test)]` (possibly after `pub` and other attributes).
fn cfg_test_before(toks: &[(Tok, usize)], i: usize) -> bool {
    let want = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    // Look back over a few tokens: other attributes and `pub(crate)` may stand between.
    (want.len()..=want.len() + 30).any(|back| {
        i >= back
            && toks[i - back..i - back + want.len()]
                .iter()
                .map(|t| &t.0)
                .eq(want.iter())
    })
}

fn parse_file(toks: &[(Tok, usize)], module: &ModPath) -> FileInfo {
    let mut info = FileInfo::default();
    // Inline modules: (path, brace depth at which it closes, under `#[cfg(test)]`).
    let mut scopes: Vec<(ModPath, usize, bool)> = vec![(module.clone(), 0, false)];
    let mut depth = 0usize;
    let mut i = 0;
    let ident = |j: usize| match toks.get(j).map(|t| &t.0) {
        Some(Tok::Ident(w)) => Some(w.as_str()),
        _ => None,
    };
    while i < toks.len() {
        let scope = scopes.last().unwrap().0.clone();
        let in_test = scopes.last().unwrap().2;
        match &toks[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if scopes.len() > 1 && scopes.last().unwrap().1 == depth {
                    scopes.pop();
                }
                i += 1;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(name), Some((Tok::Punct('{'), _))) = (ident(i + 1), toks.get(i + 2)) {
                    let mut p = scope.clone();
                    p.push(name.to_owned());
                    info.inline_mods.insert(p.clone());
                    let is_test = in_test || cfg_test_before(toks, i);
                    scopes.push((p, depth, is_test));
                    depth += 1;
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Tok::Ident(w) if w == "use" => {
                let is_pub = i > 0
                    && (ident(i - 1) == Some("pub")
                        || (toks[i - 1].0 == Tok::Punct(')')
                            && (1..=6).any(|k| i > k && ident(i - k) == Some("pub"))));
                let line = toks[i].1;
                i += 1;
                let mut paths = Vec::new();
                use_tree(toks, &mut i, &[], &mut paths);
                for (segs, alias) in paths {
                    if alias != "*" && alias != "_" {
                        info.aliases
                            .insert((scope.clone(), alias.clone()), segs.clone());
                        if is_pub && scope == *module {
                            info.reexports.insert(alias, (scope.clone(), segs.clone()));
                        }
                    }
                    if !in_test {
                        info.refs.push(Ref {
                            segs,
                            line,
                            scope: scope.clone(),
                            is_use: true,
                        });
                    }
                }
            }
            Tok::Ident(w) => {
                // A path in code: `a::b::c` not preceded by `::`.
                let preceded = i > 0 && toks[i - 1].0 == Tok::Sep;
                if !preceded && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Sep) {
                    let line = toks[i].1;
                    let mut segs = vec![w.clone()];
                    let mut j = i + 1;
                    while toks.get(j).map(|t| &t.0) == Some(&Tok::Sep) {
                        match ident(j + 1) {
                            Some(s) => segs.push(s.to_owned()),
                            None => break,
                        }
                        j += 2;
                    }
                    if !in_test {
                        info.refs.push(Ref {
                            segs,
                            line,
                            scope: scope.clone(),
                            is_use: false,
                        });
                    }
                    i = j;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    info
}

struct Crate {
    /// Module path -> file (relative to the repository).
    files: BTreeMap<ModPath, PathBuf>,
    infos: BTreeMap<ModPath, FileInfo>,
    /// Inline module -> the module of its file.
    inline_owner: HashMap<ModPath, ModPath>,
}

impl Crate {
    fn load(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let rel = p.strip_prefix(src).unwrap();
                    let mut m: ModPath = rel
                        .iter()
                        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned())
                        .collect();
                    // main.rs is another crate (the binary); it reaches the library as `glint::`.
                    if m == ["main"] {
                        continue;
                    }
                    if matches!(m.last().map(String::as_str), Some("mod" | "lib")) {
                        m.pop();
                    }
                    files.insert(m, p);
                }
            }
        }
        let mut infos = BTreeMap::new();
        let mut inline_owner = HashMap::new();
        for (m, p) in &files {
            let text = std::fs::read_to_string(p).unwrap();
            let info = parse_file(&lex(&text), m);
            for inline in &info.inline_mods {
                inline_owner.insert(inline.clone(), m.clone());
            }
            infos.insert(m.clone(), info);
        }
        Crate {
            files,
            infos,
            inline_owner,
        }
    }

    /// The file module a module path (file or inline) lives in.
    fn file_of(&self, m: &[String]) -> Option<ModPath> {
        if self.files.contains_key(m) {
            return Some(m.to_vec());
        }
        self.inline_owner.get(m).cloned()
    }

    fn is_module(&self, m: &[String]) -> bool {
        self.file_of(m).is_some()
    }

    /// Turns a path written in `scope` into an absolute one, or `None` for another crate's.
    fn absolute(
        &self,
        scope: &ModPath,
        segs: &[String],
        is_use: bool,
        depth: usize,
    ) -> Option<Vec<String>> {
        let first = segs.first()?.as_str();
        let mut abs: Vec<String>;
        let mut rest = segs;
        match first {
            "crate" => {
                abs = Vec::new();
                rest = &segs[1..];
            }
            "self" | "super" => {
                abs = scope.clone();
                while let Some(s) = rest.first() {
                    match s.as_str() {
                        "self" => {}
                        "super" => {
                            abs.pop()?;
                        }
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            name => {
                let mut child = scope.clone();
                child.push(name.to_owned());
                if self.is_module(&child) {
                    abs = scope.clone();
                } else if !is_use && depth < 8 {
                    // A name this module imported: `use crate::db; db::images::get(..)`.
                    let info = self.infos.get(&self.file_of(scope)?)?;
                    let target = info.aliases.get(&(scope.clone(), name.to_owned()))?;
                    let mut full = self.absolute(scope, target, true, depth + 1)?;
                    full.extend(segs[1..].iter().cloned());
                    return Some(full);
                } else {
                    return None;
                }
            }
        }
        abs.extend(rest.iter().cloned());
        Some(abs)
    }

    /// The file an absolute path leads to: its longest module prefix, through re-exports.
    fn target(&self, abs: &[String], depth: usize) -> Option<ModPath> {
        let mut n = abs.len();
        while n > 0 && !self.is_module(&abs[..n]) {
            n -= 1;
        }
        let file = self.file_of(&abs[..n])?;
        if depth < 8 {
            if let Some(name) = abs.get(n) {
                if let Some((scope, segs)) =
                    self.infos.get(&file).and_then(|i| i.reexports.get(name))
                {
                    if let Some(mut full) = self.absolute(scope, segs, true, 0) {
                        full.extend(abs[n + 1..].iter().cloned());
                        return self.target(&full, depth + 1);
                    }
                }
            }
        }
        Some(file)
    }

    /// file -> file -> first line that names it.
    fn edges(&self) -> BTreeMap<ModPath, BTreeMap<ModPath, usize>> {
        let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, usize>> = BTreeMap::new();
        for (m, info) in &self.infos {
            let out = edges.entry(m.clone()).or_default();
            for r in &info.refs {
                let Some(abs) = self.absolute(&r.scope, &r.segs, r.is_use, 0) else {
                    continue;
                };
                // The crate root itself (lib.rs) only lists modules.
                // Not the file itself, nor one of its enclosing modules (lib.rs included).
                let Some(t) = self.target(&abs, 0).filter(|t| !m.starts_with(t)) else {
                    continue;
                };
                out.entry(t).or_insert(r.line);
            }
        }
        edges
    }
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<ModPath, BTreeMap<ModPath, usize>>) -> Vec<Vec<ModPath>> {
    struct S<'a> {
        edges: &'a BTreeMap<ModPath, BTreeMap<ModPath, usize>>,
        index: HashMap<&'a ModPath, usize>,
        low: HashMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on: BTreeSet<&'a ModPath>,
        out: Vec<Vec<ModPath>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        if let Some(next) = s.edges.get(v) {
            for w in next.keys() {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        edges,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn name(c: &Crate, m: &ModPath) -> String {
    c.files[m]
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(&c.files[m])
        .display()
        .to_string()
}

#[test]
fn no_import_cycle_among_src_files() {
    let krate = Crate::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let edges = krate.edges();
    // The checker sees the crate's structure (it cannot pass by reading nothing): a `use super::`
    // group, a `crate::` path in code and a path through an imported module name.
    let m = |p: &str| p.split('/').map(str::to_owned).collect::<ModPath>();
    for (from, to) in [
        ("service/import", "service/transfer"),
        ("service/recovery", "service/tasks"),
        ("api/v2/images", "service/images"),
        ("service/access", "db/images"),
        ("db/connection", "config/database"),
    ] {
        assert!(
            edges.get(&m(from)).is_some_and(|e| e.contains_key(&m(to))),
            "no edge {from} -> {to}"
        );
    }
    let found = cycles(&edges);
    let report: Vec<String> = found
        .iter()
        .map(|comp| {
            let set: BTreeSet<&ModPath> = comp.iter().collect();
            let lines: Vec<String> = comp
                .iter()
                .flat_map(|a| {
                    edges[a]
                        .iter()
                        .filter(|(b, _)| set.contains(b))
                        .map(|(b, line)| {
                            format!("  {}:{line} -> {}", name(&krate, a), name(&krate, b))
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            format!("cycle among {} files:\n{}", comp.len(), lines.join("\n"))
        })
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// The parser itself, on the forms the crate uses.
#[test]
fn the_checker_sees_groups_super_and_inline_paths() {
    let toks = lex("use crate::{a::b, c as d};\n\
         use super::e::{self, f};\n\
         // use crate::not_this;\n\
         fn g() { let s = \"crate::nor_this\"; x::y(); crate::h::i(); $crate::j::k!(); }\n\
         mod inner { use super::super::o::p; }\n\
         #[cfg(test)]\n mod tests { use crate::q::r; }\n");
    let info = parse_file(&toks, &vec!["m".into(), "n".into()]);
    let written: Vec<String> = info.refs.iter().map(|r| r.segs.join("::")).collect();
    assert_eq!(
        written,
        [
            "crate::a::b",
            "crate::c",
            "super::e",
            "super::e::f",
            "x::y",
            "crate::h::i",
            "crate::j::k",
            "super::super::o::p",
        ]
    );
    assert_eq!(
        info.aliases[&(vec!["m".into(), "n".into()], "d".into())],
        ["crate", "c"]
    );
    assert_eq!(info.refs.last().unwrap().scope, ["m", "n", "inner"]);

    // A two-file cycle through a re-export and an imported name is found; without it, none.
    let mut graph: BTreeMap<ModPath, BTreeMap<ModPath, usize>> = BTreeMap::new();
    let (a, b, c) = (
        vec!["a".to_owned()],
        vec!["b".to_owned()],
        vec!["c".to_owned()],
    );
    graph.entry(a.clone()).or_default().insert(b.clone(), 1);
    graph.entry(b.clone()).or_default().insert(c.clone(), 1);
    assert!(cycles(&graph).is_empty());
    graph.entry(c.clone()).or_default().insert(a.clone(), 1);
    assert_eq!(cycles(&graph), vec![vec![a, b, c]]);
}
