//! Tutoring as cadres and tutors use it: `/ask` with its topic buttons, the tutor's card,
//! answers and follow-ups relayed both ways as replies (text, photo, voice, file), 转交,
//! similar earlier answers, ratings, the reminder and reassignment deadlines, and what
//! people without authority are refused.

use crate::on_both_engines;
use crate::support::{ROSTER, TestApp};
use chrono::Duration;
use domain::config::Config;
use fakebot::Call;
use fakebot::updates::{self, TgUser};
use serde_json::Value;
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(
    ask_goes_to_the_nearest_tutor_of_the_topic_who_gets_a_card,
    answers_and_follow_ups_travel_as_replies_both_ways_in_any_form,
    photo_question_arrives_with_its_photo_under_the_card,
    ask_alone_starts_a_dialogue_that_can_be_cancelled,
    similar_earlier_answers_come_with_the_receipt,
    policy_documents_join_the_similar_answers_ranked_together,
    passing_on_gives_the_new_tutor_the_thread_so_far,
    passing_to_a_named_tutor_from_the_menu,
    rating_an_answer_tells_the_tutor,
    unanswered_questions_are_reminded_then_reassigned,
    topic_without_tutor_goes_to_an_admin_or_the_default_tutor,
    replies_to_unknown_messages_get_help_and_strangers_change_nothing,
    questions_lists_own_questions_and_the_tutors_queue,
    an_answer_that_cannot_be_delivered_is_reported_to_its_writer,
);

const SILENCE: StdDuration = StdDuration::from_millis(400);

/// The example roster, plus 孙八 (city tutor of 农业技术 and 政策法规) and 吴十 (a cadre of
/// another county).
const ROSTER_PLUS: &str = "孙八,13800000006,tutor,贵阳市,农业技术;政策法规
吴十,13800000008,cadre,贵阳市/花溪区/青岩镇/龙井村,
";

fn zhang() -> TgUser {
    TgUser::new(7001, "张三")
}
fn wang() -> TgUser {
    TgUser::new(7003, "王五")
}
fn zhao() -> TgUser {
    TgUser::new(7004, "赵六")
}
fn qian() -> TgUser {
    TgUser::new(7005, "钱七")
}
fn sun() -> TgUser {
    TgUser::new(7006, "孙八")
}
fn wu() -> TgUser {
    TgUser::new(7008, "吴十")
}

/// The app with the larger roster and everyone needed registered.
async fn start(engine: Engine) -> TestApp {
    let t = TestApp::start(engine).await;
    t.import(&format!("{ROSTER}{ROSTER_PLUS}")).await;
    for (user, phone) in [
        (zhang(), "13800000001"),
        (qian(), "13800000005"),
        (sun(), "13800000006"),
    ] {
        t.register(&user, phone).await;
    }
    t
}

/// The Message JSON a call produced (copyMessage answers only its id).
fn message_of(t: &TestApp, chat: i64, call: &Call) -> Value {
    let id = call.message_id().expect("a sent message");
    t.tg.message(chat, id)
        .expect("the fake keeps sent messages")
}

