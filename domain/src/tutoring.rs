//! Tutoring rules: who gets a question (a tutor of its topic, else the configured default
//! tutor, else an admin: never nobody while anyone can take it), when an unanswered question
//! is reminded or reassigned, and the figures of the supervision reports.

use crate::routing::{TutorCandidate, pick_tutor};
use crate::units::UnitPath;
use crate::worklog::{AttachmentKind, LogInput};
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

// ----- the question's state machine -----

/// Where a question stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionStatus {
    /// Asked, topic not chosen yet.
    Draft,
    /// With a tutor, no answer yet.
    Open,
    /// Answered at least once; the thread can go on.
    Answered,
}

impl QuestionStatus {
    /// The stored name (the `questions.status` column).
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionStatus::Draft => "draft",
            QuestionStatus::Open => "open",
            QuestionStatus::Answered => "answered",
        }
    }

    /// Reads a stored name; an unknown one (a newer version's) reads as a draft, which
    /// nothing can act on but its cadre.
    pub fn parse(s: &str) -> QuestionStatus {
        match s {
            "open" => QuestionStatus::Open,
            "answered" => QuestionStatus::Answered,
            _ => QuestionStatus::Draft,
        }
    }
}

/// What a message of a thread is: plain text, a location, an attachment, or something else
/// (a sticker, a poll) that is relayed as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Text,
    Location,
    Attachment(AttachmentKind),
    Other,
}

impl MessageKind {
    /// The stored name (`questions.kind`, `question_messages.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Location => "location",
            MessageKind::Attachment(a) => a.as_str(),
            MessageKind::Other => "other",
        }
    }

    /// Reads a stored name, the one place kinds are parsed.
    pub fn parse(s: &str) -> MessageKind {
        match s {
            "text" => MessageKind::Text,
            "location" => MessageKind::Location,
            other => {
                AttachmentKind::parse(other).map_or(MessageKind::Other, MessageKind::Attachment)
            }
        }
    }

    /// The kind of a message as the bot parsed it (its first attachment, else a location,
    /// else text).
    pub fn of(input: &LogInput) -> MessageKind {
        match (input.attachments.first(), input.location) {
            (Some(a), _) => MessageKind::Attachment(a.kind),
            (None, Some(_)) => MessageKind::Location,
            (None, None) => MessageKind::Text,
        }
    }

    /// Anything but plain text: copied under a new tutor's card.
    pub fn is_media(self) -> bool {
        self != MessageKind::Text
    }
}

/// A kind reads as its stored name (`kind.as_str()`, `Some(kind).as_deref()`).
impl std::ops::Deref for MessageKind {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// Why a tutor holds a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignReason {
    /// Routed when the cadre chose the topic.
    Asked,
    /// Passed on (转交) by the previous tutor or an admin.
    Passed,
    /// Taken from a tutor who did not answer by the deadline.
    Reassigned,
}

impl AssignReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignReason::Asked => "asked",
            AssignReason::Passed => "passed",
            AssignReason::Reassigned => "reassigned",
        }
    }

    pub fn parse(s: &str) -> AssignReason {
        match s {
            "passed" => AssignReason::Passed,
            "reassigned" => AssignReason::Reassigned,
            _ => AssignReason::Asked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionRefusal {
    #[error("no such question")]
    NotFound,
    #[error("not the person's question")]
    NotYours,
    #[error("the topic was chosen already")]
    AlreadySubmitted,
    #[error("the topic is not chosen yet")]
    NotSubmitted,
    #[error("nobody can take the question")]
    NoTutor,
    /// Only the current tutor (or an admin) may answer or pass it on.
    #[error("the question is not assigned to this person")]
    NotAssigned { tutor: Option<String> },
    #[error("the question has no answer yet")]
    NotAnswered,
    /// The replied message belongs to no question thread of this person.
    #[error("not a message of a question thread")]
    UnknownMessage,
    #[error("the question is with that tutor already")]
    SameTutor,
    #[error("that person is not an active tutor")]
    NotATutor,
}

/// A question as the decisions see it, loaded (under its lock) by storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionState {
    pub id: i64,
    pub status: QuestionStatus,
    pub cadre: i64,
    /// `None` if the cadre's unit cannot be read: the question cannot be routed.
    pub cadre_unit: Option<UnitPath>,
    pub topic: Option<String>,
    pub tutor: Option<i64>,
    /// Told to someone refused for not holding the question.
    pub tutor_name: Option<String>,
    pub assignment: Option<i64>,
    /// The current assignment was reminded / its reassignment deadline handled.
    pub reminded: bool,
    pub overdue_handled: bool,
    /// Everyone who held the question so far (never given it again on reassignment).
    pub held_by: Vec<i64>,
    pub answered_by: Option<i64>,
    pub helpful: Option<bool>,
}

/// Who acts, and whether he is an active admin (who may answer and pass on any question).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: i64,
    pub admin: bool,
}

