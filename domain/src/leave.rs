//! Leave: the rules a request must meet, and the approval chain it goes through.
//!
//! The chain is configured as a table of day thresholds and levels because provinces
//! differ; [`resolve_chain`] maps the required levels onto the cadre's actual ancestor
//! units, escalating past units that have no approver.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::notify::Notification;
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

/// The one "no approver here, go up" walk: who decides a step required at `level` for
/// someone in `unit`. It starts at `unit`'s ancestor at `level` (or `unit` itself when it is
/// higher) and goes up to the nearest unit with an approver; the levels passed over on the
/// way (from `level` up to, not including, the deciding one) come back lower first. Used
/// when the chain is resolved at submission and again whenever a step opens.
pub fn pass_up(
    level: Level,
    unit: &UnitPath,
    has_approver: impl Fn(&UnitPath) -> bool,
) -> Result<(UnitPath, Vec<Level>), ChainError> {
    // The unit and its ancestors, city first; index = depth - 1.
    let ancestors: Vec<UnitPath> = unit.prefixes().collect();
    let start_depth = level.depth().min(ancestors.len());
    let found = ancestors[..start_depth]
        .iter()
        .rev()
        .find(|u| has_approver(u))
        .ok_or(ChainError::NoApprover { level })?;
    let decided_at = found.level();
    let passed: Vec<Level> = Level::ALL
        .iter()
        .rev()
        .copied()
        .filter(|l| l.depth() <= level.depth() && l.depth() > decided_at.depth())
        .collect();
    Ok((found.clone(), passed))
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

    let mut steps: Vec<ChainStep> = Vec::new();
    for level in required {
        let (found, escalated_from) = pass_up(level, cadre_unit, &has_approver)?;
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
                level: found.level(),
                unit: found,
                escalated_from,
            }),
        }
    }
    Ok(steps)
}

// ---------------------------------------------------------------------------------------
// Decisions: a request's state in, a transition (what to write, what to send) out.
// ---------------------------------------------------------------------------------------

/// Who acts: a person's id on the roster.
pub type ActorId = i64;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl LeaveStatus {
    pub const ALL: [LeaveStatus; 4] = [
        LeaveStatus::Pending,
        LeaveStatus::Approved,
        LeaveStatus::Rejected,
        LeaveStatus::Cancelled,
    ];

    /// The stored name (`pending` …).
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveStatus::Pending => "pending",
            LeaveStatus::Approved => "approved",
            LeaveStatus::Rejected => "rejected",
            LeaveStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<LeaveStatus> {
        LeaveStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where one level of a request stands: `Waiting` until it opens, `Pending` while its
/// approvers hold cards, then decided (or cancelled with the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Waiting,
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl StepStatus {
    pub const ALL: [StepStatus; 5] = [
        StepStatus::Waiting,
        StepStatus::Pending,
        StepStatus::Approved,
        StepStatus::Rejected,
        StepStatus::Cancelled,
    ];

    /// The stored name (`waiting` …).
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Waiting => "waiting",
            StepStatus::Pending => "pending",
            StepStatus::Approved => "approved",
            StepStatus::Rejected => "rejected",
            StepStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<StepStatus> {
        StepStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Why a leave operation changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaveRefusal {
    /// A request breaks a rule (any but the overlap, which is [`LeaveRefusal::Overlaps`]).
    #[error(transparent)]
    Rule(LeaveRuleError),
    #[error("overlaps leave from {start} to {end}")]
    Overlaps { start: NaiveDate, end: NaiveDate },
    /// Nobody up to the city could decide the request.
    #[error("no approver at the {level} level or any unit above it")]
    NoApprover { level: Level },
    #[error("no such request")]
    NotFound,
    #[error("not the presser's request or card")]
    NotYours,
    /// The level was decided already (first decision wins), or the request moved on.
    #[error("already decided")]
    AlreadyDecided {
        status: LeaveStatus,
        by: Option<String>,
    },
    #[error("request is no longer pending")]
    NotPending,
}

impl From<LeaveRuleError> for LeaveRefusal {
    fn from(e: LeaveRuleError) -> Self {
        match e {
            LeaveRuleError::Overlaps { start, end } => LeaveRefusal::Overlaps { start, end },
            other => LeaveRefusal::Rule(other),
        }
    }
}

impl From<ChainError> for LeaveRefusal {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::NoApprover { level } => LeaveRefusal::NoApprover { level },
            // A valid policy always names levels; an empty rule must not grant leave.
            ChainError::NoLevels => LeaveRefusal::NoApprover {
                level: Level::Township,
            },
        }
    }
}

/// The outcome of a decision, for the decider's confirmation and the cadre's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    Forwarded,
    Approved,
    Rejected,
}

/// One level of a request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    pub step: i64,
    pub level: Level,
    pub unit: UnitPath,
    pub escalated_from: Vec<Level>,
    pub status: StepStatus,
    /// The name of who decided it.
    pub decided_by: Option<String>,
}

