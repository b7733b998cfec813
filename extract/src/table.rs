//! Tables out of the files an office keeps its lists in (the roster): a spreadsheet's
//! first sheet (XLSX, and the XLS and ODS that older offices still save) as rows of
//! cells, or CSV as text (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030, what
//! Excel on Chinese Windows saves "CSV" as). Bytes in, no I/O, no panic on hostile files.

use crate::{ExtractError, MAX_INFLATED_BYTES, txt};
use calamine::{Data, Reader};
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A table as read: the caller parses CSV text itself (its own line numbers and quoting).
#[derive(Debug, Clone, PartialEq)]
pub enum Table {
    /// CSV text, decoded.
    Csv(String),
    /// A sheet's rows, each with its row number as the spreadsheet shows it (1-based) and
    /// its cells from column A.
    Rows(Vec<(u64, Vec<String>)>),
}

/// The cells a sheet may hold (a 64 MB sheet of short cells is a few million; a roster of
/// a city is a few thousand rows of five).
const MAX_CELLS: usize = 2_000_000;

/// Reads a roster-like table from a file's bytes, by its first bytes (a zip is XLSX or
/// ODS, an OLE file XLS), else as CSV text.
pub fn read(bytes: &[u8]) -> Result<Table, ExtractError> {
    if bytes.starts_with(b"PK\x03\x04") {
        check_inflated(bytes)?;
        return sheet(bytes, "xlsx");
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return sheet(bytes, "xls");
    }
    txt::extract(bytes)
        .map(Table::Csv)
        .map_err(|_| ExtractError::Malformed("csv", "the text is neither UTF-8 nor GB18030".into()))
}

/// A zip bomb is refused before the reader inflates it: the parts' sizes as the archive
/// states them (the zip reader checks a part against its stated size as it inflates).
fn check_inflated(bytes: &[u8]) -> Result<(), ExtractError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ExtractError::Malformed("xlsx", format!("not a zip archive ({e})")))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let size = zip
            .by_index_raw(i)
            .map(|part| part.size())
            .unwrap_or(u64::MAX);
        total = total.saturating_add(size);
    }
    if total > MAX_INFLATED_BYTES {
        return Err(ExtractError::Malformed(
            "xlsx",
            "the workbook is too large when unpacked".into(),
        ));
    }
    Ok(())
}

fn sheet(bytes: &[u8], kind: &'static str) -> Result<Table, ExtractError> {
    let run = || -> Result<Table, ExtractError> {
        let malformed = |e: calamine::Error| ExtractError::Malformed(kind, e.to_string());
        let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| {
            ExtractError::Malformed(kind, "not a spreadsheet (XLSX, XLS or ODS)".into())
        })?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| ExtractError::Malformed(kind, "the workbook has no sheet".into()))?
            .map_err(malformed)?;
        let (height, width) = range.get_size();
        if height.saturating_mul(width) > MAX_CELLS {
            return Err(ExtractError::Malformed(
                kind,
                "the sheet is too large".into(),
            ));
        }
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let rows = range
            .rows()
            .enumerate()
            .map(|(i, cells)| {
                let mut row = vec![String::new(); first_col as usize];
                row.extend(cells.iter().map(cell_text));
                (u64::from(first_row) + i as u64 + 1, row)
            })
            .collect();
        Ok(Table::Rows(rows))
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
        Err(ExtractError::Malformed(
            kind,
            "the file could not be read".into(),
        ))
    })
}

/// A cell as the person typed it: a phone number typed into a number cell is 13800000001,
/// not 1.3800000001e10.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use rust_xlsxwriter::Workbook;
    use std::io::Write;

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in parts {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_sheet_is_rows_with_their_spreadsheet_numbers() {
        // As an office types it: a title row left empty, the table from B2, the phone
        // in a number cell; a second sheet is not read.
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(1, 1, "姓名").unwrap();
        sheet.write_string(1, 2, " 手机号 ").unwrap();
        sheet.write_string(2, 1, "张三").unwrap();
        sheet.write_number(2, 2, 13800000001.0).unwrap();
        sheet.write_number(3, 2, 1.5).unwrap();
        book.add_worksheet().write_string(0, 0, "other").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let Table::Rows(rows) = read(&bytes).unwrap() else {
            panic!("not rows")
        };
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            rows,
            vec![
                (2, s(&["", "姓名", "手机号"])),
                (3, s(&["", "张三", "13800000001"])),
                (4, s(&["", "", "1.5"])),
            ]
        );
    }

    #[test]
    fn csv_in_utf8_or_gb18030_is_text() {
        let text = "姓名,手机号\n张三,13800000001\n";
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        for bytes in [
            text.as_bytes().to_vec(),
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            gbk.into_owned(),
        ] {
            assert_eq!(read(&bytes).unwrap(), Table::Csv(text.into()));
        }
    }

    #[test]
    fn hostile_files_are_refused_with_a_reason() {
        let bomb = vec![b' '; (MAX_INFLATED_BYTES + 1) as usize];
        let cases: [(&str, Vec<u8>); 5] = [
            ("zip bomb", zip_of(&[("xl/worksheets/sheet1.xml", &bomb)])),
            ("zip without a workbook", zip_of(&[("a.txt", b"x")])),
            ("truncated zip", b"PK\x03\x04garbage".to_vec()),
            (
                "OLE header only",
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0".to_vec(),
            ),
            ("binary", vec![0xFF, 0x00, 0x81, 0x30]),
        ];
        for (what, bytes) in cases {
            assert!(
                matches!(read(&bytes), Err(ExtractError::Malformed(..))),
                "{what}: {:?}",
                read(&bytes)
            );
        }
    }
}
