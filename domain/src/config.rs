//! Typed configuration, loaded once. Every setting has a default, so an empty file (or no
//! file) is a valid configuration; unknown or bad settings are errors that name the setting.

use crate::calendar::{CN_HOLIDAYS, Calendar};
use crate::leave::LeavePolicy;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://zhucun.db";

/// The language a person reads the bot in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" | "中文" => Some(Lang::Zh),
            "en" | "english" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Scheduled jobs and their default cron expressions (5 fields, in the configured zone).
pub const JOBS: [(&str, &str); 8] = [
    ("log-reminder", "0 20 * * *"),
    ("update-nudge", "0 10 * * Thu"),
    ("weekly-summary", "0 9 * * Mon"),
    ("approval-reminder", "0 * * * *"),
    ("question-sla", "0 * * * *"),
    ("subsidy-report", "0 8 1 * *"),
    ("share-digest", "0 19 * * *"),
    ("calendar-check", "0 9 * * Mon"),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database_url: String,
    pub timezone: String,
    pub language: Lang,
    pub telegram: TelegramConfig,
    pub registration: RegistrationConfig,
    pub logs: LogsConfig,
    pub leave: LeavePolicy,
    pub approval: ApprovalConfig,
    pub tutoring: TutoringConfig,
    pub delivery: DeliveryConfig,
    /// Cron expression per job name; missing jobs keep their default.
    pub jobs: BTreeMap<String, String>,
    /// A job whose time passed while the service was down runs once on start if it was
    /// missed by less than this.
    pub jobs_grace_hours: u32,
    pub calendar: CalendarConfig,
    pub reports: ReportsConfig,
    pub server: ServerConfig,
    pub web: WebConfig,
    #[serde(skip)]
    tz: Option<Tz>,
    #[serde(skip)]
    workdays: Option<Calendar>,
}

/// Supervision reports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// A font with Chinese glyphs for the weekly chart's labels (TrueType, OpenType or a
    /// collection); unset, the font shipped in the binary.
    pub chart_font: Option<PathBuf>,
    /// `chart_font`'s bytes, read and checked at start (kept for the life of the process,
    /// as the drawing library wants it).
    #[serde(skip)]
    pub chart_font_bytes: FontBytes,
}

/// A font file's bytes; `Debug` shows the size, not megabytes of numbers.
#[derive(Clone, Copy, Default)]
pub struct FontBytes(pub Option<&'static [u8]>);

impl std::fmt::Debug for FontBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(b) => write!(f, "FontBytes({} bytes)", b.len()),
            None => f.write_str("FontBytes(shipped)"),
        }
    }
}

/// The web view (a Telegram Mini App) served on `server.listen` under `/app/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// The HTTPS URL under which a reverse proxy reaches `server.listen` (e.g.
    /// `https://zhucun.example.cn`); the bot's buttons open `<public_url>/app/`. Unset: no
    /// buttons (the API still answers on `server.listen`).
    pub public_url: Option<String>,
    /// How old a Mini App's signed `initData` may be, in seconds.
    pub max_age_secs: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: None,
            max_age_secs: 3600,
        }
    }
}

/// The operations endpoint (`GET /healthz`, `GET /metrics`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

