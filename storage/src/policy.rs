//! The policy library: documents, their passages and their rows in the shared search index.
//! Adding and removing check the actor's authority (admin) inside the transaction that
//! writes, and a document is stored whole or not at all.

use crate::search::{Backend, DOC_PASSAGE, DOC_POLICY, DOC_QUESTION, Scope, SearchTx, Unit};
use crate::{Failure, JsonRow, Result, Store, in_tx, json_param, json_table, ms, read_db};
use chrono::{DateTime, NaiveDate, Utc};
use domain::Roles;
use domain::policy::{PolicyRefusal, may_manage};
use domain::search::{passages, query_terms, snippet};

pub type PolicyFailure = Failure<PolicyRefusal>;

/// Characters of a snippet.
pub const SNIPPET_CHARS: usize = 80;

/// A document to add: what the admin said about it, the file and its extracted text.
#[derive(Debug, Clone)]
pub struct NewPolicy<'a> {
    pub title: &'a str,
    pub issuer: Option<&'a str>,
    pub issued_on: Option<NaiveDate>,
    pub file_id: &'a str,
    pub file_name: Option<&'a str>,
    /// `pdf`, `docx` or `txt`.
    pub format: &'a str,
    /// The extracted body (empty for a scan).
    pub text: &'a str,
    /// No usable text could be extracted (a scan): findable by title only.
    pub no_text: bool,
    pub added_by: i64,
}

/// A document's file as the operator imports it (`zhucun policy import`): it is known by
/// its SHA-256, and its bytes wait in the database until the bot first sends it.
#[derive(Debug, Clone, Copy)]
pub struct PolicyFile<'a> {
    pub sha256: &'a str,
    pub bytes: &'a [u8],
}

/// What importing a document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Added(Policy),
    /// The same file is in the library already, as this document.
    AlreadyIn(i64),
}

/// A document of the library.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Policy {
    pub id: i64,
    pub title: String,
    pub issuer: Option<String>,
    /// `YYYY-MM-DD`.
    pub issued_on: Option<String>,
    pub file_id: String,
    pub file_name: Option<String>,
    pub format: String,
    /// Characters of text indexed.
    pub chars: i64,
    pub no_text: bool,
}

/// A document found by a search, with a snippet around the match.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyHit {
    pub policy: Policy,
    pub snippet: String,
    pub score: f64,
}

/// A similar earlier answer or a policy document, offered with an `/ask` receipt.
#[derive(Debug, Clone, PartialEq)]
pub enum Similar {
    Answer(crate::SimilarAnswer),
    Policy(PolicyHit),
}

/// What a policy's title unit is indexed by.
fn head(title: &str, issuer: Option<&str>) -> String {
    format!("{} {}", title, issuer.unwrap_or_default())
}

/// A passage passed to SQL: its number, where it starts, its text.
#[derive(serde::Serialize)]
struct PassageRow<'a> {
    s: i64,
    c: i64,
    x: &'a str,
}

impl JsonRow for PassageRow<'_> {
    const COLUMNS: &'static [(&'static str, &'static str)] =
        &[("s", "int"), ("c", "bigint"), ("x", "text")];
}

fn insert_passages_sql(engine: crate::Engine) -> String {
    format!(
        "INSERT INTO policy_passages (policy_id, seq, start_char, text)
         SELECT $1, j.s, j.c, j.x FROM {}
         RETURNING id, CAST(seq AS BIGINT)",
        json_table::<PassageRow>(engine, 2)
    )
}

const COLUMNS: &str = "id, title, issuer, issued_on, file_id, file_name, format, chars, no_text";

pub(crate) trait PolicyTx: Backend {
    /// The roles of an active person, `None` if he is not (or no longer) active.
    async fn active_roles(&mut self, person_id: i64) -> Result<Option<Roles>>;
}

crate::impl_for_connections! {
    impl PolicyTx {
        async fn active_roles(&mut self, person_id: i64) -> Result<Option<Roles>> {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT COALESCE((SELECT string_agg(r.role, ';') FROM person_roles r
                                  WHERE r.person_id = p.id), '')
                 FROM people p WHERE p.id = $1 AND p.active",
            )
            .bind(person_id)
            .fetch_optional(&mut *self)
            .await?;
            Ok(row.map(|(r,)| Roles::parse_list(&r).unwrap_or_default()))
        }
    }
}