/// A new holding of the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAssignment {
    pub tutor: i64,
    pub reason: AssignReason,
    pub via: Via,
    pub passed_by: Option<i64>,
}

/// The assignment a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of {
    /// One that exists already.
    Existing(i64),
    /// The one this transition creates.
    New,
}

/// What a transition tells people, through the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The (re)sent card of an assignment: it shows the question's state.
    Card(Of),
    /// To the cadre: his question went to `tutor` (`reassigned`: by the deadline).
    Passed { tutor: i64, reassigned: bool },
    /// To the tutor who answered: the cadre rated the answers.
    Rated { tutor: i64, helpful: bool },
    /// To the tutor of an assignment: it waits (`overdue`: past the deadline, nobody else).
    Reminder {
        tutor: i64,
        assignment: i64,
        overdue: bool,
    },
    /// The replying message, copied to `to` (`rate`: with the rating buttons).
    Relay { to: i64, rate: bool },
}

/// What a decision writes, and whom it tells. Storage carries it out in the transaction
/// that loaded the state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transition {
    pub set_topic: Option<String>,
    /// The current assignment ends (passed or reassigned) and goes to that tutor.
    pub end_assignment: Option<(i64, AssignReason, i64)>,
    pub assign: Option<NewAssignment>,
    /// First answer, by this person: the question is answered.
    pub answered_by: Option<i64>,
    pub rate: Option<bool>,
    pub mark_reminded: Option<i64>,
    pub mark_overdue: Option<i64>,
    pub notify: Vec<Notice>,
}

/// The cadre chooses the topic of his draft: the question goes to a tutor (see [`route`]).
pub fn submit(
    q: &QuestionState,
    actor: Actor,
    topic: &str,
    pool: &Pool,
) -> Result<Transition, QuestionRefusal> {
    if actor.id != q.cadre {
        return Err(QuestionRefusal::NotYours);
    }
    if q.status != QuestionStatus::Draft {
        return Err(QuestionRefusal::AlreadySubmitted);
    }
    let unit = q.cadre_unit.as_ref().ok_or(QuestionRefusal::NotFound)?;
    let (tutor, via) = route(unit, pool, &[q.cadre]).ok_or(QuestionRefusal::NoTutor)?;
    Ok(Transition {
        set_topic: Some(topic.to_string()),
        assign: Some(NewAssignment {
            tutor,
            reason: AssignReason::Asked,
            via,
            passed_by: None,
        }),
        notify: vec![Notice::Card(Of::New)],
        ..Transition::default()
    })
}

/// Who answers for the question: its current tutor or an admin.
fn holds(q: &QuestionState, actor: Actor) -> Result<(), QuestionRefusal> {
    if q.tutor == Some(actor.id) || actor.admin {
        Ok(())
    } else {
        Err(QuestionRefusal::NotAssigned {
            tutor: q.tutor_name.clone(),
        })
    }
}

/// Whether `actor` may pass the question on now (also the check behind the 转交 menu).
pub fn may_pass(q: &QuestionState, actor: Actor) -> Result<(), QuestionRefusal> {
    if q.status == QuestionStatus::Draft {
        return Err(QuestionRefusal::NotSubmitted);
    }
    holds(q, actor)
}

