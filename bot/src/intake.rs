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
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use storage::StorageError;
use teloxide::RequestError;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me, UpdateKind};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

/// What became of one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Handled: it may be confirmed.
    Done,
    /// Not handled for a passing cause, or found claimed by another handler meanwhile:
    /// keep it unconfirmed and try again.
    Retry,
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

    /// Reads the claims of updates just received: one answered before is done at once, one
    /// being handled by another instance waits (shared mode), the others are to be handled —
    /// again, if claimed before.
    async fn admit(&self, updates: Vec<Update>) -> Vec<Admitted> {
        let ids: Vec<i64> = updates.iter().map(|u| i64::from(u.id.0)).collect();
        let claims = match ids.as_slice() {
            // A webhook post: grouped with the other posts of the moment.
            &[id] => self
                .app
                .store
                .update_claim(id)
                .await
                .map(|c| c.into_iter().map(|c| (id, c)).collect::<HashMap<_, _>>()),
            _ => self.app.store.update_claims(&ids).await,
        };
        let claims = match claims {
            Ok(claims) => claims,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read update claims; the updates wait");
                let mut out = Vec::with_capacity(updates.len());
                for u in &updates {
                    self.on_storage_error(u, &e).await;
                    out.push(Admitted::Finished(u.id.0, Outcome::Retry));
                }
                return out;
            }
        };
        let now = self.app.clock.now();
        updates
            .into_iter()
            .map(|u| match claims.get(&i64::from(u.id.0)) {
                Some(c) if c.answered => {
                    tracing::debug!(update_id = u.id.0, "answered before; skipped");
                    Admitted::Finished(u.id.0, Outcome::Done)
                }
                Some(c) if self.shared && c.at > now - IN_PROGRESS => {
                    tracing::debug!(update_id = u.id.0, "being handled elsewhere; later");
                    Admitted::Finished(u.id.0, Outcome::Retry)
                }
                claimed => Admitted::Handle(Box::new(u), Redelivered::new(claimed.is_some())),
            })
            .collect()
    }

    /// The newest update claimed before, 0 for none; `None` if it cannot be read.
    async fn last_claimed(&self) -> Option<u32> {
        match self.app.store.last_claimed_update().await {
            Ok(last) => Some(last.map_or(0, |id| u32::try_from(id).unwrap_or(u32::MAX))),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the last claimed update");
                None
            }
        }
    }

    /// Handles one update in a task of its own, so that a handler's panic (a bug) is caught:
    /// its update then counts as done, so that one bad update cannot stop the bot; the panic
    /// is in the log.
    async fn handle_guarded(self: &Arc<Self>, update: Update, again: Redelivered) -> Outcome {
        let id = update.id.0;
        let me = self.clone();
        match tokio::spawn(async move { me.handle(update, again).await }).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, update_id = id, "a handler panicked; its update is dropped");
                if let Err(e) = self.app.store.mark_answered_one(i64::from(id)).await {
                    tracing::debug!(error = %e, "cannot mark the update answered");
                }
                Outcome::Done
            }
        }
    }

    /// Handles one posted update (webhook).
    async fn handle_posted(self: &Arc<Self>, update: Update) -> Outcome {
        match self.admit(vec![update]).await.pop() {
            Some(Admitted::Handle(u, again)) => self.handle_guarded(*u, again).await,
            Some(Admitted::Finished(_, outcome)) => outcome,
            None => Outcome::Done,
        }
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
                // Claimed by someone else after its claims were read: another instance
                // (webhook), or, in long polling, the process before this one, whose
                // commit landed after this one started (a kill during a commit). Asked
                // again later: by then the claim is answered (skipped) or not (handled as
                // redelivered, answered again). Confirmed now, it would go unanswered.
                Outcome::Done if delivery.was_claimed_elsewhere() => Outcome::Retry,
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
            // later must not make Telegram's redelivery answer it again. Not waited for:
            // the answer is out, and the update may be confirmed before the mark commits
            // (once confirmed, nothing delivers it again). Best effort: without the mark, a
            // redelivery (only after a crash) answers again.
            let store = self.app.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.mark_answered_one(i64::from(id)).await {
                    tracing::debug!(error = %e, "cannot mark the update answered");
                }
            });
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

