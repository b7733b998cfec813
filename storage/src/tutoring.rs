//! Tutoring: questions and their routing to a tutor, the thread of relayed messages, passing
//! a question on, ratings, the reminder and reassignment deadlines, and per-tutor figures.
//!
//! Authority is enforced here: only the question's cadre, its current tutor or an admin can
//! continue its thread, only the current tutor or an admin can pass it on, and only the
//! cadre can rate it. Every change queues its notifications in the same transaction.

use crate::outbox::OutboxTx;
use crate::search::{DOC_QUESTION, SearchTx};
use crate::{QuestionFailure, Result, StorageError, Store, in_tx, ms, read_db, write_db};
use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::UnitPath;
use domain::config::Lang;
use domain::notify::Notification;
use domain::routing::TutorCandidate;
use domain::tutoring::{Pool, Via, median, route};
use std::collections::{BTreeMap, BTreeSet};

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionStatus {
    /// Asked, topic not chosen yet.
    Draft,
    /// With a tutor, no answer yet.
    Open,
    /// Answered at least once; the thread can go on.
    Answered,
}

impl QuestionStatus {
    fn parse(s: &str) -> QuestionStatus {
        match s {
            "open" => QuestionStatus::Open,
            "answered" => QuestionStatus::Answered,
            _ => QuestionStatus::Draft,
        }
    }
}

/// A question as its cadre and its tutors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub person_unit: String,
    pub topic: Option<String>,
    /// `text` or the kind of attachment (`photo`).
    pub kind: String,
    /// The question, or the photo's caption.
    pub text: String,
    pub file_id: Option<String>,
    /// The cadre's message that asked it (answers reply to it).
    pub chat_id: i64,
    pub message_id: i64,
    pub status: QuestionStatus,
    pub tutor_id: Option<i64>,
    pub tutor_name: Option<String>,
    pub assignment_id: Option<i64>,
    pub first_answer_at: Option<DateTime<Utc>>,
    pub answered_by: Option<i64>,
    pub helpful: Option<bool>,
    pub created_at: DateTime<Utc>,
}

/// What a cadre asks, before the topic is chosen.
#[derive(Debug, Clone)]
pub struct NewQuestion<'a> {
    pub person_id: i64,
    pub chat_id: i64,
    pub message_id: i64,
    pub kind: &'a str,
    pub text: &'a str,
    pub file_id: Option<&'a str>,
}

/// Why a tutor holds a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignReason {
    /// Routed when the cadre chose the topic.
    Asked,
    /// Passed on (转交) by the previous tutor or an admin.
    Passed,
    /// Taken from a tutor who did not answer by the deadline.
    Reassigned,
}

impl AssignReason {
    fn as_str(self) -> &'static str {
        match self {
            AssignReason::Asked => "asked",
            AssignReason::Passed => "passed",
            AssignReason::Reassigned => "reassigned",
        }
    }

    fn parse(s: &str) -> AssignReason {
        match s {
            "passed" => AssignReason::Passed,
            "reassigned" => AssignReason::Reassigned,
            _ => AssignReason::Asked,
        }
    }
}

/// One tutor's holding of a question (what his card shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: i64,
    pub question_id: i64,
    pub tutor_id: i64,
    pub tutor_name: String,
    pub reason: AssignReason,
    pub via: Via,
    pub passed_by: Option<String>,
    pub assigned_at: DateTime<Utc>,
    pub reminded_at: Option<DateTime<Utc>>,
    /// Set when the question left this tutor: `passed` or `reassigned`, and to whom.
    pub ended: Option<(AssignReason, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionRefusal {
    #[error("no such question")]
    NotFound,
    #[error("not the person's question")]
    NotYours,
    #[error("the topic was chosen already")]
    AlreadySubmitted,
    #[error("the topic is not chosen yet")]
    NotSubmitted,
    #[error("nobody can take the question")]
    NoTutor,
    /// Only the current tutor (or an admin) may answer or pass it on.
    #[error("the question is not assigned to this person")]
    NotAssigned { tutor: Option<String> },
    #[error("the question has no answer yet")]
    NotAnswered,
    /// The replied message belongs to no question thread of this person.
    #[error("not a message of a question thread")]
    UnknownMessage,
    #[error("the question is with that tutor already")]
    SameTutor,
    #[error("that person is not an active tutor")]
    NotATutor,
}

/// Where a question went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub question_id: i64,
    pub topic: String,
    pub tutor_id: i64,
    pub tutor_name: String,
    pub tutor_unit: String,
    pub via: Via,
}

/// Where a message replying to a thread message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayPlan {
    pub question_id: i64,
    pub from_person_id: i64,
    /// The sender is the question's cadre (else its tutor or an admin).
    pub from_cadre: bool,
    pub to_person_id: i64,
    pub to_name: String,
    pub to_lang: Option<Lang>,
    pub to_chat_id: i64,
    /// The message in the recipient's chat the copy replies to.
    pub reply_to: Option<i64>,
}

/// The message being relayed, as the thread keeps it.
#[derive(Debug, Clone)]
pub struct RelaySource<'a> {
    pub chat_id: i64,
    pub message_id: i64,
    pub kind: &'a str,
    pub text: Option<&'a str>,
}

/// To whom a question is passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassTarget<'a> {
    /// The best tutor of another topic (routed like a new question).
    Topic(&'a str),
    /// This tutor.
    Tutor(i64),
}

