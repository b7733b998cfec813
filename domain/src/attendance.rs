//! Attendance counting for the monthly stationing subsidy.
//!
//! Money depends on these numbers, so every rule here is a plain function over dates
//! that the caller has already converted to the configured time zone.

use std::collections::BTreeSet;

use crate::calendar::Calendar;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

/// The calendar day `at` falls on in the configured zone `tz`.
///
/// Logs are counted per local day: a log written at 00:30 Beijing time belongs to that
/// day, even though it is still the previous day in UTC.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// A calendar month, always a valid one (the fields are private for that reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MonthParseError {
    #[error("month is not in YYYY-MM form")]
    Format,
    #[error("month number is not 01..12")]
    Invalid,
}

impl Month {
    /// `None` if `month` is not 1..=12 or the year is outside what dates can represent.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Month { year, month })
    }

    /// Strict `YYYY-MM`, e.g. `2026-11` (no surrounding whitespace, no single-digit month).
    pub fn parse(input: &str) -> Result<Month, MonthParseError> {
        let b = input.as_bytes();
        let shape_ok = b.len() == 7
            && b[4] == b'-'
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[5..].iter().all(u8::is_ascii_digit);
        if !shape_ok {
            return Err(MonthParseError::Format);
        }
        // The shape check guarantees ASCII digits, so these parses cannot fail.
        let year: i32 = input[..4].parse().map_err(|_| MonthParseError::Format)?;
        let month: u32 = input[5..].parse().map_err(|_| MonthParseError::Format)?;
        Month::new(year, month).ok_or(MonthParseError::Invalid)
    }

    /// The month `date` falls in.
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1..=12.
    pub fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        // Month values are validated on construction, so day 1 always exists; the
        // fallback keeps this total without a panic path.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        // Probe downwards instead of "first of next month minus one" so the last
        // representable month needs no special case.
        (28..=31)
            .rev()
            .find_map(|d| NaiveDate::from_ymd_opt(self.year, self.month, d))
            .unwrap_or_else(|| self.first_day())
    }

    /// Every day of the month, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        inclusive_days(self.first_day(), self.last_day())
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        date.year() == self.year && date.month() == self.month
    }

    /// The month before. The earliest representable month has none and returns itself;
    /// that is tens of thousands of years away from any real use.
    pub fn previous(self) -> Month {
        let (year, month) = if self.month == 1 {
            (self.year - 1, 12)
        } else {
            (self.year, self.month - 1)
        };
        Month::new(year, month).unwrap_or(self)
    }

    /// The month after; the latest representable month returns itself.
    pub fn next(self) -> Month {
        let (year, month) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        Month::new(year, month).unwrap_or(self)
    }
}

impl FromStr for Month {
    type Err = MonthParseError;

    fn from_str(s: &str) -> Result<Month, MonthParseError> {
        Month::parse(s)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One cadre's figures for one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonthSummary {
    /// Distinct days of the month with at least one log.
    pub log_days: u32,
    /// Distinct days of the month covered by approved leave.
    pub leave_days: u32,
    /// Days that count for the subsidy: days with a log that are not approved-leave days.
    pub eligible_days: u32,
}

/// Counts a month for the subsidy: the summary of the month's presence record
/// ([`month_record`]); the calendar does not change these figures, so none is needed.
///
/// `log_dates` are the local dates of the cadre's logs (any order, duplicates allowed);
/// `approved_leave` are inclusive `(start, end)` ranges of approved leave, which may reach
/// outside the month and may overlap.
///
/// Rules:
/// - `log_days`: distinct dates inside the month with at least one log. Several logs on
///   one day count once; logs dated outside the month are ignored.
/// - `leave_days`: distinct dates inside the month covered by any approved leave range;
///   overlapping ranges count each day once; a range with `end < start` covers nothing.
/// - `eligible_days`: dates with a log that are **not** approved-leave days. The subsidy
///   pays for days actually stationed, so a log written while on approved leave does not
///   add a day.
pub fn month_summary(
    month: Month,
    log_dates: &[NaiveDate],
    approved_leave: &[(NaiveDate, NaiveDate)],
) -> MonthSummary {
    month_record(month, log_dates, approved_leave, &Calendar::default()).summary()
}

/// What one day of a cadre's month was, for the subsidy and for supervision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayStatus {
    /// A day with a log that is not an approved-leave day: it counts for the subsidy.
    Logged,
    /// A day of approved leave (whether or not a log was written on it): it never counts.
    Leave,
    /// A rest day (weekend or holiday, not a make-up workday) without a log or leave.
    Rest,
    /// A workday with neither a log nor leave.
    Nothing,
}

