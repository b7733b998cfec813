//! Leave as cadres and approvers use it: the dialogue, the rules, one to three levels of
//! approval with buttons, reject with a reason, cancel, and presses that must change nothing.

use crate::on_both_engines;
use crate::support::{ROSTER, TestApp};
use chrono::Duration;
use fakebot::Call;
use fakebot::updates::{self, TgUser};
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(
    texts_show_the_dates_and_words_as_given,
    one_level_leave_is_approved_by_the_township,
    two_level_leave_goes_township_then_county,
    three_level_leave_goes_up_to_the_city,
    reject_asks_for_a_reason_that_reaches_the_cadre,
    leave_dialogue_survives_a_restart,
    rule_breaking_requests_are_refused_with_the_rule,
    cancelling_a_pending_request_updates_the_card,
    forged_stale_and_double_presses_change_nothing,
    simultaneous_presses_make_exactly_one_decision,
    pending_lists_open_cards_that_can_be_decided,
    approved_leave_days_show_in_me,
    today_is_the_configured_zone_s_day,
    reject_by_someone_without_a_card_is_refused_at_once,
);

struct People {
    cadre: TgUser,
    township: TgUser,
    county: TgUser,
    city: TgUser,
}

async fn everyone(t: &TestApp) -> People {
    let p = People {
        cadre: TgUser::new(7001, "张三"),
        township: TgUser::new(7002, "李四"),
        county: TgUser::new(7003, "王五"),
        city: TgUser::new(7004, "赵六"),
    };
    for (u, phone) in [
        (&p.cadre, "13800000001"),
        (&p.township, "13800000002"),
        (&p.county, "13800000003"),
        (&p.city, "13800000004"),
    ] {
        t.register(u, phone).await;
    }
    p
}

fn text(c: &Call) -> &str {
    c.text().unwrap_or_default()
}

/// Presses a button and returns the short answer the presser sees.
async fn press(t: &TestApp, who: &TgUser, card: &Call, button: &str) -> String {
    t.send(updates::click(who, card, button));
    let answer = t.tg.next_call("answerCallbackQuery").await;
    answer.body["text"].as_str().unwrap_or_default().to_string()
}

async fn one_level_leave_is_approved_by_the_township(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    // Today is 2026-11-25: two days need the township only.
    let submitted = t
        .ask(&p.cadre, "/leave 明天 11-27 回家照顾生病的父亲")
        .await;
    assert!(
        text(&submitted).contains("已提交请假申请 #1"),
        "{submitted}"
    );
    assert!(
        text(&submitted).contains("2026-11-26 至 2026-11-27，共 2 天"),
        "{submitted}"
    );
    assert!(text(&submitted).contains("乡镇（新堡乡）"), "{submitted}");

    let card = t.reply(&p.township).await;
    assert!(
        text(&card).contains("申请人：张三（贵阳市/乌当区/新堡乡/谷溪村）"),
        "{card}"
    );
    assert!(text(&card).contains("事由：回家照顾生病的父亲"), "{card}");
    assert_eq!(card.button_texts(), ["批准", "驳回"]);
    t.tg.assert_silent(p.county.id, StdDuration::from_millis(200))
        .await;

    assert_eq!(press(&t, &p.township, &card, "批准").await, "已批准。");
    let told = t.reply(&p.cadre).await;
    assert!(text(&told).contains("已批准"), "{told}");
    assert!(
        text(&told).contains("#1（2026-11-26 至 2026-11-27，共 2 天）"),
        "{told}"
    );
    let edited = t.reply(&p.township).await;
    assert_eq!(edited.method, "editMessageText");
    assert!(text(&edited).contains("✅ 已由 李四 批准"), "{edited}");
    assert!(
        edited.button_texts().is_empty(),
        "decided card has no buttons: {edited}"
    );
    t.stop().await;
}

async fn two_level_leave_goes_township_then_county(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    let submitted = t.ask(&p.cadre, "/leave 12-01 12-05 参加党校培训").await;
    assert!(
        text(&submitted).contains("乡镇（新堡乡） ⏳ → 区县（乌当区）"),
        "{submitted}"
    );
    let card = t.reply(&p.township).await;
    assert_eq!(
        press(&t, &p.township, &card, "批准").await,
        "已批准，已转上一级审批。"
    );
    let county_card = t.reply(&p.county).await;
    assert!(
        text(&county_card).contains("乡镇（新堡乡） ✅ → 区县（乌当区） ⏳"),
        "{county_card}"
    );
    let forwarded = t.reply(&p.cadre).await;
    assert!(
        text(&forwarded).contains("已通过乡镇审批，现转区县（乌当区）审批"),
        "{forwarded}"
    );
    assert_eq!(press(&t, &p.county, &county_card, "批准").await, "已批准。");
    assert!(text(&t.reply(&p.cadre).await).contains("已批准"));
    t.tg.assert_silent(p.city.id, StdDuration::from_millis(200))
        .await;
    t.stop().await;
}

