//! Which shapes of a dynamically built statement diesel may keep prepared.
//!
//! diesel keeps a statement prepared per connection, keyed by its SQL text, for as long as the
//! connection lives, with no bound. The image list's text follows its query's shape (which
//! filters, which sort, the page size, the marker), which any client chooses, so caching every
//! shape would let a client grow each connection's cache without end. The first
//! [`CACHED_SHAPES`] shapes a process sees are kept prepared (what real clients send is a
//! handful: Nova, Horizon, the CLI and Terraform each use one or two); any other is prepared per
//! request, as every list statement was before.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, OnceLock};

/// At most this many list statements per connection stay prepared.
pub const CACHED_SHAPES: usize = 64;

/// Shapes admitted so far, at most `cap`.
struct Shapes {
    set: Mutex<HashSet<u64>>,
    cap: usize,
}

impl Shapes {
    fn new(cap: usize) -> Self {
        Shapes {
            set: Mutex::new(HashSet::new()),
            cap,
        }
    }

    /// Admitted before, or admitted now because there is room.
    fn admit(&self, shape: &str) -> bool {
        let mut h = DefaultHasher::new();
        shape.hash(&mut h);
        let key = h.finish();
        let mut set = self
            .set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if set.contains(&key) {
            return true;
        }
        if set.len() < self.cap {
            set.insert(key);
            return true;
        }
        false
    }
}

static ADMITTED: OnceLock<Shapes> = OnceLock::new();

/// Whether a statement of this shape may stay prepared.
pub fn admit(shape: &str) -> bool {
    ADMITTED
        .get_or_init(|| Shapes::new(CACHED_SHAPES))
        .admit(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_a_bounded_number_of_shapes_and_keeps_admitting_those() {
        let shapes = Shapes::new(3);
        assert!(shapes.admit("a"));
        assert!(shapes.admit("b"));
        assert!(shapes.admit("a"));
        assert!(shapes.admit("c"));
        assert!(!shapes.admit("d"));
        assert!(!shapes.admit("d"));
        assert!(shapes.admit("b"));
    }
}
