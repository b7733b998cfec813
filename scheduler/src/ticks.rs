//! When a job is due: its ticks, computed in the configured zone and kept as UTC instants,
//! and what to do with the ticks that passed (run the newest, record the older as missed).
//! Pure functions; the runner loads what they need and carries out the plan.
//!
//! Ticks are taken on the local wall clock, then placed on the time line: a local time that
//! does not exist (the hour skipped when daylight saving starts) fires at the first instant
//! after the gap, and a local time that happens twice (when it ends) fires at the first of
//! the two. So a daily job fires exactly once a day, on transition days too (the cron
//! crate alone would skip the first and fire twice on the second).

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use cron::Schedule;

/// At most this many ticks are looked at in one call (a seconds-level schedule over a long
/// downtime would otherwise mean millions).
pub const MAX_TICKS: usize = 10_000;

/// The instants of the schedule's ticks in `(after, until]`, oldest first.
pub fn ticks_between(
    schedule: &Schedule,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    // Wall-clock iteration: naive local times written as if they were UTC (no DST there).
    // Start an hour early, so a tick that a gap pushes past `after` is not lost.
    let start = after.with_timezone(&tz).naive_local() - Duration::hours(1);
    let end = until.with_timezone(&tz).naive_local() + Duration::hours(2);
    let mut out: Vec<DateTime<Utc>> = Vec::new();
    for wall in schedule.after(&Utc.from_utc_datetime(&start)) {
        let wall = wall.naive_utc();
        if wall > end || out.len() >= MAX_TICKS {
            break;
        }
        let instant = place(tz, wall);
        if instant > after && instant <= until && out.last() != Some(&instant) {
            out.push(instant);
        }
    }
    out
}

/// The next tick strictly after `after`.
pub fn next_tick(schedule: &Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // A schedule may be sparse (yearly); look ahead in growing windows.
    let mut horizon = Duration::days(2);
    while horizon <= Duration::days(800) {
        if let Some(t) = ticks_between(schedule, tz, after, after + horizon).first() {
            return Some(*t);
        }
        horizon = horizon * 4;
    }
    None
}

/// A local wall time as an instant: the earlier of two, or the end of a gap.
fn place(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a gap: the first minute that exists after it (gaps are whole minutes).
            let mut probe = wall;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&wall)
        }
    }
}

/// What to do with the ticks that passed and have no record yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The tick to run now: the newest passed, if within the grace time.
    pub run: Option<DateTime<Utc>>,
    /// Older (or too old) ticks, recorded as missed and never run.
    pub missed: Vec<DateTime<Utc>>,
}