async fn three_level_leave_goes_up_to_the_city(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    t.ask(&p.cadre, "/leave 12-01 12-10 回乡处理家事").await;
    for approver in [&p.township, &p.county] {
        let card = t.reply(approver).await;
        press(&t, approver, &card, "批准").await;
        t.reply(&p.cadre).await;
    }
    let city_card = t.reply(&p.city).await;
    assert!(text(&city_card).contains("市（贵阳市） ⏳"), "{city_card}");
    assert_eq!(press(&t, &p.city, &city_card, "批准").await, "已批准。");
    let done = t.reply(&p.cadre).await;
    assert!(text(&done).contains("共 10 天）已批准"), "{done}");
    t.stop().await;
}

async fn reject_asks_for_a_reason_that_reaches_the_cadre(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    t.ask(&p.cadre, "/leave 明天 明天 私事").await;
    let card = t.reply(&p.township).await;
    press(&t, &p.township, &card, "驳回").await;
    let prompt = t.reply(&p.township).await;
    assert!(text(&prompt).contains("驳回请假申请 #1 的理由"), "{prompt}");
    assert_eq!(prompt.reply_markup().unwrap()["force_reply"], true);
    // Nothing is decided before the reason comes.
    t.tg.assert_silent(p.cadre.id, StdDuration::from_millis(200))
        .await;
    let done = t.ask(&p.township, "明天有防汛检查，所有干部在岗").await;
    assert!(text(&done).contains("已驳回请假申请 #1"), "{done}");
    let told = t.reply(&p.cadre).await;
    assert!(text(&told).contains("被驳回"), "{told}");
    assert!(
        text(&told).contains("理由：明天有防汛检查，所有干部在岗"),
        "{told}"
    );
    let edited = t.reply(&p.township).await;
    assert!(text(&edited).contains("❌ 已由 李四 驳回"), "{edited}");
    // The approver's next message is a normal one again, not another reason.
    let next = t.ask(&p.township, "/pending").await;
    assert!(text(&next).contains("没有待您审批"), "{next}");
    t.stop().await;
}

async fn leave_dialogue_survives_a_restart(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    assert!(text(&t.ask(&p.cadre, "/leave").await).contains("从哪天开始"));
    assert!(text(&t.ask(&p.cadre, "下周一").await).contains("看不懂"));
    let asked_end = t.ask(&p.cadre, "12月1日").await;
    assert!(
        text(&asked_end).contains("开始日期：2026-12-01"),
        "{asked_end}"
    );
    let t = t.restart().await;
    assert!(text(&t.ask(&p.cadre, "11-30").await).contains("早于开始日期"));
    let asked_reason = t.ask(&p.cadre, "12-02").await;
    assert!(text(&asked_reason).contains("共 2 天"), "{asked_reason}");
    let submitted = t.ask(&p.cadre, "孩子开家长会").await;
    assert!(
        text(&submitted).contains("已提交请假申请 #1"),
        "{submitted}"
    );
    assert!(text(&t.reply(&p.township).await).contains("孩子开家长会"));
    // The dialogue is over: the next message is a work log.
    assert!(text(&t.ask(&p.cadre, "下午走访两户").await).contains("工作记实"));
    // /cancel leaves a dialogue.
    t.ask(&p.cadre, "/leave").await;
    assert_eq!(text(&t.ask(&p.cadre, "/cancel").await), "已取消。");
    assert!(text(&t.ask(&p.cadre, "晚上开会").await).contains("工作记实"));
    t.stop().await;
}

