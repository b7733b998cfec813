//! Faults with real processes: the `zhucun serve` binary killed with SIGKILL at random
//! moments while cadres log, and its PostgreSQL cut away (a TCP proxy) for 10 s and 60 s.
//! Each test prints its figures. The long ones are `#[ignore]`d and run by `.ci/run`
//! (`cargo test --test e2e faults -- --ignored`).

use crate::cli::{Served, free_port, zhucun};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long (about a minute): run by .ci/run"]
async fn two_webhook_instances_on_one_postgres() {
    two_webhook_instances_on_one_database().await;
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
/// Starts `serve` polling the fake under the API prefix `origin` (which marks its calls).
fn serve(db_url: &str, tg: &FakeTelegram, log: &std::path::Path, origin: &str) -> Served {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let child = zhucun(db_url)
        .arg("serve")
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url_for(origin))
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
    // Registered before they log, as people are.
    assert!(tg.all_confirmed_within(Duration::from_secs(60)).await);
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
    /// Receipts sent again other than by another process after the first sender was
    /// killed: a fault of the bot.
    repeated_without_kill: usize,
    told_to_wait: usize,
    told_not_recorded: usize,
}

/// A receipt: when the fake got it, and from which process (its API prefix).
type Receipt = (Instant, Option<String>);

/// A process killed with SIGKILL: when (after it was reaped), and its API prefix.
struct Kill {
    at: Instant,
    origin: String,
}

