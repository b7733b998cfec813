//! The HTTP side: state, request parsing and the Bot API method implementations.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State as AxState};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::call::{Call, UploadedFile, value_as_i64};
use crate::format::{MAX_CAPTION, MAX_TEXT, visible_len};
use crate::rate::{RateLimits, RateState};
use crate::updates::{self, now};
use crate::{Failure, TOKEN};

pub(crate) const FIRST_BOT_MESSAGE_ID: i64 = 10_000_000;
const DEFAULT_EXCLUDED_UPDATES: &[&str] =
    &["chat_member", "message_reaction", "message_reaction_count"];

pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) calls_changed: Notify,
    pub(crate) updates_changed: Notify,
    pub(crate) bot_user: Value,
}

pub(crate) struct Queued {
    pub(crate) id: i64,
    pub(crate) update: Value,
    pub(crate) delivered: bool,
    /// Filtered out by allowed_updates (never delivered).
    pub(crate) dropped: bool,
    /// Being posted to the webhook (see `FakeTelegram::post_to_webhook`).
    pub(crate) posting: bool,
    /// A webhook post of it was answered 2xx.
    pub(crate) confirmed: bool,
}

#[derive(Default)]
pub(crate) struct ChatLog {
    /// Indexes of successful chat-visible calls to this chat.
    pub(crate) idx: Vec<usize>,
    /// idx[..cursor] are all consumed.
    pub(crate) cursor: usize,
}

pub(crate) struct StoredFile {
    pub(crate) path: String,
    pub(crate) bytes: Bytes,
}

pub(crate) struct State {
    pub(crate) calls: Vec<Call>,
    pub(crate) consumed: Vec<bool>,
    pub(crate) first_unconsumed: usize,
    pub(crate) by_chat: HashMap<i64, ChatLog>,
    pub(crate) counts: HashMap<String, usize>,

    pub(crate) updates: VecDeque<Queued>,
    pub(crate) next_update_id: i64,
    /// The highest `offset` a getUpdates gave: updates below it are confirmed.
    pub(crate) confirmed_below: i64,
    pub(crate) poll_gen: u64,
    pub(crate) allowed_updates: Option<Vec<String>>,

    pub(crate) next_message_id: i64,
    /// Current content of known messages (bot's and users'), by (chat, message_id).
    pub(crate) messages: HashMap<(i64, i64), Value>,
    /// Chats seen in pushed updates.
    pub(crate) chats: HashMap<i64, Value>,
    pub(crate) files: HashMap<String, StoredFile>,
    pub(crate) file_paths: HashMap<String, String>,
    pub(crate) next_file: u64,
    pub(crate) next_media_group: u64,

    pub(crate) failures: HashMap<String, VecDeque<Failure>>,
    pub(crate) limits: Option<RateLimits>,
    pub(crate) rate: RateState,
    pub(crate) too_many: u64,
    pub(crate) blocked: HashSet<i64>,
    /// Chats that refuse the bot (see `FakeTelegram::set_chat_refusing`).
    pub(crate) refusing: HashMap<i64, (u16, String)>,
    pub(crate) validate_formatting: bool,
    pub(crate) webhook_url: String,
    pub(crate) webhook_secret: String,
    pub(crate) commands: HashMap<String, Value>,
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            calls: Vec::new(),
            consumed: Vec::new(),
            first_unconsumed: 0,
            by_chat: HashMap::new(),
            counts: HashMap::new(),
            updates: VecDeque::new(),
            next_update_id: 1,
            confirmed_below: 0,
            poll_gen: 0,
            allowed_updates: None,
            next_message_id: FIRST_BOT_MESSAGE_ID,
            messages: HashMap::new(),
            chats: HashMap::new(),
            files: HashMap::new(),
            file_paths: HashMap::new(),
            next_file: 1,
            next_media_group: 1,
            failures: HashMap::new(),
            limits: None,
            rate: RateState::default(),
            too_many: 0,
            blocked: HashSet::new(),
            refusing: HashMap::new(),
            validate_formatting: true,
            webhook_url: String::new(),
            webhook_secret: String::new(),
            commands: HashMap::new(),
        }
    }
}

/// Methods that create a message in a chat (these are rate limited, like teloxide's Throttle).
pub(crate) fn is_message_method(m: &str) -> bool {
    (m.starts_with("send") && m != "sendChatAction")
        || matches!(
            m,
            "copyMessage" | "copyMessages" | "forwardMessage" | "forwardMessages"
        )
}

/// Methods whose successful calls show up in `sent_to` / `next_to`.
pub(crate) fn is_chat_visible(m: &str) -> bool {
    is_message_method(m) || m.starts_with("editMessage") || m == "stopPoll"
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ---------- errors and responses ----------

pub(crate) struct ApiErr {
    code: u16,
    description: String,
    retry_after: Option<u32>,
    /// HTTP status to use (teloxide sleeps 10 s on any 5xx status).
    http_status: u16,
}

impl ApiErr {
    fn new(code: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
            http_status: code,
        }
    }

    fn bad(description: impl Into<String>) -> Self {
        Self::new(400, format!("Bad Request: {}", description.into()))
    }

    fn too_many(retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(429, format!("Too Many Requests: retry after {retry_after}"))
        }
    }

    fn blocked() -> Self {
        Self::new(403, "Forbidden: bot was blocked by the user")
    }

    fn response(&self) -> Response {
        let mut body =
            json!({ "ok": false, "error_code": self.code, "description": self.description });
        if let Some(r) = self.retry_after {
            body["parameters"] = json!({ "retry_after": r });
        }
        let status = StatusCode::from_u16(self.http_status).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn ok_response(result: &Value) -> Response {
    let body = json!({ "ok": true, "result": result }).to_string();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A body that fails right away: hyper aborts the connection, the client sees a network error.
struct BrokenBody;

impl futures_core::Stream for BrokenBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fakebot: simulated disconnect",
        ))))
    }
}

