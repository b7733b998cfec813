//! Work updates and the weekly duty, on both engines.

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::{drain_until, entries, now};
use domain::attendance::local_date;
use domain::notify::Notification;
use domain::updates::UpdateRefusal;
use storage::{Failure, NewUpdate, Store, UnitWeek, UpdatePhoto, UpdateRecorded};

on_both_engines!(
    weekly_duty_counts_local_weeks_of_units_with_a_reporter,
    an_update_is_refused_to_a_non_reporter_and_for_a_unit_he_does_not_report_for,
    an_album_is_one_update_with_one_bulletin_post_after_its_last_part,
    an_edit_changes_the_brief_and_the_feed_filters_by_unit,
    a_redelivered_update_is_recorded_once,
    a_reporter_of_several_units_owes_for_each_and_a_second_import_changes_nothing,
);

const ROSTER: &str = "name,phone,roles,unit,topics
王五,13800000003,approver;reporter,贵阳市/乌当区,
孙八,13800000006,reporter,贵阳市/白云区,
周九,13800000007,reporter,贵阳市/花溪区,
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
赵六,13800000004,approver;admin,贵阳市,
";

async fn person(store: &Store, phone: &str) -> storage::Person {
    store.person_by_phone(phone).await.unwrap().unwrap()
}

fn tz() -> chrono_tz::Tz {
    domain::config::Config::default().tz()
}

/// A wall-clock time in Asia/Shanghai (the default zone).
fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    tz().with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn update<'a>(p: &storage::Person, at: DateTime<Utc>, text: &'a str, msg: i64) -> NewUpdate<'a> {
    NewUpdate {
        person_id: p.id,
        unit_id: p.unit_id,
        day: local_date(at, tz()),
        at,
        text: Some(text),
        photos: &[],
        media_group_id: None,
        chat_id: 9000 + p.id,
        message_id: msg,
        update_id: None,
        bulletin: None,
    }
}

async fn post(store: &Store, u: NewUpdate<'_>) -> UpdateRecorded {
    store.record_update(u).await.unwrap()
}

async fn weekly_duty_counts_local_weeks_of_units_with_a_reporter(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let wang = person(&store, "13800000003").await;
    let sun = person(&store, "13800000006").await;
    // 花溪区's only reporter leaves: the unit owes nothing any more.
    let without_zhou: String = ROSTER
        .lines()
        .filter(|l| !l.contains("周九"))
        .map(|l| format!("{l}\n"))
        .collect();
    store
        .import_roster(&entries(&without_zhou), now())
        .await
        .unwrap();

    // Sunday 23:59 local (15:59 UTC) is the old week; Monday 00:00 local (still Sunday in
    // UTC) is the new one.
    let sunday_late = shanghai(2026, 11, 29, 23, 59);
    let monday_midnight = shanghai(2026, 11, 30, 0, 0);
    let UpdateRecorded::New { week_updates, .. } =
        post(&store, update(&sun, sunday_late, "周报", 1)).await
    else {
        panic!("a new update")
    };
    assert_eq!(week_updates, 1);
    post(&store, update(&wang, monday_midnight, "第一条", 2)).await;
    let UpdateRecorded::New {
        week_updates,
        unit_name,
        ..
    } = post(
        &store,
        update(&wang, shanghai(2026, 12, 6, 23, 59), "第二条", 3),
    )
    .await
    else {
        panic!("a new update")
    };
    assert_eq!((unit_name.as_str(), week_updates), ("乌当区", 2));
    // The next Monday starts a week of its own.
    post(
        &store,
        update(&wang, shanghai(2026, 12, 7, 0, 0), "下周", 4),
    )
    .await;

    let week = |path: &str, updates: u32| UnitWeek {
        unit_id: 0,
        unit_path: path.into(),
        updates,
        met: updates > 0,
    };
    let strip = |v: Vec<UnitWeek>| -> Vec<UnitWeek> {
        v.into_iter()
            .map(|w| UnitWeek { unit_id: 0, ..w })
            .collect()
    };
    assert_eq!(
        strip(store.weekly_duty(day(11, 30)).await.unwrap()),
        vec![week("贵阳市/乌当区", 2), week("贵阳市/白云区", 0)],
        "units with a reporter only, by path; Monday 00:00 local counts in the new week"
    );
    assert_eq!(
        strip(store.weekly_duty(day(11, 23)).await.unwrap()),
        vec![week("贵阳市/乌当区", 0), week("贵阳市/白云区", 1)],
        "Sunday 23:59 local counts in the old week"
    );
    let ids = store.weekly_duty(day(12, 7)).await.unwrap();
    assert_eq!(ids[0].unit_id, wang.unit_id);
    assert_eq!((ids[0].updates, ids[1].updates), (1, 0));

    // The nudge goes to reporters of units without an update.
    let owing = store.reporters_owing(day(11, 30)).await.unwrap();
    assert!(owing.iter().all(|(p, _, _)| *p != wang.id));
}

