//! Work logs: any ordinary message of a cadre is a log of today, with one receipt per log;
//! `/log DATE TEXT` backdates; `/me` shows the month; edits update the log.

use crate::answer::{db_down, reply};
use crate::commands::{help_text, say};
use crate::texts::{K, fill, tr};
use crate::{Ctx, HandlerResult, Redelivered};
use chrono::NaiveDate;
use domain::Role;
use domain::attendance::{Month, local_date, month_summary};
use domain::config::Lang;
use domain::dates::{BackdateError, backdate_check};
use domain::worklog::{
    Attachment, AttachmentKind, BackdateParseError, LogInput, LogLimits, LogRejection, check,
    parse_backdate_command,
};
use storage::{LogReceipt, NewLog, Person, Recorded};
use teloxide::prelude::*;
use teloxide::types::{FileMeta, ReplyParameters};

/// What a Telegram message carries, as a log; `None` for kinds that are not logs
/// (stickers, polls, games…).
pub fn to_log_input(msg: &Message) -> Option<LogInput> {
    fn file(
        kind: AttachmentKind,
        meta: &FileMeta,
        mime: Option<String>,
        name: Option<String>,
    ) -> Attachment {
        Attachment {
            kind,
            file_id: meta.id.0.clone(),
            file_unique_id: meta.unique_id.0.clone(),
            size: Some(u64::from(meta.size)),
            mime,
            file_name: name,
        }
    }
    let mut input = LogInput {
        text: msg.text().or(msg.caption()).map(str::to_string),
        media_group_id: msg.media_group_id().map(|g| g.0.clone()),
        ..Default::default()
    };
    if let Some(sizes) = msg.photo() {
        // The last size is the largest: that is the evidence worth keeping.
        if let Some(p) = sizes.last() {
            input.attachments.push(file(
                AttachmentKind::Photo,
                &p.file,
                Some("image/jpeg".into()),
                None,
            ));
        }
    } else if let Some(v) = msg.video() {
        input.attachments.push(file(
            AttachmentKind::Video,
            &v.file,
            v.mime_type.as_ref().map(|m| m.to_string()),
            v.file_name.clone(),
        ));
    } else if let Some(v) = msg.voice() {
        input.attachments.push(file(
            AttachmentKind::Voice,
            &v.file,
            v.mime_type.as_ref().map(|m| m.to_string()),
            None,
        ));
    } else if let Some(a) = msg.audio() {
        input.attachments.push(file(
            AttachmentKind::Audio,
            &a.file,
            a.mime_type.as_ref().map(|m| m.to_string()),
            a.file_name.clone(),
        ));
    } else if let Some(v) = msg.video_note() {
        input
            .attachments
            .push(file(AttachmentKind::VideoNote, &v.file, None, None));
    } else if let Some(a) = msg.animation() {
        input.attachments.push(file(
            AttachmentKind::Video,
            &a.file,
            a.mime_type.as_ref().map(|m| m.to_string()),
            a.file_name.clone(),
        ));
    } else if let Some(d) = msg.document() {
        input.attachments.push(file(
            AttachmentKind::Document,
            &d.file,
            d.mime_type.as_ref().map(|m| m.to_string()),
            d.file_name.clone(),
        ));
    } else if let Some(l) = msg.location() {
        input.location = Some((l.latitude, l.longitude));
    } else if let Some(v) = msg.venue() {
        input.location = Some((v.location.latitude, v.location.longitude));
        if input.text.is_none() {
            input.text = Some(v.title.clone());
        }
    } else if msg.text().is_none() {
        return None;
    }
    Some(input)
}

fn limits(app: &Ctx) -> LogLimits {
    LogLimits {
        max_text_chars: app.config.logs.max_text_chars,
        max_file_bytes: app.config.logs.max_file_mb.saturating_mul(1024 * 1024),
    }
}

