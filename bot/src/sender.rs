//! The outbox sender: claims due notifications, renders them in the recipient's language,
//! and delivers them within Telegram's limits. Retries on 429 (`retry_after`), network and
//! server errors with backoff; a blocked bot marks the person unreachable.

use crate::Ctx;
use chrono::{DateTime, Utc};
use domain::notify::Notification;
use domain::ratelimit::{Limits, RateLimiter};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{Decided, Delivery, OutboxItem};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, InputFile, MessageId, ParseMode, ReplyParameters};
use teloxide::{ApiError, RequestError};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

const LEASE: chrono::Duration = chrono::Duration::seconds(60);
const BATCH: i64 = 64;
const IDLE_POLL: Duration = Duration::from_secs(1);

/// A message ready to go: a text (sent, or edited in place once sent), or a copy of another
/// message (copyMessage: a relayed thread message), replying to `reply_to` in the chat.
pub(crate) enum Rendered {
    Text {
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
    },
    Copy {
        from_chat: i64,
        from_message: i64,
        reply_to: Option<i64>,
        keyboard: Option<InlineKeyboardMarkup>,
    },
    /// A text with HTML markup (tables in `<pre>`).
    Html { text: String },
    /// A file made when sent (a report), uploaded as a document.
    Document {
        file_name: String,
        bytes: Vec<u8>,
        caption: String,
    },
    /// A picture made when sent (a chart), uploaded as a photo.
    Photo { bytes: Vec<u8>, caption: String },
    /// A post of the bot's own to a channel or group (bulletin, sharing): sent once.
    Post(crate::sharing::Post),
}

async fn render(app: &Ctx, item: &OutboxItem) -> Result<Option<Rendered>, storage::StorageError> {
    let lang = match item.person_id {
        Some(id) => app
            .store
            .person(id)
            .await?
            .map(|p| app.lang_of(&p))
            .unwrap_or(app.config.language),
        None => app.config.language,
    };
    let plain = |text| {
        Some(Rendered::Text {
            text,
            keyboard: None,
        })
    };
    Ok(match &item.notification {
        Some(Notification::LogReceipt { log_id }) => match app.store.log_receipt(*log_id).await? {
            Some(r) => plain(crate::worklog::receipt_text(lang, &r)),
            None => None,
        },
        Some(Notification::ApprovalDigest { requests }) => {
            crate::digest::render(app, lang, requests)
                .await?
                .map(|(text, keyboard)| Rendered::Text { text, keyboard })
        }
        Some(Notification::BulletinPost { update_id }) => {
            match app.store.update_post(*update_id).await? {
                Some(post) => Some(Rendered::Post(crate::sharing::Post {
                    text: crate::updates::bulletin_text(app.config.language, &post),
                    photos: post.photos.into_iter().map(|p| p.file_id).collect(),
                })),
                None => None,
            }
        }
        Some(Notification::SharedPost { log_id }) => {
            crate::sharing::shared_post(app, app.config.language, *log_id)
                .await?
                .map(Rendered::Post)
        }
        Some(Notification::UpdateNudge { unit_id, monday }) => {
            crate::updates::nudge_text(app, lang, *unit_id, *monday)
                .await?
                .and_then(plain)
        }
        Some(Notification::ShareDigest { since_ms, until_ms }) => match item.person_id {
            Some(person) => crate::sharing::digest_text(app, lang, person, *since_ms, *until_ms)
                .await?
                .and_then(plain),
            None => None,
        },
        Some(Notification::ChannelRefused {
            chat_id,
            channel,
            error,
        }) => plain(crate::sharing::refused_text(
            lang, *chat_id, *channel, error,
        )),
        Some(Notification::LogReminder { day }) => match item.person_id {
            Some(person) => plain(crate::worklog::reminder_text(app, lang, person, *day).await?),
            None => None,
        },
        Some(Notification::LeaveCard {
            request_id, step, ..
        }) => match app.store.leave_request(*request_id).await? {
            Some(r) => {
                let (text, keyboard) = crate::leave::card(lang, &r, *step);
                Some(Rendered::Text { text, keyboard })
            }
            None => None,
        },
        Some(
            n @ (Notification::LeaveForwarded { request_id }
            | Notification::LeaveApproved { request_id }
            | Notification::LeaveRejected { request_id }),
        ) => {
            let outcome = match n {
                Notification::LeaveForwarded { .. } => Decided::Forwarded,
                Notification::LeaveApproved { .. } => Decided::Approved,
                _ => Decided::Rejected,
            };
            match app.store.leave_request(*request_id).await? {
                Some(r) => plain(crate::leave::outcome_text(lang, &r, outcome)),
                None => None,
            }
        }
        Some(
            n @ (Notification::QuestionCard { .. }
            | Notification::QuestionReminder { .. }
            | Notification::QuestionPassed { .. }
            | Notification::QuestionRated { .. }
            | Notification::QuestionRelay { .. }
            | Notification::QuestionAttachment { .. }
            | Notification::QuestionRelayFailed { .. }),
        ) => crate::tutoring::render(app, lang, n).await?,
        Some(
            n @ (Notification::SubsidyReport { .. }
            | Notification::SubsidyFigures { .. }
            | Notification::WeeklySummary { .. }
            | Notification::WeeklyChart { .. }
            | Notification::CalendarMissing { .. }),
        ) => crate::supervision::render(app, lang, item.person_id, n).await?,
        None => None,
    })
}