async fn rule_breaking_requests_are_refused_with_the_rule(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    let cases = [
        ("/leave 11-20 11-21 事由", "已经过去"),
        ("/leave 12-05 12-01 事由", "早于开始日期"),
        ("/leave 12-01 2027-01-15 长假", "超过了一次最多 30 天"),
        ("/leave 12-01 12-02", "请写明请假事由"),
        ("/leave 12月32日 12-02 事由", "看不懂"),
        ("/leave 12-01", "请假的用法"),
    ];
    for (input, expected) in cases {
        let answer = t.ask(&p.cadre, input).await;
        assert!(text(&answer).contains(expected), "{input}: {answer}");
    }
    t.ask(&p.cadre, "/leave 12-01 12-02 第一次").await;
    let overlap = t.ask(&p.cadre, "/leave 12-02 12-03 第二次").await;
    assert!(
        text(&overlap).contains("与您已有的请假（2026-12-01 至 2026-12-02）时间重叠"),
        "{overlap}"
    );
    // Only the first one reached the approver.
    t.reply(&p.township).await;
    t.tg.assert_silent(p.township.id, StdDuration::from_millis(300))
        .await;
    let not_cadre = t.ask(&p.township, "/leave 12-01 12-02 事由").await;
    assert!(text(&not_cadre).contains("只有驻村干部"), "{not_cadre}");
    t.stop().await;
}

async fn cancelling_a_pending_request_updates_the_card(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    t.ask(&p.cadre, "/leave 12-01 12-02 家中有事").await;
    let card = t.reply(&p.township).await;
    let list = t.ask(&p.cadre, "/leaves").await;
    assert!(
        text(&list).contains("#1 2026-12-01 至 2026-12-02（2 天）待审批"),
        "{list}"
    );
    assert_eq!(
        press(&t, &p.cadre, &list, "撤销 #1").await,
        "请假申请 #1 已撤销，审批人那里也已更新。"
    );
    let edited = t.reply(&p.township).await;
    assert!(text(&edited).contains("已由申请人撤销"), "{edited}");
    assert!(edited.button_texts().is_empty());
    t.reply(&p.cadre).await;
    let answer = press(&t, &p.township, &card, "批准").await;
    assert!(answer.contains("已经处理过了"), "{answer}");
    assert!(text(&t.ask(&p.cadre, "/leaves").await).contains("已撤销"));
    t.stop().await;
}

async fn forged_stale_and_double_presses_change_nothing(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    t.ask(&p.cadre, "/leave 12-01 12-04 培训").await;
    let card = t.reply(&p.township).await;
    // The county approver presses a copy of the township's card: not his level.
    assert_eq!(
        press(&t, &p.county, &card, "批准").await,
        "您无权处理这条申请。"
    );
    // The cadre approves his own request with forged data.
    t.send(updates::callback(
        &p.cadre,
        "lv:1:0:a",
        card.message().unwrap(),
    ));
    assert_eq!(
        t.tg.next_call("answerCallbackQuery").await.body["text"],
        "您无权处理这条申请。"
    );
    // Garbage data.
    t.send(updates::callback(
        &p.township,
        "lv:1:0:a:x",
        card.message().unwrap(),
    ));
    assert_eq!(
        t.tg.next_call("answerCallbackQuery").await.body["text"],
        "这个按钮已失效。"
    );
    // An unregistered stranger.
    let stranger = TgUser::new(9999, "路人");
    t.send(updates::click(&stranger, &card, "批准"));
    assert_eq!(
        t.tg.next_call("answerCallbackQuery").await.body["text"],
        "请先在私聊中注册。"
    );
    t.tg.assert_silent(p.cadre.id, StdDuration::from_millis(200))
        .await;
    // The real decision, then the same button again.
    assert_eq!(
        press(&t, &p.township, &card, "批准").await,
        "已批准，已转上一级审批。"
    );
    let again = press(&t, &p.township, &card, "批准").await;
    assert!(
        again.contains("已经处理过了") && again.contains("李四"),
        "{again}"
    );
    t.reply(&p.cadre).await;
    t.tg.assert_silent(p.cadre.id, StdDuration::from_millis(300))
        .await;
    let request = t.store().leave_request(1).await.unwrap().unwrap();
    assert_eq!(request.step, 1, "exactly one level was approved");
    t.stop().await;
}

