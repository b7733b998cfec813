//! Text out of the documents admins add to the policy library: bytes in, text out, no I/O.
//!
//! - PDF through `lopdf`, with our own text walk: fonts with a `ToUnicode` map, simple
//!   fonts with a standard encoding, and Type0 fonts with one of the predefined CJK CMaps
//!   official documents use without `ToUnicode` (`GBK-EUC-H`, `UniGB-UCS2-H`, …), decoded
//!   with `encoding_rs`. Encrypted files and files that do not parse are refused with the
//!   reason. A PDF with no text, or mostly characters that cannot be mapped, is a scan.
//! - DOCX: `word/document.xml` from the zip, paragraphs as lines.
//! - TXT: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030.
//!
//! Nothing here panics on hostile bytes: the parsers run under `catch_unwind`, archives
//! and inflated streams are size-capped.

mod docx;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod pdf;
pub mod table;
mod txt;

use std::panic::{AssertUnwindSafe, catch_unwind};

/// The formats the library takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Docx,
    Txt,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Txt => "txt",
        }
    }
}

/// Text taken out of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub format: Format,
    /// The text, whitespace tidied; empty for a scan.
    pub text: String,
    /// No usable text (empty, or mostly unmappable characters): a scan, findable by title.
    pub scan: bool,
}

/// Why a file gives no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// Not a PDF, DOCX or text file (e.g. an old .doc, an image).
    #[error("unsupported file type")]
    Unsupported,
    /// The PDF is encrypted with a password we do not have.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// The file is damaged or not what its name says.
    #[error("malformed {0}: {1}")]
    Malformed(&'static str, String),
}

/// The decompressed size a DOCX part or a PDF may grow to (a zip bomb stops here).
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// The format of a file, from its first bytes, else its name or MIME type.
pub fn detect(bytes: &[u8], file_name: Option<&str>, mime: Option<&str>) -> Option<Format> {
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    if bytes.starts_with(b"%PDF-") || ext.as_deref() == Some("pdf") {
        return Some(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") || ext.as_deref() == Some("docx") {
        return Some(Format::Docx);
    }
    let texty = ext.as_deref() == Some("txt") || mime.is_some_and(|m| m.starts_with("text/plain"));
    if texty {
        return Some(Format::Txt);
    }
    None
}

/// Extracts the text of a file of `format`. Never panics.
pub fn extract(bytes: &[u8], format: Format) -> Result<Extracted, ExtractError> {
    let run = || match format {
        Format::Pdf => pdf::extract(bytes),
        Format::Docx => docx::extract(bytes),
        Format::Txt => txt::extract(bytes),
    };
    let text = match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r?,
        Err(_) => {
            return Err(ExtractError::Malformed(
                format.as_str(),
                "the file could not be read".into(),
            ));
        }
    };
    let (text, scan) = judge(&tidy(&text));
    Ok(Extracted { format, text, scan })
}

/// Detects and extracts in one go.
pub fn extract_file(
    bytes: &[u8],
    file_name: Option<&str>,
    mime: Option<&str>,
) -> Result<Extracted, ExtractError> {
    let format = detect(bytes, file_name, mime).ok_or(ExtractError::Unsupported)?;
    extract(bytes, format)
}

/// Collapses runs of blanks inside lines, drops blank lines and control characters.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut l = String::new();
        let mut blank = false;
        for c in line.chars() {
            if c.is_whitespace() || c.is_control() {
                blank = true;
                continue;
            }
            if blank && !l.is_empty() {
                l.push(' ');
            }
            blank = false;
            l.push(c);
        }
        if !l.is_empty() {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// A text is a scan's when it has almost nothing readable: fewer than 10 readable
/// characters, or more than a third unmappable (U+FFFD). Its replacement characters go.
fn judge(text: &str) -> (String, bool) {
    let visible = text.chars().filter(|c| !c.is_whitespace()).count();
    let bad = text.chars().filter(|c| *c == '\u{FFFD}').count();
    let good = visible - bad;
    let scan = good < 10 || bad * 3 > visible;
    if scan {
        (String::new(), true)
    } else {
        (tidy(&text.replace('\u{FFFD}', "")), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_magic_bytes_then_names() {
        assert_eq!(detect(b"%PDF-1.7", None, None), Some(Format::Pdf));
        assert_eq!(
            detect(b"PK\x03\x04..", Some("a.bin"), None),
            Some(Format::Docx)
        );
        assert_eq!(detect(b"hello", Some("a.TXT"), None), Some(Format::Txt));
        assert_eq!(
            detect(b"hello", None, Some("text/plain; charset=gbk")),
            Some(Format::Txt)
        );
        assert_eq!(detect(b"garbage", Some("x.pdf"), None), Some(Format::Pdf));
        assert_eq!(detect(b"\xD0\xCF\x11\xE0", Some("old.doc"), None), None);
        assert_eq!(
            detect(b"\x89PNG", Some("scan.png"), Some("image/png")),
            None
        );
    }

    #[test]
    fn tidy_and_judge() {
        assert_eq!(tidy("  一  二 \n\n\t三\u{0}四 \n"), "一 二\n三 四");
        assert_eq!(judge("短"), (String::new(), true));
        let bad = "\u{FFFD}".repeat(30) + "第一条第二条第三条第四条";
        assert!(judge(&bad).1);
        let ok = "第一条 为了规范农村最低生活保障工作\u{FFFD}";
        assert_eq!(
            judge(ok),
            ("第一条 为了规范农村最低生活保障工作".into(), false)
        );
    }
}
