//! Deletion protection while shared (sharing extensions): an image that projects have accepted
//! cannot be deleted from under them. Opt-in, by the operator for every image
//! (`[glint_sharing] protect_shared_images`) or by the owner for one image through the property
//! [`PROPERTY`] (an image property, so no new key on image objects). The owner removes the
//! members first, or the members leave; then the delete goes through and each recipient is told.

use std::collections::BTreeMap;

/// The owner's per-image opt-in: `true` (or another of oslo's true strings) protects the image.
pub const PROPERTY: &str = "os_glint_protect_while_shared";

/// oslo.utils `bool_from_string`'s true strings, as Glance reads boolean-like properties.
fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes"
    )
}

/// Whether the image is protected while shared.
pub fn protected(operator_wide: bool, properties: &BTreeMap<String, String>) -> bool {
    operator_wide || properties.get(PROPERTY).is_some_and(|v| truthy(v))
}

/// The 409 text when a protected image still has `accepted` live members, else `None`.
pub fn refusal(image_id: &str, protected: bool, accepted: usize) -> Option<String> {
    if !protected || accepted == 0 {
        return None;
    }
    let members = match accepted {
        1 => "1 project that accepted it".to_owned(),
        n => format!("{n} projects that accepted it"),
    };
    Some(format!(
        "Image {image_id} is shared with {members} and is protected while shared \
         ({PROPERTY} or [glint_sharing] protect_shared_images): remove its members first."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(v: Option<&str>) -> BTreeMap<String, String> {
        v.map(|v| (PROPERTY.to_owned(), v.to_owned()))
            .into_iter()
            .collect()
    }

    #[test]
    fn opt_in_by_operator_or_property() {
        assert!(!protected(false, &props(None)));
        assert!(protected(true, &props(None)));
        for yes in ["true", "True", " yes ", "1", "on", "t", "y"] {
            assert!(protected(false, &props(Some(yes))), "{yes}");
        }
        for no in ["false", "0", "", "protect", "no"] {
            assert!(!protected(false, &props(Some(no))), "{no}");
        }
        // The owner's "false" does not lift the operator's protection.
        assert!(protected(true, &props(Some("false"))));
    }

    #[test]
    fn refuses_only_protected_images_with_accepted_members() {
        assert_eq!(refusal("i", false, 3), None);
        assert_eq!(refusal("i", true, 0), None);
        let one = refusal("i1", true, 1).unwrap_or_default();
        assert!(
            one.starts_with("Image i1 is shared with 1 project that accepted it and is protected"),
            "{one}"
        );
        let many = refusal("i2", true, 12).unwrap_or_default();
        assert!(many.contains("with 12 projects that accepted it"), "{many}");
        assert!(many.ends_with("remove its members first."), "{many}");
    }
}
