//! The web view's API as the Mini App calls it: signed initData on every call, answers
//! scoped to the caller's authority, the figures the chat shows.

use crate::on_both_engines;
use crate::support::TestApp;
use domain::Clock;
use fakebot::updates::TgUser;
use serde_json::Value;
use storage::Engine;

on_both_engines!(
    the_api_refuses_whoever_telegram_did_not_vouch_for,
    a_cadre_sees_his_month_and_supervisors_only_their_units,
    the_menu_button_and_stats_open_the_web_view,
    a_supervisor_reminds_a_cadre_who_has_not_logged_once_a_day,
    a_days_logs_come_with_their_photos_through_the_server,
    the_subsidy_workbook_holds_the_cadres_of_the_callers_scope,
    a_web_link_opens_the_view_once_within_ten_minutes,
    questions_waiting_past_the_reminder_are_overdue_and_the_workbook_goes_to_the_chat,
);

async fn questions_waiting_past_the_reminder_are_overdue_and_the_workbook_goes_to_the_chat(
    engine: Engine,
) {
    use calamine::{Reader, Xlsx};
    let t = TestApp::start(engine).await;
    t.import(&format!(
        "{}周九,13800000009,cadre,贵阳市/白云区/沙文镇/扁山村,\n",
        crate::support::ROSTER
    ))
    .await;
    let (zhang, li, zhao, qian) = register_all(&t).await;
    let base = serve(&t).await;
    let prompt = t.ask(&zhang, "/ask 梨树梨锈病怎么治").await;
    t.send(fakebot::updates::click(&zhang, &prompt, "农业技术"));
    t.reply(&zhang).await;
    t.reply(&qian).await;
    let questions = |units: &Value| {
        let line = &units["units"][0];
        (
            line["open_questions"].as_u64(),
            line["overdue_questions"].as_u64(),
        )
    };
    let (_, units) = call(&t, &base, &zhao, "/app/api/units").await;
    assert_eq!(units["units"][0]["unit"], "贵阳市/乌当区", "{units}");
    assert_eq!(questions(&units), (Some(1), Some(0)), "{units}");
    // tutoring.remind_after_hours is 24 by default.
    t.clock.advance(chrono::Duration::hours(25));
    let (_, units) = call(&t, &base, &zhao, "/app/api/units").await;
    assert_eq!(questions(&units), (Some(1), Some(1)), "{units}");
    let (_, list) = call(&t, &base, &li, "/app/api/cadres?unit=贵阳市/乌当区/新堡乡").await;
    assert_eq!(list["cadres"][0]["overdue_questions"], 1, "{list}");

    // The workbook of his scope, sent by the bot; once in ten minutes.
    let send = "/app/api/reports/subsidy/send?month=2026-11";
    let (status, body) = post(&t, &base, &li, send).await;
    assert_eq!(status, 200, "{body}");
    let doc = t.reply(&li).await;
    assert_eq!(doc.method, "sendDocument", "{doc}");
    let mut book = Xlsx::new(std::io::Cursor::new(doc.files[0].bytes.to_vec())).unwrap();
    let names: Vec<String> = book
        .worksheet_range("汇总")
        .unwrap()
        .rows()
        .skip(1)
        .map(|r| r[0].to_string())
        .collect();
    assert_eq!(names, ["张三"], "his township only");
    let (status, body) = post(&t, &base, &li, send).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("already sent: see the chat"))
    );
    t.tg.assert_silent(li.id, std::time::Duration::from_millis(300))
        .await;
    let (status, _) = post(&t, &base, &zhang, send).await;
    assert_eq!(status, 403, "a cadre gets no workbook");
    let (status, _) = post(
        &t,
        &base,
        &zhao,
        "/app/api/reports/subsidy/send?month=2027-01",
    )
    .await;
    assert_eq!(status, 400, "a month that has not begun");
    let (status, _) = post(&t, &base, &zhao, send).await;
    assert_eq!(status, 200);
    let doc = t.reply(&zhao).await;
    assert!(
        doc.text().unwrap_or_default().contains("2 名驻村干部"),
        "the city: {doc}"
    );
    t.stop().await;
}

