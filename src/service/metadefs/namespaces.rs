//! Namespaces: list, create (with nested content), show, update, delete, and
//! the bulk deletes of a namespace's objects, properties and tags.

use serde_json::{Map, Value};

use super::{conflict, enforce, in_tx, load_namespace, read, Missing};
use crate::app::AppState;
use crate::db::metadefs::content::{self as content_db, ObjectValues};
use crate::db::metadefs::{namespaces as ns_db, resource_types as rt_db};
use crate::db::DbConn;
use crate::domain::context::RequestContext;
use crate::domain::metadefs::document::NamespaceDoc;
use crate::domain::metadefs::query::{page_namespaces, NamespaceQuery};
use crate::domain::metadefs::{
    is_visible, msg, Association, MetadefObject, MetadefProperty, MetadefTag, Namespace,
    NamespaceValues,
};
use crate::error::Error;
use crate::notify::payload;
use crate::service::images::now;

pub struct Listed {
    pub namespace: Namespace,
    pub associations: Vec<Association>,
}

pub struct Page {
    pub items: Vec<Listed>,
    /// The last namespace's name when the page is full.
    pub next: Option<String>,
}

pub async fn list(state: &AppState, ctx: RequestContext, q: NamespaceQuery) -> Result<Page, Error> {
    read(state, move |c, st| {
        enforce(&st.policy, &ctx, None, "get_metadef_namespaces")?;
        enforce(&st.policy, &ctx, None, "list_metadef_resource_types")?;
        let marker = match &q.marker {
            None => None,
            Some(m) => match ns_db::get(c, m)? {
                None => return Err(Error::not_found(msg::namespace_not_found(m))),
                Some(n) if !is_visible(&ctx, &n.owner, n.visibility.as_deref()) => {
                    return Err(Error::forbidden(msg::namespace_not_visible(m)))
                }
                Some(n) => Some(n),
            },
        };
        let mut all =
            ns_db::list_visible(c, ctx.is_admin(), ctx.project(), q.visibility.as_deref())?;
        if let Some(types) = &q.resource_types {
            let ids = ns_db::ids_with_resource_types(c, types)?;
            all.retain(|n| ids.contains(&n.id));
        }
        let page = page_namespaces(all, &q, marker.as_ref());
        let mut items = Vec::new();
        for n in page {
            if enforce(&st.policy, &ctx, Some(&n), "get_metadef_namespace").is_err() {
                continue;
            }
            let associations = rt_db::associations(c, n.id)?;
            items.push(Listed {
                namespace: n,
                associations,
            });
        }
        let full = !items.is_empty() && i64::try_from(items.len()).ok() == Some(q.limit);
        let next = if full {
            items.last().map(|l| l.namespace.namespace.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    })
    .await
}

/// Checks `add_metadef_*` for each kind of content a create body carries.
fn enforce_create(
    state: &AppState,
    ctx: &RequestContext,
    raw: &Map<String, Value>,
) -> Result<(), Error> {
    let p = &state.policy;
    enforce(p, ctx, None, "add_metadef_namespace")?;
    let non_empty = |k: &str| match raw.get(k) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    if non_empty("resource_type_associations") {
        enforce(p, ctx, None, "add_metadef_resource_type_association")?;
    }
    if non_empty("objects") {
        enforce(p, ctx, None, "add_metadef_object")?;
    }
    if non_empty("properties") {
        enforce(p, ctx, None, "add_metadef_property")?;
    }
    if non_empty("tags") {
        enforce(p, ctx, None, "add_metadef_tag")?;
    }
    Ok(())
}

/// Writes a namespace document's content into namespace `id` (create and load share it).
/// `skip_existing`: the loader keeps what is already there instead of failing.
pub fn write_content(
    c: &mut DbConn,
    ns: &Namespace,
    doc: &NamespaceDoc,
    rt_protected: bool,
    skip_existing: bool,
) -> Result<(), Error> {
    let t = now();
    let stamp = (!skip_existing).then_some(t);
    for a in &doc.associations {
        let rt = rt_db::get_or_create(c, &a.name, rt_protected, t)?;
        if rt_db::association_exists(c, ns.id, rt.id)? {
            if skip_existing {
                continue;
            }
            return Err(Error::conflict(msg::duplicate_association(
                &a.name,
                &ns.namespace,
            )));
        }
        rt_db::associate(c, ns.id, rt.id, a, t, stamp)?;
    }
    for o in &doc.objects {
        if skip_existing && content_db::object(c, ns.id, &o.name)?.is_some() {
            continue;
        }
        let v = ObjectValues {
            name: &o.name,
            description: o.description.as_deref(),
            required: &o.required,
            properties: &o.properties,
        };
        content_db::insert_object(c, ns.id, &v, t, stamp)
            .map_err(conflict(|| msg::duplicate_object(&o.name, &ns.namespace)))?;
    }
    for name in &doc.tags {
        if skip_existing && content_db::tag(c, ns.id, name)?.is_some() {
            continue;
        }
        content_db::insert_tag(c, ns.id, name, t, stamp)
            .map_err(conflict(|| msg::duplicate_tag(name, &ns.namespace)))?;
    }
    for (name, schema) in &doc.properties {
        if skip_existing && content_db::property(c, ns.id, name)?.is_some() {
            continue;
        }
        let schema = schema.as_object().cloned().unwrap_or_default();
        content_db::insert_property(c, ns.id, name, &schema, t, stamp)
            .map_err(conflict(|| msg::duplicate_property(name, &ns.namespace)))?;
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    ctx: RequestContext,
    doc: NamespaceDoc,
    raw: Map<String, Value>,
) -> Result<Namespace, Error> {
    in_tx(state, move |c, st| {
        enforce_create(st, &ctx, &raw)?;
        let values = NamespaceValues {
            namespace: doc.namespace.clone(),
            display_name: doc.display_name.clone(),
            description: doc.description.clone(),
            visibility: Some(doc.visibility.clone().unwrap_or_else(|| "private".into())),
            protected: Some(doc.protected.unwrap_or(false)),
            owner: doc
                .owner
                .clone()
                .unwrap_or_else(|| ctx.project().unwrap_or_default().to_owned()),
        };
        let t = now();
        let ns = ns_db::insert(c, &values, t, Some(t))
            .map_err(conflict(|| msg::duplicate_namespace(&doc.namespace)))?;
        write_content(c, &ns, &doc, false, false)?;
        let content = created_content(c, &ns, &doc)?;
        Ok((ns, content))
    })
    .await
    .map(|(ns, content)| {
        announce_created(state, &ns, &content);
        ns
    })
}

/// What a namespace created with content in its body holds, in the body's order.
struct CreatedContent {
    associations: Vec<Association>,
    /// Each object, and whether its body had `required`.
    objects: Vec<(MetadefObject, bool)>,
    tags: Vec<MetadefTag>,
    properties: Vec<MetadefProperty>,
}

fn created_content(
    c: &mut DbConn,
    ns: &Namespace,
    doc: &NamespaceDoc,
) -> Result<CreatedContent, Error> {
    let vanished = || Error::internal("created namespace content vanished");
    let all = rt_db::associations(c, ns.id)?;
    let associations = doc
        .associations
        .iter()
        .map(|a| {
            all.iter()
                .find(|x| x.name == a.name)
                .cloned()
                .ok_or_else(vanished)
        })
        .collect::<Result<_, _>>()?;
    let mut objects = Vec::new();
    for o in &doc.objects {
        let obj = content_db::object(c, ns.id, &o.name)?.ok_or_else(vanished)?;
        objects.push((obj, o.has_required));
    }
    let mut tags = Vec::new();
    for name in &doc.tags {
        tags.push(content_db::tag(c, ns.id, name)?.ok_or_else(vanished)?);
    }
    let mut properties = Vec::new();
    for name in doc.properties.keys() {
        properties.push(content_db::property(c, ns.id, name)?.ok_or_else(vanished)?);
    }
    Ok(CreatedContent {
        associations,
        objects,
        tags,
        properties,
    })
}

/// Glance's namespace create adds the namespace, then each resource type association, object,
/// tag and property through its own repository, each with its own event, in that order.
fn announce_created(state: &AppState, ns: &Namespace, content: &CreatedContent) {
    let n = &state.notifier;
    let name = ns.namespace.as_str();
    n.metadef("metadef_namespace.create", || {
        payload::metadef_namespace(ns, name)
    });
    for a in &content.associations {
        n.metadef("metadef_resource_type.create", || {
            payload::metadef_resource_type(name, a)
        });
    }
    for (o, required_sent) in &content.objects {
        n.metadef("metadef_object.create", || {
            payload::metadef_object(name, o, &o.name, *required_sent)
        });
    }
    for t in &content.tags {
        n.metadef("metadef_tag.create", || {
            payload::metadef_tag(name, t, &t.name)
        });
    }
    for p in &content.properties {
        n.metadef("metadef_property.create", || {
            payload::metadef_property(name, p, &p.name)
        });
    }
}

pub struct Detail {
    pub namespace: Namespace,
    pub associations: Vec<Association>,
    pub objects: Vec<MetadefObject>,
    /// Property name -> document.
    pub properties: Map<String, Value>,
    pub tags: Vec<MetadefTag>,
    /// The prefix of the `resource_type` asked for, when the namespace has it.
    pub prefix: Option<String>,
}

pub async fn show(
    state: &AppState,
    ctx: RequestContext,
    name: String,
    resource_type: Option<String>,
) -> Result<Detail, Error> {
    read(state, move |c, st| {
        let ns = match ns_db::get(c, &name)? {
            None => return Err(Error::not_found(msg::namespace_not_found(&name))),
            Some(n) if !is_visible(&ctx, &n.owner, n.visibility.as_deref()) => {
                return Err(Error::NotFound(crate::error::Msg::Default))
            }
            Some(n) => n,
        };
        let p = &st.policy;
        enforce(p, &ctx, Some(&ns), "get_metadef_namespace")?;
        for rule in [
            "list_metadef_resource_types",
            "get_metadef_objects",
            "get_metadef_properties",
            "get_metadef_tags",
        ] {
            enforce(p, &ctx, Some(&ns), rule)?;
        }
        let objects = content_db::objects(c, ns.id)?;
        let associations = rt_db::associations(c, ns.id)?;
        let properties = content_db::properties(c, ns.id)?
            .into_iter()
            .map(|p| (p.name, Value::Object(p.schema)))
            .collect();
        let prefix = resource_type.and_then(|rt| {
            associations
                .iter()
                .find(|a| a.name == rt)
                .and_then(|a| a.prefix.clone())
                .filter(|p| !p.is_empty())
        });
        let tags = content_db::tags(c, ns.id)?;
        Ok(Detail {
            namespace: ns,
            associations,
            objects,
            properties,
            tags,
            prefix,
        })
    })
    .await
}

pub async fn update(
    state: &AppState,
    ctx: RequestContext,
    name: String,
    doc: NamespaceDoc,
) -> Result<Namespace, Error> {
    let old = name.clone();
    in_tx(state, move |c, st| {
        let ns = load_namespace(c, &ctx, &name, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&ns), "modify_metadef_namespace")?;
        let values = NamespaceValues {
            namespace: doc.namespace.clone(),
            display_name: doc.display_name.clone(),
            description: doc.description.clone(),
            visibility: Some(doc.visibility.clone().unwrap_or_else(|| "private".into())),
            protected: Some(doc.protected.unwrap_or(false)),
            owner: doc
                .owner
                .clone()
                .unwrap_or_else(|| ctx.project().unwrap_or_default().to_owned()),
        };
        ns_db::update(c, ns.id, &values, now())
            .map_err(conflict(|| msg::duplicate_namespace_update(&doc.namespace)))?;
        ns_db::get(c, &doc.namespace)?.ok_or_else(|| Error::internal("updated namespace vanished"))
    })
    .await
    .inspect(|ns| {
        state.notifier.metadef("metadef_namespace.update", || {
            payload::metadef_namespace(ns, &old)
        })
    })
}

/// What a namespace DELETE removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespace,
    Objects,
    Properties,
    Tags,
}

pub async fn delete(
    state: &AppState,
    ctx: RequestContext,
    name: String,
    scope: Scope,
) -> Result<(), Error> {
    in_tx(state, move |c, st| {
        let ns = load_namespace(c, &ctx, &name, Missing::Short)?;
        enforce(&st.policy, &ctx, Some(&ns), "delete_metadef_namespace")?;
        if scope == Scope::Tags {
            enforce(&st.policy, &ctx, Some(&ns), "delete_metadef_tags")?;
        }
        ns.check_deletable().map_err(Error::forbidden)?;
        match scope {
            Scope::Namespace => ns_db::delete_cascade(c, ns.id)?,
            Scope::Objects => {
                content_db::delete_objects(c, ns.id)?;
            }
            Scope::Properties => {
                content_db::delete_properties(c, ns.id)?;
            }
            Scope::Tags => {
                content_db::delete_tags(c, ns.id)?;
            }
        }
        Ok(ns)
    })
    .await
    .map(|ns| {
        let (event, gone) = match scope {
            Scope::Namespace => ("metadef_namespace.delete", true),
            Scope::Objects => ("metadef_namespace.delete_objects", false),
            Scope::Properties => ("metadef_namespace.delete_properties", false),
            Scope::Tags => ("metadef_namespace.delete_tags", false),
        };
        state.notifier.metadef(event, || match gone {
            true => payload::metadef_namespace_deleted(&ns, now()),
            false => payload::metadef_namespace(&ns, &ns.namespace),
        })
    })
}
