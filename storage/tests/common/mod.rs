//! Shared helpers of the storage tests.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::notify::Notification;
use domain::roster;
use storage::Store;

/// Generates one `#[tokio::test]` per engine from an `async fn(Store)`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { let db = storage::testing::TestDb::new(storage::Engine::Sqlite).await; super::$name(db.store.clone()).await; } )* }
        mod postgres { $( #[tokio::test] async fn $name() { let db = storage::testing::TestDb::new(storage::Engine::Postgres).await; super::$name(db.store.clone()).await; } )* }
    };
}

pub const ROSTER: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
李四,13800000002,approver,贵阳市/乌当区/新堡乡,
王五,13800000003,approver;reporter,贵阳市/乌当区,
赵六,13800000004,approver;admin,贵阳市,
钱七,13800000005,tutor,贵阳市/乌当区,农业技术;产业发展
";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

pub fn entries(text: &str) -> Vec<roster::RosterEntry> {
    let topics = domain::config::Config::default().tutoring.topics;
    roster::parse(text, &topics).expect("valid roster")
}

/// Imports `ROSTER` and returns the id of 张三 (the cadre).
pub async fn with_roster(store: &Store) -> i64 {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    store
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Claims everything due by `until`, records it as sent, and returns what was queued as
/// (chat, notification), in order.
pub async fn drain_until(store: &Store, until: DateTime<Utc>) -> Vec<(i64, Notification)> {
    let items = store
        .claim_outbox(until, Duration::seconds(30), 100)
        .await
        .unwrap();
    for item in &items {
        let sent = storage::Delivery::Sent {
            message_id: Some(item.id),
        };
        store.finish_delivery(item, &sent, now()).await.unwrap();
    }
    items
        .into_iter()
        .map(|i| (i.chat_id, i.notification.unwrap()))
        .collect()
}
