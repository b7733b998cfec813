//! `weekly-summary` and `subsidy-report`: they queue, per recipient, a notification that
//! names the period; the sender makes the table, chart or workbook from the presence
//! records when it sends, so what arrives is what `/stats` and `zhucun report` show.

use chrono::{DateTime, Utc};
use domain::Role;
use domain::attendance::{Month, local_date};
use domain::config::Config;
use domain::notify::Notification;
use domain::supervision::IsoWeek;
use storage::{StorageError, Store};

/// Last week's summary (text and chart) to every admin.
pub async fn weekly_summary(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    run: &str,
) -> Result<String, StorageError> {
    let week = IsoWeek::of(local_date(now, config.tz())).previous();
    let monday = week.monday();
    let prefix = format!("weekly-summary:{run}:");
    let n = store
        .queue_to_role(
            Role::Admin,
            &Notification::WeeklySummary { monday },
            &format!("{prefix}text:"),
            now,
        )
        .await?;
    store
        .queue_to_role(
            Role::Admin,
            &Notification::WeeklyChart { monday },
            &format!("{prefix}chart:"),
            now,
        )
        .await?;
    Ok(format!("{week} summary queued to {}", plural(n, "admin")))
}

/// Last month's report to every admin (XLSX) and each cadre's own figures to him.
pub async fn subsidy_report(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    run: &str,
) -> Result<String, StorageError> {
    let month = Month::of(local_date(now, config.tz())).previous();
    let month_start = month.first_day();
    let prefix = format!("subsidy-report:{run}:");
    let admins = store
        .queue_to_role(
            Role::Admin,
            &Notification::SubsidyReport {
                month_start,
                under: None,
            },
            &format!("{prefix}report:"),
            now,
        )
        .await?;
    let cadres = store
        .queue_to_role(
            Role::Cadre,
            &Notification::SubsidyFigures { month_start },
            &format!("{prefix}figures:"),
            now,
        )
        .await?;
    Ok(format!(
        "{month} report queued to {} and figures to {}",
        plural(admins, "admin"),
        plural(cadres, "cadre")
    ))
}

/// Tells the admins which years that matter today have no holiday data (this year, and
/// from 1 December the next): until imported, their rest days are only weekends.
pub async fn calendar_check(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    run: &str,
) -> Result<String, StorageError> {
    let today = local_date(now, config.tz());
    let missing = store
        .calendar(&config.calendar())
        .await?
        .missing_years(today);
    if missing.is_empty() {
        return Ok("holiday data is in; nobody told".into());
    }
    let mut told = 0;
    for year in &missing {
        told = store
            .queue_to_role(
                Role::Admin,
                &Notification::CalendarMissing { year: *year },
                &format!("calendar-check:{run}:{year}:"),
                now,
            )
            .await?;
    }
    let years: Vec<String> = missing.iter().map(i32::to_string).collect();
    Ok(format!(
        "no holiday data for {}; {} told",
        years.join(", "),
        plural(told, "admin")
    ))
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
