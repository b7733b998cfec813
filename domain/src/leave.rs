//! Leave: the rules a request must meet, and the approval chain it goes through.
//!
//! The chain is configured as a table of day thresholds and levels because provinces
//! differ; [`resolve_chain`] maps the required levels onto the cadre's actual ancestor
//! units, escalating past units that have no approver.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::units::{Level, UnitPath};

/// Configured leave policy (`[leave]` in the configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeavePolicy {
    /// Longest request accepted, in calendar days.
    pub max_days: u32,
    /// Rules in ascending order of `up_to_days`; the first that fits a request applies.
    pub chain: Vec<ChainRule>,
}

/// Approval levels for requests of up to `up_to_days` days (`None`: any length).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainRule {
    #[serde(default)]
    pub up_to_days: Option<u32>,
    /// Levels in decision order, lower unit first (`["township", "county"]`).
    #[serde(with = "level_names")]
    pub levels: Vec<Level>,
}

impl Default for LeavePolicy {
    /// 1–2 days township; 3–7 days township then county; longer: township, county, city.
    fn default() -> Self {
        LeavePolicy {
            max_days: 30,
            chain: vec![
                ChainRule {
                    up_to_days: Some(2),
                    levels: vec![Level::Township],
                },
                ChainRule {
                    up_to_days: Some(7),
                    levels: vec![Level::Township, Level::County],
                },
                ChainRule {
                    up_to_days: None,
                    levels: vec![Level::Township, Level::County, Level::City],
                },
            ],
        }
    }
}

/// A configuration mistake in the leave policy. `rule` is the 0-based index in `chain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("leave max_days must be at least 1")]
    ZeroMaxDays,
    #[error("leave chain has no rules")]
    EmptyChain,
    #[error("leave chain rule {} has no levels", .rule + 1)]
    NoLevels { rule: usize },
    #[error("leave chain rule {} uses the village level, which approves nothing", .rule + 1)]
    VillageLevel { rule: usize },
    #[error("leave chain rule {} must list levels from lower to higher unit without repeats (township, county, city)", .rule + 1)]
    LevelsOutOfOrder { rule: usize },
    #[error("leave chain rule {} has up_to_days = 0", .rule + 1)]
    ZeroThreshold { rule: usize },
    #[error("leave chain rule {} must have a larger up_to_days than the rule before", .rule + 1)]
    ThresholdsNotAscending { rule: usize },
    #[error("leave chain rule {} has no up_to_days but is not the last rule", .rule + 1)]
    UnboundedNotLast { rule: usize },
    #[error("leave chain covers only up to {covered} days but max_days is {max_days}")]
    DoesNotCoverMax { covered: u32, max_days: u32 },
}

impl LeavePolicy {
    /// Checks the policy is usable: every request length from 1 to `max_days` has exactly
    /// one applicable rule, and every rule names real approval levels in order.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.max_days == 0 {
            return Err(PolicyError::ZeroMaxDays);
        }
        if self.chain.is_empty() {
            return Err(PolicyError::EmptyChain);
        }
        let mut previous: Option<u32> = None;
        for (rule, r) in self.chain.iter().enumerate() {
            if r.levels.is_empty() {
                return Err(PolicyError::NoLevels { rule });
            }
            if r.levels.contains(&Level::Village) {
                return Err(PolicyError::VillageLevel { rule });
            }
            // Lower unit first means strictly decreasing depth.
            if r.levels.windows(2).any(|w| w[0].depth() <= w[1].depth()) {
                return Err(PolicyError::LevelsOutOfOrder { rule });
            }
            match r.up_to_days {
                None if rule + 1 != self.chain.len() => {
                    return Err(PolicyError::UnboundedNotLast { rule });
                }
                None => {}
                Some(0) => return Err(PolicyError::ZeroThreshold { rule }),
                Some(days) => {
                    if previous.is_some_and(|p| days <= p) {
                        return Err(PolicyError::ThresholdsNotAscending { rule });
                    }
                    previous = Some(days);
                }
            }
        }
        let last_unbounded = self.chain.last().is_some_and(|r| r.up_to_days.is_none());
        if let (false, Some(covered)) = (last_unbounded, previous)
            && covered < self.max_days
        {
            return Err(PolicyError::DoesNotCoverMax {
                covered,
                max_days: self.max_days,
            });
        }
        Ok(())
    }
}

