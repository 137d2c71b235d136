//! Every bound glint puts on the size of a request, in one place.
//!
//! Each limit is far above what any real client sends, so that only hostile or broken input
//! meets it; what happens at each one (a 400 naming it, a 413, a closed connection) is written
//! beside it and in api-ref/differences.md.

// --- request bodies -----------------------------------------------------------------------

/// The largest JSON body glint reads (image metadata, member and PATCH documents): 413 beyond.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

// --- list queries -------------------------------------------------------------------------

/// The most tag and custom-property filters one `GET /v2/images` may carry (`tag=` values,
/// the characters of a `tags=` value, and every other unknown key), duplicates counted once:
/// 400 naming the limit beyond. Each is a condition on another table; real clients send a few.
pub const MAX_LIST_FILTERS: usize = 100;

/// The most values all the `in:` lists of one `GET /v2/images` may hold together (`id=in:a,b`
/// counts 2), and the distinct names of a metadefs namespace list's `resource_types`: 400
/// naming the limit beyond. Enough for a page of ids chosen one by one.
pub const MAX_LIST_IN_VALUES: usize = 1000;
