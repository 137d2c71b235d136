//! `metadef_resource_types` and their associations with namespaces.

use crate::db::timestamp::{DbTime, OptDbTime};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::metadef_namespace_resource_types as nrt;
use super::metadef_resource_types as rt;
use crate::db::connection::DbConn;
use crate::db::error::DbError;
use crate::domain::metadefs::document::AssociationDoc;
use crate::domain::metadefs::{Association, ResourceType};

/// name, prefix, properties_target, created_at, updated_at
type AssocRow = (
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

type RtRow = (i32, String, bool, NaiveDateTime, Option<NaiveDateTime>);

fn rt_from(r: RtRow) -> ResourceType {
    ResourceType {
        id: r.0,
        name: r.1,
        protected: r.2,
        created_at: r.3,
        updated_at: r.4,
    }
}

const RT_COLUMNS: (
    rt::id,
    rt::name,
    rt::protected,
    rt::created_at,
    rt::updated_at,
) = (
    rt::id,
    rt::name,
    rt::protected,
    rt::created_at,
    rt::updated_at,
);

/// Every resource type, in insertion order.
pub fn list(conn: &mut DbConn) -> Result<Vec<ResourceType>, DbError> {
    let rows: Vec<RtRow> = rt::table
        .select(RT_COLUMNS)
        .order(rt::id.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(rt_from).collect())
}

pub fn get(conn: &mut DbConn, name: &str) -> Result<Option<ResourceType>, DbError> {
    let row: Option<RtRow> = rt::table
        .filter(rt::name.eq(name.to_owned()))
        .select(RT_COLUMNS)
        .first(conn)
        .optional()?;
    Ok(row.map(rt_from))
}

/// The resource type of this name, created (unprotected by the API,
/// protected by the loader) when missing, as Glance does on association.
pub fn get_or_create(
    conn: &mut DbConn,
    name: &str,
    protected: bool,
    now: NaiveDateTime,
) -> Result<ResourceType, DbError> {
    if let Some(found) = get(conn, name)? {
        return Ok(found);
    }
    diesel::insert_into(rt::table)
        .values((
            rt::name.eq(name),
            rt::protected.eq(protected),
            rt::created_at.eq(DbTime(now)),
            rt::updated_at.eq(DbTime(now)),
        ))
        .execute(conn)?;
    get(conn, name)?.ok_or(DbError::NotFound)
}

/// A namespace's associations, in the order they were made.
pub fn associations(conn: &mut DbConn, namespace_id: i32) -> Result<Vec<Association>, DbError> {
    let rows: Vec<AssocRow> = nrt::table
        .inner_join(rt::table)
        .filter(nrt::namespace_id.eq(namespace_id))
        .order((nrt::created_at.asc(), rt::id.asc()))
        .select((
            rt::name,
            nrt::prefix,
            nrt::properties_target,
            nrt::created_at,
            nrt::updated_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Association {
            name: r.0,
            prefix: r.1,
            properties_target: r.2,
            created_at: r.3,
            updated_at: r.4,
        })
        .collect())
}

pub fn association_exists(
    conn: &mut DbConn,
    namespace_id: i32,
    resource_type_id: i32,
) -> Result<bool, DbError> {
    let n: i64 = nrt::table
        .filter(nrt::namespace_id.eq(namespace_id))
        .filter(nrt::resource_type_id.eq(resource_type_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn associate(
    conn: &mut DbConn,
    namespace_id: i32,
    resource_type_id: i32,
    a: &AssociationDoc,
    now: NaiveDateTime,
    updated_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    diesel::insert_into(nrt::table)
        .values((
            nrt::namespace_id.eq(namespace_id),
            nrt::resource_type_id.eq(resource_type_id),
            nrt::prefix.eq(&a.prefix),
            nrt::properties_target.eq(&a.properties_target),
            nrt::created_at.eq(DbTime(now)),
            nrt::updated_at.eq(OptDbTime(updated_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Returns how many rows went (0 or 1).
pub fn dissociate(
    conn: &mut DbConn,
    namespace_id: i32,
    resource_type_id: i32,
) -> Result<usize, DbError> {
    Ok(diesel::delete(
        nrt::table
            .filter(nrt::namespace_id.eq(namespace_id))
            .filter(nrt::resource_type_id.eq(resource_type_id)),
    )
    .execute(conn)?)
}
