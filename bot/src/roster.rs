//! The roster as an office keeps it: a spreadsheet (XLSX, XLS, ODS: the first sheet) or a
//! CSV file (UTF-8 with or without BOM, or GB18030), headed in English or Chinese. The CLI's
//! `import` reads it with [`read`]; an admin may also send it to the bot with the caption
//! `#roster`: he gets a preview (who is added, updated, deactivated) with 确认导入 / 取消,
//! and an import that deactivates over a fifth of the roster is confirmed twice. The file
//! waits in the database between the preview and the button; the rule is
//! `domain::roster::confirm`, checked in the transaction that imports.

use crate::answer::{alert, db_down, reply};
use crate::callback::Callback;
use crate::commands::say;
use crate::policy::{Fetch, download};
use crate::texts::{K, fill, tr};
use crate::{Ctx, HandlerResult};
use domain::config::Lang;
use domain::roster::{self, Confirmation, RosterEntry, RosterError, UploadRefusal};
use extract::table::Table;
use storage::{Confirmed, Failure, ImportSummary, Person};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// Why a roster file cannot be imported.
#[derive(Debug)]
pub enum RosterFileError {
    /// Not a table we can read (the reason, one line).
    Unreadable(String),
    /// Rows with problems: every one of them.
    Invalid(Vec<RosterError>),
}

/// Reads and validates a whole roster file, whatever its format.
pub fn read(bytes: &[u8], topics: &[String]) -> Result<Vec<RosterEntry>, RosterFileError> {
    let table =
        extract::table::read(bytes).map_err(|e| RosterFileError::Unreadable(e.to_string()))?;
    match table {
        Table::Csv(text) => roster::parse(&text, topics),
        Table::Rows(rows) => roster::parse_rows(rows, topics),
    }
    .map_err(RosterFileError::Invalid)
}

/// Names shown in a preview's lists before "等 N 人".
const NAMES_SHOWN: usize = 20;
/// Errors shown in the chat before "还有 N 处".
const ERRORS_SHOWN: usize = 15;

fn names(lang: Lang, list: &[String]) -> String {
    let shown = list[..list.len().min(NAMES_SHOWN)].join("、");
    if list.len() > NAMES_SHOWN {
        fill(
            tr(lang, K::RosterMoreNames),
            &[("names", &shown), ("n", &list.len().to_string())],
        )
    } else {
        shown
    }
}

/// The figures of an import (done or to be done), with the names of who changes.
fn summary_text(lang: Lang, s: &ImportSummary) -> String {
    let mut text = fill(
        tr(lang, K::RosterCounts),
        &[
            ("added", &s.added.to_string()),
            ("updated", &s.updated.to_string()),
            ("unchanged", &s.unchanged.to_string()),
            ("deactivated", &s.deactivated.len().to_string()),
            ("units", &s.units_created.to_string()),
        ],
    );
    for (key, list) in [
        (K::RosterAddedNames, &s.added_names),
        (K::RosterUpdatedNames, &s.updated_names),
        (K::RosterDeactivatedNames, &s.deactivated),
    ] {
        if !list.is_empty() {
            text.push('\n');
            text.push_str(&fill(tr(lang, key), &[("names", &names(lang, list))]));
        }
    }
    text
}

fn buttons(lang: Lang, upload: i64, second: bool) -> InlineKeyboardMarkup {
    let confirm = if second {
        K::RosterConfirmAgainButton
    } else {
        K::RosterConfirmButton
    };
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback(
            tr(lang, confirm),
            Callback::RosterConfirm { upload, second }.encode(),
        ),
        InlineKeyboardButton::callback(
            tr(lang, K::RosterCancelButton),
            Callback::RosterCancel { upload }.encode(),
        ),
    ]])
}

