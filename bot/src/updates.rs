//! Work updates (驻村动态): `/update` from a reporter (text, photos or an album captioned
//! `/update`, or `/update` alone and then the brief), the choice of unit for a reporter of
//! several, edits, the bulletin channel post, and `/feed`.

use crate::answer::{alert, db_down, reply};
use crate::callback::Callback;
use crate::dialogue::{self, Dialogue, UpdateDraft};
use crate::texts::{K, fill, is_cancel_word, tr};
use crate::worklog::to_log_input;
use crate::{Ctx, HandlerResult};
use domain::Role;
use domain::attendance::local_date;
use domain::config::Lang;
use domain::updates::{UpdateRefusal, iso_week};
use domain::worklog::AttachmentKind;
use storage::{Failure, FeedEntry, NewUpdate, Person, UpdatePhoto, UpdatePost, UpdateRecorded};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ReplyParameters};

/// Updates per `/feed` page.
const PAGE: i64 = 10;
/// How much of an update's first line a feed line shows.
const FEED_LINE_CHARS: usize = 40;

/// The bulletin post of an update: headed with the unit's name and date, then the brief.
pub fn bulletin_text(lang: Lang, post: &UpdatePost) -> String {
    let mut text = fill(
        tr(lang, K::BulletinHeader),
        &[("unit", &post.unit_name), ("date", &post.day.to_string())],
    );
    if let Some(body) = post.text.as_deref().filter(|t| !t.is_empty()) {
        text.push_str("\n\n");
        text.push_str(body);
    }
    text
}

/// The photos of a message, or `Err` if it carries something an update cannot be (a
/// video, voice, file, location, sticker…).
fn photos_of(msg: &Message) -> Result<Vec<UpdatePhoto>, ()> {
    let input = to_log_input(msg).ok_or(())?;
    if input.location.is_some() {
        return Err(());
    }
    input
        .attachments
        .into_iter()
        .map(|a| match a.kind {
            AttachmentKind::Photo => Ok(UpdatePhoto {
                file_id: a.file_id,
                file_unique_id: a.file_unique_id,
            }),
            _ => Err(()),
        })
        .collect()
}

/// The text after a leading `/update` (or `/update@bot`), trimmed.
fn strip_command(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("/update") else {
        return t;
    };
    let rest = match rest.strip_prefix('@') {
        Some(r) => r.find(char::is_whitespace).map_or("", |i| &r[i..]),
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest,
        // `/updates…` is some other word.
        None => return t,
    };
    rest.trim()
}

fn not_reporter(lang: Lang) -> String {
    tr(lang, K::UpdateNotReporter).to_string()
}

/// `/update TEXT`, a photo or album captioned `/update …`, or `/update` alone (a dialogue).
pub async fn command(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    args: String,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    if !person.roles.contains(Role::Reporter) {
        return reply(&bot, &msg, not_reporter(lang)).await;
    }
    let Ok(photos) = photos_of(&msg) else {
        return reply(&bot, &msg, tr(lang, K::UpdateUnsupported).to_string()).await;
    };
    let text = args.trim();
    if text.is_empty() && photos.is_empty() {
        if let Err(e) = dialogue::save(&app, &person, &Dialogue::UpdateText).await {
            return db_down(&bot, &app, &msg, &person, e).await;
        }
        return reply(&bot, &msg, tr(lang, K::UpdatePrompt).to_string()).await;
    }
    submit(&bot, &app, &msg, &person, draft_of(&msg, text, photos)).await
}

fn draft_of(msg: &Message, text: &str, photos: Vec<UpdatePhoto>) -> UpdateDraft {
    UpdateDraft {
        text: (!text.is_empty()).then(|| text.to_string()),
        photos,
        media_group_id: msg.media_group_id().map(|g| g.0.clone()),
        chat_id: msg.chat.id.0,
        message_id: i64::from(msg.id.0),
    }
}

/// The brief sent after `/update` alone.
pub async fn dialogue_text(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let text = msg.text().or(msg.caption()).unwrap_or_default().trim();
    if is_cancel_word(text) {
        return crate::leave::cancel_dialogue(bot, app, msg, person).await;
    }
    let Ok(photos) = photos_of(&msg) else {
        return reply(&bot, &msg, tr(lang, K::UpdateUnsupported).to_string()).await;
    };
    if text.is_empty() && photos.is_empty() {
        return reply(&bot, &msg, tr(lang, K::UpdatePrompt).to_string()).await;
    }
    submit(&bot, &app, &msg, &person, draft_of(&msg, text, photos)).await
}

