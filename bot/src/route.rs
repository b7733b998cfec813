//! Where a message goes: one pure function over plain facts, so the rule is written once
//! and table-tested. The schema in `lib.rs` only carries out the route it returns; the
//! fast path (a work log) is simply the first route it checks.

use crate::commands::Command;
use crate::dialogue::Dialogue;

/// What the router needs to know of a message (no Telegram types).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Written in a private chat with the bot (group chatter is not for the bot).
    pub private: bool,
    /// Has a sender (channel posts have none).
    pub from_someone: bool,
    /// A command this version knows, parsed from the text or caption.
    pub command: Option<Command>,
    /// The text or caption starts with `/` (a command, known or not).
    pub slash: bool,
    /// Carries a shared contact.
    pub contact: bool,
    /// Replies to another message.
    pub reply: bool,
    /// Written in the configured sharing group (where replies are comments).
    pub sharing_group: bool,
    /// The caption (or text) starts with `#policy`: a document for the policy library.
    pub policy_tag: bool,
    /// The caption (or text) starts with `#roster`: a roster file to import.
    pub roster_tag: bool,
}

/// Who wrote, as far as routing cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Unknown,
    Inactive,
    Active { dialogue: Option<Dialogue> },
}

/// What an unregistered person can do: register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    Contact,
    Invite(String),
    AskForContact,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Not for the bot: a group, or no sender.
    Ignore,
    /// An ordinary message of an active person: a work log (for a non-cadre, a refusal).
    Log,
    Register(Registration),
    /// A deactivated person: refused.
    Inactive,
    Command(Command),
    /// A registered person shared a contact again.
    Contact,
    /// `/something` this version does not know: help.
    UnknownCommand,
    /// The next answer of the open dialogue.
    Dialogue(Dialogue),
    /// A reply to one of the bot's messages (a tutoring thread, or help).
    Reply,
    /// A reply in the sharing group: a comment if it replies to a shared post.
    Comment,
    /// A `#policy` document (added for an admin, refused for anyone else).
    PolicyDocument,
    /// A `#roster` file (previewed for an admin, refused for anyone else).
    RosterFile,
}

