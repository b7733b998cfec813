//! The roster as an office keeps it: an Excel sheet or a CSV saved on Chinese Windows,
//! headed and filled in Chinese, imported with `zhucun import` or sent to the bot by an
//! admin with the caption #roster (a preview, then 确认导入; a second confirmation when a
//! fifth of the roster would be deactivated).

use crate::cli::zhucun;
use crate::on_both_engines;
use crate::support::TestApp;
use fakebot::Call;
use fakebot::updates::{self, TgUser};
use rust_xlsxwriter::Workbook;
use serde_json::json;
use std::path::Path;
use storage::Engine;
use storage::testing::TestDb;

on_both_engines!(
    office_rosters_import_from_xlsx_and_gb18030_csv,
    a_bad_sheet_names_the_row_and_column_and_imports_nothing,
    an_admin_previews_and_confirms_a_roster_file_in_the_chat,
    deactivating_over_a_fifth_is_confirmed_twice_and_cancel_changes_nothing,
    only_admins_import_and_a_bad_file_is_explained,
);

/// SPEC's example roster as a Chinese office types it: Chinese headings in their own
/// order, Chinese roles, phone numbers in number cells.
const HEAD: [&str; 6] = ["序号", "姓名", "单位", "手机号", "角色", "辅导领域"];
const PEOPLE: [[&str; 5]; 5] = [
    [
        "张三",
        "贵阳市/乌当区/新堡乡/谷溪村",
        "13800000001",
        "驻村干部",
        "",
    ],
    ["李四", "贵阳市/乌当区/新堡乡", "13800000002", "审批人", ""],
    ["王五", "贵阳市/乌当区", "13800000003", "审批人；信息员", ""],
    ["赵六", "贵阳市", "13800000004", "审批人、管理员", ""],
    [
        "钱七",
        "贵阳市/乌当区",
        "13800000005",
        "辅导师",
        "农业技术；产业发展",
    ],
];

fn xlsx(people: &[[&str; 5]]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("干部名单").unwrap();
    for (c, h) in HEAD.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, p) in people.iter().enumerate() {
        let row = r as u32 + 1;
        sheet.write_number(row, 0, (r + 1) as f64).unwrap();
        sheet.write_string(row, 1, p[0]).unwrap();
        sheet.write_string(row, 2, p[1]).unwrap();
        match p[2].parse::<f64>() {
            Ok(n) => sheet.write_number(row, 3, n).unwrap(),
            Err(_) => sheet.write_string(row, 3, p[2]).unwrap(),
        };
        sheet.write_string(row, 4, p[3]).unwrap();
        sheet.write_string(row, 5, p[4]).unwrap();
    }
    book.save_to_buffer().unwrap()
}

fn gb18030_csv(people: &[[&str; 5]]) -> Vec<u8> {
    let mut text = HEAD.join(",") + "\r\n";
    for (i, p) in people.iter().enumerate() {
        text += &format!("{},{},{},{},{},{}\r\n", i + 1, p[0], p[1], p[2], p[3], p[4]);
    }
    encoding_rs::GB18030.encode(&text).0.into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn import(db: &TestDb, file: &str) -> std::process::Output {
    zhucun(&db.url).args(["import", file]).output().unwrap()
}

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

async fn office_rosters_import_from_xlsx_and_gb18030_csv(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let sheet = write(dir.path(), "名单.xlsx", &xlsx(&PEOPLE));
    let o = import(&db, &sheet);
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("5 added, 0 updated, 0 unchanged"),
        "{}",
        out(&o)
    );
    let people = db.store.people().await.unwrap();
    let shown: Vec<String> = people
        .iter()
        .map(|p| format!("{} {} {}", p.name, p.phone, p.roles))
        .collect();
    assert_eq!(
        shown,
        [
            "张三 13800000001 cadre",
            "李四 13800000002 approver",
            "王五 13800000003 approver;reporter",
            "赵六 13800000004 approver;admin",
            "钱七 13800000005 tutor",
        ]
    );
    assert_eq!(people[4].topics, ["产业发展", "农业技术"]);
    // The same people saved as CSV by Excel on Chinese Windows (GB18030, CRLF): the
    // same roster, nothing changes; with a UTF-8 BOM too.
    let csv = write(dir.path(), "名单.csv", &gb18030_csv(&PEOPLE));
    let o = import(&db, &csv);
    assert!(
        out(&o).contains("0 added, 0 updated, 5 unchanged, 0 deactivated"),
        "{}",
        out(&o)
    );
    let text = encoding_rs::GB18030
        .decode(&gb18030_csv(&PEOPLE))
        .0
        .into_owned();
    let bom = write(dir.path(), "bom.csv", format!("\u{feff}{text}").as_bytes());
    let o = import(&db, &bom);
    assert!(
        out(&o).contains("0 added, 0 updated, 5 unchanged, 0 deactivated"),
        "{}",
        out(&o)
    );
    assert_eq!(db.store.people().await.unwrap(), people);
}

