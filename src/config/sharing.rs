//! glint's `[glint_sharing]`: the sharing extensions (`../shared/design/sharing-extensions.md`).
//! Off by default; off, every answer is Glance's.

use super::RawConfig;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[("glint_sharing", &["enabled"])];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingConfig {
    /// `enabled` (default false): `os_glint` on members, `/v2/glint/...` routes.
    pub enabled: bool,
}

impl SharingConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        Ok(SharingConfig {
            enabled: raw.parse_bool("glint_sharing", "enabled", false)?,
        })
    }
}
