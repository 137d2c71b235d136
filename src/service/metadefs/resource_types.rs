//! Resource types and their associations with namespaces.

use super::{conflict, enforce, in_tx, load_namespace, read, shown, Missing};
use crate::app::AppState;
use crate::db::metadefs::resource_types as db;
use crate::domain::context::RequestContext;
use crate::domain::metadefs::document::AssociationDoc;
use crate::domain::metadefs::{msg, Association, ResourceType};
use crate::error::Error;
use crate::notify::payload;
use crate::service::images::now;

pub async fn list(state: &AppState, ctx: RequestContext) -> Result<Vec<ResourceType>, Error> {
    read(state, move |c, st| {
        enforce(&st.policy, &ctx, None, "list_metadef_resource_types")?;
        Ok(db::list(c)?)
    })
    .await
}

pub async fn associations(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
) -> Result<Vec<Association>, Error> {
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "list_metadef_resource_types")?;
        let all = db::associations(c, n.id)?;
        Ok(shown(
            &st.policy,
            &ctx,
            &n,
            "get_metadef_resource_type",
            all,
        ))
    })
    .await
}

pub async fn associate(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    a: AssociationDoc,
) -> Result<Association, Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(
            &st.policy,
            &ctx,
            Some(&n),
            "add_metadef_resource_type_association",
        )?;
        let t = now();
        let rt = db::get_or_create(c, &a.name, false, t)?;
        if db::association_exists(c, n.id, rt.id)? {
            return Err(Error::conflict(msg::duplicate_association(&a.name, &ns)));
        }
        db::associate(c, n.id, rt.id, &a, t, Some(t))
            .map_err(conflict(|| msg::duplicate_association(&a.name, &ns)))?;
        let made = db::associations(c, n.id)?
            .into_iter()
            .find(|x| x.name == a.name)
            .ok_or_else(|| Error::internal("created association vanished"))?;
        Ok((n.namespace, made))
    })
    .await
    .map(|(ns, made)| {
        state.notifier.metadef("metadef_resource_type.create", || {
            payload::metadef_resource_type(&ns, &made)
        });
        made
    })
}

pub async fn dissociate(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
) -> Result<(), Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(
            &st.policy,
            &ctx,
            Some(&n),
            "remove_metadef_resource_type_association",
        )?;
        let not_found = || Error::not_found(msg::association_not_found_for_delete(&name));
        let rt = db::get(c, &name)?.ok_or_else(not_found)?;
        if !db::association_exists(c, n.id, rt.id)? {
            return Err(not_found());
        }
        if n.is_protected() {
            return Err(Error::forbidden(msg::protected_association(&name)));
        }
        let gone = db::associations(c, n.id)?
            .into_iter()
            .find(|x| x.name == name)
            .ok_or_else(not_found)?;
        db::dissociate(c, n.id, rt.id)?;
        Ok((n.namespace, gone))
    })
    .await
    .map(|(ns, gone)| {
        state.notifier.metadef("metadef_resource_type.delete", || {
            payload::metadef_resource_type_deleted(&ns, &gone, now())
        })
    })
}
