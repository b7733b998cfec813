//! Generated documents of every kind the library takes, and hostile bytes: the text comes
//! out, or a clear refusal; never a panic.

use extract::fixtures::{self, PdfText};
use extract::{ExtractError, Format, extract, extract_file};

const TEXT: &str = "贵州省农村居民最低生活保障工作规程\n第一条 为规范农村最低生活保障工作，制定本规程。\n第二条 申请低保以家庭为单位。";

fn flat(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn pdf_with_an_embedded_font_and_to_unicode_gives_its_text() {
    let bytes = fixtures::pdf(TEXT, PdfText::EmbeddedToUnicode);
    let got = extract_file(&bytes, Some("规程.pdf"), Some("application/pdf")).unwrap();
    assert_eq!(got.format, Format::Pdf);
    assert!(!got.scan);
    assert_eq!(flat(&got.text), flat(TEXT), "{}", got.text);
}

#[test]
fn pdf_with_predefined_cjk_cmaps_and_no_to_unicode_gives_its_text() {
    for how in [PdfText::UniGbUcs2, PdfText::GbkEuc] {
        let bytes = fixtures::pdf(TEXT, how);
        let got = extract(&bytes, Format::Pdf).unwrap();
        assert!(!got.scan, "{how:?}");
        assert_eq!(flat(&got.text), flat(TEXT), "{how:?}: {}", got.text);
    }
}

#[test]
fn a_scan_or_unmappable_pdf_is_flagged() {
    let got = extract(&fixtures::pdf_scan(), Format::Pdf).unwrap();
    assert!(got.scan && got.text.is_empty());
    let got = extract(
        &fixtures::pdf(TEXT, PdfText::IdentityWithoutMap),
        Format::Pdf,
    )
    .unwrap();
    assert!(got.scan && got.text.is_empty(), "{got:?}");
}

#[test]
fn broken_and_encrypted_pdfs_are_refused_with_the_reason() {
    let good = fixtures::pdf(TEXT, PdfText::UniGbUcs2);
    assert!(matches!(
        extract(b"this is not a pdf", Format::Pdf),
        Err(ExtractError::Malformed("pdf", _))
    ));
    assert!(extract(b"%PDF-1.7\n%garbage", Format::Pdf).is_err());
    assert_eq!(
        extract(&fixtures::pdf_encrypted(), Format::Pdf),
        Err(ExtractError::Encrypted)
    );
    // Truncated anywhere: text or a refusal, never a panic.
    for cut in (0..good.len()).step_by(7) {
        let _ = extract(&good[..cut], Format::Pdf);
    }
}

#[test]
fn docx_and_gb18030_text_give_their_text() {
    let got = extract_file(&fixtures::docx(TEXT), Some("规程.docx"), None).unwrap();
    assert_eq!((got.format, got.text.as_str()), (Format::Docx, TEXT));
    let got = extract_file(
        &fixtures::gb18030(TEXT),
        Some("规程.txt"),
        Some("text/plain"),
    )
    .unwrap();
    assert_eq!((got.format, got.text.as_str()), (Format::Txt, TEXT));
    assert_eq!(
        extract_file(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", Some("old.doc"), None),
        Err(ExtractError::Unsupported)
    );
}

#[test]
fn garbage_and_truncated_files_of_every_kind_never_panic() {
    let docs = [
        fixtures::docx(TEXT),
        fixtures::pdf(TEXT, PdfText::EmbeddedToUnicode),
        fixtures::pdf(TEXT, PdfText::GbkEuc),
        fixtures::gb18030(TEXT),
    ];
    let mut seed: u32 = 7;
    let mut noise = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (seed >> 16) as u8
    };
    for doc in &docs {
        for format in [Format::Pdf, Format::Docx, Format::Txt] {
            for cut in (0..doc.len()).step_by(doc.len() / 40 + 1) {
                let _ = extract(&doc[..cut], format);
            }
            // Flipped bytes in the middle.
            let mut bad = doc.clone();
            for _ in 0..20 {
                let i = usize::from(noise()) * bad.len() / 256;
                bad[i] = noise();
            }
            let _ = extract(&bad, format);
        }
    }
    let random: Vec<u8> = (0..4096).map(|_| noise()).collect();
    for format in [Format::Pdf, Format::Docx, Format::Txt] {
        assert!(extract(&random, format).is_err() || format == Format::Txt);
    }
}
