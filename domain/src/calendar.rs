//! The workday calendar: which days are rest days. Jobs that concern cadres' days (the log
//! reminder) skip rest days and run on make-up working days (调休上班), and the presence
//! record marks rest days. The default is China's statutory holidays (`data/cn-holidays.toml`,
//! from the State Council's notices); an operator can replace it and add single days, and
//! import a year (`zhucun calendar import`: holiday-cn JSON or the shipped TOML) once the
//! notice is out. A year without holiday data falls back to Saturdays and Sundays; the
//! calendar knows which years it has ([`Calendar::covers`]), so the operator can be told.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::BTreeSet;

/// The shipped default: China's statutory holidays and make-up working days.
pub const CN_HOLIDAYS: &str = include_str!("../data/cn-holidays.toml");

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    rest: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
    /// The years the holiday data covers (the file's, and imported ones).
    years: BTreeSet<i32>,
    /// The operator's single days (`[calendar] rest_days`, `workdays`): they win over a
    /// year imported later, so they are kept apart.
    added_rest: BTreeSet<NaiveDate>,
    added_work: BTreeSet<NaiveDate>,
}

/// The format of a calendar file, and of the `[calendar]` additions.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Lists {
    /// The years the file covers; by default those of its days.
    years: Vec<i32>,
    rest_days: Vec<String>,
    workdays: Vec<String>,
}

/// One year's holiday data, as imported: its rest days and make-up working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearDays {
    pub year: i32,
    pub rest: BTreeSet<NaiveDate>,
    pub work: BTreeSet<NaiveDate>,
}

/// holiday-cn's JSON (github.com/NateScarlet/holiday-cn): one year, its days with
/// `isOffDay` (true: a holiday, false: a make-up working day).
#[derive(Deserialize)]
struct HolidayCn {
    year: i32,
    days: Vec<HolidayCnDay>,
}

#[derive(Deserialize)]
struct HolidayCnDay {
    date: String,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

impl Calendar {
    /// A calendar file's text (the format of `data/cn-holidays.toml`).
    pub fn parse(text: &str) -> Result<Calendar, String> {
        let mut calendar = Calendar::default();
        for year in parse_toml(text)? {
            calendar.years.insert(year.year);
            calendar.rest.extend(year.rest);
            calendar.work.extend(year.work);
        }
        Ok(calendar)
    }

    /// Adds days (`YYYY-MM-DD`) or inclusive ranges (`YYYY-MM-DD..YYYY-MM-DD`). A day
    /// listed as both is an error: the calendar would contradict itself.
    pub fn add(&mut self, rest_days: &[String], workdays: &[String]) -> Result<(), String> {
        for entry in rest_days {
            self.added_rest.extend(expand(entry)?);
        }
        for entry in workdays {
            for day in expand(entry)? {
                if self.added_rest.contains(&day) {
                    return Err(format!("{day} is listed both as a rest day and a workday"));
                }
                self.added_work.insert(day);
            }
        }
        self.apply_added();
        Ok(())
    }

    fn apply_added(&mut self) {
        for day in &self.added_rest {
            self.work.remove(day);
            self.rest.insert(*day);
        }
        for day in &self.added_work {
            self.rest.remove(day);
            self.work.insert(*day);
        }
    }

    /// This calendar with `years` imported: each replaces what the calendar had for that
    /// year; the operator's single days still win.
    pub fn with_years(&self, years: &[YearDays]) -> Calendar {
        let mut c = self.clone();
        for y in years {
            c.rest.retain(|d| d.year() != y.year);
            c.work.retain(|d| d.year() != y.year);
            c.rest.extend(&y.rest);
            c.work.extend(&y.work);
            c.years.insert(y.year);
        }
        c.apply_added();
        c
    }

    /// Whether the calendar has holiday data for `year` (else its rest days are only
    /// Saturdays and Sundays).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The years without holiday data that matter on `today`: this year, and from
    /// 1 December the next one (its notice usually comes in November).
    pub fn missing_years(&self, today: NaiveDate) -> Vec<i32> {
        let mut years = vec![today.year()];
        if today.month() == 12 {
            years.push(today.year() + 1);
        }
        years.retain(|y| !self.covers(*y));
        years
    }