/// Waits for the next call to `chat` that satisfies `pred` (others stay unseen).
async fn next_where(t: &TestApp, chat: i64, pred: impl Fn(&Call) -> bool) -> Call {
    match t
        .tg
        .wait_for(fakebot::DEFAULT_TIMEOUT, |c| {
            c.is_ok() && c.chat_id() == Some(chat) && c.method != "getUpdates" && pred(c)
        })
        .await
    {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn text_contains(c: &Call, s: &str) -> bool {
    c.text().is_some_and(|t| t.contains(s))
}

/// A message of `from` replying to `replied`, of any kind (`update` built by `updates::*`).
fn replying(mut update: Value, replied: &Value) -> Value {
    updates::set(&mut update, "/message/reply_to_message", replied.clone());
    update
}

struct Asked {
    /// The cadre's message that asked.
    question: Value,
    /// The topic buttons.
    prompt: Call,
    receipt: Call,
    card: Call,
    id: i64,
}

/// `cadre` asks with `update` (an `/ask …` message), chooses `topic`; the card reaches `tutor`.
async fn ask_with(
    t: &TestApp,
    cadre: &TgUser,
    update: Value,
    topic: &str,
    tutor: &TgUser,
) -> Asked {
    let question = updates::message(&update).cloned().expect("a message");
    t.send(update);
    let prompt = t.reply(cadre).await;
    assert_eq!(
        prompt.text(),
        Some("请选择问题的类别，问题会转给这一类别的辅导员："),
        "{prompt}"
    );
    t.send(updates::click(cadre, &prompt, topic));
    let receipt = t.reply(cadre).await;
    assert_eq!(receipt.method, "editMessageText", "{receipt}");
    let card = t.reply(tutor).await;
    // The test clock stands still: let the card's delivery be recorded before anything
    // refreshes it (see `settle`).
    settle(t).await;
    let person = t.person_id(cadre).await;
    let id = t.store().questions_of(person, 1).await.unwrap()[0].id;
    Asked {
        question,
        prompt,
        receipt,
        card,
        id,
    }
}

async fn ask(t: &TestApp, cadre: &TgUser, text: &str, topic: &str, tutor: &TgUser) -> Asked {
    ask_with(
        t,
        cadre,
        updates::text(cadre, &format!("/ask {text}")),
        topic,
        tutor,
    )
    .await
}

/// `tutor` answers by replying to `replied` with text; returns the copy the cadre got.
async fn answer(t: &TestApp, tutor: &TgUser, replied: &Value, text: &str, cadre: &TgUser) -> Call {
    t.send(updates::reply_to(tutor, text, replied));
    let copy = next_where(t, cadre.id, |c| c.method == "copyMessage").await;
    next_where(t, tutor.id, |c| text_contains(c, "✅ 已转给")).await;
    settle(t).await;
    copy
}

async fn ask_goes_to_the_nearest_tutor_of_the_topic_who_gets_a_card(engine: Engine) {
    let t = start(engine).await;
    let update = updates::text(&zhang(), "/ask 梨树梨锈病怎么治");
    let question_id = updates::message_id(&update);
    t.send(update);
    let prompt = t.reply(&zhang()).await;
    assert_eq!(
        prompt.button_texts(),
        ["农业技术", "政策法规", "产业发展", "医疗卫生", "其他"]
    );
    assert_eq!(
        prompt.body["reply_parameters"]["message_id"].as_i64(),
        Some(question_id),
        "the buttons answer the question"
    );
    t.send(updates::click(&zhang(), &prompt, "农业技术"));
    let receipt = t.reply(&zhang()).await;
    let id = t
        .store()
        .questions_of(t.person_id(&zhang()).await, 1)
        .await
        .unwrap()[0]
        .id;
    assert_eq!(
        receipt.text().unwrap(),
        format!(
            "✅ 已提交问题 #{id}（农业技术），已转给辅导员 钱七（贵阳市/乌当区）。\n回答会以“回复”您这条问题的形式发给您；您可以“回复”回答继续追问。"
        )
    );
    assert!(
        receipt.reply_markup().is_none(),
        "the topic buttons are gone"
    );
    // 钱七 of the cadre's county, not 孙八 of the city.
    let card = t.reply(&qian()).await;
    assert_eq!(
        card.text().unwrap(),
        format!(
            "❓ 问题 #{id}（农业技术）\n提问人：张三（贵阳市/乌当区/新堡乡/谷溪村）\n时间：2026-11-25 10:00\n\n梨树梨锈病怎么治\n\n请直接“回复”这条消息作答（文字、图片、语音、文件均可），回答会转给提问人。"
        )
    );
    assert_eq!(card.button_texts(), ["转交"]);
    t.tg.assert_silent(sun().id, SILENCE).await;
    t.tg.assert_silent(zhang().id, SILENCE).await;
    // A question is not a work log.
    let logs = t
        .store()
        .person_logs(t.person_id(&zhang()).await)
        .await
        .unwrap();
    assert!(logs.is_empty());
    t.stop().await;
}

async fn answers_and_follow_ups_travel_as_replies_both_ways_in_any_form(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian) = (zhang(), qian());
    let asked = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;

    // The tutor replies to the card: the cadre gets it as a reply to his question.
    let answer_update = updates::reply_to(
        &qian,
        "发病初期喷施三唑酮，隔10天再喷一次",
        asked.card.message().unwrap(),
    );
    let answer_id = updates::message_id(&answer_update);
    t.send(answer_update);
    let copy = next_where(&t, zhang.id, |c| c.method == "copyMessage").await;
    assert_eq!(copy.body["from_chat_id"].as_i64(), Some(qian.id));
    assert_eq!(
        copy.body["reply_parameters"]["message_id"],
        asked.question["message_id"]
    );
    assert_eq!(copy.button_texts(), ["👍 有帮助", "👎 没帮助"]);
    let copied = message_of(&t, zhang.id, &copy);
    assert_eq!(copied["text"], "发病初期喷施三唑酮，隔10天再喷一次");
    let confirm = next_where(&t, qian.id, |c| c.method == "sendMessage").await;
    assert_eq!(confirm.text(), Some("✅ 已转给 张三。"));
    // His card now says it is answered, and keeps 转交.
    let card = next_where(&t, qian.id, |c| c.method == "editMessageText").await;
    assert!(text_contains(&card, "✅ 已回答"), "{card}");
    assert_eq!(card.button_texts(), ["转交"]);

    // The cadre replies to the answer: the tutor gets it as a reply to his answer.
    // A reply to a copy continues the thread once the sender recorded the copy, right after
    // Telegram accepted it: let that happen, as it does before a person can read it.
    settle(&t).await;
    let follow_update = updates::reply_to(&zhang, "叶片背面有黄色粉末，是这个病吗？", &copied);
    let follow_up_id = updates::message_id(&follow_update);
    t.send(follow_update);
    let follow = next_where(&t, qian.id, |c| c.method == "copyMessage").await;
    assert_eq!(follow.body["from_chat_id"].as_i64(), Some(zhang.id));
    assert_eq!(
        follow.body["reply_parameters"]["message_id"].as_i64(),
        Some(answer_id)
    );
    assert!(follow.reply_markup().is_none(), "no rating of a question");
    let confirm = next_where(&t, zhang.id, |c| c.method == "sendMessage").await;
    assert_eq!(confirm.text(), Some("✅ 已转给 钱七。"));
    let follow_msg = message_of(&t, qian.id, &follow);
    settle(&t).await;

    // The tutor answers the follow-up with a photo, a voice message and a file.
    let photo = updates::photo(&qian, "rust-leaf", Some("对，就是梨锈病，看这张图"), None);
    let voice = updates::voice(&qian, "voice-1", 20);
    let doc = updates::document(
        &qian,
        "doc-1",
        "梨锈病防治技术.pdf",
        "application/pdf",
        None,
    );
    for (update, field) in [(photo, "photo"), (voice, "voice"), (doc, "document")] {
        t.send(replying(update, &follow_msg));
        let copy = next_where(&t, zhang.id, |c| c.method == "copyMessage").await;
        assert_eq!(
            copy.body["reply_parameters"]["message_id"].as_i64(),
            Some(follow_up_id),
            "the cadre sees it as a reply to his follow-up: {copy}"
        );
        assert!(
            message_of(&t, zhang.id, &copy).get(field).is_some(),
            "{field} relayed"
        );
        next_where(&t, qian.id, |c| text_contains(c, "✅ 已转给 张三")).await;
    }
    t.tg.assert_silent(zhang.id, SILENCE).await;
    t.tg.assert_silent(qian.id, SILENCE).await;

    // None of it is a work log; all of it is the question's thread.
    let logs = t
        .store()
        .person_logs(t.person_id(&zhang).await)
        .await
        .unwrap();
    assert!(logs.is_empty());
    let thread = t.store().thread(asked.id).await.unwrap();
    let kinds: Vec<&str> = thread.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["text", "text", "text", "photo", "voice", "document"]
    );
    t.stop().await;
}

