//! Tutoring rules: who gets a question (a tutor of its topic, else the configured default
//! tutor, else an admin: never nobody while anyone can take it), when an unanswered question
//! is reminded or reassigned, and the figures of the supervision reports.

use crate::routing::{TutorCandidate, pick_tutor};
use crate::units::UnitPath;
use chrono::{DateTime, Duration, Utc};

/// How a question reached its tutor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A tutor of the question's topic.
    Topic,
    /// Nobody tutors the topic: the configured default tutor.
    DefaultTutor,
    /// Nobody tutors the topic and there is no default tutor: an admin, who answers or
    /// passes it on.
    Admin,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Topic => "topic",
            Via::DefaultTutor => "default",
            Via::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Via {
        match s {
            "default" => Via::DefaultTutor,
            "admin" => Via::Admin,
            _ => Via::Topic,
        }
    }
}

/// Everyone who could take a question, as storage found them.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    /// Tutors of the question's topic.
    pub topic_tutors: Vec<TutorCandidate>,
    /// The configured default tutor, if he is on the roster and reachable.
    pub default_tutor: Option<TutorCandidate>,
    pub admins: Vec<TutorCandidate>,
}

/// Picks who answers a question of a cadre in `cadre_unit`, never one of `exclude` (the
/// cadre himself, and on reassignment everyone who held the question before): the best
/// tutor of the topic (see [`pick_tutor`]), else the default tutor, else the best admin.
pub fn route(cadre_unit: &UnitPath, pool: &Pool, exclude: &[i64]) -> Option<(i64, Via)> {
    if let Some(id) = pick_tutor(cadre_unit, &pool.topic_tutors, exclude) {
        return Some((id, Via::Topic));
    }
    if let Some(d) = &pool.default_tutor
        && !exclude.contains(&d.person_id)
    {
        return Some((d.person_id, Via::DefaultTutor));
    }
    pick_tutor(cadre_unit, &pool.admins, exclude).map(|id| (id, Via::Admin))
}

/// The deadlines of an unanswered question, counted from its assignment to the current tutor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    pub remind_after: Duration,
    pub reassign_after: Duration,
}

impl SlaPolicy {
    pub fn from_hours(remind_after: u32, reassign_after: u32) -> SlaPolicy {
        SlaPolicy {
            remind_after: Duration::hours(i64::from(remind_after)),
            reassign_after: Duration::hours(i64::from(reassign_after)),
        }
    }
}

/// What the `question-sla` job does about one unanswered assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaAction {
    /// Past the reminder time and not reminded yet.
    Remind,
    /// Past the reassignment deadline and not handled yet (also when the reminder was never
    /// sent, e.g. after downtime: the question moves on at once).
    Reassign,
}

/// The state of an unanswered assignment that the deadlines depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub assigned_at: DateTime<Utc>,
    pub reminded: bool,
    /// The reassignment deadline was handled already (reassigned, or nobody else could take it).
    pub overdue_handled: bool,
}

/// Each deadline acts once per assignment: the job may run any number of times.
pub fn sla_action(now: DateTime<Utc>, w: Waiting, policy: SlaPolicy) -> Option<SlaAction> {
    let waited = now - w.assigned_at;
    if waited >= policy.reassign_after && !w.overdue_handled {
        Some(SlaAction::Reassign)
    } else if waited >= policy.remind_after && !w.reminded && !w.overdue_handled {
        Some(SlaAction::Remind)
    } else {
        None
    }
}