/// A tutor a question can be passed to (for the 转交 menu).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TutorChoice {
    pub id: i64,
    pub name: String,
    pub unit: String,
    /// He tutors the question's topic.
    pub same_topic: bool,
}

/// One message of a thread (the question and everything relayed since), oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadEntry {
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub kind: String,
    pub text: Option<String>,
    pub chat_id: i64,
    pub message_id: i64,
    pub at: DateTime<Utc>,
}

/// An earlier answered question that looks like a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimilarAnswer {
    pub question_id: i64,
    pub question: String,
    /// Kind and text (or caption) of its first answer.
    pub answer_kind: Option<String>,
    pub answer: Option<String>,
}

/// An unanswered assignment past the reminder time, for the `question-sla` job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaCandidate {
    pub question_id: i64,
    pub assignment_id: i64,
    pub tutor_id: i64,
    pub assigned_at: DateTime<Utc>,
    pub reminded: bool,
    pub overdue_handled: bool,
}

/// What the reassignment deadline did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reassigned {
    To {
        from_tutor: i64,
        to_tutor: i64,
    },
    /// Nobody else can take it: the tutor was reminded once more.
    NobodyElse,
    /// Answered, passed on or handled meanwhile: nothing done.
    Stale,
}

/// Per-tutor figures of the supervision reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TutorFigures {
    pub tutor_id: i64,
    pub name: String,
    pub unit: String,
    /// Questions assigned to him (routed, passed or reassigned) in the period.
    pub asked: u32,
    /// Of those, the ones he answered first.
    pub answered: u32,
    /// Median time from his assignment to his first answer.
    pub median_first_answer: Option<Duration>,
    pub helpful: u32,
    pub unhelpful: u32,
}

/// Active, registered, reachable people with their load, as routing candidates.
const CANDIDATES: &str = "SELECT p.id, u.path,
        (SELECT COUNT(*) FROM questions q WHERE q.tutor_id = p.id AND q.status = 'open'),
        (SELECT MAX(a.assigned_at) FROM question_assignments a WHERE a.tutor_id = p.id)
    FROM people p JOIN units u ON u.id = p.unit_id
    WHERE p.active AND p.chat_id IS NOT NULL AND NOT p.unreachable";

fn candidates(rows: Vec<(i64, String, i64, Option<i64>)>) -> Vec<TutorCandidate> {
    rows.into_iter()
        .filter_map(|(id, path, open, last)| {
            Some(TutorCandidate {
                person_id: id,
                unit: UnitPath::parse(&path).ok()?,
                open_questions: u32::try_from(open).unwrap_or(u32::MAX),
                last_assigned_at: last.map(at),
            })
        })
        .collect()
}

/// (cadre, status, current tutor, current assignment, topic) of a locked question.
type Locked = (i64, String, Option<i64>, Option<i64>, Option<String>);

pub(crate) trait TutoringTx {
    async fn lock_question(&mut self, question_id: i64) -> Result<Option<Locked>>;
    async fn pool(&mut self, topic: &str, default_tutor_phone: Option<&str>) -> Result<Pool>;
    async fn cadre_unit(&mut self, question_id: i64) -> Result<Option<UnitPath>>;
    async fn is_admin(&mut self, person_id: i64) -> Result<bool>;
    async fn assign(
        &mut self,
        question_id: i64,
        tutor_id: i64,
        reason: AssignReason,
        via: Via,
        passed_by: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn end_assignment(
        &mut self,
        assignment_id: i64,
        reason: AssignReason,
        next_tutor: i64,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn refresh_card(&mut self, assignment_id: i64, now: DateTime<Utc>) -> Result<()>;
}

crate::impl_for_connections! {
    impl TutoringTx {
        /// Locks the question row for this transaction (a no-op write: PostgreSQL row lock;
        /// SQLite is serialised by BEGIN IMMEDIATE).
        async fn lock_question(&mut self, question_id: i64) -> Result<Option<Locked>> {
            sqlx::query("UPDATE questions SET updated_at = updated_at WHERE id = $1")
                .bind(question_id)
                .execute(&mut *self)
                .await?;
            Ok(sqlx::query_as(
                "SELECT person_id, status, tutor_id, assignment_id, topic FROM questions WHERE id = $1",
            )
            .bind(question_id)
            .fetch_optional(&mut *self)
            .await?)
        }

        async fn pool(&mut self, topic: &str, default_tutor_phone: Option<&str>) -> Result<Pool> {
            let topic_sql = format!(
                "{CANDIDATES}
                   AND EXISTS (SELECT 1 FROM person_roles r WHERE r.person_id = p.id AND r.role = 'tutor')
                   AND EXISTS (SELECT 1 FROM tutor_topics t WHERE t.person_id = p.id AND t.topic = $1)
                 ORDER BY p.id"
            );
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(topic_sql))
                .bind(topic)
                .fetch_all(&mut *self)
                .await?;
            let topic_tutors = candidates(rows);
            let default_tutor = match default_tutor_phone {
                Some(phone) => {
                    let sql = format!("{CANDIDATES} AND p.phone = $1");
                    let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(phone)
                        .fetch_all(&mut *self)
                        .await?;
                    candidates(rows).into_iter().next()
                }
                None => None,
            };
            let admin_sql = format!(
                "{CANDIDATES}
                   AND EXISTS (SELECT 1 FROM person_roles r WHERE r.person_id = p.id AND r.role = 'admin')
                 ORDER BY p.id"
            );
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(admin_sql))
                .fetch_all(&mut *self)
                .await?;
            Ok(Pool {
                topic_tutors,
                default_tutor,
                admins: candidates(rows),
            })
        }

        async fn cadre_unit(&mut self, question_id: i64) -> Result<Option<UnitPath>> {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT u.path FROM questions q JOIN people p ON p.id = q.person_id
                 JOIN units u ON u.id = p.unit_id WHERE q.id = $1",
            )
            .bind(question_id)
            .fetch_optional(&mut *self)
            .await?;
            Ok(row.and_then(|(p,)| UnitPath::parse(&p).ok()))
        }

