//! The search index: a vocabulary of terms (`domain::search::terms`), each with how many
//! units of each kind have it, and one integer posting per (term, kind, unit). A unit is an
//! answered question, a policy's title and issuer or a passage of a policy's body; all are
//! searched with the same queries on both engines and ranked by `domain::search` together.
//!
//! A search reads its terms' document frequencies from the vocabulary (one indexed lookup
//! each), gathers candidates through the rarer terms only (so a term every passage has
//! costs nothing), reads which query terms each candidate has (primary-key lookups) and its
//! text (for the loose matches), and lets the domain score and rank them.
//!
//! The postings of a unit are the terms of its stored text: removing a unit derives them
//! again from that text, so a change of the tokenizer must come with a rebuild of the index.

use crate::{Engine, JsonRow, Result, Store, json_param, json_table, read_db};
use domain::search::{Field, Scorer, document_score, is_relevant, query_terms, rank, terms};
use std::collections::{BTreeMap, HashMap};

/// Answered questions (indexed when they get their first answer).
pub const DOC_QUESTION: &str = "question";
/// A policy document's title and issuer.
pub const DOC_POLICY: &str = "policy";
/// A passage of a policy document's body.
pub const DOC_PASSAGE: &str = "policy_passage";

/// The kinds as the index stores them (`search_postings.kind`), in the order of the
/// vocabulary's count columns.
const KINDS: [&str; 3] = [DOC_QUESTION, DOC_POLICY, DOC_PASSAGE];

fn kind_code(kind: &str) -> i64 {
    KINDS.iter().position(|k| *k == kind).unwrap_or(0) as i64
}

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Questions,
    Policies,
    Both,
}

impl Scope {
    /// Kind codes.
    fn kinds(self) -> &'static [i64] {
        match self {
            Scope::Questions => &[0],
            Scope::Policies => &[1, 2],
            Scope::Both => &[0, 1, 2],
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

/// A unit to add to the index or remove from it, with the text it is (to be) indexed by.
pub(crate) struct Unit<'a> {
    pub kind: &'static str,
    pub id: i64,
    pub text: &'a str,
}

/// A term of a batch of units and how many of them of each kind have it.
#[derive(serde::Serialize)]
struct TermCount<'a> {
    t: &'a str,
    q: i64,
    p: i64,
    b: i64,
}

impl JsonRow for TermCount<'_> {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("t", "text"), ("q", "int"), ("p", "int"), ("b", "int")];
}

#[derive(serde::Serialize)]
struct Posting<'a> {
    t: &'a str,
    k: i64,
    u: i64,
}

