//! `update-nudge` and `share-digest` through the cron loop (both engines): each fires at its
//! time, once, and reaches only whom it should.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::clock::ManualClock;
use domain::config::Config;
use domain::notify::Notification;
use domain::worklog::LogInput;
use scheduler::{Job, Scheduler};
use std::sync::Arc;
use storage::testing::TestDb;
use storage::{NewComment, NewLog, NewUpdate, Recorded, Store};

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() {
            let db = storage::testing::TestDb::new(storage::Engine::Sqlite).await;
            super::$name(&db).await;
            db.store.close().await;
        } )* }
        mod postgres { $( #[tokio::test] async fn $name() {
            let db = storage::testing::TestDb::new(storage::Engine::Postgres).await;
            super::$name(&db).await;
            db.store.close().await;
        } )* }
    };
}

on_both_engines!(
    update_nudge_fires_thursday_at_ten_for_reporters_of_units_without_an_update,
    share_digest_fires_daily_at_seven_pm_once_per_author_with_news,
);

const ROSTER: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
王五,13800000003,reporter,贵阳市/乌当区,
孙八,13800000006,reporter,贵阳市/白云区,
周九,13800000007,reporter,贵阳市/白云区,
吴十,13800000008,reporter,贵阳市/花溪区,
";

/// Local (Asia/Shanghai) time on a day of December 2026 (the 3rd is a Thursday).
fn local(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, h, m, 0).unwrap() - Duration::hours(8)
}

/// Only `job` on, at its default time.
fn only(job: &str) -> Arc<Config> {
    let mut text = String::from("[jobs]\n");
    for other in Job::ALL.map(Job::name) {
        if other != job {
            text.push_str(&format!("{other} = \"off\"\n"));
        }
    }
    Arc::new(Config::from_toml(&text).unwrap().validate().unwrap())
}

/// Imports the roster and registers everyone but 吴十 (chat = 7000 + last digit).
async fn setup(store: &Store) {
    let topics = Config::default().tutoring.topics;
    let entries = domain::roster::parse(ROSTER, &topics).unwrap();
    store.import_roster(&entries, local(1, 8, 0)).await.unwrap();
    for phone in ["13800000001", "13800000003", "13800000006", "13800000007"] {
        let tg = 7000 + phone[10..].parse::<i64>().unwrap();
        store
            .register_by_phone(phone, tg, tg, local(1, 8, 0))
            .await
            .unwrap();
    }
}

/// What is queued by `until`, as (chat, notification), marked sent.
async fn queued(store: &Store, until: DateTime<Utc>) -> Vec<(i64, Notification)> {
    let items = store
        .claim_outbox(until, Duration::seconds(30), 1000)
        .await
        .unwrap();
    for item in &items {
        let sent = storage::Delivery::Sent {
            message_id: Some(1),
        };
        store.finish_delivery(item, &sent, until).await.unwrap();
    }
    let mut out: Vec<(i64, Notification)> = items
        .into_iter()
        .map(|i| (i.chat_id, i.notification.unwrap()))
        .collect();
    out.sort_by_key(|(c, _)| *c);
    out
}

async fn update_nudge_fires_thursday_at_ten_for_reporters_of_units_without_an_update(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    let wang = store.person_by_phone("13800000003").await.unwrap().unwrap();
    // 乌当区 has its update (Monday); 白云区 none; 花溪区's reporter is not registered.
    let at = local(1, 9, 0);
    store
        .record_update(NewUpdate {
            person_id: wang.id,
            unit_id: wang.unit_id,
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            at,
            text: Some("周一动态"),
            photos: &[],
            media_group_id: None,
            chat_id: 7003,
            message_id: 1,
            update_id: None,
            bulletin: None,
        })
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(local(2, 10, 0)));
    let s = Scheduler::new(store.clone(), only("update-nudge"), clock.clone());
    assert!(s.step().await.unwrap().is_empty(), "Wednesday: nothing");
    clock.set(local(3, 9, 59));
    assert!(s.step().await.unwrap().is_empty(), "not yet");
    clock.set(local(3, 10, 0));
    let ran = s.step().await.unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].outcome, "update-nudge: 2 nudges queued");
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let baiyun = store.find_unit("白云区").await.unwrap().unwrap().0;
    let nudge = Notification::UpdateNudge {
        unit_id: baiyun,
        monday,
    };
    assert_eq!(
        queued(store, local(3, 10, 0)).await,
        vec![(7006, nudge.clone()), (7007, nudge)]
    );
    clock.set(local(3, 11, 0));
    assert!(s.step().await.unwrap().is_empty(), "once per tick");
    assert!(queued(store, local(3, 11, 0)).await.is_empty());
}

async fn share_digest_fires_daily_at_seven_pm_once_per_author_with_news(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    let zhang = store.person_by_phone("13800000001").await.unwrap().unwrap();
    let input = LogInput {
        text: Some("记实".into()),
        ..Default::default()
    };
    let at = local(1, 9, 0);
    let log = NewLog {
        person_id: zhang.id,
        day: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        at,
        input: &input,
        chat_id: 7001,
        message_id: 1,
        backdated: false,
        update_id: None,
    };
    let Recorded::Log(r) = store.record_log(log, at).await.unwrap() else {
        panic!("a log")
    };
    let group = -100_900;
    store
        .share_log(zhang.id, r.log_id, group, at)
        .await
        .unwrap();
    store
        .record_shared_messages(r.log_id, group, &[77])
        .await
        .unwrap();
    queued(store, at).await;
    let clock = Arc::new(ManualClock::new(local(1, 10, 0)));
    let s = Scheduler::new(store.clone(), only("share-digest"), clock.clone());
    assert!(s.step().await.unwrap().is_empty());
    store
        .record_comment(NewComment {
            chat_id: group,
            message_id: 78,
            replied_to: 77,
            actor_id: 9001,
            author: "李一",
            text: Some("好"),
            at: local(1, 12, 0),
        })
        .await
        .unwrap();
    clock.set(local(1, 18, 59));
    assert!(s.step().await.unwrap().is_empty(), "not yet");
    clock.set(local(1, 19, 0));
    let ran = s.step().await.unwrap();
    assert_eq!(ran[0].outcome, "share-digest: 1 digest queued");
    let sent = queued(store, local(1, 19, 0)).await;
    assert_eq!(sent.len(), 1);
    assert!(matches!(sent[0], (7001, Notification::ShareDigest { .. })));
    // The next day nothing is new: the tick runs and queues nothing.
    clock.set(local(2, 19, 0));
    assert_eq!(
        s.step().await.unwrap()[0].outcome,
        "share-digest: 0 digests queued"
    );
    assert!(queued(store, local(2, 19, 0)).await.is_empty());
}
