//! The policy library's relevance set (`tests/data/relevance.toml`) and how well a store
//! ranks it: recall@3 and mean reciprocal rank. The storage test asserts the figures on
//! both engines; the benchmark prints them.

use crate::{NewPolicy, Result, Store};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::HashMap;

const DATA: &str = include_str!("../tests/data/relevance.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Doc {
    pub id: String,
    pub title: String,
    pub issuer: Option<String>,
    pub date: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Query {
    pub q: String,
    pub want: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RelevanceSet {
    #[serde(rename = "doc")]
    pub docs: Vec<Doc>,
    #[serde(rename = "query")]
    pub queries: Vec<Query>,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Mean over queries of the share of wanted documents (at most 3) in the top 3.
    pub recall_at_3: f64,
    /// Mean over queries of 1 / rank of the first wanted document (0 if none in the top 5).
    pub mrr: f64,
    /// Queries that missed something: (query, wanted, got).
    pub misses: Vec<(String, Vec<String>, Vec<String>)>,
}

pub fn load() -> RelevanceSet {
    toml::from_str(DATA).expect("the relevance set parses")
}

impl RelevanceSet {
    /// Adds every document as `admin`; returns set id → document number.
    pub async fn add_all(
        &self,
        store: &Store,
        admin: i64,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, i64>> {
        let mut ids = HashMap::new();
        for d in &self.docs {
            let new = NewPolicy {
                title: &d.title,
                issuer: d.issuer.as_deref(),
                issued_on: d
                    .date
                    .as_deref()
                    .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()),
                file_id: &format!("file-{}", d.id),
                file_name: None,
                format: "txt",
                text: &d.body,
                no_text: false,
                added_by: admin,
            };
            let p = store.add_policy(new, now).await.map_err(|e| match e {
                crate::Failure::Storage(e) => e,
                crate::Failure::Refused(_) => crate::StorageError::Internal("not an admin"),
            })?;
            ids.insert(d.id.clone(), p.id);
        }
        Ok(ids)
    }

    /// Runs every query against the store.
    pub async fn evaluate(&self, store: &Store, ids: &HashMap<String, i64>) -> Result<Figures> {
        let by_number: HashMap<i64, &str> = ids.iter().map(|(k, v)| (*v, k.as_str())).collect();
        let (mut recall, mut rr) = (0.0, 0.0);
        let mut misses = Vec::new();
        for q in &self.queries {
            let found = store.find_policies(&q.q, domain::policy::RESULTS).await?;
            let got: Vec<String> = found
                .iter()
                .map(|h| {
                    by_number
                        .get(&h.policy.id)
                        .copied()
                        .unwrap_or("?")
                        .to_string()
                })
                .collect();
            let top3 = &got[..got.len().min(3)];
            let hits = q.want.iter().filter(|w| top3.contains(w)).count();
            recall += hits as f64 / q.want.len().min(3) as f64;
            if let Some(rank) = got.iter().position(|g| q.want.contains(g)) {
                rr += 1.0 / (rank + 1) as f64;
            }
            if hits < q.want.len().min(3) || !got.first().is_some_and(|g| q.want.contains(g)) {
                misses.push((q.q.clone(), q.want.clone(), got));
            }
        }
        let n = self.queries.len().max(1) as f64;
        Ok(Figures {
            recall_at_3: recall / n,
            mrr: rr / n,
            misses,
        })
    }
}
