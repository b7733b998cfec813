//! Work logs as a cadre sends them: every kind of message, albums, edits, backdating, `/me`,
//! the archive, and what is refused.

use crate::on_both_engines;
use crate::support::TestApp;
use chrono::{Duration, TimeZone, Utc};
use domain::config::Config;
use fakebot::Failure;
use fakebot::updates::{self, TgUser};
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(
    text_log_gets_one_receipt_with_number_date_and_month_days,
    every_kind_of_message_is_a_log_with_its_files,
    album_of_three_photos_gets_one_receipt,
    album_parts_out_of_order_across_a_restart_make_one_log,
    editing_a_logged_message_updates_the_log_and_keeps_the_old_text,
    backdating_within_the_window_and_refusals_outside_it,
    me_counts_days_in_shanghai_time_once_per_day,
    refused_messages_store_nothing,
    failed_write_tells_the_cadre_to_send_again,
    archive_downloads_files_and_retries_failures,
    receipts_follow_the_persons_language,
    redelivered_logs_and_refusals_are_handled_once,
    updates_claimed_by_the_process_before_are_answered,
    a_registered_cadre_in_a_group_logs_nothing,
    a_lone_slash_gets_help_not_a_log,
    invisible_text_is_refused_as_empty,
    remind_off_and_on_decide_who_gets_the_evening_reminder,
);

const SILENCE: StdDuration = StdDuration::from_millis(400);

async fn text_log_gets_one_receipt_with_number_date_and_month_days(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    let receipt = t.ask(&user, "今天入户走访了三户脱贫户").await;
    assert_eq!(
        receipt.text().unwrap(),
        "✅ 已记录第 1 条工作记实\n日期：2026-11-25\n11月已有 1 天有记实。"
    );
    // The receipt answers the cadre's message.
    assert!(
        receipt.body["reply_parameters"]["message_id"]
            .as_i64()
            .is_some(),
        "{receipt}"
    );
    let second = t.ask(&user, "下午参加村两委会议").await;
    assert!(
        second
            .text()
            .unwrap()
            .starts_with("✅ 已记录第 2 条工作记实"),
        "{second}"
    );
    assert!(
        second.text().unwrap().contains("11月已有 1 天有记实"),
        "{second}"
    );
    t.tg.assert_silent(user.id, SILENCE).await;
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].text.as_deref(), Some("今天入户走访了三户脱贫户"));
    t.stop().await;
}

async fn every_kind_of_message_is_a_log_with_its_files(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    let messages = [
        updates::photo(&user, "p-1", None, None),
        updates::photo(&user, "p-2", Some("村道硬化现场"), None),
        updates::video(&user, "v-1", Some("培训视频")),
        updates::voice(&user, "vo-1", 12),
        updates::document(&user, "d-1", "周报.pdf", "application/pdf", None),
        updates::location(&user, 26.647, 106.630),
    ];
    for (i, m) in messages.into_iter().enumerate() {
        t.send(m);
        let receipt = t.reply(&user).await;
        let expected = format!("✅ 已记录第 {} 条工作记实", i + 1);
        assert!(receipt.text().unwrap().starts_with(&expected), "{receipt}");
    }
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    let kinds: Vec<&str> = logs.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["photo", "photo", "video", "voice", "document", "location"]
    );
    assert_eq!(logs[0].files[0].1, "p-1", "the largest photo size is kept");
    assert_eq!(logs[1].text.as_deref(), Some("村道硬化现场"));
    assert_eq!(logs[4].files[0].0, "document");
    assert_eq!(logs[5].location, Some((26.647, 106.630)));
    assert!(logs[5].files.is_empty());
    t.stop().await;
}

