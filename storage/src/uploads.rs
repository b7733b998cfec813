//! Roster files admins send to the bot: kept from the preview to the admin's confirmation,
//! then imported in the transaction that marks them done, so a file is imported once and
//! only by the admin who sent it (`domain::roster::confirm` is the rule).

use crate::people::{ImportSummary, RosterTx};
use crate::policy::PolicyTx;
use crate::{Failure, Result, Store, TxError, in_tx, ms};
use chrono::{DateTime, TimeZone, Utc};
use domain::roster::{ConfirmStep, Confirmation, RosterEntry, Upload, UploadRefusal, confirm};

/// What a confirmation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The roster was imported.
    Imported(ImportSummary),
    /// Nothing changed: the import would deactivate many (the summary says how many) and
    /// is asked once more.
    AskAgain(ImportSummary),
}

/// A stored upload: its file, for the handler to read again at confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// Uploads are kept a day (their previews expire after an hour).
const KEEP_MS: i64 = 24 * 3600 * 1000;

/// Ends a transaction without committing, carrying what to answer.
enum Stop {
    Refused(UploadRefusal),
    AskAgain(ImportSummary),
}

impl From<UploadRefusal> for TxError<Stop> {
    fn from(r: UploadRefusal) -> Self {
        TxError::Refused(Stop::Refused(r))
    }
}

impl Store {
    /// Keeps a roster file an admin sent, for his confirmation; returns its id. Uploads
    /// older than a day are dropped on the way.
    pub async fn save_roster_upload(
        &self,
        person_id: i64,
        file_name: Option<&str>,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let now = ms(now);
        let (id,): (i64,) = in_tx!(self, tx => {
            sqlx::query("DELETE FROM roster_uploads WHERE sent_at < $1")
                .bind(now - KEEP_MS)
                .execute(&mut *tx)
                .await?;
            Ok(sqlx::query_as(
                "INSERT INTO roster_uploads (person_id, file_name, bytes, sent_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(person_id)
            .bind(file_name)
            .bind(bytes)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?)
        })?;
        Ok(id)
    }

    /// The file of an upload, only for the person who sent it.
    pub async fn roster_upload_file(&self, id: i64, person_id: i64) -> Result<Option<UploadFile>> {
        let row: Option<(Option<String>, Vec<u8>)> = crate::read_db!(self, pool =>
            sqlx::query_as("SELECT file_name, bytes FROM roster_uploads WHERE id = $1 AND person_id = $2")
                .bind(id)
                .bind(person_id)
                .fetch_optional(pool)
                .await?);
        Ok(row.map(|(file_name, bytes)| UploadFile { file_name, bytes }))
    }

    /// A pressed 确认 on an upload's preview (`entries` read again from its file): in one
    /// transaction the rule is asked with the import's own figures, and the import is
    /// committed with the upload marked done, or (asked again, refused) rolled back.
    pub async fn confirm_roster_upload(
        &self,
        id: i64,
        actor: i64,
        entries: &[RosterEntry],
        step: Confirmation,
        now: DateTime<Utc>,
    ) -> std::result::Result<Confirmed, Failure<UploadRefusal>> {
        let at = now;
        let now = ms(now);
        let outcome = in_tx!(self, tx, TxError<Stop> => {
            let upload = tx.upload(id).await?;
            let roles = tx.active_roles(actor).await?.unwrap_or_default();
            // Authority and the upload's state first: a refused press imports nothing.
            confirm(upload.as_ref(), actor, roles, at, Confirmation::Second, (0, 0))?;
            if !tx.mark_done(id, now).await? {
                return Err(UploadRefusal::Done.into());
            }
            let summary = tx.import_entries(entries, now).await?;
            let counts = (summary.deactivated.len(), summary.active_before);
            match confirm(upload.as_ref(), actor, roles, at, step, counts)? {
                // Rolled back: the upload is not done, nothing imported.
                ConfirmStep::AskAgain => Err(TxError::Refused(Stop::AskAgain(summary))),
                ConfirmStep::Apply => Ok(summary),
            }
        });
        match outcome {
            Ok(summary) => Ok(Confirmed::Imported(summary)),
            Err(TxError::Refused(Stop::AskAgain(summary))) => Ok(Confirmed::AskAgain(summary)),
            Err(TxError::Refused(Stop::Refused(r))) => Err(Failure::Refused(r)),
            Err(TxError::Storage(e)) => Err(Failure::Storage(e)),
        }
    }

    /// A pressed 取消: the upload is done without an import.
    pub async fn cancel_roster_upload(
        &self,
        id: i64,
        actor: i64,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), Failure<UploadRefusal>> {
        let at = now;
        let outcome = in_tx!(self, tx, TxError<Stop> => {
            let upload = tx.upload(id).await?;
            let roles = tx.active_roles(actor).await?.unwrap_or_default();
            confirm(upload.as_ref(), actor, roles, at, Confirmation::Second, (0, 0))?;
            if !tx.mark_done(id, ms(at)).await? {
                return Err(UploadRefusal::Done.into());
            }
            Ok(())
        });
        outcome.map_err(|e| match e {
            TxError::Refused(Stop::Refused(r)) => Failure::Refused(r),
            TxError::Refused(Stop::AskAgain(_)) => Failure::Refused(UploadRefusal::Done),
            TxError::Storage(e) => Failure::Storage(e),
        })
    }
}

pub(crate) trait UploadTx {
    /// The upload as the rule sees it.
    async fn upload(&mut self, id: i64) -> Result<Option<Upload>>;
    /// Marks the upload done unless it is: whether this call did (the row's lock makes a
    /// second press wait for the first and then find it done).
    async fn mark_done(&mut self, id: i64, now: i64) -> Result<bool>;
}

crate::impl_for_connections! {
    impl UploadTx {
        async fn upload(&mut self, id: i64) -> Result<Option<Upload>> {
            let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
                "SELECT person_id, sent_at, done_at FROM roster_uploads WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *self)
            .await?;
            Ok(row.map(|(owner, sent_at, done_at)| Upload {
                owner,
                sent_at: Utc.timestamp_millis_opt(sent_at).single().unwrap_or_default(),
                done: done_at.is_some(),
            }))
        }

        async fn mark_done(&mut self, id: i64, now: i64) -> Result<bool> {
            let done = sqlx::query(
                "UPDATE roster_uploads SET done_at = $1 WHERE id = $2 AND done_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *self)
            .await?;
            Ok(done.rows_affected() == 1)
        }
    }
}
