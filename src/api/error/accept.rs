//! `Accept` negotiation for error bodies: WebOb 1.8's `AcceptValidHeader` (RFC 7231
//! §5.3.2) choosing between its `text/html` and `application/json` offers.

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpRequest;

/// The three shapes WebOb can give an error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    Html,
    Json,
    Plain,
}

/// The request's `Accept` value as WSGI's `HTTP_ACCEPT` would hold it: all
/// `Accept` headers joined by `,`, bytes read as Latin-1 (so a non-ASCII header
/// is still judged, as WebOb does, instead of being dropped).
pub fn accept_value(req: &HttpRequest) -> Option<String> {
    let values: Vec<String> = req.headers().get_all(header::ACCEPT).map(latin1).collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(","))
    }
}

/// Which body WebOb picks for this `Accept` value: it offers `text/html` then
/// `application/json` to `acceptable_offers` and takes the first, ties going to
/// HTML; nothing acceptable means plain text.
pub fn negotiate(accept: Option<&str>) -> ErrorFormat {
    // WebOb reads `environ.get('HTTP_ACCEPT', '')`: absent is the same as empty.
    let value = accept.unwrap_or("").trim_matches(|c| c == ' ' || c == '\t');
    let Some(ranges) = parse_accept(value) else {
        // AcceptInvalidHeader: every offer acceptable with q=1 → the first offer.
        return ErrorFormat::Html;
    };
    let offers = [("text", "html"), ("application", "json")];
    let mut best: Option<(usize, u16)> = None;
    for (index, (ty, subty)) in offers.iter().enumerate() {
        let q = offer_quality(&ranges, ty, subty);
        if q > 0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((index, q));
        }
    }
    match best {
        Some((0, _)) => ErrorFormat::Html,
        Some(_) => ErrorFormat::Json,
        None => ErrorFormat::Plain,
    }
}

pub(super) fn latin1(v: &HeaderValue) -> String {
    v.as_bytes().iter().map(|&b| char::from(b)).collect()
}

/// One media range; parameter values never matter because WebOb's offers here
/// carry none, only whether the range has any.
struct MediaRange {
    ty: String,
    subty: String,
    has_params: bool,
    /// qvalue in thousandths.
    q: u16,
}

