//! Leave: `/leave` (a dialogue or one message), `/leaves`, `/pending`, the approval cards
//! with 批准/驳回 buttons, and the reject reason. Rules and the chain come from `domain`;
//! every state change and its notifications are one storage call.

use crate::answer::alert;
use crate::answer::{db_down, reply};
use crate::callback::Callback;
use crate::dialogue::{self, Dialogue};
use crate::texts::{K, fill, level_name, tr};
use crate::{Ctx, HandlerResult};
use chrono::NaiveDate;
use domain::Role;
use domain::attendance::local_date;
use domain::config::Lang;
use domain::dates::parse_date;
use domain::leave::{LeaveRequestDraft, LeaveRuleError, leave_days};
use storage::{Decided, LeaveFailure, LeaveRefusal, LeaveRequest, LeaveStatus, Person, StepStatus};
use teloxide::prelude::*;
use teloxide::types::{ForceReply, InlineKeyboardButton, InlineKeyboardMarkup};

fn today(app: &Ctx) -> NaiveDate {
    local_date(app.clock.now(), app.config.tz())
}

fn bad_date(lang: Lang, input: &str) -> String {
    fill(tr(lang, K::LeaveBadDate), &[("input", input)])
}

/// `/leave` alone starts the dialogue; `/leave START END REASON` submits at once.
pub async fn start(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    args: String,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    if !person.roles.contains(Role::Cadre) {
        return reply(&bot, &msg, tr(lang, K::LeaveNotCadre).to_string()).await;
    }
    let args = args.trim();
    if args.is_empty() {
        if let Err(e) = dialogue::save(&app, &person, &Dialogue::LeaveStart).await {
            return db_down(&bot, &app, &msg, &person, e).await;
        }
        return reply(&bot, &msg, tr(lang, K::LeaveAskStart).to_string()).await;
    }
    let mut words = args.split_whitespace();
    let (Some(first), Some(second)) = (words.next(), words.next()) else {
        return reply(&bot, &msg, tr(lang, K::LeaveUsage).to_string()).await;
    };
    let reason: Vec<&str> = words.collect();
    let today = today(&app);
    let start = match parse_date(first, today) {
        Ok(d) => d,
        Err(_) => return reply(&bot, &msg, bad_date(lang, first)).await,
    };
    let end = match parse_date(second, today) {
        Ok(d) => d,
        Err(_) => return reply(&bot, &msg, bad_date(lang, second)).await,
    };
    // `/leave START END REASON` replaces any open dialogue; a failure to clear it does
    // not stop the request.
    if let Err(e) = dialogue::clear(&app, &person).await {
        tracing::warn!(error = %e, person = person.id, "cannot clear the open dialogue");
    }
    submit(&bot, &app, &msg, &person, start, end, reason.join(" ")).await
}

/// A step of the `/leave` dialogue.
pub async fn dialogue_step(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    d: Dialogue,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let text = msg.text().map(str::trim).unwrap_or_default().to_string();
    if crate::texts::is_cancel_word(&text) {
        return cancel_dialogue(bot, app, msg, person).await;
    }
    let today = today(&app);
    let next = match d {
        Dialogue::LeaveStart => match parse_date(&text, today) {
            Err(_) => return reply(&bot, &msg, bad_date(lang, &text)).await,
            Ok(start) if start < today => {
                let t = fill(
                    tr(lang, K::LeaveStartInPast),
                    &[("start", &start.to_string())],
                );
                return reply(&bot, &msg, t).await;
            }
            Ok(start) => {
                let prompt = fill(tr(lang, K::LeaveAskEnd), &[("start", &start.to_string())]);
                (Dialogue::LeaveEnd { start }, prompt)
            }
        },
        Dialogue::LeaveEnd { start } => match parse_date(&text, today) {
            Err(_) => return reply(&bot, &msg, bad_date(lang, &text)).await,
            Ok(end) if end < start => {
                let t = fill(
                    tr(lang, K::LeaveEndBeforeStart),
                    &[("start", &start.to_string()), ("end", &end.to_string())],
                );
                return reply(&bot, &msg, t).await;
            }
            Ok(end) => {
                let prompt = fill(
                    tr(lang, K::LeaveAskReason),
                    &[
                        ("start", &start.to_string()),
                        ("end", &end.to_string()),
                        ("days", &leave_days(start, end).to_string()),
                    ],
                );
                (Dialogue::LeaveReason { start, end }, prompt)
            }
        },
        Dialogue::LeaveReason { start, end } => {
            if text.is_empty() {
                return reply(&bot, &msg, tr(lang, K::LeaveMissingReason).to_string()).await;
            }
            if let Err(e) = dialogue::clear(&app, &person).await {
                return db_down(&bot, &app, &msg, &person, e).await;
            }
            return submit(&bot, &app, &msg, &person, start, end, text).await;
        }
        Dialogue::RejectReason { .. }
        | Dialogue::AskQuestion
        | Dialogue::UpdateText
        | Dialogue::UpdateUnit { .. } => return Ok(()),
    };
    if let Err(e) = dialogue::save(&app, &person, &next.0).await {
        return db_down(&bot, &app, &msg, &person, e).await;
    }
    reply(&bot, &msg, next.1).await
}