/// The first message from the tutor's side answers the question; later ones change nothing.
pub fn answer(q: &QuestionState, actor: Actor) -> Transition {
    if q.status == QuestionStatus::Answered || q.answered_by.is_some() {
        return Transition::default();
    }
    Transition {
        answered_by: Some(actor.id),
        notify: q
            .assignment
            .map(|a| Notice::Card(Of::Existing(a)))
            .into_iter()
            .collect(),
        ..Transition::default()
    }
}

/// A message of `actor` replying to a message of the thread he owns: the cadre's go to the
/// current tutor, the tutor's (or an admin's) to the cadre, answering it the first time.
/// `owner` is the person the replied message was sent to or by.
pub fn reply(q: &QuestionState, actor: Actor, owner: i64) -> Result<Transition, QuestionRefusal> {
    if owner != actor.id {
        return Err(QuestionRefusal::UnknownMessage);
    }
    if q.status == QuestionStatus::Draft {
        return Err(QuestionRefusal::NotSubmitted);
    }
    if actor.id == q.cadre {
        let to = q.tutor.ok_or(QuestionRefusal::NotSubmitted)?;
        return Ok(Transition {
            notify: vec![Notice::Relay { to, rate: false }],
            ..Transition::default()
        });
    }
    holds(q, actor)?;
    let mut t = answer(q, actor);
    t.notify.insert(
        0,
        Notice::Relay {
            to: q.cadre,
            rate: true,
        },
    );
    Ok(t)
}

/// To whom a question is passed on, with what storage found about the target.
#[derive(Debug, Clone, Copy)]
pub enum PassTo<'a> {
    /// The best tutor of another topic, from that topic's pool.
    Topic { topic: &'a str, pool: &'a Pool },
    /// This person; `active_tutor`: he is an active, registered tutor.
    Tutor { id: i64, active_tutor: bool },
}

/// Passes the question on (转交): the old assignment ends, the new tutor gets a card, the old
/// card and the cadre are told.
pub fn pass(
    q: &QuestionState,
    actor: Actor,
    to: PassTo<'_>,
) -> Result<Transition, QuestionRefusal> {
    may_pass(q, actor)?;
    let mut t = Transition::default();
    let (tutor, via) = match to {
        PassTo::Topic { topic, pool } => {
            let unit = q.cadre_unit.as_ref().ok_or(QuestionRefusal::NotFound)?;
            let mut exclude = vec![q.cadre];
            exclude.extend(q.tutor);
            let routed = route(unit, pool, &exclude).ok_or(QuestionRefusal::NoTutor)?;
            t.set_topic = Some(topic.to_string());
            routed
        }
        PassTo::Tutor { id, active_tutor } => {
            if q.tutor == Some(id) {
                return Err(QuestionRefusal::SameTutor);
            }
            if !active_tutor || id == q.cadre {
                return Err(QuestionRefusal::NotATutor);
            }
            (id, Via::Topic)
        }
    };
    move_to(
        &mut t,
        q,
        NewAssignment {
            tutor,
            reason: AssignReason::Passed,
            via,
            passed_by: Some(actor.id),
        },
    );
    Ok(t)
}

/// The question leaves its current assignment for a new one; everyone is told.
fn move_to(t: &mut Transition, q: &QuestionState, new: NewAssignment) {
    if let Some(a) = q.assignment {
        t.end_assignment = Some((a, new.reason, new.tutor));
        t.notify.push(Notice::Card(Of::Existing(a)));
    }
    t.assign = Some(new);
    t.notify.push(Notice::Card(Of::New));
    t.notify.push(Notice::Passed {
        tutor: new.tutor,
        reassigned: new.reason == AssignReason::Reassigned,
    });
}

/// The cadre rates the answers; the same rating again changes nothing and tells nobody.
pub fn rate(q: &QuestionState, actor: Actor, helpful: bool) -> Result<Transition, QuestionRefusal> {
    if actor.id != q.cadre {
        return Err(QuestionRefusal::NotYours);
    }
    if q.status != QuestionStatus::Answered {
        return Err(QuestionRefusal::NotAnswered);
    }
    if q.helpful == Some(helpful) {
        return Ok(Transition::default());
    }
    Ok(Transition {
        rate: Some(helpful),
        notify: q
            .answered_by
            .map(|tutor| Notice::Rated { tutor, helpful })
            .into_iter()
            .collect(),
        ..Transition::default()
    })
}

