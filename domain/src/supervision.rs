//! Supervision (数据督导): the figures of `/stats`, the subsidy report and the weekly
//! summary, all read from the cadres' presence records ([`crate::attendance::MonthRecord`]),
//! so no surface can count a day differently from `/me`.

use crate::attendance::{DayStatus, Month, MonthRecord, MonthSummary};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::fmt;

/// A cadre as the reports show him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadre {
    pub id: i64,
    pub name: String,
    pub phone: String,
    /// The full unit path, `/`-separated as in the roster.
    pub unit_path: String,
    /// On the roster now (a cadre deactivated during the month keeps his row).
    pub active: bool,
}

/// A cadre with his presence record of one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadreMonth {
    pub cadre: Cadre,
    pub record: MonthRecord,
}

impl CadreMonth {
    pub fn summary(&self) -> MonthSummary {
        self.record.summary()
    }

    /// The county or district the cadre belongs to.
    pub fn district(&self) -> &str {
        district_of(&self.cadre.unit_path)
    }
}

/// The county or district of a unit path: its first two levels (`贵阳市/乌当区`). A unit
/// at city level is its own group.
pub fn district_of(path: &str) -> &str {
    match path.match_indices('/').nth(1) {
        Some((i, _)) => &path[..i],
        None => path,
    }
}

/// The last segment of a path (`贵阳市/乌当区` → `乌当区`), for compact tables.
pub fn short_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whose figures a person may see (`/stats`, the web view): an admin the whole tree, an
/// approver his unit's subtree, anyone else none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Under(String),
}

impl Scope {
    pub fn of(roles: crate::Roles, unit_path: &str) -> Option<Scope> {
        if roles.contains(crate::Role::Admin) {
            Some(Scope::All)
        } else if roles.contains(crate::Role::Approver) {
            Some(Scope::Under(unit_path.to_string()))
        } else {
            None
        }
    }

    /// Whether the unit at `path` (or a cadre of it) is within the scope.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Under(root) => is_within(path, root),
        }
    }
}

/// Whether `path` is `root` or lies below it.
pub fn is_within(path: &str, root: &str) -> bool {
    path == root
        || (path.len() > root.len()
            && path.starts_with(root)
            && path[root.len()..].starts_with('/'))
}

/// The instant local midnight of `day` begins in `tz` (the earliest, if a change of offset
/// makes midnight ambiguous; the first instant after a gap, if it does not exist).
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=180)
        .find_map(|m| {
            tz.from_local_datetime(&(midnight + Duration::minutes(m)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// An ISO week, always valid: its Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    monday: NaiveDate,
}

impl IsoWeek {
    /// The week `day` falls in.
    pub fn of(day: NaiveDate) -> IsoWeek {
        let back = i64::from(day.weekday().num_days_from_monday());
        IsoWeek {
            monday: day - Duration::days(back),
        }
    }

    /// Strict `YYYY-Www`, e.g. `2026-W48`.
    pub fn parse(input: &str) -> Option<IsoWeek> {
        let b = input.as_bytes();
        let shape = b.len() == 8
            && b[..4].iter().all(u8::is_ascii_digit)
            && &b[4..6] == b"-W"
            && b[6..].iter().all(u8::is_ascii_digit);
        if !shape {
            return None;
        }
        let year: i32 = input[..4].parse().ok()?;
        let week: u32 = input[6..].parse().ok()?;
        let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
        Some(IsoWeek { monday })
    }

    pub fn monday(self) -> NaiveDate {
        self.monday
    }

    pub fn sunday(self) -> NaiveDate {
        self.monday + Duration::days(6)
    }

    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        (0..7).map(move |i| self.monday + Duration::days(i))
    }

    pub fn previous(self) -> IsoWeek {
        IsoWeek {
            monday: self.monday - Duration::days(7),
        }
    }

    /// The months the week touches (one or two), for loading presence records.
    pub fn months(self) -> Vec<Month> {
        let (a, b) = (Month::of(self.monday), Month::of(self.sunday()));
        if a == b { vec![a] } else { vec![a, b] }
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.monday.iso_week();
        write!(f, "{:04}-W{:02}", w.year(), w.week())
    }
}

/// What a report refuses to be made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodRefusal {
    /// The month or week has not begun.
    NotBegun,
}

/// A report of `month` can be made once its first day has come.
pub fn check_month(month: Month, today: NaiveDate) -> Result<(), PeriodRefusal> {
    if month.first_day() > today {
        Err(PeriodRefusal::NotBegun)
    } else {
        Ok(())
    }
}

pub fn check_week(week: IsoWeek, today: NaiveDate) -> Result<(), PeriodRefusal> {
    if week.monday() > today {
        Err(PeriodRefusal::NotBegun)
    } else {
        Ok(())
    }
}

/// A cadre's facts for `/stats`: his month, whether he is on the roster now, and his open
/// leave requests and questions (overdue: waiting past `tutoring.remind_after_hours`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadreFacts {
    pub month: CadreMonth,
    pub pending_leave: u32,
    pub open_questions: u32,
    pub overdue_questions: u32,
}

