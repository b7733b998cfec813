//! The weekly work-update compliance report (`zhucun report compliance`, the weekly
//! summary): one row per unit that owes an update, with its updates that ISO week and
//! whether it met the duty.

use crate::RenderError;
use crate::subsidy::{Cell, table};
use domain::supervision::{district_of, short_name};
use rust_xlsxwriter::Workbook;

/// One unit's week, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDuty {
    /// Full unit path, `/`-separated as in the roster.
    pub unit_path: String,
    pub updates: u32,
    pub met: bool,
}

pub const CSV_HEADER: [&str; 3] = ["unit", "updates", "met"];
pub const HEADINGS: [&str; 3] = ["单位", "动态条数", "是否达标"];

/// UTF-8 CSV with the header `unit,updates,met`; `met` is `yes` or `no`.
pub fn csv(rows: &[UnitDuty]) -> Result<Vec<u8>, RenderError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for r in rows {
        w.write_record([
            r.unit_path.as_str(),
            &r.updates.to_string(),
            if r.met { "yes" } else { "no" },
        ])?;
    }
    w.into_inner().map_err(|e| RenderError::Csv(e.to_string()))
}

fn cells(r: &UnitDuty) -> Vec<Cell<'_>> {
    vec![
        Cell::Text(&r.unit_path),
        Cell::Num(r.updates),
        Cell::Text(if r.met { "是" } else { "否" }),
    ]
}

/// 汇总 first, then one sheet per county or district.
pub fn xlsx(rows: &[UnitDuty]) -> Result<Vec<u8>, RenderError> {
    let mut book = Workbook::new();
    let mut taken = Vec::new();
    let all = book.add_worksheet();
    all.set_name(crate::sheet_name("汇总", &mut taken))?;
    table(all, &HEADINGS, &mut rows.iter().map(cells))?;
    let mut districts: Vec<&str> = Vec::new();
    for r in rows {
        let d = district_of(&r.unit_path);
        if !districts.contains(&d) {
            districts.push(d);
        }
    }
    for d in districts {
        let sheet = book.add_worksheet();
        sheet.set_name(crate::sheet_name(short_name(d), &mut taken))?;
        table(
            sheet,
            &HEADINGS,
            &mut rows
                .iter()
                .filter(|r| district_of(&r.unit_path) == d)
                .map(cells),
        )?;
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Reader, Xlsx};

    fn rows() -> Vec<UnitDuty> {
        vec![
            UnitDuty {
                unit_path: "贵阳市/乌当区".into(),
                updates: 2,
                met: true,
            },
            UnitDuty {
                unit_path: "贵阳市/花溪区".into(),
                updates: 0,
                met: false,
            },
        ]
    }

    #[test]
    fn csv_header_and_yes_no() {
        let text = String::from_utf8(csv(&rows()).unwrap()).unwrap();
        assert_eq!(
            text,
            "unit,updates,met\n贵阳市/乌当区,2,yes\n贵阳市/花溪区,0,no\n"
        );
    }

    #[test]
    fn xlsx_sheets_and_headings() {
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx(&rows()).unwrap())).unwrap();
        assert_eq!(book.sheet_names(), vec!["汇总", "乌当区", "花溪区"]);
        let r = book.worksheet_range("汇总").unwrap();
        let head: Vec<String> = r
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(head, HEADINGS);
        let last: Vec<String> = r
            .rows()
            .nth(2)
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(last, ["贵阳市/花溪区", "0", "否"]);
    }
}
