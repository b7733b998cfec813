//! Asking and routing a question, passing it on, rating it, and the reads of questions.

use super::{
    Assignment, NewQuestion, PassTarget, Question, RelayOut, Routed, TutorChoice, TutoringTx, at,
};
use crate::{QuestionFailure, Result, StorageError, Store, in_tx, ms, read_db};
use chrono::{DateTime, Utc};
use domain::tutoring::{
    self, AssignReason, MessageKind, PassTo, QuestionRefusal, QuestionStatus, Via,
};

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
            kind: MessageKind::parse(&r.kind),
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
            .bind(new.kind.as_str())
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
            .bind(new.kind.as_str())
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

    /// Where a routed question went, for the person who routed it.
    async fn routed(
        &self,
        question_id: i64,
        topic: String,
        tutor_id: i64,
        via: Via,
    ) -> Result<Routed> {
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

    /// Sets the topic of the cadre's draft question and gives it to a tutor (see
    /// `domain::tutoring::submit`); his card is queued in the same transaction.
    pub async fn submit_question(
        &self,
        question_id: i64,
        person_id: i64,
        topic: &str,
        default_tutor_phone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Routed, QuestionFailure> {
        let new = in_tx!(self, tx, refuse QuestionRefusal => {
            let q = tx.lock_question(question_id).await?.ok_or(QuestionRefusal::NotFound)?;
            let actor = tx.actor(person_id).await?;
            let pool = tx.pool(topic, default_tutor_phone).await?;
            let t = tutoring::submit(&q, actor, topic, &pool)?;
            tx.persist(&q, &t, RelayOut::Sent, now).await?;
            Ok(t.assign)
        })?;
        let new = new.ok_or(StorageError::Internal("a submitted question has a tutor"))?;
        Ok(self
            .routed(question_id, topic.to_string(), new.tutor, new.via)
            .await?)
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

    /// Whether `person_id` may pass the question on now (its current tutor, or an admin):
    /// the read-only pre-check of the 转交 menu, the same rule `pass_question` applies.
    pub async fn can_pass(&self, question_id: i64, person_id: i64) -> Result<(), QuestionFailure> {
        let (q, actor) = read_db!(self, pool => {
            let mut conn = pool.acquire().await.map_err(StorageError::from)?;
            let q = conn.question_state(question_id).await?;
            (q, conn.actor(person_id).await?)
        });
        let q = q.ok_or(QuestionRefusal::NotFound)?;
        Ok(tutoring::may_pass(&q, actor)?)
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
        let (new, topic) = in_tx!(self, tx, refuse QuestionRefusal => {
            let q = tx.lock_question(question_id).await?.ok_or(QuestionRefusal::NotFound)?;
            let actor = tx.actor(by).await?;
            let t = match target {
                PassTarget::Topic(topic) => {
                    let pool = tx.pool(topic, default_tutor_phone).await?;
                    tutoring::pass(&q, actor, PassTo::Topic { topic, pool: &pool })?
                }
                PassTarget::Tutor(id) => {
                    let active_tutor = tx.is_active_tutor(id).await?;
                    tutoring::pass(&q, actor, PassTo::Tutor { id, active_tutor })?
                }
            };
            tx.persist(&q, &t, RelayOut::Sent, now).await?;
            let topic = t.set_topic.clone().or(q.topic.clone()).unwrap_or_default();
            Ok((t.assign, topic))
        })?;
        let new = new.ok_or(StorageError::Internal("a passed question has a tutor"))?;
        Ok(self.routed(question_id, topic, new.tutor, new.via).await?)
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
            let q = tx.lock_question(question_id).await?.ok_or(QuestionRefusal::NotFound)?;
            let actor = tx.actor(person_id).await?;
            let t = tutoring::rate(&q, actor, helpful)?;
            tx.persist(&q, &t, RelayOut::Sent, now).await?;
            Ok(())
        })
    }
}
