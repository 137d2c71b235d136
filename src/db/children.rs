//! An image's properties and tags as one JSON column of the image's own row.
//!
//! Loading one image took two statements: the row, then its properties and tags. The second
//! cost a large share of an image show on SQLite and a second round trip on PostgreSQL
//! (figures: bench/RESULTS.md, "Figures behind the code"). `ChildrenJson` is a correlated
//! subquery selected beside the row, which
//! aggregates them into a JSON array of `[is_tag, name, value]` triples in the database.

use std::collections::{BTreeMap, BTreeSet};

use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::mysql::Mysql;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use super::error::DbError;

/// The live properties and tags of the `images` row of the enclosing query, as JSON text
/// (NULL or `[]` when there are none). Its SQL is fixed, so statements using it stay cached.
#[derive(Debug, Clone, Copy)]
pub struct ChildrenJson;

impl Expression for ChildrenJson {
    type SqlType = Nullable<Text>;
}

impl<QS> AppearsOnTable<QS> for ChildrenJson {}
impl<QS> SelectableExpression<QS> for ChildrenJson {}

impl ValidGrouping<()> for ChildrenJson {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for ChildrenJson {
    type QueryId = ChildrenJson;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// Both dialects' subquery: the rows to aggregate, tags after properties.
const CHILD_ROWS: &str = "SELECT 0 AS is_tag, p.name AS name, p.value AS value \
     FROM image_properties p WHERE p.image_id = images.id AND NOT p.deleted \
     UNION ALL SELECT 1, t.value, NULL FROM image_tags t \
     WHERE t.image_id = images.id AND NOT t.deleted";

impl QueryFragment<Sqlite> for ChildrenJson {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        pass.push_sql("(SELECT json_group_array(json_array(is_tag, name, value)) FROM (");
        pass.push_sql(CHILD_ROWS);
        pass.push_sql("))");
        Ok(())
    }
}

impl QueryFragment<Pg> for ChildrenJson {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        pass.push_sql("(SELECT json_agg(json_build_array(c.is_tag, c.name, c.value))::text FROM (");
        pass.push_sql(CHILD_ROWS);
        pass.push_sql(") c)");
        Ok(())
    }
}

/// MariaDB cannot see the outer row from a subquery in FROM, so the two kinds are aggregated
/// apart and merged (`[]` when neither has rows, as on SQLite). `group_concat_max_len`,
/// which bounds `JSON_ARRAYAGG`, is raised on every connection (`db::connection`).
impl QueryFragment<Mysql> for ChildrenJson {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        pass.push_sql(
            "JSON_MERGE_PRESERVE(\
             COALESCE((SELECT JSON_ARRAYAGG(JSON_ARRAY(0, p.name, p.value)) \
             FROM image_properties p WHERE p.image_id = images.id AND NOT p.deleted), '[]'), \
             COALESCE((SELECT JSON_ARRAYAGG(JSON_ARRAY(1, t.value, NULL)) \
             FROM image_tags t WHERE t.image_id = images.id AND NOT t.deleted), '[]'))",
        );
        Ok(())
    }
}

/// Properties and tags from `ChildrenJson`'s text.
pub fn parse(
    image_id: &str,
    json: Option<&str>,
) -> Result<(BTreeMap<String, String>, BTreeSet<String>), DbError> {
    let mut props = BTreeMap::new();
    let mut tags = BTreeSet::new();
    let Some(json) = json else {
        return Ok((props, tags));
    };
    let rows: Vec<(u8, String, Option<String>)> = serde_json::from_str(json).map_err(|e| {
        DbError::Other(format!(
            "image {image_id}: unreadable properties and tags: {e}"
        ))
    })?;
    for (is_tag, name, value) in rows {
        if is_tag == 1 {
            tags.insert(name);
        } else {
            props.insert(name, value.unwrap_or_default());
        }
    }
    Ok((props, tags))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_both_dialects_output() {
        let (p, t) = parse(
            "i",
            Some(r#"[[0,"k1","v1"],[0,"k\"2","é\n"],[1,"b",null],[1,"a",null]]"#),
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p["k\"2"], "é\n");
        assert_eq!(t.iter().collect::<Vec<_>>(), ["a", "b"]);
        // PostgreSQL's json_agg of no rows is NULL; SQLite's json_group_array is [].
        assert_eq!(parse("i", None).unwrap(), Default::default());
        assert_eq!(parse("i", Some("[]")).unwrap(), Default::default());
        assert!(parse("i", Some("[[0,")).is_err());
    }
}
