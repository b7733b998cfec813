//! Sharing on both engines: who may share, receipts, comments, reactions counted once per
//! person, the digest's news, and refusing channels told once.

mod common;

use chrono::Duration;
use common::{drain_until, now, with_roster};
use domain::notify::{Channel, Notification};
use domain::sharing::ShareRefusal;
use domain::worklog::LogInput;
use storage::{Failure, NewComment, NewLog, ReceiptSent, Recorded, ShareCounts, Store};

on_both_engines!(
    only_the_author_shares_his_log_and_only_once,
    reactions_count_once_per_person_and_stop_when_removed,
    the_digest_tells_what_others_did_since_the_last_one,
    a_refusing_channel_is_told_to_admins_once_until_it_is_back,
    receipts_and_answered_marks_written_together_all_stand,
    a_receipt_remembered_just_before_closing_stands,
);

const GROUP: i64 = -100_555;

async fn log(store: &Store, person: i64, text: &str, msg: i64) -> i64 {
    let input = LogInput {
        text: Some(text.into()),
        ..Default::default()
    };
    let new = NewLog {
        person_id: person,
        day: now().date_naive(),
        at: now(),
        input: &input,
        chat_id: 7001,
        message_id: msg,
        backdated: false,
        update_id: None,
    };
    match store.record_log(new, now()).await.unwrap() {
        Recorded::Log(r) => r.log_id,
        other => panic!("{other:?}"),
    }
}

async fn registered(store: &Store, phone: &str, tg: i64) -> i64 {
    store.register_by_phone(phone, tg, tg, now()).await.unwrap();
    store.person_by_phone(phone).await.unwrap().unwrap().id
}

async fn shared(store: &Store, person: i64) -> i64 {
    let id = log(store, person, "记实", 1).await;
    store.share_log(person, id, GROUP, now()).await.unwrap();
    store
        .record_shared_messages(id, GROUP, &[500, 501])
        .await
        .unwrap();
    id
}

async fn only_the_author_shares_his_log_and_only_once(store: Store) {
    let zhang = with_roster(&store).await;
    let li = store
        .person_by_phone("13800000002")
        .await
        .unwrap()
        .unwrap()
        .id;
    let id = log(&store, zhang, "走访", 1).await;
    store
        .record_receipt(ReceiptSent {
            chat_id: 7001,
            message_id: 90,
            log_id: id,
        })
        .await
        .unwrap();
    assert_eq!(store.receipt_log(7001, 90).await.unwrap(), Some(id));
    assert_eq!(store.receipt_log(7001, 91).await.unwrap(), None);
    let refused = |r: Result<(), storage::ShareFailure>| match r {
        Err(Failure::Refused(r)) => Some(r),
        _ => None,
    };
    assert_eq!(
        refused(store.share_log(li, id, GROUP, now()).await),
        Some(ShareRefusal::NotYours)
    );
    assert_eq!(
        refused(store.share_log(zhang, 9999, GROUP, now()).await),
        Some(ShareRefusal::NotFound)
    );
    store.share_log(zhang, id, GROUP, now()).await.unwrap();
    assert_eq!(
        refused(store.share_log(zhang, id, GROUP, now()).await),
        Some(ShareRefusal::AlreadyShared)
    );
    // One post queued, to the group.
    let sent = drain_until(&store, now()).await;
    assert_eq!(sent, vec![(GROUP, Notification::SharedPost { log_id: id })]);
    let post = store.shared_post(id).await.unwrap().unwrap();
    assert_eq!(
        (post.author.as_str(), post.village.as_str()),
        ("张三", "谷溪村")
    );
}

async fn reactions_count_once_per_person_and_stop_when_removed(store: Store) {
    let zhang = with_roster(&store).await;
    let id = shared(&store, zhang).await;
    for (actor, msg, on) in [
        (1, 500, true),
        (1, 501, true),
        (2, 500, true),
        (1, 500, true),
    ] {
        let log = store
            .set_reaction(GROUP, msg, actor, on, now())
            .await
            .unwrap();
        assert_eq!(log, Some(id));
    }
    let counts = store.share_counts(id).await.unwrap();
    assert_eq!(
        counts.reactions, 2,
        "one per person, however many emojis or photos"
    );
    store
        .set_reaction(GROUP, 500, 2, false, now())
        .await
        .unwrap();
    assert_eq!(store.share_counts(id).await.unwrap().reactions, 1);
    // Elsewhere: nothing.
    assert_eq!(
        store
            .set_reaction(GROUP, 999, 3, true, now())
            .await
            .unwrap(),
        None
    );
    let comment = |msg: i64, replied: i64| NewComment {
        chat_id: GROUP,
        message_id: msg,
        replied_to: replied,
        actor_id: 3,
        author: "李一",
        text: Some("好"),
        at: now(),
    };
    assert_eq!(
        store.record_comment(comment(600, 501)).await.unwrap(),
        Some(id)
    );
    // A redelivered comment counts once; a reply to chatter is none.
    assert_eq!(
        store.record_comment(comment(600, 501)).await.unwrap(),
        Some(id)
    );
    assert_eq!(store.record_comment(comment(601, 42)).await.unwrap(), None);
    assert_eq!(
        store.share_counts(id).await.unwrap(),
        ShareCounts {
            comments: 1,
            reactions: 1
        }
    );
    let by = store.shares_by_cadre().await.unwrap();
    assert_eq!((by[0].person_id, by[0].shared), (zhang, 1));
}