/// A broken rule, for a request starting on `start`.
fn rule_text(lang: Lang, e: &LeaveRuleError, start: NaiveDate) -> String {
    match e {
        LeaveRuleError::MissingReason => tr(lang, K::LeaveMissingReason).to_string(),
        LeaveRuleError::EndBeforeStart => tr(lang, K::LeaveEndBeforeStart).to_string(),
        LeaveRuleError::StartInPast => fill(
            tr(lang, K::LeaveStartInPast),
            &[("start", &start.to_string())],
        ),
        LeaveRuleError::TooLong { days, max } => fill(
            tr(lang, K::LeaveTooLong),
            &[("days", &days.to_string()), ("max", &max.to_string())],
        ),
        LeaveRuleError::Overlaps { start, end } => fill(
            tr(lang, K::LeaveOverlaps),
            &[("start", &start.to_string()), ("end", &end.to_string())],
        ),
    }
}

/// The chain as people read it: 乡镇（新堡乡） → 区县（乌当区）.
fn chain_text(lang: Lang, r: &LeaveRequest) -> String {
    let parts: Vec<String> = r
        .steps
        .iter()
        .map(|s| {
            let unit = s.unit.rsplit('/').next().unwrap_or_default();
            let mark = match s.status {
                StepStatus::Approved => " ✅",
                StepStatus::Rejected => " ❌",
                StepStatus::Pending if r.status == LeaveStatus::Pending => " ⏳",
                _ => "",
            };
            let name = level_name(lang, s.level);
            match lang {
                Lang::Zh => format!("{name}（{unit}）{mark}"),
                Lang::En => format!("{name} ({unit}){mark}"),
            }
        })
        .collect();
    parts.join(" → ")
}

/// Submits a request: one store operation checks the rules and resolves the chain in its
/// transaction; this renders the answer.
async fn submit(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    start: NaiveDate,
    end: NaiveDate,
    reason: String,
) -> HandlerResult {
    let lang = app.lang_of(person);
    let draft = LeaveRequestDraft {
        start,
        end,
        reason: reason.trim().to_string(),
    };
    let now = app.clock.now();
    let today = local_date(now, app.config.tz());
    let submitted = app
        .store
        .submit_leave(person.id, &draft, &app.config.leave, today, now)
        .await;
    let r = match submitted {
        Ok(r) => r,
        Err(LeaveFailure::Refused(r)) => {
            return reply(bot, msg, submit_refusal(lang, &r, draft.start)).await;
        }
        Err(LeaveFailure::Storage(e)) => return db_down(bot, app, msg, person, e).await,
    };
    app.wake_sender();
    let text = fill(
        tr(lang, K::LeaveSubmitted),
        &[
            ("id", &r.id.to_string()),
            ("start", &r.start.to_string()),
            ("end", &r.end.to_string()),
            ("days", &r.days.to_string()),
            ("chain", &chain_text(lang, &r)),
        ],
    );
    reply(bot, msg, text).await
}