fn rejection_text(lang: Lang, r: &LogRejection) -> String {
    match r {
        LogRejection::TooLong { chars, max } => fill(
            tr(lang, K::LogTooLong),
            &[("chars", &chars.to_string()), ("max", &max.to_string())],
        ),
        LogRejection::FileTooLarge { bytes, max } => fill(
            tr(lang, K::LogFileTooLarge),
            &[
                ("size", &format!("{:.1}", *bytes as f64 / 1048576.0)),
                ("max", &(max / 1048576).to_string()),
            ],
        ),
        LogRejection::Empty => tr(lang, K::LogEmpty).to_string(),
    }
}

fn month_label(lang: Lang, month: Month) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月", month.year(), month.month()),
        Lang::En => month.to_string(),
    }
}

/// The receipt of a log, in `lang`. The day count comes from the attendance rule itself.
pub fn receipt_text(lang: Lang, r: &LogReceipt) -> String {
    let month = Month::of(r.day);
    let days = month_summary(month, &r.month_log_dates, &[]).log_days;
    let month_name = match lang {
        Lang::Zh => month.month().to_string(),
        Lang::En => month.to_string(),
    };
    let mut text = fill(
        tr(lang, K::LogReceipt),
        &[
            ("seq", &r.seq.to_string()),
            ("date", &r.day.to_string()),
            ("month", &month_name),
            ("days", &days.to_string()),
        ],
    );
    if r.attachments > 0 {
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::LogReceiptFiles),
            &[("files", &r.attachments.to_string())],
        ));
    }
    text
}

/// A plain message of an active person whose update is not claimed yet: a log claims it in
/// its own transaction; any other answer claims it first.
pub async fn on_plain_message(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    update: Update,
    again: Redelivered,
) -> HandlerResult {
    let claim = Claim {
        update_id: Some(i64::from(update.id.0)),
        delivery: again,
    };
    log_message(&bot, &app, &msg, &person, claim).await
}

/// The update a message came in, when it is not claimed yet: the log's transaction claims
/// it. `again`: it was claimed before but its answer may be lost, so answer again.
#[derive(Debug, Clone)]
struct Claim {
    update_id: Option<i64>,
    delivery: Redelivered,
}

impl Claim {
    fn done() -> Claim {
        Claim {
            update_id: None,
            delivery: Redelivered::default(),
        }
    }
}

async fn log_message(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    claim: Claim,
) -> HandlerResult {
    let lang = app.lang_of(person);
    // A further part of an album sent as a work update joins the update.
    if crate::updates::album_part(bot, app, msg, person, claim.update_id).await? {
        return Ok(());
    }
    let refusal = match to_log_input(msg) {
        None => tr(lang, K::Unsupported).to_string(),
        Some(_) if !person.roles.contains(Role::Cadre) => {
            format!("{}\n\n{}", tr(lang, K::NotCadre), help_text(lang))
        }
        Some(input) => {
            let today = local_date(app.clock.now(), app.config.tz());
            return record(bot, app, msg, person, input, today, false, claim).await;
        }
    };
    refuse(bot, app, msg, person, claim, refusal).await
}

/// An answer that records nothing; an update not claimed yet is claimed first, so that a
/// redelivery is not answered twice.
async fn refuse(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    claim: Claim,
    text: String,
) -> HandlerResult {
    if let Some(id) = claim.update_id {
        match app.store.claim_update(id, app.clock.now()).await {
            Ok(true) => {}
            Ok(false) if claim.delivery.again => {}
            Ok(false) => {
                claim.delivery.claimed_elsewhere();
                return Ok(());
            }
            Err(e) => return db_down(bot, app, msg, person, e).await,
        }
    }
    reply(bot, msg, text).await
}