/// One county or district's line of `/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistrictStats {
    /// The district's full path.
    pub district: String,
    /// Cadres on the roster now.
    pub active_cadres: u32,
    /// Active cadres with a log today (`None` columns for a past month).
    pub logged_today: Option<u32>,
    /// Active cadres whose today is a workday with neither a log nor approved leave.
    pub missing_today: Option<u32>,
    /// Sums over the district's cadres of the month's figures (the subsidy report's).
    pub log_days: u32,
    pub leave_days: u32,
    pub subsidy_days: u32,
    pub pending_leave: u32,
    pub open_questions: u32,
    pub overdue_questions: u32,
}

/// The lines of `/stats`, one per district, in path order. `today` is given for the
/// current month (today's columns), `None` for a past month.
pub fn district_stats(cadres: &[CadreFacts], today: Option<NaiveDate>) -> Vec<DistrictStats> {
    let mut by: BTreeMap<&str, DistrictStats> = BTreeMap::new();
    for c in cadres {
        let line = by
            .entry(c.month.district())
            .or_insert_with(|| DistrictStats {
                district: c.month.district().to_string(),
                logged_today: today.map(|_| 0),
                missing_today: today.map(|_| 0),
                ..DistrictStats::default()
            });
        let s = c.month.summary();
        line.log_days += s.log_days;
        line.leave_days += s.leave_days;
        line.subsidy_days += s.eligible_days;
        line.pending_leave += c.pending_leave;
        line.open_questions += c.open_questions;
        line.overdue_questions += c.overdue_questions;
        if c.month.cadre.active {
            line.active_cadres += 1;
            if let Some(day) = today {
                let r = &c.month.record;
                if r.logged_on(day) {
                    *line.logged_today.get_or_insert(0) += 1;
                }
                if r.status(day) == Some(DayStatus::Nothing) {
                    *line.missing_today.get_or_insert(0) += 1;
                }
            }
        }
    }
    by.into_values().collect()
}