/// Telegram hands out at most this many updates per `getUpdates`.
const FETCH_LIMIT: usize = 100;

/// A fetch with updates in hand is sent only when this many new ones can come with it.
const MIN_ROOM: usize = FETCH_LIMIT / 4;

/// With updates in hand and none finishing, fetch again this often anyway: an update in hand
/// may take long (a large file), and other chats' updates must not wait for it.
const RECHECK: Duration = Duration::from_millis(200);

/// An update just received, as [`Intake::admit`] sorted it.
enum Admitted {
    Handle(Box<Update>, Redelivered),
    Finished(u32, Outcome),
}

/// Long polling that confirms an update only once it and every update before it are done.
///
/// Fetching runs ahead of handling: the next `getUpdates` is sent while updates are being
/// handled, with the oldest update not yet done as its offset, so it confirms nothing in
/// hand; it brings what arrived meanwhile (and the updates in hand again, which are
/// skipped). Updates of one chat run in order, chats side by side. An update that must be
/// retried stays unconfirmed, so a later fetch brings it (and its chat's later ones) again.
pub(crate) async fn poll(intake: Arc<Intake>, timeout: Duration, mut stop: watch::Receiver<bool>) {
    type Fetch = tokio::task::JoinHandle<Result<Vec<RawUpdate>, RequestError>>;
    let bot = intake.bot.clone();
    if let Err(e) = bot.delete_webhook().await {
        tracing::warn!(error = %e, "cannot delete the webhook; getUpdates may be refused");
    }
    let mut window = Window::default();
    // Updates above this id were never claimed when the loop started, and in long polling
    // no other instance handles updates: they need no claims read (one round trip less on
    // every update's way), unless they were tried here and must be retried. `None` while
    // it cannot be read: then every update's claim is read.
    let mut claimed_before = intake.last_claimed().await;
    let mut tasks: JoinSet<(i64, u32, Outcome)> = JoinSet::new();
    let mut fetch: Option<Fetch> = None;
    // Something finished or arrived since the last fetch was sent: another may bring more.
    let mut progressed = true;
    let mut fetch_pause = Duration::ZERO;
    let mut retry_pause = Duration::ZERO;
    let mut hold_until = tokio::time::Instant::now();
    let mut stopping = *stop.borrow();
    let start = |tasks: &mut JoinSet<_>, lane: i64, (u, again): (Update, Redelivered)| {
        let intake = intake.clone();
        tasks.spawn(async move {
            let id = u.id.0;
            (lane, id, intake.handle_guarded(u, again).await)
        });
    };
    loop {
        if stopping {
            if let Some(f) = fetch.take() {
                f.abort();
            }
            if tasks.is_empty() {
                break;
            }
        }
        let now = tokio::time::Instant::now();
        if fetch.is_none()
            && !stopping
            && now >= hold_until
            && (progressed || tasks.is_empty())
            && window.has_room()
        {
            progressed = false;
            fetch = Some(tokio::spawn(fetch_updates(
                bot.clone(),
                window.offset(),
                timeout,
            )));
        }
        let wake = if now < hold_until {
            Some(hold_until)
        } else if fetch.is_none() && !tasks.is_empty() {
            Some(now + RECHECK)
        } else {
            None
        };
        tokio::select! {
            fetched = async { fetch.as_mut().expect("guarded by is_some").await }, if fetch.is_some() => {
                fetch = None;
                let updates = match fetched {
                    Ok(Ok(updates)) => updates,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "getUpdates failed; trying again");
                        fetch_pause = match e {
                            RequestError::RetryAfter(s) => s.duration(),
                            _ => next_pause(fetch_pause),
                        };
                        hold_until = tokio::time::Instant::now() + fetch_pause;
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "getUpdates task failed");
                        continue;
                    }
                };
                fetch_pause = Duration::ZERO;
                let fresh = window.receive(updates);
                if fresh.is_empty() {
                    continue;
                }
                // Only the new ones are parsed: a fetch brings the updates in hand again.
                let fresh: Vec<Update> = fresh
                    .into_iter()
                    .filter_map(|raw| match serde_json::from_str::<Update>(raw.json.get()) {
                        Ok(u) => Some(u),
                        Err(e) => {
                            // Not an update this bot can read: done, so it does not hold
                            // the offset (teloxide reads unknown kinds, so this is rare).
                            tracing::error!(error = %e, update_id = raw.id, "unreadable update; skipped");
                            window.finish(None, raw.id, Outcome::Done);
                            None
                        }
                    })
                    .collect();
                progressed = true;
                if claimed_before.is_none() {
                    claimed_before = intake.last_claimed().await;
                }
                let (read, unclaimed): (Vec<Update>, Vec<Update>) =
                    fresh.into_iter().partition(|u| {
                        claimed_before.is_none_or(|c| u.id.0 <= c) || window.retried.contains(&u.id.0)
                    });
                let mut admitted = intake.admit(read).await;
                admitted.extend(
                    unclaimed
                        .into_iter()
                        .map(|u| Admitted::Handle(Box::new(u), Redelivered::new(false))),
                );
                for admitted in admitted {
                    match admitted {
                        Admitted::Handle(u, again) => {
                            let lane = lane_key(&u);
                            if let Some(next) = window.enqueue(lane, *u, again) {
                                start(&mut tasks, lane, next);
                            }
                        }
                        Admitted::Finished(id, outcome) => {
                            if outcome == Outcome::Retry {
                                hold(&mut retry_pause, &mut hold_until);
                            }
                            window.finish(None, id, outcome);
                        }
                    }
                }
            }
            joined = tasks.join_next(), if !tasks.is_empty() => {
                // Handlers run guarded: a join error is a cancelled task, at shutdown only.
                let Some(Ok((lane, id, outcome))) = joined else { continue };
                match outcome {
                    Outcome::Retry => hold(&mut retry_pause, &mut hold_until),
                    Outcome::Done => retry_pause = Duration::ZERO,
                }
                progressed = true;
                if let Some(next) = window.finish(Some(lane), id, outcome) {
                    start(&mut tasks, lane, next);
                }
            }
            _ = tokio::time::sleep_until(wake.unwrap_or(now)), if wake.is_some() => {
                progressed = true;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
            }
        }
    }
    // Confirms what was handled, so that a restart does not fetch it again.
    if let Some(offset) = window.offset() {
        let confirm = bot.get_updates().offset(offset as i32).limit(1).timeout(0);
        if let Err(e) = confirm.send().await {
            tracing::warn!(error = %e, "cannot confirm the last updates; a restart skips them");
        }
    }
}

