//! A fake Telegram Bot API server on loopback for end-to-end tests and load benchmarks.
//!
//! Point the real teloxide `Bot` at it, push user updates, and assert what the bot sent:
//!
//! ```no_run
//! # use std::time::Duration;
//! # use fakebot::{FakeTelegram, TOKEN, updates::{self, TgUser}};
//! # use teloxide::prelude::*;
//! # async fn run_my_bot(_bot: Bot) {}
//! # async fn scenario() {
//! let fake = FakeTelegram::start().await;
//! let bot = Bot::new(TOKEN).set_api_url(fake.url().parse().unwrap());
//! tokio::spawn(run_my_bot(bot)); // the real Dispatcher, polling the fake
//! let ann = TgUser::new(42, "Ann");
//! fake.push_update(updates::text(&ann, "/start"));
//! let menu = fake.next_to(42).await; // waits up to 10 s, then panics with a transcript
//! assert!(menu.text().unwrap().contains("Welcome"));
//! fake.push_update(updates::click(&ann, &menu, "Settings")); // press an inline button
//! assert_eq!(fake.next_to(42).await.method, "editMessageText");
//! fake.assert_silent(42, Duration::from_millis(200)).await;
//! # }
//! ```
//!
//! Behaviour worth knowing:
//! - teloxide sends method names as `SendMessage`; they are recorded (and matched by
//!   `calls_to`, `fail_next`, ...) as `sendMessage`.
//! - `getUpdates` long-polls (up to `timeout` s); an `offset` confirms earlier updates;
//!   `allowed_updates` is honoured like Telegram (other update kinds are dropped, with a
//!   message on stderr). teloxide sends the list derived from the handler tree.
//! - Sent messages get ids from 10_000_000 upwards; their current content (after edits) is
//!   kept, so edits return the full Message, and an identical edit answers
//!   "message is not modified" like Telegram.
//! - Texts are checked like Telegram does: empty text, > 4096 / > 1024 (caption) chars,
//!   broken HTML / unescaped MarkdownV2, callback_data > 64 bytes are refused with 400
//!   (disable the parse-mode check with [`FakeTelegram::set_validate_formatting`]).
//! - "Visible" calls (for [`FakeTelegram::sent_to`] / [`FakeTelegram::next_to`]) are delivered
//!   `send*` (not sendChatAction), copy/forward and `editMessage*` calls.
//! - getFile answers "file is too big" for files over 20 MB, like the cloud Bot API.
//! - Edits of unknown messages are accepted (a synthetic message is edited); edits of users'
//!   messages get "message can't be edited". Unknown methods answer `true`.

mod call;
pub mod channels;
mod format;
pub mod proxy;
mod rate;
mod server;
pub mod updates;
mod webhook;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

pub use axum::body::Bytes;
pub use call::{Call, UploadedFile};
pub use rate::RateLimits;
pub use updates::TgUser;

use server::{Queued, Shared, State, canonical_method};

/// The token the fake accepts (others get 401 "Unauthorized").
pub const TOKEN: &str = "123456:TEST-TOKEN";
/// The bot's own user id.
pub const BOT_ID: i64 = 10_000;
/// The bot's username.
pub const BOT_USERNAME: &str = "zhucun_test_bot";
/// getFile refuses files larger than this with "file is too big", as the cloud Bot API does.
pub const MAX_DOWNLOAD_BYTES: usize = 20 * 1024 * 1024;
/// Timeout of [`FakeTelegram::next_to`] and [`FakeTelegram::next_call`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An injected failure for [`FakeTelegram::fail_next`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 with `parameters.retry_after` → teloxide `RequestError::RetryAfter`.
    TooManyRequests { retry_after: u32 },
    /// 403 "Forbidden: bot was blocked by the user" → `ApiError::BotBlocked`.
    Forbidden,
    /// `error_code` 500 "Internal Server Error" → `ApiError::Unknown`. Sent with HTTP status
    /// 200, because teloxide sleeps 10 s before reading any 5xx response; use
    /// [`Failure::Api`] with code 500 for the real (slow) thing.
    ServerError,
    /// The connection is dropped before the request is processed → `RequestError::Network`.
    Disconnect,
    /// The request IS processed (message sent), then the connection is dropped →
    /// `RequestError::Network`; a retry by the bot produces a duplicate.
    ResponseLost,
    /// Any error: HTTP status and `error_code` = `code`.
    Api { code: u16, description: String },
}

