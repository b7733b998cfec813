//! `/ask` and its dialogue, the topic buttons, the receipt with similar earlier answers, and
//! `/questions`.

use super::*;
use crate::answer::{db_down, reply};
use crate::dialogue::{self, Dialogue};
use crate::worklog::to_log_input;
use domain::Role;
use domain::tutoring::Via;
use storage::{NewQuestion, Similar};
use teloxide::types::ReplyParameters;

/// `/ask QUESTION` (text, or a caption of a photo or file) or `/ask` alone (a dialogue).
pub async fn ask(bot: Bot, app: Ctx, msg: Message, person: Person, args: String) -> HandlerResult {
    let lang = app.lang_of(&person);
    if !person.roles.contains(Role::Cadre) {
        return reply(&bot, &msg, tr(lang, K::AskNotCadre).to_string()).await;
    }
    let text = args.trim();
    let has_file = to_log_input(&msg).is_some_and(|i| !i.attachments.is_empty());
    if text.is_empty() {
        if has_file {
            return reply(&bot, &msg, tr(lang, K::AskNeedsText).to_string()).await;
        }
        if let Err(e) = dialogue::save(&app, &person, &Dialogue::AskQuestion).await {
            return db_down(&bot, &app, &msg, &person, e).await;
        }
        return reply(&bot, &msg, tr(lang, K::AskPrompt).to_string()).await;
    }
    if let Err(e) = dialogue::clear(&app, &person).await {
        // The question goes on; only a stale `/ask` dialogue may be left behind.
        tracing::warn!(error = %e, person_id = person.id, "tutoring: /ask dialogue not cleared");
    }
    draft(&bot, &app, &msg, &person, text).await
}

/// The question sent after `/ask` alone.
pub async fn dialogue_step(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let text = msg
        .text()
        .or(msg.caption())
        .map(str::trim)
        .unwrap_or_default();
    if crate::texts::is_cancel_word(text) {
        return crate::leave::cancel_dialogue(bot, app, msg, person).await;
    }
    if text.is_empty() {
        return reply(&bot, &msg, tr(lang, K::AskNeedsText).to_string()).await;
    }
    if let Err(e) = dialogue::clear(&app, &person).await {
        return db_down(&bot, &app, &msg, &person, e).await;
    }
    draft(&bot, &app, &msg, &person, text).await
}

fn topic_keyboard(app: &Ctx, question: i64) -> InlineKeyboardMarkup {
    let buttons: Vec<InlineKeyboardButton> = app
        .config
        .tutoring
        .topics
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let topic = u8::try_from(i).ok()?;
            Some(InlineKeyboardButton::callback(
                t.clone(),
                Callback::AskTopic { question, topic }.encode(),
            ))
        })
        .collect();
    InlineKeyboardMarkup::new(buttons.chunks(2).map(<[_]>::to_vec))
}

/// Stores the question as a draft and offers the topics.
async fn draft(bot: &Bot, app: &Ctx, msg: &Message, person: &Person, text: &str) -> HandlerResult {
    let lang = app.lang_of(person);
    let max = app.config.logs.max_text_chars;
    let chars = text.chars().count();
    if chars > max {
        let t = fill(
            tr(lang, K::AskTooLong),
            &[("chars", &chars.to_string()), ("max", &max.to_string())],
        );
        return reply(bot, msg, t).await;
    }
    let input = to_log_input(msg).unwrap_or_default();
    // A location asks in words: only an attachment changes the question's kind.
    let kind = input
        .attachments
        .first()
        .map_or(MessageKind::Text, |a| MessageKind::Attachment(a.kind));
    let new = NewQuestion {
        person_id: person.id,
        chat_id: msg.chat.id.0,
        message_id: i64::from(msg.id.0),
        kind,
        text,
        file_id: input.attachments.first().map(|a| a.file_id.as_str()),
    };
    let id = match app.store.create_question(new, app.clock.now()).await {
        Ok(id) => id,
        Err(e) => return db_down(bot, app, msg, person, e).await,
    };
    bot.send_message(msg.chat.id, tr(lang, K::AskChooseTopic))
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply())
        .reply_markup(topic_keyboard(app, id))
        .await?;
    Ok(())
}

