//! Sharing (互动分享) as cadres and the sharing group see it: `/share` on one's own receipt
//! and its refusals, the post in the group, comments and reactions counted (added, changed,
//! removed), chatter ignored, and the `share-digest` job.

use crate::on_both_engines;
use crate::support::TestApp;
use domain::Clock;
use domain::config::Config;
use fakebot::channels::reaction;
use fakebot::updates::{self, TgUser};
use fakebot::{Call, FakeTelegram};
use scheduler::Job;
use serde_json::Value;
use std::time::Duration as StdDuration;
use storage::{Engine, ShareCounts};

on_both_engines!(
    share_posts_his_own_log_to_the_group_once_and_confirms,
    share_is_refused_without_a_receipt_or_a_group,
    a_photo_log_is_shared_with_its_photos,
    comments_and_reactions_count_once_per_person_and_removed_ones_stop_counting,
    share_digest_sums_up_what_is_new_once_per_author,
    a_refusing_sharing_group_tells_the_admins_once,
);

const GROUP: i64 = -1_002_000_000_002;
const SILENCE: StdDuration = StdDuration::from_millis(300);

async fn start(engine: Engine) -> TestApp {
    let mut config = Config::default();
    config.telegram.sharing_chat_id = Some(GROUP);
    TestApp::start_with(engine, config, Some(crate::support::ROSTER)).await
}

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

/// The cadre logs `text`, shares it by replying `/share` to the receipt; returns the
/// confirmation and the group's post.
async fn log_and_share(t: &TestApp, user: &TgUser, text: &str) -> (Call, Call) {
    let receipt = t.ask(user, text).await;
    t.send(updates::reply_to(
        user,
        "/share",
        receipt.message().unwrap(),
    ));
    let confirm = t.reply(user).await;
    let post = t.tg.next_to(GROUP).await;
    recorded(t, &post).await;
    (confirm, post)
}

/// Waits until the sender has recorded the post's messages (it does so right after the
/// send): a reply in that instant would find no shared post.
async fn recorded(t: &TestApp, post: &Call) {
    let ids: Vec<i64> = match &post.result {
        Value::Array(all) => all
            .iter()
            .filter_map(|m| m["message_id"].as_i64())
            .collect(),
        one => one["message_id"].as_i64().into_iter().collect(),
    };
    let store = t.store().clone();
    eventually("the post is recorded", || {
        let (store, ids) = (store.clone(), ids.clone());
        async move {
            for id in ids {
                if store.shared_log_of(GROUP, id).await.unwrap().is_none() {
                    return false;
                }
            }
            true
        }
    })
    .await;
}

fn message_of(tg: &FakeTelegram, post: &Call) -> Value {
    let msg = match &post.result {
        Value::Array(all) => all[0].clone(),
        one => one.clone(),
    };
    let id = msg["message_id"].as_i64().unwrap();
    tg.message(GROUP, id).unwrap_or(msg)
}

/// Waits until the outbox has nothing pending: the clock may jump only then, or a send
/// under way would outlive its lease on the test clock and go out twice.
async fn settled(t: &TestApp) {
    let store = t.store().clone();
    eventually("the outbox settles", || {
        let store = store.clone();
        async move { store.outbox_counts().await.unwrap().0 == 0 }
    })
    .await;
}

async fn counts(t: &TestApp, user: &TgUser) -> ShareCounts {
    let log = t
        .store()
        .person_logs(t.person_id(user).await)
        .await
        .unwrap()[0]
        .id;
    t.store().share_counts(log).await.unwrap()
}

async fn share_posts_his_own_log_to_the_group_once_and_confirms(engine: Engine) {
    let t = start(engine).await;
    let cadre = t.cadre().await;
    let receipt = t.ask(&cadre, "组织村民开展人居环境整治").await;
    let share = updates::reply_to(&cadre, "/share", receipt.message().unwrap());
    t.send(share.clone());
    let confirm = t.reply(&cadre).await;
    assert_eq!(
        confirm.text().unwrap(),
        "已把第 1 条记实（2026-11-25）分享到交流群。有新的评论或点赞时，每天晚上汇总告诉您一次。"
    );
    let post = t.tg.next_to(GROUP).await;
    assert_eq!(
        post.text().unwrap(),
        "【张三 · 谷溪村】驻村记实 · 2026-11-25\n\n组织村民开展人居环境整治"
    );
    // Again on the same receipt: refused, nothing posted twice.
    let mut again = share;
    again["message"]["message_id"] = serde_json::json!(updates::next_message_id());
    t.send(again);
    let refused = t.reply(&cadre).await;
    assert_eq!(
        refused.text().unwrap(),
        "这条记实已经分享过了，不会重复发送。"
    );
    t.tg.assert_silent(GROUP, SILENCE).await;
    t.stop().await;
}

