//! How shares are shown on the page: the same fields the API answers, as template values.

use chrono::NaiveDateTime;
use minijinja::Value;

use crate::api::v2::views::timestamp;
use crate::domain::image::Image;
use crate::domain::member::Member;

/// A member row: status, expiry (and whether it has passed), note, what the trust policy did.
pub fn member(m: &Member, now: NaiveDateTime) -> Value {
    let ext = m.ext.clone().unwrap_or_default();
    minijinja::context! {
        member_id => m.member_id,
        status => m.status.as_str(),
        expired => ext.expired(now),
        expires_at => ext.expires_at.as_ref().map(timestamp),
        expires_date => ext.expires_at.map(|t| t.format("%Y-%m-%d").to_string()),
        note => ext.note,
        renewal_requested => ext.renewal_requested,
        policy => ext.policy.map(|p| p.as_str()),
        created_at => timestamp(&m.created_at),
        updated_at => timestamp(&m.updated_at),
    }
}

/// The image fields the inbox and outbox show.
pub fn image(i: &Image) -> Value {
    minijinja::context! {
        id => i.id,
        name => i.name,
        owner => i.owner,
        size => i.size,
        disk_format => i.disk_format,
        status => i.status.as_str(),
        created_at => timestamp(&i.created_at),
    }
}
