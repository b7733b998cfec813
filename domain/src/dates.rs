//! Dates typed by people: leave requests (`12-01`, `12月1日`, `明天` …) and backdated
//! logs (`/log YYYY-MM-DD`). Errors carry no user text; the bot renders the messages.

use chrono::{Datelike, Days, NaiveDate};

/// Month-day input more than this many days before today is taken to mean next year
/// (in late December `01-02` means the coming January).
const YEAR_ROLLOVER_DAYS: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text is not in any accepted date form.
    #[error("unrecognised date")]
    Unrecognised,
    /// The form is right but no such day exists (`02-30`, `13-01`).
    #[error("no such date")]
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BackdateError {
    #[error("date is in the future")]
    Future,
    #[error("date is older than the allowed window (earliest {earliest})")]
    TooOld { earliest: NaiveDate },
}

/// Parses a date as people type it, relative to `today` (the local date).
///
/// Accepted (surrounding whitespace ignored, full-width digits and separators allowed):
/// - `2026-12-01`, `2026/12/01`, `2026.12.01`, single-digit month/day (`2026-12-1`);
/// - `12-01`, `12/01`, `12.01`;
/// - `12月1日`, `12月1号`, `12月1`, `2026年12月1日`;
/// - `今天`, `明天`, `后天`, `today`, `tomorrow` (any case).
///
/// A form without a year means this year, unless that day is more than 60 days before
/// `today`, then next year. Days in the recent past stay in this year on purpose, so the
/// leave rules can refuse them as past instead of silently moving them a year ahead.
pub fn parse_date(input: &str, today: NaiveDate) -> Result<NaiveDate, DateError> {
    let s = normalise(input);
    let offset = match s.to_lowercase().as_str() {
        "今天" | "今日" | "today" => Some(0),
        "明天" | "明日" | "tomorrow" => Some(1),
        "后天" => Some(2),
        _ => None,
    };
    if let Some(days) = offset {
        return today
            .checked_add_days(Days::new(days))
            .ok_or(DateError::Invalid);
    }
    let (year, month, day) = parse_chinese(&s)
        .or_else(|| parse_separated(&s))
        .ok_or(DateError::Unrecognised)?;
    match year {
        Some(year) => NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::Invalid),
        None => infer_year(month, day, today),
    }
}

/// Strict `YYYY-MM-DD` (zero-padded), for `/log YYYY-MM-DD text`. Surrounding whitespace
/// is ignored.
pub fn parse_iso_date(input: &str) -> Result<NaiveDate, DateError> {
    let s = input.trim();
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(DateError::Unrecognised);
    }
    let year = number(&s[..4]).ok_or(DateError::Unrecognised)?;
    let month = number(&s[5..7]).ok_or(DateError::Unrecognised)?;
    let day = number(&s[8..]).ok_or(DateError::Unrecognised)?;
    let year = i32::try_from(year).map_err(|_| DateError::Unrecognised)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::Invalid)
}

/// Whether a log may be recorded for `date`: not in the future and at most `window_days`
/// before `today` (window 3 allows today-3 ..= today).
pub fn backdate_check(
    date: NaiveDate,
    today: NaiveDate,
    window_days: u32,
) -> Result<(), BackdateError> {
    if date > today {
        return Err(BackdateError::Future);
    }
    let earliest = today
        .checked_sub_days(Days::new(u64::from(window_days)))
        .unwrap_or(NaiveDate::MIN);
    if date < earliest {
        return Err(BackdateError::TooOld { earliest });
    }
    Ok(())
}

/// Trims and maps full-width digits and separators (typed by Chinese input methods) to
/// ASCII.
fn normalise(input: &str) -> String {
    input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => {
                char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
            }
            '－' | '‐' | '–' | '—' => '-',
            '／' => '/',
            '．' | '。' => '.',
            _ => c,
        })
        .collect()
}

/// `[YYYY年]M月D[日|号]`.
fn parse_chinese(s: &str) -> Option<(Option<i32>, u32, u32)> {
    let (year, rest) = match s.split_once('年') {
        Some((y, rest)) => (Some(year_number(y)?), rest),
        None => (None, s),
    };
    let (month, rest) = rest.split_once('月')?;
    let day = rest
        .strip_suffix('日')
        .or_else(|| rest.strip_suffix('号'))
        .unwrap_or(rest);
    Some((year, small_number(month)?, small_number(day)?))
}

/// `YYYY-M-D` or `M-D` with one kind of separator: `-`, `/` or `.`.
fn parse_separated(s: &str) -> Option<(Option<i32>, u32, u32)> {
    let sep = ['-', '/', '.'].into_iter().find(|c| s.contains(*c))?;
    let parts: Vec<&str> = s.split(sep).collect();
    match parts.as_slice() {
        [y, m, d] => Some((Some(year_number(y)?), small_number(m)?, small_number(d)?)),
        [m, d] => Some((None, small_number(m)?, small_number(d)?)),
        _ => None,
    }
}

