//! Faults with real processes: the `zhucun serve` binary killed with SIGKILL at random
//! moments while cadres log, and its PostgreSQL cut away (a TCP proxy) for 10 s and 60 s.
//! Each test prints its figures. The long ones are `#[ignore]`d and run by `.ci/run`
//! (`cargo test --test e2e faults -- --ignored`).

use crate::cli::{Served, zhucun};
use fakebot::FakeTelegram;
use fakebot::proxy::TcpProxy;
use fakebot::updates::{self, TgUser};
use rand::Rng;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use storage::Engine;
use storage::testing::TestDb;

const CADRES: usize = 20;
const TOLD_TO_WAIT: &str = "无需重新发送";
const NOT_RECORDED: &str = "没有被记录";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long (about a minute): run by .ci/run"]
async fn kill_nine_while_cadres_log_sqlite() {
    kill_nine_while_cadres_log(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long (about a minute): run by .ci/run"]
async fn kill_nine_while_cadres_log_postgres() {
    kill_nine_while_cadres_log(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long (about a minute): run by .ci/run"]
async fn postgres_away_for_10_seconds() {
    postgres_away_while_cadres_log(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long (about two minutes): run by .ci/run"]
async fn postgres_away_for_60_seconds() {
    postgres_away_while_cadres_log(Duration::from_secs(60)).await;
}

fn cadres() -> Vec<TgUser> {
    (0..CADRES)
        .map(|i| TgUser::new(60_000 + i as i64, &format!("干部{i:02}")))
        .collect()
}

fn roster() -> String {
    let mut csv = String::from("name,phone,roles,unit,topics\n");
    for i in 0..CADRES {
        csv.push_str(&format!(
            "干部{i:02},139{i:08},cadre,贵阳市/乌当区/新堡乡/村{i:02},\n"
        ));
    }
    csv
}

async fn import(db: &TestDb) {
    let config = domain::config::Config::default();
    let entries = domain::roster::parse(&roster(), &config.tutoring.topics).expect("roster");
    db.store
        .import_roster(&entries, chrono::Utc::now())
        .await
        .expect("import");
}

/// `zhucun serve` on `db_url`, talking to the fake Telegram; its stderr goes to `log`.
fn serve(db_url: &str, tg: &FakeTelegram, log: &std::path::Path) -> Served {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let child = zhucun(db_url)
        .arg("serve")
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start zhucun serve");
    Served(child)
}

async fn register_all(tg: &FakeTelegram, people: &[TgUser]) {
    for (i, p) in people.iter().enumerate() {
        tg.push_update(updates::contact(p, &format!("139{i:08}"), Some(p.id)));
    }
    for p in people {
        let welcome = tg
            .next_to_within(p.id, Duration::from_secs(60))
            .await
            .expect("welcome");
        assert!(welcome.text().unwrap().contains("注册成功"), "{welcome}");
    }
}

/// What the cadres sent and what became of it.
struct Figures {
    sent: usize,
    lost: usize,
    recorded_twice: usize,
    unanswered: usize,
    receipts_twice: usize,
    receipts_more: usize,
    told_to_wait: usize,
    told_not_recorded: usize,
}

/// Compares the sent messages (`(chat, message_id, text)`) with the database and with what
/// the bot sent.
async fn figures(db: &TestDb, tg: &FakeTelegram, sent: &[(i64, i64, String)]) -> Figures {
    let mut recorded: HashMap<String, usize> = HashMap::new();
    for user in cadres() {
        let person = db
            .store
            .person_by_tg(user.id)
            .await
            .unwrap()
            .expect("registered");
        for log in db.store.person_logs(person.id).await.unwrap() {
            *recorded.entry(log.text.unwrap_or_default()).or_default() += 1;
        }
    }
    let mut receipts: HashMap<(i64, i64), usize> = HashMap::new();
    let (mut told_to_wait, mut told_not_recorded) = (0, 0);
    for call in tg.calls_to("sendMessage") {
        let text = call.text().unwrap_or_default();
        if text.contains(TOLD_TO_WAIT) {
            told_to_wait += 1;
        }
        if text.contains(NOT_RECORDED) {
            told_not_recorded += 1;
        }
        if text.contains("工作记实")
            && let (Some(chat), Some(to)) = (
                call.chat_id(),
                call.body["reply_parameters"]["message_id"].as_i64(),
            )
        {
            *receipts.entry((chat, to)).or_default() += 1;
        }
    }
    let count = |key: &(i64, i64)| receipts.get(key).copied().unwrap_or(0);
    Figures {
        sent: sent.len(),
        lost: sent.iter().filter(|s| !recorded.contains_key(&s.2)).count(),
        recorded_twice: recorded.values().filter(|&&n| n > 1).count(),
        unanswered: sent.iter().filter(|s| count(&(s.0, s.1)) == 0).count(),
        receipts_twice: sent.iter().filter(|s| count(&(s.0, s.1)) == 2).count(),
        receipts_more: sent.iter().filter(|s| count(&(s.0, s.1)) > 2).count(),
        told_to_wait,
        told_not_recorded,
    }
}

/// Waits until Telegram has no unconfirmed update and every sent message has a receipt.
async fn settle(tg: &FakeTelegram, sent: &[(i64, i64, String)], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let answered: std::collections::HashSet<(i64, i64)> = tg
            .calls_to("sendMessage")
            .iter()
            .filter_map(|c| {
                Some((
                    c.chat_id()?,
                    c.body["reply_parameters"]["message_id"].as_i64()?,
                ))
            })
            .collect();
        let done = sent.iter().all(|s| answered.contains(&(s.0, s.1)));
        if (done && tg.unconfirmed_updates() == 0) || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn text_update(user: &TgUser, n: usize) -> ((i64, i64, String), serde_json::Value) {
    let text = format!("第{n}次走访记录");
    let update = updates::text(user, &text);
    ((user.id, updates::message_id(&update), text), update)
}

async fn kill_nine_while_cadres_log(engine: Engine) {
    const LOGS: usize = 2000;
    const KILLS: usize = 12;
    let db = TestDb::new(engine).await;
    import(&db).await;
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut served = serve(&db.url, &tg, &log);
    let people = cadres();
    register_all(&tg, &people).await;

    // The cadres log at about 200 messages a second, while the service is killed with
    // SIGKILL at random moments and started again at once.
    let feeder = {
        let tg = tg.clone();
        let people = people.clone();
        tokio::spawn(async move {
            let mut sent = Vec::with_capacity(LOGS);
            for n in 0..LOGS {
                let (s, update) = text_update(&people[n % people.len()], n);
                tg.push_update(update);
                sent.push(s);
                if n % 20 == 19 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            sent
        })
    };
    let mut kills = 0;
    while kills < KILLS {
        let wait = rand::rng().random_range(300..1200);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        served.0.kill().expect("SIGKILL");
        served.0.wait().expect("reaped");
        kills += 1;
        served = serve(&db.url, &tg, &log);
    }
    let sent = feeder.await.unwrap();
    settle(&tg, &sent, Duration::from_secs(120)).await;
    drop(served);
    let f = figures(&db, &tg, &sent).await;
    println!(
        "kill -9 ({engine:?}): {kills} kills over {} logs: lost {}, recorded twice {}, \
         unanswered {}, receipts sent twice {}, more than twice {}",
        f.sent, f.lost, f.recorded_twice, f.unanswered, f.receipts_twice, f.receipts_more
    );
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "serve panicked:\n{stderr}");
    assert_eq!(f.lost, 0, "no log lost");
    assert_eq!(f.recorded_twice, 0, "no log recorded twice");
    assert_eq!(f.unanswered, 0, "every message answered");
    assert_eq!(f.receipts_more, 0, "a receipt at most twice");
    assert!(
        f.receipts_twice <= kills * 100,
        "only updates in flight at a kill (a batch each) are answered twice"
    );
    assert_eq!(tg.unconfirmed_updates(), 0, "every update confirmed");
}

async fn postgres_away_while_cadres_log(outage: Duration) {
    let db = TestDb::new(Engine::Postgres).await;
    import(&db).await;
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let url = db.url.replace("127.0.0.1:5432", &proxy.addr().to_string());
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let mut served = serve(&url, &tg, &log);
    let people = cadres();
    register_all(&tg, &people).await;

    // About ten messages a second, before, during and after the outage.
    let before = Duration::from_secs(3);
    let after = Duration::from_secs(5);
    let feeder = {
        let tg = tg.clone();
        let people = people.clone();
        let total = before + outage + after;
        tokio::spawn(async move {
            let start = Instant::now();
            let mut sent = Vec::new();
            let mut during = std::collections::HashSet::new();
            let mut n = 0;
            while start.elapsed() < total {
                let (s, update) = text_update(&people[n % people.len()], n);
                tg.push_update(update);
                let t = start.elapsed();
                if t >= before && t < before + outage {
                    during.insert((s.0, s.1));
                }
                sent.push(s);
                n += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (sent, during)
        })
    };
    tokio::time::sleep(before).await;
    proxy.cut();
    tokio::time::sleep(outage).await;
    proxy.restore();
    let restored_at = Instant::now();
    let (sent, during) = feeder.await.unwrap();
    settle(&tg, &sent, Duration::from_secs(60)).await;
    // When the last message sent during the outage got its receipt.
    let recovered_in = tg
        .calls_to("sendMessage")
        .iter()
        .filter(|c| {
            c.chat_id()
                .zip(c.body["reply_parameters"]["message_id"].as_i64())
                .is_some_and(|k| during.contains(&k))
        })
        .map(|c| c.at.saturating_duration_since(restored_at))
        .max()
        .unwrap_or_default();
    assert!(
        served.0.try_wait().expect("status").is_none(),
        "serve keeps running"
    );
    let f = figures(&db, &tg, &sent).await;
    println!(
        "PostgreSQL away {}s: {} messages ({} during the outage): lost {}, recorded twice {}, \
         unanswered {}, receipts twice {}, told to wait {} (of {} cadres), told 'not recorded' {}; \
         the backlog answered {:.1}s after it returned",
        outage.as_secs(),
        f.sent,
        during.len(),
        f.lost,
        f.recorded_twice,
        f.unanswered,
        f.receipts_twice,
        f.told_to_wait,
        CADRES,
        f.told_not_recorded,
        recovered_in.as_secs_f64()
    );
    served.0.kill().ok();
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "serve panicked:\n{stderr}");
    assert_eq!(f.lost, 0, "no log lost");
    assert_eq!(f.recorded_twice, 0, "no log recorded twice");
    assert_eq!(f.unanswered, 0, "every message answered");
    assert_eq!(f.receipts_twice + f.receipts_more, 0, "one receipt each");
    assert_eq!(f.told_not_recorded, 0, "nobody told to send again");
    assert!(
        f.told_to_wait >= 1 && f.told_to_wait <= CADRES,
        "each cadre who wrote during the outage is told once that it waits: {}",
        f.told_to_wait
    );
}
