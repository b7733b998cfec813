//! Work logs and the outbox, on both engines.

mod common;

use chrono::{Duration, NaiveDate};
use common::{now, with_roster};
use domain::attendance::Month;
use domain::notify::Notification;
use domain::worklog::{Attachment, AttachmentKind, LogInput};
use storage::{Delivery, NewLog, Recorded, Store};

on_both_engines!(
    text_log_gets_numbered_receipt_with_month_days,
    several_logs_one_day_count_once_and_backdated_log_counts_on_its_day,
    album_parts_out_of_order_make_one_log_and_one_queued_receipt,
    redelivered_album_part_is_not_counted_twice,
    edit_keeps_the_earlier_text,
    edit_of_someone_elses_message_changes_nothing,
    outbox_lease_is_exclusive_and_outcomes_stick,
    late_album_part_after_receipt_requeues_as_edit,
    archive_queue_retries_later,
    concurrent_logs_are_grouped_and_each_numbered_once,
    one_failing_log_does_not_sink_the_others_of_its_batch,
    redelivered_log_update_is_recorded_once,
    one_sender_holds_the_lease_until_it_ends_or_gives_it_up,
    claims_say_whether_an_update_was_answered,
);

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn text(t: &str) -> LogInput {
    LogInput {
        text: Some(t.into()),
        ..Default::default()
    }
}

fn photo_part(group: &str, file: &str, caption: Option<&str>) -> LogInput {
    LogInput {
        text: caption.map(String::from),
        attachments: vec![Attachment {
            kind: AttachmentKind::Photo,
            file_id: format!("id-{file}"),
            file_unique_id: format!("uniq-{file}"),
            size: Some(1000),
            mime: None,
            file_name: None,
        }],
        location: None,
        media_group_id: Some(group.into()),
    }
}

fn new_log(person_id: i64, day: NaiveDate, input: &LogInput, message_id: i64) -> NewLog<'_> {
    NewLog {
        person_id,
        day,
        at: now(),
        input,
        chat_id: 7001,
        message_id,
        backdated: false,
        update_id: None,
    }
}

async fn record(store: &Store, log: NewLog<'_>) -> Recorded {
    store
        .record_log(log, now() + Duration::seconds(2))
        .await
        .unwrap()
}

async fn text_log_gets_numbered_receipt_with_month_days(store: Store) {
    let p = with_roster(&store).await;
    let Recorded::Log(first) = record(&store, new_log(p, day(24), &text("走访"), 1)).await else {
        panic!("a text message is a log of its own");
    };
    assert_eq!(first.seq, 1);
    assert_eq!(first.day, day(24));
    assert_eq!(first.month_log_dates, vec![day(24)]);
    let Recorded::Log(second) = record(&store, new_log(p, day(25), &text("开会"), 2)).await
    else {
        panic!()
    };
    assert_eq!(second.seq, 2);
    assert_eq!(second.month_log_dates, vec![day(24), day(25)]);
}

async fn several_logs_one_day_count_once_and_backdated_log_counts_on_its_day(store: Store) {
    let p = with_roster(&store).await;
    for m in 1..=3 {
        record(&store, new_log(p, day(25), &text("今天"), m)).await;
    }
    let late = text("补记");
    let mut back = new_log(p, day(22), &late, 4);
    back.backdated = true;
    record(&store, back).await;
    // October is another month.
    record(
        &store,
        new_log(
            p,
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            &text("上月"),
            5,
        ),
    )
    .await;
    let dates = store
        .log_dates(p, Month::parse("2026-11").unwrap())
        .await
        .unwrap();
    assert_eq!(dates, vec![day(22), day(25)]);
    assert_eq!(store.log_counts(p).await.unwrap(), (5, 0));
    // The month's presence (its days as bits kept by triggers) says the same, to the 31st.
    let calendar = domain::config::Config::default().calendar();
    let since = now() - Duration::days(60);
    for (month, want) in [
        ("2026-11", vec![day(22), day(25)]),
        (
            "2026-10",
            vec![NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()],
        ),
        ("2026-09", vec![]),
    ] {
        let month = Month::parse(month).unwrap();
        let presence = store.month_presence(month, since, &calendar).await.unwrap();
        let mine = presence
            .iter()
            .find(|c| c.cadre.id == p)
            .expect("on the roster");
        let logged: Vec<NaiveDate> = month.days().filter(|&d| mine.record.logged_on(d)).collect();
        assert_eq!(logged, want, "{month}");
    }
}

