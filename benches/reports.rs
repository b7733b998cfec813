//! The monthly subsidy report and `/stats` at scale: 5,000 cadres in 20 districts with
//! 1,000,000 logs, all of them in the reported month (the worst case: about 6.7 logs per
//! cadre and day), 500 of them with approved leave. Measures, on each engine in a process
//! of its own (so the peak memory is that engine's):
//! - the subsidy report as XLSX and as CSV (the presence records read, then the workbook
//!   or file made): target at most 2 s and 200 MB peak resident memory;
//! - `/stats` (its figures, the week's update duty and the text): target at most 200 ms;
//! - the web view's overview (`GET /app/api/units` over HTTP on loopback, signed initData
//!   checked, as an admin) and a district's cadres (`GET /app/api/cadres`): target p99 at
//!   most 200 ms over 50 calls each, against `/stats` in process as the baseline; the page's
//!   size: at most 150 KB.
//!
//! `cargo bench --bench reports` (env: REPORTS_CADRES=5000, REPORTS_LOGS=1000000,
//! REPORTS_ENGINE=sqlite|postgres|both).

// The allocator the service runs with (src/main.rs), so the figures are the service's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{NaiveDate, TimeZone, Utc};
use domain::attendance::Month;
use domain::calendar::{CN_HOLIDAYS, Calendar};
use domain::config::Lang;
use domain::supervision::{IsoWeek, day_start, district_stats};
use std::time::Instant;
use storage::Engine;
use storage::testing::TestDb;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const DISTRICTS: u64 = 20;

async fn populate(db: &TestDb, cadres: u64, logs: u64) {
    let roster = "name,phone,roles,unit,topics\n赵六,13800000004,admin,贵阳市,\n";
    let entries = domain::roster::parse(roster, &[]).unwrap();
    let long_ago = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    db.store.import_roster(&entries, long_ago).await.unwrap();
    let numbers = |n: u64| {
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})")
    };
    // 20 districts, each with one township and one village; ids from 1000 up.
    db.execute(&format!(
        "{} INSERT INTO units (id, parent_id, path, name, level)
         SELECT 1000 + i, 1, '贵阳市/第' || CAST(i AS TEXT) || '区', '第' || CAST(i AS TEXT) || '区', 2 FROM n",
        numbers(DISTRICTS)
    ))
    .await;
    db.execute(&format!(
        "{} INSERT INTO units (id, parent_id, path, name, level)
         SELECT 2000 + i, 1000 + i, '贵阳市/第' || CAST(i AS TEXT) || '区/某镇/某村', '某村', 4 FROM n",
        numbers(DISTRICTS)
    ))
    .await;
    db.execute(&format!(
        "{} INSERT INTO people (id, name, phone, unit_id, active, created_at, updated_at)
         SELECT 100000 + i, '干部' || CAST(i AS TEXT), CAST(13900000000 + i AS TEXT),
                2001 + (i % {DISTRICTS}), TRUE, 0, 0 FROM n",
        numbers(cadres)
    ))
    .await;
    db.execute("INSERT INTO person_roles (person_id, role) SELECT id, 'cadre' FROM people WHERE id > 100000")
        .await;
    db.execute("CREATE TABLE bench_days (k INTEGER PRIMARY KEY, day TEXT NOT NULL)")
        .await;
    let days: Vec<String> = (1..=30)
        .map(|d| format!("({}, '2026-11-{d:02}')", d - 1))
        .collect();
    db.execute(&format!(
        "INSERT INTO bench_days (k, day) VALUES {}",
        days.join(", ")
    ))
    .await;
    let cast_day = match db.store.engine() {
        Engine::Sqlite => "d.day",
        Engine::Postgres => "CAST(d.day AS DATE)",
    };
    db.execute(&format!(
        "{} INSERT INTO logs (person_id, seq, day, kind, text, chat_id, message_id, created_at, updated_at)
         SELECT 100001 + (i % {cadres}), i, {cast_day}, 'text', '走访', 1, i, 0, 0
         FROM n JOIN bench_days d ON d.k = (i / {cadres}) % 30",
        numbers(logs)
    ))
    .await;
    db.execute(
        "INSERT INTO leave_requests (person_id, start_day, end_day, days, reason, status, step, created_at, updated_at)
         SELECT id, '2026-11-09', '2026-11-13', 5, '病假', 'approved', 0, 0, 0 FROM people
         WHERE id > 100000 AND id <= 100500",
    )
    .await;
    if db.store.engine() == Engine::Postgres {
        // As autovacuum would have by then (index-only scans need the visibility map).
        db.execute("VACUUM ANALYZE").await;
    }
}

