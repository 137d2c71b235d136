//! Hand-written SQL with binds that diesel may keep prepared.
//!
//! diesel's `sql()` literal marks any statement that holds one as never to be cached, so such a
//! statement is parsed and planned again on every execution: for the image list (a UNION of
//! streams over a table with two dozen indexes) that was most of a page's cost on SQLite, and
//! PostgreSQL's planning time on every request. [`Raw`] writes the same text without that mark;
//! whoever builds a statement from it decides whether the statement may be cached (the list
//! bounds how many of its shapes are, `list::Streams`).

use std::borrow::Cow;
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::expression::{TypedExpressionType, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::QueryResult;

use super::connection::MultiBackend;
use super::timestamp::DbTime;

/// A value sent as a bind parameter, never written into the text.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Int(i64),
    Ts(DbTime),
}

/// A backend that takes every kind of [`Bind`]: each of glint's, and the one over all three.
pub trait Binds: Backend {
    fn push<'b>(bind: &'b Bind, out: &mut AstPass<'_, 'b, Self>) -> QueryResult<()>;
}

macro_rules! binds {
    ($($db:ty),*) => {$(
        impl Binds for $db {
            fn push<'b>(bind: &'b Bind, out: &mut AstPass<'_, 'b, Self>) -> QueryResult<()> {
                match bind {
                    Bind::Text(s) => out.push_bind_param::<Text, String>(s),
                    Bind::Int(n) => out.push_bind_param::<BigInt, i64>(n),
                    Bind::Ts(t) => out.push_bind_param::<Timestamp, DbTime>(t),
                }
            }
        }
    )*};
}

binds!(
    diesel::sqlite::Sqlite,
    diesel::pg::Pg,
    diesel::mysql::Mysql,
    MultiBackend
);

impl Bind {
    pub fn walk<'b, DB: Binds>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        DB::push(self, out)
    }
}

#[derive(Debug, Clone)]
enum Part {
    Sql(Cow<'static, str>),
    Bind(Bind),
}

/// SQL text and binds of SQL type `ST`, in order.
#[derive(Debug, Clone)]
pub struct Raw<ST> {
    parts: Vec<Part>,
    st: PhantomData<fn() -> ST>,
}

/// `text` as an expression of type `ST`.
pub fn raw<ST>(text: impl Into<Cow<'static, str>>) -> Raw<ST> {
    Raw {
        parts: vec![Part::Sql(text.into())],
        st: PhantomData,
    }
}

impl<ST> Raw<ST> {
    /// Appends text.
    pub fn sql(mut self, text: impl Into<Cow<'static, str>>) -> Self {
        self.parts.push(Part::Sql(text.into()));
        self
    }

    /// Appends a bind parameter.
    pub fn bind(mut self, value: Bind) -> Self {
        self.parts.push(Part::Bind(value));
        self
    }
}

impl<ST: TypedExpressionType> Expression for Raw<ST> {
    type SqlType = ST;
}

impl<ST, T> AppearsOnTable<T> for Raw<ST> where Self: Expression {}

impl<ST, T> SelectableExpression<T> for Raw<ST> where Self: Expression {}

impl<ST, GB> ValidGrouping<GB> for Raw<ST> {
    type IsAggregate = is_aggregate::Never;
}

impl<ST> QueryId for Raw<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, DB: Binds> QueryFragment<DB> for Raw<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for part in &self.parts {
            match part {
                Part::Sql(s) => out.push_sql(s),
                Part::Bind(b) => b.walk(&mut out)?,
            }
        }
        Ok(())
    }
}
