//! The outbox: notifications written in the same transaction as the change that causes
//! them, then claimed and delivered by senders (any number of instances).

use crate::{Engine, Result, Store, ms, read_db, write_db};
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

    /// Records the outcome of delivering a claimed item.
    pub async fn finish_delivery(
        &self,
        item: &OutboxItem,
        outcome: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match outcome {
            Delivery::Sent { message_id } => {
                // If the row was re-queued while we sent (another album part), stay pending
                // so the next round edits the message we just sent.
                let sql = "UPDATE outbox SET
                        sent_message_id = COALESCE($1, sent_message_id), sent_at = $2,
                        locked_until = NULL,
                        status = CASE WHEN version = $3 THEN 'sent' ELSE status END
                    WHERE id = $4";
                write_db!(self, pool => sqlx::query(sql)
                    .bind(*message_id)
                    .bind(ms(now))
                    .bind(item.version)
                    .bind(item.id)
                    .execute(pool)
                    .await?
                    .rows_affected());
            }
            Delivery::Retry { at, error } => {
                // A re-queue since the claim keeps its own time; the lease ends either way.
                let sql = "UPDATE outbox SET
                        not_before = CASE WHEN version = $1 THEN $2 ELSE not_before END,
                        locked_until = NULL, last_error = $3
                    WHERE id = $4";
                write_db!(self, pool => sqlx::query(sql)
                    .bind(item.version)
                    .bind(ms(*at))
                    .bind(error)
                    .bind(item.id)
                    .execute(pool)
                    .await?
                    .rows_affected());
            }
            Delivery::Failed { error } | Delivery::Blocked { error } => {
                let sql = "UPDATE outbox SET
                        status = CASE WHEN version = $1 THEN 'failed' ELSE status END,
                        locked_until = NULL, last_error = $2
                    WHERE id = $3";
                write_db!(self, pool => sqlx::query(sql).bind(item.version).bind(error).bind(item.id).execute(pool).await?.rows_affected());
                if let (Delivery::Blocked { .. }, Some(person_id)) = (outcome, item.person_id) {
                    self.set_unreachable(person_id, true).await?;
                }
            }
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