fn backoff(attempts: i64) -> chrono::Duration {
    let secs = 2i64.saturating_pow(attempts.clamp(0, 8) as u32).min(300);
    chrono::Duration::seconds(secs)
}

/// Maps a Bot API error to what the outbox should do about it.
fn classify(e: &RequestError, attempts: i64, max_attempts: i64, now: DateTime<Utc>) -> Delivery {
    let error = e.to_string();
    match e {
        RequestError::RetryAfter(after) => Delivery::Retry {
            at: now + chrono::Duration::seconds(i64::from(after.seconds())),
            error,
        },
        RequestError::Api(
            ApiError::BotBlocked
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots,
        ) => Delivery::Blocked { error },
        _ if attempts >= max_attempts => Delivery::Failed { error },
        // Network trouble and unknown answers (5xx) are worth another try.
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Delivery::Retry {
                at: now + backoff(attempts),
                error,
            }
        }
        RequestError::Api(ApiError::Unknown(_)) => Delivery::Retry {
            at: now + backoff(attempts),
            error,
        },
        _ => Delivery::Failed { error },
    }
}

/// What to do with an item that could not be rendered.
fn unrenderable(app: &Ctx, item: &OutboxItem, e: Option<storage::StorageError>) -> Delivery {
    match e {
        None => Delivery::Failed {
            error: "nothing to send (unknown payload or deleted subject)".into(),
        },
        Some(e) => Delivery::Retry {
            at: app.clock.now() + backoff(item.attempts),
            error: e.to_string(),
        },
    }
}

async fn deliver(bot: &Bot, app: &Ctx, item: &OutboxItem, rendered: Rendered) -> Delivery {
    let now = app.clock.now();
    let max_attempts = i64::from(app.config.delivery.max_attempts);
    let chat = ChatId(item.chat_id);
    let result = match (rendered, item.sent_message_id) {
        (Rendered::Post(post), _) => {
            return crate::sharing::deliver_post(bot, app, item, post, |e| {
                classify(e, item.attempts, max_attempts, now)
            })
            .await;
        }
        (Rendered::Text { text, keyboard }, Some(id)) => {
            // Without a keyboard the edit removes the buttons (the card was decided).
            let req = bot.edit_message_text(chat, MessageId(id as i32), text);
            match keyboard {
                Some(k) => req.reply_markup(k).await,
                None => req.await,
            }
            .map(|m| Some(i64::from(m.id.0)))
        }
        (Rendered::Text { text, keyboard }, None) => {
            let req = bot.send_message(chat, text);
            match keyboard {
                Some(k) => req.reply_markup(k).await,
                None => req.await,
            }
            .map(|m| Some(i64::from(m.id.0)))
        }
        // Files and pictures are sent once (their rows are never re-queued as edits).
        (Rendered::Html { text }, _) => bot
            .send_message(chat, text)
            .parse_mode(ParseMode::Html)
            .await
            .map(|m| Some(i64::from(m.id.0))),
        (
            Rendered::Document {
                file_name,
                bytes,
                caption,
            },
            _,
        ) => bot
            .send_document(chat, InputFile::memory(bytes).file_name(file_name))
            .caption(caption)
            .await
            .map(|m| Some(i64::from(m.id.0))),
        (Rendered::Photo { bytes, caption }, _) => bot
            .send_photo(chat, InputFile::memory(bytes).file_name("chart.png"))
            .caption(caption)
            .await
            .map(|m| Some(i64::from(m.id.0))),
        // A copy is sent once (it has no dedup key, so it is never re-queued as an edit).
        (
            Rendered::Copy {
                from_chat,
                from_message,
                reply_to,
                keyboard,
            },
            _,
        ) => {
            let Ok(from_message) = i32::try_from(from_message) else {
                return Delivery::Failed {
                    error: format!("message id {from_message} out of range"),
                };
            };
            let mut req = bot.copy_message(chat, ChatId(from_chat), MessageId(from_message));
            if let Some(to) = reply_to.and_then(|m| i32::try_from(m).ok()) {
                req = req.reply_parameters(
                    ReplyParameters::new(MessageId(to)).allow_sending_without_reply(),
                );
            }
            match keyboard {
                Some(k) => req.reply_markup(k).await,
                None => req.await,
            }
            .map(|id| Some(i64::from(id.0)))
        }
    };
    match result {
        Ok(message_id) => {
            crate::tutoring::on_delivered(app, item, message_id).await;
            crate::sharing::on_delivered(app, item, message_id).await;
            Delivery::Sent { message_id }
        }
        // Editing to the same text: the message already says it.
        Err(RequestError::Api(ApiError::MessageNotModified)) => Delivery::Sent { message_id: None },
        Err(e) => {
            if let RequestError::RetryAfter(after) = &e {
                // For the bot as a whole: whichever instance sends next waits too.
                let until = now + chrono::Duration::seconds(i64::from(after.seconds()));
                if let Err(e) = app.store.cool_down_sending(until).await {
                    tracing::warn!(error = %e, "cannot record Telegram's retry_after");
                }
            }
            classify(&e, item.attempts, max_attempts, now)
        }
    }
}

