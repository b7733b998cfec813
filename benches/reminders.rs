//! `log-reminder` at scale: 100,000 registered cadres, 5,000 of them with a log today and
//! 2,000 on approved leave. Measures how long the job takes to queue its 93,000 reminders
//! (target: at most 5 s on each engine), then how fast the outbox sender delivers them
//! against a fake Bot API that enforces the limit (target: at least 0.95 of it, no 429).
//!
//! `cargo bench --bench reminders` (env: REMIND_CADRES=100000, REMIND_LOGGED=5000,
//! REMIND_ON_LEAVE=2000, REMIND_RATE=1000 messages/s, REMIND_DELIVER=20000 of them timed,
//! REMIND_ENGINE=sqlite|postgres|both, REMIND_ROUNDS=1 each a fresh database; the
//! median is printed). Each row also says where time beyond perfect pacing went.

// The allocator the service runs with (src/main.rs), so the figures are the service's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{DateTime, TimeZone, Utc};
use domain::SystemClock;
use domain::config::Config;
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

/// 20:00 in Shanghai on Tuesday 2026-12-01, a working day.
fn evening() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

async fn populate(db: &TestDb, cadres: u64, logged: u64, on_leave: u64) {
    let roster =
        "name,phone,roles,unit,topics\n张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,\n";
    let entries = domain::roster::parse(roster, &Config::default().tutoring.topics).unwrap();
    db.store.import_roster(&entries, evening()).await.unwrap();
    let unit = db
        .store
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap()
        .unit_id;
    // WITH RECURSIVE runs on both engines: one statement per table.
    let numbers = |n: u64| {
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})")
    };
    db.execute(&format!(
        "{} INSERT INTO people (name, phone, unit_id, active, tg_user_id, chat_id, created_at, updated_at)
         SELECT 'cadre ' || CAST(i AS TEXT), CAST(13900000000 + i AS TEXT), {unit}, TRUE,
                1000000 + i, 1000000 + i, 0, 0 FROM n",
        numbers(cadres)
    ))
    .await;
    db.execute("INSERT INTO person_roles (person_id, role) SELECT id, 'cadre' FROM people WHERE tg_user_id >= 1000000")
        .await;
    db.execute(&format!(
        "INSERT INTO logs (person_id, seq, day, kind, text, chat_id, message_id, created_at, updated_at)
         SELECT id, 1, '2026-12-01', 'text', '走访', chat_id, 1, 0, 0 FROM people
         WHERE tg_user_id > 1000000 AND tg_user_id <= {}",
        1_000_000 + logged
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO leave_requests (person_id, start_day, end_day, days, reason, status, step, created_at, updated_at)
         SELECT id, '2026-11-30', '2026-12-03', 4, '病假', 'approved', 0, 0, 0 FROM people
         WHERE tg_user_id > {} AND tg_user_id <= {}",
        1_000_000 + logged,
        1_000_000 + logged + on_leave
    ))
    .await;
}

struct Outcome {
    engine: &'static str,
    queued: u64,
    queue_seconds: f64,
    sent: usize,
    rate: f64,
    limit: u32,
    too_many: u64,
    gaps: Gaps,
}

/// Where the time beyond perfect pacing went: the sum over intervals between successive
/// sends of what exceeds the spacing (`1 / limit`), split by whether the interval starts a
/// new claimed batch (every `BATCH`-th send: each cadre gets one message, so none is held).
#[derive(Default)]
struct Gaps {
    lost_at_batch: f64,
    lost_inside: f64,
    /// Intervals longer than twice the spacing.
    long: usize,
    longest: f64,
}

const BATCH: usize = 64;

fn gaps(times: &[Instant], limit: u32) -> Gaps {
    let spacing = 1.0 / f64::from(limit);
    let mut g = Gaps::default();
    for (i, w) in times.windows(2).enumerate() {
        let gap = (w[1] - w[0]).as_secs_f64();
        let lost = (gap - spacing).max(0.0);
        if (i + 1) % BATCH == 0 {
            g.lost_at_batch += lost;
        } else {
            g.lost_inside += lost;
        }
        if gap > 2.0 * spacing {
            g.long += 1;
        }
        g.longest = g.longest.max(gap);
    }
    g
}

