//! Every bound glint puts on the size of a request, in one place.
//!
//! Each limit is far above what any real client sends, so that only hostile or broken input
//! meets it; what happens at each one (a 400 naming it, a 413, a closed connection) is written
//! beside it and in api-ref/differences.md.

// --- request bodies -----------------------------------------------------------------------

/// The largest JSON body glint reads (image metadata, member and PATCH documents): 413 beyond.
pub const MAX_JSON_BODY: usize = 1024 * 1024;
