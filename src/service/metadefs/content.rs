//! Objects, properties and tags of one namespace.

use serde_json::{Map, Value};

use super::{conflict, enforce, in_tx, load_namespace, read, removable, shown, Missing};
use crate::app::AppState;
use crate::db::metadefs::content::{self as db, ObjectValues};
use crate::db::metadefs::resource_types as rt_db;
use crate::domain::context::RequestContext;
use crate::domain::metadefs::document::ObjectDoc;
use crate::domain::metadefs::property::strip_prefix;
use crate::domain::metadefs::query::{page_tags, TagQuery};
use crate::domain::metadefs::{msg, MetadefObject, MetadefProperty, MetadefTag};
use crate::error::Error;
use crate::notify::payload;
use crate::service::images::now;

// --- objects ---

pub async fn list_objects(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
) -> Result<Vec<MetadefObject>, Error> {
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::LongIfMissing)?;
        enforce(&st.policy, &ctx, Some(&n), "get_metadef_objects")?;
        let all = db::objects(c, n.id)?;
        Ok(shown(&st.policy, &ctx, &n, "get_metadef_object", all))
    })
    .await
}

pub async fn create_object(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    o: ObjectDoc,
) -> Result<MetadefObject, Error> {
    let required_sent = o.has_required;
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::LongIfMissing)?;
        enforce(&st.policy, &ctx, Some(&n), "add_metadef_object")?;
        let t = now();
        let v = ObjectValues {
            name: &o.name,
            description: o.description.as_deref(),
            required: &o.required,
            properties: &o.properties,
        };
        db::insert_object(c, n.id, &v, t, Some(t))
            .map_err(conflict(|| msg::duplicate_object(&o.name, &ns)))?;
        let obj = db::object(c, n.id, &o.name)?
            .ok_or_else(|| Error::internal("created object vanished"))?;
        Ok((n.namespace, obj))
    })
    .await
    .map(|(ns, obj)| {
        state.notifier.metadef("metadef_object.create", || {
            payload::metadef_object(&ns, &obj, &obj.name, required_sent)
        });
        obj
    })
}

pub async fn show_object(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
) -> Result<MetadefObject, Error> {
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::LongIfMissing)?;
        enforce(&st.policy, &ctx, Some(&n), "get_metadef_object")?;
        db::object(c, n.id, &name)?.ok_or_else(|| Error::not_found(msg::object_not_found(&name)))
    })
    .await
}

pub async fn update_object(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
    o: ObjectDoc,
) -> Result<MetadefObject, Error> {
    let name_old = name.clone();
    let required_sent = o.has_required;
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::LongIfMissing)?;
        enforce(&st.policy, &ctx, Some(&n), "modify_metadef_object")?;
        let old = db::object(c, n.id, &name)?
            .ok_or_else(|| Error::not_found(msg::object_not_found(&name)))?;
        let v = ObjectValues {
            name: &o.name,
            description: o.description.as_deref(),
            required: &o.required,
            properties: &o.properties,
        };
        db::update_object(c, old.id, &v, now())
            .map_err(conflict(|| msg::duplicate_object_update(&o.name, &ns)))?;
        let obj = db::object(c, n.id, &o.name)?
            .ok_or_else(|| Error::internal("updated object vanished"))?;
        Ok((n.namespace, obj))
    })
    .await
    .map(|(ns, obj)| {
        state.notifier.metadef("metadef_object.update", || {
            payload::metadef_object(&ns, &obj, &name_old, required_sent)
        });
        obj
    })
}

pub async fn delete_object(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
) -> Result<(), Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::LongIfMissing)?;
        enforce(&st.policy, &ctx, Some(&n), "delete_metadef_object")?;
        let o = removable(
            &n,
            db::object(c, n.id, &name)?,
            || msg::object_not_found(&name),
            || msg::protected_object(&name),
        )?;
        db::delete_object(c, o.id)?;
        Ok((n.namespace, o))
    })
    .await
    .map(|(ns, obj)| {
        state.notifier.metadef("metadef_object.delete", || {
            payload::metadef_object_deleted(&ns, &obj, now())
        })
    })
}

// --- properties ---

pub async fn list_properties(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
) -> Result<Map<String, Value>, Error> {
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "get_metadef_properties")?;
        Ok(db::properties(c, n.id)?
            .into_iter()
            .map(|p| (p.name, Value::Object(p.schema)))
            .collect())
    })
    .await
}

pub async fn show_property(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
    resource_type: Option<String>,
) -> Result<MetadefProperty, Error> {
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "get_metadef_property")?;
        let mut lookup = name.as_str();
        if let Some(rt) = &resource_type {
            enforce(&st.policy, &ctx, Some(&n), "get_metadef_resource_type")?;
            let known = rt_db::get(c, rt)?
                .ok_or_else(|| Error::not_found(msg::resource_type_not_found(rt)))?;
            let assoc = rt_db::associations(c, n.id)?
                .into_iter()
                .find(|a| a.name == known.name)
                .ok_or_else(|| Error::not_found(msg::association_not_found(rt, &ns)))?;
            lookup = strip_prefix(&name, assoc.prefix.as_deref()).map_err(Error::not_found)?;
        }
        db::property(c, n.id, lookup)?
            .ok_or_else(|| Error::not_found(msg::property_not_found(lookup)))
    })
    .await
}

pub async fn create_property(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
    schema: Map<String, Value>,
) -> Result<MetadefProperty, Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "add_metadef_property")?;
        let t = now();
        db::insert_property(c, n.id, &name, &schema, t, Some(t))
            .map_err(conflict(|| msg::duplicate_property(&name, &ns)))?;
        let p = db::property(c, n.id, &name)?
            .ok_or_else(|| Error::internal("created property vanished"))?;
        Ok((n.namespace, p))
    })
    .await
    .map(|(ns, p)| {
        state.notifier.metadef("metadef_property.create", || {
            payload::metadef_property(&ns, &p, &p.name)
        });
        p
    })
}

