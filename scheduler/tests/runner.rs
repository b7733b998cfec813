//! The cron loop against a real database (both engines), driven by an injected clock: a tick
//! runs once, also with two instances and across restarts; downtime is caught up once
//! within the grace time; a dead holder's tick is taken over; `log-reminder` reaches the
//! right cadres and nobody else.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::Clock;
use domain::clock::ManualClock;
use domain::config::Config;
use domain::notify::Notification;
use scheduler::{Job, Scheduler};
use std::sync::Arc;
use storage::Store;
use storage::testing::TestDb;

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
    a_tick_runs_once_however_often_the_loop_looks,
    two_instances_run_each_tick_once,
    downtime_runs_the_newest_missed_tick_once_within_the_grace,
    a_tick_before_the_scheduler_first_ran_is_never_caught_up,
    a_dead_holders_tick_is_taken_over,
    log_reminder_reaches_only_cadres_without_a_log_leave_or_opt_out,
    a_retried_tick_never_sends_twice,
    a_manual_run_is_not_the_run_of_any_tick,
);

const ROSTER: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
李一,13800000011,cadre,贵阳市/乌当区/新堡乡/谷溪村,
王二,13800000012,cadre,贵阳市/乌当区/新堡乡/谷溪村,
赵三,13800000013,cadre,贵阳市/乌当区/新堡乡/谷溪村,
孙四,13800000014,cadre,贵阳市/乌当区/新堡乡/谷溪村,
李四,13800000002,approver,贵阳市/乌当区/新堡乡,
";

/// Local (Asia/Shanghai) time on a day of December 2026 (the 1st is a Tuesday).
fn local(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, h, m, 0).unwrap() - Duration::hours(8)
}

/// Only `log-reminder` on, at its default time; `toml` adds top-level settings.
fn config(toml: &str) -> Arc<Config> {
    let text = format!(
        "{toml}\n[jobs]\nquestion-sla = \"off\"\napproval-reminder = \"off\"\nupdate-nudge = \"off\"\n\
         share-digest = \"off\"\nweekly-summary = \"off\"\nsubsidy-report = \"off\"\n"
    );
    Arc::new(Config::from_toml(&text).unwrap().validate().unwrap())
}

fn scheduler(store: &Store, config: &Arc<Config>, clock: &Arc<ManualClock>) -> Scheduler {
    Scheduler::new(store.clone(), config.clone(), clock.clone())
}

/// Imports the roster and registers everyone but 孙四; returns the ids by phone suffix.
async fn setup(store: &Store) -> Vec<(&'static str, i64)> {
    let topics = Config::default().tutoring.topics;
    let entries = domain::roster::parse(ROSTER, &topics).unwrap();
    store.import_roster(&entries, local(1, 8, 0)).await.unwrap();
    let mut ids = Vec::new();
    for phone in [
        "13800000001",
        "13800000011",
        "13800000012",
        "13800000013",
        "13800000002",
    ] {
        let tg: i64 = phone[7..].parse().unwrap();
        store
            .register_by_phone(phone, tg, tg, local(1, 8, 0))
            .await
            .unwrap();
        ids.push((
            &phone[7..],
            store.person_by_phone(phone).await.unwrap().unwrap().id,
        ));
    }
    ids
}

/// The log reminders queued so far, by recipient chat.
async fn reminders(store: &Store, until: DateTime<Utc>) -> Vec<i64> {
    let items = store
        .claim_outbox(until, Duration::seconds(30), 1000)
        .await
        .unwrap();
    let mut chats: Vec<i64> = items
        .iter()
        .filter(|i| matches!(i.notification, Some(Notification::LogReminder { .. })))
        .map(|i| i.chat_id)
        .collect();
    for item in &items {
        let sent = storage::Delivery::Sent {
            message_id: Some(1),
        };
        store.finish_delivery(item, &sent, until).await.unwrap();
    }
    chats.sort_unstable();
    chats
}