/// Serde for level lists as their configuration names (`"township"` …), kept here so
/// `Level` itself stays free of serde.
mod level_names {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::units::Level;

    pub fn serialize<S: Serializer>(levels: &[Level], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(levels.iter().map(|l| l.as_str()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Level>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|name| {
                Level::parse(name).ok_or_else(|| {
                    D::Error::custom(format!(
                        "unknown level {name:?}, expected township, county or city"
                    ))
                })
            })
            .collect()
    }
}

/// Calendar days from `start` to `end`, both included; 0 if `end` is before `start`.
pub fn leave_days(start: NaiveDate, end: NaiveDate) -> u32 {
    let days = end.signed_duration_since(start).num_days() + 1;
    u32::try_from(days.max(0)).unwrap_or(u32::MAX)
}

/// A request as entered, before any rule is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveRequestDraft {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub reason: String,
}

/// A pending or approved leave of the same person (inclusive dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingLeave {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// The rule a leave request breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LeaveRuleError {
    #[error("no reason given")]
    MissingReason,
    #[error("end date is before start date")]
    EndBeforeStart,
    #[error("start date is in the past")]
    StartInPast,
    #[error("leave of {days} days is longer than the maximum of {max}")]
    TooLong { days: u32, max: u32 },
    #[error("overlaps leave from {start} to {end}")]
    Overlaps { start: NaiveDate, end: NaiveDate },
}

/// Checks a request against the rules, in a fixed order so the person always hears about
/// the same rule first: reason given, end not before start, start not before `today`,
/// length within `max_days`, no overlap with `existing` (pending or approved) leave.
/// Returns the number of leave days.
pub fn check_request(
    draft: &LeaveRequestDraft,
    today: NaiveDate,
    existing: &[ExistingLeave],
    policy: &LeavePolicy,
) -> Result<u32, LeaveRuleError> {
    if draft.reason.trim().is_empty() {
        return Err(LeaveRuleError::MissingReason);
    }
    if draft.end < draft.start {
        return Err(LeaveRuleError::EndBeforeStart);
    }
    if draft.start < today {
        return Err(LeaveRuleError::StartInPast);
    }
    let days = leave_days(draft.start, draft.end);
    if days > policy.max_days {
        return Err(LeaveRuleError::TooLong {
            days,
            max: policy.max_days,
        });
    }
    if let Some(e) = existing
        .iter()
        .find(|e| e.start <= draft.end && draft.start <= e.end)
    {
        return Err(LeaveRuleError::Overlaps {
            start: e.start,
            end: e.end,
        });
    }
    Ok(days)
}

/// The levels a request of `days` days must pass: those of the first rule with
/// `days <= up_to_days` (or unbounded). Past every bounded rule of an invalid policy the
/// last (most demanding) rule applies, so a misconfiguration never lowers the bar.
pub fn approval_levels(policy: &LeavePolicy, days: u32) -> Vec<Level> {
    policy
        .chain
        .iter()
        .find(|r| r.up_to_days.is_none_or(|up| days <= up))
        .or(policy.chain.last())
        .map(|r| r.levels.clone())
        .unwrap_or_default()
}

/// One decision of the resolved chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStep {
    /// The level of `unit`, i.e. where the decision is actually taken.
    pub level: Level,
    /// The cadre's ancestor unit whose approvers decide this step.
    pub unit: UnitPath,
    /// Required levels that had no approver (or no unit above the cadre) and were passed
    /// up to this step, lower first. Empty when the step is at its own level.
    pub escalated_from: Vec<Level>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("no approval levels required")]
    NoLevels,
    #[error("no approver at the {level} level or any unit above it")]
    NoApprover { level: Level },
}