/// Compares the sent messages (`(chat, message_id, text)`) with the database and with what
/// the bot sent; `kills` are the processes killed.
async fn figures(
    db: &TestDb,
    tg: &FakeTelegram,
    sent: &[(i64, i64, String)],
    kills: &[Kill],
) -> Figures {
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
    let mut receipts: HashMap<(i64, i64), Vec<Receipt>> = HashMap::new();
    let (mut told_to_wait, mut told_not_recorded) = (0, 0);
    for call in tg.calls_to("sendMessage") {
        if call.error.is_some() {
            continue;
        }
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
            receipts
                .entry((chat, to))
                .or_default()
                .push((call.at, call.origin.clone()));
        }
    }
    let count = |key: &(i64, i64)| receipts.get(key).map_or(0, Vec::len);
    // A receipt is sent again only by another process after the one that sent it was
    // killed (an update in flight at two kills may be answered three times). Told by
    // origin, not by time alone: the fake may record a dead process's last call a moment
    // after the kill.
    let excused = |first: &Receipt, again: &Receipt| {
        kills.iter().any(|k| {
            first.1.as_deref() == Some(k.origin.as_str()) && again.1 != first.1 && again.0 >= k.at
        })
    };
    let repeated_without_kill = receipts
        .values()
        .flat_map(|sent| sent.windows(2))
        .filter(|pair| !excused(&pair[0], &pair[1]))
        .count();
    Figures {
        sent: sent.len(),
        lost: sent.iter().filter(|s| !recorded.contains_key(&s.2)).count(),
        recorded_twice: recorded.values().filter(|&&n| n > 1).count(),
        unanswered: sent.iter().filter(|s| count(&(s.0, s.1)) == 0).count(),
        receipts_twice: sent.iter().filter(|s| count(&(s.0, s.1)) == 2).count(),
        receipts_more: sent.iter().filter(|s| count(&(s.0, s.1)) > 2).count(),
        repeated_without_kill,
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
            .filter(|c| c.error.is_none())
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
    let mut origin = "p0".to_owned();
    let mut served = serve(&db.url, &tg, &log, &origin);
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
    let mut killed = Vec::with_capacity(KILLS);
    while killed.len() < KILLS {
        let wait = rand::rng().random_range(300..1200);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        served.0.kill().expect("SIGKILL");
        served.0.wait().expect("reaped");
        killed.push(Kill {
            at: Instant::now(),
            origin: std::mem::replace(&mut origin, format!("p{}", killed.len() + 1)),
        });
        served = serve(&db.url, &tg, &log, &origin);
    }
    let sent = feeder.await.unwrap();
    settle(&tg, &sent, Duration::from_secs(120)).await;
    drop(served);
    let f = figures(&db, &tg, &sent, &killed).await;
    let kills = killed.len();
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
    assert_eq!(
        f.repeated_without_kill, 0,
        "a receipt is sent again only after a kill (an update in flight at two kills may get three)"
    );
    assert!(
        f.receipts_twice + f.receipts_more <= kills * 100,
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
    let mut served = serve(&url, &tg, &log, "p0");
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
    let f = figures(&db, &tg, &sent, &[]).await;
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

const SECRET: &str = "one-secret-for-all-instances";

/// `zhucun serve --webhook` listening on `hook` behind the balancer at `public` (the URL it
/// gives Telegram), its operations endpoint on a port of its own, a job firing every 5 s.
fn serve_webhook(
    db_url: &str,
    tg: &FakeTelegram,
    dir: &std::path::Path,
    public: std::net::SocketAddr,
    hook: u16,
) -> Served {
    let config = dir.join(format!("zhucun-{hook}.toml"));
    std::fs::write(
        &config,
        format!(
            "[telegram]\nwebhook_url = \"http://{public}/hook\"\n\
             webhook_listen = \"127.0.0.1:{hook}\"\n\
             [server]\nlisten = \"127.0.0.1:{}\"\n\
             [jobs]\nquestion-sla = \"*/5 * * * * *\"\n",
            free_port()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join(format!("serve-{hook}.log"))).unwrap();
    let child = zhucun(db_url)
        .args([
            "--config",
            &config.display().to_string(),
            "serve",
            "--webhook",
        ])
        .env("TELOXIDE_TOKEN", fakebot::TOKEN)
        .env("TELOXIDE_API_URL", tg.url_for(&format!("hook{hook}")))
        .env("ZHUCUN_WEBHOOK_SECRET", SECRET)
        .env("ZHUCUN_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,scheduler=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start serve --webhook");
    Served(child)
}

async fn two_webhook_instances_on_one_database() {
    const LOGS: usize = 600;
    const TWICE_EVERY: usize = 10;
    let db = TestDb::new(Engine::Postgres).await;
    import(&db).await;
    let tg = FakeTelegram::start().await;
    // Telegram's limits, enforced: 30 messages a second overall, 1 a second per chat.
    tg.set_rate_limits(Some(fakebot::RateLimits::default()));
    // Telegram posts every update to the webhook URL (every 10th twice at once, as when it
    // gives up on a slow answer), again on anything but 2xx; a round-robin balancer
    // in front of the two instances passes each post to one of them.
    tg.post_to_webhook(Some(TWICE_EVERY));
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let balancer = fakebot::proxy::Balancer::start(
        ports
            .iter()
            .map(|p| std::net::SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect(),
    )
    .await;
    let mut a = serve_webhook(&db.url, &tg, dir.path(), balancer.addr(), ports[0]);
    let _b = serve_webhook(&db.url, &tg, dir.path(), balancer.addr(), ports[1]);
    for _ in 0..2 {
        tg.wait_for(Duration::from_secs(60), |c| c.method == "setWebhook")
            .await
            .expect("both register the webhook");
    }
    let people = cadres();
    for (i, p) in people.iter().enumerate() {
        tg.push_update(updates::contact(p, &format!("139{i:08}"), Some(p.id)));
    }
    // Registered before they log, as people are.
    assert!(tg.all_confirmed_within(Duration::from_secs(60)).await);
    // Logs at about 13 a second, each cadre every 1.5 s (under Telegram's per-chat limit of
    // one a second, for the receipts); instance A killed with SIGKILL halfway.
    let mut sent = Vec::with_capacity(LOGS);
    let started = Instant::now();
    let mut killed_at = None;
    for n in 0..LOGS {
        let (s, u) = text_update(&people[n % people.len()], n);
        sent.push(s);
        tg.push_update(u);
        if n == LOGS / 2 {
            a.0.kill().expect("SIGKILL");
            a.0.wait().unwrap();
            killed_at = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(75)).await;
    }
    assert!(
        tg.all_confirmed_within(Duration::from_secs(90)).await,
        "every update taken by an instance: {} not",
        tg.unconfirmed_updates()
    );
    // Past the per-chat limit's window of the last receipts.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = killed_at.unwrap();
    // A broadcast through the outbox: the instance left sends it, within the limits.
    let notes: Vec<_> = people
        .iter()
        .map(|p| {
            (
                p.id,
                None,
                domain::notify::Notification::LogReceipt { log_id: 1 },
            )
        })
        .collect();
    let now = chrono::Utc::now();
    db.store.notify(&notes, now, now).await.unwrap();
    settle(&tg, &sent, Duration::from_secs(60)).await;
    for p in &people {
        tg.wait_for(Duration::from_secs(30), |c| {
            c.chat_id() == Some(p.id)
                && c.body.get("reply_parameters").is_none_or(|r| r.is_null())
                && c.text().unwrap_or_default().contains("工作记实")
                && c.at >= killed_at
        })
        .await
        .expect("the broadcast reaches everyone");
    }
    let killed = Kill {
        at: killed_at,
        origin: format!("hook{}", ports[0]),
    };
    let f = figures(&db, &tg, &sent, &[killed]).await;
    // The messages sent before the kill (some in A's hands) all answered soon after it.
    let before_kill: std::collections::HashSet<(i64, i64)> =
        sent[..=LOGS / 2].iter().map(|s| (s.0, s.1)).collect();
    let taken_over = tg
        .calls_to("sendMessage")
        .iter()
        .filter(|c| c.error.is_none() && c.at >= killed_at)
        .filter(|c| {
            c.chat_id()
                .zip(c.body["reply_parameters"]["message_id"].as_i64())
                .is_some_and(|k| before_kill.contains(&k))
        })
        .map(|c| c.at.duration_since(killed_at))
        .max()
        .unwrap_or_default();
    let refused = |outbox: bool| {
        tg.calls_to("sendMessage")
            .iter()
            .filter(|c| c.error.as_deref().is_some_and(|e| e.contains("Too Many")))
            .filter(|c| c.body["reply_parameters"].is_null() == outbox)
            .count()
    };
    println!(
        "two webhook instances behind a balancer, one killed halfway: {} logs (every {}th \
         update posted twice at once): \
         lost {}, recorded twice {}, unanswered {}, receipts twice {}; the killed one's \
         share answered within {:.1}s; 429s to the outbox broadcast {}, to direct replies {} \
         (answered again); {:.0} logs/s offered",
        f.sent,
        TWICE_EVERY,
        f.lost,
        f.recorded_twice,
        f.unanswered,
        f.receipts_twice,
        taken_over.as_secs_f64(),
        refused(true),
        refused(false),
        LOGS as f64 / started.elapsed().as_secs_f64(),
    );
    if f.lost + f.unanswered > 0 {
        let recorded: std::collections::HashSet<String> = {
            let mut all = std::collections::HashSet::new();
            for user in cadres() {
                let p = db
                    .store
                    .person_by_tg(user.id)
                    .await
                    .unwrap()
                    .expect("registered");
                for log in db.store.person_logs(p.id).await.unwrap() {
                    all.insert(log.text.unwrap_or_default());
                }
            }
            all
        };
        for s in sent.iter().filter(|s| !recorded.contains(&s.2)) {
            let replies: Vec<String> = tg
                .calls()
                .iter()
                .filter(|c| c.chat_id() == Some(s.0))
                .filter(|c| c.body["reply_parameters"]["message_id"].as_i64() == Some(s.1))
                .map(|c| format!("{c}"))
                .collect();
            eprintln!(
                "lost: chat {} message {} {:?}: replies {replies:?}",
                s.0, s.1, s.2
            );
        }
        // What the instances said, to tell why.
        for port in ports {
            let log = std::fs::read_to_string(dir.path().join(format!("serve-{port}.log")));
            for line in log.unwrap_or_default().lines() {
                if line.contains("\"WARN\"") || line.contains("\"ERROR\"") {
                    eprintln!("instance {port}: {line}");
                }
            }
        }
    }
    assert_eq!(f.lost, 0, "no log lost");
    assert_eq!(f.recorded_twice, 0, "no log recorded twice");
    assert_eq!(f.unanswered, 0, "every message answered");
    assert_eq!(f.receipts_more, 0);
    assert_eq!(
        f.repeated_without_kill, 0,
        "an update delivered to both instances is answered once"
    );
    assert!(
        f.receipts_twice <= 10,
        "only updates in flight at the kill answered twice"
    );
    assert_eq!(
        refused(true),
        0,
        "the outbox keeps within Telegram's limits"
    );
    assert!(
        taken_over < Duration::from_secs(10),
        "taken over in {taken_over:?}"
    );
    // The job fired once per tick across both instances.
    let mut ticks: HashMap<String, usize> = HashMap::new();
    for port in ports {
        let log = std::fs::read_to_string(dir.path().join(format!("serve-{port}.log"))).unwrap();
        assert!(!log.contains("panicked"), "{log}");
        for line in log.lines().filter(|l| l.contains("job ran")) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let tick = v["span"]["tick"].as_str().unwrap_or_default().to_string();
            *ticks.entry(tick).or_default() += 1;
        }
    }
    assert!(ticks.len() >= 3, "the job ran: {ticks:?}");
    assert!(ticks.values().all(|&n| n == 1), "each tick once: {ticks:?}");
}