async fn album_of_three_photos_gets_one_receipt(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    // Parts arrive a second apart (on the bot's clock).
    for (i, file) in ["a-1", "a-2", "a-3"].iter().enumerate() {
        let caption = (i == 0).then_some("易地扶贫搬迁安置点走访");
        t.send(updates::photo(&user, file, caption, Some("album-1")));
        t.clock.advance(Duration::seconds(1));
        t.app.wake_sender();
    }
    // Still inside the quiet time after the last part: no receipt yet.
    t.tg.assert_silent(user.id, SILENCE).await;
    t.pass_album_quiet_time();
    let receipt = t.reply(&user).await;
    let text = receipt.text().unwrap();
    assert!(text.starts_with("✅ 已记录第 1 条工作记实"), "{receipt}");
    assert!(text.contains("附件：3 个"), "{receipt}");
    t.tg.assert_silent(user.id, SILENCE).await;
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].files.len(), 3);
    assert_eq!(logs[0].text.as_deref(), Some("易地扶贫搬迁安置点走访"));
    // The next message is log no. 2.
    assert!(
        t.ask(&user, "晚上整理材料")
            .await
            .text()
            .unwrap()
            .contains("第 2 条")
    );
    t.stop().await;
}

async fn album_parts_out_of_order_across_a_restart_make_one_log(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    t.send(updates::photo(&user, "r-3", None, Some("album-r")));
    t.tg.assert_silent(user.id, SILENCE).await;
    let t = t.restart().await;
    t.send(updates::photo(
        &user,
        "r-1",
        Some("产业园区调研"),
        Some("album-r"),
    ));
    t.send(updates::photo(&user, "r-2", None, Some("album-r")));
    t.tg.assert_silent(user.id, SILENCE).await;
    t.pass_album_quiet_time();
    let receipt = t.reply(&user).await;
    assert!(receipt.text().unwrap().contains("附件：3 个"), "{receipt}");
    t.tg.assert_silent(user.id, SILENCE).await;
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].text.as_deref(), Some("产业园区调研"));
    t.stop().await;
}

async fn editing_a_logged_message_updates_the_log_and_keeps_the_old_text(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    let update = updates::text(&user, "走访三户");
    let message_id = updates::message_id(&update);
    t.send(update);
    t.reply(&user).await;
    t.send(updates::edited_text(
        &user,
        message_id,
        "走访五户，其中两户因病致贫",
    ));
    let answer = t.reply(&user).await;
    assert!(
        answer.text().unwrap().contains("已更新第 1 条工作记实"),
        "{answer}"
    );
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "an edit is not a new log");
    assert_eq!(logs[0].text.as_deref(), Some("走访五户，其中两户因病致贫"));
    assert_eq!(
        t.store().log_history(logs[0].id).await.unwrap(),
        vec![Some("走访三户".to_string())]
    );
    t.stop().await;
}

async fn backdating_within_the_window_and_refusals_outside_it(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    // Today is 2026-11-25; the window is 3 days.
    let ok = t.ask(&user, "/log 2026-11-22 帮助村民办理医保").await;
    let text = ok.text().unwrap();
    assert!(
        text.contains("日期：2026-11-22") && text.contains("11月已有 1 天"),
        "{ok}"
    );
    let too_old = t.ask(&user, "/log 2026-11-21 太早了").await;
    assert!(
        too_old.text().unwrap().contains("只能补记最近 3 天"),
        "{too_old}"
    );
    assert!(
        too_old.text().unwrap().contains("2026-11-22 及以后"),
        "{too_old}"
    );
    let future = t.ask(&user, "/log 2026-11-26 明天的事").await;
    assert!(future.text().unwrap().contains("还没到"), "{future}");
    let bad = t.ask(&user, "/log 11月23日 走访").await;
    assert!(
        bad.text().unwrap().contains("例如：/log 2026-11-23"),
        "{bad}"
    );
    let bare = t.ask(&user, "/log").await;
    assert!(bare.text().unwrap().contains("补记的用法"), "{bare}");
    let no_text = t.ask(&user, "/log 2026-11-24").await;
    assert!(
        no_text.text().unwrap().contains("请在日期后面写上"),
        "{no_text}"
    );
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert!(logs[0].backdated);
    assert_eq!(logs[0].day.to_string(), "2026-11-22");
    t.stop().await;
}

