//! The policy library as admins and cadres use it: documents added with a `#policy` caption
//! or `/policy_add`, downloaded through the Bot API and indexed; `/policy` searches with
//! snippets and buttons that send the file; `/policy_del`; and every bad file refused with
//! its reason, leaving nothing behind.

use crate::on_both_engines;
use crate::support::TestApp;
use extract::fixtures::{self, PdfText};
use fakebot::Call;
use fakebot::updates::{self, TgUser};
use serde_json::json;
use storage::Engine;

on_both_engines!(
    an_admins_documents_are_added_and_everyone_finds_them,
    a_scan_is_added_by_title_and_the_reply_says_so,
    policy_add_dialogue_takes_the_file_and_its_caption,
    non_admins_are_refused_and_nothing_is_added,
    bad_files_get_a_clear_answer_and_leave_nothing_behind,
    no_match_suggests_fewer_words_and_admins_remove_documents,
    policy_commands_are_in_help_and_the_menu,
    a_folder_is_imported_once_described_by_its_sidecar_or_text_and_its_files_are_sent,
);

async fn a_folder_is_imported_once_described_by_its_sidecar_or_text_and_its_files_are_sent(
    engine: Engine,
) {
    let (t, zhang, _) = start(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    };
    // The 规程 ends as official documents do: its 落款 and 成文日期.
    let dibao = format!("{DIBAO}\n贵州省民政厅\n2021年6月30日");
    put("规程.pdf", fixtures::pdf(&dibao, PdfText::GbkEuc));
    put("林业/条例.docx", fixtures::docx(FOREST));
    put(
        "危改.txt",
        fixtures::gb18030("农村危房改造补助资金实行专款专用，通过一卡通直接拨付到农户。"),
    );
    put("目录.csv", encoding_rs::GB18030.encode("文件,标题,发文机关,日期\n条例.docx,贵州省森林林木林地流转条例,贵州省人大常委会,2017-11-30\n").0.into_owned());
    put("坏的.pdf", b"%PDF-1.4 this is not a pdf".to_vec());
    put("照片.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec());
    put("加密.pdf", fixtures::pdf_encrypted());
    put(".DS_Store", b"junk".to_vec());
    let folder = dir.path().display().to_string();
    let import = || {
        crate::cli::zhucun(&t.db.url)
            .args(["policy", "import", &folder])
            .output()
            .unwrap()
    };
    let out = import();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        !out.status.success(),
        "refused files make the exit non-zero"
    );
    assert_eq!(
        stdout.trim(),
        "policy import: 3 added, 0 already in the library, 3 refused",
        "{stderr}"
    );
    let refused: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": refused: "))
        .collect();
    assert_eq!(refused.len(), 3, "{stderr}");
    assert!(
        refused
            .iter()
            .any(|l| l.contains("坏的.pdf: refused: malformed pdf")),
        "{stderr}"
    );
    assert!(
        refused
            .iter()
            .any(|l| l.contains("照片.png: refused: not a PDF, DOCX or TXT")),
        "{stderr}"
    );
    assert!(
        refused
            .iter()
            .any(|l| l.contains("加密.pdf: refused: the PDF is encrypted")),
        "{stderr}"
    );
    // Run again: nothing new.
    let out = import();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "policy import: 0 added, 3 already in the library, 3 refused"
    );
    assert_eq!(t.store().policy_count().await.unwrap(), 3);

    // Described by the sidecar, and by the text (title, 落款, date).
    let found = t.ask(&zhang, "/policy 林地流转").await;
    assert!(
        text(&found).contains("《贵州省森林林木林地流转条例》"),
        "{found}"
    );
    assert!(
        text(&found).contains("贵州省人大常委会 · 2017-11-30"),
        "{found}"
    );
    let found = t.ask(&zhang, "/policy 最低生活保障").await;
    assert!(
        text(&found).contains("《贵州省农村居民最低生活保障工作规程》"),
        "{found}"
    );
    assert!(
        text(&found).contains("贵州省民政厅 · 2021-06-30"),
        "{found}"
    );

    // Its file was never on Telegram: uploaded on the first press, by file id after.
    let button = found.button_texts()[0].clone();
    t.send(updates::click(&zhang, &found, &button));
    let sent = t.reply(&zhang).await;
    assert_eq!(sent.method, "sendDocument");
    assert!(!sent.body["document"].is_string(), "uploaded: {sent}");
    let uploaded = sent.message().unwrap()["document"]["file_id"].clone();
    t.send(updates::click(&zhang, &found, &button));
    let again = t.reply(&zhang).await;
    assert_eq!(again.body["document"], uploaded, "{again}");
    t.stop().await;
}

