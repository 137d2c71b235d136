//! Pure rules: no HTTP, no SQL, no async. Everything here is unit-tested as tables.

pub mod address;
pub mod context;
pub mod expiry_reminder;
pub mod id;
pub mod image;
pub mod image_schema;
pub mod import;
pub mod inbox_query;
pub mod json_schema;
pub mod limits;
pub mod list_query;
pub mod member;
pub mod member_ext;
pub mod metadefs;
pub mod patch;
pub mod pyfmt;
pub mod pyjson;
pub mod pyre;
pub mod python;
pub mod quota;
pub mod share_event;
pub mod share_policy;
pub mod task;
pub mod task_list_query;
pub mod uri_filter;
pub mod visibility;
