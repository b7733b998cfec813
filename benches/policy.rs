//! The policy library at scale. First the relevance set (68 documents, 55 queries) on a
//! fresh database: recall@3 and MRR. Then 10,000 generated documents of ~5,000 characters
//! each (Chinese sentences built from the relevance set's words, Zipf-distributed, so
//! common terms are common and rare ones rare): documents indexed per second, the index's
//! rows and bytes, and `/policy` query latency p50/p99 over the relevance queries and
//! generated ones (target p99 ≤ 50 ms), per engine.
//!
//! `cargo bench --bench policy` (env: POLICY_DOCS=10000, POLICY_CHARS=5000,
//! POLICY_QUERIES=400, POLICY_ENGINE=sqlite|postgres|both, POLICY_ROUNDS=3).
//!
//! Indexing 10,000 documents takes half an hour. With `POLICY_KEEP=1` the large database is
//! kept (SQLite: `zhucun_policy_bench.db` in the temp directory; PostgreSQL: the database
//! `zhucun_policy_bench` on the test server) and a later run that finds it complete only
//! queries it.

// The allocator the service runs with (src/main.rs), so the figures are the service's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{TimeZone, Utc};
use std::time::{Duration, Instant};
use storage::Engine;
use storage::testing::TestDb;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (no dependency, same corpus every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Zipf-like: index i drawn with weight about 1/(i+1).
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        (((n as f64 + 1.0).powf(u)) - 1.0).floor() as usize % n.max(1)
    }
}

/// Words of the relevance set: its bodies cut at punctuation into runs of 2–4 characters.
fn vocabulary(set: &storage::relevance::RelevanceSet) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for d in &set.docs {
        for run in d
            .body
            .split(|c: char| !('\u{4E00}'..='\u{9FFF}').contains(&c))
            .filter(|r| r.chars().count() >= 2)
        {
            let chars: Vec<char> = run.chars().collect();
            let mut i = 0;
            while i + 2 <= chars.len() {
                let len = [2, 2, 3, 4][(i + chars.len()) % 4].min(chars.len() - i);
                let w: String = chars[i..i + len].iter().collect();
                if seen.insert(w.clone()) {
                    words.push(w);
                }
                i += len;
            }
        }
    }
    words
}

