//! The database going away while people write: nothing is lost, nobody is left without an
//! answer, and `serve` carries on when it returns (PostgreSQL behind a proxy the test cuts;
//! SQLite with its write lock held by another connection).

use crate::on_both_engines;
use crate::support::TestApp;
use fakebot::Call;
use std::time::Duration;
use storage::Engine;

on_both_engines!(
    messages_sent_while_the_database_is_away_are_recorded_when_it_returns,
    a_button_pressed_while_the_database_is_away_is_handled_when_it_returns,
    a_receipt_that_cannot_reach_telegram_is_sent_again_and_the_log_kept_once,
    failing_fetches_and_an_odd_update_lose_nothing_and_a_cool_down_is_honoured,
);

const TOLD_TO_WAIT: &str = "无需重新发送";
const NOT_RECORDED: &str = "没有被记录";

fn replied_to(call: &Call) -> Option<i64> {
    call.body["reply_parameters"]["message_id"].as_i64()
}

async fn messages_sent_while_the_database_is_away_are_recorded_when_it_returns(engine: Engine) {
    let (t, mut outage) = TestApp::start_with_outage(engine).await;
    let zhang = t.cadre().await;
    let first = t.ask(&zhang, "上午走访农户").await;
    assert!(first.text().unwrap().contains("第 1 条"), "{first}");

    outage.begin(&t.db).await;
    let sent: Vec<i64> = (1..=3)
        .map(|i| {
            let update = fakebot::updates::text(&zhang, &format!("停电时的记实 {i}"));
            let id = fakebot::updates::message_id(&update);
            t.send(update);
            id
        })
        .collect();
    // Told once, within seconds, that the messages wait; nothing else meanwhile.
    let told =
        t.tg.next_to_within(zhang.id, Duration::from_secs(12))
            .await
            .expect("told that the bot is delayed");
    assert!(told.text().unwrap().contains(TOLD_TO_WAIT), "{told}");
    t.tg.assert_silent(zhang.id, Duration::from_secs(3)).await;
    assert_eq!(
        t.tg.unconfirmed_updates(),
        3,
        "the waiting updates stay unconfirmed at Telegram"
    );

    outage.end().await;
    for (i, message_id) in sent.iter().enumerate() {
        let receipt =
            t.tg.next_to_within(zhang.id, Duration::from_secs(15))
                .await
                .expect("a receipt once the database is back");
        let text = receipt.text().unwrap();
        assert!(text.contains(&format!("第 {} 条", i + 2)), "{receipt}");
        assert_eq!(replied_to(&receipt), Some(*message_id), "{receipt}");
    }
    let person = t.person_id(&zhang).await;
    let logs = t.store().person_logs(person).await.unwrap();
    assert_eq!(logs.len(), 4, "each message recorded once");
    let all = t.tg.sent_to(zhang.id);
    assert!(
        all.iter()
            .all(|c| !c.text().unwrap_or_default().contains(NOT_RECORDED)),
        "nobody is told to send again:\n{}",
        t.tg.transcript()
    );
    assert_eq!(
        all.iter()
            .filter(|c| c.text().unwrap_or_default().contains(TOLD_TO_WAIT))
            .count(),
        1,
        "told once per outage"
    );
    // A later outage is told again.
    outage.begin(&t.db).await;
    t.text(&zhang, "第二次停电");
    let told =
        t.tg.next_to_within(zhang.id, Duration::from_secs(12))
            .await
            .expect("told again in a new outage");
    assert!(told.text().unwrap().contains(TOLD_TO_WAIT), "{told}");
    outage.end().await;
    let receipt = t.reply(&zhang).await;
    assert!(receipt.text().unwrap().contains("第 5 条"), "{receipt}");
    drop(outage);
    t.stop().await;
}