/// Rest days: a calendar file (default: China's statutory holidays, shipped), plus days.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// Replaces the shipped calendar (same format as `domain/data/cn-holidays.toml`).
    pub file: Option<PathBuf>,
    pub rest_days: Vec<String>,
    /// Make-up working days (调休上班).
    pub workdays: Vec<String>,
    /// The text of `file`, read by the binary (domain does no I/O).
    #[serde(skip)]
    pub file_text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// Used to build invite links; asked from Telegram (getMe) when empty.
    pub bot_username: Option<String>,
    pub bulletin_chat_id: Option<i64>,
    pub sharing_chat_id: Option<i64>,
    /// Public HTTPS URL Telegram posts updates to in `serve --webhook` mode.
    pub webhook_url: Option<String>,
    pub webhook_listen: String,
    /// The secret Telegram sends with each webhook post; `ZHUCUN_WEBHOOK_SECRET` overrides
    /// it; when neither is set, one derived from the bot token (same on every instance).
    pub webhook_secret: Option<String>,
    /// How many posts Telegram may have in flight to this webhook at once (1–100).
    pub webhook_max_connections: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationConfig {
    pub invite_valid_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    pub backdate_days: u32,
    pub max_text_chars: usize,
    /// Larger files are refused (the Bot API cannot download more than 20 MB).
    pub max_file_mb: u64,
    /// Parts of an album arriving within this quiet time get one receipt together.
    pub album_wait_ms: u64,
    /// When set, photos and files of logs are also downloaded into this directory.
    pub archive_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalConfig {
    pub remind_after_hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TutoringConfig {
    pub topics: Vec<String>,
    pub remind_after_hours: u32,
    pub reassign_after_hours: u32,
    /// Phone of the tutor who gets questions of a topic nobody tutors; admins otherwise.
    pub default_tutor_phone: Option<String>,
}

impl TutoringConfig {
    /// Open questions asked at or before this are overdue (`/stats`, the web view): their
    /// tutor is being chased, as the `question-sla` job does after `remind_after_hours`.
    pub fn overdue_at(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now - chrono::Duration::hours(i64::from(self.remind_after_hours))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    pub global_per_second: u32,
    pub per_chat_per_second: u32,
    pub per_group_per_minute: u32,
    pub max_attempts: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: DEFAULT_DATABASE_URL.into(),
            timezone: "Asia/Shanghai".into(),
            language: Lang::Zh,
            telegram: TelegramConfig::default(),
            registration: RegistrationConfig::default(),
            logs: LogsConfig::default(),
            leave: LeavePolicy::default(),
            approval: ApprovalConfig::default(),
            tutoring: TutoringConfig::default(),
            delivery: DeliveryConfig::default(),
            jobs: BTreeMap::new(),
            jobs_grace_hours: 6,
            calendar: CalendarConfig::default(),
            reports: ReportsConfig::default(),
            server: ServerConfig::default(),
            web: WebConfig::default(),
            tz: Some(chrono_tz::Asia::Shanghai),
            workdays: None,
        }
    }
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            bot_username: None,
            bulletin_chat_id: None,
            sharing_chat_id: None,
            webhook_url: None,
            webhook_listen: "0.0.0.0:8443".into(),
            webhook_secret: None,
            webhook_max_connections: 40,
        }
    }
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            invite_valid_days: 14,
        }
    }
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            backdate_days: 3,
            max_text_chars: 4000,
            max_file_mb: 20,
            album_wait_ms: 1500,
            archive_dir: None,
        }
    }
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        ApprovalConfig {
            remind_after_hours: 24,
        }
    }
}

impl Default for TutoringConfig {
    fn default() -> Self {
        TutoringConfig {
            topics: ["农业技术", "政策法规", "产业发展", "医疗卫生", "其他"]
                .map(String::from)
                .to_vec(),
            remind_after_hours: 24,
            reassign_after_hours: 48,
            default_tutor_phone: None,
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            global_per_second: 30,
            per_chat_per_second: 1,
            per_group_per_minute: 20,
            max_attempts: 8,
        }
    }
}

/// A bad setting: which one, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

fn bad(setting: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        message: message.into(),
    }
}

