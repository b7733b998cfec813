//! Tutoring: `/ask` (one message or a dialogue) and its topic buttons, the receipt with
//! similar earlier answers, the tutor's card and its 转交 menu, replies relayed both ways with
//! copyMessage, ratings, and `/questions`. Routing, authority and deadlines live in
//! `domain::tutoring` and `storage`; handlers here parse, call one operation and render.

use crate::answer::alert;
use crate::answer::{db_down, reply};
use crate::callback::Callback;
use crate::dialogue::{self, Dialogue};
use crate::texts::{K, fill, tr};
use crate::worklog::to_log_input;
use crate::{Ctx, HandlerResult};
use domain::Role;
use domain::config::Lang;
use domain::notify::Notification;
use domain::tutoring::Via;
use storage::{
    AssignReason, Assignment, NewQuestion, OutboxItem, PassTarget, Person, Question,
    QuestionFailure, QuestionRefusal, QuestionStatus, RelayPlan, RelaySource, SimilarAnswer,
    StorageError, ThreadEntry,
};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ReplyParameters};

/// How many earlier answers come with the receipt.
const SIMILAR: usize = 3;
/// Lines of earlier conversation on a card, and characters per line.
const HISTORY_LINES: usize = 10;
const HISTORY_CHARS: usize = 80;
/// Characters of the question on a card (a card must fit one Telegram message).
const CARD_TEXT_CHARS: usize = 2500;
/// Attachments of the thread copied under a new tutor's card.
const MAX_COPIES: usize = 5;
/// Tutors offered in the 转交 menu.
const PASS_TUTORS: usize = 8;
/// How often, and how long apart, a reply to an unknown bot message looks again for it.
const RECORD_RETRIES: usize = 5;
const RECORD_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The label of a message kind that is not plain text, e.g. `[图片]`.
fn kind_label(lang: Lang, kind: &str) -> &'static str {
    tr(
        lang,
        match kind {
            "photo" => K::KindPhoto,
            "voice" | "audio" => K::KindVoice,
            "video" | "video_note" => K::KindVideo,
            "document" => K::KindDocument,
            _ => K::KindOther,
        },
    )
}

/// A message's content in one line: its text, with the label of an attachment before it.
fn summary(lang: Lang, kind: &str, text: Option<&str>, max: usize) -> String {
    let text = text.map(|t| clip(&t.replace('\n', " "), max));
    match (kind, text) {
        ("text", Some(t)) => t,
        ("text", None) => String::new(),
        (k, Some(t)) => format!("{} {t}", kind_label(lang, k)),
        (k, None) => kind_label(lang, k).to_string(),
    }
}

fn status_name(lang: Lang, s: QuestionStatus) -> &'static str {
    tr(
        lang,
        match s {
            QuestionStatus::Draft => K::QStatusDraft,
            QuestionStatus::Open => K::QStatusOpen,
            QuestionStatus::Answered => K::QStatusAnswered,
        },
    )
}

/// What a refused button press is told.
fn refusal_text(lang: Lang, r: &QuestionRefusal) -> String {
    match r {
        QuestionRefusal::NotYours => tr(lang, K::AlertQuestionNotYours).to_string(),
        QuestionRefusal::AlreadySubmitted => tr(lang, K::AskAlreadySubmitted).to_string(),
        QuestionRefusal::NoTutor => tr(lang, K::AskNoTutor).to_string(),
        QuestionRefusal::NotAnswered => tr(lang, K::AlertNotAnswered).to_string(),
        QuestionRefusal::NotAssigned { tutor } => fill(
            tr(lang, K::AlertNotAssigned),
            &[("tutor", tutor.as_deref().unwrap_or("?"))],
        ),
        QuestionRefusal::SameTutor => tr(lang, K::AlertSameTutor).to_string(),
        QuestionRefusal::NotATutor => tr(lang, K::AlertNotATutor).to_string(),
        QuestionRefusal::NotSubmitted => tr(lang, K::ReplyNotSubmitted).to_string(),
        QuestionRefusal::NotFound | QuestionRefusal::UnknownMessage => {
            tr(lang, K::AlertStaleButton).to_string()
        }
    }
}

