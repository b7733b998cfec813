//! Work updates (驻村动态): a reporter's brief for a unit he reports for, the weekly duty
//! (at least one update per ISO week, Monday to Sunday in local time), and what is refused.

use chrono::{Datelike, Duration, NaiveDate};

/// The Monday and Sunday of the ISO week that holds `day`.
pub fn iso_week(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    (monday, monday + Duration::days(6))
}

/// Whether a unit met its weekly duty with `updates` updates in the week.
pub fn duty_met(updates: u32) -> bool {
    updates >= 1
}

/// Why a person may not post an update (for that unit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateRefusal {
    #[error("not an active reporter")]
    NotReporter,
    #[error("not a unit he reports for")]
    NotHisUnit,
}

/// Who may post for which unit: an active reporter, for one of `his_units`; with `chosen`
/// unset, only if he reports for exactly one (else the caller asks him to choose).
pub fn may_post(
    is_reporter: bool,
    active: bool,
    his_units: &[i64],
    chosen: i64,
) -> Result<(), UpdateRefusal> {
    if !is_reporter || !active {
        return Err(UpdateRefusal::NotReporter);
    }
    if !his_units.contains(&chosen) {
        return Err(UpdateRefusal::NotHisUnit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn iso_weeks_run_monday_to_sunday() {
        // 2026-11-30 is a Monday.
        for (day, monday) in [
            (d(11, 30), d(11, 30)),
            (d(12, 6), d(11, 30)),
            (d(12, 7), d(12, 7)),
            (d(11, 29), d(11, 23)),
        ] {
            assert_eq!(iso_week(day), (monday, monday + Duration::days(6)), "{day}");
        }
    }

    #[test]
    fn only_an_active_reporter_posts_and_only_for_his_units() {
        let cases = [
            (true, true, vec![1, 2], 2, Ok(())),
            (true, true, vec![1], 3, Err(UpdateRefusal::NotHisUnit)),
            (false, true, vec![1], 1, Err(UpdateRefusal::NotReporter)),
            (true, false, vec![1], 1, Err(UpdateRefusal::NotReporter)),
        ];
        for (rep, active, units, chosen, want) in cases {
            assert_eq!(may_post(rep, active, &units, chosen), want);
        }
        assert!(!duty_met(0) && duty_met(1) && duty_met(3));
    }
}
