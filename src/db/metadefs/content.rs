//! What a namespace holds: objects, properties and tags.

use crate::db::timestamp::{DbTime, OptDbTime};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::{metadef_objects as o, metadef_properties as p, metadef_tags as t};
use super::{parse_json, to_json};
use crate::db::connection::DbConn;
use crate::db::error::DbError;
use crate::domain::metadefs::{
    join_required, split_required, MetadefObject, MetadefProperty, MetadefTag,
};

// --- objects ---

type ObjRow = (
    i32,
    String,
    Option<String>,
    Option<String>,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

const OBJ_COLUMNS: (
    o::id,
    o::name,
    o::description,
    o::required,
    o::json_schema,
    o::created_at,
    o::updated_at,
) = (
    o::id,
    o::name,
    o::description,
    o::required,
    o::json_schema,
    o::created_at,
    o::updated_at,
);

fn obj_from(r: ObjRow) -> Result<MetadefObject, DbError> {
    Ok(MetadefObject {
        id: r.0,
        name: r.1,
        description: r.2,
        required: split_required(r.3.as_deref()),
        properties: parse_json(&r.4)?,
        created_at: r.5,
        updated_at: r.6,
    })
}

pub fn objects(conn: &mut DbConn, namespace_id: i32) -> Result<Vec<MetadefObject>, DbError> {
    let rows: Vec<ObjRow> = o::table
        .filter(o::namespace_id.eq(namespace_id))
        .order((o::created_at.asc(), o::id.asc()))
        .select(OBJ_COLUMNS)
        .load(conn)?;
    rows.into_iter().map(obj_from).collect()
}

pub fn object(
    conn: &mut DbConn,
    namespace_id: i32,
    name: &str,
) -> Result<Option<MetadefObject>, DbError> {
    let row: Option<ObjRow> = o::table
        .filter(o::namespace_id.eq(namespace_id))
        .filter(o::name.eq(name.to_owned()))
        .select(OBJ_COLUMNS)
        .first(conn)
        .optional()?;
    row.map(obj_from).transpose()
}

/// The writable fields of an object.
pub struct ObjectValues<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub required: &'a [String],
    pub properties: &'a Map<String, Value>,
}

