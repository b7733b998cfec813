//! Ingestion benchmark: N simulated cadres send M text logs each through the fake Bot API
//! into the real dispatcher, handlers and storage (SQLite, then PostgreSQL), and the same
//! load goes to a bare teloxide bot that only echoes, the ceiling that the fake API and the
//! framework allow on this machine.
//!
//! Each cadre behaves like a person: he sends a log, waits for its receipt (the bot's reply
//! to his message), then sends the next, so N logs are in flight at any time. Latency is
//! from pushing the update into the fake to the fake receiving the `sendMessage` that
//! replies to it; throughput is receipts per second over the measured phase.
//!
//! `pg-hook1` and `pg-hook2` take the same load in webhook mode: one or two instances (each
//! with a pool of its own) on one PostgreSQL database, the updates posted round-robin to
//! them like a load balancer would, a refused post going to the next. On this 2-core
//! machine both instances share the same cores, so the scale factor shows what running two
//! costs or gains here, not what two machines would carry.
//!
//! ```sh
//! cargo bench --bench ingest
//! INGEST_CADRES=200 INGEST_LOGS=50 INGEST_WARMUP=3 INGEST_ROUNDS=3 \
//!     INGEST_ENGINES=echo,sqlite,postgres,pg-hook1,pg-hook2 cargo bench --bench ingest
//! ```
//!
//! `echo-proc`, `sqlite-proc` and `pg-proc` measure from outside, as an operator would: the
//! bot is the `zhucun serve` binary in a process of its own (the echo bot this bench binary
//! started again as a child), and only the fake Bot API and the cadres run here. In-process,
//! the bot shares the fake's process; out of process it competes for the same two cores but
//! not for one runtime. Each process target's ratio is to `echo-proc`, the others' to `echo`.
//!
//! Over each measured phase the bench also reads the CPU clocks (Linux `/proc`) of its own
//! process, of the bot's process (process targets) and of every PostgreSQL process, and
//! prints them per log beside what a log may cost at the ratio goal: where the time goes.
//!
//! PostgreSQL is reached like the tests do (`ZHUCUN_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`), in a schema of its own that is dropped after.

// The allocator the service runs with (src/main.rs), so the figures are the service's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fakebot::updates::{self, TgUser};
use fakebot::{Call, FakeTelegram};
use storage::Engine;
use storage::testing::TestDb;
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::ReplyParameters;
use teloxide::update_listeners::Polling;

/// The bot, on either engine, should ingest at least this fraction of the echo baseline.
const RATIO_GOAL: f64 = 0.75;
/// The getUpdates long-poll timeout, for the bot and the echo baseline alike.
const POLL_TIMEOUT: Duration = Duration::from_secs(1);
/// A run that sees no Bot API call for this long is stuck.
const STALL: Duration = Duration::from_secs(30);
const UNIT: &str = "贵阳市/乌当区/新堡乡/谷溪村";
const FIRST_TG_ID: i64 = 1_000_000;

struct Settings {
    cadres: usize,
    logs: usize,
    warmup: usize,
    /// Each round measures every target once, in turn, so that a change in the machine's
    /// speed during the run touches all targets alike; the median round of each counts.
    rounds: usize,
    targets: Vec<Target>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Echo,
    Bot(Engine),
    /// `n` instances in webhook mode on one PostgreSQL database, behind a balancer.
    Webhook(usize),
    /// The echo bot in a child process.
    EchoProcess,
    /// `zhucun serve` in a child process.
    Process(Engine),
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Echo => "echo",
            Target::Bot(Engine::Sqlite) => "sqlite",
            Target::Bot(Engine::Postgres) => "postgres",
            Target::Webhook(1) => "pg-hook1",
            Target::Webhook(_) => "pg-hook2",
            Target::EchoProcess => "echo-proc",
            Target::Process(Engine::Sqlite) => "sqlite-proc",
            Target::Process(Engine::Postgres) => "pg-proc",
        }
    }

    /// The echo baseline this target is compared with: the one run the same way.
    fn baseline(self) -> Target {
        match self {
            Target::EchoProcess | Target::Process(_) => Target::EchoProcess,
            _ => Target::Echo,
        }
    }

    /// Whether `text` is what this target answers to a log.
    fn is_receipt(self, text: &str) -> bool {
        match self {
            Target::Echo | Target::EchoProcess => text == "ok",
            Target::Bot(_) | Target::Webhook(_) | Target::Process(_) => text.starts_with('✅'),
        }
    }

    /// logs/s this target should reach (absolute), if any.
    fn goal(self) -> Option<f64> {
        match self {
            Target::Echo | Target::EchoProcess | Target::Webhook(_) => None,
            Target::Bot(Engine::Sqlite) | Target::Process(Engine::Sqlite) => Some(3000.0),
            Target::Bot(Engine::Postgres) | Target::Process(Engine::Postgres) => Some(2000.0),
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}")),
        Err(_) => default,
    }
}

