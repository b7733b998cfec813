//! Scheduled jobs as their recipients see them: the approval digest reaches the approvers
//! with waiting cards (once per reminder period) and its buttons decide the request.

use crate::on_both_engines;
use crate::support::TestApp;
use chrono::Duration;
use domain::Clock;
use fakebot::updates::{self, TgUser};
use scheduler::Job;
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(
    approval_digest_lists_waiting_requests_once_per_period_and_its_buttons_decide,
    calendar_check_tells_admins_of_a_missing_year_and_an_imported_year_rules_reminders,
);

/// Local (Asia/Shanghai) time.
fn local(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap() - Duration::hours(8)
}

async fn calendar_check_tells_admins_of_a_missing_year_and_an_imported_year_rules_reminders(
    engine: Engine,
) {
    let t = TestApp::start(engine).await;
    let (zhang, zhao) = (TgUser::new(7001, "张三"), TgUser::new(7004, "赵六"));
    t.register(&zhang, "13800000001").await;
    t.register(&zhao, "13800000004").await;
    let run = |job: Job, n: u32| {
        let (store, config, now) = (t.store().clone(), t.app.config.clone(), t.clock.now());
        async move {
            job.execute(&store, &config, now, &format!("e2e-{n}"))
                .await
                .unwrap()
        }
    };
    // Monday 30 November: 2027 does not matter yet.
    t.clock.set(local(2026, 11, 30, 9));
    assert_eq!(
        run(Job::CalendarCheck, 1).await,
        "calendar-check: holiday data is in; nobody told"
    );
    // Monday 7 December: the admin is told, the cadre is not.
    t.clock.set(local(2026, 12, 7, 9));
    assert_eq!(
        run(Job::CalendarCheck, 2).await,
        "calendar-check: no holiday data for 2027; 1 admin told"
    );
    t.app.wake_sender();
    let told = t.reply(&zhao).await;
    let text = told.text().unwrap_or_default();
    assert!(
        text.starts_with("2027 年的法定节假日安排尚未导入"),
        "{told}"
    );
    assert!(text.contains("zhucun calendar import"), "{told}");
    t.tg.assert_silent(zhang.id, StdDuration::from_millis(200))
        .await;

    // Imported (made-up days: test data), the year is in, and it rules the reminder:
    // Monday 4 January is a holiday, Saturday 9 January a make-up working day.
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let year = domain::calendar::YearDays {
        year: 2027,
        rest: [d("2027-01-01"), d("2027-01-04")].into(),
        work: [d("2027-01-09")].into(),
    };
    t.store()
        .import_calendar(&[year], "test", t.clock.now())
        .await
        .unwrap();
    assert_eq!(
        run(Job::CalendarCheck, 3).await,
        "calendar-check: holiday data is in; nobody told"
    );
    t.clock.set(local(2027, 1, 4, 20));
    assert_eq!(
        run(Job::LogReminder, 4).await,
        "log-reminder: today is a rest day; 0 reminders queued"
    );
    t.clock.set(local(2027, 1, 9, 20));
    assert_eq!(
        run(Job::LogReminder, 5).await,
        "log-reminder: 1 reminder queued"
    );
    t.stop().await;
}

async fn approval_digest_lists_waiting_requests_once_per_period_and_its_buttons_decide(
    engine: Engine,
) {
    let t = TestApp::start(engine).await;
    let cadre = TgUser::new(7001, "张三");
    let township = TgUser::new(7002, "李四");
    let county = TgUser::new(7003, "王五");
    for (u, phone) in [
        (&cadre, "13800000001"),
        (&township, "13800000002"),
        (&county, "13800000003"),
    ] {
        t.register(u, phone).await;
    }
    let run = |n: u32| {
        let (store, config, now) = (t.store().clone(), t.app.config.clone(), t.clock.now());
        async move {
            Job::ApprovalReminder
                .execute(&store, &config, now, &format!("e2e-{n}"))
                .await
                .unwrap()
        }
    };
    t.ask(&cadre, "/leave 11-27 11-28 回家照顾生病的父亲").await;
    let card = t.reply(&township).await;
    assert!(card.text().unwrap().contains("#1"), "{card}");
    // The clock jumps hours below: let the sender record the card as sent first, or its
    // lease would run out on the test clock mid-send and the card go out twice.
    settled(&t).await;
    t.clock.advance(Duration::hours(2));
    t.ask(&cadre, "/leave 12-10 12-11 参加培训").await;
    let card = t.reply(&township).await;
    assert!(card.text().unwrap().contains("#2"), "{card}");
    settled(&t).await;
    assert_eq!(
        run(1).await,
        "approval-reminder: 0 digests queued",
        "nothing waited 24 h"
    );

    // 25 hours after the first request: only it has waited past the reminder time.
    t.clock.advance(Duration::hours(23));
    assert_eq!(run(2).await, "approval-reminder: 1 digest queued");
    t.app.wake_sender();
    let digest = t.reply(&township).await;
    settled(&t).await;
    let text = digest.text().unwrap();
    assert!(text.contains("有 1 份请假申请"), "{text}");
    assert!(text.contains("#1 张三：2026-11-27 至 2026-11-28"), "{text}");
    assert!(!text.contains("#2"), "{text}");
    assert_eq!(digest.button_texts(), ["批准 #1", "驳回 #1"]);
    t.tg.assert_silent(county.id, StdDuration::from_millis(200))
        .await;

    // However often the job runs, one digest per period.
    t.clock.advance(Duration::hours(3));
    assert_eq!(run(3).await, "approval-reminder: 0 digests queued");
    // A day later both wait, oldest first.
    t.clock.advance(Duration::hours(22));
    assert_eq!(run(4).await, "approval-reminder: 1 digest queued");
    t.app.wake_sender();
    let digest = t.reply(&township).await;
    let text = digest.text().unwrap();
    assert!(
        text.find("#1 张三").unwrap() < text.find("#2 张三").unwrap(),
        "{text}"
    );

    // Its buttons decide like the card's.
    t.send(updates::click(&township, &digest, "批准 #1"));
    let answer = t.tg.next_call("answerCallbackQuery").await;
    assert_eq!(answer.body["text"].as_str(), Some("已批准。"), "{answer}");
    let told = t.reply(&cadre).await;
    assert!(told.text().unwrap().contains("已批准"), "{told}");
    t.stop().await;
}

/// Waits until the outbox has nothing pending (everything sent was recorded as sent).
async fn settled(t: &TestApp) {
    for _ in 0..200 {
        if t.store().outbox_counts().await.unwrap().0 == 0 {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    panic!(
        "the outbox did not settle: {:?}",
        t.store().outbox_counts().await
    );
}
