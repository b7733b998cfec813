//! Work logs (驻村记实): what a cadre's message becomes, and what is refused.
//!
//! Photos are never required: a text log counts (national rules on reducing the burden on
//! grassroots cadres ban forced photo uploads and check-ins).

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    Photo,
    Video,
    Voice,
    Audio,
    Document,
    VideoNote,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Photo => "photo",
            AttachmentKind::Video => "video",
            AttachmentKind::Voice => "voice",
            AttachmentKind::Audio => "audio",
            AttachmentKind::Document => "document",
            AttachmentKind::VideoNote => "video_note",
        }
    }

    pub fn parse(s: &str) -> Option<AttachmentKind> {
        [
            AttachmentKind::Photo,
            AttachmentKind::Video,
            AttachmentKind::Voice,
            AttachmentKind::Audio,
            AttachmentKind::Document,
            AttachmentKind::VideoNote,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A file kept by its Telegram file id (and optionally archived locally).
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub file_id: String,
    /// Stable across bots and time: the key that keeps one file from counting twice.
    pub file_unique_id: String,
    pub size: Option<u64>,
    pub mime: Option<String>,
    pub file_name: Option<String>,
}

/// One message's worth of a log: an album arrives as several of these.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogInput {
    pub text: Option<String>,
    pub attachments: Vec<Attachment>,
    pub location: Option<(f64, f64)>,
    pub media_group_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    pub max_text_chars: usize,
    pub max_file_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogRejection {
    #[error("text has {chars} characters; the limit is {max}")]
    TooLong { chars: usize, max: usize },
    #[error("a file of {bytes} bytes exceeds the limit of {max} bytes")]
    FileTooLarge { bytes: u64, max: u64 },
    #[error("the log is empty")]
    Empty,
}

/// Characters that show nothing: zero-width spaces and joiners, direction marks, word
/// joiners, the byte-order mark, the soft hyphen, variation selectors, Hangul fillers.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{E0000}'..='\u{E007F}')
}

impl LogInput {
    /// The text with surrounding whitespace removed; `None` when nothing visible is left
    /// (blanks, or only zero-width and other invisible format characters).
    pub fn clean_text(&self) -> Option<&str> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| t.chars().any(|c| !c.is_whitespace() && !is_invisible(c)))
    }

    /// The stored kind of the log: its first attachment's kind, else location or text.
    pub fn kind(&self) -> &'static str {
        match (self.attachments.first(), self.location) {
            (Some(a), _) => a.kind.as_str(),
            (None, Some(_)) => "location",
            (None, None) => "text",
        }
    }
}

/// Checks a message against the limits before anything is stored.
pub fn check(input: &LogInput, limits: LogLimits) -> Result<(), LogRejection> {
    if let Some(text) = input.clean_text() {
        let chars = text.chars().count();
        if chars > limits.max_text_chars {
            return Err(LogRejection::TooLong {
                chars,
                max: limits.max_text_chars,
            });
        }
    }
    if let Some(bytes) = input
        .attachments
        .iter()
        .filter_map(|a| a.size)
        .find(|&s| s > limits.max_file_bytes)
    {
        return Err(LogRejection::FileTooLarge {
            bytes,
            max: limits.max_file_bytes,
        });
    }
    if input.clean_text().is_none() && input.attachments.is_empty() && input.location.is_none() {
        return Err(LogRejection::Empty);
    }
    Ok(())
}

/// `/log YYYY-MM-DD TEXT`: the date and the text, or why not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackdateParseError {
    #[error("usage: /log YYYY-MM-DD TEXT")]
    Usage,
    #[error("bad date")]
    BadDate,
}

pub fn parse_backdate_command(args: &str) -> Result<(NaiveDate, String), BackdateParseError> {
    let args = args.trim();
    let (date, text) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    if date.is_empty() {
        return Err(BackdateParseError::Usage);
    }
    let date = crate::dates::parse_iso_date(date).map_err(|_| BackdateParseError::BadDate)?;
    Ok((date, text.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: LogLimits = LogLimits {
        max_text_chars: 10,
        max_file_bytes: 1000,
    };

    fn photo(size: u64) -> Attachment {
        Attachment {
            kind: AttachmentKind::Photo,
            file_id: "f".into(),
            file_unique_id: "u".into(),
            size: Some(size),
            mime: None,
            file_name: None,
        }
    }

    #[test]
    fn a_text_log_needs_no_photo() {
        let input = LogInput {
            text: Some("走访农户".into()),
            ..Default::default()
        };
        assert_eq!(check(&input, LIMITS), Ok(()));
        assert_eq!(input.kind(), "text");
    }

    #[test]
    fn limits_are_enforced_with_the_numbers() {
        let long = LogInput {
            text: Some("一二三四五六七八九十十一".into()),
            ..Default::default()
        };
        assert_eq!(
            check(&long, LIMITS),
            Err(LogRejection::TooLong { chars: 12, max: 10 })
        );
        let big = LogInput {
            attachments: vec![photo(2000)],
            ..Default::default()
        };
        assert_eq!(
            check(&big, LIMITS),
            Err(LogRejection::FileTooLarge {
                bytes: 2000,
                max: 1000
            })
        );
        assert_eq!(
            check(&LogInput::default(), LIMITS),
            Err(LogRejection::Empty)
        );
        let blank = LogInput {
            text: Some("   ".into()),
            ..Default::default()
        };
        assert_eq!(check(&blank, LIMITS), Err(LogRejection::Empty));
        for invisible in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            " \u{200B} \u{3164}\n",
        ] {
            let text = LogInput {
                text: Some(invisible.into()),
                ..Default::default()
            };
            assert_eq!(
                check(&text, LIMITS),
                Err(LogRejection::Empty),
                "{invisible:?}"
            );
        }
        let visible = LogInput {
            text: Some("\u{200B}走访\u{200B}".into()),
            ..Default::default()
        };
        assert_eq!(check(&visible, LIMITS), Ok(()));
    }

    #[test]
    fn photo_without_caption_and_location_are_logs() {
        let p = LogInput {
            attachments: vec![photo(10)],
            ..Default::default()
        };
        assert_eq!(check(&p, LIMITS), Ok(()));
        assert_eq!(p.kind(), "photo");
        let loc = LogInput {
            location: Some((26.6, 106.7)),
            ..Default::default()
        };
        assert_eq!(check(&loc, LIMITS), Ok(()));
        assert_eq!(loc.kind(), "location");
    }

    #[test]
    fn backdate_command_parses_date_and_text() {
        assert_eq!(
            parse_backdate_command(" 2026-11-23  入户走访 三户 "),
            Ok((
                NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                "入户走访 三户".to_string()
            ))
        );
        assert_eq!(
            parse_backdate_command("2026-11-23"),
            Ok((
                NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                String::new()
            ))
        );
        assert_eq!(parse_backdate_command(""), Err(BackdateParseError::Usage));
        assert_eq!(
            parse_backdate_command("11月23日 走访"),
            Err(BackdateParseError::BadDate)
        );
    }
}