/// [`FakeTelegram::wait_for`] gave up. `Display` shows the calls received so far.
#[derive(Clone, Debug)]
pub struct WaitTimeout {
    pub waited: Duration,
    pub what: String,
    pub transcript: String,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fakebot: timed out after {:?} waiting for {}\n{}",
            self.waited, self.what, self.transcript
        )
    }
}

impl std::error::Error for WaitTimeout {}

struct Handle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// Dropping it (with the last clone) stops the server.
    _shutdown: oneshot::Sender<()>,
}

/// The fake server. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Handle>,
}

impl FakeTelegram {
    /// Binds 127.0.0.1:0 and spawns the server on the current tokio runtime.
    pub async fn start() -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fakebot: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fakebot: local_addr");
        let bot_user = json!({
            "id": BOT_ID,
            "is_bot": true,
            "first_name": "Zhucun Test Bot",
            "username": BOT_USERNAME,
        });
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            calls_changed: Notify::new(),
            updates_changed: Notify::new(),
            bot_user,
        });
        let app = Router::new()
            .route("/file/{token}/{*path}", get(server::download))
            .route("/{token}/{method}", any(server::api))
            .route("/{origin}/{token}/{method}", any(server::api_prefixed))
            .fallback(server::not_found)
            .layer(DefaultBodyLimit::max(100 << 20))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        FakeTelegram {
            inner: Arc::new(Handle {
                shared,
                addr,
                _shutdown: tx,
            }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Base URL for `Bot::set_api_url`, e.g. `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.inner.addr)
    }

    /// The API under a path prefix: calls through it carry `origin` in [`Call::origin`],
    /// so a test can tell which of its processes made a call (file downloads are not
    /// served under it). No trailing slash: teloxide appends path segments to it.
    pub fn url_for(&self, origin: &str) -> String {
        format!("http://{}/{origin}", self.inner.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The bot's own `User` JSON (id [`BOT_ID`], username [`BOT_USERNAME`]).
    pub fn bot_user(&self) -> Value {
        self.shared().bot_user.clone()
    }

    // ----- updates -----

    /// Queues an update for getUpdates. Assigns `update_id` if absent (increasing) and returns
    /// it. An explicit `update_id` (even an old one) is delivered as well, to test redelivery.
    pub fn push_update(&self, update: Value) -> i64 {
        let id = self.shared().lock().enqueue(update);
        self.shared().updates_changed.notify_waiters();
        id
    }

    /// Queues many updates under one lock (for benchmarks). Returns their ids.
    pub fn push_updates(&self, updates: impl IntoIterator<Item = Value>) -> Vec<i64> {
        let ids = {
            let mut st = self.shared().lock();
            updates.into_iter().map(|u| st.enqueue(u)).collect()
        };
        self.shared().updates_changed.notify_waiters();
        ids
    }

    /// From now on, delivers queued updates like Telegram does to a bot with a webhook:
    /// each posted to the URL of the last `setWebhook` with its secret token, posted again
    /// (after 200 ms) on any answer but 2xx or a failed connection, and confirmed by a 2xx.
    /// With `twice_every = Some(n)` every n-th update is posted twice at once, as Telegram does
    /// when it gives up on a slow answer and delivers again. Updates queued before the first
    /// `setWebhook` wait for it.
    pub fn post_to_webhook(&self, twice_every: Option<usize>) {
        webhook::spawn(Arc::downgrade(&self.inner.shared), twice_every);
    }

    /// Updates not yet handed to the bot by getUpdates.
    pub fn pending_updates(&self) -> usize {
        let st = self.shared().lock();
        st.updates
            .iter()
            .filter(|q| !q.delivered && !q.dropped)
            .count()
    }

    /// Updates not confirmed yet by a getUpdates offset past them (delivered or not).
    pub fn unconfirmed_updates(&self) -> usize {
        let st = self.shared().lock();
        st.updates
            .iter()
            .filter(|q| !q.dropped && !q.confirmed && q.id >= st.confirmed_below)
            .count()
    }

    /// Waits until every update pushed so far is confirmed; `false` if that takes longer
    /// than `timeout`.
    pub async fn all_confirmed_within(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.unconfirmed_updates() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    // ----- inspection -----

    /// Every call received, in order of completion (getUpdates is recorded when it answers).
    pub fn calls(&self) -> Vec<Call> {
        self.shared().lock().calls.clone()
    }

    /// Calls of one method.
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        let method = canonical_method(method);
        let st = self.shared().lock();
        st.calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Successful visible calls (send* except sendChatAction, copy/forward, editMessage*) to a chat.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Call> {
        let st = self.shared().lock();
        st.by_chat
            .get(&chat_id)
            .map(|log| log.idx.iter().map(|&i| st.calls[i].clone()).collect())
            .unwrap_or_default()
    }

    /// Number of calls of `method` so far (O(1), for benchmarks).
    pub fn count(&self, method: &str) -> usize {
        let method = canonical_method(method);
        self.shared()
            .lock()
            .counts
            .get(&method)
            .copied()
            .unwrap_or(0)
    }

    /// Total number of calls so far.
    pub fn call_count(&self) -> usize {
        self.shared().lock().calls.len()
    }

    /// Current content of a message (the bot's, after edits, or a user's from an update).
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        self.shared()
            .lock()
            .messages
            .get(&(chat_id, message_id))
            .cloned()
    }

    /// A readable list of the calls so far (getUpdates omitted), as shown on wait timeouts.
    pub fn transcript(&self) -> String {
        self.shared().lock().transcript()
    }

    // ----- waiting -----

    async fn wait_inner(
        &self,
        timeout: Duration,
        what: String,
        consume: bool,
        mut find: impl FnMut(&State) -> Option<usize>,
    ) -> Result<Call, WaitTimeout> {
        let shared = self.shared();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = shared.calls_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = shared.lock();
                if let Some(i) = find(&st) {
                    if consume {
                        st.consume(i);
                    }
                    return Ok(st.calls[i].clone());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(WaitTimeout {
                        waited: timeout,
                        what,
                        transcript: st.transcript(),
                    });
                }
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// The first call matching `pred` not yet returned by `wait_for`/`next_to`/`next_call`,
    /// waiting up to `timeout` for it. Marks it as seen.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&Call) -> bool,
    ) -> Result<Call, WaitTimeout> {
        let mut pos = 0;
        self.wait_inner(
            timeout,
            "a call matching the predicate".into(),
            true,
            |st| {
                let start = pos.max(st.first_unconsumed);
                let found =
                    (start..st.calls.len()).find(|&i| !st.consumed[i] && pred(&st.calls[i]));
                pos = found.unwrap_or(st.calls.len());
                found
            },
        )
        .await
    }

    fn chat_finder(chat_id: i64) -> impl FnMut(&State) -> Option<usize> {
        let mut pos = 0;
        move |st: &State| {
            let log = st.by_chat.get(&chat_id)?;
            let start = pos.max(log.cursor);
            let found = (start..log.idx.len()).find(|&j| !st.consumed[log.idx[j]]);
            pos = found.unwrap_or(log.idx.len());
            found.map(|j| log.idx[j])
        }
    }

    /// Like [`Self::next_to`] with an explicit timeout, returning an error instead of panicking.
    pub async fn next_to_within(
        &self,
        chat_id: i64,
        timeout: Duration,
    ) -> Result<Call, WaitTimeout> {
        let what = format!("a message to chat {chat_id}");
        self.wait_inner(timeout, what, true, Self::chat_finder(chat_id))
            .await
    }

    /// The next unseen visible call to `chat_id` (see [`Self::sent_to`]), waiting up to
    /// [`DEFAULT_TIMEOUT`]. Panics with a transcript on timeout.
    pub async fn next_to(&self, chat_id: i64) -> Call {
        match self.next_to_within(chat_id, DEFAULT_TIMEOUT).await {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    /// The next unseen call of `method` (any chat, failed ones included), waiting up to
    /// [`DEFAULT_TIMEOUT`]. Panics with a transcript on timeout.
    pub async fn next_call(&self, method: &str) -> Call {
        let method = canonical_method(method);
        match self.wait_for(DEFAULT_TIMEOUT, |c| c.method == method).await {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    /// Panics if an unseen visible call to `chat_id` exists or arrives within `dur`.
    pub async fn assert_silent(&self, chat_id: i64, dur: Duration) {
        let what = format!("silence in chat {chat_id}");
        if let Ok(call) = self
            .wait_inner(dur, what, false, Self::chat_finder(chat_id))
            .await
        {
            panic!(
                "fakebot: expected no message to chat {chat_id} within {dur:?}, got:\n  {call}\n{}",
                self.transcript()
            );
        }
    }

    // ----- behaviour -----

    /// The next `times` calls of `method` fail with `failure` (queued after earlier ones).
    pub fn fail_next(&self, method: &str, failure: Failure, times: usize) {
        let mut st = self.shared().lock();
        let q = st.failures.entry(canonical_method(method)).or_default();
        q.extend(std::iter::repeat_n(failure, times));
    }

    /// Enables (Some) or disables (None) Telegram-like flood limits; see [`RateLimits`].
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        self.shared().lock().limits = limits;
    }

    /// Number of 429 answers so far (rate limits and injected ones).
    pub fn too_many_requests_count(&self) -> u64 {
        self.shared().lock().too_many
    }

    /// Makes getFile know `file_id` and the download URL serve `bytes`.
    pub fn add_file(&self, file_id: &str, bytes: impl Into<Bytes>) {
        let mut st = self.shared().lock();
        let n = st.next_file;
        st.next_file += 1;
        st.insert_file(file_id.to_owned(), format!("files/file_{n}"), bytes.into());
    }

    /// Bytes stored for a file id (added with `add_file` or uploaded by the bot).
    pub fn file_bytes(&self, file_id: &str) -> Option<Bytes> {
        let st = self.shared().lock();
        st.files.get(file_id).map(|f| f.bytes.clone())
    }

    /// Sends (and edits, chat actions) to a blocked chat get 403 "bot was blocked by the user".
    pub fn set_blocked(&self, chat_id: i64, blocked: bool) {
        let mut st = self.shared().lock();
        if blocked {
            st.blocked.insert(chat_id);
        } else {
            st.blocked.remove(&chat_id);
        }
    }

    /// Turns the HTML / MarkdownV2 syntax check on or off (on by default).
    pub fn set_validate_formatting(&self, on: bool) {
        self.shared().lock().validate_formatting = on;
    }
}

impl State {
    fn enqueue(&mut self, mut update: Value) -> i64 {
        assert!(
            update.is_object(),
            "fakebot: an update must be a JSON object"
        );
        let id = match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => id,
            None => {
                let id = self.next_update_id;
                update["update_id"] = json!(id);
                id
            }
        };
        self.next_update_id = self.next_update_id.max(id + 1);
        self.remember_update(&update);
        self.updates.push_back(Queued {
            id,
            update,
            delivered: false,
            dropped: false,
            posting: false,
            confirmed: false,
        });
        id
    }

    fn transcript(&self) -> String {
        const MAX_LINES: usize = 200;
        let mut polls = 0;
        let mut lines = Vec::new();
        for (i, c) in self.calls.iter().enumerate() {
            if c.method == "getUpdates" {
                polls += 1;
                continue;
            }
            let seen = if self.consumed[i] { "  (seen)" } else { "" };
            lines.push(format!("  {c}{seen}"));
        }
        let skipped = lines.len().saturating_sub(MAX_LINES);
        let mut out = format!(
            "calls so far: {} (+{polls} getUpdates, {} updates not yet delivered):\n",
            lines.len(),
            self.updates
                .iter()
                .filter(|q| !q.delivered && !q.dropped)
                .count()
        );
        if skipped > 0 {
            out.push_str(&format!("  … {skipped} earlier calls omitted\n"));
        }
        for l in &lines[skipped..] {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}