/// A card sent to `approver` for `step`. `authorised`: he is still an active approver, so
/// the card lets him decide (a card of someone since deactivated only shows the state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Card {
    pub step: i64,
    pub approver: ActorId,
    pub authorised: bool,
}

/// Everything a decision about one request looks at, loaded under the request's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveState {
    pub id: i64,
    pub owner: ActorId,
    pub status: LeaveStatus,
    /// The level deciding now (or that decided last).
    pub step: i64,
    pub steps: Vec<StepState>,
    pub cards: Vec<Card>,
    /// Approvers who can receive a card (active, registered), by unit, for the units the
    /// request's steps can pass up to. Units without any are absent.
    pub approvers: Approvers,
}

/// Approvers by unit, each list in a stable order.
pub type Approvers = std::collections::HashMap<UnitPath, Vec<ActorId>>;

/// What an approver does with a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve { step: i64 },
    Reject { step: i64, reason: String },
}

/// A change of one step's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepChange {
    Decided {
        step: i64,
        status: StepStatus,
        by: ActorId,
    },
    /// The step opens at `unit` (where [`pass_up`] found an approver), now pending.
    Opened {
        step: i64,
        level: Level,
        unit: UnitPath,
        escalated_from: Vec<Level>,
    },
    Cancelled {
        step: i64,
    },
}

/// A notification to queue for a person, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub to: ActorId,
    pub notification: Notification,
    /// Set for cards: a card queued again is sent as an edit of the one already sent.
    pub dedup_key: Option<String>,
}

impl Notice {
    /// The card of `request_id` at `step` for `approver`, one per approver and step.
    pub fn card(request_id: i64, step: i64, approver: ActorId) -> Notice {
        Notice {
            to: approver,
            notification: Notification::LeaveCard {
                request_id,
                step,
                approver_id: approver,
            },
            dedup_key: Some(format!("leave-card:{request_id}:{step}:{approver}")),
        }
    }

    fn to_cadre(to: ActorId, notification: Notification) -> Notice {
        Notice {
            to,
            notification,
            dedup_key: None,
        }
    }
}

/// What a decision writes and sends. Notices go out in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The request's status and current step afterwards.
    pub status: LeaveStatus,
    pub step: i64,
    /// Set on rejection.
    pub reject_reason: Option<String>,
    pub step_changes: Vec<StepChange>,
    /// Cards to record (the record of who may decide), as (step, approver).
    pub new_cards: Vec<(i64, ActorId)>,
    pub notices: Vec<Notice>,
    /// The decision's outcome; `None` for a cancellation.
    pub decided: Option<Decided>,
    /// A step opened with nobody up to the city to decide it: the request waits.
    pub unattended: Option<i64>,
}

/// Who decides `step` when it opens: [`pass_up`] from its unit (approvers may have gone
/// since submission), keeping the levels already passed over.
fn open_step(step: &StepState, approvers: &Approvers) -> Option<(StepChange, Vec<ActorId>)> {
    let has = |u: &UnitPath| approvers.get(u).is_some_and(|a| !a.is_empty());
    let (unit, passed) = pass_up(step.unit.level(), &step.unit, has).ok()?;
    let mut escalated_from = step.escalated_from.clone();
    for l in passed {
        if !escalated_from.contains(&l) {
            escalated_from.push(l);
        }
    }
    escalated_from.sort_by_key(|l| std::cmp::Reverse(l.depth()));
    let cards = approvers.get(&unit).cloned().unwrap_or_default();
    let change = StepChange::Opened {
        step: step.step,
        level: unit.level(),
        unit,
        escalated_from,
    };
    Some((change, cards))
}

