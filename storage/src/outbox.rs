//! The outbox: notifications written in the same transaction as the change that causes
//! them, then claimed and delivered by senders (any number of instances).

use crate::group::fail_all;
use crate::{Engine, JsonRow, Result, Store, json_param, json_table, ms, read_db, write_db};
use chrono::{DateTime, TimeZone, Utc};
use domain::notify::Notification;

/// A claimed notification, leased to one sender until it reports the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub chat_id: i64,
    pub person_id: Option<i64>,
    /// `None` if the stored payload cannot be read (written by a newer version).
    pub notification: Option<Notification>,
    /// Set when an earlier version of this notification was sent: edit that message.
    pub sent_message_id: Option<i64>,
    pub attempts: i64,
    /// The row's version at claim time: a re-queue since then means "send again".
    pub version: i64,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        message_id: Option<i64>,
    },
    /// Try again at `at` (rate limit, network error, server error).
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Give up (bad request, too many attempts).
    Failed {
        error: String,
    },
    /// The person blocked the bot: give up and mark him unreachable.
    Blocked {
        error: String,
    },
}

/// A delivery's outcome waiting for its group's statement.
pub(crate) struct Finished {
    id: i64,
    version: i64,
    person_id: Option<i64>,
    outcome: Delivery,
    at: i64,
}

#[derive(serde::Serialize)]
struct SentRow {
    id: i64,
    version: i64,
    message_id: Option<i64>,
    sent_ms: i64,
}

impl JsonRow for SentRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "bigint"),
        ("version", "bigint"),
        ("message_id", "bigint"),
        ("sent_ms", "bigint"),
    ];
}

#[derive(serde::Serialize)]
struct RetryRow {
    id: i64,
    version: i64,
    due_ms: i64,
    error: String,
}

impl JsonRow for RetryRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("id", "bigint"),
        ("version", "bigint"),
        ("due_ms", "bigint"),
        ("error", "text"),
    ];
}

#[derive(serde::Serialize)]
struct FailedRow {
    id: i64,
    version: i64,
    error: String,
}

impl JsonRow for FailedRow {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("id", "bigint"), ("version", "bigint"), ("error", "text")];
}

pub(crate) trait OutboxTx {
    async fn enqueue(
        &mut self,
        chat_id: i64,
        person_id: Option<i64>,
        notification: &Notification,
        dedup_key: Option<&str>,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Queues a notification to a person at his registered chat; nothing if he has none.
    /// The one way a transaction notifies a person (leave, tutoring, jobs alike).
    async fn notify_person(
        &mut self,
        person_id: i64,
        n: &Notification,
        dedup_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
}

crate::impl_for_connections! {
    impl OutboxTx {
        async fn notify_person(
            &mut self,
            person_id: i64,
            n: &Notification,
            dedup_key: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let chat: Option<(Option<i64>,)> = sqlx::query_as("SELECT chat_id FROM people WHERE id = $1")
                .bind(person_id)
                .fetch_optional(&mut *self)
                .await?;
            if let Some((Some(chat_id),)) = chat {
                self.enqueue(chat_id, Some(person_id), n, dedup_key, now, now).await?;
            }
            Ok(())
        }

        /// Queues a notification. With a `dedup_key`, an existing row is updated instead
        /// (its time moved and, if it was sent already, marked to be sent again as an edit).
        async fn enqueue(
            &mut self,
            chat_id: i64,
            person_id: Option<i64>,
            notification: &Notification,
            dedup_key: Option<&str>,
            not_before: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let payload = serde_json::to_string(notification).unwrap_or_default();
            sqlx::query(
                "INSERT INTO outbox (chat_id, person_id, payload, dedup_key, not_before, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6)
                 ON CONFLICT (dedup_key) DO UPDATE SET
                     not_before = excluded.not_before, payload = excluded.payload,
                     status = 'pending', attempts = 0, last_error = NULL,
                     version = outbox.version + 1",
            )
            .bind(chat_id)
            .bind(person_id)
            .bind(payload)
            .bind(dedup_key)
            .bind(ms(not_before))
            .bind(ms(now))
            .execute(&mut *self)
            .await?;
            Ok(())
        }
    }
}

type ClaimRow = (i64, i64, Option<i64>, String, Option<i64>, i64, i64);

impl Store {
    /// Leases up to `limit` due notifications to the caller until `now + lease`. Several
    /// senders never get the same row (SKIP LOCKED on PostgreSQL; SQLite has one writer).
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        const PICK: &str = "SELECT id FROM outbox
             WHERE status = 'pending' AND not_before <= $2
               AND (locked_until IS NULL OR locked_until < $2)
             ORDER BY not_before, id LIMIT $3";
        let sql = match self.engine() {
            Engine::Sqlite => format!(
                "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 WHERE id IN ({PICK})
                 RETURNING id, chat_id, person_id, payload, sent_message_id, attempts, version"
            ),
            Engine::Postgres => format!(
                "UPDATE outbox SET locked_until = $1, attempts = attempts + 1
                 WHERE id IN ({PICK} FOR UPDATE SKIP LOCKED)
                 RETURNING id, chat_id, person_id, payload, sent_message_id, attempts, version"
            ),
        };
        let mut rows: Vec<ClaimRow> = write_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(ms(now + lease))
            .bind(ms(now))
            .bind(limit)
            .fetch_all(pool)
            .await?);
        rows.sort_by_key(|r| r.0);
        Ok(rows
            .into_iter()
            .map(
                |(id, chat_id, person_id, payload, sent_message_id, attempts, version)| {
                    OutboxItem {
                        id,
                        chat_id,
                        person_id,
                        notification: serde_json::from_str(&payload).ok(),
                        sent_message_id,
                        attempts,
                        version,
                    }
                },
            )
            .collect())
    }