async fn refused_press(
    bot: &Bot,
    app: &Ctx,
    q: &CallbackQuery,
    person: &Person,
    e: QuestionFailure,
) -> HandlerResult {
    let lang = app.lang_of(person);
    match e {
        QuestionFailure::Refused(r) => alert(bot, q, refusal_text(lang, &r), true).await,
        QuestionFailure::Storage(e) => {
            tracing::error!(error = %e, "tutoring: button not handled");
            alert(bot, q, tr(lang, K::DbUnavailable).to_string(), true).await
        }
    }
}

// ----- asking -----

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
    let _ = dialogue::clear(&app, &person).await;
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
    if matches!(text, "取消" | "cancel" | "Cancel") {
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
    let kind = input
        .attachments
        .first()
        .map_or("text", |a| a.kind.as_str());
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

fn similar_text(lang: Lang, similar: &[SimilarAnswer]) -> String {
    let mut out = tr(lang, K::AskSimilarHeader).to_string();
    for (i, s) in similar.iter().enumerate() {
        let answer = summary(
            lang,
            s.answer_kind.as_deref().unwrap_or("text"),
            s.answer.as_deref(),
            HISTORY_CHARS,
        );
        out.push('\n');
        out.push_str(&fill(
            tr(lang, K::AskSimilarItem),
            &[
                ("n", &(i + 1).to_string()),
                ("question", &clip(&s.question, HISTORY_CHARS)),
                ("answer", &answer),
            ],
        ));
    }
    out
}

/// Edits the message the button was on (or sends a new one if it cannot be reached).
async fn edit_pressed(
    bot: &Bot,
    q: &CallbackQuery,
    person: &Person,
    text: String,
) -> HandlerResult {
    match q.regular_message() {
        Some(m) => {
            bot.edit_message_text(m.chat.id, m.id, text).await?;
        }
        None => {
            if let Some(chat) = person.chat_id {
                bot.send_message(ChatId(chat), text).await?;
            }
        }
    }
    Ok(())
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
    match app.store.similar_answers(question, SIMILAR).await {
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

fn default_tutor_phone(app: &Ctx) -> Option<String> {
    app.config
        .tutoring
        .default_tutor_phone
        .as_deref()
        .and_then(|p| domain::phone::normalize(p).ok())
}

// ----- the thread -----

/// Any message of a registered person that replies to another message: continues a question
/// thread, or gets help if the replied message belongs to none.
pub async fn on_reply(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let Some(replied) = msg.reply_to_message() else {
        return reply(&bot, &msg, tr(lang, K::ReplyUnknown).to_string()).await;
    };
    let replied_id = i64::from(replied.id.0);
    let mut plan = app
        .store
        .plan_relay(person.id, msg.chat.id.0, replied_id)
        .await;
    // A card is recorded in its thread just after Telegram accepted it: a reply to one of
    // the bot's messages may overtake that by a moment, so look again before giving help.
    let from_bot = replied.from.as_ref().is_some_and(|u| u.is_bot);
    for _ in 0..RECORD_RETRIES {
        let unknown = matches!(
            plan,
            Err(QuestionFailure::Refused(QuestionRefusal::UnknownMessage))
        );
        if !(unknown && from_bot) {
            break;
        }
        tokio::time::sleep(RECORD_WAIT).await;
        plan = app
            .store
            .plan_relay(person.id, msg.chat.id.0, replied_id)
            .await;
    }
    match plan {
        Ok(plan) => relay(&bot, &app, &msg, &person, plan).await,
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

fn rate_keyboard(lang: Lang, question: i64, chosen: Option<bool>) -> InlineKeyboardMarkup {
    let button = |helpful: bool, k: K| {
        let label = tr(lang, k);
        let text = if chosen == Some(helpful) {
            fill(tr(lang, K::RateChosen), &[("label", label)])
        } else {
            label.to_string()
        };
        InlineKeyboardButton::callback(text, Callback::Rate { question, helpful }.encode())
    };
    InlineKeyboardMarkup::new([[
        button(true, K::RateHelpful),
        button(false, K::RateUnhelpful),
    ]])
}

/// Copies the message to the other side of the thread as a reply there, and records both.
async fn relay(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    plan: RelayPlan,
) -> HandlerResult {
    let lang = app.lang_of(person);
    let mut copy = bot.copy_message(ChatId(plan.to_chat_id), msg.chat.id, msg.id);
    if let Some(to) = plan.reply_to.and_then(|m| i32::try_from(m).ok()) {
        copy = copy
            .reply_parameters(ReplyParameters::new(MessageId(to)).allow_sending_without_reply());
    }
    if !plan.from_cadre {
        // Answers reach the cadre with the rating buttons.
        let to_lang = plan.to_lang.unwrap_or(app.config.language);
        copy = copy.reply_markup(rate_keyboard(to_lang, plan.question_id, None));
    }
    let copied = match copy.await {
        Ok(id) => i64::from(id.0),
        Err(e) => {
            tracing::warn!(error = %e, question = plan.question_id, "relay failed");
            let t = fill(tr(lang, K::RelayFailed), &[("name", &plan.to_name)]);
            return reply(bot, msg, t).await;
        }
    };
    let input = to_log_input(msg);
    let kind = input.as_ref().map_or("other", |i| i.kind());
    let source = RelaySource {
        chat_id: msg.chat.id.0,
        message_id: i64::from(msg.id.0),
        kind,
        text: input.as_ref().and_then(|i| i.clean_text()),
    };
    match app
        .store
        .record_relay(&plan, source, copied, app.clock.now())
        .await
    {
        Ok(true) => app.wake_sender(),
        Ok(false) => {}
        // Delivered, but replies to the copy will not find the thread.
        Err(e) => tracing::error!(error = %e, question = plan.question_id, "relay not recorded"),
    }
    let t = fill(tr(lang, K::RelayDone), &[("name", &plan.to_name)]);
    reply(bot, msg, t).await
}

// ----- passing on -----

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

// ----- rating -----

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

// ----- /questions -----

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
                        ("text", &summary(lang, &q.kind, Some(&q.text), 40)),
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
                        ("text", &summary(lang, &q.kind, Some(&q.text), 40)),
                    ],
                ));
            }
            parts.push(text);
        }
    }
    reply(&bot, &msg, parts.join("\n\n")).await
}