/// The card notices of every card of `step` (an edit where already sent).
fn refresh(state: &LeaveState, step: i64) -> impl Iterator<Item = Notice> + '_ {
    let mut holders: Vec<ActorId> = state
        .cards
        .iter()
        .filter(|c| c.step == step)
        .map(|c| c.approver)
        .collect();
    holders.sort_unstable();
    holders.dedup();
    holders
        .into_iter()
        .map(move |a| Notice::card(state.id, step, a))
}

/// An approver's 批准 or 驳回 on the card of `step`. Refused unless he holds an authorised
/// card of that step (`NotYours`), and unless that step is the one deciding now
/// (`AlreadyDecided`, naming who decided it). Approval opens the next level, or approves
/// the request at the last; rejection ends it. Every card of the step is refreshed and the
/// cadre told.
pub fn decide(
    state: &LeaveState,
    actor: ActorId,
    action: Decision,
) -> Result<Transition, LeaveRefusal> {
    let step = match &action {
        Decision::Approve { step } | Decision::Reject { step, .. } => *step,
    };
    let holds = state
        .cards
        .iter()
        .any(|c| c.step == step && c.approver == actor && c.authorised);
    if !holds {
        return Err(LeaveRefusal::NotYours);
    }
    if state.status != LeaveStatus::Pending || state.step != step {
        let by = state
            .steps
            .iter()
            .find(|s| s.step == step)
            .and_then(|s| s.decided_by.clone());
        return Err(LeaveRefusal::AlreadyDecided {
            status: state.status,
            by,
        });
    }
    let mut t = Transition {
        status: state.status,
        step,
        reject_reason: None,
        step_changes: vec![],
        new_cards: vec![],
        notices: vec![],
        decided: None,
        unattended: None,
    };
    let decided = match action {
        Decision::Reject { reason, .. } => {
            t.step_changes.push(StepChange::Decided {
                step,
                status: StepStatus::Rejected,
                by: actor,
            });
            t.status = LeaveStatus::Rejected;
            t.reject_reason = Some(reason);
            Decided::Rejected
        }
        Decision::Approve { .. } => {
            t.step_changes.push(StepChange::Decided {
                step,
                status: StepStatus::Approved,
                by: actor,
            });
            match state.steps.iter().find(|s| s.step == step + 1) {
                Some(next) => {
                    t.step = next.step;
                    match open_step(next, &state.approvers) {
                        Some((change, cards)) => {
                            t.step_changes.push(change);
                            for a in cards {
                                t.new_cards.push((next.step, a));
                                t.notices.push(Notice::card(state.id, next.step, a));
                            }
                        }
                        None => t.unattended = Some(next.step),
                    }
                    Decided::Forwarded
                }
                None => {
                    t.status = LeaveStatus::Approved;
                    Decided::Approved
                }
            }
        }
    };
    t.notices.extend(refresh(state, step));
    let request_id = state.id;
    let note = match decided {
        Decided::Forwarded => Notification::LeaveForwarded { request_id },
        Decided::Approved => Notification::LeaveApproved { request_id },
        Decided::Rejected => Notification::LeaveRejected { request_id },
    };
    t.notices.push(Notice::to_cadre(state.owner, note));
    t.decided = Some(decided);
    Ok(t)
}

/// The cadre withdraws his own pending request; the open cards are refreshed to say so.
pub fn cancel(state: &LeaveState, actor: ActorId) -> Result<Transition, LeaveRefusal> {
    if state.owner != actor {
        return Err(LeaveRefusal::NotYours);
    }
    if state.status != LeaveStatus::Pending {
        return Err(LeaveRefusal::NotPending);
    }
    Ok(Transition {
        status: LeaveStatus::Cancelled,
        step: state.step,
        reject_reason: None,
        step_changes: vec![StepChange::Cancelled { step: state.step }],
        new_cards: vec![],
        notices: refresh(state, state.step).collect(),
        decided: None,
        unattended: None,
    })
}

