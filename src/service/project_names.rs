//! Names of projects, for showing whose offer a share is (`GET /v2/glint/inbox`) without a
//! Keystone call per item. glint learns a name when it validates a token scoped to the project
//! and when it resolves a batch target by name; it records it at most once an hour per
//! (project, name, domain), off the request path, and reads a page's names in one statement.

use std::collections::HashMap;

use crate::app::AppState;
use crate::auth::keystone::Identity;
use crate::db::{self, project_names::ProjectName};
use crate::error::Error;

/// A token scoped to a project was validated: its project's name is worth keeping.
pub fn seen_token(state: &AppState, id: &Identity) {
    if let (Some(project), Some(name)) = (&id.project_id, &id.project_name) {
        seen(state, project, name, id.domain_id.as_deref());
    }
}

/// `project` is called `name` (in `domain_id`): recorded in the background unless it was
/// within the hour. Nothing is recorded with the sharing extensions off.
pub fn seen(state: &AppState, project: &str, name: &str, domain_id: Option<&str>) {
    if !state.config.sharing.enabled {
        return;
    }
    let key = format!("{project}\n{name}\n{}", domain_id.unwrap_or(""));
    if !state.throttles.project_names.due(&key) {
        return;
    }
    let (st, project) = (state.clone(), project.to_owned());
    let seen = ProjectName {
        name: name.to_owned(),
        domain_id: domain_id.map(str::to_owned),
    };
    actix_web::rt::spawn(async move {
        let at = chrono::Utc::now().naive_utc();
        let p = project.clone();
        let written = st
            .write(move |c| Ok(db::project_names::put(c, &p, &seen, at)?))
            .await;
        if let Err(e) = written {
            // Not worth failing anything for: tried again with the next token.
            st.throttles.project_names.forget(&key);
            tracing::warn!(project_id = %project, error = %e, "cannot record a project's name");
        }
    });
}

/// The known names of `projects` (one statement; unknown ones are left out).
pub fn names(
    conn: &mut db::DbConn,
    projects: &[&str],
) -> Result<HashMap<String, ProjectName>, Error> {
    let mut ids: Vec<&str> = projects.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Ok(db::project_names::of(conn, &ids)?)
}
