//! The tasks API (`glance/api/v2/tasks.py`), admin-only by Glance's default
//! policy (`tasks_api_access`), and the task bookkeeping image import shares.

use serde_json::Value;

use super::images::now;
use crate::app::AppState;
use crate::db::{self, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::import::{run_failure, validate_legacy_import_from};
use crate::domain::task::{self, Task, TaskStatus};
use crate::domain::task_list_query::TaskListQuery;
use crate::error::Error;
use crate::policy::project_target;

/// Every tasks call starts here, before the body or query is looked at.
pub fn check_access(state: &AppState, ctx: &RequestContext) -> Result<(), Error> {
    state
        .policy
        .enforce("tasks_api_access", ctx, &project_target(ctx))
}

/// End a task (success or failure) unless it has ended already; true if this call ended it.
pub fn finish(
    conn: &mut DbConn,
    state: &AppState,
    id: &str,
    to: TaskStatus,
    result: Value,
    message: &str,
) -> Result<Option<Task>, Error> {
    let Some(mut t) = db::tasks::get(conn, id, true)? else {
        return Ok(None);
    };
    let from = t.status;
    // A pending task that succeeds passes through processing, as in Glance's executor.
    if to == TaskStatus::Success && from == TaskStatus::Pending {
        t.status = TaskStatus::Processing;
    }
    if !t.transition(to, now(), state.config.import.task_ttl()) {
        return Ok(None);
    }
    t.result = result;
    t.message = message.to_owned();
    Ok(db::tasks::save(conn, &t, from)?.then_some(t))
}

/// pending -> processing; false if the task is gone or not pending.
pub fn begin(conn: &mut DbConn, state: &AppState, id: &str) -> Result<Option<Task>, Error> {
    let Some(mut t) = db::tasks::get(conn, id, true)? else {
        return Ok(None);
    };
    if !t.transition(
        TaskStatus::Processing,
        now(),
        state.config.import.task_ttl(),
    ) {
        return Ok(None);
    }
    Ok(db::tasks::save(conn, &t, TaskStatus::Pending)?.then_some(t))
}

pub async fn create(
    state: &AppState,
    ctx: RequestContext,
    request_id: Option<String>,
    body: Value,
) -> Result<Task, Error> {
    let Value::Object(fields) = &body else {
        return Err(Error::bad_request("Task 'type' is required"));
    };
    for param in ["type", "input"] {
        if !fields.contains_key(param) {
            return Err(Error::bad_request(format!("Task '{param}' is required")));
        }
    }
    crate::domain::patch::validate_against("task", &task::task_schema(), &body)?;
    let task_type = fields["type"].as_str().unwrap_or_default().to_owned();
    let input = fields["input"].clone();
    if task_type == "import" {
        let from = input.get("import_from").cloned().unwrap_or(Value::Null);
        let st = state.clone();
        actix_web::web::block(move || {
            validate_legacy_import_from(
                &from,
                &st.config.import.filter,
                &super::web_download::resolves,
            )
        })
        .await
        .map_err(|e| Error::internal(format!("uri check failed: {e}")))??;
    }
    let image_id = input
        .get("image_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let t = Task::new(
        uuid::Uuid::new_v4().to_string(),
        &task_type,
        ctx.project_id.clone().unwrap_or_default(),
        input,
        image_id,
        ctx.user_id.clone(),
        request_id,
        now(),
    );
    let row = t.clone();
    state
        .write(move |conn| Ok(db::tasks::insert(conn, &row)?))
        .await?;
    state.notifier.task("task.create", &t);
    // Glance runs the task on its pool after answering; so does glint.
    let st = state.clone();
    let (id, why, created) = (t.id.clone(), run_failure(&t), t.clone());
    // Its lines keep the request id of the call that created it.
    actix_web::rt::spawn(tracing::Instrument::in_current_span(async move {
        let s = st.clone();
        let done = st
            .write(move |c| {
                let begun = begin(c, &s, &id)?;
                Ok((
                    begun,
                    finish(c, &s, &id, TaskStatus::Failure, Value::Null, &why)?,
                ))
            })
            .await;
        match done {
            Ok((begun, failed)) => {
                // Glance's order: processing and failure from the executor, then `task.run`
                // with the task as the request created it.
                begun.inspect(|t| st.notifier.task("task.processing", t));
                failed.inspect(|t| st.notifier.task("task.failure", t));
                st.notifier.task("task.run", &created);
            }
            Err(e) => tracing::error!(error = %e, "cannot record the end of a task"),
        }
    }));
    Ok(t)
}

pub async fn show(state: &AppState, ctx: RequestContext, id: String) -> Result<Task, Error> {
    check_access(state, &ctx)?;
    // Glance's admins (`can_see_deleted`) also see expired tasks.
    let admin = ctx.is_admin();
    let found = state
        .read(move |conn| Ok(db::tasks::get(conn, &id, admin)?.ok_or(id)))
        .await?;
    let t = found
        .map_err(|id| Error::not_found(format!("Task with the given id {id} was not found")))?;
    if !visible(&ctx, &t) {
        return Err(Error::forbidden(format!(
            "Forbidding request, task {} is not visible",
            t.id
        )));
    }
    Ok(t)
}

/// `_is_task_visible`.
fn visible(ctx: &RequestContext, t: &Task) -> bool {
    ctx.is_admin() || ctx.project_id.as_deref() == Some(t.owner.as_str())
}

/// `GET /v2/tasks`: the page, and whether it is full (Glance then links `next`).
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    q: TaskListQuery,
) -> Result<Vec<Task>, Error> {
    check_access(state, &ctx)?;
    if !db::tasks::COLUMNS.contains(&q.sort_key.as_str()) {
        return Err(Error::bad_request("Sort key supplied was not valid."));
    }
    let admin = ctx.is_admin();
    state
        .write(move |conn| {
            let owner = ctx.project_id.clone();
            db::tasks::soft_delete_expired(conn, owner.as_deref(), now())?;
            let scope = if admin { None } else { owner.as_deref() };
            let mut all = db::tasks::all_live(conn, scope)?;
            // Only column filters count (at most one per column): the work per task is bounded
            // whatever the number of parameters.
            let filters: Vec<&(String, String)> = q
                .filters
                .iter()
                .filter(|(k, _)| db::tasks::COLUMNS.contains(&k.as_str()))
                .collect();
            all.retain(|t| {
                filters.iter().all(|(k, v)| {
                    db::tasks::column_text(t, k).as_deref() == Some(v.as_str())
                        || (k == "deleted" && matches!(v.as_str(), "0" | "false" | "False"))
                })
            });
            let key = |t: &Task| {
                let mut k = vec![db::tasks::column_text(t, &q.sort_key)];
                for extra in ["created_at", "id"] {
                    if q.sort_key != extra {
                        k.push(db::tasks::column_text(t, extra));
                    }
                }
                k
            };
            all.sort_by(|a, b| {
                let o = key(a).cmp(&key(b));
                if q.sort_desc {
                    o.reverse()
                } else {
                    o
                }
            });
            if let Some(m) = &q.marker {
                let Some(pos) = all.iter().position(|t| &t.id == m) else {
                    // Glance looks the marker up among every task the caller may see.
                    return Err(Error::bad_request(format!(
                        "Task with the given id {m} was not found"
                    )));
                };
                all.drain(..=pos);
            }
            all.truncate(q.limit.max(0) as usize);
            Ok(all)
        })
        .await
}

/// `GET /v2/images/{id}/tasks` (API 2.12): the image's tasks, for whoever may see the image.
pub async fn for_image(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
) -> Result<Vec<Task>, Error> {
    let st = state.clone();
    state
        .read(move |conn| {
            let v =
                super::access::load_visible(conn, &st, &ctx, &id, "", false).map_err(
                    |e| match e {
                        Error::NotFound(_) | Error::Forbidden(_) => {
                            Error::NotFound(crate::error::Msg::Default)
                        }
                        other => other,
                    },
                )?;
            if st
                .policy
                .enforce("get_image", &ctx, &v.target(&ctx))
                .is_err()
            {
                return Err(Error::NotFound(crate::error::Msg::Default));
            }
            let n = now();
            db::tasks::soft_delete_expired(conn, ctx.project_id.as_deref(), n)?;
            let tasks = db::tasks::by_image(conn, &id, ctx.is_admin(), n)?;
            Ok(tasks.into_iter().filter(|t| visible(&ctx, t)).collect())
        })
        .await
}