/// A message while the unit is being chosen: a further part of the draft's album joins the
/// draft; anything else is asked to choose first.
pub async fn dialogue_choose(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    mut draft: UpdateDraft,
) -> HandlerResult {
    let text = msg.text().or(msg.caption()).unwrap_or_default().trim();
    if is_cancel_word(text) {
        return crate::leave::cancel_dialogue(bot, app, msg, person).await;
    }
    let same_album = draft.media_group_id.is_some()
        && msg.media_group_id().map(|g| &g.0) == draft.media_group_id.as_ref();
    if same_album {
        draft.photos.extend(photos_of(&msg).unwrap_or_default());
        if draft.text.is_none() && !text.is_empty() {
            draft.text = Some(text.to_string());
        }
        if let Err(e) = dialogue::save(&app, &person, &Dialogue::UpdateUnit { draft }).await {
            return db_down(&bot, &app, &msg, &person, e).await;
        }
        return Ok(());
    }
    ask_unit(&bot, &app, &msg, &person).await
}

/// Checks the brief, then records it for the reporter's one unit or asks which unit.
async fn submit(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    draft: UpdateDraft,
) -> HandlerResult {
    let lang = app.lang_of(person);
    let max = app.config.logs.max_text_chars;
    let chars = draft.text.as_deref().map_or(0, |t| t.chars().count());
    if chars > max {
        let t = fill(
            tr(lang, K::UpdateTooLong),
            &[("chars", &chars.to_string()), ("max", &max.to_string())],
        );
        return reply(bot, msg, t).await;
    }
    let units = match app.store.reporter_units(person.id).await {
        Ok(u) => u,
        Err(e) => return db_down(bot, app, msg, person, e).await,
    };
    match units.as_slice() {
        [] => reply(bot, msg, not_reporter(lang)).await,
        [unit] => {
            if person.dialogue.is_some()
                && let Err(e) = dialogue::clear(app, person).await
            {
                return db_down(bot, app, msg, person, e).await;
            }
            record(bot, app, person, &draft, unit.unit_id, None).await
        }
        _ => {
            let d = Dialogue::UpdateUnit { draft };
            if let Err(e) = dialogue::save(app, person, &d).await {
                return db_down(bot, app, msg, person, e).await;
            }
            ask_unit(bot, app, msg, person).await
        }
    }
}

/// Asks a reporter of several units which one the update is for.
async fn ask_unit(bot: &Bot, app: &Ctx, msg: &Message, person: &Person) -> HandlerResult {
    let units = match app.store.reporter_units(person.id).await {
        Ok(u) => u,
        Err(e) => return db_down(bot, app, msg, person, e).await,
    };
    let rows = units.iter().map(|u| {
        vec![InlineKeyboardButton::callback(
            u.path.clone(),
            Callback::UpdateUnit { unit: u.unit_id }.encode(),
        )]
    });
    bot.send_message(msg.chat.id, tr(app.lang_of(person), K::UpdateChooseUnit))
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply())
        .reply_markup(InlineKeyboardMarkup::new(rows))
        .await?;
    Ok(())
}

/// Records the update (or a further album part) for `unit_id` and answers with the unit's
/// count of this week. Authority is checked by the store, in the same transaction.
async fn record(
    bot: &Bot,
    app: &Ctx,
    person: &Person,
    draft: &UpdateDraft,
    unit_id: i64,
    update_id: Option<i64>,
) -> HandlerResult {
    let lang = app.lang_of(person);
    let now = app.clock.now();
    let day = local_date(now, app.config.tz());
    // An album's post waits for its last part, like the album's receipt.
    let wait = match draft.media_group_id {
        Some(_) => chrono::Duration::milliseconds(app.config.logs.album_wait_ms as i64),
        None => chrono::Duration::zero(),
    };
    let new = NewUpdate {
        person_id: person.id,
        unit_id,
        day,
        at: now,
        text: draft.text.as_deref(),
        photos: &draft.photos,
        media_group_id: draft.media_group_id.as_deref(),
        chat_id: draft.chat_id,
        message_id: draft.message_id,
        update_id,
        bulletin: app
            .config
            .telegram
            .bulletin_chat_id
            .map(|c| (c, now + wait)),
    };
    let text = match app.store.record_update(new).await {
        Ok(UpdateRecorded::New {
            unit_name,
            week_updates,
            ..
        }) => {
            app.wake_sender();
            let (monday, sunday) = iso_week(day);
            fill(
                tr(lang, K::UpdateRecorded),
                &[
                    ("unit", &unit_name),
                    ("count", &week_updates.to_string()),
                    ("monday", &monday.to_string()),
                    ("sunday", &sunday.to_string()),
                ],
            )
        }
        Ok(UpdateRecorded::AlbumPart { .. } | UpdateRecorded::Duplicate) => return Ok(()),
        Err(Failure::Refused(UpdateRefusal::NotReporter)) => not_reporter(lang),
        Err(Failure::Refused(UpdateRefusal::NotHisUnit)) => {
            tr(lang, K::UpdateNotYourUnit).to_string()
        }
        Err(Failure::Storage(e)) => {
            tracing::error!(error = %e, person_id = person.id, "update not recorded");
            tr(lang, K::DbUnavailable).to_string()
        }
    };
    let reply_to = i32::try_from(draft.message_id).map(MessageId);
    let req = bot.send_message(ChatId(draft.chat_id), text);
    match reply_to {
        Ok(id) => {
            req.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply())
                .await?
        }
        Err(_) => req.await?,
    };
    Ok(())
}

