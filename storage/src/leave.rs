//! Leave requests and their level-by-level approval. Every decision locks the request row,
//! so the first decision wins; each change queues its notifications in the same transaction.

use crate::outbox::OutboxTx;
use crate::{LeaveFailure, Result, Store, in_tx, ms, read_db};
use chrono::{DateTime, NaiveDate, Utc};
use domain::Level;
use domain::attendance::Month;
use domain::leave::ChainStep;
use domain::notify::Notification;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl LeaveStatus {
    fn parse(s: &str) -> LeaveStatus {
        match s {
            "approved" => LeaveStatus::Approved,
            "rejected" => LeaveStatus::Rejected,
            "cancelled" => LeaveStatus::Cancelled,
            _ => LeaveStatus::Pending,
        }
    }
}

/// One level of a request's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveStep {
    pub step: i64,
    pub level: Level,
    pub unit: String,
    /// Levels that had no approver and passed the request up to this one.
    pub escalated_from: Vec<Level>,
    /// waiting, pending, approved, rejected or cancelled.
    pub status: String,
    pub decided_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveRequest {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub person_unit: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub days: i64,
    pub reason: String,
    pub status: LeaveStatus,
    /// Index of the level deciding now (or that decided last).
    pub step: i64,
    pub reject_reason: Option<String>,
    pub steps: Vec<LeaveStep>,
}

impl LeaveRequest {
    pub fn current(&self) -> Option<&LeaveStep> {
        self.steps.iter().find(|s| s.step == self.step)
    }
}

/// What a cadre submits, after the domain rules accepted it.
#[derive(Debug, Clone)]
pub struct NewLeave<'a> {
    pub person_id: i64,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub days: u32,
    pub reason: &'a str,
    pub chain: &'a [ChainStep],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaveRefusal {
    #[error("overlaps leave from {start} to {end}")]
    Overlaps { start: NaiveDate, end: NaiveDate },
    #[error("no such request")]
    NotFound,
    #[error("not the presser's request or card")]
    NotYours,
    /// The level was decided already (first decision wins), or the request moved on.
    #[error("already decided")]
    AlreadyDecided {
        status: LeaveStatus,
        by: Option<String>,
    },
    #[error("request is no longer pending")]
    NotPending,
}

/// The outcome of a decision, for the decider's confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    Forwarded,
    Approved,
    Rejected,
}

fn levels_text(levels: &[Level]) -> String {
    levels
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_levels(s: &str) -> Vec<Level> {
    s.split(';').filter_map(Level::parse).collect()
}

pub(crate) trait LeaveTx {
    /// Opens `step`: cards to every registered active approver of its unit, walking up the
    /// tree if the unit has none left.
    async fn open_step(&mut self, request_id: i64, step: i64, now: DateTime<Utc>) -> Result<usize>;
    /// Queues a fresh rendering of every card of `step` (an edit where already sent).
    async fn refresh_cards(&mut self, request_id: i64, step: i64, now: DateTime<Utc>)
    -> Result<()>;
    async fn lock_request(&mut self, request_id: i64) -> Result<Option<(i64, String, i64)>>;
}

crate::impl_for_connections! {
    impl LeaveTx {
        async fn open_step(&mut self, request_id: i64, step: i64, now: DateTime<Utc>) -> Result<usize> {
            let (mut unit_id, mut level, escalated): (i64, i64, String) = sqlx::query_as(
                "SELECT unit_id, level, escalated_from FROM leave_steps WHERE request_id = $1 AND step = $2",
            )
            .bind(request_id)
            .bind(step)
            .fetch_one(&mut *self)
            .await?;
            let mut escalated = parse_levels(&escalated);
            loop {
                let approvers: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT p.id, p.chat_id FROM people p
                     JOIN person_roles r ON r.person_id = p.id AND r.role = 'approver'
                     WHERE p.unit_id = $1 AND p.active AND p.chat_id IS NOT NULL ORDER BY p.id",
                )
                .bind(unit_id)
                .fetch_all(&mut *self)
                .await?;
                if !approvers.is_empty() {
                    sqlx::query(
                        "UPDATE leave_steps SET status = 'pending', opened_at = $1, unit_id = $2,
                             level = $3, escalated_from = $4
                         WHERE request_id = $5 AND step = $6",
                    )
                    .bind(ms(now))
                    .bind(unit_id)
                    .bind(level)
                    .bind(levels_text(&escalated))
                    .bind(request_id)
                    .bind(step)
                    .execute(&mut *self)
                    .await?;
                    for (approver_id, chat_id) in &approvers {
                        sqlx::query(
                            "INSERT INTO leave_cards (request_id, step, approver_id, created_at)
                             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        )
                        .bind(request_id)
                        .bind(step)
                        .bind(approver_id)
                        .bind(ms(now))
                        .execute(&mut *self)
                        .await?;
                        let card = Notification::LeaveCard { request_id, step, approver_id: *approver_id };
                        let key = format!("leave-card:{request_id}:{step}:{approver_id}");
                        self.enqueue(*chat_id, Some(*approver_id), &card, Some(&key), now, now).await?;
                    }
                    return Ok(approvers.len());
                }
                // Nobody left to decide here (deactivated since submission): go up a level.
                let parent: Option<(Option<i64>,)> = sqlx::query_as("SELECT parent_id FROM units WHERE id = $1")
                    .bind(unit_id)
                    .fetch_optional(&mut *self)
                    .await?;
                match parent.and_then(|p| p.0) {
                    Some(parent_id) => {
                        if let Some(l) = Level::from_depth(level as usize) {
                            escalated.push(l);
                        }
                        unit_id = parent_id;
                        level -= 1;
                    }
                    None => {
                        tracing::warn!(request_id, step, "no approver anywhere above; request waits");
                        return Ok(0);
                    }
                }
            }
        }

        async fn refresh_cards(&mut self, request_id: i64, step: i64, now: DateTime<Utc>) -> Result<()> {
            let cards: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT c.approver_id, p.chat_id FROM leave_cards c JOIN people p ON p.id = c.approver_id
                 WHERE c.request_id = $1 AND c.step = $2 AND p.chat_id IS NOT NULL ORDER BY c.approver_id",
            )
            .bind(request_id)
            .bind(step)
            .fetch_all(&mut *self)
            .await?;
            for (approver_id, chat_id) in cards {
                let card = Notification::LeaveCard { request_id, step, approver_id };
                let key = format!("leave-card:{request_id}:{step}:{approver_id}");
                self.enqueue(chat_id, Some(approver_id), &card, Some(&key), now, now).await?;
            }
            Ok(())
        }

        /// Locks the request row for this transaction; returns (person_id, status, step).
        async fn lock_request(&mut self, request_id: i64) -> Result<Option<(i64, String, i64)>> {
            sqlx::query("UPDATE leave_requests SET updated_at = updated_at WHERE id = $1")
                .bind(request_id)
                .execute(&mut *self)
                .await?;
            Ok(sqlx::query_as("SELECT person_id, status, step FROM leave_requests WHERE id = $1")
                .bind(request_id)
                .fetch_optional(&mut *self)
                .await?)
        }
    }
}

