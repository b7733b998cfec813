//! `log-reminder`: in the evening, cadres who have not logged today get one gentle message.

use chrono::{DateTime, Utc};
use domain::attendance::local_date;
use domain::config::Config;
use storage::{StorageError, Store};

/// What one run of `log-reminder` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogReminders {
    /// Today is a rest day (weekend or holiday, not a make-up working day): nobody is asked.
    RestDay,
    Queued(u64),
}

impl std::fmt::Display for LogReminders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogReminders::RestDay => write!(f, "today is a rest day; 0 reminders queued"),
            LogReminders::Queued(1) => write!(f, "1 reminder queued"),
            LogReminders::Queued(n) => write!(f, "{n} reminders queued"),
        }
    }
}

/// Queues the reminders of the local day of `now`. `run` names the run in the dedup keys
/// (the tick, or a manual run), so running a tick again never sends twice.
pub async fn log_reminder(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    run: &str,
) -> Result<LogReminders, StorageError> {
    let today = local_date(now, config.tz());
    if store.calendar(&config.calendar()).await?.is_rest_day(today) {
        return Ok(LogReminders::RestDay);
    }
    let n = store.queue_log_reminders(today, run, now).await?;
    Ok(LogReminders::Queued(n))
}