// ----- notifications -----

/// The card of an assignment as its tutor sees it; the 转交 button only while he holds it.
fn card(
    app: &Ctx,
    lang: Lang,
    q: &Question,
    a: &Assignment,
    thread: &[ThreadEntry],
) -> (String, Option<InlineKeyboardMarkup>) {
    let time = q
        .created_at
        .with_timezone(&app.config.tz())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let mut text = fill(
        tr(lang, K::QuestionCard),
        &[
            ("id", &q.id.to_string()),
            ("topic", q.topic.as_deref().unwrap_or_default()),
            ("name", &q.person_name),
            ("unit", &q.person_unit),
            ("time", &time),
            ("text", &clip(&q.text, CARD_TEXT_CHARS)),
        ],
    );
    if q.kind != "text" {
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::CardAttachment),
            &[("kind", kind_label(lang, &q.kind))],
        ));
    }
    let history: Vec<&ThreadEntry> = thread.iter().skip(1).collect();
    if !history.is_empty() {
        text.push_str("\n\n");
        text.push_str(tr(lang, K::CardHistory));
        let skip = history.len().saturating_sub(HISTORY_LINES);
        for e in history.iter().skip(skip) {
            text.push_str(&format!(
                "\n· {}：{}",
                e.author_name.as_deref().unwrap_or("?"),
                summary(lang, &e.kind, e.text.as_deref(), HISTORY_CHARS)
            ));
        }
    }
    let note = match (a.reason, a.via) {
        (AssignReason::Passed, _) => Some(fill(
            tr(lang, K::CardPassedBy),
            &[("by", a.passed_by.as_deref().unwrap_or("?"))],
        )),
        (AssignReason::Reassigned, _) => Some(fill(
            tr(lang, K::CardReassigned),
            &[(
                "hours",
                &app.config.tutoring.reassign_after_hours.to_string(),
            )],
        )),
        (AssignReason::Asked, Via::DefaultTutor) => Some(tr(lang, K::CardViaDefault).to_string()),
        (AssignReason::Asked, Via::Admin) => Some(tr(lang, K::CardViaAdmin).to_string()),
        (AssignReason::Asked, Via::Topic) => None,
    };
    if let Some(note) = note {
        text.push_str("\n\n");
        text.push_str(&note);
    }
    text.push_str("\n\n");
    if let Some((reason, to)) = &a.ended {
        let k = if *reason == AssignReason::Reassigned {
            K::CardReassignedAway
        } else {
            K::CardPassedAway
        };
        text.push_str(&fill(tr(lang, k), &[("to", to.as_deref().unwrap_or("?"))]));
        return (text, None);
    }
    text.push_str(tr(
        lang,
        if q.status == QuestionStatus::Answered {
            K::CardAnswered
        } else {
            K::CardAsk
        },
    ));
    let pass = InlineKeyboardButton::callback(
        tr(lang, K::PassButton),
        Callback::PassMenu { question: q.id }.encode(),
    );
    (text, Some(InlineKeyboardMarkup::new([[pass]])))
}

