//! The cron loop. Each pass looks at every enabled job: a tick whose holder died is taken
//! over, the newest passed tick runs once (claimed in the database, so once however many
//! instances run), older ones are recorded as missed. The same `Job::execute` serves the
//! loop and `zhucun jobs run`.

use crate::reminders::log_reminder;
use crate::ticks::{next_tick, plan, ticks_between};
use chrono::{DateTime, Duration, Utc};
use domain::Clock;
use domain::config::Config;
use std::sync::Arc;
use storage::{StorageError, Store, TickEnd};
use tokio::sync::watch;
use tracing::Instrument;

/// The jobs that exist in this version (`zhucun jobs list` shows only these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    LogReminder,
    ApprovalReminder,
    QuestionSla,
    UpdateNudge,
    ShareDigest,
    WeeklySummary,
    SubsidyReport,
    CalendarCheck,
}

impl Job {
    pub const ALL: [Job; 8] = [
        Job::LogReminder,
        Job::ApprovalReminder,
        Job::QuestionSla,
        Job::UpdateNudge,
        Job::ShareDigest,
        Job::WeeklySummary,
        Job::SubsidyReport,
        Job::CalendarCheck,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::LogReminder => "log-reminder",
            Job::ApprovalReminder => "approval-reminder",
            Job::QuestionSla => "question-sla",
            Job::UpdateNudge => "update-nudge",
            Job::ShareDigest => "share-digest",
            Job::WeeklySummary => "weekly-summary",
            Job::SubsidyReport => "subsidy-report",
            Job::CalendarCheck => "calendar-check",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }

    pub fn names() -> String {
        Job::ALL.map(Job::name).join(", ")
    }

    /// The start of the dedup keys of what run `run` queues, where the job names its runs
    /// in them (so a manual run can wait for exactly its own messages).
    pub fn dedup_prefix(self, run: &str) -> Option<String> {
        match self {
            Job::LogReminder => Some(format!("log-reminder:{run}:")),
            Job::ApprovalReminder => Some(format!("approval-reminder:{run}:")),
            Job::QuestionSla => None,
            Job::UpdateNudge => Some(format!("update-nudge:{run}:")),
            Job::ShareDigest => Some(format!("share-digest:{run}:")),
            Job::WeeklySummary => Some(format!("weekly-summary:{run}:")),
            Job::SubsidyReport => Some(format!("subsidy-report:{run}:")),
            Job::CalendarCheck => Some(format!("calendar-check:{run}:")),
        }
    }

    /// Runs the job once; `run` names this run in the dedup keys of its sends. Returns the
    /// one line that says what it did.
    pub async fn execute(
        self,
        store: &Store,
        config: &Config,
        now: DateTime<Utc>,
        run: &str,
    ) -> Result<String, StorageError> {
        let what = match self {
            Job::LogReminder => log_reminder(store, config, now, run).await?.to_string(),
            Job::ApprovalReminder => {
                let every = Duration::hours(i64::from(config.approval.remind_after_hours));
                let n = store
                    .queue_approval_digests(now - every, now - every, run, now)
                    .await?;
                match n {
                    1 => "1 digest queued".to_string(),
                    n => format!("{n} digests queued"),
                }
            }
            Job::UpdateNudge => crate::updates::update_nudge(store, config, now, run).await?,
            Job::ShareDigest => crate::updates::share_digest(store, now, run).await?,
            Job::WeeklySummary => {
                crate::supervision::weekly_summary(store, config, now, run).await?
            }
            Job::SubsidyReport => {
                crate::supervision::subsidy_report(store, config, now, run).await?
            }
            Job::CalendarCheck => {
                crate::supervision::calendar_check(store, config, now, run).await?
            }
            Job::QuestionSla => {
                let r = crate::jobs::question_sla(store, config, now).await?;
                format!(
                    "{} reminded, {} reassigned, {} with nobody else to take them",
                    r.reminded.len(),
                    r.reassigned.len(),
                    r.nobody_else.len()
                )
            }
        };
        Ok(format!("{}: {what}", self.name()))
    }
}

/// One tick that this pass ran, and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub job: Job,
    pub tick: DateTime<Utc>,
    pub outcome: String,
}

pub struct Scheduler {
    store: Store,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    /// Who holds a claimed tick: unique per process.
    holder: String,
    lease: Duration,
    /// Called after a job queued messages (wakes the outbox sender).
    on_queued: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// The longest a pass sleeps, so a changed clock or a missed wake-up costs little.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(30);

impl Scheduler {
    pub fn new(store: Store, config: Arc<Config>, clock: Arc<dyn Clock>) -> Scheduler {
        let holder = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
            std::process::id(),
            rand_suffix()
        );
        Scheduler {
            store,
            config,
            clock,
            holder,
            lease: Duration::seconds(60),
            on_queued: None,
        }
    }

    pub fn on_queued(mut self, f: Arc<dyn Fn() + Send + Sync>) -> Scheduler {
        self.on_queued = Some(f);
        self
    }

    /// A shorter lease (tests of a dead holder's takeover).
    pub fn with_lease(mut self, lease: Duration) -> Scheduler {
        self.lease = lease;
        self
    }

