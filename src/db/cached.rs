//! Write statements that diesel keeps prepared.
//!
//! diesel re-prepares every `UPDATE` and every `sql_query` on each call (an `AsChangeset` may
//! skip `None` fields, so the SQL of an update type is not fixed in general), and a wrapper
//! cannot change that: the statement cache asks the inner statement through a reference,
//! which walks it. The hot writes are therefore written here as types whose SQL is fixed, so
//! the cache keys them by type. Re-preparing was a sizeable share of a member create and
//! delete on SQLite (bench/RESULTS.md, "Figures behind the code").

use super::timestamp::DbTime;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Integer, Text, Timestamp};
use diesel::QueryResult;

/// `QueryId` keyed by the type itself, and `RunQueryDsl`, for a statement type of this module.
macro_rules! fixed_statement {
    ($name:ident) => {
        impl diesel::query_builder::QueryId for $name {
            type QueryId = $name;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        impl<C> diesel::RunQueryDsl<C> for $name {}
    };
    ($name:ident<$lt:lifetime>) => {
        impl diesel::query_builder::QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        impl<C> diesel::RunQueryDsl<C> for $name<'_> {}
    };
}

/// Binding the value types of this module's statements, on either backend. The bounds are
/// stated once here, so each statement needs only `DB: Binds`.
pub trait Binds: Backend + Sized {
    fn text<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b str) -> QueryResult<()>;
    fn timestamp<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b DbTime) -> QueryResult<()>;
    fn boolean<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b bool) -> QueryResult<()>;
    fn integer<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b i32) -> QueryResult<()>;
}

impl<DB> Binds for DB
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp> + HasSqlType<Bool> + HasSqlType<Integer>,
    str: ToSql<Text, DB>,
    DbTime: ToSql<Timestamp, DB>,
    bool: ToSql<Bool, DB>,
    i32: ToSql<Integer, DB>,
{
    fn text<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b str) -> QueryResult<()> {
        pass.push_bind_param::<Text, str>(v)
    }
    fn timestamp<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b DbTime) -> QueryResult<()> {
        pass.push_bind_param::<Timestamp, _>(v)
    }
    fn boolean<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b bool) -> QueryResult<()> {
        pass.push_bind_param::<Bool, _>(v)
    }
    fn integer<'b>(pass: &mut AstPass<'_, 'b, Self>, v: &'b i32) -> QueryResult<()> {
        pass.push_bind_param::<Integer, _>(v)
    }
}

/// The live row of (image, member), as the end of a statement on `image_members`.
fn where_live_member<'b, DB: Binds>(
    pass: &mut AstPass<'_, 'b, DB>,
    image_id: &'b str,
    member: &'b str,
) -> QueryResult<()> {
    pass.push_sql(" WHERE image_id = ");
    DB::text(pass, image_id)?;
    pass.push_sql(" AND member = ");
    DB::text(pass, member)?;
    pass.push_sql(" AND NOT deleted");
    Ok(())
}

/// Set the status of a live member row.
pub struct SetMemberStatus<'a> {
    pub image_id: &'a str,
    pub member: &'a str,
    pub status: &'a str,
    pub now: DbTime,
}
fixed_statement!(SetMemberStatus<'a>);

impl<DB: Binds> QueryFragment<DB> for SetMemberStatus<'_> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        pass.push_sql("UPDATE image_members SET status = ");
        DB::text(&mut pass, self.status)?;
        pass.push_sql(", updated_at = ");
        DB::timestamp(&mut pass, &self.now)?;
        where_live_member(&mut pass, self.image_id, self.member)
    }
}

/// Soft-delete a live member row.
pub struct DeleteMember<'a> {
    pub image_id: &'a str,
    pub member: &'a str,
    pub now: DbTime,
}
fixed_statement!(DeleteMember<'a>);

impl<DB: Binds> QueryFragment<DB> for DeleteMember<'_> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        pass.push_sql("UPDATE image_members SET deleted = ");
        DB::boolean(&mut pass, &true)?;
        pass.push_sql(", deleted_at = ");
        DB::timestamp(&mut pass, &self.now)?;
        pass.push_sql(", updated_at = ");
        DB::timestamp(&mut pass, &self.now)?;
        where_live_member(&mut pass, self.image_id, self.member)
    }
}

/// Bring a soft-deleted member row back as a new `pending` member.
pub struct ReviveMember<'a> {
    pub id: i32,
    pub status: &'a str,
    pub now: DbTime,
}
fixed_statement!(ReviveMember<'a>);

impl<DB: Binds> QueryFragment<DB> for ReviveMember<'_> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        pass.push_sql("UPDATE image_members SET deleted = ");
        DB::boolean(&mut pass, &false)?;
        pass.push_sql(", deleted_at = NULL, status = ");
        DB::text(&mut pass, self.status)?;
        pass.push_sql(", created_at = ");
        DB::timestamp(&mut pass, &self.now)?;
        pass.push_sql(", updated_at = ");
        DB::timestamp(&mut pass, &self.now)?;
        pass.push_sql(" WHERE id = ");
        DB::integer(&mut pass, &self.id)?;
        Ok(())
    }
}