/// What a submission needs to know, loaded in its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitState {
    pub cadre_unit: UnitPath,
    /// The person's pending and approved leave.
    pub existing: Vec<ExistingLeave>,
    /// Approvers by unit, for the cadre's unit and its ancestors.
    pub approvers: Approvers,
}

/// A request accepted: its length, its chain (step 0 opened) and the first cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub days: u32,
    pub chain: Vec<ChainStep>,
    /// Approvers of step 0, who get a card each.
    pub first_cards: Vec<ActorId>,
}

/// A cadre's request: the rules ([`check_request`]), then the chain ([`resolve_chain`])
/// over the approvers there are.
pub fn submit(
    draft: &LeaveRequestDraft,
    today: NaiveDate,
    state: &SubmitState,
    policy: &LeavePolicy,
) -> Result<Submission, LeaveRefusal> {
    let days = check_request(draft, today, &state.existing, policy)?;
    let levels = approval_levels(policy, days);
    let has = |u: &UnitPath| state.approvers.get(u).is_some_and(|a| !a.is_empty());
    let chain = resolve_chain(&levels, &state.cadre_unit, has)?;
    let first_cards = chain
        .first()
        .and_then(|s| state.approvers.get(&s.unit))
        .cloned()
        .unwrap_or_default();
    Ok(Submission {
        days,
        chain,
        first_cards,
    })
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

    // ---- decisions ---------------------------------------------------------------------

    const CADRE: ActorId = 1;
    const LI: ActorId = 2; // township
    const SUN: ActorId = 6; // township, second approver
    const WANG: ActorId = 3; // county
    const ZHAO: ActorId = 4; // city
    const GONE: ActorId = 7; // township, deactivated since his card was sent
    const REQ: i64 = 10;

    fn all_approvers() -> Approvers {
        [
            (u(TOWNSHIP), vec![LI, SUN]),
            (u(COUNTY), vec![WANG]),
            (u(CITY), vec![ZHAO]),
        ]
        .into_iter()
        .collect()
    }

    fn st(n: i64, level: Level, unit: &str, status: StepStatus, by: Option<&str>) -> StepState {
        StepState {
            step: n,
            level,
            unit: u(unit),
            escalated_from: vec![],
            status,
            decided_by: by.map(str::to_string),
        }
    }

    fn card(step: i64, approver: ActorId) -> Card {
        Card {
            step,
            approver,
            authorised: approver != GONE,
        }
    }

    /// A two-level request (township, county) pending at the township.
    fn at_township() -> LeaveState {
        LeaveState {
            id: REQ,
            owner: CADRE,
            status: LeaveStatus::Pending,
            step: 0,
            steps: vec![
                st(0, Township, TOWNSHIP, StepStatus::Pending, None),
                st(1, County, COUNTY, StepStatus::Waiting, None),
            ],
            cards: vec![card(0, LI), card(0, SUN), card(0, GONE)],
            approvers: all_approvers(),
        }
    }

    /// The same request after 李四 approved: pending at the county.
    fn at_county() -> LeaveState {
        let mut s = at_township();
        s.step = 1;
        s.steps[0] = st(0, Township, TOWNSHIP, StepStatus::Approved, Some("李四"));
        s.steps[1].status = StepStatus::Pending;
        s.cards.push(card(1, WANG));
        s
    }

    fn approve(step: i64) -> Decision {
        Decision::Approve { step }
    }

    fn reject(step: i64) -> Decision {
        Decision::Reject {
            step,
            reason: "任务重".into(),
        }
    }

    fn refreshed(step: i64, approvers: &[ActorId]) -> Vec<Notice> {
        approvers
            .iter()
            .map(|a| Notice::card(REQ, step, *a))
            .collect()
    }

    fn told(n: Notification) -> Notice {
        Notice {
            to: CADRE,
            notification: n,
            dedup_key: None,
        }
    }

    #[test]
    fn decisions_move_the_request() {
        let forwarded = Transition {
            status: LeaveStatus::Pending,
            step: 1,
            reject_reason: None,
            step_changes: vec![
                StepChange::Decided {
                    step: 0,
                    status: StepStatus::Approved,
                    by: LI,
                },
                StepChange::Opened {
                    step: 1,
                    level: County,
                    unit: u(COUNTY),
                    escalated_from: vec![],
                },
            ],
            new_cards: vec![(1, WANG)],
            notices: [
                refreshed(1, &[WANG]),
                refreshed(0, &[LI, SUN, GONE]),
                vec![told(Notification::LeaveForwarded { request_id: REQ })],
            ]
            .concat(),
            decided: Some(Decided::Forwarded),
            unattended: None,
        };
        let approved = Transition {
            status: LeaveStatus::Approved,
            step: 1,
            reject_reason: None,
            step_changes: vec![StepChange::Decided {
                step: 1,
                status: StepStatus::Approved,
                by: WANG,
            }],
            new_cards: vec![],
            notices: [
                refreshed(1, &[WANG]),
                vec![told(Notification::LeaveApproved { request_id: REQ })],
            ]
            .concat(),
            decided: Some(Decided::Approved),
            unattended: None,
        };
        let rejected = |step, by, holders: &[ActorId]| Transition {
            status: LeaveStatus::Rejected,
            step,
            reject_reason: Some("任务重".into()),
            step_changes: vec![StepChange::Decided {
                step,
                status: StepStatus::Rejected,
                by,
            }],
            new_cards: vec![],
            notices: [
                refreshed(step, holders),
                vec![told(Notification::LeaveRejected { request_id: REQ })],
            ]
            .concat(),
            decided: Some(Decided::Rejected),
            unattended: None,
        };
        let cases = [
            (
                "township approves: on to the county",
                at_township(),
                LI,
                approve(0),
                forwarded,
            ),
            (
                "county approves the last level",
                at_county(),
                WANG,
                approve(1),
                approved,
            ),
            (
                "township rejects",
                at_township(),
                SUN,
                reject(0),
                rejected(0, SUN, &[LI, SUN, GONE]),
            ),
            (
                "county rejects",
                at_county(),
                WANG,
                reject(1),
                rejected(1, WANG, &[WANG]),
            ),
        ];
        for (name, state, actor, action, want) in cases {
            assert_eq!(decide(&state, actor, action), Ok(want), "{name}");
        }
    }

    #[test]
    fn a_step_without_approver_passes_up_when_it_opens() {
        let mut state = at_township();
        state.approvers.remove(&u(COUNTY));
        let t = decide(&state, LI, approve(0)).unwrap();
        assert_eq!(
            t.step_changes[1],
            StepChange::Opened {
                step: 1,
                level: City,
                unit: u(CITY),
                escalated_from: vec![County],
            }
        );
        assert_eq!(t.new_cards, vec![(1, ZHAO)]);
        assert_eq!(t.notices[0], Notice::card(REQ, 1, ZHAO));
        // Levels passed over at submission are kept.
        state.steps[1].escalated_from = vec![Township];
        let t = decide(&state, LI, approve(0)).unwrap();
        assert!(matches!(
            &t.step_changes[1],
            StepChange::Opened { escalated_from, .. } if *escalated_from == [Township, County]
        ));
        // Nobody up to the city: the request moves on and waits, the cadre is told.
        state.approvers.clear();
        let t = decide(&state, LI, approve(0)).unwrap();
        assert_eq!((t.step, t.unattended), (1, Some(1)));
        assert!(t.new_cards.is_empty());
        assert_eq!(t.step_changes.len(), 1);
        assert_eq!(t.decided, Some(Decided::Forwarded));
    }

    #[test]
    fn decisions_refused() {
        let mut cancelled = at_township();
        cancelled.status = LeaveStatus::Cancelled;
        cancelled.steps[0].status = StepStatus::Cancelled;
        let mut rejected = at_county();
        rejected.status = LeaveStatus::Rejected;
        rejected.steps[1] = st(1, County, COUNTY, StepStatus::Rejected, Some("王五"));
        let decided = |status, by: Option<&str>| LeaveRefusal::AlreadyDecided {
            status,
            by: by.map(str::to_string),
        };
        let cases = [
            (
                "county approver on the township card",
                at_township(),
                WANG,
                approve(0),
                LeaveRefusal::NotYours,
            ),
            (
                "the cadre himself",
                at_township(),
                CADRE,
                approve(0),
                LeaveRefusal::NotYours,
            ),
            (
                "the cadre rejecting",
                at_township(),
                CADRE,
                reject(0),
                LeaveRefusal::NotYours,
            ),
            (
                "a card of the next level, not yet opened",
                at_township(),
                LI,
                approve(1),
                LeaveRefusal::NotYours,
            ),
            (
                "a step that does not exist",
                at_township(),
                LI,
                approve(7),
                LeaveRefusal::NotYours,
            ),
            (
                "a deactivated approver's card",
                at_township(),
                GONE,
                approve(0),
                LeaveRefusal::NotYours,
            ),
            (
                "pressed again after approving",
                at_county(),
                LI,
                approve(0),
                decided(LeaveStatus::Pending, Some("李四")),
            ),
            (
                "the other township approver, too late",
                at_county(),
                SUN,
                reject(0),
                decided(LeaveStatus::Pending, Some("李四")),
            ),
            (
                "after the cadre cancelled",
                cancelled,
                LI,
                approve(0),
                decided(LeaveStatus::Cancelled, None),
            ),
            (
                "after the county rejected",
                rejected,
                WANG,
                approve(1),
                decided(LeaveStatus::Rejected, Some("王五")),
            ),
        ];
        for (name, state, actor, action, want) in cases {
            assert_eq!(decide(&state, actor, action), Err(want), "{name}");
        }
    }

    #[test]
    fn cancel_withdraws_a_pending_request_and_refreshes_its_cards() {
        let want = |step, holders: &[ActorId]| Transition {
            status: LeaveStatus::Cancelled,
            step,
            reject_reason: None,
            step_changes: vec![StepChange::Cancelled { step }],
            new_cards: vec![],
            notices: refreshed(step, holders),
            decided: None,
            unattended: None,
        };
        let mut approved = at_county();
        approved.status = LeaveStatus::Approved;
        let cases = [
            (
                "at the township",
                at_township(),
                CADRE,
                Ok(want(0, &[LI, SUN, GONE])),
            ),
            ("at the county", at_county(), CADRE, Ok(want(1, &[WANG]))),
            (
                "someone else's",
                at_township(),
                LI,
                Err(LeaveRefusal::NotYours),
            ),
            (
                "already approved",
                approved,
                CADRE,
                Err(LeaveRefusal::NotPending),
            ),
        ];
        for (name, state, actor, expected) in cases {
            assert_eq!(cancel(&state, actor), expected, "{name}");
        }
        let t = cancel(&at_township(), CADRE).unwrap();
        assert_eq!(
            cancel(
                &LeaveState {
                    status: t.status,
                    ..at_township()
                },
                CADRE
            ),
            Err(LeaveRefusal::NotPending),
            "cancelling twice"
        );
    }

    #[test]
    fn submission_applies_the_rules_then_the_chain() {
        let today = d("2026-12-01");
        let p = LeavePolicy::default();
        let state = |approvers: Approvers, existing: Vec<ExistingLeave>| SubmitState {
            cadre_unit: u(VILLAGE),
            existing,
            approvers,
        };
        let booked = vec![ExistingLeave {
            start: d("2026-12-10"),
            end: d("2026-12-12"),
        }];
        let ok = |days, chain: Vec<ChainStep>, first: &[ActorId]| {
            Ok(Submission {
                days,
                chain,
                first_cards: first.to_vec(),
            })
        };
        let no_township: Approvers = all_approvers()
            .into_iter()
            .filter(|(unit, _)| *unit != u(TOWNSHIP))
            .collect();
        let cases = [
            (
                "two days: the township",
                draft("2026-12-01", "2026-12-02", "家事"),
                state(all_approvers(), vec![]),
                ok(2, vec![step(Township, TOWNSHIP, &[])], &[LI, SUN]),
            ),
            (
                "four days: township then county",
                draft("2026-12-01", "2026-12-04", "家事"),
                state(all_approvers(), vec![]),
                ok(
                    4,
                    vec![step(Township, TOWNSHIP, &[]), step(County, COUNTY, &[])],
                    &[LI, SUN],
                ),
            ),
            (
                "no township approver: the county",
                draft("2026-12-01", "2026-12-01", "家事"),
                state(no_township, vec![]),
                ok(1, vec![step(County, COUNTY, &[Township])], &[WANG]),
            ),
            (
                "no approver at all",
                draft("2026-12-01", "2026-12-01", "家事"),
                state(Approvers::new(), vec![]),
                Err(LeaveRefusal::NoApprover { level: Township }),
            ),
            (
                "an empty approver list counts as none",
                draft("2026-12-01", "2026-12-01", "家事"),
                state([(u(TOWNSHIP), vec![])].into_iter().collect(), vec![]),
                Err(LeaveRefusal::NoApprover { level: Township }),
            ),
            (
                "overlap",
                draft("2026-12-12", "2026-12-13", "家事"),
                state(all_approvers(), booked.clone()),
                Err(LeaveRefusal::Overlaps {
                    start: d("2026-12-10"),
                    end: d("2026-12-12"),
                }),
            ),
            (
                "no reason",
                draft("2026-12-01", "2026-12-01", " "),
                state(all_approvers(), vec![]),
                Err(LeaveRefusal::Rule(LeaveRuleError::MissingReason)),
            ),
            (
                "in the past",
                draft("2026-11-30", "2026-12-01", "家事"),
                state(all_approvers(), vec![]),
                Err(LeaveRefusal::Rule(LeaveRuleError::StartInPast)),
            ),
            (
                "end before start",
                draft("2026-12-03", "2026-12-01", "家事"),
                state(all_approvers(), vec![]),
                Err(LeaveRefusal::Rule(LeaveRuleError::EndBeforeStart)),
            ),
            (
                "too long",
                draft("2026-12-01", "2027-01-15", "家事"),
                state(all_approvers(), vec![]),
                Err(LeaveRefusal::Rule(LeaveRuleError::TooLong {
                    days: 46,
                    max: 30,
                })),
            ),
            // The rules come before the chain: a broken rule is reported even with nobody to ask.
            (
                "rules first",
                draft("2026-11-30", "2026-12-01", "家事"),
                state(Approvers::new(), vec![]),
                Err(LeaveRefusal::Rule(LeaveRuleError::StartInPast)),
            ),
        ];
        for (name, req, s, want) in cases {
            assert_eq!(submit(&req, today, &s, &p), want, "{name}");
        }
    }

    #[test]
    fn pass_up_walks_to_the_nearest_unit_with_an_approver() {
        let cases = [
            (
                Township,
                VILLAGE,
                &[TOWNSHIP, COUNTY][..],
                Ok((u(TOWNSHIP), vec![])),
            ),
            (
                Township,
                VILLAGE,
                &[COUNTY],
                Ok((u(COUNTY), vec![Township])),
            ),
            (
                Township,
                VILLAGE,
                &[CITY],
                Ok((u(CITY), vec![Township, County])),
            ),
            (County, COUNTY, &[CITY], Ok((u(CITY), vec![County]))),
            (Township, COUNTY, &[COUNTY], Ok((u(COUNTY), vec![Township]))),
            (
                County,
                VILLAGE,
                &[TOWNSHIP],
                Err(ChainError::NoApprover { level: County }),
            ),
        ];
        for (level, from, units, want) in cases {
            assert_eq!(
                pass_up(level, &u(from), approvers(units)),
                want,
                "{level} from {from}"
            );
        }
    }

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for s in LeaveStatus::ALL {
            assert_eq!(LeaveStatus::parse(s.as_str()), Some(s));
        }
        for s in StepStatus::ALL {
            assert_eq!(StepStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(LeaveStatus::parse("waiting"), None);
        assert_eq!(StepStatus::parse("Pending"), None);
    }

    #[test]
    fn rule_errors_become_refusals_with_the_overlap_its_own() {
        let (start, end) = (d("2026-12-01"), d("2026-12-02"));
        assert_eq!(
            LeaveRefusal::from(LeaveRuleError::Overlaps { start, end }),
            LeaveRefusal::Overlaps { start, end }
        );
        assert_eq!(
            LeaveRefusal::from(LeaveRuleError::MissingReason),
            LeaveRefusal::Rule(LeaveRuleError::MissingReason)
        );
    }
}