fn zhang() -> TgUser {
    TgUser::new(7001, "张三")
}
fn zhao() -> TgUser {
    TgUser::new(7004, "赵六")
}

const DIBAO: &str = "贵州省农村居民最低生活保障工作规程\n第一条 为规范农村居民最低生活保障工作，保障困难群众基本生活，制定本规程。\n第二条 共同生活的家庭成员人均收入低于当地低保标准的，可以申请农村低保。申请以家庭为单位，由户主向户籍所在地乡镇人民政府提出书面申请。";
const PEAR: &str = "梨树锈病又称赤星病，主要危害叶片、新梢和幼果。\n防治方法：梨园周围5公里内不宜栽植桧柏；展叶期至幼果期遇雨后及时喷施三唑酮。";
const FOREST: &str = "第一条 为规范森林、林木、林地流转行为，保护流转当事人的合法权益，制定本条例。\n第二条 林地使用权可以依法采取转包、出租、入股、转让等方式流转。";

async fn start(engine: Engine) -> (TestApp, TgUser, TgUser) {
    let t = TestApp::start(engine).await;
    let (zhang, zhao) = (zhang(), zhao());
    t.register(&zhang, "13800000001").await;
    t.register(&zhao, "13800000004").await;
    (t, zhang, zhao)
}

/// Sends `bytes` as a document with `caption` and returns the bot's answer.
async fn send_file(
    t: &TestApp,
    from: &TgUser,
    file_id: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
    caption: Option<&str>,
) -> Call {
    let size = bytes.len();
    t.tg.add_file(file_id, bytes);
    let mut update = updates::document(from, file_id, name, mime, caption);
    updates::set(&mut update, "/message/document/file_size", json!(size));
    t.send(update);
    t.reply(from).await
}

fn text(c: &Call) -> &str {
    c.text().unwrap_or_default()
}

