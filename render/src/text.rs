//! Monospace text tables, for chat messages shown in a `<pre>` block: columns aligned by
//! display width (a Chinese character is two cells), numbers right-aligned, no borders, so
//! a table of eight short columns fits a phone screen.

use crate::width::{display_width, pad_left, pad_right};

/// `headings` and `rows` as aligned lines; a column is right-aligned when `numeric[i]`.
/// Columns are separated by one space.
pub fn table(headings: &[&str], rows: &[Vec<String>], numeric: &[bool]) -> String {
    let cols = headings.len();
    let mut widths: Vec<usize> = headings.iter().map(|h| display_width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(display_width(c));
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells
            .enumerate()
            .map(|(i, c)| {
                if numeric.get(i).copied().unwrap_or(false) {
                    pad_left(c, widths[i])
                } else {
                    pad_right(c, widths[i])
                }
            })
            .collect();
        parts.join(" ").trim_end().to_string()
    };
    let mut out = vec![line(&mut headings.iter().copied())];
    for r in rows {
        out.push(line(&mut r.iter().map(String::as_str).take(cols)));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_display_width() {
        let t = table(
            &["区县", "人数"],
            &[
                vec!["乌当区".into(), "12".into()],
                vec!["ab".into(), "3".into()],
            ],
            &[false, true],
        );
        assert_eq!(t, "区县   人数\n乌当区   12\nab        3");
        for l in t.lines() {
            assert_eq!(display_width(l), 11, "{l:?}");
        }
    }
}