    /// Whether `day` is a rest day: a listed holiday, or a weekend day that is not a
    /// make-up working day.
    pub fn is_rest_day(&self, day: NaiveDate) -> bool {
        if self.work.contains(&day) {
            return false;
        }
        self.rest.contains(&day) || matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    pub fn is_workday(&self, day: NaiveDate) -> bool {
        !self.is_rest_day(day)
    }
}

/// The years of a calendar file in the shipped TOML format.
fn parse_toml(text: &str) -> Result<Vec<YearDays>, String> {
    let lists: Lists = toml::from_str(text).map_err(|e| e.message().replace('\n', " "))?;
    let mut years: std::collections::BTreeMap<i32, YearDays> = lists
        .years
        .iter()
        .map(|&year| {
            (
                year,
                YearDays {
                    year,
                    ..YearDays::default()
                },
            )
        })
        .collect();
    let mut rest = BTreeSet::new();
    for entry in &lists.rest_days {
        rest.extend(expand(entry)?);
    }
    for day in &rest {
        let year = years.entry(day.year()).or_insert_with(|| YearDays {
            year: day.year(),
            ..YearDays::default()
        });
        year.rest.insert(*day);
    }
    for entry in &lists.workdays {
        for day in expand(entry)? {
            if rest.contains(&day) {
                return Err(format!("{day} is listed both as a rest day and a workday"));
            }
            years
                .entry(day.year())
                .or_insert_with(|| YearDays {
                    year: day.year(),
                    ..YearDays::default()
                })
                .work
                .insert(day);
        }
    }
    Ok(years.into_values().collect())
}

/// The years of a file to import: holiday-cn's JSON (one year) or the shipped TOML
/// format (the years it covers). Every day must be a date of its year, none both a rest
/// day and a workday; the years must be plausible (2000–2100).
pub fn parse_import(text: &str) -> Result<Vec<YearDays>, String> {
    let text = text.trim_start_matches('\u{feff}');
    let years = if text.trim_start().starts_with('{') {
        let cn: HolidayCn =
            serde_json::from_str(text).map_err(|e| format!("not holiday-cn JSON ({e})"))?;
        let mut year = YearDays {
            year: cn.year,
            ..YearDays::default()
        };
        for d in &cn.days {
            let day = NaiveDate::parse_from_str(d.date.trim(), "%Y-%m-%d")
                .map_err(|_| format!("`{}` is not a date (YYYY-MM-DD)", d.date))?;
            if day.year() != cn.year {
                return Err(format!("{day} is not in {}", cn.year));
            }
            let (this, other) = match d.is_off_day {
                true => (&mut year.rest, &year.work),
                false => (&mut year.work, &year.rest),
            };
            if other.contains(&day) {
                return Err(format!("{day} is listed both as a rest day and a workday"));
            }
            this.insert(day);
        }
        vec![year]
    } else {
        parse_toml(text).map_err(|e| format!("calendar TOML: {e}"))?
    };
    if years.is_empty() {
        return Err("the file has no days".into());
    }
    if let Some(y) = years.iter().find(|y| !(2000..=2100).contains(&y.year)) {
        return Err(format!("{} is not a plausible year", y.year));
    }
    Ok(years)
}

/// The days of one entry; a range holds at most a year, so a typo cannot make millions.
fn expand(entry: &str) -> Result<Vec<NaiveDate>, String> {
    let date = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| format!("`{}` is not a date (YYYY-MM-DD)", s.trim()))
    };
    match entry.split_once("..") {
        None => Ok(vec![date(entry)?]),
        Some((from, to)) => {
            let (from, to) = (date(from)?, date(to)?);
            let days = (to - from).num_days();
            if !(0..=366).contains(&days) {
                return Err(format!("`{entry}`: a range runs forward, at most a year"));
            }
            Ok(from.iter_days().take(days as usize + 1).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_shipped_calendar_knows_2026() {
        let c = Calendar::parse(CN_HOLIDAYS).unwrap();
        let cases = [
            ("2026-01-01", true, "元旦, a Thursday"),
            ("2026-01-04", false, "元旦's make-up Sunday"),
            ("2026-01-05", false, "an ordinary Monday"),
            ("2026-01-10", true, "an ordinary Saturday"),
            ("2026-02-14", false, "春节's make-up Saturday"),
            ("2026-02-16", true, "春节, a Monday"),
            ("2026-02-23", true, "the last day of 春节"),
            ("2026-02-24", false, "the Tuesday after 春节"),
            ("2026-02-28", false, "春节's second make-up Saturday"),
            ("2026-04-06", true, "清明节's Monday"),
            ("2026-05-05", true, "劳动节's Tuesday"),
            ("2026-05-09", false, "劳动节's make-up Saturday"),
            ("2026-06-19", true, "端午节's Friday"),
            ("2026-09-20", false, "国庆节's make-up Sunday"),
            ("2026-09-25", true, "中秋节's Friday"),
            ("2026-10-07", true, "the last day of 国庆节"),
            ("2026-10-08", false, "the Thursday after 国庆节"),
            ("2026-10-10", false, "国庆节's make-up Saturday"),
            ("2026-12-01", false, "today, a Tuesday"),
        ];
        for (day, rest, what) in cases {
            assert_eq!(c.is_rest_day(d(day)), rest, "{day}: {what}");
        }
    }

    #[test]
    fn an_operator_adds_days_over_the_default() {
        let mut c = Calendar::parse(CN_HOLIDAYS).unwrap();
        c.add(&["2026-12-01".into()], &["2026-10-03".into()])
            .unwrap();
        assert!(c.is_rest_day(d("2026-12-01")));
        assert!(
            c.is_workday(d("2026-10-03")),
            "a listed holiday made a workday"
        );
    }

    /// holiday-cn's file for a made-up year (test data, not a State Council notice).
    const HOLIDAY_CN: &str = r#"{
        "$schema": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json",
        "year": 2031,
        "papers": [],
        "days": [
            {"name": "元旦", "date": "2031-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2031-01-02", "isOffDay": true},
            {"name": "元旦", "date": "2031-01-04", "isOffDay": false}
        ]
    }"#;

    #[test]
    fn holiday_cn_json_and_the_shipped_toml_import() {
        let years = parse_import(HOLIDAY_CN).unwrap();
        assert_eq!(years.len(), 1);
        assert_eq!(years[0].year, 2031);
        assert_eq!(years[0].rest, [d("2031-01-01"), d("2031-01-02")].into());
        assert_eq!(years[0].work, [d("2031-01-04")].into());
        let shipped = parse_import(CN_HOLIDAYS).unwrap();
        assert_eq!(shipped.iter().map(|y| y.year).collect::<Vec<_>>(), [2026]);
        assert_eq!(shipped[0].rest.len(), 33);
        assert_eq!(shipped[0].work.len(), 6);
    }

    #[test]
    fn an_imported_year_replaces_that_year_and_the_operators_days_still_win() {
        let mut c = Calendar::parse(CN_HOLIDAYS).unwrap();
        c.add(&["2031-01-06".into()], &["2031-01-02".into()])
            .unwrap();
        assert!(c.covers(2026) && !c.covers(2031));
        // Without data, 2031 is Monday to Friday: 元旦 is a working Wednesday.
        assert!(c.is_workday(d("2031-01-01")));
        let c = c.with_years(&parse_import(HOLIDAY_CN).unwrap());
        assert!(c.covers(2031));
        assert!(c.is_rest_day(d("2031-01-01")), "imported holiday");
        assert!(c.is_workday(d("2031-01-04")), "imported make-up Saturday");
        assert!(c.is_workday(d("2031-01-02")), "the operator's workday wins");
        assert!(
            c.is_rest_day(d("2031-01-06")),
            "the operator's rest day stays"
        );
        assert!(c.is_rest_day(d("2026-10-01")), "other years untouched");
        // Importing a year again replaces it rather than adding to it.
        let again = YearDays {
            year: 2026,
            rest: [d("2026-12-25")].into(),
            work: BTreeSet::new(),
        };
        let c = c.with_years(&[again]);
        assert!(c.is_workday(d("2026-10-08")) && c.is_workday(d("2026-10-01")));
        assert!(c.is_rest_day(d("2026-12-25")));
    }

    #[test]
    fn the_missing_years_are_this_one_and_from_december_the_next() {
        let c = Calendar::parse(CN_HOLIDAYS).unwrap();
        let cases: [(&str, &[i32]); 5] = [
            ("2026-11-30", &[]),
            ("2026-12-01", &[2027]),
            ("2026-12-31", &[2027]),
            ("2027-01-04", &[2027]),
            ("2027-12-06", &[2027, 2028]),
        ];
        for (today, missing) in cases {
            assert_eq!(c.missing_years(d(today)), missing, "{today}");
        }
        let next = YearDays {
            year: 2027,
            ..YearDays::default()
        };
        assert_eq!(
            c.with_years(&[next]).missing_years(d("2026-12-07")),
            Vec::<i32>::new()
        );
    }

    #[test]
    fn bad_import_files_are_refused_with_the_reason() {
        let cases = [
            (
                r#"{"year": 2031, "days": [{"date": "2030-12-31", "isOffDay": true}]}"#,
                "not in 2031",
            ),
            (
                r#"{"year": 2031, "days": [{"date": "2031-02-30", "isOffDay": true}]}"#,
                "not a date",
            ),
            (
                r#"{"year": 2031, "days": [{"date": "2031-01-01", "isOffDay": true}, {"date": "2031-01-01", "isOffDay": false}]}"#,
                "both",
            ),
            (r#"{"year": 2031}"#, "holiday-cn"),
            (r#"{"year": 1031, "days": []}"#, "plausible"),
            ("[", "calendar TOML"),
            ("rest_days = [\"2031-13-01\"]", "2031-13-01"),
            ("", "no days"),
        ];
        for (text, needle) in cases {
            let err = parse_import(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry() {
        let cases = [
            ("rest_days = [\"2026-13-01\"]", "2026-13-01"),
            ("rest_days = [\"2026-12-05..2026-12-01\"]", "range"),
            ("rest_days = [\"2026-01-01..2030-01-01\"]", "range"),
            (
                "rest_days = [\"2026-12-01\"]\nworkdays = [\"2026-12-01\"]",
                "both",
            ),
            ("holidays = []", "unknown field"),
        ];
        for (text, needle) in cases {
            let err = Calendar::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
