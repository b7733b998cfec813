//! Builders for incoming updates, shaped like Telegram's JSON.
//!
//! Builders leave `update_id` out; [`crate::FakeTelegram::push_update`] assigns it.
//! Messages get a process-wide increasing `message_id` (starting at 1) and `date` = now.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::Call;

static NEXT_MESSAGE_ID: AtomicI64 = AtomicI64::new(1);
static NEXT_CALLBACK_ID: AtomicU64 = AtomicU64::new(1);

/// A (human) Telegram user sending updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl TgUser {
    pub fn new(id: i64, first_name: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            last_name: None,
            username: None,
            language_code: None,
        }
    }

    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    pub fn lang(mut self, language_code: &str) -> Self {
        self.language_code = Some(language_code.to_owned());
        self
    }

    pub fn last_name(mut self, last_name: &str) -> Self {
        self.last_name = Some(last_name.to_owned());
        self
    }

    /// The `User` object.
    pub fn json(&self) -> Value {
        let mut u = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        let m = u.as_object_mut().expect("object");
        if let Some(v) = &self.last_name {
            m.insert("last_name".into(), json!(v));
        }
        if let Some(v) = &self.username {
            m.insert("username".into(), json!(v));
        }
        if let Some(v) = &self.language_code {
            m.insert("language_code".into(), json!(v));
        }
        u
    }

    /// The private `Chat` with this user.
    pub fn private_chat(&self) -> Value {
        let mut c = json!({ "id": self.id, "type": "private", "first_name": self.first_name });
        let m = c.as_object_mut().expect("object");
        if let Some(v) = &self.last_name {
            m.insert("last_name".into(), json!(v));
        }
        if let Some(v) = &self.username {
            m.insert("username".into(), json!(v));
        }
        c
    }
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Allocates a message id from the shared counter used by these builders.
pub fn next_message_id() -> i64 {
    NEXT_MESSAGE_ID.fetch_add(1, Ordering::Relaxed)
}

/// A group `Chat`: ids below -1e12 (like `-100…`) are supergroups, other negative ids groups.
pub fn group_chat(group_id: i64) -> Value {
    let kind = if group_id < -1_000_000_000_000 {
        "supergroup"
    } else {
        "group"
    };
    json!({ "id": group_id, "type": kind, "title": format!("Group {}", group_id.unsigned_abs()) })
}

fn base_message(from: &TgUser, chat: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("message_id".into(), json!(next_message_id()));
    m.insert("from".into(), from.json());
    m.insert("chat".into(), chat);
    m.insert("date".into(), json!(now()));
    m
}

fn wrap(kind: &str, message: Map<String, Value>) -> Value {
    let mut u = Map::new();
    u.insert(kind.into(), Value::Object(message));
    Value::Object(u)
}

/// `bot_command` entity for texts starting with `/` (offsets in UTF-16 units).
fn command_entities(text: &str) -> Option<Value> {
    if !text.starts_with('/') || text.len() < 2 {
        return None;
    }
    let token = text.split(char::is_whitespace).next().unwrap_or(text);
    let len = token.encode_utf16().count();
    Some(json!([{ "type": "bot_command", "offset": 0, "length": len }]))
}

fn text_message(from: &TgUser, chat: Value, text: &str) -> Map<String, Value> {
    let mut m = base_message(from, chat);
    m.insert("text".into(), json!(text));
    if let Some(e) = command_entities(text) {
        m.insert("entities".into(), e);
    }
    m
}

fn with_caption(m: &mut Map<String, Value>, caption: Option<&str>) {
    if let Some(c) = caption {
        m.insert("caption".into(), json!(c));
        if let Some(e) = command_entities(c) {
            m.insert("caption_entities".into(), e);
        }
    }
}

/// Unique id for a file id (stable, derived from it).
fn unique_id(file_id: &str) -> String {
    format!("u-{file_id}")
}

fn file_meta(file_id: &str, size: u64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("file_id".into(), json!(file_id));
    m.insert("file_unique_id".into(), json!(unique_id(file_id)));
    m.insert("file_size".into(), json!(size));
    m
}

