//! Supervision end to end: a month of logs, backdated logs, leave across the month's end,
//! a configured rest day and make-up workday, a cadre who joined mid-month, one who left
//! mid-month and one who left before it — and every surface (`/me`, `/stats`, `/stats
//! YYYY-MM`, the `subsidy-report` job's document and messages, `zhucun report subsidy` as
//! CSV and XLSX) gives the same figures. Also the `weekly-summary` job and `report
//! compliance`.

use crate::on_both_engines;
use crate::support::TestApp;
use calamine::{Reader, Xlsx};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::Clock;
use domain::config::Config;
use fakebot::Call;
use fakebot::updates::{self, TgUser};
use scheduler::Job;
use std::process::{Command, Stdio};
use std::time::Duration as StdDuration;
use storage::Engine;

on_both_engines!(every_surface_gives_the_same_figures_for_a_month,);

/// The settings of the test, for the bot and the binary alike.
const SETTINGS: &str = "[calendar]\nrest_days = [\"2026-11-10\"]\nworkdays = [\"2026-11-14\"]\n";

const R0: &str = "name,phone,roles,unit,topics
赵六,13800000004,approver;admin,贵阳市,
李四,13800000002,approver,贵阳市/乌当区/新堡乡,
王五,13800000003,approver;reporter,贵阳市/乌当区,
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
吴十,13800000010,cadre,贵阳市/乌当区/新堡乡/谷溪村,
孙八,13800000008,cadre,贵阳市/花溪区/青岩镇/龙井村,
郑一,13800000011,cadre,贵阳市/花溪区/青岩镇/龙井村,
";

