//! Sharing (互动分享): a cadre's log posted to the sharing group, the comments (replies to
//! the post) and reactions it gets there, the counts per log and per cadre, and the daily
//! digest to authors. Also the receipts (which bot message is which log's receipt) that
//! `/share` replies to, and the channels that refused the bot.

use crate::outbox::OutboxTx;
use crate::{Failure, JsonRow, Result, Store, in_tx, json_param, json_table, ms, read_db};
use chrono::{DateTime, Utc};
use domain::notify::{Channel, Notification};
use domain::sharing::{ShareRefusal, may_share};

pub type ShareFailure = Failure<ShareRefusal>;

/// A receipt as sent: bot message `message_id` in `chat_id` is the receipt of `log_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptSent {
    pub chat_id: i64,
    pub message_id: i64,
    pub log_id: i64,
}

impl JsonRow for ReceiptSent {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("chat_id", "bigint"),
        ("message_id", "bigint"),
        ("log_id", "bigint"),
    ];
}

/// A log as its shared post shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPost {
    pub log_id: i64,
    pub author: String,
    /// The author's unit (his village), by name.
    pub village: String,
    pub day: chrono::NaiveDate,
    pub text: Option<String>,
    /// Photo file ids, in arrival order (other attachments are not posted).
    pub photos: Vec<String>,
}

/// Interactions of one log or one cadre.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShareCounts {
    pub comments: u32,
    pub reactions: u32,
}

/// Per cadre: how many of his logs are shared and what they got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadreShares {
    pub person_id: i64,
    pub shared: u32,
    pub counts: ShareCounts,
}

/// What is new for an author since his last digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestNews {
    pub comments: u32,
    pub reactions: u32,
    /// The first few new comments: (who, text).
    pub first_comments: Vec<(String, String)>,
}

/// A comment as it arrives: a reply in the sharing group to the message of a shared post.
#[derive(Debug, Clone)]
pub struct NewComment<'a> {
    pub chat_id: i64,
    pub message_id: i64,
    pub replied_to: i64,
    pub actor_id: i64,
    pub author: &'a str,
    pub text: Option<&'a str>,
    pub at: DateTime<Utc>,
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The key under which a log's shared post is queued (once).
fn share_key(log_id: i64) -> String {
    format!("share:{log_id}")
}

/// Remembers `$param`'s receipts (a JSON array of [`ReceiptSent`]). A receipt of a log that
/// is gone is left out rather than failing the batch it shares with others' receipts and
/// answered marks.
pub(crate) fn receipts_sql(engine: crate::Engine, param: usize) -> String {
    format!(
        "INSERT INTO log_receipts (chat_id, message_id, log_id)
         SELECT chat_id, message_id, log_id FROM {}
         WHERE EXISTS (SELECT 1 FROM logs WHERE logs.id = j.log_id)
         ON CONFLICT (chat_id, message_id) DO NOTHING",
        json_table::<ReceiptSent>(engine, param)
    )
}

impl Store {
    /// Records sent receipts (a batch: receipts are sent on the hot path).
    pub async fn record_receipts(&self, receipts: &[ReceiptSent]) -> Result<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let sql = receipts_sql(self.engine(), 1);
        crate::write_db!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(json_param(receipts))
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Remembers one sent receipt, grouped with the others sent meanwhile (one write per
    /// batch: receipts are the hot path's answers).
    pub async fn record_receipt(&self, r: ReceiptSent) -> Result<()> {
        match &self.groups {
            Some(groups) => groups.marks.call(crate::updates::Mark::Receipt(r)).await,
            None => self.record_receipts(&[r]).await,
        }
    }

    /// The log whose receipt is bot message `message_id` of `chat_id`.
    pub async fn receipt_log(&self, chat_id: i64, message_id: i64) -> Result<Option<i64>> {
        let sql = "SELECT log_id FROM log_receipts WHERE chat_id = $1 AND message_id = $2";
        let row: Option<(i64,)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(chat_id).bind(message_id).fetch_optional(pool).await?);
        Ok(row.map(|r| r.0))
    }