/// Ticks in `(since, now]` that have no record (`recorded` says which have): the newest
/// runs if it is at most `grace` old, every other one is missed. `since` is the later of
/// when the scheduler first ran on this database and the newest recorded tick, so a tick
/// before the scheduler ever ran is never caught up.
pub fn plan(
    passed: &[DateTime<Utc>],
    recorded: impl Fn(DateTime<Utc>) -> bool,
    now: DateTime<Utc>,
    grace: Duration,
) -> Plan {
    let passed = passed.iter().copied().filter(|t| *t <= now);
    let newest_recorded = passed.clone().filter(|t| recorded(*t)).max();
    let mut open: Vec<DateTime<Utc>> = passed.filter(|t| !recorded(*t)).collect();
    open.sort_unstable();
    let Some(newest) = open.pop() else {
        return Plan::default();
    };
    // Only a tick newer than everything recorded may run; an older gap is history.
    if now - newest <= grace && newest_recorded.is_none_or(|r| newest > r) {
        Plan {
            run: Some(newest),
            missed: open,
        }
    } else {
        open.push(newest);
        Plan {
            run: None,
            missed: open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::config::parse_cron;

    fn at(tz: Tz, s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(tz: Tz, t: DateTime<Utc>) -> String {
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
    }

    fn daily_across(tz: Tz, expr: &str, from: &str, to: &str) -> Vec<String> {
        let s = parse_cron(expr).unwrap();
        ticks_between(&s, tz, at(tz, from), at(tz, to))
            .into_iter()
            .map(|t| local(tz, t))
            .collect()
    }

    #[test]
    fn a_daily_job_fires_once_on_both_dst_transition_days() {
        let ny = chrono_tz::America::New_York;
        // 2026-03-08: 02:00 → 03:00 (02:30 does not exist). 2026-11-01: 01:00-02:00 twice.
        assert_eq!(
            daily_across(ny, "30 2 * * *", "2026-03-07 00:00", "2026-03-09 23:00"),
            [
                "2026-03-07 02:30 EST",
                "2026-03-08 03:00 EDT",
                "2026-03-09 02:30 EDT"
            ]
        );
        assert_eq!(
            daily_across(ny, "30 1 * * *", "2026-10-31 00:00", "2026-11-02 23:00"),
            [
                "2026-10-31 01:30 EDT",
                "2026-11-01 01:30 EDT",
                "2026-11-02 01:30 EST"
            ]
        );
        let london = chrono_tz::Europe::London;
        assert_eq!(
            daily_across(london, "30 1 * * *", "2026-03-28 00:00", "2026-03-30 23:00"),
            [
                "2026-03-28 01:30 GMT",
                "2026-03-29 02:00 BST",
                "2026-03-30 01:30 BST"
            ]
        );
        assert_eq!(
            daily_across(london, "30 1 * * *", "2026-10-24 00:00", "2026-10-26 23:00"),
            [
                "2026-10-24 01:30 BST",
                "2026-10-25 01:30 BST",
                "2026-10-26 01:30 GMT"
            ]
        );
    }

    #[test]
    fn ticks_are_local_times_kept_in_utc() {
        let sh = chrono_tz::Asia::Shanghai;
        let s = parse_cron("0 20 * * *").unwrap();
        let ticks = ticks_between(
            &s,
            sh,
            at(sh, "2026-12-01 19:00"),
            at(sh, "2026-12-02 21:00"),
        );
        assert_eq!(
            ticks,
            [
                "2026-12-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap(),
                "2026-12-02T12:00:00Z".parse().unwrap()
            ]
        );
        // The range is (after, until]: a tick exactly at `after` is not in it.
        assert_eq!(ticks_between(&s, sh, ticks[0], ticks[1]), [ticks[1]]);
        assert_eq!(next_tick(&s, sh, ticks[0]), Some(ticks[1]));
        let yearly = parse_cron("0 8 1 1 *").unwrap();
        assert_eq!(
            next_tick(&yearly, sh, ticks[0]).map(|t| local(sh, t)),
            Some("2027-01-01 08:00 CST".to_string())
        );
    }

    #[test]
    fn the_newest_passed_tick_runs_the_older_are_missed() {
        let t =
            |h: i64| "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(h);
        let grace = Duration::hours(6);
        let none = |_: DateTime<Utc>| false;
        type Case = (&'static str, Vec<DateTime<Utc>>, DateTime<Utc>, Plan);
        let cases: Vec<Case> = vec![
            ("nothing passed", vec![], t(10), Plan::default()),
            (
                "on time",
                vec![t(10)],
                t(10),
                Plan {
                    run: Some(t(10)),
                    missed: vec![],
                },
            ),
            (
                "down across three ticks",
                vec![t(7), t(8), t(9)],
                t(10),
                Plan {
                    run: Some(t(9)),
                    missed: vec![t(7), t(8)],
                },
            ),
            (
                "down longer than the grace",
                vec![t(1), t(2)],
                t(10),
                Plan {
                    run: None,
                    missed: vec![t(1), t(2)],
                },
            ),
            (
                "exactly the grace old",
                vec![t(4)],
                t(10),
                Plan {
                    run: Some(t(4)),
                    missed: vec![],
                },
            ),
        ];
        for (what, passed, now, want) in cases {
            assert_eq!(plan(&passed, none, now, grace), want, "{what}");
        }
        // A tick with a record (run by another instance, or before a restart) is left alone,
        // and an unrecorded tick older than a recorded one is history, not run.
        let recorded = |x: DateTime<Utc>| x == t(9);
        assert_eq!(
            plan(&[t(8), t(9)], recorded, t(10), grace),
            Plan {
                run: None,
                missed: vec![t(8)]
            }
        );
        let recorded = |x: DateTime<Utc>| x == t(8);
        assert_eq!(
            plan(&[t(8), t(9)], recorded, t(10), grace),
            Plan {
                run: Some(t(9)),
                missed: vec![]
            }
        );
    }
}