/// An update as `getUpdates` hands it out: its id, read at once, and its JSON, parsed only
/// if it is new. Most of a busy bot's fetch is updates in hand already (the offset confirms
/// nothing unfinished), and teloxide's full parse of an update costs several times the scan
/// for its id.
pub(crate) struct RawUpdate {
    id: u32,
    json: Box<serde_json::value::RawValue>,
}

impl<'de> serde::Deserialize<'de> for RawUpdate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Id {
            update_id: u32,
        }
        let json = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let id = serde_json::from_str::<Id>(json.get())
            .map_err(serde::de::Error::custom)?
            .update_id;
        Ok(RawUpdate { id, json })
    }
}

/// What the window needs of a fetched update.
trait Fetched {
    fn id(&self) -> u32;
}

impl Fetched for RawUpdate {
    fn id(&self) -> u32 {
        self.id
    }
}

impl Fetched for Update {
    fn id(&self) -> u32 {
        self.id.0
    }
}

/// `getUpdates` from `offset`, answered as [`RawUpdate`]s; errors as teloxide reports them
/// (a `retry_after` as [`RequestError::RetryAfter`], a refusal as [`RequestError::Api`]).
async fn fetch_updates(
    bot: Bot,
    offset: Option<u32>,
    timeout: Duration,
) -> Result<Vec<RawUpdate>, RequestError> {
    #[derive(serde::Serialize)]
    struct Query {
        #[serde(skip_serializing_if = "Option::is_none")]
        offset: Option<u32>,
        timeout: u64,
        allowed_updates: Vec<AllowedUpdate>,
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        ok: bool,
        result: Option<Vec<RawUpdate>>,
        description: Option<String>,
        parameters: Option<teloxide::types::ResponseParameters>,
    }
    let mut url = bot.api_url();
    url.path_segments_mut()
        .map_err(|()| {
            RequestError::Io(Arc::new(std::io::Error::other(
                "the Bot API URL cannot take a path",
            )))
        })?
        .push(&format!("bot{}", bot.token()))
        .push("getUpdates");
    let query = Query {
        offset,
        timeout: timeout.as_secs(),
        allowed_updates: allowed_updates(),
    };
    let body = bot
        .client()
        .post(url)
        .json(&query)
        // The long poll, and room for the answer to come.
        .timeout(timeout + Duration::from_secs(10))
        .send()
        .await?
        .text()
        .await?;
    let answer: Answer = serde_json::from_str(&body).map_err(|e| RequestError::InvalidJson {
        source: Arc::new(e),
        raw: body.clone().into_boxed_str(),
    })?;
    match answer {
        Answer {
            ok: true,
            result: Some(updates),
            ..
        } => Ok(updates),
        Answer {
            parameters: Some(teloxide::types::ResponseParameters::RetryAfter(after)),
            ..
        } => Err(RequestError::RetryAfter(after)),
        Answer { description, .. } => {
            let description = description.unwrap_or_default();
            Err(RequestError::Api(
                serde_json::from_value(serde_json::Value::String(description))
                    .unwrap_or_else(|e| teloxide::ApiError::Unknown(e.to_string())),
            ))
        }
    }
}

