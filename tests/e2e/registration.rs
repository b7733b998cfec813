//! Registration as a person would try it: by shared contact, by invite link, and the refusals.

use crate::on_both_engines;
use crate::support::{ROSTER, TestApp};
use chrono::Duration;
use domain::Clock;
use fakebot::updates::{self, TgUser};
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(
    unknown_user_is_asked_to_share_his_phone,
    own_contact_on_the_roster_registers,
    someone_elses_contact_is_refused_and_binds_nothing,
    phone_not_on_roster_is_refused,
    deactivated_person_is_refused,
    invite_code_registers_once,
    expired_invite_is_refused,
    redelivered_update_is_handled_once,
    registered_person_gets_help_and_can_switch_language,
    group_messages_are_ignored,
);

fn zhang() -> TgUser {
    TgUser::new(7001, "张三")
}

async fn unknown_user_is_asked_to_share_his_phone(engine: Engine) {
    let t = TestApp::start(engine).await;
    let stranger = TgUser::new(9001, "路人");
    let answer = t.ask(&stranger, "你好").await;
    assert!(
        answer.text().unwrap().contains("分享我的手机号"),
        "{answer}"
    );
    let keyboard = answer.reply_markup().expect("a reply keyboard");
    assert_eq!(
        keyboard["keyboard"][0][0]["request_contact"], true,
        "{answer}"
    );
    // Commands other than /start do nothing before registration either.
    let answer = t.ask(&stranger, "/help").await;
    assert!(
        answer.text().unwrap().contains("分享我的手机号"),
        "{answer}"
    );
    t.stop().await;
}

async fn own_contact_on_the_roster_registers(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = zhang();
    // Telegram sends numbers with a country code and no plus.
    t.send(updates::contact(&user, "8613800000001", Some(user.id)));
    let welcome = t.reply(&user).await;
    let text = welcome.text().unwrap();
    assert!(
        text.contains("注册成功") && text.contains("张三"),
        "{welcome}"
    );
    assert!(
        text.contains("贵阳市/乌当区/新堡乡/谷溪村") && text.contains("驻村干部"),
        "{welcome}"
    );
    assert_eq!(welcome.reply_markup().unwrap()["remove_keyboard"], true);
    let person = t
        .store()
        .person_by_tg(user.id)
        .await
        .unwrap()
        .expect("bound");
    assert_eq!(person.phone, "13800000001");
    // Sharing again is harmless.
    t.send(updates::contact(&user, "13800000001", Some(user.id)));
    assert!(t.reply(&user).await.text().unwrap().contains("已经注册"));
    t.stop().await;
}

async fn someone_elses_contact_is_refused_and_binds_nothing(engine: Engine) {
    let t = TestApp::start(engine).await;
    let spoofer = TgUser::new(7002, "冒充者");
    // Forwarding 张三's contact card: it carries 张三's user id, not the sender's.
    t.send(updates::contact(&spoofer, "13800000001", Some(7001)));
    let answer = t.reply(&spoofer).await;
    assert!(
        answer.text().unwrap().contains("只能分享您本人的手机号"),
        "{answer}"
    );
    // A contact typed in by hand has no user id at all.
    t.send(updates::contact(&spoofer, "13800000001", None));
    let answer = t.reply(&spoofer).await;
    assert!(
        answer.text().unwrap().contains("只能分享您本人的手机号"),
        "{answer}"
    );
    assert!(t.store().person_by_tg(spoofer.id).await.unwrap().is_none());
    let zhang = t
        .store()
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(zhang.tg_user_id, None);
    // The real owner can still register.
    t.register(&self::zhang(), "13800000001").await;
    t.stop().await;
}

async fn phone_not_on_roster_is_refused(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = TgUser::new(7003, "外人");
    t.send(updates::contact(&user, "+86 139 0000 0000", Some(user.id)));
    let answer = t.reply(&user).await;
    let text = answer.text().unwrap();
    assert!(
        text.contains("不在驻村干部名册中") && text.contains("13900000000"),
        "{answer}"
    );
    assert!(t.store().person_by_tg(user.id).await.unwrap().is_none());
    // Still unregistered: the next message asks for the phone again.
    assert!(
        t.ask(&user, "在吗")
            .await
            .text()
            .unwrap()
            .contains("分享我的手机号")
    );
    t.stop().await;
}

