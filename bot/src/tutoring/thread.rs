//! The thread: a reply to any message of it is recorded and relayed to the other side
//! through the outbox (the sender copies it, within the limits); ratings of the answers.

use super::*;
use crate::answer::{db_down, reply};
use crate::worklog::to_log_input;
use storage::RelaySource;

/// Any message of a registered person that replies to another message: continues a question
/// thread, or gets help if the replied message belongs to none.
pub async fn on_reply(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let Some(replied) = msg.reply_to_message() else {
        return reply(&bot, &msg, tr(lang, K::ReplyUnknown).to_string()).await;
    };
    let input = to_log_input(&msg);
    let source = RelaySource {
        chat_id: msg.chat.id.0,
        message_id: i64::from(msg.id.0),
        kind: input.as_ref().map_or(MessageKind::Other, MessageKind::of),
        text: input.as_ref().and_then(|i| i.clean_text()),
    };
    // Recorded with its copy queued in one transaction; the sender copies it within the
    // limits and records the copy, so that replying to it goes on with the thread.
    let relayed = app
        .store
        .reply_in_thread(person.id, i64::from(replied.id.0), source, app.clock.now())
        .await;
    match relayed {
        Ok(relayed) => {
            app.wake_sender();
            let t = fill(tr(lang, K::RelayDone), &[("name", &relayed.plan.to_name)]);
            reply(&bot, &msg, t).await
        }
        Err(QuestionFailure::Refused(QuestionRefusal::NotAssigned { tutor })) => {
            let t = fill(
                tr(lang, K::ReplyNotAssigned),
                &[("tutor", tutor.as_deref().unwrap_or("?"))],
            );
            reply(&bot, &msg, t).await
        }
        Err(QuestionFailure::Refused(QuestionRefusal::NotSubmitted)) => {
            reply(&bot, &msg, tr(lang, K::ReplyNotSubmitted).to_string()).await
        }
        Err(QuestionFailure::Refused(
            QuestionRefusal::UnknownMessage | QuestionRefusal::NotFound,
        )) => reply(&bot, &msg, tr(lang, K::ReplyUnknown).to_string()).await,
        Err(QuestionFailure::Refused(r)) => reply(&bot, &msg, refusal_text(lang, &r)).await,
        Err(QuestionFailure::Storage(e)) => db_down(&bot, &app, &msg, &person, e).await,
    }
}

/// 有帮助 / 没帮助 under a relayed answer.
pub async fn on_rate(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    (question, helpful): (i64, bool),
) -> HandlerResult {
    let lang = app.lang_of(&person);
    if let Err(e) = app
        .store
        .rate_question(question, person.id, helpful, app.clock.now())
        .await
    {
        return refused_press(&bot, &app, &q, &person, e).await;
    }
    app.wake_sender();
    alert(&bot, &q, tr(lang, K::RateThanks).to_string(), false).await?;
    if let Some(m) = q.regular_message() {
        // Show the choice; the other button stays, to change one's mind.
        let keyboard = rate_keyboard(lang, question, Some(helpful));
        if let Err(e) = bot
            .edit_message_reply_markup(m.chat.id, m.id)
            .reply_markup(keyboard)
            .await
        {
            tracing::debug!(error = %e, "rating buttons not updated");
        }
    }
    Ok(())
}
