//! `glint_share_policy`: recipient projects' trust policies (`domain::share_policy`), one row per
//! project that set one. The id lists are kept as JSON arrays (read whole, never queried into).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::timestamp::{DbTime, Ts};
use crate::domain::share_policy::{Mode, SharePolicy, Untrusted};

diesel::table! {
    glint_share_policy (project_id) {
        project_id -> Text,
        domain_id -> Nullable<Text>,
        owners -> Text,
        domains -> Text,
        same_domain -> Bool,
        untrusted -> Text,
        mode -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<Text>,
    }
}

use glint_share_policy as t;

/// A project's policy as stored, with the recipient's domain (recorded when the project set it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub policy: SharePolicy,
    pub domain_id: Option<String>,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = glint_share_policy)]
struct Row {
    domain_id: Option<String>,
    owners: String,
    domains: String,
    same_domain: bool,
    untrusted: String,
    mode: String,
    #[diesel(deserialize_as = Ts)]
    updated_at: NaiveDateTime,
    updated_by: Option<String>,
}

fn ids(text: &str) -> Result<Vec<String>, DbError> {
    serde_json::from_str(text)
        .map_err(|e| DbError::Other(format!("glint_share_policy id list: {e}")))
}

impl Row {
    fn into_domain(self) -> Result<Stored, DbError> {
        let corrupt =
            |what: &str, v: &str| DbError::Other(format!("glint_share_policy {what}: {v}"));
        Ok(Stored {
            policy: SharePolicy {
                owners: ids(&self.owners)?,
                domains: ids(&self.domains)?,
                same_domain: self.same_domain,
                untrusted: Untrusted::parse(&self.untrusted)
                    .ok_or_else(|| corrupt("untrusted", &self.untrusted))?,
                mode: Mode::parse(&self.mode).ok_or_else(|| corrupt("mode", &self.mode))?,
            },
            domain_id: self.domain_id,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
        })
    }
}

pub fn get(conn: &mut DbConn, project: &str) -> Result<Option<Stored>, DbError> {
    let row: Option<Row> = t::table
        .filter(t::project_id.eq(project))
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    row.map(Row::into_domain).transpose()
}

/// Replace the project's policy.
pub fn put(conn: &mut DbConn, project: &str, s: &Stored) -> Result<(), DbError> {
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    diesel::delete(t::table.filter(t::project_id.eq(project))).execute(conn)?;
    diesel::insert_into(t::table)
        .values((
            t::project_id.eq(project),
            t::domain_id.eq(s.domain_id.as_deref()),
            t::owners.eq(json(&s.policy.owners)),
            t::domains.eq(json(&s.policy.domains)),
            t::same_domain.eq(s.policy.same_domain),
            t::untrusted.eq(s.policy.untrusted.as_str()),
            t::mode.eq(s.policy.mode.as_str()),
            t::updated_at.eq(DbTime(s.updated_at)),
            t::updated_by.eq(s.updated_by.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}
