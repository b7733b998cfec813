//! `update-nudge` (reporters of units without this week's work update) and `share-digest`
//! (authors of shared logs with new comments or reactions).

use chrono::{DateTime, Utc};
use domain::attendance::local_date;
use domain::config::Config;
use domain::updates::iso_week;
use storage::{StorageError, Store};

/// Nudges the reporters of every unit that owes this (local) ISO week's update and has none.
pub async fn update_nudge(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    run: &str,
) -> Result<String, StorageError> {
    let (monday, _) = iso_week(local_date(now, config.tz()));
    let n = store.queue_update_nudges(monday, run, now).await?;
    Ok(match n {
        1 => "1 nudge queued".to_string(),
        n => format!("{n} nudges queued"),
    })
}

/// One digest to each author with news since his last one.
pub async fn share_digest(
    store: &Store,
    now: DateTime<Utc>,
    run: &str,
) -> Result<String, StorageError> {
    let n = store.queue_share_digests(run, now).await?;
    Ok(match n {
        1 => "1 digest queued".to_string(),
        n => format!("{n} digests queued"),
    })
}