async fn me_counts_days_in_shanghai_time_once_per_day(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    // 23:59 in Shanghai on the 25th is 15:59 UTC; 00:01 on the 26th is 16:01 UTC.
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 25, 15, 59, 0).unwrap());
    t.ask(&user, "深夜整理台账").await;
    t.ask(&user, "再补充一条").await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 25, 16, 1, 0).unwrap());
    let receipt = t.ask(&user, "凌晨处理突发情况").await;
    assert!(
        receipt.text().unwrap().contains("日期：2026-11-26"),
        "{receipt}"
    );
    assert!(
        receipt.text().unwrap().contains("11月已有 2 天有记实"),
        "{receipt}"
    );
    let me = t.ask(&user, "/me").await;
    let text = me.text().unwrap();
    assert!(text.contains("2026年11月"), "{me}");
    assert!(text.contains("有记实的天数：2 天"), "{me}");
    assert!(text.contains("已批准的请假天数：0 天"), "{me}");
    assert!(text.contains("计入驻村补助的天数：2 天"), "{me}");
    // Next month starts from zero.
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 30, 16, 30, 0).unwrap());
    let december = t.ask(&user, "/me").await;
    assert!(
        december.text().unwrap().contains("2026年12月"),
        "{december}"
    );
    assert!(
        december.text().unwrap().contains("有记实的天数：0 天"),
        "{december}"
    );
    t.stop().await;
}

async fn refused_messages_store_nothing(engine: Engine) {
    let mut config = Config::default();
    config.logs.max_text_chars = 20;
    let t = TestApp::start_with(engine, config, Some(crate::support::ROSTER)).await;
    let user = t.cadre().await;
    let long = t.ask(&user, &"长".repeat(21)).await;
    assert!(
        long.text().unwrap().contains("21 个字，超过了 20 字的上限"),
        "{long}"
    );
    t.send(updates::sticker(&user, "s-1"));
    assert!(t.reply(&user).await.text().unwrap().contains("暂不支持"));
    let mut big = updates::document(&user, "big", "录像.mp4", "video/mp4", None);
    updates::set(
        &mut big,
        "/message/document/file_size",
        (25u64 * 1024 * 1024).into(),
    );
    t.send(big);
    assert!(
        t.reply(&user)
            .await
            .text()
            .unwrap()
            .contains("上限是 20 MB")
    );
    // A non-cadre's message is no log.
    let approver = TgUser::new(7010, "李四");
    t.register(&approver, "13800000002").await;
    let answer = t.ask(&approver, "今天审批了两件请假").await;
    assert!(
        answer
            .text()
            .unwrap()
            .contains("只有驻村干部可以提交工作记实"),
        "{answer}"
    );
    for phone in ["13800000001", "13800000002"] {
        let p = t.store().person_by_phone(phone).await.unwrap().unwrap();
        assert!(t.store().person_logs(p.id).await.unwrap().is_empty());
    }
    t.stop().await;
}

async fn failed_write_tells_the_cadre_to_send_again(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    t.db.execute("ALTER TABLE logs RENAME TO logs_gone").await;
    let answer = t.ask(&user, "这条写不进去").await;
    assert!(answer.text().unwrap().contains("没有被记录"), "{answer}");
    assert!(answer.text().unwrap().contains("重新发送"), "{answer}");
    t.db.execute("ALTER TABLE logs_gone RENAME TO logs").await;
    // Nothing was half-stored: the resent message is log no. 1.
    assert!(
        t.ask(&user, "这条写得进去")
            .await
            .text()
            .unwrap()
            .contains("第 1 条")
    );
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    t.stop().await;
}

