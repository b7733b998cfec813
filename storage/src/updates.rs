//! Each Telegram update is processed once, also when it is redelivered or when several
//! instances receive it.

use crate::{Result, Store, ms, on_db, write_db};
use chrono::{DateTime, Utc};

impl Store {
    /// Claims an update for processing. `false` means it was processed (or is being processed)
    /// already and must be skipped.
    pub async fn claim_update(&self, update_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let sql = "INSERT INTO processed_updates (update_id, received_at) VALUES ($1, $2)
                   ON CONFLICT (update_id) DO NOTHING";
        let done = write_db!(self, pool => sqlx::query(sql).bind(update_id).bind(ms(now)).execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Gives a claimed update back, so that a redelivery can try again after a failure.
    pub async fn release_update(&self, update_id: i64) -> Result<()> {
        let sql = "DELETE FROM processed_updates WHERE update_id = $1";
        on_db!(self, pool => sqlx::query(sql).bind(update_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Forgets claims older than `before`; Telegram never redelivers updates that old.
    pub async fn prune_updates(&self, before: DateTime<Utc>) -> Result<u64> {
        let sql = "DELETE FROM processed_updates WHERE received_at < $1";
        let done = on_db!(self, pool => sqlx::query(sql).bind(ms(before)).execute(pool).await?.rows_affected());
        Ok(done)
    }
}