impl Settings {
    fn from_env() -> Settings {
        let targets = std::env::var("INGEST_ENGINES")
            .unwrap_or_else(|_| "echo,sqlite,postgres,pg-hook1,pg-hook2".into())
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "echo" => Target::Echo,
                "sqlite" => Target::Bot(Engine::Sqlite),
                "postgres" | "pg" => Target::Bot(Engine::Postgres),
                "pg-hook1" => Target::Webhook(1),
                "pg-hook2" => Target::Webhook(2),
                "echo-proc" => Target::EchoProcess,
                "sqlite-proc" => Target::Process(Engine::Sqlite),
                "pg-proc" => Target::Process(Engine::Postgres),
                other => panic!(
                    "INGEST_ENGINES: unknown {other:?} (echo, sqlite, postgres, pg-hook1, \
                     pg-hook2, echo-proc, sqlite-proc, pg-proc)"
                ),
            })
            .collect();
        Settings {
            cadres: env_usize("INGEST_CADRES", 200).max(1),
            logs: env_usize("INGEST_LOGS", 50).max(1),
            rounds: env_usize("INGEST_ROUNDS", 3).max(1),
            warmup: env_usize("INGEST_WARMUP", 3),
            targets,
        }
    }
}

/// What one measured phase gave.
struct Measured {
    target: Target,
    logs: usize,
    elapsed: Duration,
    /// Sorted.
    latencies: Vec<Duration>,
    /// Replies that were not receipts (e.g. "not recorded, send again").
    wrong: Vec<String>,
    /// Mean batch sizes (sender lookups, recorded logs), for the bot.
    /// Per storage group: (name, mean batch, batches, share of the measured time busy).
    batches: Option<Vec<(&'static str, f64, u64, f64)>>,
    /// getUpdates answered in the measured phase, and the updates they handed out in all.
    polls: usize,
    handed_out: usize,
    /// CPU time spent in the measured phase, where it could be read (Linux).
    cpu: Option<CpuSpent>,
}

/// CPU time of the measured phase: this process (the fake, the cadres and, in process, the
/// bot), the bot's own process (process targets) and every PostgreSQL server process.
#[derive(Clone, Copy, Default)]
struct CpuSpent {
    bench: Duration,
    child: Duration,
    postgres: Duration,
}

/// A reading of the CPU clocks [`CpuSpent`] is made of.
struct CpuReading {
    own: Duration,
    child: Duration,
    /// pid → CPU time, of every process named `postgres`.
    postgres: HashMap<u32, Duration>,
}

/// utime + stime of a process (all its threads), from `/proc/<pid>/stat`.
fn proc_cpu(pid: &str) -> Option<(String, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture (it is part of the ABI).
    Some((comm, Duration::from_millis(ticks * 10)))
}

impl CpuReading {
    fn take(child: Option<u32>) -> Option<CpuReading> {
        let own = proc_cpu("self")?.1;
        let child = child
            .and_then(|pid| proc_cpu(&pid.to_string()))
            .map_or(Duration::ZERO, |c| c.1);
        let mut postgres = HashMap::new();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if let Some((comm, cpu)) = proc_cpu(pid)
                && comm == "postgres"
            {
                postgres.insert(pid.parse().unwrap_or(0), cpu);
            }
        }
        Some(CpuReading {
            own,
            child,
            postgres,
        })
    }