async fn album_parts_out_of_order_make_one_log_and_one_queued_receipt(store: Store) {
    let p = with_roster(&store).await;
    // The captioned part arrives last.
    let parts = [
        photo_part("g1", "b", None),
        photo_part("g1", "c", None),
        photo_part("g1", "a", Some("村道修缮现场")),
    ];
    let mut log_ids = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        match record(&store, new_log(p, day(25), part, 10 + i as i64)).await {
            Recorded::AlbumPart { log_id, new_log } => {
                assert_eq!(new_log, i == 0);
                log_ids.push(log_id);
            }
            other => panic!("album part recorded as {other:?}"),
        }
    }
    assert!(
        log_ids.windows(2).all(|w| w[0] == w[1]),
        "one log: {log_ids:?}"
    );
    let receipt = store.log_receipt(log_ids[0]).await.unwrap().unwrap();
    assert_eq!(receipt.attachments, 3);
    assert_eq!(receipt.seq, 1);
    assert_eq!(
        store.log_text(log_ids[0]).await.unwrap().as_deref(),
        Some("村道修缮现场")
    );
    // Exactly one receipt waits in the outbox, not before the quiet time.
    assert!(
        store
            .claim_outbox(now(), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store
        .claim_outbox(now() + Duration::seconds(3), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].notification,
        Some(Notification::LogReceipt { log_id: log_ids[0] })
    );
    assert_eq!(due[0].chat_id, 7001);
}

async fn redelivered_album_part_is_not_counted_twice(store: Store) {
    let p = with_roster(&store).await;
    let part = photo_part("g2", "x", None);
    record(&store, new_log(p, day(25), &part, 20)).await;
    let Recorded::AlbumPart {
        log_id,
        new_log: again,
    } = record(&store, new_log(p, day(25), &part, 20)).await
    else {
        panic!()
    };
    assert!(!again);
    assert_eq!(
        store
            .log_receipt(log_id)
            .await
            .unwrap()
            .unwrap()
            .attachments,
        1
    );
    assert_eq!(store.log_counts(p).await.unwrap(), (1, 1));
}

async fn edit_keeps_the_earlier_text(store: Store) {
    let p = with_roster(&store).await;
    let Recorded::Log(r) = record(&store, new_log(p, day(25), &text("走访三户"), 30)).await
    else {
        panic!()
    };
    let edited = store
        .edit_log(p, 7001, 30, Some("走访五户"), now())
        .await
        .unwrap()
        .expect("a log message");
    assert_eq!(edited.seq, r.seq);
    assert_eq!(
        store.log_text(r.log_id).await.unwrap().as_deref(),
        Some("走访五户")
    );
    assert_eq!(
        store.log_history(r.log_id).await.unwrap(),
        vec![Some("走访三户".to_string())]
    );
    // An edit of a message that is no log is not one.
    assert!(
        store
            .edit_log(p, 7001, 999, Some("x"), now())
            .await
            .unwrap()
            .is_none()
    );
}

