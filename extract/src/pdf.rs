//! PDF text: a walk over each page's content stream, decoding the shown strings with the
//! current font. lopdf parses the file and reads `ToUnicode` maps and the standard one-byte
//! encodings; the predefined CJK CMaps of Chinese official documents (no `ToUnicode`) are
//! decoded here with `encoding_rs`. Codes we cannot map become U+FFFD, which is how a
//! scan-like or unmappable file is recognised.

use crate::ExtractError;
use encoding_rs::Encoding as Charset;
use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object};
use std::collections::BTreeMap;

fn malformed(why: impl ToString) -> ExtractError {
    ExtractError::Malformed("pdf", why.to_string())
}

/// How the strings of one font become text.
enum Decoder<'a> {
    /// lopdf's decoding: a `ToUnicode` map or a one-byte encoding.
    Lopdf(lopdf::Encoding<'a>),
    /// A predefined CJK CMap whose codes are a known charset's bytes.
    Charset(&'static Charset),
    /// Codes we cannot map (e.g. `Identity-H` without `ToUnicode`): so many bytes a glyph.
    Unmapped(usize),
}

impl Decoder<'_> {
    fn decode(&self, bytes: &[u8]) -> String {
        match self {
            Decoder::Lopdf(e) => e
                .bytes_to_string(bytes)
                .unwrap_or_else(|_| "\u{FFFD}".repeat(bytes.len().max(1))),
            Decoder::Charset(c) => c.decode_without_bom_handling(bytes).0.into_owned(),
            Decoder::Unmapped(n) => "\u{FFFD}".repeat(bytes.len().div_ceil(*n)),
        }
    }
}

/// The charset of a predefined CJK CMap (PDF 32000-1, table 118), by name.
fn predefined_cmap(name: &[u8]) -> Option<&'static Charset> {
    let name = std::str::from_utf8(name).ok()?;
    let base = name
        .strip_suffix("-H")
        .or_else(|| name.strip_suffix("-V"))
        .unwrap_or(name);
    Some(match base {
        b if b.starts_with("Uni") && (b.contains("UCS2") || b.contains("UTF16")) => {
            encoding_rs::UTF_16BE
        }
        b if b.starts_with("Uni") && b.contains("UTF8") => encoding_rs::UTF_8,
        "GB-EUC" | "GBpc-EUC" | "GBK-EUC" | "GBKp-EUC" | "GBK2K" | "GBT-EUC" | "GBTpc-EUC" => {
            encoding_rs::GB18030
        }
        "B5pc" | "ETen-B5" | "HKscs-B5" | "ETenms-B5" | "CNS-EUC" => encoding_rs::BIG5,
        "83pv-RKSJ" | "90ms-RKSJ" | "90msp-RKSJ" | "90pv-RKSJ" | "Add-RKSJ" | "Ext-RKSJ" => {
            encoding_rs::SHIFT_JIS
        }
        "EUC" => encoding_rs::EUC_JP,
        "KSC-EUC" | "KSCms-UHC" | "KSCms-UHC-HW" | "KSCpc-EUC" => encoding_rs::EUC_KR,
        _ => return None,
    })
}

fn is_type0(font: &Dictionary) -> bool {
    font.get(b"Subtype")
        .and_then(Object::as_name)
        .is_ok_and(|s| s == b"Type0")
}

fn has_to_unicode(font: &Dictionary) -> bool {
    font.get(b"ToUnicode").is_ok()
}

pub(crate) fn extract(bytes: &[u8]) -> Result<String, ExtractError> {
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(malformed("not a PDF file"));
    }
    let mut doc = Document::load_mem(bytes).map_err(|e| match e {
        lopdf::Error::Decryption(_) | lopdf::Error::AlreadyEncrypted => ExtractError::Encrypted,
        e if e.to_string().to_lowercase().contains("encrypt") => ExtractError::Encrypted,
        // A file that does not open and names a security handler is most likely encrypted.
        _ if bytes.windows(8).any(|w| w == b"/Encrypt") => ExtractError::Encrypted,
        e => malformed(e),
    })?;
    // Files with only an owner password (printing restrictions) open with the empty user
    // password; others are refused.
    let encrypted = doc.trailer.get(b"Encrypt").is_ok();
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(ExtractError::Encrypted);
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(if encrypted {
            ExtractError::Encrypted
        } else {
            malformed("no pages")
        });
    }
    let mut out = String::new();
    for page_id in pages.into_values() {
        let fonts = doc.get_page_fonts(page_id).unwrap_or_default();
        // Fonts with a ToUnicode map are read through it, whatever their encoding says:
        // lopdf reads the map of an Identity-H font, so such a copy is made here.
        let patched: Vec<(Vec<u8>, Dictionary)> = fonts
            .iter()
            .filter(|(_, f)| has_to_unicode(f))
            .map(|(name, f)| {
                let mut d = (*f).clone();
                d.set("Encoding", Object::Name(b"Identity-H".to_vec()));
                (name.clone(), d)
            })
            .collect();
        let mut decoders: BTreeMap<Vec<u8>, Decoder> = BTreeMap::new();
        for (name, font) in &fonts {
            let decoder = if let Some((_, d)) = patched.iter().find(|(n, _)| n == name) {
                match d.get_font_encoding(&doc) {
                    Ok(e) => Decoder::Lopdf(e),
                    Err(_) => Decoder::Unmapped(2),
                }
            } else if is_type0(font) {
                match font.get(b"Encoding").and_then(Object::as_name) {
                    Ok(n) => predefined_cmap(n).map_or(Decoder::Unmapped(2), Decoder::Charset),
                    Err(_) => Decoder::Unmapped(2),
                }
            } else {
                match font.get_font_encoding(&doc) {
                    Ok(e) => Decoder::Lopdf(e),
                    Err(_) => Decoder::Unmapped(1),
                }
            };
            decoders.insert(name.clone(), decoder);
        }
        let Ok(data) = doc.get_page_content(page_id) else {
            continue;
        };
        let Ok(content) = Content::decode(&data) else {
            continue;
        };
        walk(&content, &decoders, &mut out);
        out.push('\n');
    }
    Ok(join_wrapped_lines(&out))
}

