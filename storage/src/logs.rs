//! Work logs: recording (single messages and album parts), edits, the month's log days, and
//! the attachments waiting to be archived.

use crate::group::fail_all;
use crate::outbox::OutboxTx;
use crate::updates::Claim;
use crate::{
    JsonRow, Result, StorageError, Store, in_tx, json_param, json_table, json_table_as, ms,
    read_db, write_db,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::attendance::Month;
use domain::notify::Notification;
use domain::worklog::LogInput;
use std::collections::{HashMap, HashSet};

/// Where a log came from and what day it is for.
#[derive(Debug, Clone)]
pub struct NewLog<'a> {
    pub person_id: i64,
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
    pub input: &'a LogInput,
    pub chat_id: i64,
    pub message_id: i64,
    pub backdated: bool,
    /// The update the message came in, claimed in the log's own transaction so that a
    /// redelivery is never recorded twice; `None` when it was claimed already.
    pub update_id: Option<i64>,
}

/// What the receipt of a log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReceipt {
    pub log_id: i64,
    pub person_id: i64,
    pub seq: i64,
    pub day: NaiveDate,
    pub attachments: i64,
    /// Distinct days with a log in the month of `day`, for the attendance rule.
    pub month_log_dates: Vec<NaiveDate>,
}

/// The outcome of recording one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A log of its own: the caller answers with this receipt now.
    Log(LogReceipt),
    /// Part of an album: one receipt for the whole album is queued in the outbox and sent
    /// once no part has arrived for the album's quiet time.
    AlbumPart { log_id: i64, new_log: bool },
    /// Its update was recorded before (a redelivery): nothing changed, nothing to answer.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedLog {
    pub log_id: i64,
    pub seq: i64,
    pub day: NaiveDate,
}

/// A stored log as the supervision side sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: i64,
    pub seq: i64,
    pub day: NaiveDate,
    pub kind: String,
    pub text: Option<String>,
    pub location: Option<(f64, f64)>,
    pub backdated: bool,
    /// `(kind, file_id, size)` of each attachment, in arrival order.
    pub files: Vec<(String, String, Option<i64>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingArchive {
    pub id: i64,
    pub log_id: i64,
    pub person_id: i64,
    pub day: NaiveDate,
    pub kind: String,
    pub file_id: String,
    pub file_unique_id: String,
    pub file_name: Option<String>,
    pub attempts: i64,
}

/// A single (non-album) log waiting for its group commit.
pub(crate) struct QueuedLog {
    person_id: i64,
    day: NaiveDate,
    at: DateTime<Utc>,
    input: LogInput,
    chat_id: i64,
    message_id: i64,
    backdated: bool,
    update_id: Option<i64>,
}

impl QueuedLog {
    fn as_new(&self) -> NewLog<'_> {
        NewLog {
            person_id: self.person_id,
            day: self.day,
            at: self.at,
            input: &self.input,
            chat_id: self.chat_id,
            message_id: self.message_id,
            backdated: self.backdated,
            update_id: self.update_id,
        }
    }
}

// The rows a batch hands to SQL (see `json_table`).

#[derive(serde::Serialize)]
struct SeqCount {
    pid: i64,
    n: i64,
}

impl JsonRow for SeqCount {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("pid", "bigint"), ("n", "bigint")];
}

#[derive(serde::Serialize)]
struct LogRow<'a> {
    pid: i64,
    seq: i64,
    day: NaiveDate,
    kind: &'a str,
    body: Option<&'a str>,
    lat: Option<f64>,
    lon: Option<f64>,
    backdated: bool,
    chat_id: i64,
    message_id: i64,
    at: i64,
}

impl<'a> LogRow<'a> {
    fn of(log: &'a QueuedLog, seq: i64) -> LogRow<'a> {
        let input = &log.input;
        LogRow {
            pid: log.person_id,
            seq,
            day: log.day,
            kind: input.kind(),
            body: input.clean_text(),
            lat: input.location.map(|l| l.0),
            lon: input.location.map(|l| l.1),
            backdated: log.backdated,
            chat_id: log.chat_id,
            message_id: log.message_id,
            at: ms(log.at),
        }
    }
}

impl JsonRow for LogRow<'_> {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("pid", "bigint"),
        ("seq", "bigint"),
        ("day", "date"),
        ("kind", "text"),
        ("body", "text"),
        ("lat", "float8"),
        ("lon", "float8"),
        ("backdated", "boolean"),
        ("chat_id", "bigint"),
        ("message_id", "bigint"),
        ("at", "bigint"),
    ];
}

/// A log of a batch as PostgreSQL's one-statement batch reads it: its place in the batch
/// (numbers follow it), its update to claim, and the log (numbered by the statement).
#[derive(serde::Serialize)]
struct BatchLogRow<'a> {
    i: i64,
    uid: Option<i64>,
    #[serde(flatten)]
    log: LogRow<'a>,
}

