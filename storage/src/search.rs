//! The search index: one row per (document, term), terms from `domain::search::terms`.
//! Any kind of document can be indexed (`doc_kind`: answered questions now, policy documents
//! later) and searched with the same query on both engines: count the query's terms each
//! document shares, most first; `domain::search::rank` keeps the relevant ones.

use crate::{Result, Store, read_db};
use domain::search::{Hit, query_terms, rank, terms};

/// Answered questions (indexed when they get their first answer).
pub const DOC_QUESTION: &str = "question";
/// Policy documents (for the policy library).
pub const DOC_POLICY: &str = "policy";

/// A document found by [`Store::search`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchMatch {
    pub doc_kind: String,
    pub doc_id: i64,
    /// Query terms the document shares.
    pub shared: usize,
}

pub(crate) trait SearchTx {
    /// (Re)indexes a document under the terms of `text`.
    async fn index_document(&mut self, doc_kind: &str, doc_id: i64, text: &str) -> Result<()>;
}

crate::impl_for_connections! {
    impl SearchTx {
        async fn index_document(&mut self, doc_kind: &str, doc_id: i64, text: &str) -> Result<()> {
            sqlx::query("DELETE FROM search_terms WHERE doc_kind = $1 AND doc_id = $2")
                .bind(doc_kind)
                .bind(doc_id)
                .execute(&mut *self)
                .await?;
            for term in terms(text) {
                sqlx::query("INSERT INTO search_terms (doc_kind, doc_id, term) VALUES ($1, $2, $3)")
                    .bind(doc_kind)
                    .bind(doc_id)
                    .bind(term)
                    .execute(&mut *self)
                    .await?;
            }
            Ok(())
        }
    }
}

/// How many candidates the SQL step hands to the ranking.
const CANDIDATES: i64 = 50;

impl Store {
    /// Documents of the given kinds that look like `text`, best first, at most `limit`.
    pub async fn search(
        &self,
        kinds: &[&str],
        text: &str,
        limit: usize,
    ) -> Result<Vec<SearchMatch>> {
        let terms = query_terms(text);
        if terms.is_empty() || kinds.is_empty() {
            return Ok(Vec::new());
        }
        // Only placeholders are generated; every value is bound.
        let kind_params: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 1)).collect();
        let term_params: Vec<String> = (0..terms.len())
            .map(|i| format!("${}", kinds.len() + i + 1))
            .collect();
        let sql = format!(
            "SELECT doc_kind, doc_id, COUNT(*) AS shared FROM search_terms
             WHERE doc_kind IN ({}) AND term IN ({})
             GROUP BY doc_kind, doc_id
             ORDER BY shared DESC, doc_id DESC
             LIMIT {CANDIDATES}",
            kind_params.join(", "),
            term_params.join(", ")
        );
        let rows: Vec<(String, i64, i64)> = read_db!(self, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for k in kinds {
                q = q.bind(*k);
            }
            for t in &terms {
                q = q.bind(t);
            }
            q.fetch_all(pool).await?
        });
        let hits = rows
            .into_iter()
            .map(|(doc_kind, doc_id, shared)| Hit {
                doc: (doc_kind, doc_id),
                shared: usize::try_from(shared).unwrap_or_default(),
            })
            .collect();
        Ok(rank(terms.len(), hits, limit)
            .into_iter()
            .map(|h| SearchMatch {
                doc_kind: h.doc.0,
                doc_id: h.doc.1,
                shared: h.shared,
            })
            .collect())
    }
}

impl Store {
    /// (Re)indexes one document in its own transaction (e.g. a policy document on upload).
    pub async fn index_document(&self, doc_kind: &str, doc_id: i64, text: &str) -> Result<()> {
        crate::in_tx!(self, tx => tx.index_document(doc_kind, doc_id, text).await)?;
        Ok(())
    }
}
