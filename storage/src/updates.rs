//! Each Telegram update is processed once, also when it is redelivered or when several
//! instances receive it: an update is claimed before it changes anything, or (for a work
//! log) in the same transaction as the log. Also the grouped lookup of who sent an update.

use crate::group::fail_all;
use crate::people::{PERSON_SELECT, PersonRow};
use crate::{JsonRow, Person, Result, Store, in_tx, json_param, json_table, ms, read_db, write_db};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

#[derive(serde::Serialize)]
pub(crate) struct Claim {
    pub(crate) id: i64,
    pub(crate) at: i64,
}

impl JsonRow for Claim {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("id", "bigint"), ("at", "bigint")];
}

/// Claims one update (`$1`, received at `$2`); affects no row if it was claimed before.
pub(crate) const CLAIM_ONE_SQL: &str =
    "INSERT INTO processed_updates (update_id, received_at) VALUES ($1, $2)
     ON CONFLICT (update_id) DO NOTHING";

/// Claims many updates in one statement, returning the ids that were not claimed before.
pub(crate) fn claim_many_sql(engine: crate::Engine) -> String {
    format!(
        "INSERT INTO processed_updates (update_id, received_at)
         SELECT id, at FROM {} WHERE true
         ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
        json_table::<Claim>(engine, 1)
    )
}

/// Marks `$param`'s updates (a JSON array of [`UpdateId`]) answered.
fn answered_sql(engine: crate::Engine, param: usize) -> String {
    format!(
        "UPDATE processed_updates SET answered = TRUE
         WHERE update_id IN (SELECT id FROM {})",
        json_table::<UpdateId>(engine, param)
    )
}

/// A write that follows an answer (see [`Store::marks_batch`]).
pub(crate) enum Mark {
    Receipt(crate::sharing::ReceiptSent),
    Answered(i64),
}

/// An update claimed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateClaim {
    pub answered: bool,
    pub at: DateTime<Utc>,
}

#[derive(serde::Serialize)]
struct UpdateId {
    id: i64,
}

impl JsonRow for UpdateId {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("id", "bigint")];
}

#[derive(serde::Serialize)]
struct Sender {
    tg: i64,
}

impl JsonRow for Sender {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("tg", "bigint")];
}

