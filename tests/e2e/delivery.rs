//! The outbox and its sender against a Telegram that pushes back: 429 with retry_after,
//! a blocked bot, server and network errors, two senders on one database, and a crash
//! between the change and the delivery.

use crate::on_both_engines;
use crate::support::TestApp;
use chrono::Duration;
use domain::Clock;
use domain::config::Config;
use domain::notify::Notification;
use fakebot::Failure;
use fakebot::updates::TgUser;
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(
    too_many_requests_is_retried_after_retry_after,
    blocked_bot_marks_the_person_unreachable_and_stops,
    server_and_network_errors_are_retried_with_backoff,
    two_senders_never_send_one_notification_twice,
    crash_between_change_and_delivery_loses_nothing,
);

/// A cadre with one log, and the log's id: notifications below are receipts of it.
async fn with_log(t: &TestApp) -> (TgUser, i64, i64) {
    let user = t.cadre().await;
    t.ask(&user, "今天走访了五户").await;
    let person = t.person_id(&user).await;
    let log = t.store().person_logs(person).await.unwrap()[0].id;
    (user, person, log)
}

async fn queue(t: &TestApp, chat: i64, person: Option<i64>, log_id: i64) {
    let now = t.clock.now();
    t.store()
        .notify(
            &[(chat, person, Notification::LogReceipt { log_id })],
            now,
            now,
        )
        .await
        .unwrap();
    t.app.wake_sender();
}

/// The outbox reaches `(pending, sent, failed)` soon (the sender records after it sends).
/// Within 20 s: on a loaded machine recording 300 outcomes once took more than 5.
async fn outbox_settles(t: &TestApp, expected: (i64, i64, i64)) {
    let mut counts = (0, 0, 0);
    for _ in 0..400 {
        counts = t.store().outbox_counts().await.unwrap();
        if counts == expected {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("outbox is {counts:?}, expected {expected:?}");
}

fn delivered(t: &TestApp, chat: i64) -> usize {
    t.tg.sent_to(chat).len()
}

async fn too_many_requests_is_retried_after_retry_after(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (user, person, log) = with_log(&t).await;
    t.tg.fail_next(
        "sendMessage",
        Failure::TooManyRequests { retry_after: 5 },
        1,
    );
    queue(&t, user.id, Some(person), log).await;
    let refused = t.tg.next_call("sendMessage").await;
    assert!(
        refused
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("Too Many Requests"),
        "{refused}"
    );
    // Not before retry_after has passed.
    t.tg.assert_silent(user.id, StdDuration::from_millis(300))
        .await;
    t.clock.advance(Duration::seconds(6));
    t.app.wake_sender();
    let receipt = t.reply(&user).await;
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    t.tg.assert_silent(user.id, StdDuration::from_millis(300))
        .await;
    outbox_settles(&t, (0, 1, 0)).await;
    t.stop().await;
}

async fn blocked_bot_marks_the_person_unreachable_and_stops(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (user, person, log) = with_log(&t).await;
    t.tg.set_blocked(user.id, true);
    queue(&t, user.id, Some(person), log).await;
    let refused = t.tg.next_call("sendMessage").await;
    assert!(
        refused
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("blocked"),
        "{refused}"
    );
    t.clock.advance(Duration::hours(1));
    t.app.wake_sender();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(
        t.tg.calls_to("sendMessage")
            .iter()
            .filter(|c| c.error.is_some())
            .count(),
        1,
        "no retries"
    );
    outbox_settles(&t, (0, 0, 1)).await;
    assert!(t.store().person(person).await.unwrap().unwrap().unreachable);
    t.stop().await;
}

async fn server_and_network_errors_are_retried_with_backoff(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (user, person, log) = with_log(&t).await;
    t.tg.fail_next("sendMessage", Failure::ServerError, 1);
    t.tg.fail_next("sendMessage", Failure::Disconnect, 1);
    queue(&t, user.id, Some(person), log).await;
    t.tg.next_call("sendMessage").await;
    // Each failure waits a little longer; time moves on until the message goes through.
    for _ in 0..50 {
        if delivered(&t, user.id) > 2 {
            break;
        }
        t.clock.advance(Duration::minutes(1));
        t.app.wake_sender();
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let attempts = t.tg.calls_to("sendMessage").len();
    assert_eq!(attempts, 5, "registration, receipt, 2 failures, 1 success");
    let receipt = t.reply(&user).await;
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    outbox_settles(&t, (0, 1, 0)).await;
    t.stop().await;
}

async fn two_senders_never_send_one_notification_twice(engine: Engine) {
    let mut config = Config::default();
    // Fast enough that the run is short, slow enough to stop the first sender midway.
    config.delivery.global_per_second = 100;
    let t = TestApp::start_with(engine, config, Some(crate::support::ROSTER)).await;
    let (_, _, log) = with_log(&t).await;
    // The second instance talks to a fake of its own, so its sends can be told apart.
    let other = fakebot::FakeTelegram::start().await;
    let second = t.extra_sender_to(&other).await;
    let chats: Vec<i64> = (0..300).map(|i| 50_000 + i).collect();
    let now = t.clock.now();
    let items: Vec<_> = chats
        .iter()
        .map(|c| (*c, None, Notification::LogReceipt { log_id: log }))
        .collect();
    t.store().notify(&items, now, now).await.unwrap();
    t.app.wake_sender();
    // One instance sends for the bot (the limits are the bot's): the other stands by...
    t.tg.wait_for(StdDuration::from_secs(10), |c| {
        c.chat_id().is_some_and(|id| id >= 50_050)
    })
    .await
    .expect("the first sender delivers");
    assert_eq!(
        other.calls_to("sendMessage").len(),
        0,
        "the standby sends nothing"
    );
    // ...and takes over when the sender stops.
    let t = t.pause().await;
    outbox_settles(&t, (0, 300, 0)).await;
    let (mut first_sent, mut second_sent) = (0, 0);
    for chat in &chats {
        let (a, b) = (delivered(&t, *chat), other.sent_to(*chat).len());
        assert_eq!(a + b, 1, "chat {chat} got {a} + {b}");
        first_sent += a;
        second_sent += b;
    }
    assert!(
        first_sent > 0 && second_sent > 0,
        "both senders took part: {first_sent} + {second_sent}"
    );
    second.stop().await;
}

async fn crash_between_change_and_delivery_loses_nothing(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (user, person, log) = with_log(&t).await;
    // The service is down when the change commits its notification...
    let down = t.pause().await;
    let now = down.clock.now();
    down.store()
        .notify(
            &[(
                user.id,
                Some(person),
                Notification::LogReceipt { log_id: log },
            )],
            now,
            now,
        )
        .await
        .unwrap();
    // ...and a sender that claimed it died before finishing (nothing runs meanwhile, so
    // no live sender races it).
    let leased = down
        .store()
        .claim_outbox(now, Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    let t = down.resume().await;
    t.tg.assert_silent(user.id, StdDuration::from_millis(300))
        .await;
    // When the dead sender's lease runs out, the restarted service delivers it, once.
    t.clock.advance(Duration::seconds(61));
    t.app.wake_sender();
    let receipt = t.reply(&user).await;
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    t.tg.assert_silent(user.id, StdDuration::from_millis(300))
        .await;
    assert_eq!(
        t.store().outbox_counts().await.unwrap(),
        (0, 1, 0),
        "sent once, nothing left"
    );
    t.stop().await;
}
