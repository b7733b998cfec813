//! Supervision reads: every cadre's presence record of a month (the one domain function,
//! [`domain::attendance::month_record`], over his log days and approved leave), and the open
//! leave requests and questions `/stats` counts. Three plain scans, grouped in memory, so a
//! city's month costs the same few queries whatever its size.

use crate::{Result, Store, ms, read_db};
use chrono::{DateTime, NaiveDate, Utc};
use domain::attendance::{Month, MonthRecord, month_record};
use domain::calendar::Calendar;
use domain::supervision::{Cadre, CadreFacts, CadreMonth};
use std::collections::HashMap;

type CadreRow = (i64, String, String, String, bool);

impl Store {
    /// Every cadre on the roster at any time from `since` (the month's first local
    /// midnight) until now, with his presence record of `month`, in unit path and name
    /// order. A cadre who joined later is listed (with what he has); one deactivated
    /// before `since` is not. `calendar` is the configured one; imported holiday years are
    /// applied here, so every figure uses the calendar in force.
    pub async fn month_presence(
        &self,
        month: Month,
        since: DateTime<Utc>,
        calendar: &Calendar,
    ) -> Result<Vec<CadreMonth>> {
        let calendar = &self.calendar(calendar).await?;
        let cadres_sql = "SELECT p.id, p.name, p.phone, u.path, p.active FROM people p
                          JOIN person_roles r ON r.person_id = p.id AND r.role = 'cadre'
                          JOIN units u ON u.id = p.unit_id
                          WHERE p.active OR p.deactivated_at >= $1
                          ORDER BY u.path, p.name, p.id";
        let cadres: Vec<CadreRow> = read_db!(self, pool => sqlx::query_as(cadres_sql)
            .bind(ms(since)).fetch_all(pool).await?);
        // log_months holds each person's days with a log of a month as bits (day 1 = bit
        // 0), kept by triggers on log_days (migration 0022): one row per cadre.
        let logs_sql = "SELECT person_id, days FROM log_months WHERE month = $1 AND days <> 0";
        let bits: Vec<(i64, i64)> = read_db!(self, pool => sqlx::query_as(logs_sql)
            .bind(month.to_string()).fetch_all(pool).await?);
        let logs = bits.into_iter().flat_map(|(person, bits)| {
            month
                .days()
                .enumerate()
                .filter(move |(i, _)| bits >> i & 1 == 1)
                .map(move |(_, day)| (day, person))
        });
        let leave_sql = "SELECT person_id, start_day, end_day FROM leave_requests
                         WHERE status = 'approved' AND start_day <= $1 AND end_day >= $2";
        let leave: Vec<(i64, NaiveDate, NaiveDate)> = read_db!(self, pool => sqlx::query_as(leave_sql)
            .bind(month.last_day()).bind(month.first_day()).fetch_all(pool).await?);

        let mut days: HashMap<i64, Vec<NaiveDate>> = HashMap::with_capacity(cadres.len());
        for (day, person) in logs {
            days.entry(person).or_default().push(day);
        }
        let mut ranges: HashMap<i64, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
        for (person, start, end) in leave {
            ranges.entry(person).or_default().push((start, end));
        }
        Ok(cadres
            .into_iter()
            .map(|(id, name, phone, unit_path, active)| CadreMonth {
                record: month_record(
                    month,
                    days.get(&id).map_or(&[][..], Vec::as_slice),
                    ranges.get(&id).map_or(&[][..], Vec::as_slice),
                    calendar,
                ),
                cadre: Cadre {
                    id,
                    name,
                    phone,
                    unit_path,
                    active,
                },
            })
            .collect())
    }

    /// One person's presence record of `month` (what `/me` shows), by the same function
    /// over the same rows as [`Store::month_presence`].
    pub async fn person_month(
        &self,
        person_id: i64,
        month: Month,
        calendar: &Calendar,
    ) -> Result<MonthRecord> {
        let sql = "SELECT day FROM log_days WHERE person_id = $1 AND day >= $2 AND day <= $3";
        let dates: Vec<NaiveDate> = read_db!(self, pool => sqlx::query_as::<_, (NaiveDate,)>(sql)
            .bind(person_id).bind(month.first_day()).bind(month.last_day())
            .fetch_all(pool).await?)
        .into_iter()
        .map(|r| r.0)
        .collect();
        let leave = self.approved_leave(person_id, month).await?;
        let calendar = self.calendar(calendar).await?;
        Ok(month_record(month, &dates, &leave, &calendar))
    }