async fn archive_downloads_files_and_retries_failures(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.logs.archive_dir = Some(dir.path().to_path_buf());
    let t = TestApp::start_with(engine, config, Some(crate::support::ROSTER)).await;
    let user = t.cadre().await;
    t.tg.add_file("ph-1", b"JPEG-BYTES-1".to_vec());
    t.tg.add_file("ph-2", b"JPEG-BYTES-2".to_vec());
    t.tg.fail_next("getFile", Failure::ServerError, 1);
    t.send(updates::photo(&user, "ph-1", Some("危房改造"), None));
    // The receipt does not wait for the (failing) download.
    assert!(t.reply(&user).await.text().unwrap().contains("第 1 条"));
    t.send(updates::photo(&user, "ph-2", None, None));
    assert!(t.reply(&user).await.text().unwrap().contains("第 2 条"));
    // The failed one is retried later (time moves on while we wait).
    t.tg.next_call("getFile").await;
    let person = t.person_id(&user).await;
    let mut archived = Vec::new();
    for _ in 0..100 {
        let logs = t.store().person_logs(person).await.unwrap();
        archived.clear();
        for l in &logs {
            archived.extend(t.store().archived_paths(l.id).await.unwrap());
        }
        if archived.len() == 2 && archived.iter().all(Option::is_some) {
            break;
        }
        t.clock.advance(Duration::minutes(1));
        t.app.wake_archiver();
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let paths: Vec<String> = archived.into_iter().map(|p| p.expect("archived")).collect();
    let mut contents: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    contents.sort();
    assert_eq!(
        contents,
        vec![b"JPEG-BYTES-1".to_vec(), b"JPEG-BYTES-2".to_vec()]
    );
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with(&dir.path().display().to_string()))
    );
    assert!(paths[0].contains("/2026-11/"), "{paths:?}");
    t.stop().await;
}

async fn receipts_follow_the_persons_language(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    t.ask(&user, "/lang en").await;
    let receipt = t.ask(&user, "Visited three households").await;
    assert_eq!(
        receipt.text().unwrap(),
        "✅ Work log no. 1 recorded\nDate: 2026-11-25\nDays with a log in 2026-11: 1"
    );
    let me = t.ask(&user, "/me").await;
    assert!(
        me.text()
            .unwrap()
            .contains("Days counted for the stationing subsidy: 1"),
        "{me}"
    );
    t.stop().await;
}

/// Telegram may deliver an update again (a restart before the offset was saved). A log's
/// update is claimed in the log's own transaction, a refusal's before it is answered.
async fn redelivered_logs_and_refusals_are_handled_once(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    for update in [
        updates::text(&user, "入户走访"),
        updates::sticker(&user, "sticker-1"),
        updates::text(&user, &"长".repeat(5000)),
    ] {
        let id = t.send(update.clone());
        t.reply(&user).await;
        let mut again = update;
        again["update_id"] = id.into();
        t.send(again);
        t.tg.assert_silent(user.id, SILENCE).await;
    }
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    t.stop().await;
}

/// A process killed while its commit is on the way: the claim (and the log) land after the
/// next process read its claims, so to it the update looks new, and then claimed by
/// someone else. It is asked again and answered as redelivered, never confirmed silently.
async fn updates_claimed_by_the_process_before_are_answered(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    let person = t.person_id(&user).await;
    let now = Utc::now();

    let mut log = updates::text(&user, "入户走访，核对低保名单");
    log["update_id"] = 9_000.into();
    let input = domain::worklog::LogInput {
        text: Some("入户走访，核对低保名单".into()),
        ..Default::default()
    };
    let recorded = t
        .store()
        .record_log(
            storage::NewLog {
                person_id: person,
                day: now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive(),
                at: now,
                input: &input,
                chat_id: user.id,
                message_id: updates::message_id(&log),
                backdated: false,
                update_id: Some(9_000),
            },
            now,
        )
        .await
        .unwrap();
    assert!(matches!(recorded, storage::Recorded::Log(_)));
    t.send(log);
    let receipt = t.reply(&user).await;
    assert!(receipt.text().unwrap().contains("工作记实"), "{receipt}");

    let mut sticker = updates::sticker(&user, "sticker-1");
    sticker["update_id"] = 9_001.into();
    assert!(t.store().claim_update(9_001, now).await.unwrap());
    t.send(sticker);
    let refusal = t.reply(&user).await;
    assert!(!refusal.text().unwrap().contains("工作记实"), "{refusal}");

    t.tg.assert_silent(user.id, SILENCE).await;
    assert_eq!(t.store().person_logs(person).await.unwrap().len(), 1);
    assert!(t.tg.all_confirmed_within(StdDuration::from_secs(5)).await);
    t.stop().await;
}

