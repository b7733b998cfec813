//! Per-tutor figures of the supervision reports.

use super::TutorFigures;
use crate::{Result, Store, ms, read_db};
use chrono::{DateTime, Duration, Utc};
use domain::tutoring::median;
use std::collections::{BTreeMap, BTreeSet};

impl Store {
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
