//! A project's usage of Glance's four quotas, counted as Glance counts it
//! (`glance/db/sqlalchemy/api.py`: `user_get_storage_usage`, `user_get_staging_usage`,
//! `user_get_image_count`, `user_get_uploading_count`).

use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::schema::{image_locations as l, image_properties as p, images as i};
use crate::domain::import::IMPORTING_TO_STORES;
use crate::domain::unified_limits::{GONE_STATUSES, UPLOADING_STATUSES};

/// Bytes of the owner's image data in stores: each live image's size once per live location.
pub fn storage(conn: &mut DbConn, owner: &str) -> Result<i64, DbError> {
    let sizes: Vec<Option<i64>> = i::table
        .inner_join(l::table)
        .filter(i::owner.eq(owner))
        .filter(i::size.gt(0))
        .filter(not(i::status.eq_any(GONE_STATUSES)))
        .filter(l::deleted.eq(false))
        .filter(l::status.ne(super::locations::DELETED))
        .select(i::size)
        .load(conn)?;
    Ok(sizes.into_iter().flatten().fold(0, i64::saturating_add))
}

/// Whether an image has a non-empty `os_glance_importing_to_stores` (an import or copy to a
/// store is under way).
macro_rules! importing_to_stores {
    () => {
        exists(
            p::table
                .filter(p::image_id.eq(i::id))
                .filter(p::name.eq(IMPORTING_TO_STORES))
                .filter(p::deleted.eq(false))
                .filter(p::value.ne("")),
        )
    };
}

/// Bytes of the owner's data in staging: images being staged or imported, and images an import
/// is copying into a store.
pub fn staging(conn: &mut DbConn, owner: &str) -> Result<i64, DbError> {
    let busy = ["uploading", "importing"];
    let mut sizes: Vec<Option<i64>> = i::table
        .filter(i::owner.eq(owner))
        .filter(i::size.gt(0))
        .filter(i::status.eq_any(busy))
        .select(i::size)
        .load(conn)?;
    let copying: Vec<Option<i64>> = i::table
        .filter(i::owner.eq(owner))
        .filter(i::size.gt(0))
        .filter(not(i::status.eq_any(busy)))
        .filter(not(i::status.eq_any(GONE_STATUSES)))
        .filter(importing_to_stores!())
        .select(i::size)
        .load(conn)?;
    sizes.extend(copying);
    Ok(sizes.into_iter().flatten().fold(0, i64::saturating_add))
}

/// The owner's images that are not killed or deleted.
pub fn image_count(conn: &mut DbConn, owner: &str) -> Result<i64, DbError> {
    Ok(i::table
        .filter(i::owner.eq(owner))
        .filter(not(i::status.eq_any(GONE_STATUSES)))
        .count()
        .get_result(conn)?)
}

/// The owner's images being uploaded, staged or imported, and those an import is copying.
pub fn uploading_count(conn: &mut DbConn, owner: &str) -> Result<i64, DbError> {
    let uploading: i64 = i::table
        .filter(i::owner.eq(owner))
        .filter(i::status.eq_any(UPLOADING_STATUSES))
        .count()
        .get_result(conn)?;
    let copying: i64 = i::table
        .filter(i::owner.eq(owner))
        .filter(not(i::status.eq_any(UPLOADING_STATUSES)))
        .filter(not(i::status.eq_any(GONE_STATUSES)))
        .filter(importing_to_stores!())
        .count()
        .get_result(conn)?;
    Ok(uploading + copying)
}