async fn a_button_pressed_while_the_database_is_away_is_handled_when_it_returns(engine: Engine) {
    let (t, mut outage) = TestApp::start_with_outage(engine).await;
    let zhang = t.cadre().await;
    let li = fakebot::updates::TgUser::new(7002, "李四");
    t.register(&li, "13800000002").await;
    let asked = t.ask(&zhang, "/leave 明天 明天 家中有事").await;
    assert!(asked.text().unwrap().contains("已提交"), "{asked}");
    let card = t.reply(&li).await;
    outage.begin(&t.db).await;
    t.send(fakebot::updates::click(&li, &card, "批准"));
    // The press waits; once the database is back the decision is made and told.
    tokio::time::sleep(Duration::from_secs(2)).await;
    outage.end().await;
    let told =
        t.tg.wait_for(Duration::from_secs(20), |c| {
            c.chat_id() == Some(zhang.id) && c.text().unwrap_or_default().contains("批准")
        })
        .await
        .expect("the cadre hears of the decision");
    assert!(told.text().unwrap().contains("批准"), "{told}");
    let pending = t.store().open_cards(t.person_id(&li).await).await.unwrap();
    assert!(pending.is_empty(), "the card was decided");
    drop(outage);
    t.stop().await;
}

async fn a_receipt_that_cannot_reach_telegram_is_sent_again_and_the_log_kept_once(engine: Engine) {
    let t = TestApp::start(engine).await;
    let zhang = t.cadre().await;
    // The log commits, then its receipt cannot be sent: the update stays unconfirmed and,
    // handled again, answers with the receipt of the log already recorded.
    t.tg.fail_next("sendMessage", fakebot::Failure::Disconnect, 1);
    let update = fakebot::updates::text(&zhang, "修水渠");
    let message_id = fakebot::updates::message_id(&update);
    t.send(update);
    let receipt =
        t.tg.next_to_within(zhang.id, Duration::from_secs(15))
            .await
            .expect("the receipt, sent again");
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    assert_eq!(replied_to(&receipt), Some(message_id));
    t.tg.assert_silent(zhang.id, Duration::from_secs(2)).await;
    let logs = t
        .store()
        .person_logs(t.person_id(&zhang).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "recorded once");
    // A command whose answer was lost is answered again too.
    t.tg.fail_next("sendMessage", fakebot::Failure::Disconnect, 1);
    t.text(&zhang, "/me");
    let me =
        t.tg.next_to_within(zhang.id, Duration::from_secs(15))
            .await
            .expect("/me answered after all");
    assert!(me.text().unwrap().contains("有记实的天数：1 天"), "{me}");
    assert!(t.tg.all_confirmed_within(Duration::from_secs(5)).await);
    t.stop().await;
}

/// `getUpdates` refused (429 with a cool-down, a server error, a dropped connection, a bad
/// gateway) and an update of a kind the bot cannot read: the bot keeps polling, honours the
/// cool-down, answers the log sent meanwhile, and confirms everything.
async fn failing_fetches_and_an_odd_update_lose_nothing_and_a_cool_down_is_honoured(
    engine: Engine,
) {
    use fakebot::Failure;
    let t = TestApp::start(engine).await;
    let zhang = t.cadre().await;
    t.tg.fail_next("getUpdates", Failure::TooManyRequests { retry_after: 1 }, 1);
    t.tg.fail_next("getUpdates", Failure::ServerError, 1);
    t.tg.fail_next("getUpdates", Failure::Disconnect, 1);
    t.tg.fail_next(
        "getUpdates",
        Failure::Api {
            code: 502,
            description: "Bad Gateway".into(),
        },
        1,
    );
    t.tg.push_update(serde_json::json!({ "message": 42 }));
    let update = fakebot::updates::text(&zhang, "整理村务公开栏");
    let message_id = fakebot::updates::message_id(&update);
    t.send(update);
    let receipt =
        t.tg.next_to_within(zhang.id, Duration::from_secs(20))
            .await
            .expect("the receipt, once getUpdates answers again");
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    assert_eq!(replied_to(&receipt), Some(message_id));
    let polls = t.tg.calls_to("getUpdates");
    let refused = polls
        .iter()
        .position(|c| {
            c.error
                .as_deref()
                .is_some_and(|e| e.contains("Too Many Requests"))
        })
        .expect("the 429 was answered");
    let next = &polls[refused + 1];
    assert!(
        next.at.duration_since(polls[refused].at) >= Duration::from_millis(900),
        "asked again {:?} after a 1 s cool-down",
        next.at.duration_since(polls[refused].at)
    );
    // The odd update is confirmed with the rest: a restart would not fetch it again.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while t.tg.unconfirmed_updates() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(t.tg.unconfirmed_updates(), 0);
    t.tg.assert_silent(zhang.id, Duration::from_secs(1)).await;
}