async fn simultaneous_presses_make_exactly_one_decision(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    // A second township approver.
    t.import(&format!(
        "{ROSTER}孙八,13800000006,approver,贵阳市/乌当区/新堡乡,\n"
    ))
    .await;
    let sun = TgUser::new(7006, "孙八");
    t.register(&sun, "13800000006").await;
    t.ask(&p.cadre, "/leave 明天 明天 家中有事").await;
    let li_card = t.reply(&p.township).await;
    let sun_card = t.reply(&sun).await;
    // Both press at the same moment (one update batch; different chats run concurrently).
    t.tg.push_updates([
        updates::click(&p.township, &li_card, "批准"),
        updates::click(&sun, &sun_card, "批准"),
    ]);
    let a = t.tg.next_call("answerCallbackQuery").await;
    let b = t.tg.next_call("answerCallbackQuery").await;
    let answers = [a.body["text"].to_string(), b.body["text"].to_string()];
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.contains("\"已批准。\""))
            .count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.contains("已经处理过了"))
            .count(),
        1,
        "{answers:?}"
    );
    assert!(text(&t.reply(&p.cadre).await).contains("已批准"));
    t.tg.assert_silent(p.cadre.id, StdDuration::from_millis(400))
        .await;
    // Both cards now show the one decision.
    for (who, card) in [(&p.township, &li_card), (&sun, &sun_card)] {
        let edited = t.reply(who).await;
        assert_eq!(edited.target_message_id(), card.message_id());
        assert!(text(&edited).contains("✅ 已由"), "{edited}");
    }
    t.stop().await;
}

async fn pending_lists_open_cards_that_can_be_decided(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    assert!(text(&t.ask(&p.township, "/pending").await).contains("没有待您审批"));
    t.ask(&p.cadre, "/leave 12-01 12-01 体检").await;
    t.reply(&p.township).await;
    let header = t.ask(&p.township, "/pending").await;
    assert!(text(&header).contains("共 1 条"), "{header}");
    let copy = t.reply(&p.township).await;
    assert!(text(&copy).contains("事由：体检"), "{copy}");
    assert_eq!(press(&t, &p.township, &copy, "批准").await, "已批准。");
    assert!(text(&t.reply(&p.cadre).await).contains("已批准"));
    t.stop().await;
}

async fn approved_leave_days_show_in_me(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    // Logs on the 25th and 27th; leave on the 26th-27th.
    t.ask(&p.cadre, "今天的工作").await;
    t.ask(&p.cadre, "/leave 明天 11-27 家中有事").await;
    let card = t.reply(&p.township).await;
    press(&t, &p.township, &card, "批准").await;
    t.reply(&p.cadre).await;
    t.clock.advance(Duration::days(2));
    t.ask(&p.cadre, "休假中也处理了一件急事").await;
    let me = t.ask(&p.cadre, "/me").await;
    assert!(text(&me).contains("有记实的天数：2 天"), "{me}");
    assert!(text(&me).contains("已批准的请假天数：2 天"), "{me}");
    assert!(text(&me).contains("计入驻村补助的天数：1 天"), "{me}");
    t.stop().await;
}

async fn today_is_the_configured_zone_s_day(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    // 16:30 UTC on the 25th is already 00:30 on the 26th in Beijing.
    t.clock.advance(Duration::minutes(14 * 60 + 30));
    let past = t.ask(&p.cadre, "/leave 11-25 11-25 体检").await;
    assert!(text(&past).contains("已经过去"), "{past}");
    let submitted = t.ask(&p.cadre, "/leave 今天 今天 体检").await;
    assert!(
        text(&submitted).contains("2026-11-26 至 2026-11-26，共 1 天"),
        "{submitted}"
    );
    t.stop().await;
}

async fn reject_by_someone_without_a_card_is_refused_at_once(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    t.ask(&p.cadre, "/leave 12-01 12-04 培训").await;
    let card = t.reply(&p.township).await;
    for who in [&p.county, &p.cadre] {
        assert_eq!(press(&t, who, &card, "驳回").await, "您无权处理这条申请。");
        // Not asked for a reason.
        t.tg.assert_silent(who.id, StdDuration::from_millis(200))
            .await;
    }
    let request = t.store().leave_request(1).await.unwrap().unwrap();
    assert_eq!(request.step, 0);
    t.stop().await;
}

/// A refusal names the date it refuses; a reason that looks like a placeholder stays as the
/// cadre wrote it (templates are filled in one pass).
async fn texts_show_the_dates_and_words_as_given(engine: Engine) {
    let t = TestApp::start(engine).await;
    let p = everyone(&t).await;
    let refused = t
        .ask(&p.cadre, "/leave 2000-01-01 2000-01-02 家里有事")
        .await;
    assert!(text(&refused).contains("2000-01-01"), "{refused}");
    assert!(!text(&refused).contains("{start}"), "{refused}");
    let submitted = t
        .ask(&p.cadre, "/leave 明天 11-27 照顾{chain}老人{start}")
        .await;
    assert!(
        text(&submitted).contains("已提交请假申请 #1"),
        "{submitted}"
    );
    let card = t.reply(&p.township).await;
    assert!(
        text(&card).contains("事由：照顾{chain}老人{start}"),
        "{card}"
    );
    t.stop().await;
}