    /// The month's presence of every cadre with his pending leave requests and open
    /// questions, of which those asked at or before `overdue_at` are overdue (for `/stats`
    /// and the web view).
    pub async fn stats_facts(
        &self,
        month: Month,
        since: DateTime<Utc>,
        overdue_at: DateTime<Utc>,
        calendar: &Calendar,
    ) -> Result<Vec<CadreFacts>> {
        let months = self.month_presence(month, since, calendar).await?;
        let pending_sql = "SELECT person_id, COUNT(*) FROM leave_requests
                           WHERE status = 'pending' GROUP BY person_id";
        let pending: Vec<(i64, i64)> =
            read_db!(self, pool => sqlx::query_as(pending_sql).fetch_all(pool).await?);
        let open_sql = "SELECT person_id, COUNT(*),
                               CAST(SUM(CASE WHEN created_at <= $1 THEN 1 ELSE 0 END) AS BIGINT)
                        FROM questions WHERE status = 'open' GROUP BY person_id";
        let open: Vec<(i64, i64, i64)> = read_db!(self, pool => sqlx::query_as(open_sql)
            .bind(ms(overdue_at)).fetch_all(pool).await?);
        let pending: HashMap<i64, i64> = pending.into_iter().collect();
        let overdue: HashMap<i64, i64> = open.iter().map(|&(p, _, o)| (p, o)).collect();
        let open: HashMap<i64, i64> = open.into_iter().map(|(p, n, _)| (p, n)).collect();
        let n = |m: &HashMap<i64, i64>, id| {
            u32::try_from(m.get(&id).copied().unwrap_or(0)).unwrap_or(0)
        };
        Ok(months
            .into_iter()
            .map(|month| CadreFacts {
                pending_leave: n(&pending, month.cadre.id),
                open_questions: n(&open, month.cadre.id),
                overdue_questions: n(&overdue, month.cadre.id),
                month,
            })
            .collect())
    }

    /// Active admins who can be written to: (person id, chat id).
    pub async fn admin_chats(&self) -> Result<Vec<(i64, i64)>> {
        let sql = "SELECT p.id, p.chat_id FROM people p
                   JOIN person_roles r ON r.person_id = p.id AND r.role = 'admin'
                   WHERE p.active AND p.chat_id IS NOT NULL AND NOT p.unreachable ORDER BY p.id";
        Ok(read_db!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?))
    }
}

impl Store {
    /// Queues `notification` to every active, reachable person with `role` who has a chat,
    /// with the dedup key `<key_prefix><person>` (so a run queued again sends nothing twice).
    /// Returns how many were queued.
    pub async fn queue_to_role(
        &self,
        role: domain::Role,
        notification: &domain::notify::Notification,
        key_prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let payload = serde_json::to_string(notification).unwrap_or_default();
        let sql = "INSERT INTO outbox (chat_id, person_id, payload, dedup_key, not_before, status, created_at)
                   SELECT p.chat_id, p.id, $1, CAST($2 AS TEXT) || CAST(p.id AS TEXT), $3, 'pending', $3
                   FROM people p JOIN person_roles r ON r.person_id = p.id AND r.role = $4
                   WHERE p.active AND p.chat_id IS NOT NULL AND NOT p.unreachable
                   ON CONFLICT (dedup_key) DO NOTHING";
        let n = crate::write_db!(self, pool => sqlx::query(sql)
            .bind(payload).bind(key_prefix).bind(ms(now)).bind(role.as_str())
            .execute(pool).await?.rows_affected());
        Ok(n)
    }
}

/// What a supervisor's 提醒 did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminded {
    /// A reminder is on its way (through the outbox).
    Queued,
    /// Someone reminded him today already: one a day.
    AlreadyToday,
    /// Nothing to remind: he logged today, is on leave, or cannot be reached.
    NotDue,
    /// Not a cadre within the presser's scope.
    OutOfScope,
}

impl Store {
    /// A supervisor's 提醒 to a cadre who has not logged on `day`: checked (the cadre within
    /// `scope`, active and reachable, no log and no leave that day) and queued in one
    /// transaction, at most once per cadre and day whoever presses.
    pub async fn remind_cadre(
        &self,
        scope: &domain::supervision::Scope,
        cadre_id: i64,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Reminded> {
        let payload = serde_json::to_string(&domain::notify::Notification::LogReminder { day })
            .unwrap_or_default();
        crate::in_tx!(self, tx => {
            let row: Option<(String, Option<i64>, bool, bool)> = sqlx::query_as(
                "SELECT u.path, p.chat_id, p.active AND NOT p.unreachable,
                        EXISTS (SELECT 1 FROM person_roles r WHERE r.person_id = p.id AND r.role = 'cadre')
                 FROM people p JOIN units u ON u.id = p.unit_id WHERE p.id = $1",
            )
            .bind(cadre_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((path, chat, reachable, cadre)) = row else {
                return Ok(Reminded::OutOfScope);
            };
            if !cadre || !scope.covers(&path) {
                return Ok(Reminded::OutOfScope);
            }
            let (busy,): (bool,) = sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM logs l WHERE l.person_id = $1 AND l.day = $2)
                     OR EXISTS (SELECT 1 FROM leave_requests q WHERE q.person_id = $1
                                AND q.status = 'approved' AND q.start_day <= $2 AND q.end_day >= $2)",
            )
            .bind(cadre_id)
            .bind(day)
            .fetch_one(&mut *tx)
            .await?;
            let Some(chat) = chat.filter(|_| reachable && !busy) else {
                return Ok(Reminded::NotDue);
            };
            let queued = sqlx::query(
                "INSERT INTO outbox (chat_id, person_id, payload, dedup_key, not_before, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $5) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(chat)
            .bind(cadre_id)
            .bind(&payload)
            .bind(format!("web-remind:{day}:{cadre_id}"))
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
            Ok(if queued.rows_affected() == 1 { Reminded::Queued } else { Reminded::AlreadyToday })
        })
    }
}