async fn a_tick_runs_once_however_often_the_loop_looks(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    let clock = Arc::new(ManualClock::new(local(1, 19, 0)));
    let s = scheduler(store, &config(""), &clock);
    assert!(
        s.step().await.unwrap().is_empty(),
        "nothing is due at 19:00"
    );
    clock.set(local(1, 20, 0) + Duration::seconds(2));
    let ran = s.step().await.unwrap();
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(ran[0].job, Job::LogReminder);
    assert_eq!(ran[0].tick, local(1, 20, 0));
    assert_eq!(ran[0].outcome, "log-reminder: 4 reminders queued");
    for _ in 0..3 {
        clock.advance(Duration::minutes(10));
        assert!(s.step().await.unwrap().is_empty());
    }
    // A restart is a new scheduler on the same database: the tick is recorded.
    let restarted = scheduler(store, &config(""), &clock);
    assert!(restarted.step().await.unwrap().is_empty());
    assert_eq!(reminders(store, clock.now()).await.len(), 4);
}

async fn two_instances_run_each_tick_once(db: &TestDb) {
    setup(&db.store).await;
    // Two stores on one database, as two processes would have.
    let other = Store::connect(&db.url).await.unwrap();
    let clock = Arc::new(ManualClock::new(local(1, 19, 59)));
    let cfg = config("");
    let (a, b) = (
        scheduler(&db.store, &cfg, &clock),
        scheduler(&other, &cfg, &clock),
    );
    a.step().await.unwrap();
    b.step().await.unwrap();
    for day in 1..=3 {
        clock.set(local(day, 20, 0) + Duration::seconds(1));
        let (ra, rb) = tokio::join!(a.step(), b.step());
        let total = ra.unwrap().len() + rb.unwrap().len();
        assert_eq!(total, 1, "day {day}: the tick ran {total} times");
        assert_eq!(
            reminders(&db.store, clock.now()).await.len(),
            4,
            "day {day}"
        );
    }
    other.close().await;
}

async fn downtime_runs_the_newest_missed_tick_once_within_the_grace(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    let clock = Arc::new(ManualClock::new(local(1, 19, 0)));
    scheduler(store, &config(""), &clock).step().await.unwrap();
    // Down from the 1st 19:00 to the 3rd 22:00: the ticks of the 1st, 2nd and 3rd passed.
    clock.set(local(3, 22, 0));
    let s = scheduler(store, &config(""), &clock);
    let ran = s.step().await.unwrap();
    assert_eq!(
        ran.iter().map(|r| r.tick).collect::<Vec<_>>(),
        [local(3, 20, 0)]
    );
    let missed = store
        .recorded_ticks("log-reminder", local(1, 0, 0), local(3, 0, 0))
        .await
        .unwrap();
    assert_eq!(
        missed,
        [local(1, 20, 0), local(2, 20, 0)],
        "older ticks are recorded, not run"
    );
    assert!(s.step().await.unwrap().is_empty());
    // Down past the grace time (6 h by default): the tick is missed, not run at 04:00.
    clock.set(local(5, 4, 0));
    assert!(
        s.step().await.unwrap().is_empty(),
        "a tick 8 hours old is not caught up"
    );
    let recorded = store
        .recorded_ticks("log-reminder", local(4, 0, 0), local(5, 4, 0))
        .await
        .unwrap();
    assert_eq!(recorded, [local(4, 20, 0)]);
    // With a longer grace it would have run.
    clock.set(local(6, 23, 0));
    let generous = scheduler(store, &config("jobs_grace_hours = 12"), &clock);
    assert_eq!(generous.step().await.unwrap().len(), 1);
}

async fn a_tick_before_the_scheduler_first_ran_is_never_caught_up(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    // The very first start is at 20:30: the 20:00 tick belongs to before.
    let clock = Arc::new(ManualClock::new(local(1, 20, 30)));
    let s = scheduler(store, &config(""), &clock);
    assert!(s.step().await.unwrap().is_empty());
    clock.set(local(2, 20, 0));
    assert_eq!(s.step().await.unwrap().len(), 1, "the next tick runs");
}

