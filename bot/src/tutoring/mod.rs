//! Tutoring: `/ask` (one message or a dialogue) and its topic buttons, the receipt with
//! similar earlier answers (`ask`), the tutor's card and its rendering as a notification
//! (`card`), replies relayed both ways through the outbox and ratings (`thread`), the 转交
//! menu (`pass`), and `/questions`. Routing, authority and deadlines live in
//! `domain::tutoring` and `storage`; handlers here parse, call one operation and render.

mod ask;
mod card;
mod pass;
mod thread;

pub use ask::{ask, dialogue_step, list, on_topic};
pub use card::{on_delivered, on_given_up, render};
pub use pass::{on_pass_menu, on_pass_topic, on_pass_tutor};
pub use thread::{on_rate, on_reply};

use crate::answer::alert;
use crate::callback::Callback;
use crate::texts::{K, fill, tr};
use crate::{Ctx, HandlerResult};
use domain::config::Lang;
use storage::{MessageKind, Person, QuestionFailure, QuestionRefusal, QuestionStatus};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// How many earlier answers come with the receipt.
pub(super) const SIMILAR: usize = 3;
/// Lines of earlier conversation on a card, and characters per line.
pub(super) const HISTORY_LINES: usize = 10;
pub(super) const HISTORY_CHARS: usize = 80;
/// Characters of the question on a card (a card must fit one Telegram message).
pub(super) const CARD_TEXT_CHARS: usize = 2500;
/// Attachments of the thread copied under a new tutor's card.
pub(super) const MAX_COPIES: usize = 5;
/// Tutors offered in the 转交 menu.
pub(super) const PASS_TUTORS: usize = 8;

pub(super) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The label of a message kind that is not plain text, e.g. `[图片]`.
pub(super) fn kind_label(lang: Lang, kind: MessageKind) -> &'static str {
    use domain::worklog::AttachmentKind as A;
    tr(
        lang,
        match kind {
            MessageKind::Attachment(A::Photo) => K::KindPhoto,
            MessageKind::Attachment(A::Voice | A::Audio) => K::KindVoice,
            MessageKind::Attachment(A::Video | A::VideoNote) => K::KindVideo,
            MessageKind::Attachment(A::Document) => K::KindDocument,
            MessageKind::Text | MessageKind::Location | MessageKind::Other => K::KindOther,
        },
    )
}

/// A message's content in one line: its text, with the label of an attachment before it.
pub(super) fn summary(lang: Lang, kind: MessageKind, text: Option<&str>, max: usize) -> String {
    let text = text.map(|t| clip(&t.replace('\n', " "), max));
    match (kind, text) {
        (MessageKind::Text, Some(t)) => t,
        (MessageKind::Text, None) => String::new(),
        (k, Some(t)) => format!("{} {t}", kind_label(lang, k)),
        (k, None) => kind_label(lang, k).to_string(),
    }
}

pub(super) fn status_name(lang: Lang, s: QuestionStatus) -> &'static str {
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
pub(super) fn refusal_text(lang: Lang, r: &QuestionRefusal) -> String {
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

pub(super) async fn refused_press(
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

/// Edits the message the button was on (or sends a new one if it cannot be reached).
pub(super) async fn edit_pressed(
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

pub(super) fn default_tutor_phone(app: &Ctx) -> Option<String> {
    app.config
        .tutoring
        .default_tutor_phone
        .as_deref()
        .and_then(|p| domain::phone::normalize(p).ok())
}

pub(super) fn rate_keyboard(
    lang: Lang,
    question: i64,
    chosen: Option<bool>,
) -> InlineKeyboardMarkup {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_label_attachments_and_clip_long_text() {
        assert_eq!(
            summary(Lang::Zh, MessageKind::Text, Some("喷三唑酮"), 10),
            "喷三唑酮"
        );
        assert_eq!(
            summary(Lang::Zh, MessageKind::parse("photo"), Some("叶片"), 10),
            "[图片] 叶片"
        );
        assert_eq!(
            summary(Lang::Zh, MessageKind::parse("voice"), None, 10),
            "[语音]"
        );
        assert_eq!(
            summary(Lang::En, MessageKind::parse("document"), None, 10),
            "[file]"
        );
        assert_eq!(
            summary(Lang::Zh, MessageKind::Text, Some("一二三四五"), 3),
            "一二三…"
        );
        assert_eq!(
            summary(Lang::Zh, MessageKind::Text, Some("两行\n文字"), 10),
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
