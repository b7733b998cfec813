//! 转交: the menu of topics and tutors under a card, and passing the question on.

use super::*;
use storage::PassTarget;
use teloxide::types::ReplyParameters;

/// 转交 on a card: the menu of topics and tutors.
pub async fn on_pass_menu(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    question: i64,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    if let Err(e) = app.store.can_pass(question, person.id).await {
        return refused_press(&bot, &app, &q, &person, e).await;
    }
    let current = match app.store.question(question).await {
        Ok(Some(q)) => q.topic,
        Ok(None) => None,
        Err(e) => return refused_press(&bot, &app, &q, &person, e.into()).await,
    };
    let choices = match app.store.pass_choices(question, PASS_TUTORS).await {
        Ok(c) => c,
        Err(e) => return refused_press(&bot, &app, &q, &person, e.into()).await,
    };
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    let topics: Vec<InlineKeyboardButton> = app
        .config
        .tutoring
        .topics
        .iter()
        .enumerate()
        .filter(|(_, t)| current.as_deref() != Some(t.as_str()))
        .filter_map(|(i, t)| {
            let topic = u8::try_from(i).ok()?;
            Some(InlineKeyboardButton::callback(
                fill(tr(lang, K::PassTopicButton), &[("topic", t)]),
                Callback::PassTopic { question, topic }.encode(),
            ))
        })
        .collect();
    rows.extend(topics.chunks(2).map(<[_]>::to_vec));
    for c in choices {
        let unit = c.unit.rsplit('/').next().unwrap_or_default().to_string();
        rows.push(vec![InlineKeyboardButton::callback(
            fill(
                tr(lang, K::PassTutorButton),
                &[("name", &c.name), ("unit", &unit)],
            ),
            Callback::PassTutor {
                question,
                tutor: c.id,
            }
            .encode(),
        )]);
    }
    alert(&bot, &q, String::new(), false).await?;
    let Some(chat) = person.chat_id else {
        return Ok(());
    };
    if rows.is_empty() {
        bot.send_message(ChatId(chat), tr(lang, K::PassNothing))
            .await?;
        return Ok(());
    }
    let mut req = bot
        .send_message(
            ChatId(chat),
            fill(tr(lang, K::PassMenu), &[("id", &question.to_string())]),
        )
        .reply_markup(InlineKeyboardMarkup::new(rows));
    if let Some(card) = q.regular_message() {
        req = req.reply_parameters(ReplyParameters::new(card.id).allow_sending_without_reply());
    }
    req.await?;
    Ok(())
}

async fn pass(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    question: i64,
    target: PassTarget<'_>,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let default_tutor = default_tutor_phone(&app);
    let routed = match app
        .store
        .pass_question(
            question,
            person.id,
            target,
            default_tutor.as_deref(),
            app.clock.now(),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return refused_press(&bot, &app, &q, &person, e).await,
    };
    app.wake_sender();
    let text = fill(
        tr(lang, K::PassDone),
        &[
            ("id", &question.to_string()),
            ("tutor", &routed.tutor_name),
            ("topic", &routed.topic),
        ],
    );
    alert(&bot, &q, String::new(), false).await?;
    edit_pressed(&bot, &q, &person, text).await
}

/// A topic in the 转交 menu.
pub async fn on_pass_topic(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    (question, topic): (i64, u8),
) -> HandlerResult {
    let Some(topic) = app.config.tutoring.topics.get(usize::from(topic)).cloned() else {
        let lang = app.lang_of(&person);
        return alert(&bot, &q, tr(lang, K::AlertStaleButton).to_string(), true).await;
    };
    pass(bot, app, q, person, question, PassTarget::Topic(&topic)).await
}

/// A tutor in the 转交 menu.
pub async fn on_pass_tutor(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    (question, tutor): (i64, i64),
) -> HandlerResult {
    pass(bot, app, q, person, question, PassTarget::Tutor(tutor)).await
}