async fn a_dead_holders_tick_is_taken_over(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    let clock = Arc::new(ManualClock::new(local(1, 19, 0)));
    let s = scheduler(store, &config(""), &clock);
    s.step().await.unwrap();
    // Another instance claimed the tick and died with it.
    let tick = local(1, 20, 0);
    clock.set(tick);
    assert!(
        store
            .claim_tick("log-reminder", tick, "dead", tick, Duration::seconds(60))
            .await
            .unwrap()
    );
    assert!(
        s.step().await.unwrap().is_empty(),
        "a live lease is left alone"
    );
    clock.advance(Duration::seconds(61));
    let ran = s.step().await.unwrap();
    assert_eq!(
        ran.len(),
        1,
        "the tick is taken over once its lease ran out"
    );
    assert_eq!(ran[0].tick, tick);
    assert!(s.step().await.unwrap().is_empty());
    assert_eq!(reminders(store, clock.now()).await.len(), 4);
}

async fn log_reminder_reaches_only_cadres_without_a_log_leave_or_opt_out(db: &TestDb) {
    let store = &db.store;
    let ids = setup(store).await;
    let id = |suffix: &str| ids.iter().find(|(s, _)| *s == suffix).unwrap().1;
    // 张三 logged today; 李一 is on approved leave; 王二 turned reminders off; 赵三 did
    // nothing; 孙四 never registered; 李四 is an approver, not a cadre.
    db.execute(&format!(
        "INSERT INTO logs (person_id, seq, day, kind, text, chat_id, message_id, created_at, updated_at)
         VALUES ({}, 1, '2026-12-01', 'text', '走访', 1, 1, 0, 0)",
        id("0001")
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO leave_requests (person_id, start_day, end_day, days, reason, status, step, created_at, updated_at)
         VALUES ({}, '2026-11-30', '2026-12-02', 3, '病假', 'approved', 0, 0, 0)",
        id("0011")
    ))
    .await;
    store.set_reminders(id("0012"), false).await.unwrap();
    let clock = Arc::new(ManualClock::new(local(1, 19, 0)));
    let s = scheduler(store, &config(""), &clock);
    s.step().await.unwrap();
    clock.set(local(1, 20, 0));
    s.step().await.unwrap();
    assert_eq!(
        reminders(store, clock.now()).await,
        [13],
        "only 赵三 (chat 13)"
    );
    // The next day 李一 is still on leave and 王二 turns them back on.
    store.set_reminders(id("0012"), true).await.unwrap();
    clock.set(local(2, 20, 0));
    s.step().await.unwrap();
    assert_eq!(reminders(store, clock.now()).await, [1, 12, 13]);
    // Saturday the 5th is a rest day: nobody is reminded.
    clock.set(local(5, 20, 0));
    let ran = s.step().await.unwrap();
    assert_eq!(
        ran[0].outcome,
        "log-reminder: today is a rest day; 0 reminders queued"
    );
    assert!(reminders(store, clock.now()).await.is_empty());
}

async fn a_retried_tick_never_sends_twice(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    let cfg = config("");
    let now = local(1, 20, 0);
    for _ in 0..2 {
        Job::LogReminder
            .execute(store, &cfg, now, "tick-1")
            .await
            .unwrap();
    }
    assert_eq!(reminders(store, now).await.len(), 4);
}

async fn a_manual_run_is_not_the_run_of_any_tick(db: &TestDb) {
    let store = &db.store;
    setup(store).await;
    let clock = Arc::new(ManualClock::new(local(1, 19, 0)));
    let s = scheduler(store, &config(""), &clock);
    s.step().await.unwrap();
    let (line, _) = s.run_by_hand(Job::LogReminder).await.unwrap();
    assert_eq!(line, "log-reminder: 4 reminders queued");
    let lines = s.list().await.unwrap();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "log-reminder",
            "0",
            "20",
            "*",
            "*",
            "*",
            "2026-12-01",
            "20:00",
            "2026-12-01",
            "19:00"
        ]
    );
    let words = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>();
    assert_eq!(words(1), ["approval-reminder", "off"]);
    assert_eq!(words(2), ["question-sla", "off"]);
    assert_eq!(words(5), ["weekly-summary", "off"]);
    assert_eq!(words(6), ["subsidy-report", "off"]);
    assert_eq!(reminders(store, clock.now()).await.len(), 4);
    // The scheduled tick still runs at 20:00; it has its own dedup keys, so the cadres who
    // still have no log get the evening reminder too.
    clock.set(local(1, 20, 0));
    assert_eq!(s.step().await.unwrap().len(), 1);
}