impl Store {
    /// Adds a document and indexes its title and passages, in one transaction: only an
    /// active admin may, and nothing is left of a failed attempt.
    pub async fn add_policy(
        &self,
        new: NewPolicy<'_>,
        now: DateTime<Utc>,
    ) -> std::result::Result<Policy, PolicyFailure> {
        in_tx!(self, tx, refuse PolicyRefusal => {
            let roles = tx.active_roles(new.added_by).await?;
            may_manage(roles.unwrap_or_default())?;
            Ok(tx.insert_policy(&new, Some(new.added_by), None, now).await?)
        })
    }

    /// Imports a document for the operator (`zhucun policy import`: his authority is the
    /// database's): added with its file, unless the same file (by SHA-256) is in already.
    /// `new.file_id` is empty and `new.added_by` unused: nobody sent it through Telegram.
    pub async fn import_policy(
        &self,
        new: NewPolicy<'_>,
        file: PolicyFile<'_>,
        now: DateTime<Utc>,
    ) -> Result<Imported> {
        in_tx!(self, tx => {
            let present: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM policies WHERE content_hash = $1")
                    .bind(file.sha256)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((id,)) = present {
                return Ok(Imported::AlreadyIn(id));
            }
            let policy = tx.insert_policy(&new, None, Some(file.sha256), now).await?;
            sqlx::query("INSERT INTO policy_files (policy_id, bytes) VALUES ($1, $2)")
                .bind(policy.id)
                .bind(file.bytes)
                .execute(&mut *tx)
                .await?;
            Ok(Imported::Added(policy))
        })
    }

    /// The bytes of an imported document not yet on Telegram.
    pub async fn policy_file_bytes(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = read_db!(self, pool =>
            sqlx::query_as("SELECT bytes FROM policy_files WHERE policy_id = $1")
                .bind(id).fetch_optional(pool).await?);
        Ok(row.map(|(b,)| b))
    }

