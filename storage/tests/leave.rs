//! Leave requests and their approval chain, on both engines.

mod common;

use chrono::{Duration, NaiveDate};
use common::{ROSTER, entries, now};
use domain::Level;
use domain::attendance::Month;
use domain::attendance::local_date;
use domain::config::Config;
use domain::leave::{LeavePolicy, LeaveRequestDraft, LeaveRuleError};
use domain::notify::Notification;
use storage::{Decided, LeaveFailure, LeaveRefusal, LeaveStatus, StepStatus, Store};

on_both_engines!(
    three_level_request_walks_township_county_city,
    reject_stops_the_chain_and_tells_the_cadre,
    first_decision_wins_even_when_pressed_together,
    forged_and_stale_decisions_change_nothing,
    overlapping_request_is_refused_and_cancel_frees_the_dates,
    level_without_approver_escalates_and_says_so,
    approved_leave_feeds_the_month,
    submission_checks_the_rules_in_its_transaction,
    a_step_whose_approver_left_passes_up_when_it_opens,
    can_decide_refuses_what_the_decision_would,
    step_statuses_are_typed,
);

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

/// Imports the roster and registers everyone (approvers need a chat to get cards).
async fn setup(store: &Store) -> (i64, i64, i64, i64) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let mut ids = Vec::new();
    for (i, phone) in ["13800000001", "13800000002", "13800000003", "13800000004"]
        .iter()
        .enumerate()
    {
        let tg = 9000 + i as i64;
        store.register_by_phone(phone, tg, tg, now()).await.unwrap();
        ids.push(store.person_by_phone(phone).await.unwrap().unwrap().id);
    }
    (ids[0], ids[1], ids[2], ids[3])
}

fn today() -> NaiveDate {
    local_date(now(), Config::default().tz())
}