/// The updates fetched and not confirmed yet: what the poll loop knows between fetches.
#[derive(Default)]
struct Window {
    /// The highest update id received.
    last: Option<u32>,
    /// Received and not done: in a lane (waiting or being handled), or to be fetched again.
    unfinished: BTreeSet<u32>,
    /// In a lane now: a fetch that brings one again skips it.
    in_hand: HashSet<u32>,
    /// Done, at or above the offset: fetches bring them again until the offset passes them.
    done: HashSet<u32>,
    /// Per chat, the updates waiting behind the one being handled.
    lanes: HashMap<i64, VecDeque<(Update, Redelivered)>>,
    /// Tried and to be tried again: a claim of it may have committed.
    retried: HashSet<u32>,
}

impl Window {
    /// The next fetch's offset: the oldest update not done (confirming everything before
    /// it), or the one after the last received; `None` before the first update.
    fn offset(&self) -> Option<u32> {
        self.unfinished
            .first()
            .copied()
            .or(self.last.map(|last| last + 1))
    }

    /// Whether a fetch can bring anything to handle: it brings the oldest updates at or
    /// above the offset, and skips those in hand or done (updates to retry it brings again,
    /// to be handled).
    ///
    /// A fetch brings the known ones again (Telegram's answer and our parsing of it cost per
    /// update), so it waits until at least [`MIN_ROOM`] new ones can come.
    fn has_room(&self) -> bool {
        let offset = self.offset().unwrap_or(0);
        let done = self.done.iter().filter(|d| **d >= offset).count();
        self.in_hand.len() + done + MIN_ROOM <= FETCH_LIMIT
    }

