//! Sharing (互动分享): `/share` as a reply to one's own log receipt, the comments (replies
//! to a shared post in the sharing group) and reactions (`message_reaction` updates) there,
//! the daily digest text; and the posts the bot makes on its own (bulletin channel,
//! sharing group), with what happens when a channel refuses them.

use crate::answer::{db_down, reply};
use crate::texts::{K, fill, tr};
use crate::{Ctx, HandlerResult};
use domain::config::Lang;
use domain::notify::{Channel, Notification};
use domain::sharing::ShareRefusal;
use storage::{Delivery, Failure, NewComment, OutboxItem, Person, ReceiptSent};
use teloxide::prelude::*;
use teloxide::types::{
    ChatMemberUpdated, InputFile, InputMedia, InputMediaPhoto, MessageReactionUpdated,
};
use teloxide::{ApiError, RequestError};

/// Telegram's longest caption.
const CAPTION_MAX: usize = 1024;
/// Comments quoted in a digest.
const DIGEST_COMMENTS: u32 = 3;
/// How much of a comment a digest quotes.
const DIGEST_COMMENT_CHARS: usize = 60;

/// `/share`, replying to one of his log receipts.
pub async fn share(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let Some(group) = app.config.telegram.sharing_chat_id else {
        return reply(&bot, &msg, tr(lang, K::ShareNotSetUp).to_string()).await;
    };
    let no_receipt = || tr(lang, K::ShareNoReceipt).to_string();
    let Some(replied) = msg.reply_to_message() else {
        return reply(&bot, &msg, no_receipt()).await;
    };
    // A receipt is remembered just after it is sent (not awaited by the log's handler, and
    // an album's by the sender): a `/share` right behind it may have to wait a moment.
    let mut tries = if replied.from.as_ref().is_some_and(|u| u.is_bot) {
        10
    } else {
        1
    };
    let log_id = loop {
        match app
            .store
            .receipt_log(msg.chat.id.0, i64::from(replied.id.0))
            .await
        {
            Ok(Some(id)) => break id,
            Ok(None) if tries > 1 => {
                tries -= 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Ok(None) => return reply(&bot, &msg, no_receipt()).await,
            Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
        }
    };
    let text = match app
        .store
        .share_log(person.id, log_id, group, app.clock.now())
        .await
    {
        Ok(()) => {
            app.wake_sender();
            match app.store.log_receipt(log_id).await {
                Ok(Some(r)) => fill(
                    tr(lang, K::ShareDone),
                    &[("seq", &r.seq.to_string()), ("date", &r.day.to_string())],
                ),
                Ok(None) => no_receipt(),
                Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
            }
        }
        Err(Failure::Refused(ShareRefusal::NotYours)) => tr(lang, K::ShareNotYours).to_string(),
        Err(Failure::Refused(ShareRefusal::AlreadyShared)) => tr(lang, K::ShareAlready).to_string(),
        Err(Failure::Refused(ShareRefusal::NotFound)) => no_receipt(),
        Err(Failure::Storage(e)) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    reply(&bot, &msg, text).await
}

/// Whether a message is in the configured sharing group.
pub fn in_sharing_group(app: &Ctx, m: &Message) -> bool {
    app.config.telegram.sharing_chat_id == Some(m.chat.id.0)
}

/// A reply in the sharing group: a comment if it replies to a shared post, else chatter
/// (ignored). Nothing is answered in the group.
pub async fn on_group_reply(app: Ctx, msg: Message) -> HandlerResult {
    let (Some(replied), Some(from)) = (msg.reply_to_message(), msg.from.as_ref()) else {
        return Ok(());
    };
    let text = msg
        .text()
        .or(msg.caption())
        .map(str::to_string)
        .or_else(|| {
            crate::worklog::to_log_input(&msg).map(|_| tr(app.config.language, K::KindOther).into())
        });
    let comment = NewComment {
        chat_id: msg.chat.id.0,
        message_id: i64::from(msg.id.0),
        replied_to: i64::from(replied.id.0),
        actor_id: from.id.0 as i64,
        author: &from.full_name(),
        text: text.as_deref(),
        at: app.clock.now(),
    };
    match app.store.record_comment(comment).await {
        Ok(Some(log_id)) => tracing::debug!(log_id, "comment recorded"),
        Ok(None) => tracing::debug!("group reply to something else; ignored"),
        // Nobody to tell in the group; the comment is lost with the cause in the log.
        Err(e) => tracing::error!(error = %e, "comment not recorded"),
    }
    Ok(())
}

/// A reaction changed in a chat: in the sharing group, on a shared post, it counts once
/// per person, and not at all once removed.
pub async fn on_reaction(app: Ctx, r: MessageReactionUpdated) -> HandlerResult {
    if app.config.telegram.sharing_chat_id != Some(r.chat.id.0) {
        return Ok(());
    }
    let actor = match (r.user(), r.chat()) {
        (Some(u), _) => u.id.0 as i64,
        (None, Some(c)) => c.id.0,
        (None, None) => return Ok(()),
    };
    let reacted = !r.new_reaction.is_empty();
    match app
        .store
        .set_reaction(
            r.chat.id.0,
            i64::from(r.message_id.0),
            actor,
            reacted,
            app.clock.now(),
        )
        .await
    {
        Ok(log) => tracing::debug!(?log, reacted, "reaction"),
        Err(e) => tracing::error!(error = %e, "reaction not recorded"),
    }
    Ok(())
}

fn channel_of(app: &Ctx, chat_id: i64) -> Option<Channel> {
    let t = &app.config.telegram;
    if t.bulletin_chat_id == Some(chat_id) {
        Some(Channel::Bulletin)
    } else if t.sharing_chat_id == Some(chat_id) {
        Some(Channel::Sharing)
    } else {
        None
    }
}

/// The bot's own membership changed: removed from the bulletin channel or sharing group,
/// the admins are told (once); added back, a later refusal is news again.
pub async fn on_my_membership(app: Ctx, u: ChatMemberUpdated) -> HandlerResult {
    let chat = u.chat.id.0;
    let Some(channel) = channel_of(&app, chat) else {
        return Ok(());
    };
    let m = &u.new_chat_member;
    let outcome = if m.is_left() || m.is_banned() {
        let error = tr(app.config.language, K::ChannelRemoved);
        app.store
            .channel_refused(chat, channel, error, app.clock.now())
            .await
            .map(|told| {
                if told {
                    app.wake_sender();
                }
            })
    } else {
        app.store.channel_back(chat).await
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, chat, "cannot record the bot's membership");
    }
    Ok(())
}

/// Remembers which bot message is the receipt of which log (for `/share`).
pub async fn receipt_sent(app: &Ctx, chat_id: i64, message_id: i64, log_id: i64) {
    let r = ReceiptSent {
        chat_id,
        message_id,
        log_id,
    };
    if let Err(e) = app.store.record_receipt(r).await {
        // That receipt cannot be shared by replying to it; the log itself is safe.
        tracing::warn!(error = %e, log_id, "receipt not remembered");
    }
}

/// After the sender delivered an item: a log receipt sent from the outbox (an album's) is
/// remembered like one sent at once.
pub async fn on_delivered(app: &Ctx, item: &OutboxItem, message_id: Option<i64>) {
    if let (Some(Notification::LogReceipt { log_id }), Some(id)) = (&item.notification, message_id)
    {
        receipt_sent(app, item.chat_id, id, *log_id).await;
    }
}

/// A post of the bot's own to a channel or group: text, or photos with the text as the
/// first caption (an album as one media group).
pub(crate) struct Post {
    pub text: String,
    pub photos: Vec<String>,
}

/// The shared post of a log: headed with the cadre's name and village.
pub async fn shared_post(
    app: &Ctx,
    lang: Lang,
    log_id: i64,
) -> Result<Option<Post>, storage::StorageError> {
    let Some(p) = app.store.shared_post(log_id).await? else {
        return Ok(None);
    };
    let mut text = fill(
        tr(lang, K::SharedHeader),
        &[
            ("name", &p.author),
            ("village", &p.village),
            ("date", &p.day.to_string()),
        ],
    );
    if let Some(body) = p.text.as_deref().filter(|t| !t.trim().is_empty()) {
        text.push_str("\n\n");
        text.push_str(body);
    }
    Ok(Some(Post {
        text,
        photos: p.photos,
    }))
}

/// Whether an error means the chat refuses the bot (gone, kicked, no right to post):
/// retrying cannot help, the admins must act.
fn is_refusal(e: &RequestError) -> bool {
    match e {
        RequestError::Api(
            ApiError::ChatNotFound
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::NotEnoughRightsToPostMessages,
        ) => true,
        RequestError::Api(ApiError::Unknown(d)) => {
            d.starts_with("Forbidden") || d.contains("chat not found") || d.contains("rights")
        }
        _ => false,
    }
}

/// Sends a post: one message, or a photo with its caption, or a media group (the caption
/// on its first photo); a text too long for a caption goes first as a message of its own.
/// Every message id sent is returned, first first.
async fn send_post(bot: &Bot, chat: ChatId, post: &Post) -> Result<Vec<i64>, RequestError> {
    let photo = |id: &str| InputFile::file_id(teloxide::types::FileId(id.to_string()));
    let fits = post.text.chars().count() <= CAPTION_MAX;
    let mut ids = Vec::new();
    if post.photos.is_empty() || !fits {
        let m = bot.send_message(chat, post.text.clone()).await?;
        ids.push(i64::from(m.id.0));
    }
    let caption = fits.then(|| post.text.clone());
    match post.photos.as_slice() {
        [] => {}
        [one] => {
            let req = bot.send_photo(chat, photo(one));
            let m = match caption {
                Some(c) => req.caption(c).await?,
                None => req.await?,
            };
            ids.push(i64::from(m.id.0));
        }
        many => {
            // A media group holds at most 10 items.
            for (n, chunk) in many.chunks(10).enumerate() {
                let media: Vec<InputMedia> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        let mut p = InputMediaPhoto::new(photo(id));
                        if n == 0
                            && i == 0
                            && let Some(c) = &caption
                        {
                            p = p.caption(c.clone());
                        }
                        InputMedia::Photo(p)
                    })
                    .collect();
                let sent = bot.send_media_group(chat, media).await?;
                ids.extend(sent.iter().map(|m| i64::from(m.id.0)));
            }
        }
    }
    Ok(ids)
}

