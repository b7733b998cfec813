//! The policy library's rules: the `#policy TITLE | ISSUER | YYYY-MM-DD` caption, the size a
//! document may have, and who may add or remove documents.

use crate::{Role, Roles};
use chrono::NaiveDate;

/// The cloud Bot API's download limit (`getFile`); a self-hosted Bot API server lifts it
/// (then `logs.max_file_mb` is raised, which bounds policy documents too).
pub const MAX_DOWNLOAD_BYTES: u64 = 20 * 1024 * 1024;
/// Titles and issuers longer than this are refused (they are shown in lists and buttons).
pub const MAX_TITLE_CHARS: usize = 200;
/// `/policy` alone lists this many documents, newest first.
pub const NEWEST: usize = 10;
/// `/policy KEYWORDS` shows at most this many documents.
pub const RESULTS: usize = 5;

/// What a caption (or the dialogue's answer) says about a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    pub title: String,
    pub issuer: Option<String>,
    pub issued_on: Option<NaiveDate>,
}

/// Why a description was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescriptionError {
    NoTitle,
    TooLong,
    /// The third field is not a date `YYYY-MM-DD`.
    BadDate(String),
}

/// Why a document cannot be added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefusal {
    /// Only admins manage the library.
    NotAdmin,
    /// `/policy_del N` of a number that is not in the library.
    NotFound(i64),
}

/// Whether the caption asks to add a policy document (`#policy`, case-insensitive).
pub fn is_policy_caption(caption: &str) -> bool {
    caption
        .trim_start()
        .get(..7)
        .is_some_and(|tag| tag.eq_ignore_ascii_case("#policy"))
}

/// Parses `#policy TITLE [| ISSUER | YYYY-MM-DD]`; `None` if the caption is not `#policy`.
pub fn parse_caption(caption: &str) -> Option<Result<Description, DescriptionError>> {
    if !is_policy_caption(caption) {
        return None;
    }
    Some(parse_description(&caption.trim_start()[7..]))
}

/// Parses `TITLE [| ISSUER | YYYY-MM-DD]` (full-width ｜ works too); the date may come
/// second when there is no issuer.
pub fn parse_description(text: &str) -> Result<Description, DescriptionError> {
    let fields: Vec<&str> = text
        .split(['|', '｜'])
        .map(|f| f.trim().trim_matches(['《', '》']).trim())
        .collect();
    let title = fields.first().copied().unwrap_or_default();
    if title.is_empty() {
        return Err(DescriptionError::NoTitle);
    }
    let mut issuer = None;
    let mut issued_on = None;
    for (i, f) in fields.iter().enumerate().skip(1) {
        if f.is_empty() {
            continue;
        }
        match NaiveDate::parse_from_str(f, "%Y-%m-%d") {
            Ok(d) => issued_on = Some(d),
            Err(_) if i == 1 && !looks_like_date(f) => issuer = Some(f.to_string()),
            Err(_) => return Err(DescriptionError::BadDate(f.to_string())),
        }
    }
    let long = |s: &str| s.chars().count() > MAX_TITLE_CHARS;
    if long(title) || issuer.as_deref().is_some_and(long) {
        return Err(DescriptionError::TooLong);
    }
    Ok(Description {
        title: title.to_string(),
        issuer,
        issued_on,
    })
}

