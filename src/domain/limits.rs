//! Every bound glint puts on the size of a request, in one place.
//!
//! Each limit is far above what any real client sends, so that only hostile or broken input
//! meets it; what happens at each one (a 400 naming it, a 413, a closed connection) is written
//! beside it and in api-ref/differences.md.

// --- request bodies -----------------------------------------------------------------------

/// The largest JSON body glint reads (image metadata, member and PATCH documents): 413 beyond.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

// --- policy files (read once at start-up) -------------------------------------------------

/// The largest policy file glint reads (Glance's full default policy is about 20 KiB):
/// start-up fails with a message naming the file beyond.
pub const MAX_POLICY_FILE_BYTES: u64 = 1024 * 1024;

/// The most YAML nodes a policy file may describe once every alias is expanded (a rule is
/// one or two nodes): start-up fails with a message naming the file beyond. This is what
/// stops a "billion laughs" of nested anchors and aliases, which would otherwise be
/// expanded in memory before any rule is read.
pub const MAX_POLICY_NODES: u64 = 100_000;

/// The deepest nesting of YAML or JSON collections in a policy file (a legacy list of lists
/// is three levels): start-up fails with a message naming the file beyond.
pub const MAX_POLICY_NESTING: usize = 32;

// --- list queries -------------------------------------------------------------------------

/// The most tag and custom-property filters one `GET /v2/images` may carry (`tag=` values,
/// the characters of a `tags=` value, and every other unknown key), duplicates counted once:
/// 400 naming the limit beyond. Each is a condition on another table; real clients send a few.
pub const MAX_LIST_FILTERS: usize = 100;

/// The most values all the `in:` lists of one `GET /v2/images` may hold together (`id=in:a,b`
/// counts 2), and the distinct names of a metadefs namespace list's `resource_types`: 400
/// naming the limit beyond. Enough for a page of ids chosen one by one.
pub const MAX_LIST_IN_VALUES: usize = 1000;
