//! The roster file: `name,phone,roles,unit,topics` (or the Chinese headings 姓名, 手机号,
//! 角色, 单位, 辅导领域), as CSV text or as a spreadsheet's rows. The whole file is
//! validated before anything is imported, and every bad row is reported with its line
//! number and, where one cell is at fault, its column.

use crate::phone;
use crate::roles::{Role, Roles};
use crate::units::UnitPath;
use std::collections::HashMap;
use std::fmt;

pub const COLUMNS: [&str; 5] = ["name", "phone", "roles", "unit", "topics"];

/// The same columns as a Chinese office's spreadsheet heads them.
pub const ZH_COLUMNS: [&[&str]; 5] = [
    &["姓名"],
    &["手机号", "手机号码", "手机", "电话"],
    &["角色"],
    &["单位"],
    &["辅导领域", "领域"],
];

/// The parts of a `;`-separated list (also `；` and `、`, as Chinese text separates them).
pub fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', '；', '、'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// The spreadsheet letter of a 0-based column: A, B, … Z, AA, …
pub fn column_letter(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub line: u64,
    pub name: String,
    /// Normalised 11-digit mobile number: the person's identity.
    pub phone: String,
    pub roles: Roles,
    pub unit: UnitPath,
    pub topics: Vec<String>,
    /// A reporter's further units (`unit` holds `;`-separated paths; the first is his).
    pub report_units: Vec<UnitPath>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterError {
    pub line: u64,
    /// The 0-based column of the cell at fault, where it is one cell.
    pub column: Option<usize>,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(
        "the header must be `name,phone,roles,unit,topics` or `姓名,手机号,角色,单位,辅导领域` (missing column `{0}`)"
    )]
    MissingColumn(&'static str),
    #[error("unreadable CSV: {0}")]
    Csv(String),
    #[error("name is empty")]
    EmptyName,
    #[error("phone: {0}")]
    Phone(#[from] phone::PhoneError),
    #[error("phone {phone} appears again (first on line {first_line})")]
    DuplicatePhone { phone: String, first_line: u64 },
    #[error(
        "roles are empty (use cadre, approver, tutor, reporter, admin or 驻村干部, 审批人, 辅导师, 信息员, 管理员, separated by `;`)"
    )]
    NoRoles,
    #[error(
        "unknown role `{0}` (use cadre, approver, tutor, reporter, admin or 驻村干部, 审批人, 辅导师, 信息员, 管理员)"
    )]
    UnknownRole(String),
    #[error("unit: {0}")]
    Unit(#[from] crate::units::UnitPathError),
    #[error("a tutor needs at least one topic")]
    TutorWithoutTopics,
    #[error("topics are only for tutors")]
    TopicsWithoutTutor,
    #[error("unknown topic `{topic}` (configured topics: {known})")]
    UnknownTopic { topic: String, known: String },
    #[error("several units (`;`-separated) are only for reporters")]
    UnitsWithoutReporter,
    #[error("the file has no people")]
    Empty,
}

impl Problem {
    /// Which of the five columns the problem is in, where it is in one.
    fn field(&self) -> Option<usize> {
        match self {
            Problem::EmptyName => Some(0),
            Problem::Phone(_) | Problem::DuplicatePhone { .. } => Some(1),
            Problem::NoRoles | Problem::UnknownRole(_) => Some(2),
            Problem::Unit(_) | Problem::UnitsWithoutReporter => Some(3),
            Problem::TutorWithoutTopics
            | Problem::TopicsWithoutTutor
            | Problem::UnknownTopic { .. } => Some(4),
            Problem::MissingColumn(_) | Problem::Csv(_) | Problem::Empty => None,
        }
    }
}

impl RosterError {
    fn new(line: u64, problem: Problem) -> RosterError {
        RosterError {
            line,
            column: None,
            problem,
        }
    }
}

impl fmt::Display for RosterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)?;
        if let Some(column) = self.column {
            write!(f, " (column {})", column_letter(column))?;
        }
        Ok(())
    }
}

