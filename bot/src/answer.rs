//! The ways a handler answers the person who wrote: a reply to his message, a short alert
//! on a pressed button, and what happens when the database fails.

use crate::texts::{K, tr};
use crate::{Ctx, HandlerResult};
use storage::{Person, StorageError};
use teloxide::prelude::*;
use teloxide::types::ReplyParameters;

pub async fn reply(bot: &Bot, msg: &Message, text: String) -> HandlerResult {
    bot.send_message(msg.chat.id, text)
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply())
        .await?;
    Ok(())
}

/// A storage failure while handling a message. The database out of reach: the error goes
/// back to the intake, which keeps the update and handles it again when the database
/// returns (telling the person once that it waits). Any other failure would fail again:
/// the person is told his message was not recorded.
pub async fn db_down(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    e: StorageError,
) -> HandlerResult {
    if e.is_unavailable() {
        return Err(Box::new(e));
    }
    tracing::error!(error = %e, person_id = person.id, "database error; the person was told");
    reply(
        bot,
        msg,
        tr(app.lang_of(person), K::DbUnavailable).to_string(),
    )
    .await
}

/// The answer to a pressed button: a toast, or (`show_alert`) a box he must dismiss.
pub async fn alert(bot: &Bot, q: &CallbackQuery, text: String, show_alert: bool) -> HandlerResult {
    bot.answer_callback_query(q.id.clone())
        .text(text)
        .show_alert(show_alert)
        .await?;
    Ok(())
}