/// One cadre's presence record for one month: which days had a log, which were approved
/// leave, which were rest days. Every figure of `/me`, `/stats`, the reports and the jobs is
/// read from this record, so they cannot disagree. Days are bits (day 1 = bit 0), so a
/// record is small and copying thousands of them is cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthRecord {
    month: Month,
    logged: u32,
    leave: u32,
    rest: u32,
}

impl MonthRecord {
    pub fn month(&self) -> Month {
        self.month
    }

    /// The month's log rate up to `until` (inclusive) as (days with a log, days a log was
    /// due): a day is due unless it is a rest day or leave without a log (a log on a rest
    /// day counts on both sides).
    pub fn coverage(&self, until: NaiveDate) -> (u32, u32) {
        self.days()
            .filter(|(d, _)| *d <= until)
            .fold((0, 0), |(logged, due), (_, s)| match s {
                DayStatus::Logged => (logged + 1, due + 1),
                DayStatus::Nothing => (logged, due + 1),
                DayStatus::Leave | DayStatus::Rest => (logged, due),
            })
    }

    fn bit(&self, day: NaiveDate) -> Option<u32> {
        self.month.contains(day).then(|| 1u32 << (day.day() - 1))
    }

    /// The status of `day`; `None` outside the record's month.
    pub fn status(&self, day: NaiveDate) -> Option<DayStatus> {
        let bit = self.bit(day)?;
        Some(if self.leave & bit != 0 {
            DayStatus::Leave
        } else if self.logged & bit != 0 {
            DayStatus::Logged
        } else if self.rest & bit != 0 {
            DayStatus::Rest
        } else {
            DayStatus::Nothing
        })
    }

    /// Whether `day` has a log (also on a leave day); false outside the month.
    pub fn logged_on(&self, day: NaiveDate) -> bool {
        self.bit(day).is_some_and(|b| self.logged & b != 0)
    }

    /// Every day of the month with its status, in order.
    pub fn days(&self) -> impl Iterator<Item = (NaiveDate, DayStatus)> + '_ {
        self.month
            .days()
            .filter_map(|d| self.status(d).map(|s| (d, s)))
    }

    /// The month's three figures: log days, leave days, and the days that count for the
    /// subsidy (exactly the days whose status is [`DayStatus::Logged`]).
    pub fn summary(&self) -> MonthSummary {
        MonthSummary {
            log_days: self.logged.count_ones(),
            leave_days: self.leave.count_ones(),
            eligible_days: (self.logged & !self.leave).count_ones(),
        }
    }
}

/// Builds a cadre's presence record of `month` from the local dates of his logs, his
/// approved leave ranges (inclusive, may reach outside the month, may overlap) and the
/// workday calendar. The one function behind every attendance figure.
pub fn month_record(
    month: Month,
    log_dates: &[NaiveDate],
    approved_leave: &[(NaiveDate, NaiveDate)],
    calendar: &Calendar,
) -> MonthRecord {
    let mut record = MonthRecord {
        month,
        logged: 0,
        leave: 0,
        rest: 0,
    };
    for d in log_dates {
        if let Some(b) = record.bit(*d) {
            record.logged |= b;
        }
    }
    for d in leave_dates_in(month, approved_leave) {
        if let Some(b) = record.bit(d) {
            record.leave |= b;
        }
    }
    for d in month.days() {
        if let Some(b) = record.bit(d).filter(|_| calendar.is_rest_day(d)) {
            record.rest |= b;
        }
    }
    record
}

/// Whether `date` is covered by one of the inclusive approved-leave ranges (used e.g. to
/// spare cadres on leave from the evening log reminder).
pub fn on_leave(date: NaiveDate, approved_leave: &[(NaiveDate, NaiveDate)]) -> bool {
    approved_leave
        .iter()
        .any(|&(start, end)| start <= date && date <= end)
}

/// The days of `month` covered by any of the ranges, each range clipped to the month.
fn leave_dates_in(month: Month, ranges: &[(NaiveDate, NaiveDate)]) -> BTreeSet<NaiveDate> {
    let (first, last) = (month.first_day(), month.last_day());
    let mut days = BTreeSet::new();
    for &(start, end) in ranges {
        let from = start.max(first);
        let to = end.min(last);
        // Clipping bounds each range to at most 31 days, however long the leave is.
        days.extend(inclusive_days(from, to));
    }
    days
}

