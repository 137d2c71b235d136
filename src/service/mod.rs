//! Use cases. The only layer where the database and the image store meet.

pub mod access;
pub mod data;
pub mod images;
pub mod members;