    /// Records the outcome of delivering a claimed item. Outcomes that arrive while a
    /// batch of them is being written are written together next (one statement per kind of
    /// outcome), so a busy sender pays a round trip per batch, not per message. Until the
    /// record stands the row stays claimed: a crash in between means the claim runs out
    /// and the item is sent again, as with a record of its own.
    pub async fn finish_delivery(
        &self,
        item: &OutboxItem,
        outcome: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let done = Finished {
            id: item.id,
            version: item.version,
            person_id: item.person_id,
            outcome: outcome.clone(),
            at: ms(now),
        };
        match &self.groups {
            Some(groups) => groups.finished.call(done).await,
            None => self.record_finished(std::slice::from_ref(&done)).await,
        }
    }

    pub(crate) async fn finished_batch(&self, reqs: Vec<Finished>) -> Vec<Result<()>> {
        match self.record_finished(&reqs).await {
            Ok(()) => reqs.iter().map(|_| Ok(())).collect(),
            Err(e) => fail_all(e, reqs.len()),
        }
    }

    async fn record_finished(&self, done: &[Finished]) -> Result<()> {
        let (mut sent, mut retry, mut failed, mut blocked) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for d in done {
            match &d.outcome {
                Delivery::Sent { message_id } => sent.push(SentRow {
                    id: d.id,
                    version: d.version,
                    message_id: *message_id,
                    sent_ms: d.at,
                }),
                Delivery::Retry { at, error } => retry.push(RetryRow {
                    id: d.id,
                    version: d.version,
                    due_ms: ms(*at),
                    error: error.clone(),
                }),
                Delivery::Failed { error } | Delivery::Blocked { error } => {
                    failed.push(FailedRow {
                        id: d.id,
                        version: d.version,
                        error: error.clone(),
                    });
                    if let (Delivery::Blocked { .. }, Some(person)) = (&d.outcome, d.person_id) {
                        blocked.push(person);
                    }
                }
            }
        }
        let engine = self.engine();
        if !sent.is_empty() {
            // If the row was re-queued while we sent (another album part), stay pending so
            // the next round edits the message we just sent.
            let sql = format!(
                "UPDATE outbox SET
                    sent_message_id = COALESCE(j.message_id, outbox.sent_message_id),
                    sent_at = j.sent_ms, locked_until = NULL,
                    status = CASE WHEN outbox.version = j.version THEN 'sent' ELSE outbox.status END
                 FROM {} WHERE outbox.id = j.id",
                json_table::<SentRow>(engine, 1)
            );
            write_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(json_param(&sent)).execute(pool).await?.rows_affected());
        }
        if !retry.is_empty() {
            // A re-queue since the claim keeps its own time; the lease ends either way.
            let sql = format!(
                "UPDATE outbox SET
                    not_before = CASE WHEN outbox.version = j.version THEN j.due_ms ELSE outbox.not_before END,
                    locked_until = NULL, last_error = j.error
                 FROM {} WHERE outbox.id = j.id",
                json_table::<RetryRow>(engine, 1)
            );
            write_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(json_param(&retry)).execute(pool).await?.rows_affected());
        }
        if !failed.is_empty() {
            let sql = format!(
                "UPDATE outbox SET
                    status = CASE WHEN outbox.version = j.version THEN 'failed' ELSE outbox.status END,
                    locked_until = NULL, last_error = j.error
                 FROM {} WHERE outbox.id = j.id",
                json_table::<FailedRow>(engine, 1)
            );
            write_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(json_param(&failed)).execute(pool).await?.rows_affected());
        }
        for person in blocked {
            self.set_unreachable(person, true).await?;
        }
        Ok(())
    }

    /// Queues notifications on their own (not as part of another change), in one
    /// transaction: `(chat_id, person_id, notification)` each.
    pub async fn notify(
        &self,
        items: &[(i64, Option<i64>, Notification)],
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        crate::in_tx!(self, tx => {
            for (chat_id, person_id, n) in items {
                tx.enqueue(*chat_id, *person_id, n, None, not_before, now).await?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Queues one notification under `dedup_key` unless that key was queued before; whether
    /// it was queued now.
    pub async fn notify_once(
        &self,
        chat_id: i64,
        person_id: i64,
        n: &Notification,
        dedup_key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        crate::in_tx!(self, tx => {
            let (seen,): (bool,) =
                sqlx::query_as("SELECT EXISTS (SELECT 1 FROM outbox WHERE dedup_key = $1)")
                    .bind(dedup_key)
                    .fetch_one(&mut *tx)
                    .await?;
            if !seen {
                tx.enqueue(chat_id, Some(person_id), n, Some(dedup_key), now, now).await?;
            }
            Ok(!seen)
        })
    }

    /// Hands a claimed item back untouched, to be tried at `at` (e.g. its chat is at its
    /// rate limit); the attempt does not count.
    pub async fn defer_delivery(&self, item: &OutboxItem, at: DateTime<Utc>) -> Result<()> {
        let sql = "UPDATE outbox SET
                not_before = CASE WHEN version = $1 THEN $2 ELSE not_before END,
                locked_until = NULL, attempts = attempts - 1
            WHERE id = $3";
        write_db!(self, pool => sqlx::query(sql).bind(item.version).bind(ms(at)).bind(item.id).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn set_unreachable(&self, person_id: i64, unreachable: bool) -> Result<()> {
        let sql = "UPDATE people SET unreachable = $1 WHERE id = $2";
        write_db!(self, pool => sqlx::query(sql).bind(unreachable).bind(person_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// When the next pending notification falls due, if any (lets senders sleep until then).
    pub async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        let sql = "SELECT MIN(not_before) FROM outbox WHERE status = 'pending'";
        let (at,): (Option<i64>,) =
            read_db!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?);
        Ok(at.and_then(|ms| Utc.timestamp_millis_opt(ms).single()))
    }

    /// Counts of outbox rows by status (pending, sent, failed), for tests and supervision.
    /// Takes or renews the sender's lease for `holder` until `until`: `Some(cooldown)` (the
    /// moment Telegram's last `retry_after` ends) if `holder` is now the one sender, `None`
    /// if another instance holds a lease that has not run out.
    pub async fn lead_sender(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let sql = "INSERT INTO sender_lease (id, holder, until_ms) VALUES (1, $1, $2)
                   ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
                   WHERE sender_lease.holder = excluded.holder OR sender_lease.until_ms < $3
                   RETURNING cooldown_until";
        let row: Option<(i64,)> = write_db!(self, pool => sqlx::query_as(sql)
            .bind(holder).bind(ms(until)).bind(ms(now)).fetch_optional(pool).await?);
        Ok(row.and_then(|(c,)| DateTime::from_timestamp_millis(c)))
    }

    /// Gives the lease up (a clean stop), so that a standby takes over at once.
    pub async fn release_sender(&self, holder: &str) -> Result<()> {
        let sql = "UPDATE sender_lease SET until_ms = 0 WHERE holder = $1";
        write_db!(self, pool => sqlx::query(sql).bind(holder).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Records Telegram's `retry_after`: no sender sends before `until`.
    pub async fn cool_down_sending(&self, until: DateTime<Utc>) -> Result<()> {
        let sql = "UPDATE sender_lease SET cooldown_until = $1 WHERE cooldown_until < $1";
        write_db!(self, pool => sqlx::query(sql).bind(ms(until)).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Notifications waiting to be sent.
    pub async fn outbox_depth(&self) -> Result<i64> {
        let sql = "SELECT COUNT(*) FROM outbox WHERE status = 'pending'";
        let (n,): (i64,) = read_db!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?);
        Ok(n)
    }

    pub async fn outbox_counts(&self) -> Result<(i64, i64, i64)> {
        let sql = "SELECT
                COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0)
            FROM outbox";
        let row: (i64, i64, i64) =
            read_db!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?);
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ENGINES, TestDb};

    /// One group of outcomes of every kind, written by one statement per kind.
    #[tokio::test]
    async fn one_group_records_each_kind_of_outcome() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
        for engine in ENGINES {
            let db = TestDb::new(engine).await;
            let store = &db.store;
            let roster = "name,phone,roles,unit,topics\n张三,13800000001,cadre,贵阳市/乌当区,\n";
            let topics = domain::config::Config::default().tutoring.topics;
            let entries = domain::roster::parse(roster, &topics).unwrap();
            store.import_roster(&entries, now).await.unwrap();
            let person = store.person_by_phone("13800000001").await.unwrap().unwrap();
            let n = Notification::LogReceipt { log_id: 1 };
            let items: Vec<_> = (1..=5)
                .map(|chat| (chat, (chat == 5).then_some(person.id), n.clone()))
                .collect();
            store.notify(&items, now, now).await.unwrap();
            let claimed = store
                .claim_outbox(now, chrono::Duration::seconds(60), 10)
                .await
                .unwrap();
            assert_eq!(claimed.len(), 5);
            let retry_at = now + chrono::Duration::seconds(10);
            let outcomes = [
                Delivery::Sent {
                    message_id: Some(77),
                },
                Delivery::Sent { message_id: None },
                Delivery::Retry {
                    at: retry_at,
                    error: "429 «稍后»".into(),
                },
                Delivery::Failed {
                    error: "bad request".into(),
                },
                Delivery::Blocked {
                    error: "blocked".into(),
                },
            ];
            let done: Vec<_> = claimed
                .iter()
                .zip(&outcomes)
                .map(|(item, outcome)| Finished {
                    id: item.id,
                    version: item.version,
                    person_id: item.person_id,
                    outcome: outcome.clone(),
                    at: ms(now),
                })
                .collect();
            let answers = store.finished_batch(done).await;
            assert!(answers.iter().all(|a| a.is_ok()), "{engine:?}: {answers:?}");
            assert_eq!(
                store.outbox_counts().await.unwrap(),
                (1, 2, 2),
                "{engine:?}"
            );
            let sql = "SELECT sent_message_id, last_error FROM outbox ORDER BY id";
            let rows: Vec<(Option<i64>, Option<String>)> =
                read_db!(store, pool => sqlx::query_as(sql).fetch_all(pool).await.unwrap());
            assert_eq!(rows[0].0, Some(77), "{engine:?}");
            assert_eq!(rows[2].1.as_deref(), Some("429 «稍后»"), "{engine:?}");
            assert!(
                store.person(person.id).await.unwrap().unwrap().unreachable,
                "{engine:?}: the blocked one's person is unreachable"
            );
            // The retry is due at its time, not before, and its claim has ended.
            let early = store
                .claim_outbox(
                    retry_at - chrono::Duration::seconds(1),
                    chrono::Duration::seconds(60),
                    10,
                )
                .await
                .unwrap();
            assert!(early.is_empty(), "{engine:?}");
            let due = store
                .claim_outbox(retry_at, chrono::Duration::seconds(60), 10)
                .await
                .unwrap();
            assert_eq!(due.len(), 1, "{engine:?}");
        }
    }
}