async fn a_bad_sheet_names_the_row_and_column_and_imports_nothing(engine: Engine) {
    let db = TestDb::new(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let mut bad = PEOPLE;
    bad[1][2] = "1380000";
    bad[2][3] = "村长";
    let o = import(&db, &write(dir.path(), "bad.xlsx", &xlsx(&bad)));
    assert!(!o.status.success());
    let err = out(&o);
    assert!(err.contains("bad.xlsx:line 3: phone: "), "{err}");
    assert!(err.contains("(column D)"), "{err}");
    assert!(
        err.contains("bad.xlsx:line 4: unknown role `村长`"),
        "{err}"
    );
    assert!(err.contains("(column E)"), "{err}");
    assert!(err.contains("2 error(s); nothing was imported"), "{err}");
    // A file that is no table at all: one line, no panic.
    let o = import(
        &db,
        &write(dir.path(), "photo.xlsx", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("photo.xlsx"), "{err}");
    assert!(
        db.store.people().await.unwrap().is_empty(),
        "nothing imported"
    );
}

fn zhao() -> TgUser {
    TgUser::new(7004, "赵六")
}

/// Sends a roster file with `#roster` and returns the bot's answer.
async fn send_roster(t: &TestApp, from: &TgUser, id: &str, name: &str, bytes: Vec<u8>) -> Call {
    let size = bytes.len();
    t.tg.add_file(id, bytes);
    let mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let mut update = updates::document(from, id, name, mime, Some("#roster"));
    updates::set(&mut update, "/message/document/file_size", json!(size));
    t.send(update);
    t.reply(from).await
}

/// Presses a button; returns the alert text and the presser's next message (the edit).
async fn press(t: &TestApp, who: &TgUser, card: &Call, button: &str) -> (String, Option<Call>) {
    t.send(updates::click(who, card, button));
    let answer = t.tg.next_call("answerCallbackQuery").await;
    let alert = answer.body["text"].as_str().unwrap_or_default().to_string();
    let edited = if alert.is_empty() {
        Some(t.reply(who).await)
    } else {
        None
    };
    (alert, edited)
}

fn text(c: &Call) -> &str {
    c.text().unwrap_or_default()
}

async fn active_names(t: &TestApp) -> Vec<String> {
    let people = t.store().people().await.unwrap();
    people
        .into_iter()
        .filter(|p| p.active)
        .map(|p| p.name)
        .collect()
}

async fn an_admin_previews_and_confirms_a_roster_file_in_the_chat(engine: Engine) {
    let t = TestApp::start(engine).await;
    let zhao = zhao();
    t.register(&zhao, "13800000004").await;
    let mut people = PEOPLE.to_vec();
    people[0][1] = "贵阳市/乌当区/新堡乡/新村";
    people.push([
        "孙八",
        "贵阳市/乌当区/新堡乡/谷溪村",
        "13800000008",
        "驻村干部",
        "",
    ]);
    people.push([
        "周九",
        "贵阳市/白云区/沙文镇/扁山村",
        "13800000009",
        "驻村干部",
        "",
    ]);
    let preview = send_roster(&t, &zhao, "roster-1", "名单.xlsx", xlsx(&people)).await;
    let p = text(&preview);
    assert!(p.starts_with("名单预览（名单.xlsx，7 人）"), "{preview}");
    assert!(
        p.contains("新增 2 人，更新 1 人，不变 4 人，停用 0 人"),
        "{preview}"
    );
    assert!(p.contains("新增：孙八、周九"), "{preview}");
    assert!(p.contains("更新：张三"), "{preview}");
    assert_eq!(preview.button_texts(), ["确认导入", "取消"]);
    // Nothing changes before the admin confirms.
    assert_eq!(active_names(&t).await.len(), 5);

    let (alert, edited) = press(&t, &zhao, &preview, "确认导入").await;
    assert_eq!(alert, "");
    let edited = edited.unwrap();
    assert_eq!(edited.method, "editMessageText");
    assert!(text(&edited).starts_with("名单已导入"), "{edited}");
    assert!(text(&edited).contains("新增 2 人，更新 1 人"), "{edited}");
    assert!(edited.button_texts().is_empty(), "{edited}");
    assert_eq!(
        active_names(&t).await,
        ["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九"]
    );
    let zhang = t
        .store()
        .person_by_phone("13800000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(zhang.unit.to_string(), "贵阳市/乌当区/新堡乡/新村");

    // The same button again: done, and said so.
    let (alert, _) = press(&t, &zhao, &preview, "确认导入").await;
    assert_eq!(alert, "这份名单已经导入或取消过了。");
    t.stop().await;
}

async fn deactivating_over_a_fifth_is_confirmed_twice_and_cancel_changes_nothing(engine: Engine) {
    let t = TestApp::start(engine).await;
    let zhao = zhao();
    t.register(&zhao, "13800000004").await;
    // A sheet cut short: 张三, 李四 and 王五 are missing (3 of 5).
    let short = xlsx(&PEOPLE[3..]);
    let preview = send_roster(&t, &zhao, "roster-short", "名单.xlsx", short.clone()).await;
    assert!(text(&preview).contains("停用 3 人"), "{preview}");
    assert!(
        text(&preview).contains("停用：张三、李四、王五"),
        "{preview}"
    );

    let (_, again) = press(&t, &zhao, &preview, "确认导入").await;
    let again = again.unwrap();
    assert!(
        text(&again).contains("此次导入将停用 3 人，占现有在册 5 人的 60%（超过 20%）"),
        "{again}"
    );
    assert_eq!(again.button_texts(), ["确认停用并导入", "取消"]);
    assert_eq!(active_names(&t).await.len(), 5, "nothing changed yet");

    let (_, done) = press(&t, &zhao, &again, "确认停用并导入").await;
    assert!(text(&done.unwrap()).starts_with("名单已导入"));
    assert_eq!(active_names(&t).await, ["赵六", "钱七"]);

    // 取消 leaves the roster as it is.
    let full = send_roster(&t, &zhao, "roster-full", "名单.xlsx", xlsx(&PEOPLE)).await;
    assert!(text(&full).contains("新增 0 人，更新 3 人"), "{full}");
    let (_, cancelled) = press(&t, &zhao, &full, "取消").await;
    assert_eq!(text(&cancelled.unwrap()), "已取消，名单没有改动。");
    assert_eq!(active_names(&t).await, ["赵六", "钱七"]);
    let (alert, _) = press(&t, &zhao, &full, "确认导入").await;
    assert_eq!(alert, "这份名单已经导入或取消过了。");
    t.stop().await;
}

async fn only_admins_import_and_a_bad_file_is_explained(engine: Engine) {
    let t = TestApp::start(engine).await;
    let (zhang, zhao) = (TgUser::new(7001, "张三"), zhao());
    t.register(&zhang, "13800000001").await;
    t.register(&zhao, "13800000004").await;
    let refused = send_roster(&t, &zhang, "roster-x", "名单.xlsx", xlsx(&PEOPLE[..1])).await;
    assert_eq!(text(&refused), "只有管理员可以导入名单，名单没有改动。");
    assert_eq!(
        t.tg.count("getFile"),
        0,
        "a non-admin's file is not downloaded"
    );

    let mut bad = PEOPLE;
    bad[1][2] = "1380000";
    let errors = send_roster(&t, &zhao, "roster-bad", "名单.xlsx", xlsx(&bad)).await;
    assert!(
        text(&errors).starts_with("名单有 1 处错误，没有导入任何内容"),
        "{errors}"
    );
    assert!(text(&errors).contains("line 3: phone: "), "{errors}");
    assert!(text(&errors).contains("(column D)"), "{errors}");
    assert!(errors.button_texts().is_empty());

    let junk = send_roster(
        &t,
        &zhao,
        "roster-junk",
        "名单.xlsx",
        b"PK\x03\x04junk".to_vec(),
    )
    .await;
    assert!(text(&junk).starts_with("无法读取名单文件："), "{junk}");
    assert_eq!(active_names(&t).await.len(), 5, "nothing changed");
    t.stop().await;
}
