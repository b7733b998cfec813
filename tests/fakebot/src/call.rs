//! A recorded Bot API call and helpers to inspect it.

use std::fmt;
use std::time::Instant;

use axum::body::Bytes;
use serde_json::Value;

/// A file uploaded by the bot in a multipart request.
#[derive(Clone, Debug)]
pub struct UploadedFile {
    /// Multipart part name (teloxide uses a random attach id).
    pub part: String,
    /// File name sent by the client ("" when teloxide had none).
    pub file_name: String,
    /// The `file_id` the fake assigned to this upload (usable with getFile).
    pub file_id: String,
    pub bytes: Bytes,
}

/// One request the fake received, with what it answered.
#[derive(Clone, Debug)]
pub struct Call {
    /// Position in [`crate::FakeTelegram::calls`].
    pub index: usize,
    /// Bot API method, as sent (e.g. `sendMessage`).
    pub method: String,
    /// JSON body; for multipart requests the text fields (JSON-looking ones parsed),
    /// with uploaded files shown as `{"name", "len", "file_id"}`.
    pub body: Value,
    /// The `result` the fake answered (`Null` when it answered an error; set for
    /// [`crate::Failure::ResponseLost`], where the message was delivered but the answer lost).
    pub result: Value,
    /// Description of the error answered, if any (e.g. "Forbidden: bot was blocked by the user").
    pub error: Option<String>,
    /// Uploaded files (multipart only).
    pub files: Vec<UploadedFile>,
    /// When the request arrived.
    pub at: Instant,
    /// The path prefix the client was given (`http://fake/ORIGIN`, see
    /// [`crate::FakeTelegram::url_for`]), telling apart the processes of one test.
    pub origin: Option<String>,
}

pub(crate) fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Call {
    /// Whether the fake answered `ok: true`.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }

    /// `chat_id` of the request (number or numeric string).
    pub fn chat_id(&self) -> Option<i64> {
        self.body.get("chat_id").and_then(value_as_i64)
    }

    /// `message_id` of the request body (e.g. for edits / deleteMessage).
    pub fn target_message_id(&self) -> Option<i64> {
        self.body.get("message_id").and_then(value_as_i64)
    }

    /// `text`, or else `caption`, of the request.
    pub fn text(&self) -> Option<&str> {
        self.body
            .get("text")
            .or_else(|| self.body.get("caption"))
            .and_then(Value::as_str)
    }

    /// `message_id` of the answered message (also works for copyMessage's `{"message_id"}`).
    pub fn message_id(&self) -> Option<i64> {
        match &self.result {
            Value::Array(msgs) => msgs.first()?.get("message_id").and_then(value_as_i64),
            r => r.get("message_id").and_then(value_as_i64),
        }
    }

    /// `reply_markup` of the request (parsed JSON even for multipart requests).
    pub fn reply_markup(&self) -> Option<&Value> {
        self.body.get("reply_markup").filter(|v| !v.is_null())
    }

    fn buttons(&self) -> impl Iterator<Item = &Value> {
        let markup = self.reply_markup();
        let rows = markup
            .and_then(|m| m.get("inline_keyboard").or_else(|| m.get("keyboard")))
            .and_then(Value::as_array);
        rows.into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
    }

    /// Texts of all buttons (inline or reply keyboard), row by row.
    pub fn button_texts(&self) -> Vec<String> {
        self.buttons()
            .filter_map(|b| match b {
                Value::String(s) => Some(s.clone()),
                b => b.get("text").and_then(Value::as_str).map(str::to_owned),
            })
            .collect()
    }

    /// `callback_data` of all inline buttons that have one, in order.
    pub fn callback_data(&self) -> Vec<String> {
        self.buttons()
            .filter_map(|b| b.get("callback_data").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    /// `callback_data` of the inline button whose text is exactly `button_text`.
    pub fn callback_data_for(&self, button_text: &str) -> Option<String> {
        self.buttons()
            .find(|b| b.get("text").and_then(Value::as_str) == Some(button_text))
            .and_then(|b| b.get("callback_data").and_then(Value::as_str))
            .map(str::to_owned)
    }

    /// The answered Message (first one for sendMediaGroup), if any.
    pub fn message(&self) -> Option<&Value> {
        match &self.result {
            Value::Array(msgs) => msgs.first(),
            r @ Value::Object(_) => Some(r),
            _ => None,
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// One line per call, for failure messages.
impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.index, self.method)?;
        if let Some(chat) = self.chat_id() {
            write!(f, " chat={chat}")?;
        }
        if let Some(id) = self.target_message_id() {
            write!(f, " msg={id}")?;
        }
        if let Some(text) = self.text() {
            write!(f, " text={:?}", shorten(text, 160))?;
        }
        let buttons = self.button_texts();
        if !buttons.is_empty() {
            write!(f, " buttons={buttons:?}")?;
        }
        if let Some(data) = self.body.get("data").and_then(Value::as_str) {
            write!(f, " data={data:?}")?;
        }
        if self.method == "getUpdates"
            && let Some(n) = self.result.as_array().map(Vec::len)
        {
            write!(f, " -> {n} updates")?;
        }
        match &self.error {
            Some(e) => write!(f, " -> ERROR {e:?}"),
            None => match self.message_id() {
                Some(id) => write!(f, " -> message_id={id}"),
                None => Ok(()),
            },
        }
    }
}