async fn photo_question_arrives_with_its_photo_under_the_card(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian) = (zhang(), qian());
    let update = updates::photo(
        &zhang,
        "leaf-1",
        Some("/ask 梨树叶子上有锈色斑点怎么办"),
        None,
    );
    let asked = ask_with(&t, &zhang, update, "农业技术", &qian).await;
    let text = asked.card.text().unwrap();
    assert!(text.contains("梨树叶子上有锈色斑点怎么办"), "{text}");
    assert!(text.contains("[图片] 附件见下一条消息"), "{text}");
    // The photo follows, as a reply to the card.
    let photo = t.reply(&qian).await;
    assert_eq!(photo.method, "copyMessage");
    assert_eq!(photo.body["from_chat_id"].as_i64(), Some(zhang.id));
    assert_eq!(
        photo.body["reply_parameters"]["message_id"].as_i64(),
        asked.card.message_id()
    );
    // Replying to the photo answers too, as a reply to the cadre's photo.
    let photo_msg = message_of(&t, qian.id, &photo);
    // Replied to once the sender recorded it (see `settle`).
    settle(&t).await;
    let copy = answer(&t, &qian, &photo_msg, "这是梨锈病，喷三唑酮", &zhang).await;
    assert_eq!(
        copy.body["reply_parameters"]["message_id"],
        asked.question["message_id"]
    );
    let question = t.store().question(asked.id).await.unwrap().unwrap();
    assert_eq!(
        (question.kind.as_str(), question.file_id.as_deref()),
        ("photo", Some("leaf-1"))
    );
    t.stop().await;
}