fn looks_like_date(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// A document's title from its file name, when nothing else names it.
pub fn title_from_file_name(name: &str) -> Option<String> {
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    let stem = stem.trim().trim_matches(['《', '》']);
    (!stem.is_empty()).then(|| stem.chars().take(MAX_TITLE_CHARS).collect())
}

/// Whether someone with these roles may add or remove documents.
pub fn may_manage(roles: Roles) -> Result<(), PolicyRefusal> {
    if roles.contains(Role::Admin) {
        Ok(())
    } else {
        Err(PolicyRefusal::NotAdmin)
    }
}

/// Whether a file of `bytes` can be downloaded when the limit is `max_mb` megabytes.
pub fn within_download_limit(bytes: u64, max_mb: u64) -> bool {
    bytes <= max_mb.saturating_mul(1024 * 1024)
}

/// A description of a document read off its text, for a bulk import without a sidecar
/// row: the title is its first line when that is title-like (a few to 60 characters, not
/// a sentence), else `stem` (the file name); the date is the last 成文日期 (`2021年6月30日`)
/// in the text, and the issuer the short line just before it (the 落款), as official
/// documents end.
pub fn describe_from_text(text: &str, stem: &str) -> Description {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // A PDF's lines may run together: the title then ends where the first article or
    // chapter begins.
    let first = lines.first().map(|l| {
        ["第一章", "第一条", "一、"]
            .iter()
            .filter_map(|m| l.find(m))
            .min()
            .map_or(*l, |at| l[..at].trim())
    });
    let title = first
        .map(|l| l.trim_matches(['《', '》']))
        .filter(|l| (4..=60).contains(&l.chars().count()) && !l.ends_with(['。', '；', '，']))
        .unwrap_or(stem);
    let mut issuer = None;
    let mut issued_on = None;
    for (i, line) in lines.iter().enumerate().skip(1).rev() {
        if let Some(date) = chinese_date(line) {
            issued_on = Some(date);
            issuer = lines
                .get(i - 1)
                .filter(|l| {
                    i > 1
                        && (2..=30).contains(&l.chars().count())
                        && !l.contains(['。', '：', ':', '，', '；'])
                })
                .map(|l| l.to_string());
            break;
        }
    }
    Description {
        title: title.chars().take(MAX_TITLE_CHARS).collect(),
        issuer,
        issued_on,
    }
}

/// A line that is a date alone, as a document's 成文日期: `2021年6月30日` (digits, ASCII or
/// full-width, blanks allowed between the parts).
fn chinese_date(line: &str) -> Option<NaiveDate> {
    let digits: String = line
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    let rest = digits.strip_suffix('日')?;
    let (y, rest) = rest.split_once('年')?;
    let (m, d) = rest.split_once('月')?;
    let num = |s: &str| {
        (s.len() <= 4 && !s.is_empty())
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_title_issuer_and_date_are_read_off_its_text() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let doc = "贵州省农村居民最低生活保障工作规程\n第一条 为规范农村居民最低生活保障工作，制定本规程。\n贵州省民政厅\n2021年6月30日\n";
        let cases = [
            (
                doc,
                "规程",
                "贵州省农村居民最低生活保障工作规程",
                Some("贵州省民政厅"),
                d("2021-06-30"),
            ),
            (
                "《梨树锈病防治技术》\n防治方法：喷施三唑酮。\n２０２４年３月５日",
                "x",
                "梨树锈病防治技术",
                None,
                d("2024-03-05"),
            ),
            (
                "第一条 为规范林地流转行为，保护当事人的合法权益，制定本条例，自公布之日起施行。",
                "林地流转条例",
                "林地流转条例",
                None,
                None,
            ),
            ("", "扫描件", "扫描件", None, None),
            (
                "贵州省林地管理办法第一条 为加强林地管理，制定本办法。",
                "x",
                "贵州省林地管理办法",
                None,
                None,
            ),
            ("通知\n2021年2月30日", "通知", "通知", None, None),
        ];
        for (text, stem, title, issuer, date) in cases {
            let got = describe_from_text(text, stem);
            assert_eq!(got.title, title, "{text}");
            assert_eq!(got.issuer.as_deref(), issuer, "{text}");
            assert_eq!(got.issued_on, date, "{text}");
        }
    }

    fn d(title: &str, issuer: Option<&str>, date: Option<(i32, u32, u32)>) -> Description {
        Description {
            title: title.into(),
            issuer: issuer.map(Into::into),
            issued_on: date.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
        }
    }

    #[test]
    fn captions_give_title_issuer_and_date() {
        let cases: Vec<(&str, Option<Result<Description, DescriptionError>>)> = vec![
            (
                "#policy 梨树锈病防治技术",
                Some(Ok(d("梨树锈病防治技术", None, None))),
            ),
            (
                "#policy 《贵州省农村居民最低生活保障工作规程》 | 贵州省民政厅 | 2021-06-30",
                Some(Ok(d(
                    "贵州省农村居民最低生活保障工作规程",
                    Some("贵州省民政厅"),
                    Some((2021, 6, 30)),
                ))),
            ),
            (
                "#POLICY 办法｜省林业局",
                Some(Ok(d("办法", Some("省林业局"), None))),
            ),
            (
                "#policy 办法 | | 2020-01-02",
                Some(Ok(d("办法", None, Some((2020, 1, 2))))),
            ),
            (
                "#policy 办法 | 2020-01-02",
                Some(Ok(d("办法", None, Some((2020, 1, 2))))),
            ),
            ("#policy", Some(Err(DescriptionError::NoTitle))),
            ("#policy  | 省民政厅", Some(Err(DescriptionError::NoTitle))),
            (
                "#policy 办法 | 省民政厅 | 2021年6月",
                Some(Err(DescriptionError::BadDate("2021年6月".into()))),
            ),
            (
                "#policy 办法 | 2021-13-01",
                Some(Err(DescriptionError::BadDate("2021-13-01".into()))),
            ),
            ("今天的工作", None),
            ("#pol", None),
            ("", None),
        ];
        for (caption, want) in cases {
            assert_eq!(parse_caption(caption), want, "{caption}");
        }
        let long = format!("#policy {}", "长".repeat(MAX_TITLE_CHARS + 1));
        assert_eq!(parse_caption(&long), Some(Err(DescriptionError::TooLong)));
    }

    #[test]
    fn only_admins_manage_and_big_files_cannot_be_downloaded() {
        assert_eq!(may_manage(Roles::parse_list("admin").unwrap()), Ok(()));
        assert_eq!(
            may_manage(Roles::parse_list("cadre;tutor").unwrap()),
            Err(PolicyRefusal::NotAdmin)
        );
        assert!(within_download_limit(MAX_DOWNLOAD_BYTES, 20));
        assert!(!within_download_limit(MAX_DOWNLOAD_BYTES + 1, 20));
        assert!(within_download_limit(MAX_DOWNLOAD_BYTES + 1, 2000));
    }

    #[test]
    fn file_names_make_titles() {
        assert_eq!(
            title_from_file_name("《梨树锈病防治技术》.pdf").as_deref(),
            Some("梨树锈病防治技术")
        );
        assert_eq!(title_from_file_name("notes").as_deref(), Some("notes"));
        assert_eq!(title_from_file_name(".pdf").as_deref(), Some(".pdf"));
        assert_eq!(title_from_file_name("  .txt"), None);
    }
}
