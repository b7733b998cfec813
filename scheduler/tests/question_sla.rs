//! The `question-sla` job against a real database (both engines), with the clock injected.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::config::Config;
use domain::notify::Notification;
use scheduler::jobs::{SlaReport, question_sla};
use storage::{NewQuestion, RelaySource, Store};

/// One test per engine. The pool is closed before the database is dropped: a transaction
/// that ended early rolls back on a pooled connection, and that must run before the test
/// schema can be dropped (the drop blocks this single-threaded runtime).
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() {
            let db = storage::testing::TestDb::new(storage::Engine::Sqlite).await;
            super::$name(&db.store).await;
            db.store.close().await;
        } )* }
        mod postgres { $( #[tokio::test] async fn $name() {
            let db = storage::testing::TestDb::new(storage::Engine::Postgres).await;
            super::$name(&db.store).await;
            db.store.close().await;
        } )* }
    };
}

on_both_engines!(
    unanswered_question_is_reminded_once_after_24_hours,
    past_48_hours_it_moves_on_once_per_deadline_until_nobody_is_left,
    answered_question_is_never_reminded,
    after_downtime_past_both_deadlines_it_moves_on_at_once,
    configured_hours_and_default_tutor_are_honoured,
);

const ROSTER: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
赵六,13800000004,approver;admin,贵阳市,
钱七,13800000005,tutor,贵阳市/乌当区,农业技术;产业发展
孙八,13800000006,tutor,贵阳市,农业技术;政策法规
周九,13800000007,tutor,贵阳市/花溪区,农业技术
";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

fn hours(h: i64) -> DateTime<Utc> {
    t0() + Duration::hours(h)
}

struct Ids {
    zhang: i64,
    zhao: i64,
    qian: i64,
    sun: i64,
    zhou: i64,
}

async fn setup(store: &Store) -> Ids {
    let topics = Config::default().tutoring.topics;
    let entries = domain::roster::parse(ROSTER, &topics).unwrap();
    store.import_roster(&entries, t0()).await.unwrap();
    let id = |phone: &'static str| async move {
        let tg: i64 = phone[7..].parse().unwrap();
        store.register_by_phone(phone, tg, tg, t0()).await.unwrap();
        store.person_by_phone(phone).await.unwrap().unwrap().id
    };
    Ids {
        zhang: id("13800000001").await,
        zhao: id("13800000004").await,
        qian: id("13800000005").await,
        sun: id("13800000006").await,
        zhou: id("13800000007").await,
    }
}

async fn ask(store: &Store, cadre: i64, text: &str, topic: &str, at: DateTime<Utc>) -> i64 {
    let q = store
        .create_question(
            NewQuestion {
                person_id: cadre,
                chat_id: 1,
                message_id: at.timestamp(),
                kind: storage::MessageKind::Text,
                text,
                file_id: None,
            },
            at,
        )
        .await
        .unwrap();
    store
        .submit_question(q, cadre, topic, None, at)
        .await
        .unwrap();
    q
}

/// Notifications queued since the last call.
async fn drain(store: &Store) -> Vec<Notification> {
    let items = store
        .claim_outbox(hours(1000), Duration::seconds(30), 100)
        .await
        .unwrap();
    for item in &items {
        let sent = storage::Delivery::Sent {
            message_id: Some(item.id),
        };
        store.finish_delivery(item, &sent, t0()).await.unwrap();
    }
    items.into_iter().filter_map(|i| i.notification).collect()
}

async fn run(store: &Store, at: DateTime<Utc>) -> SlaReport {
    question_sla(store, &Config::default(), at).await.unwrap()
}

async fn unanswered_question_is_reminded_once_after_24_hours(store: &Store) {
    let p = setup(store).await;
    let q = ask(store, p.zhang, "梨树梨锈病怎么治", "农业技术", t0()).await;
    let assignment = store
        .question(q)
        .await
        .unwrap()
        .unwrap()
        .assignment_id
        .unwrap();
    drain(store).await;
    assert!(run(store, hours(23)).await.is_empty());
    let report = run(store, hours(24)).await;
    assert_eq!(report.reminded, [q]);
    assert_eq!(
        drain(store).await,
        [Notification::QuestionReminder {
            question_id: q,
            assignment_id: assignment,
            overdue: false
        }]
    );
    // The job runs hourly: never a second reminder for the same deadline.
    for h in [24, 25, 47] {
        assert!(run(store, hours(h)).await.is_empty(), "at {h} h");
    }
    assert!(drain(store).await.is_empty());
    assert_eq!(
        store.question(q).await.unwrap().unwrap().tutor_id,
        Some(p.qian)
    );
}

