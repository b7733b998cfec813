//! Multi-step dialogues. The state lives in the database (not in memory), so a dialogue
//! survives a restart; each feature adds its variants and its step handler.

use crate::{Ctx, HandlerResult};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use storage::Person;
use teloxide::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dialogue {
    /// `/leave`: waiting for the start date.
    LeaveStart,
    LeaveEnd {
        start: NaiveDate,
    },
    LeaveReason {
        start: NaiveDate,
        end: NaiveDate,
    },
    /// An approver pressed 驳回: waiting for the reason.
    RejectReason {
        request: i64,
        step: i64,
    },
    /// `/ask` alone: waiting for the question.
    AskQuestion,
    /// `/update` alone: waiting for the brief.
    UpdateText,
    /// A reporter of several units: the brief waits for his choice of unit (buttons).
    UpdateUnit {
        draft: UpdateDraft,
    },
}

/// A work update not recorded yet (its unit is being chosen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateDraft {
    pub text: Option<String>,
    pub photos: Vec<storage::UpdatePhoto>,
    pub media_group_id: Option<String>,
    pub chat_id: i64,
    pub message_id: i64,
}

pub async fn save(app: &Ctx, person: &Person, d: &Dialogue) -> Result<(), storage::StorageError> {
    let state = serde_json::to_string(d).unwrap_or_default();
    app.store
        .set_dialogue(person.id, &state, app.clock.now())
        .await
}

pub async fn clear(app: &Ctx, person: &Person) -> Result<(), storage::StorageError> {
    app.store.clear_dialogue(person.id).await
}

/// The person's open dialogue, if any. The state came with the person; a state this
/// version cannot read is dropped (and the message routed as if none was open).
pub async fn decode(app: &Ctx, person: &Person) -> Option<Dialogue> {
    let state = person.dialogue.as_deref()?;
    match serde_json::from_str(state) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(error = %e, "dropping unreadable dialogue state");
            if let Err(e) = app.store.clear_dialogue(person.id).await {
                // Tried again at his next message.
                tracing::error!(error = %e, "cannot clear unreadable dialogue state");
            }
            None
        }
    }
}

/// One step of whichever dialogue is open.
pub async fn step(bot: Bot, app: Ctx, msg: Message, person: Person, d: Dialogue) -> HandlerResult {
    match d {
        Dialogue::LeaveStart | Dialogue::LeaveEnd { .. } | Dialogue::LeaveReason { .. } => {
            crate::leave::dialogue_step(bot, app, msg, person, d).await
        }
        Dialogue::RejectReason { request, step } => {
            crate::leave::reject_reason(bot, app, msg, person, request, step).await
        }
        Dialogue::AskQuestion => crate::tutoring::dialogue_step(bot, app, msg, person).await,
        Dialogue::UpdateText => crate::updates::dialogue_text(bot, app, msg, person).await,
        Dialogue::UpdateUnit { draft } => {
            crate::updates::dialogue_choose(bot, app, msg, person, draft).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_as_tagged_json() {
        let d = Dialogue::LeaveReason {
            start: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        };
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"leave_reason","start":"2026-12-01","end":"2026-12-03"}"#
        );
        assert_eq!(serde_json::from_str::<Dialogue>(&json).unwrap(), d);
    }
}
