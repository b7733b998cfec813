//! DOCX: the main part (`word/document.xml`) of the zip, its text runs (`w:t`), tabs and
//! breaks; one line per paragraph.

use crate::{ExtractError, MAX_INFLATED_BYTES};
use quick_xml::Reader;
use quick_xml::events::Event;
use std::io::{Cursor, Read};

fn malformed(why: impl ToString) -> ExtractError {
    ExtractError::Malformed("docx", why.to_string())
}

pub(crate) fn extract(bytes: &[u8]) -> Result<String, ExtractError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
            ExtractError::Unsupported
        } else {
            malformed(format!("not a zip archive ({e})"))
        }
    })?;
    let part = zip
        .by_name("word/document.xml")
        .map_err(|_| malformed("no word/document.xml: not a Word document"))?;
    if part.encrypted() {
        return Err(ExtractError::Encrypted);
    }
    let mut xml = Vec::new();
    part.take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(|e| malformed(format!("cannot inflate the document ({e})")))?;
    if xml.len() as u64 > MAX_INFLATED_BYTES {
        return Err(malformed("the document is too large when unpacked"));
    }
    text_of(&xml)
}

fn text_of(xml: &[u8]) -> Result<String, ExtractError> {
    let mut reader = Reader::from_reader(xml);
    let mut out = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"t" => in_text = true,
                b"tab" => out.push('\t'),
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"tab" => out.push('\t'),
                b"br" | b"cr" => out.push('\n'),
                _ => {}
            },
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => out.push('\n'),
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                out.push_str(&t.decode().map_err(malformed)?);
            }
            Ok(Event::CData(t)) if in_text => {
                out.push_str(&String::from_utf8_lossy(&t));
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    out.push(c);
                } else {
                    match r.decode().map_err(malformed)?.as_ref() {
                        "amp" => out.push('&'),
                        "lt" => out.push('<'),
                        "gt" => out.push('>'),
                        "quot" => out.push('"'),
                        "apos" => out.push('\''),
                        _ => {}
                    }
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(malformed(format!("broken XML ({e})"))),
        }
        buf.clear();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_tabs_breaks_and_entities() {
        let xml = r#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>
            <w:p><w:r><w:t>第一条</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve">A &amp; B&#12290;</w:t></w:r></w:p>
            <w:p><w:r><w:t>第二条</w:t><w:br/><w:t>续</w:t></w:r></w:p></w:body></w:document>"#;
        assert_eq!(
            text_of(xml.as_bytes()).unwrap(),
            "第一条\tA & B。\n第二条\n续\n"
        );
        assert!(text_of(b"<w:p><w:t>x</w:q>").is_err());
    }

    #[test]
    fn not_a_zip_or_not_word_is_refused() {
        assert!(matches!(
            extract(b"PK\x03\x04garbage"),
            Err(ExtractError::Malformed(..))
        ));
        assert_eq!(
            extract(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"),
            Err(ExtractError::Unsupported)
        );
    }
}
