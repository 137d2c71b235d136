//! Metadata definitions (metadefs): the catalog of namespaces, objects,
//! properties, tags and resource-type associations, as Glance keeps it.
//! Pure rules only: visibility, protection, defaults and the texts Glance answers with.

pub mod document;
pub mod property;
pub mod query;
pub mod schemas;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use crate::domain::context::RequestContext;

/// A namespace row as stored (Glance keeps `visibility` and `protected` nullable).
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub id: i32,
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub protected: Option<bool>,
    pub owner: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

impl Namespace {
    /// Glance's domain object reads a missing visibility as `private`.
    pub fn visibility(&self) -> &str {
        self.visibility.as_deref().unwrap_or("private")
    }

    pub fn is_protected(&self) -> bool {
        self.protected.unwrap_or(false)
    }

    /// `delete()` of the namespace and of everything in it refuses a protected namespace.
    pub fn check_deletable(&self) -> Result<(), String> {
        if self.is_protected() {
            Err(format!(
                "Metadata definition namespace {} is protected and cannot be deleted.",
                self.namespace
            ))
        } else {
            Ok(())
        }
    }
}

/// The fields a create or update writes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamespaceValues {
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub protected: Option<bool>,
    pub owner: String,
}

/// Glance's database-level visibility (`_is_namespace_visible`): admins see
/// everything, others their own project's namespaces and public ones.
pub fn is_visible(ctx: &RequestContext, owner: &str, visibility: Option<&str>) -> bool {
    ctx.is_admin() || visibility == Some("public") || ctx.project() == Some(owner)
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadefObject {
    pub id: i32,
    pub name: String,
    pub description: Option<String>,
    pub required: Vec<String>,
    /// Property name -> normalized property document.
    pub properties: Map<String, Value>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// Glance stores an object's `required` list comma-joined (NULL when empty).
pub fn join_required(required: &[String]) -> Option<String> {
    if required.is_empty() {
        None
    } else {
        Some(required.join(","))
    }
}

pub fn split_required(stored: Option<&str>) -> Vec<String> {
    match stored {
        Some(s) if !s.is_empty() => s.split(',').map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadefProperty {
    pub id: i32,
    pub name: String,
    /// The normalized property document as stored in `json_schema`.
    pub schema: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadefTag {
    pub id: i32,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// A resource type associated with a namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub id: i32,
    pub name: String,
    pub protected: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// Glance's texts, in one place.
pub mod msg {
    pub fn namespace_not_found(name: &str) -> String {
        format!("Metadata definition namespace={name} was not found.")
    }
    /// What the object, property, tag and resource-type controllers answer
    /// for a namespace that is missing or not visible.
    pub fn namespace_short_not_found(name: &str) -> String {
        format!("Namespace {name} not found")
    }
    pub fn namespace_not_visible(name: &str) -> String {
        format!("Forbidding request, metadata definition namespace={name} is not visible.")
    }
    pub fn duplicate_namespace(name: &str) -> String {
        format!("The metadata definition namespace={name} already exists.")
    }
    pub fn duplicate_namespace_update(name: &str) -> String {
        format!(
            "Invalid update. It would result in a duplicate metadata definition namespace \
             with the same name of {name}"
        )
    }
    pub fn object_not_found(name: &str) -> String {
        format!("Could not find metadata object {name}")
    }
    pub fn duplicate_object(name: &str, ns: &str) -> String {
        format!("A metadata definition object with name={name} already exists in namespace={ns}.")
    }
    pub fn duplicate_object_update(name: &str, ns: &str) -> String {
        format!(
            "Invalid update. It would result in a duplicate metadata definition object \
             with the same name={name} in namespace={ns}."
        )
    }
    pub fn property_not_found(name: &str) -> String {
        format!("Could not find property {name}")
    }
    pub fn duplicate_property(name: &str, ns: &str) -> String {
        format!("A metadata definition property with name={name} already exists in namespace={ns}.")
    }
    pub fn duplicate_property_update(name: &str, ns: &str) -> String {
        format!(
            "Invalid update. It would result in a duplicate metadata definition property \
             with the same name={name} in namespace={ns}."
        )
    }
    pub fn tag_not_found(name: &str) -> String {
        format!("Could not find metadata tag {name}")
    }
    pub fn duplicate_tag(name: &str, ns: &str) -> String {
        format!(
            "A metadata tag with name={name} already exists in namespace={ns}. \
             (Please note that metadata tag names are case insensitive)."
        )
    }
    pub fn duplicate_association(rt: &str, ns: &str) -> String {
        format!(
            "The metadata definition resource-type association of resource-type={rt} \
             to namespace={ns} already exists."
        )
    }
    pub fn association_not_found_for_delete(rt: &str) -> String {
        format!("Failed to find resource type {rt} to delete")
    }
    pub fn resource_type_not_found(rt: &str) -> String {
        format!("The metadata definition resource-type with name={rt}, was not found.")
    }
    pub fn association_not_found(rt: &str, ns: &str) -> String {
        format!(
            "The metadata definition resource-type association of resource-type={rt} \
             to namespace={ns}, was not found."
        )
    }
    pub fn protected_object(name: &str) -> String {
        format!("Metadata definition object {name} is protected and cannot be deleted.")
    }
    pub fn protected_property(name: &str) -> String {
        format!("Metadata definition property {name} is protected and cannot be deleted.")
    }
    pub fn protected_tag(name: &str) -> String {
        format!("Metadata definition tag {name} is protected and cannot be deleted.")
    }
    pub fn protected_association(name: &str) -> String {
        format!(
            "Metadata definition resource-type-association {name} is protected and cannot be \
             deleted."
        )
    }
    pub fn read_only(attr: &str) -> String {
        format!("Attribute '{attr}' is read-only.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(owner: &str, visibility: Option<&str>, protected: Option<bool>) -> Namespace {
        Namespace {
            id: 1,
            namespace: "OS::Test".into(),
            display_name: None,
            description: None,
            visibility: visibility.map(str::to_owned),
            protected,
            owner: owner.into(),
            created_at: NaiveDateTime::default(),
            updated_at: None,
        }
    }

    #[test]
    fn visibility_rule() {
        let admin = RequestContext::new(Some("other"), &["admin"]);
        let own = RequestContext::new(Some("p1"), &["reader"]);
        let stranger = RequestContext::new(Some("p2"), &["member"]);
        let anonymous = RequestContext::new(None, &["reader"]);
        let cases = [
            (&admin, Some("private"), true),
            (&own, Some("private"), true),
            (&stranger, Some("private"), false),
            (&stranger, None, false),
            (&stranger, Some("public"), true),
            (&anonymous, Some("public"), true),
            (&anonymous, Some("private"), false),
        ];
        for (ctx, vis, want) in cases {
            assert_eq!(is_visible(ctx, "p1", vis), want, "{ctx:?} {vis:?}");
        }
    }

    #[test]
    fn defaults_and_protection() {
        let n = ns("p1", None, None);
        assert_eq!(n.visibility(), "private");
        assert!(!n.is_protected());
        assert!(n.check_deletable().is_ok());
        let p = ns("p1", Some("public"), Some(true));
        assert_eq!(
            p.check_deletable().unwrap_err(),
            "Metadata definition namespace OS::Test is protected and cannot be deleted."
        );
    }

    #[test]
    fn required_round_trip() {
        let r = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(join_required(&r).as_deref(), Some("a,b"));
        assert_eq!(split_required(Some("a,b")), r);
        assert_eq!(join_required(&[]), None);
        assert!(split_required(None).is_empty());
        assert!(split_required(Some("")).is_empty());
    }
}