/// Parses and validates a whole roster from CSV text. Either every row is good, or every
/// error is returned.
pub fn parse(text: &str, known_topics: &[String]) -> Result<Vec<RosterEntry>, Vec<RosterError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => rows.push((
                r.position().map(|p| p.line()).unwrap_or(0),
                r.iter().map(str::to_string).collect(),
            )),
            Err(e) => errors.push(RosterError::new(
                e.position().map(|p| p.line()).unwrap_or(0),
                Problem::Csv(e.to_string()),
            )),
        }
    }
    match parse_rows(rows, known_topics) {
        Err(more) if !errors.is_empty() && more.iter().all(|e| e.problem == Problem::Empty) => {
            Err(errors)
        }
        Err(mut more) => {
            errors.append(&mut more);
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
        Ok(_) if !errors.is_empty() => Err(errors),
        Ok(entries) => Ok(entries),
    }
}

/// Parses and validates a whole roster from rows of cells (the first row the headings),
/// each with the line (spreadsheet row) it is on.
pub fn parse_rows(
    rows: Vec<(u64, Vec<String>)>,
    known_topics: &[String],
) -> Result<Vec<RosterEntry>, Vec<RosterError>> {
    let mut rows = rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let Some((header_line, headers)) = rows.next() else {
        return Err(vec![RosterError::new(1, Problem::Empty)]);
    };
    let mut index = [0usize; 5];
    for (i, slot) in index.iter_mut().enumerate() {
        let named = |h: &String| {
            let h = h.trim().trim_start_matches('\u{feff}');
            h.eq_ignore_ascii_case(COLUMNS[i]) || ZH_COLUMNS[i].contains(&h)
        };
        match headers.iter().position(named) {
            Some(at) => *slot = at,
            None => {
                return Err(vec![RosterError::new(
                    header_line,
                    Problem::MissingColumn(COLUMNS[i]),
                )]);
            }
        }
    }

    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut fail = |line: u64, problem: Problem| {
        let column = problem.field().map(|f| index[f]);
        errors.push(RosterError {
            line,
            column,
            problem,
        });
    };
    for (line, cells) in rows {
        let field = |i: usize| cells.get(index[i]).map(|c| c.trim()).unwrap_or("");
        match parse_row(
            [field(0), field(1), field(2), field(3), field(4)],
            known_topics,
        ) {
            Ok(mut entry) => {
                entry.line = line;
                if let Some(&first_line) = seen.get(&entry.phone) {
                    fail(
                        line,
                        Problem::DuplicatePhone {
                            phone: entry.phone,
                            first_line,
                        },
                    );
                } else {
                    seen.insert(entry.phone.clone(), line);
                    entries.push(entry);
                }
            }
            Err(problems) => problems.into_iter().for_each(|p| fail(line, p)),
        }
    }
    if errors.is_empty() && entries.is_empty() {
        errors.push(RosterError::new(header_line, Problem::Empty));
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// One row's entry (its line filled in by the caller), or every problem it has.
fn parse_row(
    [name, phone, roles, unit, topics]: [&str; 5],
    known_topics: &[String],
) -> Result<RosterEntry, Vec<Problem>> {
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push(Problem::EmptyName);
    }
    let phone = phone::normalize(phone)
        .map_err(|e| problems.push(e.into()))
        .ok();
    let roles = match Roles::parse_list(roles) {
        Ok(r) if r.is_empty() => {
            problems.push(Problem::NoRoles);
            None
        }
        Ok(r) => Some(r),
        Err(unknown) => {
            problems.push(Problem::UnknownRole(unknown));
            None
        }
    };
    let mut units = split_list(unit);
    let unit = UnitPath::parse(units.next().unwrap_or_default())
        .map_err(|e| problems.push(e.into()))
        .ok();
    let mut report_units: Vec<UnitPath> = units
        .filter_map(|u| UnitPath::parse(u).map_err(|e| problems.push(e.into())).ok())
        .collect();
    report_units.retain(|u| Some(u) != unit.as_ref());
    report_units.dedup();
    let topics: Vec<String> = split_list(topics).map(str::to_string).collect();
    for topic in &topics {
        if !known_topics.contains(topic) {
            problems.push(Problem::UnknownTopic {
                topic: topic.clone(),
                known: known_topics.join(";"),
            });
        }
    }
    if let Some(r) = roles {
        if !report_units.is_empty() && !r.contains(Role::Reporter) {
            problems.push(Problem::UnitsWithoutReporter);
        }
        match (r.contains(Role::Tutor), topics.is_empty()) {
            (true, true) => problems.push(Problem::TutorWithoutTopics),
            (false, false) => problems.push(Problem::TopicsWithoutTutor),
            _ => {}
        }
    }
    match (phone, roles, unit) {
        (Some(phone), Some(roles), Some(unit)) if problems.is_empty() => Ok(RosterEntry {
            line: 0,
            name: name.to_string(),
            phone,
            roles,
            unit,
            topics,
            report_units,
        }),
        _ => Err(problems),
    }
}

/// Whether a caption marks a roster file for the bot (`#roster`, any case).
pub fn is_roster_caption(caption: &str) -> bool {
    caption
        .trim_start()
        .get(..7)
        .is_some_and(|tag| tag.eq_ignore_ascii_case("#roster"))
}

/// A roster file an admin sent to the bot, as it stands when he presses a button on its
/// preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub owner: i64,
    pub sent_at: chrono::DateTime<chrono::Utc>,
    /// Already imported or cancelled.
    pub done: bool,
}