async fn the_digest_tells_what_others_did_since_the_last_one(store: Store) {
    let zhang = with_roster(&store).await;
    registered(&store, "13800000001", 7001).await;
    let id = shared(&store, zhang).await;
    let _ = drain_until(&store, now()).await;
    assert_eq!(store.queue_share_digests("r0", now()).await.unwrap(), 0);
    let at = now() + Duration::minutes(5);
    // His own reaction is no news to him (tg id 7001).
    store
        .set_reaction(GROUP, 500, 7001, true, at)
        .await
        .unwrap();
    assert_eq!(store.queue_share_digests("r1", at).await.unwrap(), 0);
    store.set_reaction(GROUP, 500, 8, true, at).await.unwrap();
    let later = at + Duration::hours(1);
    assert_eq!(store.queue_share_digests("r2", later).await.unwrap(), 1);
    let sent = drain_until(&store, later).await;
    let [(chat, Notification::ShareDigest { since_ms, until_ms })] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert_eq!(*chat, 7001);
    let news = store
        .digest_news(zhang, *since_ms, *until_ms, 3)
        .await
        .unwrap();
    assert_eq!((news.comments, news.reactions), (0, 1));
    assert_eq!(store.queue_share_digests("r3", later).await.unwrap(), 0);
    assert_eq!(store.share_counts(id).await.unwrap().reactions, 2);
}

async fn a_refusing_channel_is_told_to_admins_once_until_it_is_back(store: Store) {
    with_roster(&store).await;
    registered(&store, "13800000004", 7004).await;
    assert!(
        store
            .channel_refused(-100, Channel::Bulletin, "chat not found", now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .channel_refused(-100, Channel::Bulletin, "chat not found", now())
            .await
            .unwrap()
    );
    assert!(store.channel_is_refused(-100).await.unwrap());
    let sent = drain_until(&store, now()).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, 7004);
    store.channel_back(-100).await.unwrap();
    assert!(!store.channel_is_refused(-100).await.unwrap());
    let again = now() + Duration::minutes(1);
    assert!(
        store
            .channel_refused(-100, Channel::Bulletin, "kicked", again)
            .await
            .unwrap()
    );
    assert_eq!(drain_until(&store, again).await.len(), 1);
}

/// Receipts and answered marks arriving at the same moment share one write (one statement
/// on PostgreSQL, one transaction on SQLite): every one of them stands, and a receipt of a
/// log that does not exist is left out without costing the others.
async fn receipts_and_answered_marks_written_together_all_stand(store: Store) {
    let zhang = with_roster(&store).await;
    let mut logs = Vec::new();
    for i in 0..20 {
        logs.push(log(&store, zhang, "走访", 100 + i).await);
        assert!(store.claim_update(9000 + i, now()).await.unwrap());
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, &log_id) in logs.iter().enumerate() {
        let (a, b) = (store.clone(), store.clone());
        let i = i as i64;
        tasks.spawn(async move {
            a.record_receipt(ReceiptSent {
                chat_id: 7001,
                message_id: 300 + i,
                log_id,
            })
            .await
        });
        tasks.spawn(async move { b.mark_answered_one(9000 + i).await });
    }
    let bad = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_receipt(ReceiptSent {
                    chat_id: 7001,
                    message_id: 999,
                    log_id: 999_999,
                })
                .await
        })
    };
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    bad.await.unwrap().unwrap();
    assert_eq!(store.receipt_log(7001, 999).await.unwrap(), None);
    for (i, &log_id) in logs.iter().enumerate() {
        assert_eq!(
            store.receipt_log(7001, 300 + i as i64).await.unwrap(),
            Some(log_id)
        );
    }
    let ids: Vec<i64> = (9000..9020).collect();
    let claims = store.update_claims(&ids).await.unwrap();
    assert_eq!(claims.len(), 20);
    assert!(claims.values().all(|c| c.answered), "{claims:?}");
}

/// Receipts linger a moment before they are written (nobody waits on them); closing the
/// store (a service stopping on SIGTERM) writes them first instead of failing them.
async fn a_receipt_remembered_just_before_closing_stands(store: Store) {
    let zhang = with_roster(&store).await;
    let log_id = log(&store, zhang, "走访", 1).await;
    let s = store.clone();
    let remembered = tokio::spawn(async move {
        s.record_receipt(ReceiptSent {
            chat_id: 7001,
            message_id: 95,
            log_id,
        })
        .await
    });
    // Queued and lingering (25 ms), not written yet.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.close().await;
    remembered
        .await
        .expect("task")
        .expect("the receipt is written before the pools close");
}
