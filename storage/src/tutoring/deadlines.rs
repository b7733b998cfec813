//! The deadlines of unanswered questions, for the `question-sla` job: each acts once per
//! assignment (the assignment records it), decided by `domain::tutoring::{remind, reassign}`.

use super::{Reassigned, RelayOut, SlaCandidate, TutoringTx, at};
use crate::{Result, Store, in_tx, ms, read_db};
use chrono::{DateTime, Utc};
use domain::tutoring;

impl Store {
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

    /// The question an assignment belongs to.
    async fn question_of_assignment(&self, assignment_id: i64) -> Result<Option<i64>> {
        let sql = "SELECT question_id FROM question_assignments WHERE id = $1";
        let row: Option<(i64,)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(assignment_id).fetch_optional(pool).await?);
        Ok(row.map(|r| r.0))
    }

    /// Reminds the tutor of an unanswered assignment, once. Returns false if it was reminded
    /// already or is no longer waiting (then nothing is written: the transaction commits the
    /// lock's no-op only).
    pub async fn remind_question(&self, assignment_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let Some(question_id) = self.question_of_assignment(assignment_id).await? else {
            return Ok(false);
        };
        in_tx!(self, tx => {
            let Some(q) = tx.lock_question(question_id).await? else {
                return Ok(false);
            };
            let Some(t) = tutoring::remind(&q, assignment_id) else {
                return Ok(false);
            };
            tx.persist(&q, &t, RelayOut::Sent, now).await?;
            Ok(true)
        })
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
        let Some(question_id) = self.question_of_assignment(assignment_id).await? else {
            return Ok(Reassigned::Stale);
        };
        in_tx!(self, tx => {
            let Some(q) = tx.lock_question(question_id).await? else {
                return Ok(Reassigned::Stale);
            };
            let topic = q.topic.clone().unwrap_or_default();
            let pool = tx.pool(&topic, default_tutor_phone).await?;
            let Some(t) = tutoring::reassign(&q, assignment_id, &pool) else {
                return Ok(Reassigned::Stale);
            };
            tx.persist(&q, &t, RelayOut::Sent, now).await?;
            Ok(match (t.assign, q.tutor) {
                (Some(new), Some(from_tutor)) => Reassigned::To { from_tutor, to_tutor: new.tutor },
                _ => Reassigned::NobodyElse,
            })
        })
    }
}