    /// Shares log `log_id` of `person_id` to the sharing group `chat_id`: checks that it is
    /// his and not shared yet, records it and queues its post, in one transaction.
    pub async fn share_log(
        &self,
        person_id: i64,
        log_id: i64,
        chat_id: i64,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), ShareFailure> {
        in_tx!(self, tx, refuse ShareRefusal => {
            let author: Option<(i64,)> = sqlx::query_as("SELECT person_id FROM logs WHERE id = $1")
                .bind(log_id)
                .fetch_optional(&mut *tx)
                .await?;
            let shared: Option<(i64,)> =
                sqlx::query_as("SELECT log_id FROM shared_logs WHERE log_id = $1")
                    .bind(log_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            may_share(author.map(|a| a.0), person_id, shared.is_some())?;
            let inserted = sqlx::query(
                "INSERT INTO shared_logs (log_id, person_id, chat_id, shared_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (log_id) DO NOTHING",
            )
            .bind(log_id)
            .bind(person_id)
            .bind(chat_id)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                // Another instance shared it between our read and our write.
                return Err(ShareRefusal::AlreadyShared.into());
            }
            let key = share_key(log_id);
            tx.enqueue(chat_id, None, &Notification::SharedPost { log_id }, Some(&key), now, now)
                .await?;
            Ok(())
        })
    }

    /// A log as its shared post shows it.
    pub async fn shared_post(&self, log_id: i64) -> Result<Option<SharedPost>> {
        let sql = "SELECT l.id, p.name, u.name, l.day, l.text FROM logs l
                   JOIN people p ON p.id = l.person_id JOIN units u ON u.id = p.unit_id
                   WHERE l.id = $1";
        type Row = (i64, String, String, chrono::NaiveDate, Option<String>);
        let row: Option<Row> =
            read_db!(self, pool => sqlx::query_as(sql).bind(log_id).fetch_optional(pool).await?);
        let Some((log_id, author, village, day, text)) = row else {
            return Ok(None);
        };
        let sql = "SELECT file_id FROM log_attachments WHERE log_id = $1 AND kind = 'photo'
                   ORDER BY message_id, id";
        let photos: Vec<(String,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(log_id).fetch_all(pool).await?);
        Ok(Some(SharedPost {
            log_id,
            author,
            village,
            day,
            text,
            photos: photos.into_iter().map(|p| p.0).collect(),
        }))
    }

    /// Records the messages a shared post became in the group (so replies and reactions to
    /// any of them count for the log).
    pub async fn record_shared_messages(
        &self,
        log_id: i64,
        chat_id: i64,
        message_ids: &[i64],
    ) -> Result<()> {
        in_tx!(self, tx => {
            for id in message_ids {
                sqlx::query(
                    "INSERT INTO shared_messages (chat_id, message_id, log_id) VALUES ($1, $2, $3)
                     ON CONFLICT (chat_id, message_id) DO NOTHING",
                )
                .bind(chat_id)
                .bind(id)
                .bind(log_id)
                .execute(&mut *tx)
                .await?;
            }
            Ok(())
        })
    }

