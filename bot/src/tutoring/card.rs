//! The tutor's card and the other tutoring notifications as the sender renders them, and
//! what the sender records once one was delivered.

use super::*;
use crate::sender::Rendered;
use domain::notify::Notification;
use domain::tutoring::Via;
use storage::{AssignReason, Assignment, OutboxItem, Question, StorageError, ThreadEntry};

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
    if q.kind.is_media() {
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::CardAttachment),
            &[("kind", kind_label(lang, q.kind))],
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
                summary(lang, e.kind, e.text.as_deref(), HISTORY_CHARS)
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

/// Renders a tutoring notification in `lang`: a message, or a copy of a thread message
/// (`QuestionRelay`, `QuestionAttachment`); `None` when there is nothing to say any more (the
/// question is gone, or a reminder came too late).
pub async fn render(
    app: &Ctx,
    lang: Lang,
    n: &Notification,
) -> Result<Option<Rendered>, StorageError> {
    let message = |(text, keyboard)| Some(Rendered::Text { text, keyboard });
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
            message(card(app, lang, &q, &a, &thread))
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
                        &summary(lang, q.kind, Some(&q.text), CARD_TEXT_CHARS),
                    ),
                ],
            );
            message((text, None))
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
            message((text, None))
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
            message((text, None))
        }
        Notification::QuestionRelay {
            question_id,
            from_chat,
            from_message,
            reply_to,
            rate,
            ..
        } => Some(Rendered::Copy {
            from_chat,
            from_message,
            reply_to,
            // Answers reach the cadre with the rating buttons, in his language.
            keyboard: rate.then(|| rate_keyboard(lang, question_id, None)),
        }),
        Notification::QuestionAttachment {
            from_chat,
            from_message,
            card_message,
            ..
        } => Some(Rendered::Copy {
            from_chat,
            from_message,
            reply_to: Some(card_message),
            keyboard: None,
        }),
        Notification::QuestionRelayFailed { to_person, .. } => {
            let Some(to) = store.person(to_person).await? else {
                return Ok(None);
            };
            message((fill(tr(lang, K::RelayFailed), &[("name", &to.name)]), None))
        }
        Notification::LogReceipt { .. }
        | Notification::LogReminder { .. }
        | Notification::ApprovalDigest { .. }
        | Notification::BulletinPost { .. }
        | Notification::SubsidyReport { .. }
        | Notification::SubsidyFigures { .. }
        | Notification::WeeklySummary { .. }
        | Notification::WeeklyChart { .. }
        | Notification::CalendarMissing { .. }
        | Notification::SharedPost { .. }
        | Notification::UpdateNudge { .. }
        | Notification::ShareDigest { .. }
        | Notification::ChannelRefused { .. }
        | Notification::LeaveCard { .. }
        | Notification::LeaveForwarded { .. }
        | Notification::LeaveApproved { .. }
        | Notification::LeaveRejected { .. } => None,
    })
}

/// Called by the sender when a notification was delivered, before it records the delivery:
/// a card or a reminder becomes part of its question's thread (replying to it answers; under
/// a new card the thread's attachments are queued), and a copy of a thread message is
/// recorded, so that a reply to it continues the thread.
pub async fn on_delivered(app: &Ctx, item: &OutboxItem, message_id: Option<i64>) {
    let (Some(sent), Some(person_id)) = (message_id, item.person_id) else {
        return;
    };
    let now = app.clock.now();
    let store = &app.store;
    let (question_id, recorded) = match item.notification {
        Some(Notification::QuestionCard { question_id, .. }) => {
            let fresh = item.sent_message_id.is_none();
            let r = store
                .record_card(
                    question_id,
                    person_id,
                    item.chat_id,
                    sent,
                    fresh,
                    MAX_COPIES,
                    now,
                )
                .await;
            if matches!(r, Ok(true)) && fresh {
                // Its attachments were queued.
                app.wake_sender();
            }
            (question_id, r.map(drop))
        }
        Some(Notification::QuestionReminder { question_id, .. }) => {
            let r = store
                .record_card(question_id, person_id, item.chat_id, sent, false, 0, now)
                .await;
            (question_id, r.map(drop))
        }
        Some(Notification::QuestionRelay {
            question_id,
            from_chat,
            from_message,
            ..
        }) => {
            let from = (from_chat, from_message);
            let r = store
                .record_copy(question_id, person_id, item.chat_id, sent, from, true, now)
                .await;
            (question_id, r)
        }
        Some(Notification::QuestionAttachment {
            question_id,
            from_chat,
            from_message,
            ..
        }) => {
            let from = (from_chat, from_message);
            let r = store
                .record_copy(question_id, person_id, item.chat_id, sent, from, false, now)
                .await;
            (question_id, r)
        }
        Some(
            Notification::QuestionPassed { .. }
            | Notification::QuestionRated { .. }
            | Notification::QuestionRelayFailed { .. }
            | Notification::LogReceipt { .. }
            | Notification::LogReminder { .. }
            | Notification::ApprovalDigest { .. }
            | Notification::BulletinPost { .. }
            | Notification::SubsidyReport { .. }
            | Notification::SubsidyFigures { .. }
            | Notification::WeeklySummary { .. }
            | Notification::WeeklyChart { .. }
            | Notification::CalendarMissing { .. }
            | Notification::SharedPost { .. }
            | Notification::UpdateNudge { .. }
            | Notification::ShareDigest { .. }
            | Notification::ChannelRefused { .. }
            | Notification::LeaveCard { .. }
            | Notification::LeaveForwarded { .. }
            | Notification::LeaveApproved { .. }
            | Notification::LeaveRejected { .. },
        )
        | None => return,
    };
    if let Err(e) = recorded {
        // Delivered, but a reply to it will not find the thread.
        tracing::warn!(error = %e, question_id, outbox_id = item.id, "tutoring: delivered message not recorded in its thread");
    }
}

/// Called by the sender when it gave up on a notification: the writer of a relayed message
/// whose copy could not be delivered is told, so he may send it again.
pub async fn on_given_up(app: &Ctx, item: &OutboxItem) {
    let Some(Notification::QuestionRelay {
        question_id,
        from_chat,
        from_message,
        to_person,
        ..
    }) = item.notification
    else {
        return;
    };
    let from = (from_chat, from_message);
    match app
        .store
        .relay_given_up(question_id, from, to_person, app.clock.now())
        .await
    {
        Ok(()) => app.wake_sender(),
        Err(e) => {
            tracing::warn!(error = %e, question_id, outbox_id = item.id, "tutoring: the writer of an undelivered relay was not told")
        }
    }
}