    /// One pass at the clock's now: what ran.
    pub async fn step(&self) -> Result<Vec<Ran>, StorageError> {
        let now = self.clock.now();
        let tz = self.config.tz();
        let grace = Duration::hours(i64::from(self.config.jobs_grace_hours));
        let mut ran = Vec::new();
        for job in Job::ALL {
            let Some(schedule) = self.config.job_schedule(job.name()) else {
                continue;
            };
            let first_seen = self.store.job_first_seen(job.name(), now).await?;
            for tick in self.store.abandoned_ticks(job.name(), now).await? {
                tracing::warn!(job = job.name(), %tick, "taking over a tick whose holder died");
                ran.extend(self.run_tick(job, tick).await?);
            }
            // A tick before the scheduler first ran here is never caught up; older than the
            // grace time it can only be recorded as missed, which a week back is plenty for.
            let since = first_seen.max(now - grace - Duration::days(7));
            let passed = ticks_between(&schedule, tz, since, now);
            if passed.is_empty() {
                continue;
            }
            let recorded = self.store.recorded_ticks(job.name(), since, now).await?;
            let plan = plan(&passed, |t| recorded.contains(&t), now, grace);
            if !plan.missed.is_empty() {
                tracing::info!(
                    job = job.name(),
                    missed = plan.missed.len(),
                    "ticks missed while down"
                );
                self.store
                    .record_missed_ticks(job.name(), &plan.missed, now)
                    .await?;
            }
            if let Some(tick) = plan.run {
                ran.extend(self.run_tick(job, tick).await?);
            }
        }
        if !ran.is_empty()
            && let Some(wake) = &self.on_queued
        {
            wake();
        }
        Ok(ran)
    }

    /// Claims and runs one tick, renewing its lease while it runs.
    async fn run_tick(&self, job: Job, tick: DateTime<Utc>) -> Result<Option<Ran>, StorageError> {
        let now = self.clock.now();
        if !self
            .store
            .claim_tick(job.name(), tick, &self.holder, now, self.lease)
            .await?
        {
            return Ok(None);
        }
        let span = tracing::info_span!("job", job = job.name(), %tick);
        self.run_claimed(job, tick, now).instrument(span).await
    }

    async fn run_claimed(
        &self,
        job: Job,
        tick: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Ran>, StorageError> {
        let run = tick.timestamp_millis().to_string();
        let work = job.execute(&self.store, &self.config, now, &run);
        tokio::pin!(work);
        let renew_every = (self.lease / 3).to_std().unwrap_or(MAX_SLEEP);
        let mut renew = tokio::time::interval(renew_every);
        renew.tick().await;
        let result = loop {
            tokio::select! {
                out = &mut work => break out,
                _ = renew.tick() => {
                    let until = self.clock.now() + self.lease;
                    match self.store.renew_tick(job.name(), tick, &self.holder, until).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!("lost the tick's lease; its sends are deduplicated"),
                        Err(e) => tracing::warn!(error = %e, "cannot renew the tick's lease"),
                    }
                }
            }
        };
        let (end, outcome) = match &result {
            Ok(line) => (TickEnd::Done, line.clone()),
            Err(e) => (TickEnd::Failed, format!("{}: failed: {e}", job.name())),
        };
        match end {
            TickEnd::Done => tracing::info!(outcome, "job ran"),
            TickEnd::Failed => tracing::error!(outcome, "job failed"),
        }
        telemetry::metrics().job_ran(job.name(), matches!(end, TickEnd::Done));
        self.store
            .finish_tick(
                job.name(),
                tick,
                &self.holder,
                end,
                &outcome,
                self.clock.now(),
            )
            .await?;
        result?;
        Ok(Some(Ran { job, tick, outcome }))
    }

    /// `zhucun jobs run NAME`: runs the job now, outside any tick. Returns its line and the
    /// run's name (in its dedup keys).
    pub async fn run_by_hand(&self, job: Job) -> Result<(String, String), StorageError> {
        let now = self.clock.now();
        let run = format!("manual-{}", now.timestamp_millis());
        let line = job.execute(&self.store, &self.config, now, &run).await?;
        self.store.record_manual_run(job.name(), &line, now).await?;
        Ok((line, run))
    }

    /// `zhucun jobs list`: name, cron expression, next and last run (local time), or off.
    pub async fn list(&self) -> Result<Vec<String>, StorageError> {
        let tz = self.config.tz();
        let now = self.clock.now();
        let local = |t: Option<DateTime<Utc>>| match t {
            Some(t) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            None => "-".to_string(),
        };
        let mut lines = Vec::new();
        for job in Job::ALL {
            let expr = self.config.job_expr(job.name()).unwrap_or("off");
            let line = match self.config.job_schedule(job.name()) {
                None => format!("{:<18} off", job.name()),
                Some(schedule) => {
                    let next = next_tick(&schedule, tz, now);
                    let last = self.store.job_last_run(job.name()).await?;
                    format!(
                        "{:<18} {:<16} {}  {}",
                        job.name(),
                        expr,
                        local(next),
                        local(last)
                    )
                }
            };
            lines.push(line);
        }
        Ok(lines)
    }

    /// Runs passes until `stop`, sleeping until the next tick of any job (at most 30 s).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.step().await {
                tracing::error!(error = %e, "scheduler pass failed; trying again shortly");
            }
            let now = self.clock.now();
            let tz = self.config.tz();
            let next = Job::ALL
                .iter()
                .filter_map(|j| self.config.job_schedule(j.name()))
                .filter_map(|s| next_tick(&s, tz, now))
                .min();
            let sleep = next
                .and_then(|t| (t - now).to_std().ok())
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    nanos ^ std::process::id().rotate_left(16)
}