/// Why a request was not submitted, in the person's words.
fn submit_refusal(lang: Lang, r: &LeaveRefusal, start: NaiveDate) -> String {
    match r {
        LeaveRefusal::Rule(e) => rule_text(lang, e, start),
        LeaveRefusal::Overlaps { start: from, end } => rule_text(
            lang,
            &LeaveRuleError::Overlaps {
                start: *from,
                end: *end,
            },
            start,
        ),
        LeaveRefusal::NoApprover { .. } => tr(lang, K::LeaveNoApprover).to_string(),
        other => refusal_alert(lang, other),
    }
}

/// The approval card of `r` at `step` as one approver sees it; buttons only while he can act.
pub fn card(lang: Lang, r: &LeaveRequest, step: i64) -> (String, Option<InlineKeyboardMarkup>) {
    let mut text = fill(
        tr(lang, K::LeaveCard),
        &[
            ("id", &r.id.to_string()),
            ("name", &r.person_name),
            ("unit", &r.person_unit),
            ("start", &r.start.to_string()),
            ("end", &r.end.to_string()),
            ("days", &r.days.to_string()),
            ("reason", &r.reason),
            ("chain", &chain_text(lang, r)),
        ],
    );
    let Some(s) = r.steps.iter().find(|s| s.step == step) else {
        return (text, None);
    };
    if !s.escalated_from.is_empty() {
        let levels: Vec<&str> = s
            .escalated_from
            .iter()
            .map(|l| level_name(lang, *l))
            .collect();
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::LeaveCardEscalated),
            &[("levels", &levels.join("、"))],
        ));
    }
    text.push('\n');
    let by = s.decided_by.clone().unwrap_or_default();
    let state = match s.status {
        StepStatus::Approved => fill(tr(lang, K::LeaveCardApproved), &[("by", &by)]),
        StepStatus::Rejected => fill(tr(lang, K::LeaveCardRejected), &[("by", &by)]),
        StepStatus::Cancelled => tr(lang, K::LeaveCardCancelled).to_string(),
        _ if r.status == LeaveStatus::Pending && r.step == step => {
            text.push_str(&fill(
                tr(lang, K::LeaveCardAsk),
                &[("level", level_name(lang, s.level))],
            ));
            let buttons = vec![vec![
                InlineKeyboardButton::callback(
                    tr(lang, K::ApproveButton),
                    Callback::Leave {
                        request: r.id,
                        step,
                        approve: true,
                    }
                    .encode(),
                ),
                InlineKeyboardButton::callback(
                    tr(lang, K::RejectButton),
                    Callback::Leave {
                        request: r.id,
                        step,
                        approve: false,
                    }
                    .encode(),
                ),
            ]];
            return (text, Some(InlineKeyboardMarkup::new(buttons)));
        }
        _ => String::new(),
    };
    text.push_str(&state);
    (text, None)
}

