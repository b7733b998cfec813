//! The thread of a question: every message of it (the question, cards, copies) is recorded
//! in `question_messages`, so a reply to any of them continues the thread with the same
//! people. A reply is recorded in one transaction with the copy it queues for the other side
//! (`Notification::QuestionRelay`); the sender records the copy once Telegram accepted it.

use super::{
    RelayOut, RelayPlan, RelaySource, Relayed, SimilarAnswer, ThreadEntry, TutoringTx, at,
};
use crate::outbox::OutboxTx;
use crate::search::Scope;
use crate::{Failure, QuestionFailure, Result, StorageError, Store, TxError, in_tx, ms, read_db};
use chrono::{DateTime, Utc};
use domain::config::Lang;
use domain::notify::Notification;
use domain::tutoring::{self, MessageKind, Notice, QuestionRefusal, QuestionState, Transition};

type Decided =
    std::result::Result<(RelayPlan, QuestionState, Transition), TxError<QuestionRefusal>>;

const INSERT_MESSAGE: &str = "INSERT INTO question_messages (chat_id, message_id, question_id,
        person_id, role, author_id, peer_chat_id, peer_message_id, kind, text, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (chat_id, message_id) DO NOTHING";

pub(crate) trait ThreadTx {
    /// Where a message of `person_id` replying to message `replied` of `chat_id` goes, and
    /// what it changes (`domain::tutoring::reply`); `lock`: inside a deciding transaction.
    async fn relay_decision(
        &mut self,
        person_id: i64,
        chat_id: i64,
        replied: i64,
        lock: bool,
    ) -> Decided;
    /// Records the writer's message of a reply (`sent`), with its copy if known.
    async fn record_sent(
        &mut self,
        plan: &RelayPlan,
        source: &RelaySource<'_>,
        copy: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Records a copy of thread message (`from_chat`, `from_message`) sent to `person_id`;
    /// `relay`: it is the relayed copy of a reply, which becomes that reply's peer.
    #[allow(clippy::too_many_arguments)]
    async fn record_copy(
        &mut self,
        question_id: i64,
        person_id: i64,
        chat_id: i64,
        message_id: i64,
        from: (i64, i64),
        relay: bool,
        now: DateTime<Utc>,
    ) -> Result<()>;
}

crate::impl_for_connections! {
    impl ThreadTx {
        async fn relay_decision(&mut self, person_id: i64, chat_id: i64, replied: i64, lock: bool) -> Decided {
            let row: Option<(i64, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
                "SELECT question_id, person_id, peer_chat_id, peer_message_id FROM question_messages
                 WHERE chat_id = $1 AND message_id = $2",
            )
            .bind(chat_id)
            .bind(replied)
            .fetch_optional(&mut *self)
            .await?;
            let Some((question_id, owner, peer_chat, peer_msg)) = row else {
                return Err(QuestionRefusal::UnknownMessage.into());
            };
            let q = if lock {
                self.lock_question(question_id).await?
            } else {
                self.question_state(question_id).await?
            };
            let q = q.ok_or(QuestionRefusal::UnknownMessage)?;
            let actor = self.actor(person_id).await?;
            let t = tutoring::reply(&q, actor, owner)?;
            let Some(&Notice::Relay { to, .. }) = t.notify.iter().find(|n| matches!(n, Notice::Relay { .. })) else {
                return Err(StorageError::Internal("a reply relays").into());
            };
            let from_cadre = person_id == q.cadre;
            let to_row: Option<(String, Option<String>, Option<i64>)> =
                sqlx::query_as("SELECT name, lang, chat_id FROM people WHERE id = $1")
                    .bind(to)
                    .fetch_optional(&mut *self)
                    .await?;
            let (to_name, to_lang, to_chat) = to_row.ok_or(QuestionRefusal::NotFound)?;
            let (q_chat, q_msg): (i64, i64) =
                sqlx::query_as("SELECT chat_id, message_id FROM questions WHERE id = $1")
                    .bind(question_id)
                    .fetch_one(&mut *self)
                    .await?;
            let to_chat_id = if from_cadre { to_chat.ok_or(QuestionRefusal::NoTutor)? } else { q_chat };
            let peer = match (peer_chat, peer_msg) {
                (Some(c), Some(m)) if c == to_chat_id => Some(m),
                _ => None,
            };
            let latest = if peer.is_none() && from_cadre {
                let last: Option<(i64,)> = sqlx::query_as(
                    "SELECT message_id FROM question_messages
                     WHERE question_id = $1 AND chat_id = $2
                     ORDER BY created_at DESC, message_id DESC LIMIT 1",
                )
                .bind(question_id)
                .bind(to_chat_id)
                .fetch_optional(&mut *self)
                .await?;
                last.map(|l| l.0)
            } else {
                None
            };
            let plan = RelayPlan {
                question_id,
                from_person_id: person_id,
                from_cadre,
                to_person_id: to,
                to_name,
                to_lang: to_lang.as_deref().and_then(Lang::parse),
                to_chat_id,
                reply_to: tutoring::reply_target(!from_cadre, peer, q_msg, latest),
                replied,
            };
            Ok((plan, q, t))
        }

        async fn record_sent(&mut self, plan: &RelayPlan, source: &RelaySource<'_>, copy: Option<i64>, now: DateTime<Utc>) -> Result<()> {
            sqlx::query(INSERT_MESSAGE)
                .bind(source.chat_id)
                .bind(source.message_id)
                .bind(plan.question_id)
                .bind(plan.from_person_id)
                .bind("sent")
                .bind(plan.from_person_id)
                .bind(copy.map(|_| plan.to_chat_id))
                .bind(copy)
                .bind(source.kind.as_str())
                .bind(source.text)
                .bind(ms(now))
                .execute(&mut *self)
                .await?;
            Ok(())
        }

        async fn record_copy(&mut self, question_id: i64, person_id: i64, chat_id: i64, message_id: i64, from: (i64, i64), relay: bool, now: DateTime<Utc>) -> Result<()> {
            let source: Option<(Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT author_id, kind, text FROM question_messages WHERE chat_id = $1 AND message_id = $2",
            )
            .bind(from.0)
            .bind(from.1)
            .fetch_optional(&mut *self)
            .await?;
            let (author, kind, text) = source.unwrap_or_default();
            sqlx::query(INSERT_MESSAGE)
                .bind(chat_id)
                .bind(message_id)
                .bind(question_id)
                .bind(person_id)
                .bind("copy")
                .bind(author)
                .bind(from.0)
                .bind(from.1)
                .bind(kind)
                .bind(text)
                .bind(ms(now))
                .execute(&mut *self)
                .await?;
            if relay {
                sqlx::query(
                    "UPDATE question_messages SET peer_chat_id = $1, peer_message_id = $2
                     WHERE chat_id = $3 AND message_id = $4 AND peer_message_id IS NULL",
                )
                .bind(chat_id)
                .bind(message_id)
                .bind(from.0)
                .bind(from.1)
                .execute(&mut *self)
                .await?;
            }
            Ok(())
        }
    }
}

impl Store {
    /// The thread so far: the question and every message relayed since, oldest first.
    pub async fn thread(&self, question_id: i64) -> Result<Vec<ThreadEntry>> {
        type Row = (
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            i64,
            i64,
        );
        let sql =
            "SELECT m.author_id, p.name, m.kind, m.text, m.chat_id, m.message_id, m.created_at
                   FROM question_messages m LEFT JOIN people p ON p.id = m.author_id
                   WHERE m.question_id = $1 AND m.role IN ('question', 'sent')
                   ORDER BY m.created_at, m.message_id";
        let rows: Vec<Row> =
            read_db!(self, pool => sqlx::query_as(sql).bind(question_id).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|r| ThreadEntry {
                author_id: r.0,
                author_name: r.1,
                kind: r.2.as_deref().map_or(MessageKind::Text, MessageKind::parse),
                text: r.3,
                chat_id: r.4,
                message_id: r.5,
                at: at(r.6),
            })
            .collect())
    }

