//! The workday calendar: which days are rest days. Jobs that concern cadres' days (the log
//! reminder) skip rest days and run on make-up working days (调休上班), and the presence
//! record marks rest days. The default is China's statutory holidays (`data/cn-holidays.toml`,
//! from the State Council's notices); an operator can replace it and add single days.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::BTreeSet;

/// The shipped default: China's statutory holidays and make-up working days.
pub const CN_HOLIDAYS: &str = include_str!("../data/cn-holidays.toml");

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    rest: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
}

/// The format of a calendar file, and of the `[calendar]` additions.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Lists {
    rest_days: Vec<String>,
    workdays: Vec<String>,
}

impl Calendar {
    /// A calendar file's text (the format of `data/cn-holidays.toml`).
    pub fn parse(text: &str) -> Result<Calendar, String> {
        let lists: Lists = toml::from_str(text).map_err(|e| e.message().replace('\n', " "))?;
        let mut calendar = Calendar::default();
        calendar.add(&lists.rest_days, &lists.workdays)?;
        Ok(calendar)
    }

    /// Adds days (`YYYY-MM-DD`) or inclusive ranges (`YYYY-MM-DD..YYYY-MM-DD`). A day
    /// listed as both is an error: the calendar would contradict itself.
    pub fn add(&mut self, rest_days: &[String], workdays: &[String]) -> Result<(), String> {
        for entry in rest_days {
            let days = expand(entry)?;
            self.work.retain(|d| !days.contains(d));
            self.rest.extend(days);
        }
        for entry in workdays {
            for day in expand(entry)? {
                if rest_days
                    .iter()
                    .any(|r| expand(r).is_ok_and(|v| v.contains(&day)))
                {
                    return Err(format!("{day} is listed both as a rest day and a workday"));
                }
                self.rest.remove(&day);
                self.work.insert(day);
            }
        }
        Ok(())
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