async fn an_admins_documents_are_added_and_everyone_finds_them(engine: Engine) {
    let (t, zhang, zhao) = start(engine).await;
    let added = send_file(
        &t,
        &zhao,
        "pdf-dibao",
        "规程.pdf",
        "application/pdf",
        fixtures::pdf(DIBAO, PdfText::EmbeddedToUnicode),
        Some("#policy 贵州省农村居民最低生活保障工作规程 | 贵州省民政厅 | 2021-06-30"),
    )
    .await;
    let chars = DIBAO.chars().count();
    assert!(
        text(&added).starts_with("已添加政策文件 1：《贵州省农村居民最低生活保障工作规程》"),
        "{added}"
    );
    let indexed: usize = text(&added)
        .split("索引了 ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a character count");
    assert!(
        indexed + 10 >= chars && indexed <= chars,
        "{indexed} of {chars}"
    );
    // A PDF in a predefined CJK CMap, a DOCX and a GB18030 text file.
    let added = send_file(
        &t,
        &zhao,
        "pdf-pear",
        "lishu.pdf",
        "application/pdf",
        fixtures::pdf(PEAR, PdfText::GbkEuc),
        Some("#policy 梨树锈病防治技术 | 贵州省植保植检站"),
    )
    .await;
    assert!(text(&added).starts_with("已添加政策文件 2"), "{added}");
    let added = send_file(
        &t,
        &zhao,
        "docx-forest",
        "条例.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        fixtures::docx(FOREST),
        Some("#policy 贵州省森林林木林地流转条例 | 贵州省人大常委会 | 2017-11-30"),
    )
    .await;
    assert!(text(&added).starts_with("已添加政策文件 3"), "{added}");
    let added = send_file(
        &t,
        &zhao,
        "txt-weigai",
        "weigai.txt",
        "text/plain",
        fixtures::gb18030("农村危房改造补助资金实行专款专用，通过一卡通直接拨付到农户。"),
        Some("#policy 贵州省农村危房改造补助资金管理办法"),
    )
    .await;
    assert!(text(&added).starts_with("已添加政策文件 4"), "{added}");
    assert_eq!(t.tg.count("downloadFile"), 4);

    // Chinese keywords without spaces: by title, by body, by abbreviation.
    let found = t.ask(&zhang, "/policy 最低生活保障").await;
    let body = text(&found);
    assert!(
        body.contains("1. 《贵州省农村居民最低生活保障工作规程》（编号 1）"),
        "{body}"
    );
    assert!(body.contains("贵州省民政厅 · 2021-06-30"), "{body}");
    assert!(!body.contains("梨树"), "{body}");
    assert_eq!(found.button_texts().len(), 1);
    let found = t.ask(&zhang, "/policy 梨锈病").await;
    assert!(text(&found).contains("《梨树锈病防治技术》"), "{found}");
    assert!(
        text(&found).contains("三唑酮") || text(&found).contains("锈病"),
        "{found}"
    );
    let found = t.ask(&zhang, "/policy 林地流转").await;
    assert!(
        text(&found).contains("《贵州省森林林木林地流转条例》"),
        "{found}"
    );
    let found = t.ask(&zhang, "/policy 危改").await;
    assert!(text(&found).contains("危房改造补助资金"), "{found}");
    assert!(
        text(&found).contains("一卡通"),
        "the snippet is from the body: {found}"
    );
    let found = t.ask(&zhang, "/policy 医保").await;
    assert!(!text(&found).contains("最低生活保障"), "{found}");

    // The button sends the file by its file id.
    let found = t.ask(&zhang, "/policy 低保").await;
    let button = found.button_texts()[0].clone();
    t.send(updates::click(&zhang, &found, &button));
    let sent = t.reply(&zhang).await;
    assert_eq!(sent.method, "sendDocument");
    assert_eq!(sent.body["document"], json!("pdf-dibao"), "{sent}");

    // `/policy` alone: the newest first.
    let newest = t.ask(&zhang, "/policy").await;
    let body = text(&newest);
    assert!(body.contains("共 4 份"), "{body}");
    let first = body.find("危房改造").unwrap();
    let last = body.find("最低生活保障").unwrap();
    assert!(first < last, "{body}");
    assert_eq!(newest.button_texts().len(), 4);
    t.stop().await;
}

async fn a_scan_is_added_by_title_and_the_reply_says_so(engine: Engine) {
    let (t, zhang, zhao) = start(engine).await;
    let added = send_file(
        &t,
        &zhao,
        "scan-1",
        "scan.pdf",
        "application/pdf",
        fixtures::pdf_scan(),
        Some("#policy 关于全面推行林长制的意见 | 中共中央办公厅 国务院办公厅"),
    )
    .await;
    assert!(text(&added).contains("已添加政策文件 1"), "{added}");
    assert!(text(&added).contains("索引了 0 个字符"), "{added}");
    assert!(text(&added).contains("扫描件"), "{added}");
    let found = t.ask(&zhang, "/policy 林长制").await;
    assert!(
        text(&found).contains("《关于全面推行林长制的意见》"),
        "{found}"
    );
    t.stop().await;
}

