//! The open dialogue of a person, as an opaque JSON state owned by the bot.

use crate::{Result, Store, ms, read_db, write_db};
use chrono::{DateTime, Utc};

impl Store {
    pub async fn dialogue(&self, person_id: i64) -> Result<Option<String>> {
        let sql = "SELECT state FROM dialogues WHERE person_id = $1";
        let row: Option<(String,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(person_id).fetch_optional(pool).await?);
        Ok(row.map(|r| r.0))
    }

    pub async fn set_dialogue(
        &self,
        person_id: i64,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = "INSERT INTO dialogues (person_id, state, updated_at) VALUES ($1, $2, $3)
                   ON CONFLICT (person_id) DO UPDATE SET state = excluded.state,
                       updated_at = excluded.updated_at";
        write_db!(self, pool => sqlx::query(sql).bind(person_id).bind(state).bind(ms(now)).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn clear_dialogue(&self, person_id: i64) -> Result<()> {
        let sql = "DELETE FROM dialogues WHERE person_id = $1";
        write_db!(self, pool => sqlx::query(sql).bind(person_id).execute(pool).await?.rows_affected());
        Ok(())
    }
}
