//! The monthly subsidy report (`zhucun report subsidy`, the `subsidy-report` job): one row
//! per cadre with his log days, approved-leave days and subsidy days, every figure read
//! from his presence record.

use crate::RenderError;
use crate::width::display_width;
use domain::attendance::{DayStatus, Month};
use domain::supervision::{CadreMonth, short_name};
use rust_xlsxwriter::{Format, Workbook, Worksheet};

/// The CSV header, exactly as SPEC says.
pub const CSV_HEADER: [&str; 6] = [
    "name",
    "phone",
    "unit",
    "log_days",
    "leave_days",
    "subsidy_days",
];

/// The XLSX headings of the same columns.
pub const HEADINGS: [&str; 6] = ["姓名", "手机号", "单位", "记实天数", "请假天数", "补助天数"];

/// The mark of a day in the 出勤明细 sheet.
pub fn mark(status: DayStatus) -> &'static str {
    match status {
        DayStatus::Logged => "记",
        DayStatus::Leave => "假",
        DayStatus::Rest => "休",
        DayStatus::Nothing => "",
    }
}

/// UTF-8 CSV: the header row, then one row per cadre in the order given.
pub fn csv(rows: &[CadreMonth]) -> Result<Vec<u8>, RenderError> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(64 * (rows.len() + 1)));
    w.write_record(CSV_HEADER)?;
    for r in rows {
        let s = r.summary();
        w.write_record([
            r.cadre.name.as_str(),
            r.cadre.phone.as_str(),
            r.cadre.unit_path.as_str(),
            &s.log_days.to_string(),
            &s.leave_days.to_string(),
            &s.eligible_days.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| RenderError::Csv(e.to_string()))
}

/// A cell of a sheet.
pub(crate) enum Cell<'a> {
    Text(&'a str),
    Num(u32),
}

impl Cell<'_> {
    fn width(&self) -> usize {
        match self {
            Cell::Text(s) => display_width(s),
            Cell::Num(n) => n.to_string().len(),
        }
    }
}

