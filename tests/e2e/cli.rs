//! The `zhucun` binary as an operator runs it: import, invite, serve, and its errors.

use crate::on_both_engines;
use crate::support::{Outage, ROSTER};
use fakebot::FakeTelegram;
use fakebot::updates::{self, TgUser};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use storage::Engine;
use storage::testing::TestDb;

on_both_engines!(
    import_then_serve_registers_by_contact_and_by_invite,
    serve_in_webhook_mode_takes_updates_posted_by_telegram,
    webhook_answers_503_while_the_database_is_away_and_200_once_handled,
    serve_answers_health_and_metrics_and_stops_on_sigterm,
    import_validates_the_whole_file_first,
    import_twice_changes_nothing_the_second_time,
    calendar_import_fills_the_missing_years_and_jobs_list_says_so,
    jobs_list_and_a_manual_log_reminder_delivered_before_exit,
);

pub(crate) fn zhucun(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhucun"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run zhucun")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.display().to_string()
}

/// Imports SPEC's example roster with the binary, as an operator would.
fn import_roster(db: &TestDb, dir: &Path) {
    let roster = write(dir, "roster.csv", ROSTER);
    let out = run(zhucun(&db.url).args(["import", &roster]));
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Kills the served process when the test ends, however it ends.
pub(crate) struct Served(pub(crate) Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn import_then_serve_registers_by_contact_and_by_invite(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let tg = FakeTelegram::start().await;

    let out = run(zhucun(&db.url).args(["import", &roster]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("5 added"), "{}", stdout(&out));

    // invite asks Telegram for the bot's username when the config does not name it.
    let out = run(zhucun(&db.url)
        .args(["invite", "+86 138-0000-0003"])
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url()));
    assert!(out.status.success(), "{}", stderr(&out));
    let link = stdout(&out).trim().to_string();
    let code = link
        .strip_prefix("https://t.me/zhucun_test_bot?start=")
        .unwrap_or_else(|| panic!("unexpected link {link}"))
        .to_string();

    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = zhucun(&db.url)
        .arg("serve")
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start serve");
    let _served = Served(child);
    if let Err(e) = tg
        .wait_for(Duration::from_secs(30), |c| c.method == "getUpdates")
        .await
    {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!("serve did not poll: {e}\nserve's stderr:\n{log}");
    }
    let menu = tg.calls_to("setMyCommands");
    assert!(!menu.is_empty(), "serve sets the command menu");
    assert!(menu[0].body.to_string().contains("\"help\""));

    let zhang = TgUser::new(8001, "张三");
    tg.push_update(updates::contact(&zhang, "13800000001", Some(zhang.id)));
    let welcome = tg.next_to(zhang.id).await;
    assert!(welcome.text().unwrap().contains("注册成功"), "{welcome}");

    let wang = TgUser::new(8002, "王五");
    tg.push_update(updates::text(&wang, &format!("/start {code}")));
    let welcome = tg.next_to(wang.id).await;
    assert!(welcome.text().unwrap().contains("王五"), "{welcome}");

    let spoofer = TgUser::new(8003, "冒充者");
    tg.push_update(updates::contact(&spoofer, "13800000002", Some(8002)));
    let refused = tg.next_to(spoofer.id).await;
    assert!(refused.text().unwrap().contains("本人"), "{refused}");
    assert!(db.store.person_by_tg(spoofer.id).await.unwrap().is_none());
}

async fn serve_in_webhook_mode_takes_updates_posted_by_telegram(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    import_roster(&db, dir.path());
    let tg = FakeTelegram::start().await;
    let port = free_port();
    let config = write(
        dir.path(),
        "zhucun.toml",
        &format!(
            "[telegram]\nwebhook_url = \"http://127.0.0.1:{port}/telegram\"\nwebhook_listen = \"127.0.0.1:{port}\"\n"
        ),
    );
    let child = zhucun(&db.url)
        .args(["--config", &config, "serve", "--webhook"])
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve --webhook");
    let _served = Served(child);
    let set = tg
        .wait_for(Duration::from_secs(30), |c| c.method == "setWebhook")
        .await
        .expect("serve registers its webhook");
    assert_eq!(set.body["url"], format!("http://127.0.0.1:{port}/telegram"));
    let secret = set.body["secret_token"]
        .as_str()
        .expect("a secret")
        .to_string();

    let zhang = TgUser::new(8101, "张三");
    let mut update = updates::contact(&zhang, "13800000001", Some(zhang.id));
    update["update_id"] = 777.into();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/telegram");
    // Without the secret Telegram gives, a post is not taken.
    let forged = client.post(&url).json(&update).send().await.unwrap();
    assert!(!forged.status().is_success());
    let mut accepted = false;
    for _ in 0..50 {
        let posted = client
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", &secret)
            .json(&update)
            .send()
            .await;
        if posted.is_ok_and(|r| r.status().is_success()) {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(accepted, "the webhook takes Telegram's post");
    let welcome = tg.next_to(zhang.id).await;
    assert!(welcome.text().unwrap().contains("注册成功"), "{welcome}");
}

/// Posts `update` to the webhook as Telegram does; the HTTP status it gets.
async fn post(url: &str, secret: &str, update: &serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("X-Telegram-Bot-Api-Secret-Token", secret)
        .json(update)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Posts as Telegram delivers: again after a 503, until a 200 (at most ~10 s). A post may
/// find its update in hand for a moment: its handler finishing after the database came
/// back, or its answered mark not yet written (it lingers ~25 ms to be grouped).
async fn deliver(url: &str, secret: &str, update: &serde_json::Value) -> u16 {
    let mut status = 0;
    for _ in 0..50 {
        status = post(url, secret, update).await;
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    status
}

async fn webhook_answers_503_while_the_database_is_away_and_200_once_handled(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    import_roster(&db, dir.path());
    let (db_url, mut outage) = match engine {
        Engine::Sqlite => (db.url.clone(), Outage::Sqlite(None)),
        Engine::Postgres => {
            let proxy = fakebot::proxy::TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
            let url = db.url.replace("127.0.0.1:5432", &proxy.addr().to_string());
            (url, Outage::Postgres(proxy))
        }
    };
    let tg = FakeTelegram::start().await;
    let port = free_port();
    let config = write(
        dir.path(),
        "zhucun.toml",
        &format!(
            "[telegram]\nwebhook_url = \"http://127.0.0.1:{port}/hook\"\nwebhook_listen = \"127.0.0.1:{port}\"\nwebhook_max_connections = 7\n"
        ),
    );
    let child = zhucun(&db_url)
        .args(["--config", &config, "serve", "--webhook"])
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url())
        .env("ZHUCUN_WEBHOOK_SECRET", "s3cret-of-the-deployment")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve --webhook");
    let _served = Served(child);
    let set = tg
        .wait_for(Duration::from_secs(30), |c| c.method == "setWebhook")
        .await
        .expect("serve registers its webhook");
    assert_eq!(set.body["secret_token"], "s3cret-of-the-deployment");
    assert_eq!(
        set.body["max_connections"].to_string().trim_matches('"'),
        "7"
    );
    let secret = "s3cret-of-the-deployment";
    let url = format!("http://127.0.0.1:{port}/hook");
    let zhang = TgUser::new(8101, "张三");
    let mut contact = updates::contact(&zhang, "13800000001", Some(zhang.id));
    contact["update_id"] = 100.into();
    let mut status = 0;
    for _ in 0..50 {
        status = post(&url, secret, &contact).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
    let welcome = tg.next_to(zhang.id).await;
    assert!(welcome.text().unwrap().contains("注册成功"), "{welcome}");

    outage.begin(&db).await;
    let mut log = updates::text(&zhang, "webhook 停库时的记实");
    log["update_id"] = 101.into();
    assert_eq!(
        post(&url, secret, &log).await,
        503,
        "Telegram must deliver it again"
    );
    let told = tg.next_to(zhang.id).await;
    assert!(told.text().unwrap().contains("无需重新发送"), "{told}");
    assert_eq!(post(&url, secret, &log).await, 503);
    outage.end().await;
    assert_eq!(
        deliver(&url, secret, &log).await,
        200,
        "handled once it is back"
    );
    let receipt = tg.next_to(zhang.id).await;
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    // Telegram (or a balancer) delivering it once more changes nothing and answers nothing.
    assert_eq!(deliver(&url, secret, &log).await, 200);
    tg.assert_silent(zhang.id, Duration::from_secs(1)).await;
    let person = db.store.person_by_tg(zhang.id).await.unwrap().unwrap();
    assert_eq!(db.store.person_logs(person.id).await.unwrap().len(), 1);
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

async fn serve_answers_health_and_metrics_and_stops_on_sigterm(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    import_roster(&db, dir.path());
    let proxy = fakebot::proxy::TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let db_url = match engine {
        Engine::Sqlite => db.url.clone(),
        Engine::Postgres => db.url.replace("127.0.0.1:5432", &proxy.addr().to_string()),
    };
    let tg = FakeTelegram::start().await;
    let port = free_port();
    let config = write(
        dir.path(),
        "zhucun.toml",
        &format!("[server]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let child = zhucun(&db_url)
        .args(["--config", &config, "serve"])
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url())
        .env("ZHUCUN_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let mut served = Served(child);
    let base = format!("http://127.0.0.1:{port}");
    let mut health = (0, String::new());
    for _ in 0..100 {
        health = get(&format!("{base}/healthz")).await;
        if health.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(health.0, 200, "{health:?}");

    let zhang = TgUser::new(8101, "张三");
    tg.push_update(updates::contact(&zhang, "13800000001", Some(zhang.id)));
    tg.next_to(zhang.id).await;
    tg.push_update(updates::text(&zhang, "走访农户"));
    let receipt = tg.next_to(zhang.id).await;
    assert!(receipt.text().unwrap().contains("第 1 条"), "{receipt}");
    let (status, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        text.contains(r#"zhucun_updates_total{kind="message"} 2"#),
        "{text}"
    );
    assert!(text.contains("zhucun_logs_recorded_total 1"), "{text}");
    assert!(text.contains("zhucun_outbox_depth 0"), "{text}");
    assert!(text.contains("zhucun_update_seconds_bucket"), "{text}");

    if engine == Engine::Postgres {
        proxy.cut();
        assert_eq!(get(&format!("{base}/healthz")).await.0, 503);
        proxy.restore();
        let mut back = 0;
        for _ in 0..50 {
            back = get(&format!("{base}/healthz")).await.0;
            if back == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(back, 200, "healthy again once the database is back");
    }

    // SIGTERM: drains and exits cleanly within 10 s.
    let pid = served.0.id().to_string();
    let started = std::time::Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(status) = served.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    use std::io::Read;
    served
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let first = stderr.lines().next().unwrap_or_default();
    let line: serde_json::Value = serde_json::from_str(first).expect("JSON log lines");
    assert!(line.get("level").is_some(), "{first}");
}

async fn import_validates_the_whole_file_first(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.csv",
        "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
李四,1380000,approver,贵阳市/乌当区/新堡乡,
王五,13800000003,mayor,贵阳市/乌当区,
钱七,13800000005,tutor,贵阳市/乌当区,
",
    );
    let out = run(zhucun(&db.url).args(["import", &bad]));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("line 3: phone"), "{err}");
    assert!(err.contains("line 4: unknown role `mayor`"), "{err}");
    assert!(
        err.contains("line 5: a tutor needs at least one topic"),
        "{err}"
    );
    assert!(err.contains("3 error(s); nothing was imported"), "{err}");
    assert!(
        db.store.people().await.unwrap().is_empty(),
        "nothing imported"
    );
}

async fn import_twice_changes_nothing_the_second_time(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    import_roster(&db, dir.path());
    let before = db.store.people().await.unwrap();
    let roster = dir.path().join("roster.csv").display().to_string();
    let out = run(zhucun(&db.url).args(["import", &roster]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 added, 0 updated, 5 unchanged, 0 deactivated, 0 units created"),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.store.people().await.unwrap(), before);
}

/// holiday-cn's file for `year` (made-up days: test data, not a State Council notice).
fn holiday_cn(year: i32) -> String {
    format!(
        r#"{{"year": {year}, "papers": [], "days": [
            {{"name": "元旦", "date": "{year}-01-01", "isOffDay": true}},
            {{"name": "元旦", "date": "{year}-01-02", "isOffDay": true}},
            {{"name": "元旦", "date": "{year}-01-03", "isOffDay": false}}
        ]}}"#
    )
}

async fn calendar_import_fills_the_missing_years_and_jobs_list_says_so(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    // Which years lack data depends on the day the test runs (from 1 December the next
    // year matters too): the same rule, asked of the shipped calendar.
    let today =
        domain::attendance::local_date(chrono::Utc::now(), domain::config::Config::default().tz());
    let shipped = domain::calendar::Calendar::parse(domain::calendar::CN_HOLIDAYS).unwrap();
    let missing = shipped.missing_years(today);
    let notes = |out: &Output| -> Vec<String> {
        stderr(out)
            .lines()
            .filter(|l| l.starts_with("note: "))
            .map(str::to_string)
            .collect()
    };
    let out = run(zhucun(&db.url).args(["jobs", "list"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let said = notes(&out);
    assert_eq!(said.len(), missing.len(), "{said:?}");
    for (note, year) in said.iter().zip(&missing) {
        assert!(
            note.starts_with(&format!("note: {year} has no holiday data")),
            "{note}"
        );
        assert!(note.contains("zhucun calendar import FILE"), "{note}");
    }
    assert_eq!(
        stdout(&out).lines().count(),
        8,
        "stdout is one line per job"
    );

    for year in missing.iter().copied().chain([2031]) {
        let file = write(dir.path(), &format!("{year}.json"), &holiday_cn(year));
        let out = run(zhucun(&db.url).args(["calendar", "import", &file]));
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            format!("imported {year}: 2 rest days, 1 make-up workdays")
        );
    }
    let out = run(zhucun(&db.url).args(["jobs", "list"]));
    assert!(notes(&out).is_empty(), "{}", stderr(&out));
    let calendar = db.store.calendar(&shipped).await.unwrap();
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert!(
        calendar.is_rest_day(d("2031-01-02")),
        "an imported holiday (a Thursday)"
    );
    assert!(
        calendar.is_workday(d("2031-01-03")),
        "an imported make-up workday"
    );
    assert!(
        calendar.is_rest_day(d("2026-10-01")),
        "the shipped years stay"
    );

    // The same file again replaces the year; a bad file is one line and changes nothing.
    let file = dir.path().join("2031.json").display().to_string();
    let out = run(zhucun(&db.url).args(["calendar", "import", &file]));
    assert!(
        stdout(&out).contains("(replaced the earlier import)"),
        "{}",
        stdout(&out)
    );
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"year": 2032, "days": [{"date": "2031-12-31", "isOffDay": true}]}"#,
    );
    let out = run(zhucun(&db.url).args(["calendar", "import", &bad]));
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2031-12-31 is not in 2032"),
        "{}",
        stderr(&out)
    );
    let years: Vec<i32> = db
        .store
        .calendar_years()
        .await
        .unwrap()
        .iter()
        .map(|y| y.year)
        .collect();
    assert!(!years.contains(&2032), "{years:?}");
}

/// Every failure an operator can cause is one line on stderr and a non-zero exit.
#[test]
fn operator_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("z.db").display());
    let bad_toml = write(
        dir.path(),
        "bad.toml",
        "[logs]\nbackdate_days = \"three\"\n",
    );
    let bad_tz = write(dir.path(), "tz.toml", "timezone = \"Mars/Olympus\"\n");
    let cases: Vec<(Command, &str)> = vec![
        (
            {
                let mut c = zhucun(&sqlite);
                c.arg("serve");
                c
            },
            "TELOXIDE_TOKEN is not set",
        ),
        (
            {
                let mut c = zhucun("postgres://postgres@127.0.0.1:1/none");
                c.arg("migrate");
                c
            },
            "cannot open database postgres://postgres@127.0.0.1:1/none",
        ),
        (
            {
                let mut c = zhucun("mysql://x");
                c.arg("migrate");
                c
            },
            "database_url: must start with sqlite:// or postgres://",
        ),
        (
            {
                let mut c = zhucun(&sqlite);
                c.args(["--config", &bad_toml, "migrate"]);
                c
            },
            "line 2",
        ),
        (
            {
                let mut c = zhucun(&sqlite);
                c.args(["--config", &bad_tz, "migrate"]);
                c
            },
            "timezone",
        ),
        (
            {
                let mut c = zhucun(&sqlite);
                c.args(["--config", "/nonexistent.toml", "migrate"]);
                c
            },
            "cannot read config file /nonexistent.toml",
        ),
        (
            {
                let mut c = zhucun(&sqlite);
                c.args(["import", "/nonexistent.csv"]);
                c
            },
            "cannot read /nonexistent.csv",
        ),
        (
            {
                let mut c = zhucun(&sqlite);
                c.args(["invite", "12345"]);
                c
            },
            "not a mainland mobile number",
        ),
    ];
    for (mut cmd, expected) in cases {
        let out = run(&mut cmd);
        let err = stderr(&out);
        assert!(!out.status.success(), "{cmd:?} should fail");
        assert!(
            err.contains(expected),
            "{cmd:?}: expected {expected:?} in {err:?}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{cmd:?}: not one line: {err:?}"
        );
        assert!(err.starts_with("error: "), "{err:?}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err:?}"
        );
    }
}

async fn jobs_list_and_a_manual_log_reminder_delivered_before_exit(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let roster = write(dir.path(), "roster.csv", ROSTER);
    let tg = FakeTelegram::start().await;
    assert!(
        run(zhucun(&db.url).args(["import", &roster]))
            .status
            .success()
    );
    // 张三 (cadre) and 李四 (approver) are registered; only the cadre is reminded.
    for (phone, tg_id) in [("13800000001", 8001), ("13800000002", 8002)] {
        db.store
            .register_by_phone(phone, tg_id, tg_id, chrono::Utc::now())
            .await
            .unwrap();
    }
    // Whatever day the test runs, make it a working day.
    let today =
        domain::attendance::local_date(chrono::Utc::now(), domain::config::Config::default().tz());
    let config = write(
        dir.path(),
        "zhucun.toml",
        &format!("[calendar]\nworkdays = [\"{today}\"]\n[jobs]\nquestion-sla = \"off\"\n"),
    );

    let out = run(zhucun(&db.url).args(["--config", &config, "jobs", "list"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 8, "{list}");
    assert!(lines[0].starts_with("log-reminder "), "{list}");
    // Name, cron expression, next run, last run (`-`: never).
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(fields[..3], ["log-reminder", "0", "20"], "{list}");
    assert_eq!(fields.last(), Some(&"-"), "{list}");
    assert_eq!(fields.len(), 1 + 5 + 2 + 1, "{list}");
    assert!(lines[1].starts_with("approval-reminder "), "{list}");
    let words = |i: usize| lines[i].split_whitespace().take(6).collect::<Vec<_>>();
    assert_eq!(words(2), ["question-sla", "off"], "{list}");
    assert_eq!(
        words(3),
        ["update-nudge", "0", "10", "*", "*", "Thu"],
        "{list}"
    );
    assert_eq!(
        words(4),
        ["share-digest", "0", "19", "*", "*", "*"],
        "{list}"
    );
    assert_eq!(
        words(5),
        ["weekly-summary", "0", "9", "*", "*", "Mon"],
        "{list}"
    );
    assert_eq!(
        words(6),
        ["subsidy-report", "0", "8", "1", "*", "*"],
        "{list}"
    );
    assert_eq!(
        words(7),
        ["calendar-check", "0", "9", "*", "*", "Mon"],
        "{list}"
    );

    let out = run(zhucun(&db.url).args(["jobs", "run", "lunch"]));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    for job in [
        "log-reminder",
        "approval-reminder",
        "question-sla",
        "update-nudge",
        "share-digest",
        "weekly-summary",
        "subsidy-report",
        "calendar-check",
    ] {
        assert!(err.contains(job), "{err}");
    }

    let out = run(zhucun(&db.url)
        .args(["--config", &config, "jobs", "run", "log-reminder"])
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "log-reminder: 1 reminder queued");
    // Delivered before the command exited.
    let sent = tg.sent_to(8001);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = sent[0].text().unwrap();
    assert!(
        text.contains("还没有收到您的工作记实") && text.contains("/remind off"),
        "{text}"
    );
    assert!(tg.sent_to(8002).is_empty(), "the approver is not reminded");

    let out = run(zhucun(&db.url).args(["--config", &config, "jobs", "list"]));
    assert!(
        !stdout(&out).lines().next().unwrap().ends_with(" -"),
        "{}",
        stdout(&out)
    );
}
