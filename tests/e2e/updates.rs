//! Work updates (驻村动态) as reporters send them: `/update` in every form, the unit's week
//! count, the bulletin channel (also when it refuses the bot), `/feed`, edits, refusals and
//! the `update-nudge` job.

use crate::on_both_engines;
use crate::support::TestApp;
use domain::Clock;
use domain::config::Config;
use fakebot::channels::{channel_chat, my_chat_member};
use fakebot::updates::{self, TgUser};
use scheduler::Job;
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(
    a_text_update_is_counted_for_the_week_and_posted_to_the_bulletin_channel,
    an_album_captioned_update_is_one_update_and_one_media_group,
    update_alone_asks_for_the_brief_and_cancel_stops_it,
    a_reporter_of_several_units_chooses_the_unit_with_buttons,
    a_non_reporter_is_refused_and_told_who_may_post,
    too_long_and_unsupported_updates_are_refused,
    editing_an_update_changes_the_brief,
    feed_shows_the_latest_ten_and_pages_with_a_button,
    a_refusing_channel_tells_the_admins_once_keeps_the_updates_and_never_retries,
    update_nudge_reaches_reporters_of_units_without_an_update,
);

const CHANNEL: i64 = -1_001_000_000_001;
const SILENCE: StdDuration = StdDuration::from_millis(300);

const ROSTER: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
王五,13800000003,approver;reporter,贵阳市/乌当区,
孙八,13800000006,reporter,贵阳市/白云区,
赵六,13800000004,approver;admin,贵阳市,
";

async fn start(engine: Engine) -> TestApp {
    let mut config = Config::default();
    config.telegram.bulletin_chat_id = Some(CHANNEL);
    TestApp::start_with(engine, config, Some(ROSTER)).await
}

async fn reporter(t: &TestApp) -> TgUser {
    let u = TgUser::new(7003, "王五");
    t.register(&u, "13800000003").await;
    u
}

/// Waits (up to 10 s) until `check` holds: for effects that nobody is told about.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("never happened: {what}");
}

/// Waits until the outbox has nothing pending.
async fn settled(t: &TestApp) {
    let store = t.store().clone();
    eventually("the outbox settles", || {
        let store = store.clone();
        async move { store.outbox_counts().await.unwrap().0 == 0 }
    })
    .await;
}

async fn a_text_update_is_counted_for_the_week_and_posted_to_the_bulletin_channel(engine: Engine) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    let reply = t.ask(&wang, "/update 今天召开全区驻村工作推进会").await;
    assert_eq!(
        reply.text().unwrap(),
        "已记录乌当区的工作动态。乌当区本周（2026-11-23 至 2026-11-29）已有 1 条动态。"
    );
    let post = t.tg.next_to(CHANNEL).await;
    assert_eq!(post.method, "sendMessage");
    assert_eq!(
        post.text().unwrap(),
        "【乌当区】驻村动态 · 2026-11-25\n\n今天召开全区驻村工作推进会"
    );
    let reply = t.ask(&wang, "/update 第二条：走访三个村").await;
    assert!(reply.text().unwrap().contains("已有 2 条动态"), "{reply}");
    t.tg.next_to(CHANNEL).await;
    // Next Monday is a new week.
    settled(&t).await;
    t.clock.advance(chrono::Duration::days(5));
    let reply = t.ask(&wang, "/update 新的一周").await;
    assert!(
        reply
            .text()
            .unwrap()
            .contains("本周（2026-11-30 至 2026-12-06）已有 1 条"),
        "{reply}"
    );
    let week = t
        .store()
        .weekly_duty(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
        .await
        .unwrap();
    let counts: Vec<(&str, u32, bool)> = week
        .iter()
        .map(|w| (w.unit_path.as_str(), w.updates, w.met))
        .collect();
    assert_eq!(
        counts,
        [("贵阳市/乌当区", 2, true), ("贵阳市/白云区", 0, false)]
    );
    t.stop().await;
}