async fn submit(
    store: &Store,
    cadre: i64,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<i64, LeaveFailure> {
    let draft = LeaveRequestDraft {
        start,
        end,
        reason: "家中有事".to_string(),
    };
    store
        .submit_leave(cadre, &draft, &LeavePolicy::default(), today(), now())
        .await
        .map(|r| r.id)
}

async fn drain(store: &Store) -> Vec<(i64, Notification)> {
    common::drain_until(store, now() + Duration::seconds(1)).await
}

async fn three_level_request_walks_township_county_city(store: Store) {
    let (cadre, township, county, city) = setup(&store).await;
    let id = submit(&store, cadre, d(12, 1), d(12, 10)).await.unwrap();
    let r = store.leave_request(id).await.unwrap().unwrap();
    let levels: Vec<Level> = r.steps.iter().map(|s| s.level).collect();
    assert_eq!(levels, [Level::Township, Level::County, Level::City]);
    assert_eq!(
        drain(&store).await,
        vec![(
            9001,
            Notification::LeaveCard {
                request_id: id,
                step: 0,
                approver_id: township
            }
        )]
    );

    assert_eq!(
        store
            .decide_leave(id, 0, township, true, None, now())
            .await
            .unwrap(),
        Decided::Forwarded
    );
    let queued = drain(&store).await;
    assert!(queued.contains(&(
        9002,
        Notification::LeaveCard {
            request_id: id,
            step: 1,
            approver_id: county
        }
    )));
    assert!(
        queued.contains(&(
            9001,
            Notification::LeaveCard {
                request_id: id,
                step: 0,
                approver_id: township
            }
        )),
        "decided card is refreshed"
    );
    assert!(queued.contains(&(9000, Notification::LeaveForwarded { request_id: id })));

    assert_eq!(
        store
            .decide_leave(id, 1, county, true, None, now())
            .await
            .unwrap(),
        Decided::Forwarded
    );
    drain(&store).await;
    assert_eq!(store.open_cards(city).await.unwrap().len(), 1);
    assert_eq!(
        store
            .decide_leave(id, 2, city, true, None, now())
            .await
            .unwrap(),
        Decided::Approved
    );
    assert!(
        drain(&store)
            .await
            .contains(&(9000, Notification::LeaveApproved { request_id: id }))
    );
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(r.status, LeaveStatus::Approved);
    assert_eq!(r.steps[2].decided_by.as_deref(), Some("赵六"));
    assert!(store.open_cards(city).await.unwrap().is_empty());
}

async fn reject_stops_the_chain_and_tells_the_cadre(store: Store) {
    let (cadre, township, county, _) = setup(&store).await;
    let id = submit(&store, cadre, d(12, 1), d(12, 4)).await.unwrap();
    store
        .decide_leave(id, 0, township, true, None, now())
        .await
        .unwrap();
    drain(&store).await;
    assert_eq!(
        store
            .decide_leave(id, 1, county, false, Some("年底工作任务重"), now())
            .await
            .unwrap(),
        Decided::Rejected
    );
    assert!(
        drain(&store)
            .await
            .contains(&(9000, Notification::LeaveRejected { request_id: id }))
    );
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(r.status, LeaveStatus::Rejected);
    assert_eq!(r.reject_reason.as_deref(), Some("年底工作任务重"));
    assert_eq!(r.steps.len(), 2);
}

async fn first_decision_wins_even_when_pressed_together(store: Store) {
    let (cadre, _, _, _) = setup(&store).await;
    // A second township approver: two cards for the same level.
    let roster = format!("{ROSTER}孙八,13800000006,approver,贵阳市/乌当区/新堡乡,\n");
    store.import_roster(&entries(&roster), now()).await.unwrap();
    store
        .register_by_phone("13800000006", 9005, 9005, now())
        .await
        .unwrap();
    let sun = store
        .person_by_phone("13800000006")
        .await
        .unwrap()
        .unwrap()
        .id;
    let li = store
        .person_by_phone("13800000002")
        .await
        .unwrap()
        .unwrap()
        .id;
    for round in 0..5 {
        let start = d(12, 1 + round * 3);
        let id = submit(&store, cadre, start, start).await.unwrap();
        let (a, b) = tokio::join!(
            store.decide_leave(id, 0, li, true, None, now()),
            store.decide_leave(id, 0, sun, false, Some("不符合规定"), now()),
        );
        let wins = [a.is_ok(), b.is_ok()].iter().filter(|w| **w).count();
        assert_eq!(wins, 1, "exactly one decision: {a:?} {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(
            matches!(
                loser,
                Err(LeaveFailure::Refused(LeaveRefusal::AlreadyDecided { .. }))
            ),
            "{loser:?}"
        );
        let r = store.leave_request(id).await.unwrap().unwrap();
        assert_ne!(r.status, LeaveStatus::Pending);
    }
}

async fn forged_and_stale_decisions_change_nothing(store: Store) {
    let (cadre, township, county, _) = setup(&store).await;
    let id = submit(&store, cadre, d(12, 1), d(12, 4)).await.unwrap();
    // The county approver has no card for level 0; the cadre has none at all.
    for (who, step) in [(county, 0), (cadre, 0), (township, 1)] {
        let r = store.decide_leave(id, step, who, true, None, now()).await;
        assert!(
            matches!(r, Err(LeaveFailure::Refused(LeaveRefusal::NotYours))),
            "{r:?}"
        );
    }
    assert!(matches!(
        store
            .decide_leave(9999, 0, township, true, None, now())
            .await,
        Err(LeaveFailure::Refused(LeaveRefusal::NotFound))
    ));
    store
        .decide_leave(id, 0, township, true, None, now())
        .await
        .unwrap();
    // Pressing again (a stale card) is refused and names the decider.
    let again = store
        .decide_leave(id, 0, township, false, Some("x"), now())
        .await;
    match again {
        Err(LeaveFailure::Refused(LeaveRefusal::AlreadyDecided { by, .. })) => {
            assert_eq!(by.as_deref(), Some("李四"))
        }
        other => panic!("{other:?}"),
    }
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!((r.status, r.step), (LeaveStatus::Pending, 1));
}

async fn overlapping_request_is_refused_and_cancel_frees_the_dates(store: Store) {
    let (cadre, township, _, _) = setup(&store).await;
    let id = submit(&store, cadre, d(12, 1), d(12, 2)).await.unwrap();
    let overlap = submit(&store, cadre, d(12, 2), d(12, 3)).await;
    assert!(matches!(
        overlap,
        Err(LeaveFailure::Refused(LeaveRefusal::Overlaps { start, end })) if start == d(12, 1) && end == d(12, 2)
    ));
    assert!(matches!(
        store.cancel_leave(id, township, now()).await,
        Err(LeaveFailure::Refused(LeaveRefusal::NotYours))
    ));
    drain(&store).await;
    store.cancel_leave(id, cadre, now()).await.unwrap();
    assert!(drain(&store).await.contains(&(
        9001,
        Notification::LeaveCard {
            request_id: id,
            step: 0,
            approver_id: township
        }
    )));
    assert_eq!(
        store.leave_request(id).await.unwrap().unwrap().status,
        LeaveStatus::Cancelled
    );
    assert!(matches!(
        store.cancel_leave(id, cadre, now()).await,
        Err(LeaveFailure::Refused(LeaveRefusal::NotPending))
    ));
    assert!(matches!(
        store.decide_leave(id, 0, township, true, None, now()).await,
        Err(LeaveFailure::Refused(LeaveRefusal::AlreadyDecided {
            status: LeaveStatus::Cancelled,
            ..
        }))
    ));
    submit(&store, cadre, d(12, 2), d(12, 3)).await.unwrap();
}

async fn level_without_approver_escalates_and_says_so(store: Store) {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    // Only the cadre and the county approver are registered: township has nobody to decide.
    store
        .register_by_phone("13800000001", 9000, 9000, now())
        .await
        .unwrap();
    store
        .register_by_phone("13800000003", 9002, 9002, now())
        .await
        .unwrap();
    let cadre = store
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap()
        .id;
    let id = submit(&store, cadre, d(12, 1), d(12, 1)).await.unwrap();
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(r.steps.len(), 1);
    assert_eq!(r.steps[0].level, Level::County);
    assert_eq!(r.steps[0].escalated_from, vec![Level::Township]);
    let queued = drain(&store).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, 9002);
}

