//! Use cases. The only layer where the database and the image store meet.

pub mod access;
pub mod batch_share;
pub mod data;
pub mod expiry_reminders;
pub mod image_copy;
pub mod image_locations;
pub mod images;
pub mod import;
pub mod inbox;
pub mod location_import;
pub mod members;
pub mod metadefs;
pub mod projects;
pub mod property_protection;
pub mod quotas;
pub mod recovery;
pub mod serial_worker;
pub mod share_events;
mod share_expiry;
pub mod share_policy;
pub mod sharing_sweep;
pub mod tasks;
pub mod transfer;
pub mod upload_slots;
pub mod web_download;
pub mod webhooks;