/// Delivers a post of `item`; a refusing chat is recorded and the admins told once; a
/// shared post's messages are recorded so replies and reactions find the log.
pub(crate) async fn deliver_post(
    bot: &Bot,
    app: &Ctx,
    item: &OutboxItem,
    post: Post,
    classify: impl FnOnce(&RequestError) -> Delivery,
) -> Delivery {
    match send_post(bot, ChatId(item.chat_id), &post).await {
        Ok(ids) => {
            if let Some(Notification::SharedPost { log_id }) = &item.notification
                && let Err(e) = app
                    .store
                    .record_shared_messages(*log_id, item.chat_id, &ids)
                    .await
            {
                tracing::error!(error = %e, log_id, "shared post sent but not recorded");
            }
            if let Err(e) = app.store.channel_back(item.chat_id).await {
                tracing::warn!(error = %e, "cannot clear the channel's refusal");
            }
            Delivery::Sent {
                message_id: ids.first().copied(),
            }
        }
        Err(e) if is_refusal(&e) => {
            let error = e.to_string();
            let channel = match item.notification {
                Some(Notification::SharedPost { .. }) => Channel::Sharing,
                _ => Channel::Bulletin,
            };
            match app
                .store
                .channel_refused(item.chat_id, channel, &error, app.clock.now())
                .await
            {
                Ok(true) => app.wake_sender(),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "cannot record the channel's refusal"),
            }
            // Given up at once: the row is kept as failed, never retried.
            Delivery::Failed { error }
        }
        Err(e) => classify(&e),
    }
}

