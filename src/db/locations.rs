//! Glance's `image_locations`: where each image's data is, as Glance records it, so that
//! Glance and glint can serve each other's images from one database and one store.
//!
//! What Glance 32 writes (`glance/location.py` `ImageProxy._upload_to_store`, the store
//! driver's `add`, `glance/db/sqlalchemy/api.py`), for an upload and for every import method
//! alike, in the transaction that activates the image:
//! * `value`: the store's URL for the data (`file:///<datadir>/<image id>` for the
//!   filesystem store);
//! * `meta_data`: the driver's metadata as `json.dumps` text: `{}` for a single unnamed
//!   store, `{"store": "<backend id>"}` in multi-store mode (`enabled_backends`);
//! * `status` `active`, `deleted` false, `created_at` = `updated_at` = now.
//!
//! On image delete every live row becomes `status` `deleted`, `deleted` true,
//! `deleted_at` = `updated_at` = the time of the delete (`_image_location_delete`).
//! Deactivating an image leaves its rows as they are. Glance serves only rows that are not
//! deleted and whose status is `active`, in row order.

use super::timestamp::DbTime;
use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::models::LocationRow;
use super::schema::image_locations as l;

/// The `status` of a location that holds the image's data.
pub const ACTIVE: &str = "active";
/// The `status` of a location removed with its image.
pub const DELETED: &str = "deleted";

/// A live location of an image: its store URL and, in multi-store mode, the store id from
/// its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub url: String,
    pub store: Option<String>,
}

/// The `meta_data` text Glance's filesystem driver leaves on a location it wrote:
/// `json.dumps({})`, or `json.dumps({"store": id})` when the store is a named backend.
pub fn meta_data(store: Option<&str>) -> String {
    match store {
        None => "{}".to_owned(),
        Some(id) => crate::domain::pyjson::dumps(&serde_json::json!({ "store": id }), true)
            .unwrap_or_else(|| "{}".to_owned()),
    }
}

/// The store id in a location's `meta_data`, if the text is a JSON object with a string
/// `store` (anything else, including text that is not JSON, names no store).
pub fn store_of(meta_data: Option<&str>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(meta_data?).ok()?;
    v.get("store")?.as_str().map(str::to_owned)
}

/// Records that the image's data is at `url` (in the store `store` in multi-store mode), as
/// Glance does when an upload or an import completes.
pub fn add(
    conn: &mut DbConn,
    image_id: &str,
    url: &str,
    store: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    add_with_meta(conn, image_id, url, &meta_data(store), now)
}

