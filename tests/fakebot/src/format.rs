//! Approximate Telegram text validation: parse_mode syntax and length limits.
//!
//! Conservative: it only rejects what Telegram definitely rejects
//! (unknown/unbalanced HTML tags, unescaped reserved MarkdownV2 characters).

pub(crate) const MAX_TEXT: usize = 4096;
pub(crate) const MAX_CAPTION: usize = 1024;

const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

/// Validates `text` for `parse_mode` and returns its visible length in chars,
/// or the Telegram error description.
pub(crate) fn visible_len(text: &str, parse_mode: Option<&str>) -> Result<usize, String> {
    match parse_mode {
        Some(m) if m.eq_ignore_ascii_case("html") => html(text),
        Some("MarkdownV2") => markdown_v2(text),
        _ => Ok(text.chars().count()),
    }
}

fn parse_error(msg: String) -> String {
    format!("Bad Request: can't parse entities: {msg}")
}

fn html(text: &str) -> Result<usize, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut len = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                let Some(end) = text[i..].find('>') else {
                    return Err(parse_error(format!(
                        "Can't find end of the tag starting at byte offset {i}"
                    )));
                };
                let inner = &text[i + 1..i + end];
                let (closing, rest) = match inner.strip_prefix('/') {
                    Some(r) => (true, r),
                    None => (false, inner),
                };
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect::<String>()
                    .to_ascii_lowercase();
                if closing {
                    match stack.pop() {
                        Some(open) if open == name => {}
                        Some(open) => {
                            return Err(parse_error(format!(
                                "Unmatched end tag at byte offset {i}, expected \"</{open}>\", found \"</{name}>\""
                            )));
                        }
                        None => {
                            return Err(parse_error(format!(
                                "Unexpected end tag at byte offset {i}"
                            )));
                        }
                    }
                } else {
                    if !HTML_TAGS.contains(&name.as_str()) {
                        return Err(parse_error(format!(
                            "Unsupported start tag \"{name}\" at byte offset {i}"
                        )));
                    }
                    stack.push(name);
                }
                i += end + 1;
            }
            b'&' => {
                // A named/numeric entity counts as one char; a stray '&' as itself.
                let rest = &text[i..];
                let ent = rest.find(';').filter(|&e| e > 1 && e <= 10).filter(|&e| {
                    rest[1..e]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '#')
                });
                len += 1;
                i += ent.map_or(1, |e| e + 1);
            }
            b => {
                // Count chars, not bytes (skip UTF-8 continuation bytes).
                if b & 0xC0 != 0x80 {
                    len += 1;
                }
                i += 1;
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(parse_error(format!(
            "Can't find end tag corresponding to start tag \"{open}\""
        )));
    }
    Ok(len)
}

fn markdown_v2(text: &str) -> Result<usize, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut len = 0;
    let mut i = 0;
    let mut in_code = false; // inside `code`
    let mut in_pre = false; // inside ```pre```
    let mut in_url = false; // inside the (...) of [text](url)
    let mut line_start = true;
    while i < chars.len() {
        let c = chars[i];
        let at_line_start = line_start;
        line_start = c == '\n';
        if c == '\\' {
            i += 2;
            len += 1;
            continue;
        }
        if in_pre {
            if chars[i..].starts_with(&['`', '`', '`']) {
                in_pre = false;
                i += 3;
            } else {
                len += 1;
                i += 1;
            }
            continue;
        }
        if in_code {
            if c == '`' {
                in_code = false;
            } else {
                len += 1;
            }
            i += 1;
            continue;
        }
        if in_url {
            if c == ')' {
                in_url = false;
            }
            i += 1;
            continue;
        }
        match c {
            '`' if chars[i..].starts_with(&['`', '`', '`']) => {
                in_pre = true;
                i += 3;
                continue;
            }
            '`' => in_code = true,
            ']' if chars.get(i + 1) == Some(&'(') => {
                in_url = true;
                i += 2;
                continue;
            }
            '*' | '_' | '~' | '|' | '[' | ']' => {}
            '>' if at_line_start => {}
            '#' | '+' | '-' | '=' | '{' | '}' | '.' | '!' | '(' | ')' | '>' => {
                return Err(parse_error(format!(
                    "Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )));
            }
            _ => len += 1,
        }
        i += 1;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_ok_and_errors() {
        assert_eq!(visible_len("<b>hi</b> &lt;3", Some("HTML")), Ok(5));
        assert!(visible_len("a <foo> b", Some("HTML")).is_err());
        assert!(visible_len("<b>x", Some("HTML")).is_err());
        assert!(visible_len("<b><i>x</b></i>", Some("HTML")).is_err());
        assert!(visible_len("x < y", Some("HTML")).is_err());
        assert_eq!(
            visible_len("<a href=\"http://x.y/?a=1&b=2\">link</a>", Some("HTML")),
            Ok(4)
        );
    }

    #[test]
    fn markdown_v2_reserved() {
        assert!(visible_len("Hello.", Some("MarkdownV2")).is_err());
        assert!(visible_len("Hello\\.", Some("MarkdownV2")).is_ok());
        assert!(visible_len("*bold* [link](http://a.b/c) `a.b`", Some("MarkdownV2")).is_ok());
        assert!(visible_len("> quote", Some("MarkdownV2")).is_ok());
        assert_eq!(visible_len("Hello.", None), Ok(6));
    }
}
