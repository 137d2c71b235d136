//! glint's `[glint_sharing]`: the sharing extensions (`../shared/design/sharing-extensions.md`).
//! Off by default; off, every answer is Glance's.

use std::time::Duration;

use super::RawConfig;
use crate::domain::member_check::ValidateMember;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[(
    "glint_sharing",
    &[
        "enabled",
        "expired_retention",
        "pending_ttl",
        "history_retention",
        "expiry_reminders",
        "validate_member",
        "protect_shared_images",
        "webhook_allow_private",
        "webhook_max_attempts",
        "webhook_retry_base",
        "cross_domain_requires_domain",
        "guardrails",
    ],
)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingConfig {
    /// `enabled` (default false): `os_glint` on members, `/v2/glint/...` routes.
    pub enabled: bool,
    /// `expired_retention` (default 30d): how long the owner still sees an expired share
    /// (so Terraform and scripts notice it instead of silently re-sharing) before the sweep
    /// removes the member row, with Glance's `image.member.delete`.
    pub expired_retention: Duration,
    /// `pending_ttl` (default 0 = never): a pending offer older than this expires like a share
    /// whose `expires_at` passed.
    pub pending_ttl: Option<Duration>,
    /// `history_retention` (default 90d; 0 = kept for ever): how long the sharing history
    /// (`GET /v2/glint/share-events`) keeps an event before the sweep removes it.
    pub history_retention: Option<Duration>,
    /// `expiry_reminders` (default none; e.g. `7d,1d`): before a share's `expires_at`, one
    /// `image.member.expiry_reminder` notification per threshold, longest first.
    pub expiry_reminders: Vec<Duration>,
    /// `validate_member` (default off): `exists` refuses a member id that is not a project in
    /// Keystone, `enabled` also a disabled one (400 naming the id; single and batch creates).
    /// Needs Keystone (`auth_strategy = keystone`): checked at start.
    pub validate_member: ValidateMember,
    /// `protect_shared_images` (default false): every image with accepted members refuses to be
    /// deleted (409) until they are removed; without it an owner opts one image in with the
    /// property `os_glint_protect_while_shared` (`domain::delete_protection`).
    pub protect_shared_images: bool,
    /// `webhook_allow_private` (default false): webhooks may reach loopback, link-local and
    /// private addresses (checked on the resolved address). Off, only public ones.
    pub webhook_allow_private: bool,
    /// `webhook_max_attempts` (default 5, 1 to 20): tries per event and webhook.
    pub webhook_max_attempts: u32,
    /// `webhook_retry_base` (default 10s): the wait before the second try, doubled for each next.
    pub webhook_retry_base: Duration,
    /// `cross_domain_requires_domain` (default false): a share with a project of another domain
    /// than the owner's must name that domain (`os_glint.domain` on a member create, a
    /// `{"name", "domain"}` target in a batch), else 400 (`forbidden` in a batch). Needs
    /// Keystone (the projects' domains); without it nothing is checked.
    pub cross_domain_requires_domain: bool,
    /// `guardrails` (default none; any of `public`, `community`, `outside_domain`): what no
    /// project may do whatever its policy allows (403 naming the guardrail): make an image
    /// public or community (create, PATCH, copy), share one outside its owner's domain (member
    /// create; `forbidden` in a batch; a grant; domains from the token and Keystone). A domain's
    /// manager adds to these for its projects (`service::domain_guardrails`), never removes.
    pub guardrails: crate::domain::guardrails::Guardrails,
}

/// The most reminder thresholds (each one is a notification per share).
const MAX_REMINDERS: usize = 10;

impl SharingConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        let duration = |key: &str, default: &str| -> Result<Duration, String> {
            let text = raw.get("glint_sharing", key).unwrap_or(default);
            parse_duration(text).ok_or_else(|| {
                format!(
                    "[glint_sharing] {key}: '{text}' is not a duration (seconds, or a number \
                     with s, m, h or d, e.g. 30d)"
                )
            })
        };
        let pending_ttl = duration("pending_ttl", "0")?;
        let history = duration("history_retention", "90d")?;
        Ok(SharingConfig {
            enabled: raw.parse_bool("glint_sharing", "enabled", false)?,
            expired_retention: duration("expired_retention", "30d")?,
            pending_ttl: (!pending_ttl.is_zero()).then_some(pending_ttl),
            history_retention: (!history.is_zero()).then_some(history),
            expiry_reminders: reminders(
                raw.get("glint_sharing", "expiry_reminders").unwrap_or(""),
            )?,
            webhook_allow_private: raw.parse_bool(
                "glint_sharing",
                "webhook_allow_private",
                false,
            )?,
            webhook_max_attempts: {
                let text = raw
                    .get("glint_sharing", "webhook_max_attempts")
                    .unwrap_or("5");
                text.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=20).contains(n))
                    .ok_or_else(|| {
                        format!("[glint_sharing] webhook_max_attempts: '{text}' is not 1 to 20")
                    })?
            },
            webhook_retry_base: duration("webhook_retry_base", "10s")?,
            guardrails: crate::domain::guardrails::Guardrails::parse(
                raw.get("glint_sharing", "guardrails").unwrap_or(""),
            )?,
            cross_domain_requires_domain: raw.parse_bool(
                "glint_sharing",
                "cross_domain_requires_domain",
                false,
            )?,
            protect_shared_images: raw.parse_bool(
                "glint_sharing",
                "protect_shared_images",
                false,
            )?,
            validate_member: {
                let text = raw.get("glint_sharing", "validate_member").unwrap_or("off");
                ValidateMember::parse(text).ok_or_else(|| {
                    format!(
                        "[glint_sharing] validate_member: '{text}' is not one of off, exists, \
                         enabled"
                    )
                })?
            },
        })
    }
}

