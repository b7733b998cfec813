//! Delivery benchmark: N notifications through the outbox sender against a fake Bot API
//! that enforces Telegram-like limits (the configured ones). Prints the achieved rate as a
//! fraction of the configured overall limit (target ≥ 0.95) and the 429s received (target 0).
//!
//! `cargo bench --bench deliver` (env: DELIVER_N=10000, DELIVER_RATE=200 messages/s,
//! DELIVER_CHATS=2000, DELIVER_ENGINE=sqlite|postgres|both, DELIVER_ROUNDS=1).
//!
//! `DELIVER_INSTANCES=2`: two instances (two stores, two senders) on one database against
//! the one fake, as two processes behind a load balancer would be; the bot's one send
//! budget is the sender lease, so one sends and the other stands by. Each instance reaches
//! the fake through a relay of its own that counts its sends. `DELIVER_STOP` stops the
//! active one once half is sent: `stop` (a clean stop, which gives the lease up) or `cut`
//! (its database and Telegram connections cut, as if it died: the standby waits for the
//! lease to run out, and the rows the dead one had claimed wait for their claim to run out).

// The allocator the service runs with (src/main.rs), so the figures are the service's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use domain::config::Config;
use domain::notify::Notification;
use domain::{Clock, SystemClock};
use fakebot::proxy::TcpProxy;
use fakebot::{FakeTelegram, RateLimits};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::testing::TestDb;
use storage::{Engine, Store};
use teloxide::Bot;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

struct Outcome {
    sent: usize,
    seconds: f64,
    rate: f64,
    limit: u32,
    too_many: u64,
}

/// A cadre with one log, and `n` receipts of it queued to `chats` chats.
async fn queue(store: &Store, n: usize, chats: i64) {
    let roster =
        "name,phone,roles,unit,topics\n张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,\n";
    let entries = domain::roster::parse(roster, &Config::default().tutoring.topics).unwrap();
    let now = SystemClock.now();
    store.import_roster(&entries, now).await.unwrap();
    let person = store.person_by_phone("13800000001").await.unwrap().unwrap();
    let input = domain::worklog::LogInput {
        text: Some("走访".into()),
        ..Default::default()
    };
    let log = storage::NewLog {
        person_id: person.id,
        day: now.date_naive(),
        at: now,
        input: &input,
        chat_id: 1,
        message_id: 1,
        backdated: false,
        update_id: None,
    };
    let storage::Recorded::Log(receipt) = store.record_log(log, now).await.unwrap() else {
        unreachable!("a text log is a log of its own")
    };
    let items: Vec<_> = (0..n as i64)
        .map(|i| {
            let chat = 100_000 + i % chats;
            (
                chat,
                None,
                Notification::LogReceipt {
                    log_id: receipt.log_id,
                },
            )
        })
        .collect();
    for chunk in items.chunks(1000) {
        store.notify(chunk, now, now).await.unwrap();
    }
}

fn config(rate: u32) -> domain::config::Config {
    let mut config = Config::default();
    config.delivery.global_per_second = rate;
    config.validate().unwrap()
}

async fn fake(rate: u32) -> FakeTelegram {
    let tg = FakeTelegram::start().await;
    tg.set_rate_limits(Some(RateLimits {
        global_per_sec: rate,
        ..RateLimits::default()
    }));
    tg
}