#[allow(clippy::too_many_arguments)]
async fn record(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    input: LogInput,
    day: chrono::NaiveDate,
    backdated: bool,
    claim: Claim,
) -> HandlerResult {
    let update_id = claim.update_id;
    let lang = app.lang_of(person);
    if let Err(r) = check(&input, limits(app)) {
        return refuse(bot, app, msg, person, claim, rejection_text(lang, &r)).await;
    }
    let now = app.clock.now();
    let log = NewLog {
        person_id: person.id,
        day,
        at: now,
        input: &input,
        chat_id: msg.chat.id.0,
        message_id: i64::from(msg.id.0),
        backdated,
        update_id,
    };
    let quiet = chrono::Duration::milliseconds(app.config.logs.album_wait_ms as i64);
    match app.store.record_log(log, now + quiet).await {
        Ok(Recorded::Log(receipt)) => {
            telemetry::metrics().log_recorded();
            app.wake_archiver();
            send_receipt(bot, app, msg, lang, &receipt).await
        }
        Ok(Recorded::AlbumPart { new_log, .. }) => {
            if new_log {
                telemetry::metrics().log_recorded();
            }
            // The album's one receipt is queued; the sender sends it after the quiet time.
            app.wake_sender();
            app.wake_archiver();
            Ok(())
        }
        // An album's receipt is in the outbox, committed with its parts.
        Ok(Recorded::Duplicate) if claim.delivery.again && msg.media_group_id().is_none() => {
            match app
                .store
                .log_receipt_of_message(msg.chat.id.0, i64::from(msg.id.0))
                .await
            {
                Ok(Some(receipt)) => {
                    tracing::info!(?update_id, "redelivered log: its receipt again");
                    send_receipt(bot, app, msg, lang, &receipt).await
                }
                Ok(None) => Ok(()),
                Err(e) => db_down(bot, app, msg, person, e).await,
            }
        }
        Ok(Recorded::Duplicate) => {
            tracing::debug!(?update_id, "redelivered log skipped");
            if !claim.delivery.again {
                claim.delivery.claimed_elsewhere();
            }
            Ok(())
        }
        Err(e) => db_down(bot, app, msg, person, e).await,
    }
}

/// Answers a log with its receipt, remembered so that `/share` can reply to it.
async fn send_receipt(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    lang: Lang,
    receipt: &LogReceipt,
) -> HandlerResult {
    let sent = bot
        .send_message(msg.chat.id, receipt_text(lang, receipt))
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply())
        .await?;
    // Off the hot path: the next message of this chat need not wait for it (`/share`
    // waits a moment for a receipt not remembered yet).
    let (app, chat, log_id) = (app.clone(), msg.chat.id.0, receipt.log_id);
    tokio::spawn(async move {
        crate::sharing::receipt_sent(&app, chat, i64::from(sent.id.0), log_id).await;
    });
    Ok(())
}

/// `/log YYYY-MM-DD TEXT`: a log for an earlier day within the configured window.
pub async fn backdate(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    args: String,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    if !person.roles.contains(Role::Cadre) {
        return reply(&bot, &msg, tr(lang, K::NotCadre).to_string()).await;
    }
    let (date, text) = match parse_backdate_command(&args) {
        Ok(parsed) => parsed,
        Err(BackdateParseError::Usage) => {
            return reply(&bot, &msg, tr(lang, K::BackdateUsage).to_string()).await;
        }
        Err(BackdateParseError::BadDate) => {
            let input = args.split_whitespace().next().unwrap_or_default();
            let text = fill(tr(lang, K::BackdateBadDate), &[("input", input)]);
            return reply(&bot, &msg, text).await;
        }
    };
    let today = local_date(app.clock.now(), app.config.tz());
    let window = app.config.logs.backdate_days;
    if let Err(e) = backdate_check(date, today, window) {
        let text = match e {
            BackdateError::Future => {
                fill(tr(lang, K::BackdateFuture), &[("date", &date.to_string())])
            }
            BackdateError::TooOld { earliest } => fill(
                tr(lang, K::BackdateTooOld),
                &[
                    ("window", &window.to_string()),
                    ("earliest", &earliest.to_string()),
                    ("date", &date.to_string()),
                ],
            ),
        };
        return reply(&bot, &msg, text).await;
    }
    let mut input = to_log_input(&msg).unwrap_or_default();
    input.text = (!text.is_empty()).then_some(text);
    if input.clean_text().is_none() && input.attachments.is_empty() {
        let text = fill(
            tr(lang, K::BackdateNeedsText),
            &[("date", &date.to_string())],
        );
        return reply(&bot, &msg, text).await;
    }
    // A command is never part of an album: the backdated log stands alone.
    input.media_group_id = None;
    record(
        &bot,
        &app,
        &msg,
        &person,
        input,
        date,
        date != today,
        Claim::done(),
    )
    .await
}

