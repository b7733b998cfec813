//! Plain text: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (which covers GBK and
//! GB2312, what Chinese Windows saves by default).

use crate::ExtractError;
use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};

pub(crate) fn extract(bytes: &[u8]) -> Result<String, ExtractError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok(String::from_utf8_lossy(rest).into_owned());
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return Ok(UTF_16LE.decode_without_bom_handling(rest).0.into_owned());
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return Ok(UTF_16BE.decode_without_bom_handling(rest).0.into_owned());
    }
    // Text has no NUL bytes; a binary file named .txt is refused rather than indexed.
    if bytes.contains(&0) {
        return Err(ExtractError::Malformed("txt", "not a text file".into()));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let (text, had_errors) = GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(ExtractError::Malformed(
            "txt",
            "the text is neither UTF-8 nor GB18030".into(),
        ));
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_gb18030_and_utf16_are_read() {
        let text = "贵州省农村居民最低生活保障工作规程";
        assert_eq!(extract(text.as_bytes()).unwrap(), text);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(extract(&bom).unwrap(), text);
        let (gb, _, _) = GB18030.encode(text);
        assert!(std::str::from_utf8(&gb).is_err());
        assert_eq!(extract(&gb).unwrap(), text);
        let mut le = b"\xFF\xFE".to_vec();
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(extract(&le).unwrap(), text);
    }

    #[test]
    fn binary_is_refused() {
        assert!(matches!(
            extract(b"\x89PNG\x00\x00"),
            Err(ExtractError::Malformed(..))
        ));
        assert!(extract(b"\xFF\x81\xFF").is_err());
    }
}
