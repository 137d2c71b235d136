//! The image aggregate and its status machine, free of HTTP and SQL.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;

use crate::error::Error;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(()) }
            }
        }
    };
}

string_enum!(
    /// Glance's image statuses (`glance/domain/__init__.py`).
    ImageStatus {
        Queued => "queued",
        Saving => "saving",
        Active => "active",
        Killed => "killed",
        Deleted => "deleted",
        PendingDelete => "pending_delete",
        Deactivated => "deactivated",
        Uploading => "uploading",
        Importing => "importing",
    }
);

string_enum!(
    /// Who may see an image (API >= 2.5).
    Visibility {
        Public => "public",
        Private => "private",
        Shared => "shared",
        Community => "community",
    }
);

impl ImageStatus {
    /// Glance's `Image._validate_status_transition` table.
    pub fn can_transition_to(self, to: ImageStatus) -> bool {
        use ImageStatus::*;
        match self {
            Queued => matches!(to, Saving | Uploading | Importing | Active | Deleted),
            Saving => matches!(to, Active | Killed | Deleted | Queued),
            Uploading => matches!(to, Importing | Queued | Deleted),
            Importing => matches!(to, Active | Deleted | Queued),
            Active => matches!(to, PendingDelete | Deleted | Deactivated),
            Killed => matches!(to, Deleted),
            PendingDelete => matches!(to, Deleted),
            Deactivated => matches!(to, Active | Deleted),
            Deleted => false,
        }
    }

    /// The status change check with Glance's message.
    pub fn transition(self, to: ImageStatus) -> Result<ImageStatus, Error> {
        if self.can_transition_to(to) {
            Ok(to)
        } else {
            Err(Error::conflict(format!(
                "Image status transition from {self} to {to} is not allowed"
            )))
        }
    }
}

/// Glance's default `[image_format] disk_formats`.
pub const DISK_FORMATS: &[&str] = &[
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
];
/// Glance's default `[image_format] container_formats`.
pub const CONTAINER_FORMATS: &[&str] = &[
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];

/// Attributes the API never lets a caller set (create or PATCH).
pub const READ_ONLY: &[&str] = &[
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
    "stores",
];
/// Attributes reserved for Glance itself.
pub const RESERVED: &[&str] = &["owner_id", "location", "deleted", "deleted_at"];

/// True for names Glance reserves: the fixed list and every `os_glance*` key.
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name) || name.starts_with("os_glance")
}

/// One image as the domain sees it. Timestamps are UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub status: ImageStatus,
    pub visibility: Visibility,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub min_disk: i32,
    pub min_ram: i32,
    pub owner: Option<String>,
    pub protected: bool,
    pub os_hidden: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub tags: BTreeSet<String>,
    /// Custom ("extra") properties; values are always strings in Glance v2.
    pub properties: BTreeMap<String, String>,
}

impl Image {
    /// A new queued image with Glance's defaults.
    pub fn new(id: String, owner: Option<String>, now: NaiveDateTime) -> Self {
        Image {
            id,
            name: None,
            disk_format: None,
            container_format: None,
            size: None,
            virtual_size: None,
            status: ImageStatus::Queued,
            visibility: Visibility::Shared,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            min_disk: 0,
            min_ram: 0,
            owner,
            protected: false,
            os_hidden: false,
            created_at: now,
            updated_at: now,
            tags: BTreeSet::new(),
            properties: BTreeMap::new(),
        }
    }

    /// Whether image data has ever been stored (Glance answers 204 on download otherwise).
    pub fn has_data(&self) -> bool {
        self.checksum.is_some() || self.os_hash_value.is_some()
    }
}

/// The owner a create body asks for: `None` when the body has no `owner`, `Some(None)` for
/// `"owner": null`. Glance fills in the caller's project only when the key is absent; an
/// explicit `null` asks for an image with no owner, which its default `add_image` rule
/// (`project_id:%(project_id)s` against the owner) allows only to an admin.
pub fn new_image_owner(
    requested: Option<Option<String>>,
    caller_project: Option<&str>,
) -> Option<String> {
    match requested {
        None => caller_project.map(str::to_owned),
        Some(owner) => owner,
    }
}

/// What a denied `add_image` answers: Glance rewords the refusal when the new image's
/// owner is not the caller's project (`None` printed as Python prints it), and keeps the
/// policy's own message otherwise.
pub fn add_image_denied(owner: Option<&str>, caller_project: Option<&str>, denied: Error) -> Error {
    if owner == caller_project {
        return denied;
    }
    Error::forbidden(format!(
        "You are not permitted to create images owned by '{}'",
        owner.unwrap_or("None")
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_image_owner_and_denial() {
        use super::{add_image_denied, new_image_owner};
        use crate::error::Error;
        let o = |s: &str| Some(s.to_owned());
        let cases = [
            (None, Some("p1"), o("p1")),
            (None, None, None),
            (Some(None), Some("p1"), None),
            (Some(o("p2")), Some("p1"), o("p2")),
            (Some(o("p1")), Some("p1"), o("p1")),
        ];
        for (requested, caller, want) in cases {
            assert_eq!(
                new_image_owner(requested.clone(), caller),
                want,
                "{requested:?}"
            );
        }
        let msg = |e: Error| e;
        let denied = || Error::policy("add_image");
        assert_eq!(
            msg(add_image_denied(None, Some("p1"), denied())),
            msg(Error::forbidden(
                "You are not permitted to create images owned by 'None'"
            ))
        );
        assert_eq!(
            msg(add_image_denied(Some("p2"), Some("p1"), denied())),
            msg(Error::forbidden(
                "You are not permitted to create images owned by 'p2'"
            ))
        );
        assert_eq!(
            msg(add_image_denied(Some("p1"), Some("p1"), denied())),
            msg(denied())
        );
    }

    use super::*;

    #[test]
    fn status_round_trip() {
        for s in ImageStatus::ALL {
            assert_eq!(s.as_str().parse::<ImageStatus>(), Ok(*s));
        }
        assert!("Queued".parse::<ImageStatus>().is_err());
    }

    #[test]
    fn transitions_follow_glance() {
        use ImageStatus::*;
        assert!(Queued.can_transition_to(Saving));
        assert!(Saving.can_transition_to(Active));
        assert!(Saving.can_transition_to(Queued));
        assert!(Active.can_transition_to(Deactivated));
        assert!(Deactivated.can_transition_to(Active));
        assert!(!Active.can_transition_to(Saving));
        assert!(!Deleted.can_transition_to(Active));
        let err = Active.transition(Saving).unwrap_err();
        assert_eq!(
            err,
            Error::conflict("Image status transition from active to saving is not allowed")
        );
    }

    #[test]
    fn reserved_names() {
        assert!(is_reserved("os_glance_foo"));
        assert!(is_reserved("deleted"));
        assert!(!is_reserved("os_distro"));
    }
}
