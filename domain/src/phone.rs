//! Mainland mobile numbers. The phone number identifies a person, so every number is
//! reduced to its 11 digits before it is stored or compared.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("`{0}` is not a mainland mobile number (11 digits starting with 1)")]
    Invalid(String),
}

/// Normalises `+86 138-0000-0001`, `8613800000001` or `13800000001` to `13800000001`.
/// Spaces, dashes, dots and parentheses are ignored; `+86`/`86`/`0086` prefixes are dropped.
pub fn normalize(input: &str) -> Result<String, PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let mut digits = String::with_capacity(trimmed.len());
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '\u{3000}' => {}
            _ => return Err(PhoneError::Invalid(trimmed.to_string())),
        }
    }
    if trimmed.starts_with('+') && !digits.starts_with("86") {
        // An international number of another country.
        return Err(PhoneError::Invalid(trimmed.to_string()));
    }
    let national = if digits.len() == 15 && digits.starts_with("0086") {
        &digits[4..]
    } else if digits.len() == 13 && digits.starts_with("86") {
        &digits[2..]
    } else {
        &digits[..]
    };
    let b = national.as_bytes();
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        Ok(national.to_string())
    } else {
        Err(PhoneError::Invalid(trimmed.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_normalise_to_eleven_digits() {
        for input in [
            "13800000001",
            "+8613800000001",
            "8613800000001",
            "+86 138-0000-0001",
            "138 0000 0001",
            "008613800000001",
            " 13800000001 ",
        ] {
            assert_eq!(normalize(input).as_deref(), Ok("13800000001"), "{input}");
        }
    }

    #[test]
    fn non_mobile_numbers_are_refused() {
        for input in [
            "12345",
            "23800000001",
            "1280000000",
            "138000000012",
            "abc",
            "+1 415 555 0100",
        ] {
            assert!(normalize(input).is_err(), "{input}");
        }
        assert_eq!(normalize(""), Err(PhoneError::Empty));
    }
}