/// [`pg_batch_sql`], built once.
static PG_BATCH_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(pg_batch_sql);

/// PostgreSQL: a whole batch in one statement, so one round trip and no explicit
/// transaction (a statement is atomic on its own). It claims the batch's updates, keeps the
/// logs whose update was not claimed before (or that have none), gives each person's kept
/// logs the next numbers in batch order, inserts them and their files (data-modifying CTEs
/// share one snapshot, and each one's RETURNING feeds the next), and answers one row per
/// log of the batch: the log's id and number if it was inserted, with the days of its month
/// that have a log — `log_days` as of the statement's snapshot (the trigger that keeps it
/// runs at the statement's end) and the days of this batch's logs; months are taken on the
/// plain date (`::timestamp`), not in the session's time zone — and whether its person
/// is on the roster (an unknown person's update is not claimed, so it can be tried again).
fn pg_batch_sql() -> String {
    format!(
        "
    WITH j AS (SELECT * FROM {}),
    f AS (SELECT * FROM {}),
    claimed AS (
        INSERT INTO processed_updates (update_id, received_at)
        SELECT uid, at FROM j
        WHERE uid IS NOT NULL AND EXISTS (SELECT 1 FROM people p WHERE p.id = j.pid)
        ON CONFLICT (update_id) DO NOTHING RETURNING update_id
    ),
    kept AS (
        SELECT j.*, ROW_NUMBER() OVER (PARTITION BY j.pid ORDER BY j.i) AS k
        FROM j WHERE j.uid IS NULL OR j.uid IN (SELECT update_id FROM claimed)
    ),
    counts AS (SELECT pid, COUNT(*) AS n FROM kept GROUP BY pid),
    numbered AS (
        UPDATE people SET log_seq = people.log_seq + counts.n FROM counts
        WHERE people.id = counts.pid
        RETURNING people.id AS pid, people.log_seq - counts.n AS base
    ),
    inserted AS (
        INSERT INTO logs (person_id, seq, day, kind, text, latitude, longitude, backdated,
            chat_id, message_id, created_at, updated_at)
        SELECT kept.pid, numbered.base + kept.k, kept.day, kept.kind, kept.body, kept.lat,
            kept.lon, kept.backdated, kept.chat_id, kept.message_id, kept.at, kept.at
        FROM kept JOIN numbered ON numbered.pid = kept.pid
        RETURNING id, person_id, seq, day, chat_id, message_id
    ),
    files AS (
        INSERT INTO log_attachments
            (log_id, kind, file_id, file_unique_id, file_size, mime, file_name, message_id)
        SELECT ins.id, f.kind, f.file_id, f.file_unique_id, f.size, f.mime, f.file_name,
            ins.message_id
        FROM f JOIN j ON j.i = f.owner
        JOIN inserted ins ON ins.chat_id = j.chat_id AND ins.message_id = j.message_id
        ON CONFLICT (log_id, file_unique_id) DO NOTHING
    )
    SELECT j.i, ins.id, ins.seq,
        CASE WHEN ins.id IS NULL THEN NULL ELSE ARRAY(
            SELECT d.day FROM log_days d
            WHERE d.person_id = ins.person_id
              AND d.day >= date_trunc('month', ins.day::timestamp)::date
              AND d.day < (date_trunc('month', ins.day::timestamp) + interval '1 month')::date
            UNION
            SELECT k.day FROM kept k
            WHERE k.pid = ins.person_id
              AND date_trunc('month', k.day::timestamp) = date_trunc('month', ins.day::timestamp)
            ORDER BY 1
        ) END,
        EXISTS (SELECT 1 FROM people p WHERE p.id = j.pid)
    FROM j LEFT JOIN inserted ins ON ins.chat_id = j.chat_id AND ins.message_id = j.message_id",
        json_table::<BatchLogRow>(crate::Engine::Postgres, 1),
        json_table_as::<FileRow>(crate::Engine::Postgres, 2, "f"),
    )
}

impl JsonRow for BatchLogRow<'_> {
    // LogRow's columns but `seq`, which the statement gives.
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("i", "bigint"),
        ("uid", "bigint"),
        ("pid", "bigint"),
        ("day", "date"),
        ("kind", "text"),
        ("body", "text"),
        ("lat", "float8"),
        ("lon", "float8"),
        ("backdated", "boolean"),
        ("chat_id", "bigint"),
        ("message_id", "bigint"),
        ("at", "bigint"),
    ];
}

/// A file of a log: `owner` is the log's id (SQLite's batch) or the log's place in the
/// batch (PostgreSQL's one statement, where the log has no id yet).
#[derive(serde::Serialize)]
struct FileRow<'a> {
    owner: i64,
    kind: &'a str,
    file_id: &'a str,
    file_unique_id: &'a str,
    size: Option<i64>,
    mime: Option<&'a str>,
    file_name: Option<&'a str>,
    message_id: i64,
}

