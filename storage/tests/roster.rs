//! Roster import, invites, registration and update claims, on both engines.

mod common;

use common::{ROSTER, entries, now};

use chrono::Duration;
use storage::{RegisterError, RegisterOutcome, Store};

on_both_engines!(
    import_creates_people_and_units_with_levels,
    second_import_of_same_file_changes_nothing,
    later_import_updates_by_phone_and_deactivates_missing,
    invite_code_binds_once,
    contact_registration_refuses_what_it_must,
    redelivered_update_is_claimed_once,
    senders_looked_up_together_each_get_their_own,
    dialogue_state_survives_and_clears,
);

async fn import_creates_people_and_units_with_levels(store: Store) {
    let summary = store.import_roster(&entries(ROSTER), now()).await.unwrap();
    assert_eq!(summary.added, 5);
    assert_eq!(summary.units_created, 4);
    let people = store.people().await.unwrap();
    assert_eq!(people.len(), 5);
    let zhang = store.person_by_phone("13800000001").await.unwrap().unwrap();
    assert_eq!(zhang.unit.to_string(), "贵阳市/乌当区/新堡乡/谷溪村");
    assert_eq!(zhang.unit.level(), domain::Level::Village);
    let wang = store.person_by_phone("13800000003").await.unwrap().unwrap();
    assert!(wang.roles.contains(domain::Role::Reporter));
    assert!(wang.roles.contains(domain::Role::Approver));
    let qian = store.person_by_phone("13800000005").await.unwrap().unwrap();
    assert_eq!(qian.topics, vec!["产业发展", "农业技术"]);
    assert!(people.iter().all(|p| p.active && p.tg_user_id.is_none()));
}