    /// Records a message the bot sent a person about a question (a card, a reminder, a copy
    /// of a thread message): replying to it continues the thread. `peer` is the message it
    /// is a copy of. Returns false if it was recorded already.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_thread_message(
        &self,
        question_id: i64,
        person_id: i64,
        chat_id: i64,
        message_id: i64,
        author_id: Option<i64>,
        peer: Option<(i64, i64)>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let role = if peer.is_some() { "copy" } else { "card" };
        let n = in_tx!(self, tx => {
            let n = sqlx::query(INSERT_MESSAGE)
                .bind(chat_id)
                .bind(message_id)
                .bind(question_id)
                .bind(person_id)
                .bind(role)
                .bind(author_id)
                .bind(peer.map(|p| p.0))
                .bind(peer.map(|p| p.1))
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Ok(n)
        })?;
        Ok(n == 1)
    }

    /// Records a card (or reminder) the sender delivered, so that replying to it answers;
    /// under a `fresh` card, the last `max_copies` attachments of the thread (the question's
    /// photo, files sent before a pass-on) are queued as copies replying to it, in the same
    /// transaction. Returns false if it was recorded already.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_card(
        &self,
        question_id: i64,
        person_id: i64,
        chat_id: i64,
        message_id: i64,
        fresh: bool,
        max_copies: usize,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        in_tx!(self, tx => {
            let n = sqlx::query(INSERT_MESSAGE)
                .bind(chat_id)
                .bind(message_id)
                .bind(question_id)
                .bind(person_id)
                .bind("card")
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 && fresh {
                let rows: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
                    "SELECT chat_id, message_id, kind FROM question_messages
                     WHERE question_id = $1 AND role IN ('question', 'sent')
                     ORDER BY created_at, message_id",
                )
                .bind(question_id)
                .fetch_all(&mut *tx)
                .await?;
                let media: Vec<(i64, i64)> = rows
                    .into_iter()
                    .filter(|r| r.2.as_deref().is_some_and(|k| MessageKind::parse(k).is_media()))
                    .map(|r| (r.0, r.1))
                    .collect();
                let skip = media.len().saturating_sub(max_copies);
                for (from_chat, from_message) in media.into_iter().skip(skip) {
                    let n = Notification::QuestionAttachment {
                        question_id,
                        from_chat,
                        from_message,
                        to_person: person_id,
                        card_message: message_id,
                    };
                    tx.enqueue(chat_id, Some(person_id), &n, None, now, now).await?;
                }
            }
            Ok(n == 1)
        })
    }

    /// Where a message of `person_id` replying to message `replied` of his chat would go: the
    /// cadre's to the question's current tutor, the tutor's (or an admin's) to the cadre. A
    /// read-only look; [`Store::reply_in_thread`] decides the same way under the lock.
    pub async fn plan_relay(
        &self,
        person_id: i64,
        chat_id: i64,
        replied: i64,
    ) -> Result<RelayPlan, QuestionFailure> {
        let decided = read_db!(self, pool => {
            let mut conn = pool.acquire().await.map_err(StorageError::from)?;
            conn.relay_decision(person_id, chat_id, replied, false).await
        });
        decided
            .map(|(plan, ..)| plan)
            .map_err(TxError::into_failure)
    }

    /// A reply to a message of a thread, in one transaction: it is recorded in the thread,
    /// its copy for the other side is queued (`Notification::QuestionRelay`), and the first
    /// message from the tutor's side answers the question (indexed for "similar answers",
    /// the tutor's card refreshed).
    pub async fn reply_in_thread(
        &self,
        person_id: i64,
        replied: i64,
        source: RelaySource<'_>,
        now: DateTime<Utc>,
    ) -> Result<Relayed, QuestionFailure> {
        in_tx!(self, tx, refuse QuestionRefusal => {
            let (plan, q, t) = tx.relay_decision(person_id, source.chat_id, replied, true).await?;
            tx.record_sent(&plan, &source, None, now).await?;
            let out = RelayOut::Queue {
                to_chat: plan.to_chat_id,
                from_chat: source.chat_id,
                from_message: source.message_id,
                reply_to: plan.reply_to,
            };
            tx.persist(&q, &t, out, now).await?;
            Ok(Relayed { plan, first_answer: t.answered_by.is_some() })
        })
    }

    /// Records a relayed message whose copy (`copy_message_id`) the caller sent already,
    /// deciding as [`Store::reply_in_thread`] does. Returns whether this was the first answer.
    pub async fn record_relay(
        &self,
        plan: &RelayPlan,
        source: RelaySource<'_>,
        copy_message_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let first = in_tx!(self, tx, refuse QuestionRefusal => {
            let (plan, q, t) = tx
                .relay_decision(plan.from_person_id, source.chat_id, plan.replied, true)
                .await?;
            tx.record_sent(&plan, &source, Some(copy_message_id), now).await?;
            let from = (source.chat_id, source.message_id);
            tx.record_copy(plan.question_id, plan.to_person_id, plan.to_chat_id, copy_message_id, from, false, now)
                .await?;
            tx.persist(&q, &t, RelayOut::Sent, now).await?;
            Ok(t.answered_by.is_some())
        });
        match first {
            Ok(first) => Ok(first),
            Err(Failure::Storage(e)) => Err(e),
            Err(Failure::Refused(r)) => {
                tracing::warn!(refusal = %r, question = plan.question_id, "relay refused since it was planned");
                Err(StorageError::Internal("relay refused since it was planned"))
            }
        }
    }

    /// Records the copy of a thread message the sender delivered (`QuestionRelay`,
    /// `QuestionAttachment`): a reply to it continues the thread.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_copy(
        &self,
        question_id: i64,
        person_id: i64,
        chat_id: i64,
        message_id: i64,
        from: (i64, i64),
        relay: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(self, tx => {
            tx.record_copy(question_id, person_id, chat_id, message_id, from, relay, now).await
        })
    }

    /// The sender gave up on the copy of thread message `from` for `to_person`: its writer is
    /// told (`Notification::QuestionRelayFailed`), in his chat.
    pub async fn relay_given_up(
        &self,
        question_id: i64,
        from: (i64, i64),
        to_person: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(self, tx => {
            let writer: Option<(i64,)> = sqlx::query_as(
                "SELECT person_id FROM question_messages WHERE chat_id = $1 AND message_id = $2",
            )
            .bind(from.0)
            .bind(from.1)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((writer,)) = writer {
                let n = Notification::QuestionRelayFailed { question_id, to_person };
                tx.enqueue(from.0, Some(writer), &n, None, now, now).await?;
            }
            Ok(())
        })
    }

    /// Up to `limit` earlier answered questions that look like this one, best first.
    pub async fn similar_answers(
        &self,
        question_id: i64,
        limit: usize,
    ) -> Result<Vec<SimilarAnswer>> {
        let Some(q) = self.question(question_id).await? else {
            return Ok(Vec::new());
        };
        let found = self.search(Scope::Questions, &q.text, limit + 1).await?;
        let mut out = Vec::new();
        for m in found.into_iter().filter(|m| m.doc_id != question_id) {
            if let Some(a) = self.similar_answer(m.doc_id).await? {
                out.push(a);
            }
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// An answered question with its first answer, as offered with a receipt.
    pub(crate) async fn similar_answer(&self, question_id: i64) -> Result<Option<SimilarAnswer>> {
        let Some(earlier) = self.question(question_id).await? else {
            return Ok(None);
        };
        let sql = "SELECT kind, text FROM question_messages
                   WHERE question_id = $1 AND role = 'sent' AND author_id <> $2
                   ORDER BY created_at, message_id LIMIT 1";
        let answer: Option<(Option<String>, Option<String>)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(earlier.id).bind(earlier.person_id).fetch_optional(pool).await?);
        let (answer_kind, answer) = answer.unwrap_or_default();
        Ok(Some(SimilarAnswer {
            question_id: earlier.id,
            question: earlier.text,
            answer_kind: answer_kind.as_deref().map(MessageKind::parse),
            answer,
        }))
    }
}