type RequestRow = (
    i64,
    i64,
    String,
    String,
    NaiveDate,
    NaiveDate,
    i64,
    String,
    String,
    i64,
    Option<String>,
);
type StepRow = (i64, i64, String, String, String, Option<String>);

impl Store {
    /// Paths of the units that have at least one registered, active approver.
    pub async fn approver_unit_paths(&self) -> Result<HashSet<String>> {
        let sql = "SELECT DISTINCT u.path FROM units u
                   JOIN people p ON p.unit_id = u.id
                   JOIN person_roles r ON r.person_id = p.id AND r.role = 'approver'
                   WHERE p.active AND p.chat_id IS NOT NULL";
        let rows: Vec<(String,)> =
            read_db!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The person's pending and approved leave, for the overlap rule.
    pub async fn active_leaves(&self, person_id: i64) -> Result<Vec<(NaiveDate, NaiveDate)>> {
        let sql = "SELECT start_day, end_day FROM leave_requests
                   WHERE person_id = $1 AND status IN ('pending', 'approved') ORDER BY start_day";
        let rows: Vec<(NaiveDate, NaiveDate)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(person_id).fetch_all(pool).await?);
        Ok(rows)
    }

    /// Approved leave touching `month`, as inclusive ranges (for the attendance rule).
    pub async fn approved_leave(
        &self,
        person_id: i64,
        month: Month,
    ) -> Result<Vec<(NaiveDate, NaiveDate)>> {
        let sql = "SELECT start_day, end_day FROM leave_requests
                   WHERE person_id = $1 AND status = 'approved' AND start_day <= $2 AND end_day >= $3
                   ORDER BY start_day";
        let rows: Vec<(NaiveDate, NaiveDate)> = read_db!(self, pool => sqlx::query_as(sql)
            .bind(person_id)
            .bind(month.last_day())
            .bind(month.first_day())
            .fetch_all(pool)
            .await?);
        Ok(rows)
    }