/// How long a preview may be confirmed: the roster may have changed since.
pub const UPLOAD_VALID_MINUTES: i64 = 60;

/// Deactivating more than this share (%) of the people on the roster needs a second
/// confirmation: a file cut short looks like most people left.
pub const SECOND_CONFIRMATION_PERCENT: usize = 20;

/// Which confirmation a button is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    First,
    Second,
}

/// What a confirmation leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmStep {
    /// Import now.
    Apply,
    /// Ask once more, saying how many would be deactivated.
    AskAgain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    #[error("only admins import the roster")]
    NotAdmin,
    #[error("no such upload of this person")]
    Gone,
    #[error("already imported or cancelled")]
    Done,
    #[error("the preview is too old")]
    Expired,
}

/// Whether someone with these roles may import the roster.
pub fn may_import(roles: Roles) -> Result<(), UploadRefusal> {
    if roles.contains(Role::Admin) {
        Ok(())
    } else {
        Err(UploadRefusal::NotAdmin)
    }
}

/// The rule of a pressed 确认 (or 取消, with `deactivating` 0): the presser must be an admin
/// and the upload his, not done and fresh; an import that deactivates over
/// [`SECOND_CONFIRMATION_PERCENT`] % of the `active` people is asked once more.
pub fn confirm(
    upload: Option<&Upload>,
    actor: i64,
    roles: Roles,
    now: chrono::DateTime<chrono::Utc>,
    step: Confirmation,
    (deactivating, active): (usize, usize),
) -> Result<ConfirmStep, UploadRefusal> {
    may_import(roles)?;
    let upload = upload
        .filter(|u| u.owner == actor)
        .ok_or(UploadRefusal::Gone)?;
    if upload.done {
        return Err(UploadRefusal::Done);
    }
    if now - upload.sent_at > chrono::Duration::minutes(UPLOAD_VALID_MINUTES) {
        return Err(UploadRefusal::Expired);
    }
    let many = deactivating * 100 > active * SECOND_CONFIRMATION_PERCENT;
    Ok(match (many, step) {
        (true, Confirmation::First) => ConfirmStep::AskAgain,
        _ => ConfirmStep::Apply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reporter_may_report_for_several_units_and_nobody_else() {
        let text = "name,phone,roles,unit,topics
吴九,13800000009,reporter,贵阳市/乌当区;贵阳市/白云区,
张三,13800000001,cadre,贵阳市/乌当区;贵阳市/白云区,
";
        let errors = parse(text, &topics()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert_eq!(errors[0].problem, Problem::UnitsWithoutReporter);
        let ok = parse(
            &text.lines().take(2).collect::<Vec<_>>().join("\n"),
            &topics(),
        )
        .unwrap();
        assert_eq!(ok[0].unit.to_string(), "贵阳市/乌当区");
        let extra: Vec<String> = ok[0].report_units.iter().map(|u| u.to_string()).collect();
        assert_eq!(extra, ["贵阳市/白云区"]);
    }

    fn topics() -> Vec<String> {
        vec!["农业技术".into(), "产业发展".into()]
    }

    const SPEC_EXAMPLE: &str = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市/乌当区/新堡乡/谷溪村,
李四,13800000002,approver,贵阳市/乌当区/新堡乡,
王五,13800000003,approver;reporter,贵阳市/乌当区,
赵六,13800000004,approver;admin,贵阳市,
钱七,13800000005,tutor,贵阳市/乌当区,农业技术;产业发展
";

    #[test]
    fn spec_example_parses() {
        let entries = parse(SPEC_EXAMPLE, &topics()).unwrap();
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[0].name, "张三");
        assert_eq!(entries[0].line, 2);
        assert_eq!(entries[4].topics, vec!["农业技术", "产业发展"]);
        assert!(entries[2].roles.contains(Role::Reporter));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = "name,phone,roles,unit,topics
张三,12345,cadre,贵阳市/乌当区,
,13800000002,boss,贵阳市,
王五,13800000003,tutor,贵阳市,
赵六,+86 138-0000-0003,cadre,贵阳市//x,
钱七,13800000005,cadre,贵阳市,农业技术
";
        let errors = parse(text, &topics()).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 3, 4, 5, 6]);
        assert!(matches!(errors[0].problem, Problem::Phone(_)));
        assert!(matches!(errors[3].problem, Problem::TutorWithoutTopics));
        assert!(errors[0].to_string().starts_with("line 2: "));
    }

    #[test]
    fn duplicate_phone_names_the_first_line() {
        let text = "name,phone,roles,unit,topics
张三,13800000001,cadre,贵阳市,
李四,+8613800000001,cadre,贵阳市,
";
        let errors = parse(text, &topics()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].problem,
            Problem::DuplicatePhone {
                phone: "13800000001".into(),
                first_line: 2
            }
        );
    }

    #[test]
    fn header_is_checked_and_bom_and_blank_lines_are_tolerated() {
        assert_eq!(
            parse("name,phone,roles,unit\n", &topics()).unwrap_err()[0].problem,
            Problem::MissingColumn("topics")
        );
        let text = "\u{feff}name,phone,roles,unit,topics\n\n张三,13800000001,cadre,贵阳市,\n";
        assert_eq!(parse(text, &topics()).unwrap().len(), 1);
        assert_eq!(
            parse("name,phone,roles,unit,topics\n", &topics()).unwrap_err()[0].problem,
            Problem::Empty
        );
    }

    #[test]
    fn chinese_headings_and_roles_read_like_english_ones() {
        let zh = "姓名,手机号,角色,单位,辅导领域
张三,13800000001,驻村干部,贵阳市/乌当区/新堡乡/谷溪村,
李四,13800000002,审批人,贵阳市/乌当区/新堡乡,
王五,13800000003,审批人；信息员,贵阳市/乌当区,
赵六,13800000004,审批人、管理员,贵阳市,
钱七,13800000005,辅导师,贵阳市/乌当区,农业技术；产业发展
";
        assert_eq!(
            parse(zh, &topics()).unwrap(),
            parse(SPEC_EXAMPLE, &topics()).unwrap()
        );
    }

    #[test]
    fn columns_may_come_in_any_order_and_errors_name_the_cell() {
        let rows = vec![
            (
                1,
                vec![
                    "序号".into(),
                    "单位".into(),
                    "姓名".into(),
                    "角色".into(),
                    "手机号".into(),
                    "辅导领域".into(),
                ],
            ),
            (
                2,
                vec![
                    "1".into(),
                    "贵阳市".into(),
                    "张三".into(),
                    "驻村干部".into(),
                    "13800000001".into(),
                    "".into(),
                ],
            ),
            (3, vec![]),
            (
                4,
                vec![
                    "3".into(),
                    "贵阳市".into(),
                    "李四".into(),
                    "村长".into(),
                    "1380000000".into(),
                    "".into(),
                ],
            ),
        ];
        let errors = parse_rows(rows, &topics()).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with("line 4: phone: ") && shown[0].ends_with("(column E)"),
            "{shown:?}"
        );
        assert!(
            shown[1].starts_with("line 4: unknown role `村长`") && shown[1].ends_with("(column D)"),
            "{shown:?}"
        );
    }

    #[test]
    fn a_confirmation_is_the_owners_fresh_and_asks_again_over_a_fifth() {
        use chrono::{Duration, TimeZone, Utc};
        let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let admin = Roles::parse_list("admin").unwrap();
        let cadre = Roles::parse_list("cadre").unwrap();
        let up = |done| Upload {
            owner: 1,
            sent_at: t0,
            done,
        };
        let fresh = t0 + Duration::minutes(59);
        let stale = t0 + Duration::minutes(61);
        use ConfirmStep::{Apply, AskAgain};
        use Confirmation::{First, Second};
        type Case = (
            Option<Upload>,
            i64,
            Roles,
            chrono::DateTime<Utc>,
            Confirmation,
            (usize, usize),
            Result<ConfirmStep, UploadRefusal>,
        );
        let cases: [Case; 11] = [
            (Some(up(false)), 1, admin, fresh, First, (0, 100), Ok(Apply)),
            (
                Some(up(false)),
                1,
                admin,
                fresh,
                First,
                (20, 100),
                Ok(Apply),
            ),
            (
                Some(up(false)),
                1,
                admin,
                fresh,
                First,
                (21, 100),
                Ok(AskAgain),
            ),
            (
                Some(up(false)),
                1,
                admin,
                fresh,
                Second,
                (21, 100),
                Ok(Apply),
            ),
            (
                Some(up(false)),
                1,
                admin,
                fresh,
                First,
                (1, 0),
                Ok(AskAgain),
            ),
            (
                Some(up(false)),
                1,
                admin,
                fresh,
                First,
                (1, 4),
                Ok(AskAgain),
            ),
            (
                Some(up(false)),
                1,
                cadre,
                fresh,
                First,
                (0, 100),
                Err(UploadRefusal::NotAdmin),
            ),
            (
                Some(up(false)),
                2,
                admin,
                fresh,
                First,
                (0, 100),
                Err(UploadRefusal::Gone),
            ),
            (
                None,
                1,
                admin,
                fresh,
                First,
                (0, 100),
                Err(UploadRefusal::Gone),
            ),
            (
                Some(up(true)),
                1,
                admin,
                fresh,
                Second,
                (0, 100),
                Err(UploadRefusal::Done),
            ),
            (
                Some(up(false)),
                1,
                admin,
                stale,
                First,
                (0, 100),
                Err(UploadRefusal::Expired),
            ),
        ];
        for (i, (upload, actor, roles, now, step, counts, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                confirm(upload.as_ref(), actor, roles, now, step, counts),
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn column_letters_run_as_a_spreadsheet_names_them() {
        let cases = [
            (0, "A"),
            (4, "E"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
            (702, "AAA"),
        ];
        for (i, letters) in cases {
            assert_eq!(column_letter(i), letters, "{i}");
        }
    }

    #[test]
    fn unknown_topic_lists_the_configured_ones() {
        let text = "name,phone,roles,unit,topics\n钱七,13800000005,tutor,贵阳市,养猪\n";
        let err = &parse(text, &topics()).unwrap_err()[0];
        assert_eq!(
            err.to_string(),
            "line 2: unknown topic `养猪` (configured topics: 农业技术;产业发展) (column E)"
        );
    }
}
