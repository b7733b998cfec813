//! Tutoring: questions and their routing to a tutor, the thread of relayed messages, passing
//! a question on, ratings, the reminder and reassignment deadlines, and per-tutor figures.
//!
//! Every change is one transaction of three steps: load the question's state under its lock
//! ([`TutoringTx::lock_question`]), ask `domain::tutoring` (which checks authority, once),
//! and persist the transition with its notifications ([`TutoringTx::persist`]). A read-only
//! pre-check (the 转交 menu, [`Store::plan_relay`]) loads the state the same way, unlocked,
//! and asks the same domain function.
//!
//! - `questions.rs`: asking, routing, passing on, rating, the question reads;
//! - `thread.rs`: the messages of a thread, replies relayed through the outbox, similar answers;
//! - `deadlines.rs`: the `question-sla` job's reminder and reassignment;
//! - `figures.rs`: per-tutor figures of the supervision reports.

mod deadlines;
mod figures;
mod questions;
mod thread;

use crate::outbox::OutboxTx;
use crate::search::{DOC_QUESTION, SearchTx};
use crate::{Result, ms};
use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::UnitPath;
use domain::config::Lang;
use domain::notify::Notification;
use domain::routing::TutorCandidate;
use domain::tutoring::{Actor, NewAssignment, Notice, Of, Pool, QuestionState, Transition, Via};

pub use domain::tutoring::{AssignReason, MessageKind, QuestionRefusal, QuestionStatus};

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A question as its cadre and its tutors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub person_unit: String,
    pub topic: Option<String>,
    /// Text, or the kind of attachment (a photo).
    pub kind: MessageKind,
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
    pub kind: MessageKind,
    pub text: &'a str,
    pub file_id: Option<&'a str>,
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
    /// The replied message, in the sender's chat.
    pub replied: i64,
}

/// The message being relayed, as the thread keeps it.
#[derive(Debug, Clone)]
pub struct RelaySource<'a> {
    pub chat_id: i64,
    pub message_id: i64,
    pub kind: MessageKind,
    pub text: Option<&'a str>,
}

/// A reply recorded in its thread; its copy is queued for the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    pub plan: RelayPlan,
    /// It was the question's first answer.
    pub first_answer: bool,
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
    pub kind: MessageKind,
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
    pub answer_kind: Option<MessageKind>,
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

/// The question's state as the domain decides on it.
const STATE_SQL: &str =
    "SELECT q.person_id, q.status, q.tutor_id, t.name, q.assignment_id, q.topic,
        q.answered_by, q.helpful, u.path, a.reminded_at, a.overdue_at
    FROM questions q LEFT JOIN people p ON p.id = q.person_id
    LEFT JOIN units u ON u.id = p.unit_id
    LEFT JOIN people t ON t.id = q.tutor_id
    LEFT JOIN question_assignments a ON a.id = q.assignment_id
    WHERE q.id = $1";

type StateRow = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<bool>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// How the copy of a relayed message goes out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RelayOut {
    /// Through the outbox: copy `from_message` of `from_chat` to `to_chat`, replying there.
    Queue {
        to_chat: i64,
        from_chat: i64,
        from_message: i64,
        reply_to: Option<i64>,
    },
    /// The caller sent the copy already (and records it).
    Sent,
}

