//! The search index: one row per (unit, term), terms from `domain::search::terms`. A unit is
//! an answered question (`question`), a policy's title and issuer (`policy`) or a passage
//! of a policy's body (`policy_passage`); all are searched with the same queries on both
//! engines and ranked by `domain::search` together.
//!
//! A search reads the document frequency of the query's terms (one grouped count), gathers
//! candidates through the rarer terms only (so a term every passage has costs nothing),
//! reads which query terms each candidate has and its text (for the loose matches), and
//! lets the domain score and rank them.

use crate::{Engine, JsonRow, Result, Store, json_param, json_table, read_db};
use domain::search::{Field, Scorer, document_score, is_relevant, query_terms, rank, terms};
use std::collections::HashMap;

/// Answered questions (indexed when they get their first answer).
pub const DOC_QUESTION: &str = "question";
/// A policy document's title and issuer.
pub const DOC_POLICY: &str = "policy";
/// A passage of a policy document's body.
pub const DOC_PASSAGE: &str = "policy_passage";

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Questions,
    Policies,
    Both,
}

impl Scope {
    fn kinds(self) -> &'static [&'static str] {
        match self {
            Scope::Questions => &[DOC_QUESTION],
            Scope::Policies => &[DOC_POLICY, DOC_PASSAGE],
            Scope::Both => &[DOC_QUESTION, DOC_POLICY, DOC_PASSAGE],
        }
    }
}

/// A document found by [`Store::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchMatch {
    /// [`DOC_QUESTION`] or [`DOC_POLICY`] (a passage's match is its policy's).
    pub doc_kind: String,
    pub doc_id: i64,
    /// Query terms the best unit of the document has.
    pub shared: usize,
    pub score: f64,
    /// The best passage of a policy (start in characters, text), if its body matched.
    pub passage: Option<(i64, String)>,
}

#[derive(serde::Serialize)]
struct TermRow {
    t: String,
}

impl JsonRow for TermRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[("t", "text")];
}

/// The engine of a connection type, for SQL that differs between them.
pub(crate) trait Backend {
    const ENGINE: Engine;
}

impl Backend for sqlx::SqliteConnection {
    const ENGINE: Engine = Engine::Sqlite;
}

impl Backend for sqlx::PgConnection {
    const ENGINE: Engine = Engine::Postgres;
}

pub(crate) trait SearchTx {
    /// (Re)indexes a unit under the terms of `text`.
    async fn index_document(&mut self, doc_kind: &str, doc_id: i64, text: &str) -> Result<()>;
}

fn insert_terms_sql(engine: Engine) -> String {
    format!(
        "INSERT INTO search_terms (doc_kind, doc_id, term) SELECT $1, $2, j.t FROM {}",
        json_table::<TermRow>(engine, 3)
    )
}

crate::impl_for_connections! {
    impl SearchTx {
        async fn index_document(&mut self, doc_kind: &str, doc_id: i64, text: &str) -> Result<()> {
            sqlx::query("DELETE FROM search_terms WHERE doc_kind = $1 AND doc_id = $2")
                .bind(doc_kind)
                .bind(doc_id)
                .execute(&mut *self)
                .await?;
            let rows: Vec<TermRow> = terms(text).into_iter().map(|t| TermRow { t }).collect();
            if rows.is_empty() {
                return Ok(());
            }
            sqlx::query(sqlx::AssertSqlSafe(insert_terms_sql(<Self as Backend>::ENGINE)))
                .bind(doc_kind)
                .bind(doc_id)
                .bind(json_param(&rows))
                .execute(&mut *self)
                .await?;
            Ok(())
        }
    }
}

/// Candidates come from the rarest terms until their postings add up to this many rows
/// (and no more rows are read for them).
const CANDIDATE_POSTINGS: i64 = 20_000;
/// Document frequencies are counted up to this.
const DF_CAP: i64 = 5_000;
/// How many candidate units the SQL step hands to the ranking.
const CANDIDATES: usize = 200;

