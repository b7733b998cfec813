//! The real teloxide `Bot` / `Dispatcher` against the fake.

use std::time::Duration;

use fakebot::updates::{self, TgUser};
use fakebot::{Failure, FakeTelegram, RateLimits, TOKEN};
use serde_json::json;
use teloxide::dispatching::{ShutdownToken, UpdateHandler};
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, InputMedia, InputMediaPhoto, MediaKind,
    MessageKind, ParseMode, UpdateKind,
};
use teloxide::{ApiError, RequestError};

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const SHORT: Duration = Duration::from_secs(5);

fn bot_for(fake: &FakeTelegram) -> Bot {
    Bot::new(TOKEN).set_api_url(fake.url().parse().unwrap())
}

fn spawn_dispatcher(
    bot: Bot,
    handler: UpdateHandler<Box<dyn std::error::Error + Send + Sync>>,
) -> ShutdownToken {
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let token = dispatcher.shutdown_token();
    tokio::spawn(async move { dispatcher.dispatch().await });
    token
}

#[tokio::test]
async fn get_me_works() {
    let fake = FakeTelegram::start().await;
    let me = bot_for(&fake).get_me().await.unwrap();
    assert_eq!(me.username(), "zhucun_test_bot");
    assert_eq!(me.id.0, 10_000);
    assert_eq!(fake.calls_to("getMe").len(), 1);
}

#[tokio::test]
async fn wrong_token_is_unauthorized() {
    let fake = FakeTelegram::start().await;
    let bot = Bot::new("1:other").set_api_url(fake.url().parse().unwrap());
    let err = bot.get_me().await.unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::InvalidToken)),
        "{err:?}"
    );
}

#[tokio::test]
async fn send_message_is_recorded() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    let keyboard = InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback("Yes", "answer:yes"),
        InlineKeyboardButton::callback("No", "answer:no"),
    ]]);
    let msg = bot
        .send_message(ChatId(42), "hi")
        .reply_markup(keyboard)
        .await
        .unwrap();
    assert!(msg.id.0 >= 10_000_000);
    assert_eq!(msg.text(), Some("hi"));
    assert_eq!(msg.chat.id, ChatId(42));
    assert!(msg.chat.is_private());
    assert!(msg.reply_markup().is_some());

    let call = fake.next_to(42).await;
    assert_eq!(call.method, "sendMessage");
    assert_eq!(call.text(), Some("hi"));
    assert_eq!(call.message_id(), Some(i64::from(msg.id.0)));
    assert_eq!(call.button_texts(), ["Yes", "No"]);
    assert_eq!(call.callback_data(), ["answer:yes", "answer:no"]);
    assert_eq!(fake.sent_to(42).len(), 1);

    // Group chats: negative ids are supergroups unless seen in an update.
    let g = bot
        .send_message(ChatId(-1001234), "to group")
        .await
        .unwrap();
    assert!(g.chat.is_supergroup());
}

#[tokio::test]
async fn echo_dispatcher_receives_pushed_update() {
    let fake = FakeTelegram::start().await;
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        if let Some(text) = msg.text() {
            bot.send_message(msg.chat.id, format!("echo: {text}"))
                .await?;
        }
        HandlerResult::Ok(())
    });
    let _stop = spawn_dispatcher(bot_for(&fake), handler);

    let ann = TgUser::new(42, "Ann").username("ann");
    fake.push_update(updates::text(&ann, "hello"));
    fake.push_update(updates::text(&ann, "/start ref"));
    assert_eq!(fake.next_to(42).await.text(), Some("echo: hello"));
    assert_eq!(fake.next_to(42).await.text(), Some("echo: /start ref"));
    fake.assert_silent(42, Duration::from_millis(100)).await;

    // Polling confirmed the updates.
    assert_eq!(fake.pending_updates(), 0);
    assert!(fake.count("getUpdates") >= 1);
}