pub(crate) trait TutoringTx {
    /// The question's state, unlocked (a read-only pre-check loads it this way too).
    async fn question_state(&mut self, question_id: i64) -> Result<Option<QuestionState>>;
    /// Locks the question row for this transaction and loads its state.
    async fn lock_question(&mut self, question_id: i64) -> Result<Option<QuestionState>>;
    /// The person acting, and whether he is an active admin: the one authority lookup.
    async fn actor(&mut self, person_id: i64) -> Result<Actor>;
    async fn pool(&mut self, topic: &str, default_tutor_phone: Option<&str>) -> Result<Pool>;
    /// Whether the person is an active, registered tutor (a target of 转交).
    async fn is_active_tutor(&mut self, person_id: i64) -> Result<bool>;
    /// Writes a transition and queues its notifications; returns the new assignment's id.
    async fn persist(
        &mut self,
        q: &QuestionState,
        t: &Transition,
        relay: RelayOut,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>>;
    async fn refresh_card(&mut self, assignment_id: i64, now: DateTime<Utc>) -> Result<()>;
    async fn assign(
        &mut self,
        question_id: i64,
        a: NewAssignment,
        now: DateTime<Utc>,
    ) -> Result<i64>;
}

crate::impl_for_connections! {
    impl TutoringTx {
        async fn question_state(&mut self, question_id: i64) -> Result<Option<QuestionState>> {
            let row: Option<StateRow> = sqlx::query_as(STATE_SQL)
                .bind(question_id)
                .fetch_optional(&mut *self)
                .await?;
            let Some(r) = row else { return Ok(None) };
            let held: Vec<(i64,)> = sqlx::query_as(
                "SELECT tutor_id FROM question_assignments WHERE question_id = $1 ORDER BY id",
            )
            .bind(question_id)
            .fetch_all(&mut *self)
            .await?;
            Ok(Some(QuestionState {
                id: question_id,
                cadre: r.0,
                status: QuestionStatus::parse(&r.1),
                tutor: r.2,
                tutor_name: r.3,
                assignment: r.4,
                topic: r.5,
                answered_by: r.6,
                helpful: r.7,
                cadre_unit: r.8.and_then(|p| UnitPath::parse(&p).ok()),
                reminded: r.9.is_some(),
                overdue_handled: r.10.is_some(),
                held_by: held.into_iter().map(|h| h.0).collect(),
            }))
        }

        /// A no-op write takes the row lock on PostgreSQL; SQLite is serialised by BEGIN
        /// IMMEDIATE.
        async fn lock_question(&mut self, question_id: i64) -> Result<Option<QuestionState>> {
            sqlx::query("UPDATE questions SET updated_at = updated_at WHERE id = $1")
                .bind(question_id)
                .execute(&mut *self)
                .await?;
            self.question_state(question_id).await
        }

        async fn actor(&mut self, person_id: i64) -> Result<Actor> {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT p.id FROM people p JOIN person_roles r ON r.person_id = p.id AND r.role = 'admin'
                 WHERE p.id = $1 AND p.active",
            )
            .bind(person_id)
            .fetch_optional(&mut *self)
            .await?;
            Ok(Actor { id: person_id, admin: row.is_some() })
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

        async fn is_active_tutor(&mut self, person_id: i64) -> Result<bool> {
            let ok: Option<(i64,)> = sqlx::query_as(
                "SELECT p.id FROM people p
                 JOIN person_roles r ON r.person_id = p.id AND r.role = 'tutor'
                 WHERE p.id = $1 AND p.active AND p.chat_id IS NOT NULL",
            )
            .bind(person_id)
            .fetch_optional(&mut *self)
            .await?;
            Ok(ok.is_some())
        }

        async fn persist(
            &mut self,
            q: &QuestionState,
            t: &Transition,
            relay: RelayOut,
            now: DateTime<Utc>,
        ) -> Result<Option<i64>> {
            if let Some(topic) = &t.set_topic {
                sqlx::query("UPDATE questions SET topic = $1 WHERE id = $2")
                    .bind(topic)
                    .bind(q.id)
                    .execute(&mut *self)
                    .await?;
            }
            if let Some((assignment, reason, next_tutor)) = t.end_assignment {
                sqlx::query(
                    "UPDATE question_assignments SET ended_at = $1, ended_reason = $2, next_tutor_id = $3
                     WHERE id = $4",
                )
                .bind(ms(now))
                .bind(reason.as_str())
                .bind(next_tutor)
                .bind(assignment)
                .execute(&mut *self)
                .await?;
            }
            let new = match t.assign {
                Some(a) => Some(self.assign(q.id, a, now).await?),
                None => None,
            };
            if let Some(by) = t.answered_by {
                let answered = sqlx::query(
                    "UPDATE questions SET status = $1, first_answer_at = $2, answered_by = $3,
                         updated_at = $2
                     WHERE id = $4 AND first_answer_at IS NULL",
                )
                .bind(QuestionStatus::Answered.as_str())
                .bind(ms(now))
                .bind(by)
                .bind(q.id)
                .execute(&mut *self)
                .await?;
                if answered.rows_affected() == 1 {
                    let (text,): (String,) = sqlx::query_as("SELECT text FROM questions WHERE id = $1")
                        .bind(q.id)
                        .fetch_one(&mut *self)
                        .await?;
                    self.index_document(DOC_QUESTION, q.id, &text).await?;
                }
            }
            if let Some(helpful) = t.rate {
                sqlx::query("UPDATE questions SET helpful = $1, rated_at = $2 WHERE id = $3")
                    .bind(helpful)
                    .bind(ms(now))
                    .bind(q.id)
                    .execute(&mut *self)
                    .await?;
            }
            for (column, assignment) in [("reminded_at", t.mark_reminded), ("overdue_at", t.mark_overdue)] {
                if let Some(a) = assignment {
                    let sql = format!("UPDATE question_assignments SET {column} = $1 WHERE id = $2");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ms(now)).bind(a).execute(&mut *self).await?;
                }
            }
            let question_id = q.id;
            for notice in &t.notify {
                match *notice {
                    Notice::Card(of) => {
                        let assignment = match of {
                            Of::Existing(a) => Some(a),
                            Of::New => new,
                        };
                        if let Some(a) = assignment {
                            self.refresh_card(a, now).await?;
                        }
                    }
                    Notice::Passed { tutor, reassigned } => {
                        let n = Notification::QuestionPassed { question_id, tutor_id: tutor, reassigned };
                        let key = format!("question-passed:{}", new.unwrap_or_default());
                        self.notify_person(q.cadre, &n, Some(&key), now).await?;
                    }
                    Notice::Rated { tutor, helpful } => {
                        let n = Notification::QuestionRated { question_id, helpful };
                        let key = format!("question-rated:{question_id}");
                        self.notify_person(tutor, &n, Some(&key), now).await?;
                    }
                    Notice::Reminder { tutor, assignment, overdue } => {
                        let n = Notification::QuestionReminder { question_id, assignment_id: assignment, overdue };
                        let key = if overdue {
                            format!("question-overdue:{assignment}")
                        } else {
                            format!("question-reminder:{assignment}")
                        };
                        self.notify_person(tutor, &n, Some(&key), now).await?;
                    }
                    Notice::Relay { to, rate } => {
                        if let RelayOut::Queue { to_chat, from_chat, from_message, reply_to } = relay {
                            let n = Notification::QuestionRelay {
                                question_id,
                                from_chat,
                                from_message,
                                to_person: to,
                                reply_to,
                                rate,
                            };
                            self.enqueue(to_chat, Some(to), &n, None, now, now).await?;
                        }
                    }
                }
            }
            Ok(new)
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

        /// Gives the question to a tutor: a new assignment, and the question moves to him
        /// (a draft becomes open). His card is one of the transition's notices.
        async fn assign(&mut self, question_id: i64, a: NewAssignment, now: DateTime<Utc>) -> Result<i64> {
            let (assignment_id,): (i64,) = sqlx::query_as(
                "INSERT INTO question_assignments (question_id, tutor_id, reason, via, passed_by, assigned_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(question_id)
            .bind(a.tutor)
            .bind(a.reason.as_str())
            .bind(a.via.as_str())
            .bind(a.passed_by)
            .bind(ms(now))
            .fetch_one(&mut *self)
            .await?;
            sqlx::query(
                "UPDATE questions SET tutor_id = $1, assignment_id = $2, updated_at = $3,
                     status = CASE WHEN status = $4 THEN $5 ELSE status END
                 WHERE id = $6",
            )
            .bind(a.tutor)
            .bind(assignment_id)
            .bind(ms(now))
            .bind(QuestionStatus::Draft.as_str())
            .bind(QuestionStatus::Open.as_str())
            .bind(question_id)
            .execute(&mut *self)
            .await?;
            Ok(assignment_id)
        }
    }
}
