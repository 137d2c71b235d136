//! Image ids, and the rules Glance applies to them at each edge, one copy each:
//!
//! * a path id (`/v2/images/{id}...`) is any text, looked up; one longer than a UUID names no
//!   image (the use case answers 404 as for a missing one) and is never sent to the database;
//! * an `id` in a create body must match the schema's UUID pattern (400 otherwise), stored in
//!   lower case;
//! * the schema's pattern as Python's `re.search` applies it, and oslo's `is_uuid_like` (task
//!   list markers), are here too.

use serde::{Deserialize, Serialize};

/// The UUID pattern Glance puts on `id` (image, task) and `image_id` (member) in its schemas.
pub const UUID_PATTERN: &str =
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

/// Glance never looks up ids longer than a UUID.
pub const MAX_LEN: usize = 36;

/// An image id as a request names it. Built at the edge (path extractor, create body, stored
/// rows); the service and db layers take it instead of a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(transparent)]
pub struct ImageId(String);

impl ImageId {
    /// A path id: any text (Glance looks it up as given).
    pub fn from_path(id: impl Into<String>) -> ImageId {
        ImageId(id.into())
    }

    /// The id of a stored image (a row glint wrote, a task's image).
    pub fn from_stored(id: impl Into<String>) -> ImageId {
        ImageId(id.into())
    }

    /// A fresh random id for a create body without one.
    pub fn generate() -> ImageId {
        ImageId(uuid::Uuid::new_v4().to_string())
    }

    /// The `id` of a create body: the schema's UUID pattern, without the final newline Python's
    /// `$` would let through, kept in lower case. `None`: 400.
    pub fn from_create_body(id: &str) -> Option<ImageId> {
        (!id.ends_with('\n') && uuid_pattern_matches(id)).then(|| ImageId(id.to_ascii_lowercase()))
    }

    /// Whether any image can have this id: longer than a UUID, it names none (404 without a
    /// lookup).
    pub fn may_exist(&self) -> bool {
        self.0.len() <= MAX_LEN
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The store and messages take the id as text.
impl std::ops::Deref for ImageId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ImageId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Python's `re.search(UUID_PATTERN, s)`: `$` also matches before a final newline.
pub fn uuid_pattern_matches(s: &str) -> bool {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// oslo's `is_uuid_like`: 32 hex digits once `urn:`, `uuid:`, braces and dashes are dropped.
pub fn is_uuid_like(s: &str) -> bool {
    let hex: String = s
        .to_ascii_lowercase()
        .replace("urn:", "")
        .replace("uuid:", "")
        .chars()
        .filter(|c| !matches!(c, '-' | '{' | '}'))
        .collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_pattern_as_python_re_search() {
        for (s, want) in [
            ("01234567-89ab-cdef-0123-456789abcdef", true),
            ("01234567-89AB-CDEF-0123-456789ABCDEF", true),
            ("01234567-89ab-cdef-0123-456789abcdef\n", true),
            ("01234567-89ab-cdef-0123-456789abcdef\n\n", false),
            ("01234567-89ab-cdef-0123-456789abcdef ", false),
            (" 01234567-89ab-cdef-0123-456789abcdef", false),
            ("0123456789abcdef0123456789abcdef", false),
            ("01234567-89ab-cdef-0123-456789abcdeg", false),
            ("01234567-89ab-cdef-0123-456789abcde", false),
            ("", false),
        ] {
            assert_eq!(uuid_pattern_matches(s), want, "{s:?}");
        }
    }

    #[test]
    fn create_body_ids() {
        assert_eq!(
            ImageId::from_create_body("01234567-89AB-cdef-0123-456789ABCDEF").map(|i| i.0),
            Some("01234567-89ab-cdef-0123-456789abcdef".to_owned())
        );
        for bad in [
            "01234567-89ab-cdef-0123-456789abcdef\n",
            "0123456789abcdef0123456789abcdef",
            "01234567-89ab-cdef-0123-456789abcdeg",
            "{01234567-89ab-cdef-0123-456789abcdef}",
            "01234567-89ab-cdef-0123-456789abcdef0",
            "",
        ] {
            assert_eq!(ImageId::from_create_body(bad), None, "{bad:?}");
        }
        let fresh = ImageId::generate();
        assert!(ImageId::from_create_body(fresh.as_str()).is_some());
    }

    #[test]
    fn path_ids_longer_than_a_uuid_name_nothing() {
        assert!(ImageId::from_path("x").may_exist());
        assert!(ImageId::from_path("a".repeat(36)).may_exist());
        assert!(!ImageId::from_path("a".repeat(37)).may_exist());
        // Bytes, as Glance's column: 12 three-byte chars are 36 bytes.
        assert!(ImageId::from_path("€".repeat(12)).may_exist());
        assert!(!ImageId::from_path("€".repeat(13)).may_exist());
    }

    #[test]
    fn uuid_like_as_oslo() {
        assert!(is_uuid_like("2a7bd9c3-bd9e-4ee1-9ac7-2fbc3c9c0c0a"));
        assert!(is_uuid_like("2A7BD9C3BD9E4EE19AC72FBC3C9C0C0A"));
        assert!(is_uuid_like(
            "urn:uuid:{2a7bd9c3-bd9e-4ee1-9ac7-2fbc3c9c0c0a}"
        ));
        assert!(!is_uuid_like("2a7bd9c3"));
        assert!(!is_uuid_like("2a7bd9c3-bd9e-4ee1-9ac7-2fbc3c9c0c0g"));
    }
}