async fn share_is_refused_without_a_receipt_or_a_group(engine: Engine) {
    let t = start(engine).await;
    let cadre = t.cadre().await;
    let alone = t.ask(&cadre, "/share").await;
    assert!(
        alone
            .text()
            .unwrap()
            .contains("回复（引用）它并发送 /share"),
        "{alone}"
    );
    // A reply to a bot message that is no receipt (the help).
    let help = t.ask(&cadre, "/help").await;
    t.send(updates::reply_to(&cadre, "/share", help.message().unwrap()));
    let refused = t.reply(&cadre).await;
    assert!(
        refused.text().unwrap().contains("回复（引用）它"),
        "{refused}"
    );
    // A reply to his own message (the log itself, not its receipt).
    let log = updates::text(&cadre, "今天的记实");
    let log_msg = log["message"].clone();
    t.send(log);
    t.reply(&cadre).await;
    t.send(updates::reply_to(&cadre, "/share", &log_msg));
    let refused = t.reply(&cadre).await;
    assert!(
        refused.text().unwrap().contains("回复（引用）它"),
        "{refused}"
    );
    t.tg.assert_silent(GROUP, SILENCE).await;
    t.stop().await;

    // Without a sharing group, sharing is not set up.
    let t = TestApp::start(engine).await;
    let cadre = t.cadre().await;
    let receipt = t.ask(&cadre, "记实").await;
    t.send(updates::reply_to(
        &cadre,
        "/share",
        receipt.message().unwrap(),
    ));
    let refused = t.reply(&cadre).await;
    assert_eq!(
        refused.text().unwrap(),
        "分享功能还没有开通（没有配置交流群），请联系管理员。"
    );
    t.stop().await;
}

async fn a_photo_log_is_shared_with_its_photos(engine: Engine) {
    let t = start(engine).await;
    let cadre = t.cadre().await;
    for (file, caption) in [("s-1", Some("新修的村道")), ("s-2", None)] {
        t.send(updates::photo(&cadre, file, caption, Some("sh-alb")));
    }
    let (tr, cr) = (&t, &cadre);
    eventually("both photos are in the log", || async move {
        let logs = tr
            .store()
            .person_logs(tr.person_id(cr).await)
            .await
            .unwrap();
        logs.first().is_some_and(|l| l.files.len() == 2)
    })
    .await;
    t.pass_album_quiet_time();
    let receipt = t.reply(&cadre).await;
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    t.send(updates::reply_to(
        &cadre,
        "/share",
        receipt.message().unwrap(),
    ));
    let confirm = t.reply(&cadre).await;
    assert!(
        confirm.text().unwrap().contains("已把第 1 条记实"),
        "{confirm}"
    );
    let post = t.tg.next_to(GROUP).await;
    assert_eq!(post.method, "sendMediaGroup", "{post}");
    recorded(&t, &post).await;
    let media = post.body["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    assert_eq!(
        media[0]["caption"].as_str(),
        Some("【张三 · 谷溪村】驻村记实 · 2026-11-25\n\n新修的村道")
    );
    // A reply to the album's second photo is a comment on the same log.
    let second = {
        let id = post.result[1]["message_id"].as_i64().unwrap();
        t.tg.message(GROUP, id).unwrap()
    };
    let li = TgUser::new(9001, "李一");
    t.send(updates::reply_to(&li, "路修得真好", &second));
    let (t2, cadre2) = (&t, &cadre);
    eventually("the comment counts", || async move {
        counts(t2, cadre2).await.comments == 1
    })
    .await;
    t.stop().await;
}

async fn comments_and_reactions_count_once_per_person_and_removed_ones_stop_counting(
    engine: Engine,
) {
    let t = start(engine).await;
    let cadre = t.cadre().await;
    let (_, post) = log_and_share(&t, &cadre, "帮助合作社对接销路").await;
    let post_msg = message_of(&t.tg, &post);
    let post_id = post_msg["message_id"].as_i64().unwrap();
    let (li, wang) = (TgUser::new(9001, "李一"), TgUser::new(9002, "王二"));

    t.send(updates::reply_to(&li, "学习了，很好的做法", &post_msg));
    t.send(reaction(&li, GROUP, post_id, &[], &["👍"]));
    t.send(reaction(&li, GROUP, post_id, &["👍"], &["👍", "❤"]));
    t.send(reaction(&wang, GROUP, post_id, &[], &["🔥"]));
    let (tr, cr) = (&t, &cadre);
    eventually("two people react, once each", || async move {
        counts(tr, cr).await
            == ShareCounts {
                comments: 1,
                reactions: 2,
            }
    })
    .await;
    // 李一 takes his reactions back: he stops counting.
    t.send(reaction(&li, GROUP, post_id, &["👍", "❤"], &[]));
    eventually("the removed reaction stops counting", || async move {
        counts(tr, cr).await.reactions == 1
    })
    .await;

    // Chatter in the group, a reply to something else, and a reaction elsewhere count
    // for nothing and become no log; the bot says nothing in the group.
    let chatter = updates::text_in_group(&li, GROUP, "大家好");
    let chatter_msg = chatter["message"].clone();
    t.send(chatter);
    t.send(updates::reply_to(&wang, "你好", &chatter_msg));
    t.send(reaction(
        &wang,
        GROUP,
        chatter_msg["message_id"].as_i64().unwrap(),
        &[],
        &["👍"],
    ));
    // A registered cadre's chatter in the group is no log of his.
    t.send(updates::text_in_group(&cadre, GROUP, "我在群里说话"));
    t.send(updates::reply_to(&li, "再评论一条", &post_msg));
    eventually("the last comment counts", || async move {
        counts(tr, cr).await.comments == 2
    })
    .await;
    assert_eq!(counts(&t, &cadre).await.reactions, 1);
    let logs = t
        .store()
        .person_logs(t.person_id(&cadre).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "group chatter is never a log");
    t.tg.assert_silent(GROUP, SILENCE).await;
    let per_cadre = t.store().shares_by_cadre().await.unwrap();
    assert_eq!(per_cadre.len(), 1);
    assert_eq!(per_cadre[0].person_id, t.person_id(&cadre).await);
    assert_eq!(
        (per_cadre[0].shared, per_cadre[0].counts),
        (
            1,
            ShareCounts {
                comments: 2,
                reactions: 1
            }
        )
    );
    t.stop().await;
}

