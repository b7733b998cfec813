//! Generated test documents (feature `fixtures`): PDFs built with lopdf the ways Chinese
//! official documents are made, a DOCX, GB18030 text. Used by this crate's tests, the bot's
//! end-to-end tests and the benchmark.

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream, StringFormat, dictionary};
use std::io::Write;

/// How a PDF's Chinese text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdfText {
    /// An embedded font, `Identity-H`, glyph ids mapped by a `ToUnicode` CMap.
    EmbeddedToUnicode,
    /// A non-embedded font with the predefined CMap `UniGB-UCS2-H`, no `ToUnicode`.
    UniGbUcs2,
    /// A non-embedded font with the predefined CMap `GBK-EUC-H`, no `ToUnicode`.
    GbkEuc,
    /// An embedded font, `Identity-H`, and no `ToUnicode`: the text cannot be mapped.
    IdentityWithoutMap,
}

/// One line per `Tj`, moving down a line each time.
fn text_operations(lines: Vec<Vec<u8>>) -> Vec<Operation> {
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 12.into()]),
        Operation::new("Td", vec![50.into(), 780.into()]),
    ];
    for bytes in lines {
        ops.push(Operation::new(
            "Tj",
            vec![Object::String(bytes, StringFormat::Hexadecimal)],
        ));
        ops.push(Operation::new("Td", vec![0.into(), (-16).into()]));
    }
    ops.push(Operation::new("ET", vec![]));
    ops
}

fn to_unicode_cmap(chars: &[char]) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for (block, chunk) in chars.chunks(100).enumerate() {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (i, c) in chunk.iter().enumerate() {
            let cid = block * 100 + i + 1;
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            s.push_str(&format!("<{cid:04X}> <{hex}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

/// A one-page PDF showing `text` (lines split at `\n`) in the given way.
pub fn pdf(text: &str, how: PdfText) -> Vec<u8> {
    let mut doc_fonts = Dictionary::new();
    // The fonts are written into a scratch document first, then moved: lopdf needs ids.
    let mut scratch = Document::with_version("1.5");
    let embedded = matches!(
        how,
        PdfText::EmbeddedToUnicode | PdfText::IdentityWithoutMap
    );
    let mut glyphs: Vec<char> = Vec::new();
    let lines: Vec<Vec<u8>> = text
        .lines()
        .map(|line| match how {
            PdfText::EmbeddedToUnicode | PdfText::IdentityWithoutMap => {
                let mut out = Vec::new();
                for c in line.chars() {
                    let cid = match glyphs.iter().position(|g| *g == c) {
                        Some(i) => i + 1,
                        None => {
                            glyphs.push(c);
                            glyphs.len()
                        }
                    };
                    out.extend_from_slice(&(cid as u16).to_be_bytes());
                }
                out
            }
            PdfText::UniGbUcs2 => line.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            PdfText::GbkEuc => encoding_rs::GBK.encode(line).0.into_owned(),
        })
        .collect();
    let (encoding, ordering) = match how {
        PdfText::UniGbUcs2 => ("UniGB-UCS2-H", "GB1"),
        PdfText::GbkEuc => ("GBK-EUC-H", "GB1"),
        _ => ("Identity-H", "Identity"),
    };
    let mut descriptor = dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => "SimSun",
        "Flags" => 4,
        "FontBBox" => vec![0.into(), (-141).into(), 1000.into(), 859.into()],
        "ItalicAngle" => 0,
        "Ascent" => 859,
        "Descent" => -141,
        "CapHeight" => 683,
        "StemV" => 80,
    };
    if embedded {
        // Stands in for the font program; text extraction never reads it.
        let program = scratch.add_object(Stream::new(
            dictionary! {},
            b"\x00\x01\x00\x00fake-truetype".to_vec(),
        ));
        descriptor.set("FontFile2", program);
    }
    let descriptor_id = scratch.add_object(descriptor);
    let cid_font = scratch.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => "SimSun",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal(ordering),
            "Supplement" => 4,
        },
        "FontDescriptor" => descriptor_id,
        "DW" => 1000,
    });
    let mut font = dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "SimSun",
        "Encoding" => encoding,
        "DescendantFonts" => vec![cid_font.into()],
    };
    if how == PdfText::EmbeddedToUnicode {
        let map = scratch.add_object(Stream::new(dictionary! {}, to_unicode_cmap(&glyphs)));
        font.set("ToUnicode", map);
    }
    let font_id = scratch.add_object(font);
    doc_fonts.set("F1", font_id);
    build_with(scratch, doc_fonts, text_operations(lines), None)
}