/// The median of durations (the mean of the middle two for an even count).
pub fn median(mut values: Vec<Duration>) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const VILLAGE: &str = "贵阳市/乌当区/新堡乡/谷溪村";

    fn c(id: i64, unit: &str, open: u32) -> TutorCandidate {
        TutorCandidate {
            person_id: id,
            unit: UnitPath::parse(unit).unwrap(),
            open_questions: open,
            last_assigned_at: None,
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
    }

    #[test]
    fn route_prefers_topic_tutors_then_default_then_admins() {
        let cadre = UnitPath::parse(VILLAGE).unwrap();
        let full = Pool {
            topic_tutors: vec![c(1, "贵阳市", 0), c(2, "贵阳市/乌当区", 3)],
            default_tutor: Some(c(5, "贵阳市", 0)),
            admins: vec![c(8, "贵阳市", 0), c(9, "贵阳市/乌当区", 0)],
        };
        let no_topic = Pool {
            topic_tutors: vec![],
            ..full.clone()
        };
        let only_admins = Pool {
            topic_tutors: vec![],
            default_tutor: None,
            admins: full.admins.clone(),
        };
        let empty = Pool::default();
        // (case, pool, excluded ids, expected)
        type Case<'a> = (&'a str, &'a Pool, &'a [i64], Option<(i64, Via)>);
        let cases: Vec<Case> = vec![
            ("nearest topic tutor", &full, &[], Some((2, Via::Topic))),
            (
                "the next topic tutor when the nearest is excluded",
                &full,
                &[2],
                Some((1, Via::Topic)),
            ),
            (
                "default tutor once the topic's tutors are used up",
                &full,
                &[1, 2],
                Some((5, Via::DefaultTutor)),
            ),
            (
                "no tutor of the topic: default tutor",
                &no_topic,
                &[],
                Some((5, Via::DefaultTutor)),
            ),
            (
                "default tutor excluded: nearest admin",
                &no_topic,
                &[5],
                Some((9, Via::Admin)),
            ),
            (
                "no default tutor: nearest admin",
                &only_admins,
                &[],
                Some((9, Via::Admin)),
            ),
            ("nobody left", &only_admins, &[8, 9], None),
            ("empty pool", &empty, &[], None),
        ];
        for (name, pool, exclude, want) in cases {
            assert_eq!(route(&cadre, pool, exclude), want, "{name}");
        }
    }

    #[test]
    fn the_cadre_never_gets_his_own_question() {
        let cadre = UnitPath::parse(VILLAGE).unwrap();
        let pool = Pool {
            topic_tutors: vec![c(1, VILLAGE, 0)],
            default_tutor: None,
            admins: vec![c(1, VILLAGE, 0)],
        };
        assert_eq!(route(&cadre, &pool, &[1]), None);
    }

    #[test]
    fn deadlines_act_once_each_in_order() {
        let p = SlaPolicy::from_hours(24, 48);
        let w = |reminded, overdue_handled| Waiting {
            assigned_at: t0(),
            reminded,
            overdue_handled,
        };
        let h = |hours| t0() + Duration::hours(hours);
        // (case, now, waiting, expected)
        let cases = [
            ("fresh", h(1), w(false, false), None),
            (
                "just before the reminder",
                h(24) - Duration::seconds(1),
                w(false, false),
                None,
            ),
            (
                "at the reminder time",
                h(24),
                w(false, false),
                Some(SlaAction::Remind),
            ),
            ("reminded already", h(30), w(true, false), None),
            (
                "at the deadline",
                h(48),
                w(true, false),
                Some(SlaAction::Reassign),
            ),
            (
                "past both, never reminded (downtime): reassign at once",
                h(50),
                w(false, false),
                Some(SlaAction::Reassign),
            ),
            ("deadline handled", h(100), w(true, true), None),
            (
                "deadline handled without a reminder",
                h(100),
                w(false, true),
                None,
            ),
        ];
        for (name, now, waiting, want) in cases {
            assert_eq!(sla_action(now, waiting, p), want, "{name}");
        }
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        let m = |v: &[i64]| median(v.iter().map(|&s| Duration::minutes(s)).collect());
        assert_eq!(m(&[]), None);
        assert_eq!(m(&[30]), Some(Duration::minutes(30)));
        assert_eq!(m(&[90, 10, 30]), Some(Duration::minutes(30)));
        assert_eq!(m(&[10, 40, 20, 30]), Some(Duration::minutes(25)));
    }
}