impl<'a> FileRow<'a> {
    fn of(owner: i64, a: &'a domain::worklog::Attachment, message_id: i64) -> FileRow<'a> {
        FileRow {
            owner,
            kind: a.kind.as_str(),
            file_id: &a.file_id,
            file_unique_id: &a.file_unique_id,
            size: a.size.and_then(|s| i64::try_from(s).ok()),
            mime: a.mime.as_deref(),
            file_name: a.file_name.as_deref(),
            message_id,
        }
    }
}

impl JsonRow for FileRow<'_> {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("owner", "bigint"),
        ("kind", "text"),
        ("file_id", "text"),
        ("file_unique_id", "text"),
        ("size", "bigint"),
        ("mime", "text"),
        ("file_name", "text"),
        ("message_id", "bigint"),
    ];
}

#[derive(serde::Serialize)]
struct MonthRange {
    pid: i64,
    first: NaiveDate,
    last: NaiveDate,
}

impl JsonRow for MonthRange {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("pid", "bigint"), ("first", "date"), ("last", "date")];
}

impl Store {
    /// Records a message as a work log. Album parts (same `media_group_id`) join one log; a
    /// redelivered file is never counted twice. `receipt_at` is when the album's receipt may
    /// be sent (extended by every part). Single messages are written in a group commit with
    /// the others that arrive meanwhile; each is all or nothing either way.
    pub async fn record_log(&self, log: NewLog<'_>, receipt_at: DateTime<Utc>) -> Result<Recorded> {
        match &self.groups {
            Some(groups) if log.input.media_group_id.is_none() => {
                let queued = QueuedLog {
                    person_id: log.person_id,
                    day: log.day,
                    at: log.at,
                    input: log.input.clone(),
                    chat_id: log.chat_id,
                    message_id: log.message_id,
                    backdated: log.backdated,
                    update_id: log.update_id,
                };
                groups.logs.call(queued).await
            }
            _ => self.record_one_log(log, receipt_at).await,
        }
    }

    /// A batch of single logs: on PostgreSQL one statement (a log of a person not on the
    /// roster fails alone), on SQLite one transaction (one statement each for the claims,
    /// the people's log numbers, the logs and their files, then one read of the months'
    /// days), all or nothing. If the batch fails for a reason other than an unreachable
    /// database, each log is tried on its own, so one bad log cannot sink the others.
    pub(crate) async fn record_log_batch(&self, logs: Vec<QueuedLog>) -> Vec<Result<Recorded>> {
        let tried = match self.engine() {
            crate::Engine::Postgres => self.pg_log_batch(&logs).await,
            crate::Engine::Sqlite => self
                .try_log_batch(&logs)
                .await
                .map(|recorded| recorded.into_iter().map(Ok).collect()),
        };
        match tried {
            Ok(recorded) => recorded,
            Err(e) if e.is_unavailable() => {
                tracing::error!(error = %e, batch = logs.len(), "logs not recorded");
                fail_all(e, logs.len())
            }
            Err(e) => {
                tracing::warn!(error = %e, batch = logs.len(), "log batch failed; one by one");
                let mut out = Vec::with_capacity(logs.len());
                for log in &logs {
                    // No album here, so there is no receipt time to pass.
                    out.push(self.record_one_log(log.as_new(), log.at).await);
                }
                out
            }
        }
    }