async fn an_album_captioned_update_is_one_update_and_one_media_group(engine: Engine) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    t.send(updates::photo(
        &wang,
        "up-1",
        Some("/update 村集体经济项目现场"),
        Some("alb-1"),
    ));
    let reply = t.reply(&wang).await;
    assert!(reply.text().unwrap().contains("已有 1 条动态"), "{reply}");
    t.send(updates::photo(&wang, "up-2", None, Some("alb-1")));
    t.send(updates::photo(&wang, "up-3", None, Some("alb-1")));
    // The parts join the update quietly (no log, no second answer).
    let store = t.store().clone();
    eventually("the parts join the update", || {
        let store = store.clone();
        async move { store.feed(None, 0, 1).await.unwrap()[0].photos == 3 }
    })
    .await;
    t.tg.assert_silent(wang.id, SILENCE).await;
    t.pass_album_quiet_time();
    let post = t.tg.next_to(CHANNEL).await;
    assert_eq!(post.method, "sendMediaGroup", "{post}");
    let media = post.body["media"].as_array().unwrap();
    assert_eq!(media.len(), 3, "{post}");
    assert_eq!(
        media[0]["caption"].as_str(),
        Some("【乌当区】驻村动态 · 2026-11-25\n\n村集体经济项目现场")
    );
    assert_eq!(media[2]["media"].as_str(), Some("up-3"));
    assert_eq!(t.tg.count("sendMediaGroup"), 1);
    let feed = t.ask(&wang, "/feed").await;
    assert!(
        feed.text()
            .unwrap()
            .contains("2026-11-25 乌当区：村集体经济项目现场 [图片×3]"),
        "{feed}"
    );
    assert!(
        t.store()
            .person_logs(t.person_id(&wang).await)
            .await
            .unwrap()
            .is_empty(),
        "an update is no work log"
    );
    t.stop().await;
}

async fn update_alone_asks_for_the_brief_and_cancel_stops_it(engine: Engine) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    let prompt = t.ask(&wang, "/update").await;
    assert!(
        prompt.text().unwrap().contains("请发送这条工作动态"),
        "{prompt}"
    );
    let cancelled = t.ask(&wang, "/cancel").await;
    assert!(cancelled.text().unwrap().contains("取消"), "{cancelled}");
    // After /cancel a text is no update (and a reporter who is no cadre logs nothing).
    let after = t.ask(&wang, "随便说说").await;
    assert!(!after.text().unwrap().contains("已记录"), "{after}");
    t.ask(&wang, "/update").await;
    let reply = t.ask(&wang, "镇里组织了产业培训").await;
    assert!(
        reply.text().unwrap().contains("已记录乌当区的工作动态"),
        "{reply}"
    );
    let post = t.tg.next_to(CHANNEL).await;
    assert!(
        post.text().unwrap().ends_with("镇里组织了产业培训"),
        "{post}"
    );
    // The dialogue is over: the next text is not another update.
    let next = t.ask(&wang, "再说一句").await;
    assert!(!next.text().unwrap().contains("工作动态。"), "{next}");
    t.stop().await;
}

async fn a_reporter_of_several_units_chooses_the_unit_with_buttons(engine: Engine) {
    let roster = format!("{ROSTER}吴九,13800000009,reporter,贵阳市/乌当区;贵阳市/白云区,\n");
    let mut config = Config::default();
    config.telegram.bulletin_chat_id = Some(CHANNEL);
    let t = TestApp::start_with(engine, config, Some(&roster)).await;
    let wu = TgUser::new(7009, "吴九");
    t.register(&wu, "13800000009").await;
    let ask = t.ask(&wu, "/update 两区联合开展培训").await;
    assert!(ask.text().unwrap().contains("哪个单位"), "{ask}");
    assert_eq!(ask.button_texts(), ["贵阳市/乌当区", "贵阳市/白云区"]);
    t.send(updates::click(&wu, &ask, "贵阳市/白云区"));
    t.tg.next_call("answerCallbackQuery").await;
    let chosen = t.tg.next_call("editMessageText").await;
    assert_eq!(chosen.body["text"].as_str(), Some("已选择：白云区"));
    let reply = t.reply(&wu).await;
    assert!(
        reply.text().unwrap().contains("已记录白云区的工作动态"),
        "{reply}"
    );
    let post = t.tg.next_to(CHANNEL).await;
    assert!(post.text().unwrap().starts_with("【白云区】"), "{post}");
    // The choice is spent: pressing again changes nothing.
    t.send(updates::click(&wu, &ask, "贵阳市/乌当区"));
    let alert = t.tg.next_call("answerCallbackQuery").await;
    assert_eq!(alert.body["text"].as_str(), Some("这个选择已经过期了。"));
    let feed = t.store().feed(None, 0, 10).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].unit_name, "白云区");
    t.stop().await;
}

