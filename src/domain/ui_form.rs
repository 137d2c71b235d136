//! What the web page's forms mean (`crate::ui`), in the API's terms: a date field is an
//! expiry, a text box of ids is a list.

/// An expiry as typed in the page: empty is none; a date (`2027-01-31`, what a date input
/// sends) is the end of that day in UTC; anything else is passed on as RFC 3339 for the API's
/// own check (`MemberExt`) to accept or refuse with its message.
pub fn expiry(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => Some(format!("{}T23:59:59Z", d.format("%Y-%m-%d"))),
        Err(_) => Some(t.to_owned()),
    }
}

/// Ids typed one per line, or separated by commas or spaces; duplicates dropped, order kept.
pub fn id_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in text.split(|c: char| c == ',' || c.is_whitespace()) {
        if !id.is_empty() && !out.iter().any(|x| x == id) {
            out.push(id.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries() {
        assert_eq!(expiry("  "), None);
        assert_eq!(
            expiry("2027-01-31").as_deref(),
            Some("2027-01-31T23:59:59Z")
        );
        assert_eq!(
            expiry(" 2027-01-31T12:00:00Z ").as_deref(),
            Some("2027-01-31T12:00:00Z")
        );
        assert_eq!(expiry("2027-02-30").as_deref(), Some("2027-02-30"));
        assert_eq!(expiry("soon").as_deref(), Some("soon"));
    }

    #[test]
    fn id_lists() {
        assert_eq!(id_list("a, b\nc\r\n a  d,,"), ["a", "b", "c", "d"]);
        assert!(id_list(" \n, ").is_empty());
    }
}