/// What the cadre is told when his request moves.
pub fn outcome_text(lang: Lang, r: &LeaveRequest, outcome: Decided) -> String {
    let id = r.id.to_string();
    let (start, end, days) = (r.start.to_string(), r.end.to_string(), r.days.to_string());
    let mut values = vec![
        ("id", id.as_str()),
        ("start", &start),
        ("end", &end),
        ("days", &days),
    ];
    match outcome {
        Decided::Approved => fill(tr(lang, K::LeaveApproved), &values),
        Decided::Rejected => {
            let reason = r.reject_reason.clone().unwrap_or_default();
            values.push(("reason", &reason));
            fill(tr(lang, K::LeaveRejected), &values)
        }
        Decided::Forwarded => {
            let done = r
                .steps
                .iter()
                .rfind(|s| s.step < r.step)
                .map(|s| level_name(lang, s.level))
                .unwrap_or_default();
            let next = r
                .current()
                .map(|s| {
                    format!(
                        "{}（{}）",
                        level_name(lang, s.level),
                        s.unit.rsplit('/').next().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            values.push(("done", done));
            values.push(("next", &next));
            fill(tr(lang, K::LeaveForwarded), &values)
        }
    }
}

fn status_text(lang: Lang, s: LeaveStatus) -> &'static str {
    tr(
        lang,
        match s {
            LeaveStatus::Pending => K::StatusPending,
            LeaveStatus::Approved => K::StatusApproved,
            LeaveStatus::Rejected => K::StatusRejected,
            LeaveStatus::Cancelled => K::StatusCancelled,
        },
    )
}

/// `/leaves`: the cadre's requests, with a cancel button for each pending one.
pub async fn list(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let requests = match app.store.person_leaves(person.id, 10).await {
        Ok(r) => r,
        Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    if requests.is_empty() {
        return reply(&bot, &msg, tr(lang, K::LeaveListEmpty).to_string()).await;
    }
    let mut text = tr(lang, K::LeaveListHeader).to_string();
    let mut buttons = Vec::new();
    for r in &requests {
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::LeaveListItem),
            &[
                ("id", &r.id.to_string()),
                ("start", &r.start.to_string()),
                ("end", &r.end.to_string()),
                ("days", &r.days.to_string()),
                ("status", status_text(lang, r.status)),
            ],
        ));
        if r.status == LeaveStatus::Pending {
            buttons.push(vec![InlineKeyboardButton::callback(
                fill(tr(lang, K::LeaveCancelButton), &[("id", &r.id.to_string())]),
                Callback::CancelLeave { request: r.id }.encode(),
            )]);
        }
    }
    let req = bot.send_message(msg.chat.id, text);
    if buttons.is_empty() {
        req.await?;
    } else {
        req.reply_markup(InlineKeyboardMarkup::new(buttons)).await?;
    }
    Ok(())
}

