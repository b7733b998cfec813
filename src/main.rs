//! The `zhucun` binary: configuration, the CLI, and wiring of the crates.

use anyhow::{Context, Result, anyhow, bail};

/// glibc's malloc and free were ~12 % of a busy bot's CPU (`perf`); with mimalloc the
/// ingest bench carries about a quarter more logs a second on both engines.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use domain::config::Config;
use domain::{Clock, SystemClock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use storage::Store;
use teloxide::prelude::*;

mod ops;
mod policy_import;

const ENVIRONMENT: &str = "\
Environment:
  DATABASE_URL       sqlite://PATH (default sqlite://zhucun.db, created if missing)
                     or postgres://USER@HOST/DB
  TELOXIDE_TOKEN     the bot's token from @BotFather (serve, invite)
  TELOXIDE_API_URL   optional: a self-hosted Bot API server instead of api.telegram.org
  ZHUCUN_CONFIG      optional TOML settings file (same as --config)
  ZHUCUN_WEBHOOK_SECRET  optional: the webhook secret (else telegram.webhook_secret,
                     else one derived from the token, the same on every instance)
  RUST_LOG           log filter, e.g. info or zhucun=debug (logs go to stderr)
  ZHUCUN_LOG_FORMAT  json: one JSON object per log line

Settings and the roster format: docs/OPERATING.md in the repository.";

#[derive(Parser)]
#[command(
    name = "zhucun",
    version,
    about = "驻村 — a chat bot for village-stationed cadres",
    after_help = ENVIRONMENT
)]
struct Cli {
    /// TOML configuration file; every setting has a default.
    #[arg(long, global = true, env = "ZHUCUN_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the bot: long polling (or --webhook), the outbox sender, the file archiver and
    /// the scheduler (log-reminder, approval-reminder, question-sla; see `zhucun jobs list`). Applies
    /// migrations first.
    #[command(after_help = ENVIRONMENT)]
    Serve {
        /// Receive updates through a webhook (telegram.webhook_url / webhook_listen).
        #[arg(long)]
        webhook: bool,
    },
    /// Apply database migrations and exit.
    #[command(after_help = ENVIRONMENT)]
    Migrate,
    /// Import or update the roster from an XLSX (first sheet) or CSV file (UTF-8 or GB18030),
    /// headed name,phone,roles,unit,topics or 姓名,手机号,角色,单位,辅导领域.
    /// Checks the whole file first: any bad row is reported with its line and nothing is
    /// imported. People missing from the file are deactivated, never deleted.
    #[command(after_help = ENVIRONMENT)]
    Import {
        /// The roster: .xlsx or .csv, roles in English or Chinese (驻村干部, 审批人, 辅导师,
        /// 信息员, 管理员).
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
    /// Scheduled jobs: list them, or run one now.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Reports for the supervisors: the monthly subsidy figures, the weekly update duty.
    #[command(subcommand)]
    Report(ReportCmd),
    /// The policy library: import documents in bulk.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// The holiday calendar: import a year's statutory holidays once they are published.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// Print a one-time registration deep link for the roster entry with this phone.
    #[command(after_help = ENVIRONMENT)]
    Invite {
        /// A mainland mobile number on the roster (+86, spaces and dashes are ignored).
        #[arg(value_name = "PHONE")]
        phone: String,
    },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Import policy documents (PDF, DOCX, TXT): files, or folders (with their subfolders).
    /// A file already in the library (same content) is skipped, so the import can run
    /// again. Title, issuer and date come from a sidecar table (file,title,issuer,date or
    /// 文件,标题,发文机关,日期; --meta, or policies.csv / 目录.csv / .xlsx in a folder given),
    /// else from the document (its first line, and the 落款 and date at its end). Each
    /// refused file is one line on stderr; the others are imported.
    #[command(after_help = ENVIRONMENT)]
    Import {
        #[arg(value_name = "FILES|DIR", required = true)]
        paths: Vec<PathBuf>,
        /// A sidecar table (CSV or XLSX) describing the files by name.
        #[arg(long, value_name = "FILE")]
        meta: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// Import holiday years: holiday-cn JSON (github.com/NateScarlet/holiday-cn, one year a
    /// file) or the shipped TOML format (rest_days, workdays; see domain/data/cn-holidays.toml).
    /// A year imported again is replaced; the operator's [calendar] days still win. A year
    /// without holiday data has only Saturdays and Sundays as rest days.
    #[command(after_help = ENVIRONMENT)]
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReportCmd {
    /// One row per cadre on the roster at any time from the month's first day: days with a
    /// log, approved-leave days, subsidy days (days with a log that are not leave days).
    #[command(after_help = ENVIRONMENT)]
    Subsidy {
        /// The month, YYYY-MM (one that has begun).
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        /// The file to write: .xlsx (a 汇总 sheet, one per county or district, 出勤明细)
        /// or .csv (name,phone,unit,log_days,leave_days,subsidy_days).
        #[arg(long, value_name = "FILE.xlsx|FILE.csv")]
        out: PathBuf,
    },
    /// One row per unit that owes a weekly work update: its updates that ISO week and
    /// whether it met the duty.
    #[command(after_help = ENVIRONMENT)]
    Compliance {
        /// The ISO week, YYYY-Www (one that has begun), e.g. 2026-W49.
        #[arg(long, value_name = "YYYY-Www")]
        week: String,
        /// The file to write: .xlsx or .csv (unit,updates,met).
        #[arg(long, value_name = "FILE.xlsx|FILE.csv")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum JobsCmd {
    /// One line per job: name, cron expression, next and last run (local time), or off.
    #[command(after_help = ENVIRONMENT)]
    List,
    /// Run a job now (e.g. after an outage) and deliver what it queued before exiting. A
    /// manual run is not the scheduled run of any tick; nothing is sent twice.
    #[command(after_help = ENVIRONMENT)]
    Run {
        /// The job's name, as `zhucun jobs list` shows it.
        #[arg(value_name = "NAME")]
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// One line, no backtrace: what went wrong and, where we know, how to fix it.
fn fail(e: anyhow::Error) -> ExitCode {
    // Causes often repeat their source's text; print each piece once.
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    eprintln!("error: {line}");
    ExitCode::FAILURE
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,teloxide=warn"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // One JSON object per line for log collectors; readable lines otherwise.
    if std::env::var("ZHUCUN_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        fmt.json().init();
    } else {
        fmt.init();
    }
}

async fn run(cli: Cli) -> Result<()> {
    let config = load_config(cli.config.as_deref())?;
    match cli.command {
        Cmd::Migrate => {
            let store = open_store(&config).await?;
            store.close().await;
            println!("migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Cmd::Import { file } => import(&config, &file).await,
        Cmd::Invite { phone } => invite(&config, &phone).await,
        Cmd::Report(ReportCmd::Subsidy { month, out }) => {
            report_subsidy(&config, &month, &out).await
        }
        Cmd::Report(ReportCmd::Compliance { week, out }) => {
            report_compliance(&config, &week, &out).await
        }
        Cmd::Jobs(JobsCmd::List) => jobs_list(config).await,
        Cmd::Calendar(CalendarCmd::Import { file }) => calendar_import(&config, &file).await,
        Cmd::Policy(PolicyCmd::Import { paths, meta }) => {
            policy_import::run(&config, &paths, meta.as_deref()).await
        }
        Cmd::Jobs(JobsCmd::Run { name }) => jobs_run(config, &name).await,
        Cmd::Serve { webhook } => serve(config, webhook).await,
    }
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    let mut config = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            Config::from_toml(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(path) = config.calendar.file.clone() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read calendar.file {}", path.display()))?;
        config.calendar.file_text = Some(text);
    }
    if let Some(path) = config.reports.chart_font.clone() {
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot read reports.chart_font {}", path.display()))?;
        render::chart::check_font(&bytes)
            .map_err(|e| anyhow!("reports.chart_font {}: {e}", path.display()))?;
        config.reports.chart_font_bytes = domain::config::FontBytes(Some(bytes.leak()));
    }
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        config.database_url = url;
    }
    config.validate().map_err(|e| anyhow!("bad setting {e}"))
}

/// Hides a password in a database URL before it is printed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) async fn open_store(config: &Config) -> Result<Store> {
    let url = &config.database_url;
    let store = Store::connect(url).await.with_context(|| {
        format!(
            "cannot open database {} (set DATABASE_URL to sqlite://PATH or postgres://USER@HOST/DB)",
            redact(url)
        )
    })?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate database {}", redact(url)))?;
    Ok(store)
}

async fn import(config: &Config, file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let entries = match bot::roster::read(&bytes, &config.tutoring.topics) {
        Ok(entries) => entries,
        Err(bot::roster::RosterFileError::Unreadable(why)) => {
            bail!(
                "{}: {why}; save the roster as XLSX or CSV (UTF-8 or GB18030)",
                file.display()
            )
        }
        Err(bot::roster::RosterFileError::Invalid(errors)) => {
            for e in &errors {
                eprintln!("{}:{e}", file.display());
            }
            bail!(
                "{} has {} error(s); nothing was imported",
                file.display(),
                errors.len()
            );
        }
    };
    let store = open_store(config).await?;
    let summary = store
        .import_roster(&entries, SystemClock.now())
        .await
        .context("import failed; nothing was imported")?;
    store.close().await;
    println!(
        "imported {}: {} added, {} updated, {} unchanged, {} deactivated, {} units created",
        file.display(),
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.deactivated.len(),
        summary.units_created
    );
    for name in &summary.deactivated {
        println!("deactivated: {name}");
    }
    Ok(())
}

fn token() -> Result<String> {
    match std::env::var("TELOXIDE_TOKEN") {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => bail!(
            "TELOXIDE_TOKEN is not set: export TELOXIDE_TOKEN=<the token @BotFather gave you>"
        ),
    }
}

fn make_bot(token: String) -> Result<Bot> {
    let bot = Bot::new(token);
    match std::env::var("TELOXIDE_API_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let url = url::Url::parse(url.trim())
                .map_err(|e| anyhow!("TELOXIDE_API_URL `{url}` is not a URL: {e}"))?;
            Ok(bot.set_api_url(url))
        }
        _ => Ok(bot),
    }
}

/// Asks Telegram who we are: checks the token and the connection at start.
async fn get_me(bot: &Bot) -> Result<teloxide::types::Me> {
    bot.get_me().await.map_err(|e| match e {
        teloxide::RequestError::Api(api) => {
            anyhow!("Telegram refused TELOXIDE_TOKEN ({api}); check the token with @BotFather")
        }
        other => anyhow!(
            "cannot reach the Telegram Bot API at {}: {other}",
            bot.api_url()
        ),
    })
}

async fn invite(config: &Config, phone: &str) -> Result<()> {
    let phone = domain::phone::normalize(phone).map_err(|e| anyhow!("{e}"))?;
    let store = open_store(config).await?;
    let username = match &config.telegram.bot_username {
        Some(name) => name.trim_start_matches('@').to_string(),
        None => {
            let bot = make_bot(token().context(
                "the bot's username is needed for the link: set telegram.bot_username in the config or TELOXIDE_TOKEN",
            )?)?;
            get_me(&bot).await?.username().to_string()
        }
    };
    let valid = chrono::Duration::days(i64::from(config.registration.invite_valid_days));
    let (code, _person) = store
        .create_invite(&phone, SystemClock.now(), valid)
        .await?;
    store.close().await;
    println!("https://t.me/{username}?start={code}");
    Ok(())
}

/// The report's format from `--out`, and the file opened for writing (before the database
/// is read, so an unwritable path costs nothing).
fn open_out(out: &Path) -> Result<(render::Format, std::fs::File)> {
    let format = render::Format::of_path(&out.to_string_lossy()).ok_or_else(|| {
        anyhow!(
            "--out {}: the file must end in .xlsx or .csv",
            out.display()
        )
    })?;
    let file =
        std::fs::File::create(out).map_err(|e| anyhow!("cannot write {}: {e}", out.display()))?;
    Ok((format, file))
}

/// Writes the report's bytes, removing the file if anything failed before.
async fn finish_out(out: &Path, mut file: std::fs::File, bytes: Result<Vec<u8>>) -> Result<()> {
    use std::io::Write;
    let written = bytes.and_then(|b| {
        file.write_all(&b)
            .and_then(|()| file.sync_all())
            .map_err(|e| anyhow!("cannot write {}: {e}", out.display()))
    });
    if written.is_err() {
        drop(file);
        let _ = std::fs::remove_file(out);
    }
    written
}

async fn report_subsidy(config: &Config, month: &str, out: &Path) -> Result<()> {
    use domain::attendance::{Month, local_date};
    use domain::supervision::{check_month, day_start};
    let month = Month::parse(month)
        .map_err(|_| anyhow!("--month {month}: not a month; use YYYY-MM, e.g. 2026-11"))?;
    let today = local_date(SystemClock.now(), config.tz());
    check_month(month, today)
        .map_err(|_| anyhow!("--month {month}: that month has not begun (today is {today})"))?;
    let (format, file) = open_out(out)?;
    let rows = async {
        let store = open_store(config).await?;
        let rows = store
            .month_presence(
                month,
                day_start(month.first_day(), config.tz()),
                &config.calendar(),
            )
            .await;
        store.close().await;
        Ok::<_, anyhow::Error>(rows?)
    }
    .await;
    let n = rows.as_ref().map(Vec::len).unwrap_or(0);
    let bytes = rows.and_then(|rows| {
        Ok(match format {
            render::Format::Xlsx => render::subsidy::xlsx(month, &rows)?,
            render::Format::Csv => render::subsidy::csv(&rows)?,
        })
    });
    finish_out(out, file, bytes).await?;
    println!(
        "subsidy report {month}: {n} cadres written to {}",
        out.display()
    );
    Ok(())
}

async fn report_compliance(config: &Config, week: &str, out: &Path) -> Result<()> {
    use domain::attendance::local_date;
    use domain::supervision::{IsoWeek, check_week};
    let week = IsoWeek::parse(week)
        .ok_or_else(|| anyhow!("--week {week}: not an ISO week; use YYYY-Www, e.g. 2026-W49"))?;
    let today = local_date(SystemClock.now(), config.tz());
    check_week(week, today)
        .map_err(|_| anyhow!("--week {week}: that week has not begun (today is {today})"))?;
    let (format, file) = open_out(out)?;
    let rows = async {
        let store = open_store(config).await?;
        let rows = store.weekly_duty(week.monday()).await;
        store.close().await;
        Ok::<_, anyhow::Error>(rows?)
    }
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|w| render::compliance::UnitDuty {
                unit_path: w.unit_path,
                updates: w.updates,
                met: w.met,
            })
            .collect::<Vec<_>>()
    });
    let n = rows.as_ref().map(Vec::len).unwrap_or(0);
    let bytes = rows.and_then(|rows| {
        Ok(match format {
            render::Format::Xlsx => render::compliance::xlsx(&rows)?,
            render::Format::Csv => render::compliance::csv(&rows)?,
        })
    });
    finish_out(out, file, bytes).await?;
    println!(
        "compliance report {week}: {n} units written to {}",
        out.display()
    );
    Ok(())
}

async fn jobs_list(config: Config) -> Result<()> {
    let store = open_store(&config).await?;
    let config = Arc::new(config);
    let scheduler = scheduler::Scheduler::new(store.clone(), config.clone(), Arc::new(SystemClock));
    for line in scheduler.list().await? {
        println!("{line}");
    }
    // Not a job: on stderr, so stdout stays one line per job.
    let today = domain::attendance::local_date(SystemClock.now(), config.tz());
    let calendar = store.calendar(&config.calendar()).await?;
    for year in calendar.missing_years(today) {
        eprintln!(
            "note: {year} has no holiday data, so its rest days are only Saturdays and Sundays \
             (log-reminder, presence records); import it with `zhucun calendar import FILE`"
        );
    }
    store.close().await;
    Ok(())
}

async fn calendar_import(config: &Config, file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow!(
            "{} is not UTF-8 text (holiday-cn JSON or TOML)",
            file.display()
        )
    })?;
    let years = domain::calendar::parse_import(&text)
        .map_err(|e| anyhow!("{}: {e}; nothing was imported", file.display()))?;
    let store = open_store(config).await?;
    let source = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let imported = store
        .import_calendar(
            &years,
            source.as_deref().unwrap_or_default(),
            SystemClock.now(),
        )
        .await
        .context("import failed; nothing was imported")?;
    store.close().await;
    for y in imported {
        println!(
            "imported {}: {} rest days, {} make-up workdays{}",
            y.year,
            y.rest_days,
            y.workdays,
            if y.replaced {
                " (replaced the earlier import)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

async fn jobs_run(config: Config, name: &str) -> Result<()> {
    let job = scheduler::Job::parse(name).ok_or_else(|| {
        anyhow!(
            "unknown job `{name}`; the jobs are: {}",
            scheduler::Job::names()
        )
    })?;
    let bot = make_bot(token()?)?;
    let store = open_store(&config).await?;
    let app = bot::App::new(store.clone(), config, Arc::new(SystemClock));
    let scheduler = scheduler::Scheduler::new(store.clone(), app.config.clone(), app.clock.clone());
    let (line, run) = scheduler.run_by_hand(job).await?;
    println!("{line}");
    // Deliver what the run queued (a running `serve` may send part of it; the outbox lease
    // keeps anything from going out twice).
    let sender = bot::Service::start(bot, app.clone(), bot::Listener::None)
        .await
        .map_err(|e| anyhow!(e))?;
    app.wake_sender();
    let rate = f64::from(app.config.delivery.global_per_second.max(1));
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let left = match job.dedup_prefix(&run) {
            Some(prefix) => store.pending_with_prefix(&prefix).await?,
            None => match store.next_outbox_due().await? {
                Some(due) if due <= SystemClock.now() => 1,
                _ => 0,
            },
        };
        if left == 0 {
            break;
        }
        let limit = *deadline.get_or_insert_with(|| {
            tokio::time::Instant::now() + Duration::from_secs_f64(60.0 + 2.0 * left as f64 / rate)
        });
        if tokio::time::Instant::now() >= limit {
            sender.stop().await;
            store.close().await;
            bail!("{left} messages are still queued; a running `zhucun serve` delivers them");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sender.stop().await;
    store.close().await;
    Ok(())
}

async fn serve(config: Config, webhook: bool) -> Result<()> {
    let token = token()?;
    let secret = std::env::var("ZHUCUN_WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| config.telegram.webhook_secret.clone());
    let secret = bot::webhook_secret(secret.as_deref(), &token);
    let store = open_store(&config).await?;
    let web_token: Arc<str> = Arc::from(token.as_str());
    let bot = make_bot(token)?;
    let me = get_me(&bot).await?;
    tracing::info!(bot = %me.username(), database = %redact(&config.database_url), "starting");
    if let Err(e) = bot::set_commands(&bot).await {
        tracing::warn!(error = %e, "cannot set the command menu");
    }
    if let Err(e) = bot::set_menu_button(&bot, &config).await {
        tracing::warn!(error = %e, "cannot set the menu button to the web view");
    }
    let listen = config
        .server
        .listen
        .parse()
        .map_err(|e| anyhow!("bad setting server.listen: {e}"))?;
    let (stop_ops, ops_stopped) = tokio::sync::watch::channel(false);
    let app = bot::App::new(store.clone(), config, Arc::new(SystemClock));
    let web = web::Web {
        store: store.clone(),
        config: app.config.clone(),
        token: web_token,
        api_url: std::env::var("TELOXIDE_API_URL")
            .ok()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.telegram.org".into())
            .into(),
        clock: app.clock.clone(),
        on_queued: Some({
            let app = app.clone();
            Arc::new(move || app.wake_sender())
        }),
    };
    let ops = ops::serve(listen, store.clone(), web, ops_stopped).await;
    let listener = if webhook {
        let tg = &app.config.telegram;
        let url = tg.webhook_url.as_deref().ok_or_else(|| {
            anyhow!("serve --webhook needs telegram.webhook_url in the config file")
        })?;
        let url =
            url::Url::parse(url).map_err(|e| anyhow!("bad setting telegram.webhook_url: {e}"))?;
        let listen = tg
            .webhook_listen
            .parse()
            .map_err(|e| anyhow!("bad setting telegram.webhook_listen: {e}"))?;
        bot::Listener::Webhook {
            url,
            listen,
            secret,
            max_connections: tg.webhook_max_connections,
        }
    } else {
        // Must stay below teloxide's HTTP client timeout (17 s).
        bot::Listener::Polling {
            timeout: Duration::from_secs(10),
        }
    };
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let jobs = {
        let waker = app.clone();
        let scheduler =
            scheduler::Scheduler::new(store.clone(), app.config.clone(), app.clock.clone())
                .on_queued(Arc::new(move || waker.wake_sender()));
        tokio::spawn(scheduler.run(jobs_stopped))
    };
    let mut running = bot::Service::start(bot.clone(), app, listener)
        .await
        .map_err(|e| anyhow!(e))?;
    tokio::select! {
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            // Stop taking updates, finish the ones in hand (they are confirmed), let the
            // sender record what it sent; bounded, so that SIGTERM ends us within 10 s.
            // Whatever is cut short stays unconfirmed or leased, and is redone after.
            let drained = async {
                stop_jobs.send_replace(true);
                running.stop().await;
                if let Err(e) = jobs.await {
                    tracing::error!(error = %e, "the scheduler failed");
                }
            };
            if tokio::time::timeout(Duration::from_secs(8), drained).await.is_err() {
                tracing::warn!("in-flight work did not finish in 8 s; stopping anyway");
            }
        }
        _ = running.wait() => {
            stop_jobs.send_replace(true);
            if let Err(e) = jobs.await {
                tracing::error!(error = %e, "the scheduler failed");
            }
        }
    }
    stop_ops.send_replace(true);
    if let Some(ops) = ops {
        let _ = tokio::time::timeout(Duration::from_secs(1), ops).await;
    }
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "cannot listen for Ctrl-C; stop the process with a signal");
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/zhucun"),
            "postgres://app:***@db:5432/zhucun"
        );
        assert_eq!(
            redact("postgres://app@db/zhucun"),
            "postgres://app@db/zhucun"
        );
        assert_eq!(redact("sqlite://zhucun.db"), "sqlite://zhucun.db");
    }
}