    /// From `self` to `later`; a PostgreSQL process started meanwhile counts in full.
    fn until(&self, later: &CpuReading) -> CpuSpent {
        let postgres = later
            .postgres
            .iter()
            .map(|(pid, &t)| t.saturating_sub(self.postgres.get(pid).copied().unwrap_or_default()))
            .sum();
        CpuSpent {
            bench: later.own.saturating_sub(self.own),
            child: later.child.saturating_sub(self.child),
            postgres,
        }
    }
}

impl Measured {
    fn rate(&self) -> f64 {
        self.logs as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

fn log_text(cadre: usize, n: usize) -> String {
    format!("第{n}次入户走访：与{cadre}号脱贫户核对帮扶台账，了解春耕备耕和务工情况。")
}

fn message_id(update: &serde_json::Value) -> i64 {
    update["message"]["message_id"]
        .as_i64()
        .expect("fakebot text updates carry a message_id")
}

/// Each cadre sends `per_cadre` logs, one at a time, each after the receipt of the previous
/// one; all cadres at once. Consumes every call of `fake` as it goes.
async fn drive(
    fake: &FakeTelegram,
    feed: &mut Feed,
    users: &[TgUser],
    per_cadre: usize,
    target: Target,
) -> Measured {
    let total = users.len() * per_cadre;
    // message_id of a log in flight → (cadre, when it was pushed)
    let mut in_flight: HashMap<i64, (usize, Instant)> = HashMap::with_capacity(users.len());
    let mut sent = vec![1usize; users.len()];
    let mut latencies = Vec::with_capacity(total);
    let mut wrong = Vec::new();
    let (mut polls, mut handed_out) = (0, 0);

    let first: Vec<serde_json::Value> = users
        .iter()
        .enumerate()
        .map(|(i, u)| updates::text(u, &log_text(i, 1)))
        .collect();
    let start = Instant::now();
    for (i, u) in first.iter().enumerate() {
        in_flight.insert(message_id(u), (i, start));
    }
    feed.send(fake, first);

    let mut last = start;
    while latencies.len() + wrong.len() < total {
        let call: Call = match fake.wait_for(STALL, |_| true).await {
            Ok(call) => call,
            Err(_) => panic!(
                "{}: no Bot API call for {STALL:?}; {} of {total} receipts, {} updates undelivered",
                target.name(),
                latencies.len() + wrong.len(),
                fake.pending_updates()
            ),
        };
        if call.method == "getUpdates" {
            polls += 1;
            handed_out += call.result.as_array().map_or(0, Vec::len);
        }
        if call.method != "sendMessage" {
            continue;
        }
        let Some(replied) = call.body["reply_parameters"]["message_id"].as_i64() else {
            wrong.push(format!("not a reply: {call}"));
            continue;
        };
        let Some((cadre, pushed)) = in_flight.remove(&replied) else {
            wrong.push(format!("reply to an unknown message: {call}"));
            continue;
        };
        last = last.max(call.at);
        match call.text() {
            Some(t) if target.is_receipt(t) => latencies.push(call.at.duration_since(pushed)),
            _ => wrong.push(format!("{call}")),
        }
        if sent[cadre] < per_cadre {
            sent[cadre] += 1;
            let update = updates::text(&users[cadre], &log_text(cadre, sent[cadre]));
            let id = message_id(&update);
            in_flight.insert(id, (cadre, Instant::now()));
            feed.send(fake, vec![update]);
        }
    }
    latencies.sort_unstable();
    Measured {
        target,
        logs: total,
        elapsed: last.duration_since(start),
        latencies,
        wrong,
        batches: None,
        polls,
        handed_out,
        cpu: None,
    }
}

/// How updates reach the bot.
enum Feed {
    /// Queued in the fake, which hands them out through getUpdates.
    Poll,
    /// Posted the way Telegram and a round-robin load balancer do: to one instance after
    /// another, and on a refusal (503: "deliver again") to the next, until one says 200.
    Post {
        client: reqwest::Client,
        urls: Arc<Vec<String>>,
        next: usize,
        next_id: i64,
    },
}

impl Feed {
    fn post(urls: Vec<String>) -> Feed {
        Feed::Post {
            client: reqwest::Client::new(),
            urls: Arc::new(urls),
            next: 0,
            next_id: 1,
        }
    }

    fn send(&mut self, fake: &FakeTelegram, updates: Vec<serde_json::Value>) {
        let Feed::Post {
            client,
            urls,
            next,
            next_id,
        } = self
        else {
            fake.push_updates(updates);
            return;
        };
        for mut update in updates {
            update["update_id"] = (*next_id).into();
            *next_id += 1;
            let (client, urls, first) = (client.clone(), urls.clone(), *next);
            *next += 1;
            tokio::spawn(async move {
                for attempt in 0.. {
                    let url = &urls[(first + attempt) % urls.len()];
                    let posted = client
                        .post(url)
                        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
                        .json(&update)
                        .send()
                        .await;
                    match posted {
                        Ok(r) if r.status().is_success() => return,
                        Ok(r) => eprintln!("webhook answered {}; delivering again", r.status()),
                        Err(e) => eprintln!("webhook post failed ({e}); delivering again"),
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    }
}

fn cadres(n: usize) -> Vec<TgUser> {
    (0..n)
        .map(|i| TgUser::new(FIRST_TG_ID + i as i64, &format!("干部{i}")))
        .collect()
}

fn phone(i: usize) -> String {
    format!("138{:08}", i + 1)
}

fn roster_csv(n: usize) -> String {
    let mut csv = String::from("name,phone,roles,unit,topics\n");
    for i in 0..n {
        writeln!(csv, "干部{i},{},cadre,{UNIT},", phone(i)).expect("write to a String");
    }
    csv
}

fn bot_for(fake: &FakeTelegram) -> Bot {
    Bot::new(fakebot::TOKEN).set_api_url(fake.url().parse().expect("fake URL"))
}

/// The bare teloxide bot: answers every message with "ok", replying to it.
struct Echo {
    token: ShutdownToken,
    task: tokio::task::JoinHandle<()>,
}

impl Echo {
    async fn start(bot: Bot) -> Echo {
        let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
            bot.send_message(msg.chat.id, "ok")
                .reply_parameters(ReplyParameters::new(msg.id))
                .await?;
            respond(())
        });
        let mut dispatcher = Dispatcher::builder(bot.clone(), handler).build();
        let token = dispatcher.shutdown_token();
        let listener = Polling::builder(bot)
            .timeout(POLL_TIMEOUT)
            .delete_webhook()
            .await
            .build();
        let task = tokio::spawn(async move {
            dispatcher
                .dispatch_with_listener(
                    listener,
                    LoggingErrorHandler::with_custom_text("getUpdates failed"),
                )
                .await;
        });
        Echo { token, task }
    }

    async fn stop(mut self) {
        // Like bot::Service::stop: shutdown fails while the dispatcher is still starting.
        while self.token.shutdown().is_err() && !self.task.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = (&mut self.task).await;
    }
}

/// A fresh database with `n` registered cadres.
async fn roster_db(engine: Engine, n: usize) -> TestDb {
    let db = TestDb::new(engine).await;
    let now = chrono::Utc::now();
    let entries = domain::roster::parse(&roster_csv(n), &config().tutoring.topics)
        .unwrap_or_else(|e| panic!("benchmark roster: {e:?}"));
    db.store
        .import_roster(&entries, now)
        .await
        .expect("roster import");
    for (i, user) in cadres(n).iter().enumerate() {
        db.store
            .register_by_phone(&phone(i), user.id, user.id, now)
            .await
            .expect("register cadre");
    }
    db
}

fn config() -> domain::config::Config {
    domain::config::Config::default()
        .validate()
        .expect("default config is valid")
}

/// A fresh database with `n` registered cadres, and the real bot serving them.
async fn start_bot(engine: Engine, fake: &FakeTelegram, n: usize) -> (TestDb, bot::Service) {
    let db = roster_db(engine, n).await;
    let app = bot::App::new(db.store.clone(), config(), Arc::new(domain::SystemClock));
    let listener = bot::Listener::Polling {
        timeout: POLL_TIMEOUT,
    };
    let service = bot::Service::start(bot_for(fake), app, listener)
        .await
        .expect("bot starts");
    (db, service)
}

const WEBHOOK_SECRET: &str = "ingest-bench-secret";

/// `instances` webhook instances on one fresh PostgreSQL database, each with a pool of its
/// own (as separate processes would have), and the URLs they listen on.
async fn start_webhooks(
    fake: &FakeTelegram,
    n: usize,
    instances: usize,
) -> (TestDb, Vec<(storage::Store, bot::Service)>, Vec<String>) {
    let db = roster_db(Engine::Postgres, n).await;
    let mut running = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..instances {
        let store = storage::Store::connect(&db.url).await.expect("connect");
        let listen: std::net::SocketAddr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("its address")
        };
        let url = format!("http://{listen}/hook");
        let app = bot::App::new(store.clone(), config(), Arc::new(domain::SystemClock));
        let listener = bot::Listener::Webhook {
            url: url.parse().expect("webhook URL"),
            listen,
            secret: WEBHOOK_SECRET.into(),
            max_connections: 100,
        };
        let service = bot::Service::start(bot_for(fake), app, listener)
            .await
            .expect("webhook instance starts");
        running.push((store, service));
        urls.push(url);
    }
    (db, running, urls)
}

async fn run(target: Target, s: &Settings) -> Measured {
    let fake = FakeTelegram::start().await;
    let users = cadres(s.cadres);
    let measured = match target {
        Target::Echo => {
            let echo = Echo::start(bot_for(&fake)).await;
            let m = drive_all(&fake, &users, s, target, None).await;
            echo.stop().await;
            m
        }
        Target::Bot(engine) => {
            let (db, service) = start_bot(engine, &fake, s.cadres).await;
            let mut feed = Feed::Poll;
            if s.warmup > 0 {
                drive(&fake, &mut feed, &users, s.warmup, target).await;
            }
            let before = db.store.all_group_stats();
            let mut m = measure(&fake, &mut feed, &users, s.logs, target, None).await;
            let after = db.store.all_group_stats();
            let wall = m.elapsed.as_micros().max(1) as f64;
            m.batches = Some(
                before
                    .iter()
                    .zip(&after)
                    .map(|((name, b), (_, a))| {
                        let batches = a.batches - b.batches;
                        let mean = (a.requests - b.requests) as f64 / batches.max(1) as f64;
                        let busy = (a.busy_micros - b.busy_micros) as f64 / wall;
                        (*name, mean, batches, busy)
                    })
                    .collect(),
            );
            service.stop().await;
            db.store.close().await;
            drop(db);
            m
        }
        Target::Webhook(instances) => {
            let (db, running, urls) = start_webhooks(&fake, s.cadres, instances).await;
            let mut feed = Feed::post(urls);
            if s.warmup > 0 {
                drive(&fake, &mut feed, &users, s.warmup, target).await;
            }
            let m = measure(&fake, &mut feed, &users, s.logs, target, None).await;
            for (store, service) in running {
                service.stop().await;
                store.close().await;
            }
            db.store.close().await;
            drop(db);
            m
        }
        Target::EchoProcess => {
            let exe = std::env::current_exe().expect("this bench's executable");
            let mut child = std::process::Command::new(exe);
            child.env(ECHO_CHILD, fake.url());
            let child = Child::spawn(child);
            let m = drive_all(&fake, &users, s, target, Some(child.0.id())).await;
            child.stop();
            m
        }
        Target::Process(engine) => {
            let db = roster_db(engine, s.cadres).await;
            db.store.close().await;
            let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_zhucun"));
            serve
                .arg("serve")
                .env("DATABASE_URL", &db.url)
                .env("TELOXIDE_TOKEN", fakebot::TOKEN)
                .env("TELOXIDE_API_URL", fake.url())
                .env("RUST_LOG", "warn");
            let child = Child::spawn(serve);
            let m = drive_all(&fake, &users, s, target, Some(child.0.id())).await;
            child.stop();
            drop(db);
            m
        }
    };
    eprintln!(
        "  {:<8} {:>6} logs in {:.2} s",
        target.name(),
        measured.logs,
        measured.elapsed.as_secs_f64()
    );
    measured
}

/// The warm-up, then the measured phase, polled through the fake; `child` is the bot's
/// process, if it has one.
async fn drive_all(
    fake: &FakeTelegram,
    users: &[TgUser],
    s: &Settings,
    target: Target,
    child: Option<u32>,
) -> Measured {
    let mut feed = Feed::Poll;
    if s.warmup > 0 {
        drive(fake, &mut feed, users, s.warmup, target).await;
    }
    measure(fake, &mut feed, users, s.logs, target, child).await
}

/// The measured phase, with the CPU time it took.
async fn measure(
    fake: &FakeTelegram,
    feed: &mut Feed,
    users: &[TgUser],
    per_cadre: usize,
    target: Target,
    child: Option<u32>,
) -> Measured {
    let before = CpuReading::take(child);
    let mut m = drive(fake, feed, users, per_cadre, target).await;
    let after = CpuReading::take(child);
    m.cpu = before.zip(after).map(|(b, a)| b.until(&a));
    m
}

/// Set in the environment of this bench started again as the echo bot (the fake's URL).
const ECHO_CHILD: &str = "INGEST_ECHO_CHILD";

/// A bot in a process of its own.
struct Child(std::process::Child);

impl Child {
    fn spawn(mut cmd: std::process::Command) -> Child {
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the bot process");
        Child(child)
    }

    /// SIGTERM (the service drains and exits), then waits for it.
    fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Child {
    /// A bench that panics leaves no bot running.
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This bench started as the echo child: the echo bot on the fake at `api`, until SIGTERM.
fn echo_child(api: &str) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let bot = Bot::new(fakebot::TOKEN).set_api_url(api.parse().expect("fake URL"));
        let echo = Echo::start(bot).await;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        term.recv().await;
        echo.stop().await;
    });
}

/// Where the machine's time went per log, and what a log may cost at the ratio goal: the
/// machine's cores, shared by the fake, the bot and the database, divided by the goal's rate.
fn print_cpu(results: &[Measured]) {
    let rate_of = |t: Target| results.iter().find(|m| m.target == t).map(Measured::rate);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let per_log = |d: Duration, m: &Measured| d.as_secs_f64() * 1e6 / m.logs as f64;
    println!();
    println!(
        "| engine   | CPU µs per log: bench | bot | PostgreSQL |   all | cores busy | \
         updates handed out: per log | per getUpdates | µs per log at {RATIO_GOAL} × echo |"
    );
    println!(
        "|----------|------:|----:|-----------:|------:|-----------:|------:|------:|------:|"
    );
    for m in results {
        let Some(cpu) = m.cpu else { continue };
        let all = cpu.bench + cpu.child + cpu.postgres;
        let budget = match (m.target.goal(), rate_of(m.target.baseline())) {
            (Some(_), Some(echo)) => format!("{:.0}", cores * 1e6 / (RATIO_GOAL * echo)),
            _ => "-".into(),
        };
        let bot = match m.target {
            Target::EchoProcess | Target::Process(_) => format!("{:.0}", per_log(cpu.child, m)),
            // In process the bot's time is the bench's.
            _ => "(in bench)".into(),
        };
        println!(
            "| {:<8} | {:>5.0} | {bot:>3} | {:>10.0} | {:>5.0} | {:>10.2} | {:>5.2} | {:>5.1} | {budget:>5} |",
            m.target.name(),
            per_log(cpu.bench, m),
            per_log(cpu.postgres, m),
            per_log(all, m),
            all.as_secs_f64() / m.elapsed.as_secs_f64().max(1e-9),
            m.handed_out as f64 / m.logs as f64,
            m.handed_out as f64 / m.polls.max(1) as f64,
        );
    }
}

fn print_table(s: &Settings, results: &[Measured]) {
    let rate_of = |t: Target| results.iter().find(|m| m.target == t).map(Measured::rate);
    println!();
    println!(
        "ingest: {} cadres × {} logs each ({} warm-up logs each), {} in flight, {} tokio workers, \
         median of {} rounds",
        s.cadres,
        s.logs,
        s.warmup,
        s.cadres,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        s.rounds
    );
    println!();
    println!("| engine   |  logs | seconds |  logs/s | p50 ms | p99 ms | ratio to echo |");
    println!("|----------|------:|--------:|--------:|-------:|-------:|--------------:|");
    for m in results {
        let echo = rate_of(m.target.baseline());
        let ratio = echo.map_or("-".to_string(), |e| format!("{:.2}", m.rate() / e));
        println!(
            "| {:<8} | {:>5} | {:>7.2} | {:>7.0} | {:>6.1} | {:>6.1} | {:>13} |",
            m.target.name(),
            m.logs,
            m.elapsed.as_secs_f64(),
            m.rate(),
            m.percentile_ms(50.0),
            m.percentile_ms(99.0),
            ratio
        );
    }
    println!();
    for m in results {
        if let Some(groups) = &m.batches {
            let groups: Vec<String> = groups
                .iter()
                .filter(|g| g.2 > 0)
                .map(|(name, mean, batches, busy)| {
                    format!("{name} {mean:.1} × {batches} ({:.0}% busy)", busy * 100.0)
                })
                .collect();
            println!("{}: mean batch {}", m.target.name(), groups.join(", "));
        }
    }
    print_cpu(results);
    for m in results {
        let mut verdict = Vec::new();
        if let Some(goal) = m.target.goal() {
            let ok = if m.rate() >= goal { "met" } else { "MISSED" };
            verdict.push(format!("{ok} ≥ {goal:.0} logs/s"));
            if let Some(e) = rate_of(m.target.baseline()) {
                let ok = if m.rate() >= RATIO_GOAL * e {
                    "met"
                } else {
                    "MISSED"
                };
                verdict.push(format!("{ok} ≥ {RATIO_GOAL} × echo"));
            }
        }
        if !verdict.is_empty() {
            println!("{}: {}", m.target.name(), verdict.join(", "));
        }
    }
    if let (Some(one), Some(two)) = (rate_of(Target::Webhook(1)), rate_of(Target::Webhook(2))) {
        println!(
            "webhook on one PostgreSQL: two instances carry {:.2}× what one does",
            two / one
        );
    }
}

fn main() {
    if let Ok(api) = std::env::var(ECHO_CHILD) {
        return echo_child(&api);
    }
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let s = Settings::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rounds: Vec<Vec<Measured>> = rt.block_on(async {
        let mut per_target: Vec<Vec<Measured>> = s.targets.iter().map(|_| Vec::new()).collect();
        for _ in 0..s.rounds {
            for (i, &target) in s.targets.iter().enumerate() {
                per_target[i].push(run(target, &s).await);
            }
        }
        per_target
    });
    for runs in &rounds {
        let rates: Vec<String> = runs.iter().map(|m| format!("{:.0}", m.rate())).collect();
        eprintln!(
            "  {:<8} logs/s by round: {}",
            runs[0].target.name(),
            rates.join(", ")
        );
    }
    let mut failed = false;
    for m in rounds.iter().flatten() {
        if !m.wrong.is_empty() {
            failed = true;
            eprintln!(
                "{}: {} replies were not receipts, e.g.:",
                m.target.name(),
                m.wrong.len()
            );
            for w in m.wrong.iter().take(3) {
                eprintln!("  {w}");
            }
        }
    }
    // The median round of each target.
    let results: Vec<Measured> = rounds
        .into_iter()
        .map(|mut runs| {
            runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            let mid = runs.len() / 2;
            runs.swap_remove(mid)
        })
        .collect();
    print_table(&s, &results);
    if failed {
        std::process::exit(1);
    }
}
