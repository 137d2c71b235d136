//! `glint_project_names`: names of projects glint has seen, from tokens it validated and from
//! Keystone look-ups (`service::project_names`). Read a page at a time, never per item; a project
//! never seen has no row and its name is simply not shown.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::timestamp::DbTime;

diesel::table! {
    glint_project_names (project_id) {
        project_id -> Text,
        name -> Text,
        domain_id -> Nullable<Text>,
        seen_at -> Timestamp,
    }
}

use glint_project_names as t;

/// What glint knows of a project besides its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName {
    pub name: String,
    pub domain_id: Option<String>,
}

/// Record (or refresh) a project's name and domain as seen at `at`. Another writer recording
/// the same project at the same moment wins without an error.
pub fn put(
    conn: &mut DbConn,
    project: &str,
    seen: &ProjectName,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    let changed = diesel::update(t::table.filter(t::project_id.eq(project)))
        .set((
            t::name.eq(&seen.name),
            t::domain_id.eq(seen.domain_id.as_deref()),
            t::seen_at.eq(DbTime(at)),
        ))
        .execute(conn)?;
    if changed > 0 {
        return Ok(());
    }
    let inserted = diesel::insert_into(t::table)
        .values((
            t::project_id.eq(project),
            t::name.eq(&seen.name),
            t::domain_id.eq(seen.domain_id.as_deref()),
            t::seen_at.eq(DbTime(at)),
        ))
        .execute(conn);
    match inserted.map_err(DbError::from) {
        Ok(_) | Err(DbError::Duplicate(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The known names of `projects`, in one statement.
pub fn of(conn: &mut DbConn, projects: &[&str]) -> Result<HashMap<String, ProjectName>, DbError> {
    if projects.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, Option<String>)> = t::table
        .filter(t::project_id.eq_any(projects))
        .select((t::project_id, t::name, t::domain_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, domain_id)| (id, ProjectName { name, domain_id }))
        .collect())
}