        async fn is_admin(&mut self, person_id: i64) -> Result<bool> {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT p.id FROM people p JOIN person_roles r ON r.person_id = p.id AND r.role = 'admin'
                 WHERE p.id = $1 AND p.active",
            )
            .bind(person_id)
            .fetch_optional(&mut *self)
            .await?;
            Ok(row.is_some())
        }

        /// Gives the question to `tutor_id`: a new assignment, the question moves to him, and
        /// his card is queued.
        async fn assign(
            &mut self,
            question_id: i64,
            tutor_id: i64,
            reason: AssignReason,
            via: Via,
            passed_by: Option<i64>,
            now: DateTime<Utc>,
        ) -> Result<i64> {
            let (assignment_id,): (i64,) = sqlx::query_as(
                "INSERT INTO question_assignments (question_id, tutor_id, reason, via, passed_by, assigned_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(question_id)
            .bind(tutor_id)
            .bind(reason.as_str())
            .bind(via.as_str())
            .bind(passed_by)
            .bind(ms(now))
            .fetch_one(&mut *self)
            .await?;
            sqlx::query(
                "UPDATE questions SET tutor_id = $1, assignment_id = $2, updated_at = $3,
                     status = CASE WHEN status = 'draft' THEN 'open' ELSE status END
                 WHERE id = $4",
            )
            .bind(tutor_id)
            .bind(assignment_id)
            .bind(ms(now))
            .bind(question_id)
            .execute(&mut *self)
            .await?;
            self.refresh_card(assignment_id, now).await?;
            Ok(assignment_id)
        }

        async fn end_assignment(
            &mut self,
            assignment_id: i64,
            reason: AssignReason,
            next_tutor: i64,
            now: DateTime<Utc>,
        ) -> Result<()> {
            sqlx::query(
                "UPDATE question_assignments SET ended_at = $1, ended_reason = $2, next_tutor_id = $3
                 WHERE id = $4",
            )
            .bind(ms(now))
            .bind(reason.as_str())
            .bind(next_tutor)
            .bind(assignment_id)
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        /// Queues the card of an assignment (an edit once it was sent: it shows the state).
        async fn refresh_card(&mut self, assignment_id: i64, now: DateTime<Utc>) -> Result<()> {
            let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
                "SELECT a.question_id, a.tutor_id, p.chat_id FROM question_assignments a
                 JOIN people p ON p.id = a.tutor_id WHERE a.id = $1",
            )
            .bind(assignment_id)
            .fetch_optional(&mut *self)
            .await?;
            if let Some((question_id, tutor_id, Some(chat_id))) = row {
                let card = Notification::QuestionCard { question_id, tutor_id, assignment_id };
                let key = format!("question-card:{assignment_id}");
                self.enqueue(chat_id, Some(tutor_id), &card, Some(&key), now, now).await?;
            }
            Ok(())
        }
    }
}

const QUESTION_SELECT: &str = "SELECT q.id, q.person_id, p.name AS person_name,
        u.path AS person_unit, q.topic, q.kind, q.text, q.file_id, q.chat_id, q.message_id,
        q.status, q.tutor_id, t.name AS tutor_name, q.assignment_id, q.first_answer_at,
        q.answered_by, q.helpful, q.created_at
    FROM questions q JOIN people p ON p.id = q.person_id JOIN units u ON u.id = p.unit_id
    LEFT JOIN people t ON t.id = q.tutor_id";

#[derive(sqlx::FromRow)]
struct QuestionRow {
    id: i64,
    person_id: i64,
    person_name: String,
    person_unit: String,
    topic: Option<String>,
    kind: String,
    text: String,
    file_id: Option<String>,
    chat_id: i64,
    message_id: i64,
    status: String,
    tutor_id: Option<i64>,
    tutor_name: Option<String>,
    assignment_id: Option<i64>,
    first_answer_at: Option<i64>,
    answered_by: Option<i64>,
    helpful: Option<bool>,
    created_at: i64,
}

impl From<QuestionRow> for Question {
    fn from(r: QuestionRow) -> Question {
        Question {
            id: r.id,
            person_id: r.person_id,
            person_name: r.person_name,
            person_unit: r.person_unit,
            topic: r.topic,
            kind: r.kind,
            text: r.text,
            file_id: r.file_id,
            chat_id: r.chat_id,
            message_id: r.message_id,
            status: QuestionStatus::parse(&r.status),
            tutor_id: r.tutor_id,
            tutor_name: r.tutor_name,
            assignment_id: r.assignment_id,
            first_answer_at: r.first_answer_at.map(at),
            answered_by: r.answered_by,
            helpful: r.helpful,
            created_at: at(r.created_at),
        }
    }
}

fn question_sql(tail: &str) -> String {
    format!("{QUESTION_SELECT} {tail}")
}