fn generated_body(rng: &mut Rng, words: &[String], chars: usize) -> String {
    let mut out = String::with_capacity(chars * 3);
    let mut n = 0;
    let mut sentence = 0;
    while n < chars {
        let w = &words[rng.zipf(words.len())];
        out.push_str(w);
        n += w.chars().count();
        sentence += 1;
        if sentence >= 6 + rng.below(10) {
            out.push(if rng.below(8) == 0 { '\n' } else { '。' });
            n += 1;
            sentence = 0;
        } else if rng.below(5) == 0 {
            out.push('，');
            n += 1;
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run(engine: Engine, docs: u64, chars: u64, queries: u64) {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    let set = storage::relevance::load();

    // Relevance on its own.
    let fresh = TestDb::new(engine).await;
    let admin_id = admin_of(&fresh.store).await;
    let ids = set.add_all(&fresh.store, admin_id, now).await.unwrap();
    let f = set.evaluate(&fresh.store, &ids).await.unwrap();
    println!(
        "{engine:?}: relevance set ({} documents, {} queries): recall@3 {:.3}, MRR {:.3}",
        set.docs.len(),
        set.queries.len(),
        f.recall_at_3,
        f.mrr
    );

    // Scale: the generated documents on top of the relevance set.
    let (db, ids, admin_id) = match std::env::var("POLICY_KEEP").is_ok_and(|v| v == "1") {
        false => (Big::Fresh(fresh), ids, admin_id),
        true => {
            fresh.store.close().await;
            let store = kept_store(engine).await;
            let admin_id = admin_of(&store).await;
            // On a new database the relevance set comes first, numbered in its order.
            if store.policy_count().await.unwrap() == 0 {
                set.add_all(&store, admin_id, now).await.unwrap();
            }
            let ids = set
                .docs
                .iter()
                .enumerate()
                .map(|(i, d)| (d.id.clone(), i as i64 + 1))
                .collect();
            (Big::Kept(store), ids, admin_id)
        }
    };
    let words = vocabulary(&set);
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let bodies: Vec<(String, String)> = (0..docs)
        .map(|i| {
            let title = format!(
                "{}（第{}号）",
                set.docs[rng.below(set.docs.len())].title,
                i + 1
            );
            (title, generated_body(&mut rng, &words, chars as usize))
        })
        .collect();
    let total_chars: usize = bodies.iter().map(|b| b.1.chars().count()).sum();
    // A kept database indexes only the documents it lacks (one run may have been cut short).
    let have = (db.store().policy_count().await.unwrap() as usize).saturating_sub(set.docs.len());
    let bodies: Vec<(String, String)> = bodies.into_iter().skip(have).collect();
    let indexing = bodies.len() as u64;
    let started = Instant::now();
    let workers = 4;
    let chunks: Vec<Vec<(String, String)>> = {
        let mut c: Vec<Vec<(String, String)>> = (0..workers).map(|_| Vec::new()).collect();
        for (i, b) in bodies.into_iter().enumerate() {
            c[i % workers].push(b);
        }
        c
    };
    let mut tasks = Vec::new();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    for chunk in chunks {
        let store = db.store().clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            for (i, (title, body)) in chunk.iter().enumerate() {
                let new = storage::NewPolicy {
                    title,
                    issuer: Some("贵州省人民政府办公厅"),
                    issued_on: None,
                    file_id: &format!("bench-{i}"),
                    file_name: None,
                    format: "txt",
                    text: body,
                    no_text: false,
                    added_by: admin_id,
                };
                store.add_policy(new, now).await.unwrap();
                // Progress, to see whether indexing slows down as the index grows.
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n.is_multiple_of(1000) {
                    println!(
                        "{engine:?}: {n} documents after {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    let db_store = db.store();
    if indexing > 0 {
        // The test server runs without autovacuum: do once what it would do after a bulk
        // load (an index-only read of the postings needs their pages marked all-visible).
        let vacuum = Instant::now();
        db_store.vacuum_search_index().await.unwrap();
        if engine == Engine::Postgres {
            println!(
                "{engine:?}: VACUUM (ANALYZE) of the index took {:.1} s",
                vacuum.elapsed().as_secs_f64()
            );
        }
    }
    let (rows, bytes) = db_store.search_index_size().await.unwrap();
    println!(
        "{engine:?}: indexed {indexing} documents ({total_chars} characters) in {:.1} s: {:.1} documents/s; index {rows} postings ({:.0} per document){}",
        took.as_secs_f64(),
        indexing as f64 / took.as_secs_f64().max(1e-9),
        rows as f64 / (docs as f64 + set.docs.len() as f64),
        bytes.map_or(String::new(), |b| format!(
            ", {:.0} MB ({:.1} bytes per posting)",
            b as f64 / 1e6,
            b as f64 / rows.max(1) as f64
        ))
    );

    // Query latency: the relevance queries, then two to four words drawn from the corpus.
    let mut texts: Vec<String> = set.queries.iter().map(|q| q.q.clone()).collect();
    while (texts.len() as u64) < queries {
        let n = 1 + rng.below(3);
        let q: String = (0..n)
            .map(|_| words[rng.zipf(words.len())].clone())
            .collect();
        texts.push(q);
    }
    // Warm the caches once.
    for q in texts.iter().take(20) {
        db_store.find_policies(q, 5).await.unwrap();
    }
    // Rounds over all queries; each figure is the median of the rounds'.
    let rounds = env("POLICY_ROUNDS", 3).max(1);
    let (mut p50s, mut p99s, mut maxes) = (Vec::new(), Vec::new(), Vec::new());
    let mut empty = 0;
    let mut slowest: Vec<(Duration, &str)> = Vec::new();
    for _ in 0..rounds {
        let mut times = Vec::with_capacity(texts.len());
        empty = 0;
        for q in &texts {
            let t0 = Instant::now();
            let found = db_store.find_policies(q, 5).await.unwrap();
            let took = t0.elapsed();
            times.push(took);
            slowest.push((took, q));
            if found.is_empty() {
                empty += 1;
            }
        }
        times.sort();
        p50s.push(percentile(&times, 0.5));
        p99s.push(percentile(&times, 0.99));
        maxes.push(times.last().copied().unwrap_or_default());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let p99 = median(&mut p99s);
    println!(
        "{engine:?}: /policy over {} queries ({empty} without a match), median of {rounds} rounds: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 50 ms: {})",
        texts.len(),
        median(&mut p50s).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        median(&mut maxes).as_secs_f64() * 1e3,
        if p99 <= Duration::from_millis(50) {
            "met"
        } else {
            "MISSED"
        }
    );
    if std::env::var("POLICY_SLOWEST").is_ok() {
        slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        for (took, q) in slowest.iter().take(10) {
            println!("  {:.1} ms  {q}", took.as_secs_f64() * 1e3);
        }
    }
    let f = set.evaluate(db_store, &ids).await.unwrap();
    println!(
        "{engine:?}: relevance set among the {docs} generated documents: recall@3 {:.3}, MRR {:.3}",
        f.recall_at_3, f.mrr
    );
    db_store.close().await;
}

/// The database of the large run: a fresh one (removed at the end), or the kept one.
enum Big {
    Fresh(TestDb),
    Kept(storage::Store),
}

impl Big {
    fn store(&self) -> &storage::Store {
        match self {
            Big::Fresh(db) => &db.store,
            Big::Kept(store) => store,
        }
    }
}

async fn kept_store(engine: Engine) -> storage::Store {
    let url = match engine {
        Engine::Sqlite => format!(
            "sqlite://{}",
            std::env::temp_dir()
                .join("zhucun_policy_bench.db")
                .display()
        ),
        Engine::Postgres => storage::testing::kept_postgres_database("zhucun_policy_bench").await,
    };
    let store = storage::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn admin_of(store: &storage::Store) -> i64 {
    if let Some(p) = store.person_by_phone("13800000004").await.unwrap() {
        return p.id;
    }
    let roster = "name,phone,roles,unit,topics\n赵六,13800000004,admin,贵阳市,\n";
    let entries =
        domain::roster::parse(roster, &domain::config::Config::default().tutoring.topics).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    store.import_roster(&entries, now).await.unwrap();
    store
        .person_by_phone("13800000004")
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::main]
async fn main() {
    let docs = env("POLICY_DOCS", 10_000);
    let chars = env("POLICY_CHARS", 5_000);
    let queries = env("POLICY_QUERIES", 400);
    let which = std::env::var("POLICY_ENGINE").unwrap_or_else(|_| "both".into());
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let name = format!("{engine:?}").to_lowercase();
        if which == "both" || which == name {
            run(engine, docs, chars, queries).await;
        }
    }
}
