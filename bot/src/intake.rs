//! Updates in. An update is confirmed to Telegram — by the next `getUpdates` offset, or by
//! the webhook's 2xx — only once its handling has committed and its answer went out, so a
//! crash or a database outage never loses one: Telegram delivers it again (it keeps
//! updates for 24 h).
//!
//! The outcome of one update is [`Outcome::Done`] (handled, answered or deliberately left
//! alone) or [`Outcome::Retry`] (the database or Telegram was out of reach: try again
//! later). While the database is away the person is told once that the bot is delayed;
//! his message is handled when it returns.
//!
//! Claims (`processed_updates`) make handling idempotent: an update claimed and answered
//! before is skipped; one claimed whose answer may have been lost (the process died in
//! between) is handled again with [`Redelivered`] set, and a work log then re-sends its
//! receipt instead of recording it twice.

use crate::texts::{K, tr};
use crate::{Ctx, HandlerError, Sender};
use domain::config::Lang;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use storage::StorageError;
use teloxide::RequestError;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me, UpdateKind};
use tokio::sync::watch;
use tracing::Instrument;

/// What became of one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Handled: it may be confirmed.
    Done,
    /// Not handled for a passing cause: keep it unconfirmed and try again.
    Retry,
    /// Claimed meanwhile by another handler (another instance got it too): its answer is
    /// that handler's. Confirmed, but not marked answered here.
    Elsewhere,
}

/// How this delivery of an update relates to earlier ones.
#[derive(Debug, Clone, Default)]
pub struct Redelivered {
    /// Claimed before, but its answer may never have gone out: handle it again, answering
    /// without changing anything twice.
    pub again: bool,
    elsewhere: Arc<std::sync::atomic::AtomicBool>,
}

impl Redelivered {
    fn new(again: bool) -> Redelivered {
        Redelivered {
            again,
            ..Default::default()
        }
    }