async fn a_web_link_opens_the_view_once_within_ten_minutes(engine: Engine) {
    let config =
        domain::config::Config::from_toml("[web]\npublic_url = \"https://zhucun.example.cn\"\n")
            .unwrap()
            .validate()
            .unwrap();
    let t = TestApp::start_with(engine, config, Some(crate::support::ROSTER)).await;
    let zhao = TgUser::new(7004, "赵六");
    t.register(&zhao, "13800000004").await;
    let base = serve(&t).await;
    let secret_of = |c: &fakebot::Call| -> String {
        let text = c.text().unwrap_or_default().to_string();
        assert!(text.contains("10 分钟内有效"), "{text}");
        let link = text
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .unwrap()
            .to_string();
        assert!(
            link.starts_with("https://zhucun.example.cn/app/?login="),
            "{link}"
        );
        link.rsplit('=').next().unwrap().to_string()
    };
    let login = |secret: String| {
        let url = format!("{base}/app/api/login");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"token": secret}))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let secret = secret_of(&t.ask(&zhao, "/web").await);
    let (status, body) = login(secret.clone()).await;
    assert_eq!(status, 200, "{body}");
    let tma = format!("tma {}", body["init_data"].as_str().unwrap());
    let (status, me) = get(&format!("{base}/app/api/me"), Some(&tma)).await;
    assert_eq!((status, me["name"].as_str()), (200, Some("赵六")));
    assert_eq!(login(secret).await.0, 401, "once");
    assert_eq!(login("made-up".into()).await.0, 401);
    let secret = secret_of(&t.ask(&zhao, "/web").await);
    t.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(login(secret).await.0, 401, "ten minutes");
    t.stop().await;

    let t = TestApp::start(engine).await;
    t.register(&zhao, "13800000004").await;
    let told = t.ask(&zhao, "/web").await;
    assert_eq!(
        told.text().unwrap(),
        "网页版尚未开通（需要管理员设置 web.public_url）。"
    );
    t.stop().await;
}

async fn the_subsidy_workbook_holds_the_cadres_of_the_callers_scope(engine: Engine) {
    use calamine::{Reader, Xlsx};
    let t = TestApp::start(engine).await;
    t.import(&format!(
        "{}周九,13800000009,cadre,贵阳市/白云区/沙文镇/扁山村,\n",
        crate::support::ROSTER
    ))
    .await;
    let (zhang, li, zhao, _) = register_all(&t).await;
    t.ask(&zhang, "今天走访了三户脱贫户").await;
    let base = serve(&t).await;
    let names = |bytes: Vec<u8>| -> Vec<String> {
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("汇总").unwrap();
        sheet.rows().skip(1).map(|r| r[0].to_string()).collect()
    };
    let fetch = |u: &TgUser| {
        let tma = format!("tma {}", init_data(u, t.clock.now(), fakebot::TOKEN));
        let url = format!("{base}/app/api/reports/subsidy.xlsx?month=2026-11");
        async move {
            reqwest::Client::new()
                .get(url)
                .header("Authorization", tma)
                .send()
                .await
                .unwrap()
        }
    };
    let r = fetch(&zhao).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("subsidy-2026-11.xlsx")
    );
    assert_eq!(names(r.bytes().await.unwrap().to_vec()), ["张三", "周九"]);
    let r = fetch(&li).await;
    assert_eq!(
        names(r.bytes().await.unwrap().to_vec()),
        ["张三"],
        "his township only"
    );
    assert_eq!(fetch(&zhang).await.status().as_u16(), 403);
    t.stop().await;
}