    /// PostgreSQL's batch: [`pg_batch_sql`], one round trip. A message twice in one batch (a
    /// redelivery) is recorded once; a log of a person not on the roster fails alone.
    async fn pg_log_batch(&self, logs: &[QueuedLog]) -> Result<Vec<Result<Recorded>>> {
        let crate::Db::Postgres(pool) = &self.db else {
            return Err(StorageError::Internal(
                "a PostgreSQL batch on another engine",
            ));
        };
        let mut seen_updates = HashSet::new();
        let mut seen_messages = HashSet::new();
        let first: Vec<bool> = logs
            .iter()
            .map(|l| {
                l.update_id.is_none_or(|id| seen_updates.insert(id))
                    && seen_messages.insert((l.chat_id, l.message_id))
            })
            .collect();
        let mut rows = Vec::with_capacity(logs.len());
        let mut files = Vec::new();
        for (i, log) in logs.iter().enumerate().filter(|&(i, _)| first[i]) {
            rows.push(BatchLogRow {
                i: i as i64,
                uid: log.update_id,
                log: LogRow::of(log, 0),
            });
            files.extend(
                log.input
                    .attachments
                    .iter()
                    .map(|a| FileRow::of(i as i64, a, log.message_id)),
            );
        }
        type Row = (i64, Option<i64>, Option<i64>, Option<Vec<NaiveDate>>, bool);
        let answered: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(PG_BATCH_SQL.as_str()))
            .bind(json_param(&rows))
            .bind(json_param(&files))
            .fetch_all(pool)
            .await?;
        // A repeat within the batch is a duplicate of its first occurrence.
        let mut out: Vec<Result<Recorded>> = logs.iter().map(|_| Ok(Recorded::Duplicate)).collect();
        for (i, id, seq, days, known) in answered {
            let Some(log) = usize::try_from(i)
                .ok()
                .and_then(|i| logs.get(i).map(|l| (i, l)))
            else {
                return Err(StorageError::Internal(
                    "a batch answered for a log it was not given",
                ));
            };
            let (i, log) = log;
            out[i] = match (id, seq) {
                (Some(log_id), Some(seq)) => Ok(Recorded::Log(LogReceipt {
                    log_id,
                    person_id: log.person_id,
                    seq,
                    day: log.day,
                    attachments: log.input.attachments.len() as i64,
                    month_log_dates: days.unwrap_or_default(),
                })),
                // Its update was claimed before: a redelivery.
                _ if known && log.update_id.is_some() => Ok(Recorded::Duplicate),
                _ => Err(StorageError::Internal("log of a person not on the roster")),
            };
        }
        Ok(out)
    }

    /// SQLite's batch, in one transaction.
    async fn try_log_batch(&self, logs: &[QueuedLog]) -> Result<Vec<Recorded>> {
        let engine = self.engine();
        let claim_sql = crate::updates::claim_many_sql(engine);
        let seq_sql = format!(
            "UPDATE people SET log_seq = people.log_seq + j.n FROM {}
             WHERE people.id = j.pid RETURNING people.id, people.log_seq",
            json_table::<SeqCount>(engine, 1)
        );
        let logs_sql = format!(
            "INSERT INTO logs (person_id, seq, day, kind, text, latitude, longitude, backdated,
                 chat_id, message_id, created_at, updated_at)
             SELECT pid, seq, day, kind, body, lat, lon, backdated, chat_id, message_id, at, at
             FROM {}
             RETURNING id, person_id, seq",
            json_table::<LogRow>(engine, 1)
        );
        let files_sql = format!(
            "INSERT INTO log_attachments
                 (log_id, kind, file_id, file_unique_id, file_size, mime, file_name, message_id)
             SELECT owner, kind, file_id, file_unique_id, size, mime, file_name, message_id
             FROM {} WHERE true
             ON CONFLICT (log_id, file_unique_id) DO NOTHING",
            json_table::<FileRow>(engine, 1)
        );
        // The months' days are read inside the transaction, on the connection that has
        // just written them: a read on another connection would re-read those pages. From
        // `log_days` (kept by a trigger on `logs`): one row per day, not one per log.
        let days_sql = format!(
            "SELECT d.person_id, d.day FROM {}
             JOIN log_days d ON d.person_id = j.pid AND d.day >= j.first AND d.day <= j.last
             ORDER BY d.person_id, d.day",
            json_table::<MonthRange>(engine, 1)
        );
        let claims: Vec<Claim> = logs
            .iter()
            .filter_map(|l| {
                Some(Claim {
                    id: l.update_id?,
                    at: ms(l.at),
                })
            })
            .collect();
        let (kept, seqs, ids, days) = in_tx!(self, tx => {
            // Which logs are new (their updates claimed here), with their numbers and ids.
            let mut seqs = Vec::with_capacity(logs.len());
            let mut ids = Vec::with_capacity(logs.len());
            // The updates are claimed in the logs' own transaction: a redelivered update
            // (also twice within one batch) is recorded once, and a failed batch claims
            // nothing.
            let mut fresh: HashSet<i64> = if claims.is_empty() {
                HashSet::new()
            } else {
                let claimed: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(claim_sql.as_str()))
                    .bind(json_param(&claims))
                    .fetch_all(&mut *tx)
                    .await?;
                claimed.into_iter().map(|r| r.0).collect()
            };
            let kept_at: Vec<usize> = (0..logs.len())
                .filter(|&i| logs[i].update_id.is_none_or(|id| fresh.remove(&id)))
                .collect();
            // Each person's new logs take the next numbers, in arrival order.
            let mut per_person: HashMap<i64, i64> = HashMap::new();
            for &i in &kept_at {
                *per_person.entry(logs[i].person_id).or_default() += 1;
            }
            if !kept_at.is_empty() {
                let mut counts: Vec<SeqCount> = per_person
                    .iter()
                    .map(|(&pid, &n)| SeqCount { pid, n })
                    .collect();
                counts.sort_unstable_by_key(|c| c.pid);
                let last: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(seq_sql.as_str()))
                    .bind(json_param(&counts))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut next: HashMap<i64, i64> = last
                    .into_iter()
                    .map(|(pid, last)| (pid, last - per_person.get(&pid).copied().unwrap_or(0)))
                    .collect();
                let mut rows = Vec::with_capacity(kept_at.len());
                for &i in &kept_at {
                    let log = &logs[i];
                    let Some(n) = next.get_mut(&log.person_id) else {
                        return Err(StorageError::Internal("log of a person not on the roster"));
                    };
                    *n += 1;
                    seqs.push(*n);
                    rows.push(LogRow::of(log, *n));
                }
                let inserted: Vec<(i64, i64, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(logs_sql.as_str()))
                        .bind(json_param(&rows))
                        .fetch_all(&mut *tx)
                        .await?;
                let by_seq: HashMap<(i64, i64), i64> = inserted
                    .into_iter()
                    .map(|(id, pid, seq)| ((pid, seq), id))
                    .collect();
                for (&i, seq) in kept_at.iter().zip(&seqs) {
                    let Some(&id) = by_seq.get(&(logs[i].person_id, *seq)) else {
                        return Err(StorageError::Internal("a batched log was not inserted"));
                    };
                    ids.push(id);
                }
            }
            let mut days: Vec<(i64, NaiveDate)> = Vec::new();
            if !kept_at.is_empty() {
                let mut files = Vec::new();
                for (&i, &id) in kept_at.iter().zip(&ids) {
                    let log = &logs[i];
                    for a in &log.input.attachments {
                        files.push(FileRow::of(id, a, log.message_id));
                    }
                }
                if !files.is_empty() {
                    sqlx::query(sqlx::AssertSqlSafe(files_sql.as_str()))
                        .bind(json_param(&files))
                        .execute(&mut *tx)
                        .await?;
                }
                let mut months: Vec<(i64, Month)> = kept_at
                    .iter()
                    .map(|&i| (logs[i].person_id, Month::of(logs[i].day)))
                    .collect();
                months.sort_unstable();
                months.dedup();
                let ranges: Vec<MonthRange> = months
                    .iter()
                    .map(|&(pid, m)| MonthRange {
                        pid,
                        first: m.first_day(),
                        last: m.last_day(),
                    })
                    .collect();
                days = sqlx::query_as(sqlx::AssertSqlSafe(days_sql.as_str()))
                    .bind(json_param(&ranges))
                    .fetch_all(&mut *tx)
                    .await?;
            }
            Ok((kept_at, seqs, ids, days))
        })?;
        // Each kept log's number and id, by its place in the batch; the rest were duplicates.
        let mut written: Vec<Option<(i64, i64)>> = vec![None; logs.len()];
        for (i, written_as) in kept.into_iter().zip(seqs.into_iter().zip(ids)) {
            written[i] = Some(written_as);
        }
        Ok(logs
            .iter()
            .zip(written)
            .map(|(log, written)| match written {
                Some((seq, log_id)) => {
                    let month = Month::of(log.day);
                    Recorded::Log(LogReceipt {
                        log_id,
                        person_id: log.person_id,
                        seq,
                        day: log.day,
                        attachments: log.input.attachments.len() as i64,
                        month_log_dates: days
                            .iter()
                            .filter(|(pid, d)| *pid == log.person_id && Month::of(*d) == month)
                            .map(|(_, d)| *d)
                            .collect(),
                    })
                }
                None => Recorded::Duplicate,
            })
            .collect())
    }

    /// One log in its own transaction: album parts, and single logs without group commit.
    async fn record_one_log(&self, log: NewLog<'_>, receipt_at: DateTime<Utc>) -> Result<Recorded> {
        let input = log.input;
        let now = ms(log.at);
        let recorded = in_tx!(self, tx => {
            if let Some(update_id) = log.update_id {
                let claimed = sqlx::query(crate::updates::CLAIM_ONE_SQL)
                    .bind(update_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 0 {
                    return Ok(Recorded::Duplicate);
                }
            }
            let existing: Option<(i64,)> = match &input.media_group_id {
                Some(group) => {
                    // A no-op write that locks the person's row (PostgreSQL; SQLite is
                    // serialised already), so two parts of one album never both create it.
                    sqlx::query("UPDATE people SET log_seq = log_seq WHERE id = $1")
                        .bind(log.person_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query_as("SELECT id FROM logs WHERE person_id = $1 AND media_group_id = $2")
                        .bind(log.person_id)
                        .bind(group)
                        .fetch_optional(&mut *tx)
                        .await?
                }
                None => None,
            };
            let mut seq_of_new = 0;
            let (log_id, new_log) = match existing {
                Some((id,)) => {
                    if let Some(text) = input.clean_text() {
                        // A caption may come on any part of an album; keep the first one.
                        sqlx::query(
                            "UPDATE logs SET text = $1, updated_at = $2 WHERE id = $3 AND text IS NULL",
                        )
                        .bind(text)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    (id, false)
                }
                None => {
                    let (seq,): (i64,) = sqlx::query_as(
                        "UPDATE people SET log_seq = log_seq + 1 WHERE id = $1 RETURNING log_seq",
                    )
                    .bind(log.person_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO logs (person_id, seq, day, kind, text, latitude, longitude,
                             media_group_id, backdated, chat_id, message_id, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                         RETURNING id",
                    )
                    .bind(log.person_id)
                    .bind(seq)
                    .bind(log.day)
                    .bind(input.kind())
                    .bind(input.clean_text())
                    .bind(input.location.map(|l| l.0))
                    .bind(input.location.map(|l| l.1))
                    .bind(input.media_group_id.as_deref())
                    .bind(log.backdated)
                    .bind(log.chat_id)
                    .bind(log.message_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    seq_of_new = seq;
                    (id, true)
                }
            };
            if input.media_group_id.is_some() {
                // Album parts after the first are found through this map (for edits); a
                // single message is found by the log's own chat and message id.
                sqlx::query(
                    "INSERT INTO log_messages (chat_id, message_id, log_id) VALUES ($1, $2, $3)
                     ON CONFLICT (chat_id, message_id) DO NOTHING",
                )
                .bind(log.chat_id)
                .bind(log.message_id)
                .bind(log_id)
                .execute(&mut *tx)
                .await?;
            }
            for a in &input.attachments {
                sqlx::query(
                    "INSERT INTO log_attachments
                         (log_id, kind, file_id, file_unique_id, file_size, mime, file_name, message_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (log_id, file_unique_id) DO NOTHING",
                )
                .bind(log_id)
                .bind(a.kind.as_str())
                .bind(&a.file_id)
                .bind(&a.file_unique_id)
                .bind(a.size.and_then(|s| i64::try_from(s).ok()))
                .bind(a.mime.as_deref())
                .bind(a.file_name.as_deref())
                .bind(log.message_id)
                .execute(&mut *tx)
                .await?;
            }
            if input.media_group_id.is_some() {
                let receipt = Notification::LogReceipt { log_id };
                tx.enqueue(
                    log.chat_id,
                    Some(log.person_id),
                    &receipt,
                    Some(&format!("log-receipt:{log_id}")),
                    receipt_at,
                    log.at,
                )
                .await?;
                Ok(Recorded::AlbumPart { log_id, new_log })
            } else {
                // Everything but the month's days is known already: no re-reading.
                Ok(Recorded::Log(LogReceipt {
                    log_id,
                    person_id: log.person_id,
                    seq: seq_of_new,
                    day: log.day,
                    attachments: input.attachments.len() as i64,
                    month_log_dates: Vec::new(),
                }))
            }
        })?;
        // The month's days are read after the commit, outside the one-writer section.
        let recorded = match recorded {
            Recorded::Log(mut receipt) => {
                receipt.month_log_dates = self.log_dates(log.person_id, Month::of(log.day)).await?;
                Recorded::Log(receipt)
            }
            other => other,
        };
        Ok(recorded)
    }

    /// The receipt of a log as it stands now.
    pub async fn log_receipt(&self, log_id: i64) -> Result<Option<LogReceipt>> {
        let exists: Option<(i64,)> = read_db!(self, pool =>
            sqlx::query_as("SELECT id FROM logs WHERE id = $1").bind(log_id).fetch_optional(pool).await?);
        if exists.is_none() {
            return Ok(None);
        }
        let receipt = read_db!(self, pool => {
            let mut conn = pool.acquire().await?;
            conn.receipt(log_id).await?
        });
        Ok(Some(receipt))
    }

    /// The receipt of the log a message (`chat_id`, `message_id`) was recorded in, if any:
    /// what a redelivered message is answered with when its first answer may be lost.
    pub async fn log_receipt_of_message(
        &self,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Option<LogReceipt>> {
        // A single message is its log's own (chat, message); album parts are in the map.
        let sql = "SELECT id FROM logs WHERE chat_id = $1 AND message_id = $2
                   UNION SELECT log_id FROM log_messages WHERE chat_id = $1 AND message_id = $2
                   LIMIT 1";
        let found: Option<(i64,)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(chat_id).bind(message_id).fetch_optional(pool).await?);
        match found {
            Some((log_id,)) => self.log_receipt(log_id).await,
            None => Ok(None),
        }
    }

    /// Applies an edit of a message that is part of one of `person_id`'s logs; the earlier
    /// text is kept in `log_edits`. `None` when the message is not a log of his.
    pub async fn edit_log(
        &self,
        person_id: i64,
        chat_id: i64,
        message_id: i64,
        new_text: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<EditedLog>> {
        let found = in_tx!(self, tx => {
            let row: Option<(i64, i64, NaiveDate, Option<String>)> = sqlx::query_as(
                "SELECT l.id, l.seq, l.day, l.text FROM logs l
                 WHERE l.person_id = $3
                   AND ((l.chat_id = $1 AND l.message_id = $2)
                        OR l.id IN (SELECT m.log_id FROM log_messages m
                                    WHERE m.chat_id = $1 AND m.message_id = $2))",
            )
            .bind(chat_id)
            .bind(message_id)
            .bind(person_id)
            .fetch_optional(&mut *tx)
            .await?;
            Ok(match row {
                None => None,
                Some((log_id, seq, day, old_text)) => {
                    sqlx::query(
                        "INSERT INTO log_edits (log_id, old_text, new_text, edited_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(log_id)
                    .bind(old_text.as_deref())
                    .bind(new_text)
                    .bind(ms(at))
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE logs SET text = $1, updated_at = $2 WHERE id = $3")
                        .bind(new_text)
                        .bind(ms(at))
                        .bind(log_id)
                        .execute(&mut *tx)
                        .await?;
                    Some(EditedLog { log_id, seq, day })
                }
            })
        })?;
        Ok(found)
    }

    /// The earlier texts of a log, oldest first (the audit trail of edits).
    pub async fn log_history(&self, log_id: i64) -> Result<Vec<Option<String>>> {
        let sql = "SELECT old_text FROM log_edits WHERE log_id = $1 ORDER BY id";
        let rows: Vec<(Option<String>,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(log_id).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The current text of a log.
    pub async fn log_text(&self, log_id: i64) -> Result<Option<String>> {
        let sql = "SELECT text FROM logs WHERE id = $1";
        let row: Option<(Option<String>,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(log_id).fetch_optional(pool).await?);
        Ok(row.and_then(|r| r.0))
    }

    /// Distinct days of `month` on which the person has a log.
    pub async fn log_dates(&self, person_id: i64, month: Month) -> Result<Vec<NaiveDate>> {
        let sql = "SELECT DISTINCT day FROM logs WHERE person_id = $1 AND day >= $2 AND day <= $3 ORDER BY day";
        let rows: Vec<(NaiveDate,)> = read_db!(self, pool => sqlx::query_as(sql)
            .bind(person_id)
            .bind(month.first_day())
            .bind(month.last_day())
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// All logs of a person with their files, oldest first.
    pub async fn person_logs(&self, person_id: i64) -> Result<Vec<LogEntry>> {
        type Row = (
            i64,
            i64,
            NaiveDate,
            String,
            Option<String>,
            Option<f64>,
            Option<f64>,
            bool,
        );
        let sql = "SELECT id, seq, day, kind, text, latitude, longitude, backdated FROM logs
                   WHERE person_id = $1 ORDER BY id";
        let rows: Vec<Row> =
            read_db!(self, pool => sqlx::query_as(sql).bind(person_id).fetch_all(pool).await?);
        let files_sql = "SELECT a.log_id, a.kind, a.file_id, a.file_size FROM log_attachments a
                         JOIN logs l ON l.id = a.log_id WHERE l.person_id = $1 ORDER BY a.id";
        let files: Vec<(i64, String, String, Option<i64>)> = read_db!(self, pool => sqlx::query_as(files_sql).bind(person_id).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(id, seq, day, kind, text, lat, lon, backdated)| LogEntry {
                id,
                seq,
                day,
                kind,
                text,
                location: lat.zip(lon),
                backdated,
                files: files
                    .iter()
                    .filter(|f| f.0 == id)
                    .map(|f| (f.1.clone(), f.2.clone(), f.3))
                    .collect(),
            })
            .collect())
    }

    /// Number of logs and of attachments of a person (all time).
    pub async fn log_counts(&self, person_id: i64) -> Result<(i64, i64)> {
        let sql = "SELECT (SELECT COUNT(*) FROM logs WHERE person_id = $1),
                          (SELECT COUNT(*) FROM log_attachments a JOIN logs l ON l.id = a.log_id
                           WHERE l.person_id = $1)";
        let row: (i64, i64) =
            read_db!(self, pool => sqlx::query_as(sql).bind(person_id).fetch_one(pool).await?);
        Ok(row)
    }

    /// Attachments not yet archived whose next attempt is due.
    pub async fn attachments_to_archive(
        &self,
        now: DateTime<Utc>,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<PendingArchive>> {
        let sql = "SELECT a.id, a.log_id, l.person_id, l.day, a.kind, a.file_id, a.file_unique_id,
                          a.file_name, a.archive_attempts
                   FROM log_attachments a JOIN logs l ON l.id = a.log_id
                   WHERE a.archived_path IS NULL AND a.archive_after <= $1 AND a.archive_attempts < $2
                   ORDER BY a.id LIMIT $3";
        type Row = (
            i64,
            i64,
            i64,
            NaiveDate,
            String,
            String,
            String,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = read_db!(self, pool => sqlx::query_as(sql)
            .bind(ms(now))
            .bind(max_attempts)
            .bind(limit)
            .fetch_all(pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(|r| PendingArchive {
                id: r.0,
                log_id: r.1,
                person_id: r.2,
                day: r.3,
                kind: r.4,
                file_id: r.5,
                file_unique_id: r.6,
                file_name: r.7,
                attempts: r.8,
            })
            .collect())
    }

    pub async fn mark_archived(&self, attachment_id: i64, path: &str) -> Result<()> {
        let sql =
            "UPDATE log_attachments SET archived_path = $1, archive_error = NULL WHERE id = $2";
        write_db!(self, pool => sqlx::query(sql).bind(path).bind(attachment_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Records a failed download; the next attempt waits until `retry_at`.
    pub async fn archive_failed(
        &self,
        attachment_id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<()> {
        let sql = "UPDATE log_attachments SET archive_attempts = archive_attempts + 1,
                       archive_error = $1, archive_after = $2 WHERE id = $3";
        write_db!(self, pool => sqlx::query(sql).bind(error).bind(ms(retry_at)).bind(attachment_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Archive paths of a log's attachments (None where not archived yet).
    pub async fn archived_paths(&self, log_id: i64) -> Result<Vec<Option<String>>> {
        let sql = "SELECT archived_path FROM log_attachments WHERE log_id = $1 ORDER BY id";
        let rows: Vec<(Option<String>,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(log_id).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// Queries that run inside a transaction (or on a connection) of either engine.
pub(crate) trait LogTx {
    async fn receipt(&mut self, log_id: i64) -> Result<LogReceipt>;
}

crate::impl_for_connections! {
    impl LogTx {
        async fn receipt(&mut self, log_id: i64) -> Result<LogReceipt> {
            let (person_id, seq, day, attachments): (i64, i64, NaiveDate, i64) = sqlx::query_as(
                "SELECT l.person_id, l.seq, l.day,
                        (SELECT COUNT(*) FROM log_attachments a WHERE a.log_id = l.id)
                 FROM logs l WHERE l.id = $1",
            )
            .bind(log_id)
            .fetch_one(&mut *self)
            .await?;
            let month = Month::of(day);
            let dates: Vec<(NaiveDate,)> = sqlx::query_as(
                "SELECT DISTINCT day FROM logs WHERE person_id = $1 AND day >= $2 AND day <= $3
                 ORDER BY day",
            )
            .bind(person_id)
            .bind(month.first_day())
            .bind(month.last_day())
            .fetch_all(&mut *self)
            .await?;
            Ok(LogReceipt {
                log_id,
                person_id,
                seq,
                day,
                attachments,
                month_log_dates: dates.into_iter().map(|d| d.0).collect(),
            })
        }
    }
}

/// A log as the web view shows one day of a cadre's: its text and attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct DayLog {
    pub id: i64,
    pub seq: i64,
    pub kind: String,
    pub text: Option<String>,
    pub location: Option<(f64, f64)>,
    pub at: DateTime<Utc>,
    pub files: Vec<Attachment>,
}

/// A log's attachment: where to get its bytes (the archive, else Telegram by file id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: i64,
    /// The person whose log it is (authority is his unit's).
    pub person_id: i64,
    pub kind: String,
    pub file_id: String,
    pub mime: Option<String>,
    pub file_name: Option<String>,
    pub archived_path: Option<String>,
}

type AttachmentRow = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn attachment(
    (id, _log, person_id, kind, file_id, mime, file_name, archived_path): AttachmentRow,
) -> Attachment {
    Attachment {
        id,
        person_id,
        kind,
        file_id,
        mime,
        file_name,
        archived_path,
    }
}

const ATTACHMENT_SELECT: &str =
    "SELECT a.id, a.log_id, l.person_id, a.kind, a.file_id, a.mime, a.file_name, a.archived_path
     FROM log_attachments a JOIN logs l ON l.id = a.log_id";

impl Store {
    /// A person's logs of one day, oldest first, with their attachments.
    pub async fn day_logs(&self, person_id: i64, day: NaiveDate) -> Result<Vec<DayLog>> {
        let sql = "SELECT id, seq, kind, text, latitude, longitude, created_at FROM logs
                   WHERE person_id = $1 AND day = $2 ORDER BY id";
        type Row = (
            i64,
            i64,
            String,
            Option<String>,
            Option<f64>,
            Option<f64>,
            i64,
        );
        let rows: Vec<Row> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(person_id).bind(day).fetch_all(pool).await?);
        let files_sql =
            format!("{ATTACHMENT_SELECT} WHERE l.person_id = $1 AND l.day = $2 ORDER BY a.id");
        let files: Vec<AttachmentRow> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(files_sql)).bind(person_id).bind(day).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(id, seq, kind, text, lat, lon, at)| DayLog {
                id,
                seq,
                kind,
                text,
                location: lat.zip(lon),
                at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
                files: files
                    .iter()
                    .filter(|f| f.1 == id)
                    .cloned()
                    .map(attachment)
                    .collect(),
            })
            .collect())
    }

    pub async fn attachment(&self, id: i64) -> Result<Option<Attachment>> {
        let sql = format!("{ATTACHMENT_SELECT} WHERE a.id = $1");
        let row: Option<AttachmentRow> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        Ok(row.map(attachment))
    }
}
