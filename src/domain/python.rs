//! Python behaviours Glance's answers depend on, one copy each: `str.isspace` (which
//! is also what `\s`, `strip()` and `split()` use). The UUID pattern on ids is `domain::id`.

/// Python's `str.isspace` (also `\s`, `strip()` and `split()`): Unicode White_Space plus
/// the ASCII separators U+001C..U+001F.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.isspace()` for one byte taken as ASCII: false for every byte >= 0x80
/// (callers read bytes, not decoded text).
pub fn is_ascii_space(b: u8) -> bool {
    b.is_ascii() && is_space(char::from(b))
}

/// Python's `str.strip()` without arguments.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isspace_as_python() {
        // Python: ''.join(chr(c) for c in range(0x110000) if chr(c).isspace())
        let python: Vec<u32> = vec![
            0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
            0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let ours: Vec<u32> = (0..=0x10ffffu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_space(c))
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
        assert!(is_ascii_space(b'\x1f'));
        assert!(!is_ascii_space(0x85));
        assert!(!is_ascii_space(0xa0));
        assert_eq!(strip("\u{1c} a b\u{3000}\n"), "a b");
        assert_eq!(strip("\u{200b}a"), "\u{200b}a");
    }
}
