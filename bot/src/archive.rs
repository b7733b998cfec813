//! Optional archive: photos and files of logs are downloaded into a local directory so the
//! evidence survives Telegram. Runs beside the handlers, so a slow or failed download never
//! holds up a receipt; failures are retried with growing pauses, also across restarts.

use crate::Ctx;
use std::path::{Path, PathBuf};
use std::time::Duration;
use storage::PendingArchive;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::FileId;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

const MAX_ATTEMPTS: i64 = 8;
const BATCH: i64 = 16;
const IDLE: Duration = Duration::from_secs(5);

fn retry_delay(attempts: i64) -> chrono::Duration {
    chrono::Duration::seconds((5i64 << attempts.clamp(0, 10)).min(3600))
}

/// `DIR/2026-11/<person>/<log>-<file_unique_id>.<ext>`
fn target(dir: &Path, a: &PendingArchive, telegram_path: &str) -> PathBuf {
    let ext = Path::new(telegram_path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_string)
        .or_else(|| {
            a.file_name
                .as_deref()
                .and_then(|n| Path::new(n).extension()?.to_str().map(str::to_string))
        })
        .unwrap_or_else(|| "bin".into());
    // Only characters Telegram uses in unique ids, so the name cannot escape the directory.
    let safe: String = a
        .file_unique_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    dir.join(a.day.format("%Y-%m").to_string())
        .join(a.person_id.to_string())
        .join(format!("{}-{safe}.{ext}", a.log_id))
}

async fn fetch(bot: &Bot, dir: &Path, a: &PendingArchive) -> Result<PathBuf, String> {
    let file = bot
        .get_file(FileId(a.file_id.clone()))
        .await
        .map_err(|e| format!("getFile: {e}"))?;
    let path = target(dir, a, &file.path);
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    // Written under a temporary name and renamed, so a half file is never taken as done.
    let partial = path.with_extension("part");
    let mut out = tokio::fs::File::create(&partial)
        .await
        .map_err(|e| format!("create {}: {e}", partial.display()))?;
    let downloaded = bot.download_file(&file.path, &mut out).await;
    let flushed = out.flush().await;
    drop(out);
    if let Err(e) = downloaded {
        if let Err(e) = tokio::fs::remove_file(&partial).await {
            // The next attempt overwrites it.
            tracing::warn!(error = %e, path = %partial.display(), "cannot remove a partial download");
        }
        return Err(format!("download: {e}"));
    }
    flushed.map_err(|e| format!("write: {e}"))?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|e| format!("rename: {e}"))?;
    Ok(path)
}

pub async fn run(bot: Bot, app: Ctx, dir: PathBuf, mut stop: watch::Receiver<bool>) {
    let wake = app.archiver_wake.clone();
    loop {
        if *stop.borrow() {
            return;
        }
        let pending = match app
            .store
            .attachments_to_archive(app.clock.now(), MAX_ATTEMPTS, BATCH)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the archive queue");
                Vec::new()
            }
        };
        if pending.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(IDLE) => {}
                _ = wake.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        for a in pending {
            let result = match fetch(&bot, &dir, &a).await {
                Ok(path) => {
                    app.store
                        .mark_archived(a.id, &path.display().to_string())
                        .await
                }
                Err(error) => {
                    tracing::warn!(attachment = a.id, attempts = a.attempts + 1, %error, "archive download failed; will retry");
                    let retry_at = app.clock.now() + retry_delay(a.attempts);
                    app.store.archive_failed(a.id, &error, retry_at).await
                }
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot record archive state");
                tokio::time::sleep(IDLE).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn archive_paths_are_grouped_by_month_and_person_and_cannot_escape() {
        let a = PendingArchive {
            id: 1,
            log_id: 12,
            person_id: 3,
            day: NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            kind: "photo".into(),
            file_id: "f".into(),
            file_unique_id: "../../etc/AQAD".into(),
            file_name: None,
            attempts: 0,
        };
        let p = target(Path::new("/var/zhucun"), &a, "photos/file_7.jpg");
        assert_eq!(p, PathBuf::from("/var/zhucun/2026-11/3/12-etcAQAD.jpg"));
    }

    #[test]
    fn retries_back_off() {
        assert!(retry_delay(0) < retry_delay(1));
        assert_eq!(retry_delay(20), chrono::Duration::seconds(3600));
    }
}