fn broken_response() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(BrokenBody))
        .expect("valid response")
}

// ---------- request parsing ----------

pub(crate) struct Part {
    name: String,
    file_name: String,
    bytes: Bytes,
}

/// Text fields that are never JSON even if they look like it.
fn is_plain_text_field(name: &str) -> bool {
    matches!(
        name,
        "text" | "caption" | "chat_id" | "title" | "description" | "question"
    )
}

fn field_value(name: &str, text: String) -> Value {
    let t = text.trim_start();
    if !is_plain_text_field(name)
        && (t.starts_with('{') || t.starts_with('['))
        && let Ok(v) = serde_json::from_str(&text)
    {
        return v;
    }
    Value::String(text)
}

fn parse_urlencoded(query: &str, into: &mut Map<String, Value>) {
    let Ok(uri) = format!("/?{query}").parse::<Uri>() else {
        return;
    };
    if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&uri) {
        for (k, v) in pairs {
            let v = field_value(&k, v);
            into.insert(k, v);
        }
    }
}

async fn read_body(req: Request) -> Result<(Value, Vec<Part>), String> {
    let mut map = Map::new();
    let mut parts = Vec::new();
    if let Some(q) = req.uri().query() {
        parse_urlencoded(q, &mut map);
    }
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| e.body_text())?;
        while let Some(field) = mp.next_field().await.map_err(|e| e.body_text())? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| e.body_text())?;
            match file_name {
                Some(file_name) => parts.push(Part {
                    name,
                    file_name,
                    bytes,
                }),
                None => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let v = field_value(&name, text);
                    map.insert(name, v);
                }
            }
        }
    } else {
        let bytes = Bytes::from_request(req, &())
            .await
            .map_err(|e| e.body_text())?;
        if ct.starts_with("application/x-www-form-urlencoded") {
            parse_urlencoded(&String::from_utf8_lossy(&bytes), &mut map);
        } else if !bytes.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => map.extend(m),
                Ok(_) => return Err("request body must be a JSON object".into()),
                Err(e) => return Err(format!("can't parse JSON body: {e}")),
            }
        }
    }
    Ok((Value::Object(map), parts))
}

// ---------- axum handlers ----------