    /// A handler found the update claimed by someone else while it was handling it.
    pub fn claimed_elsewhere(&self) {
        self.elsewhere
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn was_claimed_elsewhere(&self) -> bool {
        self.elsewhere.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The update kinds the bot asks Telegram for (everything it has a route for).
pub fn allowed_updates() -> Vec<AllowedUpdate> {
    vec![
        AllowedUpdate::Message,
        AllowedUpdate::EditedMessage,
        AllowedUpdate::CallbackQuery,
        AllowedUpdate::MyChatMember,
        // Reactions in the sharing group (Telegram sends them only to an admin bot).
        AllowedUpdate::MessageReaction,
    ]
}

pub(crate) struct Intake {
    bot: Bot,
    app: Ctx,
    me: Me,
    handler: UpdateHandler<HandlerError>,
    /// Webhook mode: several instances may get one update (Telegram or a balancer
    /// delivering it twice), so a claim without an answer may be one in progress.
    shared: bool,
}

/// A claim without an answer younger than this may still be handled by another instance (a handler
/// waits at most a few seconds for the database): the post is answered 503, and Telegram
/// delivers it again later. Older, its handler died.
const IN_PROGRESS: chrono::Duration = chrono::Duration::seconds(6);

impl Intake {
    pub(crate) fn new(bot: Bot, app: Ctx, me: Me, shared: bool) -> Arc<Intake> {
        Arc::new(Intake {
            bot,
            app,
            me,
            handler: crate::schema(),
            shared,
        })
    }

    /// Handles a batch: updates of one chat in order, chats side by side. Once an update of
    /// a chat must be retried, the later ones of that chat wait too, so order holds.
    pub(crate) async fn handle_batch(
        self: &Arc<Self>,
        updates: Vec<Update>,
    ) -> Vec<(u32, Outcome)> {
        let ids: Vec<i64> = updates.iter().map(|u| i64::from(u.id.0)).collect();
        let claims = match self.app.store.update_claims(&ids).await {
            Ok(claims) => claims,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read update claims; the batch waits");
                for u in &updates {
                    self.on_storage_error(u, &e).await;
                }
                return updates.iter().map(|u| (u.id.0, Outcome::Retry)).collect();
            }
        };
        let mut outcomes = Vec::with_capacity(updates.len());
        let mut lanes: HashMap<i64, Vec<(Update, Redelivered)>> = HashMap::new();
        let mut order = Vec::new();
        let now = self.app.clock.now();
        for u in updates {
            match claims.get(&i64::from(u.id.0)) {
                Some(c) if c.answered => {
                    tracing::debug!(update_id = u.id.0, "answered before; skipped");
                    outcomes.push((u.id.0, Outcome::Done));
                }
                Some(c) if self.shared && c.at > now - IN_PROGRESS => {
                    tracing::debug!(update_id = u.id.0, "being handled elsewhere; later");
                    outcomes.push((u.id.0, Outcome::Retry));
                }
                claimed => {
                    let key = lane_key(&u);
                    if !lanes.contains_key(&key) {
                        order.push(key);
                    }
                    let again = Redelivered::new(claimed.is_some());
                    lanes.entry(key).or_default().push((u, again));
                }
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        let mut lane_ids = HashMap::new();
        for key in order {
            let lane = lanes.remove(&key).unwrap_or_default();
            let ids: Vec<u32> = lane.iter().map(|(u, _)| u.id.0).collect();
            let me = self.clone();
            let task = tasks.spawn(async move {
                let mut done = Vec::with_capacity(lane.len());
                let mut waiting = false;
                for (u, again) in lane {
                    let id = u.id.0;
                    let outcome = if waiting {
                        Outcome::Retry
                    } else {
                        me.handle(u, again).await
                    };
                    waiting = outcome == Outcome::Retry;
                    done.push((id, outcome));
                }
                done
            });
            lane_ids.insert(task.id(), ids);
        }
        let mut answered = Vec::new();
        while let Some(lane) = tasks.join_next().await {
            match lane {
                Ok(lane) => {
                    answered.extend(
                        lane.iter()
                            .filter(|(_, o)| *o == Outcome::Done)
                            .map(|(id, _)| i64::from(*id)),
                    );
                    outcomes.extend(lane);
                }
                // A handler panicked: a bug. Its lane's updates count as done (and
                // answered) so that one bad update cannot stop the bot; the panic is in
                // the log.
                Err(e) => {
                    tracing::error!(error = %e, "a handler panicked; its updates are dropped");
                    for id in lane_ids.remove(&e.id()).unwrap_or_default() {
                        answered.push(i64::from(id));
                        outcomes.push((id, Outcome::Done));
                    }
                }
            }
        }
        // Best effort: without the mark a redelivery (only after a crash) answers again.
        if let Err(e) = self.app.store.mark_answered(&answered).await {
            tracing::warn!(error = %e, "cannot mark updates answered");
        }
        outcomes
    }

    /// Handles one update: who sent it, then the handler tree.
    async fn handle(&self, update: Update, again: Redelivered) -> Outcome {
        let span = tracing::info_span!(
            "update",
            update_id = update.id.0,
            kind = update_kind(&update),
            person_id = tracing::field::Empty,
        );
        let kind = update_kind(&update);
        let id = update.id.0;
        let started = std::time::Instant::now();
        let outcome = async {
            let sender = match update.from() {
                None => Sender(None),
                Some(user) => match self.app.store.sender(user.id.0 as i64).await {
                    Ok(person) => {
                        if let Some(p) = &person {
                            tracing::Span::current().record("person_id", p.id);
                        }
                        Sender(person)
                    }
                    Err(e) => return self.on_storage_error(&update, &e).await,
                },
            };
            let chat = update.chat().map(|c| c.id);
            let lang = self.lang_of(&update);
            let delivery = again.clone();
            let deps = dptree::deps![
                self.bot.clone(),
                self.me.clone(),
                self.app.clone(),
                update,
                sender,
                again
            ];
            let outcome = match self.handler.dispatch(deps).await {
                std::ops::ControlFlow::Break(Ok(())) => Outcome::Done,
                std::ops::ControlFlow::Break(Err(e)) => self.on_handler_error(chat, lang, e).await,
                std::ops::ControlFlow::Continue(_) => {
                    tracing::debug!("update not for the bot; ignored");
                    Outcome::Done
                }
            };
            let outcome = match outcome {
                // Webhook: ask again later, when the other handler has marked it answered
                // (or died, and it is handled here as redelivered).
                Outcome::Done if delivery.was_claimed_elsewhere() && self.shared => Outcome::Retry,
                Outcome::Done if delivery.was_claimed_elsewhere() => Outcome::Elsewhere,
                other => other,
            };
            if outcome == Outcome::Done
                && let Some(chat) = chat
            {
                self.app.delayed.recovered(chat.0);
            }
            outcome
        }
        .instrument(span)
        .await;
        if outcome == Outcome::Done {
            telemetry::metrics().update_handled(kind, started.elapsed().as_secs_f64());
            // Marked at once (grouped with the others of the moment): a crash a moment
            // later must not make Telegram's redelivery answer it again. Best effort: the
            // batch's end marks it too.
            if let Err(e) = self.app.store.mark_answered_one(i64::from(id)).await {
                tracing::debug!(error = %e, "cannot mark the update answered yet");
            }
        }
        outcome
    }

    async fn on_handler_error(&self, chat: Option<ChatId>, lang: Lang, e: HandlerError) -> Outcome {
        if let Some(se) = e.downcast_ref::<StorageError>()
            && se.is_unavailable()
        {
            tracing::warn!(error = %se, "database unavailable; the update waits");
            if let Some(chat) = chat {
                self.tell_delayed(chat, lang).await;
            }
            return Outcome::Retry;
        }
        if let Some(re) = e.downcast_ref::<RequestError>()
            && matches!(
                re,
                RequestError::Network(_) | RequestError::Io(_) | RequestError::RetryAfter(_)
            )
        {
            tracing::warn!(error = %re, "Telegram out of reach; the update waits");
            return Outcome::Retry;
        }
        // A fault of ours or a refusal by Telegram: trying again would fail again.
        tracing::error!(error = %e, "handler failed");
        Outcome::Done
    }

    /// The database failed before the handler could run (sender look-up, claims).
    async fn on_storage_error(&self, update: &Update, e: &StorageError) -> Outcome {
        let chat = update.chat().filter(|c| c.is_private()).map(|c| c.id);
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable; the update waits");
            if let Some(chat) = chat {
                self.tell_delayed(chat, self.lang_of(update)).await;
            } else if let UpdateKind::CallbackQuery(q) = &update.kind
                && self.app.delayed.first_time(q.from.id.0 as i64)
            {
                let text = tr(self.app.lang_of_user(&q.from), K::Delayed);
                // Unanswered, the button spins until Telegram gives up; no harm either way.
                let _ = self
                    .bot
                    .answer_callback_query(q.id.clone())
                    .text(text)
                    .await;
            }
            return Outcome::Retry;
        }
        tracing::error!(error = %e, "cannot look up the sender; the person is told");
        if let (Some(chat), Some(user)) = (chat, update.from()) {
            let text = tr(self.app.lang_of_user(user), K::DbUnavailable);
            if let Err(e) = self.bot.send_message(chat, text).await {
                tracing::warn!(error = %e, "cannot tell the person");
            }
        }
        Outcome::Done
    }

    /// The language to answer in when the roster cannot be read: his client's.
    fn lang_of(&self, update: &Update) -> Lang {
        match update.from() {
            Some(user) => self.app.lang_of_user(user),
            None => self.app.config.language,
        }
    }

    /// Tells a private chat, once per outage, that its messages wait.
    async fn tell_delayed(&self, chat: ChatId, lang: Lang) {
        if chat.0 <= 0 || !self.app.delayed.first_time(chat.0) {
            return;
        }
        if let Err(e) = self.bot.send_message(chat, tr(lang, K::Delayed)).await {
            tracing::warn!(error = %e, "cannot tell the person his message waits");
        }
    }
}

/// The chats told "delayed" during the current outage: told once each, forgotten once one
/// of their updates goes through.
#[derive(Default)]
pub(crate) struct Delayed(std::sync::Mutex<HashSet<i64>>);

impl Delayed {
    fn first_time(&self, chat: i64) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(chat)
    }

    fn recovered(&self, chat: i64) {
        let mut told = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !told.is_empty() {
            told.remove(&chat);
        }
    }
}

/// Updates of one chat (or, without a chat, of one person) are handled in order.
fn lane_key(u: &Update) -> i64 {
    match (u.chat(), u.from()) {
        (Some(c), _) => c.id.0,
        (None, Some(user)) => user.id.0 as i64,
        // Nothing to keep in order with: a lane of its own.
        (None, None) => i64::MIN + i64::from(u.id.0),
    }
}

pub(crate) fn update_kind(update: &Update) -> &'static str {
    match &update.kind {
        UpdateKind::Message(_) => "message",
        UpdateKind::EditedMessage(_) => "edited_message",
        UpdateKind::CallbackQuery(_) => "callback_query",
        UpdateKind::MyChatMember(_) => "my_chat_member",
        UpdateKind::MessageReaction(_) => "message_reaction",
        UpdateKind::ChannelPost(_) | UpdateKind::EditedChannelPost(_) => "channel_post",
        _ => "other",
    }
}

/// Long polling that confirms an update only once it and every update before it are done.
pub(crate) async fn poll(intake: Arc<Intake>, timeout: Duration, mut stop: watch::Receiver<bool>) {
    let bot = intake.bot.clone();
    if let Err(e) = bot.delete_webhook().await {
        tracing::warn!(error = %e, "cannot delete the webhook; getUpdates may be refused");
    }
    // 0: no offset yet, Telegram starts from its oldest unconfirmed update.
    let mut offset: u32 = 0;
    // Updates at or above `offset` handled already (a retry fetches them again).
    let mut done: HashSet<u32> = HashSet::new();
    let mut pause = Duration::ZERO;
    loop {
        if !pause.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
        }
        if *stop.borrow() {
            break;
        }
        let mut req = bot
            .get_updates()
            .timeout(timeout.as_secs() as u32)
            .allowed_updates(allowed_updates());
        if offset != 0 {
            req = req.offset(offset as i32);
        }
        let fetched = tokio::select! {
            r = req.send() => r,
            _ = stop.changed() => break,
        };
        let updates = match fetched {
            Ok(updates) => updates,
            Err(e) => {
                tracing::warn!(error = %e, "getUpdates failed; trying again");
                pause = match e {
                    RequestError::RetryAfter(s) => s.duration(),
                    _ => next_pause(pause),
                };
                continue;
            }
        };
        let Some(last) = updates.last().map(|u| u.id.0) else {
            pause = Duration::ZERO;
            continue;
        };
        let ids: Vec<u32> = updates.iter().map(|u| u.id.0).collect();
        let fresh: Vec<Update> = updates
            .into_iter()
            .filter(|u| !done.contains(&u.id.0))
            .collect();
        for (id, outcome) in intake.handle_batch(fresh).await {
            if outcome != Outcome::Retry {
                done.insert(id);
            }
        }
        let waiting = ids.iter().copied().filter(|id| !done.contains(id)).min();
        offset = waiting.unwrap_or(last + 1);
        done.retain(|id| *id >= offset);
        pause = match waiting {
            Some(_) => next_pause(pause),
            None => Duration::ZERO,
        };
    }
    // Confirms what was handled, so that a restart does not fetch it again.
    if offset != 0 {
        let confirm = bot.get_updates().offset(offset as i32).limit(1).timeout(0);
        if let Err(e) = confirm.send().await {
            tracing::warn!(error = %e, "cannot confirm the last updates; a restart skips them");
        }
    }
}