#[tokio::test]
async fn photo_and_callback_reach_handlers() {
    let fake = FakeTelegram::start().await;
    let handler = dptree::entry()
        .branch(
            Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
                if let Some(sizes) = msg.photo() {
                    let largest = &sizes.last().unwrap().file.id;
                    let caption = msg.caption().unwrap_or("-");
                    bot.send_message(msg.chat.id, format!("photo {largest} {caption}"))
                        .await?;
                }
                HandlerResult::Ok(())
            }),
        )
        .branch(Update::filter_callback_query().endpoint(
            |bot: Bot, q: CallbackQuery| async move {
                bot.answer_callback_query(q.id.clone()).await?;
                let chat = q.regular_message().unwrap().chat.id;
                bot.send_message(chat, format!("pressed {}", q.data.unwrap()))
                    .await?;
                HandlerResult::Ok(())
            },
        ));
    let bot = bot_for(&fake);
    let _stop = spawn_dispatcher(bot.clone(), handler);

    let ann = TgUser::new(7, "Ann");
    fake.push_update(updates::photo(&ann, "PHOTO1", Some("look"), None));
    assert_eq!(fake.next_to(7).await.text(), Some("photo PHOTO1 look"));

    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Go", "go:1")]]);
    bot.send_message(ChatId(7), "menu")
        .reply_markup(keyboard)
        .await
        .unwrap();
    let menu = fake.next_to(7).await;
    fake.push_update(updates::click(&ann, &menu, "Go"));
    assert_eq!(fake.next_to(7).await.text(), Some("pressed go:1"));
    let answer = fake.next_call("answerCallbackQuery").await;
    assert!(
        answer.body["callback_query_id"]
            .as_str()
            .unwrap()
            .starts_with("cbq-")
    );
}

#[tokio::test]
async fn all_update_builders_parse_in_teloxide() {
    let u = TgUser::new(5, "Bo")
        .username("bo")
        .lang("en")
        .last_name("B");
    let bot_msg = json!({
        "message_id": 10_000_001, "date": 1_700_000_000,
        "from": {"id": 10_000, "is_bot": true, "first_name": "Bot", "username": "zhucun_test_bot"},
        "chat": {"id": 5, "type": "private", "first_name": "Bo"},
        "text": "menu",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    });
    let cases = [
        updates::text(&u, "hi"),
        updates::text(&u, "/help me"),
        updates::text_in_group(&u, -100_123, "/stats@zhucun_test_bot"),
        updates::text_in_group(&u, -1_001_234_567_890, "hi all"),
        updates::reply_to(&u, "answer", &bot_msg),
        updates::contact(&u, "+380501234567", Some(5)),
        updates::photo(&u, "P", None, Some("grp1")),
        updates::document(&u, "D", "report.csv", "text/csv", Some("data")),
        updates::video(&u, "V", Some("clip")),
        updates::voice(&u, "VO", 3),
        updates::location(&u, 50.45, 30.52),
        updates::sticker(&u, "S"),
        updates::edited_text(&u, 12, "fixed"),
        updates::callback(&u, "a", &bot_msg),
    ];
    for (i, mut upd) in cases.into_iter().enumerate() {
        upd["update_id"] = json!(i + 1);
        // NB: teloxide's Update only parses from a string/reader, not via `from_value`.
        let parsed: Update = serde_json::from_str(&upd.to_string()).unwrap();
        match &parsed.kind {
            UpdateKind::Message(m) | UpdateKind::EditedMessage(m) => {
                assert!(
                    !matches!(m.kind, MessageKind::Empty {}),
                    "case {i} parsed as an empty message: {upd}"
                );
                if let MessageKind::Common(c) = &m.kind {
                    assert!(
                        !matches!(c.media_kind, MediaKind::Migration(_)),
                        "case {i}: {upd}"
                    );
                }
            }
            UpdateKind::CallbackQuery(q) => {
                assert_eq!(q.data.as_deref(), Some("a"));
                assert!(q.regular_message().is_some());
            }
            other => panic!("case {i} parsed as {other:?}: {upd}"),
        }
    }
}

#[tokio::test]
async fn injected_429_gives_retry_after() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    fake.fail_next(
        "sendMessage",
        Failure::TooManyRequests { retry_after: 3 },
        1,
    );
    let err = bot.send_message(ChatId(42), "hi").await.unwrap_err();
    match err {
        RequestError::RetryAfter(s) => assert_eq!(s.seconds(), 3),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fake.too_many_requests_count(), 1);
    // The failed call is recorded but not "sent".
    assert!(fake.sent_to(42).is_empty());
    assert!(!fake.calls_to("sendMessage")[0].is_ok());
    // Next call succeeds.
    bot.send_message(ChatId(42), "again").await.unwrap();
    assert_eq!(fake.next_to(42).await.text(), Some("again"));
}

