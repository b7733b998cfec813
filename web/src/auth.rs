//! Who is calling: a Telegram Mini App's `initData`, validated as Telegram specifies
//! (core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app): the secret
//! is HMAC-SHA256 of the bot token keyed with "WebAppData"; the hash is HMAC-SHA256, keyed
//! with that secret, of the data-check-string (every field but `hash`, `key=value`, sorted
//! by key, joined by newlines), in hex. Pure: the token, the clock and the age limit come in.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The Telegram user an `initData` vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUser {
    pub id: i64,
    pub first_name: String,
}

/// Why an `initData` is not accepted (each is a 401: no data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no `Authorization: tma <initData>` header")]
    Missing,
    #[error("initData has no hash")]
    NoHash,
    #[error("initData is not signed with this bot's token")]
    BadSignature,
    #[error("initData is older than allowed")]
    Stale,
    #[error("initData has no usable auth_date or user")]
    Malformed,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], message: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac
}

/// The fields of `init_data` (a URL query string), decoded.
fn fields(init_data: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(init_data.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The data-check-string of `fields` (without `hash`).
fn check_string(fields: &[(String, String)]) -> String {
    let mut pairs: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k != "hash")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.sort();
    pairs.join("\n")
}

/// Signs `fields` as Telegram would for `bot_token` (for tests and the desktop link).
pub fn sign(fields: &[(String, String)], bot_token: &str) -> String {
    let secret = hmac(b"WebAppData", bot_token.as_bytes())
        .finalize()
        .into_bytes();
    let hash = hmac(&secret, check_string(fields).as_bytes())
        .finalize()
        .into_bytes();
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields.iter().filter(|(k, _)| k != "hash") {
        out.append_pair(k, v);
    }
    out.append_pair("hash", &hex(&hash));
    out.finish()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Validates `init_data` for `bot_token`: signed by it, at most `max_age` old at `now`.
pub fn verify(
    init_data: &str,
    bot_token: &str,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<WebUser, AuthError> {
    let fields = fields(init_data);
    let hash = fields
        .iter()
        .find(|(k, _)| k == "hash")
        .and_then(|(_, v)| unhex(v))
        .ok_or(AuthError::NoHash)?;
    let secret = hmac(b"WebAppData", bot_token.as_bytes())
        .finalize()
        .into_bytes();
    // Constant-time comparison (`verify_slice`): the hash is a secret's proof.
    hmac(&secret, check_string(&fields).as_bytes())
        .verify_slice(&hash)
        .map_err(|_| AuthError::BadSignature)?;
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let auth_date = get("auth_date")
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(AuthError::Malformed)?;
    if now - auth_date > max_age || auth_date - now > Duration::minutes(5) {
        return Err(AuthError::Stale);
    }
    #[derive(serde::Deserialize)]
    struct User {
        id: i64,
        #[serde(default)]
        first_name: String,
    }
    let user: User = get("user")
        .and_then(|u| serde_json::from_str(u).ok())
        .ok_or(AuthError::Malformed)?;
    Ok(WebUser {
        id: user.id,
        first_name: user.first_name,
    })
}

/// The `initData` of an `Authorization` header value: `tma <initData>`.
pub fn from_header(value: Option<&str>) -> Result<&str, AuthError> {
    value
        .and_then(|v| v.strip_prefix("tma "))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(AuthError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const TOKEN: &str = "123456:TEST-token";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
    }

    fn data(auth_date: DateTime<Utc>, user: &str) -> Vec<(String, String)> {
        vec![
            ("query_id".into(), "AAHdF6IQAAAAAN0XohDhrOrc".into()),
            ("user".into(), user.into()),
            ("auth_date".into(), auth_date.timestamp().to_string()),
        ]
    }

    const USER: &str = r#"{"id":7004,"first_name":"赵六","language_code":"zh-hans"}"#;

    #[test]
    fn telegrams_published_example_validates() {
        // Computed as Telegram's docs describe, independently of `sign`: the check string
        // sorted by key, HMAC keyed by HMAC("WebAppData", token).
        let fields = data(now(), USER);
        let check = format!(
            "auth_date={}\nquery_id=AAHdF6IQAAAAAN0XohDhrOrc\nuser={USER}",
            now().timestamp()
        );
        assert_eq!(check_string(&fields), check);
        let signed = sign(&fields, TOKEN);
        assert_eq!(
            verify(&signed, TOKEN, now(), Duration::hours(1)),
            Ok(WebUser {
                id: 7004,
                first_name: "赵六".into()
            })
        );
    }

    #[test]
    fn data_signed_elsewhere_validates() {
        // Signed by Python's hmac/hashlib as Telegram's docs describe, not by `sign`.
        let init = "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A7004%2C%22first_name%22%3A%22%E8%B5%B5%E5%85%AD%22%2C%22language_code%22%3A%22zh-hans%22%7D&auth_date=1796634000&hash=68a467f7ef935dd24e66d8c36859b113eb85c6def3999e8604f9f241561ddaca";
        assert_eq!(
            verify(init, TOKEN, now(), Duration::hours(1)).map(|u| u.id),
            Ok(7004)
        );
        assert_eq!(sign(&fields(init), TOKEN), init, "`sign` agrees");
    }

    #[test]
    fn forged_foreign_stale_and_garbage_data_are_refused() {
        let good = sign(&data(now(), USER), TOKEN);
        let hour = Duration::hours(1);
        let tampered = good.replace("7004", "7001");
        let unsigned = good.split("&hash=").next().unwrap().to_string();
        let cases: Vec<(&str, String, DateTime<Utc>, AuthError)> = vec![
            (
                "another user's id",
                tampered,
                now(),
                AuthError::BadSignature,
            ),
            (
                "another bot's token",
                sign(&data(now(), USER), "999:OTHER"),
                now(),
                AuthError::BadSignature,
            ),
            ("no hash", unsigned, now(), AuthError::NoHash),
            (
                "a hash that is no hex",
                format!("{good}x"),
                now(),
                AuthError::NoHash,
            ),
            (
                "two hours old",
                good.clone(),
                now() + Duration::hours(2),
                AuthError::Stale,
            ),
            (
                "from the future",
                good.clone(),
                now() - Duration::hours(1),
                AuthError::Stale,
            ),
            ("garbage", "%%%&&&==".into(), now(), AuthError::NoHash),
            ("empty", String::new(), now(), AuthError::NoHash),
            (
                "no user",
                sign(
                    &[("auth_date".into(), now().timestamp().to_string())],
                    TOKEN,
                ),
                now(),
                AuthError::Malformed,
            ),
        ];
        for (what, init, at, want) in cases {
            assert_eq!(verify(&init, TOKEN, at, hour), Err(want), "{what}");
        }
        assert!(verify(&good, TOKEN, now() + Duration::minutes(59), hour).is_ok());
    }

    #[test]
    fn the_header_is_tma_then_the_data() {
        assert_eq!(from_header(Some("tma abc")), Ok("abc"));
        for bad in [
            None,
            Some(""),
            Some("tma "),
            Some("Bearer abc"),
            Some("abc"),
        ] {
            assert_eq!(from_header(bad), Err(AuthError::Missing), "{bad:?}");
        }
    }
}