/// Like `page_document`, in a document that already holds objects.
fn build_with(
    mut doc: Document,
    fonts: Dictionary,
    operations: Vec<Operation>,
    xobjects: Option<Dictionary>,
) -> Vec<u8> {
    let pages_id = doc.new_object_id();
    let mut resources = dictionary! { "Font" => fonts };
    if let Some(x) = xobjects {
        resources.set("XObject", x);
    }
    let resources_id = doc.add_object(resources);
    let data = Content { operations }.encode().expect("content encodes");
    let content_id = doc.add_object(Stream::new(dictionary! {}, data));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut buf = Vec::new();
    doc.save_to(&mut buf).expect("PDF writes");
    buf
}

/// A scanned page: one image, no text at all.
pub fn pdf_scan() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => 2,
            "Height" => 2,
            "ColorSpace" => "DeviceGray",
            "BitsPerComponent" => 8,
        },
        vec![0, 255, 255, 0],
    ));
    let ops = vec![
        Operation::new("q", vec![]),
        Operation::new(
            "cm",
            vec![
                595.into(),
                0.into(),
                0.into(),
                842.into(),
                0.into(),
                0.into(),
            ],
        ),
        Operation::new("Do", vec!["Im1".into()]),
        Operation::new("Q", vec![]),
    ];
    build_with(
        doc,
        Dictionary::new(),
        ops,
        Some(dictionary! { "Im1" => image }),
    )
}

/// A PDF that claims to be encrypted (an `/Encrypt` dictionary we have no password for).
pub fn pdf_encrypted() -> Vec<u8> {
    let text = pdf("加密文件", PdfText::UniGbUcs2);
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).rposition(|w| w == needle);
    // A standard security handler, revision 3, with made-up keys: no password opens it.
    let encrypt: &[u8] = b"/Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 \
        /O <0000000000000000000000000000000000000000000000000000000000000000> \
        /U <0000000000000000000000000000000000000000000000000000000000000000> >> \
        /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>]";
    // The cross-reference stream is the trailer of a PDF 1.5 file.
    let xref = find(&text, b"/Type/XRef").unwrap_or(0);
    let at = find(&text[..xref], b"<<").map_or(0, |i| i + 2);
    let mut out = text[..at].to_vec();
    out.extend_from_slice(encrypt);
    out.extend_from_slice(&text[at..]);
    out
}

/// A minimal DOCX with one paragraph per line of `text`.
pub fn docx(text: &str) -> Vec<u8> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body: String = text
        .lines()
        .map(|l| {
            format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                esc(l)
            )
        })
        .collect();
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:body>{body}</w:body></w:document>"
    );
    let types = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
        <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
        <Override PartName=\"/word/document.xml\" \
        ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
        </Types>";
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("[Content_Types].xml", opts)
            .expect("zip entry");
        zip.write_all(types.as_bytes()).expect("zip write");
        zip.start_file("word/document.xml", opts)
            .expect("zip entry");
        zip.write_all(document.as_bytes()).expect("zip write");
        zip.finish().expect("zip finishes");
    }
    buf.into_inner()
}

/// `text` encoded in GB18030, as Chinese Windows saves a .txt.
pub fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}