#[tokio::test]
async fn other_failures() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);

    fake.fail_next("sendMessage", Failure::ServerError, 1);
    let err = bot.send_message(ChatId(1), "x").await.unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::Unknown(_))),
        "{err:?}"
    );

    fake.fail_next("sendMessage", Failure::Forbidden, 1);
    let err = bot.send_message(ChatId(1), "x").await.unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::BotBlocked)),
        "{err:?}"
    );

    fake.fail_next("sendMessage", Failure::Disconnect, 1);
    let err = bot.send_message(ChatId(1), "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Network(_)), "{err:?}");
    assert!(fake.sent_to(1).is_empty());

    // ResponseLost: the message is delivered, but the bot sees a network error.
    fake.fail_next("sendMessage", Failure::ResponseLost, 1);
    let err = bot.send_message(ChatId(1), "lost").await.unwrap_err();
    assert!(matches!(err, RequestError::Network(_)), "{err:?}");
    assert_eq!(fake.sent_to(1).len(), 1);

    // The connection pool recovers.
    bot.send_message(ChatId(1), "ok").await.unwrap();
    assert_eq!(fake.sent_to(1).len(), 2);
}

#[tokio::test]
async fn blocked_chat_gives_403() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    fake.set_blocked(99, true);
    let err = bot.send_message(ChatId(99), "hi").await.unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::BotBlocked)),
        "{err:?}"
    );
    bot.send_message(ChatId(100), "other chat").await.unwrap();
    fake.set_blocked(99, false);
    bot.send_message(ChatId(99), "unblocked").await.unwrap();
    assert_eq!(fake.next_to(99).await.text(), Some("unblocked"));
}

#[tokio::test]
async fn get_file_and_download() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    fake.add_file("DOC1", b"a,b\n1,2\n".to_vec());
    let file = bot
        .get_file(teloxide::types::FileId("DOC1".into()))
        .await
        .unwrap();
    assert_eq!(file.size, 8);
    let mut dst: Vec<u8> = Vec::new();
    bot.download_file(&file.path, &mut dst).await.unwrap();
    assert_eq!(dst, b"a,b\n1,2\n");

    let err = bot
        .get_file(teloxide::types::FileId("nope".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::FileIdInvalid)),
        "{err:?}"
    );
}

#[tokio::test]
async fn uploads_are_recorded_and_downloadable() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("More", "more")]]);
    let msg = bot
        .send_document(
            ChatId(42),
            InputFile::memory(b"x;y\n".to_vec()).file_name("export.csv"),
        )
        .caption("Your export")
        .reply_markup(keyboard)
        .await
        .unwrap();
    let doc = msg.document().unwrap();
    assert_eq!(doc.file_name.as_deref(), Some("export.csv"));

    let call = fake.next_to(42).await;
    assert_eq!(call.method, "sendDocument");
    assert_eq!(call.text(), Some("Your export"));
    assert_eq!(call.chat_id(), Some(42));
    assert_eq!(call.button_texts(), ["More"]);
    assert_eq!(call.body["document"]["name"], json!("export.csv"));
    assert_eq!(call.body["document"]["len"], json!(4));
    assert_eq!(&call.files[0].bytes[..], b"x;y\n");
    assert_eq!(fake.file_bytes(&doc.file.id.0).unwrap(), &b"x;y\n"[..]);

    // Photo by memory, then a media group.
    let photo = bot
        .send_photo(ChatId(42), InputFile::memory(vec![1u8, 2, 3]))
        .await
        .unwrap();
    assert_eq!(photo.photo().unwrap().len(), 2);
    let group = bot
        .send_media_group(
            ChatId(42),
            [
                InputMedia::Photo(
                    InputMediaPhoto::new(InputFile::memory(vec![1u8])).caption("one"),
                ),
                InputMedia::Photo(InputMediaPhoto::new(InputFile::file_id("PHOTO1".into()))),
            ],
        )
        .await
        .unwrap();
    assert_eq!(group.len(), 2);
    assert_eq!(group[0].media_group_id(), group[1].media_group_id());
    assert_eq!(fake.next_to(42).await.method, "sendPhoto");
    let mg = fake.next_to(42).await;
    assert_eq!(mg.method, "sendMediaGroup");
    assert_eq!(mg.body["media"][0]["caption"], json!("one"));
    assert_eq!(mg.body["media"][0]["media"]["len"], json!(1));
}

#[tokio::test]
async fn edits_and_not_modified() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("A", "a")]]);
    let msg = bot
        .send_message(ChatId(3), "v1")
        .reply_markup(kb.clone())
        .await
        .unwrap();
    let edited = bot
        .edit_message_text(ChatId(3), msg.id, "v2")
        .reply_markup(kb.clone())
        .await
        .unwrap();
    assert_eq!(edited.text(), Some("v2"));
    assert!(edited.edit_date().is_some());
    let err = bot
        .edit_message_text(ChatId(3), msg.id, "v2")
        .reply_markup(kb)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageNotModified)),
        "{err:?}"
    );

    // Removing the keyboard.
    let bare = bot
        .edit_message_reply_markup(ChatId(3), msg.id)
        .await
        .unwrap();
    assert!(bare.reply_markup().is_none());
    let stored = fake.message(3, i64::from(msg.id.0)).unwrap();
    assert_eq!(stored["text"], json!("v2"));
    assert!(stored.get("reply_markup").is_none());

    assert_eq!(fake.next_to(3).await.method, "sendMessage");
    assert_eq!(fake.next_to(3).await.text(), Some("v2"));
    assert_eq!(fake.next_to(3).await.method, "editMessageReplyMarkup");
    bot.delete_message(ChatId(3), msg.id).await.unwrap();
    fake.assert_silent(3, Duration::from_millis(20)).await;
}