async fn a_non_reporter_is_refused_and_told_who_may_post(engine: Engine) {
    let t = start(engine).await;
    let cadre = t.cadre().await;
    let reply = t.ask(&cadre, "/update 我也想发动态").await;
    let text = reply.text().unwrap();
    assert!(
        text.contains("只有动态报送员可以发布工作动态") && text.contains("reporter"),
        "{text}"
    );
    t.send(updates::photo(&cadre, "c-1", Some("/update 照片"), None));
    let reply = t.reply(&cadre).await;
    assert!(reply.text().unwrap().contains("只有动态报送员"), "{reply}");
    assert!(t.store().feed(None, 0, 10).await.unwrap().is_empty());
    assert!(
        t.store()
            .person_logs(t.person_id(&cadre).await)
            .await
            .unwrap()
            .is_empty(),
        "a refused update is no log either"
    );
    t.tg.assert_silent(CHANNEL, SILENCE).await;
    t.stop().await;
}

async fn too_long_and_unsupported_updates_are_refused(engine: Engine) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    let long = format!("/update {}", "很".repeat(4001));
    let reply = t.ask(&wang, &long).await;
    assert!(
        reply
            .text()
            .unwrap()
            .contains("4001 个字，超过了 4000 字的上限"),
        "{reply}"
    );
    t.send(updates::video(&wang, "v-1", Some("/update 视频")));
    let reply = t.reply(&wang).await;
    assert!(
        reply.text().unwrap().contains("只能是文字或照片"),
        "{reply}"
    );
    // In the dialogue too.
    t.ask(&wang, "/update").await;
    t.send(updates::voice(&wang, "vo-1", 3));
    let reply = t.reply(&wang).await;
    assert!(
        reply.text().unwrap().contains("只能是文字或照片"),
        "{reply}"
    );
    assert!(t.store().feed(None, 0, 10).await.unwrap().is_empty());
    t.tg.assert_silent(CHANNEL, SILENCE).await;
    t.stop().await;
}

async fn editing_an_update_changes_the_brief(engine: Engine) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    t.text(&wang, "/update 今天开会");
    let reply = t.reply(&wang).await;
    let original = reply.body["reply_parameters"]["message_id"]
        .as_i64()
        .unwrap();
    t.send(updates::edited_text(
        &wang,
        original,
        "/update 今天开会（已改）",
    ));
    let edited = t.reply(&wang).await;
    assert_eq!(edited.text().unwrap(), "已按修改更新了这条工作动态。");
    let feed = t.store().feed(None, 0, 10).await.unwrap();
    assert_eq!(feed[0].text.as_deref(), Some("今天开会（已改）"));
    t.stop().await;
}

async fn feed_shows_the_latest_ten_and_pages_with_a_button(engine: Engine) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    let sun = TgUser::new(7006, "孙八");
    t.register(&sun, "13800000006").await;
    let cadre = t.cadre().await;
    let empty = t.ask(&cadre, "/feed").await;
    assert_eq!(empty.text().unwrap(), "还没有工作动态。");
    for i in 1..=11 {
        t.ask(&wang, &format!("/update 乌当第{i}条\n第二行不显示"))
            .await;
    }
    t.ask(&sun, "/update 白云第1条").await;
    // Anyone registered reads the feed.
    let page = t.ask(&cadre, "/feed").await;
    let text = page.text().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "最新工作动态（第 1–10 条）：");
    assert_eq!(lines.len(), 11, "{text}");
    assert_eq!(lines[1], "2026-11-25 白云区：白云第1条");
    assert_eq!(lines[2], "2026-11-25 乌当区：乌当第11条");
    assert!(!text.contains("第二行"), "{text}");
    assert_eq!(page.button_texts(), ["更多 ▸"]);
    t.send(updates::click(&cadre, &page, "更多 ▸"));
    let next = t.tg.next_call("editMessageText").await;
    let text = next.body["text"].as_str().unwrap();
    assert_eq!(
        text,
        "最新工作动态（第 11–12 条）：\n2026-11-25 乌当区：乌当第2条\n2026-11-25 乌当区：乌当第1条"
    );
    assert!(next.body.get("reply_markup").is_none(), "{next}");
    let one = t.ask(&cadre, "/feed 白云区").await;
    assert_eq!(
        one.text().unwrap(),
        "白云区的工作动态（第 1–1 条）：\n2026-11-25 白云区：白云第1条"
    );
    let none = t.ask(&cadre, "/feed 无此区").await;
    assert!(
        none.text().unwrap().contains("没有找到名为“无此区”的单位"),
        "{none}"
    );
    t.stop().await;
}

