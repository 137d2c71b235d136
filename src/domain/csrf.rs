//! The web page's defences against cross-site requests (`crate::ui`): a per-session form token
//! and the same-origin check of a POST's `Origin` (or, without one, its `Referer`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// What the form token is a MAC of, so the key signs nothing else.
const CONTEXT: &[u8] = b"glint-ui-csrf-v1:";

fn mac(secret: &str, session_token: &str) -> HmacSha256 {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    m.update(CONTEXT);
    // The token's hash, not the token: the form token is a function of the session only.
    m.update(&Sha256::digest(session_token.as_bytes()));
    m
}

/// The form token of the session holding `session_token`.
pub fn token(secret: &str, session_token: &str) -> String {
    hex::encode(mac(secret, session_token).finalize().into_bytes())
}

/// Whether `given` is the session's form token (compared in constant time).
pub fn verify(secret: &str, session_token: &str, given: &str) -> bool {
    match hex::decode(given.trim()) {
        Ok(bytes) => mac(secret, session_token).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// Whether a POST comes from a page of `origin` (`scheme://host[:port]`): its `Origin` header
/// must be that origin; a request without one (older browsers on same-origin POSTs) must carry
/// a `Referer` under it. Neither, or `Origin: null`, is refused.
pub fn same_origin(origin: Option<&str>, referer: Option<&str>, expected: &str) -> bool {
    let expected = expected.trim_end_matches('/');
    match (origin, referer) {
        (Some(o), _) => o.trim().eq_ignore_ascii_case(expected),
        (None, Some(r)) => {
            r.get(..expected.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(expected))
                && matches!(r.as_bytes().get(expected.len()), None | Some(b'/'))
        }
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_session_and_the_secret() {
        let t = token("secret-one-0123456789", "session-a");
        assert_eq!(t.len(), 64);
        assert!(verify("secret-one-0123456789", "session-a", &t));
        assert!(!verify("secret-one-0123456789", "session-b", &t));
        assert!(!verify("secret-two-0123456789", "session-a", &t));
        assert_ne!(t, token("secret-one-0123456789", "session-b"));
        for bad in ["", "zz", &t[..62], "00"] {
            assert!(!verify("secret-one-0123456789", "session-a", bad), "{bad}");
        }
        // Nothing of the session's token appears in its form token.
        assert!(!t.contains("session"));
    }

    #[test]
    fn origins() {
        let o = "https://glint.example:9292";
        let cases: &[(Option<&str>, Option<&str>, bool)] = &[
            (Some("https://glint.example:9292"), None, true),
            (Some("HTTPS://GLINT.example:9292"), None, true),
            (
                Some("https://evil.example"),
                Some("https://glint.example:9292/x"),
                false,
            ),
            (Some("http://glint.example:9292"), None, false),
            (Some("null"), None, false),
            (
                None,
                Some("https://glint.example:9292/glint/ui/inbox"),
                true,
            ),
            (None, Some("https://glint.example:9292"), true),
            (None, Some("https://glint.example:92920/"), false),
            (
                None,
                Some("https://glint.example:9292.evil.example/"),
                false,
            ),
            (None, Some("https://evil.example/"), false),
            (None, None, false),
        ];
        for (origin, referer, want) in cases {
            assert_eq!(
                same_origin(*origin, *referer, o),
                *want,
                "{origin:?} {referer:?}"
            );
        }
    }
}