/// Writes a heading row and the rows, freezes the heading row and sizes every column to
/// its widest cell (CJK counted double), within sensible bounds.
pub(crate) fn table(
    sheet: &mut Worksheet,
    headings: &[&str],
    rows: &mut dyn Iterator<Item = Vec<Cell<'_>>>,
) -> Result<(), RenderError> {
    let bold = Format::new().set_bold();
    let mut widths: Vec<usize> = headings.iter().map(|h| display_width(h)).collect();
    for (c, h) in headings.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (row, cells) in (1u32..).zip(rows) {
        for (c, cell) in cells.iter().enumerate() {
            match cell {
                Cell::Text(s) if !s.is_empty() => {
                    sheet.write_string(row, c as u16, *s)?;
                }
                Cell::Text(_) => {}
                Cell::Num(n) => {
                    sheet.write_number(row, c as u16, f64::from(*n))?;
                }
            }
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(cell.width());
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        // One cell of padding; at least 3 (a day column), at most 60.
        sheet.set_column_width(c as u16, (*w + 1).clamp(3, 60) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn figures_row(r: &CadreMonth) -> Vec<Cell<'_>> {
    let s = r.summary();
    vec![
        Cell::Text(&r.cadre.name),
        Cell::Text(&r.cadre.phone),
        Cell::Text(&r.cadre.unit_path),
        Cell::Num(s.log_days),
        Cell::Num(s.leave_days),
        Cell::Num(s.eligible_days),
    ]
}

/// The workbook: 汇总 (every cadre) first, then one sheet per county or district (in the
/// order they first appear), then 出勤明细 (one column per day with its mark, and the three
/// figures again at the end, so any figure can be checked by counting marks: 记 are the
/// subsidy days, 假 the leave days).
pub fn xlsx(month: Month, rows: &[CadreMonth]) -> Result<Vec<u8>, RenderError> {
    let mut book = Workbook::new();
    let mut taken = Vec::new();

    let all = book.add_worksheet();
    all.set_name(crate::sheet_name("汇总", &mut taken))?;
    table(all, &HEADINGS, &mut rows.iter().map(figures_row))?;

    let mut districts: Vec<&str> = Vec::new();
    for r in rows {
        if !districts.contains(&r.district()) {
            districts.push(r.district());
        }
    }
    for d in &districts {
        let sheet = book.add_worksheet();
        sheet.set_name(crate::sheet_name(short_name(d), &mut taken))?;
        table(
            sheet,
            &HEADINGS,
            &mut rows.iter().filter(|r| r.district() == *d).map(figures_row),
        )?;
    }

    let days: Vec<chrono::NaiveDate> = month.days().collect();
    let day_labels: Vec<String> = days.iter().map(|d| d.format("%-d").to_string()).collect();
    let mut headings: Vec<&str> = vec!["姓名", "手机号", "单位"];
    headings.extend(day_labels.iter().map(String::as_str));
    headings.extend(["记实天数", "请假天数", "补助天数"]);
    let detail = book.add_worksheet();
    detail.set_name(crate::sheet_name("出勤明细", &mut taken))?;
    table(
        detail,
        &headings,
        &mut rows.iter().map(|r| {
            let s = r.summary();
            let mut cells = vec![
                Cell::Text(&r.cadre.name),
                Cell::Text(&r.cadre.phone),
                Cell::Text(&r.cadre.unit_path),
            ];
            cells.extend(
                days.iter()
                    .map(|d| Cell::Text(r.record.status(*d).map_or("", mark))),
            );
            cells.extend([
                Cell::Num(s.log_days),
                Cell::Num(s.leave_days),
                Cell::Num(s.eligible_days),
            ]);
            cells
        }),
    )?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::attendance::month_record;
    use domain::calendar::Calendar;
    use domain::supervision::Cadre;

    fn d(s: &str) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub(crate) fn rows() -> Vec<CadreMonth> {
        let month = Month::parse("2026-11").unwrap();
        let cal = Calendar::default();
        let mk = |id, name: &str, unit: &str, logs: &[&str], leave: &[(&str, &str)]| CadreMonth {
            cadre: Cadre {
                id,
                name: name.into(),
                phone: format!("1380000000{id}"),
                unit_path: unit.into(),
                active: true,
            },
            record: month_record(
                month,
                &logs.iter().map(|s| d(s)).collect::<Vec<_>>(),
                &leave.iter().map(|(a, b)| (d(a), d(b))).collect::<Vec<_>>(),
                &cal,
            ),
        };
        vec![
            mk(
                1,
                "张三",
                "贵阳市/乌当区/新堡乡/谷溪村",
                &["2026-11-02", "2026-11-03"],
                &[("2026-11-03", "2026-11-04")],
            ),
            mk(2, "O'Brien, \"Pat\"", "贵阳市/花溪区/青岩镇", &[], &[]),
        ]
    }

    #[test]
    fn csv_has_the_exact_header_and_quotes_what_needs_it() {
        let text = String::from_utf8(csv(&rows()).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "name,phone,unit,log_days,leave_days,subsidy_days");
        assert_eq!(
            lines[1],
            "张三,13800000001,贵阳市/乌当区/新堡乡/谷溪村,2,2,1"
        );
        assert_eq!(
            lines[2],
            "\"O'Brien, \"\"Pat\"\"\",13800000002,贵阳市/花溪区/青岩镇,0,0,0"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = xlsx(Month::parse("2026-11").unwrap(), &rows()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }

    #[test]
    fn marks_are_short() {
        assert_eq!(mark(DayStatus::Logged), "记");
        assert_eq!(mark(DayStatus::Leave), "假");
        assert_eq!(mark(DayStatus::Rest), "休");
        assert_eq!(mark(DayStatus::Nothing), "");
    }
}

#[cfg(test)]
mod read_back {
    use super::tests::rows;
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    #[test]
    fn the_workbook_has_the_sheets_headings_and_figures() {
        let bytes = xlsx(Month::parse("2026-11").unwrap(), &rows()).unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(
            book.sheet_names(),
            vec!["汇总", "乌当区", "花溪区", "出勤明细"]
        );
        let all = book.worksheet_range("汇总").unwrap();
        let head: Vec<String> = all
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(head, HEADINGS);
        let first: Vec<String> = all
            .rows()
            .nth(1)
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            first,
            [
                "张三",
                "13800000001",
                "贵阳市/乌当区/新堡乡/谷溪村",
                "2",
                "2",
                "1"
            ]
        );
        let wd = book.worksheet_range("乌当区").unwrap();
        assert_eq!(wd.height(), 2);
        let detail = book.worksheet_range("出勤明细").unwrap();
        let row: Vec<&Data> = detail.rows().nth(1).unwrap().iter().collect();
        // 3 name columns, 30 days, 3 figures. 2 Nov 2026 is a Monday.
        assert_eq!(row.len(), 36);
        assert_eq!(row[3].to_string(), "休", "1 Nov is a Sunday");
        assert_eq!(row[4].to_string(), "记");
        assert_eq!(
            row[5].to_string(),
            "假",
            "a log on a leave day is a leave day"
        );
        assert_eq!(row[6].to_string(), "假");
        assert_eq!(row[7].to_string(), "");
        let marks = |m: &str| row[3..33].iter().filter(|c| c.to_string() == m).count();
        assert_eq!(
            marks("记").to_string(),
            row[35].to_string(),
            "记 marks are the subsidy days"
        );
        assert_eq!(marks("假").to_string(), row[34].to_string());
    }

    #[test]
    fn headings_are_frozen_and_columns_fit_chinese() {
        let bytes = xlsx(Month::parse("2026-11").unwrap(), &rows()).unwrap();
        let xml = sheet_xml(&bytes, "xl/worksheets/sheet1.xml");
        assert!(xml.contains("ySplit=\"1\""), "{xml}");
        assert!(xml.contains("state=\"frozen\""));
        // 单位 holds 贵阳市/乌当区/新堡乡/谷溪村: 27 cells wide, + 1 padding.
        assert!(
            xml.contains("<col min=\"3\" max=\"3\" width=\"28.7109375\""),
            "{xml}"
        );
    }

    fn sheet_xml(bytes: &[u8], name: &str) -> String {
        use std::io::Read;
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    }
}