impl Store {
    /// Claims an update for processing. `false` means it was processed (or is being processed)
    /// already and must be skipped.
    pub async fn claim_update(&self, update_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = write_db!(self, pool => sqlx::query(CLAIM_ONE_SQL).bind(update_id).bind(ms(now)).execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Which of these updates were claimed before: whether their answer went out (or the
    /// process may have died before it did), and when they were claimed.
    pub async fn update_claims(&self, update_ids: &[i64]) -> Result<HashMap<i64, UpdateClaim>> {
        if update_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<UpdateId> = update_ids.iter().map(|&id| UpdateId { id }).collect();
        let sql = format!(
            "SELECT update_id, answered, received_at FROM processed_updates
             WHERE update_id IN (SELECT id FROM {})",
            json_table::<UpdateId>(self.engine(), 1)
        );
        let found: Vec<(i64, bool, i64)> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(json_param(&rows)).fetch_all(pool).await?);
        Ok(found
            .into_iter()
            .map(|(id, answered, at)| {
                let at = DateTime::from_timestamp_millis(at).unwrap_or_default();
                (id, UpdateClaim { answered, at })
            })
            .collect())
    }

    /// The claim of one update, read together with the others asked for meanwhile (one read
    /// per group): webhook posts come one update each.
    pub async fn update_claim(&self, update_id: i64) -> Result<Option<UpdateClaim>> {
        match &self.groups {
            Some(groups) => groups.claims.call(update_id).await,
            None => Ok(self.update_claims(&[update_id]).await?.remove(&update_id)),
        }
    }

    /// Records that these updates were answered (or deliberately left unanswered), so that
    /// a redelivery of one of them is skipped rather than answered again.
    pub async fn mark_answered(&self, update_ids: &[i64]) -> Result<()> {
        if update_ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<UpdateId> = update_ids.iter().map(|&id| UpdateId { id }).collect();
        self.answered_rows(&rows).await
    }

    /// Marks one update answered, grouped with the others marked meanwhile and with the
    /// receipts recorded meanwhile (one write per batch), so that each is marked as soon
    /// as it is answered.
    pub async fn mark_answered_one(&self, update_id: i64) -> Result<()> {
        match &self.groups {
            Some(groups) => groups.marks.call(Mark::Answered(update_id)).await,
            None => self.mark_answered(&[update_id]).await,
        }
    }

    /// What follows an answer, for a batch of them: receipts remembered and updates marked
    /// answered, in one write — one statement on PostgreSQL, one transaction on SQLite —
    /// instead of one commit for each kind.
    pub(crate) async fn marks_batch(&self, marks: Vec<Mark>) -> Vec<Result<()>> {
        let n = marks.len();
        let mut receipts = Vec::new();
        let mut answered = Vec::new();
        for m in marks {
            match m {
                Mark::Receipt(r) => receipts.push(r),
                Mark::Answered(id) => answered.push(UpdateId { id }),
            }
        }
        let done = match (receipts.is_empty(), answered.is_empty()) {
            (_, true) => self.record_receipts(&receipts).await,
            (true, false) => self.answered_rows(&answered).await,
            (false, false) => self.receipts_and_answered(&receipts, &answered).await,
        };
        match done {
            Ok(()) => (0..n).map(|_| Ok(())).collect(),
            Err(e) => fail_all(e, n),
        }
    }

    async fn answered_rows(&self, rows: &[UpdateId]) -> Result<()> {
        let sql = answered_sql(self.engine(), 1);
        write_db!(self, pool =>
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json_param(rows)).execute(pool).await?.rows_affected());
        Ok(())
    }

    async fn receipts_and_answered(
        &self,
        receipts: &[crate::sharing::ReceiptSent],
        answered: &[UpdateId],
    ) -> Result<()> {
        let engine = self.engine();
        let receipts_sql = crate::sharing::receipts_sql(engine, 1);
        match &self.db {
            crate::Db::Postgres(pool) => {
                // A data-modifying CTE: both writes in one statement and one round trip.
                let sql = format!("WITH r AS ({receipts_sql}) {}", answered_sql(engine, 2));
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(json_param(receipts))
                    .bind(json_param(answered))
                    .execute(pool)
                    .await?;
                Ok(())
            }
            crate::Db::Sqlite(_) => {
                let answered_sql = answered_sql(engine, 1);
                in_tx!(self, tx => {
                    sqlx::query(sqlx::AssertSqlSafe(receipts_sql))
                        .bind(json_param(receipts))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(sqlx::AssertSqlSafe(answered_sql))
                        .bind(json_param(answered))
                        .execute(&mut *tx)
                        .await?;
                    Ok(())
                })
            }
        }
    }

    /// The roster person with this Telegram id, looked up together with the others asked
    /// for meanwhile (one read per batch, beside any writer).
    pub async fn sender(&self, tg_user_id: i64) -> Result<Option<Person>> {
        match &self.groups {
            Some(groups) => groups.senders.call(tg_user_id).await,
            None => self.person_by_tg(tg_user_id).await,
        }
    }

    pub(crate) async fn senders_batch(&self, ids: Vec<i64>) -> Vec<Result<Option<Person>>> {
        let engine = self.engine();
        let distinct: HashSet<i64> = ids.iter().copied().collect();
        let rows: Vec<Sender> = distinct.into_iter().map(|tg| Sender { tg }).collect();
        let sql = format!(
            "{PERSON_SELECT} WHERE p.tg_user_id IN (SELECT tg FROM {})",
            json_table::<Sender>(engine, 1)
        );
        let found: Result<Vec<PersonRow>> = async {
            Ok(read_db!(self, pool =>
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(json_param(&rows)).fetch_all(pool).await?))
        }
        .await;
        match found {
            Ok(found) => {
                let people: HashMap<i64, Person> = found
                    .into_iter()
                    .map(Person::from)
                    .filter_map(|p| Some((p.tg_user_id?, p)))
                    .collect();
                ids.iter().map(|tg| Ok(people.get(tg).cloned())).collect()
            }
            Err(e) => {
                tracing::error!(error = %e, batch = ids.len(), "cannot look up senders");
                fail_all(e, ids.len())
            }
        }
    }

    /// Gives a claimed update back, so that a redelivery can try again after a failure.
    pub async fn release_update(&self, update_id: i64) -> Result<()> {
        let sql = "DELETE FROM processed_updates WHERE update_id = $1";
        write_db!(self, pool => sqlx::query(sql).bind(update_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The newest update ever claimed, if any (one read, at the start of long polling).
    pub async fn last_claimed_update(&self) -> Result<Option<i64>> {
        let sql = "SELECT MAX(update_id) FROM processed_updates";
        let row: (Option<i64>,) =
            read_db!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?);
        Ok(row.0)
    }

    /// Forgets claims older than `before`; Telegram never redelivers updates that old.
    pub async fn prune_updates(&self, before: DateTime<Utc>) -> Result<u64> {
        let sql = "DELETE FROM processed_updates WHERE received_at < $1";
        let done = write_db!(self, pool => sqlx::query(sql).bind(ms(before)).execute(pool).await?.rows_affected());
        Ok(done)
    }
}
