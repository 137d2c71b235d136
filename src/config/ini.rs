//! The glance-api.conf file format, read as oslo.config reads it: `[section]` headers,
//! `key = value` or `key: value` lines, `#`/`;` comment lines, continuation lines that
//! start with whitespace (joined to the value with a newline), a blank line ending a
//! value, matching quotes around a value dropped. Anything else is an error naming the
//! file and line, so a typo cannot silently swallow or drop a setting.

/// One `key = value` in file order, with its section and the line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parse `text`; `origin` (the file name) prefixes every error.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Entry>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let err = |n: usize, msg: &str, line: &str| format!("{origin}:{n}: {msg}: {line:?}");
    let mut entries = Vec::new();
    let mut section: Option<String> = None;
    // The assignment being read: continuation lines may still extend it.
    let mut open: Option<(String, Vec<String>, usize)> = None;
    let flush = |open: &mut Option<(String, Vec<String>, usize)>,
                 section: &Option<String>,
                 entries: &mut Vec<Entry>| {
        if let Some((key, value, line)) = open.take() {
            let Some(section) = section else {
                return Err(err(
                    line,
                    "key outside any section (add a [section] above it)",
                    &key,
                ));
            };
            entries.push(Entry {
                section: section.clone(),
                key,
                value: value.join("\n"),
                line,
            });
        }
        Ok(())
    };
    for (i, raw_line) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw_line.trim_end();
        if line.is_empty() {
            flush(&mut open, &section, &mut entries)?;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match open.as_mut() {
                Some((_, value, _)) => value.push(line.trim_start().to_owned()),
                // oslo.config refuses this too, even for an indented comment.
                None => return Err(err(n, "unexpected continuation line", line)),
            }
            continue;
        }
        flush(&mut open, &section, &mut entries)?;
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(err(n, "invalid section header (must end with ])", line));
            };
            if name.is_empty() {
                return Err(err(n, "empty section name", line));
            }
            section = Some(name.to_owned());
        } else if line.starts_with(['#', ';']) {
            continue;
        } else {
            let sep = match (line.find('='), line.find(':')) {
                (Some(e), Some(c)) => e.min(c),
                (Some(e), None) => e,
                (None, Some(c)) => c,
                (None, None) => return Err(err(n, "no '=' or ':' in assignment", line)),
            };
            let key = line[..sep].trim();
            if key.is_empty() {
                return Err(err(n, "empty key", line));
            }
            let mut value = line[sep + 1..].trim();
            if value.len() >= 2
                && (value.starts_with('"') && value.ends_with('"')
                    || value.starts_with('\'') && value.ends_with('\''))
            {
                value = &value[1..value.len() - 1];
            }
            open = Some((key.to_owned(), vec![value.to_owned()], n));
        }
    }
    flush(&mut open, &section, &mut entries)?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(entries: &[Entry]) -> Vec<(&str, &str, &str)> {
        entries
            .iter()
            .map(|e| (e.section.as_str(), e.key.as_str(), e.value.as_str()))
            .collect()
    }

    #[test]
    fn reads_what_oslo_config_reads() {
        let text = "\u{feff}# comment\n[DEFAULT]\nbind_port = 9292\n; other comment\n\
                    debug:true\n[database]\nconnection = \"sqlite:///x\"\n\
                    hosts = a,\n  b\n\n[x]\nempty =\n";
        let e = parse(text, "f.conf").unwrap();
        assert_eq!(
            kv(&e),
            vec![
                ("DEFAULT", "bind_port", "9292"),
                ("DEFAULT", "debug", "true"),
                ("database", "connection", "sqlite:///x"),
                ("database", "hosts", "a,\nb"),
                ("x", "empty", ""),
            ]
        );
        assert_eq!(e[3].line, 8);
        // '=' before ':' splits there (a URL value keeps its colon).
        let e = parse("[d]\nurl = http://h:5000\n", "f").unwrap();
        assert_eq!(kv(&e), vec![("d", "url", "http://h:5000")]);
    }

    #[test]
    fn a_line_without_separator_is_an_error_with_its_line() {
        let e = parse(
            "[DEFAULT]\nbind_port = 1\ndebug\nworkers = 2\n",
            "/etc/g.conf",
        )
        .unwrap_err();
        assert!(e.starts_with("/etc/g.conf:3: "), "{e}");
        assert!(e.contains("'='"), "{e}");
    }

    #[test]
    fn a_key_before_any_section_is_an_error() {
        let e = parse("# hi\nbind_port = 1\n[DEFAULT]\n", "g.conf").unwrap_err();
        assert!(e.starts_with("g.conf:2: "), "{e}");
        assert!(e.contains("section"), "{e}");
    }

    #[test]
    fn other_malformed_lines_are_errors() {
        for (text, line) in [
            ("[DEFAULT\n", 1),
            ("[]\n", 1),
            ("[a]\n = v\n", 2),
            ("  x = 1\n", 1),
            ("[a]\nk = v\n\n  stray\n", 4),
            ("[a]\n\n  # indented comment\n", 3),
        ] {
            let e = parse(text, "c").unwrap_err();
            assert!(e.starts_with(&format!("c:{line}: ")), "{text:?}: {e}");
        }
    }
}