    /// Stores a request and opens its first level: cards go to that level's approvers
    /// through the outbox, in the same transaction.
    pub async fn submit_leave(
        &self,
        new: NewLeave<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64, LeaveFailure> {
        let id = in_tx!(self, tx, refuse LeaveRefusal => {
            sqlx::query("UPDATE people SET log_seq = log_seq WHERE id = $1")
                .bind(new.person_id)
                .execute(&mut *tx)
                .await?;
            let overlap: Option<(NaiveDate, NaiveDate)> = sqlx::query_as(
                "SELECT start_day, end_day FROM leave_requests
                 WHERE person_id = $1 AND status IN ('pending', 'approved')
                   AND start_day <= $2 AND end_day >= $3 LIMIT 1",
            )
            .bind(new.person_id)
            .bind(new.end)
            .bind(new.start)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((start, end)) = overlap {
                return Err(LeaveRefusal::Overlaps { start, end }.into());
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO leave_requests (person_id, start_day, end_day, days, reason, status, step,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) RETURNING id",
            )
            .bind(new.person_id)
            .bind(new.start)
            .bind(new.end)
            .bind(i64::from(new.days))
            .bind(new.reason)
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await?;
            for (i, step) in new.chain.iter().enumerate() {
                let unit: Option<(i64,)> = sqlx::query_as("SELECT id FROM units WHERE path = $1")
                    .bind(step.unit.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((unit_id,)) = unit else {
                    return Err(LeaveRefusal::NotFound.into());
                };
                sqlx::query(
                    "INSERT INTO leave_steps (request_id, step, level, unit_id, escalated_from, status)
                     VALUES ($1, $2, $3, $4, $5, 'waiting')",
                )
                .bind(id)
                .bind(i as i64)
                .bind(step.level.depth() as i64)
                .bind(unit_id)
                .bind(levels_text(&step.escalated_from))
                .execute(&mut *tx)
                .await?;
            }
            tx.open_step(id, 0, now).await?;
            Ok(id)
        })?;
        Ok(id)
    }

    /// Checks that `approver_id` may decide `request_id` at `step` right now.
    pub async fn can_decide(
        &self,
        request_id: i64,
        step: i64,
        approver_id: i64,
    ) -> Result<(), LeaveFailure> {
        let request = self
            .leave_request(request_id)
            .await?
            .ok_or(LeaveRefusal::NotFound)?;
        if !self.holds_card(request_id, step, approver_id).await? {
            return Err(LeaveRefusal::NotYours.into());
        }
        if request.status != LeaveStatus::Pending || request.step != step {
            let by = request
                .steps
                .iter()
                .find(|s| s.step == step)
                .and_then(|s| s.decided_by.clone());
            return Err(LeaveRefusal::AlreadyDecided {
                status: request.status,
                by,
            }
            .into());
        }
        Ok(())
    }

    async fn holds_card(&self, request_id: i64, step: i64, approver_id: i64) -> Result<bool> {
        let sql = "SELECT c.approver_id FROM leave_cards c JOIN people p ON p.id = c.approver_id
                   JOIN person_roles r ON r.person_id = p.id AND r.role = 'approver'
                   WHERE c.request_id = $1 AND c.step = $2 AND c.approver_id = $3 AND p.active";
        let row: Option<(i64,)> = read_db!(self, pool => sqlx::query_as(sql)
            .bind(request_id).bind(step).bind(approver_id).fetch_optional(pool).await?);
        Ok(row.is_some())
    }

    /// Approves or rejects the request at `step` for `approver_id`. The first decision
    /// wins: a later or concurrent one is refused with who decided.
    pub async fn decide_leave(
        &self,
        request_id: i64,
        step: i64,
        approver_id: i64,
        approve: bool,
        reject_reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Decided, LeaveFailure> {
        let holds = self.holds_card(request_id, step, approver_id).await?;
        let decided = in_tx!(self, tx, refuse LeaveRefusal => {
            let Some((_, status, current)) = tx.lock_request(request_id).await? else {
                return Err(LeaveRefusal::NotFound.into());
            };
            if !holds {
                return Err(LeaveRefusal::NotYours.into());
            }
            if status != "pending" || current != step {
                let by: Option<(Option<String>,)> = sqlx::query_as(
                    "SELECT p.name FROM leave_steps s LEFT JOIN people p ON p.id = s.decided_by
                     WHERE s.request_id = $1 AND s.step = $2",
                )
                .bind(request_id)
                .bind(step)
                .fetch_optional(&mut *tx)
                .await?;
                return Err(LeaveRefusal::AlreadyDecided {
                    status: LeaveStatus::parse(&status),
                    by: by.and_then(|b| b.0),
                }
                .into());
            }
            sqlx::query(
                "UPDATE leave_steps SET status = $1, decided_by = $2, decided_at = $3
                 WHERE request_id = $4 AND step = $5",
            )
            .bind(if approve { "approved" } else { "rejected" })
            .bind(approver_id)
            .bind(ms(now))
            .bind(request_id)
            .bind(step)
            .execute(&mut *tx)
            .await?;
            let (steps,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM leave_steps WHERE request_id = $1")
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?;
            let outcome = if !approve {
                sqlx::query(
                    "UPDATE leave_requests SET status = 'rejected', reject_reason = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(reject_reason)
                .bind(ms(now))
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
                Decided::Rejected
            } else if step + 1 < steps {
                sqlx::query("UPDATE leave_requests SET step = $1, updated_at = $2 WHERE id = $3")
                    .bind(step + 1)
                    .bind(ms(now))
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?;
                tx.open_step(request_id, step + 1, now).await?;
                Decided::Forwarded
            } else {
                sqlx::query("UPDATE leave_requests SET status = 'approved', updated_at = $1 WHERE id = $2")
                    .bind(ms(now))
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?;
                Decided::Approved
            };
            tx.refresh_cards(request_id, step, now).await?;
            let note = match outcome {
                Decided::Forwarded => Notification::LeaveForwarded { request_id },
                Decided::Approved => Notification::LeaveApproved { request_id },
                Decided::Rejected => Notification::LeaveRejected { request_id },
            };
            let (cadre,): (i64,) = sqlx::query_as("SELECT person_id FROM leave_requests WHERE id = $1")
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.notify_person(cadre, &note, None, now).await?;
            Ok(outcome)
        })?;
        Ok(decided)
    }

    /// Cancels the person's own pending request; the open cards are updated to say so.
    pub async fn cancel_leave(
        &self,
        request_id: i64,
        person_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), LeaveFailure> {
        in_tx!(self, tx, refuse LeaveRefusal => {
            let Some((owner, status, step)) = tx.lock_request(request_id).await? else {
                return Err(LeaveRefusal::NotFound.into());
            };
            if owner != person_id {
                return Err(LeaveRefusal::NotYours.into());
            }
            if status != "pending" {
                return Err(LeaveRefusal::NotPending.into());
            }
            sqlx::query("UPDATE leave_requests SET status = 'cancelled', updated_at = $1 WHERE id = $2")
                .bind(ms(now))
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE leave_steps SET status = 'cancelled' WHERE request_id = $1 AND step = $2")
                .bind(request_id)
                .bind(step)
                .execute(&mut *tx)
                .await?;
            tx.refresh_cards(request_id, step, now).await?;
            Ok(())
        })
    }

    pub async fn leave_request(&self, id: i64) -> Result<Option<LeaveRequest>> {
        let sql = "SELECT r.id, r.person_id, p.name, u.path, r.start_day, r.end_day, r.days, r.reason,
                          r.status, r.step, r.reject_reason
                   FROM leave_requests r JOIN people p ON p.id = r.person_id JOIN units u ON u.id = p.unit_id
                   WHERE r.id = $1";
        let row: Option<RequestRow> =
            read_db!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?);
        let Some(r) = row else { return Ok(None) };
        let steps_sql = "SELECT s.step, s.level, u.path, s.escalated_from, s.status, p.name
                         FROM leave_steps s JOIN units u ON u.id = s.unit_id
                         LEFT JOIN people p ON p.id = s.decided_by
                         WHERE s.request_id = $1 ORDER BY s.step";
        let steps: Vec<StepRow> =
            read_db!(self, pool => sqlx::query_as(steps_sql).bind(id).fetch_all(pool).await?);
        Ok(Some(LeaveRequest {
            id: r.0,
            person_id: r.1,
            person_name: r.2,
            person_unit: r.3,
            start: r.4,
            end: r.5,
            days: r.6,
            reason: r.7,
            status: LeaveStatus::parse(&r.8),
            step: r.9,
            reject_reason: r.10,
            steps: steps
                .into_iter()
                .map(|s| LeaveStep {
                    step: s.0,
                    level: Level::from_depth(s.1 as usize).unwrap_or(Level::City),
                    unit: s.2,
                    escalated_from: parse_levels(&s.3),
                    status: s.4,
                    decided_by: s.5,
                })
                .collect(),
        }))
    }

    /// The person's most recent requests, newest first.
    pub async fn person_leaves(&self, person_id: i64, limit: i64) -> Result<Vec<LeaveRequest>> {
        let sql = "SELECT id FROM leave_requests WHERE person_id = $1 ORDER BY id DESC LIMIT $2";
        let ids: Vec<(i64,)> = read_db!(self, pool => sqlx::query_as(sql).bind(person_id).bind(limit).fetch_all(pool).await?);
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            out.extend(self.leave_request(id).await?);
        }
        Ok(out)
    }

    /// Requests waiting for this approver's decision now, oldest first.
    pub async fn open_cards(&self, approver_id: i64) -> Result<Vec<LeaveRequest>> {
        let sql =
            "SELECT c.request_id FROM leave_cards c JOIN leave_requests r ON r.id = c.request_id
                   WHERE c.approver_id = $1 AND r.status = 'pending' AND r.step = c.step
                   ORDER BY c.request_id";
        let ids: Vec<(i64,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(approver_id).fetch_all(pool).await?);
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            out.extend(self.leave_request(id).await?);
        }
        Ok(out)
    }
}