/// Sends at most this many notifications at once; the limiter still paces them.
const IN_FLIGHT: usize = 16;

/// A chat at its limit waits in memory (its lease held) up to this long; longer waits are
/// handed back to the outbox so the lease cannot run out under us.
const HOLD_AT_MOST: Duration = Duration::from_secs(30);

/// How long the one sender's lease lasts; renewed when less than [`LEAD_RENEW`] is left, so
/// a standby takes over within `LEAD` of the holder dying.
const LEAD: Duration = Duration::from_secs(6);
const LEAD_RENEW: Duration = Duration::from_secs(4);

/// Whether this instance is the bot's one sender, and until when (on the local clock).
struct Leadership {
    holder: String,
    until: Option<Instant>,
}

impl Leadership {
    fn new() -> Leadership {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Leadership {
            holder: format!("{}-{nanos}", std::process::id()),
            until: None,
        }
    }

    /// Takes or renews the lease when due. `Ok(true)`: send (after any cool-down, which
    /// this waits out); `Ok(false)`: another instance sends.
    async fn lead(&mut self, app: &Ctx) -> Result<bool, storage::StorageError> {
        let now = Instant::now();
        if self.until.is_some_and(|u| u > now + (LEAD - LEAD_RENEW)) {
            return Ok(true);
        }
        let t = app.clock.now();
        let lease = chrono::Duration::from_std(LEAD).unwrap_or_default();
        match app.store.lead_sender(&self.holder, t, t + lease).await? {
            Some(cooldown) => {
                if self.until.is_none() {
                    tracing::info!(holder = %self.holder, "this instance now sends for the bot");
                }
                // The lease is counted from before the round trip, to be safe.
                self.until = Some(now + LEAD);
                if let Ok(wait) = (cooldown - app.clock.now()).to_std() {
                    tracing::info!(?wait, "Telegram asked to wait; cooling down");
                    tokio::time::sleep(wait.min(LEAD_RENEW)).await;
                }
                Ok(true)
            }
            None => {
                self.until = None;
                Ok(false)
            }
        }
    }
}

/// A claimed item and its rendering, under way since the claim.
type Prepared = (
    OutboxItem,
    JoinHandle<Result<Option<Rendered>, storage::StorageError>>,
);

/// Starts rendering each item at once: the pool runs their queries side by side, so that
/// pacing never waits on one of them.
fn prepare(app: &Ctx, items: Vec<OutboxItem>) -> Vec<Prepared> {
    items
        .into_iter()
        .map(|item| {
            let (app, claimed) = (app.clone(), item.clone());
            (
                item,
                tokio::spawn(async move { render(&app, &claimed).await }),
            )
        })
        .collect()
}