/// Backoff for retries: 0.5 s doubling to 2 s, short enough that a recovered database is
/// noticed at once (a retry costs one getUpdates and a failing query).
fn next_pause(pause: Duration) -> Duration {
    (pause * 2).clamp(Duration::from_millis(500), Duration::from_secs(2))
}

/// The webhook's secret: the configured one, else one derived from the bot token so that
/// every instance of one bot agrees without configuration.
pub fn webhook_secret(configured: Option<&str>, token: &str) -> String {
    use sha2::{Digest, Sha256};
    match configured {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => Sha256::digest(format!("zhucun-webhook:{token}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

/// Compares secrets in time independent of where they differ (both are hashed first, so
/// their lengths do not show either).
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

pub(crate) struct Webhook {
    pub url: url::Url,
    pub listen: std::net::SocketAddr,
    pub secret: String,
    pub max_connections: u8,
}

/// Serves the webhook: a post is answered 200 once its update is handled, 503 when it must
/// be delivered again (the database is away), 401 without the secret.
pub(crate) async fn serve_webhook(
    intake: Arc<Intake>,
    hook: Webhook,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};

    struct Hook {
        intake: Arc<Intake>,
        secret: String,
    }

    async fn post(
        State(hook): State<Arc<Hook>>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        let given = headers
            .get("x-telegram-bot-api-secret-token")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !same_secret(given, hook.secret.as_bytes()) {
            return StatusCode::UNAUTHORIZED;
        }
        let update: Update = match serde_json::from_slice(&body) {
            Ok(u) => u,
            Err(e) => {
                // Delivering it again would not make it readable.
                tracing::warn!(error = %e, "unreadable update posted; dropped");
                return StatusCode::OK;
            }
        };
        match hook.intake.handle_batch(vec![update]).await.first() {
            Some((_, Outcome::Retry)) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::OK,
        }
    }

    let tcp = tokio::net::TcpListener::bind(hook.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", hook.listen))?;
    let path = match hook.url.path() {
        "" => "/".to_string(),
        p => p.to_string(),
    };
    let state = Arc::new(Hook {
        intake: intake.clone(),
        secret: hook.secret.clone(),
    });
    let router = axum::Router::new()
        .route(&path, axum::routing::post(post))
        .with_state(state);
    intake
        .bot
        .set_webhook(hook.url.clone())
        .secret_token(hook.secret)
        .allowed_updates(allowed_updates())
        .max_connections(hook.max_connections)
        .await
        .map_err(|e| format!("setWebhook failed: {e}"))?;
    Ok(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        // Graceful: a post being handled is finished and answered before the server ends.
        if let Err(e) = axum::serve(tcp, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "webhook server failed");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
    }

    #[test]
    fn derived_secret_is_stable_and_allowed() {
        let a = webhook_secret(None, "123:abc");
        assert_eq!(a, webhook_secret(Some(""), "123:abc"));
        assert_ne!(a, webhook_secret(None, "123:abd"));
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(webhook_secret(Some("mine"), "123:abc"), "mine");
    }

    #[test]
    fn pauses_grow_to_a_cap() {
        let mut p = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..6 {
            p = next_pause(p);
            seen.push(p.as_millis());
        }
        assert_eq!(seen, [500, 1000, 2000, 2000, 2000, 2000]);
    }
}