/// Per district, how many cadres have a log on each day of `week` (Monday first), from
/// the presence records of the months the week touches.
pub fn week_logs(months: &[CadreMonth], week: IsoWeek) -> Vec<(String, [u32; 7])> {
    let mut by: BTreeMap<&str, [u32; 7]> = BTreeMap::new();
    for c in months {
        let counts = by.entry(c.district()).or_insert([0; 7]);
        for (i, day) in week.days().enumerate() {
            if c.record.logged_on(day) {
                counts[i] += 1;
            }
        }
    }
    by.into_iter().map(|(d, c)| (d.to_string(), c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attendance::month_record;
    use crate::calendar::{CN_HOLIDAYS, Calendar};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn districts_and_subtrees_by_path() {
        let cases = [
            ("贵阳市/乌当区/新堡乡/谷溪村", "贵阳市/乌当区"),
            ("贵阳市/乌当区", "贵阳市/乌当区"),
            ("贵阳市", "贵阳市"),
        ];
        for (path, want) in cases {
            assert_eq!(district_of(path), want);
        }
        assert!(is_within("贵阳市/乌当区/新堡乡", "贵阳市/乌当区"));
        assert!(is_within("贵阳市/乌当区", "贵阳市/乌当区"));
        assert!(!is_within("贵阳市/乌当区二", "贵阳市/乌当区"));
        assert!(!is_within("贵阳市", "贵阳市/乌当区"));
        assert_eq!(short_name("贵阳市/乌当区"), "乌当区");
    }

    #[test]
    fn iso_weeks_parse_strictly_and_show_their_monday() {
        let w = IsoWeek::parse("2026-W49").unwrap();
        assert_eq!(w.monday(), d("2026-11-30"));
        assert_eq!(w.to_string(), "2026-W49");
        assert_eq!(w.months().len(), 2);
        assert_eq!(IsoWeek::of(d("2026-12-06")), w);
        assert_eq!(IsoWeek::parse("2027-W53"), None, "2027 has 52 weeks");
        assert!(IsoWeek::parse("2026-W53").is_some(), "2026 has 53");
        assert_eq!(
            IsoWeek::parse("2026-W01").unwrap().monday(),
            d("2025-12-29")
        );
        for bad in [
            "2026-W1",
            "2026W49",
            "2026-w49",
            "2026-W00",
            " 2026-W49",
            "2026-W4九",
        ] {
            assert_eq!(IsoWeek::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_period_not_begun_is_refused() {
        let today = d("2026-12-02");
        let m = |s| Month::parse(s).unwrap();
        assert_eq!(check_month(m("2026-12"), today), Ok(()));
        assert_eq!(check_month(m("2026-11"), today), Ok(()));
        assert_eq!(
            check_month(m("2027-01"), today),
            Err(PeriodRefusal::NotBegun)
        );
        let w = |s| IsoWeek::parse(s).unwrap();
        assert_eq!(check_week(w("2026-W49"), today), Ok(()));
        assert_eq!(
            check_week(w("2026-W50"), today),
            Err(PeriodRefusal::NotBegun)
        );
    }

    #[test]
    fn day_start_is_local_midnight() {
        let t = day_start(d("2026-12-01"), chrono_tz::Asia::Shanghai);
        assert_eq!(t.to_rfc3339(), "2026-11-30T16:00:00+00:00");
    }

    #[test]
    fn district_lines_count_today_without_leave_and_rest_days() {
        let cal = Calendar::parse(CN_HOLIDAYS).unwrap();
        let month = Month::parse("2026-12").unwrap();
        let today = d("2026-12-02");
        let cadre = |id, unit: &str, active, logs: &[&str], leave: &[(&str, &str)]| CadreFacts {
            month: CadreMonth {
                cadre: Cadre {
                    id,
                    name: format!("c{id}"),
                    phone: String::new(),
                    unit_path: unit.into(),
                    active,
                },
                record: month_record(
                    month,
                    &logs.iter().map(|s| d(s)).collect::<Vec<_>>(),
                    &leave.iter().map(|(a, b)| (d(a), d(b))).collect::<Vec<_>>(),
                    &cal,
                ),
            },
            pending_leave: id as u32 % 2,
            open_questions: 1,
            overdue_questions: id as u32 % 3 / 2,
        };
        let facts = [
            cadre(1, "市/甲区/乡/村", true, &["2026-12-01", "2026-12-02"], &[]),
            cadre(
                2,
                "市/甲区/乡/村",
                true,
                &[],
                &[("2026-12-02", "2026-12-03")],
            ),
            cadre(3, "市/甲区/乡", true, &["2026-12-01"], &[]),
            cadre(4, "市/甲区/乡", false, &["2026-12-01"], &[]),
            cadre(
                5,
                "市/乙县/乡",
                true,
                &["2026-12-02"],
                &[("2026-12-02", "2026-12-02")],
            ),
        ];
        let lines = district_stats(&facts, Some(today));
        assert_eq!(lines.len(), 2);
        let line = |name: &str| lines.iter().find(|l| l.district == name).unwrap();
        let a = line("市/甲区");
        assert_eq!(a.active_cadres, 3);
        assert_eq!(a.logged_today, Some(1));
        assert_eq!(
            a.missing_today,
            Some(1),
            "only cadre 3: 2 is on leave, 4 left"
        );
        assert_eq!((a.log_days, a.leave_days, a.subsidy_days), (4, 2, 4));
        assert_eq!(
            (a.pending_leave, a.open_questions, a.overdue_questions),
            (2, 4, 1)
        );
        let b = line("市/乙县");
        assert_eq!((b.logged_today, b.missing_today), (Some(1), Some(0)));
        assert_eq!((b.log_days, b.leave_days, b.subsidy_days), (1, 1, 0));
        assert_eq!(b.overdue_questions, 1);
        // A rest day: nobody is missing.
        let sunday = district_stats(&facts, Some(d("2026-12-06")));
        assert!(sunday.iter().all(|l| l.missing_today == Some(0)));
        // A past month has no today columns.
        assert_eq!(district_stats(&facts, None)[0].missing_today, None);
    }

    #[test]
    fn week_logs_count_cadres_per_day_across_a_month_boundary() {
        let cal = Calendar::default();
        let week = IsoWeek::parse("2026-W49").unwrap();
        let mk = |m: &str, logs: &[&str]| CadreMonth {
            cadre: Cadre {
                id: 1,
                name: "a".into(),
                phone: String::new(),
                unit_path: "市/甲区/乡".into(),
                active: true,
            },
            record: month_record(
                Month::parse(m).unwrap(),
                &logs.iter().map(|s| d(s)).collect::<Vec<_>>(),
                &[],
                &cal,
            ),
        };
        let months = [
            mk("2026-11", &["2026-11-30", "2026-11-29"]),
            mk("2026-12", &["2026-12-01", "2026-12-06", "2026-12-07"]),
        ];
        let got = week_logs(&months, week);
        assert_eq!(got, vec![("市/甲区".to_string(), [1, 1, 0, 0, 0, 0, 1])]);
    }
}