/// `$first, $first+1, …` for `n` values.
fn params(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Documents in `scope` that match `text`, best first, at most `limit`.
    pub async fn search(&self, scope: Scope, text: &str, limit: usize) -> Result<Vec<SearchMatch>> {
        let terms = query_terms(text);
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let kinds = scope.kinds();
        let kind_p = params(1, kinds.len());

        // 1. How many units have each term (counted up to DF_CAP: beyond it a term is
        // common and weighs next to nothing anyway), and how many units there are.
        let sql = (0..terms.len())
            .map(|i| {
                format!(
                    "SELECT CAST({i} AS BIGINT), COUNT(*) FROM (SELECT 1 AS one FROM search_terms
                     WHERE term = ${} AND doc_kind IN ({kind_p}) LIMIT {DF_CAP}) t{i}",
                    kinds.len() + i + 1
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let df_rows: Vec<(i64, i64)> = read_db!(self, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for k in kinds { q = q.bind(*k); }
            for t in &terms { q = q.bind(t); }
            q.fetch_all(pool).await?
        });
        let mut df = vec![0u64; terms.len()];
        for (i, n) in df_rows {
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| df.get_mut(i)) {
                *slot = n.max(0) as u64;
            }
        }
        let units = self.unit_count(scope).await?;
        let scorer = Scorer::new(terms.clone(), &df, units);
        if scorer.is_empty() {
            return Ok(Vec::new());
        }

        // 2. Candidates through the rarer terms, weighted by rarity.
        let mut by_rarity: Vec<usize> = (0..terms.len()).filter(|&i| df[i] > 0).collect();
        by_rarity.sort_by_key(|&i| df[i]);
        let mut chosen = Vec::new();
        let mut postings = 0i64;
        for i in by_rarity {
            if !chosen.is_empty() && postings + df[i] as i64 > CANDIDATE_POSTINGS {
                break;
            }
            postings += df[i] as i64;
            chosen.push(i);
        }
        if chosen.is_empty() {
            // Only words nobody has: nothing can match.
            return Ok(Vec::new());
        }
        let weight_case: String = chosen
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                format!(
                    " WHEN ${} THEN {:.6}",
                    kinds.len() + n + 1,
                    scorer.weights()[i]
                )
            })
            .collect();
        let sql = format!(
            "SELECT doc_kind, doc_id FROM (SELECT doc_kind, doc_id, term FROM search_terms
                 WHERE doc_kind IN ({kind_p}) AND term IN ({}) LIMIT {CANDIDATE_POSTINGS}) p
             GROUP BY doc_kind, doc_id
             ORDER BY SUM(CASE term{weight_case} ELSE 0 END) DESC, doc_id DESC
             LIMIT {CANDIDATES}",
            params(kinds.len() + 1, chosen.len())
        );
        let candidates: Vec<(String, i64)> = read_db!(self, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for k in kinds { q = q.bind(*k); }
            for &i in &chosen { q = q.bind(&terms[i]); }
            q.fetch_all(pool).await?
        });
        if candidates.is_empty() {
            return Ok(Vec::new());
        }

        // 3. Which query terms each candidate has: primary-key lookups, per kind.
        let mut rows: Vec<(String, i64, String)> = Vec::new();
        for kind in kinds {
            let ids: Vec<i64> = candidates
                .iter()
                .filter(|c| c.0 == *kind)
                .map(|c| c.1)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let hint = match self.engine() {
                Engine::Sqlite => " INDEXED BY sqlite_autoindex_search_terms_1",
                Engine::Postgres => "",
            };
            let sql = format!(
                "SELECT doc_kind, doc_id, term FROM search_terms{hint}
                 WHERE doc_kind = $1 AND doc_id IN ({}) AND term IN ({})",
                params(2, ids.len()),
                params(ids.len() + 2, terms.len())
            );
            let mut got: Vec<(String, i64, String)> = read_db!(self, pool => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                q = q.bind(*kind);
                for id in &ids { q = q.bind(id); }
                for t in &terms { q = q.bind(t); }
                q.fetch_all(pool).await?
            });
            rows.append(&mut got);
        }
        let position: HashMap<&str, usize> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let mut has: HashMap<(String, i64), Vec<bool>> = candidates
            .iter()
            .map(|c| (c.clone(), vec![false; terms.len()]))
            .collect();
        for (kind, id, term) in rows {
            if let (Some(v), Some(&i)) = (has.get_mut(&(kind, id)), position.get(term.as_str())) {
                v[i] = true;
            }
        }

        // 4. Their texts, for the loose matches and the snippets.
        let texts = self.unit_texts(&candidates).await?;

        // 5. Score the units, then the documents.
        struct Doc {
            title: f64,
            body: f64,
            shared: usize,
            passage: Option<(i64, String)>,
            order: usize,
        }
        type Scored = ((&'static str, i64), Doc);
        let mut docs: HashMap<(&'static str, i64), Doc> = HashMap::new();
        for (order, c) in candidates.iter().enumerate() {
            let Some(unit) = texts.get(c) else { continue };
            let indexed = &has[c];
            let cover = scorer.coverage(indexed, &unit.text);
            let shared = indexed.iter().filter(|b| **b).count();
            let (key, field) = match c.0.as_str() {
                DOC_QUESTION => ((DOC_QUESTION, c.1), Field::Title),
                DOC_POLICY => ((DOC_POLICY, c.1), Field::Title),
                _ => ((DOC_POLICY, unit.owner), Field::Body),
            };
            let d = docs.entry(key).or_insert(Doc {
                title: 0.0,
                body: 0.0,
                shared: 0,
                passage: None,
                order,
            });
            d.shared = d.shared.max(shared);
            match field {
                Field::Title => d.title = d.title.max(cover),
                Field::Body if cover > d.body => {
                    d.body = cover;
                    d.passage = Some((unit.start, unit.text.clone()));
                }
                Field::Body => {}
            }
        }
        let mut scored: Vec<(Scored, f64)> = docs
            .into_iter()
            .filter(|(_, d)| is_relevant(d.title, d.body))
            .map(|(k, d)| {
                let s = document_score(d.title, d.body);
                ((k, d), s)
            })
            .collect();
        // Equal scores: newer documents first, then the SQL order.
        scored.sort_by_key(|((k, d), _)| (std::cmp::Reverse(k.1), d.order));
        Ok(rank(scored, limit)
            .into_iter()
            .map(|(((kind, id), d), score)| SearchMatch {
                doc_kind: kind.to_string(),
                doc_id: id,
                shared: d.shared,
                score,
                passage: d.passage,
            })
            .collect())
    }

    /// How many units of the scope exist (for the terms' rarity).
    /// About how many units of the scope exist (for the terms' rarity): the highest ids,
    /// one index lookup each instead of a count.
    async fn unit_count(&self, scope: Scope) -> Result<u64> {
        let questions = "(SELECT COALESCE(MAX(id), 0) FROM questions)";
        let policies = "(SELECT COALESCE(MAX(id), 0) FROM policies)
                        + (SELECT COALESCE(MAX(id), 0) FROM policy_passages)";
        let sql = match scope {
            Scope::Questions => format!("SELECT {questions}"),
            Scope::Policies => format!("SELECT {policies}"),
            Scope::Both => format!("SELECT {questions} + {policies}"),
        };
        let (n,): (i64,) = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?);
        Ok(n.max(0) as u64)
    }

    async fn unit_texts(
        &self,
        units: &[(String, i64)],
    ) -> Result<HashMap<(String, i64), UnitText>> {
        let mut out = HashMap::new();
        for (kind, sql) in [
            (
                DOC_QUESTION,
                "SELECT id, id, CAST(0 AS BIGINT), text FROM questions WHERE id IN",
            ),
            (
                DOC_POLICY,
                "SELECT id, id, CAST(0 AS BIGINT), title || ' ' || COALESCE(issuer, '') FROM policies WHERE id IN",
            ),
            (
                DOC_PASSAGE,
                "SELECT id, policy_id, start_char, text FROM policy_passages WHERE id IN",
            ),
        ] {
            let ids: Vec<i64> = units.iter().filter(|u| u.0 == kind).map(|u| u.1).collect();
            if ids.is_empty() {
                continue;
            }
            let sql = format!("{sql} ({})", params(1, ids.len()));
            let rows: Vec<(i64, i64, i64, String)> = read_db!(self, pool => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for id in &ids { q = q.bind(id); }
                q.fetch_all(pool).await?
            });
            for (id, owner, start, text) in rows {
                out.insert((kind.to_string(), id), UnitText { owner, start, text });
            }
        }
        Ok(out)
    }

    /// (Re)indexes one unit in its own transaction.
    pub async fn index_document(&self, doc_kind: &str, doc_id: i64, text: &str) -> Result<()> {
        crate::in_tx!(self, tx => tx.index_document(doc_kind, doc_id, text).await)?;
        Ok(())
    }

    /// Rows of the search index and, where the engine tells, the bytes it takes (table and
    /// indexes).
    pub async fn search_index_size(&self) -> Result<(i64, Option<i64>)> {
        let (rows,): (i64,) = read_db!(self, pool =>
            sqlx::query_as("SELECT COUNT(*) FROM search_terms").fetch_one(pool).await?);
        let bytes: Option<i64> = match &self.read {
            crate::Db::Postgres(pool) => {
                let (b,): (i64,) =
                    sqlx::query_as("SELECT pg_total_relation_size('search_terms')::BIGINT")
                        .fetch_one(pool)
                        .await?;
                Some(b)
            }
            crate::Db::Sqlite(pool) => sqlx::query_as::<_, (i64,)>(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN
                 ('search_terms', 'sqlite_autoindex_search_terms_1', 'search_terms_term')",
            )
            .fetch_one(pool)
            .await
            .ok()
            .map(|r| r.0),
        };
        Ok((rows, bytes))
    }
}

struct UnitText {
    /// The question or policy the unit belongs to.
    owner: i64,
    /// Where a passage starts in its body (characters).
    start: i64,
    text: String,
}