async fn a_registered_cadre_in_a_group_logs_nothing(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    t.send(updates::text_in_group(
        &user,
        -100_777,
        "今天入户走访了三户",
    ));
    t.tg.assert_silent(-100_777, SILENCE).await;
    t.tg.assert_silent(user.id, SILENCE).await;
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert!(logs.is_empty(), "a group message became a log: {logs:?}");
    // The same words in the private chat are a log.
    let receipt = t.ask(&user, "今天入户走访了三户").await;
    assert!(
        receipt
            .text()
            .unwrap()
            .starts_with("✅ 已记录第 1 条工作记实"),
        "{receipt}"
    );
    t.stop().await;
}

async fn a_lone_slash_gets_help_not_a_log(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    let answer = t.ask(&user, "/").await;
    assert!(answer.text().unwrap().contains("/log"), "{answer}");
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert!(logs.is_empty(), "a lone slash became a log: {logs:?}");
    t.stop().await;
}

async fn invisible_text_is_refused_as_empty(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    let answer = t.ask(&user, "\u{200B}\u{200C}\u{FEFF}").await;
    assert_eq!(answer.text().unwrap(), "这条消息没有内容，没有记录。");
    let logs = t
        .store()
        .person_logs(t.person_id(&user).await)
        .await
        .unwrap();
    assert!(logs.is_empty(), "zero-width text became a log: {logs:?}");
    let me = t.ask(&user, "/me").await;
    assert!(me.text().unwrap().contains("0 天"), "{me}");
    t.stop().await;
}

async fn remind_off_and_on_decide_who_gets_the_evening_reminder(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = t.cadre().await;
    let config = Config::default();
    // 2026-11-25, the test day, is a Wednesday: a working day.
    let evening = domain::Clock::now(t.clock.as_ref());
    let usage = t.ask(&user, "/remind").await;
    assert!(usage.text().unwrap().contains("/remind off"), "{usage}");
    let off = t.ask(&user, "/remind off").await;
    assert!(off.text().unwrap().starts_with("已关闭"), "{off}");
    let line = scheduler::Job::LogReminder
        .execute(t.store(), &config, evening, "e2e-1")
        .await
        .unwrap();
    assert_eq!(line, "log-reminder: 0 reminders queued");
    let on = t.ask(&user, "/remind on").await;
    assert!(on.text().unwrap().starts_with("已开启"), "{on}");
    let line = scheduler::Job::LogReminder
        .execute(t.store(), &config, evening, "e2e-2")
        .await
        .unwrap();
    assert_eq!(line, "log-reminder: 1 reminder queued");
    t.app.wake_sender();
    let reminder = t.reply(&user).await;
    let text = reminder.text().unwrap();
    assert!(
        text.contains("今天（2026-11-25）") && text.contains("2026年11月已有 0 天"),
        "{text}"
    );
    // Once he has logged, he is not reminded.
    t.ask(&user, "今天整理了村档案").await;
    let line = scheduler::Job::LogReminder
        .execute(t.store(), &config, evening, "e2e-3")
        .await
        .unwrap();
    assert_eq!(line, "log-reminder: 0 reminders queued");
    t.stop().await;
}