    /// The shared log that message `message_id` of the sharing group belongs to.
    pub async fn shared_log_of(&self, chat_id: i64, message_id: i64) -> Result<Option<i64>> {
        let sql = "SELECT log_id FROM shared_messages WHERE chat_id = $1 AND message_id = $2";
        let row: Option<(i64,)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(chat_id).bind(message_id).fetch_optional(pool).await?);
        Ok(row.map(|r| r.0))
    }

    /// A reply in the sharing group: a comment if it replies to a shared post. Returns the
    /// log it comments on (`None`: not a reply to a shared post; nothing recorded).
    pub async fn record_comment(&self, c: NewComment<'_>) -> Result<Option<i64>> {
        in_tx!(self, tx => {
            let log: Option<(i64,)> = sqlx::query_as(
                "SELECT log_id FROM shared_messages WHERE chat_id = $1 AND message_id = $2",
            )
            .bind(c.chat_id)
            .bind(c.replied_to)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((log_id,)) = log else { return Ok(None) };
            sqlx::query(
                "INSERT INTO share_comments (log_id, chat_id, message_id, actor_id, author, text, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chat_id, message_id) DO NOTHING",
            )
            .bind(log_id)
            .bind(c.chat_id)
            .bind(c.message_id)
            .bind(c.actor_id)
            .bind(c.author)
            .bind(c.text)
            .bind(ms(c.at))
            .execute(&mut *tx)
            .await?;
            Ok(Some(log_id))
        })
    }

    /// The reactions of `actor_id` on message `message_id` of the sharing group are now
    /// `reacted` (any emoji) or none: he counts once per post, and stops counting when he
    /// removes them. `None`: the message is no shared post.
    pub async fn set_reaction(
        &self,
        chat_id: i64,
        message_id: i64,
        actor_id: i64,
        reacted: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        in_tx!(self, tx => {
            let log: Option<(i64,)> = sqlx::query_as(
                "SELECT log_id FROM shared_messages WHERE chat_id = $1 AND message_id = $2",
            )
            .bind(chat_id)
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((log_id,)) = log else { return Ok(None) };
            if reacted {
                sqlx::query(
                    "INSERT INTO share_reactions (log_id, actor_id, reacted_at) VALUES ($1, $2, $3)
                     ON CONFLICT (log_id, actor_id) DO NOTHING",
                )
                .bind(log_id)
                .bind(actor_id)
                .bind(ms(at))
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query("DELETE FROM share_reactions WHERE log_id = $1 AND actor_id = $2")
                    .bind(log_id)
                    .bind(actor_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(Some(log_id))
        })
    }

    /// Comments and reactions of one shared log (zero if it is not shared).
    pub async fn share_counts(&self, log_id: i64) -> Result<ShareCounts> {
        let sql = "SELECT (SELECT COUNT(*) FROM share_comments WHERE log_id = $1),
                          (SELECT COUNT(*) FROM share_reactions WHERE log_id = $1)";
        let (c, r): (i64, i64) =
            read_db!(self, pool => sqlx::query_as(sql).bind(log_id).fetch_one(pool).await?);
        Ok(ShareCounts {
            comments: count(c),
            reactions: count(r),
        })
    }

    /// Per cadre with a shared log: how many are shared and their comments and reactions,
    /// by person id (for `/stats` and the reports).
    pub async fn shares_by_cadre(&self) -> Result<Vec<CadreShares>> {
        let sql = "SELECT s.person_id, COUNT(*),
                CAST(COALESCE(SUM((SELECT COUNT(*) FROM share_comments c
                    WHERE c.log_id = s.log_id)), 0) AS BIGINT),
                CAST(COALESCE(SUM((SELECT COUNT(*) FROM share_reactions r
                    WHERE r.log_id = s.log_id)), 0) AS BIGINT)
            FROM shared_logs s GROUP BY s.person_id ORDER BY s.person_id";
        let rows: Vec<(i64, i64, i64, i64)> =
            read_db!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(person_id, shared, c, r)| CadreShares {
                person_id,
                shared: count(shared),
                counts: ShareCounts {
                    comments: count(c),
                    reactions: count(r),
                },
            })
            .collect())
    }

    /// The `share-digest` job: each author with comments or reactions (by others) newer
    /// than his last digest gets one, covering up to `now`; `run` names the run in the
    /// dedup keys. Returns how many were queued.
    pub async fn queue_share_digests(&self, run: &str, now: DateTime<Utc>) -> Result<usize> {
        let now_ms = ms(now);
        in_tx!(self, tx => {
            let authors: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(news_sql("s.person_id, COALESCE(d.sent_at, 0)", "GROUP BY s.person_id, d.sent_at")))
                .bind(now_ms)
                .fetch_all(&mut *tx)
                .await?;
            for (person, since) in &authors {
                let n = Notification::ShareDigest { since_ms: *since, until_ms: now_ms };
                let key = format!("share-digest:{run}:{person}");
                tx.notify_person(*person, &n, Some(&key), now).await?;
                sqlx::query(
                    "INSERT INTO share_digests (person_id, sent_at) VALUES ($1, $2)
                     ON CONFLICT (person_id) DO UPDATE SET sent_at = excluded.sent_at",
                )
                .bind(person)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            Ok(authors.len())
        })
    }

    /// What the digest of `person_id` for (`since`, `until`] says.
    pub async fn digest_news(
        &self,
        person_id: i64,
        since_ms: i64,
        until_ms: i64,
        first: u32,
    ) -> Result<DigestNews> {
        let sql = "SELECT
            (SELECT COUNT(*) FROM share_comments c JOIN shared_logs s ON s.log_id = c.log_id
              JOIN people p ON p.id = s.person_id
              WHERE s.person_id = $1 AND c.created_at > $2 AND c.created_at <= $3
                AND c.actor_id <> COALESCE(p.tg_user_id, 0)),
            (SELECT COUNT(*) FROM share_reactions r JOIN shared_logs s ON s.log_id = r.log_id
              JOIN people p ON p.id = s.person_id
              WHERE s.person_id = $1 AND r.reacted_at > $2 AND r.reacted_at <= $3
                AND r.actor_id <> COALESCE(p.tg_user_id, 0))";
        let (c, r): (i64, i64) = read_db!(self, pool => sqlx::query_as(sql)
            .bind(person_id).bind(since_ms).bind(until_ms).fetch_one(pool).await?);
        let sql = "SELECT c.author, COALESCE(c.text, '') FROM share_comments c
              JOIN shared_logs s ON s.log_id = c.log_id JOIN people p ON p.id = s.person_id
              WHERE s.person_id = $1 AND c.created_at > $2 AND c.created_at <= $3
                AND c.actor_id <> COALESCE(p.tg_user_id, 0)
              ORDER BY c.created_at, c.id LIMIT $4";
        let first_comments: Vec<(String, String)> = read_db!(self, pool => sqlx::query_as(sql)
            .bind(person_id).bind(since_ms).bind(until_ms).bind(i64::from(first)).fetch_all(pool).await?);
        Ok(DigestNews {
            comments: count(c),
            reactions: count(r),
            first_comments,
        })
    }

    /// A channel or group refused the bot: recorded, and the active admins are told, once
    /// until the bot is back ([`Store::channel_back`]). Returns whether this is news.
    pub async fn channel_refused(
        &self,
        chat_id: i64,
        channel: Channel,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        in_tx!(self, tx => {
            let inserted = sqlx::query(
                "INSERT INTO channel_refusals (chat_id, error, refused_at) VALUES ($1, $2, $3)
                 ON CONFLICT (chat_id) DO NOTHING",
            )
            .bind(chat_id)
            .bind(error)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            let admins: Vec<(i64,)> = sqlx::query_as(
                "SELECT p.id FROM people p JOIN person_roles r ON r.person_id = p.id
                 WHERE r.role = 'admin' AND p.active ORDER BY p.id",
            )
            .fetch_all(&mut *tx)
            .await?;
            let n = Notification::ChannelRefused { chat_id, channel, error: error.to_string() };
            for (admin,) in admins {
                let key = format!("channel-refused:{chat_id}:{}:{admin}", ms(now));
                tx.notify_person(admin, &n, Some(&key), now).await?;
            }
            Ok(true)
        })
    }

    /// The bot is back in a channel or group (added again): a later refusal is news again.
    pub async fn channel_back(&self, chat_id: i64) -> Result<()> {
        crate::write_db!(self, pool => sqlx::query("DELETE FROM channel_refusals WHERE chat_id = $1")
            .bind(chat_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Whether a channel refused the bot and is not back yet.
    pub async fn channel_is_refused(&self, chat_id: i64) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM channel_refusals WHERE chat_id = $1";
        let (n,): (i64,) =
            read_db!(self, pool => sqlx::query_as(sql).bind(chat_id).fetch_one(pool).await?);
        Ok(n > 0)
    }
}

/// Authors with news after their last digest (or ever, before the first) up to `$1`.
fn news_sql(select: &str, group: &str) -> String {
    format!(
        "SELECT {select} FROM shared_logs s
         JOIN people p ON p.id = s.person_id
         LEFT JOIN share_digests d ON d.person_id = s.person_id
         WHERE EXISTS (SELECT 1 FROM share_comments c WHERE c.log_id = s.log_id
                 AND c.created_at > COALESCE(d.sent_at, 0) AND c.created_at <= $1
                 AND c.actor_id <> COALESCE(p.tg_user_id, 0))
            OR EXISTS (SELECT 1 FROM share_reactions r WHERE r.log_id = s.log_id
                 AND r.reacted_at > COALESCE(d.sent_at, 0) AND r.reacted_at <= $1
                 AND r.actor_id <> COALESCE(p.tg_user_id, 0))
         {group} ORDER BY s.person_id"
    )
}
