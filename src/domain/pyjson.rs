//! JSON as Python's `json.dumps` writes it with its default separators (`", "` and `": "`).
//! Glance's API bodies keep non-ASCII characters raw; oslo.messaging's envelopes use
//! `ensure_ascii` (everything beyond ASCII as `\uXXXX`, UTF-16 surrogate pairs).

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// The serde_json formatter for `json.dumps`; `ensure_ascii` as Python's flag.
pub struct PyJson {
    pub ensure_ascii: bool,
}

impl Formatter for PyJson {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if !self.ensure_ascii {
            return w.write_all(fragment.as_bytes());
        }
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// `json.dumps(value, ensure_ascii=...)`; `None` only for a value serde cannot write
/// (a map with non-string keys), which glint never builds.
pub fn dumps<T: Serialize + ?Sized>(value: &T, ensure_ascii: bool) -> Option<String> {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyJson { ensure_ascii });
    value.serialize(&mut ser).ok()?;
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::dumps;

    #[test]
    fn separators_and_non_ascii() {
        let v = serde_json::json!({"a": [1, 2], "b": "é😀"});
        assert_eq!(dumps(&v, false).unwrap(), r#"{"a": [1, 2], "b": "é😀"}"#);
        assert_eq!(
            dumps(&v, true).unwrap(),
            r#"{"a": [1, 2], "b": "\u00e9\ud83d\ude00"}"#
        );
    }
}