async fn a_days_logs_come_with_their_photos_through_the_server(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (zhang, _, zhao, qian) = register_all(&t).await;
    let jpeg = b"\xFF\xD8\xFF\xE0 a photo of the village road".to_vec();
    t.tg.add_file("photo-road", jpeg.clone());
    t.send(fakebot::updates::photo(
        &zhang,
        "photo-road",
        Some("村道硬化完工"),
        None,
    ));
    t.reply(&zhang).await;
    let id = t.person_id(&zhang).await;
    let base = serve(&t).await;
    let (status, day) = call(
        &t,
        &base,
        &zhao,
        &format!("/app/api/cadres/{id}/days/2026-11-25"),
    )
    .await;
    assert_eq!(status, 200, "{day}");
    let log = &day["logs"][0];
    assert_eq!(log["text"], "村道硬化完工", "{day}");
    assert_eq!(log["time"], "10:00", "local time");
    let url = log["files"][0]["url"].as_str().unwrap().to_string();
    assert!(
        !url.contains(fakebot::TOKEN),
        "the token never reaches the page"
    );

    let tma = |u: &TgUser| format!("tma {}", init_data(u, t.clock.now(), fakebot::TOKEN));
    let r = reqwest::Client::new()
        .get(format!("{base}{url}"))
        .header("Authorization", tma(&zhao))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        jpeg,
        "the photo's bytes, through getFile"
    );
    let r = reqwest::Client::new()
        .get(format!("{base}{url}"))
        .header("Authorization", tma(&qian))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "a tutor sees no cadre's photos");
    let (status, _) = call(
        &t,
        &base,
        &zhao,
        &format!("/app/api/cadres/{id}/days/11-25"),
    )
    .await;
    assert_eq!(status, 400);
    t.stop().await;
}

async fn post(t: &TestApp, base: &str, user: &TgUser, path: &str) -> (u16, Value) {
    let tma = format!("tma {}", init_data(user, t.clock.now(), fakebot::TOKEN));
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("Authorization", tma)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn a_supervisor_reminds_a_cadre_who_has_not_logged_once_a_day(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (zhang, li, zhao, qian) = register_all(&t).await;
    let base = serve(&t).await;
    let (status, missing) = call(&t, &base, &li, "/app/api/missing").await;
    assert_eq!(status, 200, "{missing}");
    let names: Vec<&str> = missing["cadres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["张三"]);
    let id = missing["cadres"][0]["id"].as_i64().unwrap();
    let path = format!("/app/api/cadres/{id}/remind");

    let (status, _) = post(&t, &base, &qian, &path).await;
    assert_eq!(status, 403, "a tutor reminds nobody");
    let (status, body) = post(&t, &base, &li, &path).await;
    assert_eq!(
        (status, &body),
        (200, &serde_json::json!({"reminded": true}))
    );
    let told = t.reply(&zhang).await;
    assert!(
        told.text().unwrap().contains("还没有收到您的工作记实"),
        "{told}"
    );
    // Once a day, whoever presses.
    let (status, body) = post(&t, &base, &zhao, &path).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("already reminded today"))
    );
    t.tg.assert_silent(zhang.id, std::time::Duration::from_millis(300))
        .await;

    // Logged: nobody is missing, nothing to remind.
    t.clock.advance(chrono::Duration::days(1));
    t.ask(&zhang, "今天整理了村集体经济台账").await;
    let (_, missing) = call(&t, &base, &zhao, "/app/api/missing").await;
    assert_eq!(missing["cadres"], serde_json::json!([]));
    let (status, _) = post(&t, &base, &zhao, &path).await;
    assert_eq!(status, 409, "he logged today");
    t.stop().await;
}

async fn the_menu_button_and_stats_open_the_web_view(engine: Engine) {
    let config =
        domain::config::Config::from_toml("[web]\npublic_url = \"https://zhucun.example.cn/\"\n")
            .unwrap()
            .validate()
            .unwrap();
    let t = TestApp::start_with(engine, config, Some(crate::support::ROSTER)).await;
    let zhao = TgUser::new(7004, "赵六");
    t.register(&zhao, "13800000004").await;
    let stats = t.ask(&zhao, "/stats").await;
    let button = stats
        .body
        .pointer("/reply_markup/inline_keyboard/0/0")
        .cloned()
        .unwrap_or_default();
    assert_eq!(button["text"], "打开数据看板", "{stats}");
    assert_eq!(
        button["web_app"]["url"], "https://zhucun.example.cn/app/",
        "{stats}"
    );

    let bot = teloxide::Bot::new(fakebot::TOKEN).set_api_url(t.tg.url().parse().unwrap());
    bot::set_menu_button(&bot, &t.app.config).await.unwrap();
    let set = t.tg.next_call("setChatMenuButton").await;
    assert_eq!(set.body["menu_button"]["type"], "web_app", "{set}");
    assert_eq!(
        set.body["menu_button"]["web_app"]["url"],
        "https://zhucun.example.cn/app/"
    );
    t.stop().await;

    // Telegram opens Mini Apps over HTTPS only: a plain http URL is a setting error.
    let err = domain::config::Config::from_toml("[web]\npublic_url = \"http://x.cn\"\n")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("web.public_url"), "{err}");
}