/// `from..=to` day by day; empty if `to < from`. Unlike `iter_days`, it also yields
/// `NaiveDate::MAX`.
fn inclusive_days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    std::iter::successors(Some(from), |d| d.succ_opt()).take_while(move |d| *d <= to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Asia::Shanghai;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn shanghai(y: i32, mo: u32, day: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Shanghai
            .with_ymd_and_hms(y, mo, day, h, mi, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn coverage_counts_the_due_days_up_to_a_date() {
        // December 2026: Tue 1 to Mon 7; logs on the 1st, 2nd and Saturday 5th; leave the 3rd.
        let cal = Calendar::parse(crate::calendar::CN_HOLIDAYS).unwrap();
        let month = Month::parse("2026-12").unwrap();
        let r = month_record(
            month,
            &[d("2026-12-01"), d("2026-12-02"), d("2026-12-05")],
            &[(d("2026-12-03"), d("2026-12-03"))],
            &cal,
        );
        let cases = [
            ("2026-11-30", (0, 0)),
            ("2026-12-01", (1, 1)),
            ("2026-12-04", (2, 3)),
            ("2026-12-07", (3, 5)),
        ];
        for (until, want) in cases {
            assert_eq!(r.coverage(d(until)), want, "{until}");
        }
    }

    #[test]
    fn local_date_follows_the_configured_zone() {
        let cases = [
            (shanghai(2026, 11, 3, 23, 59), d("2026-11-03")),
            (shanghai(2026, 11, 4, 0, 1), d("2026-11-04")),
            // 16:30 UTC on the 30th is already 00:30 on 1 December in Beijing.
            (utc("2026-11-30T16:30:00Z"), d("2026-12-01")),
            (utc("2026-11-30T15:59:59Z"), d("2026-11-30")),
        ];
        for (at, want) in cases {
            assert_eq!(local_date(at, Shanghai), want, "{at}");
        }
    }

    #[test]
    fn one_minute_apart_across_local_midnight_are_different_days() {
        let before = local_date(shanghai(2026, 11, 3, 23, 59), Shanghai);
        let after = local_date(shanghai(2026, 11, 4, 0, 1), Shanghai);
        assert_ne!(before, after);
        // The same instants are one UTC day, which is why the zone matters.
        assert_eq!(
            shanghai(2026, 11, 3, 23, 59).date_naive(),
            shanghai(2026, 11, 4, 0, 1).date_naive()
        );
    }

    #[test]
    fn month_parses_strict_yyyy_mm_only() {
        assert_eq!(m("2026-11"), Month::new(2026, 11).unwrap());
        let bad = [
            ("2026-1", MonthParseError::Format),
            ("2026/11", MonthParseError::Format),
            (" 2026-11", MonthParseError::Format),
            ("2026-11-01", MonthParseError::Format),
            ("26-11", MonthParseError::Format),
            ("2026-+1", MonthParseError::Format),
            ("２０２６-11", MonthParseError::Format),
            ("", MonthParseError::Format),
            ("2026-13", MonthParseError::Invalid),
            ("2026-00", MonthParseError::Invalid),
        ];
        for (input, err) in bad {
            assert_eq!(Month::parse(input), Err(err), "{input:?}");
        }
        assert_eq!("2026-11".parse::<Month>(), Ok(m("2026-11")));
    }

    #[test]
    fn month_displays_as_yyyy_mm() {
        assert_eq!(m("2026-01").to_string(), "2026-01");
        assert_eq!(Month::new(987, 3).unwrap().to_string(), "0987-03");
    }

    #[test]
    fn month_bounds_and_lengths() {
        let cases = [
            ("2026-01", "2026-01-01", "2026-01-31", 31),
            ("2026-02", "2026-02-01", "2026-02-28", 28),
            ("2028-02", "2028-02-01", "2028-02-29", 29),
            ("2100-02", "2100-02-01", "2100-02-28", 28),
            ("2000-02", "2000-02-01", "2000-02-29", 29),
            ("2026-04", "2026-04-01", "2026-04-30", 30),
            ("2026-12", "2026-12-01", "2026-12-31", 31),
        ];
        for (month, first, last, len) in cases {
            let month = m(month);
            assert_eq!(month.first_day(), d(first));
            assert_eq!(month.last_day(), d(last));
            let days: Vec<_> = month.days().collect();
            assert_eq!(days.len(), len, "{month}");
            assert_eq!(days.first(), Some(&d(first)));
            assert_eq!(days.last(), Some(&d(last)));
        }
    }

    #[test]
    fn month_of_contains_previous_and_next() {
        assert_eq!(Month::of(d("2026-12-31")), m("2026-12"));
        assert!(m("2026-12").contains(d("2026-12-01")));
        assert!(!m("2026-12").contains(d("2026-11-30")));
        assert!(!m("2026-12").contains(d("2027-01-01")));
        assert!(!m("2026-12").contains(d("2025-12-15")));
        assert_eq!(m("2027-01").previous(), m("2026-12"));
        assert_eq!(m("2026-07").previous(), m("2026-06"));
        assert_eq!(m("2026-12").next(), m("2027-01"));
        assert_eq!(Month::new(2026, 13), None);
        assert_eq!(Month::new(2026, 0), None);
        // Extremes stay total instead of panicking.
        let first = Month::of(NaiveDate::MIN);
        assert_eq!(first.previous(), first);
        let last = Month::of(NaiveDate::MAX);
        assert_eq!(last.next(), last);
        assert_eq!(last.last_day(), NaiveDate::MAX);
        assert_eq!(last.days().last(), Some(NaiveDate::MAX));
    }

    #[test]
    fn month_summary_rules() {
        struct Case {
            name: &'static str,
            month: &'static str,
            logs: &'static [&'static str],
            leave: &'static [(&'static str, &'static str)],
            want: (u32, u32, u32),
        }
        let cases = [
            Case {
                name: "nothing recorded",
                month: "2026-11",
                logs: &[],
                leave: &[],
                want: (0, 0, 0),
            },
            Case {
                name: "several logs one day count once",
                month: "2026-11",
                logs: &["2026-11-03", "2026-11-03", "2026-11-03", "2026-11-04"],
                leave: &[],
                want: (2, 0, 2),
            },
            Case {
                name: "logs of neighbouring months are excluded",
                month: "2026-11",
                logs: &["2026-10-31", "2026-11-01", "2026-11-30", "2026-12-01"],
                leave: &[],
                want: (2, 0, 2),
            },
            Case {
                name: "same day of another year is excluded",
                month: "2026-11",
                logs: &["2025-11-05", "2027-11-05"],
                leave: &[],
                want: (0, 0, 0),
            },
            Case {
                name: "leave spanning into the month counts only its days inside",
                month: "2026-11",
                logs: &[],
                leave: &[("2026-10-28", "2026-11-02")],
                want: (0, 2, 0),
            },
            Case {
                name: "leave spanning out of the month counts only its days inside",
                month: "2026-11",
                logs: &[],
                leave: &[("2026-11-29", "2026-12-05")],
                want: (0, 2, 0),
            },
            Case {
                name: "leave covering the whole month and more",
                month: "2026-11",
                logs: &["2026-11-10"],
                leave: &[("2026-10-01", "2027-01-31")],
                want: (1, 30, 0),
            },
            Case {
                name: "leave entirely outside the month",
                month: "2026-11",
                logs: &["2026-11-10"],
                leave: &[("2026-10-01", "2026-10-31"), ("2026-12-01", "2026-12-02")],
                want: (1, 0, 1),
            },
            Case {
                name: "overlapping leave ranges count each day once",
                month: "2026-11",
                logs: &[],
                leave: &[("2026-11-10", "2026-11-14"), ("2026-11-12", "2026-11-16")],
                want: (0, 7, 0),
            },
            Case {
                name: "identical leave ranges count once",
                month: "2026-11",
                logs: &[],
                leave: &[("2026-11-10", "2026-11-11"), ("2026-11-10", "2026-11-11")],
                want: (0, 2, 0),
            },
            Case {
                name: "single-day leave",
                month: "2026-11",
                logs: &[],
                leave: &[("2026-11-10", "2026-11-10")],
                want: (0, 1, 0),
            },
            Case {
                name: "reversed range covers nothing",
                month: "2026-11",
                logs: &["2026-11-10"],
                leave: &[("2026-11-12", "2026-11-10")],
                want: (1, 0, 1),
            },
            Case {
                name: "log on a leave day is not eligible",
                month: "2026-11",
                logs: &["2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12"],
                leave: &[("2026-11-10", "2026-11-11")],
                want: (4, 2, 2),
            },
            Case {
                name: "leave edge days are leave days",
                month: "2026-11",
                logs: &["2026-11-09", "2026-11-10", "2026-11-12", "2026-11-13"],
                leave: &[("2026-11-10", "2026-11-12")],
                want: (4, 3, 2),
            },
            Case {
                name: "february of leap year 2028 has a 29th",
                month: "2028-02",
                logs: &["2028-02-28", "2028-02-29", "2028-03-01", "2028-01-31"],
                leave: &[("2028-02-29", "2028-03-10")],
                want: (2, 1, 1),
            },
            Case {
                name: "leap february fully on leave",
                month: "2028-02",
                logs: &[],
                leave: &[("2028-01-20", "2028-03-03")],
                want: (0, 29, 0),
            },
            Case {
                name: "every day logged",
                month: "2026-02",
                logs: &[
                    "2026-02-01",
                    "2026-02-02",
                    "2026-02-03",
                    "2026-02-04",
                    "2026-02-05",
                    "2026-02-06",
                    "2026-02-07",
                    "2026-02-08",
                    "2026-02-09",
                    "2026-02-10",
                    "2026-02-11",
                    "2026-02-12",
                    "2026-02-13",
                    "2026-02-14",
                    "2026-02-15",
                    "2026-02-16",
                    "2026-02-17",
                    "2026-02-18",
                    "2026-02-19",
                    "2026-02-20",
                    "2026-02-21",
                    "2026-02-22",
                    "2026-02-23",
                    "2026-02-24",
                    "2026-02-25",
                    "2026-02-26",
                    "2026-02-27",
                    "2026-02-28",
                ],
                leave: &[],
                want: (28, 0, 28),
            },
        ];
        for c in cases {
            let logs: Vec<_> = c.logs.iter().map(|s| d(s)).collect();
            let leave: Vec<_> = c.leave.iter().map(|(a, b)| (d(a), d(b))).collect();
            let got = month_summary(m(c.month), &logs, &leave);
            let want = MonthSummary {
                log_days: c.want.0,
                leave_days: c.want.1,
                eligible_days: c.want.2,
            };
            assert_eq!(got, want, "{}", c.name);
        }
    }

    #[test]
    fn log_order_does_not_matter() {
        let a = [d("2026-11-03"), d("2026-11-01"), d("2026-11-03")];
        let b = [d("2026-11-01"), d("2026-11-03")];
        let leave = [(d("2026-11-03"), d("2026-11-03"))];
        assert_eq!(
            month_summary(m("2026-11"), &a, &leave),
            month_summary(m("2026-11"), &b, &leave)
        );
    }

    #[test]
    fn the_presence_record_gives_one_status_per_day() {
        // October 2026: 国庆节 1–7 are rest days, Saturday 10 is a make-up workday.
        let cal = Calendar::parse(crate::calendar::CN_HOLIDAYS).unwrap();
        let logs = [
            d("2026-10-02"), // a holiday with a log: counts
            d("2026-10-09"),
            d("2026-10-09"),
            d("2026-10-10"), // the make-up Saturday
            d("2026-10-30"), // on leave: a log day, not a subsidy day
            d("2026-11-01"), // another month
        ];
        let leave = [
            (d("2026-10-29"), d("2026-11-03")),
            (d("2026-09-28"), d("2026-09-30")),
        ];
        let r = month_record(m("2026-10"), &logs, &leave, &cal);
        let cases = [
            ("2026-10-01", DayStatus::Rest),
            ("2026-10-02", DayStatus::Logged),
            ("2026-10-08", DayStatus::Nothing),
            ("2026-10-09", DayStatus::Logged),
            ("2026-10-10", DayStatus::Logged),
            ("2026-10-11", DayStatus::Rest),
            ("2026-10-12", DayStatus::Nothing),
            ("2026-10-17", DayStatus::Rest),
            ("2026-10-29", DayStatus::Leave),
            ("2026-10-30", DayStatus::Leave),
            ("2026-10-31", DayStatus::Leave),
        ];
        for (day, want) in cases {
            assert_eq!(r.status(d(day)), Some(want), "{day}");
        }
        assert_eq!(r.status(d("2026-11-01")), None);
        assert!(r.logged_on(d("2026-10-30")));
        assert!(!r.logged_on(d("2026-10-31")));
        let s = r.summary();
        assert_eq!((s.log_days, s.leave_days, s.eligible_days), (4, 3, 3));
        // The subsidy days are exactly the days marked Logged, the leave days those marked Leave.
        let marked = |st| r.days().filter(|(_, x)| *x == st).count() as u32;
        assert_eq!(marked(DayStatus::Logged), s.eligible_days);
        assert_eq!(marked(DayStatus::Leave), s.leave_days);
        assert_eq!(r.days().count(), 31);
        // The summary does not depend on the calendar.
        assert_eq!(month_summary(m("2026-10"), &logs, &leave), s);
    }

    #[test]
    fn on_leave_is_inclusive() {
        let leave = [(d("2026-11-10"), d("2026-11-12"))];
        let cases = [
            ("2026-11-09", false),
            ("2026-11-10", true),
            ("2026-11-11", true),
            ("2026-11-12", true),
            ("2026-11-13", false),
        ];
        for (day, want) in cases {
            assert_eq!(on_leave(d(day), &leave), want, "{day}");
        }
        assert!(!on_leave(d("2026-11-10"), &[]));
    }
}