async fn ask_alone_starts_a_dialogue_that_can_be_cancelled(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian) = (zhang(), qian());
    let prompt = t.ask(&zhang, "/ask").await;
    assert_eq!(
        prompt.text(),
        Some("请发送您的问题：文字，或带文字说明的图片。（发送 /cancel 可取消）")
    );
    // A photo without words is not a question yet.
    t.send(updates::photo(&zhang, "p-1", None, None));
    let again = t.reply(&zhang).await;
    assert!(text_contains(&again, "请用文字写明问题"), "{again}");
    let update = updates::text(&zhang, "村里想发展林下养鸡，有什么扶持政策？");
    let asked = ask_with(&t, &zhang, update, "产业发展", &qian).await;
    assert!(
        text_contains(&asked.card, "村里想发展林下养鸡"),
        "{}",
        asked.card
    );
    // The dialogue is over: the next message is a work log again.
    let receipt = t.ask(&zhang, "下午走访了两户").await;
    assert!(
        text_contains(&receipt, "已记录第 1 条工作记实"),
        "{receipt}"
    );
    // /ask then /cancel leaves nothing behind.
    t.ask(&zhang, "/ask").await;
    let cancelled = t.ask(&zhang, "/cancel").await;
    assert_eq!(cancelled.text(), Some("已取消。"));
    let receipt = t.ask(&zhang, "晚上整理材料").await;
    assert!(text_contains(&receipt, "第 2 条"), "{receipt}");
    assert_eq!(
        t.store()
            .questions_of(t.person_id(&zhang).await, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    t.stop().await;
}

async fn similar_earlier_answers_come_with_the_receipt(engine: Engine) {
    let t = TestApp::start(engine).await;
    t.import(&format!(
        "{ROSTER}吴十,13800000008,cadre,贵阳市/花溪区/青岩镇/龙井村,\n"
    ))
    .await;
    let (zhang, qian, wu) = (zhang(), qian(), wu());
    for (u, phone) in [
        (&zhang, "13800000001"),
        (&qian, "13800000005"),
        (&wu, "13800000008"),
    ] {
        t.register(u, phone).await;
    }
    // 吴十 asked before and 钱七 answered.
    let earlier = ask(&t, &wu, "梨锈病用什么药防治", "农业技术", &qian).await;
    answer(
        &t,
        &qian,
        earlier.card.message().unwrap(),
        "发病初期喷施三唑酮",
        &wu,
    )
    .await;
    let unanswered = ask(&t, &wu, "最低生活保障怎么申请", "农业技术", &qian).await;
    assert!(!text_contains(&unanswered.receipt, "以前有人问过"));

    let asked = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;
    let receipt = asked.receipt.text().unwrap();
    assert!(
        receipt.ends_with(
            "以前有人问过类似的问题，供参考：\n1. 梨锈病用什么药防治\n   答：发病初期喷施三唑酮"
        ),
        "{receipt}"
    );
    // Unanswered questions are never offered, unrelated ones neither.
    let asked = ask(&t, &zhang, "低保申请需要哪些材料", "农业技术", &qian).await;
    assert!(
        !text_contains(&asked.receipt, "以前有人问过"),
        "{}",
        asked.receipt
    );
    let asked = ask(&t, &zhang, "村里的路灯坏了找谁修", "农业技术", &qian).await;
    assert!(
        !text_contains(&asked.receipt, "以前有人问过"),
        "{}",
        asked.receipt
    );
    t.stop().await;
}

async fn policy_documents_join_the_similar_answers_ranked_together(engine: Engine) {
    use domain::Clock;
    let t = TestApp::start(engine).await;
    t.import(&format!(
        "{ROSTER}吴十,13800000008,cadre,贵阳市/花溪区/青岩镇/龙井村,\n"
    ))
    .await;
    let (zhang, qian, wu) = (zhang(), qian(), wu());
    for (u, phone) in [
        (&zhang, "13800000001"),
        (&qian, "13800000005"),
        (&wu, "13800000008"),
    ] {
        t.register(u, phone).await;
    }
    let admin = t
        .store()
        .person_by_phone("13800000004")
        .await
        .unwrap()
        .unwrap()
        .id;
    for (title, body) in [
        (
            "梨树锈病防治技术",
            "梨树锈病又称赤星病。防治方法：展叶期至幼果期遇雨后及时喷施三唑酮。",
        ),
        (
            "贵州省农村危房改造补助资金管理办法",
            "补助资金实行专款专用。",
        ),
    ] {
        let new = storage::NewPolicy {
            title,
            issuer: Some("贵州省农业农村厅"),
            issued_on: None,
            file_id: "file-1",
            file_name: None,
            format: "txt",
            text: body,
            no_text: false,
            added_by: admin,
        };
        t.store().add_policy(new, t.clock.now()).await.unwrap();
    }
    let earlier = ask(&t, &wu, "梨锈病用什么药防治", "农业技术", &qian).await;
    answer(
        &t,
        &qian,
        earlier.card.message().unwrap(),
        "发病初期喷施三唑酮",
        &wu,
    )
    .await;

    let asked = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;
    let receipt = asked.receipt.text().unwrap();
    let offered = receipt
        .split("以前的类似问答和相关政策文件，供参考：\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no similar items: {receipt}"));
    assert!(
        offered.contains("梨锈病用什么药防治\n   答：发病初期喷施三唑酮"),
        "{receipt}"
    );
    assert!(
        offered.contains("政策文件《梨树锈病防治技术》（编号 1）"),
        "{receipt}"
    );
    assert!(!offered.contains("危房改造"), "{receipt}");
    assert!(!offered.contains("4. "), "at most three: {receipt}");
    t.stop().await;
}

