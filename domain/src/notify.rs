//! What the outbox carries: a typed record of what happened, rendered into a message in the
//! recipient's language only when it is sent (so it always shows current figures).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// The receipt of a log whose parts (an album) arrived over a short time.
    LogReceipt {
        log_id: i64,
    },
    /// An approval card of leave request `request_id` at `step` for one approver; sent
    /// again (as an edit) whenever the request changes, so every card shows its state.
    LeaveCard {
        request_id: i64,
        step: i64,
        approver_id: i64,
    },
    /// To the cadre: his request passed a level and went on to the next.
    LeaveForwarded {
        request_id: i64,
    },
    LeaveApproved {
        request_id: i64,
    },
    LeaveRejected {
        request_id: i64,
    },
    /// A question's card for the tutor of one assignment; replying to it answers. Sent
    /// again (as an edit) when the question is answered, passed on or reassigned.
    QuestionCard {
        question_id: i64,
        tutor_id: i64,
        assignment_id: i64,
    },
    /// To the tutor: a question has waited past the reminder time (`overdue`: past the
    /// reassignment deadline with nobody else to take it).
    QuestionReminder {
        question_id: i64,
        assignment_id: i64,
        overdue: bool,
    },
    /// To the cadre: his question went to another tutor (`reassigned`: because it waited
    /// past the deadline; else a tutor passed it on).
    QuestionPassed {
        question_id: i64,
        tutor_id: i64,
        reassigned: bool,
    },
    /// To the tutor who answered: the cadre rated the answers.
    QuestionRated {
        question_id: i64,
        helpful: bool,
    },
    /// A message of a question thread, copied (copyMessage) to the other side as a reply
    /// to `reply_to` there; `rate`: an answer, with the rating buttons. The copy is recorded
    /// in the thread once sent, so a reply to it continues the thread.
    QuestionRelay {
        question_id: i64,
        from_chat: i64,
        from_message: i64,
        to_person: i64,
        reply_to: Option<i64>,
        rate: bool,
    },
    /// An attachment of a question's thread (its photo, a file sent before a pass-on),
    /// copied under a new card (`card_message`) of the tutor `to_person`.
    QuestionAttachment {
        question_id: i64,
        from_chat: i64,
        from_message: i64,
        to_person: i64,
        card_message: i64,
    },
    /// To the writer of a relayed message: its copy could not be delivered to `to_person`
    /// (the sender gave up), so he may send it again.
    QuestionRelayFailed {
        question_id: i64,
        to_person: i64,
    },
    /// To a cadre with no log on `day` (the `log-reminder` job): a gentle reminder with the
    /// month's days with a log so far, counted when sent.
    LogReminder {
        day: chrono::NaiveDate,
    },
    /// To an approver (the `approval-reminder` job): the requests waiting for him past the
    /// reminder time, oldest first, each with its buttons.
    ApprovalDigest {
        requests: Vec<i64>,
    },
    /// A work update posted to the bulletin channel, headed with its unit's name (an album
    /// as one media group). Queued after the album's quiet time.
    BulletinPost {
        update_id: i64,
    },
    /// To an admin (the `subsidy-report` job): the subsidy report of the month beginning
    /// `month_start`, as an XLSX document made when it is sent; asked for in the web view,
    /// `under` the asker's unit (`None`: every cadre; the asker's authority was checked
    /// when it was queued).
    SubsidyReport {
        month_start: chrono::NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        under: Option<String>,
    },
    /// To a cadre (the `subsidy-report` job): his own three figures of that month.
    SubsidyFigures {
        month_start: chrono::NaiveDate,
    },
    /// To an admin (the `weekly-summary` job): the week's compliance and log table as text.
    WeeklySummary {
        monday: chrono::NaiveDate,
    },
    /// To an admin (the `weekly-summary` job): the week's chart of logs per district per day.
    WeeklyChart {
        monday: chrono::NaiveDate,
    },
    /// A cadre's log posted to the sharing group, headed with his name and village.
    SharedPost {
        log_id: i64,
    },
    /// To the reporters of a unit without an update in the week of `monday` (the
    /// `update-nudge` job).
    UpdateNudge {
        unit_id: i64,
        monday: chrono::NaiveDate,
    },
    /// To the author of shared logs (the `share-digest` job): the comments and reactions
    /// of others after `since_ms` up to `until_ms` (UTC milliseconds).
    ShareDigest {
        since_ms: i64,
        until_ms: i64,
    },
    /// To an admin (the `calendar-check` job): `year` has no holiday data, so its rest days
    /// are only Saturdays and Sundays until it is imported.
    CalendarMissing {
        year: i32,
    },
    /// To an admin: the bot cannot post to a channel or group any more (removed, not an
    /// admin, chat not found); told once until it is back.
    ChannelRefused {
        chat_id: i64,
        channel: Channel,
        error: String,
    },
}

/// The chats the bot posts to on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// `telegram.bulletin_chat_id`: work updates.
    Bulletin,
    /// `telegram.sharing_chat_id`: shared logs.
    Sharing,
}