/// Renders a tutoring notification in `lang`; `None` when there is nothing to say any more
/// (the question is gone, or a reminder came too late).
pub async fn render(
    app: &Ctx,
    lang: Lang,
    n: &Notification,
) -> Result<Option<(String, Option<InlineKeyboardMarkup>)>, StorageError> {
    let store = &app.store;
    Ok(match *n {
        Notification::QuestionCard {
            question_id,
            assignment_id,
            ..
        } => {
            let (Some(q), Some(a)) = (
                store.question(question_id).await?,
                store.assignment(assignment_id).await?,
            ) else {
                return Ok(None);
            };
            let thread = store.thread(question_id).await?;
            Some(card(app, lang, &q, &a, &thread))
        }
        Notification::QuestionReminder {
            question_id,
            assignment_id,
            overdue,
        } => {
            let Some(q) = store.question(question_id).await? else {
                return Ok(None);
            };
            let Some(a) = store.assignment(assignment_id).await? else {
                return Ok(None);
            };
            if q.status != QuestionStatus::Open || q.assignment_id != Some(assignment_id) {
                return Ok(None);
            }
            let hours = (app.clock.now() - a.assigned_at).num_hours().to_string();
            let k = if overdue {
                K::QuestionOverdue
            } else {
                K::QuestionReminder
            };
            let text = fill(
                tr(lang, k),
                &[
                    ("id", &q.id.to_string()),
                    ("topic", q.topic.as_deref().unwrap_or_default()),
                    ("hours", &hours),
                    (
                        "text",
                        &summary(lang, &q.kind, Some(&q.text), CARD_TEXT_CHARS),
                    ),
                ],
            );
            Some((text, None))
        }
        Notification::QuestionPassed {
            question_id,
            tutor_id,
            reassigned,
        } => {
            let (Some(q), Some(tutor)) = (
                store.question(question_id).await?,
                store.person(tutor_id).await?,
            ) else {
                return Ok(None);
            };
            let k = if reassigned {
                K::QuestionReassignedNote
            } else {
                K::QuestionPassedNote
            };
            let text = fill(
                tr(lang, k),
                &[
                    ("id", &q.id.to_string()),
                    ("topic", q.topic.as_deref().unwrap_or_default()),
                    ("tutor", &tutor.name),
                ],
            );
            Some((text, None))
        }
        Notification::QuestionRated {
            question_id,
            helpful,
        } => {
            let Some(q) = store.question(question_id).await? else {
                return Ok(None);
            };
            let k = if helpful {
                K::QuestionRatedHelpful
            } else {
                K::QuestionRatedUnhelpful
            };
            let text = fill(
                tr(lang, k),
                &[("id", &q.id.to_string()), ("name", &q.person_name)],
            );
            Some((text, None))
        }
        _ => None,
    })
}