async fn second_import_of_same_file_changes_nothing(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let before = store.people().await.unwrap();
    let summary = store
        .import_roster(&entries(ROSTER), now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(summary.added + summary.updated + summary.units_created, 0);
    assert!(summary.deactivated.is_empty());
    assert_eq!(summary.unchanged, 5);
    assert_eq!(store.people().await.unwrap(), before);
}

async fn later_import_updates_by_phone_and_deactivates_missing(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let zhang_id = store
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap()
        .id;
    // 张三 moves village (phone written differently), 李四 is gone, 孙八 is new.
    let later = "name,phone,roles,unit,topics
张三,+86 138-0000-0001,cadre,贵阳市/乌当区/新堡乡/马头村,
王五,13800000003,approver;reporter,贵阳市/乌当区,
赵六,13800000004,approver;admin,贵阳市,
钱七,13800000005,tutor,贵阳市/乌当区,农业技术
孙八,13800000006,cadre,贵阳市/乌当区/新堡乡/谷溪村,
";
    let summary = store.import_roster(&entries(later), now()).await.unwrap();
    assert_eq!(summary.added, 1);
    assert_eq!(summary.updated, 2);
    assert_eq!(summary.unchanged, 2);
    assert_eq!(summary.deactivated, vec!["李四".to_string()]);
    let zhang = store.person_by_phone("13800000001").await.unwrap().unwrap();
    assert_eq!(zhang.id, zhang_id, "same person, updated in place");
    assert_eq!(zhang.unit.name(), "马头村");
    let li = store.person_by_phone("13800000002").await.unwrap().unwrap();
    assert!(!li.active, "missing people are deactivated, not deleted");
    // Back on the roster: active again.
    let summary = store.import_roster(&entries(ROSTER), now()).await.unwrap();
    assert!(summary.updated >= 1);
    assert!(
        store
            .person_by_phone("13800000002")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert_eq!(summary.deactivated, vec!["孙八".to_string()]);
}

async fn invite_code_binds_once(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let (code, person) = store
        .create_invite("13800000001", now(), Duration::days(14))
        .await
        .unwrap();
    assert_eq!(person.name, "张三");
    assert!(code.len() >= 16 && code.chars().all(|c| c.is_ascii_alphanumeric()));

    let outcome = store
        .register_by_invite(&code, 501, 501, now())
        .await
        .unwrap();
    assert!(matches!(outcome, RegisterOutcome::Registered(ref p) if p.tg_user_id == Some(501)));
    let again = store.register_by_invite(&code, 502, 502, now()).await;
    assert!(matches!(
        again,
        Err(storage::BindFailure::Refused(RegisterError::InviteUsed))
    ));
    let unknown = store.register_by_invite("nope", 503, 503, now()).await;
    assert!(matches!(
        unknown,
        Err(storage::BindFailure::Refused(RegisterError::InviteUnknown))
    ));

    let (late, _) = store
        .create_invite("13800000002", now(), Duration::days(1))
        .await
        .unwrap();
    let expired = store
        .register_by_invite(&late, 504, 504, now() + Duration::days(2))
        .await;
    assert!(matches!(
        expired,
        Err(storage::BindFailure::Refused(RegisterError::InviteExpired))
    ));

    assert!(matches!(
        store
            .create_invite("13900000000", now(), Duration::days(1))
            .await,
        Err(storage::InviteError::NotOnRoster(_))
    ));
}

async fn contact_registration_refuses_what_it_must(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let refused = |r: Result<RegisterOutcome, storage::BindFailure>| match r {
        Err(storage::BindFailure::Refused(e)) => Some(e),
        _ => None,
    };
    assert_eq!(
        refused(
            store
                .register_by_phone("13900000000", 601, 601, now())
                .await
        ),
        Some(RegisterError::NotOnRoster)
    );
    let ok = store
        .register_by_phone("13800000001", 601, 601, now())
        .await
        .unwrap();
    assert!(matches!(ok, RegisterOutcome::Registered(_)));
    let again = store
        .register_by_phone("13800000001", 601, 601, now())
        .await
        .unwrap();
    assert!(matches!(again, RegisterOutcome::AlreadyRegistered(_)));
    assert_eq!(
        refused(
            store
                .register_by_phone("13800000001", 602, 602, now())
                .await
        ),
        Some(RegisterError::PersonTaken)
    );
    assert_eq!(
        refused(
            store
                .register_by_phone("13800000002", 601, 601, now())
                .await
        ),
        Some(RegisterError::AccountTaken)
    );
    // Deactivate 李四 by importing a roster without him.
    let without_li: String = ROSTER
        .lines()
        .filter(|l| !l.contains("李四"))
        .collect::<Vec<_>>()
        .join("\n");
    store
        .import_roster(&entries(&without_li), now())
        .await
        .unwrap();
    assert_eq!(
        refused(
            store
                .register_by_phone("13800000002", 603, 603, now())
                .await
        ),
        Some(RegisterError::Deactivated)
    );
    let found = store.person_by_tg(601).await.unwrap().unwrap();
    assert_eq!(found.name, "张三");
}

async fn redelivered_update_is_claimed_once(store: Store) {
    assert!(store.claim_update(42, now()).await.unwrap());
    assert!(!store.claim_update(42, now()).await.unwrap());
    store.release_update(42).await.unwrap();
    assert!(store.claim_update(42, now()).await.unwrap());
    assert_eq!(
        store
            .prune_updates(now() + Duration::days(8))
            .await
            .unwrap(),
        1
    );
}

async fn dialogue_state_survives_and_clears(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let p = store
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(store.dialogue(p).await.unwrap(), None);
    store
        .set_dialogue(p, r#"{"kind":"leave_start"}"#, now())
        .await
        .unwrap();
    store
        .set_dialogue(p, r#"{"kind":"leave_end"}"#, now())
        .await
        .unwrap();
    assert_eq!(
        store.dialogue(p).await.unwrap().as_deref(),
        Some(r#"{"kind":"leave_end"}"#)
    );
    store.clear_dialogue(p).await.unwrap();
    assert_eq!(store.dialogue(p).await.unwrap(), None);
}

/// Senders asked for together are looked up in one read, each getting his own answer.
async fn senders_looked_up_together_each_get_their_own(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    for (phone, tg) in [("13800000001", 601), ("13800000002", 602)] {
        store.register_by_phone(phone, tg, tg, now()).await.unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60i64 {
        let store = store.clone();
        let tg = [601, 602, 999][(i % 3) as usize];
        tasks.spawn(async move { (tg, store.sender(tg).await.unwrap()) });
    }
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (601, p) => assert_eq!(p.unwrap().name, "张三"),
            (602, p) => assert_eq!(p.unwrap().name, "李四"),
            (_, p) => assert!(p.is_none(), "{p:?}"),
        }
    }
    let (senders, _) = store.group_stats();
    assert_eq!(senders.requests, 60);
    assert!(senders.batches < 60, "{senders:?}");
}