/// Private-chat text message (`chat.id == from.id`). `/cmd args` gets a `bot_command` entity.
pub fn text(from: &TgUser, text: &str) -> Value {
    wrap("message", text_message(from, from.private_chat(), text))
}

/// Text message in a group (see [`group_chat`] for the chat type).
pub fn text_in_group(from: &TgUser, group_id: i64, text: &str) -> Value {
    wrap("message", text_message(from, group_chat(group_id), text))
}

/// Text message replying to `replied` (a Message JSON, e.g. `Call::result`), in its chat.
pub fn reply_to(from: &TgUser, text: &str, replied: &Value) -> Value {
    let chat = replied
        .get("chat")
        .cloned()
        .unwrap_or_else(|| from.private_chat());
    let mut m = text_message(from, chat, text);
    let mut original = replied.clone();
    if let Some(o) = original.as_object_mut() {
        o.remove("reply_to_message");
    }
    m.insert("reply_to_message".into(), original);
    wrap("message", m)
}

/// Shared contact. Pass `Some(from.id)` for "share my own number" buttons.
pub fn contact(from: &TgUser, phone: &str, contact_user_id: Option<i64>) -> Value {
    let mut m = base_message(from, from.private_chat());
    let mut c = json!({ "phone_number": phone, "first_name": from.first_name });
    if let Some(id) = contact_user_id {
        c["user_id"] = json!(id);
    }
    m.insert("contact".into(), c);
    wrap("message", m)
}

/// Photo with two sizes; the largest (last) has `file_id`, the small one `{file_id}-s`.
pub fn photo(
    from: &TgUser,
    file_id: &str,
    caption: Option<&str>,
    media_group_id: Option<&str>,
) -> Value {
    let mut m = base_message(from, from.private_chat());
    let mut small = file_meta(&format!("{file_id}-s"), 1_500);
    small.insert("width".into(), json!(90));
    small.insert("height".into(), json!(67));
    let mut big = file_meta(file_id, 60_000);
    big.insert("width".into(), json!(1280));
    big.insert("height".into(), json!(960));
    m.insert("photo".into(), json!([small, big]));
    with_caption(&mut m, caption);
    if let Some(g) = media_group_id {
        m.insert("media_group_id".into(), json!(g));
    }
    wrap("message", m)
}

/// Document (file_size 1024; change it with [`set`] if needed).
pub fn document(
    from: &TgUser,
    file_id: &str,
    file_name: &str,
    mime: &str,
    caption: Option<&str>,
) -> Value {
    let mut m = base_message(from, from.private_chat());
    let mut d = file_meta(file_id, 1024);
    d.insert("file_name".into(), json!(file_name));
    d.insert("mime_type".into(), json!(mime));
    m.insert("document".into(), Value::Object(d));
    with_caption(&mut m, caption);
    wrap("message", m)
}

/// Video (640x360, 5 s, video/mp4).
pub fn video(from: &TgUser, file_id: &str, caption: Option<&str>) -> Value {
    let mut m = base_message(from, from.private_chat());
    let mut v = file_meta(file_id, 300_000);
    v.insert("width".into(), json!(640));
    v.insert("height".into(), json!(360));
    v.insert("duration".into(), json!(5));
    v.insert("mime_type".into(), json!("video/mp4"));
    m.insert("video".into(), Value::Object(v));
    with_caption(&mut m, caption);
    wrap("message", m)
}

/// Voice message (audio/ogg).
pub fn voice(from: &TgUser, file_id: &str, duration_secs: u32) -> Value {
    let mut m = base_message(from, from.private_chat());
    let mut v = file_meta(file_id, 8_000);
    v.insert("duration".into(), json!(duration_secs));
    v.insert("mime_type".into(), json!("audio/ogg"));
    m.insert("voice".into(), Value::Object(v));
    wrap("message", m)
}

/// Shared location.
pub fn location(from: &TgUser, latitude: f64, longitude: f64) -> Value {
    let mut m = base_message(from, from.private_chat());
    m.insert(
        "location".into(),
        json!({ "latitude": latitude, "longitude": longitude }),
    );
    wrap("message", m)
}

