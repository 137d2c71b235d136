//! Projects in Keystone, for the sharing extensions: batch targets named `{"name", "domain"}`
//! resolved to ids, with glint's own service credentials.

use crate::app::AppState;
use crate::auth::{KeystoneClient, KeystoneError};
use crate::domain::batch_share::Target;
use crate::error::Error;

/// The Keystone client, when glint authenticates with Keystone (else there is none to ask).
fn keystone(state: &AppState) -> Option<&KeystoneClient> {
    state.tokens.as_deref().map(|t| t.client())
}

/// Keystone could not answer: the request fails as a whole (503), nothing is written.
pub(crate) fn unavailable(e: KeystoneError) -> Error {
    tracing::warn!(error = %e, "project lookup in Keystone failed");
    Error::Unavailable(format!(
        "Cannot check projects in Keystone, try again later ({e})"
    ))
}

/// Each target's project id, `None` for a name Keystone does not know. Names need Keystone:
/// without it (`auth_strategy = noauth`) a named target is a 400.
pub async fn resolve(state: &AppState, targets: &[Target]) -> Result<Vec<Option<String>>, Error> {
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        match t {
            Target::Id(id) => out.push(Some(id.clone())),
            Target::Name { name, domain } => {
                let Some(k) = keystone(state) else {
                    return Err(Error::bad_request(
                        "Projects named by {\"name\", \"domain\"} are resolved in Keystone; this \
                         deployment does not use Keystone (auth_strategy), so name them by id",
                    ));
                };
                let found = k.project_by_name(name, domain).await.map_err(unavailable)?;
                out.push(found.map(|p| p.id));
            }
        }
    }
    Ok(out)
}
