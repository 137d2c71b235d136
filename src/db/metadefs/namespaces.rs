//! `metadef_namespaces` rows.

use crate::db::timestamp::{DbTime, OptDbTime};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::metadef_namespace_resource_types as nrt;
use super::metadef_namespaces as ns;
use super::metadef_resource_types as rt;
use super::{metadef_objects, metadef_properties, metadef_tags};
use crate::db::connection::DbConn;
use crate::db::error::DbError;
use crate::domain::metadefs::{Namespace, NamespaceValues};

#[derive(Queryable, Selectable)]
#[diesel(table_name = ns)]
struct Row {
    id: i32,
    namespace: String,
    display_name: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    protected: Option<bool>,
    owner: String,
    created_at: NaiveDateTime,
    updated_at: Option<NaiveDateTime>,
}

impl From<Row> for Namespace {
    fn from(r: Row) -> Self {
        Namespace {
            id: r.id,
            namespace: r.namespace,
            display_name: r.display_name,
            description: r.description,
            visibility: r.visibility,
            protected: r.protected,
            owner: r.owner,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub fn get(conn: &mut DbConn, name: &str) -> Result<Option<Namespace>, DbError> {
    let row: Option<Row> = ns::table
        .filter(ns::namespace.eq(name.to_owned()))
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(Namespace::from))
}

/// Namespaces the caller may see (`admin`, or its own project's and public ones),
/// optionally of one visibility; unsorted.
pub fn list_visible(
    conn: &mut DbConn,
    admin: bool,
    project: Option<&str>,
    visibility: Option<&str>,
) -> Result<Vec<Namespace>, DbError> {
    let mut q = ns::table.select(Row::as_select()).into_boxed();
    if !admin {
        q = match project {
            Some(p) => q.filter(ns::owner.eq(p.to_owned()).or(ns::visibility.eq("public"))),
            None => q.filter(ns::visibility.eq("public")),
        };
    }
    if let Some(v) = visibility {
        q = q.filter(ns::visibility.eq(v.to_owned()));
    }
    Ok(q.load(conn)?.into_iter().map(Namespace::from).collect())
}

/// Ids of namespaces associated with any of these resource types.
pub fn ids_with_resource_types(conn: &mut DbConn, names: &[String]) -> Result<Vec<i32>, DbError> {
    Ok(nrt::table
        .inner_join(rt::table)
        .filter(rt::name.eq_any(names.to_vec()))
        .select(nrt::namespace_id)
        .load(conn)?)
}

pub fn insert(
    conn: &mut DbConn,
    v: &NamespaceValues,
    now: NaiveDateTime,
    updated_at: Option<NaiveDateTime>,
) -> Result<Namespace, DbError> {
    diesel::insert_into(ns::table)
        .values((
            ns::namespace.eq(&v.namespace),
            ns::display_name.eq(&v.display_name),
            ns::description.eq(&v.description),
            ns::visibility.eq(&v.visibility),
            ns::protected.eq(v.protected),
            ns::owner.eq(&v.owner),
            ns::created_at.eq(DbTime(now)),
            ns::updated_at.eq(OptDbTime(updated_at)),
        ))
        .execute(conn)?;
    get(conn, &v.namespace)?.ok_or(DbError::NotFound)
}

pub fn update(
    conn: &mut DbConn,
    id: i32,
    v: &NamespaceValues,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(ns::table.filter(ns::id.eq(id)))
        .set((
            ns::namespace.eq(&v.namespace),
            ns::display_name.eq(&v.display_name),
            ns::description.eq(&v.description),
            ns::visibility.eq(&v.visibility),
            ns::protected.eq(v.protected),
            ns::owner.eq(&v.owner),
            ns::updated_at.eq(DbTime(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes a namespace and everything in it (Glance's `delete_cascade`).
pub fn delete_cascade(conn: &mut DbConn, id: i32) -> Result<(), DbError> {
    diesel::delete(metadef_tags::table.filter(metadef_tags::namespace_id.eq(id))).execute(conn)?;
    diesel::delete(metadef_objects::table.filter(metadef_objects::namespace_id.eq(id)))
        .execute(conn)?;
    diesel::delete(metadef_properties::table.filter(metadef_properties::namespace_id.eq(id)))
        .execute(conn)?;
    diesel::delete(nrt::table.filter(nrt::namespace_id.eq(id))).execute(conn)?;
    diesel::delete(ns::table.filter(ns::id.eq(id))).execute(conn)?;
    Ok(())
}
