//! The roster file: `name,phone,roles,unit,topics`. The whole file is validated before
//! anything is imported, and every bad row is reported with its line number.

use crate::phone;
use crate::roles::{Role, Roles};
use crate::units::UnitPath;
use std::collections::HashMap;
use std::fmt;

pub const COLUMNS: [&str; 5] = ["name", "phone", "roles", "unit", "topics"];

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
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the header must be `name,phone,roles,unit,topics` (missing column `{0}`)")]
    MissingColumn(&'static str),
    #[error("unreadable CSV: {0}")]
    Csv(String),
    #[error("name is empty")]
    EmptyName,
    #[error("phone: {0}")]
    Phone(#[from] phone::PhoneError),
    #[error("phone {phone} appears again (first on line {first_line})")]
    DuplicatePhone { phone: String, first_line: u64 },
    #[error("roles are empty (use cadre, approver, tutor, reporter, admin separated by `;`)")]
    NoRoles,
    #[error("unknown role `{0}` (use cadre, approver, tutor, reporter, admin)")]
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

impl fmt::Display for RosterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Parses and validates a whole roster. Either every row is good, or every error is returned.
pub fn parse(text: &str, known_topics: &[String]) -> Result<Vec<RosterEntry>, Vec<RosterError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());

    let header_error = |problem| Err(vec![RosterError { line: 1, problem }]);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return header_error(Problem::Csv(e.to_string())),
    };
    let mut index = [0usize; 5];
    for (slot, column) in index.iter_mut().zip(COLUMNS) {
        match headers.iter().position(|h| h.eq_ignore_ascii_case(column)) {
            Some(i) => *slot = i,
            None => return header_error(Problem::MissingColumn(column)),
        }
    }

    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RosterError {
                    line,
                    problem: Problem::Csv(e.to_string()),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |i: usize| record.get(index[i]).unwrap_or("");
        match parse_row(
            line,
            [field(0), field(1), field(2), field(3), field(4)],
            known_topics,
        ) {
            Ok(entry) => {
                if let Some(&first_line) = seen.get(&entry.phone) {
                    errors.push(RosterError {
                        line,
                        problem: Problem::DuplicatePhone {
                            phone: entry.phone,
                            first_line,
                        },
                    });
                } else {
                    seen.insert(entry.phone.clone(), line);
                    entries.push(entry);
                }
            }
            Err(mut row_errors) => errors.append(&mut row_errors),
        }
    }
    if errors.is_empty() && entries.is_empty() {
        errors.push(RosterError {
            line: 1,
            problem: Problem::Empty,
        });
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

fn parse_row(
    line: u64,
    [name, phone, roles, unit, topics]: [&str; 5],
    known_topics: &[String],
) -> Result<RosterEntry, Vec<RosterError>> {
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
    let mut units = unit.split(';').map(str::trim).filter(|u| !u.is_empty());
    let unit = UnitPath::parse(units.next().unwrap_or_default())
        .map_err(|e| problems.push(e.into()))
        .ok();
    let mut report_units: Vec<UnitPath> = units
        .filter_map(|u| UnitPath::parse(u).map_err(|e| problems.push(e.into())).ok())
        .collect();
    report_units.retain(|u| Some(u) != unit.as_ref());
    report_units.dedup();
    let topics: Vec<String> = topics
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
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
            line,
            name: name.to_string(),
            phone,
            roles,
            unit,
            topics,
            report_units,
        }),
        _ => Err(problems
            .into_iter()
            .map(|problem| RosterError { line, problem })
            .collect()),
    }
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
    fn unknown_topic_lists_the_configured_ones() {
        let text = "name,phone,roles,unit,topics\n钱七,13800000005,tutor,贵阳市,养猪\n";
        let err = &parse(text, &topics()).unwrap_err()[0];
        assert_eq!(
            err.to_string(),
            "line 2: unknown topic `养猪` (configured topics: 农业技术;产业发展)"
        );
    }
}