/// Records a live location with the given `meta_data` text (a JSON-patch `replace`).
pub fn add_with_meta(
    conn: &mut DbConn,
    image_id: &str,
    url: &str,
    meta_data: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(l::table)
        .values((
            l::image_id.eq(image_id),
            l::value.eq(url),
            l::meta_data.eq(meta_data),
            l::status.eq(ACTIVE),
            l::created_at.eq(DbTime(now)),
            l::updated_at.eq(DbTime(now)),
            l::deleted.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}

/// The locations Glance would read the image's data from: not deleted, `active`, in row
/// order (Glance's default `location_strategy`, `location_order`).
pub fn live(conn: &mut DbConn, image_id: &str) -> Result<Vec<Location>, DbError> {
    Ok(live_rows(conn, image_id)?
        .into_iter()
        .map(|r| Location {
            store: store_of(r.meta_data.as_deref()),
            url: r.value,
        })
        .collect())
}

/// A live location's URL and `meta_data` text.
pub type UrlAndMeta = (String, Option<String>);

/// The live locations (`live`'s order) of each of `image_ids` that has one, by image id.
pub fn live_by_image(
    conn: &mut DbConn,
    image_ids: &[&str],
) -> Result<std::collections::HashMap<String, Vec<UrlAndMeta>>, DbError> {
    let rows: Vec<(String, String, Option<String>)> = l::table
        .filter(l::image_id.eq_any(image_ids))
        .filter(not(l::deleted))
        .filter(l::status.eq(ACTIVE))
        .order(l::id.asc())
        .select((l::image_id, l::value, l::meta_data))
        .load(conn)?;
    let mut by_image: std::collections::HashMap<_, Vec<_>> = Default::default();
    for (id, url, meta) in rows {
        by_image.entry(id).or_default().push((url, meta));
    }
    Ok(by_image)
}

/// Where the image's data is: its live locations, or `None` when it has no location row at
/// all, live or deleted (its data was stored by an older glint, under the image store by id).
pub fn recorded(conn: &mut DbConn, image_id: &str) -> Result<Option<Vec<Location>>, DbError> {
    let live = live(conn, image_id)?;
    if !live.is_empty() {
        return Ok(Some(live));
    }
    let any: i64 = l::table
        .filter(l::image_id.eq(image_id))
        .count()
        .get_result(conn)?;
    Ok((any > 0).then_some(live))
}

/// Every row of the image, deleted or not, in row order (what a hand-back check compares).
pub fn all(conn: &mut DbConn, image_id: &str) -> Result<Vec<LocationRow>, DbError> {
    Ok(l::table
        .filter(l::image_id.eq(image_id))
        .order(l::id.asc())
        .select(LocationRow::as_select())
        .load(conn)?)
}

/// The image's live rows (`live`'s rows, with their ids).
pub fn live_rows(conn: &mut DbConn, image_id: &str) -> Result<Vec<LocationRow>, DbError> {
    Ok(l::table
        .filter(l::image_id.eq(image_id))
        .filter(not(l::deleted))
        .filter(l::status.eq(ACTIVE))
        .order(l::id.asc())
        .select(LocationRow::as_select())
        .load(conn)?)
}

/// One row of the image marked `deleted` at `at`, as Glance's `_image_location_delete`.
pub fn delete_one(
    conn: &mut DbConn,
    image_id: &str,
    row_id: i32,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        l::table
            .filter(l::image_id.eq(image_id))
            .filter(l::id.eq(row_id))
            .filter(not(l::deleted)),
    )
    .set((
        l::deleted.eq(true),
        l::status.eq(DELETED),
        l::updated_at.eq(DbTime(at)),
        l::deleted_at.eq(DbTime(at)),
    ))
    .execute(conn)?)
}

/// The image's live rows marked as Glance marks them when it deletes the image's data:
/// `deleted`, at `at`. Returns how many rows changed.
pub fn delete_all(conn: &mut DbConn, image_id: &str, at: NaiveDateTime) -> Result<usize, DbError> {
    Ok(diesel::update(
        l::table
            .filter(l::image_id.eq(image_id))
            .filter(not(l::deleted)),
    )
    .set((
        l::deleted.eq(true),
        l::status.eq(DELETED),
        l::updated_at.eq(DbTime(at)),
        l::deleted_at.eq(DbTime(at)),
    ))
    .execute(conn)?)
}

/// Glance's `user_get_storage_usage`: the bytes `owner`'s images hold, each image's size once
/// per live location, leaving out `except` (the image being written), images without a size
/// and those killed, deleted or pending delete.
pub fn owner_usage(conn: &mut DbConn, owner: Option<&str>, except: &str) -> Result<u64, DbError> {
    use super::schema::images as i;
    let rows = l::table
        .inner_join(i::table)
        .filter(i::id.ne(except))
        .filter(i::size.gt(0))
        .filter(not(i::status.eq_any([
            "killed",
            "deleted",
            "pending_delete",
        ])))
        .filter(not(l::deleted))
        .filter(l::status.ne(DELETED))
        .select(i::size)
        .into_boxed();
    let rows = match owner {
        Some(o) => rows.filter(i::owner.eq(o)),
        None => rows.filter(i::owner.is_null()),
    };
    let sizes: Vec<Option<i64>> = rows.load(conn)?;
    Ok(sizes
        .into_iter()
        .flatten()
        .map(|s| u64::try_from(s).unwrap_or(0))
        .fold(0u64, u64::saturating_add))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_data_is_glances_json_text() {
        assert_eq!(meta_data(None), "{}");
        assert_eq!(meta_data(Some("file1")), r#"{"store": "file1"}"#);
        assert_eq!(
            store_of(Some(r#"{"store": "file1"}"#)).as_deref(),
            Some("file1")
        );
        for none in [
            None,
            Some("{}"),
            Some("null"),
            Some("not json"),
            Some(r#"{"store": 1}"#),
        ] {
            assert_eq!(store_of(none), None, "{none:?}");
        }
    }
}