/// Called by the sender when a notification was delivered: a card or a reminder becomes part
/// of its question's thread (replying to it answers), and under a new card the thread's
/// attachments (the question's photo, files sent before a pass-on) are copied.
pub async fn on_delivered(bot: &Bot, app: &Ctx, item: &OutboxItem, message_id: Option<i64>) {
    let (question_id, fresh_card) = match item.notification {
        Some(Notification::QuestionCard { question_id, .. }) => {
            (question_id, item.sent_message_id.is_none())
        }
        Some(Notification::QuestionReminder { question_id, .. }) => (question_id, false),
        _ => return,
    };
    let (Some(card), Some(person_id)) = (message_id, item.person_id) else {
        return;
    };
    let now = app.clock.now();
    let recorded = app
        .store
        .record_thread_message(question_id, person_id, item.chat_id, card, None, None, now)
        .await;
    match recorded {
        Ok(true) if fresh_card => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, question_id, "card not recorded in its thread");
            return;
        }
    }
    let thread = match app.store.thread(question_id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, question_id, "cannot read the thread");
            return;
        }
    };
    let media: Vec<&ThreadEntry> = thread.iter().filter(|e| e.kind != "text").collect();
    let skip = media.len().saturating_sub(MAX_COPIES);
    for e in media.into_iter().skip(skip) {
        let Ok(source) = i32::try_from(e.message_id) else {
            continue;
        };
        let Ok(card_id) = i32::try_from(card) else {
            return;
        };
        let copied = bot
            .copy_message(ChatId(item.chat_id), ChatId(e.chat_id), MessageId(source))
            .reply_parameters(
                ReplyParameters::new(MessageId(card_id)).allow_sending_without_reply(),
            )
            .await;
        match copied {
            Ok(id) => {
                let peer = Some((e.chat_id, e.message_id));
                let id = i64::from(id.0);
                if let Err(err) = app
                    .store
                    .record_thread_message(
                        question_id,
                        person_id,
                        item.chat_id,
                        id,
                        e.author_id,
                        peer,
                        now,
                    )
                    .await
                {
                    tracing::warn!(error = %err, question_id, "copy not recorded");
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, question_id, "attachment not copied to the card")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_label_attachments_and_clip_long_text() {
        assert_eq!(summary(Lang::Zh, "text", Some("喷三唑酮"), 10), "喷三唑酮");
        assert_eq!(summary(Lang::Zh, "photo", Some("叶片"), 10), "[图片] 叶片");
        assert_eq!(summary(Lang::Zh, "voice", None, 10), "[语音]");
        assert_eq!(summary(Lang::En, "document", None, 10), "[file]");
        assert_eq!(summary(Lang::Zh, "text", Some("一二三四五"), 3), "一二三…");
        assert_eq!(
            summary(Lang::Zh, "text", Some("两行\n文字"), 10),
            "两行 文字"
        );
    }

    #[test]
    fn rating_buttons_mark_the_choice() {
        let k = rate_keyboard(Lang::Zh, 7, Some(true));
        let texts: Vec<&str> = k.inline_keyboard[0]
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(texts, ["✅ 👍 有帮助", "👎 没帮助"]);
    }
}
