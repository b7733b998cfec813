//! The scenario harness: a fresh database, the fake Bot API and the real bot, per test.

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use domain::config::Config;
use domain::{Clock, ManualClock};
use fakebot::updates::{self, TgUser};
use fakebot::{Call, FakeTelegram};
use std::sync::Arc;
use std::time::Duration;
use storage::Engine;
use storage::testing::TestDb;
use teloxide::Bot;

/// The roster of SPEC's example.
pub const ROSTER: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
李四,13800000002,approver,贵阳市/乌当区/新堡乡,
王五,13800000003,approver;reporter,贵阳市/乌当区,
赵六,13800000004,approver;admin,贵阳市,
钱七,13800000005,tutor,贵阳市/乌当区,农业技术;产业发展
";

pub struct TestApp {
    pub tg: FakeTelegram,
    pub db: TestDb,
    pub app: bot::Ctx,
    pub clock: Arc<ManualClock>,
    running: Option<bot::Service>,
}

/// `RUST_LOG=debug cargo test …` shows the service's logs of a failing test.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// 2026-11-25 10:00 in Asia/Shanghai.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

impl TestApp {
    /// The bot running against a fresh database holding `ROSTER`.
    pub async fn start(engine: Engine) -> TestApp {
        TestApp::start_with(engine, Config::default(), Some(ROSTER)).await
    }

    pub async fn start_with(engine: Engine, config: Config, roster: Option<&str>) -> TestApp {
        let db = TestDb::new(engine).await;
        let store = db.store.clone();
        TestApp::start_on(db, store, config, roster).await
    }

    /// The bot on a database that a test can take away: PostgreSQL behind a proxy it cuts,
    /// SQLite with its write lock held by another connection. `db.store` stays direct, for
    /// checking what was stored.
    pub async fn start_with_outage(engine: Engine) -> (TestApp, Outage) {
        let db = TestDb::new(engine).await;
        let (store, outage) = match engine {
            Engine::Sqlite => (db.store.clone(), Outage::Sqlite(None)),
            Engine::Postgres => {
                let target = "127.0.0.1:5432".parse().expect("address");
                let proxy = fakebot::proxy::TcpProxy::start(target).await;
                let url = db.url.replace("127.0.0.1:5432", &proxy.addr().to_string());
                assert_ne!(url, db.url, "the test database is at 127.0.0.1:5432");
                let store = storage::Store::connect(&url)
                    .await
                    .expect("through the proxy");
                (store, Outage::Postgres(proxy))
            }
        };
        let t = TestApp::start_on(db, store, Config::default(), Some(ROSTER)).await;
        (t, outage)
    }

    async fn start_on(
        db: TestDb,
        store: storage::Store,
        config: Config,
        roster: Option<&str>,
    ) -> TestApp {
        init_logging();
        let config = config.validate().expect("valid test config");
        let tg = FakeTelegram::start().await;
        let clock = Arc::new(ManualClock::new(default_now()));
        let app = bot::App::new(store, config, clock.clone());
        let t = TestApp {
            tg,
            db,
            app,
            clock,
            running: None,
        };
        if let Some(csv) = roster {
            t.import(csv).await;
        }
        t.run().await
    }

    async fn run(mut self) -> TestApp {
        let bot = Bot::new(fakebot::TOKEN).set_api_url(self.tg.url().parse().expect("fake URL"));
        let listener = bot::Listener::Polling {
            timeout: Duration::from_secs(1),
        };
        let service = bot::Service::start(bot, self.app.clone(), listener)
            .await
            .expect("bot starts");
        self.running = Some(service);
        self
    }

    pub async fn import(&self, csv: &str) -> storage::ImportSummary {
        let entries = domain::roster::parse(csv, &self.app.config.tutoring.topics)
            .expect("valid test roster");
        self.db
            .store
            .import_roster(&entries, self.clock.now())
            .await
            .expect("import")
    }

    pub fn store(&self) -> &storage::Store {
        &self.db.store
    }