impl Store {
    /// Records a question whose topic is still to be chosen; the cadre's message becomes the
    /// start of its thread.
    pub async fn create_question(&self, new: NewQuestion<'_>, now: DateTime<Utc>) -> Result<i64> {
        let id = in_tx!(self, tx => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO questions (person_id, kind, text, file_id, chat_id, message_id, status,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $7) RETURNING id",
            )
            .bind(new.person_id)
            .bind(new.kind)
            .bind(new.text)
            .bind(new.file_id)
            .bind(new.chat_id)
            .bind(new.message_id)
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO question_messages (chat_id, message_id, question_id, person_id, role,
                     author_id, kind, text, created_at)
                 VALUES ($1, $2, $3, $4, 'question', $4, $5, $6, $7)
                 ON CONFLICT (chat_id, message_id) DO NOTHING",
            )
            .bind(new.chat_id)
            .bind(new.message_id)
            .bind(id)
            .bind(new.person_id)
            .bind(new.kind)
            .bind(new.text)
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
            Ok(id)
        })?;
        Ok(id)
    }

    pub async fn question(&self, id: i64) -> Result<Option<Question>> {
        let sql = question_sql("WHERE q.id = $1");
        let row: Option<QuestionRow> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        Ok(row.map(Question::from))
    }

    /// The person's own questions, newest first (a cadre sees only these).
    pub async fn questions_of(&self, person_id: i64, limit: i64) -> Result<Vec<Question>> {
        let sql = question_sql("WHERE q.person_id = $1 ORDER BY q.id DESC LIMIT $2");
        let rows: Vec<QuestionRow> = read_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(person_id).bind(limit).fetch_all(pool).await?);
        Ok(rows.into_iter().map(Question::from).collect())
    }

    /// Unanswered questions with this tutor now, oldest first.
    pub async fn open_questions_for(&self, tutor_id: i64) -> Result<Vec<Question>> {
        let sql = question_sql("WHERE q.tutor_id = $1 AND q.status = 'open' ORDER BY q.id");
        let rows: Vec<QuestionRow> = read_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tutor_id).fetch_all(pool).await?);
        Ok(rows.into_iter().map(Question::from).collect())
    }

    /// Sets the topic of the cadre's draft question and gives it to a tutor (see
    /// `domain::tutoring::route`); his card is queued in the same transaction.
    pub async fn submit_question(
        &self,
        question_id: i64,
        person_id: i64,
        topic: &str,
        default_tutor_phone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Routed, QuestionFailure> {
        let (tutor_id, via) = in_tx!(self, tx, refuse QuestionRefusal => {
            let Some((owner, status, ..)) = tx.lock_question(question_id).await? else {
                return Err(QuestionRefusal::NotFound.into());
            };
            if owner != person_id {
                return Err(QuestionRefusal::NotYours.into());
            }
            if status != "draft" {
                return Err(QuestionRefusal::AlreadySubmitted.into());
            }
            let Some(unit) = tx.cadre_unit(question_id).await? else {
                return Err(QuestionRefusal::NotFound.into());
            };
            let pool = tx.pool(topic, default_tutor_phone).await?;
            let Some((tutor_id, via)) = route(&unit, &pool, &[person_id]) else {
                return Err(QuestionRefusal::NoTutor.into());
            };
            sqlx::query("UPDATE questions SET topic = $1 WHERE id = $2")
                .bind(topic)
                .bind(question_id)
                .execute(&mut *tx)
                .await?;
            tx.assign(question_id, tutor_id, AssignReason::Asked, via, None, now).await?;
            Ok((tutor_id, via))
        })?;
        let tutor = self.person(tutor_id).await?;
        Ok(Routed {
            question_id,
            topic: topic.to_string(),
            tutor_id,
            tutor_name: tutor.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            tutor_unit: tutor.map(|p| p.unit.to_string()).unwrap_or_default(),
            via,
        })
    }

    pub async fn assignment(&self, id: i64) -> Result<Option<Assignment>> {
        type Row = (
            i64,
            i64,
            i64,
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let sql = "SELECT a.id, a.question_id, a.tutor_id, t.name, a.reason, a.via, b.name,
                          a.assigned_at, a.reminded_at, a.ended_reason, n.name
                   FROM question_assignments a JOIN people t ON t.id = a.tutor_id
                   LEFT JOIN people b ON b.id = a.passed_by
                   LEFT JOIN people n ON n.id = a.next_tutor_id
                   WHERE a.id = $1";
        let row: Option<Row> =
            read_db!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?);
        Ok(row.map(|r| Assignment {
            id: r.0,
            question_id: r.1,
            tutor_id: r.2,
            tutor_name: r.3,
            reason: AssignReason::parse(&r.4),
            via: Via::parse(&r.5),
            passed_by: r.6,
            assigned_at: at(r.7),
            reminded_at: r.8.map(at),
            ended: r.9.map(|e| (AssignReason::parse(&e), r.10)),
        }))
    }

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
                kind: r.2.unwrap_or_else(|| "text".into()),
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
        let sql =
            "INSERT INTO question_messages (chat_id, message_id, question_id, person_id, role,
                       author_id, peer_chat_id, peer_message_id, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT (chat_id, message_id) DO NOTHING";
        let n = write_db!(self, pool => sqlx::query(sql)
            .bind(chat_id)
            .bind(message_id)
            .bind(question_id)
            .bind(person_id)
            .bind(role)
            .bind(author_id)
            .bind(peer.map(|p| p.0))
            .bind(peer.map(|p| p.1))
            .bind(ms(now))
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Where a message of `person_id` replying to message `replied` of his chat goes: the
    /// cadre's go to the question's current tutor, the tutor's (or an admin's) to the cadre.
    pub async fn plan_relay(
        &self,
        person_id: i64,
        chat_id: i64,
        replied: i64,
    ) -> Result<RelayPlan, QuestionFailure> {
        type Row = (
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
            String,
            Option<i64>,
            i64,
            i64,
        );
        let sql = "SELECT m.question_id, m.person_id, m.peer_chat_id, m.peer_message_id,
                          q.person_id, q.status, q.tutor_id, q.chat_id, q.message_id
                   FROM question_messages m JOIN questions q ON q.id = m.question_id
                   WHERE m.chat_id = $1 AND m.message_id = $2";
        let row: Option<Row> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(chat_id).bind(replied).fetch_optional(pool).await.map_err(StorageError::from)?);
        let Some((question_id, owner, peer_chat, peer_msg, cadre, status, tutor, q_chat, q_msg)) =
            row
        else {
            return Err(QuestionRefusal::UnknownMessage.into());
        };
        if owner != person_id {
            return Err(QuestionRefusal::UnknownMessage.into());
        }
        if status == "draft" {
            return Err(QuestionRefusal::NotSubmitted.into());
        }
        let from_cadre = person_id == cadre;
        let to_person_id = if from_cadre {
            tutor.ok_or(QuestionRefusal::NotSubmitted)?
        } else {
            let admin = read_db!(self, pool => {
                let mut conn = pool.acquire().await.map_err(StorageError::from)?;
                conn.is_admin(person_id).await?
            });
            if tutor != Some(person_id) && !admin {
                let name = match tutor {
                    Some(t) => self.person(t).await?.map(|p| p.name),
                    None => None,
                };
                return Err(QuestionRefusal::NotAssigned { tutor: name }.into());
            }
            cadre
        };
        let Some(to) = self.person(to_person_id).await? else {
            return Err(QuestionRefusal::NotFound.into());
        };
        let to_chat_id = if from_cadre {
            to.chat_id.ok_or(QuestionRefusal::NoTutor)?
        } else {
            q_chat
        };
        let reply_to = match (peer_chat, peer_msg) {
            (Some(c), Some(m)) if c == to_chat_id => Some(m),
            _ if !from_cadre => Some(q_msg),
            _ => {
                let sql = "SELECT message_id FROM question_messages
                           WHERE question_id = $1 AND chat_id = $2
                           ORDER BY created_at DESC, message_id DESC LIMIT 1";
                let last: Option<(i64,)> = read_db!(self, pool => sqlx::query_as(sql)
                    .bind(question_id).bind(to_chat_id).fetch_optional(pool).await.map_err(StorageError::from)?);
                last.map(|l| l.0)
            }
        };
        Ok(RelayPlan {
            question_id,
            from_person_id: person_id,
            from_cadre,
            to_person_id,
            to_name: to.name,
            to_lang: to.lang,
            to_chat_id,
            reply_to,
        })
    }

    /// Records a relayed message and its copy. The first message from the tutor's side
    /// answers the question: it is marked answered, indexed for "similar answers", and the
    /// tutor's card says so. Returns whether this was the first answer.
    pub async fn record_relay(
        &self,
        plan: &RelayPlan,
        source: RelaySource<'_>,
        copy_message_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let first = in_tx!(self, tx => {
            let insert = "INSERT INTO question_messages (chat_id, message_id, question_id, person_id,
                              role, author_id, peer_chat_id, peer_message_id, kind, text, created_at)
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                          ON CONFLICT (chat_id, message_id) DO NOTHING";
            for (chat, msg, owner, role, peer) in [
                (source.chat_id, source.message_id, plan.from_person_id, "sent",
                 (plan.to_chat_id, copy_message_id)),
                (plan.to_chat_id, copy_message_id, plan.to_person_id, "copy",
                 (source.chat_id, source.message_id)),
            ] {
                sqlx::query(insert)
                    .bind(chat)
                    .bind(msg)
                    .bind(plan.question_id)
                    .bind(owner)
                    .bind(role)
                    .bind(plan.from_person_id)
                    .bind(peer.0)
                    .bind(peer.1)
                    .bind(source.kind)
                    .bind(source.text)
                    .bind(ms(now))
                    .execute(&mut *tx)
                    .await?;
            }
            let mut first = false;
            if !plan.from_cadre {
                let answered = sqlx::query(
                    "UPDATE questions SET status = 'answered', first_answer_at = $1, answered_by = $2,
                         updated_at = $1
                     WHERE id = $3 AND first_answer_at IS NULL",
                )
                .bind(ms(now))
                .bind(plan.from_person_id)
                .bind(plan.question_id)
                .execute(&mut *tx)
                .await?;
                if answered.rows_affected() == 1 {
                    first = true;
                    let row: Option<(String, Option<i64>)> = sqlx::query_as(
                        "SELECT text, assignment_id FROM questions WHERE id = $1",
                    )
                    .bind(plan.question_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((text, assignment)) = row {
                        tx.index_document(DOC_QUESTION, plan.question_id, &text).await?;
                        if let Some(a) = assignment {
                            tx.refresh_card(a, now).await?;
                        }
                    }
                }
            }
            Ok(first)
        })?;
        Ok(first)
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
        let found = self.search(&[DOC_QUESTION], &q.text, limit + 1).await?;
        let mut out = Vec::new();
        for m in found.into_iter().filter(|m| m.doc_id != question_id) {
            let Some(earlier) = self.question(m.doc_id).await? else {
                continue;
            };
            let sql = "SELECT kind, text FROM question_messages
                       WHERE question_id = $1 AND role = 'sent' AND author_id <> $2
                       ORDER BY created_at, message_id LIMIT 1";
            let answer: Option<(Option<String>, Option<String>)> = read_db!(self, pool =>
                sqlx::query_as(sql).bind(earlier.id).bind(earlier.person_id).fetch_optional(pool).await?);
            let (answer_kind, answer) = answer.unwrap_or_default();
            out.push(SimilarAnswer {
                question_id: earlier.id,
                question: earlier.text,
                answer_kind,
                answer,
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Whether `person_id` may pass the question on now (its current tutor, or an admin).
    pub async fn can_pass(&self, question_id: i64, person_id: i64) -> Result<(), QuestionFailure> {
        let Some(q) = self.question(question_id).await? else {
            return Err(QuestionRefusal::NotFound.into());
        };
        if q.status == QuestionStatus::Draft {
            return Err(QuestionRefusal::NotSubmitted.into());
        }
        let admin = read_db!(self, pool => {
            let mut conn = pool.acquire().await.map_err(StorageError::from)?;
            conn.is_admin(person_id).await?
        });
        if q.tutor_id != Some(person_id) && !admin {
            return Err(QuestionRefusal::NotAssigned {
                tutor: q.tutor_name,
            }
            .into());
        }
        Ok(())
    }

    /// Tutors the question could be passed to: active, registered, not its cadre or current
    /// tutor; those of its topic first.
    pub async fn pass_choices(&self, question_id: i64, limit: usize) -> Result<Vec<TutorChoice>> {
        let Some(q) = self.question(question_id).await? else {
            return Ok(Vec::new());
        };
        let sql = "SELECT p.id, p.name, u.path,
                          EXISTS (SELECT 1 FROM tutor_topics t WHERE t.person_id = p.id AND t.topic = $1)
                   FROM people p JOIN units u ON u.id = p.unit_id
                   JOIN person_roles r ON r.person_id = p.id AND r.role = 'tutor'
                   WHERE p.active AND p.chat_id IS NOT NULL AND NOT p.unreachable
                     AND p.id <> $2 AND p.id <> $3
                   ORDER BY p.id";
        let rows: Vec<(i64, String, String, bool)> = read_db!(self, pool => sqlx::query_as(sql)
            .bind(q.topic.as_deref().unwrap_or_default())
            .bind(q.person_id)
            .bind(q.tutor_id.unwrap_or_default())
            .fetch_all(pool)
            .await?);
        let mut choices: Vec<TutorChoice> = rows
            .into_iter()
            .map(|(id, name, unit, same_topic)| TutorChoice {
                id,
                name,
                unit,
                same_topic,
            })
            .collect();
        choices.sort_by_key(|c| (!c.same_topic, c.id));
        choices.truncate(limit);
        Ok(choices)
    }

    /// Passes the question on (转交) for its current tutor or an admin: to the best tutor of
    /// another topic, or to a named tutor. The new tutor's card carries the thread so far;
    /// the old card and the cadre are told.
    pub async fn pass_question(
        &self,
        question_id: i64,
        by: i64,
        target: PassTarget<'_>,
        default_tutor_phone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Routed, QuestionFailure> {
        let (tutor_id, via, topic) = in_tx!(self, tx, refuse QuestionRefusal => {
            let Some((cadre, status, current, assignment, topic)) = tx.lock_question(question_id).await? else {
                return Err(QuestionRefusal::NotFound.into());
            };
            if status == "draft" {
                return Err(QuestionRefusal::NotSubmitted.into());
            }
            if current != Some(by) && !tx.is_admin(by).await? {
                let name: Option<(String,)> = sqlx::query_as("SELECT name FROM people WHERE id = $1")
                    .bind(current)
                    .fetch_optional(&mut *tx)
                    .await?;
                return Err(QuestionRefusal::NotAssigned { tutor: name.map(|n| n.0) }.into());
            }
            let mut exclude = vec![cadre];
            exclude.extend(current);
            let (tutor_id, via, topic) = match target {
                PassTarget::Topic(new_topic) => {
                    let Some(unit) = tx.cadre_unit(question_id).await? else {
                        return Err(QuestionRefusal::NotFound.into());
                    };
                    let pool = tx.pool(new_topic, default_tutor_phone).await?;
                    let Some((tutor_id, via)) = route(&unit, &pool, &exclude) else {
                        return Err(QuestionRefusal::NoTutor.into());
                    };
                    sqlx::query("UPDATE questions SET topic = $1 WHERE id = $2")
                        .bind(new_topic)
                        .bind(question_id)
                        .execute(&mut *tx)
                        .await?;
                    (tutor_id, via, new_topic.to_string())
                }
                PassTarget::Tutor(tutor_id) => {
                    if current == Some(tutor_id) {
                        return Err(QuestionRefusal::SameTutor.into());
                    }
                    let ok: Option<(i64,)> = sqlx::query_as(
                        "SELECT p.id FROM people p
                         JOIN person_roles r ON r.person_id = p.id AND r.role = 'tutor'
                         WHERE p.id = $1 AND p.active AND p.chat_id IS NOT NULL",
                    )
                    .bind(tutor_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if ok.is_none() || tutor_id == cadre {
                        return Err(QuestionRefusal::NotATutor.into());
                    }
                    (tutor_id, Via::Topic, topic.unwrap_or_default())
                }
            };
            if let Some(a) = assignment {
                tx.end_assignment(a, AssignReason::Passed, tutor_id, now).await?;
                tx.refresh_card(a, now).await?;
            }
            let new = tx.assign(question_id, tutor_id, AssignReason::Passed, via, Some(by), now).await?;
            let n = Notification::QuestionPassed { question_id, tutor_id, reassigned: false };
            tx.notify_person(cadre, &n, Some(&format!("question-passed:{new}")), now).await?;
            Ok((tutor_id, via, topic))
        })?;
        let tutor = self.person(tutor_id).await?;
        Ok(Routed {
            question_id,
            topic,
            tutor_id,
            tutor_name: tutor.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            tutor_unit: tutor.map(|p| p.unit.to_string()).unwrap_or_default(),
            via,
        })
    }

    /// The cadre rates the answers to his question (有帮助 / 没帮助); a change of mind
    /// replaces the rating. The tutor who answered is told.
    pub async fn rate_question(
        &self,
        question_id: i64,
        person_id: i64,
        helpful: bool,
        now: DateTime<Utc>,
    ) -> Result<(), QuestionFailure> {
        in_tx!(self, tx, refuse QuestionRefusal => {
            let Some((cadre, status, ..)) = tx.lock_question(question_id).await? else {
                return Err(QuestionRefusal::NotFound.into());
            };
            if cadre != person_id {
                return Err(QuestionRefusal::NotYours.into());
            }
            if status != "answered" {
                return Err(QuestionRefusal::NotAnswered.into());
            }
            let (before, answered_by): (Option<bool>, Option<i64>) =
                sqlx::query_as("SELECT helpful, answered_by FROM questions WHERE id = $1")
                    .bind(question_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if before != Some(helpful) {
                sqlx::query("UPDATE questions SET helpful = $1, rated_at = $2 WHERE id = $3")
                    .bind(helpful)
                    .bind(ms(now))
                    .bind(question_id)
                    .execute(&mut *tx)
                    .await?;
                if let Some(tutor) = answered_by {
                    let n = Notification::QuestionRated { question_id, helpful };
                    tx.notify_person(tutor, &n, Some(&format!("question-rated:{question_id}")), now).await?;
                }
            }
            Ok(())
        })
    }

    /// Unanswered assignments given out at or before `before` (past the reminder time when
    /// `before = now - remind_after`), oldest first.
    pub async fn waiting_questions(&self, before: DateTime<Utc>) -> Result<Vec<SlaCandidate>> {
        let sql =
            "SELECT a.question_id, a.id, a.tutor_id, a.assigned_at, a.reminded_at, a.overdue_at
                   FROM question_assignments a JOIN questions q ON q.assignment_id = a.id
                   WHERE q.status = 'open' AND a.ended_at IS NULL AND a.assigned_at <= $1
                   ORDER BY a.assigned_at, a.id";
        type Row = (i64, i64, i64, i64, Option<i64>, Option<i64>);
        let rows: Vec<Row> =
            read_db!(self, pool => sqlx::query_as(sql).bind(ms(before)).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|r| SlaCandidate {
                question_id: r.0,
                assignment_id: r.1,
                tutor_id: r.2,
                assigned_at: at(r.3),
                reminded: r.4.is_some(),
                overdue_handled: r.5.is_some(),
            })
            .collect())
    }

    /// Reminds the tutor of an unanswered assignment, once. Returns false if it was reminded
    /// already or is no longer waiting.
    pub async fn remind_question(&self, assignment_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = in_tx!(self, tx => {
            let Some((question_id, tutor_id)) = tx.current_waiting(assignment_id).await? else {
                return Ok(false);
            };
            let marked = sqlx::query(
                "UPDATE question_assignments SET reminded_at = $1
                 WHERE id = $2 AND reminded_at IS NULL AND overdue_at IS NULL",
            )
            .bind(ms(now))
            .bind(assignment_id)
            .execute(&mut *tx)
            .await?;
            if marked.rows_affected() == 1 {
                let n = Notification::QuestionReminder { question_id, assignment_id, overdue: false };
                tx.notify_person(tutor_id, &n, Some(&format!("question-reminder:{assignment_id}")), now).await?;
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        Ok(done)
    }

    /// Handles the reassignment deadline of an unanswered assignment, once: the question goes
    /// to the best tutor who has not held it yet (then the default tutor, then an admin);
    /// if there is nobody, its tutor is reminded once more.
    pub async fn reassign_question(
        &self,
        assignment_id: i64,
        default_tutor_phone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Reassigned> {
        let outcome = in_tx!(self, tx => {
            let Some((question_id, from_tutor)) = tx.current_waiting(assignment_id).await? else {
                return Ok(Reassigned::Stale);
            };
            let marked = sqlx::query(
                "UPDATE question_assignments SET overdue_at = $1 WHERE id = $2 AND overdue_at IS NULL",
            )
            .bind(ms(now))
            .bind(assignment_id)
            .execute(&mut *tx)
            .await?;
            if marked.rows_affected() != 1 {
                return Ok(Reassigned::Stale);
            }
            let (cadre, topic): (i64, Option<String>) =
                sqlx::query_as("SELECT person_id, topic FROM questions WHERE id = $1")
                    .bind(question_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let held: Vec<(i64,)> =
                sqlx::query_as("SELECT tutor_id FROM question_assignments WHERE question_id = $1")
                    .bind(question_id)
                    .fetch_all(&mut *tx)
                    .await?;
            let mut exclude: Vec<i64> = held.into_iter().map(|h| h.0).collect();
            exclude.push(cadre);
            let unit = tx.cadre_unit(question_id).await?;
            let pool = tx.pool(topic.as_deref().unwrap_or_default(), default_tutor_phone).await?;
            match unit.and_then(|u| route(&u, &pool, &exclude)) {
                Some((to_tutor, via)) => {
                    tx.end_assignment(assignment_id, AssignReason::Reassigned, to_tutor, now).await?;
                    tx.refresh_card(assignment_id, now).await?;
                    let new = tx
                        .assign(question_id, to_tutor, AssignReason::Reassigned, via, None, now)
                        .await?;
                    let n = Notification::QuestionPassed { question_id, tutor_id: to_tutor, reassigned: true };
                    tx.notify_person(cadre, &n, Some(&format!("question-passed:{new}")), now).await?;
                    Ok(Reassigned::To { from_tutor, to_tutor })
                }
                None => {
                    let n = Notification::QuestionReminder { question_id, assignment_id, overdue: true };
                    let key = format!("question-overdue:{assignment_id}");
                    tx.notify_person(from_tutor, &n, Some(&key), now).await?;
                    Ok(Reassigned::NobodyElse)
                }
            }
        })?;
        Ok(outcome)
    }

    /// Per-tutor figures for questions assigned in `[from, to)`: every active tutor, and
    /// anyone else (an admin, a default tutor) who held a question.
    pub async fn tutor_figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TutorFigures>> {
        let sql = "SELECT a.tutor_id, a.question_id, a.assigned_at, q.first_answer_at,
                          q.answered_by, q.helpful
                   FROM question_assignments a JOIN questions q ON q.id = a.question_id
                   WHERE a.assigned_at >= $1 AND a.assigned_at < $2
                   ORDER BY a.id";
        type Row = (i64, i64, i64, Option<i64>, Option<i64>, Option<bool>);
        let rows: Vec<Row> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(ms(from)).bind(ms(to)).fetch_all(pool).await?);
        let tutors_sql = "SELECT p.id FROM people p
                          JOIN person_roles r ON r.person_id = p.id AND r.role = 'tutor'
                          WHERE p.active";
        let tutors: Vec<(i64,)> =
            read_db!(self, pool => sqlx::query_as(tutors_sql).fetch_all(pool).await?);
        // tutor -> question -> (latest assignment time, first answer, answered by, helpful)
        type Held = (i64, Option<i64>, Option<i64>, Option<bool>);
        let mut by_tutor: BTreeMap<i64, BTreeMap<i64, Held>> =
            tutors.into_iter().map(|t| (t.0, BTreeMap::new())).collect();
        for (tutor, question, assigned, first, by, helpful) in rows {
            let held = by_tutor.entry(tutor).or_default();
            let entry = held
                .entry(question)
                .or_insert((assigned, first, by, helpful));
            // The assignment that led to his answer is his latest one before it.
            if assigned > entry.0 && first.is_none_or(|f| assigned <= f) {
                entry.0 = assigned;
            }
        }
        let mut out = Vec::new();
        let ids: BTreeSet<i64> = by_tutor.keys().copied().collect();
        for id in ids {
            let Some(person) = self.person(id).await? else {
                continue;
            };
            let held = &by_tutor[&id];
            let mine: Vec<&Held> = held.values().filter(|h| h.2 == Some(id)).collect();
            let times = mine
                .iter()
                .filter_map(|h| h.1.map(|f| Duration::milliseconds(f - h.0)))
                .collect();
            out.push(TutorFigures {
                tutor_id: id,
                name: person.name,
                unit: person.unit.to_string(),
                asked: held.len() as u32,
                answered: mine.len() as u32,
                median_first_answer: median(times),
                helpful: mine.iter().filter(|h| h.3 == Some(true)).count() as u32,
                unhelpful: mine.iter().filter(|h| h.3 == Some(false)).count() as u32,
            });
        }
        Ok(out)
    }
}

trait WaitingTx {
    /// (question, tutor) if `assignment_id` is its question's current assignment and the
    /// question is still unanswered; locks the question.
    async fn current_waiting(&mut self, assignment_id: i64) -> Result<Option<(i64, i64)>>;
}

crate::impl_for_connections! {
    impl WaitingTx {
        async fn current_waiting(&mut self, assignment_id: i64) -> Result<Option<(i64, i64)>> {
            let row: Option<(i64,)> =
                sqlx::query_as("SELECT question_id FROM question_assignments WHERE id = $1")
                    .bind(assignment_id)
                    .fetch_optional(&mut *self)
                    .await?;
            let Some((question_id,)) = row else { return Ok(None) };
            let Some((_, status, tutor, current, _)) = self.lock_question(question_id).await? else {
                return Ok(None);
            };
            Ok(match tutor {
                Some(t) if status == "open" && current == Some(assignment_id) => Some((question_id, t)),
                _ => None,
            })
        }
    }
}
