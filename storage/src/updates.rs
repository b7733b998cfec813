//! Each Telegram update is processed once, also when it is redelivered or when several
//! instances receive it. Admitting an update claims it and looks up who sent it, for many
//! updates at once when they arrive together.

use crate::group::fail_all;
use crate::people::{PERSON_SELECT, PersonRow};
use crate::{
    JsonRow, Person, Result, StorageError, Store, json_param, json_table, ms, on_db, write_db,
};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// An update claimed for processing, and its sender as the roster knows him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// `false`: processed (or being processed) already; skip it.
    pub fresh: bool,
    /// The roster person with the sender's Telegram id, if any.
    pub person: Option<Person>,
}

#[derive(serde::Serialize)]
struct Claim {
    id: i64,
    at: i64,
}

impl JsonRow for Claim {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("id", "bigint"), ("at", "bigint")];
}

#[derive(serde::Serialize)]
struct Sender {
    tg: i64,
}

impl JsonRow for Sender {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("tg", "bigint")];
}

pub(crate) struct AdmitRequest {
    update_id: i64,
    tg_user_id: Option<i64>,
    at: DateTime<Utc>,
}

impl Store {
    /// Claims an update for processing. `false` means it was processed (or is being processed)
    /// already and must be skipped.
    pub async fn claim_update(&self, update_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let sql = "INSERT INTO processed_updates (update_id, received_at) VALUES ($1, $2)
                   ON CONFLICT (update_id) DO NOTHING";
        let done = write_db!(self, pool => sqlx::query(sql).bind(update_id).bind(ms(now)).execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Claims an update and finds its sender (`tg_user_id`) on the roster, grouped with the
    /// other updates that arrive meanwhile.
    pub async fn admit(
        &self,
        update_id: i64,
        tg_user_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Admission> {
        let req = AdmitRequest {
            update_id,
            tg_user_id,
            at: now,
        };
        match &self.groups {
            Some(groups) => groups.admit.call(req).await,
            None => self
                .admit_batch(vec![req])
                .await
                .pop()
                .unwrap_or(Err(StorageError::Internal("admission answered nothing"))),
        }
    }

    /// One claim statement and one roster read for the whole batch.
    pub(crate) async fn admit_batch(&self, reqs: Vec<AdmitRequest>) -> Vec<Result<Admission>> {
        match self.try_admit_batch(&reqs).await {
            Ok(admissions) => admissions.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::error!(error = %e, batch = reqs.len(), "cannot admit updates");
                fail_all(e, reqs.len())
            }
        }
    }

    async fn try_admit_batch(&self, reqs: &[AdmitRequest]) -> Result<Vec<Admission>> {
        let engine = self.engine();
        // Distinct ids: a redelivery inside one batch is fresh only for its first copy.
        let mut seen = HashSet::new();
        let claims: Vec<Claim> = reqs
            .iter()
            .filter(|r| seen.insert(r.update_id))
            .map(|r| Claim {
                id: r.update_id,
                at: ms(r.at),
            })
            .collect();
        let claim_sql = format!(
            "INSERT INTO processed_updates (update_id, received_at)
             SELECT id, at FROM {} WHERE true
             ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
            json_table::<Claim>(engine, 1)
        );
        let claims = json_param(&claims);
        let senders: HashSet<i64> = reqs.iter().filter_map(|r| r.tg_user_id).collect();
        let ids: Vec<Sender> = senders.iter().map(|&tg| Sender { tg }).collect();
        let ids = json_param(&ids);
        let people_sql = format!(
            "{PERSON_SELECT} WHERE p.tg_user_id IN (SELECT tg FROM {})",
            json_table::<Sender>(engine, 1)
        );
        // Both on one connection: one pool checkout per batch.
        let (claimed, rows): (Vec<(i64,)>, Vec<PersonRow>) = write_db!(self, pool => {
            let mut conn = pool.acquire().await?;
            let claimed = sqlx::query_as(sqlx::AssertSqlSafe(claim_sql))
                .bind(claims)
                .fetch_all(&mut *conn)
                .await?;
            let rows = if senders.is_empty() {
                Vec::new()
            } else {
                sqlx::query_as(sqlx::AssertSqlSafe(people_sql))
                    .bind(ids)
                    .fetch_all(&mut *conn)
                    .await?
            };
            (claimed, rows)
        });
        let mut fresh: HashSet<i64> = claimed.into_iter().map(|r| r.0).collect();
        let mut people: HashMap<i64, Person> = HashMap::new();
        for row in rows {
            let person = Person::from(row);
            if let Some(tg) = person.tg_user_id {
                people.insert(tg, person);
            }
        }
        Ok(reqs
            .iter()
            .map(|r| Admission {
                fresh: fresh.remove(&r.update_id),
                person: r.tg_user_id.and_then(|tg| people.get(&tg).cloned()),
            })
            .collect())
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