pub async fn update_property(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
    new_name: String,
    schema: Map<String, Value>,
) -> Result<MetadefProperty, Error> {
    let name_old = name.clone();
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "modify_metadef_property")?;
        let old = db::property(c, n.id, &name)?
            .ok_or_else(|| Error::not_found(msg::property_not_found(&name)))?;
        db::update_property(c, old.id, &new_name, &schema, now())
            .map_err(conflict(|| msg::duplicate_property_update(&new_name, &ns)))?;
        let p = db::property(c, n.id, &new_name)?
            .ok_or_else(|| Error::internal("updated property vanished"))?;
        Ok((n.namespace, p))
    })
    .await
    .map(|(ns, p)| {
        state.notifier.metadef("metadef_property.update", || {
            payload::metadef_property(&ns, &p, &name_old)
        });
        p
    })
}

pub async fn delete_property(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
) -> Result<(), Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "remove_metadef_property")?;
        let p = removable(
            &n,
            db::property(c, n.id, &name)?,
            || msg::property_not_found(&name),
            || msg::protected_property(&name),
        )?;
        db::delete_property(c, p.id)?;
        Ok((n.namespace, p))
    })
    .await
    .map(|(ns, p)| {
        state.notifier.metadef("metadef_property.delete", || {
            payload::metadef_property_deleted(&ns, &p, now())
        })
    })
}

// --- tags ---

pub async fn list_tags(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    q: TagQuery,
) -> Result<Vec<MetadefTag>, Error> {
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "get_metadef_tags")?;
        let marker = match &q.marker {
            Some(m) => {
                Some(db::tag(c, n.id, m)?.ok_or_else(|| Error::not_found(msg::tag_not_found(m)))?)
            }
            None => None,
        };
        Ok(page_tags(db::tags(c, n.id)?, &q, marker.as_ref()))
    })
    .await
}

pub async fn create_tag(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
) -> Result<MetadefTag, Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        crate::domain::metadefs::schemas::validate(
            crate::domain::metadefs::schemas::Body::Tag,
            &serde_json::json!({ "name": name }),
        )?;
        enforce(&st.policy, &ctx, Some(&n), "add_metadef_tag")?;
        let t = now();
        db::insert_tag(c, n.id, &name, t, Some(t))
            .map_err(conflict(|| msg::duplicate_tag(&name, &ns)))?;
        let tag =
            db::tag(c, n.id, &name)?.ok_or_else(|| Error::internal("created tag vanished"))?;
        Ok((n.namespace, tag))
    })
    .await
    .map(|(ns, tag)| {
        state.notifier.metadef("metadef_tag.create", || {
            payload::metadef_tag(&ns, &tag, &tag.name)
        });
        tag
    })
}

/// Bulk create; without `append` the namespace's tags are replaced.
pub async fn create_tags(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    names: Vec<String>,
    append: bool,
) -> Result<Vec<String>, Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "add_metadef_tags")?;
        // Glance does nothing at all (not even the replace) for an empty list.
        if names.is_empty() {
            return Ok((names, n.namespace, Vec::new()));
        }
        if !append {
            db::delete_tags(c, n.id)?;
        }
        let t = now();
        let mut created = Vec::with_capacity(names.len());
        for name in &names {
            db::insert_tag(c, n.id, name, t, Some(t))
                .map_err(conflict(|| msg::duplicate_tag(name, &ns)))?;
            created.extend(db::tag(c, n.id, name)?);
        }
        Ok((names, n.namespace, created))
    })
    .await
    .map(|(names, ns, created)| {
        // Glance announces each tag of a bulk create.
        for tag in &created {
            state.notifier.metadef("metadef_tag.create", || {
                payload::metadef_tag(&ns, tag, &tag.name)
            });
        }
        names
    })
}

pub async fn show_tag(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
) -> Result<MetadefTag, Error> {
    read(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "get_metadef_tag")?;
        db::tag(c, n.id, &name)?.ok_or_else(|| Error::not_found(msg::tag_not_found(&name)))
    })
    .await
}

pub async fn update_tag(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
    new_name: String,
) -> Result<MetadefTag, Error> {
    let name_old = name.clone();
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "modify_metadef_tag")?;
        let old =
            db::tag(c, n.id, &name)?.ok_or_else(|| Error::not_found(msg::tag_not_found(&name)))?;
        db::rename_tag(c, old.id, &new_name, now())
            .map_err(conflict(|| msg::duplicate_tag(&new_name, &ns)))?;
        let tag =
            db::tag(c, n.id, &new_name)?.ok_or_else(|| Error::internal("updated tag vanished"))?;
        Ok((n.namespace, tag))
    })
    .await
    .map(|(ns, tag)| {
        state.notifier.metadef("metadef_tag.update", || {
            payload::metadef_tag(&ns, &tag, &name_old)
        });
        tag
    })
}

pub async fn delete_tag(
    state: &AppState,
    ctx: RequestContext,
    ns: String,
    name: String,
) -> Result<(), Error> {
    in_tx(state, move |c, st| {
        let n = load_namespace(c, &ctx, &ns, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&n), "delete_metadef_tag")?;
        let t = removable(
            &n,
            db::tag(c, n.id, &name)?,
            || msg::tag_not_found(&name),
            || msg::protected_tag(&name),
        )?;
        db::delete_tag(c, t.id)?;
        Ok((n.namespace, t))
    })
    .await
    .map(|(ns, tag)| {
        state.notifier.metadef("metadef_tag.delete", || {
            payload::metadef_tag_deleted(&ns, &tag, now())
        })
    })
}
