//! Timestamps as SQLite keeps them: written in Glance's text form ([`DbTime`]), read without
//! chrono's format interpreter ([`Ts`], [`OptTs`]).
//!
//! SQLite compares timestamps as text. SQLAlchemy (Glance) writes and binds them with exactly six
//! fraction digits (`2026-12-06 05:00:00.000000`); diesel's own form drops a zero fraction and
//! shortens others to three digits (`05:00:00`, `05:00:00.120`), and a shorter text is a prefix
//! that sorts before the longer one, so the two would disagree on equal instants: Glance's list
//! markers (created_at equal to the marker's, then id) would misplace glint's rows and the other
//! way round. Every timestamp glint writes or binds goes through [`DbTime`], which uses Glance's
//! form on SQLite and diesel's binary forms on PostgreSQL and MySQL.
//!
//! SQLite keeps timestamps as text. diesel parses each one by trying chrono format strings
//! in turn, a measurable share of a member list (bench/RESULTS.md, "Figures behind the
//! code").
//! Every timestamp glint writes has the shape `YYYY-MM-DD HH:MM:SS[.ffffff]`, which is read
//! here digit by digit; anything else goes to diesel's own parser, so nothing it accepts
//! is refused. PostgreSQL and MySQL send binary timestamps and use diesel's reader unchanged.

use super::connection::MultiBackend;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::mysql::{Mysql, MysqlValue};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Nullable, SqlType, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};

/// The type a timestamp is bound as through [`MultiBackend`]: diesel's `Timestamp` on
/// PostgreSQL and SQLite, but MySQL's DATETIME rather than its TIMESTAMP. A TIMESTAMP parameter
/// ends in January 2038 (MariaDB stores a later one as NULL), and Glance's columns are DATETIME.
#[derive(Debug, Clone, Copy, SqlType, diesel::query_builder::QueryId)]
pub struct BindTime;

impl HasSqlType<BindTime> for Mysql {
    fn metadata(_: &mut ()) -> diesel::mysql::MysqlType {
        diesel::mysql::MysqlType::DateTime
    }
}

impl HasSqlType<BindTime> for Pg {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        <Pg as HasSqlType<Timestamp>>::metadata(lookup)
    }
}

impl HasSqlType<BindTime> for Sqlite {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        <Sqlite as HasSqlType<Timestamp>>::metadata(lookup)
    }
}

impl HasSqlType<BindTime> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<BindTime>(lookup)
    }
}

/// [`BindTime`] for each backend: the same encodings as under `Timestamp`.
macro_rules! bind_time_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql<BindTime, Sqlite> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <Self as ToSql<Timestamp, Sqlite>>::to_sql(self, out)
            }
        }
        impl ToSql<BindTime, Pg> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Self as ToSql<Timestamp, Pg>>::to_sql(self, out)
            }
        }
        impl ToSql<BindTime, Mysql> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
                <Self as ToSql<Timestamp, Mysql>>::to_sql(self, out)
            }
        }
    )*};
}
bind_time_to_sql!(DbTime, OptDbTime);

/// A timestamp to write or bind: `YYYY-MM-DD HH:MM:SS.ffffff` text on SQLite (Glance's form, see
/// the module's notes), diesel's native encoding elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression)]
#[diesel(sql_type = Timestamp)]
pub struct DbTime(pub NaiveDateTime);

impl From<NaiveDateTime> for DbTime {
    fn from(t: NaiveDateTime) -> Self {
        DbTime(t)
    }
}

/// [`DbTime`] for a nullable column (`#[diesel(serialize_as = OptDbTime)]` on row types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression)]
#[diesel(sql_type = Nullable<Timestamp>)]
pub struct OptDbTime(pub Option<NaiveDateTime>);

impl From<Option<NaiveDateTime>> for OptDbTime {
    fn from(t: Option<NaiveDateTime>) -> Self {
        OptDbTime(t)
    }
}

// The value (`Timestamp`) and the column's type (`Nullable<Timestamp>`): MultiBackend binds a
// present value under the former; NULL never reaches the value impls.
impl ToSql<Timestamp, Sqlite> for OptDbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        match &self.0 {
            Some(t) => {
                out.set_value(sqlite_text(t));
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }
}

/// PostgreSQL and MySQL: diesel's encoding of the value.
macro_rules! opt_to_sql_native {
    ($($backend:ty),*) => {$(
        impl ToSql<Timestamp, $backend> for OptDbTime {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, $backend>) -> serialize::Result {
                match &self.0 {
                    Some(t) => <NaiveDateTime as ToSql<Timestamp, $backend>>::to_sql(t, out),
                    None => Ok(IsNull::Yes),
                }
            }
        }
    )*};
}
opt_to_sql_native!(Pg, Mysql);

macro_rules! opt_to_sql_nullable {
    ($($backend:ty),*) => {$(
        impl ToSql<Nullable<Timestamp>, $backend> for OptDbTime {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, $backend>) -> serialize::Result {
                <Self as ToSql<Timestamp, $backend>>::to_sql(self, out)
            }
        }
    )*};
}
opt_to_sql_nullable!(Sqlite, Pg, Mysql);