/// Four ASCII digits.
fn year_number(s: &str) -> Option<i32> {
    if s.len() != 4 {
        return None;
    }
    i32::try_from(number(s)?).ok()
}

/// One or two ASCII digits (a month or a day).
fn small_number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 2 {
        return None;
    }
    number(s)
}

/// ASCII digits only; `str::parse` alone would also take a leading `+`.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn infer_year(month: u32, day: u32, today: NaiveDate) -> Result<NaiveDate, DateError> {
    let year = today.year();
    let this_year = NaiveDate::from_ymd_opt(year, month, day);
    let next_year = NaiveDate::from_ymd_opt(year + 1, month, day);
    if this_year.is_none() && next_year.is_none() {
        return Err(DateError::Invalid);
    }
    // 29 February in a common year: decide as if it sat right after the 28th.
    let position = this_year.or_else(|| NaiveDate::from_ymd_opt(year, 2, 28));
    let cutoff = today.checked_sub_days(Days::new(YEAR_ROLLOVER_DAYS));
    let long_past = match (position, cutoff) {
        (Some(p), Some(c)) => p < c,
        _ => false,
    };
    let chosen = if long_past { next_year } else { this_year };
    chosen.ok_or(DateError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn accepted_forms_parse() {
        let today = d("2026-11-20");
        let cases = [
            ("2026-12-01", "2026-12-01"),
            ("2026/12/01", "2026-12-01"),
            ("2026.12.01", "2026-12-01"),
            ("2026-12-1", "2026-12-01"),
            ("2027-1-5", "2027-01-05"),
            ("12-01", "2026-12-01"),
            ("12/01", "2026-12-01"),
            ("12-1", "2026-12-01"),
            ("12.1", "2026-12-01"),
            ("12月1日", "2026-12-01"),
            ("12月1号", "2026-12-01"),
            ("12月1", "2026-12-01"),
            ("12月01日", "2026-12-01"),
            ("2026年12月1日", "2026-12-01"),
            ("2027年1月3号", "2027-01-03"),
            ("今天", "2026-11-20"),
            ("明天", "2026-11-21"),
            ("后天", "2026-11-22"),
            ("today", "2026-11-20"),
            ("Tomorrow", "2026-11-21"),
            ("TODAY", "2026-11-20"),
            ("  12-01 \n", "2026-12-01"),
            ("\u{3000}明天\u{3000}", "2026-11-21"),
            ("１２－０１", "2026-12-01"),
            ("２０２６年１２月１日", "2026-12-01"),
            ("２０２６／１２／０１", "2026-12-01"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_date(input, today), Ok(d(want)), "{input:?}");
        }
    }

    #[test]
    fn relative_words_cross_month_and_year_ends() {
        let cases = [
            ("明天", "2026-12-31", "2027-01-01"),
            ("后天", "2026-12-31", "2027-01-02"),
            ("明天", "2028-02-28", "2028-02-29"),
            ("今天", "2026-12-31", "2026-12-31"),
        ];
        for (input, today, want) in cases {
            assert_eq!(
                parse_date(input, d(today)),
                Ok(d(want)),
                "{input} on {today}"
            );
        }
    }

    #[test]
    fn month_day_year_is_inferred_around_new_year() {
        let cases = [
            // Early next month in late December means next year.
            ("01-02", "2026-12-30", "2027-01-02"),
            ("1月2日", "2026-12-30", "2027-01-02"),
            // A day shortly before today stays this year (leave rules refuse it later).
            ("12-20", "2026-12-30", "2026-12-20"),
            // Exactly 60 days back still counts as this year; 61 days rolls over.
            ("10-31", "2026-12-30", "2026-10-31"),
            ("10-30", "2026-12-30", "2027-10-30"),
            // In January, December is in the future of this year, not last year.
            ("12-30", "2027-01-05", "2027-12-30"),
            ("01-01", "2027-01-05", "2027-01-01"),
            // 29 February: only valid in a leap year, chosen when that year is meant.
            ("02-29", "2027-12-30", "2028-02-29"),
            ("02-29", "2028-01-10", "2028-02-29"),
            ("2月29日", "2028-03-15", "2028-02-29"),
        ];
        for (input, today, want) in cases {
            assert_eq!(
                parse_date(input, d(today)),
                Ok(d(want)),
                "{input} on {today}"
            );
        }
    }

    #[test]
    fn impossible_dates_are_invalid() {
        let today = d("2026-11-20");
        let cases = [
            "02-30",
            "13-01",
            "00-10",
            "12-00",
            "12-32",
            "2026-02-29",
            "2026-13-01",
            "2026年2月30日",
            "13月1日",
            "2月30号",
        ];
        for input in cases {
            assert_eq!(
                parse_date(input, today),
                Err(DateError::Invalid),
                "{input:?}"
            );
        }
        // 29 February with no leap year in reach (this year's long past, next common).
        assert_eq!(
            parse_date("02-29", d("2026-06-01")),
            Err(DateError::Invalid)
        );
    }

    #[test]
    fn unrecognised_text_is_refused() {
        let today = d("2026-11-20");
        let cases = [
            "",
            "   ",
            "next week",
            "昨天",
            "12",
            "1201",
            "12-01-",
            "-12-01",
            "12--01",
            "12-01/2026",
            "26-12-01",
            "12026-12-01",
            "2026-123-01",
            "2026-12/01",
            "+12-01",
            "12-+1",
            "12月",
            "月1日",
            "12月1日日",
            "2026年",
            "26年12月1日",
            "2026年12-01",
            "十二月一日",
            "12-01 请假",
        ];
        for input in cases {
            assert_eq!(
                parse_date(input, today),
                Err(DateError::Unrecognised),
                "{input:?}"
            );
        }
    }

    #[test]
    fn iso_date_is_strict() {
        assert_eq!(parse_iso_date("2026-11-03"), Ok(d("2026-11-03")));
        assert_eq!(parse_iso_date(" 2026-11-03 "), Ok(d("2026-11-03")));
        assert_eq!(parse_iso_date("2028-02-29"), Ok(d("2028-02-29")));
        for input in [
            "2026-11-3",
            "2026/11/03",
            "11-03",
            "明天",
            "20261103",
            "2026-11-03x",
        ] {
            assert_eq!(
                parse_iso_date(input),
                Err(DateError::Unrecognised),
                "{input:?}"
            );
        }
        for input in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31"] {
            assert_eq!(parse_iso_date(input), Err(DateError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn backdate_window_is_inclusive_of_both_ends() {
        let today = d("2026-11-20");
        let cases = [
            ("2026-11-20", 3, Ok(())),
            ("2026-11-17", 3, Ok(())),
            (
                "2026-11-16",
                3,
                Err(BackdateError::TooOld {
                    earliest: d("2026-11-17"),
                }),
            ),
            ("2026-11-21", 3, Err(BackdateError::Future)),
            ("2026-11-20", 0, Ok(())),
            (
                "2026-11-19",
                0,
                Err(BackdateError::TooOld {
                    earliest: d("2026-11-20"),
                }),
            ),
            ("2026-10-31", 20, Ok(())),
        ];
        for (date, window, want) in cases {
            assert_eq!(
                backdate_check(d(date), today, window),
                want,
                "{date} w{window}"
            );
        }
        assert_eq!(
            backdate_check(NaiveDate::MIN, NaiveDate::MIN, u32::MAX),
            Ok(())
        );
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // Years with four digits, the only ones the full forms accept.
        (0i32..=3_652_058)
            .prop_map(|n| NaiveDate::from_num_days_from_ce_opt(n + 1).unwrap_or(NaiveDate::MIN))
    }

    fn recent_today() -> impl Strategy<Value = NaiveDate> {
        (0u64..40_000).prop_map(|n| d("1990-01-01") + Days::new(n))
    }

    proptest! {
        #[test]
        fn full_dates_round_trip(date in any_date(), today in recent_today()) {
            let iso = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
            prop_assert_eq!(parse_iso_date(&iso), Ok(date));
            prop_assert_eq!(parse_date(&iso, today), Ok(date));
            let slashed = format!("{}/{}/{}", iso.get(..4).unwrap_or(""), date.month(), date.day());
            prop_assert_eq!(parse_date(&slashed, today), Ok(date));
            let chinese = format!("{}年{}月{}日", iso.get(..4).unwrap_or(""), date.month(), date.day());
            prop_assert_eq!(parse_date(&chinese, today), Ok(date));
        }

        #[test]
        fn month_day_within_next_300_days_is_that_day(today in recent_today(), ahead in 0u64..=300) {
            let target = today + Days::new(ahead);
            let dashed = format!("{:02}-{:02}", target.month(), target.day());
            prop_assert_eq!(parse_date(&dashed, today), Ok(target));
            let chinese = format!("{}月{}号", target.month(), target.day());
            prop_assert_eq!(parse_date(&chinese, today), Ok(target));
        }

        #[test]
        fn month_day_within_last_60_days_stays_in_the_past(today in recent_today(), back in 0u64..=60) {
            let target = today - Days::new(back);
            // Across New Year a month-day means the coming December, not the past one.
            prop_assume!(target.year() == today.year());
            let dashed = format!("{}/{}", target.month(), target.day());
            prop_assert_eq!(parse_date(&dashed, today), Ok(target));
        }

        #[test]
        fn parse_never_panics(input in ".{0,24}", today in recent_today()) {
            let _ = parse_date(&input, today);
            let _ = parse_iso_date(&input);
        }

        #[test]
        fn parse_never_panics_on_date_like_text(
            input in "[0-9０-９年月日号/\\-－. ]{0,14}",
            today in recent_today(),
        ) {
            let _ = parse_date(&input, today);
            let _ = parse_iso_date(&input);
        }

        #[test]
        fn parse_never_panics_at_the_edges_of_time(input in "(今天|明天|后天|[0-9]{1,2}-[0-9]{1,2})") {
            let _ = parse_date(&input, NaiveDate::MAX);
            let _ = parse_date(&input, NaiveDate::MIN);
        }
    }
}