/// `/pending`: the approver's open cards, each with its buttons.
pub async fn pending(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let open = match app.store.open_cards(person.id).await {
        Ok(r) => r,
        Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    if open.is_empty() {
        return reply(&bot, &msg, tr(lang, K::PendingEmpty).to_string()).await;
    }
    let header = fill(
        tr(lang, K::PendingHeader),
        &[("count", &open.len().to_string())],
    );
    reply(&bot, &msg, header).await?;
    for r in &open {
        let (text, keyboard) = card(lang, r, r.step);
        let req = bot.send_message(msg.chat.id, text);
        match keyboard {
            Some(k) => req.reply_markup(k).await?,
            None => req.await?,
        };
    }
    Ok(())
}

/// `/cancel`: leaves whatever dialogue is open.
pub async fn cancel_dialogue(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    match app.store.dialogue(person.id).await {
        Ok(None) => reply(&bot, &msg, tr(lang, K::NothingToCancel).to_string()).await,
        Ok(Some(_)) => match dialogue::clear(&app, &person).await {
            Ok(()) => reply(&bot, &msg, tr(lang, K::DialogueCancelled).to_string()).await,
            Err(e) => db_down(&bot, &app, &msg, &person, e).await,
        },
        Err(e) => db_down(&bot, &app, &msg, &person, e).await,
    }
}

fn refusal_alert(lang: Lang, r: &LeaveRefusal) -> String {
    match r {
        LeaveRefusal::NotYours => tr(lang, K::AlertNotYours).to_string(),
        LeaveRefusal::NotFound => tr(lang, K::AlertNotFound).to_string(),
        LeaveRefusal::AlreadyDecided { status, by } => {
            let what = match by {
                Some(by) => format!("{by} {}", status_text(lang, *status)),
                None => status_text(lang, *status).to_string(),
            };
            fill(tr(lang, K::AlertAlreadyDecided), &[("by", &what)])
        }
        LeaveRefusal::NotPending
        | LeaveRefusal::Overlaps { .. }
        | LeaveRefusal::Rule(_)
        | LeaveRefusal::NoApprover { .. } => tr(lang, K::AlertStaleButton).to_string(),
    }
}

/// 批准 / 驳回 pressed on a card (or on `/pending`'s copy of it).
pub async fn on_decide(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    (request, step, approve): (i64, i64, bool),
) -> HandlerResult {
    let lang = app.lang_of(&person);
    if !approve {
        // Rejecting needs a reason: check authority now, decide when the reason arrives.
        return match app.store.can_decide(request, step, person.id).await {
            Ok(()) => {
                let d = Dialogue::RejectReason { request, step };
                if let Err(e) = dialogue::save(&app, &person, &d).await {
                    tracing::error!(error = %e, "cannot save dialogue");
                    return alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await;
                }
                alert(&bot, &q, tr(lang, K::RejectButton).to_string(), false).await?;
                if let Some(chat) = person.chat_id {
                    let ask = fill(
                        tr(lang, K::AskRejectReason),
                        &[("id", &request.to_string())],
                    );
                    bot.send_message(ChatId(chat), ask)
                        .reply_markup(ForceReply::new())
                        .await?;
                }
                Ok(())
            }
            Err(LeaveFailure::Refused(r)) => alert(&bot, &q, refusal_alert(lang, &r), true).await,
            Err(LeaveFailure::Storage(e)) => {
                tracing::error!(error = %e, "cannot check authority");
                alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await
            }
        };
    }
    match app
        .store
        .decide_leave(request, step, person.id, true, None, app.clock.now())
        .await
    {
        Ok(outcome) => {
            app.wake_sender();
            let k = if outcome == Decided::Forwarded {
                K::AlertForwarded
            } else {
                K::AlertApproved
            };
            alert(&bot, &q, tr(lang, k).to_string(), false).await
        }
        Err(LeaveFailure::Refused(r)) => alert(&bot, &q, refusal_alert(lang, &r), true).await,
        Err(LeaveFailure::Storage(e)) => {
            tracing::error!(error = %e, "decision not saved");
            alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await
        }
    }
}

/// The reason for a rejection, typed after pressing 驳回.
pub async fn reject_reason(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    request: i64,
    step: i64,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let reason = msg.text().map(str::trim).unwrap_or_default();
    if crate::texts::is_cancel_word(reason) {
        return cancel_dialogue(bot, app, msg, person).await;
    }
    if reason.is_empty() {
        return reply(&bot, &msg, tr(lang, K::RejectReasonEmpty).to_string()).await;
    }
    let result = app
        .store
        .decide_leave(
            request,
            step,
            person.id,
            false,
            Some(reason),
            app.clock.now(),
        )
        .await;
    let result = match result {
        // Keep the dialogue: the approver can send the reason again.
        Err(LeaveFailure::Storage(e)) => return db_down(&bot, &app, &msg, &person, e).await,
        other => other,
    };
    if let Err(e) = dialogue::clear(&app, &person).await {
        // The decision stands; the approver's next message may be taken as a reason again
        // and is then refused as already decided.
        tracing::warn!(error = %e, person = person.id, "cannot clear the reject dialogue");
    }
    match result {
        Ok(_) => {
            app.wake_sender();
            reply(
                &bot,
                &msg,
                fill(tr(lang, K::RejectDone), &[("id", &request.to_string())]),
            )
            .await
        }
        Err(LeaveFailure::Refused(r)) => reply(&bot, &msg, refusal_alert(lang, &r)).await,
        Err(LeaveFailure::Storage(_)) => Ok(()),
    }
}

/// 撤销 pressed under `/leaves`.
pub async fn on_cancel(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    request: i64,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let id = request.to_string();
    match app
        .store
        .cancel_leave(request, person.id, app.clock.now())
        .await
    {
        Ok(()) => {
            app.wake_sender();
            let text = fill(tr(lang, K::LeaveCancelled), &[("id", &id)]);
            alert(&bot, &q, text.clone(), false).await?;
            if let Some(chat) = person.chat_id {
                bot.send_message(ChatId(chat), text).await?;
            }
            Ok(())
        }
        Err(LeaveFailure::Refused(LeaveRefusal::NotPending)) => {
            alert(
                &bot,
                &q,
                fill(tr(lang, K::LeaveNotPending), &[("id", &id)]),
                true,
            )
            .await
        }
        Err(LeaveFailure::Refused(r)) => alert(&bot, &q, refusal_alert(lang, &r), true).await,
        Err(LeaveFailure::Storage(e)) => {
            tracing::error!(error = %e, "cancel not saved");
            alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await
        }
    }
}