/// A message whose caption starts with `#roster`: the file is read, checked and previewed.
pub async fn on_file(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    // Authority first: a non-admin's file is never downloaded (storage checks again).
    if roster::may_import(person.roles).is_err() {
        return reply(&bot, &msg, tr(lang, K::RosterNotAdmin).to_string()).await;
    }
    let Some(doc) = msg.document() else {
        return reply(&bot, &msg, tr(lang, K::RosterNoFile).to_string()).await;
    };
    let max_mb = app.config.logs.max_file_mb;
    let bytes = match download(&bot, doc, max_mb).await {
        Ok(b) => b,
        Err(Fetch::TooBig) => {
            let t = say(
                &app,
                &person,
                K::RosterTooLarge,
                &[("max", &max_mb.to_string())],
            );
            return reply(&bot, &msg, t).await;
        }
        Err(Fetch::Failed(e)) => {
            tracing::warn!(error = %e, "roster: download failed");
            return reply(&bot, &msg, tr(lang, K::PolicyDownloadFailed).to_string()).await;
        }
    };
    let topics = app.config.tutoring.topics.clone();
    let owned = bytes.clone();
    let entries = match tokio::task::spawn_blocking(move || read(&owned, &topics)).await {
        Ok(Ok(entries)) => entries,
        Ok(Err(RosterFileError::Unreadable(why))) => {
            let t = say(&app, &person, K::RosterUnreadable, &[("reason", &why)]);
            return reply(&bot, &msg, t).await;
        }
        Ok(Err(RosterFileError::Invalid(errors))) => {
            return reply(&bot, &msg, errors_text(lang, &errors)).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "roster: reading task failed");
            let t = say(
                &app,
                &person,
                K::RosterUnreadable,
                &[("reason", "internal error")],
            );
            return reply(&bot, &msg, t).await;
        }
    };
    let now = app.clock.now();
    let preview = match app.store.preview_roster(&entries, now).await {
        Ok(s) => s,
        Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    let upload = match app
        .store
        .save_roster_upload(person.id, doc.file_name.as_deref(), &bytes, now)
        .await
    {
        Ok(id) => id,
        Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    let file = doc.file_name.clone().unwrap_or_default();
    let text = format!(
        "{}\n{}\n{}",
        fill(
            tr(lang, K::RosterPreview),
            &[("file", &file), ("rows", &entries.len().to_string())]
        ),
        summary_text(lang, &preview),
        fill(
            tr(lang, K::RosterPreviewHint),
            &[("minutes", &roster::UPLOAD_VALID_MINUTES.to_string())]
        ),
    );
    bot.send_message(msg.chat.id, text)
        .reply_markup(buttons(lang, upload, false))
        .await?;
    Ok(())
}

/// Every problem of the file (the first few in the chat), and that nothing was imported.
fn errors_text(lang: Lang, errors: &[RosterError]) -> String {
    let mut lines: Vec<String> = errors
        .iter()
        .take(ERRORS_SHOWN)
        .map(|e| e.to_string())
        .collect();
    if errors.len() > ERRORS_SHOWN {
        lines.push(fill(
            tr(lang, K::RosterMoreErrors),
            &[("n", &(errors.len() - ERRORS_SHOWN).to_string())],
        ));
    }
    fill(
        tr(lang, K::RosterInvalid),
        &[
            ("n", &errors.len().to_string()),
            ("errors", &lines.join("\n")),
        ],
    )
}

/// What a refused press says.
fn refusal(lang: Lang, r: UploadRefusal) -> String {
    let key = match r {
        UploadRefusal::NotAdmin => K::RosterNotAdmin,
        UploadRefusal::Gone => K::RosterUploadGone,
        UploadRefusal::Done => K::RosterUploadDone,
        UploadRefusal::Expired => K::RosterUploadExpired,
    };
    fill(
        tr(lang, key),
        &[("minutes", &roster::UPLOAD_VALID_MINUTES.to_string())],
    )
}

/// Replaces the preview (and its buttons) with `text`, or sends it if the preview is gone.
async fn settle(
    bot: &Bot,
    q: &CallbackQuery,
    person: &Person,
    text: String,
    keyboard: Option<InlineKeyboardMarkup>,
) -> HandlerResult {
    match q.regular_message() {
        Some(m) => {
            let req = bot.edit_message_text(m.chat.id, m.id, text);
            match keyboard {
                Some(k) => req.reply_markup(k).await?,
                None => req.await?,
            };
        }
        None => {
            if let Some(chat) = person.chat_id {
                let req = bot.send_message(ChatId(chat), text);
                match keyboard {
                    Some(k) => req.reply_markup(k).await?,
                    None => req.await?,
                };
            }
        }
    }
    Ok(())
}

/// 确认导入 (or, asked again, 确认停用并导入).
pub async fn on_confirm(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    (upload, second): (i64, bool),
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let file = match app.store.roster_upload_file(upload, person.id).await {
        Ok(Some(f)) => f,
        Ok(None) => return alert(&bot, &q, refusal(lang, UploadRefusal::Gone), true).await,
        Err(e) => {
            tracing::error!(error = %e, "roster: cannot read the upload");
            return alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await;
        }
    };
    let topics = app.config.tutoring.topics.clone();
    // The file was valid at the preview; the configured topics may have changed since.
    let entries = match tokio::task::spawn_blocking(move || read(&file.bytes, &topics)).await {
        Ok(Ok(entries)) => entries,
        Ok(Err(RosterFileError::Invalid(errors))) => {
            alert(&bot, &q, String::new(), false).await?;
            return settle(&bot, &q, &person, errors_text(lang, &errors), None).await;
        }
        _ => {
            let t = fill(
                tr(lang, K::RosterUnreadable),
                &[("reason", "internal error")],
            );
            return alert(&bot, &q, t, true).await;
        }
    };
    let step = if second {
        Confirmation::Second
    } else {
        Confirmation::First
    };
    let now = app.clock.now();
    match app
        .store
        .confirm_roster_upload(upload, person.id, &entries, step, now)
        .await
    {
        Ok(Confirmed::Imported(s)) => {
            tracing::info!(
                upload,
                added = s.added,
                updated = s.updated,
                deactivated = s.deactivated.len(),
                "roster imported from the chat"
            );
            alert(&bot, &q, String::new(), false).await?;
            let text = format!(
                "{}\n{}",
                tr(lang, K::RosterImported),
                summary_text(lang, &s)
            );
            settle(&bot, &q, &person, text, None).await
        }
        Ok(Confirmed::AskAgain(s)) => {
            alert(&bot, &q, String::new(), false).await?;
            let share = s.deactivated.len() * 100 / s.active_before.max(1);
            let text = format!(
                "{}\n{}",
                fill(
                    tr(lang, K::RosterConfirmAgain),
                    &[
                        ("n", &s.deactivated.len().to_string()),
                        ("active", &s.active_before.to_string()),
                        ("share", &share.to_string()),
                        ("limit", &roster::SECOND_CONFIRMATION_PERCENT.to_string()),
                    ],
                ),
                summary_text(lang, &s)
            );
            settle(&bot, &q, &person, text, Some(buttons(lang, upload, true))).await
        }
        Err(Failure::Refused(r)) => alert(&bot, &q, refusal(lang, r), true).await,
        Err(Failure::Storage(e)) => {
            tracing::error!(error = %e, "roster: import not saved");
            alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await
        }
    }
}

/// 取消: the upload is dropped, the roster unchanged.
pub async fn on_cancel(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    upload: i64,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    match app
        .store
        .cancel_roster_upload(upload, person.id, app.clock.now())
        .await
    {
        Ok(()) => {
            alert(&bot, &q, String::new(), false).await?;
            settle(
                &bot,
                &q,
                &person,
                tr(lang, K::RosterCancelled).to_string(),
                None,
            )
            .await
        }
        Err(Failure::Refused(r)) => alert(&bot, &q, refusal(lang, r), true).await,
        Err(Failure::Storage(e)) => {
            tracing::error!(error = %e, "roster: cancel not saved");
            alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await
        }
    }
}