async fn passing_on_gives_the_new_tutor_the_thread_so_far(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian, sun) = (zhang(), qian(), sun());
    let update = updates::photo(
        &zhang,
        "flower-1",
        Some("/ask 种植花卉苗木有没有优惠政策"),
        None,
    );
    let asked = ask_with(&t, &zhang, update, "农业技术", &qian).await;
    let photo_copy = t.reply(&qian).await;
    assert_eq!(photo_copy.method, "copyMessage");
    let copy = answer(
        &t,
        &qian,
        asked.card.message().unwrap(),
        "请问您种的是什么苗木？",
        &zhang,
    )
    .await;
    next_where(&t, qian.id, |c| c.method == "editMessageText").await;
    let answer_msg = message_of(&t, zhang.id, &copy);
    t.send(updates::reply_to(
        &zhang,
        "桂花和红叶石楠，二十亩",
        &answer_msg,
    ));
    next_where(&t, qian.id, |c| c.method == "copyMessage").await;
    next_where(&t, zhang.id, |c| text_contains(c, "✅ 已转给 钱七")).await;

    // 钱七 presses 转交 and chooses a topic.
    t.send(updates::click(&qian, &asked.card, "转交"));
    let menu = next_where(&t, qian.id, |c| c.method == "sendMessage").await;
    assert_eq!(
        menu.text().unwrap(),
        format!(
            "把问题 #{} 转交给谁？选一个类别（由系统找这一类别的辅导员），或直接选一位辅导员：",
            asked.id
        )
    );
    assert_eq!(
        menu.button_texts(),
        [
            "类别：政策法规",
            "类别：产业发展",
            "类别：医疗卫生",
            "类别：其他",
            "👤 孙八（贵阳市）"
        ]
    );
    t.send(updates::click(&qian, &menu, "类别：政策法规"));
    let done = next_where(&t, qian.id, |c| {
        c.method == "editMessageText" && c.target_message_id() == menu.message_id()
    })
    .await;
    assert_eq!(
        done.text().unwrap(),
        format!(
            "已把问题 #{} 转交给 孙八（政策法规），提问人也已收到通知。",
            asked.id
        )
    );
    // The old card says where it went, without buttons.
    let old = next_where(&t, qian.id, |c| {
        c.method == "editMessageText" && c.target_message_id() == asked.card.message_id()
    })
    .await;
    assert!(text_contains(&old, "➡️ 已转交给 孙八。"), "{old}");
    assert!(old.button_texts().is_empty());
    // 孙八 gets the card with the conversation so far, then the photo.
    let card = t.reply(&sun).await;
    let text = card.text().unwrap();
    assert!(
        text.contains("❓ 问题 #") && text.contains("（政策法规）"),
        "{text}"
    );
    assert!(
        text.contains(
            "此前的对话：\n· 钱七：请问您种的是什么苗木？\n· 张三：桂花和红叶石楠，二十亩"
        ),
        "{text}"
    );
    assert!(text.contains("（由 钱七 转交给您）"), "{text}");
    let photo = t.reply(&sun).await;
    assert_eq!(photo.method, "copyMessage");
    assert_eq!(
        photo.body["reply_parameters"]["message_id"].as_i64(),
        card.message_id()
    );
    // The cadre is told.
    let note = next_where(&t, zhang.id, |c| c.method == "sendMessage").await;
    assert_eq!(
        note.text().unwrap(),
        format!(
            "您的问题 #{}（政策法规）已转交给辅导员 孙八 解答。",
            asked.id
        )
    );

    // 钱七 can no longer answer; 孙八 can.
    t.send(updates::reply_to(
        &qian,
        "补充一下",
        asked.card.message().unwrap(),
    ));
    let refused = next_where(&t, qian.id, |c| c.method == "sendMessage").await;
    assert_eq!(
        refused.text(),
        Some("这个问题现在由 孙八 负责，您的消息没有转发。")
    );
    answer(
        &t,
        &sun,
        card.message().unwrap(),
        "可以申请林业产业补助",
        &zhang,
    )
    .await;
    // The cadre replying to 钱七's earlier answer now reaches 孙八.
    t.send(updates::reply_to(&zhang, "去哪里申请？", &answer_msg));
    next_where(&t, sun.id, |c| c.method == "copyMessage").await;
    t.tg.assert_silent(qian.id, SILENCE).await;
    t.stop().await;
}

