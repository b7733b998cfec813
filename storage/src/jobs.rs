//! The scheduler's records: a tick is claimed by inserting its row (job, scheduled time in
//! UTC), which only one instance can do; a running tick holds a lease that its holder
//! renews, and another instance takes the tick over when the lease runs out. Plus the bulk
//! queries of the jobs themselves.

use crate::outbox::OutboxTx;
use crate::{Result, Store, in_tx, ms, read_db, write_db};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::notify::Notification;

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// How a tick ended, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickEnd {
    Done,
    Failed,
}

impl Store {
    /// When the scheduler first looked at `job` on this database (now, the first time).
    pub async fn job_first_seen(&self, job: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let insert = "INSERT INTO job_starts (job, first_seen_at) VALUES ($1, $2)
                      ON CONFLICT (job) DO NOTHING";
        write_db!(self, pool => sqlx::query(insert).bind(job).bind(ms(now)).execute(pool).await?.rows_affected());
        let sql = "SELECT first_seen_at FROM job_starts WHERE job = $1";
        let (first,): (i64,) =
            read_db!(self, pool => sqlx::query_as(sql).bind(job).fetch_one(pool).await?);
        Ok(at(first))
    }

    /// The ticks of `job` in `(after, until]` that have a record (run, running or missed).
    pub async fn recorded_ticks(
        &self,
        job: &str,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let sql = "SELECT scheduled_at FROM job_ticks
                   WHERE job = $1 AND scheduled_at > $2 AND scheduled_at <= $3
                   ORDER BY scheduled_at";
        let rows: Vec<(i64,)> = read_db!(self, pool => sqlx::query_as(sql)
            .bind(job).bind(ms(after)).bind(ms(until)).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|r| at(r.0)).collect())
    }

    /// Records ticks that passed while nobody ran them; they are never run.
    pub async fn record_missed_ticks(
        &self,
        job: &str,
        ticks: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = "INSERT INTO job_ticks (job, scheduled_at, state, finished_at)
                   VALUES ($1, $2, 'missed', $3) ON CONFLICT (job, scheduled_at) DO NOTHING";
        for tick in ticks {
            write_db!(self, pool => sqlx::query(sql)
                .bind(job).bind(ms(*tick)).bind(ms(now)).execute(pool).await?.rows_affected());
        }
        Ok(())
    }

    /// Claims a tick for `holder` until `now + lease`: the first claimant inserts its row;
    /// a running tick whose lease ran out (its holder died) is taken over. False: someone
    /// else has it, or it ended.
    pub async fn claim_tick(
        &self,
        job: &str,
        tick: DateTime<Utc>,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool> {
        let insert =
            "INSERT INTO job_ticks (job, scheduled_at, state, holder, lease_until, started_at)
                      VALUES ($1, $2, 'running', $3, $4, $5)
                      ON CONFLICT (job, scheduled_at) DO NOTHING";
        let inserted = write_db!(self, pool => sqlx::query(insert)
            .bind(job).bind(ms(tick)).bind(holder).bind(ms(now + lease)).bind(ms(now))
            .execute(pool).await?.rows_affected());
        if inserted == 1 {
            return Ok(true);
        }
        let take_over = "UPDATE job_ticks SET holder = $1, lease_until = $2
                         WHERE job = $3 AND scheduled_at = $4 AND state = 'running'
                           AND lease_until < $5";
        let taken = write_db!(self, pool => sqlx::query(take_over)
            .bind(holder).bind(ms(now + lease)).bind(job).bind(ms(tick)).bind(ms(now))
            .execute(pool).await?.rows_affected());
        Ok(taken == 1)
    }

    /// Extends the holder's lease; false if he lost it (another instance took over).
    pub async fn renew_tick(
        &self,
        job: &str,
        tick: DateTime<Utc>,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let sql = "UPDATE job_ticks SET lease_until = $1
                   WHERE job = $2 AND scheduled_at = $3 AND holder = $4 AND state = 'running'";
        let n = write_db!(self, pool => sqlx::query(sql)
            .bind(ms(until)).bind(job).bind(ms(tick)).bind(holder)
            .execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Records the end of a tick the holder ran. A failed tick stays ended: its per-person
    /// sends carry dedup keys, and the next tick is the retry.
    pub async fn finish_tick(
        &self,
        job: &str,
        tick: DateTime<Utc>,
        holder: &str,
        end: TickEnd,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let state = match end {
            TickEnd::Done => "done",
            TickEnd::Failed => "failed",
        };
        let sql =
            "UPDATE job_ticks SET state = $1, outcome = $2, finished_at = $3, lease_until = NULL
                   WHERE job = $4 AND scheduled_at = $5 AND holder = $6 AND state = 'running'";
        write_db!(self, pool => sqlx::query(sql)
            .bind(state).bind(outcome).bind(ms(now)).bind(job).bind(ms(tick)).bind(holder)
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Running ticks of `job` whose lease ran out: their holder died.
    pub async fn abandoned_ticks(
        &self,
        job: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let sql = "SELECT scheduled_at FROM job_ticks
                   WHERE job = $1 AND state = 'running' AND lease_until < $2 ORDER BY scheduled_at";
        let rows: Vec<(i64,)> = read_db!(self, pool => sqlx::query_as(sql).bind(job).bind(ms(now)).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|r| at(r.0)).collect())
    }

    /// A run by hand (`zhucun jobs run`): recorded apart from the ticks, which it never is.
    pub async fn record_manual_run(
        &self,
        job: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = "INSERT INTO job_manual_runs (job, ran_at, outcome) VALUES ($1, $2, $3)";
        write_db!(self, pool => sqlx::query(sql).bind(job).bind(ms(now)).bind(outcome).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// When `job` last ran, scheduled or by hand.
    pub async fn job_last_run(&self, job: &str) -> Result<Option<DateTime<Utc>>> {
        let sql = "SELECT MAX(t) FROM (
                       SELECT started_at AS t FROM job_ticks WHERE job = $1 AND state IN ('done', 'failed', 'running')
                       UNION ALL SELECT ran_at AS t FROM job_manual_runs WHERE job = $1) AS runs";
        let (last,): (Option<i64>,) =
            read_db!(self, pool => sqlx::query_as(sql).bind(job).fetch_one(pool).await?);
        Ok(last.map(at))
    }

    /// `/remind off|on`: whether the person gets the daily log reminder.
    pub async fn set_reminders(&self, person_id: i64, on: bool) -> Result<()> {
        let sql = "UPDATE people SET remind_off = $1 WHERE id = $2";
        write_db!(self, pool => sqlx::query(sql).bind(!on).bind(person_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Queues one log reminder for `day` to every registered, active, reachable cadre who has
    /// not turned reminders off, has no log that day and is not on approved leave then, in
    /// one statement. `run` tells the run apart in the dedup key (`job:run:person`), so a
    /// retried tick never sends twice. Returns how many were queued.
    pub async fn queue_log_reminders(
        &self,
        day: NaiveDate,
        run: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let payload = serde_json::to_string(&Notification::LogReminder { day }).unwrap_or_default();
        let sql = "INSERT INTO outbox (chat_id, person_id, payload, dedup_key, not_before, status, created_at)
                   SELECT p.chat_id, p.id, $1, CAST($2 AS TEXT) || CAST(p.id AS TEXT), $3, 'pending', $3
                   FROM people p JOIN person_roles r ON r.person_id = p.id AND r.role = 'cadre'
                   WHERE p.active AND p.chat_id IS NOT NULL AND NOT p.unreachable AND NOT p.remind_off
                     AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.person_id = p.id AND l.day = $4)
                     AND NOT EXISTS (SELECT 1 FROM leave_requests q WHERE q.person_id = p.id
                                     AND q.status = 'approved' AND q.start_day <= $4 AND q.end_day >= $4)
                   ON CONFLICT (dedup_key) DO NOTHING";
        let key = format!("log-reminder:{run}:");
        let n = write_db!(self, pool => sqlx::query(sql)
            .bind(payload).bind(key).bind(ms(now)).bind(day)
            .execute(pool).await?.rows_affected());
        Ok(n)
    }

    /// Outbox rows still to be sent whose dedup key starts with `prefix` (what one job run
    /// queued), for `zhucun jobs run` to wait on.
    pub async fn pending_with_prefix(&self, prefix: &str) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND dedup_key LIKE $1 ESCAPE '\\'";
        let (n,): (i64,) = read_db!(self, pool => sqlx::query_as(sql)
            .bind(format!("{}%", prefix.replace('%', "").replace('_', "\\_"))).fetch_one(pool).await?);
        Ok(n)
    }

    /// Queues one digest to each approver who has cards waiting since before `waiting_since`
    /// and got no digest since `not_since`: the waiting requests, oldest first. Returns how
    /// many digests were queued. One transaction: the digest and its record commit together.
    pub async fn queue_approval_digests(
        &self,
        waiting_since: DateTime<Utc>,
        not_since: DateTime<Utc>,
        run: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let due = "SELECT c.approver_id, p.chat_id, c.request_id FROM leave_cards c
                   JOIN leave_requests r ON r.id = c.request_id AND r.status = 'pending' AND r.step = c.step
                   JOIN people p ON p.id = c.approver_id
                   JOIN person_roles pr ON pr.person_id = p.id AND pr.role = 'approver'
                   LEFT JOIN approval_digests d ON d.approver_id = c.approver_id
                   WHERE c.created_at <= $1 AND p.active AND p.chat_id IS NOT NULL
                     AND (d.sent_at IS NULL OR d.sent_at <= $2)
                   ORDER BY c.approver_id, c.created_at, c.request_id";
        in_tx!(self, tx => {
            let rows: Vec<(i64, i64, i64)> = sqlx::query_as(due)
                .bind(ms(waiting_since))
                .bind(ms(not_since))
                .fetch_all(&mut *tx)
                .await?;
            let mut digests: Vec<(i64, i64, Vec<i64>)> = Vec::new();
            for (approver, chat, request) in rows {
                match digests.last_mut() {
                    Some((a, _, requests)) if *a == approver => requests.push(request),
                    _ => digests.push((approver, chat, vec![request])),
                }
            }
            for (approver, chat, requests) in &digests {
                let n = Notification::ApprovalDigest { requests: requests.clone() };
                let key = format!("approval-reminder:{run}:{approver}");
                tx.enqueue(*chat, Some(*approver), &n, Some(&key), now, now).await?;
                sqlx::query(
                    "INSERT INTO approval_digests (approver_id, sent_at) VALUES ($1, $2)
                     ON CONFLICT (approver_id) DO UPDATE SET sent_at = excluded.sent_at",
                )
                .bind(approver)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
            }
            Ok(digests.len() as u64)
        })
    }
}