    /// The fetched updates not in hand or done already.
    fn receive<U: Fetched>(&mut self, updates: Vec<U>) -> Vec<U> {
        let fresh: Vec<U> = updates
            .into_iter()
            .filter(|u| !self.in_hand.contains(&u.id()) && !self.done.contains(&u.id()))
            .collect();
        for u in &fresh {
            self.unfinished.insert(u.id());
            self.last = self.last.max(Some(u.id()));
        }
        // Forgotten only now, between fetches: a fetch sent before the offset passed an
        // update brings it again, and it must still be known as done then.
        if let Some(offset) = self.offset() {
            self.done.retain(|d| *d >= offset);
        }
        fresh
    }

    /// Puts an update in its chat's lane; returns it if the lane was idle (start it now).
    fn enqueue(
        &mut self,
        lane: i64,
        update: Update,
        again: Redelivered,
    ) -> Option<(Update, Redelivered)> {
        self.in_hand.insert(update.id.0);
        match self.lanes.get_mut(&lane) {
            Some(waiting) => {
                waiting.push_back((update, again));
                None
            }
            None => {
                self.lanes.insert(lane, VecDeque::new());
                Some((update, again))
            }
        }
    }

    /// Records an outcome; for a handled update (`lane` given), returns the next of its lane
    /// to start. A retry holds its lane: the later updates of the chat are fetched again
    /// with it, and handled after it, in order.
    fn finish(
        &mut self,
        lane: Option<i64>,
        id: u32,
        outcome: Outcome,
    ) -> Option<(Update, Redelivered)> {
        self.in_hand.remove(&id);
        if outcome == Outcome::Retry {
            self.retried.insert(id);
        } else {
            self.retried.remove(&id);
            self.unfinished.remove(&id);
            self.done.insert(id);
        }
        let lane = lane?;
        let waiting = self.lanes.get_mut(&lane)?;
        let next = match outcome {
            Outcome::Retry => {
                for (u, _) in waiting.drain(..) {
                    self.in_hand.remove(&u.id.0);
                }
                None
            }
            Outcome::Done => waiting.pop_front(),
        };
        if next.is_none() {
            self.lanes.remove(&lane);
        }
        next
    }
}

