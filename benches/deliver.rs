//! Delivery benchmark: N notifications through the outbox sender against a fake Bot API
//! that enforces Telegram-like limits (the configured ones). Prints the achieved rate as a
//! fraction of the configured overall limit (target ≥ 0.95) and the 429s received (target 0).
//!
//! `cargo bench --bench deliver` (env: DELIVER_N=10000, DELIVER_RATE=200 messages/s,
//! DELIVER_CHATS=2000, DELIVER_ENGINE=sqlite|postgres|both).

use domain::config::Config;
use domain::notify::Notification;
use domain::{Clock, SystemClock};
use fakebot::{FakeTelegram, RateLimits};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::Engine;
use storage::testing::TestDb;
use teloxide::Bot;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Outcome {
    engine: &'static str,
    sent: usize,
    seconds: f64,
    rate: f64,
    limit: u32,
    too_many: u64,
}

async fn run(engine: Engine, n: usize, chats: i64, rate: u32) -> Outcome {
    let db = TestDb::new(engine).await;
    let store = db.store.clone();
    // One cadre with one log: every notification is a receipt of it, to many chats.
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

    let mut config = Config::default();
    config.delivery.global_per_second = rate;
    let config = config.validate().unwrap();
    let tg = FakeTelegram::start().await;
    tg.set_rate_limits(Some(RateLimits {
        global_per_sec: rate,
        ..RateLimits::default()
    }));
    let app = bot::App::new(store.clone(), config, Arc::new(SystemClock));
    let bot = Bot::new(fakebot::TOKEN).set_api_url(tg.url().parse().unwrap());
    let started = Instant::now();
    let service = bot::Service::start(bot, app, bot::Listener::None)
        .await
        .unwrap();
    loop {
        let (pending, _, failed) = store.outbox_counts().await.unwrap();
        if pending == 0 || started.elapsed() > Duration::from_secs(3600) {
            assert_eq!(failed, 0, "no notification may fail");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sends = tg.calls_to("sendMessage");
    let ok: Vec<_> = sends.iter().filter(|c| c.is_ok()).collect();
    let first = ok.iter().map(|c| c.at).min().unwrap_or(started);
    let last = ok.iter().map(|c| c.at).max().unwrap_or(started);
    let seconds = (last - first).as_secs_f64();
    // The sender spaces sends evenly: n messages span n-1 intervals.
    let achieved = ok.len().saturating_sub(1) as f64 / seconds.max(f64::EPSILON);
    service.stop().await;
    Outcome {
        engine: match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        },
        sent: ok.len(),
        seconds,
        rate: achieved,
        limit: rate,
        too_many: tg.too_many_requests_count(),
    }
}

fn main() {
    let n = env("DELIVER_N", 10_000) as usize;
    let rate = env("DELIVER_RATE", 200) as u32;
    let chats = env("DELIVER_CHATS", 2_000) as i64;
    let engines: Vec<Engine> = match std::env::var("DELIVER_ENGINE").as_deref() {
        Ok("sqlite") => vec![Engine::Sqlite],
        Ok("postgres") => vec![Engine::Postgres],
        _ => vec![Engine::Sqlite, Engine::Postgres],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("delivery: {n} notifications to {chats} chats, limit {rate}/s overall, 1/s per chat");
    println!(
        "{:<9} {:>7} {:>9} {:>10} {:>9} {:>6}",
        "engine", "sent", "seconds", "msgs/s", "of limit", "429s"
    );
    for engine in engines {
        let o = rt.block_on(run(engine, n, chats, rate));
        println!(
            "{:<9} {:>7} {:>9.1} {:>10.1} {:>9.3} {:>6}",
            o.engine,
            o.sent,
            o.seconds,
            o.rate,
            o.rate / f64::from(o.limit),
            o.too_many
        );
    }
}
