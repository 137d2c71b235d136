//! `glint_domain_guardrails`: the guardrails each domain's admin set
//! (`domain::domain_guardrails`), one row per domain that set any, read by primary key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::timestamp::{DbTime, Ts};
use crate::domain::guardrails::Guardrails;

diesel::table! {
    glint_domain_guardrails (domain_id) {
        domain_id -> Text,
        guardrails -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<Text>,
    }
}

use glint_domain_guardrails as t;

/// A domain's guardrails as stored, with who set them and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub guardrails: Guardrails,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = glint_domain_guardrails)]
struct Row {
    guardrails: String,
    #[diesel(deserialize_as = Ts)]
    updated_at: NaiveDateTime,
    updated_by: Option<String>,
}

pub fn get(conn: &mut DbConn, domain: &str) -> Result<Option<Stored>, DbError> {
    let row: Option<Row> = t::table
        .filter(t::domain_id.eq(domain))
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| {
        Ok(Stored {
            guardrails: Guardrails::parse(&r.guardrails)
                .map_err(|e| DbError::Other(format!("glint_domain_guardrails: {e}")))?,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        })
    })
    .transpose()
}

/// Replace the domain's guardrails.
pub fn put(conn: &mut DbConn, domain: &str, s: &Stored) -> Result<(), DbError> {
    diesel::delete(t::table.filter(t::domain_id.eq(domain))).execute(conn)?;
    diesel::insert_into(t::table)
        .values((
            t::domain_id.eq(domain),
            t::guardrails.eq(s.guardrails.names().join(",")),
            t::updated_at.eq(DbTime(s.updated_at)),
            t::updated_by.eq(s.updated_by.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}
