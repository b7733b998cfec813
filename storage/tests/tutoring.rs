//! Tutoring on both engines: routing, the thread, passing on, ratings, Chinese search of
//! earlier answers, and the per-tutor figures.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{entries, now};
use domain::notify::Notification;
use domain::tutoring::Via;
use storage::{
    DOC_POLICY, NewQuestion, PassTarget, QuestionFailure, QuestionRefusal, QuestionStatus,
    RelayPlan, RelaySource, Store,
};

/// Like `on_both_engines!`, then closes the pool before the database is dropped: a refusal
/// rolls its transaction back on a pooled connection, and that rollback must run before the
/// test schema can be dropped (the drop blocks this single-threaded runtime).
macro_rules! on_both_engines_then_close {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() {
            let db = storage::testing::TestDb::new(storage::Engine::Sqlite).await;
            super::$name(db.store.clone()).await;
            db.store.close().await;
        } )* }
        mod postgres { $( #[tokio::test] async fn $name() {
            let db = storage::testing::TestDb::new(storage::Engine::Postgres).await;
            super::$name(db.store.clone()).await;
            db.store.close().await;
        } )* }
    };
}

on_both_engines_then_close!(
    question_goes_to_the_nearest_tutor_of_its_topic,
    equal_tutors_share_the_load_and_take_turns,
    topic_without_tutor_goes_to_default_tutor_then_admins_never_nowhere,
    only_the_cadre_chooses_the_topic_and_only_once,
    thread_relays_both_ways_and_the_first_tutor_message_answers,
    only_the_current_tutor_or_an_admin_continues_the_thread,
    passing_on_moves_the_question_and_tells_everyone,
    only_the_holder_or_an_admin_passes_on,
    only_the_cadre_rates_and_only_an_answered_question,
    chinese_questions_find_their_earlier_answers,
    policy_documents_share_the_index,
    figures_count_asked_answered_and_median_time,
    a_reply_queues_its_copy_and_the_delivered_copy_continues_the_thread,
    a_fresh_card_queues_the_threads_attachments_once,
);

const ROSTER: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
李四,13800000002,approver,贵阳市/乌当区/新堡乡,
王五,13800000003,approver;reporter,贵阳市/乌当区,
赵六,13800000004,approver;admin,贵阳市,
钱七,13800000005,tutor,贵阳市/乌当区,农业技术;产业发展
孙八,13800000006,tutor,贵阳市,农业技术;政策法规
周九,13800000007,tutor,贵阳市/花溪区,农业技术
吴十,13800000008,cadre,贵阳市/花溪区/青岩镇/龙井村,
郑一,13800000009,tutor,贵阳市/乌当区,产业发展
";

/// Everyone registered, with chat id = 9000 + roster line.
struct People {
    zhang: i64,
    zhao: i64,
    qian: i64,
    sun: i64,
    zhou: i64,
    wu: i64,
    zheng: i64,
    li: i64,
}

fn chat(n: i64) -> i64 {
    9000 + n
}

async fn setup(store: &Store) -> People {
    store.import_roster(&entries(ROSTER), now()).await.unwrap();
    let mut ids = Vec::new();
    for n in 1..=9 {
        let phone = format!("1380000000{n}");
        store
            .register_by_phone(&phone, chat(n), chat(n), now())
            .await
            .unwrap();
        ids.push(store.person_by_phone(&phone).await.unwrap().unwrap().id);
    }
    People {
        zhang: ids[0],
        li: ids[1],
        zhao: ids[3],
        qian: ids[4],
        sun: ids[5],
        zhou: ids[6],
        wu: ids[7],
        zheng: ids[8],
    }
}

/// Chat of a person id (the roster line).
async fn chat_of(store: &Store, person: i64) -> i64 {
    store
        .person(person)
        .await
        .unwrap()
        .unwrap()
        .chat_id
        .unwrap()
}

static NEXT_MSG: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(100);