async fn approved_leave_feeds_the_month(store: Store) {
    let (cadre, township, _, _) = setup(&store).await;
    let id = submit(&store, cadre, d(11, 29), d(11, 30)).await.unwrap();
    let pending = store
        .approved_leave(cadre, Month::parse("2026-11").unwrap())
        .await
        .unwrap();
    assert!(pending.is_empty(), "pending leave does not count");
    store
        .decide_leave(id, 0, township, true, None, now())
        .await
        .unwrap();
    let nov = store
        .approved_leave(cadre, Month::parse("2026-11").unwrap())
        .await
        .unwrap();
    assert_eq!(nov, vec![(d(11, 29), d(11, 30))]);
    assert!(
        store
            .approved_leave(cadre, Month::parse("2026-12").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn submission_checks_the_rules_in_its_transaction(store: Store) {
    let (cadre, ..) = setup(&store).await;
    let policy = LeavePolicy::default();
    let draft = |start, end, reason: &str| LeaveRequestDraft {
        start,
        end,
        reason: reason.to_string(),
    };
    let cases = [
        (
            draft(d(12, 1), d(12, 2), " "),
            LeaveRefusal::Rule(LeaveRuleError::MissingReason),
        ),
        (
            draft(d(12, 3), d(12, 2), "r"),
            LeaveRefusal::Rule(LeaveRuleError::EndBeforeStart),
        ),
        (
            draft(d(11, 24), d(11, 26), "r"),
            LeaveRefusal::Rule(LeaveRuleError::StartInPast),
        ),
        (
            draft(d(12, 1), d(12, 31), "r"),
            LeaveRefusal::Rule(LeaveRuleError::TooLong { days: 31, max: 30 }),
        ),
    ];
    for (req, want) in cases {
        match store
            .submit_leave(cadre, &req, &policy, today(), now())
            .await
        {
            Err(LeaveFailure::Refused(got)) => assert_eq!(got, want, "{req:?}"),
            other => panic!("{req:?}: {other:?}"),
        }
    }
    assert!(
        drain(&store).await.is_empty(),
        "a refused request sends nothing"
    );
    assert!(store.person_leaves(cadre, 10).await.unwrap().is_empty());
    // Someone no approver can reach: nobody but the cadre registered.
    let fresh = storage::testing::TestDb::new(store.engine()).await;
    fresh
        .store
        .import_roster(&entries(ROSTER), now())
        .await
        .unwrap();
    let alone = fresh
        .store
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap()
        .id;
    let got = fresh
        .store
        .submit_leave(
            alone,
            &draft(d(12, 1), d(12, 1), "r"),
            &policy,
            today(),
            now(),
        )
        .await;
    assert!(
        matches!(
            got,
            Err(LeaveFailure::Refused(LeaveRefusal::NoApprover {
                level: Level::Township
            }))
        ),
        "{got:?}"
    );
    // The request as stored comes back.
    let r = store
        .submit_leave(
            cadre,
            &draft(d(12, 1), d(12, 1), " 体检 "),
            &policy,
            today(),
            now(),
        )
        .await
        .unwrap();
    assert_eq!((r.days, r.status, r.step), (1, LeaveStatus::Pending, 0));
    assert_eq!(r.steps[0].status, StepStatus::Pending);
}

async fn a_step_whose_approver_left_passes_up_when_it_opens(store: Store) {
    let (cadre, township, county, city) = setup(&store).await;
    let id = submit(&store, cadre, d(12, 1), d(12, 4)).await.unwrap();
    // 王五 (the county approver) leaves the roster before the county level opens.
    let without_county: String = ROSTER
        .lines()
        .filter(|l| !l.contains("13800000003"))
        .map(|l| format!("{l}\n"))
        .collect();
    store
        .import_roster(&entries(&without_county), now())
        .await
        .unwrap();
    drain(&store).await;
    assert_eq!(
        store
            .decide_leave(id, 0, township, true, None, now())
            .await
            .unwrap(),
        Decided::Forwarded
    );
    let queued = drain(&store).await;
    assert!(
        queued.contains(&(
            9003,
            Notification::LeaveCard {
                request_id: id,
                step: 1,
                approver_id: city
            }
        )),
        "{queued:?}"
    );
    assert!(!queued.iter().any(|(chat, _)| *chat == 9002), "{queued:?}");
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(r.steps[1].level, Level::City);
    assert_eq!(r.steps[1].unit, "贵阳市");
    assert_eq!(r.steps[1].escalated_from, vec![Level::County]);
    assert_eq!(r.steps[1].status, StepStatus::Pending);
    assert!(matches!(
        store.decide_leave(id, 1, county, true, None, now()).await,
        Err(LeaveFailure::Refused(LeaveRefusal::NotYours))
    ));
    assert_eq!(
        store
            .decide_leave(id, 1, city, true, None, now())
            .await
            .unwrap(),
        Decided::Approved
    );
}

async fn can_decide_refuses_what_the_decision_would(store: Store) {
    let (cadre, township, county, _) = setup(&store).await;
    let id = submit(&store, cadre, d(12, 1), d(12, 4)).await.unwrap();
    assert!(matches!(
        store.can_decide(9999, 0, township).await,
        Err(LeaveFailure::Refused(LeaveRefusal::NotFound))
    ));
    for (who, step) in [(county, 0), (cadre, 0), (township, 1)] {
        let r = store.can_decide(id, step, who).await;
        assert!(
            matches!(r, Err(LeaveFailure::Refused(LeaveRefusal::NotYours))),
            "{r:?}"
        );
    }
    store.can_decide(id, 0, township).await.unwrap();
    store
        .decide_leave(id, 0, township, true, None, now())
        .await
        .unwrap();
    match store.can_decide(id, 0, township).await {
        Err(LeaveFailure::Refused(LeaveRefusal::AlreadyDecided { by, status })) => {
            assert_eq!(
                (by.as_deref(), status),
                (Some("李四"), LeaveStatus::Pending)
            )
        }
        other => panic!("{other:?}"),
    }
    store.can_decide(id, 1, county).await.unwrap();
    assert!(matches!(
        store.cancel_leave(9999, cadre, now()).await,
        Err(LeaveFailure::Refused(LeaveRefusal::NotFound))
    ));
}

async fn step_statuses_are_typed(store: Store) {
    let (cadre, township, county, _) = setup(&store).await;
    let id = submit(&store, cadre, d(12, 1), d(12, 4)).await.unwrap();
    let statuses = |r: storage::LeaveRequest| r.steps.iter().map(|s| s.status).collect::<Vec<_>>();
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(statuses(r), [StepStatus::Pending, StepStatus::Waiting]);
    store
        .decide_leave(id, 0, township, true, None, now())
        .await
        .unwrap();
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(statuses(r), [StepStatus::Approved, StepStatus::Pending]);
    store
        .decide_leave(id, 1, county, false, Some("不行"), now())
        .await
        .unwrap();
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(statuses(r), [StepStatus::Approved, StepStatus::Rejected]);
    let id = submit(&store, cadre, d(12, 10), d(12, 10)).await.unwrap();
    store.cancel_leave(id, cadre, now()).await.unwrap();
    let r = store.leave_request(id).await.unwrap().unwrap();
    assert_eq!(statuses(r), [StepStatus::Cancelled]);
}
