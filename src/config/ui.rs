//! glint's `[glint_ui]`: the sharing web page under `/glint/ui/` (`crate::ui`). Off by default;
//! off, `/glint/ui/...` answers as any unknown path.

use super::RawConfig;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[("glint_ui", &["enabled", "csrf_secret"])];

#[derive(Clone, PartialEq, Eq)]
pub struct UiConfig {
    /// `enabled` (default false).
    pub enabled: bool,
    /// `csrf_secret` (default: random per process): the key of the forms' CSRF tokens. Several
    /// glint processes behind one load balancer need the same value, or a form rendered by one
    /// is refused by another.
    pub csrf_secret: String,
}

/// Never print the secret (`Config` is `Debug`).
impl std::fmt::Debug for UiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiConfig")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// The shortest configured `csrf_secret`: a short key can be guessed offline from one form.
const MIN_SECRET_CHARS: usize = 16;

impl UiConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        let csrf_secret = match raw.get("glint_ui", "csrf_secret") {
            Some(s) if s.chars().count() < MIN_SECRET_CHARS => {
                return Err(format!(
                    "[glint_ui] csrf_secret must be at least {MIN_SECRET_CHARS} characters"
                ))
            }
            Some(s) => s.to_owned(),
            None => random_secret(),
        };
        Ok(UiConfig {
            enabled: raw.parse_bool("glint_ui", "enabled", false)?,
            csrf_secret,
        })
    }
}

/// 244 random bits (two v4 UUIDs), generated once per process.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// What the page needs from the rest of the configuration: it is built on the sharing
/// extensions and logs users in through Keystone.
pub fn check(ui: &UiConfig, sharing_enabled: bool, keystone: bool) -> Result<(), String> {
    if !ui.enabled {
        return Ok(());
    }
    if !sharing_enabled {
        return Err(
            "[glint_ui] enabled = true needs the sharing extensions: set \
                    [glint_sharing] enabled = true, or turn the page off"
                .into(),
        );
    }
    if !keystone {
        return Err(
            "[glint_ui] enabled = true needs Keystone ([DEFAULT] auth_strategy = \
                    keystone and [keystone_authtoken] auth_url): the page logs users in there"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_with_a_random_secret() {
        let a = UiConfig::from_raw(&RawConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let b = UiConfig::from_raw(&RawConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!a.enabled);
        assert_eq!(a.csrf_secret.len(), 64);
        assert_ne!(a.csrf_secret, b.csrf_secret);
        assert!(!format!("{a:?}").contains(&a.csrf_secret));
    }

    #[test]
    fn configured_secret_and_refusals() {
        let mut raw = RawConfig::default();
        raw.set("glint_ui", "enabled", "true");
        raw.set("glint_ui", "csrf_secret", "short");
        let e = UiConfig::from_raw(&raw).unwrap_err();
        assert!(e.contains("at least 16"), "{e}");
        raw.set("glint_ui", "csrf_secret", "0123456789abcdef");
        let c = UiConfig::from_raw(&raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.enabled, c.csrf_secret.as_str()),
            (true, "0123456789abcdef")
        );
        let e = check(&c, false, true).unwrap_err();
        assert!(e.contains("[glint_sharing] enabled = true"), "{e}");
        let e = check(&c, true, false).unwrap_err();
        assert!(e.contains("auth_strategy = keystone"), "{e}");
        assert_eq!(check(&c, true, true), Ok(()));
        let off = UiConfig {
            enabled: false,
            ..c
        };
        assert_eq!(check(&off, false, false), Ok(()));
    }
}