/// The unanswered current assignment `assignment` and its tutor, if it still waits.
fn waiting(q: &QuestionState, assignment: i64) -> Option<i64> {
    match q.tutor {
        Some(t) if q.status == QuestionStatus::Open && q.assignment == Some(assignment) => Some(t),
        _ => None,
    }
}

/// The reminder of an unanswered assignment, once; `None` if it is no longer due (answered,
/// passed on, reminded or handled already).
pub fn remind(q: &QuestionState, assignment: i64) -> Option<Transition> {
    let tutor = waiting(q, assignment)?;
    if q.reminded || q.overdue_handled {
        return None;
    }
    Some(Transition {
        mark_reminded: Some(assignment),
        notify: vec![Notice::Reminder {
            tutor,
            assignment,
            overdue: false,
        }],
        ..Transition::default()
    })
}

/// The reassignment deadline, once: the question goes to the best tutor who has not held it
/// (from the pool of its topic), or, with nobody left, its tutor is reminded once more.
/// `None` if it is no longer due.
pub fn reassign(q: &QuestionState, assignment: i64, pool: &Pool) -> Option<Transition> {
    let tutor = waiting(q, assignment)?;
    if q.overdue_handled {
        return None;
    }
    let mut t = Transition {
        mark_overdue: Some(assignment),
        ..Transition::default()
    };
    let mut exclude = q.held_by.clone();
    exclude.push(q.cadre);
    match q.cadre_unit.as_ref().and_then(|u| route(u, pool, &exclude)) {
        Some((to, via)) => move_to(
            &mut t,
            q,
            NewAssignment {
                tutor: to,
                reason: AssignReason::Reassigned,
                via,
                passed_by: None,
            },
        ),
        None => t.notify.push(Notice::Reminder {
            tutor,
            assignment,
            overdue: true,
        }),
    }
    Some(t)
}