/// 郑一 leaves before November.
fn r1() -> String {
    R0.lines()
        .filter(|l| !l.starts_with("郑一"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// 周九 joins on 16 November.
fn r2() -> String {
    format!(
        "{}周九,13800000009,cadre,贵阳市/花溪区/青岩镇/龙井村,\n",
        r1()
    )
}

/// 吴十 leaves on 20 November.
fn r3() -> String {
    r2().lines()
        .filter(|l| !l.starts_with("吴十"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Local (Asia/Shanghai) time on a day of 2026.
fn at(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, month, day, hour, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn text_of(c: &Call) -> String {
    c.text().unwrap_or_default().to_string()
}

/// The cells after `name` of every table line that starts with it, in order (the today
/// and month tables of `/stats` one after the other).
fn row(text: &str, name: &str) -> Vec<String> {
    let cells: Vec<String> = text
        .lines()
        .map(|l| l.trim_start_matches("<pre>"))
        .filter(|l| l.starts_with(name))
        .flat_map(|l| l.split_whitespace().skip(1))
        .map(|s| s.trim_end_matches("</pre>").to_string())
        .collect();
    assert!(!cells.is_empty(), "no row {name} in\n{text}");
    cells
}

/// (log days, leave days, subsidy days) from a /me or subsidy-figures message.
fn figures(text: &str) -> (u32, u32, u32) {
    let n: Vec<u32> = text
        .lines()
        .filter_map(|l| l.split_once('：'))
        .filter_map(|(_, v)| v.trim().trim_end_matches(" 天").parse().ok())
        .collect();
    assert_eq!(n.len(), 3, "three figures in {text}");
    (n[0], n[1], n[2])
}

/// Rows of a sheet as strings.
fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    book.worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"))
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

fn sheet_names(bytes: &[u8]) -> Vec<String> {
    let book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    book.sheet_names()
}

/// Each cadre's November: (log days, leave days, subsidy days), worked out by hand.
const EXPECTED: [(&str, (u32, u32, u32)); 4] = [
    // 2, 3 (twice), 4 (backdated), 14 (make-up Saturday), 30 (a log on leave)
    ("张三", (5, 1, 4)),
    // 2 only; left on the 20th and keeps his row
    ("吴十", (1, 0, 1)),
    // 2, 5, 23
    ("孙八", (3, 0, 3)),
    // joined on the 16th, logged that day
    ("周九", (1, 0, 1)),
];

async fn every_surface_gives_the_same_figures_for_a_month(engine: Engine) {
    let config = Config::from_toml(SETTINGS).unwrap();
    let t = TestApp::start_with(engine, config, None).await;
    jump(&t, at(10, 30, 10)).await;
    t.import(R0).await;
    jump(&t, at(10, 31, 10)).await;
    t.import(&r1()).await;

    let admin = TgUser::new(9004, "赵六");
    let township = TgUser::new(9002, "李四");
    let reporter = TgUser::new(9003, "王五");
    let zhang = TgUser::new(9001, "张三");
    let wu = TgUser::new(9010, "吴十");
    let sun = TgUser::new(9008, "孙八");
    let zhou = TgUser::new(9009, "周九");
    for (u, phone) in [
        (&admin, "13800000004"),
        (&township, "13800000002"),
        (&reporter, "13800000003"),
        (&zhang, "13800000001"),
        (&wu, "13800000010"),
        (&sun, "13800000008"),
    ] {
        t.register(u, phone).await;
    }

    jump(&t, at(11, 2, 10)).await;
    log(&t, &zhang, "走访农户").await;
    log(&t, &sun, "修路").await;
    log(&t, &wu, "开会").await;
    jump(&t, at(11, 3, 10)).await;
    log(&t, &zhang, "上午巡查").await;
    log(&t, &zhang, "下午培训").await;
    jump(&t, at(11, 5, 10)).await;
    log(&t, &zhang, "/log 2026-11-04 补记：调解纠纷").await;
    log(&t, &sun, "产业调研").await;

    // The configured rest day: nobody is missing today.
    jump(&t, at(11, 10, 18)).await;
    let s = t.ask(&admin, "/stats").await;
    assert_eq!(row(&text_of(&s), "乌当区")[2], "0", "{s}");
    assert_eq!(row(&text_of(&s), "花溪区")[2], "0", "{s}");

    // The make-up Saturday is a workday: who did not log is missing.
    jump(&t, at(11, 14, 18)).await;
    log(&t, &zhang, "周六加班").await;
    let s = t.ask(&admin, "/stats").await;
    // 在岗 今记 今缺 动态 | 记实 补助 待批 待答
    let a = row(&text_of(&s), "乌当区");
    assert_eq!(a[..5], ["2", "1", "1", "否", "5"], "{s}");
    let b = row(&text_of(&s), "花溪区");
    assert_eq!(b[..5], ["1", "0", "1", "—", "2"], "{s}");

    jump(&t, at(11, 16, 10)).await;
    t.import(&r2()).await;
    t.register(&zhou, "13800000009").await;
    log(&t, &zhou, "报到").await;
    jump(&t, at(11, 20, 10)).await;
    let summary = t.import(&r3()).await;
    assert_eq!(summary.deactivated, ["吴十"]);
    jump(&t, at(11, 23, 10)).await;
    log(&t, &sun, "入户").await;

    // Leave across the month's end, approved; and one pending.
    jump(&t, at(11, 27, 10)).await;
    let r = t.ask(&zhang, "/leave 11-30 12-01 照顾生病的家人").await;
    assert!(text_of(&r).contains("已提交"), "{r}");
    let card = t.reply(&township).await;
    t.send(updates::click(&township, &card, "批准"));
    let approved = t.reply(&zhang).await;
    assert!(text_of(&approved).contains("已批准"), "{approved}");
    let edited = t.reply(&township).await;
    assert_eq!(edited.method, "editMessageText", "{edited}");

    // Monday 30 November: last week's summary to the admin.
    jump(&t, at(11, 30, 9)).await;
    let line = Job::WeeklySummary
        .execute(t.store(), &t.app.config, t.clock.now(), "e2e")
        .await
        .unwrap();
    assert_eq!(line, "weekly-summary: 2026-W48 summary queued to 1 admin");
    t.app.wake_sender();
    let mut weekly = [t.reply(&admin).await, t.reply(&admin).await];
    weekly.sort_by_key(|c| c.method.clone());
    let (text, photo) = (&weekly[0], &weekly[1]);
    assert_eq!(
        (text.method.as_str(), photo.method.as_str()),
        ("sendMessage", "sendPhoto")
    );
    let body = text_of(text);
    assert!(body.contains("2026-W48"), "{body}");
    // 乌当区 in the duty table (0 updates, not met), then its logs row (none that week).
    assert_eq!(
        row(&body, "乌当区"),
        ["0", "否", "0", "0", "0", "0", "0", "0", "0"],
        "王五's unit has no update\n{body}"
    );
    assert_eq!(
        row(&body, "花溪区"),
        ["1", "0", "0", "0", "0", "0", "0"],
        "{body}"
    );
    let png = &photo.files[0].bytes;
    assert_eq!(&png[1..4], b"PNG", "a PNG chart");
    assert!(png.len() > 5_000, "a chart, not an empty picture");

    // A pending request: no approver below the city, so its card goes to 赵六.
    t.ask(&sun, "/leave 12-03 12-03 参加县里培训").await;
    let card = t.reply(&admin).await;
    assert!(text_of(&card).contains("孙八"), "{card}");

    // A log on a leave day: a log day, not a subsidy day.
    jump(&t, at(11, 30, 10)).await;
    log(&t, &zhang, "请假期间也处理了急事").await;
    jump(&t, at(11, 30, 18)).await;
    let me = figures(&text_of(&t.ask(&zhang, "/me").await));
    assert_eq!(me, EXPECTED[0].1, "/me");
    for (u, (_, want)) in [(&sun, EXPECTED[2]), (&zhou, EXPECTED[3])] {
        assert_eq!(figures(&text_of(&t.ask(u, "/me").await)), want);
    }
    let s = text_of(&t.ask(&admin, "/stats").await);
    assert_eq!(
        row(&s, "乌当区"),
        ["1", "1", "0", "否", "6", "5", "0", "0"],
        "张三 logged today while on leave; 吴十 left\n{s}"
    );
    assert_eq!(
        row(&s, "花溪区"),
        ["2", "0", "2", "—", "4", "4", "1", "0"],
        "{s}"
    );
    assert!(
        s.contains("本周尚未报送工作动态的单位（1 个）：\n贵阳市/乌当区"),
        "{s}"
    );
    // The township approver sees his subtree only; a cadre sees nothing.
    let s = text_of(&t.ask(&township, "/stats").await);
    assert_eq!(row(&s, "乌当区")[4..6], ["6", "5"], "{s}");
    assert!(!s.contains("花溪区"), "{s}");
    let s = text_of(&t.ask(&zhang, "/stats").await);
    assert!(s.contains("只有管理员和审批人"), "{s}");
    let s = text_of(&t.ask(&admin, "/stats 2027-01").await);
    assert!(s.contains("还没有开始"), "{s}");
    let s = text_of(&t.ask(&admin, "/stats 十一月").await);
    assert!(s.contains("用法"), "{s}");

    // 1 December, 08:00: the subsidy report.
    jump(&t, at(12, 1, 8)).await;
    let line = Job::SubsidyReport
        .execute(t.store(), &t.app.config, t.clock.now(), "e2e")
        .await
        .unwrap();
    assert_eq!(
        line, "subsidy-report: 2026-11 report queued to 1 admin and figures to 3 cadres",
        "吴十 left and gets nothing"
    );
    let again = Job::SubsidyReport
        .execute(t.store(), &t.app.config, t.clock.now(), "e2e")
        .await
        .unwrap();
    assert!(
        again.ends_with("to 0 admins and figures to 0 cadres"),
        "the run again sends nothing twice: {again}"
    );
    t.app.wake_sender();
    let doc = t.reply(&admin).await;
    assert_eq!(doc.method, "sendDocument", "{doc}");
    assert!(text_of(&doc).contains("4 名驻村干部"), "{doc}");
    let xlsx = doc.files[0].bytes.to_vec();
    for (u, (_, want)) in [
        (&zhang, EXPECTED[0]),
        (&sun, EXPECTED[2]),
        (&zhou, EXPECTED[3]),
    ] {
        let m = t.reply(u).await;
        assert!(text_of(&m).contains("2026年11月"), "{m}");
        assert_eq!(figures(&text_of(&m)), want, "{m}");
    }
    t.tg.assert_silent(wu.id, StdDuration::from_millis(200))
        .await;

    // The past month on /stats: the same sums.
    let s = text_of(&t.ask(&admin, "/stats 2026-11").await);
    // 在岗 记实 请假 补助
    assert_eq!(row(&s, "乌当区"), ["1", "6", "1", "5"], "{s}");
    assert_eq!(row(&s, "花溪区"), ["2", "4", "0", "4"], "{s}");

    // The document, and the CLI's CSV and XLSX.
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("zhucun.toml");
    std::fs::write(&settings, SETTINGS).unwrap();
    let cli = |url: &str| {
        let mut c = cli(url);
        c.env("ZHUCUN_CONFIG", &settings);
        c
    };
    let csv_path = dir.path().join("s.csv");
    let xlsx_path = dir.path().join("s.xlsx");
    for out in [&csv_path, &xlsx_path] {
        let o = cli(&t.db.url)
            .args(["report", "subsidy", "--month", "2026-11", "--out"])
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("4 cadres"));
    }
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("name,phone,unit,log_days,leave_days,subsidy_days")
    );
    let csv_rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert_eq!(csv_rows.len(), 4, "郑一 left before November\n{csv}");
    let cli_xlsx = std::fs::read(&xlsx_path).unwrap();
    for (what, bytes) in [("the document", &xlsx), ("the CLI's file", &cli_xlsx)] {
        assert_eq!(sheet_names(bytes), ["汇总", "乌当区", "花溪区", "出勤明细"]);
        let all = sheet(bytes, "汇总");
        assert_eq!(
            all[0],
            ["姓名", "手机号", "单位", "记实天数", "请假天数", "补助天数"]
        );
        assert_eq!(all[1..], csv_rows[..], "the XLSX and the CSV agree");
        assert_eq!(sheet(bytes, "乌当区").len(), 3);
        assert_eq!(sheet(bytes, "花溪区").len(), 3);
        let detail = sheet(bytes, "出勤明细");
        let zhang_row = detail.iter().find(|r| r[0] == "张三").unwrap();
        let day = |d: usize| zhang_row[2 + d].as_str();
        assert_eq!(
            [
                day(1),
                day(2),
                day(3),
                day(4),
                day(10),
                day(14),
                day(29),
                day(30)
            ],
            ["休", "记", "记", "记", "休", "记", "休", "假"],
            "{what}: Sunday 1st, rest day 10th, make-up Saturday 14th, leave on the 30th"
        );
        for r in &detail[1..] {
            let count = |m: &str| r[3..33].iter().filter(|c| *c == m).count().to_string();
            assert_eq!(count("记"), r[35], "记 marks are {}'s subsidy days", r[0]);
            assert_eq!(count("假"), r[34], "假 marks are {}'s leave days", r[0]);
        }
    }
    for (name, (log_days, leave_days, subsidy_days)) in EXPECTED {
        let r = csv_rows.iter().find(|r| r[0] == name).unwrap();
        assert_eq!(
            r[3..],
            [
                log_days.to_string(),
                leave_days.to_string(),
                subsidy_days.to_string()
            ],
            "{name}"
        );
    }

    // The compliance report of week 49: 王五 posts for 乌当区.
    let wang = t.person_id(&reporter).await;
    let unit = t.store().person(wang).await.unwrap().unwrap().unit_id;
    t.store()
        .record_update(storage::NewUpdate {
            person_id: wang,
            unit_id: unit,
            day: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            at: t.clock.now(),
            text: Some("本周召开驻村工作推进会"),
            photos: &[],
            media_group_id: None,
            chat_id: reporter.id,
            message_id: 1,
            update_id: None,
            bulletin: None,
        })
        .await
        .unwrap();
    let c = dir.path().join("c.csv");
    let o = cli(&t.db.url)
        .args(["report", "compliance", "--week", "2026-W49", "--out"])
        .arg(&c)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&c).unwrap(),
        "unit,updates,met\n贵阳市/乌当区,1,yes\n"
    );
    let o = cli(&t.db.url)
        .args(["report", "compliance", "--week", "2026-W48", "--out"])
        .arg(dir.path().join("c.xlsx"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let bytes = std::fs::read(dir.path().join("c.xlsx")).unwrap();
    assert_eq!(sheet(&bytes, "汇总")[1], ["贵阳市/乌当区", "0", "否"]);
    t.stop().await;
}

/// Moves the test clock once the outbox has settled: a jump while a send is under way
/// would let its lease run out on the test clock and the message go out twice.
async fn jump(t: &TestApp, to: DateTime<Utc>) {
    for _ in 0..500 {
        if t.store().outbox_counts().await.unwrap().0 == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    t.clock.set(to);
}

async fn log(t: &TestApp, u: &TgUser, text: &str) {
    let r = t.ask(u, text).await;
    assert!(text_of(&r).contains("已记录"), "{r}");
}

fn cli(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhucun"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}