async fn policy_add_dialogue_takes_the_file_and_its_caption(engine: Engine) {
    let (t, zhang, zhao) = start(engine).await;
    let prompt = t.ask(&zhao, "/policy_add").await;
    assert!(text(&prompt).contains("请发送政策文件"), "{prompt}");
    let again = t.ask(&zhao, "这是文件").await;
    assert!(text(&again).contains("请发送一个文件"), "{again}");
    // No caption: the file name is the title.
    let added = send_file(
        &t,
        &zhao,
        "docx-1",
        "贵州省临时救助实施办法.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        fixtures::docx("因火灾、交通事故等导致基本生活暂时出现严重困难的家庭，可以申请临时救助。"),
        None,
    )
    .await;
    assert!(
        text(&added).starts_with("已添加政策文件 1：《贵州省临时救助实施办法》"),
        "{added}"
    );
    // The dialogue is over: the next file is an ordinary message again (admins log nothing).
    t.ask(&zhao, "/policy_add").await;
    let added = send_file(
        &t,
        &zhao,
        "pdf-2",
        "x.pdf",
        "application/pdf",
        fixtures::pdf(PEAR, PdfText::UniGbUcs2),
        Some("梨树锈病防治技术 | 贵州省植保植检站 | 2022-03-10"),
    )
    .await;
    assert!(text(&added).contains("《梨树锈病防治技术》"), "{added}");
    let found = t.ask(&zhang, "/policy 临时救助").await;
    assert!(text(&found).contains("贵州省临时救助实施办法"), "{found}");
    let found = t.ask(&zhang, "/policy 梨树锈病").await;
    assert!(
        text(&found).contains("贵州省植保植检站 · 2022-03-10"),
        "{found}"
    );
    // Cancel leaves the dialogue without adding anything.
    t.ask(&zhao, "/policy_add").await;
    let cancelled = t.ask(&zhao, "取消").await;
    assert!(!text(&cancelled).contains("已添加"), "{cancelled}");
    assert_eq!(t.store().policy_count().await.unwrap(), 2);
    t.stop().await;
}

async fn non_admins_are_refused_and_nothing_is_added(engine: Engine) {
    let (t, zhang, _zhao) = start(engine).await;
    let refused = send_file(
        &t,
        &zhang,
        "pdf-x",
        "x.pdf",
        "application/pdf",
        fixtures::pdf(DIBAO, PdfText::UniGbUcs2),
        Some("#policy 低保规程"),
    )
    .await;
    assert!(
        text(&refused).contains("只有管理员可以管理政策文件库"),
        "{refused}"
    );
    let refused = t.ask(&zhang, "/policy_add").await;
    assert!(text(&refused).contains("只有管理员"), "{refused}");
    let refused = t.ask(&zhang, "/policy_del 1").await;
    assert!(text(&refused).contains("只有管理员"), "{refused}");
    assert_eq!(
        t.tg.count("getFile"),
        0,
        "a refused file is never downloaded"
    );
    assert_eq!(t.store().policy_count().await.unwrap(), 0);
    // Not recorded as a work log either.
    let me = t.ask(&zhang, "/me").await;
    assert!(text(&me).contains('0'), "{me}");
    let empty = t.ask(&zhang, "/policy").await;
    assert!(text(&empty).contains("政策文件库还是空的"), "{empty}");
    t.stop().await;
}

