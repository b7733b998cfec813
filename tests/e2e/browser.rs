//! The web view in a real browser: Debian's Chromium driven through ChromeDriver's
//! WebDriver protocol (plain HTTP, no client crate), opening the page with signed initData
//! in the URL's hash as Telegram does, reading what a person sees and clicking through.
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them).

use crate::on_both_engines;
use crate::support::TestApp;
use domain::Clock;
use fakebot::updates::TgUser;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use storage::Engine;

on_both_engines!(the_page_shows_the_databases_figures_and_clicks_through_to_a_calendar,);

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// A 1×1 PNG.
const PIXEL: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0xf8, 0xcf, 0xf0,
    0x1f, 0x00, 0x04, 0x01, 0x01, 0xff, 0x71, 0xeb, 0x47, 0xe5, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A ChromeDriver process with one headless session, ended on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Kills chromedriver's process group: the browsers it started too (killing the driver
    /// alone leaves them running), also when a test panicked.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Browser {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "{CHROMEDRIVER} and {CHROMIUM} are needed: apt-get install chromium chromium-driver (.ci/run does)"
        );
        let port = crate::cli::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // Without the background-networking flags Chromium calls out to Google's hosts.
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=390,844".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let r: Value = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// Waits (up to 10 s) for an element matching `css` whose text contains `text`.
    async fn find(&self, css: &str, text: &str) -> String {
        for _ in 0..100 {
            let found = self
                .post("/elements", json!({"using": "css selector", "value": css}))
                .await;
            for e in found.as_array().into_iter().flatten() {
                let id = e[ELEMENT].as_str().unwrap_or_default().to_string();
                if self.text(&id).await.contains(text) {
                    return id;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = self
            .post(
                "/execute/sync",
                json!({"script": "return document.body.innerText", "args": []}),
            )
            .await;
        let found = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        panic!("no `{css}` with “{text}” on the page: {page} (found {found})");
    }

    async fn text(&self, element: &str) -> String {
        let url = format!(
            "{}/session/{}/element/{element}/text",
            self.base, self.session
        );
        let r: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["value"].as_str().unwrap_or_default().to_string()
    }

    async fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// A PNG of the viewport, written to the temp dir (to look at what a person sees).
    async fn screenshot(&self, name: &str) {
        let url = format!("{}/session/{}/screenshot", self.base, self.session);
        let r: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let b64 = r["value"].as_str().unwrap_or_default();
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::write(path.with_extension("png.b64"), b64);
    }

    async fn attribute(&self, element: &str, name: &str) -> String {
        let url = format!(
            "{}/session/{}/element/{element}/attribute/{name}",
            self.base, self.session
        );
        let r: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["value"].as_str().unwrap_or_default().to_string()
    }
}

/// The page's URL as Telegram opens a Mini App: initData and theme in the hash.
fn page_url(base: &str, t: &TestApp, user: &TgUser) -> String {
    let fields = vec![
        (
            "user".to_string(),
            format!(r#"{{"id":{},"first_name":"{}"}}"#, user.id, user.first_name),
        ),
        (
            "auth_date".to_string(),
            t.clock.now().timestamp().to_string(),
        ),
    ];
    let init = web::auth::sign(&fields, fakebot::TOKEN);
    let hash = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("tgWebAppData", &init)
        .append_pair(
            "tgWebAppThemeParams",
            r##"{"bg_color":"#ffffff","button_color":"#2481cc"}"##,
        )
        .finish();
    format!("{base}/app/#{hash}")
}

async fn serve(t: &TestApp) -> String {
    let web = web::Web {
        store: t.store().clone(),
        config: t.app.config.clone(),
        token: fakebot::TOKEN.into(),
        api_url: t.tg.url().into(),
        clock: t.clock.clone(),
        on_queued: Some({
            let app = t.app.clone();
            std::sync::Arc::new(move || app.wake_sender())
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, web::router(web)).await });
    format!("http://{addr}")
}

async fn the_page_shows_the_databases_figures_and_clicks_through_to_a_calendar(engine: Engine) {
    let t = TestApp::start(engine).await;
    t.import(&format!(
        "{}孙八,13800000008,cadre,贵阳市/乌当区/新堡乡/谷溪村,\n",
        crate::support::ROSTER
    ))
    .await;
    let (zhang, zhao, sun) = (
        TgUser::new(7001, "张三"),
        TgUser::new(7004, "赵六"),
        TgUser::new(7008, "孙八"),
    );
    t.register(&zhang, "13800000001").await;
    t.register(&zhao, "13800000004").await;
    t.register(&sun, "13800000008").await;
    // Wednesday 2026-11-25: 张三 logs today, a photo with a caption.
    t.ask(&zhang, "今天走访了三户脱贫户").await;
    t.tg.add_file("photo-road", PIXEL.to_vec());
    t.send(fakebot::updates::photo(
        &zhang,
        "photo-road",
        Some("村道硬化完工"),
        None,
    ));
    t.reply(&zhang).await;
    let base = serve(&t).await;
    let month = domain::attendance::Month::parse("2026-11").unwrap();
    let id = t.person_id(&zhang).await;
    let db = t
        .store()
        .person_month(id, month, &t.app.config.calendar())
        .await
        .unwrap()
        .summary();

    let b = Browser::start().await;
    // The admin: the units first, then a district's cadres, then 张三's calendar.
    b.open(&page_url(&base, &t, &zhao)).await;
    let card = b.find(".card[data-unit]", "乌当区").await;
    let shown = b.text(&card).await;
    assert!(
        shown.contains("在册 2 人") && shown.contains("今日已记 1，未记 1"),
        "{shown}"
    );
    b.click(&card).await;
    let cadre = b.find(".card[data-cadre]", "张三").await;
    assert!(b.text(&cadre).await.contains("今日已记"));
    b.click(&cadre).await;
    let today = b.find("#calendar [data-date='2026-11-25']", "25").await;
    assert_eq!(b.attribute(&today, "data-mark").await, "记");
    let sunday = b.find("#calendar [data-date='2026-11-01']", "1").await;
    assert_eq!(b.attribute(&sunday, "data-mark").await, "休");
    b.screenshot("zhucun-web-calendar").await;
    let fetched = b
        .post(
            "/execute/sync",
            json!({"script": "return performance.getEntriesByType('resource').map(e => e.name)", "args": []}),
        )
        .await;
    let fetched = fetched.as_array().unwrap();
    assert!(!fetched.is_empty());
    for url in fetched {
        assert!(
            url.as_str().unwrap().starts_with(&base),
            "nothing from elsewhere: {url}"
        );
    }
    // The day: its text and its photo, fetched through the server.
    b.click(&today).await;
    b.find(".card[data-log]", "村道硬化完工").await;
    let shown = b
        .post(
            "/execute/sync",
            json!({"script": "const i = document.querySelector('.card[data-log] img'); return new Promise(r => { const done = () => r(i ? i.naturalWidth : -1); if (!i || i.complete) done(); else i.onload = i.onerror = done; });", "args": []}),
        )
        .await;
    assert_eq!(shown, json!(1), "the 1×1 photo is drawn");
    b.screenshot("zhucun-web-day").await;
    let back = b.find("button", "返回日历").await;
    b.click(&back).await;
    let logs = b.find("b[data-k='log_days']", "").await;
    assert_eq!(b.text(&logs).await, db.log_days.to_string());

    // Back on the units: 孙八 has not logged today; 提醒 reaches him once.
    b.open("about:blank").await;
    b.open(&page_url(&base, &t, &zhao)).await;
    b.find("h2", "今日未记实（1 人）").await;
    let remind = b.find("button[data-remind]", "提醒").await;
    b.click(&remind).await;
    b.find("button[data-remind]", "已提醒").await;
    let told = t.reply(&sun).await;
    assert!(
        told.text().unwrap().contains("还没有收到您的工作记实"),
        "{told}"
    );
    // On a phone the workbook comes to the chat.
    let send = b.find("#send-report", "发到聊天").await;
    b.click(&send).await;
    b.find("#send-report", "已发送，请看聊天").await;
    b.screenshot("zhucun-web-units").await;
    let doc = t.reply(&zhao).await;
    assert_eq!(doc.method, "sendDocument", "{doc}");

    // The cadre himself: his figures as the database has them, no units tab.
    // Only the hash differs: leave the page first, or the browser would not load it again.
    b.open("about:blank").await;
    b.open(&page_url(&base, &t, &zhang)).await;
    let subsidy = b
        .find("b[data-k='subsidy_days']", &db.eligible_days.to_string())
        .await;
    assert_eq!(b.text(&subsidy).await, db.eligible_days.to_string());
    let tabs = b
        .post(
            "/execute/sync",
            json!({"script": "return document.getElementById('tabs').hidden", "args": []}),
        )
        .await;
    assert_eq!(tabs, json!(true), "a cadre has no units tab");
    t.stop().await;
}