/// Holds fetching after a retry, the pause growing once per round of retries (not once per
/// update: a hundred failing together are one failure of the database).
fn hold(pause: &mut Duration, until: &mut tokio::time::Instant) {
    let now = tokio::time::Instant::now();
    if now >= *until {
        *pause = next_pause(*pause);
        *until = now + *pause;
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
        match hook.intake.handle_posted(update).await {
            Outcome::Retry => StatusCode::SERVICE_UNAVAILABLE,
            Outcome::Done => StatusCode::OK,
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

    fn text(id: u32, chat: i64) -> Update {
        let u: Update = serde_json::from_str(
            &serde_json::json!({
                "update_id": id,
                "message": {
                    "message_id": id,
                    "date": 1_700_000_000,
                    "chat": {"id": chat, "type": "private", "first_name": "甲"},
                    "from": {"id": chat, "is_bot": false, "first_name": "甲"},
                    "text": "今天走访了三户"
                }
            })
            .to_string(),
        )
        .expect("a valid update");
        assert!(matches!(u.kind, UpdateKind::Message(_)), "{u:?}");
        u
    }

    fn ids(updates: &[Update]) -> Vec<u32> {
        updates.iter().map(|u| u.id.0).collect()
    }

    /// Receives and enqueues, returning the ids to start now.
    fn take(w: &mut Window, updates: Vec<Update>) -> Vec<u32> {
        let mut started = Vec::new();
        for u in w.receive(updates) {
            let lane = lane_key(&u);
            if let Some((u, _)) = w.enqueue(lane, u, Redelivered::default()) {
                started.push(u.id.0);
            }
        }
        started
    }

    #[test]
    fn the_offset_passes_an_update_only_when_it_and_all_before_are_done() {
        let mut w = Window::default();
        assert_eq!(w.offset(), None);
        // Chat 7 sent 1 and 3, chat 8 sent 2: 1 and 2 start, 3 waits behind 1.
        assert_eq!(
            take(&mut w, vec![text(1, 7), text(2, 8), text(3, 7)]),
            [1, 2]
        );
        assert_eq!(w.offset(), Some(1));
        // 2 done first: 1 still holds the offset.
        assert!(w.finish(Some(8), 2, Outcome::Done).is_none());
        assert_eq!(w.offset(), Some(1));
        // A fetch now brings 1..3 again and a new 4: only 4 is fresh.
        assert_eq!(
            ids(&w.receive(vec![text(1, 7), text(2, 8), text(3, 7), text(4, 9)])),
            [4]
        );
        let next = w.finish(Some(7), 1, Outcome::Done).map(|(u, _)| u.id.0);
        assert_eq!(next, Some(3), "the chat's next update starts after it");
        assert_eq!(w.offset(), Some(3));
        w.finish(Some(7), 3, Outcome::Done);
        w.finish(None, 4, Outcome::Done);
        assert_eq!(w.offset(), Some(5));
        // A fetch sent before those were done brings them again: still skipped.
        assert!(w.receive(vec![text(3, 7), text(4, 9)]).is_empty());
        assert!(w.done.is_empty() && w.in_hand.is_empty() && w.lanes.is_empty());
    }

    #[test]
    fn a_retry_holds_its_chat_and_both_are_fetched_again_in_order() {
        let mut w = Window::default();
        assert_eq!(
            take(&mut w, vec![text(10, 7), text(11, 7), text(12, 8)]),
            [10, 12]
        );
        assert!(
            w.finish(Some(7), 10, Outcome::Retry).is_none(),
            "11 must wait for 10"
        );
        assert!(
            w.retried.contains(&10),
            "its claim is read again when it comes back"
        );
        w.finish(Some(8), 12, Outcome::Done);
        assert_eq!(w.offset(), Some(10));
        // The next fetch brings 10 and 11 again, fresh, in order; 12 is skipped.
        assert_eq!(
            take(&mut w, vec![text(10, 7), text(11, 7), text(12, 8)]),
            [10]
        );
        let next = w.finish(Some(7), 10, Outcome::Done).map(|(u, _)| u.id.0);
        assert_eq!(next, Some(11));
        w.finish(Some(7), 11, Outcome::Done);
        assert_eq!(w.offset(), Some(13));
        assert!(w.retried.is_empty());
    }

    #[test]
    fn no_fetch_while_the_known_updates_fill_what_one_fetch_brings() {
        let mut w = Window::default();
        let batch: Vec<Update> = (1..=FETCH_LIMIT as u32).map(|id| text(id, 7)).collect();
        take(&mut w, batch);
        assert!(!w.has_room());
        for id in 1..MIN_ROOM as u32 {
            w.finish(Some(7), id, Outcome::Done);
        }
        assert!(!w.has_room(), "a fetch would bring too few new ones");
        w.finish(Some(7), MIN_ROOM as u32, Outcome::Done);
        assert!(w.has_room(), "the offset moved past enough of them");
    }

    #[test]
    fn updates_to_retry_are_fetched_again_however_many() {
        let mut w = Window::default();
        // One chat each, all failing (the database away): none in hand, all to fetch again.
        let batch: Vec<Update> = (1..=FETCH_LIMIT as u32)
            .map(|id| text(id, i64::from(id)))
            .collect();
        assert_eq!(take(&mut w, batch.clone()).len(), FETCH_LIMIT);
        for id in 1..=FETCH_LIMIT as u32 {
            w.finish(Some(i64::from(id)), id, Outcome::Retry);
        }
        assert!(
            w.has_room(),
            "a full window of retries must not stop fetching"
        );
        assert_eq!(w.offset(), Some(1));
        assert_eq!(take(&mut w, batch).len(), FETCH_LIMIT, "all handled again");
    }
}
