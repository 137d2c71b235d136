//! `GET /v2/tasks` query parameters as Glance's request deserializer reads them, in its order
//! (`glance/api/v2/tasks.py`), with its messages.

use crate::domain::id::is_uuid_like;
use crate::domain::task::TaskStatus;
use crate::error::Error;

/// A parsed `GET /v2/tasks` query.
#[derive(Debug, Clone)]
pub struct TaskListQuery {
    pub limit: i64,
    pub marker: Option<String>,
    pub sort_key: String,
    pub sort_desc: bool,
    /// Equality filters on task columns (others are ignored, as in Glance).
    pub filters: Vec<(String, String)>,
}

impl TaskListQuery {
    /// The request deserializer's checks, in its order.
    pub fn parse(raw: &str, limit_default: i64, limit_max: i64) -> Result<Self, Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|_| Error::bad_request("Invalid query string."))?;
        // webob's `params.pop` takes one value; later duplicates are kept as filters.
        let take = |key: &str, pairs: &mut Vec<(String, String)>| {
            pairs
                .iter()
                .position(|(k, _)| k == key)
                .map(|i| pairs.remove(i).1)
        };
        let mut pairs = pairs;
        let limit = take("limit", &mut pairs);
        let marker = take("marker", &mut pairs);
        let sort_dir = take("sort_dir", &mut pairs).unwrap_or_else(|| "desc".into());
        let sort_key = take("sort_key", &mut pairs).unwrap_or_else(|| "created_at".into());
        if sort_dir != "asc" && sort_dir != "desc" {
            return Err(Error::bad_request(format!(
                "Invalid sort direction: {sort_dir}"
            )));
        }
        // Filters are a dict: the last value of a repeated key wins (linear in the pairs).
        let mut filters: Vec<(String, String)> = Vec::new();
        let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (k, v) in pairs {
            match at.get(&k) {
                Some(&i) => filters[i].1 = v,
                None => {
                    at.insert(k.clone(), filters.len());
                    filters.push((k, v));
                }
            }
        }
        for (k, v) in &filters {
            if k == "status" && !v.is_empty() && v.parse::<TaskStatus>().is_err() {
                return Err(Error::bad_request(format!("Invalid status value: {v}")));
            }
            if k == "type" && !v.is_empty() && v != "import" {
                return Err(Error::bad_request(format!("Invalid type value: {v}")));
            }
        }
        if let Some(m) = &marker {
            if !m.is_empty() && !is_uuid_like(m) {
                return Err(Error::bad_request("Invalid marker format"));
            }
        }
        let limit = match limit {
            None => limit_default,
            Some(l) => {
                let n: i64 = l
                    .trim()
                    .parse()
                    .map_err(|_| Error::bad_request("limit param must be an integer"))?;
                if n < 0 {
                    return Err(Error::bad_request("limit param must be positive"));
                }
                n
            }
        };
        Ok(TaskListQuery {
            limit: limit.min(limit_max),
            marker: marker.filter(|m| !m.is_empty()),
            sort_key,
            sort_desc: sort_dir == "desc",
            filters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_checks() {
        let q = TaskListQuery::parse("", 25, 1000).unwrap();
        assert_eq!(
            (q.limit, q.sort_key.as_str(), q.sort_desc),
            (25, "created_at", true)
        );
        let q =
            TaskListQuery::parse("limit=5000&sort_dir=asc&status=success&foo=1", 25, 1000).unwrap();
        assert_eq!(q.limit, 1000);
        assert!(!q.sort_desc);
        assert_eq!(q.filters.len(), 2);
        for (raw, msg) in [
            ("sort_dir=up", "Invalid sort direction: up"),
            ("status=done", "Invalid status value: done"),
            (
                "type=api_image_import",
                "Invalid type value: api_image_import",
            ),
            ("marker=abc", "Invalid marker format"),
            ("limit=x", "limit param must be an integer"),
            ("limit=-1", "limit param must be positive"),
        ] {
            assert_eq!(
                TaskListQuery::parse(raw, 25, 1000).unwrap_err(),
                Error::bad_request(msg),
                "{raw}"
            );
        }
        assert!(is_uuid_like("2a7bd9c3-bd9e-4ee1-9ac7-2fbc3c9c0c0a"));
        assert!(is_uuid_like("2A7BD9C3BD9E4EE19AC72FBC3C9C0C0A"));
        assert!(!is_uuid_like("2a7bd9c3"));
    }
}