/// `/me`: this month's days with a log, approved leave days and subsidy days.
/// The `log-reminder` message: no log on `day` yet, and this month's days with a log.
pub async fn reminder_text(
    app: &Ctx,
    lang: Lang,
    person_id: i64,
    day: NaiveDate,
) -> Result<String, storage::StorageError> {
    let month = Month::of(day);
    let days = app.store.log_dates(person_id, month).await?.len();
    Ok(fill(
        tr(lang, K::LogReminder),
        &[
            ("date", &day.to_string()),
            ("month", &month_label(lang, month)),
            ("days", &days.to_string()),
        ],
    ))
}

/// `/remind off` / `/remind on`: the daily reminder to log, per person.
pub async fn remind(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    arg: String,
) -> HandlerResult {
    let on = match arg.trim().to_ascii_lowercase().as_str() {
        "on" | "开" | "开启" => true,
        "off" | "关" | "关闭" => false,
        _ => return reply(&bot, &msg, say(&app, &person, K::RemindUsage, &[])).await,
    };
    if let Err(e) = app.store.set_reminders(person.id, on).await {
        return db_down(&bot, &app, &msg, &person, e).await;
    }
    let key = if on { K::RemindOn } else { K::RemindOff };
    reply(&bot, &msg, say(&app, &person, key, &[])).await
}

pub async fn me(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let month = Month::of(local_date(app.clock.now(), app.config.tz()));
    // The same presence record as /stats, the reports and the jobs read.
    let summary = match app
        .store
        .person_month(person.id, month, &app.config.calendar())
        .await
    {
        Ok(record) => record.summary(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the month");
            return reply(&bot, &msg, tr(lang, K::DbUnavailable).to_string()).await;
        }
    };
    let text = say(
        &app,
        &person,
        K::MeSummary,
        &[
            ("name", &person.name),
            ("month", &month_label(lang, month)),
            ("log_days", &summary.log_days.to_string()),
            ("leave_days", &summary.leave_days.to_string()),
            ("eligible_days", &summary.eligible_days.to_string()),
        ],
    );
    reply(&bot, &msg, text).await
}

/// An edited message: if it belongs to one of the person's logs, the log follows the edit.
pub async fn on_edit(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let new_text = msg
        .text()
        .or(msg.caption())
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(t) = new_text {
        let max = app.config.logs.max_text_chars;
        let chars = t.chars().count();
        if chars > max {
            let r = LogRejection::TooLong { chars, max };
            return reply(&bot, &msg, rejection_text(lang, &r)).await;
        }
    }
    match app
        .store
        .edit_log(
            person.id,
            msg.chat.id.0,
            i64::from(msg.id.0),
            new_text,
            app.clock.now(),
        )
        .await
    {
        Ok(Some(edited)) => {
            let text = fill(
                tr(lang, K::LogEdited),
                &[
                    ("seq", &edited.seq.to_string()),
                    ("date", &edited.day.to_string()),
                ],
            );
            reply(&bot, &msg, text).await
        }
        // An edit of a message that is not a log (a command, a question…) changes nothing.
        Ok(None) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, "edit not recorded");
            reply(&bot, &msg, tr(lang, K::DbUnavailable).to_string()).await
        }
    }
}
