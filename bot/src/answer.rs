//! The ways a handler answers the person who wrote: a reply to his message, a short alert
//! on a pressed button, and the "not recorded, send it again" answer when the database
//! fails (the cause goes to the log).

use crate::texts::{K, tr};
use crate::{Ctx, HandlerResult};
use storage::Person;
use teloxide::prelude::*;
use teloxide::types::ReplyParameters;

pub async fn reply(bot: &Bot, msg: &Message, text: String) -> HandlerResult {
    bot.send_message(msg.chat.id, text)
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply())
        .await?;
    Ok(())
}

pub async fn db_down(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    e: impl std::fmt::Display,
) -> HandlerResult {
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