/// A further part of an album recorded as an update (its parts after the first carry no
/// `/update` caption and arrive as ordinary messages): `true` if it was one and is handled.
pub async fn album_part(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    update_id: Option<i64>,
) -> Result<bool, crate::HandlerError> {
    let Some(group) = msg.media_group_id() else {
        return Ok(false);
    };
    if !person.roles.contains(Role::Reporter) {
        return Ok(false);
    }
    let unit_id = match app.store.update_album(person.id, &group.0).await {
        Ok(Some((_, unit_id))) => unit_id,
        Ok(None) => return Ok(false),
        Err(e) => {
            db_down(bot, app, msg, person, e).await?;
            return Ok(true);
        }
    };
    let text = msg.caption().map(strip_command).unwrap_or_default();
    let draft = draft_of(msg, text, photos_of(msg).unwrap_or_default());
    record(bot, app, person, &draft, unit_id, update_id).await?;
    Ok(true)
}

/// The unit button of a reporter of several units: records the draft for that unit.
pub async fn on_unit(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    unit: i64,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let Some(Dialogue::UpdateUnit { draft }) = dialogue::decode(&app, &person).await else {
        return alert(&bot, &q, tr(lang, K::AlertChoiceExpired).to_string(), true).await;
    };
    if let Err(e) = dialogue::clear(&app, &person).await {
        tracing::error!(error = %e, "cannot clear the update dialogue");
        return alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await;
    }
    bot.answer_callback_query(q.id.clone()).await?;
    if let Some(m) = q.regular_message() {
        let name = app
            .store
            .unit_name(unit)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let text = fill(tr(lang, K::UpdateUnitChosen), &[("unit", &name)]);
        if let Err(e) = bot.edit_message_text(m.chat.id, m.id, text).await {
            tracing::warn!(error = %e, "cannot edit the unit choice");
        }
    }
    record(&bot, &app, &person, &draft, unit, None).await
}

/// An edited message of a reporter: if it is one of his updates, the brief follows the
/// edit; otherwise it may be a log's.
pub async fn on_edit(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    if person.roles.contains(Role::Reporter) {
        let lang = app.lang_of(&person);
        let text = msg
            .text()
            .or(msg.caption())
            .map(strip_command)
            .filter(|t| !t.is_empty());
        let max = app.config.logs.max_text_chars;
        let chars = text.map_or(0, |t| t.chars().count());
        let (chat, id, now) = (msg.chat.id.0, i64::from(msg.id.0), app.clock.now());
        let outcome = if chars > max {
            app.store.update_of_message(person.id, chat, id).await
        } else {
            app.store.edit_update(person.id, chat, id, text, now).await
        };
        match outcome {
            Ok(Some(_)) if chars > max => {
                let t = fill(
                    tr(lang, K::UpdateTooLong),
                    &[("chars", &chars.to_string()), ("max", &max.to_string())],
                );
                return reply(&bot, &msg, t).await;
            }
            Ok(Some(_)) => return reply(&bot, &msg, tr(lang, K::UpdateEdited).to_string()).await,
            Ok(None) => {}
            Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
        }
    }
    crate::worklog::on_edit(bot, app, msg, person).await
}

