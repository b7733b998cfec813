//! The jobs themselves, by their configured name.

use chrono::{DateTime, Utc};
use domain::config::Config;
use domain::tutoring::{SlaAction, SlaPolicy, Waiting, sla_action};
use storage::{Reassigned, StorageError, Store};

/// What one run of `question-sla` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaReport {
    /// Questions whose tutor was reminded (past `tutoring.remind_after_hours`).
    pub reminded: Vec<i64>,
    /// (question, from tutor, to tutor) moved past `tutoring.reassign_after_hours`.
    pub reassigned: Vec<(i64, i64, i64)>,
    /// Questions past the deadline that nobody else can take: their tutor was reminded again.
    pub nobody_else: Vec<i64>,
}

impl SlaReport {
    pub fn is_empty(&self) -> bool {
        self.reminded.is_empty() && self.reassigned.is_empty() && self.nobody_else.is_empty()
    }
}

/// `question-sla`: reminds the tutors of questions unanswered past the reminder time and
/// reassigns those past the reassignment deadline, through the outbox. Each deadline acts
/// once per assignment however often the job runs (the assignment records it); a question
/// that reached the deadline unreminded (e.g. after downtime) is reassigned at once.
pub async fn question_sla(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<SlaReport, StorageError> {
    let t = &config.tutoring;
    let policy = SlaPolicy::from_hours(t.remind_after_hours, t.reassign_after_hours);
    let default_tutor = t
        .default_tutor_phone
        .as_deref()
        .and_then(|p| domain::phone::normalize(p).ok());
    let mut report = SlaReport::default();
    for c in store.waiting_questions(now - policy.remind_after).await? {
        let waiting = Waiting {
            assigned_at: c.assigned_at,
            reminded: c.reminded,
            overdue_handled: c.overdue_handled,
        };
        match sla_action(now, waiting, policy) {
            Some(SlaAction::Remind) => {
                let reminded = store.remind_question(c.assignment_id, now).await?;
                report.reminded.extend(reminded.then_some(c.question_id));
            }
            Some(SlaAction::Reassign) => {
                let outcome = store
                    .reassign_question(c.assignment_id, default_tutor.as_deref(), now)
                    .await?;
                match outcome {
                    Reassigned::To {
                        from_tutor,
                        to_tutor,
                    } => report
                        .reassigned
                        .push((c.question_id, from_tutor, to_tutor)),
                    Reassigned::NobodyElse => report.nobody_else.push(c.question_id),
                    Reassigned::Stale => {}
                }
            }
            None => {}
        }
    }
    if !report.is_empty() {
        tracing::info!(
            reminded = report.reminded.len(),
            reassigned = report.reassigned.len(),
            nobody_else = report.nobody_else.len(),
            "question-sla"
        );
    }
    Ok(report)
}
