//! The token cache: keyed by SHA-256 of the token (never the token), each entry
//! living for the shorter of `token_cache_time` and the token's remaining life;
//! invalid tokens are remembered briefly; concurrent misses for one token share
//! a single Keystone call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use moka::future::Cache;
use moka::Expiry;
use sha2::{Digest, Sha256};

use super::keystone::{Identity, KeystoneClient, KeystoneError};

/// How long a token Keystone refused stays refused without asking again.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);

#[derive(Clone)]
enum Cached {
    Valid(Arc<Identity>),
    Invalid,
}

struct TokenExpiry {
    cache_time: Duration,
}

impl Expiry<[u8; 32], Cached> for TokenExpiry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Cached,
        _now: Instant,
    ) -> Option<Duration> {
        Some(match value {
            Cached::Invalid => NEGATIVE_TTL,
            Cached::Valid(id) => {
                let left = (id.expires_at - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                left.min(self.cache_time)
            }
        })
    }
}

/// The cache key of a token: its SHA-256, so that neither the cache nor a
/// memory dump of it holds a usable token.
fn cache_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub struct TokenValidator {
    client: KeystoneClient,
    cache: Cache<[u8; 32], Cached>,
    keystone_calls: AtomicU64,
}

impl TokenValidator {
    pub fn new(client: KeystoneClient, cache_time: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(100_000)
            .expire_after(TokenExpiry { cache_time })
            .build();
        TokenValidator {
            client,
            cache,
            keystone_calls: AtomicU64::new(0),
        }
    }

    /// The Keystone client, for glint's own lookups (projects of the sharing extensions).
    pub fn client(&self) -> &KeystoneClient {
        &self.client
    }

    /// How many validations reached Keystone (for tests and metrics).
    pub fn keystone_calls(&self) -> u64 {
        self.keystone_calls.load(Ordering::Relaxed)
    }

    /// The Keystone client, for what is not a validation (the web page's login and logout).
    pub fn keystone(&self) -> &KeystoneClient {
        &self.client
    }

    /// Forget a revoked token at once, instead of honouring it until its entry expires.
    pub async fn forget(&self, token: &str) {
        self.cache.invalidate(&cache_key(token)).await;
    }

    pub async fn validate(&self, token: &str) -> Result<Arc<Identity>, KeystoneError> {
        let key = cache_key(token);
        let m = &crate::metrics::PROCESS;
        let missed = std::sync::atomic::AtomicBool::new(false);
        let cached = self
            .cache
            .try_get_with(key, async {
                missed.store(true, Ordering::Relaxed);
                self.keystone_calls.fetch_add(1, Ordering::Relaxed);
                m.keystone_calls.fetch_add(1, Ordering::Relaxed);
                let started = std::time::Instant::now();
                let answer = self.client.validate(token).await;
                crate::metrics::add_time(&m.keystone_us, started.elapsed());
                match answer {
                    Ok(id) => Ok(Cached::Valid(Arc::new(id))),
                    Err(KeystoneError::Invalid) => Ok(Cached::Invalid),
                    // Not cached: the next request asks Keystone again.
                    Err(e) => {
                        m.keystone_failures.fetch_add(1, Ordering::Relaxed);
                        Err(e)
                    }
                }
            })
            .await
            .map_err(|e: Arc<KeystoneError>| (*e).clone());
        let counter = match missed.load(Ordering::Relaxed) {
            true => &m.token_cache_misses,
            false => &m.token_cache_hits,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let cached = cached?;
        match cached {
            Cached::Valid(id) if id.expires_at > Utc::now() => Ok(id),
            _ => Err(KeystoneError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_are_sha256_of_the_token() {
        let token = "gAAAAABexample-token-value-that-is-long-enough-to-matter";
        let key = cache_key(token);
        assert_eq!(
            hex::encode(key),
            hex::encode(Sha256::digest(token.as_bytes()))
        );
        // Nothing of the token survives in the key.
        assert!(!key
            .windows(4)
            .any(|w| token.as_bytes().windows(4).any(|t| t == w)));
        assert_ne!(
            cache_key(token),
            cache_key("gAAAAABexample-token-value-that-is-long-enough-to-mattex")
        );
    }
}
