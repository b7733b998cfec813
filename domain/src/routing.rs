//! Which tutor gets a question: the nearest in the unit tree, then the least loaded,
//! then the one who waited longest for work.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};

use crate::units::UnitPath;

/// A tutor of the question's topic, with his current load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TutorCandidate {
    pub person_id: i64,
    pub unit: UnitPath,
    /// Questions assigned to him and not yet answered.
    pub open_questions: u32,
    /// When he was last given a question; `None` if never.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// Picks the tutor for a question from a cadre in `cadre_unit`, skipping `exclude`
/// (e.g. the tutor a question is being taken away from).
///
/// Order of preference:
/// 1. nearest in the unit tree: the longest common path prefix with the cadre's unit
///    (a tutor in the cadre's county before one at the city);
/// 2. among those, the fewest steps down from that common ancestor: a tutor at the
///    common ancestor itself (on the cadre's own path, e.g. the city) before one in a
///    sibling branch (another county);
/// 3. fewest open questions;
/// 4. assigned least recently (never assigned first), so equal tutors take turns;
/// 5. lowest `person_id`, only to keep the choice deterministic.
pub fn pick_tutor(
    cadre_unit: &UnitPath,
    candidates: &[TutorCandidate],
    exclude: &[i64],
) -> Option<i64> {
    candidates
        .iter()
        .filter(|c| !exclude.contains(&c.person_id))
        .min_by_key(|c| {
            let common = common_depth(cadre_unit, &c.unit);
            (
                Reverse(common),
                c.unit.segments().len() - common,
                c.open_questions,
                // `None < Some(_)`: a tutor never assigned comes first.
                c.last_assigned_at,
                c.person_id,
            )
        })
        .map(|c| c.person_id)
}

/// Number of leading path segments two units share (their deepest common ancestor's depth).
fn common_depth(a: &UnitPath, b: &UnitPath) -> usize {
    a.segments()
        .iter()
        .zip(b.segments())
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const VILLAGE: &str = "贵阳市/乌当区/新堡乡/谷溪村";

    fn at(hour: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(2026, 11, 3, hour, 0, 0).single()
    }

    fn t(id: i64, unit: &str, open: u32, last: Option<DateTime<Utc>>) -> TutorCandidate {
        TutorCandidate {
            person_id: id,
            unit: UnitPath::parse(unit).unwrap(),
            open_questions: open,
            last_assigned_at: last,
        }
    }

    #[test]
    fn preference_order() {
        let cadre = UnitPath::parse(VILLAGE).unwrap();
        // (case, candidates, excluded ids, expected pick)
        type Case = (
            &'static str,
            Vec<TutorCandidate>,
            &'static [i64],
            Option<i64>,
        );
        let cases: Vec<Case> = vec![
            ("no candidates", vec![], &[], None),
            (
                "same county before the city, despite a heavier load",
                vec![t(1, "贵阳市", 0, None), t(2, "贵阳市/乌当区", 5, at(9))],
                &[],
                Some(2),
            ),
            (
                "the city before another county",
                vec![t(1, "贵阳市/花溪区", 0, None), t(2, "贵阳市", 3, at(9))],
                &[],
                Some(2),
            ),
            (
                "same township before same county",
                vec![
                    t(1, "贵阳市/乌当区", 0, None),
                    t(2, "贵阳市/乌当区/新堡乡", 4, None),
                ],
                &[],
                Some(2),
            ),
            (
                "another township of the county is behind the county itself",
                vec![
                    t(1, "贵阳市/乌当区/东风镇", 1, None),
                    t(2, "贵阳市/乌当区", 2, None),
                ],
                &[],
                Some(2),
            ),
            (
                "another township of the county is before the city",
                vec![
                    t(1, "贵阳市/乌当区/东风镇", 1, None),
                    t(2, "贵阳市", 0, None),
                ],
                &[],
                Some(1),
            ),
            (
                "a sibling county before that county's township",
                vec![
                    t(1, "贵阳市/花溪区/青岩镇", 0, None),
                    t(2, "贵阳市/花溪区", 3, at(9)),
                ],
                &[],
                Some(2),
            ),
            (
                "a deeper unit of the cadre's own branch counts as his unit",
                vec![
                    t(1, "贵阳市/乌当区/新堡乡", 0, None),
                    t(2, "贵阳市/乌当区/新堡乡/谷溪村", 3, at(9)),
                ],
                &[],
                Some(2),
            ),
            (
                "another city is last",
                vec![
                    t(1, "遵义市/汇川区", 0, None),
                    t(2, "贵阳市/花溪区/青岩镇", 9, at(9)),
                ],
                &[],
                Some(2),
            ),
            (
                "equal distance: fewest open questions",
                vec![
                    t(1, "贵阳市/乌当区", 3, None),
                    t(2, "贵阳市/乌当区", 1, at(10)),
                    t(3, "贵阳市/乌当区", 2, None),
                ],
                &[],
                Some(2),
            ),
            (
                "equal load: never assigned first",
                vec![
                    t(1, "贵阳市/乌当区", 1, at(8)),
                    t(2, "贵阳市/乌当区", 1, None),
                ],
                &[],
                Some(2),
            ),
            (
                "equal load: least recently assigned",
                vec![
                    t(1, "贵阳市/乌当区", 1, at(10)),
                    t(2, "贵阳市/乌当区", 1, at(8)),
                    t(3, "贵阳市/乌当区", 1, at(9)),
                ],
                &[],
                Some(2),
            ),
            (
                "full tie: lowest person id",
                vec![
                    t(7, "贵阳市/乌当区", 1, at(8)),
                    t(3, "贵阳市/乌当区", 1, at(8)),
                    t(5, "贵阳市/乌当区", 1, at(8)),
                ],
                &[],
                Some(3),
            ),
            (
                "excluded tutor is skipped for the next best",
                vec![t(1, "贵阳市/乌当区", 0, None), t(2, "贵阳市", 0, None)],
                &[1],
                Some(2),
            ),
            (
                "everyone excluded",
                vec![t(1, "贵阳市/乌当区", 0, None)],
                &[1],
                None,
            ),
        ];
        for (name, candidates, exclude, want) in cases {
            assert_eq!(pick_tutor(&cadre, &candidates, exclude), want, "{name}");
        }
    }

    #[test]
    fn candidate_order_does_not_change_the_pick() {
        let cadre = UnitPath::parse(VILLAGE).unwrap();
        let mut candidates = vec![
            t(4, "贵阳市/乌当区", 1, at(8)),
            t(2, "贵阳市/乌当区", 1, at(8)),
            t(9, "贵阳市", 0, None),
        ];
        let first = pick_tutor(&cadre, &candidates, &[]);
        candidates.reverse();
        assert_eq!(pick_tutor(&cadre, &candidates, &[]), first);
        assert_eq!(first, Some(2));
    }

    #[test]
    fn cadre_at_a_county_unit_prefers_that_county() {
        let cadre = UnitPath::parse("贵阳市/乌当区").unwrap();
        let candidates = [
            t(1, "贵阳市", 0, None),
            t(2, "贵阳市/乌当区/新堡乡", 2, None),
            t(3, "贵阳市/花溪区", 0, None),
        ];
        assert_eq!(pick_tutor(&cadre, &candidates, &[]), Some(2));
    }
}
