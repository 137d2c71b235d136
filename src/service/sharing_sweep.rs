//! The sharing extensions' sweep (`[glint_sharing]`): expired shares are kept for the owner to see
//! for `expired_retention`, then removed, each with Glance's `image.member.delete`. Correctness never
//! waits for it (access ends at the instant of expiry in every read); it only tidies. Run from every
//! process at each heartbeat period; safe to run anywhere at any time.

use super::images::now;
use crate::app::AppState;
use crate::db;
use crate::domain::id::ImageId;
use crate::domain::member::Member;
use crate::domain::share_event::{self, Action, NewEvent, Via};
use crate::error::Error;

use super::share_events::record;

/// Member rows removed per sweep (each in its own short transaction); the rest wait for the next.
const BATCH: i64 = 200;

/// Remove the shares whose expiry (their own, or `pending_ttl` for an offer never answered) passed
/// more than `expired_retention` ago; send the expiry reminders due; remove history events older
/// than `history_retention`, and webhook delivery attempts as old.
/// Returns the removed members.
pub async fn purge_expired(state: &AppState) -> Result<Vec<Member>, Error> {
    let cfg = &state.config.sharing;
    if !cfg.enabled {
        return Ok(Vec::new());
    }
    let retention =
        chrono::Duration::from_std(cfg.expired_retention).unwrap_or(chrono::Duration::MAX);
    let ttl = cfg
        .pending_ttl
        .and_then(|t| chrono::Duration::from_std(t).ok());
    let due = state
        .read(move |c| {
            let Some(cutoff) = now().checked_sub_signed(retention) else {
                return Ok(Vec::new());
            };
            let mut due = db::member_ext::expired_before(c, cutoff, BATCH)?;
            if let Some(before) = ttl.and_then(|t| cutoff.checked_sub_signed(t)) {
                due.extend(db::members::pending_offered_before(c, before, BATCH)?);
            }
            due.sort();
            due.dedup();
            Ok(due)
        })
        .await?;
    let mut removed = Vec::new();
    for (image_id, member) in due {
        let id = ImageId::from_path(image_id.as_str());
        let st = state.clone();
        let gone = state
            .write(move |c| {
                // The image's row lock first, as every writer of its member rows takes it.
                if !db::images::lock(c, &id)? {
                    db::member_ext::remove_image(c, id.as_str())?;
                    return Ok(None);
                }
                let Some(row) = db::members::get(c, &id, &member)? else {
                    db::member_ext::remove(c, id.as_str(), &member)?;
                    return Ok(None);
                };
                let at = now();
                let ext = db::member_ext::get(c, id.as_str(), &member)?.unwrap_or_default();
                let owner = db::images::owner_of(c, &id)?;
                db::members::delete(c, &id, &member, at)?;
                db::member_ext::remove(c, id.as_str(), &member)?;
                record(c, &st, || {
                    NewEvent::new(
                        None,
                        at,
                        Action::Purge,
                        Via::Expiry,
                        id.as_str(),
                        owner.as_deref(),
                        &member,
                        Some(share_event::state(row.status, &ext)),
                        None,
                    )
                })?;
                Ok(Some((row, at)))
            })
            .await?;
        if let Some((m, at)) = gone {
            state.notifier.member_deleted(&m, at);
            removed.push(m);
        }
    }
    let reminded = super::expiry_reminders::send_due(state).await?;
    if !reminded.is_empty() {
        tracing::info!(
            reminded = reminded.len(),
            "expiry reminders sent for shares about to expire"
        );
    }
    let events = super::share_events::purge(state).await?;
    if events > 0 {
        tracing::info!(
            events,
            "sharing history events removed after history_retention"
        );
    }
    let deliveries = super::webhooks::purge_log(state).await?;
    if deliveries > 0 {
        tracing::info!(
            deliveries,
            "webhook delivery log rows removed after history_retention"
        );
    }
    if !removed.is_empty() {
        tracing::info!(
            removed = removed.len(),
            "expired shares removed after their retention"
        );
    }
    Ok(removed)
}