/// The web view served on loopback for `t`; its base URL.
/// The roster's cadre, township approver, admin and tutor, registered.
async fn register_all(t: &TestApp) -> (TgUser, TgUser, TgUser, TgUser) {
    let users = (
        TgUser::new(7001, "张三"),
        TgUser::new(7002, "李四"),
        TgUser::new(7004, "赵六"),
        TgUser::new(7005, "钱七"),
    );
    for (u, phone) in [
        (&users.0, "13800000001"),
        (&users.1, "13800000002"),
        (&users.2, "13800000004"),
        (&users.3, "13800000005"),
    ] {
        t.register(u, phone).await;
    }
    users
}

async fn serve(t: &TestApp) -> String {
    let web = web::Web {
        store: t.store().clone(),
        config: t.app.config.clone(),
        token: fakebot::TOKEN.into(),
        api_url: t.tg.url().into(),
        clock: t.clock.clone(),
        on_queued: Some({
            let app = t.app.clone();
            std::sync::Arc::new(move || app.wake_sender())
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, web::router(web)).await });
    format!("http://{addr}")
}

/// initData as Telegram signs it for `user` at `at`, with `token`.
fn init_data(user: &TgUser, at: chrono::DateTime<chrono::Utc>, token: &str) -> String {
    let fields = vec![
        (
            "query_id".to_string(),
            "AAHdF6IQAAAAAN0XohDhrOrc".to_string(),
        ),
        (
            "user".to_string(),
            format!(r#"{{"id":{},"first_name":"{}"}}"#, user.id, user.first_name),
        ),
        ("auth_date".to_string(), at.timestamp().to_string()),
    ];
    web::auth::sign(&fields, token)
}

async fn get(url: &str, auth: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A call as `user` (valid initData of now).
async fn call(t: &TestApp, base: &str, user: &TgUser, path: &str) -> (u16, Value) {
    let tma = format!("tma {}", init_data(user, t.clock.now(), fakebot::TOKEN));
    get(&format!("{base}{path}"), Some(&tma)).await
}

async fn the_api_refuses_whoever_telegram_did_not_vouch_for(engine: Engine) {
    let t = TestApp::start(engine).await;
    let zhang = TgUser::new(7001, "张三");
    t.register(&zhang, "13800000001").await;
    let base = serve(&t).await;
    let url = format!("{base}/app/api/me");
    let now = t.clock.now();
    let good = init_data(&zhang, now, fakebot::TOKEN);
    let forged = good.replace("7001", "7004");
    let cases = [
        ("no header", None),
        ("not tma", Some(format!("Bearer {good}"))),
        ("garbage", Some("tma %%%&&&===".to_string())),
        ("another user's id", Some(format!("tma {forged}"))),
        (
            "another bot's token",
            Some(format!("tma {}", init_data(&zhang, now, "42:OTHER-BOT"))),
        ),
        (
            "two hours old",
            Some(format!(
                "tma {}",
                init_data(&zhang, now - chrono::Duration::hours(2), fakebot::TOKEN)
            )),
        ),
    ];
    for (what, auth) in cases {
        let (status, body) = get(&url, auth.as_deref()).await;
        assert_eq!(status, 401, "{what}: {body}");
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error"], "{what}: no data: {body}");
    }
    let (status, body) = get(&url, Some(&format!("tma {good}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "张三");

    // Signed, but not on the roster; then deactivated.
    let stranger = TgUser::new(9999, "路人");
    let (status, body) = call(&t, &base, &stranger, "/app/api/me").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("not on the roster"))
    );
    t.import("name,phone,roles,unit,topics\n赵六,13800000004,approver;admin,贵阳市,\n")
        .await;
    let (status, body) = call(&t, &base, &zhang, "/app/api/me").await;
    assert_eq!((status, body["error"].as_str()), (403, Some("deactivated")));
    t.stop().await;
}

async fn a_cadre_sees_his_month_and_supervisors_only_their_units(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (zhang, li, zhao, qian) = register_all(&t).await;
    // Today is Wednesday 2026-11-25: two logs (one day), and a leave request waiting.
    t.ask(&zhang, "今天走访了三户脱贫户").await;
    t.ask(&zhang, "下午参加了村两委会议").await;
    t.ask(&zhang, "/leave 12-10 12-11 参加培训").await;
    let base = serve(&t).await;

    let (status, me) = call(&t, &base, &zhang, "/app/api/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["roles"], serde_json::json!(["cadre"]));
    assert_eq!(me["month"]["month"], "2026-11");
    let mine = t.ask(&zhang, "/me").await;
    let figures = &me["month"];
    assert_eq!(figures["log_days"], 1, "{me}");
    assert_eq!(figures["subsidy_days"], 1, "{me}");
    assert_eq!(figures["leave_days"], 0, "{me}");
    assert!(
        mine.text().unwrap().contains('1'),
        "the chat says the same: {mine}"
    );
    assert_eq!(me["leave"][0]["status"], "pending", "{me}");
    assert_eq!(me["sees_units"], false);
    let (status, _) = call(&t, &base, &zhang, "/app/api/units").await;
    assert_eq!(status, 403, "a cadre sees no units");
    let (status, _) = call(&t, &base, &zhang, "/app/api/me?month=2026-13").await;
    assert_eq!(status, 400);
    let (status, _) = call(&t, &base, &zhang, "/app/api/me?month=2027-01").await;
    assert_eq!(status, 400, "a month that has not begun");

    // The admin sees the city; the township's approver his township only.
    let (status, units) = call(&t, &base, &zhao, "/app/api/units").await;
    assert_eq!(status, 200, "{units}");
    let line = &units["units"][0];
    assert_eq!(line["unit"], "贵阳市/乌当区", "{units}");
    assert_eq!(line["cadres"], 1);
    assert_eq!(line["logged_today"], 1);
    assert_eq!(line["missing_today"], 0);
    assert_eq!(line["pending_leave"], 1);
    assert_eq!(units["scope"], Value::Null);
    let (_, township) = call(&t, &base, &li, "/app/api/units").await;
    assert_eq!(township["scope"], "贵阳市/乌当区/新堡乡", "{township}");
    let (status, _) = call(&t, &base, &li, "/app/api/cadres?unit=贵阳市/乌当区").await;
    assert_eq!(status, 403, "above his township");
    let (status, list) = call(&t, &base, &li, "/app/api/cadres?unit=贵阳市/乌当区/新堡乡").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["cadres"][0]["name"], "张三");
    assert_eq!(list["cadres"][0]["today"], "记");
    let id = list["cadres"][0]["id"].as_i64().unwrap();

    // The cadre's calendar: 记 today, 休 on Sunday the 1st, blank on Monday the 2nd.
    let path = format!("/app/api/cadres/{id}/month");
    for who in [&li, &zhao, &zhang] {
        let (status, cal) = call(&t, &base, who, &path).await;
        assert_eq!(status, 200, "{cal}");
        let days = cal["days"].as_array().unwrap();
        assert_eq!(days.len(), 30);
        assert_eq!(days[0]["mark"], "休");
        assert_eq!(days[1]["mark"], "");
        assert_eq!(days[24]["mark"], "记");
        assert_eq!(days[25]["future"], true);
        assert_eq!(days[28]["mark"], "休", "a Sunday to come");
    }
    let (status, _) = call(&t, &base, &qian, &path).await;
    assert_eq!(status, 403, "a tutor sees no cadre's calendar");
    let (status, _) = call(&t, &base, &zhao, "/app/api/cadres/999999/month").await;
    assert_eq!(status, 404);
    t.stop().await;
}
