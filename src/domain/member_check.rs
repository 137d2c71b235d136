//! `[glint_sharing] validate_member`: whether a member id must be a project Keystone knows
//! (`exists`) and has enabled (`enabled`) before a share is made. Off by default, as in Glance,
//! which takes any string as a member id.

/// How member ids are checked in Keystone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ValidateMember {
    #[default]
    Off,
    Exists,
    Enabled,
}

impl ValidateMember {
    pub fn parse(text: &str) -> Option<ValidateMember> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(ValidateMember::Off),
            "exists" => Some(ValidateMember::Exists),
            "enabled" => Some(ValidateMember::Enabled),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ValidateMember::Off => "off",
            ValidateMember::Exists => "exists",
            ValidateMember::Enabled => "enabled",
        }
    }

    /// Why `member` may not be shared with, given what Keystone said of it (`None`: no such
    /// project; `Some(enabled)`), or `None` when it may.
    pub fn refusal(self, member: &str, found: Option<bool>) -> Option<String> {
        match (self, found) {
            (ValidateMember::Off, _) => None,
            (_, None) => Some(format!(
                "Member {member} is not a project in Keystone: images are shared with projects \
                 by their id"
            )),
            (ValidateMember::Enabled, Some(false)) => Some(format!(
                "Member {member} is a disabled project in Keystone and cannot be shared with"
            )),
            (_, Some(_)) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_refusals() {
        use ValidateMember::*;
        for m in [Off, Exists, Enabled] {
            assert_eq!(ValidateMember::parse(m.as_str()), Some(m));
        }
        assert_eq!(ValidateMember::parse(" Exists "), Some(Exists));
        assert_eq!(ValidateMember::parse("true"), None);
        assert_eq!(ValidateMember::default(), Off);
        // Off: anything goes, as in Glance.
        assert_eq!(Off.refusal("x", None), None);
        assert_eq!(Exists.refusal("p", Some(true)), None);
        assert_eq!(Exists.refusal("p", Some(false)), None);
        assert_eq!(Enabled.refusal("p", Some(true)), None);
        let unknown = Exists.refusal("nope", None).unwrap_or_default();
        assert!(
            unknown.starts_with("Member nope is not a project in Keystone"),
            "{unknown}"
        );
        assert_eq!(Enabled.refusal("nope", None), Exists.refusal("nope", None));
        let disabled = Enabled.refusal("p9", Some(false)).unwrap_or_default();
        assert!(disabled.contains("p9 is a disabled project"), "{disabled}");
    }
}