/// Maps required `levels` onto the cadre's ancestor units.
///
/// For each level the cadre's ancestor at that level decides; a cadre attached higher up
/// (e.g. to a county) starts at his own unit. A unit without an approver passes the step
/// up to the nearest ancestor that has one, and the skipped levels are recorded. Steps
/// that land on the same unit are merged, so nobody is asked twice; steps run from lower
/// to higher unit. No approver up to the city is an error: leave must never be granted
/// without a decision.
pub fn resolve_chain(
    levels: &[Level],
    cadre_unit: &UnitPath,
    has_approver: impl Fn(&UnitPath) -> bool,
) -> Result<Vec<ChainStep>, ChainError> {
    // Lower unit first, each once, whatever order the caller passed.
    let mut required = levels.to_vec();
    required.sort_by_key(|l| std::cmp::Reverse(l.depth()));
    required.dedup();
    if required.is_empty() {
        return Err(ChainError::NoLevels);
    }

    // The cadre's unit and its ancestors, city first; index = depth - 1.
    let ancestors: Vec<UnitPath> = cadre_unit.prefixes().collect();
    let mut steps: Vec<ChainStep> = Vec::new();
    for level in required {
        let start_depth = level.depth().min(ancestors.len());
        let found = ancestors[..start_depth]
            .iter()
            .rev()
            .find(|unit| has_approver(unit))
            .ok_or(ChainError::NoApprover { level })?;
        let decided_at = found.level();
        // Every required-or-missing level from `level` up to (not including) the one
        // that decides was passed over.
        let escalated_from: Vec<Level> = Level::ALL
            .iter()
            .rev()
            .copied()
            .filter(|l| l.depth() <= level.depth() && l.depth() > decided_at.depth())
            .collect();
        match steps.last_mut() {
            // Units only move up along the chain, so "not higher" means the same unit.
            Some(last) if found.segments().len() >= last.unit.segments().len() => {
                for l in escalated_from {
                    if !last.escalated_from.contains(&l) {
                        last.escalated_from.push(l);
                    }
                }
                last.escalated_from
                    .sort_by_key(|l| std::cmp::Reverse(l.depth()));
            }
            _ => steps.push(ChainStep {
                level: decided_at,
                unit: found.clone(),
                escalated_from,
            }),
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn u(s: &str) -> UnitPath {
        UnitPath::parse(s).unwrap()
    }

    const VILLAGE: &str = "贵阳市/乌当区/新堡乡/谷溪村";
    const TOWNSHIP: &str = "贵阳市/乌当区/新堡乡";
    const COUNTY: &str = "贵阳市/乌当区";
    const CITY: &str = "贵阳市";

    use Level::{City, County, Township};

    fn rule(up_to_days: Option<u32>, levels: &[Level]) -> ChainRule {
        ChainRule {
            up_to_days,
            levels: levels.to_vec(),
        }
    }

    fn approvers(units: &[&str]) -> impl Fn(&UnitPath) -> bool {
        let set: HashSet<UnitPath> = units.iter().map(|s| u(s)).collect();
        move |unit| set.contains(unit)
    }

    fn step(level: Level, unit: &str, escalated_from: &[Level]) -> ChainStep {
        ChainStep {
            level,
            unit: u(unit),
            escalated_from: escalated_from.to_vec(),
        }
    }

    #[test]
    fn default_policy_is_valid_and_matches_spec() {
        let p = LeavePolicy::default();
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.max_days, 30);
        let cases: [(u32, &[Level]); 7] = [
            (1, &[Township]),
            (2, &[Township]),
            (3, &[Township, County]),
            (7, &[Township, County]),
            (8, &[Township, County, City]),
            (30, &[Township, County, City]),
            (365, &[Township, County, City]),
        ];
        for (days, want) in cases {
            assert_eq!(approval_levels(&p, days), want, "{days} days");
        }
    }

    #[test]
    fn custom_policy_thresholds_apply() {
        let p = LeavePolicy {
            max_days: 15,
            chain: vec![rule(Some(3), &[Township]), rule(None, &[County])],
        };
        assert_eq!(p.validate(), Ok(()));
        let cases: [(u32, &[Level]); 4] = [
            (1, &[Township]),
            (3, &[Township]),
            (4, &[County]),
            (15, &[County]),
        ];
        for (days, want) in cases {
            assert_eq!(approval_levels(&p, days), want, "{days} days");
        }
    }

    #[test]
    fn beyond_every_bounded_rule_the_last_rule_applies() {
        let p = LeavePolicy {
            max_days: 5,
            chain: vec![
                rule(Some(2), &[Township]),
                rule(Some(5), &[Township, County]),
            ],
        };
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(approval_levels(&p, 9), vec![Township, County]);
        let empty = LeavePolicy {
            max_days: 5,
            chain: vec![],
        };
        assert_eq!(approval_levels(&empty, 1), Vec::<Level>::new());
    }

    #[test]
    fn policy_validation_errors() {
        let base = LeavePolicy::default();
        let with_chain = |chain: Vec<ChainRule>| LeavePolicy {
            max_days: 30,
            chain,
        };
        let cases = [
            (
                LeavePolicy {
                    max_days: 0,
                    ..base.clone()
                },
                PolicyError::ZeroMaxDays,
            ),
            (with_chain(vec![]), PolicyError::EmptyChain),
            (
                with_chain(vec![rule(Some(2), &[Township]), rule(None, &[])]),
                PolicyError::NoLevels { rule: 1 },
            ),
            (
                with_chain(vec![rule(None, &[Level::Village, Township])]),
                PolicyError::VillageLevel { rule: 0 },
            ),
            (
                with_chain(vec![rule(None, &[County, Township])]),
                PolicyError::LevelsOutOfOrder { rule: 0 },
            ),
            (
                with_chain(vec![rule(None, &[Township, Township])]),
                PolicyError::LevelsOutOfOrder { rule: 0 },
            ),
            (
                with_chain(vec![rule(None, &[City, County])]),
                PolicyError::LevelsOutOfOrder { rule: 0 },
            ),
            (
                with_chain(vec![rule(Some(0), &[Township]), rule(None, &[County])]),
                PolicyError::ZeroThreshold { rule: 0 },
            ),
            (
                with_chain(vec![
                    rule(Some(7), &[Township]),
                    rule(Some(3), &[County]),
                    rule(None, &[City]),
                ]),
                PolicyError::ThresholdsNotAscending { rule: 1 },
            ),
            (
                with_chain(vec![
                    rule(Some(3), &[Township]),
                    rule(Some(3), &[County]),
                    rule(None, &[City]),
                ]),
                PolicyError::ThresholdsNotAscending { rule: 1 },
            ),
            (
                with_chain(vec![rule(None, &[Township]), rule(Some(5), &[County])]),
                PolicyError::UnboundedNotLast { rule: 0 },
            ),
            (
                with_chain(vec![rule(Some(2), &[Township]), rule(Some(7), &[County])]),
                PolicyError::DoesNotCoverMax {
                    covered: 7,
                    max_days: 30,
                },
            ),
        ];
        for (policy, want) in cases {
            assert_eq!(policy.validate(), Err(want), "{policy:?}");
        }
        let exact = with_chain(vec![rule(Some(2), &[Township]), rule(Some(30), &[County])]);
        assert_eq!(exact.validate(), Ok(()));
        let city_only = with_chain(vec![rule(None, &[City])]);
        assert_eq!(city_only.validate(), Ok(()));
    }

    #[test]
    fn policy_deserializes_from_level_names() {
        let text = r#"
            max_days = 20
            [[chain]]
            up_to_days = 3
            levels = ["township"]
            [[chain]]
            levels = ["township", "county"]
        "#;
        let p: LeavePolicy = toml::from_str(text).unwrap();
        assert_eq!(
            p,
            LeavePolicy {
                max_days: 20,
                chain: vec![rule(Some(3), &[Township]), rule(None, &[Township, County])],
            }
        );
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn policy_missing_fields_fall_back_to_default() {
        let p: LeavePolicy = toml::from_str("max_days = 10").unwrap();
        assert_eq!(p.chain, LeavePolicy::default().chain);
        assert_eq!(p.max_days, 10);
        let p: LeavePolicy = toml::from_str("").unwrap();
        assert_eq!(p, LeavePolicy::default());
    }

    #[test]
    fn policy_with_unknown_level_or_field_is_refused() {
        let bad_level = "[[chain]]\nlevels = [\"province\"]";
        let err = toml::from_str::<LeavePolicy>(bad_level).unwrap_err();
        assert!(err.to_string().contains("province"), "{err}");
        let typo = "max_day = 10";
        assert!(toml::from_str::<LeavePolicy>(typo).is_err());
    }

    #[test]
    fn policy_serializes_back_to_the_same_policy() {
        let p = LeavePolicy::default();
        let value = toml::Value::try_from(&p).unwrap();
        let levels = value
            .get("chain")
            .and_then(|c| c.get(0))
            .and_then(|r| r.get("levels"))
            .cloned();
        assert_eq!(
            levels,
            Some(toml::Value::Array(vec!["township".into()])),
            "{value:?}"
        );
        assert_eq!(value.try_into::<LeavePolicy>().unwrap(), p);
    }

    #[test]
    fn leave_days_counts_both_ends() {
        let cases = [
            ("2026-12-01", "2026-12-01", 1),
            ("2026-12-01", "2026-12-02", 2),
            ("2026-12-30", "2027-01-02", 4),
            ("2028-02-28", "2028-03-01", 3),
            ("2026-12-02", "2026-12-01", 0),
        ];
        for (start, end, want) in cases {
            assert_eq!(leave_days(d(start), d(end)), want, "{start}..{end}");
        }
    }

    fn draft(start: &str, end: &str, reason: &str) -> LeaveRequestDraft {
        LeaveRequestDraft {
            start: d(start),
            end: d(end),
            reason: reason.to_string(),
        }
    }

    #[test]
    fn request_rules_each_refuse() {
        let today = d("2026-12-01");
        let p = LeavePolicy::default();
        let existing = [
            ExistingLeave {
                start: d("2026-12-10"),
                end: d("2026-12-12"),
            },
            ExistingLeave {
                start: d("2026-12-20"),
                end: d("2026-12-20"),
            },
        ];
        let overlap_first = LeaveRuleError::Overlaps {
            start: d("2026-12-10"),
            end: d("2026-12-12"),
        };
        let cases = [
            (
                draft("2026-12-02", "2026-12-03", ""),
                Err(LeaveRuleError::MissingReason),
            ),
            (
                draft("2026-12-02", "2026-12-03", " \t\n"),
                Err(LeaveRuleError::MissingReason),
            ),
            (
                draft("2026-12-03", "2026-12-02", "家事"),
                Err(LeaveRuleError::EndBeforeStart),
            ),
            (
                draft("2026-11-30", "2026-12-02", "家事"),
                Err(LeaveRuleError::StartInPast),
            ),
            (
                draft("2026-12-02", "2027-01-01", "家事"),
                Err(LeaveRuleError::TooLong { days: 31, max: 30 }),
            ),
            (
                draft("2026-12-08", "2026-12-10", "家事"),
                Err(overlap_first),
            ),
            (
                draft("2026-12-12", "2026-12-13", "家事"),
                Err(overlap_first),
            ),
            (
                draft("2026-12-09", "2026-12-21", "家事"),
                Err(overlap_first),
            ),
            (
                draft("2026-12-20", "2026-12-20", "家事"),
                Err(LeaveRuleError::Overlaps {
                    start: d("2026-12-20"),
                    end: d("2026-12-20"),
                }),
            ),
            (draft("2026-12-01", "2026-12-01", "家事"), Ok(1)),
            (draft("2026-12-13", "2026-12-19", "看病"), Ok(7)),
            (draft("2027-01-01", "2027-01-30", "探亲"), Ok(30)),
            (draft("2026-12-21", "2026-12-22", "x"), Ok(2)),
        ];
        for (req, want) in cases {
            assert_eq!(check_request(&req, today, &existing, &p), want, "{req:?}");
        }
    }

    #[test]
    fn request_rules_are_checked_in_order() {
        let today = d("2026-12-01");
        let p = LeavePolicy::default();
        let existing = [ExistingLeave {
            start: d("2026-11-01"),
            end: d("2027-03-01"),
        }];
        // Breaks every rule: the reason is reported first.
        let cases = [
            (
                draft("2026-11-20", "2026-11-10", ""),
                LeaveRuleError::MissingReason,
            ),
            (
                draft("2026-11-20", "2026-11-10", "r"),
                LeaveRuleError::EndBeforeStart,
            ),
            (
                draft("2026-11-20", "2027-02-10", "r"),
                LeaveRuleError::StartInPast,
            ),
            (
                draft("2026-12-20", "2027-02-10", "r"),
                LeaveRuleError::TooLong { days: 53, max: 30 },
            ),
            (
                draft("2026-12-20", "2026-12-21", "r"),
                LeaveRuleError::Overlaps {
                    start: d("2026-11-01"),
                    end: d("2027-03-01"),
                },
            ),
        ];
        for (req, want) in cases {
            assert_eq!(
                check_request(&req, today, &existing, &p),
                Err(want),
                "{req:?}"
            );
        }
    }

    #[test]
    fn chains_at_default_thresholds_with_all_approvers() {
        let p = LeavePolicy::default();
        let all = approvers(&[TOWNSHIP, COUNTY, CITY]);
        let t = step(Township, TOWNSHIP, &[]);
        let c = step(County, COUNTY, &[]);
        let ci = step(City, CITY, &[]);
        let cases = [
            (2, vec![t.clone()]),
            (3, vec![t.clone(), c.clone()]),
            (7, vec![t.clone(), c.clone()]),
            (8, vec![t.clone(), c.clone(), ci.clone()]),
        ];
        for (days, want) in cases {
            let levels = approval_levels(&p, days);
            assert_eq!(
                resolve_chain(&levels, &u(VILLAGE), &all),
                Ok(want),
                "{days} days"
            );
        }
    }

    #[test]
    fn custom_policy_chain_resolves() {
        let p = LeavePolicy {
            max_days: 30,
            chain: vec![rule(Some(3), &[Township]), rule(None, &[County])],
        };
        let all = approvers(&[TOWNSHIP, COUNTY, CITY]);
        let cases = [
            (3, vec![step(Township, TOWNSHIP, &[])]),
            (4, vec![step(County, COUNTY, &[])]),
        ];
        for (days, want) in cases {
            let levels = approval_levels(&p, days);
            assert_eq!(
                resolve_chain(&levels, &u(VILLAGE), &all),
                Ok(want),
                "{days} days"
            );
        }
    }

    #[test]
    fn missing_approvers_escalate_and_are_recorded() {
        let full = [Township, County, City];
        let cases = [
            (
                "no township approver: merged into county",
                &[COUNTY, CITY][..],
                &[Township, County][..],
                vec![step(County, COUNTY, &[Township])],
            ),
            (
                "no township approver, one-level chain",
                &[COUNTY, CITY],
                &[Township],
                vec![step(County, COUNTY, &[Township])],
            ),
            (
                "no county approver: county step goes to city",
                &[TOWNSHIP, CITY],
                &full,
                vec![step(Township, TOWNSHIP, &[]), step(City, CITY, &[County])],
            ),
            (
                "only the city has approvers",
                &[CITY],
                &full,
                vec![step(City, CITY, &[Township, County])],
            ),
            (
                "no city approver but city not required",
                &[TOWNSHIP, COUNTY],
                &[Township, County],
                vec![step(Township, TOWNSHIP, &[]), step(County, COUNTY, &[])],
            ),
        ];
        for (name, units, levels, want) in cases {
            assert_eq!(
                resolve_chain(levels, &u(VILLAGE), approvers(units)),
                Ok(want),
                "{name}"
            );
        }
    }

    #[test]
    fn no_approver_up_to_the_city_is_an_error() {
        let cases = [
            (&[][..], &[Township][..], Township),
            (&[TOWNSHIP], &[Township, County, City], County),
            (&[TOWNSHIP, COUNTY], &[Township, County, City], City),
            // Other branches' approvers do not count.
            (
                &["贵阳市/花溪区", "贵阳市/乌当区/东风镇"],
                &[Township],
                Township,
            ),
        ];
        for (units, levels, level) in cases {
            assert_eq!(
                resolve_chain(levels, &u(VILLAGE), approvers(units)),
                Err(ChainError::NoApprover { level }),
                "{units:?}"
            );
        }
        assert_eq!(
            resolve_chain(&[], &u(VILLAGE), approvers(&[CITY])),
            Err(ChainError::NoLevels)
        );
    }

    #[test]
    fn cadre_attached_above_a_level_starts_at_his_own_unit() {
        let all = approvers(&[COUNTY, CITY]);
        let cases = [
            (
                COUNTY,
                &[Township][..],
                vec![step(County, COUNTY, &[Township])],
            ),
            (
                COUNTY,
                &[Township, County, City],
                vec![step(County, COUNTY, &[Township]), step(City, CITY, &[])],
            ),
            (
                CITY,
                &[Township, County],
                vec![step(City, CITY, &[Township, County])],
            ),
        ];
        for (cadre, levels, want) in cases {
            assert_eq!(resolve_chain(levels, &u(cadre), &all), Ok(want), "{cadre}");
        }
    }

    #[test]
    fn a_township_cadre_is_decided_by_his_township() {
        let all = approvers(&[TOWNSHIP, COUNTY]);
        assert_eq!(
            resolve_chain(&[Township, County], &u(TOWNSHIP), all),
            Ok(vec![
                step(Township, TOWNSHIP, &[]),
                step(County, COUNTY, &[])
            ])
        );
    }

    #[test]
    fn level_order_given_by_caller_does_not_matter() {
        let all = approvers(&[TOWNSHIP, COUNTY, CITY]);
        let sorted = resolve_chain(&[Township, County, City], &u(VILLAGE), &all);
        let shuffled = resolve_chain(&[City, Township, County, Township], &u(VILLAGE), &all);
        assert_eq!(sorted, shuffled);
    }
}