/// `/feed` or `/feed UNIT`.
pub async fn feed(bot: Bot, app: Ctx, msg: Message, person: Person, args: String) -> HandlerResult {
    let lang = app.lang_of(&person);
    let name = args.trim();
    let unit = if name.is_empty() {
        0
    } else {
        match app.store.find_unit(name).await {
            Ok(Some((id, _))) => id,
            Ok(None) => {
                let t = fill(tr(lang, K::FeedUnknownUnit), &[("unit", name)]);
                return reply(&bot, &msg, t).await;
            }
            Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
        }
    };
    let (text, keyboard) = match page(&app, lang, unit, 0).await {
        Ok(p) => p,
        Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    let req = bot.send_message(msg.chat.id, text);
    match keyboard {
        Some(k) => req.reply_markup(k).await?,
        None => req.await?,
    };
    Ok(())
}

/// The 更多 button under a feed page: the page edits into the next one.
pub async fn on_page(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    (unit, offset): (i64, i64),
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let (text, keyboard) = match page(&app, lang, unit, offset.max(0)).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the feed");
            return alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await;
        }
    };
    bot.answer_callback_query(q.id.clone()).await?;
    if let Some(m) = q.regular_message() {
        let req = bot.edit_message_text(m.chat.id, m.id, text);
        match keyboard {
            Some(k) => req.reply_markup(k).await?,
            None => req.await?,
        };
    }
    Ok(())
}

/// One page of the feed (`unit` 0: all units) from `offset`, with 更多 if there is more.
async fn page(
    app: &Ctx,
    lang: Lang,
    unit: i64,
    offset: i64,
) -> Result<(String, Option<InlineKeyboardMarkup>), storage::StorageError> {
    let unit_id = (unit != 0).then_some(unit);
    let off = u32::try_from(offset).unwrap_or(u32::MAX);
    let mut entries = app.store.feed(unit_id, off, PAGE as u32 + 1).await?;
    let more = entries.len() as i64 > PAGE;
    entries.truncate(PAGE as usize);
    if entries.is_empty() {
        let k = if offset > 0 {
            K::FeedNoMore
        } else {
            K::FeedEmpty
        };
        return Ok((tr(lang, k).to_string(), None));
    }
    let from = (offset + 1).to_string();
    let to = (offset + entries.len() as i64).to_string();
    let mut text = match unit_id {
        None => fill(tr(lang, K::FeedHeader), &[("from", &from), ("to", &to)]),
        Some(id) => {
            let name = app.store.unit_name(id).await?.unwrap_or_default();
            fill(
                tr(lang, K::FeedHeaderUnit),
                &[("unit", &name), ("from", &from), ("to", &to)],
            )
        }
    };
    for e in &entries {
        text.push('\n');
        text.push_str(&feed_line(lang, e));
    }
    let keyboard = more.then(|| {
        InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
            tr(lang, K::FeedMore),
            Callback::FeedPage {
                unit,
                offset: offset + PAGE,
            }
            .encode(),
        )]])
    });
    Ok((text, keyboard))
}

/// `date unit: first line` (shortened), with the number of photos.
fn feed_line(lang: Lang, e: &FeedEntry) -> String {
    let first = e
        .text
        .as_deref()
        .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or_default();
    let mut line: String = first.chars().take(FEED_LINE_CHARS).collect();
    if first.chars().count() > FEED_LINE_CHARS {
        line.push('…');
    }
    if e.photos > 0 {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&fill(
            tr(lang, K::FeedPhotos),
            &[("n", &e.photos.to_string())],
        ));
    }
    fill(
        tr(lang, K::FeedItem),
        &[
            ("date", &e.day.to_string()),
            ("unit", &e.unit_name),
            ("line", &line),
        ],
    )
}

/// The `update-nudge` message.
pub async fn nudge_text(
    app: &Ctx,
    lang: Lang,
    unit_id: i64,
    monday: chrono::NaiveDate,
) -> Result<Option<String>, storage::StorageError> {
    Ok(app
        .store
        .unit_week(unit_id, monday)
        .await?
        .map(|(name, _)| {
            fill(
                tr(lang, K::UpdateNudge),
                &[("unit", &name), ("monday", &monday.to_string())],
            )
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_stripped_from_a_caption_or_an_edit() {
        for (text, want) in [
            ("/update 今天开会", "今天开会"),
            ("/update@zhucun_bot  今天", "今天"),
            ("/update", ""),
            ("  普通文字 ", "普通文字"),
            ("/updates 不是命令", "/updates 不是命令"),
        ] {
            assert_eq!(strip_command(text), want, "{text}");
        }
    }
}