/// Claims up to `room` due items and starts rendering them; `true` if the outbox may hold
/// more (the claim was full).
async fn claim_and_prepare(app: &Ctx, room: i64) -> (Vec<Prepared>, bool) {
    match app.store.claim_outbox(app.clock.now(), LEASE, room).await {
        Ok(items) => {
            let full = items.len() as i64 >= room;
            (prepare(app, items), full)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the outbox");
            (Vec::new(), false)
        }
    }
}

/// The next batch, claimed and rendering while the current one is paced, so that a batch's
/// first send does not wait for the claim and the renders of its batch.
type Ahead = JoinHandle<(Vec<Prepared>, bool)>;

/// Runs until `stop` turns true. `wake` shortens the idle wait when new work is queued.
/// Only the holder of the sender lease sends, so the limits hold for the bot as a whole;
/// the other instances stand by and take over within seconds if it dies.
pub async fn run(bot: Bot, app: Ctx, mut stop: watch::Receiver<bool>) {
    let d = &app.config.delivery;
    let mut limiter = RateLimiter::new(Limits {
        global_per_second: d.global_per_second,
        per_chat_per_second: d.per_chat_per_second,
        per_group_per_minute: d.per_group_per_minute,
    });
    let wake = app.sender_wake.clone();
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut in_flight = JoinSet::new();
    // Claimed items waiting for their chat's limit, with the moment they may go.
    let mut held: Vec<(Instant, OutboxItem)> = Vec::new();
    let mut ahead: Option<Ahead> = None;
    let mut leadership = Leadership::new();
    loop {
        while in_flight.try_join_next().is_some() {}
        if *stop.borrow() {
            break;
        }
        match leadership.lead(&app).await {
            Ok(true) => {}
            standby => {
                if let Err(e) = standby {
                    tracing::warn!(error = %e, "cannot take the sender lease; standing by");
                }
                hand_back(&app, std::mem::take(&mut held)).await;
                hand_back_ahead(&app, ahead.take()).await;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        }
        let now = Instant::now();
        let (due, still): (Vec<_>, Vec<_>) = held.drain(..).partition(|(at, _)| *at <= now);
        held = still;
        let mut batch = prepare(&app, due.into_iter().map(|(_, item)| item).collect());
        let more = match ahead.take() {
            Some(next) => match next.await {
                Ok((items, more)) => {
                    batch.extend(items);
                    more
                }
                Err(e) => {
                    // Its claims run out and a later round takes them.
                    tracing::error!(error = %e, "claiming ahead panicked");
                    false
                }
            },
            None => {
                let room = BATCH - held.len() as i64 - batch.len() as i64;
                if room > 0 {
                    let (items, more) = claim_and_prepare(&app, room).await;
                    batch.extend(items);
                    more
                } else {
                    false
                }
            }
        };
        if batch.is_empty() {
            let mut idle = match app.store.next_outbox_due().await {
                Ok(Some(at)) => (at - app.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(IDLE_POLL),
                _ => IDLE_POLL,
            };
            if let Some(first) = held.iter().map(|(at, _)| *at).min() {
                idle = idle.min(first.saturating_duration_since(Instant::now()));
            }
            tokio::select! {
                _ = tokio::time::sleep(idle.max(Duration::from_millis(5))) => {}
                _ = wake.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        // A full claim says more is due: claim and render the next batch meanwhile.
        let room = BATCH - held.len() as i64;
        if more && room > 0 {
            let app = app.clone();
            ahead = Some(tokio::spawn(
                async move { claim_and_prepare(&app, room).await },
            ));
        }
        let span = tracing::debug_span!("outbox_batch", items = batch.len());
        async {
            for (item, rendering) in batch {
                // A free slot first, so the moment recorded below is the moment of sending.
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let (chat_wait, _) = limiter.wait(item.chat_id, Instant::now());
                if !chat_wait.is_zero() {
                    // This chat is at its limit: wait for it without holding up the others.
                    // Rendered again when it goes.
                    rendering.abort();
                    if chat_wait <= HOLD_AT_MOST {
                        held.push((Instant::now() + chat_wait, item));
                    } else {
                        let at = app.clock.now()
                            + chrono::Duration::from_std(chat_wait).unwrap_or_default();
                        if let Err(e) = app.store.defer_delivery(&item, at).await {
                            tracing::warn!(error = %e, outbox_id = item.id, "cannot defer");
                        }
                    }
                    continue;
                }
                // Rendered before taking the rate slot, so the slot's moment is the send's.
                let rendered = match rendering.await {
                    Ok(Ok(Some(r))) => r,
                    other => {
                        let error = match other {
                            Ok(result) => result.err(),
                            // A panic while rendering: a bug; the item goes the failed way.
                            Err(e) => {
                                tracing::error!(error = %e, outbox_id = item.id, "rendering panicked");
                                None
                            }
                        };
                        let outcome = unrenderable(&app, &item, error);
                        if let Err(e) = app
                            .store
                            .finish_delivery(&item, &outcome, app.clock.now())
                            .await
                        {
                            tracing::warn!(error = %e, outbox_id = item.id, "cannot record delivery");
                        }
                        continue;
                    }
                };
                let (_, global_wait) = limiter.wait(item.chat_id, Instant::now());
                if !global_wait.is_zero() {
                    tokio::time::sleep(global_wait).await;
                }
                limiter.record(item.chat_id, Instant::now());
                let (bot, app) = (bot.clone(), app.clone());
                let span =
                    tracing::info_span!("deliver", outbox_id = item.id, chat_id = item.chat_id);
                in_flight.spawn(
                    async move {
                        let outcome = deliver(&bot, &app, &item, rendered).await;
                        telemetry::metrics().sent(match outcome {
                            Delivery::Sent { .. } => telemetry::Send::Sent,
                            Delivery::Retry { .. } => telemetry::Send::Retried,
                            Delivery::Failed { .. } | Delivery::Blocked { .. } => {
                                telemetry::Send::Failed
                            }
                        });
                        if let Delivery::Failed { error } | Delivery::Blocked { error } = &outcome {
                            tracing::warn!(outbox_id = item.id, chat_id = item.chat_id, %error, "notification given up");
                            crate::tutoring::on_given_up(&app, &item).await;
                        }
                        // Recorded together with the other sends that finish meanwhile (one
                        // statement per group). A crash before the record stands is what
                        // it always was: the claim runs out and the item goes again.
                        if let Err(e) = app
                            .store
                            .finish_delivery(&item, &outcome, app.clock.now())
                            .await
                        {
                            // The lease runs out and another round retries the item.
                            tracing::warn!(error = %e, outbox_id = item.id, "cannot record delivery");
                        }
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
        .instrument(span)
        .await;
    }
    // Give back what we hold, and let deliveries under way finish and be recorded.
    hand_back(&app, held).await;
    hand_back_ahead(&app, ahead).await;
    while in_flight.join_next().await.is_some() {}
    if leadership.until.is_some()
        && let Err(e) = app.store.release_sender(&leadership.holder).await
    {
        // A standby takes over when the lease runs out.
        tracing::warn!(error = %e, "cannot give the sender lease up");
    }
}

/// Items claimed but not sent go back to the outbox, due now.
async fn hand_back(app: &Ctx, held: Vec<(Instant, OutboxItem)>) {
    for (_, item) in held {
        if let Err(e) = app.store.defer_delivery(&item, app.clock.now()).await {
            // Its lease runs out and the next sender takes it.
            tracing::warn!(error = %e, outbox_id = item.id, "cannot hand back a held item");
        }
    }
}

/// The batch claimed ahead goes back too (its renderings are dropped).
async fn hand_back_ahead(app: &Ctx, ahead: Option<Ahead>) {
    if let Some(Ok((items, _))) = match ahead {
        Some(next) => Some(next.await),
        None => None,
    } {
        let now = Instant::now();
        hand_back(
            app,
            items.into_iter().map(|(item, _)| (now, item)).collect(),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
    }

    #[test]
    fn retry_after_is_honoured() {
        let d = classify(
            &RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(7)),
            1,
            8,
            now(),
        );
        assert!(
            matches!(d, Delivery::Retry { at, .. } if at == now() + chrono::Duration::seconds(7))
        );
    }

    #[test]
    fn blocked_bot_gives_up_and_unknown_errors_retry_until_the_limit() {
        assert!(matches!(
            classify(&RequestError::Api(ApiError::BotBlocked), 1, 8, now()),
            Delivery::Blocked { .. }
        ));
        let unknown = RequestError::Api(ApiError::Unknown("Internal Server Error".into()));
        assert!(matches!(
            classify(&unknown, 1, 8, now()),
            Delivery::Retry { .. }
        ));
        assert!(matches!(
            classify(&unknown, 8, 8, now()),
            Delivery::Failed { .. }
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::ChatNotFound), 1, 8, now()),
            Delivery::Failed { .. }
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), chrono::Duration::seconds(2));
        assert_eq!(backoff(3), chrono::Duration::seconds(8));
        assert_eq!(backoff(50), chrono::Duration::seconds(256));
    }
}