async fn passing_to_a_named_tutor_from_the_menu(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian, sun) = (zhang(), qian(), sun());
    let asked = ask(&t, &zhang, "猕猴桃溃疡病怎么防", "农业技术", &qian).await;
    t.send(updates::click(&qian, &asked.card, "转交"));
    let menu = next_where(&t, qian.id, |c| c.method == "sendMessage").await;
    t.send(updates::click(&qian, &menu, "👤 孙八（贵阳市）"));
    let card = t.reply(&sun).await;
    assert!(text_contains(&card, "猕猴桃溃疡病怎么防"), "{card}");
    assert!(
        text_contains(&card, "（农业技术）"),
        "the topic stays: {card}"
    );
    let note = next_where(&t, zhang.id, |c| c.method == "sendMessage").await;
    assert!(text_contains(&note, "已转交给辅导员 孙八"), "{note}");
    // Pressing the old menu again changes nothing.
    t.send(updates::click(&qian, &menu, "👤 孙八（贵阳市）"));
    let alert = next_alert(&t).await;
    assert_eq!(alert.body["text"], "这个问题现在由 孙八 负责，您不能处理。");
    t.stop().await;
}

async fn rating_an_answer_tells_the_tutor(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian) = (zhang(), qian());
    t.register(&wu(), "13800000008").await;
    let asked = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;
    let copy = answer(&t, &qian, asked.card.message().unwrap(), "喷三唑酮", &zhang).await;
    next_where(&t, qian.id, |c| c.method == "editMessageText").await;
    let copied = message_of(&t, zhang.id, &copy);
    let press = |user: &TgUser, label: &str| {
        let data = copy.callback_data_for(label).expect("a rating button");
        updates::callback(user, &data, &copied)
    };
    // Someone else's press changes nothing.
    t.send(press(&wu(), "👍 有帮助"));
    let alert = next_alert(&t).await;
    assert_eq!(alert.body["text"], "这不是您的问题。");
    // The cadre's press: thanks, the choice shows, the tutor hears.
    t.send(press(&zhang, "👍 有帮助"));
    t.tg.wait_for(fakebot::DEFAULT_TIMEOUT, |c| {
        c.method == "answerCallbackQuery" && c.body["text"] == "谢谢您的评价！"
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let marked = next_where(&t, zhang.id, |c| c.method == "editMessageReplyMarkup").await;
    assert_eq!(marked.button_texts(), ["✅ 👍 有帮助", "👎 没帮助"]);
    let heard = t.reply(&qian).await;
    assert_eq!(
        heard.text().unwrap(),
        format!("👍 张三 认为您对问题 #{} 的回答有帮助。", asked.id)
    );
    // A change of mind (a moment later) updates the tutor's message.
    settle(&t).await;
    t.clock.advance(Duration::seconds(30));
    t.send(press(&zhang, "👎 没帮助"));
    let changed = t.reply(&qian).await;
    assert_eq!(changed.method, "editMessageText");
    assert!(text_contains(&changed, "没有帮助"), "{changed}");
    let question = t.store().question(asked.id).await.unwrap().unwrap();
    assert_eq!(question.helpful, Some(false));
    t.stop().await;
}

async fn unanswered_questions_are_reminded_then_reassigned(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian, sun) = (zhang(), qian(), sun());
    let first = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;
    let second = ask(&t, &zhang, "桃树流胶病怎么治", "农业技术", &qian).await;
    let run = |hours: i64| sla(&t, hours);
    assert!(run(23).await.is_empty());
    t.tg.assert_silent(qian.id, SILENCE).await;

    // 24 h: one reminder per question.
    let report = run(24).await;
    assert_eq!(report.reminded, [first.id, second.id]);
    t.app.wake_sender();
    let r1 = t.reply(&qian).await;
    let r2 = t.reply(&qian).await;
    assert!(
        text_contains(
            &r1,
            &format!("⏰ 问题 #{}（农业技术）已等待 24 小时", first.id)
        ),
        "{r1}"
    );
    assert!(text_contains(&r2, "桃树流胶病怎么治"), "{r2}");
    // The job runs every hour: no second reminder.
    assert!(run(25).await.is_empty());
    t.app.wake_sender();
    t.tg.assert_silent(qian.id, SILENCE).await;
    // Replying to a reminder answers its question.
    answer(
        &t,
        &qian,
        r2.message().unwrap(),
        "剪除流胶部分，涂石硫合剂",
        &zhang,
    )
    .await;

    // 48 h: the unanswered one goes to the next tutor.
    let report = run(48).await;
    assert_eq!(report.reassigned.len(), 1);
    assert_eq!(report.reassigned[0].0, first.id);
    t.app.wake_sender();
    let card = t.reply(&sun).await;
    assert!(text_contains(&card, "梨树梨锈病怎么治"), "{card}");
    assert!(
        text_contains(&card, "（原辅导员超过 48 小时未答复，改派给您）"),
        "{card}"
    );
    let note = next_where(&t, zhang.id, |c| text_contains(c, "等待较久")).await;
    assert_eq!(
        note.text().unwrap(),
        format!(
            "您的问题 #{}（农业技术）等待较久，已改由辅导员 孙八 解答。",
            first.id
        )
    );
    let old = next_where(&t, qian.id, |c| {
        c.method == "editMessageText" && c.target_message_id() == first.card.message_id()
    })
    .await;
    assert!(
        text_contains(&old, "➡️ 超过时限未答复，已改派给 孙八。"),
        "{old}"
    );
    assert!(run(49).await.is_empty());
    // The reminder no longer answers for 钱七; 孙八's card does.
    t.send(updates::reply_to(&qian, "我来回答", r1.message().unwrap()));
    let refused = next_where(&t, qian.id, |c| c.method == "sendMessage").await;
    assert!(text_contains(&refused, "现在由 孙八 负责"), "{refused}");
    answer(&t, &sun, card.message().unwrap(), "喷三唑酮", &zhang).await;
    t.stop().await;
}