impl Config {
    /// Parses a TOML document; the error is one line naming the setting or the line.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let message = e.message().replace('\n', " ");
            match line {
                Some(line) => bad(format!("line {line}"), message),
                None => bad("config", message),
            }
        })?;
        config.tz = None;
        Ok(config)
    }

    /// Checks every setting; fills derived values. Call once after overrides are applied.
    pub fn validate(mut self) -> Result<Config, ConfigError> {
        let tz = Tz::from_str(self.timezone.trim()).map_err(|_| {
            bad(
                "timezone",
                format!("unknown time zone `{}` (e.g. Asia/Shanghai)", self.timezone),
            )
        })?;
        self.tz = Some(tz);
        let url = self.database_url.trim();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(bad(
                "database_url",
                "must start with sqlite:// or postgres://",
            ));
        }
        self.check_ranges()?;
        if let Some(url) = &self.web.public_url
            && !url.trim().starts_with("https://")
        {
            return Err(bad(
                "web.public_url",
                "must be an https:// URL (Telegram opens Mini Apps over HTTPS only)",
            ));
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(bad(
                "server.listen",
                format!(
                    "`{}` is not an address and port (e.g. 127.0.0.1:9464)",
                    self.server.listen
                ),
            ));
        }
        self.workdays = Some(self.build_calendar()?);
        self.leave
            .validate()
            .map_err(|e| bad("leave", e.to_string()))?;
        if self.tutoring.topics.is_empty() {
            return Err(bad("tutoring.topics", "at least one topic is needed"));
        }
        if self
            .tutoring
            .topics
            .iter()
            .any(|t| t.trim().is_empty() || t.contains(';'))
        {
            return Err(bad(
                "tutoring.topics",
                "topics must be non-empty and contain no `;`",
            ));
        }
        if self.tutoring.reassign_after_hours <= self.tutoring.remind_after_hours {
            return Err(bad(
                "tutoring.reassign_after_hours",
                "must be later than tutoring.remind_after_hours",
            ));
        }
        if let Some(phone) = &self.tutoring.default_tutor_phone {
            crate::phone::normalize(phone)
                .map_err(|e| bad("tutoring.default_tutor_phone", e.to_string()))?;
        }
        for (name, expr) in &self.jobs {
            if !JOBS.iter().any(|(job, _)| job == name) {
                let known: Vec<&str> = JOBS.iter().map(|(j, _)| *j).collect();
                return Err(bad(
                    format!("jobs.{name}"),
                    format!("unknown job (known: {})", known.join(", ")),
                ));
            }
            if !is_off(expr) {
                parse_cron(expr).map_err(|e| bad(format!("jobs.{name}"), e))?;
            }
        }
        if let Some(name) = &self.telegram.bot_username
            && name.trim_start_matches('@').is_empty()
        {
            return Err(bad("telegram.bot_username", "is empty"));
        }
        Ok(self)
    }

    /// Every number within a range that makes sense, so that a typo (an extra digit, a
    /// negative turned huge) is refused at start rather than obeyed.
    fn check_ranges(&self) -> Result<(), ConfigError> {
        let (l, d, t) = (&self.logs, &self.delivery, &self.tutoring);
        let ranges: [(&str, u64, u64, u64); 17] = [
            // Telegram's own bounds.
            (
                "telegram.webhook_max_connections",
                self.telegram.webhook_max_connections.into(),
                1,
                100,
            ),
            (
                "registration.invite_valid_days",
                self.registration.invite_valid_days.into(),
                1,
                365,
            ),
            ("logs.backdate_days", l.backdate_days.into(), 0, 366),
            // Telegram's own limit for a message's text.
            ("logs.max_text_chars", l.max_text_chars as u64, 1, 4096),
            // A self-hosted Bot API server downloads up to 2000 MB.
            ("logs.max_file_mb", l.max_file_mb, 1, 2000),
            ("logs.album_wait_ms", l.album_wait_ms, 0, 60_000),
            ("leave.max_days", self.leave.max_days.into(), 1, 366),
            (
                "approval.remind_after_hours",
                self.approval.remind_after_hours.into(),
                1,
                720,
            ),
            (
                "tutoring.remind_after_hours",
                t.remind_after_hours.into(),
                1,
                720,
            ),
            (
                "tutoring.reassign_after_hours",
                t.reassign_after_hours.into(),
                1,
                1440,
            ),
            (
                "delivery.global_per_second",
                d.global_per_second.into(),
                1,
                1000,
            ),
            (
                "delivery.per_chat_per_second",
                d.per_chat_per_second.into(),
                1,
                30,
            ),
            (
                "delivery.per_group_per_minute",
                d.per_group_per_minute.into(),
                1,
                600,
            ),
            ("delivery.max_attempts", d.max_attempts.into(), 1, 100),
            ("jobs_grace_hours", self.jobs_grace_hours.into(), 0, 168),
            ("web.max_age_secs", self.web.max_age_secs, 60, 86_400),
            ("tutoring.topics", t.topics.len() as u64, 1, 50),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(bad(
                    name,
                    format!("{value} is out of range: must be {min} to {max}"),
                ));
            }
        }
        Ok(())
    }

    fn build_calendar(&self) -> Result<Calendar, ConfigError> {
        let c = &self.calendar;
        let (setting, text) = match (&c.file, &c.file_text) {
            (None, _) => ("calendar", CN_HOLIDAYS),
            (Some(_), Some(text)) => ("calendar.file", text.as_str()),
            (Some(path), None) => {
                return Err(bad(
                    "calendar.file",
                    format!("{} was not read", path.display()),
                ));
            }
        };
        let mut calendar = Calendar::parse(text).map_err(|e| bad(setting, e))?;
        calendar
            .add(&c.rest_days, &c.workdays)
            .map_err(|e| bad("calendar", e))?;
        Ok(calendar)
    }

    /// Which days are rest days (the shipped holidays unless configured otherwise).
    pub fn calendar(&self) -> Calendar {
        self.workdays
            .clone()
            .unwrap_or_else(|| Calendar::parse(CN_HOLIDAYS).unwrap_or_default())
    }

    pub fn tz(&self) -> Tz {
        self.tz.unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// The cron expression of a job as configured (or its default); `off` disables it.
    pub fn job_expr(&self, job: &str) -> Option<&str> {
        let default = JOBS.iter().find(|(j, _)| *j == job)?.1;
        Some(
            self.jobs
                .get(job)
                .map(String::as_str)
                .unwrap_or(default)
                .trim(),
        )
    }

    /// The cron schedule of a job: the configured one or its default; `None` when off.
    pub fn job_schedule(&self, job: &str) -> Option<cron::Schedule> {
        self.job_expr(job)
            .filter(|e| !is_off(e))
            .and_then(|e| parse_cron(e).ok())
    }
}