/// Peak resident memory of this process so far, in MB (Linux's VmHWM).
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn one_engine(engine: Engine) {
    let cadres = env("REPORTS_CADRES", 5000);
    let logs = env("REPORTS_LOGS", 1_000_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = TestDb::new(engine).await;
        let t = Instant::now();
        populate(&db, cadres, logs).await;
        let populated = t.elapsed().as_secs_f64();
        let calendar = Calendar::parse(CN_HOLIDAYS).unwrap();
        let tz = chrono_tz::Asia::Shanghai;
        let month = Month::parse("2026-11").unwrap();
        let since = day_start(month.first_day(), tz);
        let before = peak_mb();

        let t = Instant::now();
        let rows = db
            .store
            .month_presence(month, since, &calendar)
            .await
            .unwrap();
        let xlsx = render::subsidy::xlsx(month, &rows).unwrap();
        let xlsx_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let rows = db
            .store
            .month_presence(month, since, &calendar)
            .await
            .unwrap();
        let csv = render::subsidy::csv(&rows).unwrap();
        let csv_s = t.elapsed().as_secs_f64();
        let subsidy_days: u64 = rows
            .iter()
            .map(|r| u64::from(r.summary().eligible_days))
            .sum();

        // /stats on the last day of the month, as an admin sees it.
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut stats_s = f64::MAX;
        let mut text = String::new();
        for _ in 0..5 {
            let t = Instant::now();
            let facts = db
                .store
                .stats_facts(month, since, since, &calendar)
                .await
                .unwrap();
            let duty = db
                .store
                .weekly_duty(IsoWeek::of(today).monday())
                .await
                .unwrap();
            let lines = district_stats(&facts, Some(today));
            text = bot::supervision::stats_text(
                Lang::Zh,
                &domain::supervision::Scope::All,
                month,
                today,
                &lines,
                Some(&duty),
            );
            stats_s = stats_s.min(t.elapsed().as_secs_f64());
        }
        let (units_p50, units_p99, cadres_p99, page_kb) = web_view(&db).await;
        let peak = peak_mb();
        println!(
            "{engine:?}: web view: overview p50 {:.0} ms, p99 {:.0} ms ({:.1}× /stats in process); \
             a district's cadres p99 {:.0} ms; page {page_kb:.1} KB",
            units_p50 * 1000.0,
            units_p99 * 1000.0,
            units_p99 / stats_s,
            cadres_p99 * 1000.0,
        );
        println!(
            "{engine:?}: {cadres} cadres, {logs} logs (populated in {populated:.1} s); \
             subsidy report XLSX {xlsx_s:.3} s ({} KB), CSV {csv_s:.3} s ({} KB), \
             {} rows, {subsidy_days} subsidy days; /stats {:.0} ms ({} chars); \
             peak memory {peak:.0} MB (before the reports {before:.0} MB)",
            xlsx.len() / 1024,
            csv.len() / 1024,
            rows.len(),
            stats_s * 1000.0,
            text.chars().count(),
        );
        let ok = xlsx_s <= 2.0
            && csv_s <= 2.0
            && stats_s <= 0.2
            && peak <= 200.0
            && units_p99 <= 0.2
            && cadres_p99 <= 0.2
            && page_kb <= 150.0;
        println!(
            "{engine:?}: {}",
            if ok {
                "within the targets"
            } else {
                "OVER A TARGET"
            }
        );
    });
}

/// The web view served on loopback over the populated database, called as the admin (50
/// calls each after 3 unmeasured): the overview's p50 and p99, a district's cadres' p99 (s),
/// and the page's size (KB).
async fn web_view(db: &TestDb) -> (f64, f64, f64, f64) {
    const TOKEN: &str = "123456:BENCH";
    db.execute("UPDATE people SET tg_user_id = 7004, chat_id = 7004 WHERE phone = '13800000004'")
        .await;
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
    let web = web::Web {
        store: db.store.clone(),
        config: std::sync::Arc::new(domain::config::Config::default()),
        token: TOKEN.into(),
        api_url: "http://127.0.0.1:9".into(),
        clock: std::sync::Arc::new(domain::clock::ManualClock::new(now)),
        on_queued: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, web::router(web)).await });
    let fields = vec![
        (
            "user".to_string(),
            r#"{"id":7004,"first_name":"赵六"}"#.to_string(),
        ),
        ("auth_date".to_string(), now.timestamp().to_string()),
    ];
    let tma = format!("tma {}", web::auth::sign(&fields, TOKEN));
    let http = reqwest::Client::new();
    let timed = |path: String| {
        let (http, tma, base) = (http.clone(), tma.clone(), base.clone());
        async move {
            let mut times = Vec::new();
            for i in 0..53 {
                let t = Instant::now();
                let r = http
                    .get(format!("{base}{path}"))
                    .header("Authorization", &tma)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{path}: {}", r.status());
                r.bytes().await.unwrap();
                if i >= 3 {
                    times.push(t.elapsed().as_secs_f64());
                }
            }
            times.sort_by(f64::total_cmp);
            (times[times.len() / 2], times[times.len() * 99 / 100])
        }
    };
    let (units_p50, units_p99) = timed("/app/api/units".into()).await;
    let (_, cadres_p99) =
        timed("/app/api/cadres?unit=%E8%B4%B5%E9%98%B3%E5%B8%82/%E7%AC%AC1%E5%8C%BA".into()).await;
    let page = http
        .get(format!("{base}/app/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    (units_p50, units_p99, cadres_p99, page.len() as f64 / 1024.0)
}

fn main() {
    // `cargo bench` passes --bench; a child run names its engine.
    match std::env::var("REPORTS_CHILD").as_deref() {
        Ok("sqlite") => return one_engine(Engine::Sqlite),
        Ok("postgres") => return one_engine(Engine::Postgres),
        _ => {}
    }
    let which = std::env::var("REPORTS_ENGINE").unwrap_or_else(|_| "both".into());
    let engines: &[&str] = match which.as_str() {
        "sqlite" => &["sqlite"],
        "postgres" => &["postgres"],
        _ => &["sqlite", "postgres"],
    };
    for e in engines {
        // One process per engine, so each peak is that engine's alone.
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .env("REPORTS_CHILD", e)
            .status()
            .unwrap();
        assert!(status.success(), "{e} run failed");
    }
}
