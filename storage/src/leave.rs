//! Leave requests and their level-by-level approval. Every decision locks the request row,
//! so the first decision wins; each change queues its notifications in the same transaction.

use crate::outbox::OutboxTx;
use crate::{LeaveFailure, Result, StorageError, Store, in_tx, ms, read_db};
use chrono::{DateTime, NaiveDate, Utc};
use domain::attendance::Month;
use domain::leave::{
    self, Approvers, Card, Decision, ExistingLeave, LeavePolicy, LeaveRequestDraft, LeaveState,
    Notice, StepChange, StepState, SubmitState, Transition,
};
use domain::{Level, UnitPath};

pub use domain::leave::{Decided, LeaveRefusal, LeaveStatus, StepStatus};

/// The one place stored status names become enums.
fn leave_status(s: &str) -> Result<LeaveStatus> {
    LeaveStatus::parse(s).ok_or(StorageError::Internal("unknown leave status"))
}

fn step_status(s: &str) -> Result<StepStatus> {
    StepStatus::parse(s).ok_or(StorageError::Internal("unknown leave step status"))
}

/// One level of a request's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveStep {
    pub step: i64,
    pub level: Level,
    pub unit: String,
    /// Levels that had no approver and passed the request up to this one.
    pub escalated_from: Vec<Level>,
    pub status: StepStatus,
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
    /// Locks the request row for this transaction (the first decision wins); whether it
    /// exists.
    async fn lock_request(&mut self, request_id: i64) -> Result<bool>;
    /// The request with its steps, as everyone reads it.
    async fn load_request(&mut self, request_id: i64) -> Result<Option<LeaveRequest>>;
    /// Registered, active approvers of `unit` and of each unit above it.
    async fn approvers_along(&mut self, unit: &UnitPath) -> Result<Approvers>;
    /// What a decision about the request looks at: the request, its cards, the approvers.
    async fn load_state(&mut self, request_id: i64) -> Result<Option<LeaveState>>;
    /// Records that `approver` holds a card of `step` (what gives him authority over it).
    async fn insert_card(
        &mut self,
        request_id: i64,
        step: i64,
        approver: i64,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Writes a transition and queues its notices.
    async fn persist(&mut self, request_id: i64, t: &Transition, now: DateTime<Utc>) -> Result<()>;
}