async fn topic_without_tutor_goes_to_an_admin_or_the_default_tutor(engine: Engine) {
    let t = start(engine).await;
    let (zhang, zhao) = (zhang(), zhao());
    t.register(&zhao, "13800000004").await;
    // The admin reads English.
    t.ask(&zhao, "/lang en").await;
    let asked = ask(&t, &zhang, "村医培训有什么安排", "医疗卫生", &zhao).await;
    assert!(
        text_contains(&asked.receipt, "这一类别暂无辅导员，已转给管理员 赵六"),
        "{}",
        asked.receipt
    );
    let text = asked.card.text().unwrap();
    assert!(text.starts_with("❓ Question #"), "{text}");
    assert!(text.contains("No tutor covers this topic"), "{text}");
    assert_eq!(asked.card.button_texts(), ["Pass on"]);
    t.stop().await;

    // With a default tutor configured, he gets it instead.
    let mut config = Config::default();
    config.tutoring.default_tutor_phone = Some("13800000005".into());
    let t = TestApp::start_with(engine, config, Some(ROSTER)).await;
    t.register(&zhang, "13800000001").await;
    t.register(&qian(), "13800000005").await;
    let asked = ask(&t, &zhang, "村医培训有什么安排", "医疗卫生", &qian()).await;
    assert!(
        text_contains(&asked.receipt, "已转给辅导员 钱七"),
        "{}",
        asked.receipt
    );
    assert!(
        text_contains(&asked.card, "（这一类别暂无辅导员，按设置转给您）"),
        "{}",
        asked.card
    );
    t.stop().await;
}

async fn replies_to_unknown_messages_get_help_and_strangers_change_nothing(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian, wang) = (zhang(), qian(), wang());
    t.register(&wang, "13800000003").await;
    // A reply to a log receipt is not a log and not a guess.
    let receipt = t.ask(&zhang, "上午走访三户").await;
    t.send(updates::reply_to(
        &zhang,
        "补充：其中一户是低保户",
        receipt.message().unwrap(),
    ));
    let help = t.reply(&zhang).await;
    assert!(
        text_contains(&help, "不属于任何问题的对话") && text_contains(&help, "/ask"),
        "{help}"
    );
    let logs = t
        .store()
        .person_logs(t.person_id(&zhang).await)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    // Only cadres ask; a photo needs its question in words.
    let refused = t.ask(&wang, "/ask 测试").await;
    assert_eq!(refused.text(), Some("只有驻村干部可以通过机器人提问。"));
    t.send(updates::photo(&zhang, "p-9", Some("/ask"), None));
    let needs = t.reply(&zhang).await;
    assert!(text_contains(&needs, "请用文字写明问题"), "{needs}");

    let asked = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;
    let card_msg = asked.card.message().unwrap().clone();
    let forged = |data: String| updates::callback(&wang, &data, &card_msg);
    // Choosing the topic again changes nothing.
    t.send(updates::click(&zhang, &asked.prompt, "产业发展"));
    assert_eq!(next_alert(&t).await.body["text"], "这个问题已经提交过了。");
    // Someone else's topic, pass-on or rating: refused.
    let cases = [
        (format!("qt:{}:1", asked.id), "这不是您的问题。"),
        (
            format!("qm:{}", asked.id),
            "这个问题现在由 钱七 负责，您不能处理。",
        ),
        (
            format!("qp:{}:1", asked.id),
            "这个问题现在由 钱七 负责，您不能处理。",
        ),
        (format!("qr:{}:1", asked.id), "这不是您的问题。"),
    ];
    for (data, want) in cases {
        t.send(forged(data.clone()));
        let alert = next_alert(&t).await;
        assert_eq!(alert.body["text"], want, "{data}");
    }
    let question = t.store().question(asked.id).await.unwrap().unwrap();
    assert_eq!(question.tutor_id, Some(t.person_id(&qian).await));
    assert_eq!(question.helpful, None);
    t.tg.assert_silent(qian.id, SILENCE).await;
    t.stop().await;
}