pub fn insert_object(
    conn: &mut DbConn,
    namespace_id: i32,
    v: &ObjectValues<'_>,
    now: NaiveDateTime,
    updated_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    diesel::insert_into(o::table)
        .values((
            o::namespace_id.eq(namespace_id),
            o::name.eq(v.name),
            o::description.eq(v.description),
            o::required.eq(join_required(v.required)),
            o::json_schema.eq(to_json(v.properties)),
            o::created_at.eq(DbTime(now)),
            o::updated_at.eq(OptDbTime(updated_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_object(
    conn: &mut DbConn,
    id: i32,
    v: &ObjectValues<'_>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(o::table.filter(o::id.eq(id)))
        .set((
            o::name.eq(v.name),
            o::description.eq(v.description),
            o::required.eq(join_required(v.required)),
            o::json_schema.eq(to_json(v.properties)),
            o::updated_at.eq(DbTime(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_object(conn: &mut DbConn, id: i32) -> Result<(), DbError> {
    diesel::delete(o::table.filter(o::id.eq(id))).execute(conn)?;
    Ok(())
}

pub fn delete_objects(conn: &mut DbConn, namespace_id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(o::table.filter(o::namespace_id.eq(namespace_id))).execute(conn)?)
}

// --- properties ---

type PropRow = (i32, String, String);

fn prop_from(r: PropRow) -> Result<MetadefProperty, DbError> {
    Ok(MetadefProperty {
        id: r.0,
        name: r.1,
        schema: parse_json(&r.2)?,
    })
}

pub fn properties(conn: &mut DbConn, namespace_id: i32) -> Result<Vec<MetadefProperty>, DbError> {
    let rows: Vec<PropRow> = p::table
        .filter(p::namespace_id.eq(namespace_id))
        .order((p::created_at.asc(), p::id.asc()))
        .select((p::id, p::name, p::json_schema))
        .load(conn)?;
    rows.into_iter().map(prop_from).collect()
}

pub fn property(
    conn: &mut DbConn,
    namespace_id: i32,
    name: &str,
) -> Result<Option<MetadefProperty>, DbError> {
    let row: Option<PropRow> = p::table
        .filter(p::namespace_id.eq(namespace_id))
        .filter(p::name.eq(name.to_owned()))
        .select((p::id, p::name, p::json_schema))
        .first(conn)
        .optional()?;
    row.map(prop_from).transpose()
}

pub fn insert_property(
    conn: &mut DbConn,
    namespace_id: i32,
    name: &str,
    schema: &Map<String, Value>,
    now: NaiveDateTime,
    updated_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    diesel::insert_into(p::table)
        .values((
            p::namespace_id.eq(namespace_id),
            p::name.eq(name),
            p::json_schema.eq(to_json(schema)),
            p::created_at.eq(DbTime(now)),
            p::updated_at.eq(OptDbTime(updated_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_property(
    conn: &mut DbConn,
    id: i32,
    name: &str,
    schema: &Map<String, Value>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(p::table.filter(p::id.eq(id)))
        .set((
            p::name.eq(name),
            p::json_schema.eq(to_json(schema)),
            p::updated_at.eq(DbTime(now)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_property(conn: &mut DbConn, id: i32) -> Result<(), DbError> {
    diesel::delete(p::table.filter(p::id.eq(id))).execute(conn)?;
    Ok(())
}

pub fn delete_properties(conn: &mut DbConn, namespace_id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(p::table.filter(p::namespace_id.eq(namespace_id))).execute(conn)?)
}

// --- tags ---

type TagRow = (i32, String, NaiveDateTime, Option<NaiveDateTime>);

fn tag_from(r: TagRow) -> MetadefTag {
    MetadefTag {
        id: r.0,
        name: r.1,
        created_at: r.2,
        updated_at: r.3,
    }
}

/// A namespace's tags, unsorted (the caller sorts and pages).
pub fn tags(conn: &mut DbConn, namespace_id: i32) -> Result<Vec<MetadefTag>, DbError> {
    let rows: Vec<TagRow> = t::table
        .filter(t::namespace_id.eq(namespace_id))
        .order((t::created_at.asc(), t::id.asc()))
        .select((t::id, t::name, t::created_at, t::updated_at))
        .load(conn)?;
    Ok(rows.into_iter().map(tag_from).collect())
}

pub fn tag(
    conn: &mut DbConn,
    namespace_id: i32,
    name: &str,
) -> Result<Option<MetadefTag>, DbError> {
    let row: Option<TagRow> = t::table
        .filter(t::namespace_id.eq(namespace_id))
        .filter(t::name.eq(name.to_owned()))
        .select((t::id, t::name, t::created_at, t::updated_at))
        .first(conn)
        .optional()?;
    Ok(row.map(tag_from))
}

pub fn insert_tag(
    conn: &mut DbConn,
    namespace_id: i32,
    name: &str,
    now: NaiveDateTime,
    updated_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    diesel::insert_into(t::table)
        .values((
            t::namespace_id.eq(namespace_id),
            t::name.eq(name),
            t::created_at.eq(DbTime(now)),
            t::updated_at.eq(OptDbTime(updated_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn rename_tag(
    conn: &mut DbConn,
    id: i32,
    name: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(t::table.filter(t::id.eq(id)))
        .set((t::name.eq(name), t::updated_at.eq(DbTime(now))))
        .execute(conn)?;
    Ok(())
}

pub fn delete_tag(conn: &mut DbConn, id: i32) -> Result<(), DbError> {
    diesel::delete(t::table.filter(t::id.eq(id))).execute(conn)?;
    Ok(())
}

pub fn delete_tags(conn: &mut DbConn, namespace_id: i32) -> Result<usize, DbError> {
    Ok(diesel::delete(t::table.filter(t::namespace_id.eq(namespace_id))).execute(conn)?)
}
