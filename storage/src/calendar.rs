//! Holiday years imported by the operator (`zhucun calendar import`), and the calendar in
//! force: the configured one with those years in.

use crate::{Result, Store, in_tx, ms, read_db};
use chrono::{DateTime, NaiveDate, Utc};
use domain::calendar::{Calendar, YearDays};
use std::collections::BTreeMap;

/// What an import changed, per year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedYear {
    pub year: i32,
    pub rest_days: usize,
    pub workdays: usize,
    /// The year was imported before: its days were replaced.
    pub replaced: bool,
}

impl Store {
    /// Imports holiday years in one transaction; a year imported before is replaced.
    pub async fn import_calendar(
        &self,
        years: &[YearDays],
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportedYear>> {
        in_tx!(self, tx => {
            let mut out = Vec::new();
            for y in years {
                let gone = sqlx::query("DELETE FROM calendar_years WHERE year = $1")
                    .bind(y.year)
                    .execute(&mut *tx)
                    .await?;
                // Not every engine cascades without being asked (SQLite's foreign keys).
                sqlx::query("DELETE FROM calendar_days WHERE year = $1")
                    .bind(y.year)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO calendar_years (year, source, imported_at) VALUES ($1, $2, $3)",
                )
                .bind(y.year)
                .bind(source)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
                let days = y.rest.iter().map(|d| (d, true)).chain(y.work.iter().map(|d| (d, false)));
                for (day, rest) in days {
                    sqlx::query("INSERT INTO calendar_days (day, year, rest) VALUES ($1, $2, $3)")
                        .bind(day.format("%Y-%m-%d").to_string())
                        .bind(y.year)
                        .bind(rest)
                        .execute(&mut *tx)
                        .await?;
                }
                out.push(ImportedYear {
                    year: y.year,
                    rest_days: y.rest.len(),
                    workdays: y.work.len(),
                    replaced: gone.rows_affected() > 0,
                });
            }
            Ok(out)
        })
    }

    /// The imported years, oldest first.
    pub async fn calendar_years(&self) -> Result<Vec<YearDays>> {
        let years: Vec<(i32,)> = read_db!(self, pool =>
            sqlx::query_as("SELECT year FROM calendar_years ORDER BY year").fetch_all(pool).await?);
        let days: Vec<(String, i32, bool)> = read_db!(self, pool =>
            sqlx::query_as("SELECT day, year, rest FROM calendar_days").fetch_all(pool).await?);
        let mut out: BTreeMap<i32, YearDays> = years
            .into_iter()
            .map(|(year,)| {
                (
                    year,
                    YearDays {
                        year,
                        ..YearDays::default()
                    },
                )
            })
            .collect();
        for (day, year, rest) in days {
            let (Some(y), Ok(day)) = (
                out.get_mut(&year),
                NaiveDate::parse_from_str(&day, "%Y-%m-%d"),
            ) else {
                continue;
            };
            if rest {
                y.rest.insert(day)
            } else {
                y.work.insert(day)
            };
        }
        Ok(out.into_values().collect())
    }

    /// The calendar in force: `configured` (the shipped or configured one, with the
    /// operator's days) with the imported years in.
    pub async fn calendar(&self, configured: &Calendar) -> Result<Calendar> {
        Ok(configured.with_years(&self.calendar_years().await?))
    }
}