async fn bad_files_get_a_clear_answer_and_leave_nothing_behind(engine: Engine) {
    let (t, _zhang, zhao) = start(engine).await;
    let pdf = "application/pdf";
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "broken.pdf",
            pdf,
            b"%PDF-1.7\n1 0 obj <<".to_vec(),
            "文件无法读取",
        ),
        ("locked.pdf", pdf, fixtures::pdf_encrypted(), "密码保护"),
        (
            "old.doc",
            "application/msword",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest".to_vec(),
            "只能添加 PDF、DOCX 或 TXT",
        ),
        (
            "photo.jpg",
            "image/jpeg",
            b"\xFF\xD8\xFF\xE0JFIF".to_vec(),
            "只能添加 PDF、DOCX 或 TXT",
        ),
        (
            "bad.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK\x03\x04broken".to_vec(),
            "文件无法读取",
        ),
        (
            "bin.txt",
            "text/plain",
            b"\x00\x01\x02binary".to_vec(),
            "文件无法读取",
        ),
    ];
    for (i, (name, mime, bytes, want)) in cases.into_iter().enumerate() {
        let answer = send_file(
            &t,
            &zhao,
            &format!("bad-{i}"),
            name,
            mime,
            bytes,
            Some("#policy 坏文件"),
        )
        .await;
        assert!(text(&answer).contains(want), "{name}: {answer}");
        assert!(text(&answer).contains("没有添加"), "{name}: {answer}");
    }
    // Too large by what the message says: refused before any download.
    let mut update = updates::document(&zhao, "big-1", "big.pdf", pdf, Some("#policy 大文件"));
    updates::set(
        &mut update,
        "/message/document/file_size",
        json!(25 * 1024 * 1024),
    );
    t.send(update);
    let answer = t.reply(&zhao).await;
    assert!(text(&answer).contains("20 MB"), "{answer}");
    assert!(text(&answer).contains("自建的 Bot API 服务器"), "{answer}");
    let downloads = t.tg.count("getFile");
    // Too large by what getFile says (the message claimed less).
    t.tg.add_file("big-2", vec![b'%'; 21 * 1024 * 1024]);
    t.send(updates::document(
        &zhao,
        "big-2",
        "big2.pdf",
        pdf,
        Some("#policy 大文件"),
    ));
    let answer = t.reply(&zhao).await;
    assert!(text(&answer).contains("20 MB"), "{answer}");
    assert_eq!(t.tg.count("getFile"), downloads + 1);
    // A caption without a title, a bad date, #policy without a file.
    let answer = send_file(
        &t,
        &zhao,
        "ok-1",
        "a.txt",
        "text/plain",
        "低保".repeat(20).into_bytes(),
        Some("#policy"),
    )
    .await;
    assert!(
        text(&answer).contains("请在 #policy 后写上文件标题"),
        "{answer}"
    );
    let answer = send_file(
        &t,
        &zhao,
        "ok-2",
        "a.txt",
        "text/plain",
        "低保".repeat(20).into_bytes(),
        Some("#policy 办法 | 民政厅 | 2021年6月"),
    )
    .await;
    assert!(text(&answer).contains("2021年6月"), "{answer}");
    let answer = t.ask(&zhao, "#policy 低保办法").await;
    assert!(text(&answer).contains("要和文件一起发送"), "{answer}");
    assert_eq!(t.store().policy_count().await.unwrap(), 0);
    assert_eq!(t.store().search_index_size().await.unwrap().0, 0);
    t.stop().await;
}

async fn no_match_suggests_fewer_words_and_admins_remove_documents(engine: Engine) {
    let (t, zhang, zhao) = start(engine).await;
    send_file(
        &t,
        &zhao,
        "t1",
        "a.txt",
        "text/plain",
        DIBAO.as_bytes().to_vec(),
        Some("#policy 贵州省农村居民最低生活保障工作规程"),
    )
    .await;
    let none = t.ask(&zhang, "/policy 村里的路灯坏了找谁修").await;
    assert!(text(&none).contains("没有找到"), "{none}");
    assert!(text(&none).contains("更少、更短的关键词"), "{none}");
    assert!(none.button_texts().is_empty());
    let usage = t.ask(&zhao, "/policy_del abc").await;
    assert!(text(&usage).contains("用法：/policy_del 编号"), "{usage}");
    let missing = t.ask(&zhao, "/policy_del 99").await;
    assert!(
        text(&missing).contains("没有编号为 99 的政策文件"),
        "{missing}"
    );
    let found = t.ask(&zhang, "/policy 低保").await;
    let deleted = t.ask(&zhao, "/policy_del 1").await;
    assert!(
        text(&deleted).contains("已删除政策文件 1：《贵州省农村居民最低生活保障工作规程》"),
        "{deleted}"
    );
    let gone = t.ask(&zhang, "/policy 低保").await;
    assert!(text(&gone).contains("没有找到"), "{gone}");
    // A button of an earlier result: the document is gone.
    let button = found.button_texts()[0].clone();
    t.send(updates::click(&zhang, &found, &button));
    let alert = t.tg.next_call("answerCallbackQuery").await;
    assert!(
        alert.body["text"]
            .as_str()
            .unwrap_or_default()
            .contains("已从政策文件库删除"),
        "{alert}"
    );
    t.stop().await;
}

async fn policy_commands_are_in_help_and_the_menu(engine: Engine) {
    let (t, zhang, _zhao) = start(engine).await;
    let help = t.ask(&zhang, "/help").await;
    for cmd in ["/policy ", "/policy_add", "/policy_del"] {
        assert!(text(&help).contains(cmd), "{cmd}: {help}");
    }
    let en = t.ask(&zhang, "/lang en").await;
    assert!(en.is_ok());
    let found = t.ask(&zhang, "/policy 低保").await;
    assert!(
        text(&found).contains("No policy document matches"),
        "{found}"
    );
    t.stop().await;
}