async fn deactivated_person_is_refused(engine: Engine) {
    let t = TestApp::start(engine).await;
    let li = TgUser::new(7004, "李四");
    let zhang = zhang();
    t.register(&zhang, "13800000001").await;
    // A later roster drops both 张三 (registered) and 李四 (not yet registered).
    let later: String = ROSTER
        .lines()
        .filter(|l| !l.contains("张三") && !l.contains("李四"))
        .map(|l| format!("{l}\n"))
        .collect();
    t.import(&later).await;
    t.send(updates::contact(&li, "13800000002", Some(li.id)));
    assert!(t.reply(&li).await.text().unwrap().contains("已停用"));
    assert!(t.store().person_by_tg(li.id).await.unwrap().is_none());
    assert!(
        t.ask(&zhang, "/help")
            .await
            .text()
            .unwrap()
            .contains("已停用")
    );
    t.stop().await;
}

async fn invite_code_registers_once(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (code, _) = t
        .store()
        .create_invite("13800000003", t.clock.now(), Duration::days(14))
        .await
        .unwrap();
    let wang = TgUser::new(7005, "王五");
    let welcome = t.ask(&wang, &format!("/start {code}")).await;
    let text = welcome.text().unwrap();
    assert!(
        text.contains("注册成功") && text.contains("王五"),
        "{welcome}"
    );
    assert!(
        text.contains("审批人") && text.contains("动态报送员"),
        "{welcome}"
    );
    // The same link opened by someone else does not bind him.
    let other = TgUser::new(7006, "别人");
    let answer = t.ask(&other, &format!("/start {code}")).await;
    assert!(answer.text().unwrap().contains("已被使用"), "{answer}");
    assert!(t.store().person_by_tg(other.id).await.unwrap().is_none());
    let answer = t.ask(&other, "/start WRONGCODE").await;
    assert!(answer.text().unwrap().contains("邀请码无效"), "{answer}");
    // The registered person opening the link again is told he is registered.
    assert!(
        t.ask(&wang, &format!("/start {code}"))
            .await
            .text()
            .unwrap()
            .contains("已经注册")
    );
    t.stop().await;
}

async fn expired_invite_is_refused(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (code, _) = t
        .store()
        .create_invite("13800000004", t.clock.now(), Duration::days(14))
        .await
        .unwrap();
    t.clock.advance(Duration::days(15));
    let zhao = TgUser::new(7007, "赵六");
    let answer = t.ask(&zhao, &format!("/start {code}")).await;
    assert!(answer.text().unwrap().contains("已过期"), "{answer}");
    assert!(t.store().person_by_tg(zhao.id).await.unwrap().is_none());
    t.stop().await;
}

async fn redelivered_update_is_handled_once(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = zhang();
    let mut update = updates::contact(&user, "13800000001", Some(user.id));
    let id = t.send(update.clone());
    t.reply(&user).await;
    // Telegram redelivers the same update (e.g. after a restart before the offset was saved).
    update["update_id"] = id.into();
    t.send(update);
    t.tg.assert_silent(user.id, StdDuration::from_millis(700))
        .await;
    t.stop().await;
}

async fn registered_person_gets_help_and_can_switch_language(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = zhang();
    t.register(&user, "13800000001").await;
    let help = t.ask(&user, "/help").await;
    let text = help.text().unwrap();
    assert!(text.contains("/help") && text.contains("/lang"), "{help}");
    let unknown = t.ask(&user, "/fly").await;
    assert!(
        unknown.text().unwrap().contains("没有这个命令"),
        "{unknown}"
    );
    assert!(unknown.text().unwrap().contains("/help"), "{unknown}");
    assert!(
        t.ask(&user, "/lang fr")
            .await
            .text()
            .unwrap()
            .contains("/lang en")
    );
    assert_eq!(
        t.ask(&user, "/lang en").await.text().unwrap(),
        "Language set to English."
    );
    assert!(
        t.ask(&user, "/help")
            .await
            .text()
            .unwrap()
            .starts_with("Commands:")
    );
    assert_eq!(
        t.ask(&user, "/lang zh").await.text().unwrap(),
        "已切换为中文。"
    );
    t.stop().await;
}

async fn group_messages_are_ignored(engine: Engine) {
    let t = TestApp::start(engine).await;
    let user = zhang();
    t.send(updates::text_in_group(&user, -100_555, "大家好"));
    t.tg.assert_silent(-100_555, StdDuration::from_millis(500))
        .await;
    t.tg.assert_silent(user.id, StdDuration::from_millis(100))
        .await;
    t.stop().await;
}