/// The q WebOb gives an offer: from the most specific matching range (first
/// one wins among equals); 0 when nothing matches.
fn offer_quality(ranges: &[MediaRange], ty: &str, subty: &str) -> u16 {
    let mut best: Option<(u8, u16)> = None;
    for r in ranges {
        let specificity = if r.ty == ty && r.subty == subty {
            if r.has_params {
                // `text/html;level=1` never matches the bare `text/html` offer.
                continue;
            }
            3
        } else if r.subty == "*" && r.ty == ty {
            2
        } else if r.ty == "*" && r.subty == "*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, r.q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// Parses `#( media-range [ accept-params ] )`; `None` if the header is invalid.
fn parse_accept(value: &str) -> Option<Vec<MediaRange>> {
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    let mut ranges = Vec::new();
    if p.at_end() {
        return Some(ranges);
    }
    // `( "," / element ) *( OWS "," [ OWS element ] )`
    if !p.eat(b',') {
        ranges.push(p.element()?);
    }
    while !p.at_end() {
        p.ows();
        if !p.eat(b',') {
            return None;
        }
        let after_comma = p.i;
        p.ows();
        match p.element() {
            Some(r) => ranges.push(r),
            None => p.i = after_comma,
        }
    }
    Some(ranges)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| {
            self.s[start..self.i]
                .iter()
                .map(|&b| char::from(b.to_ascii_lowercase()))
                .collect()
        })
    }

    /// `quoted-string`; bytes >= 0x80 are obs-text (so any non-ASCII char is).
    fn quoted_string(&mut self) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek()? {
                        b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => self.i += 1,
                        _ => return None,
                    }
                }
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => self.i += 1,
                _ => return None,
            }
        }
    }

    fn token_or_quoted(&mut self) -> Option<()> {
        if self.peek() == Some(b'"') {
            self.quoted_string()
        } else {
            self.token().map(|_| ())
        }
    }

    /// `OWS ";" OWS`, consumed only if present.
    fn semicolon(&mut self) -> bool {
        let save = self.i;
        self.ows();
        if self.eat(b';') {
            self.ows();
            true
        } else {
            self.i = save;
            false
        }
    }

    fn at_weight(&self) -> bool {
        matches!(self.peek(), Some(b'q' | b'Q')) && self.s.get(self.i + 1) == Some(&b'=')
    }

    fn element(&mut self) -> Option<MediaRange> {
        let ty = self.token()?;
        if !self.eat(b'/') {
            return None;
        }
        let subty = self.token()?;
        let mut range = MediaRange {
            ty,
            subty,
            has_params: false,
            q: 1000,
        };
        while self.semicolon() {
            if self.at_weight() {
                self.i += 2;
                range.q = self.qvalue()?;
                // accept-ext: `OWS ";" OWS token [ "=" ( token / quoted-string ) ]`
                while self.semicolon() {
                    self.token()?;
                    if self.eat(b'=') {
                        self.token_or_quoted()?;
                    }
                }
                break;
            }
            self.token()?;
            if !self.eat(b'=') {
                return None;
            }
            self.token_or_quoted()?;
            range.has_params = true;
        }
        Some(range)
    }

    /// `( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
    fn qvalue(&mut self) -> Option<u16> {
        let whole = self.peek()?;
        if whole != b'0' && whole != b'1' {
            return None;
        }
        self.i += 1;
        let mut value = if whole == b'1' { 1000 } else { 0 };
        if self.eat(b'.') {
            let mut scale = 100;
            while scale > 0 {
                match self.peek() {
                    Some(d @ b'0'..=b'9') if whole == b'0' || d == b'0' => {
                        value += u16::from(d - b'0') * scale;
                        scale /= 10;
                        self.i += 1;
                    }
                    _ => break,
                }
            }
        }
        Some(value)
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_table() {
        use ErrorFormat::*;
        let cases: &[(Option<&str>, ErrorFormat)] = &[
            (None, Plain),
            (Some(""), Plain),
            (Some("   "), Plain),
            (Some(","), Plain),
            (Some("text/plain"), Plain),
            (Some("image/png, text/plain;q=0.5"), Plain),
            (Some("application/json"), Json),
            (Some("APPLICATION/JSON"), Json),
            (Some("application/*"), Json),
            (Some("application/json, */*;q=0.1"), Json),
            (Some("text/html;q=0.5, application/json"), Json),
            (Some("*/*"), Html),
            (Some("text/html"), Html),
            (Some("text/*"), Html),
            (Some("application/json, text/html"), Html),
            (Some("*/*;q=0.8, application/json;q=0.8"), Html),
            // Parameters on a range never match the bare offer.
            (Some("application/json; charset=utf-8"), Plain),
            (Some("application/json;charset=utf-8, */*;q=0.2"), Html),
            // The most specific range decides, even with q=0.
            (Some("*/*, text/html;q=0"), Json),
            (Some("application/json;q=0, text/html;q=0"), Plain),
            (Some("text/html;q=0, text/html"), Plain),
            (
                Some("text/html;level=1;q=0.9;ext=\"a b\";flag, application/json;q=0.5"),
                Json,
            ),
            (Some("application/json;q=1.000"), Json),
            (Some("application/json;Q=0.001"), Json),
            (Some(",, application/json ,"), Json),
            (Some("text/plain,\tapplication/json"), Json),
            // Invalid headers: WebOb accepts every offer → HTML.
            (Some("json"), Html),
            (Some("application/json;q=2"), Html),
            (Some("application/json;q=0.1234"), Html),
            (Some("application/json;q=1.5"), Html),
            (Some("application/json;"), Html),
            (Some("application/json;charset"), Html),
            (Some("text/plain, foo"), Html),
            (Some("application/json;x=\"unterminated"), Html),
            (Some("application/json, é"), Html),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(*accept), *want, "Accept: {accept:?}");
        }
    }
}
