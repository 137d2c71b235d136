//! Who may do what: one enforcer that every service call goes through.

pub mod check;
pub mod file;
pub mod parser;
pub mod rules;

use std::collections::HashMap;

pub use check::{Check, Target};

use crate::domain::context::RequestContext;
use crate::domain::image::Image;
use crate::error::Error;

/// Named rules: Glance's defaults, optionally overridden by an operator's file.
#[derive(Debug, Clone)]
pub struct Enforcer {
    rules: HashMap<String, Check>,
}

impl Default for Enforcer {
    fn default() -> Self {
        Enforcer {
            rules: rules::defaults()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }
}

impl Enforcer {
    /// Replace or add rules (from a policy file).
    pub fn with_overrides(mut self, overrides: impl IntoIterator<Item = (String, Check)>) -> Self {
        self.rules.extend(overrides);
        self
    }

    /// Evaluate a named rule; an unknown rule falls back to `default` as oslo.policy does.
    pub fn allows(&self, rule: &str, ctx: &RequestContext, target: &Target) -> bool {
        // oslo.policy: a `rule:` naming an unknown rule falls back to `default`.
        // Borrowed, not cloned: this runs on every request.
        let lookup = |name: &str| self.rules.get(name).or_else(|| self.rules.get("default"));
        lookup(rule).is_some_and(|check| check.eval(ctx, target, &lookup))
    }

    /// `allows`, as Glance's 403 when denied.
    pub fn enforce(&self, rule: &str, ctx: &RequestContext, target: &Target) -> Result<(), Error> {
        if self.allows(rule, ctx, target) {
            Ok(())
        } else {
            Err(Error::policy(rule))
        }
    }
}

/// Glance's `ImageTarget`: the owner is `project_id`; `member_id` is the caller's
/// project when the caller sees a shared image only through a member row.
pub fn image_target(img: &Image, ctx: &RequestContext, caller_is_member: bool) -> Target {
    let mut t = Target::new();
    if let Some(o) = &img.owner {
        t.insert("project_id", o.clone());
        t.insert("owner", o.clone());
    }
    t.insert("visibility", img.visibility.as_str().to_owned());
    if caller_is_member {
        if let Some(p) = ctx.project() {
            t.insert("member_id", p.to_owned());
        }
    }
    t
}

/// The target for creating an image: only the requested owner matters.
pub fn new_image_target(owner: Option<&str>) -> Target {
    let mut t = Target::new();
    if let Some(o) = owner {
        t.insert("project_id", o.to_owned());
        t.insert("owner", o.to_owned());
    }
    t
}

/// Target for list rules: the caller's own project.
pub fn project_target(ctx: &RequestContext) -> Target {
    new_image_target(ctx.project())
}
