//! Glance's asynchronous tasks (`glance/domain/__init__.py` Task): the record of
//! an image import and of the legacy tasks API. Pure rules, no HTTP or SQL.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use serde_json::Value;

/// A task's life: pending -> processing -> success | failure (pending may fail directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Pending,
    Processing,
    Success,
    Failure,
}

impl TaskStatus {
    pub const ALL: &'static [TaskStatus] = &[
        TaskStatus::Pending,
        TaskStatus::Processing,
        TaskStatus::Success,
        TaskStatus::Failure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Processing => "processing",
            TaskStatus::Success => "success",
            TaskStatus::Failure => "failure",
        }
    }

    /// Glance's `Task._validate_task_status_transition`.
    pub fn can_transition_to(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        matches!(
            (self, to),
            (Pending, Processing) | (Pending, Failure) | (Processing, Success | Failure)
        )
    }

    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Success | TaskStatus::Failure)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        TaskStatus::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

/// The task types Glance accepts (`Task._supported_task_type`, the schema's enum).
pub const TASK_TYPES: &[&str] = &["import", "api_image_import", "location_import"];

/// The type of the tasks `POST /v2/images/{id}/import` creates.
pub const API_IMAGE_IMPORT: &str = "api_image_import";

/// The type of the tasks `POST /v2/images/{id}/locations` creates.
pub const LOCATION_IMPORT: &str = "location_import";

/// One task with its info (input, result, message).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub task_type: String,
    pub status: TaskStatus,
    pub owner: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted: bool,
    pub image_id: Option<String>,
    pub request_id: Option<String>,
    pub user_id: Option<String>,
    pub input: Value,
    pub result: Value,
    /// Glance stores `''` when there is no message.
    pub message: String,
}

impl Task {
    /// A new pending task (`TaskFactory.new_task`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        task_type: &str,
        owner: String,
        input: Value,
        image_id: Option<String>,
        user_id: Option<String>,
        request_id: Option<String>,
        now: NaiveDateTime,
    ) -> Task {
        Task {
            id,
            task_type: task_type.to_owned(),
            status: TaskStatus::Pending,
            owner,
            expires_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted: false,
            image_id,
            request_id,
            user_id,
            input,
            result: Value::Null,
            message: String::new(),
        }
    }

    /// Move to `to`; a task that ends (success or failure) expires `ttl` later.
    /// False when Glance's status machine forbids the change.
    pub fn transition(
        &mut self,
        to: TaskStatus,
        now: NaiveDateTime,
        ttl: chrono::Duration,
    ) -> bool {
        if !self.status.can_transition_to(to) {
            return false;
        }
        self.status = to;
        self.updated_at = now;
        if to.is_final() {
            self.expires_at = Some(now + ttl);
        }
        true
    }
}

/// How long an import lock held by `task` stays valid (`ImagesController._enforce_import_lock`):
/// a lock whose task is gone, or older than this, may be taken over by a new import.
pub fn import_lock_expiry(status: TaskStatus) -> chrono::Duration {
    match status {
        // A pending task may still be queued: twice the time.
        TaskStatus::Pending => chrono::Duration::minutes(120),
        _ => chrono::Duration::minutes(60),
    }
}

/// Glance's `_TASK_SCHEMA` properties, in Glance's order. `partial` drops
/// `input`, `result` and `message` (the list view's item schema).
fn task_properties(partial: bool) -> serde_json::Map<String, Value> {
    let doc = serde_json::json!({
        "id": {
            "description": "An identifier for the task",
            "pattern": crate::domain::id::UUID_PATTERN,
            "type": "string"
        },
        "type": {
            "description": "The type of task represented by this content",
            "enum": ["import", "api_image_import", "location_import"],
            "type": "string"
        },
        "status": {
            "description": "The current status of this task",
            "enum": ["pending", "processing", "success", "failure"],
            "type": "string"
        },
        "input": {
            "description": "The parameters required by task, JSON blob",
            "type": ["null", "object"]
        },
        "result": {
            "description": "The result of current task, JSON blob",
            "type": ["null", "object"]
        },
        "owner": {
            "description": "An identifier for the owner of this task",
            "type": "string"
        },
        "message": {
            "description": "Human-readable informative message only included when appropriate (usually on failure)",
            "type": "string"
        },
        "image_id": {
            "description": "Image associated with the task",
            "type": "string"
        },
        "request_id": {
            "description": "Human-readable informative request-id",
            "type": "string"
        },
        "user_id": {
            "description": "User associated with the task",
            "type": "string"
        },
        "expires_at": {
            "description": "Datetime when this resource would be subject to removal",
            "type": ["null", "string"]
        },
        "created_at": {
            "description": "Datetime when this resource was created",
            "type": "string"
        },
        "updated_at": {
            "description": "Datetime when this resource was updated",
            "type": "string"
        },
        "self": {"readOnly": true, "type": "string"},
        "schema": {"readOnly": true, "type": "string"}
    });
    let Value::Object(mut props) = doc else {
        unreachable!("a JSON object literal")
    };
    if partial {
        for k in ["input", "result", "message"] {
            props.shift_remove(k);
        }
    }
    props
}

/// `GET /v2/schemas/task`, also what `POST /v2/tasks` bodies are validated against.
pub fn task_schema() -> Value {
    serde_json::json!({
        "name": "task",
        "properties": task_properties(false),
        "additionalProperties": false,
    })
}

/// `GET /v2/schemas/tasks`: the partial task schema as collection items.
pub fn tasks_schema() -> Value {
    serde_json::json!({
        "name": "tasks",
        "properties": {
            "tasks": {
                "type": "array",
                "items": {
                    "name": "task",
                    "properties": task_properties(true),
                    "additionalProperties": false,
                },
            },
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn status_machine_follows_glance() {
        use TaskStatus::*;
        assert!(Pending.can_transition_to(Processing));
        assert!(Pending.can_transition_to(Failure));
        assert!(!Pending.can_transition_to(Success));
        assert!(Processing.can_transition_to(Success));
        assert!(!Success.can_transition_to(Failure));
        assert!(!Failure.can_transition_to(Processing));
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>(), Ok(*s));
        }
        assert!("done".parse::<TaskStatus>().is_err());
    }

    #[test]
    fn ending_sets_expiry() {
        let mut t = Task::new(
            "id".into(),
            "import",
            "p".into(),
            Value::Null,
            None,
            None,
            None,
            t0(),
        );
        let ttl = chrono::Duration::hours(48);
        assert!(t.transition(TaskStatus::Processing, t0(), ttl));
        assert_eq!(t.expires_at, None);
        let later = t0() + chrono::Duration::seconds(5);
        assert!(t.transition(TaskStatus::Success, later, ttl));
        assert_eq!(t.expires_at, Some(later + ttl));
        assert!(!t.transition(TaskStatus::Failure, later, ttl));
        assert_eq!(t.status, TaskStatus::Success);
    }

    #[test]
    fn lock_expiry_doubles_for_pending() {
        assert_eq!(
            import_lock_expiry(TaskStatus::Pending),
            chrono::Duration::minutes(120)
        );
        assert_eq!(
            import_lock_expiry(TaskStatus::Processing),
            chrono::Duration::minutes(60)
        );
    }
}