/// Static regular sticker with emoji "👍".
pub fn sticker(from: &TgUser, file_id: &str) -> Value {
    let mut m = base_message(from, from.private_chat());
    let mut s = file_meta(file_id, 20_000);
    s.insert("width".into(), json!(512));
    s.insert("height".into(), json!(512));
    s.insert("type".into(), json!("regular"));
    s.insert("is_animated".into(), json!(false));
    s.insert("is_video".into(), json!(false));
    s.insert("emoji".into(), json!("👍"));
    m.insert("sticker".into(), Value::Object(s));
    wrap("message", m)
}

/// `edited_message` update: the user's private message `original_message_id` now reads `new_text`.
pub fn edited_text(from: &TgUser, original_message_id: i64, new_text: &str) -> Value {
    let mut m = text_message(from, from.private_chat(), new_text);
    m.insert("message_id".into(), json!(original_message_id));
    m.insert("date".into(), json!(now() - 1));
    m.insert("edit_date".into(), json!(now()));
    wrap("edited_message", m)
}

/// `callback_query` update: `from` pressed a button with `data` on `message`
/// (the bot's Message JSON, e.g. `Call::result`).
pub fn callback(from: &TgUser, data: &str, message: &Value) -> Value {
    let id = NEXT_CALLBACK_ID.fetch_add(1, Ordering::Relaxed);
    let chat_id = message
        .pointer("/chat/id")
        .and_then(Value::as_i64)
        .unwrap_or(from.id);
    json!({
        "callback_query": {
            "id": format!("cbq-{id}"),
            "from": from.json(),
            "message": message,
            "chat_instance": format!("ci{chat_id}"),
            "data": data,
        }
    })
}

/// Press the inline button labelled `button_text` on the message `call` sent/edited.
/// Panics (with the available buttons) if there is no such callback button.
pub fn click(from: &TgUser, call: &Call, button_text: &str) -> Value {
    let data = call.callback_data_for(button_text).unwrap_or_else(|| {
        panic!(
            "no callback button {button_text:?} in {call}; buttons: {:?}",
            call.button_texts()
        )
    });
    let message = call
        .message()
        .unwrap_or_else(|| panic!("{call} has no Message result to click on"));
    callback(from, &data, message)
}

/// The message inside an update (message / edited_message / channel_post / callback message).
pub fn message(update: &Value) -> Option<&Value> {
    [
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
    ]
    .iter()
    .find_map(|k| update.get(*k))
    .or_else(|| update.pointer("/callback_query/message"))
}

/// `message_id` of the message inside an update. Panics if there is none.
pub fn message_id(update: &Value) -> i64 {
    message(update)
        .and_then(|m| m.get("message_id"))
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("update has no message: {update}"))
}

/// Sets `value` at a JSON pointer (e.g. `/message/document/file_size`), creating objects on the way.
pub fn set(target: &mut Value, pointer: &str, value: Value) {
    let mut cur = target;
    for key in pointer.split('/').skip(1) {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        cur = cur
            .as_object_mut()
            .expect("object")
            .entry(key.replace("~1", "/").replace("~0", "~"))
            .or_insert(Value::Null);
    }
    *cur = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_entity_is_added() {
        let u = TgUser::new(7, "Ann");
        let upd = text(&u, "/start ref_1");
        assert_eq!(
            upd["message"]["entities"],
            json!([{"type": "bot_command", "offset": 0, "length": 6}])
        );
        assert!(text(&u, "hello")["message"].get("entities").is_none());
        assert_eq!(upd["message"]["chat"]["id"], json!(7));
    }

    #[test]
    fn set_creates_path() {
        let mut v = json!({});
        set(&mut v, "/a/b", json!(1));
        assert_eq!(v, json!({"a": {"b": 1}}));
    }

    #[test]
    fn ids_increase() {
        let u = TgUser::new(1, "A");
        let a = message_id(&text(&u, "x"));
        let b = message_id(&text(&u, "y"));
        assert!(b > a);
    }
}