/// The admin's message about a refusing channel.
pub fn refused_text(lang: Lang, chat_id: i64, channel: Channel, error: &str) -> String {
    let name = match channel {
        Channel::Bulletin => tr(lang, K::ChannelBulletin),
        Channel::Sharing => tr(lang, K::ChannelSharing),
    };
    fill(
        tr(lang, K::ChannelRefused),
        &[
            ("channel", name),
            ("chat", &chat_id.to_string()),
            ("error", error),
        ],
    )
}

/// The `share-digest` message of one author; `None` if nothing is new any more (a
/// reaction taken back since).
pub async fn digest_text(
    app: &Ctx,
    lang: Lang,
    person_id: i64,
    since_ms: i64,
    until_ms: i64,
) -> Result<Option<String>, storage::StorageError> {
    let news = app
        .store
        .digest_news(person_id, since_ms, until_ms, DIGEST_COMMENTS)
        .await?;
    if news.comments == 0 && news.reactions == 0 {
        return Ok(None);
    }
    let mut text = fill(
        tr(lang, K::ShareDigest),
        &[
            ("comments", &news.comments.to_string()),
            ("reactions", &news.reactions.to_string()),
        ],
    );
    for (name, comment) in &news.first_comments {
        let mut short: String = comment.chars().take(DIGEST_COMMENT_CHARS).collect();
        if comment.chars().count() > DIGEST_COMMENT_CHARS {
            short.push('…');
        }
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::ShareDigestComment),
            &[("name", name), ("text", &short)],
        ));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gone_chat_is_a_refusal_and_a_hiccup_is_not() {
        for e in [
            ApiError::ChatNotFound,
            ApiError::BotKickedFromChannel,
            ApiError::NotEnoughRightsToPostMessages,
            ApiError::Unknown("Forbidden: bot is not a member of the channel chat".into()),
        ] {
            assert!(is_refusal(&RequestError::Api(e.clone())), "{e:?}");
        }
        assert!(!is_refusal(&RequestError::Api(ApiError::Unknown(
            "Internal Server Error".into()
        ))));
    }
}