fn msg_id() -> i64 {
    NEXT_MSG.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

async fn ask_at(store: &Store, cadre: i64, text: &str, at: DateTime<Utc>) -> i64 {
    let chat_id = chat_of(store, cadre).await;
    store
        .create_question(
            NewQuestion {
                person_id: cadre,
                chat_id,
                message_id: msg_id(),
                kind: storage::MessageKind::Text,
                text,
                file_id: None,
            },
            at,
        )
        .await
        .unwrap()
}

/// Asks and routes a question at `at`; returns (question, tutor).
async fn asked(
    store: &Store,
    cadre: i64,
    text: &str,
    topic: &str,
    at: DateTime<Utc>,
) -> (i64, i64) {
    let q = ask_at(store, cadre, text, at).await;
    let routed = store
        .submit_question(q, cadre, topic, None, at)
        .await
        .unwrap();
    (q, routed.tutor_id)
}

async fn drain(store: &Store) -> Vec<(i64, Notification)> {
    common::drain_until(store, now() + Duration::days(30)).await
}

/// The tutor's card message as the sender would record it.
async fn card_message(store: &Store, q: i64, tutor: i64) -> i64 {
    let id = msg_id();
    let chat_id = chat_of(store, tutor).await;
    assert!(
        store
            .record_thread_message(q, tutor, chat_id, id, None, None, now())
            .await
            .unwrap()
    );
    id
}

/// Relays a text message replying to `replied` in the sender's chat; returns the plan and
/// the (fake) id of the copy in the recipient's chat.
async fn relay(
    store: &Store,
    from: i64,
    replied: i64,
    text: &str,
    at: DateTime<Utc>,
) -> Result<(RelayPlan, i64, i64, bool), QuestionFailure> {
    let chat_id = chat_of(store, from).await;
    let plan = store.plan_relay(from, chat_id, replied).await?;
    let (source, copy) = (msg_id(), msg_id());
    let first = store
        .record_relay(
            &plan,
            RelaySource {
                chat_id,
                message_id: source,
                kind: storage::MessageKind::Text,
                text: Some(text),
            },
            copy,
            at,
        )
        .await
        .unwrap();
    Ok((plan, source, copy, first))
}

fn refused(r: Result<impl std::fmt::Debug, QuestionFailure>) -> QuestionRefusal {
    match r {
        Err(QuestionFailure::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn question_goes_to_the_nearest_tutor_of_its_topic(store: Store) {
    let p = setup(&store).await;
    // 乌当区 cadre: 钱七 (same county) before 孙八 (city) and 周九 (another county).
    let (q, tutor) = asked(&store, p.zhang, "梨树梨锈病怎么治", "农业技术", now()).await;
    assert_eq!(tutor, p.qian);
    let question = store.question(q).await.unwrap().unwrap();
    assert_eq!(question.status, QuestionStatus::Open);
    assert_eq!(question.topic.as_deref(), Some("农业技术"));
    assert_eq!(question.tutor_name.as_deref(), Some("钱七"));
    let assignment = question.assignment_id.unwrap();
    assert_eq!(
        drain(&store).await,
        vec![(
            chat(5),
            Notification::QuestionCard {
                question_id: q,
                tutor_id: p.qian,
                assignment_id: assignment
            }
        )]
    );
    // 花溪区 cadre: 周九 of his own county.
    let (_, tutor) = asked(&store, p.wu, "猕猴桃溃疡病怎么防", "农业技术", now()).await;
    assert_eq!(tutor, p.zhou);
    // 政策法规: only 孙八 at the city.
    let (_, tutor) = asked(&store, p.zhang, "土地流转合同怎么签", "政策法规", now()).await;
    assert_eq!(tutor, p.sun);
}

async fn equal_tutors_share_the_load_and_take_turns(store: Store) {
    let p = setup(&store).await;
    // 产业发展: 钱七 and 郑一, both of 乌当区.
    let t0 = now();
    let (_, first) = asked(&store, p.zhang, "合作社怎么注册", "产业发展", t0).await;
    assert_eq!(first, p.qian, "equal and never assigned: lowest id");
    let (_, second) = asked(
        &store,
        p.zhang,
        "电商平台怎么入驻",
        "产业发展",
        t0 + Duration::minutes(1),
    )
    .await;
    assert_eq!(second, p.zheng, "fewest open questions");
    let (_, third) = asked(
        &store,
        p.zhang,
        "农家乐需要什么证",
        "产业发展",
        t0 + Duration::minutes(2),
    )
    .await;
    assert_eq!(third, p.qian, "equal load: the one assigned least recently");
    assert_eq!(store.open_questions_for(p.qian).await.unwrap().len(), 2);
    assert_eq!(store.open_questions_for(p.zheng).await.unwrap().len(), 1);
}

async fn topic_without_tutor_goes_to_default_tutor_then_admins_never_nowhere(store: Store) {
    let p = setup(&store).await;
    // Nobody tutors 医疗卫生.
    let q = ask_at(&store, p.zhang, "村医培训有什么安排", now()).await;
    let routed = store
        .submit_question(q, p.zhang, "医疗卫生", Some("13800000006"), now())
        .await
        .unwrap();
    assert_eq!((routed.tutor_id, routed.via), (p.sun, Via::DefaultTutor));
    assert_eq!(routed.tutor_name, "孙八");

    let q = ask_at(&store, p.zhang, "新农合报销比例是多少", now()).await;
    let routed = store
        .submit_question(q, p.zhang, "医疗卫生", None, now())
        .await
        .unwrap();
    assert_eq!((routed.tutor_id, routed.via), (p.zhao, Via::Admin));

    // With the only admin unreachable, the question is refused, not lost: it stays a draft.
    store.set_unreachable(p.zhao, true).await.unwrap();
    let q = ask_at(&store, p.zhang, "乡村医生补助怎么发", now()).await;
    let r = store
        .submit_question(q, p.zhang, "医疗卫生", None, now())
        .await;
    assert_eq!(refused(r), QuestionRefusal::NoTutor);
    let question = store.question(q).await.unwrap().unwrap();
    assert_eq!(question.status, QuestionStatus::Draft);
    assert_eq!(question.tutor_id, None);
}

async fn only_the_cadre_chooses_the_topic_and_only_once(store: Store) {
    let p = setup(&store).await;
    let q = ask_at(&store, p.zhang, "梨树梨锈病怎么治", now()).await;
    let r = store
        .submit_question(q, p.wu, "农业技术", None, now())
        .await;
    assert_eq!(refused(r), QuestionRefusal::NotYours);
    store
        .submit_question(q, p.zhang, "农业技术", None, now())
        .await
        .unwrap();
    let r = store
        .submit_question(q, p.zhang, "产业发展", None, now())
        .await;
    assert_eq!(refused(r), QuestionRefusal::AlreadySubmitted);
    let r = store
        .submit_question(9999, p.zhang, "农业技术", None, now())
        .await;
    assert_eq!(refused(r), QuestionRefusal::NotFound);
    assert_eq!(drain(&store).await.len(), 1, "one card only");
    // A cadre sees only his own questions.
    assert_eq!(store.questions_of(p.zhang, 10).await.unwrap().len(), 1);
    assert!(store.questions_of(p.wu, 10).await.unwrap().is_empty());
}

async fn thread_relays_both_ways_and_the_first_tutor_message_answers(store: Store) {
    let p = setup(&store).await;
    let (q, tutor) = asked(&store, p.zhang, "梨树梨锈病怎么治", "农业技术", now()).await;
    let question = store.question(q).await.unwrap().unwrap();
    drain(&store).await;
    let card = card_message(&store, q, tutor).await;

    // The tutor replies to his card: the answer goes to the cadre, replying to his question.
    let later = now() + Duration::minutes(40);
    let (plan, answer, answer_copy, first) =
        relay(&store, p.qian, card, "发病初期喷施三唑酮", later)
            .await
            .unwrap();
    assert!(first);
    assert!(!plan.from_cadre);
    assert_eq!(
        (plan.to_person_id, plan.to_chat_id, plan.reply_to),
        (p.zhang, chat(1), Some(question.message_id))
    );
    let answered = store.question(q).await.unwrap().unwrap();
    assert_eq!(answered.status, QuestionStatus::Answered);
    assert_eq!(answered.first_answer_at, Some(later));
    assert_eq!(answered.answered_by, Some(p.qian));
    // The card is refreshed to say it is answered.
    assert!(matches!(
        drain(&store).await.as_slice(),
        [(c, Notification::QuestionCard { question_id, .. })] if *c == chat(5) && *question_id == q
    ));

    // The cadre replies to the relayed answer: it reaches the tutor, replying to his answer.
    let (plan, follow_up, follow_up_copy, first) =
        relay(&store, p.zhang, answer_copy, "用药后要隔多久再喷？", later)
            .await
            .unwrap();
    assert!(!first && plan.from_cadre);
    assert_eq!(
        (plan.to_person_id, plan.to_chat_id, plan.reply_to),
        (p.qian, chat(5), Some(answer))
    );
    // And the tutor replies to that: back to the cadre, replying to his follow-up.
    let (plan, ..) = relay(&store, p.qian, follow_up_copy, "间隔10到15天", later)
        .await
        .unwrap();
    assert_eq!(plan.reply_to, Some(follow_up));
    // The cadre can also add to his own question by replying to it.
    let (plan, ..) = relay(&store, p.zhang, question.message_id, "是砀山梨", later)
        .await
        .unwrap();
    assert_eq!(plan.to_person_id, p.qian);

    let thread = store.thread(q).await.unwrap();
    let lines: Vec<(Option<&str>, Option<&str>)> = thread
        .iter()
        .map(|e| (e.author_name.as_deref(), e.text.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [
            (Some("张三"), Some("梨树梨锈病怎么治")),
            (Some("钱七"), Some("发病初期喷施三唑酮")),
            (Some("张三"), Some("用药后要隔多久再喷？")),
            (Some("钱七"), Some("间隔10到15天")),
            (Some("张三"), Some("是砀山梨")),
        ]
    );
    // Only the first tutor message counts as the answer.
    assert_eq!(
        store.question(q).await.unwrap().unwrap().first_answer_at,
        Some(later)
    );
}

async fn only_the_current_tutor_or_an_admin_continues_the_thread(store: Store) {
    let p = setup(&store).await;
    let (q, _) = asked(&store, p.zhang, "梨树梨锈病怎么治", "农业技术", now()).await;
    let card = card_message(&store, q, p.qian).await;
    // A message of another chat, or one the bot never relayed, is unknown.
    let r = store.plan_relay(p.sun, chat(6), card).await;
    assert_eq!(refused(r), QuestionRefusal::UnknownMessage);
    let r = store.plan_relay(p.qian, chat(5), 424242).await;
    assert_eq!(refused(r), QuestionRefusal::UnknownMessage);
    // Once passed on, the old card no longer answers.
    store
        .pass_question(q, p.qian, PassTarget::Tutor(p.sun), None, now())
        .await
        .unwrap();
    let r = store.plan_relay(p.qian, chat(5), card).await;
    assert_eq!(
        refused(r),
        QuestionRefusal::NotAssigned {
            tutor: Some("孙八".into())
        }
    );
    // An admin holding a message of the thread may answer.
    let admin_card = card_message(&store, q, p.zhao).await;
    let (plan, .., first) = relay(&store, p.zhao, admin_card, "请联系农技站", now())
        .await
        .unwrap();
    assert!(first);
    assert_eq!(plan.to_person_id, p.zhang);
    assert_eq!(
        store.question(q).await.unwrap().unwrap().answered_by,
        Some(p.zhao)
    );
    // The cadre's follow-up goes to the current tutor (孙八), after his latest message.
    let question = store.question(q).await.unwrap().unwrap();
    let sun_card = card_message(&store, q, p.sun).await;
    let plan = store
        .plan_relay(p.zhang, chat(1), question.message_id)
        .await
        .unwrap();
    assert_eq!((plan.to_person_id, plan.reply_to), (p.sun, Some(sun_card)));
    // A draft has no thread yet.
    let draft = ask_at(&store, p.zhang, "还没选类别", now()).await;
    let draft_msg = store.question(draft).await.unwrap().unwrap().message_id;
    let r = store.plan_relay(p.zhang, chat(1), draft_msg).await;
    assert_eq!(refused(r), QuestionRefusal::NotSubmitted);
}

async fn passing_on_moves_the_question_and_tells_everyone(store: Store) {
    let p = setup(&store).await;
    let (q, _) = asked(&store, p.zhang, "合作社分红怎么算", "农业技术", now()).await;
    let first_assignment = store.question(q).await.unwrap().unwrap().assignment_id;
    drain(&store).await;
    // To another topic: the best tutor of 产业发展 other than the passer.
    let routed = store
        .pass_question(q, p.qian, PassTarget::Topic("产业发展"), None, now())
        .await
        .unwrap();
    assert_eq!(
        (routed.tutor_id, routed.topic.as_str()),
        (p.zheng, "产业发展")
    );
    let question = store.question(q).await.unwrap().unwrap();
    assert_eq!(question.tutor_id, Some(p.zheng));
    assert_eq!(question.topic.as_deref(), Some("产业发展"));
    let second_assignment = question.assignment_id.unwrap();
    let queued = drain(&store).await;
    assert!(
        queued.contains(&(
            chat(5),
            Notification::QuestionCard {
                question_id: q,
                tutor_id: p.qian,
                assignment_id: first_assignment.unwrap()
            }
        )),
        "the old card shows it was passed on: {queued:?}"
    );
    assert!(queued.contains(&(
        chat(9),
        Notification::QuestionCard {
            question_id: q,
            tutor_id: p.zheng,
            assignment_id: second_assignment
        }
    )));
    assert!(queued.contains(&(
        chat(1),
        Notification::QuestionPassed {
            question_id: q,
            tutor_id: p.zheng,
            reassigned: false
        }
    )));
    let old = store
        .assignment(first_assignment.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        old.ended,
        Some((storage::AssignReason::Passed, Some("郑一".into())))
    );
    let new = store.assignment(second_assignment).await.unwrap().unwrap();
    assert_eq!(new.passed_by.as_deref(), Some("钱七"));
    // To a named tutor.
    let routed = store
        .pass_question(q, p.zheng, PassTarget::Tutor(p.sun), None, now())
        .await
        .unwrap();
    assert_eq!(routed.tutor_id, p.sun);
    assert_eq!(
        store.question(q).await.unwrap().unwrap().topic.as_deref(),
        Some("产业发展"),
        "a named tutor keeps the topic"
    );
    // The menu offers tutors of the topic first, never the cadre or the holder.
    let choices = store.pass_choices(q, 10).await.unwrap();
    let names: Vec<&str> = choices.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["钱七", "郑一", "周九"]);
}

async fn only_the_holder_or_an_admin_passes_on(store: Store) {
    let p = setup(&store).await;
    let (q, _) = asked(&store, p.zhang, "梨树梨锈病怎么治", "农业技术", now()).await;
    for outsider in [p.sun, p.zhang, p.li] {
        let r = store
            .pass_question(q, outsider, PassTarget::Topic("产业发展"), None, now())
            .await;
        assert_eq!(
            refused(r),
            QuestionRefusal::NotAssigned {
                tutor: Some("钱七".into())
            }
        );
        assert!(store.can_pass(q, outsider).await.is_err());
    }
    store.can_pass(q, p.qian).await.unwrap();
    store.can_pass(q, p.zhao).await.unwrap();
    let r = store
        .pass_question(q, p.qian, PassTarget::Tutor(p.qian), None, now())
        .await;
    assert_eq!(refused(r), QuestionRefusal::SameTutor);
    for not_tutor in [p.zhang, p.li, 9999] {
        let r = store
            .pass_question(q, p.qian, PassTarget::Tutor(not_tutor), None, now())
            .await;
        assert_eq!(refused(r), QuestionRefusal::NotATutor);
    }
    // An admin may pass a question he does not hold.
    let routed = store
        .pass_question(q, p.zhao, PassTarget::Tutor(p.zhou), None, now())
        .await
        .unwrap();
    assert_eq!(routed.tutor_id, p.zhou);
    assert_eq!(
        store.question(q).await.unwrap().unwrap().tutor_id,
        Some(p.zhou)
    );
}

async fn only_the_cadre_rates_and_only_an_answered_question(store: Store) {
    let p = setup(&store).await;
    let (q, _) = asked(&store, p.zhang, "梨树梨锈病怎么治", "农业技术", now()).await;
    let r = store.rate_question(q, p.zhang, true, now()).await;
    assert_eq!(refused(r), QuestionRefusal::NotAnswered);
    let card = card_message(&store, q, p.qian).await;
    relay(&store, p.qian, card, "喷三唑酮", now())
        .await
        .unwrap();
    drain(&store).await;
    for other in [p.qian, p.wu] {
        let r = store.rate_question(q, other, false, now()).await;
        assert_eq!(refused(r), QuestionRefusal::NotYours);
    }
    store.rate_question(q, p.zhang, true, now()).await.unwrap();
    assert_eq!(
        store.question(q).await.unwrap().unwrap().helpful,
        Some(true)
    );
    assert_eq!(
        drain(&store).await,
        vec![(
            chat(5),
            Notification::QuestionRated {
                question_id: q,
                helpful: true
            }
        )]
    );
    // The same rating again tells nobody; a change of mind does.
    store.rate_question(q, p.zhang, true, now()).await.unwrap();
    assert!(drain(&store).await.is_empty());
    store.rate_question(q, p.zhang, false, now()).await.unwrap();
    assert_eq!(
        store.question(q).await.unwrap().unwrap().helpful,
        Some(false)
    );
    assert_eq!(drain(&store).await.len(), 1);
}

/// Asks, routes and answers a question.
async fn answered(store: &Store, cadre: i64, question: &str, answer: &str) -> i64 {
    let (q, tutor) = asked(store, cadre, question, "农业技术", now()).await;
    let card = card_message(store, q, tutor).await;
    relay(store, tutor, card, answer, now()).await.unwrap();
    q
}

async fn chinese_questions_find_their_earlier_answers(store: Store) {
    let p = setup(&store).await;
    let pear = answered(&store, p.wu, "梨锈病用什么药防治", "发病初期喷施三唑酮").await;
    let flowers = answered(
        &store,
        p.wu,
        "种植花卉苗木有没有优惠政策",
        "可申请农业产业结构调整补助",
    )
    .await;
    let dibao = answered(
        &store,
        p.wu,
        "最低生活保障怎么申请",
        "向村委会提出书面申请，乡镇审核",
    )
    .await;
    answered(&store, p.wu, "村里道路硬化找哪个部门", "找县交通运输局").await;
    // Asked but not answered: never offered.
    asked(&store, p.wu, "梨树叶子上有锈色斑点", "农业技术", now()).await;

    let cases = [
        ("梨树梨锈病怎么治", vec![pear]),
        ("花卉苗木种植有补贴吗", vec![flowers]),
        ("低保申请需要哪些材料", vec![dibao]),
        ("村里的路灯坏了", vec![]),
        ("怎么办", vec![]),
    ];
    for (text, want) in cases {
        let q = ask_at(&store, p.zhang, text, now()).await;
        let similar = store.similar_answers(q, 3).await.unwrap();
        let got: Vec<i64> = similar.iter().map(|s| s.question_id).collect();
        assert_eq!(got, want, "{text}: {similar:?}");
    }
    // The answer comes along, for the receipt.
    let q = ask_at(&store, p.zhang, "梨锈病", now()).await;
    let similar = store.similar_answers(q, 3).await.unwrap();
    assert_eq!(similar.len(), 1);
    assert_eq!(similar[0].question, "梨锈病用什么药防治");
    assert_eq!(similar[0].answer.as_deref(), Some("发病初期喷施三唑酮"));
    assert_eq!(similar[0].answer_kind.as_deref(), Some("text"));
}

async fn policy_documents_share_the_index(store: Store) {
    let p = setup(&store).await;
    let pear = answered(&store, p.wu, "梨锈病用什么药防治", "喷施三唑酮").await;
    let admin = store
        .person_by_phone("13800000004")
        .await
        .unwrap()
        .unwrap()
        .id;
    let policy = store
        .add_policy(
            storage::NewPolicy {
                title: "贵阳市最低生活保障实施办法",
                issuer: None,
                issued_on: None,
                file_id: "file-7",
                file_name: None,
                format: "txt",
                text: "",
                no_text: true,
                added_by: admin,
            },
            now(),
        )
        .await
        .unwrap();
    let both = store
        .search(storage::Scope::Both, "低保实施办法", 3)
        .await
        .unwrap();
    assert_eq!(
        both.iter()
            .map(|m| (m.doc_kind.as_str(), m.doc_id))
            .collect::<Vec<_>>(),
        [(DOC_POLICY, policy.id)]
    );
    let questions = store
        .search(storage::Scope::Questions, "梨锈病防治", 3)
        .await
        .unwrap();
    assert_eq!(questions.len(), 1);
    assert_eq!((questions[0].doc_id, questions[0].shared), (pear, 3));
    // A question about the same thing gets both, ranked together.
    let q = ask_at(&store, p.zhang, "低保实施办法是什么", now()).await;
    let similar = store.similar(q, 3).await.unwrap();
    assert!(
        matches!(similar.as_slice(), [storage::Similar::Policy(h)] if h.policy.id == policy.id),
        "{similar:?}"
    );
    // Removing the document removes its terms.
    store.remove_policy(admin, policy.id).await.unwrap();
    assert!(
        store
            .search(storage::Scope::Policies, "低保实施", 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search(storage::Scope::Both, "", 3)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn figures_count_asked_answered_and_median_time(store: Store) {
    let p = setup(&store).await;
    let t0 = now();
    // Before the period: not counted.
    asked(
        &store,
        p.zhang,
        "上个月的问题",
        "农业技术",
        t0 - Duration::days(40),
    )
    .await;
    let mut questions = Vec::new();
    for (i, minutes) in [10, 50, 30].into_iter().enumerate() {
        let at = t0 + Duration::hours(i as i64);
        let (q, tutor) = asked(&store, p.zhang, &format!("问题{i}"), "农业技术", at).await;
        assert_eq!(tutor, p.qian);
        let card = card_message(&store, q, tutor).await;
        relay(
            &store,
            p.qian,
            card,
            "答复",
            at + Duration::minutes(minutes),
        )
        .await
        .unwrap();
        questions.push(q);
    }
    store
        .rate_question(questions[0], p.zhang, true, t0)
        .await
        .unwrap();
    store
        .rate_question(questions[1], p.zhang, false, t0)
        .await
        .unwrap();
    // One left unanswered, one passed on to 孙八 who answers it after 2 hours.
    asked(&store, p.zhang, "没人回答的问题", "农业技术", t0).await;
    let (passed, _) = asked(&store, p.zhang, "转交的问题", "农业技术", t0).await;
    store
        .pass_question(
            passed,
            p.qian,
            PassTarget::Tutor(p.sun),
            None,
            t0 + Duration::hours(1),
        )
        .await
        .unwrap();
    let card = card_message(&store, passed, p.sun).await;
    relay(&store, p.sun, card, "答复", t0 + Duration::hours(3))
        .await
        .unwrap();

    let figures = store
        .tutor_figures(t0 - Duration::days(1), t0 + Duration::days(1))
        .await
        .unwrap();
    let qian = figures.iter().find(|f| f.tutor_id == p.qian).unwrap();
    assert_eq!((qian.asked, qian.answered), (5, 3));
    assert_eq!(qian.median_first_answer, Some(Duration::minutes(30)));
    assert_eq!((qian.helpful, qian.unhelpful), (1, 1));
    let sun = figures.iter().find(|f| f.tutor_id == p.sun).unwrap();
    assert_eq!((sun.asked, sun.answered), (1, 1));
    assert_eq!(
        sun.median_first_answer,
        Some(Duration::hours(2)),
        "counted from when he got it"
    );
    let zhou = figures.iter().find(|f| f.tutor_id == p.zhou).unwrap();
    assert_eq!(
        (zhou.asked, zhou.answered, zhou.median_first_answer),
        (0, 0, None)
    );
}

async fn a_reply_queues_its_copy_and_the_delivered_copy_continues_the_thread(store: Store) {
    let p = setup(&store).await;
    let (q, tutor) = asked(&store, p.zhang, "梨树梨锈病怎么治", "农业技术", now()).await;
    let question = store.question(q).await.unwrap().unwrap();
    drain(&store).await;
    let card = card_message(&store, q, tutor).await;
    let source = |chat_id, message_id, text| RelaySource {
        chat_id,
        message_id,
        kind: storage::MessageKind::Text,
        text: Some(text),
    };

    // A stranger's reply changes nothing and queues nothing.
    let r = store
        .reply_in_thread(p.sun, card, source(chat(6), msg_id(), "我来答"), now())
        .await;
    assert_eq!(refused(r), QuestionRefusal::UnknownMessage);
    assert!(drain(&store).await.is_empty());

    // The tutor's answer is recorded and answers at once; its copy is queued for the cadre.
    let answer = msg_id();
    let relayed = store
        .reply_in_thread(p.qian, card, source(chat(5), answer, "喷三唑酮"), now())
        .await
        .unwrap();
    assert!(relayed.first_answer);
    assert_eq!(relayed.plan.to_name, "张三");
    assert_eq!(
        store.question(q).await.unwrap().unwrap().status,
        QuestionStatus::Answered
    );
    let queued = drain(&store).await;
    assert!(
        queued.contains(&(
            chat(1),
            Notification::QuestionRelay {
                question_id: q,
                from_chat: chat(5),
                from_message: answer,
                to_person: p.zhang,
                reply_to: Some(question.message_id),
                rate: true,
            }
        )),
        "{queued:?}"
    );
    assert!(
        queued
            .iter()
            .any(|(c, n)| *c == chat(5) && matches!(n, Notification::QuestionCard { .. })),
        "the card says it is answered: {queued:?}"
    );

    // Until the sender records the copy, a reply to it is unknown; then it continues.
    let copy = msg_id();
    let r = store.plan_relay(p.zhang, chat(1), copy).await;
    assert_eq!(refused(r), QuestionRefusal::UnknownMessage);
    store
        .record_copy(q, p.zhang, chat(1), copy, (chat(5), answer), true, now())
        .await
        .unwrap();
    let plan = store.plan_relay(p.zhang, chat(1), copy).await.unwrap();
    assert_eq!((plan.to_person_id, plan.reply_to), (p.qian, Some(answer)));
    // The tutor replying to his own answer reaches the cadre under its copy.
    let plan = store.plan_relay(p.qian, chat(5), answer).await.unwrap();
    assert_eq!((plan.to_person_id, plan.reply_to), (p.zhang, Some(copy)));
    // A later answer only relays.
    let relayed = store
        .reply_in_thread(
            p.qian,
            answer,
            source(chat(5), msg_id(), "十天后再喷"),
            now(),
        )
        .await
        .unwrap();
    assert!(!relayed.first_answer);
    let queued = drain(&store).await;
    assert!(
        matches!(queued.as_slice(), [(c, Notification::QuestionRelay { reply_to, .. })] if *c == chat(1) && *reply_to == Some(copy)),
        "{queued:?}"
    );
    let texts: Vec<Option<String>> = store
        .thread(q)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(
        texts,
        [
            Some("梨树梨锈病怎么治".to_string()),
            Some("喷三唑酮".to_string()),
            Some("十天后再喷".to_string())
        ]
    );
}

async fn a_fresh_card_queues_the_threads_attachments_once(store: Store) {
    let p = setup(&store).await;
    let message_id = msg_id();
    let q = store
        .create_question(
            NewQuestion {
                person_id: p.zhang,
                chat_id: chat(1),
                message_id,
                kind: storage::MessageKind::parse("photo"),
                text: "叶子上有锈色斑点",
                file_id: Some("leaf-1"),
            },
            now(),
        )
        .await
        .unwrap();
    store
        .submit_question(q, p.zhang, "农业技术", None, now())
        .await
        .unwrap();
    drain(&store).await;
    let card = msg_id();
    assert!(
        store
            .record_card(q, p.qian, chat(5), card, true, 5, now())
            .await
            .unwrap()
    );
    assert_eq!(
        drain(&store).await,
        [(
            chat(5),
            Notification::QuestionAttachment {
                question_id: q,
                from_chat: chat(1),
                from_message: message_id,
                to_person: p.qian,
                card_message: card,
            }
        )]
    );
    // Recorded already (an edit of the card): nothing again.
    assert!(
        !store
            .record_card(q, p.qian, chat(5), card, true, 5, now())
            .await
            .unwrap()
    );
    assert!(drain(&store).await.is_empty());
    // Replying to the delivered photo answers, under the cadre's photo.
    let photo = msg_id();
    store
        .record_copy(
            q,
            p.qian,
            chat(5),
            photo,
            (chat(1), message_id),
            false,
            now(),
        )
        .await
        .unwrap();
    let plan = store.plan_relay(p.qian, chat(5), photo).await.unwrap();
    assert_eq!(
        (plan.to_person_id, plan.reply_to),
        (p.zhang, Some(message_id))
    );
}