async fn a_refusing_channel_tells_the_admins_once_keeps_the_updates_and_never_retries(
    engine: Engine,
) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    let admin = TgUser::new(7004, "赵六");
    t.register(&admin, "13800000004").await;
    t.tg.set_chat_refusing(CHANNEL, Some((400, "Bad Request: chat not found")));
    let reply = t.ask(&wang, "/update 第一条").await;
    assert!(reply.text().unwrap().contains("已有 1 条"), "{reply}");
    let told = t.reply(&admin).await;
    let text = told.text().unwrap();
    assert!(
        text.contains("机器人无法在动态频道") && text.contains("chat not found"),
        "{text}"
    );
    let reply = t.ask(&wang, "/update 第二条").await;
    assert!(reply.text().unwrap().contains("已有 2 条"), "{reply}");
    settled(&t).await;
    // Told once; each post tried once and given up; the updates are kept.
    t.tg.assert_silent(admin.id, SILENCE).await;
    let tries = |t: &TestApp| {
        t.tg.calls_to("sendMessage")
            .iter()
            .filter(|c| c.chat_id() == Some(CHANNEL))
            .count()
    };
    assert_eq!(tries(&t), 2);
    assert_eq!(t.store().outbox_counts().await.unwrap().2, 2, "failed rows");
    assert_eq!(t.store().feed(None, 0, 10).await.unwrap().len(), 2);

    // The bot is added back as admin: posts go out again.
    t.tg.set_chat_refusing(CHANNEL, None);
    t.send(my_chat_member(
        channel_chat(CHANNEL),
        &admin,
        "left",
        "administrator",
    ));
    let store = t.store().clone();
    eventually("the channel is back", || {
        let store = store.clone();
        async move { !store.channel_is_refused(CHANNEL).await.unwrap() }
    })
    .await;
    t.ask(&wang, "/update 第三条").await;
    let post = t.tg.next_to(CHANNEL).await;
    assert!(post.text().unwrap().ends_with("第三条"), "{post}");

    // Removed again (a my_chat_member update): the admins hear of it once.
    t.send(my_chat_member(
        channel_chat(CHANNEL),
        &admin,
        "administrator",
        "kicked",
    ));
    let told = t.reply(&admin).await;
    assert!(told.text().unwrap().contains("动态频道"), "{told}");
    t.send(my_chat_member(
        channel_chat(CHANNEL),
        &admin,
        "kicked",
        "left",
    ));
    t.tg.assert_silent(admin.id, SILENCE).await;
    t.stop().await;
}

async fn update_nudge_reaches_reporters_of_units_without_an_update(engine: Engine) {
    let t = start(engine).await;
    let wang = reporter(&t).await;
    let sun = TgUser::new(7006, "孙八");
    t.register(&sun, "13800000006").await;
    t.ask(&wang, "/update 本周已报").await;
    let run = |n: u32| {
        let (store, config, now) = (t.store().clone(), t.app.config.clone(), t.clock.now());
        async move {
            Job::UpdateNudge
                .execute(&store, &config, now, &format!("e2e-{n}"))
                .await
                .unwrap()
        }
    };
    assert_eq!(run(1).await, "update-nudge: 1 nudge queued");
    t.app.wake_sender();
    let nudge = t.reply(&sun).await;
    assert_eq!(
        nudge.text().unwrap(),
        "提醒：白云区本周（2026-11-23 起）还没有工作动态。每周至少报送一条，发送 /update 加内容即可。"
    );
    settled(&t).await;
    t.tg.assert_silent(wang.id, SILENCE).await;
    t.stop().await;
}