async fn share_digest_sums_up_what_is_new_once_per_author(engine: Engine) {
    let t = start(engine).await;
    let cadre = t.cadre().await;
    let (_, post) = log_and_share(&t, &cadre, "召开院坝会").await;
    let post_msg = message_of(&t.tg, &post);
    let post_id = post_msg["message_id"].as_i64().unwrap();
    let run = |n: u32| {
        let (store, config, now) = (t.store().clone(), t.app.config.clone(), t.clock.now());
        async move {
            Job::ShareDigest
                .execute(&store, &config, now, &format!("e2e-{n}"))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        run(1).await,
        "share-digest: 0 digests queued",
        "nothing new"
    );
    let people = [
        TgUser::new(9001, "李一"),
        TgUser::new(9002, "王二"),
        TgUser::new(9003, "赵三"),
        TgUser::new(9004, "钱四"),
    ];
    for (i, p) in people.iter().enumerate() {
        t.send(updates::reply_to(
            p,
            &format!("第{}条评论", i + 1),
            &post_msg,
        ));
    }
    t.send(reaction(&people[0], GROUP, post_id, &[], &["👍"]));
    // The author's own reply and reaction are no news to him.
    t.send(updates::reply_to(&cadre, "谢谢大家", &post_msg));
    t.send(reaction(&cadre, GROUP, post_id, &[], &["🙏"]));
    let (tr, cr) = (&t, &cadre);
    eventually("all interactions recorded", || async move {
        counts(tr, cr).await
            == ShareCounts {
                comments: 5,
                reactions: 2,
            }
    })
    .await;
    settled(&t).await;
    t.clock.advance(chrono::Duration::hours(9));
    assert_eq!(run(2).await, "share-digest: 1 digest queued");
    t.app.wake_sender();
    let digest = t.reply(&cadre).await;
    assert_eq!(
        digest.text().unwrap(),
        "您分享的记实有新的互动：4 条评论，1 个点赞。\n· 李一：第1条评论\n· 王二：第2条评论\n· 赵三：第3条评论"
    );
    // Once: the next run has nothing new, until something new comes.
    settled(&t).await;
    t.clock.advance(chrono::Duration::hours(24));
    assert_eq!(run(3).await, "share-digest: 0 digests queued");
    t.send(reaction(&people[1], GROUP, post_id, &[], &["👏"]));
    eventually("the new reaction counts", || async move {
        counts(tr, cr).await.reactions == 3
    })
    .await;
    t.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(run(4).await, "share-digest: 1 digest queued");
    t.app.wake_sender();
    let digest = t.reply(&cadre).await;
    assert_eq!(
        digest.text().unwrap(),
        "您分享的记实有新的互动：0 条评论，1 个点赞。"
    );
    t.stop().await;
}

async fn a_refusing_sharing_group_tells_the_admins_once(engine: Engine) {
    let t = start(engine).await;
    let cadre = t.cadre().await;
    let admin = TgUser::new(7004, "赵六");
    t.register(&admin, "13800000004").await;
    t.tg.set_chat_refusing(
        GROUP,
        Some((403, "Forbidden: bot was kicked from the supergroup chat")),
    );
    let receipt = t.ask(&cadre, "记实一").await;
    t.send(updates::reply_to(
        &cadre,
        "/share",
        receipt.message().unwrap(),
    ));
    t.reply(&cadre).await;
    let told = t.reply(&admin).await;
    assert!(told.text().unwrap().contains("交流群"), "{told}");
    let receipt = t.ask(&cadre, "记实二").await;
    t.send(updates::reply_to(
        &cadre,
        "/share",
        receipt.message().unwrap(),
    ));
    t.reply(&cadre).await;
    t.tg.assert_silent(admin.id, SILENCE).await;
    let tries =
        t.tg.calls_to("sendMessage")
            .iter()
            .filter(|c| c.chat_id() == Some(GROUP))
            .count();
    assert_eq!(tries, 2, "each post tried once");
    assert_eq!(t.store().shares_by_cadre().await.unwrap()[0].shared, 2);
    t.stop().await;
}
