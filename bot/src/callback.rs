//! Inline-button data: one typed enum, encoded compactly (Telegram allows 64 bytes) and
//! decoded here only. The server never trusts it: every handler re-checks the request's
//! current state and the presser's authority.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// Decide leave request `request` at chain step `step`.
    Leave {
        request: i64,
        step: i64,
        approve: bool,
    },
    /// Cancel one's own pending leave request.
    CancelLeave { request: i64 },
    /// The topic of question `question`, as an index into the configured topics.
    AskTopic { question: i64, topic: u8 },
    /// Pass question `question` on to another topic.
    PassTopic { question: i64, topic: u8 },
    /// Open the 转交 menu of question `question` (the button on the tutor's card).
    PassMenu { question: i64 },
    /// Pass question `question` on to the tutor with person id `tutor`.
    PassTutor { question: i64, tutor: i64 },
    /// Rate the answers to question `question`.
    Rate { question: i64, helpful: bool },
    /// The unit of the work update waiting in the presser's dialogue.
    UpdateUnit { unit: i64 },
    /// The next page of `/feed` (`unit` 0: all units).
    FeedPage { unit: i64, offset: i64 },
    /// Send the file of policy document `policy`.
    PolicyFile { policy: i64 },
    /// Import roster upload `upload` (`second`: the confirmation asked again because
    /// many would be deactivated).
    RosterConfirm { upload: i64, second: bool },
    /// Drop roster upload `upload` without importing it.
    RosterCancel { upload: i64 },
}

impl Callback {
    pub fn encode(&self) -> String {
        match *self {
            Callback::Leave {
                request,
                step,
                approve,
            } => format!("lv:{request}:{step}:{}", if approve { 'a' } else { 'r' }),
            Callback::CancelLeave { request } => format!("lc:{request}"),
            Callback::AskTopic { question, topic } => format!("qt:{question}:{topic}"),
            Callback::PassTopic { question, topic } => format!("qp:{question}:{topic}"),
            Callback::PassMenu { question } => format!("qm:{question}"),
            Callback::PassTutor { question, tutor } => format!("qu:{question}:{tutor}"),
            Callback::Rate { question, helpful } => {
                format!("qr:{question}:{}", u8::from(helpful))
            }
            Callback::UpdateUnit { unit } => format!("uu:{unit}"),
            Callback::FeedPage { unit, offset } => format!("fp:{unit}:{offset}"),
            Callback::PolicyFile { policy } => format!("pf:{policy}"),
            Callback::RosterConfirm { upload, second } => {
                format!("ri:{upload}:{}", u8::from(second))
            }
            Callback::RosterCancel { upload } => format!("rx:{upload}"),
        }
    }

    pub fn decode(data: &str) -> Option<Callback> {
        let mut parts = data.split(':');
        let tag = parts.next()?;
        let mut num = || parts.next()?.parse::<i64>().ok();
        let decoded = match tag {
            "lv" => {
                let (request, step) = (num()?, num()?);
                let approve = match data.rsplit(':').next()? {
                    "a" => true,
                    "r" => false,
                    _ => return None,
                };
                Callback::Leave {
                    request,
                    step,
                    approve,
                }
            }
            "lc" => Callback::CancelLeave { request: num()? },
            "qt" => Callback::AskTopic {
                question: num()?,
                topic: u8::try_from(num()?).ok()?,
            },
            "qp" => Callback::PassTopic {
                question: num()?,
                topic: u8::try_from(num()?).ok()?,
            },
            "qm" => Callback::PassMenu { question: num()? },
            "pf" => Callback::PolicyFile { policy: num()? },
            "qu" => Callback::PassTutor {
                question: num()?,
                tutor: num()?,
            },
            "qr" => Callback::Rate {
                question: num()?,
                helpful: match num()? {
                    0 => false,
                    1 => true,
                    _ => return None,
                },
            },
            "uu" => Callback::UpdateUnit { unit: num()? },
            "ri" => Callback::RosterConfirm {
                upload: num()?,
                second: match num()? {
                    0 => false,
                    1 => true,
                    _ => return None,
                },
            },
            "rx" => Callback::RosterCancel { upload: num()? },
            "fp" => Callback::FeedPage {
                unit: num()?,
                offset: num()?,
            },
            _ => return None,
        };
        // Exactly the canonical form: no trailing parts, no alternative spellings.
        (decoded.encode() == data).then_some(decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_round_trips_within_64_bytes() {
        let all = [
            Callback::Leave {
                request: i64::MAX,
                step: 2,
                approve: true,
            },
            Callback::Leave {
                request: 1,
                step: 0,
                approve: false,
            },
            Callback::CancelLeave { request: 42 },
            Callback::AskTopic {
                question: 9,
                topic: 4,
            },
            Callback::PassTopic {
                question: 9,
                topic: 0,
            },
            Callback::Rate {
                question: 3,
                helpful: false,
            },
            Callback::PassMenu { question: i64::MAX },
            Callback::UpdateUnit { unit: i64::MAX },
            Callback::FeedPage {
                unit: i64::MAX,
                offset: i64::MAX,
            },
            Callback::PolicyFile { policy: i64::MAX },
            Callback::RosterConfirm {
                upload: i64::MAX,
                second: true,
            },
            Callback::RosterConfirm {
                upload: 1,
                second: false,
            },
            Callback::RosterCancel { upload: i64::MAX },
            Callback::PassTutor {
                question: i64::MAX,
                tutor: i64::MAX,
            },
        ];
        for c in all {
            let data = c.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Callback::decode(&data), Some(c), "{data}");
        }
    }

    #[test]
    fn forged_or_malformed_data_is_rejected() {
        for data in [
            "",
            "lv",
            "lv:1:0",
            "lv:1:0:x",
            "lv:1:0:a:extra",
            "lv:01:0:a",
            "lv:-:0:a",
            "qt:1:300",
            "qr:1:2",
            "qm:1:2",
            "qu:1",
            "uu:",
            "fp:1",
            "fp:1:2:3",
            "pf:",
            "pf:1:2",
            "ri:1",
            "ri:1:2",
            "rx:1:0",
            "zz:1",
        ] {
            assert_eq!(Callback::decode(data), None, "{data}");
        }
    }
}