async fn past_48_hours_it_moves_on_once_per_deadline_until_nobody_is_left(store: &Store) {
    let p = setup(store).await;
    let q = ask(store, p.zhang, "梨树梨锈病怎么治", "农业技术", t0()).await;
    run(store, hours(24)).await;
    drain(store).await;

    // 48 h: to the next best tutor (the city's 孙八 before 花溪区's 周九).
    let report = run(store, hours(48)).await;
    assert_eq!(report.reassigned, [(q, p.qian, p.sun)]);
    let question = store.question(q).await.unwrap().unwrap();
    assert_eq!(question.tutor_id, Some(p.sun));
    let queued = drain(store).await;
    assert!(queued.contains(&Notification::QuestionPassed {
        question_id: q,
        tutor_id: p.sun,
        reassigned: true
    }));
    assert!(queued.contains(&Notification::QuestionCard {
        question_id: q,
        tutor_id: p.sun,
        assignment_id: question.assignment_id.unwrap()
    }));
    assert_eq!(queued.len(), 3, "old card refreshed too: {queued:?}");
    assert!(run(store, hours(48)).await.is_empty());
    assert!(run(store, hours(71)).await.is_empty());

    // The new tutor has his own deadlines.
    assert_eq!(run(store, hours(72)).await.reminded, [q]);
    assert_eq!(run(store, hours(96)).await.reassigned, [(q, p.sun, p.zhou)]);
    // Every tutor of the topic has had it: an admin takes it.
    assert_eq!(
        run(store, hours(144)).await.reassigned,
        [(q, p.zhou, p.zhao)]
    );
    drain(store).await;
    // Nobody is left: the admin is reminded once more, once.
    let report = run(store, hours(192)).await;
    assert_eq!(report.nobody_else, [q]);
    let assignment = store
        .question(q)
        .await
        .unwrap()
        .unwrap()
        .assignment_id
        .unwrap();
    assert!(
        drain(store)
            .await
            .contains(&Notification::QuestionReminder {
                question_id: q,
                assignment_id: assignment,
                overdue: true
            })
    );
    for h in [193, 300] {
        assert!(run(store, hours(h)).await.is_empty());
    }
    assert_eq!(
        store.question(q).await.unwrap().unwrap().tutor_id,
        Some(p.zhao)
    );
}

async fn answered_question_is_never_reminded(store: &Store) {
    let p = setup(store).await;
    let q = ask(store, p.zhang, "梨树梨锈病怎么治", "农业技术", t0()).await;
    store
        .record_thread_message(q, p.qian, 5, 500, None, None, t0())
        .await
        .unwrap();
    let plan = store.plan_relay(p.qian, 5, 500).await.unwrap();
    let source = RelaySource {
        chat_id: 5,
        message_id: 501,
        kind: storage::MessageKind::Text,
        text: Some("喷三唑酮"),
    };
    store
        .record_relay(&plan, source, 601, hours(3))
        .await
        .unwrap();
    for h in [24, 48, 100] {
        assert!(run(store, hours(h)).await.is_empty());
    }
}

async fn after_downtime_past_both_deadlines_it_moves_on_at_once(store: &Store) {
    let p = setup(store).await;
    let q = ask(store, p.zhang, "梨树梨锈病怎么治", "农业技术", t0()).await;
    let report = run(store, hours(60)).await;
    assert!(report.reminded.is_empty());
    assert_eq!(report.reassigned, [(q, p.qian, p.sun)]);
}

async fn configured_hours_and_default_tutor_are_honoured(store: &Store) {
    let p = setup(store).await;
    let config = Config::from_toml(
        "[tutoring]\nremind_after_hours = 2\nreassign_after_hours = 4\ndefault_tutor_phone = \"+86 138-0000-0007\"\n",
    )
    .unwrap()
    .validate()
    .unwrap();
    // 政策法规 has one tutor (孙八); after him comes the default tutor 周九, not an admin.
    let q = ask(store, p.zhang, "土地流转合同怎么签", "政策法规", t0()).await;
    assert!(
        question_sla(store, &config, hours(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        question_sla(store, &config, hours(2))
            .await
            .unwrap()
            .reminded,
        [q]
    );
    assert_eq!(
        question_sla(store, &config, hours(4))
            .await
            .unwrap()
            .reassigned,
        [(q, p.sun, p.zhou)]
    );
}