/// `7d,1d`: non-zero durations, longest first, each once, at most [`MAX_REMINDERS`].
fn reminders(text: &str) -> Result<Vec<Duration>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        match parse_duration(item) {
            Some(d) if !d.is_zero() => out.push(d),
            _ => {
                return Err(format!(
                    "[glint_sharing] expiry_reminders: '{item}' is not a non-zero duration \
                     (seconds, or a number with s, m, h or d; e.g. 7d,1d)"
                ))
            }
        }
    }
    out.sort_by(|a, b| b.cmp(a));
    out.dedup();
    if out.len() > MAX_REMINDERS {
        return Err(format!(
            "[glint_sharing] expiry_reminders: {} thresholds; at most {MAX_REMINDERS}",
            out.len()
        ));
    }
    Ok(out)
}

/// `90`, `90s`, `15m`, `12h`, `30d`; `None` for anything else (negative, fractional, overflow).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 's'),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(per).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 15m "), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("12H"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("30d"), Some(Duration::from_secs(2_592_000)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "d", "-5", "1.5h", "3w", "1 d", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_and_refusals() {
        let c = SharingConfig::from_raw(&RawConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.enabled);
        assert_eq!(c.expired_retention, Duration::from_secs(30 * 86_400));
        assert_eq!(c.pending_ttl, None);
        assert_eq!(c.history_retention, Some(Duration::from_secs(90 * 86_400)));
        let mut raw = RawConfig::default();
        raw.set("glint_sharing", "pending_ttl", "7d");
        raw.set("glint_sharing", "expired_retention", "0");
        raw.set("glint_sharing", "history_retention", "0");
        let c = SharingConfig::from_raw(&raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.history_retention, None);
        assert_eq!(c.pending_ttl, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(c.expired_retention, Duration::ZERO);
        assert!(c.expiry_reminders.is_empty());
        raw.set("glint_sharing", "expiry_reminders", "1d, 7d,1d");
        let c = SharingConfig::from_raw(&raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.expiry_reminders,
            [Duration::from_secs(7 * 86_400), Duration::from_secs(86_400)]
        );
        for bad in ["0", "7d,soon", "1,2,3,4,5,6,7,8,9,10,11"] {
            raw.set("glint_sharing", "expiry_reminders", bad);
            let e = SharingConfig::from_raw(&raw).unwrap_err();
            assert!(e.contains("[glint_sharing] expiry_reminders"), "{bad}: {e}");
        }
        raw.set("glint_sharing", "expiry_reminders", "");
        assert_eq!(c.validate_member, ValidateMember::Off);
        assert!(!c.protect_shared_images);
        assert!(!c.cross_domain_requires_domain);
        assert!(!c.webhook_allow_private);
        assert_eq!(c.webhook_max_attempts, 5);
        assert_eq!(c.webhook_retry_base, Duration::from_secs(10));
        raw.set("glint_sharing", "webhook_max_attempts", "0");
        assert!(SharingConfig::from_raw(&raw).is_err());
        raw.set("glint_sharing", "webhook_max_attempts", "3");
        raw.set("glint_sharing", "protect_shared_images", "true");
        assert!(SharingConfig::from_raw(&raw).is_ok_and(|c| c.protect_shared_images));
        raw.set("glint_sharing", "protect_shared_images", "false");
        raw.set("glint_sharing", "validate_member", "enabled");
        let c = SharingConfig::from_raw(&raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.validate_member, ValidateMember::Enabled);
        raw.set("glint_sharing", "validate_member", "yes");
        let e = SharingConfig::from_raw(&raw).unwrap_err();
        assert!(e.contains("[glint_sharing] validate_member: 'yes'"), "{e}");
        raw.set("glint_sharing", "validate_member", "off");
        raw.set("glint_sharing", "pending_ttl", "a week");
        let e = SharingConfig::from_raw(&raw).unwrap_err();
        assert!(e.contains("[glint_sharing] pending_ttl"), "{e}");
    }
}