/// teloxide sends `SendMessage`; the Bot API is case-insensitive. We use `sendMessage`.
pub(crate) fn canonical_method(m: &str) -> String {
    let mut chars = m.chars();
    match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub(crate) async fn api(
    AxState(shared): AxState<Arc<Shared>>,
    Path((token, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    api_from(shared, None, token, method, req).await
}

/// The same API under a path prefix naming the client (see [`crate::FakeTelegram::url_for`]).
pub(crate) async fn api_prefixed(
    AxState(shared): AxState<Arc<Shared>>,
    Path((origin, token, method)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    api_from(shared, Some(origin), token, method, req).await
}

async fn api_from(
    shared: Arc<Shared>,
    origin: Option<String>,
    token: String,
    method: String,
    req: Request,
) -> Response {
    if token.strip_prefix("bot") != Some(TOKEN) {
        return ApiErr::new(401, "Unauthorized").response();
    }
    match read_body(req).await {
        Ok((body, parts)) => {
            shared
                .handle(canonical_method(&method), body, parts, origin)
                .await
        }
        Err(e) => ApiErr::bad(e).response(),
    }
}

pub(crate) async fn download(
    AxState(shared): AxState<Arc<Shared>>,
    Path((token, path)): Path<(String, String)>,
) -> Response {
    if token.strip_prefix("bot") != Some(TOKEN) {
        return ApiErr::new(401, "Unauthorized").response();
    }
    let bytes = {
        let mut st = shared.lock();
        let bytes = st
            .file_paths
            .get(&path)
            .and_then(|id| st.files.get(id))
            .map(|f| f.bytes.clone());
        let call = Call {
            index: st.calls.len(),
            method: "downloadFile".into(),
            body: json!({ "file_path": path }),
            result: bytes
                .as_ref()
                .map_or(Value::Null, |b| json!({ "len": b.len() })),
            error: bytes.is_none().then(|| "Not Found".to_owned()),
            files: Vec::new(),
            at: Instant::now(),
            origin: None,
        };
        st.record(call);
        bytes
    };
    shared.calls_changed.notify_waiters();
    match bytes {
        Some(b) => ([(header::CONTENT_TYPE, "application/octet-stream")], b).into_response(),
        None => ApiErr::new(404, "Not Found").response(),
    }
}

pub(crate) async fn not_found() -> Response {
    ApiErr::new(404, "Not Found").response()
}

// ---------- dispatch ----------

impl Shared {
    async fn handle(
        self: &Arc<Self>,
        method: String,
        mut body: Value,
        parts: Vec<Part>,
        origin: Option<String>,
    ) -> Response {
        let at = Instant::now();
        let failure = {
            let mut st = self.lock();
            st.failures.get_mut(&method).and_then(VecDeque::pop_front)
        };
        let runs = matches!(failure, None | Some(Failure::ResponseLost));
        // The long poll waits outside the lock; everything else runs and is recorded
        // under one lock, so record order matches message_id order.
        let polled = if runs && method == "getUpdates" {
            Some(self.get_updates(&body).await)
        } else {
            None
        };
        let response = {
            let mut st = self.lock();
            let (outcome, files) = match (failure.clone(), polled) {
                (Some(Failure::Disconnect), _) => (
                    Err(ApiErr::new(
                        0,
                        "fakebot: connection dropped (Failure::Disconnect)",
                    )),
                    Vec::new(),
                ),
                (
                    Some(
                        f @ (Failure::TooManyRequests { .. }
                        | Failure::Forbidden
                        | Failure::ServerError
                        | Failure::Api { .. }),
                    ),
                    _,
                ) => (Err(failure_error(f)), Vec::new()),
                (_, Some(r)) => (r, Vec::new()),
                _ => st.execute(&self.bot_user, &method, &body, parts),
            };
            resolve_attachments(&mut body, &files);
            let response = match (&failure, &outcome) {
                (Some(Failure::Disconnect | Failure::ResponseLost), _) => broken_response(),
                (_, Ok(v)) => ok_response(v),
                (_, Err(e)) => e.response(),
            };
            let mut error = outcome.as_ref().err().map(|e| e.description.clone());
            if failure == Some(Failure::ResponseLost) {
                // The result is kept: the message was delivered, only the answer is lost.
                error = Some("fakebot: response lost (Failure::ResponseLost)".into());
            }
            if outcome.as_ref().err().is_some_and(|e| e.code == 429) {
                st.too_many += 1;
            }
            let call = Call {
                index: st.calls.len(),
                method,
                body,
                result: outcome.unwrap_or(Value::Null),
                error,
                files,
                at,
                origin,
            };
            st.record(call);
            response
        };
        self.calls_changed.notify_waiters();
        response
    }

    async fn get_updates(&self, body: &Value) -> Result<Value, ApiErr> {
        let offset = body.get("offset").and_then(value_as_i64).unwrap_or(0);
        let limit = body
            .get("limit")
            .and_then(value_as_i64)
            .unwrap_or(100)
            .clamp(1, 100) as usize;
        let timeout = body
            .get("timeout")
            .and_then(value_as_i64)
            .unwrap_or(0)
            .clamp(0, 3600) as u64;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
        let generation = {
            let mut st = self.lock();
            if let Some(list) = body.get("allowed_updates").and_then(Value::as_array) {
                let list: Vec<String> = list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                st.allowed_updates = (!list.is_empty()).then_some(list);
            }
            if offset > 0 {
                st.confirmed_below = st.confirmed_below.max(offset);
            }
            st.poll_gen += 1;
            st.poll_gen
        };
        // Wake an older long poll so it answers 409, like Telegram does.
        self.updates_changed.notify_waiters();
        loop {
            let notified = self.updates_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                if st.poll_gen != generation {
                    return Err(ApiErr::new(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                    ));
                }
                let batch = st.take_updates(offset, limit);
                if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(Value::Array(batch));
                }
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}

fn failure_error(f: Failure) -> ApiErr {
    match f {
        Failure::TooManyRequests { retry_after } => ApiErr::too_many(retry_after),
        Failure::Forbidden => ApiErr::blocked(),
        // HTTP 200 on purpose: teloxide sleeps 10 s before reading any 5xx response.
        Failure::ServerError => ApiErr {
            http_status: 200,
            ..ApiErr::new(500, "Internal Server Error")
        },
        Failure::Api { code, description } => ApiErr::new(code, description),
        Failure::Disconnect | Failure::ResponseLost => unreachable!("handled by the caller"),
    }
}

fn file_json(f: &UploadedFile) -> Value {
    json!({ "name": f.file_name, "len": f.bytes.len(), "file_id": f.file_id })
}

/// Replaces `"attach://X"` strings by a short description of file X; unreferenced files
/// are listed under their part name.
fn resolve_attachments(body: &mut Value, files: &[UploadedFile]) {
    fn walk(v: &mut Value, files: &[UploadedFile], used: &mut [bool]) {
        match v {
            Value::String(s) => {
                if let Some(name) = s.strip_prefix("attach://")
                    && let Some(i) = files.iter().position(|f| f.part == name)
                {
                    used[i] = true;
                    *v = file_json(&files[i]);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, files, used)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, files, used)),
            _ => {}
        }
    }
    if files.is_empty() {
        return;
    }
    let mut used = vec![false; files.len()];
    walk(body, files, &mut used);
    if let Some(o) = body.as_object_mut() {
        for (f, used) in files.iter().zip(used) {
            if !used {
                o.insert(f.part.clone(), file_json(f));
            }
        }
    }
}

// ---------- state operations ----------

fn update_kind(update: &Value) -> &str {
    update
        .as_object()
        .and_then(|o| o.keys().find(|k| k.as_str() != "update_id"))
        .map_or("", String::as_str)
}

impl State {
    /// Runs a method (no injected failure). Returns the result and registered uploads.
    fn execute(
        &mut self,
        bot: &Value,
        method: &str,
        body: &Value,
        parts: Vec<Part>,
    ) -> (Result<Value, ApiErr>, Vec<UploadedFile>) {
        let files: Vec<UploadedFile> = parts.into_iter().map(|p| self.register_upload(p)).collect();
        let chat_id = body.get("chat_id").and_then(value_as_i64);
        if (is_chat_visible(method) || method == "sendChatAction")
            && chat_id.is_some_and(|c| self.blocked.contains(&c))
        {
            return (Err(ApiErr::blocked()), files);
        }
        if is_chat_visible(method)
            && let Some((code, d)) = chat_id.and_then(|c| self.refusing.get(&c))
        {
            return (Err(ApiErr::new(*code, d.clone())), files);
        }
        if is_message_method(method)
            && let Some(limits) = self.limits
            && let Err(retry) = self.rate.check(&limits, chat_id)
        {
            return (Err(ApiErr::too_many(retry)), files);
        }
        let r = self.method(bot, method, body, &files);
        (r, files)
    }

    pub(crate) fn record(&mut self, call: Call) {
        let i = self.calls.len();
        // Delivered = has a result (also true for Failure::ResponseLost).
        if !call.result.is_null()
            && is_chat_visible(&call.method)
            && let Some(chat) = call.chat_id()
        {
            self.by_chat.entry(chat).or_default().idx.push(i);
        }
        match self.counts.get_mut(&call.method) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(call.method.clone(), 1);
            }
        }
        self.calls.push(call);
        self.consumed.push(false);
    }

    pub(crate) fn consume(&mut self, i: usize) {
        self.consumed[i] = true;
        while self.first_unconsumed < self.calls.len() && self.consumed[self.first_unconsumed] {
            self.first_unconsumed += 1;
        }
        if let Some(chat) = self.calls[i].chat_id()
            && let Some(log) = self.by_chat.get_mut(&chat)
        {
            while log.cursor < log.idx.len() && self.consumed[log.idx[log.cursor]] {
                log.cursor += 1;
            }
        }
    }

    /// Remembers chats and messages from an incoming update.
    pub(crate) fn remember_update(&mut self, update: &Value) {
        let msg = updates::message(update);
        if let Some(m) = msg
            && let Some(chat) = m.get("chat")
            && let Some(id) = chat.get("id").and_then(Value::as_i64)
        {
            self.chats.entry(id).or_insert_with(|| chat.clone());
            if update.get("callback_query").is_none()
                && let Some(mid) = m.get("message_id").and_then(Value::as_i64)
            {
                self.messages.insert((id, mid), m.clone());
            }
        }
    }

    fn allowed(&self, kind: &str) -> bool {
        match &self.allowed_updates {
            Some(list) => list.iter().any(|k| k == kind),
            None => !DEFAULT_EXCLUDED_UPDATES.contains(&kind),
        }
    }

    /// Confirms updates below `offset` and takes the next batch (ids strictly increasing).
    fn take_updates(&mut self, offset: i64, limit: usize) -> Vec<Value> {
        if offset < 0 {
            let keep = offset.unsigned_abs() as usize;
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        } else {
            while self
                .updates
                .front()
                .is_some_and(|q| q.dropped || (q.delivered && q.id < offset))
            {
                self.updates.pop_front();
            }
        }
        let mut batch = Vec::new();
        let mut last = i64::MIN;
        for i in 0..self.updates.len() {
            if batch.len() >= limit {
                break;
            }
            let q = &self.updates[i];
            if q.dropped || (offset > 0 && q.delivered && q.id < offset) {
                continue;
            }
            let kind = update_kind(&q.update);
            if !self.allowed(kind) {
                eprintln!(
                    "fakebot: dropping update {} ({kind}): not in allowed_updates {:?} \
                     (teloxide derives them from the handler tree)",
                    q.id,
                    self.allowed_updates.as_deref().unwrap_or_default()
                );
                self.updates[i].dropped = true;
                continue;
            }
            if q.id <= last {
                break;
            }
            last = q.id;
            batch.push(q.update.clone());
            self.updates[i].delivered = true;
        }
        batch
    }

    fn register_upload(&mut self, p: Part) -> UploadedFile {
        let file_id = self.store_file(p.bytes.clone(), &p.file_name);
        UploadedFile {
            part: p.name,
            file_name: p.file_name,
            file_id,
            bytes: p.bytes,
        }
    }

    /// Stores bytes under a new file id; returns the id.
    pub(crate) fn store_file(&mut self, bytes: Bytes, name_hint: &str) -> String {
        let n = self.next_file;
        self.next_file += 1;
        let id = format!("fake-file-{n}");
        let ext = name_hint
            .rsplit_once('.')
            .map(|(_, e)| format!(".{e}"))
            .unwrap_or_default();
        self.insert_file(id.clone(), format!("documents/file_{n}{ext}"), bytes);
        id
    }

    pub(crate) fn insert_file(&mut self, file_id: String, path: String, bytes: Bytes) {
        if let Some(old) = self.files.get(&file_id) {
            self.file_paths.remove(&old.path);
        }
        self.file_paths.insert(path.clone(), file_id.clone());
        self.files.insert(file_id, StoredFile { path, bytes });
    }

    pub(crate) fn chat_json(&self, chat_id: i64) -> Value {
        if let Some(c) = self.chats.get(&chat_id) {
            return c.clone();
        }
        if chat_id > 0 {
            json!({ "id": chat_id, "type": "private", "first_name": format!("User {chat_id}") })
        } else {
            json!({ "id": chat_id, "type": "supergroup", "title": format!("Group {}", chat_id.unsigned_abs()) })
        }
    }

    fn new_message(&mut self, bot: &Value, chat_id: i64) -> Map<String, Value> {
        let id = self.next_message_id;
        self.next_message_id += 1;
        let mut m = Map::new();
        m.insert("message_id".into(), json!(id));
        m.insert("from".into(), bot.clone());
        m.insert("chat".into(), self.chat_json(chat_id));
        m.insert("date".into(), json!(now()));
        m
    }

    /// Checks parse_mode syntax and length; `too_long` is the error description suffix.
    fn check_text(
        &self,
        text: &str,
        body: &Value,
        max: usize,
        too_long: &str,
    ) -> Result<(), ApiErr> {
        let mode = body.get("parse_mode").and_then(Value::as_str);
        let len = if self.validate_formatting {
            visible_len(text, mode).map_err(|e| ApiErr::new(400, e))?
        } else {
            text.chars().count()
        };
        if len > max {
            return Err(ApiErr::bad(too_long));
        }
        Ok(())
    }

    /// Adds caption (validated), inline keyboard, reply_to_message and entities from the request.
    fn decorate(
        &self,
        m: &mut Map<String, Value>,
        chat_id: i64,
        body: &Value,
    ) -> Result<(), ApiErr> {
        if let Some(c) = body.get("caption").and_then(Value::as_str) {
            self.check_text(c, body, MAX_CAPTION, "message caption is too long")?;
            m.insert("caption".into(), json!(c));
            if let Some(e) = body.get("caption_entities").filter(|e| e.is_array()) {
                m.insert("caption_entities".into(), e.clone());
            }
        }
        if let Some(k) = inline_markup(body)? {
            m.insert("reply_markup".into(), k);
        }
        let reply_id = body
            .pointer("/reply_parameters/message_id")
            .or_else(|| body.get("reply_to_message_id"))
            .and_then(value_as_i64);
        if let Some(rid) = reply_id {
            let rchat = body
                .pointer("/reply_parameters/chat_id")
                .and_then(value_as_i64)
                .unwrap_or(chat_id);
            if let Some(orig) = self.messages.get(&(rchat, rid)) {
                let mut orig = orig.clone();
                if let Some(o) = orig.as_object_mut() {
                    o.remove("reply_to_message");
                }
                m.insert("reply_to_message".into(), orig);
            }
        }
        Ok(())
    }

    fn store(&mut self, chat_id: i64, m: Map<String, Value>) -> Value {
        let v = Value::Object(m);
        let id = v["message_id"].as_i64().unwrap_or_default();
        self.messages.insert((chat_id, id), v.clone());
        v
    }

    /// Resolves an InputFile value (attach://, known file id, other id/URL) to (file_id, size, name).
    fn input_file(
        &mut self,
        src: &Value,
        files: &[UploadedFile],
    ) -> Result<(String, u64, String), ApiErr> {
        let s = match src {
            Value::String(s) => s.as_str(),
            Value::Object(o) => {
                // Already-resolved attachment description.
                let id = o.get("file_id").and_then(Value::as_str).unwrap_or_default();
                return Ok((
                    id.to_owned(),
                    o.get("len").and_then(Value::as_u64).unwrap_or(0),
                    String::new(),
                ));
            }
            _ => return Err(ApiErr::bad("there is no file in the request")),
        };
        if let Some(part) = s.strip_prefix("attach://") {
            let f = files
                .iter()
                .find(|f| f.part == part)
                .ok_or_else(|| ApiErr::bad(format!("file {part} not found in the request")))?;
            return Ok((f.file_id.clone(), f.bytes.len() as u64, f.file_name.clone()));
        }
        if let Some(f) = self.files.get(s) {
            let name = f.path.rsplit('/').next().unwrap_or_default().to_owned();
            return Ok((s.to_owned(), f.bytes.len() as u64, name));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            let name = s.rsplit('/').next().unwrap_or_default().to_owned();
            let id = self.store_file(Bytes::new(), &name);
            return Ok((id, 0, name));
        }
        if s.is_empty() {
            return Err(ApiErr::bad("there is no file in the request"));
        }
        Ok((s.to_owned(), 1024, String::new()))
    }

    /// Message media JSON of `kind` ("photo", "document", ...).
    fn media_json(
        &mut self,
        kind: &str,
        src: &Value,
        files: &[UploadedFile],
        body: &Value,
    ) -> Result<Value, ApiErr> {
        let (id, size, name) = self.input_file(src, files)?;
        let mut meta = Map::new();
        meta.insert("file_id".into(), json!(id));
        meta.insert("file_unique_id".into(), json!(format!("u-{id}")));
        meta.insert("file_size".into(), json!(size));
        if !name.is_empty() && matches!(kind, "document" | "video" | "audio" | "animation") {
            meta.insert("file_name".into(), json!(name));
        }
        let duration = body.get("duration").and_then(value_as_i64).unwrap_or(1);
        let mut put = |k: &str, v: Value| {
            meta.insert(k.into(), v);
        };
        match kind {
            "photo" => {
                let small = json!({
                    "file_id": format!("{id}-s"), "file_unique_id": format!("u-{id}-s"),
                    "file_size": size / 20, "width": 90, "height": 67
                });
                put("width", json!(1280));
                put("height", json!(960));
                return Ok(json!([small, Value::Object(meta)]));
            }
            "document" => put("mime_type", json!(mime_for(&name))),
            "video" | "animation" => {
                put("width", json!(640));
                put("height", json!(360));
                put("duration", json!(duration));
                put("mime_type", json!("video/mp4"));
            }
            "audio" => {
                put("duration", json!(duration));
                put("mime_type", json!("audio/mpeg"));
            }
            "voice" => {
                put("duration", json!(duration));
                put("mime_type", json!("audio/ogg"));
            }
            "video_note" => {
                put("length", json!(240));
                put("duration", json!(duration));
            }
            "sticker" => {
                put("width", json!(512));
                put("height", json!(512));
                put("type", json!("regular"));
                put("is_animated", json!(false));
                put("is_video", json!(false));
            }
            _ => {}
        }
        Ok(Value::Object(meta))
    }

    fn method(
        &mut self,
        bot: &Value,
        method: &str,
        body: &Value,
        files: &[UploadedFile],
    ) -> Result<Value, ApiErr> {
        let chat_id = body.get("chat_id").and_then(value_as_i64);
        let need_chat = || chat_id.ok_or_else(|| ApiErr::bad("chat not found"));
        match method {
            "getMe" => {
                let mut me = bot.clone();
                let o = me.as_object_mut().expect("object");
                o.insert("can_join_groups".into(), json!(true));
                o.insert("can_read_all_group_messages".into(), json!(false));
                o.insert("supports_inline_queries".into(), json!(false));
                o.insert("can_connect_to_business".into(), json!(false));
                o.insert("has_main_web_app".into(), json!(false));
                Ok(me)
            }
            "getWebhookInfo" => Ok(json!({
                "url": self.webhook_url,
                "has_custom_certificate": false,
                "pending_update_count": self.updates.iter().filter(|q| !q.delivered && !q.dropped).count(),
            })),
            "setWebhook" => {
                self.webhook_url = body
                    .get("url")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                self.webhook_secret = body
                    .get("secret_token")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                Ok(json!(true))
            }
            "deleteWebhook" => {
                self.webhook_url.clear();
                if body.get("drop_pending_updates").and_then(Value::as_bool) == Some(true) {
                    self.updates.clear();
                }
                Ok(json!(true))
            }
            "sendMessage" => {
                let chat = need_chat()?;
                let text = body.get("text").and_then(Value::as_str).unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(ApiErr::bad("message text is empty"));
                }
                self.check_text(text, body, MAX_TEXT, "message is too long")?;
                let mut m = self.new_message(bot, chat);
                m.insert("text".into(), json!(text));
                if let Some(e) = body.get("entities").filter(|e| e.is_array()) {
                    m.insert("entities".into(), e.clone());
                }
                self.decorate(&mut m, chat, body)?;
                Ok(self.store(chat, m))
            }
            "sendPhoto" | "sendDocument" | "sendVideo" | "sendAudio" | "sendVoice"
            | "sendAnimation" | "sendSticker" | "sendVideoNote" => {
                let chat = need_chat()?;
                let kind = match method {
                    "sendPhoto" => "photo",
                    "sendDocument" => "document",
                    "sendVideo" => "video",
                    "sendAudio" => "audio",
                    "sendVoice" => "voice",
                    "sendAnimation" => "animation",
                    "sendSticker" => "sticker",
                    _ => "video_note",
                };
                let src = body.get(kind).cloned().unwrap_or(Value::Null);
                let media = self.media_json(kind, &src, files, body)?;
                let mut m = self.new_message(bot, chat);
                m.insert(kind.into(), media);
                self.decorate(&mut m, chat, body)?;
                Ok(self.store(chat, m))
            }
            "sendMediaGroup" => {
                let chat = need_chat()?;
                let items = body
                    .get("media")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if !(1..=10).contains(&items.len()) {
                    return Err(ApiErr::bad("media group must contain 1-10 items"));
                }
                let group = format!("mg-{}", self.next_media_group);
                self.next_media_group += 1;
                let mut out = Vec::new();
                for item in &items {
                    let kind = item
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("photo")
                        .to_owned();
                    let src = item.get("media").cloned().unwrap_or(Value::Null);
                    let media = self.media_json(&kind, &src, files, item)?;
                    let mut m = self.new_message(bot, chat);
                    m.insert(kind, media);
                    m.insert("media_group_id".into(), json!(group));
                    self.decorate(&mut m, chat, item)?;
                    out.push(self.store(chat, m));
                }
                Ok(Value::Array(out))
            }
            "sendLocation" | "sendContact" | "sendDice" | "sendVenue" | "sendPoll" => {
                let chat = need_chat()?;
                let mut m = self.new_message(bot, chat);
                let f = |k: &str| body.get(k).cloned().unwrap_or(Value::Null);
                let location = json!({ "latitude": f("latitude"), "longitude": f("longitude") });
                match method {
                    "sendLocation" => {
                        m.insert("location".into(), location);
                    }
                    "sendVenue" => {
                        m.insert(
                            "venue".into(),
                            json!({ "location": location, "title": f("title"), "address": f("address") }),
                        );
                    }
                    "sendContact" => {
                        let mut c = json!({ "phone_number": f("phone_number"), "first_name": f("first_name") });
                        if let Some(l) = body.get("last_name") {
                            c["last_name"] = l.clone();
                        }
                        m.insert("contact".into(), c);
                    }
                    "sendDice" => {
                        let emoji = body.get("emoji").and_then(Value::as_str).unwrap_or("🎲");
                        m.insert("dice".into(), json!({ "emoji": emoji, "value": 1 }));
                    }
                    _ => {} // sendPoll: content-less message (teloxide parses it as MessageKind::Empty)
                }
                self.decorate(&mut m, chat, body)?;
                Ok(self.store(chat, m))
            }
            "sendChatAction" => {
                need_chat()?;
                Ok(json!(true))
            }
            "copyMessage" | "forwardMessage" => {
                let chat = need_chat()?;
                let from_chat = body
                    .get("from_chat_id")
                    .and_then(value_as_i64)
                    .unwrap_or_default();
                let mid = body
                    .get("message_id")
                    .and_then(value_as_i64)
                    .unwrap_or_default();
                let original = self.messages.get(&(from_chat, mid)).cloned();
                let mut m = self.new_message(bot, chat);
                if let Some(Value::Object(orig)) = &original {
                    for (k, v) in orig {
                        if !matches!(
                            k.as_str(),
                            "message_id"
                                | "from"
                                | "chat"
                                | "date"
                                | "reply_to_message"
                                | "edit_date"
                                | "forward_origin"
                                | "reply_markup"
                                | "message_thread_id"
                        ) {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                }
                if method == "forwardMessage" {
                    let origin = match original.as_ref().and_then(|o| o.get("from")) {
                        Some(user) => json!({
                            "type": "user", "sender_user": user,
                            "date": original.as_ref().and_then(|o| o.get("date")).cloned().unwrap_or(json!(now())),
                        }),
                        None => {
                            json!({ "type": "hidden_user", "sender_user_name": "Unknown", "date": now() })
                        }
                    };
                    m.insert("forward_origin".into(), origin);
                    return Ok(self.store(chat, m));
                }
                if body.get("caption").is_some() {
                    m.remove("caption");
                    m.remove("caption_entities");
                }
                self.decorate(&mut m, chat, body)?;
                let v = self.store(chat, m);
                Ok(json!({ "message_id": v["message_id"] }))
            }
            "copyMessages" | "forwardMessages" => {
                need_chat()?;
                let n = body
                    .get("message_ids")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let ids: Vec<Value> = (0..n)
                    .map(|_| {
                        let id = self.next_message_id;
                        self.next_message_id += 1;
                        json!({ "message_id": id })
                    })
                    .collect();
                Ok(Value::Array(ids))
            }
            "editMessageText"
            | "editMessageCaption"
            | "editMessageReplyMarkup"
            | "editMessageMedia" => self.edit(bot, method, body, files),
            "deleteMessage" => {
                let chat = need_chat()?;
                let mid = body
                    .get("message_id")
                    .and_then(value_as_i64)
                    .unwrap_or_default();
                self.messages.remove(&(chat, mid));
                Ok(json!(true))
            }
            "setMyCommands" => {
                let cmds = body.get("commands").cloned().unwrap_or(json!([]));
                self.commands.insert(commands_key(body), cmds);
                Ok(json!(true))
            }
            "getMyCommands" => Ok(self
                .commands
                .get(&commands_key(body))
                .cloned()
                .unwrap_or(json!([]))),
            "setChatMenuButton" => {
                if body.pointer("/menu_button/type").and_then(Value::as_str) == Some("web_app")
                    && !body
                        .pointer("/menu_button/web_app/url")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.starts_with("https://"))
                {
                    return Err(ApiErr::bad("Web App URL must be HTTPS"));
                }
                Ok(json!(true))
            }
            "deleteMyCommands" => {
                self.commands.remove(&commands_key(body));
                Ok(json!(true))
            }
            "getFile" => {
                let id = body
                    .get("file_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let f = self
                    .files
                    .get(id)
                    .ok_or_else(|| ApiErr::bad("invalid file id"))?;
                // Like the cloud Bot API: bots download at most 20 MB.
                if f.bytes.len() > crate::MAX_DOWNLOAD_BYTES {
                    return Err(ApiErr::bad("file is too big"));
                }
                Ok(json!({
                    "file_id": id,
                    "file_unique_id": format!("u-{id}"),
                    "file_size": f.bytes.len(),
                    "file_path": f.path,
                }))
            }
            "getChat" => {
                let chat = need_chat()?;
                let mut c = self.chat_json(chat);
                c["accepted_gift_types"] = json!({
                    "unlimited_gifts": false, "limited_gifts": false,
                    "unique_gifts": false, "premium_subscription": false
                });
                c["max_reaction_count"] = json!(11);
                Ok(c)
            }
            m if m.starts_with("send") => {
                // Unknown send*: a content-less message keeps teloxide's parser happy.
                let chat = need_chat()?;
                let mut m = self.new_message(bot, chat);
                self.decorate(&mut m, chat, body)?;
                Ok(self.store(chat, m))
            }
            _ => Ok(json!(true)),
        }
    }

    fn edit(
        &mut self,
        bot: &Value,
        method: &str,
        body: &Value,
        files: &[UploadedFile],
    ) -> Result<Value, ApiErr> {
        if body.get("inline_message_id").is_some() {
            return Ok(json!(true));
        }
        let chat = body
            .get("chat_id")
            .and_then(value_as_i64)
            .ok_or_else(|| ApiErr::bad("chat not found"))?;
        let mid = body
            .get("message_id")
            .and_then(value_as_i64)
            .ok_or_else(|| ApiErr::bad("message identifier is not specified"))?;
        let existing = self.messages.get(&(chat, mid)).cloned();
        let bot_id = bot.get("id").and_then(Value::as_i64);
        if let Some(old) = &existing
            && old.pointer("/from/id").and_then(Value::as_i64) != bot_id
        {
            return Err(ApiErr::bad("message can't be edited"));
        }
        let mut m = match &existing {
            Some(Value::Object(o)) => o.clone(),
            _ => {
                // Unknown message: be lenient and edit a synthetic one.
                let mut m = Map::new();
                m.insert("message_id".into(), json!(mid));
                m.insert("from".into(), bot.clone());
                m.insert("chat".into(), self.chat_json(chat));
                m.insert("date".into(), json!(now()));
                m
            }
        };
        match method {
            "editMessageText" => {
                if existing.as_ref().is_some_and(|o| o.get("text").is_none()) {
                    return Err(ApiErr::bad("there is no text in the message to edit"));
                }
                let text = body.get("text").and_then(Value::as_str).unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(ApiErr::bad("message text is empty"));
                }
                self.check_text(text, body, MAX_TEXT, "MESSAGE_TOO_LONG")?;
                m.insert("text".into(), json!(text));
                match body.get("entities").filter(|e| e.is_array()) {
                    Some(e) => m.insert("entities".into(), e.clone()),
                    None => m.remove("entities"),
                };
            }
            "editMessageCaption" => {
                if existing.as_ref().is_some_and(|o| o.get("text").is_some()) {
                    return Err(ApiErr::bad("there is no caption in the message to edit"));
                }
                m.remove("caption");
                m.remove("caption_entities");
            }
            "editMessageMedia" => {
                let media = body.get("media").cloned().unwrap_or(Value::Null);
                let kind = media
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("photo")
                    .to_owned();
                let src = media.get("media").cloned().unwrap_or(Value::Null);
                let json = self.media_json(&kind, &src, files, &media)?;
                for k in [
                    "photo",
                    "document",
                    "video",
                    "audio",
                    "animation",
                    "caption",
                    "caption_entities",
                ] {
                    m.remove(k);
                }
                m.insert(kind, json);
                if let Some(c) = media.get("caption").and_then(Value::as_str) {
                    self.check_text(c, &media, MAX_CAPTION, "message caption is too long")?;
                    m.insert("caption".into(), json!(c));
                }
            }
            _ => {}
        }
        m.remove("reply_markup");
        if method == "editMessageCaption" {
            // caption / caption_entities / reply_markup come from the request
            self.decorate(&mut m, chat, body)?;
        } else if let Some(k) = inline_markup(body)? {
            m.insert("reply_markup".into(), k);
        }
        if let Some(Value::Object(old)) = &existing
            && *old == m
        {
            return Err(ApiErr::bad(
                "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            ));
        }
        m.insert("edit_date".into(), json!(now()));
        Ok(self.store(chat, m))
    }
}

fn commands_key(body: &Value) -> String {
    let scope = body
        .get("scope")
        .map_or_else(|| "default".to_owned(), Value::to_string);
    let lang = body
        .get("language_code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{scope}|{lang}")
}

/// The request's inline keyboard (validated), if it has one. Other keyboards are not part of
/// the returned Message.
fn inline_markup(body: &Value) -> Result<Option<Value>, ApiErr> {
    let Some(k) = body
        .get("reply_markup")
        .filter(|k| k.get("inline_keyboard").is_some())
    else {
        return Ok(None);
    };
    let rows = k["inline_keyboard"]
        .as_array()
        .ok_or_else(|| ApiErr::bad("can't parse inline keyboard"))?;
    for b in rows.iter().filter_map(Value::as_array).flatten() {
        if b.get("text")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiErr::bad("BUTTON_TEXT_INVALID"));
        }
        if let Some(d) = b.get("callback_data").and_then(Value::as_str)
            && (d.is_empty() || d.len() > 64)
        {
            return Err(ApiErr::bad("BUTTON_DATA_INVALID"));
        }
    }
    Ok(Some(k.clone()))
}

fn mime_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => "text/csv",
        "txt" | "log" => "text/plain",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}
