//! Reminders before shares expire (`[glint_sharing] expiry_reminders`): a new notification,
//! `image.member.expiry_reminder`, once per threshold and share (`domain::expiry_reminder`).
//! Run by the sharing sweep each heartbeat period; what was sent is kept on the share
//! (`glint_member_ext.reminded_secs`, set in the same transaction that decides to send), so a
//! reminder goes out once however many processes sweep.

use serde_json::json;

use super::images::now;
use crate::app::AppState;
use crate::db;
use crate::domain::expiry_reminder::{due, horizon};
use crate::domain::id::ImageId;
use crate::domain::member::{Member, MemberStatus};
use crate::error::Error;
use crate::notify::{payload, Priority};

/// The event's name (rule 6 of the contract: new events have new names).
pub const EVENT: &str = "image.member.expiry_reminder";

/// Shares looked at per sweep, soonest expiry first; the rest wait for the next sweep.
const BATCH: i64 = 500;

/// Send the reminders due now. Returns each reminded member with its threshold (seconds).
pub async fn send_due(state: &AppState) -> Result<Vec<(Member, u64)>, Error> {
    let cfg = &state.config.sharing;
    if !cfg.enabled {
        return Ok(Vec::new());
    }
    let Some(h) = horizon(&cfg.expiry_reminders).and_then(|h| chrono::Duration::from_std(h).ok())
    else {
        return Ok(Vec::new());
    };
    let thresholds = cfg.expiry_reminders.clone();
    let start = now();
    let Some(until) = start.checked_add_signed(h) else {
        return Ok(Vec::new());
    };
    let candidates = state
        .read(move |c| Ok(db::member_ext::expiring_between(c, start, until, BATCH)?))
        .await?;
    let mut sent = Vec::new();
    for (image_id, member, at, reminded) in candidates {
        if due(at, start, &thresholds, reminded).is_none() {
            continue;
        }
        let thresholds = thresholds.clone();
        let decided = state
            .write(move |c| {
                let id = ImageId::from_path(image_id.as_str());
                // The image's row lock first, as every writer of its member rows takes it.
                if !db::images::lock(c, &id)? {
                    return Ok(None);
                }
                let Some(row) = db::members::get(c, &id, &member)? else {
                    return Ok(None);
                };
                // A declined offer needs no reminder.
                if row.status == MemberStatus::Rejected {
                    return Ok(None);
                }
                let Some(mut ext) = db::member_ext::get(c, id.as_str(), &member)? else {
                    return Ok(None);
                };
                // Decided again on the row as it is now: another sweep may have sent it.
                let Some(t) = ext
                    .expires_at
                    .and_then(|at| due(at, now(), &thresholds, ext.reminded))
                else {
                    return Ok(None);
                };
                ext.reminded = Some(t);
                db::member_ext::put(c, id.as_str(), &member, &ext)?;
                let owner = db::images::owner_of(c, &id)?;
                Ok(Some((
                    Member {
                        ext: Some(ext),
                        ..row
                    },
                    t,
                    owner,
                )))
            })
            .await?;
        if let Some((m, t, owner)) = decided {
            let expires_at = m.ext.as_ref().and_then(|e| e.expires_at);
            crate::service::webhooks::publish(
                state,
                crate::domain::webhook::EventType::Expiring,
                &m,
                owner.as_deref(),
                json!({"expires_at": expires_at.map(payload::isotime), "remind_before_seconds": t}),
            );
            if state.notifier.wants(EVENT) {
                let mut p = payload::member(&m);
                p["expires_at"] = json!(expires_at.map(payload::isotime));
                p["remind_before_seconds"] = json!(t);
                state.notifier.emit(EVENT, Priority::Info, p);
            }
            sent.push((m, t));
        }
    }
    Ok(sent)
}