async fn an_update_is_refused_to_a_non_reporter_and_for_a_unit_he_does_not_report_for(
    store: Store,
) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let cadre = person(&store, "13800000001").await;
    let wang = person(&store, "13800000003").await;
    let sun = person(&store, "13800000006").await;
    let refused = store.record_update(update(&cadre, now(), "x", 1)).await;
    assert!(matches!(
        refused,
        Err(Failure::Refused(UpdateRefusal::NotReporter))
    ));
    let mut foreign = update(&wang, now(), "x", 2);
    foreign.unit_id = sun.unit_id;
    assert!(matches!(
        store.record_update(foreign).await,
        Err(Failure::Refused(UpdateRefusal::NotHisUnit))
    ));
    assert!(store.feed(None, 0, 10).await.unwrap().is_empty());
    let units = store.reporter_units(wang.id).await.unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].path, "贵阳市/乌当区");
    assert!(store.reporter_units(cadre.id).await.unwrap().is_empty());
}

fn album_part<'a>(
    p: &storage::Person,
    photos: &'a [UpdatePhoto],
    text: Option<&'a str>,
    msg: i64,
    channel: i64,
    secs: i64,
) -> NewUpdate<'a> {
    let mut u = update(p, now(), "", msg);
    u.text = text;
    u.photos = photos;
    u.media_group_id = Some("g1");
    u.bulletin = Some((channel, now() + chrono::Duration::seconds(secs)));
    u
}

async fn an_album_is_one_update_with_one_bulletin_post_after_its_last_part(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let wang = person(&store, "13800000003").await;
    let photo = |n: u32| {
        vec![UpdatePhoto {
            file_id: format!("f{n}"),
            file_unique_id: format!("u{n}"),
        }]
    };
    let (p1, p2, p3) = (photo(1), photo(2), photo(3));
    let channel = -100_777;
    let part = |photos, text, msg, secs| album_part(&wang, photos, text, msg, channel, secs);
    let first = post(&store, part(&p1, Some("三张照片"), 10, 2)).await;
    let UpdateRecorded::New { id, .. } = first else {
        panic!("first part is a new update: {first:?}")
    };
    assert_eq!(
        post(&store, part(&p2, None, 11, 3)).await,
        UpdateRecorded::AlbumPart { id }
    );
    assert_eq!(
        post(&store, part(&p3, None, 12, 4)).await,
        UpdateRecorded::AlbumPart { id }
    );
    assert_eq!(
        store.update_album(wang.id, "g1").await.unwrap(),
        Some((id, wang.unit_id))
    );
    // Nothing is due before the last part's quiet time, then exactly one post.
    assert!(
        drain_until(&store, now() + chrono::Duration::seconds(3))
            .await
            .is_empty()
    );
    let sent = drain_until(&store, now() + chrono::Duration::seconds(4)).await;
    assert_eq!(
        sent,
        vec![(channel, Notification::BulletinPost { update_id: id })]
    );
    let post = store.update_post(id).await.unwrap().unwrap();
    assert_eq!(post.unit_name, "乌当区");
    assert_eq!(post.text.as_deref(), Some("三张照片"));
    assert_eq!(
        post.photos
            .iter()
            .map(|p| p.file_id.as_str())
            .collect::<Vec<_>>(),
        ["f1", "f2", "f3"]
    );
    let feed = store.feed(None, 0, 10).await.unwrap();
    assert_eq!((feed.len(), feed[0].photos), (1, 3));
}