/// Waits until the sender has recorded every delivery. The test clock stands still, so this
/// keeps two things apart that real time keeps apart: a delivery in flight and a change that
/// queues the same notification again (same `not_before`), or a clock jump that would make a
/// lease run out under a delivery.
async fn settle(t: &TestApp) {
    for _ in 0..200 {
        if t.store().outbox_counts().await.unwrap().0 == 0 {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("the outbox did not drain");
}

/// Moves the clock to `hours` after the start and runs the `question-sla` job then.
async fn sla(t: &TestApp, hours: i64) -> scheduler::jobs::SlaReport {
    settle(t).await;
    t.clock
        .set(crate::support::default_now() + Duration::hours(hours));
    scheduler::jobs::question_sla(
        t.store(),
        &t.app.config,
        crate::support::default_now() + Duration::hours(hours),
    )
    .await
    .expect("the job runs")
}

/// The next callback answer shown as an alert.
async fn next_alert(t: &TestApp) -> Call {
    loop {
        let c = t.tg.next_call("answerCallbackQuery").await;
        if c.body["show_alert"] == true {
            return c;
        }
    }
}

async fn questions_lists_own_questions_and_the_tutors_queue(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian) = (zhang(), qian());
    t.register(&wu(), "13800000008").await;
    let asked = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;
    let mine = t.ask(&zhang, "/questions").await;
    assert_eq!(
        mine.text().unwrap(),
        format!(
            "您最近的问题：\n#{} 农业技术 · 待解答 · 梨树梨锈病怎么治",
            asked.id
        )
    );
    let queue = t.ask(&qian, "/questions").await;
    assert_eq!(
        queue.text().unwrap(),
        format!(
            "待您解答的问题（“回复”问题卡片即可作答）：\n#{} 农业技术 · 张三 · 已等 0 小时 · 梨树梨锈病怎么治",
            asked.id
        )
    );
    // Another cadre sees none of it.
    let other = t.ask(&wu(), "/questions").await;
    assert_eq!(other.text(), Some("您还没有提过问题。发送 /ask 提问。"));
    answer(&t, &qian, asked.card.message().unwrap(), "喷三唑酮", &zhang).await;
    let mine = t.ask(&zhang, "/questions").await;
    assert!(text_contains(&mine, "· 已回答 ·"), "{mine}");
    let help = t.ask(&zhang, "/help").await;
    assert!(text_contains(&help, "/ask") && text_contains(&help, "/questions"));
    t.stop().await;
}

async fn an_answer_that_cannot_be_delivered_is_reported_to_its_writer(engine: Engine) {
    let t = start(engine).await;
    let (zhang, qian) = (zhang(), qian());
    let asked = ask(&t, &zhang, "梨树梨锈病怎么治", "农业技术", &qian).await;
    // The cadre blocked the bot meanwhile: the copy is refused.
    t.tg.fail_next("copyMessage", fakebot::Failure::Forbidden, 1);
    t.send(updates::reply_to(
        &qian,
        "发病初期喷施三唑酮",
        asked.card.message().unwrap(),
    ));
    let confirm = next_where(&t, qian.id, |c| c.method == "sendMessage").await;
    assert_eq!(confirm.text(), Some("✅ 已转给 张三。"));
    let failed = next_where(&t, qian.id, |c| text_contains(c, "没有送达")).await;
    assert_eq!(failed.text(), Some("没有送达 张三，请稍后再发一次。"));
    settle(&t).await;
    t.stop().await;
}