async fn edit_of_someone_elses_message_changes_nothing(store: Store) {
    let p = with_roster(&store).await;
    let other = store
        .person_by_phone("13800000002")
        .await
        .unwrap()
        .unwrap()
        .id;
    let Recorded::Log(r) = record(&store, new_log(p, day(25), &text("原文"), 40)).await else {
        panic!()
    };
    assert!(
        store
            .edit_log(other, 7001, 40, Some("篡改"), now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.log_text(r.log_id).await.unwrap().as_deref(),
        Some("原文")
    );
}

async fn outbox_lease_is_exclusive_and_outcomes_stick(store: Store) {
    let p = with_roster(&store).await;
    for (i, g) in ["o1", "o2", "o3"].iter().enumerate() {
        record(
            &store,
            new_log(
                p,
                day(25),
                &photo_part(g, &format!("f{i}"), None),
                50 + i as i64,
            ),
        )
        .await;
    }
    let later = now() + Duration::seconds(5);
    let a = store
        .claim_outbox(later, Duration::seconds(30), 2)
        .await
        .unwrap();
    let b = store
        .claim_outbox(later, Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(
        (a.len(), b.len()),
        (2, 1),
        "leased rows are not handed out twice"
    );
    assert!(
        store
            .claim_outbox(later, Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty()
    );

    store
        .finish_delivery(
            &a[0],
            &Delivery::Sent {
                message_id: Some(900),
            },
            later,
        )
        .await
        .unwrap();
    store
        .finish_delivery(
            &a[1],
            &Delivery::Retry {
                at: later + Duration::seconds(10),
                error: "429".into(),
            },
            later,
        )
        .await
        .unwrap();
    store
        .finish_delivery(
            &b[0],
            &Delivery::Blocked {
                error: "403".into(),
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), (1, 1, 1));
    assert!(store.person(p).await.unwrap().unwrap().unreachable);
    // The retry comes back when due, and only then.
    assert!(
        store
            .claim_outbox(later + Duration::seconds(5), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = store
        .claim_outbox(later + Duration::seconds(11), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].id, a[1].id);
    assert_eq!(retry[0].attempts, 2);
    // An expired lease (a crashed sender) is handed out again.
    let again = store
        .claim_outbox(later + Duration::seconds(60), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
}

async fn late_album_part_after_receipt_requeues_as_edit(store: Store) {
    let p = with_roster(&store).await;
    record(
        &store,
        new_log(p, day(25), &photo_part("late", "1", None), 60),
    )
    .await;
    let t = now() + Duration::seconds(5);
    let item = store
        .claim_outbox(t, Duration::seconds(30), 10)
        .await
        .unwrap()
        .remove(0);
    store
        .finish_delivery(
            &item,
            &Delivery::Sent {
                message_id: Some(4242),
            },
            t,
        )
        .await
        .unwrap();
    // A straggler arrives after the receipt went out.
    store
        .record_log(
            new_log(p, day(25), &photo_part("late", "2", None), 61),
            t + Duration::seconds(2),
        )
        .await
        .unwrap();
    let again = store
        .claim_outbox(t + Duration::seconds(3), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].sent_message_id,
        Some(4242),
        "the receipt is edited, not sent twice"
    );
}

async fn archive_queue_retries_later(store: Store) {
    let p = with_roster(&store).await;
    let Recorded::AlbumPart { log_id, .. } = record(
        &store,
        new_log(p, day(25), &photo_part("ar", "z", None), 70),
    )
    .await
    else {
        panic!()
    };
    let pending = store.attachments_to_archive(now(), 5, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].file_id, "id-z");
    store
        .archive_failed(pending[0].id, "timeout", now() + Duration::seconds(30))
        .await
        .unwrap();
    assert!(
        store
            .attachments_to_archive(now(), 5, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = store
        .attachments_to_archive(now() + Duration::seconds(31), 5, 10)
        .await
        .unwrap();
    assert_eq!(retry[0].attempts, 1);
    store
        .mark_archived(retry[0].id, "/archive/z.jpg")
        .await
        .unwrap();
    assert_eq!(
        store.archived_paths(log_id).await.unwrap(),
        vec![Some("/archive/z.jpg".to_string())]
    );
    assert!(
        store
            .attachments_to_archive(now() + Duration::days(1), 5, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Many single logs at once go through group commit: several people, several logs each in
/// one batch, files, and a backdated log in the month before.
async fn concurrent_logs_are_grouped_and_each_numbered_once(store: Store) {
    let zhang = with_roster(&store).await;
    let mut people = vec![zhang];
    for phone in ["13800000002", "13800000003"] {
        people.push(store.person_by_phone(phone).await.unwrap().unwrap().id);
    }
    let october = NaiveDate::from_ymd_opt(2026, 10, 30).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60i64 {
        let store = store.clone();
        let person = people[(i % 3) as usize];
        let when = match i % 10 {
            0 => october,
            1 | 2 => day(24),
            _ => day(25),
        };
        let mut input = text(&format!("第{i}条"));
        if i % 4 == 0 {
            input.attachments = photo_part("unused", &format!("f{i}"), None).attachments;
        }
        tasks.spawn(async move {
            let mut log = new_log(person, when, &input, 100 + i);
            log.chat_id = person;
            log.backdated = when != day(25);
            let recorded = store.record_log(log, now()).await.unwrap();
            (person, when, input.attachments.len() as i64, recorded)
        });
    }
    let mut seqs: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    while let Some(done) = tasks.join_next().await {
        let (person, when, files, recorded) = done.unwrap();
        let Recorded::Log(receipt) = recorded else {
            panic!("a single message is a log of its own")
        };
        assert_eq!((receipt.person_id, receipt.day), (person, when));
        assert_eq!(receipt.attachments, files);
        // The receipt's month holds its own day and nothing of another month.
        assert!(receipt.month_log_dates.contains(&when), "{receipt:?}");
        assert!(
            receipt
                .month_log_dates
                .iter()
                .all(|d| Month::of(*d) == Month::of(when)),
            "{receipt:?}"
        );
        seqs.entry(person).or_default().push(receipt.seq);
    }
    for person in &people {
        let mut numbers = seqs.remove(person).unwrap();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=20).collect::<Vec<_>>(), "person {person}");
        let logs = store.person_logs(*person).await.unwrap();
        assert_eq!(logs.len(), 20);
        let mut stored: Vec<i64> = logs.iter().map(|l| l.seq).collect();
        stored.sort_unstable();
        assert_eq!(stored, (1..=20).collect::<Vec<_>>());
        for log in &logs {
            let i: i64 = log.text.as_deref().unwrap()[3..]
                .trim_end_matches('条')
                .parse()
                .unwrap();
            assert_eq!(log.files.len(), usize::from(i % 4 == 0), "{log:?}");
            if i % 10 == 0 {
                assert!(log.backdated && log.day == october);
            }
        }
        let november = store
            .log_dates(*person, Month::parse("2026-11").unwrap())
            .await
            .unwrap();
        assert_eq!(november, vec![day(24), day(25)]);
    }
    // All 60 went through the group commit. How many batches they made depends on timing;
    // that requests waiting behind a slow batch join the next one is tested in `group`'s own
    // unit tests.
    let (_, logs) = store.group_stats();
    assert_eq!(logs.requests, 60);
    assert!((1..=60).contains(&logs.batches), "{} batches", logs.batches);
}

/// A log that cannot be written (its person is gone) fails alone; the logs grouped with it
/// are recorded and numbered as if it had never come.
async fn one_failing_log_does_not_sink_the_others_of_its_batch(store: Store) {
    let zhang = with_roster(&store).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..21i64 {
        let store = store.clone();
        let person = if i == 10 { 999_999 } else { zhang };
        tasks.spawn(async move {
            let input = text("走访");
            let mut log = new_log(person, day(25), &input, i);
            log.update_id = Some(8000 + i);
            let result = store.record_log(log, now()).await;
            (person, result)
        });
    }
    let mut numbers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (999_999, result) => assert!(result.is_err(), "{result:?}"),
            (_, Ok(Recorded::Log(receipt))) => numbers.push(receipt.seq),
            (_, other) => panic!("{other:?}"),
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
    assert_eq!(store.person_logs(zhang).await.unwrap().len(), 20);
    // The failed log's update is not claimed: a redelivery may try it again.
    assert!(store.claim_update(8010, now()).await.unwrap());
    assert!(!store.claim_update(8011, now()).await.unwrap());
}

/// The update a log came in is claimed with the log: redelivered (also several copies at
/// once, grouped together, and for an album part) it changes nothing and gets no answer.
async fn redelivered_log_update_is_recorded_once(store: Store) {
    let p = with_roster(&store).await;
    let mut tasks = tokio::task::JoinSet::new();
    for copy in 0..3 {
        for update in 0..10i64 {
            let store = store.clone();
            tasks.spawn(async move {
                let input = text(&format!("第{update}条"));
                let mut log = new_log(p, day(25), &input, update);
                log.update_id = Some(5000 + update);
                (copy, store.record_log(log, now()).await.unwrap())
            });
        }
    }
    let (mut logs, mut duplicates) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.unwrap().1 {
            Recorded::Log(_) => logs += 1,
            Recorded::Duplicate => duplicates += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((logs, duplicates), (10, 20));
    assert_eq!(store.person_logs(p).await.unwrap().len(), 10);
    // An update claimed by a log is claimed for everyone else too.
    assert!(!store.claim_update(5003, now()).await.unwrap());

    let part = photo_part("g1", "a", Some("合影"));
    let mut first = new_log(p, day(25), &part, 100);
    first.update_id = Some(6000);
    assert!(matches!(
        record(&store, first.clone()).await,
        Recorded::AlbumPart { .. }
    ));
    assert_eq!(record(&store, first).await, Recorded::Duplicate);
    assert_eq!(store.person_logs(p).await.unwrap().len(), 11);
}

async fn one_sender_holds_the_lease_until_it_ends_or_gives_it_up(store: Store) {
    let t = now();
    let lease = Duration::seconds(6);
    assert!(
        store
            .lead_sender("a", t, t + lease)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.lead_sender("b", t, t + lease).await.unwrap(),
        None,
        "a holds it"
    );
    let later = t + Duration::seconds(2);
    assert!(
        store
            .lead_sender("a", later, later + lease)
            .await
            .unwrap()
            .is_some(),
        "renewed"
    );
    let expired = later + Duration::seconds(7);
    assert!(
        store
            .lead_sender("b", expired, expired + lease)
            .await
            .unwrap()
            .is_some(),
        "a died"
    );
    assert_eq!(
        store
            .lead_sender("a", expired, expired + lease)
            .await
            .unwrap(),
        None
    );
    // Telegram's retry_after is kept for whoever sends next.
    store
        .cool_down_sending(expired + Duration::seconds(30))
        .await
        .unwrap();
    store.release_sender("b").await.unwrap();
    let cooldown = store
        .lead_sender("a", expired, expired + lease)
        .await
        .unwrap();
    assert_eq!(
        cooldown,
        Some(expired + Duration::seconds(30)),
        "released: taken at once"
    );
}

async fn claims_say_whether_an_update_was_answered(store: Store) {
    assert!(store.claim_update(1, now()).await.unwrap());
    assert!(store.claim_update(2, now()).await.unwrap());
    store.mark_answered(&[2]).await.unwrap();
    let claims = store.update_claims(&[1, 2, 3]).await.unwrap();
    assert_eq!(claims.get(&1).map(|c| c.answered), Some(false));
    assert_eq!(claims.get(&2).map(|c| c.answered), Some(true));
    assert_eq!(claims[&1].at.timestamp_millis(), now().timestamp_millis());
    assert_eq!(claims.get(&3), None, "never claimed");
}