/// The text shown by a content stream, a line break at each move to another line.
fn walk(content: &Content, decoders: &BTreeMap<Vec<u8>, Decoder>, out: &mut String) {
    let mut font: Option<&Decoder> = None;
    let mut last_y: Option<f32> = None;
    let newline = |out: &mut String| {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    };
    for op in &content.operations {
        let show = |out: &mut String, o: &Object, font: Option<&Decoder>| {
            if let Object::String(bytes, _) = o {
                match font {
                    Some(d) => out.push_str(&d.decode(bytes)),
                    None => out.push('\u{FFFD}'),
                }
            }
        };
        match op.operator.as_str() {
            "Tf" => {
                font = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| decoders.get(n));
            }
            "Tj" => {
                if let Some(o) = op.operands.first() {
                    show(out, o, font);
                }
            }
            "'" => {
                newline(out);
                if let Some(o) = op.operands.first() {
                    show(out, o, font);
                }
            }
            "\"" => {
                newline(out);
                if let Some(o) = op.operands.get(2) {
                    show(out, o, font);
                }
            }
            "TJ" => {
                if let Some(Object::Array(items)) = op.operands.first() {
                    for item in items {
                        match item {
                            Object::String(..) => show(out, item, font),
                            // A wide gap between words of Latin text is a space.
                            Object::Integer(n) if *n < -250 => out.push(' '),
                            Object::Real(n) if *n < -250.0 => out.push(' '),
                            _ => {}
                        }
                    }
                }
            }
            "T*" => newline(out),
            "Td" | "TD" => {
                let ty = op
                    .operands
                    .get(1)
                    .and_then(|o| o.as_float().ok())
                    .unwrap_or(0.0);
                if ty != 0.0 {
                    newline(out);
                }
            }
            "Tm" => {
                let y = op.operands.get(5).and_then(|o| o.as_float().ok());
                if y.is_some() && last_y.is_some() && y != last_y {
                    newline(out);
                }
                last_y = y;
            }
            _ => {}
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// PDF lines are layout, not meaning: a line that ends in a Chinese character (not a
/// sentence end) continues on the next one that starts with one, so words broken by the
/// line end stay whole for the index.
fn join_wrapped_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_end();
        out.push_str(line);
        let next_starts_cjk = lines
            .get(i + 1)
            .and_then(|l| l.trim_start().chars().next())
            .is_some_and(is_cjk);
        let ends_cjk = line.chars().last().is_some_and(is_cjk);
        if !(ends_cjk && next_starts_cjk) {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_cmaps_name_their_charsets() {
        assert_eq!(predefined_cmap(b"GBK-EUC-H"), Some(encoding_rs::GB18030));
        assert_eq!(
            predefined_cmap(b"UniGB-UCS2-H"),
            Some(encoding_rs::UTF_16BE)
        );
        assert_eq!(
            predefined_cmap(b"UniGB-UTF16-V"),
            Some(encoding_rs::UTF_16BE)
        );
        assert_eq!(predefined_cmap(b"B5pc-H"), Some(encoding_rs::BIG5));
        assert_eq!(predefined_cmap(b"Identity-H"), None);
        assert_eq!(predefined_cmap(b"\xFF"), None);
    }

    #[test]
    fn wrapped_chinese_lines_are_joined() {
        assert_eq!(
            join_wrapped_lines("农村最低生活\n保障工作规程。\n第二条\nAbc\n"),
            "农村最低生活保障工作规程。\n第二条\nAbc\n"
        );
    }
}