impl ToSql<Nullable<Timestamp>, MultiBackend> for OptDbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        match self.0 {
            Some(_) => {
                out.set_value((BindTime, self));
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }
}

/// Glance's (SQLAlchemy's) SQLite text form of a timestamp.
pub fn sqlite_text(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

impl ToSql<Timestamp, Sqlite> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(sqlite_text(&self.0));
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, out)
    }
}

impl ToSql<Timestamp, Mysql> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Mysql>>::to_sql(&self.0, out)
    }
}

impl ToSql<Timestamp, MultiBackend> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((BindTime, self));
        Ok(IsNull::No)
    }
}

/// A `Timestamp` column read as `NaiveDateTime` (`#[diesel(deserialize_as = Ts)]`).
#[derive(FromSqlRow)]
pub struct Ts(NaiveDateTime);

/// A `Nullable<Timestamp>` column read as `Option<NaiveDateTime>`.
#[derive(FromSqlRow)]
pub struct OptTs(Option<NaiveDateTime>);

impl From<Ts> for NaiveDateTime {
    fn from(t: Ts) -> Self {
        t.0
    }
}

impl From<OptTs> for Option<NaiveDateTime> {
    fn from(t: OptTs) -> Self {
        t.0
    }
}

fn from_sqlite(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<NaiveDateTime> {
    if let Some(t) = parse(value.read_text()) {
        return Ok(t);
    }
    <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value)
}

impl FromSql<Timestamp, Sqlite> for Ts {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(Ts)
    }
}

impl FromSql<Nullable<Timestamp>, Sqlite> for OptTs {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(|t| OptTs(Some(t)))
    }

    fn from_nullable_sql(value: Option<SqliteValue<'_, '_, '_>>) -> deserialize::Result<Self> {
        value.map_or(
            Ok(OptTs(None)),
            <Self as FromSql<Nullable<Timestamp>, Sqlite>>::from_sql,
        )
    }
}

impl FromSql<Timestamp, Pg> for Ts {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Ts)
    }
}

impl FromSql<Nullable<Timestamp>, Pg> for OptTs {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(|t| OptTs(Some(t)))
    }

    fn from_nullable_sql(value: Option<diesel::pg::PgValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(
            Ok(OptTs(None)),
            <Self as FromSql<Nullable<Timestamp>, Pg>>::from_sql,
        )
    }
}

impl FromSql<Timestamp, Mysql> for Ts {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Mysql>>::from_sql(value).map(Ts)
    }
}

impl FromSql<Nullable<Timestamp>, Mysql> for OptTs {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Mysql>>::from_sql(value).map(|t| OptTs(Some(t)))
    }

    fn from_nullable_sql(value: Option<MysqlValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(
            Ok(OptTs(None)),
            <Self as FromSql<Nullable<Timestamp>, Mysql>>::from_sql,
        )
    }
}

type MultiRaw<'a> = <MultiBackend as diesel::backend::Backend>::RawValue<'a>;

impl FromSql<Timestamp, MultiBackend> for Ts {
    fn from_sql(value: MultiRaw<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

impl FromSql<Nullable<Timestamp>, MultiBackend> for OptTs {
    fn from_sql(value: MultiRaw<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Nullable<Timestamp>>()
    }

    fn from_nullable_sql(value: Option<MultiRaw<'_>>) -> deserialize::Result<Self> {
        value.map_or(
            Ok(OptTs(None)),
            <Self as FromSql<Nullable<Timestamp>, MultiBackend>>::from_sql,
        )
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1–9 fraction digits; `None` for any
/// other text, or an impossible date or time.
fn parse(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            let digits = num(20, b.len())?;
            digits * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    date.and_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)
}

#[cfg(test)]
mod tests {
    use super::parse;
    use chrono::NaiveDateTime;

    fn chrono(s: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok()
    }

    #[test]
    fn agrees_with_chrono_on_what_glint_writes() {
        for s in [
            "2026-11-23 03:04:05",
            "2026-11-23 03:04:05.1",
            "2026-11-23 03:04:05.123456",
            "2026-11-23 03:04:05.123456789",
            "1970-01-01 00:00:00",
            "2024-02-29 23:59:59.999999",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59",
        ] {
            assert_eq!(parse(s), chrono(s), "{s}");
            assert!(parse(s).is_some(), "{s}");
        }
    }

    #[test]
    fn leaves_everything_else_to_diesel() {
        for s in [
            "",
            "2026-11-23",
            "2026-11-23T03:04:05",
            "2026-11-23 03:04:05Z",
            "2026-11-23 03:04:05.",
            "2026-11-23 03:04:05.1234567890",
            "2026-02-30 03:04:05",
            "2026-11-23 24:00:00",
            "2026-11-23 03:04:60",
            "2026-1a-23 03:04:05",
            "+2026-11-23 03:04:05",
            "2459000.5",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