fn similar_text(lang: Lang, similar: &[Similar]) -> String {
    let any_policy = similar.iter().any(|s| matches!(s, Similar::Policy(_)));
    let mut out = tr(
        lang,
        if any_policy {
            K::AskSimilarHeaderMixed
        } else {
            K::AskSimilarHeader
        },
    )
    .to_string();
    for (i, s) in similar.iter().enumerate() {
        out.push('\n');
        let n = (i + 1).to_string();
        match s {
            Similar::Answer(s) => {
                let answer = summary(
                    lang,
                    s.answer_kind.unwrap_or(MessageKind::Text),
                    s.answer.as_deref(),
                    HISTORY_CHARS,
                );
                out.push_str(&fill(
                    tr(lang, K::AskSimilarItem),
                    &[
                        ("n", &n),
                        ("question", &clip(&s.question, HISTORY_CHARS)),
                        ("answer", &answer),
                    ],
                ));
            }
            Similar::Policy(h) => out.push_str(&fill(
                tr(lang, K::AskSimilarPolicy),
                &[
                    ("n", &n),
                    ("title", &h.policy.title),
                    ("id", &h.policy.id.to_string()),
                    ("snippet", &h.snippet),
                ],
            )),
        }
    }
    out
}

/// A topic button under the cadre's question: routes it, then the receipt with similar answers.
pub async fn on_topic(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    (question, topic): (i64, u8),
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let Some(topic) = app.config.tutoring.topics.get(usize::from(topic)) else {
        return alert(&bot, &q, tr(lang, K::AlertStaleButton).to_string(), true).await;
    };
    let default_tutor = default_tutor_phone(&app);
    let routed = match app
        .store
        .submit_question(
            question,
            person.id,
            topic,
            default_tutor.as_deref(),
            app.clock.now(),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return refused_press(&bot, &app, &q, &person, e).await,
    };
    app.wake_sender();
    let key = if routed.via == Via::Admin {
        K::AskSubmittedAdmin
    } else {
        K::AskSubmitted
    };
    let mut text = fill(
        tr(lang, key),
        &[
            ("id", &question.to_string()),
            ("topic", topic),
            ("tutor", &routed.tutor_name),
            ("unit", &routed.tutor_unit),
        ],
    );
    match app.store.similar(question, SIMILAR).await {
        Ok(similar) if !similar.is_empty() => {
            text.push_str("\n\n");
            text.push_str(&similar_text(lang, &similar));
        }
        Ok(_) => {}
        // The question is sent; only the suggestions are missing.
        Err(e) => tracing::warn!(error = %e, "cannot look up similar answers"),
    }
    alert(&bot, &q, String::new(), false).await?;
    edit_pressed(&bot, &q, &person, text).await
}

/// `/questions`: the person's own questions; for tutors and admins also those waiting for him.
pub async fn list(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let now = app.clock.now();
    let mut parts = Vec::new();
    let answering = person.roles.contains(Role::Tutor) || person.roles.contains(Role::Admin);
    if answering {
        let open = match app.store.open_questions_for(person.id).await {
            Ok(o) => o,
            Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
        };
        if open.is_empty() {
            parts.push(tr(lang, K::QuestionsTutorEmpty).to_string());
        } else {
            let mut text = tr(lang, K::QuestionsTutorHeader).to_string();
            for q in &open {
                text.push('\n');
                text.push_str(&fill(
                    tr(lang, K::QuestionsTutorItem),
                    &[
                        ("id", &q.id.to_string()),
                        ("topic", q.topic.as_deref().unwrap_or_default()),
                        ("name", &q.person_name),
                        ("hours", &(now - q.created_at).num_hours().to_string()),
                        ("text", &summary(lang, q.kind, Some(&q.text), 40)),
                    ],
                ));
            }
            parts.push(text);
        }
    }
    if person.roles.contains(Role::Cadre) || !answering {
        let mine = match app.store.questions_of(person.id, 10).await {
            Ok(m) => m,
            Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
        };
        if mine.is_empty() {
            parts.push(tr(lang, K::QuestionsEmpty).to_string());
        } else {
            let mut text = tr(lang, K::QuestionsHeader).to_string();
            for q in &mine {
                text.push('\n');
                text.push_str(&fill(
                    tr(lang, K::QuestionsItem),
                    &[
                        ("id", &q.id.to_string()),
                        ("topic", q.topic.as_deref().unwrap_or("-")),
                        ("status", status_name(lang, q.status)),
                        ("text", &summary(lang, q.kind, Some(&q.text), 40)),
                    ],
                ));
            }
            parts.push(text);
        }
    }
    reply(&bot, &msg, parts.join("\n\n")).await
}
