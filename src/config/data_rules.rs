//! Glance's rules on what callers may store: property protections
//! (`[DEFAULT] property_protection_file`, `property_protection_rule_format`) and the legacy
//! per-owner storage quota (`[DEFAULT] user_storage_quota`) and the VMDK create-types accepted
//! (`[image_format] vmdk_allowed_types`). The protection file itself is read at start
//! (`startup::property_rules`), as Glance reads it once.

use std::path::PathBuf;

use super::RawConfig;
use crate::domain::property_protection::RuleFormat;
use crate::domain::quota::parse_storage_quota;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[
    (
        "DEFAULT",
        &[
            "property_protection_file",
            "property_protection_rule_format",
            "user_storage_quota",
        ],
    ),
    ("image_format", &["vmdk_allowed_types"]),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRulesConfig {
    /// `property_protection_file`: unset, no protections.
    pub property_protection_file: Option<PathBuf>,
    pub property_protection_rule_format: RuleFormat,
    /// `user_storage_quota` in bytes; `None`: unlimited (Glance's 0).
    pub user_storage_quota: Option<u64>,
    /// `vmdk_allowed_types` when set (empty: no VMDK at all); `None`: Glance's default,
    /// `streamOptimized,monolithicSparse`, the two the format inspector accepts anyway.
    pub vmdk_allowed_types: Option<Vec<String>>,
}

impl DataRulesConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        let d = "DEFAULT";
        Ok(DataRulesConfig {
            property_protection_file: raw.get(d, "property_protection_file").map(PathBuf::from),
            property_protection_rule_format: RuleFormat::parse(
                raw.get(d, "property_protection_rule_format")
                    .unwrap_or("roles"),
            )?,
            user_storage_quota: parse_storage_quota(
                raw.get(d, "user_storage_quota").unwrap_or("0"),
            )
            .map_err(|e| format!("[DEFAULT] user_storage_quota: {e}"))?,
            vmdk_allowed_types: super::import::list(raw, "image_format", "vmdk_allowed_types"),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let c = DataRulesConfig::from_raw(&RawConfig::default()).unwrap();
        assert_eq!(c.property_protection_file, None);
        assert_eq!(c.property_protection_rule_format, RuleFormat::Roles);
        assert_eq!(c.user_storage_quota, None);
        assert_eq!(c.vmdk_allowed_types, None);
        let raw = RawConfig::from_text(
            "[DEFAULT]\nproperty_protection_file = /etc/glance/pp.conf\n\
             property_protection_rule_format = policies\nuser_storage_quota = 10GB\n\
             [image_format]\nvmdk_allowed_types = streamOptimized\n",
        )
        .unwrap();
        let c = DataRulesConfig::from_raw(&raw).unwrap();
        assert_eq!(
            c.property_protection_file,
            Some(PathBuf::from("/etc/glance/pp.conf"))
        );
        assert_eq!(c.property_protection_rule_format, RuleFormat::Policies);
        assert_eq!(c.user_storage_quota, Some(10 << 30));
        assert_eq!(
            c.vmdk_allowed_types,
            Some(vec!["streamOptimized".to_owned()])
        );
        for bad in [
            "[DEFAULT]\nproperty_protection_rule_format = Roles\n",
            "[DEFAULT]\nuser_storage_quota = 10 GB\n",
        ] {
            let raw = RawConfig::from_text(bad).unwrap();
            assert!(DataRulesConfig::from_raw(&raw).is_err(), "{bad}");
        }
    }
}
