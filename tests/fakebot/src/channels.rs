//! Channels and groups the bot posts to on its own: a chat that refuses the bot (gone,
//! kicked, no rights), and the updates only such chats produce — reactions on a message
//! (`message_reaction`) and the bot's own membership changing (`my_chat_member`).

use serde_json::{Value, json};

use crate::FakeTelegram;
use crate::updates::{TgUser, group_chat, now};

impl FakeTelegram {
    /// Every message sent to `chat_id` (and edits there) fails with `code` and
    /// `description` until called again with `None`, like a channel the bot was removed
    /// from: e.g. `(400, "Bad Request: chat not found")` or
    /// `(403, "Forbidden: bot is not a member of the channel chat")`.
    pub fn set_chat_refusing(&self, chat_id: i64, refusal: Option<(u16, &str)>) {
        let mut st = self.shared().lock();
        match refusal {
            Some((code, d)) => {
                st.refusing.insert(chat_id, (code, d.to_string()));
            }
            None => {
                st.refusing.remove(&chat_id);
            }
        }
    }
}

/// A channel `Chat` (ids like `-100…`).
pub fn channel_chat(chat_id: i64) -> Value {
    json!({ "id": chat_id, "type": "channel", "title": format!("Channel {}", chat_id.unsigned_abs()) })
}

fn reaction_list(emojis: &[&str]) -> Value {
    Value::Array(
        emojis
            .iter()
            .map(|e| json!({ "type": "emoji", "emoji": e }))
            .collect(),
    )
}

/// `message_reaction` update: `from` changed his reactions on message `message_id` of
/// group `chat_id` from `old` to `new` (an empty `new` removes them).
pub fn reaction(from: &TgUser, chat_id: i64, message_id: i64, old: &[&str], new: &[&str]) -> Value {
    json!({
        "message_reaction": {
            "chat": group_chat(chat_id),
            "message_id": message_id,
            "user": from.json(),
            "date": now(),
            "old_reaction": reaction_list(old),
            "new_reaction": reaction_list(new),
        }
    })
}

/// `my_chat_member` update: `by` changed the bot's status in `chat` (a chat JSON, e.g.
/// [`channel_chat`] or [`group_chat`]) from `old` to `new` (`"administrator"`, `"member"`,
/// `"left"`, `"kicked"`).
pub fn my_chat_member(chat: Value, by: &TgUser, old: &str, new: &str) -> Value {
    let member = |status: &str| {
        let mut m = json!({
            "status": status,
            "user": { "id": crate::BOT_ID, "is_bot": true, "first_name": "Zhucun",
                      "username": crate::BOT_USERNAME },
        });
        match status {
            "administrator" => {
                for (k, v) in [
                    ("can_be_edited", false),
                    ("is_anonymous", false),
                    ("can_manage_chat", true),
                    ("can_delete_messages", true),
                    ("can_manage_video_chats", true),
                    ("can_restrict_members", true),
                    ("can_promote_members", false),
                    ("can_change_info", true),
                    ("can_invite_users", true),
                    ("can_post_stories", true),
                    ("can_edit_stories", true),
                    ("can_delete_stories", true),
                    ("can_post_messages", true),
                    ("can_edit_messages", true),
                    ("can_pin_messages", true),
                ] {
                    m[k] = json!(v);
                }
            }
            "kicked" => m["until_date"] = json!(0),
            _ => {}
        }
        m
    };
    json!({
        "my_chat_member": {
            "chat": chat,
            "from": by.json(),
            "date": now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    })
}