#[tokio::test]
async fn formatting_errors_like_telegram() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    let err = bot
        .send_message(ChatId(1), "<b>Tom & <Jerry></b>")
        .parse_mode(ParseMode::Html)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::CantParseEntities(_))),
        "{err:?}"
    );
    let err = bot
        .send_message(ChatId(1), "Price: 5.00!")
        .parse_mode(ParseMode::MarkdownV2)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::CantParseEntities(_))),
        "{err:?}"
    );
    let err = bot
        .send_message(ChatId(1), "x".repeat(4097))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageIsTooLong)),
        "{err:?}"
    );
    let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("A", "a".repeat(65))]]);
    let err = bot
        .send_message(ChatId(1), "x")
        .reply_markup(kb)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RequestError::Api(ApiError::ButtonDataInvalid)),
        "{err:?}"
    );

    fake.set_validate_formatting(false);
    bot.send_message(ChatId(1), "Price: 5.00!")
        .parse_mode(ParseMode::MarkdownV2)
        .await
        .unwrap();
}

#[tokio::test]
async fn rate_limits_produce_429() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    fake.set_rate_limits(Some(RateLimits::default()));

    bot.send_message(ChatId(5), "1").await.unwrap();
    let err = bot.send_message(ChatId(5), "2").await.unwrap_err();
    assert!(matches!(err, RequestError::RetryAfter(_)), "{err:?}");
    // Another private chat is fine.
    bot.send_message(ChatId(6), "1").await.unwrap();

    // 20 per minute in a group.
    for i in 0..20 {
        bot.send_message(ChatId(-100), i.to_string()).await.unwrap();
    }
    let err = bot.send_message(ChatId(-100), "21").await.unwrap_err();
    match err {
        RequestError::RetryAfter(s) => assert!(s.seconds() > 1 && s.seconds() <= 60),
        other => panic!("unexpected {other:?}"),
    }

    // Global 30/s (chat actions and edits are not limited).
    fake.set_rate_limits(Some(RateLimits {
        global_per_sec: 3,
        ..RateLimits::default()
    }));
    bot.send_chat_action(ChatId(7), teloxide::types::ChatAction::Typing)
        .await
        .unwrap();
    let mut refused = 0;
    for chat in 100..110 {
        if bot.send_message(ChatId(chat), "x").await.is_err() {
            refused += 1;
        }
    }
    assert!(refused >= 6, "refused {refused}");
    assert_eq!(fake.too_many_requests_count(), 2 + refused);
    fake.set_rate_limits(None);
    bot.send_message(ChatId(5), "free").await.unwrap();
}

#[tokio::test]
async fn redelivery_with_explicit_update_id() {
    let fake = FakeTelegram::start().await;
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        bot.send_message(msg.chat.id, format!("got {}", msg.id.0))
            .await?;
        HandlerResult::Ok(())
    });
    let _stop = spawn_dispatcher(bot_for(&fake), handler);
    let u = TgUser::new(8, "Re");
    let upd = updates::text(&u, "once");
    let mid = updates::message_id(&upd);
    let id = fake.push_update(upd.clone());
    let first = fake.next_to(8).await;
    assert_eq!(first.text(), Some(format!("got {mid}").as_str()));

    let mut again = upd;
    again["update_id"] = json!(id);
    assert_eq!(fake.push_update(again), id);
    assert_eq!(fake.next_to(8).await.text(), first.text());
    // New updates keep flowing after the redelivery.
    fake.push_update(updates::text(&u, "next"));
    assert!(fake.next_to(8).await.text().unwrap().starts_with("got "));
}