crate::impl_for_connections! {
    impl LeaveTx {
        async fn lock_request(&mut self, request_id: i64) -> Result<bool> {
            let done = sqlx::query("UPDATE leave_requests SET updated_at = updated_at WHERE id = $1")
                .bind(request_id)
                .execute(&mut *self)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn load_request(&mut self, request_id: i64) -> Result<Option<LeaveRequest>> {
            let sql = "SELECT r.id, r.person_id, p.name, u.path, r.start_day, r.end_day, r.days, r.reason,
                              r.status, r.step, r.reject_reason
                       FROM leave_requests r JOIN people p ON p.id = r.person_id JOIN units u ON u.id = p.unit_id
                       WHERE r.id = $1";
            let row: Option<RequestRow> =
                sqlx::query_as(sql).bind(request_id).fetch_optional(&mut *self).await?;
            let Some(r) = row else { return Ok(None) };
            let steps_sql = "SELECT s.step, s.level, u.path, s.escalated_from, s.status, p.name
                             FROM leave_steps s JOIN units u ON u.id = s.unit_id
                             LEFT JOIN people p ON p.id = s.decided_by
                             WHERE s.request_id = $1 ORDER BY s.step";
            let steps: Vec<StepRow> =
                sqlx::query_as(steps_sql).bind(request_id).fetch_all(&mut *self).await?;
            let steps = steps
                .into_iter()
                .map(|s| {
                    Ok(LeaveStep {
                        step: s.0,
                        level: Level::from_depth(s.1 as usize).unwrap_or(Level::City),
                        unit: s.2,
                        escalated_from: parse_levels(&s.3),
                        status: step_status(&s.4)?,
                        decided_by: s.5,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(LeaveRequest {
                id: r.0,
                person_id: r.1,
                person_name: r.2,
                person_unit: r.3,
                start: r.4,
                end: r.5,
                days: r.6,
                reason: r.7,
                status: leave_status(&r.8)?,
                step: r.9,
                reject_reason: r.10,
                steps,
            }))
        }

        async fn approvers_along(&mut self, unit: &UnitPath) -> Result<Approvers> {
            let mut out = Approvers::new();
            for u in unit.prefixes() {
                let ids: Vec<(i64,)> = sqlx::query_as(
                    "SELECT p.id FROM people p
                     JOIN units u ON u.id = p.unit_id
                     JOIN person_roles r ON r.person_id = p.id AND r.role = 'approver'
                     WHERE u.path = $1 AND p.active AND p.chat_id IS NOT NULL ORDER BY p.id",
                )
                .bind(u.to_string())
                .fetch_all(&mut *self)
                .await?;
                if !ids.is_empty() {
                    out.insert(u, ids.into_iter().map(|r| r.0).collect());
                }
            }
            Ok(out)
        }

        async fn load_state(&mut self, request_id: i64) -> Result<Option<LeaveState>> {
            let Some(r) = self.load_request(request_id).await? else {
                return Ok(None);
            };
            let cards: Vec<(i64, i64, bool, Option<i64>)> = sqlx::query_as(
                "SELECT c.step, c.approver_id, p.active, r.person_id FROM leave_cards c
                 JOIN people p ON p.id = c.approver_id
                 LEFT JOIN person_roles r ON r.person_id = p.id AND r.role = 'approver'
                 WHERE c.request_id = $1 ORDER BY c.step, c.approver_id",
            )
            .bind(request_id)
            .fetch_all(&mut *self)
            .await?;
            let cadre_unit = unit_path(&r.person_unit)?;
            let approvers = self.approvers_along(&cadre_unit).await?;
            let steps = r
                .steps
                .iter()
                .map(|s| {
                    Ok(StepState {
                        step: s.step,
                        level: s.level,
                        unit: unit_path(&s.unit)?,
                        escalated_from: s.escalated_from.clone(),
                        status: s.status,
                        decided_by: s.decided_by.clone(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(LeaveState {
                id: r.id,
                owner: r.person_id,
                status: r.status,
                step: r.step,
                steps,
                cards: cards
                    .into_iter()
                    .map(|(step, approver, active, role)| Card {
                        step,
                        approver,
                        authorised: active && role.is_some(),
                    })
                    .collect(),
                approvers,
            }))
        }

        async fn insert_card(&mut self, request_id: i64, step: i64, approver: i64, now: DateTime<Utc>) -> Result<()> {
            sqlx::query(
                "INSERT INTO leave_cards (request_id, step, approver_id, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(request_id)
            .bind(step)
            .bind(approver)
            .bind(ms(now))
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        async fn persist(&mut self, request_id: i64, t: &Transition, now: DateTime<Utc>) -> Result<()> {
            sqlx::query(
                "UPDATE leave_requests SET status = $1, step = $2,
                     reject_reason = COALESCE($3, reject_reason), updated_at = $4
                 WHERE id = $5",
            )
            .bind(t.status.as_str())
            .bind(t.step)
            .bind(t.reject_reason.as_deref())
            .bind(ms(now))
            .bind(request_id)
            .execute(&mut *self)
            .await?;
            for change in &t.step_changes {
                match change {
                    StepChange::Decided { step, status, by } => {
                        sqlx::query(
                            "UPDATE leave_steps SET status = $1, decided_by = $2, decided_at = $3
                             WHERE request_id = $4 AND step = $5",
                        )
                        .bind(status.as_str())
                        .bind(by)
                        .bind(ms(now))
                        .bind(request_id)
                        .bind(step)
                        .execute(&mut *self)
                        .await?;
                    }
                    StepChange::Opened { step, level, unit, escalated_from } => {
                        sqlx::query(
                            "UPDATE leave_steps SET status = $1, opened_at = $2,
                                 unit_id = (SELECT id FROM units WHERE path = $3),
                                 level = $4, escalated_from = $5
                             WHERE request_id = $6 AND step = $7",
                        )
                        .bind(StepStatus::Pending.as_str())
                        .bind(ms(now))
                        .bind(unit.to_string())
                        .bind(level.depth() as i64)
                        .bind(levels_text(escalated_from))
                        .bind(request_id)
                        .bind(step)
                        .execute(&mut *self)
                        .await?;
                    }
                    StepChange::Cancelled { step } => {
                        sqlx::query("UPDATE leave_steps SET status = $1 WHERE request_id = $2 AND step = $3")
                            .bind(StepStatus::Cancelled.as_str())
                            .bind(request_id)
                            .bind(step)
                            .execute(&mut *self)
                            .await?;
                    }
                }
            }
            for (step, approver) in &t.new_cards {
                self.insert_card(request_id, *step, *approver, now).await?;
            }
            if let Some(step) = t.unattended {
                tracing::warn!(request_id, step, "no approver anywhere above; request waits");
            }
            for n in &t.notices {
                self.notify_person(n.to, &n.notification, n.dedup_key.as_deref(), now).await?;
            }
            Ok(())
        }
    }
}

fn unit_path(s: &str) -> Result<UnitPath> {
    UnitPath::parse(s).map_err(|_| StorageError::Internal("stored unit path does not parse"))
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

    /// A cadre's request, in one transaction: the rules and the chain
    /// ([`domain::leave::submit`]) over the person's leave and the approvers there are now,
    /// then the request, its steps and the first level's cards (through the outbox).
    /// `today` is the local date in the configured zone. Returns the stored request.
    pub async fn submit_leave(
        &self,
        person_id: i64,
        draft: &LeaveRequestDraft,
        policy: &LeavePolicy,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<LeaveRequest, LeaveFailure> {
        in_tx!(self, tx, refuse LeaveRefusal => {
            // One submission of a person at a time, so the overlap rule sees the other.
            sqlx::query("UPDATE people SET log_seq = log_seq WHERE id = $1")
                .bind(person_id)
                .execute(&mut *tx)
                .await?;
            let unit: Option<(String,)> = sqlx::query_as(
                "SELECT u.path FROM people p JOIN units u ON u.id = p.unit_id WHERE p.id = $1",
            )
            .bind(person_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((unit,)) = unit else {
                return Err(LeaveRefusal::NotFound.into());
            };
            let existing: Vec<(NaiveDate, NaiveDate)> = sqlx::query_as(
                "SELECT start_day, end_day FROM leave_requests
                 WHERE person_id = $1 AND status IN ('pending', 'approved') ORDER BY start_day",
            )
            .bind(person_id)
            .fetch_all(&mut *tx)
            .await?;
            let cadre_unit = unit_path(&unit)?;
            let state = SubmitState {
                approvers: tx.approvers_along(&cadre_unit).await?,
                cadre_unit,
                existing: existing.into_iter().map(|(start, end)| ExistingLeave { start, end }).collect(),
            };
            let sub = leave::submit(draft, today, &state, policy)?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO leave_requests (person_id, start_day, end_day, days, reason, status, step,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) RETURNING id",
            )
            .bind(person_id)
            .bind(draft.start)
            .bind(draft.end)
            .bind(i64::from(sub.days))
            .bind(&draft.reason)
            .bind(LeaveStatus::Pending.as_str())
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await?;
            for (i, step) in sub.chain.iter().enumerate() {
                let (status, opened_at) = match i {
                    0 => (StepStatus::Pending, Some(ms(now))),
                    _ => (StepStatus::Waiting, None),
                };
                sqlx::query(
                    "INSERT INTO leave_steps (request_id, step, level, unit_id, escalated_from, status, opened_at)
                     VALUES ($1, $2, $3, (SELECT id FROM units WHERE path = $4), $5, $6, $7)",
                )
                .bind(id)
                .bind(i as i64)
                .bind(step.level.depth() as i64)
                .bind(step.unit.to_string())
                .bind(levels_text(&step.escalated_from))
                .bind(status.as_str())
                .bind(opened_at)
                .execute(&mut *tx)
                .await?;
            }
            for approver in &sub.first_cards {
                tx.insert_card(id, 0, *approver, now).await?;
                let n = Notice::card(id, 0, *approver);
                tx.notify_person(n.to, &n.notification, n.dedup_key.as_deref(), now).await?;
            }
            let request = tx.load_request(id).await?;
            Ok(request.ok_or(StorageError::Internal("submitted request vanished"))?)
        })
    }

    /// Whether `approver_id` may reject `request_id` at `step` now: the same rule as the
    /// decision itself ([`domain::leave::decide`]) on the same state, read without a lock.
    /// The bot asks before it asks a rejecting approver for his reason.
    pub async fn can_decide(
        &self,
        request_id: i64,
        step: i64,
        approver_id: i64,
    ) -> Result<(), LeaveFailure> {
        let state = read_db!(self, pool => {
            let mut conn = pool.acquire().await.map_err(StorageError::from)?;
            conn.load_state(request_id).await?
        });
        let state = state.ok_or(LeaveRefusal::NotFound)?;
        let check = Decision::Reject {
            step,
            reason: String::new(),
        };
        leave::decide(&state, approver_id, check)?;
        Ok(())
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
        let action = if approve {
            Decision::Approve { step }
        } else {
            Decision::Reject {
                step,
                reason: reject_reason.unwrap_or_default().to_string(),
            }
        };
        in_tx!(self, tx, refuse LeaveRefusal => {
            let state = match tx.lock_request(request_id).await? {
                true => tx.load_state(request_id).await?,
                false => None,
            };
            let state = state.ok_or(LeaveRefusal::NotFound)?;
            let t = leave::decide(&state, approver_id, action)?;
            tx.persist(request_id, &t, now).await?;
            Ok(t.decided.ok_or(StorageError::Internal("a decision without an outcome"))?)
        })
    }

    /// Cancels the person's own pending request; the open cards are updated to say so.
    pub async fn cancel_leave(
        &self,
        request_id: i64,
        person_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), LeaveFailure> {
        in_tx!(self, tx, refuse LeaveRefusal => {
            let state = match tx.lock_request(request_id).await? {
                true => tx.load_state(request_id).await?,
                false => None,
            };
            let state = state.ok_or(LeaveRefusal::NotFound)?;
            let t = leave::cancel(&state, person_id)?;
            tx.persist(request_id, &t, now).await?;
            Ok(())
        })
    }

    pub async fn leave_request(&self, id: i64) -> Result<Option<LeaveRequest>> {
        read_db!(self, pool => {
            let mut conn = pool.acquire().await?;
            conn.load_request(id).await
        })
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
