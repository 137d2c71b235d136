//! Property protections (`property_protection_file`) applied to images: the one place the
//! image use cases ask, as Glance's `ProtectedImageFactoryProxy` / `ProtectedImageRepoProxy`
//! wrap its image factory and repository.
//!
//! - create: every custom property of the body must be creatable (403 otherwise);
//! - show, list, and what create and update answer: properties the caller may not read are
//!   left out;
//! - update: the patch runs on the properties the caller may read (one it may not read does
//!   not exist for it: 409 on replace or remove), each operation asking as Glance does.
//!   Properties the caller may not read are kept as they are. (Glance saves the filtered set
//!   and so deletes them; see api-ref/differences.md.)

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::domain::context::RequestContext;
use crate::domain::image::Image;
use crate::domain::patch::{self, LocationEdit, Operation, PatchLimits, PatchMediaType};
use crate::domain::property_protection::{reserved, Access, PropertyRules};
use crate::error::Error;
use crate::policy::{Enforcer, Target};

/// The rules as they apply to one caller.
struct Guard<'a> {
    rules: &'a PropertyRules,
    policy: &'a Enforcer,
    ctx: &'a RequestContext,
}

impl Guard<'_> {
    fn allows(&self, name: &str, access: Access) -> bool {
        // `policies`: the named rule, against an empty target, as Glance asks it.
        let policy = |rule: &str| self.policy.allows(rule, self.ctx, &Target::new());
        self.rules.allows(name, access, &self.ctx.roles, &policy)
    }
}

fn guard<'a>(state: &'a AppState, ctx: &'a RequestContext) -> Option<Guard<'a>> {
    state.property_rules.as_deref().map(|rules| Guard {
        rules,
        policy: &state.policy,
        ctx,
    })
}

/// Before an image is created from `fields` (the create body): each custom property must be
/// creatable by the caller.
pub fn check_create(
    state: &AppState,
    ctx: &RequestContext,
    fields: &Map<String, Value>,
) -> Result<(), Error> {
    let Some(g) = guard(state, ctx) else {
        return Ok(());
    };
    match fields
        .keys()
        .filter(|k| patch::is_custom_property(k))
        .find(|k| !g.allows(k, Access::Create))
    {
        Some(k) => Err(Error::forbidden(reserved(k))),
        None => Ok(()),
    }
}

/// The custom properties of an image being copied that the copy keeps: those the caller may
/// both read on the source and create on its own image (all of them without property
/// protections).
pub fn copyable(
    state: &AppState,
    ctx: &RequestContext,
    properties: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let Some(g) = guard(state, ctx) else {
        return properties;
    };
    properties
        .into_iter()
        .filter(|(k, _)| g.allows(k, Access::Read) && g.allows(k, Access::Create))
        .collect()
}

/// The image as the caller may see it: without the properties it may not read.
pub fn readable(state: &AppState, ctx: &RequestContext, mut image: Image) -> Image {
    if let Some(g) = guard(state, ctx) {
        image.properties.retain(|k, _| g.allows(k, Access::Read));
    }
    image
}

/// [`readable`] for each image of a list.
pub fn readable_all(state: &AppState, ctx: &RequestContext, images: Vec<Image>) -> Vec<Image> {
    if state.property_rules.is_none() {
        return images;
    }
    images
        .into_iter()
        .map(|i| readable(state, ctx, i))
        .collect()
}

/// `patch::apply` under the protections; the result holds every property, the unreadable ones
/// as they were.
pub fn apply_patch(
    state: &AppState,
    ctx: &RequestContext,
    old: &Image,
    ops: &[Operation],
    mt: PatchMediaType,
    limits: &PatchLimits,
    locs: &mut LocationEdit,
) -> Result<Image, Error> {
    let Some(g) = guard(state, ctx) else {
        return patch::apply_with(old, ops, mt, ctx.is_admin(), limits, &|_, _| true, locs);
    };
    let (visible, hidden): (BTreeMap<_, _>, BTreeMap<_, _>) = old
        .properties
        .clone()
        .into_iter()
        .partition(|(k, _)| g.allows(k, Access::Read));
    let view = Image {
        properties: visible,
        ..old.clone()
    };
    let allows = |name: &str, access: Access| g.allows(name, access);
    let mut new = patch::apply_with(&view, ops, mt, ctx.is_admin(), limits, &allows, locs)?;
    for (k, v) in hidden {
        // One an operation named was created anew by it (add), or is gone with its operation.
        if !ops.iter().any(|op| op.root() == k) {
            new.properties.insert(k, v);
        }
    }
    Ok(new)
}