/// Waits until nothing is pending (or an hour has passed).
async fn drained(store: &Store) {
    let started = Instant::now();
    loop {
        let (pending, _, failed) = store.outbox_counts().await.unwrap();
        if pending == 0 || started.elapsed() > Duration::from_secs(3600) {
            assert_eq!(failed, 0, "no notification may fail");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// n sends span n-1 intervals (the sender spaces them evenly).
fn rate_of(times: &[Instant]) -> (f64, f64) {
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return (0.0, 0.0);
    };
    let seconds = (*last - *first).as_secs_f64();
    (
        seconds,
        times.len().saturating_sub(1) as f64 / seconds.max(f64::EPSILON),
    )
}

async fn run(engine: Engine, n: usize, chats: i64, rate: u32) -> Outcome {
    let db = TestDb::new(engine).await;
    let store = db.store.clone();
    queue(&store, n, chats).await;
    let tg = fake(rate).await;
    let app = bot::App::new(store.clone(), config(rate), Arc::new(SystemClock));
    let bot = Bot::new(fakebot::TOKEN).set_api_url(tg.url().parse().unwrap());
    let service = bot::Service::start(bot, app, bot::Listener::None)
        .await
        .unwrap();
    drained(&store).await;
    let ok: Vec<_> = tg
        .calls_to("sendMessage")
        .into_iter()
        .filter(|c| c.is_ok())
        .map(|c| c.at)
        .collect();
    let (seconds, achieved) = rate_of(&ok);
    service.stop().await;
    Outcome {
        sent: ok.len(),
        seconds,
        rate: achieved,
        limit: rate,
        too_many: tg.too_many_requests_count(),
    }
}

/// One instance's way to the fake: forwards every Bot API request and notes when each
/// successful `sendMessage` passed. Once cut, it answers nothing (as a dead host would not).
struct Relay {
    target: String,
    client: reqwest::Client,
    sent: Mutex<Vec<Instant>>,
    cut: AtomicBool,
}

impl Relay {
    async fn start(target: String) -> (Arc<Relay>, String) {
        let relay = Arc::new(Relay {
            target,
            client: reqwest::Client::new(),
            sent: Mutex::new(Vec::new()),
            cut: AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(relay.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (relay, url)
    }

    fn sent(&self) -> Vec<Instant> {
        self.sent.lock().unwrap().clone()
    }
}

async fn forward(
    State(relay): State<Arc<Relay>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    if relay.cut.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut req = relay
        .client
        .post(format!("{}{}", relay.target.trim_end_matches('/'), path))
        .body(body);
    if let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE) {
        req = req.header(axum::http::header::CONTENT_TYPE, ct.clone());
    }
    let Ok(resp) = req.send().await else {
        return (StatusCode::BAD_GATEWAY, HeaderMap::new(), Bytes::new());
    };
    let status = resp.status();
    let mut out = HeaderMap::new();
    if let Some(ct) = resp.headers().get(axum::http::header::CONTENT_TYPE) {
        out.insert(axum::http::header::CONTENT_TYPE, ct.clone());
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    // teloxide names the method in the path as `SendMessage`.
    let method = path.rsplit('/').next().unwrap_or_default();
    if status.is_success() && method.eq_ignore_ascii_case("sendMessage") {
        relay.sent.lock().unwrap().push(Instant::now());
    }
    (status, out, bytes)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    None,
    /// `Service::stop`: the lease is given up.
    Clean,
    /// The database and Telegram links of the active one cut: it is as good as dead.
    Cut,
}

struct Pair {
    sent: [usize; 2],
    /// Rate of each instance over its own stretch of sends.
    rates: [f64; 2],
    /// Sends of both, first to last.
    seconds: f64,
    rate: f64,
    limit: u32,
    too_many: u64,
    /// From the stopped one's last send to the other's first after it.
    gap: Option<f64>,
    /// Sends after a pause of more than 5 s of the one that took over (the rows the cut
    /// instance had claimed, sent when their claim ran out).
    late: usize,
    /// Chats that got more than their share (a send of the dead one that was not recorded).
    duplicates: usize,
}

async fn run_pair(n: usize, chats: i64, rate: u32, stop: Stop) -> Pair {
    let db = TestDb::new(Engine::Postgres).await;
    queue(&db.store, n, chats).await;
    let tg = fake(rate).await;
    // The first instance reaches PostgreSQL through a proxy that the `cut` mode cuts.
    let pg = proxy_target(&db.url);
    let proxy = TcpProxy::start(pg).await;
    let first_url = db
        .url
        .replacen(&pg.to_string(), &proxy.addr().to_string(), 1);
    let stores = [
        Store::connect(&first_url).await.unwrap(),
        Store::connect(&db.url).await.unwrap(),
    ];
    let mut relays = Vec::new();
    let mut services = Vec::new();
    for store in &stores {
        let (relay, url) = Relay::start(tg.url()).await;
        let app = bot::App::new(store.clone(), config(rate), Arc::new(SystemClock));
        let bot = Bot::new(fakebot::TOKEN).set_api_url(url.parse().unwrap());
        services.push(Some(
            bot::Service::start(bot, app, bot::Listener::None)
                .await
                .unwrap(),
        ));
        relays.push(relay);
        // The first one started takes the lease.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut stopped = None;
    if stop != Stop::None {
        // Whichever sends, stop it once half is out.
        let waited = Instant::now();
        let active = loop {
            let counts: Vec<usize> = relays.iter().map(|r| r.sent().len()).collect();
            if counts[0] + counts[1] >= n / 2 || waited.elapsed() > Duration::from_secs(600) {
                break usize::from(counts[1] > counts[0]);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        match stop {
            Stop::Clean => {
                if let Some(s) = services[active].take() {
                    s.stop().await;
                }
            }
            Stop::Cut => {
                relays[active].cut.store(true, Ordering::SeqCst);
                if active == 0 {
                    proxy.cut();
                } else {
                    panic!("the instance with the proxied database should send first");
                }
            }
            Stop::None => {}
        }
        stopped = Some(active);
    }
    drained(&db.store).await;
    let mut sent: Vec<Vec<Instant>> = relays.iter().map(|r| r.sent()).collect();
    for s in &mut sent {
        s.sort();
    }
    let mut all: Vec<Instant> = sent.concat();
    all.sort();
    // The one that sent first, and the other: its main stretch, then any tail after a
    // pause of more than 5 s (rows a dead instance had claimed, sent when the claim ran out).
    let a = stopped.unwrap_or(usize::from(sent[1].first() < sent[0].first()));
    let b = 1 - a;
    let split = sent[b]
        .windows(2)
        .position(|w| w[1] - w[0] > Duration::from_secs(5))
        .map_or(sent[b].len(), |i| i + 1);
    let (main_b, tail) = sent[b].split_at(split);
    let gap = stopped.and_then(|_| Some((*main_b.first()? - *sent[a].last()?).as_secs_f64()));
    let (seconds, rate_all) = if stop == Stop::None {
        rate_of(&all)
    } else {
        // Each stretch at its own pace: the takeover gap and the tail are reported apart.
        let (sa, _) = rate_of(&sent[a]);
        let (sb, _) = rate_of(main_b);
        let intervals = sent[a].len().saturating_sub(1) + main_b.len().saturating_sub(1);
        (sa + sb, intervals as f64 / (sa + sb).max(f64::EPSILON))
    };
    let mut counts = std::collections::HashMap::<i64, usize>::new();
    for c in tg.calls_to("sendMessage").iter().filter(|c| c.is_ok()) {
        *counts.entry(c.chat_id().unwrap_or_default()).or_default() += 1;
    }
    let share = |chat: i64| {
        let i = chat - 100_000;
        (n as i64 / chats + i64::from(i < n as i64 % chats)) as usize
    };
    let duplicates = counts.iter().filter(|(c, k)| **k > share(**c)).count();
    let pair = Pair {
        sent: [sent[0].len(), sent[1].len()],
        rates: [rate_of(&sent[0]).1, rate_of(&sent[1]).1],
        seconds,
        rate: rate_all,
        limit: rate,
        too_many: tg.too_many_requests_count(),
        gap,
        late: tail.len(),
        duplicates,
    };
    if stop == Stop::Cut {
        // Its database comes back so that it can stop; Telegram stays out of its reach.
        proxy.restore();
    }
    for s in services.into_iter().flatten() {
        s.stop().await;
    }
    for s in &stores {
        s.close().await;
    }
    pair
}

/// host:port of the PostgreSQL URL.
fn proxy_target(url: &str) -> std::net::SocketAddr {
    let rest = url.split("://").nth(1).expect("a URL");
    let host = rest.split('@').next_back().unwrap_or(rest);
    let hostport = host.split(['/', '?']).next().unwrap_or(host);
    use std::net::ToSocketAddrs;
    hostport
        .to_socket_addrs()
        .expect("PostgreSQL address")
        .next()
        .expect("an address")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn main() {
    let n = env("DELIVER_N", 10_000) as usize;
    let rate = env("DELIVER_RATE", 200) as u32;
    let chats = env("DELIVER_CHATS", 2_000) as i64;
    let rounds = env("DELIVER_ROUNDS", 1).max(1);
    let instances = env("DELIVER_INSTANCES", 1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("delivery: {n} notifications to {chats} chats, limit {rate}/s overall, 1/s per chat");
    if instances >= 2 {
        let stop = match std::env::var("DELIVER_STOP").as_deref() {
            Ok("stop") => Stop::Clean,
            Ok("cut") => Stop::Cut,
            _ => Stop::None,
        };
        println!("two instances on one PostgreSQL database, stop of the active one: {stop:?}");
        println!(
            "{:>7} {:>7} {:>9} {:>9} {:>9} {:>6} {:>9} {:>9} {:>7} {:>5} {:>5}",
            "sent A",
            "sent B",
            "seconds",
            "msgs/s",
            "of limit",
            "429s",
            "A msgs/s",
            "B msgs/s",
            "gap s",
            "late",
            "dups"
        );
        let mut fractions = Vec::new();
        for _ in 0..rounds {
            let p = rt.block_on(run_pair(n, chats, rate, stop));
            println!(
                "{:>7} {:>7} {:>9.1} {:>9.1} {:>9.3} {:>6} {:>9.1} {:>9.1} {:>7} {:>5} {:>5}",
                p.sent[0],
                p.sent[1],
                p.seconds,
                p.rate,
                p.rate / f64::from(p.limit),
                p.too_many,
                p.rates[0],
                p.rates[1],
                p.gap
                    .map(|g| format!("{g:.2}"))
                    .unwrap_or_else(|| "-".into()),
                p.late,
                p.duplicates
            );
            fractions.push(p.rate / f64::from(p.limit));
        }
        if rounds > 1 {
            println!(
                "median of {rounds} rounds: {:.3} of the limit",
                median(fractions)
            );
        }
        return;
    }
    let engines: Vec<Engine> = match std::env::var("DELIVER_ENGINE").as_deref() {
        Ok("sqlite") => vec![Engine::Sqlite],
        Ok("postgres") => vec![Engine::Postgres],
        _ => vec![Engine::Sqlite, Engine::Postgres],
    };
    println!(
        "{:<9} {:>7} {:>9} {:>10} {:>9} {:>6}",
        "engine", "sent", "seconds", "msgs/s", "of limit", "429s"
    );
    for engine in engines {
        let mut fractions = Vec::new();
        for _ in 0..rounds {
            let o = rt.block_on(run(engine, n, chats, rate));
            println!(
                "{:<9} {:>7} {:>9.1} {:>10.1} {:>9.3} {:>6}",
                engine_name(engine),
                o.sent,
                o.seconds,
                o.rate,
                o.rate / f64::from(o.limit),
                o.too_many
            );
            fractions.push(o.rate / f64::from(o.limit));
        }
        if rounds > 1 {
            println!(
                "{:<9} median of {rounds} rounds: {:.3} of the limit",
                "",
                median(fractions)
            );
        }
    }
}
