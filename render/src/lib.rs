//! The reports of zhucun as bytes: XLSX workbooks, CSV files, PNG charts and monospace
//! text tables, made from plain figures. No I/O and no database: `bot`, `scheduler` and
//! the CLI load the figures (from `storage`) and hand them here, so none of them depends on
//! the spreadsheet or drawing libraries, and every surface lays a figure out the same way.

pub mod chart;
pub mod compliance;
pub mod subsidy;
pub mod text;
mod width;

pub use width::display_width;

/// A report that could not be made (the libraries' errors, as text).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("spreadsheet: {0}")]
    Xlsx(String),
    #[error("csv: {0}")]
    Csv(String),
    #[error("chart: {0}")]
    Chart(String),
}

impl From<rust_xlsxwriter::XlsxError> for RenderError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        RenderError::Xlsx(e.to_string())
    }
}

impl From<csv::Error> for RenderError {
    fn from(e: csv::Error) -> Self {
        RenderError::Csv(e.to_string())
    }
}

/// The file formats of a report, chosen by the `--out` file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// `None` for an extension that is neither `.xlsx` nor `.csv` (case-insensitive).
    pub fn of_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".xlsx") {
            Some(Format::Xlsx)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }
}

/// Sheet names Excel accepts: at most 31 characters, none of `[]:*?/\`, unique in the
/// workbook (a second `城关区` becomes `城关区(2)`).
pub(crate) fn sheet_name(wanted: &str, taken: &mut Vec<String>) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(28)
        .collect();
    let clean = if clean.trim().is_empty() {
        "_".to_string()
    } else {
        clean
    };
    let mut name = clean.clone();
    let mut n = 2;
    while taken
        .iter()
        .any(|t| t.to_lowercase() == name.to_lowercase())
    {
        name = format!("{clean}({n})");
        n += 1;
    }
    taken.push(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of_path("a/b.XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::of_path("b.csv"), Some(Format::Csv));
        assert_eq!(Format::of_path("b.xls"), None);
        assert_eq!(Format::of_path("csv"), None);
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut taken = vec!["汇总".to_string()];
        assert_eq!(sheet_name("城关区", &mut taken), "城关区");
        assert_eq!(sheet_name("城关区", &mut taken), "城关区(2)");
        assert_eq!(sheet_name("a/b:c", &mut taken), "a_b_c");
        assert_eq!(sheet_name("汇总", &mut taken), "汇总(2)");
        assert!(sheet_name(&"长".repeat(40), &mut taken).chars().count() <= 31);
    }
}