/// The one routing rule. Registered people: commands, then a shared contact, then an
/// unknown `/command`, then a `#policy` or `#roster` file, then the open dialogue, then a reply,
/// else a work log.
pub fn classify(facts: &Facts, who: Who) -> Route {
    if !facts.from_someone {
        return Route::Ignore;
    }
    if !facts.private {
        // Group chatter is never a log; only replies in the sharing group may be comments.
        return match facts.sharing_group && facts.reply {
            true => Route::Comment,
            false => Route::Ignore,
        };
    }
    match who {
        Who::Inactive => Route::Inactive,
        Who::Unknown => Route::Register(if facts.contact {
            Registration::Contact
        } else if let Some(Command::Start(code)) = &facts.command {
            Registration::Invite(code.clone())
        } else {
            Registration::AskForContact
        }),
        Who::Active { dialogue } => {
            if let Some(command) = &facts.command {
                Route::Command(command.clone())
            } else if facts.contact {
                Route::Contact
            } else if facts.slash {
                Route::UnknownCommand
            } else if facts.policy_tag {
                Route::PolicyDocument
            } else if facts.roster_tag {
                Route::RosterFile
            } else if let Some(d) = dialogue {
                Route::Dialogue(d)
            } else if facts.reply {
                Route::Reply
            } else {
                Route::Log
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private() -> Facts {
        Facts {
            private: true,
            from_someone: true,
            ..Facts::default()
        }
    }

    fn active() -> Who {
        Who::Active { dialogue: None }
    }

    fn in_dialogue() -> Who {
        Who::Active {
            dialogue: Some(Dialogue::LeaveStart),
        }
    }

    #[test]
    fn every_message_has_one_route() {
        let cmd = |c: Command| Facts {
            command: Some(c),
            slash: true,
            ..private()
        };
        let slash = Facts {
            slash: true,
            ..private()
        };
        let contact = Facts {
            contact: true,
            ..private()
        };
        let reply = Facts {
            reply: true,
            ..private()
        };
        let group = Facts {
            private: false,
            ..private()
        };
        let cases: Vec<(&str, Facts, Who, Route)> = vec![
            (
                "plain text of an active person",
                private(),
                active(),
                Route::Log,
            ),
            (
                "group chatter of a registered cadre",
                group.clone(),
                active(),
                Route::Ignore,
            ),
            (
                "group chatter of a stranger",
                group.clone(),
                Who::Unknown,
                Route::Ignore,
            ),
            (
                "a reply in another group",
                Facts {
                    reply: true,
                    ..group.clone()
                },
                active(),
                Route::Ignore,
            ),
            (
                "chatter in the sharing group",
                Facts {
                    sharing_group: true,
                    ..group.clone()
                },
                active(),
                Route::Ignore,
            ),
            (
                "a stranger's reply in the sharing group",
                Facts {
                    sharing_group: true,
                    reply: true,
                    ..group.clone()
                },
                Who::Unknown,
                Route::Comment,
            ),
            (
                "a command in the sharing group is no log either",
                Facts {
                    sharing_group: true,
                    command: Some(Command::Me),
                    slash: true,
                    ..group
                },
                active(),
                Route::Ignore,
            ),
            (
                "no sender",
                Facts {
                    from_someone: false,
                    ..private()
                },
                active(),
                Route::Ignore,
            ),
            (
                "a command",
                cmd(Command::Me),
                active(),
                Route::Command(Command::Me),
            ),
            (
                "a command beats the open dialogue",
                cmd(Command::Cancel),
                in_dialogue(),
                Route::Command(Command::Cancel),
            ),
            (
                "an unknown command",
                slash.clone(),
                active(),
                Route::UnknownCommand,
            ),
            (
                "a lone slash is an unknown command too",
                slash.clone(),
                in_dialogue(),
                Route::UnknownCommand,
            ),
            ("a contact again", contact.clone(), active(), Route::Contact),
            (
                "the open dialogue takes the next message",
                private(),
                in_dialogue(),
                Route::Dialogue(Dialogue::LeaveStart),
            ),
            (
                "the open dialogue takes a reply too",
                reply.clone(),
                in_dialogue(),
                Route::Dialogue(Dialogue::LeaveStart),
            ),
            ("a reply", reply, active(), Route::Reply),
            (
                "a #policy document, also inside a dialogue",
                Facts {
                    policy_tag: true,
                    ..private()
                },
                in_dialogue(),
                Route::PolicyDocument,
            ),
            (
                "a #roster file, also inside a dialogue",
                Facts {
                    roster_tag: true,
                    ..private()
                },
                in_dialogue(),
                Route::RosterFile,
            ),
            (
                "a stranger's #roster file",
                Facts {
                    roster_tag: true,
                    ..private()
                },
                Who::Unknown,
                Route::Register(Registration::AskForContact),
            ),
            (
                "a stranger's #policy document",
                Facts {
                    policy_tag: true,
                    ..private()
                },
                Who::Unknown,
                Route::Register(Registration::AskForContact),
            ),
            (
                "a deactivated person",
                private(),
                Who::Inactive,
                Route::Inactive,
            ),
            (
                "a stranger's contact",
                contact,
                Who::Unknown,
                Route::Register(Registration::Contact),
            ),
            (
                "a stranger's invite",
                cmd(Command::Start("abc".into())),
                Who::Unknown,
                Route::Register(Registration::Invite("abc".into())),
            ),
            (
                "a stranger's other command",
                cmd(Command::Me),
                Who::Unknown,
                Route::Register(Registration::AskForContact),
            ),
            (
                "a stranger's text",
                private(),
                Who::Unknown,
                Route::Register(Registration::AskForContact),
            ),
            (
                "a registered person's /start",
                cmd(Command::Start(String::new())),
                active(),
                Route::Command(Command::Start(String::new())),
            ),
        ];
        for (what, facts, who, want) in cases {
            assert_eq!(classify(&facts, who), want, "{what}");
        }
    }
}