/// The message in the recipient's chat a relayed copy replies to: the copy's peer there if
/// the replied message has one, else (to the cadre) his question, else (to the tutor) the
/// latest thread message in his chat.
pub fn reply_target(
    to_cadre: bool,
    peer_in_recipient_chat: Option<i64>,
    question_message: i64,
    latest_in_recipient_chat: Option<i64>,
) -> Option<i64> {
    match peer_in_recipient_chat {
        Some(m) => Some(m),
        None if to_cadre => Some(question_message),
        None => latest_in_recipient_chat,
    }
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

#[cfg(test)]
mod transition_tests {
    use super::*;

    const VILLAGE: &str = "贵阳市/乌当区/新堡乡/谷溪村";
    const CADRE: i64 = 1;
    const TUTOR: i64 = 5;
    const OTHER: i64 = 6;
    const ADMIN: i64 = 4;

    fn cand(id: i64, unit: &str) -> TutorCandidate {
        TutorCandidate {
            person_id: id,
            unit: UnitPath::parse(unit).unwrap(),
            open_questions: 0,
            last_assigned_at: None,
        }
    }

    fn pool() -> Pool {
        Pool {
            topic_tutors: vec![cand(TUTOR, "贵阳市/乌当区"), cand(OTHER, "贵阳市")],
            default_tutor: None,
            admins: vec![cand(ADMIN, "贵阳市")],
        }
    }

    fn state(status: QuestionStatus) -> QuestionState {
        let open = status != QuestionStatus::Draft;
        QuestionState {
            id: 10,
            status,
            cadre: CADRE,
            cadre_unit: UnitPath::parse(VILLAGE).ok(),
            topic: open.then(|| "农业技术".to_string()),
            tutor: open.then_some(TUTOR),
            tutor_name: open.then(|| "钱七".to_string()),
            assignment: open.then_some(20),
            reminded: false,
            overdue_handled: false,
            held_by: if open { vec![TUTOR] } else { vec![] },
            answered_by: (status == QuestionStatus::Answered).then_some(TUTOR),
            helpful: None,
        }
    }

    fn by(id: i64) -> Actor {
        Actor {
            id,
            admin: id == ADMIN,
        }
    }

    fn not_assigned() -> QuestionRefusal {
        QuestionRefusal::NotAssigned {
            tutor: Some("钱七".into()),
        }
    }

    #[test]
    fn submit_routes_a_draft_of_its_cadre_only() {
        use QuestionStatus::*;
        let empty = Pool::default();
        let full = pool();
        // (case, status, actor, pool, expected tutor)
        type Case<'a> = (
            &'a str,
            QuestionStatus,
            i64,
            &'a Pool,
            Result<i64, QuestionRefusal>,
        );
        let cases: Vec<Case> = vec![
            (
                "the cadre's draft goes to the nearest tutor",
                Draft,
                CADRE,
                &full,
                Ok(TUTOR),
            ),
            (
                "someone else's draft",
                Draft,
                OTHER,
                &full,
                Err(QuestionRefusal::NotYours),
            ),
            (
                "chosen already",
                Open,
                CADRE,
                &full,
                Err(QuestionRefusal::AlreadySubmitted),
            ),
            (
                "nobody to take it",
                Draft,
                CADRE,
                &empty,
                Err(QuestionRefusal::NoTutor),
            ),
        ];
        for (name, status, actor, pool, want) in cases {
            let got = submit(&state(status), by(actor), "农业技术", pool);
            match (got, want) {
                (Ok(t), Ok(tutor)) => {
                    assert_eq!(
                        t.assign.map(|a| (a.tutor, a.reason)),
                        Some((tutor, AssignReason::Asked)),
                        "{name}"
                    );
                    assert_eq!(t.set_topic.as_deref(), Some("农业技术"), "{name}");
                    assert_eq!(t.notify, [Notice::Card(Of::New)], "{name}");
                }
                (got, want) => assert_eq!(got.map(|_| ()), want.map(|_| ()), "{name}"),
            }
        }
        let mut no_unit = state(Draft);
        no_unit.cadre_unit = None;
        assert_eq!(
            submit(&no_unit, by(CADRE), "农业技术", &pool()),
            Err(QuestionRefusal::NotFound)
        );
    }

    #[test]
    fn replies_go_across_and_the_first_tutor_reply_answers() {
        use QuestionStatus::*;
        let relay = |to, rate| Notice::Relay { to, rate };
        // (case, status, actor, owner of the replied message, expected)
        type Case = (
            &'static str,
            QuestionStatus,
            i64,
            i64,
            Result<Transition, QuestionRefusal>,
        );
        let cases: Vec<Case> = vec![
            (
                "a message of someone else's chat",
                Open,
                TUTOR,
                OTHER,
                Err(QuestionRefusal::UnknownMessage),
            ),
            (
                "a draft has no thread",
                Draft,
                CADRE,
                CADRE,
                Err(QuestionRefusal::NotSubmitted),
            ),
            (
                "the cadre's reply goes to the tutor",
                Open,
                CADRE,
                CADRE,
                Ok(Transition {
                    notify: vec![relay(TUTOR, false)],
                    ..Default::default()
                }),
            ),
            (
                "the tutor's first reply answers",
                Open,
                TUTOR,
                TUTOR,
                Ok(Transition {
                    answered_by: Some(TUTOR),
                    notify: vec![relay(CADRE, true), Notice::Card(Of::Existing(20))],
                    ..Default::default()
                }),
            ),
            (
                "a later tutor reply only relays",
                Answered,
                TUTOR,
                TUTOR,
                Ok(Transition {
                    notify: vec![relay(CADRE, true)],
                    ..Default::default()
                }),
            ),
            (
                "an admin may answer",
                Open,
                ADMIN,
                ADMIN,
                Ok(Transition {
                    answered_by: Some(ADMIN),
                    notify: vec![relay(CADRE, true), Notice::Card(Of::Existing(20))],
                    ..Default::default()
                }),
            ),
            (
                "a former tutor may not",
                Open,
                OTHER,
                OTHER,
                Err(not_assigned()),
            ),
        ];
        for (name, status, actor, owner, want) in cases {
            assert_eq!(reply(&state(status), by(actor), owner), want, "{name}");
        }
    }

    #[test]
    fn passing_on_needs_the_holder_or_an_admin_and_a_real_target() {
        use QuestionStatus::*;
        let p = pool();
        let topic = PassTo::Topic {
            topic: "产业发展",
            pool: &p,
        };
        let tutor = |id, active_tutor| PassTo::Tutor { id, active_tutor };
        // (case, status, actor, target, expected new tutor)
        type Case<'a> = (
            &'static str,
            QuestionStatus,
            i64,
            PassTo<'a>,
            Result<i64, QuestionRefusal>,
        );
        let cases: Vec<Case> = vec![
            (
                "a draft",
                Draft,
                TUTOR,
                topic,
                Err(QuestionRefusal::NotSubmitted),
            ),
            ("an outsider", Open, OTHER, topic, Err(not_assigned())),
            ("the cadre", Open, CADRE, topic, Err(not_assigned())),
            (
                "to a topic: the best other tutor",
                Open,
                TUTOR,
                topic,
                Ok(OTHER),
            ),
            (
                "to himself",
                Open,
                TUTOR,
                tutor(TUTOR, true),
                Err(QuestionRefusal::SameTutor),
            ),
            (
                "to a non-tutor",
                Open,
                TUTOR,
                tutor(7, false),
                Err(QuestionRefusal::NotATutor),
            ),
            (
                "to the cadre",
                Open,
                TUTOR,
                tutor(CADRE, true),
                Err(QuestionRefusal::NotATutor),
            ),
            (
                "to a named tutor",
                Open,
                TUTOR,
                tutor(OTHER, true),
                Ok(OTHER),
            ),
            (
                "an admin, not holding it",
                Answered,
                ADMIN,
                tutor(OTHER, true),
                Ok(OTHER),
            ),
        ];
        for (name, status, actor, to, want) in cases {
            let s = state(status);
            assert_eq!(
                may_pass(&s, by(actor)).is_ok(),
                status != Draft && [TUTOR, ADMIN].contains(&actor),
                "{name}"
            );
            match (pass(&s, by(actor), to), want) {
                (Ok(t), Ok(new)) => {
                    let a = t.assign.unwrap();
                    assert_eq!(
                        (a.tutor, a.reason, a.passed_by),
                        (new, AssignReason::Passed, Some(actor)),
                        "{name}"
                    );
                    assert_eq!(
                        t.end_assignment,
                        Some((20, AssignReason::Passed, new)),
                        "{name}"
                    );
                    assert_eq!(
                        t.notify,
                        [
                            Notice::Card(Of::Existing(20)),
                            Notice::Card(Of::New),
                            Notice::Passed {
                                tutor: new,
                                reassigned: false
                            }
                        ],
                        "{name}"
                    );
                }
                (got, want) => assert_eq!(got.map(|_| ()), want.map(|_| ()), "{name}"),
            }
        }
        let mut no_one = state(Open);
        no_one.cadre_unit = None;
        assert_eq!(
            pass(&no_one, by(TUTOR), topic),
            Err(QuestionRefusal::NotFound)
        );
        assert_eq!(
            pass(
                &state(Open),
                by(TUTOR),
                PassTo::Topic {
                    topic: "医疗卫生",
                    pool: &Pool::default()
                }
            ),
            Err(QuestionRefusal::NoTutor)
        );
    }

    #[test]
    fn only_the_cadre_rates_an_answered_question_and_a_repeat_is_silent() {
        use QuestionStatus::*;
        let rated = |helpful| Transition {
            rate: Some(helpful),
            notify: vec![Notice::Rated {
                tutor: TUTOR,
                helpful,
            }],
            ..Default::default()
        };
        // (case, status, earlier rating, actor, helpful, expected)
        type Case = (
            &'static str,
            QuestionStatus,
            Option<bool>,
            i64,
            bool,
            Result<Transition, QuestionRefusal>,
        );
        let cases: Vec<Case> = vec![
            (
                "not answered",
                Open,
                None,
                CADRE,
                true,
                Err(QuestionRefusal::NotAnswered),
            ),
            (
                "the tutor",
                Answered,
                None,
                TUTOR,
                true,
                Err(QuestionRefusal::NotYours),
            ),
            ("first rating", Answered, None, CADRE, true, Ok(rated(true))),
            (
                "the same again",
                Answered,
                Some(true),
                CADRE,
                true,
                Ok(Transition::default()),
            ),
            (
                "a change of mind",
                Answered,
                Some(true),
                CADRE,
                false,
                Ok(rated(false)),
            ),
        ];
        for (name, status, before, actor, helpful, want) in cases {
            let mut s = state(status);
            s.helpful = before;
            assert_eq!(rate(&s, by(actor), helpful), want, "{name}");
        }
    }

    #[test]
    fn deadlines_act_on_the_current_unanswered_assignment_once() {
        use QuestionStatus::*;
        let fresh = state(Open);
        let reminded = QuestionState {
            reminded: true,
            ..state(Open)
        };
        let handled = QuestionState {
            overdue_handled: true,
            ..state(Open)
        };
        let passed = QuestionState {
            assignment: Some(21),
            ..state(Open)
        };
        let answered = state(Answered);
        // (case, state, remind due, reassign due)
        let cases = [
            ("fresh", &fresh, true, true),
            ("reminded", &reminded, false, true),
            ("deadline handled", &handled, false, false),
            ("passed on since", &passed, false, false),
            ("answered", &answered, false, false),
        ];
        for (name, s, remind_due, reassign_due) in cases {
            assert_eq!(remind(s, 20).is_some(), remind_due, "{name}: remind");
            assert_eq!(
                reassign(s, 20, &pool()).is_some(),
                reassign_due,
                "{name}: reassign"
            );
        }
        let t = remind(&fresh, 20).unwrap();
        assert_eq!(t.mark_reminded, Some(20));
        assert_eq!(
            t.notify,
            [Notice::Reminder {
                tutor: TUTOR,
                assignment: 20,
                overdue: false
            }]
        );
        // Reassigned to someone who never held it.
        let t = reassign(&fresh, 20, &pool()).unwrap();
        assert_eq!(t.mark_overdue, Some(20));
        assert_eq!(
            t.assign.map(|a| (a.tutor, a.reason)),
            Some((OTHER, AssignReason::Reassigned))
        );
        assert!(t.notify.contains(&Notice::Passed {
            tutor: OTHER,
            reassigned: true
        }));
        // Everyone held it already: the tutor is reminded once more.
        let all = QuestionState {
            held_by: vec![TUTOR, OTHER, ADMIN],
            ..state(Open)
        };
        let t = reassign(&all, 20, &pool()).unwrap();
        assert_eq!((t.assign, t.mark_overdue), (None, Some(20)));
        assert_eq!(
            t.notify,
            [Notice::Reminder {
                tutor: TUTOR,
                assignment: 20,
                overdue: true
            }]
        );
    }

    #[test]
    fn kinds_and_statuses_read_back_what_they_store() {
        for k in [
            "text",
            "location",
            "photo",
            "voice",
            "document",
            "video_note",
            "other",
        ] {
            assert_eq!(MessageKind::parse(k).as_str(), k);
        }
        assert_eq!(MessageKind::parse("sticker"), MessageKind::Other);
        assert!(!MessageKind::Text.is_media());
        for s in [
            QuestionStatus::Draft,
            QuestionStatus::Open,
            QuestionStatus::Answered,
        ] {
            assert_eq!(QuestionStatus::parse(s.as_str()), s);
        }
        assert_eq!(reply_target(true, None, 7, Some(9)), Some(7));
        assert_eq!(reply_target(false, None, 7, Some(9)), Some(9));
        assert_eq!(reply_target(false, Some(3), 7, Some(9)), Some(3));
    }
}