async fn run(
    engine: Engine,
    cadres: u64,
    logged: u64,
    on_leave: u64,
    rate: u32,
    deliver: usize,
) -> Outcome {
    let db = TestDb::new(engine).await;
    populate(&db, cadres, logged, on_leave).await;
    let mut config = Config::default();
    config.delivery.global_per_second = rate;
    let config = config.validate().unwrap();

    let started = Instant::now();
    let line = scheduler::Job::LogReminder
        .execute(&db.store, &config, evening(), "bench")
        .await
        .unwrap();
    let queue_seconds = started.elapsed().as_secs_f64();
    let queued: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();

    // Only the first `deliver` are timed: at the limit, all of them take minutes.
    let tg = FakeTelegram::start().await;
    tg.set_rate_limits(Some(RateLimits {
        global_per_sec: rate,
        ..RateLimits::default()
    }));
    let app = bot::App::new(db.store.clone(), config, Arc::new(SystemClock));
    let bot = Bot::new(fakebot::TOKEN).set_api_url(tg.url().parse().unwrap());
    let service = bot::Service::start(bot, app, bot::Listener::None)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3600);
    while tg.count("sendMessage") < deliver && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service.stop().await;
    let ok: Vec<_> = tg
        .calls_to("sendMessage")
        .into_iter()
        .filter(|c| c.is_ok())
        .collect();
    let mut times: Vec<Instant> = ok.iter().map(|c| c.at).collect();
    times.sort();
    let first = times.first().copied().unwrap_or(started);
    let last = times.last().copied().unwrap_or(started);
    let seconds = (last - first).as_secs_f64();
    Outcome {
        gaps: gaps(&times, rate),
        engine: match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        },
        queued,
        queue_seconds,
        sent: ok.len(),
        rate: ok.len().saturating_sub(1) as f64 / seconds.max(f64::EPSILON),
        limit: rate,
        too_many: tg.too_many_requests_count(),
    }
}

fn main() {
    let cadres = env("REMIND_CADRES", 100_000);
    let logged = env("REMIND_LOGGED", 5_000);
    let on_leave = env("REMIND_ON_LEAVE", 2_000);
    let rate = env("REMIND_RATE", 1_000) as u32;
    let deliver = env("REMIND_DELIVER", 20_000) as usize;
    let rounds = env("REMIND_ROUNDS", 1);
    let engines: Vec<Engine> = match std::env::var("REMIND_ENGINE").as_deref() {
        Ok("sqlite") => vec![Engine::Sqlite],
        Ok("postgres") => vec![Engine::Postgres],
        _ => vec![Engine::Sqlite, Engine::Postgres],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "log-reminder: {cadres} cadres, {logged} with a log today, {on_leave} on leave; \
         delivery of the first {deliver} at a limit of {rate}/s"
    );
    println!(
        "{:<9} {:>8} {:>10} {:>7} {:>9} {:>9} {:>6}   {:>10} {:>10} {:>6} {:>9}",
        "engine",
        "queued",
        "queue s",
        "sent",
        "msgs/s",
        "of limit",
        "429s",
        "lost@batch",
        "lost@other",
        "gaps>2",
        "longest"
    );
    for engine in engines {
        let mut fractions = Vec::new();
        for _ in 0..rounds.max(1) {
            let o = rt.block_on(run(engine, cadres, logged, on_leave, rate, deliver));
            println!(
                "{:<9} {:>8} {:>10.2} {:>7} {:>9.1} {:>9.3} {:>6}   {:>9.2}s {:>9.2}s {:>6} {:>7.1}ms",
                o.engine,
                o.queued,
                o.queue_seconds,
                o.sent,
                o.rate,
                o.rate / f64::from(o.limit),
                o.too_many,
                o.gaps.lost_at_batch,
                o.gaps.lost_inside,
                o.gaps.long,
                o.gaps.longest * 1000.0
            );
            fractions.push(o.rate / f64::from(o.limit));
        }
        if fractions.len() > 1 {
            fractions.sort_by(f64::total_cmp);
            println!(
                "{:<9} median of {} rounds: {:.3} of the limit",
                "",
                fractions.len(),
                fractions[fractions.len() / 2]
            );
        }
    }
}