async fn an_edit_changes_the_brief_and_the_feed_filters_by_unit(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let wang = person(&store, "13800000003").await;
    let sun = person(&store, "13800000006").await;
    post(&store, update(&wang, now(), "乌当一", 1)).await;
    post(&store, update(&sun, now(), "白云一", 2)).await;
    post(&store, update(&wang, now(), "乌当二", 3)).await;
    let chat = 9000 + wang.id;
    // Someone else's edit of the same message id changes nothing.
    assert_eq!(
        store
            .edit_update(sun.id, chat, 1, Some("篡改"), now())
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .edit_update(wang.id, chat, 1, Some("乌当一（改）"), now())
            .await
            .unwrap()
            .is_some()
    );
    let texts = |f: Vec<storage::FeedEntry>| -> Vec<String> {
        f.into_iter().map(|e| e.text.unwrap_or_default()).collect()
    };
    assert_eq!(
        texts(store.feed(None, 0, 10).await.unwrap()),
        ["乌当二", "白云一", "乌当一（改）"]
    );
    let (wudang, name) = store.find_unit("乌当区").await.unwrap().unwrap();
    assert_eq!((wudang, name.as_str()), (wang.unit_id, "乌当区"));
    assert_eq!(
        texts(store.feed(Some(wudang), 0, 10).await.unwrap()),
        ["乌当二", "乌当一（改）"]
    );
    let (city, _) = store.find_unit("贵阳市").await.unwrap().unwrap();
    assert_eq!(
        texts(store.feed(Some(city), 1, 1).await.unwrap()),
        ["白云一"],
        "a unit's feed includes the units below it; paging skips"
    );
    assert_eq!(store.find_unit("无此区").await.unwrap(), None);
}

async fn a_redelivered_update_is_recorded_once(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let wang = person(&store, "13800000003").await;
    let mut u = update(&wang, now(), "一次", 1);
    u.update_id = Some(555);
    assert!(matches!(
        post(&store, u.clone()).await,
        UpdateRecorded::New { .. }
    ));
    assert_eq!(post(&store, u).await, UpdateRecorded::Duplicate);
    assert_eq!(store.feed(None, 0, 10).await.unwrap().len(), 1);
}

async fn a_reporter_of_several_units_owes_for_each_and_a_second_import_changes_nothing(
    store: Store,
) {
    let several = ROSTER.replace(
        "周九,13800000007,reporter,贵阳市/花溪区,",
        "周九,13800000007,reporter,贵阳市/花溪区;贵阳市/清镇市;贵阳市/白云区,",
    );
    let first = store
        .import_roster(&entries(&several), now())
        .await
        .unwrap();
    assert_eq!(first.added, 5);
    let again = store
        .import_roster(&entries(&several), now())
        .await
        .unwrap();
    assert_eq!((again.unchanged, again.updated), (5, 0), "{again:?}");
    let zhou = person(&store, "13800000007").await;
    let paths: Vec<String> = store
        .reporter_units(zhou.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.path)
        .collect();
    assert_eq!(paths, ["贵阳市/清镇市", "贵阳市/白云区", "贵阳市/花溪区"]);
    let duty: Vec<String> = store
        .weekly_duty(day(11, 30))
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.unit_path)
        .collect();
    assert_eq!(
        duty,
        [
            "贵阳市/乌当区",
            "贵阳市/清镇市",
            "贵阳市/白云区",
            "贵阳市/花溪区"
        ]
    );
    // Back to one unit: the others are his no more.
    let summary = store.import_roster(&entries(ROSTER), now()).await.unwrap();
    assert_eq!(summary.updated, 1);
    assert_eq!(store.reporter_units(zhou.id).await.unwrap().len(), 1);
    assert_eq!(store.weekly_duty(day(11, 30)).await.unwrap().len(), 3);
}