#[tokio::test]
async fn allowed_updates_are_honoured() {
    let fake = FakeTelegram::start().await;
    // Only messages are handled → teloxide asks for allowed_updates=["message"].
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        bot.send_message(msg.chat.id, "msg").await?;
        HandlerResult::Ok(())
    });
    let _stop = spawn_dispatcher(bot_for(&fake), handler);
    let u = TgUser::new(9, "Al");
    let bot_msg =
        json!({"message_id": 1, "date": 1, "chat": {"id": 9, "type": "private"}, "text": "x"});
    fake.push_update(updates::callback(&u, "data", &bot_msg));
    fake.push_update(updates::text(&u, "hi"));
    assert_eq!(fake.next_to(9).await.text(), Some("msg"));
    fake.assert_silent(9, Duration::from_millis(50)).await;
    assert_eq!(fake.pending_updates(), 0);
    let polls = fake.calls_to("getUpdates");
    assert_eq!(polls[0].body["allowed_updates"], json!(["message"]));
}

#[tokio::test]
async fn second_poller_terminates_first() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    let b2 = bot.clone();
    let first = tokio::spawn(async move { b2.get_updates().timeout(5).await });
    // Make sure the first poll is waiting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(1).await }
    });
    let err = first.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates)
        ),
        "{err:?}"
    );
    fake.push_update(updates::text(&TgUser::new(1, "A"), "x"));
    assert_eq!(second.await.unwrap().unwrap().len(), 1);
}

#[tokio::test]
async fn wait_for_timeout_lists_calls() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    bot.send_message(ChatId(1), "first").await.unwrap();
    let err = fake
        .wait_for(Duration::from_millis(50), |c| c.chat_id() == Some(2))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("sendMessage chat=1 text=\"first\""), "{text}");

    // wait_for consumes: the same call is not returned twice.
    let c = fake
        .wait_for(SHORT, |c| c.method == "sendMessage")
        .await
        .unwrap();
    assert_eq!(c.text(), Some("first"));
    assert!(
        fake.wait_for(Duration::from_millis(20), |c| c.method == "sendMessage")
            .await
            .is_err()
    );
    // next_to shares the cursor.
    assert!(
        fake.next_to_within(1, Duration::from_millis(20))
            .await
            .is_err()
    );
}

#[tokio::test]
#[should_panic(expected = "expected no message to chat 4")]
async fn assert_silent_panics_on_message() {
    let fake = FakeTelegram::start().await;
    bot_for(&fake)
        .send_message(ChatId(4), "noise")
        .await
        .unwrap();
    fake.assert_silent(4, Duration::from_millis(20)).await;
}

#[tokio::test]
async fn commands_chat_and_misc() {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    bot.set_my_commands([teloxide::types::BotCommand::new("start", "Start")])
        .await
        .unwrap();
    let cmds = bot.get_my_commands().await.unwrap();
    assert_eq!(cmds[0].command, "start");

    fake.push_update(updates::text_in_group(&TgUser::new(1, "A"), -555, "hi"));
    let chat = bot.get_chat(ChatId(-555)).await.unwrap();
    assert_eq!(chat.title(), Some("Group 555"));
    let chat = bot.get_chat(ChatId(77)).await.unwrap();
    assert!(chat.is_private());

    let m = bot.send_message(ChatId(1), "orig").await.unwrap();
    let copied = bot.copy_message(ChatId(2), ChatId(1), m.id).await.unwrap();
    assert!(copied.0 > m.id.0);
    let fwd = bot
        .forward_message(ChatId(3), ChatId(1), m.id)
        .await
        .unwrap();
    assert_eq!(fwd.text(), Some("orig"));
    assert!(fwd.forward_origin().is_some());
    bot.send_location(ChatId(1), 1.0, 2.0).await.unwrap();
    bot.send_dice(ChatId(1)).await.unwrap();
    bot.delete_webhook().await.unwrap();
    bot.set_chat_title(ChatId(-555), "t").await.unwrap(); // unknown method → true
    assert_eq!(fake.calls_to("setChatTitle").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_updates_through_the_dispatcher() {
    let fake = FakeTelegram::start().await;
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        bot.send_message(msg.chat.id, msg.text().unwrap_or_default().to_owned())
            .await?;
        HandlerResult::Ok(())
    });
    let _stop = spawn_dispatcher(bot_for(&fake), handler);
    let users: Vec<TgUser> = (1..=50).map(|i| TgUser::new(1000 + i, "U")).collect();
    let n_per_user = 20;
    let started = std::time::Instant::now();
    fake.push_updates((0..n_per_user).flat_map(|k| {
        users
            .iter()
            .map(move |u| updates::text(u, &format!("m{k}")))
    }));
    for u in &users {
        for k in 0..n_per_user {
            // Per chat, teloxide handles updates in order.
            assert_eq!(
                fake.next_to(u.id).await.text(),
                Some(format!("m{k}").as_str())
            );
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(fake.count("sendMessage"), users.len() * n_per_user);
    eprintln!("{} round trips in {elapsed:?}", users.len() * n_per_user);
}
