//! How wide text shows in a monospace font or a spreadsheet column: a CJK (or other
//! full-width) character takes two cells, others one. Spreadsheet autofit counts every
//! character as one, which cuts Chinese names off, so widths are computed here.

/// Display width of `s` in cells.
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let cp = c as u32;
    let wide = matches!(cp,
        0x1100..=0x115F        // Hangul Jamo
        | 0x2E80..=0x303E      // CJK radicals, punctuation
        | 0x3041..=0x33FF      // kana, CJK symbols
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xA000..=0xA4CF      // Yi
        | 0xAC00..=0xD7A3      // Hangul syllables
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0xFE30..=0xFE4F      // CJK compatibility forms
        | 0xFF00..=0xFF60      // full-width forms
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD); // CJK extensions B and later
    if wide { 2 } else { 1 }
}

/// `s` padded with spaces on the right to `width` cells.
pub(crate) fn pad_right(s: &str, width: usize) -> String {
    let w = display_width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// `s` padded with spaces on the left to `width` cells (for numbers).
pub(crate) fn pad_left(s: &str, width: usize) -> String {
    let w = display_width(s);
    format!("{}{s}", " ".repeat(width.saturating_sub(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_counts_double() {
        let cases = [
            ("", 0),
            ("abc", 3),
            ("张三", 4),
            ("贵阳市/乌当区", 13),
            ("１２", 4),
            ("13800000001", 11),
            ("（注）", 6),
        ];
        for (s, w) in cases {
            assert_eq!(display_width(s), w, "{s}");
        }
        assert_eq!(pad_right("张", 4), "张  ");
        assert_eq!(pad_left("7", 3), "  7");
    }
}