impl JsonRow for Posting<'_> {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("t", "text"), ("k", "smallint"), ("u", "bigint")];
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
    /// Adds units that are not in the index yet.
    async fn index_units(&mut self, units: &[Unit<'_>]) -> Result<()>;
    /// Removes units, given the texts they were indexed by.
    async fn unindex_units(&mut self, units: &[Unit<'_>]) -> Result<()>;
    /// Adds one unit.
    async fn index_document(
        &mut self,
        doc_kind: &'static str,
        doc_id: i64,
        text: &str,
    ) -> Result<()>;
}

/// The terms of each unit, and of all of them with their counts per kind (sorted, so that
/// writers touch the vocabulary in one order).
struct Batch {
    units: Vec<(i64, i64, Vec<String>)>,
}

impl Batch {
    fn of(units: &[Unit<'_>]) -> Batch {
        Batch {
            units: units
                .iter()
                .map(|u| (kind_code(u.kind), u.id, terms(u.text)))
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.units.iter().all(|u| u.2.is_empty())
    }

    fn counts(&self) -> Vec<TermCount<'_>> {
        let mut by_term: BTreeMap<&str, [i64; 3]> = BTreeMap::new();
        for (kind, _, ts) in &self.units {
            for t in ts {
                by_term.entry(t.as_str()).or_default()[*kind as usize] += 1;
            }
        }
        by_term
            .into_iter()
            .map(|(t, [q, p, b])| TermCount { t, q, p, b })
            .collect()
    }

    fn postings(&self) -> Vec<Posting<'_>> {
        self.units
            .iter()
            .flat_map(|(k, u, ts)| {
                ts.iter().map(move |t| Posting {
                    t: t.as_str(),
                    k: *k,
                    u: *u,
                })
            })
            .collect()
    }
}

/// On PostgreSQL, writers of the index take turns (an advisory lock held to the end of the
/// transaction): two documents share most of their terms, and two transactions updating
/// the same vocabulary rows in different orders would deadlock. SQLite has one writer.
const INDEX_LOCK: i64 = 0x7a68_7563_756e_0001;

fn add_counts_sql(engine: Engine, sign: char) -> String {
    format!(
        "UPDATE search_vocab SET questions = questions {sign} j.q, policies = policies {sign} j.p,
             passages = passages {sign} j.b
         FROM {} WHERE search_vocab.term = j.t",
        json_table::<TermCount>(engine, 1)
    )
}

crate::impl_for_connections! {
    impl SearchTx {
        async fn index_units(&mut self, units: &[Unit<'_>]) -> Result<()> {
            let engine = <Self as Backend>::ENGINE;
            let batch = Batch::of(units);
            if batch.is_empty() {
                return Ok(());
            }
            if engine == Engine::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(INDEX_LOCK).execute(&mut *self).await?;
            }
            let counts = json_param(&batch.counts());
            let sql = format!(
                "INSERT INTO search_vocab (term) SELECT j.t FROM {}
                 WHERE NOT EXISTS (SELECT 1 FROM search_vocab v WHERE v.term = j.t)
                 ON CONFLICT (term) DO NOTHING",
                json_table::<TermCount>(engine, 1)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&counts).execute(&mut *self).await?;
            sqlx::query(sqlx::AssertSqlSafe(add_counts_sql(engine, '+')))
                .bind(&counts)
                .execute(&mut *self)
                .await?;
            // In key order, so the engine fills each term's last page in one go.
            let sql = format!(
                "INSERT INTO search_postings (term_id, kind, unit_id)
                 SELECT v.id, j.k, j.u FROM {} JOIN search_vocab v ON v.term = j.t
                 ORDER BY 1, 2, 3",
                json_table::<Posting>(engine, 1)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(json_param(&batch.postings()))
                .execute(&mut *self)
                .await?;
            Ok(())
        }

        async fn unindex_units(&mut self, units: &[Unit<'_>]) -> Result<()> {
            let engine = <Self as Backend>::ENGINE;
            let batch = Batch::of(units);
            if batch.is_empty() {
                return Ok(());
            }
            if engine == Engine::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(INDEX_LOCK).execute(&mut *self).await?;
            }
            let sql = format!(
                "DELETE FROM search_postings WHERE (term_id, kind, unit_id) IN
                     (SELECT v.id, j.k, j.u FROM {} JOIN search_vocab v ON v.term = j.t)",
                json_table::<Posting>(engine, 1)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(json_param(&batch.postings()))
                .execute(&mut *self)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(add_counts_sql(engine, '-')))
                .bind(json_param(&batch.counts()))
                .execute(&mut *self)
                .await?;
            Ok(())
        }

        async fn index_document(&mut self, doc_kind: &'static str, doc_id: i64, text: &str) -> Result<()> {
            self.index_units(&[Unit { kind: doc_kind, id: doc_id, text }]).await
        }
    }
}

/// Candidates come from the rarest terms until their postings add up to this many rows
/// (and no more rows are read for them).
const CANDIDATE_POSTINGS: i64 = 20_000;
/// How many candidate units the SQL step hands to the ranking.
const CANDIDATES: usize = 200;

/// `$first, $first+1, …` for `n` values.
fn params(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Integers as an SQL list (kind codes and term ids: numbers, never text from outside).
fn int_list(values: impl IntoIterator<Item = i64>) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
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
        let kind_list = int_list(kinds.iter().copied());

        // 1. The terms' ids and how many units of the scope have each.
        let sql = format!(
            "SELECT CAST(id AS BIGINT), term, CAST(questions AS BIGINT), CAST(policies AS BIGINT),
                 CAST(passages AS BIGINT)
             FROM search_vocab WHERE term IN ({})",
            params(1, terms.len())
        );
        let vocab: Vec<(i64, String, i64, i64, i64)> = read_db!(self, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for t in &terms { q = q.bind(t); }
            q.fetch_all(pool).await?
        });
        let mut ids: Vec<Option<i64>> = vec![None; terms.len()];
        let mut df = vec![0u64; terms.len()];
        for (id, term, q, p, b) in vocab {
            let Some(i) = terms.iter().position(|t| *t == term) else {
                continue;
            };
            let by_kind = [q, p, b];
            let n: i64 = kinds.iter().map(|&k| by_kind[k as usize]).sum();
            df[i] = n.max(0) as u64;
            if n > 0 {
                ids[i] = Some(id);
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
            // In thousandths, as integers: PostgreSQL sums a decimal literal as `numeric`.
            .filter_map(|&i| {
                ids[i].map(|id| {
                    format!(
                        " WHEN {id} THEN {}",
                        (scorer.weights()[i] * 1000.0).round() as i64
                    )
                })
            })
            .collect();
        let sql = format!(
            "SELECT CAST(kind AS BIGINT), unit_id FROM (SELECT kind, unit_id, term_id FROM search_postings
                 WHERE term_id IN ({}) AND kind IN ({kind_list}) LIMIT {CANDIDATE_POSTINGS}) p
             GROUP BY kind, unit_id
             ORDER BY SUM(CASE term_id{weight_case} ELSE 0 END) DESC, unit_id DESC
             LIMIT {CANDIDATES}",
            int_list(chosen.iter().filter_map(|&i| ids[i]))
        );
        let candidates: Vec<(i64, i64)> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }

        // 3. Which query terms each candidate has: primary-key lookups, per kind.
        let known: Vec<i64> = ids.iter().flatten().copied().collect();
        let mut rows: Vec<(i64, i64, i64)> = Vec::new();
        for &kind in kinds {
            let units: Vec<i64> = candidates
                .iter()
                .filter(|c| c.0 == kind)
                .map(|c| c.1)
                .collect();
            if units.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT CAST(kind AS BIGINT), unit_id, CAST(term_id AS BIGINT) FROM search_postings
                 WHERE term_id IN ({}) AND kind = {kind} AND unit_id IN ({})",
                int_list(known.iter().copied()),
                int_list(units)
            );
            let mut got: Vec<(i64, i64, i64)> = read_db!(self, pool =>
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
            rows.append(&mut got);
        }
        let position: HashMap<i64, usize> = ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| id.map(|id| (id, i)))
            .collect();
        let mut has: HashMap<(i64, i64), Vec<bool>> = candidates
            .iter()
            .map(|c| (*c, vec![false; terms.len()]))
            .collect();
        for (kind, unit, term) in rows {
            if let (Some(v), Some(&i)) = (has.get_mut(&(kind, unit)), position.get(&term)) {
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
            let (key, field) = match c.0 {
                0 => ((DOC_QUESTION, c.1), Field::Title),
                1 => ((DOC_POLICY, c.1), Field::Title),
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

    async fn unit_texts(&self, units: &[(i64, i64)]) -> Result<HashMap<(i64, i64), UnitText>> {
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
            let kind = kind_code(kind);
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
                out.insert((kind, id), UnitText { owner, start, text });
            }
        }
        Ok(out)
    }

    /// After a bulk load on PostgreSQL, what autovacuum would do in time: marks the new
    /// pages all-visible (so candidates are read from the primary key alone) and gathers
    /// statistics for the planner. Nothing to do on SQLite.
    pub async fn vacuum_search_index(&self) -> Result<()> {
        if let crate::Db::Postgres(pool) = &self.db {
            sqlx::query("VACUUM (ANALYZE) search_postings, search_vocab, policy_passages")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Postings of the search index and, where the engine tells, the bytes it takes
    /// (postings and vocabulary, with their indexes).
    pub async fn search_index_size(&self) -> Result<(i64, Option<i64>)> {
        let (rows,): (i64,) = read_db!(self, pool =>
            sqlx::query_as("SELECT COUNT(*) FROM search_postings").fetch_one(pool).await?);
        let bytes: Option<i64> = match &self.read {
            crate::Db::Postgres(pool) => {
                let (b,): (i64,) = sqlx::query_as(
                    "SELECT (pg_total_relation_size('search_postings')
                             + pg_total_relation_size('search_vocab'))::BIGINT",
                )
                .fetch_one(pool)
                .await?;
                Some(b)
            }
            crate::Db::Sqlite(pool) => sqlx::query_as::<_, (i64,)>(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN
                 ('search_postings', 'search_vocab', 'sqlite_autoindex_search_vocab_1')",
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