    /// Records the Telegram file id of a document once it was first sent (later sends
    /// reuse it), and drops the bytes that waited for it.
    pub async fn set_policy_file_id(&self, id: i64, file_id: &str) -> Result<()> {
        in_tx!(self, tx => {
            sqlx::query("UPDATE policies SET file_id = $1 WHERE id = $2")
                .bind(file_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM policy_files WHERE policy_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Ok(())
        })
    }
}

/// Writing a document and its index, for the transactions that add one.
pub(crate) trait PolicyInsert {
    async fn insert_policy(
        &mut self,
        new: &NewPolicy<'_>,
        added_by: Option<i64>,
        content_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Policy>;
}

crate::impl_for_connections! {
    impl PolicyInsert {
        async fn insert_policy(
            &mut self,
            new: &NewPolicy<'_>,
            added_by: Option<i64>,
            content_hash: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<Policy> {
            let chars = new.text.chars().count() as i64;
            let issued_on = new.issued_on.map(|d| d.format("%Y-%m-%d").to_string());
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO policies (title, issuer, issued_on, file_id, file_name, format,
                     chars, no_text, added_by, added_at, content_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(new.title)
            .bind(new.issuer)
            .bind(&issued_on)
            .bind(new.file_id)
            .bind(new.file_name)
            .bind(new.format)
            .bind(chars)
            .bind(new.no_text)
            .bind(added_by)
            .bind(ms(now))
            .bind(content_hash)
            .fetch_one(&mut *self)
            .await?;
            let head = head(new.title, new.issuer);
            let passages = passages(new.text);
            let rows: Vec<PassageRow> = passages
                .iter()
                .enumerate()
                .map(|(seq, p)| PassageRow { s: seq as i64, c: p.start as i64, x: &p.text })
                .collect();
            // All passages in one statement; their ids in the order of their numbers.
            let mut ids: Vec<(i64, i64)> = if rows.is_empty() {
                Vec::new()
            } else {
                sqlx::query_as(sqlx::AssertSqlSafe(insert_passages_sql(Self::ENGINE)))
                    .bind(id)
                    .bind(json_param(&rows))
                    .fetch_all(&mut *self)
                    .await?
            };
            ids.sort_by_key(|r| r.1);
            let mut units = vec![Unit { kind: DOC_POLICY, id, text: &head }];
            units.extend(ids.iter().zip(&passages).map(|(r, p)| Unit {
                kind: DOC_PASSAGE,
                id: r.0,
                text: &p.text,
            }));
            self.index_units(&units).await?;
            Ok(Policy {
                id,
                title: new.title.to_string(),
                issuer: new.issuer.map(str::to_string),
                issued_on,
                file_id: new.file_id.to_string(),
                file_name: new.file_name.map(str::to_string),
                format: new.format.to_string(),
                chars,
                no_text: new.no_text,
            })
        }
    }
}

impl Store {
    /// Removes a document, its passages and its index rows (admin only).
    pub async fn remove_policy(
        &self,
        actor: i64,
        id: i64,
    ) -> std::result::Result<Policy, PolicyFailure> {
        in_tx!(self, tx, refuse PolicyRefusal => {
            let roles = tx.active_roles(actor).await?;
            may_manage(roles.unwrap_or_default())?;
            let sql = format!("SELECT {COLUMNS} FROM policies WHERE id = $1");
            let policy: Option<Policy> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(policy) = policy else {
                return Err(PolicyRefusal::NotFound(id).into());
            };
            // The index rows are the terms of the stored texts.
            let stored: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, text FROM policy_passages WHERE policy_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
            let head = head(&policy.title, policy.issuer.as_deref());
            let mut units = vec![Unit { kind: DOC_POLICY, id, text: &head }];
            units.extend(stored.iter().map(|(pid, text)| Unit {
                kind: DOC_PASSAGE,
                id: *pid,
                text,
            }));
            tx.unindex_units(&units).await?;
            sqlx::query("DELETE FROM policy_passages WHERE policy_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM policy_files WHERE policy_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM policies WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Ok(policy)
        })
    }

    pub async fn policy(&self, id: i64) -> Result<Option<Policy>> {
        let sql = format!("SELECT {COLUMNS} FROM policies WHERE id = $1");
        Ok(read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?))
    }

    /// The newest `limit` documents, newest first.
    pub async fn newest_policies(&self, limit: usize) -> Result<Vec<Policy>> {
        let sql = format!("SELECT {COLUMNS} FROM policies ORDER BY id DESC LIMIT $1");
        Ok(read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit as i64).fetch_all(pool).await?))
    }

    pub async fn policy_count(&self) -> Result<i64> {
        let (n,): (i64,) = read_db!(self, pool =>
            sqlx::query_as("SELECT COUNT(*) FROM policies").fetch_one(pool).await?);
        Ok(n)
    }

    /// `/policy KEYWORDS`: the best matching documents, best first, with snippets.
    pub async fn find_policies(&self, text: &str, limit: usize) -> Result<Vec<PolicyHit>> {
        let found = self.search(Scope::Policies, text, limit).await?;
        let terms = query_terms(text);
        let mut out = Vec::new();
        for m in found {
            if let Some(hit) = self.policy_hit(&m, &terms).await? {
                out.push(hit);
            }
        }
        Ok(out)
    }

    async fn policy_hit(
        &self,
        m: &crate::SearchMatch,
        terms: &[String],
    ) -> Result<Option<PolicyHit>> {
        let Some(policy) = self.policy(m.doc_id).await? else {
            return Ok(None);
        };
        let source = m
            .passage
            .as_ref()
            .map_or(policy.title.as_str(), |p| p.1.as_str());
        Ok(Some(PolicyHit {
            snippet: snippet(source, terms, SNIPPET_CHARS),
            policy,
            score: m.score,
        }))
    }

    /// Earlier answered questions and policy documents that look like question
    /// `question_id`, ranked together, at most `limit` in all.
    pub async fn similar(&self, question_id: i64, limit: usize) -> Result<Vec<Similar>> {
        let Some(q) = self.question(question_id).await? else {
            return Ok(Vec::new());
        };
        let found = self.search(Scope::Both, &q.text, limit + 1).await?;
        let terms = query_terms(&q.text);
        let mut out = Vec::new();
        for m in found {
            if out.len() == limit {
                break;
            }
            if m.doc_kind == DOC_QUESTION {
                if m.doc_id == question_id {
                    continue;
                }
                if let Some(a) = self.similar_answer(m.doc_id).await? {
                    out.push(Similar::Answer(a));
                }
            } else if let Some(hit) = self.policy_hit(&m, &terms).await? {
                out.push(Similar::Policy(hit));
            }
        }
        Ok(out)
    }
}