/// Accepts classic 5-field cron (`0 20 * * *`) as well as the 6/7-field form with seconds.
/// `off` (any case) disables a job.
pub fn is_off(expr: &str) -> bool {
    expr.trim().eq_ignore_ascii_case("off")
}

pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let expr = expr.trim();
    let full = if expr.split_whitespace().count() == 5 {
        format!("0 {expr}")
    } else {
        expr.to_string()
    };
    cron::Schedule::from_str(&full).map_err(|e| format!("bad cron expression `{expr}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings example of docs/OPERATING.md is a valid settings file.
    #[test]
    fn documented_example_is_valid() {
        let doc = include_str!("../../docs/OPERATING.md");
        let start = doc.find("```toml\n").expect("a TOML example") + "```toml\n".len();
        let end = start + doc[start..].find("```").expect("its end");
        let config = Config::from_toml(&doc[start..end])
            .and_then(Config::validate)
            .unwrap_or_else(|e| panic!("docs/OPERATING.md example: {e}"));
        assert_eq!(config.server.listen, "127.0.0.1:9464");
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        let c = Config::from_toml("").unwrap().validate().unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.tz(), chrono_tz::Asia::Shanghai);
        assert_eq!(c.logs.backdate_days, 3);
        assert_eq!(c.tutoring.topics.len(), 5);
        for (job, _) in JOBS {
            assert!(c.job_schedule(job).is_some(), "{job}");
        }
    }

    #[test]
    fn off_disables_a_job() {
        let c = Config::from_toml("[jobs]\nlog-reminder = \"off\"\nquestion-sla = \"30 * * * *\"")
            .unwrap()
            .validate()
            .unwrap();
        assert!(c.job_schedule("log-reminder").is_none());
        assert_eq!(c.job_expr("log-reminder"), Some("off"));
        assert!(c.job_schedule("question-sla").is_some());
        assert_eq!(c.job_expr("approval-reminder"), Some("0 * * * *"));
    }

    #[test]
    fn settings_override_defaults() {
        let c = Config::from_toml(
            "timezone = \"Asia/Urumqi\"\n[logs]\nbackdate_days = 5\n[jobs]\nlog-reminder = \"30 21 * * *\"\n",
        )
        .unwrap()
        .validate()
        .unwrap();
        assert_eq!(c.tz(), chrono_tz::Asia::Urumqi);
        assert_eq!(c.logs.backdate_days, 5);
        assert_eq!(c.logs.max_text_chars, 4000);
        assert!(c.job_schedule("log-reminder").is_some());
    }

    #[test]
    fn calendar_days_are_added_to_the_shipped_holidays() {
        let text = "[calendar]\nrest_days = [\"2026-12-01\"]\nworkdays = [\"2026-10-03\"]";
        let c = Config::from_toml(text)
            .unwrap()
            .validate()
            .unwrap()
            .calendar();
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(c.is_rest_day(day("2026-12-01")));
        assert!(c.is_workday(day("2026-10-03")));
        assert!(
            c.is_rest_day(day("2026-10-02")),
            "the shipped holidays stay"
        );
        let mut replaced = Config::from_toml("[calendar]\nfile = \"my.toml\"").unwrap();
        replaced.calendar.file_text = Some("rest_days = [\"2026-12-02\"]".into());
        let c = replaced.validate().unwrap().calendar();
        assert!(c.is_rest_day(day("2026-12-02")));
        assert!(
            c.is_workday(day("2026-10-02")),
            "a replaced file drops the shipped days"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let cases = [
            ("timezone = \"Mars/Base\"", "timezone"),
            ("[jobs]\nlog-reminder = \"every day\"", "jobs.log-reminder"),
            ("[jobs]\nlunch = \"0 12 * * *\"", "jobs.lunch"),
            ("[tutoring]\ntopics = []", "tutoring.topics"),
            (
                "[delivery]\nglobal_per_second = 0",
                "delivery.global_per_second",
            ),
            ("database_url = \"mysql://x\"", "database_url"),
            ("[logs]\nbackdate_days = 4000000000", "logs.backdate_days"),
            ("[logs]\nmax_text_chars = 0", "logs.max_text_chars"),
            ("[logs]\nmax_file_mb = 99999", "logs.max_file_mb"),
            ("[leave]\nmax_days = 100000", "leave.max_days"),
            ("jobs_grace_hours = 1000", "jobs_grace_hours"),
            (
                "[approval]\nremind_after_hours = 0",
                "approval.remind_after_hours",
            ),
            (
                "[registration]\ninvite_valid_days = 0",
                "registration.invite_valid_days",
            ),
        ];
        for (text, setting) in cases {
            let err = Config::from_toml(text)
                .and_then(Config::validate)
                .unwrap_err();
            assert_eq!(err.setting, setting, "{text}");
        }
    }

    #[test]
    fn unknown_keys_and_type_errors_are_one_line_with_the_line_number() {
        let err = Config::from_toml("timezone = \"Asia/Shanghai\"\ncolour = 1\n").unwrap_err();
        assert!(err.message.contains("colour"), "{}", err.message);
        assert!(!err.to_string().contains('\n'));
        let err = Config::from_toml("[logs]\nbackdate_days = \"three\"\n").unwrap_err();
        assert_eq!(err.setting, "line 2");
    }
}