    /// Injects an update as Telegram would deliver it; returns its update_id.
    pub fn send(&self, update: serde_json::Value) -> i64 {
        self.tg.push_update(update)
    }

    pub fn text(&self, user: &TgUser, text: &str) -> i64 {
        self.send(updates::text(user, text))
    }

    /// The next message the bot sends to this user's private chat.
    pub async fn reply(&self, user: &TgUser) -> Call {
        self.tg.next_to(user.id).await
    }

    /// Sends `text` and returns the bot's answer.
    pub async fn ask(&self, user: &TgUser, text: &str) -> Call {
        self.text(user, text);
        self.reply(user).await
    }

    /// Registers `user` as the roster person with `phone` by sharing his own contact.
    pub async fn register(&self, user: &TgUser, phone: &str) -> Call {
        self.send(updates::contact(user, phone, Some(user.id)));
        let welcome = self.reply(user).await;
        assert!(
            welcome.text().unwrap_or_default().contains("注册成功")
                || welcome.text().unwrap_or_default().contains("registered"),
            "registration failed: {welcome}"
        );
        welcome
    }

    /// A second instance on the same database and Telegram that only drains the outbox.
    pub async fn extra_sender(&self) -> bot::Service {
        self.extra_sender_to(&self.tg).await
    }

    /// A second instance that only drains the outbox, talking to `tg` (another fake, so a
    /// test can tell which instance sent what).
    pub async fn extra_sender_to(&self, tg: &FakeTelegram) -> bot::Service {
        let app = bot::App::new(
            self.db.store.clone(),
            (*self.app.config).clone(),
            self.clock.clone(),
        );
        let bot = Bot::new(fakebot::TOKEN).set_api_url(tg.url().parse().expect("fake URL"));
        bot::Service::start(bot, app, bot::Listener::None)
            .await
            .expect("sender starts")
    }

    /// Lets an album's quiet time pass (on the test clock) and wakes the sender.
    pub fn pass_album_quiet_time(&self) {
        let ms = self.app.config.logs.album_wait_ms as i64 + 100;
        self.clock.advance(chrono::Duration::milliseconds(ms));
        self.app.wake_sender();
    }

    /// Stops the bot and starts it again on the same database and fake Telegram, as after
    /// a crash or a deploy.
    pub async fn restart(self) -> TestApp {
        self.pause().await.run().await
    }

    /// Stops the bot (receiving and sending) but keeps the database and fake Telegram: the
    /// service is down until [`Self::resume`].
    pub async fn pause(mut self) -> TestApp {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        self
    }

    pub async fn resume(self) -> TestApp {
        self.run().await
    }

    /// 张三, registered: the usual cadre of a scenario.
    pub async fn cadre(&self) -> TgUser {
        let user = TgUser::new(7001, "张三");
        self.register(&user, "13800000001").await;
        user
    }

    pub async fn person_id(&self, user: &TgUser) -> i64 {
        self.store()
            .person_by_tg(user.id)
            .await
            .unwrap()
            .expect("registered")
            .id
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

/// A database going away and coming back.
pub enum Outage {
    Postgres(fakebot::proxy::TcpProxy),
    Sqlite(Option<storage::testing::SqliteWriteLock>),
}

impl Outage {
    pub async fn begin(&mut self, db: &TestDb) {
        match self {
            Outage::Postgres(proxy) => proxy.cut(),
            Outage::Sqlite(lock) => *lock = Some(db.hold_sqlite_write_lock().await),
        }
    }

    pub async fn end(&mut self) {
        match self {
            Outage::Postgres(proxy) => proxy.restore(),
            Outage::Sqlite(lock) => {
                if let Some(lock) = lock.take() {
                    lock.release().await;
                }
            }
        }
    }
}

/// Generates one `#[tokio::test]` per engine for each `async fn(Engine)` named.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(storage::Engine::Sqlite).await; } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(storage::Engine::Postgres).await; } )*
        }
    };
}
