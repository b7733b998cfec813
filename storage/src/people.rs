//! The roster (units, people, roles, topics), invites and registration.

use crate::{BindFailure, Result, StorageError, Store, in_tx, ms, read_db, write_db};
use chrono::{DateTime, Duration, Utc};
use domain::config::Lang;
use domain::roster::RosterEntry;
use domain::{Roles, UnitPath};
use std::collections::HashMap;

/// A roster person as the rest of the program sees him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub roles: Roles,
    pub unit_id: i64,
    pub unit: UnitPath,
    pub topics: Vec<String>,
    pub active: bool,
    pub tg_user_id: Option<i64>,
    pub chat_id: Option<i64>,
    /// `None` means the configured default language.
    pub lang: Option<Lang>,
    pub unreachable: bool,
    /// The state of his open dialogue, read with him to spare a round trip per message.
    pub dialogue: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct PersonRow {
    id: i64,
    name: String,
    phone: String,
    unit_id: i64,
    unit_path: String,
    active: bool,
    tg_user_id: Option<i64>,
    chat_id: Option<i64>,
    lang: Option<String>,
    unreachable: bool,
    roles: String,
    topics: String,
    dialogue: Option<String>,
}

impl From<PersonRow> for Person {
    fn from(r: PersonRow) -> Person {
        Person {
            id: r.id,
            name: r.name,
            phone: r.phone,
            // Only valid values are ever written, so a parse failure can only mean an empty set.
            roles: Roles::parse_list(&r.roles).unwrap_or_default(),
            unit_id: r.unit_id,
            unit: UnitPath::parse(&r.unit_path)
                .unwrap_or_else(|_| UnitPath::parse("?").expect("a one-segment path is valid")),
            topics: split_list(&r.topics),
            active: r.active,
            tg_user_id: r.tg_user_id,
            chat_id: r.chat_id,
            lang: r.lang.as_deref().and_then(Lang::parse),
            unreachable: r.unreachable,
            dialogue: r.dialogue,
        }
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) const PERSON_SELECT: &str =
    "SELECT p.id, p.name, p.phone, p.unit_id, u.path AS unit_path, p.active,
        p.tg_user_id, p.chat_id, p.lang, p.unreachable,
        COALESCE((SELECT string_agg(r.role, ';' ORDER BY r.role) FROM person_roles r
                  WHERE r.person_id = p.id), '') AS roles,
        COALESCE((SELECT string_agg(t.topic, ';' ORDER BY t.topic) FROM tutor_topics t
                  WHERE t.person_id = p.id), '') AS topics,
        (SELECT d.state FROM dialogues d WHERE d.person_id = p.id) AS dialogue
    FROM people p JOIN units u ON u.id = p.unit_id";

/// What an import changed. A second import of the same file reports only `unchanged`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deactivated: Vec<String>,
    pub units_created: usize,
    /// The names added and updated, in the file's order (for a preview).
    pub added_names: Vec<String>,
    pub updated_names: Vec<String>,
    /// People active before the import: what a share of deactivations is taken of.
    pub active_before: usize,
}

impl ImportSummary {
    /// Whether the import deactivates more than `percent` % of the people active before.
    pub fn deactivates_over(&self, percent: usize) -> bool {
        self.deactivated.len() * 100 > self.active_before * percent
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("phone not on the roster")]
    NotOnRoster,
    #[error("person is deactivated")]
    Deactivated,
    #[error("this roster entry is bound to another Telegram account")]
    PersonTaken,
    #[error("this Telegram account is bound to another roster entry")]
    AccountTaken,
    #[error("unknown invite code")]
    InviteUnknown,
    #[error("invite code already used")]
    InviteUsed,
    #[error("invite code expired")]
    InviteExpired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    Registered(Person),
    AlreadyRegistered(Person),
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("no person with phone {0} on the roster")]
    NotOnRoster(String),
    #[error("{0} is deactivated; re-import the roster with this person to reactivate")]
    Deactivated(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for InviteError {
    fn from(e: sqlx::Error) -> Self {
        InviteError::Storage(e.into())
    }
}

impl Store {
    pub async fn person_by_tg(&self, tg_user_id: i64) -> Result<Option<Person>> {
        let sql = format!("{PERSON_SELECT} WHERE p.tg_user_id = $1");
        let row: Option<PersonRow> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tg_user_id).fetch_optional(pool).await?);
        Ok(row.map(Person::from))
    }

    pub async fn person_by_phone(&self, phone: &str) -> Result<Option<Person>> {
        let sql = format!("{PERSON_SELECT} WHERE p.phone = $1");
        let row: Option<PersonRow> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(phone).fetch_optional(pool).await?);
        Ok(row.map(Person::from))
    }

    pub async fn person(&self, id: i64) -> Result<Option<Person>> {
        let sql = format!("{PERSON_SELECT} WHERE p.id = $1");
        let row: Option<PersonRow> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        Ok(row.map(Person::from))
    }

    /// Everyone on the roster, active or not, ordered by id.
    pub async fn people(&self) -> Result<Vec<Person>> {
        let sql = format!("{PERSON_SELECT} ORDER BY p.id");
        let rows: Vec<PersonRow> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        Ok(rows.into_iter().map(Person::from).collect())
    }

    pub async fn set_lang(&self, person_id: i64, lang: Lang, now: DateTime<Utc>) -> Result<()> {
        let sql = "UPDATE people SET lang = $1, updated_at = $2 WHERE id = $3";
        write_db!(self, pool => sqlx::query(sql).bind(lang.as_str()).bind(ms(now)).bind(person_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Imports a validated roster in one transaction: new people are added, changed ones
    /// updated (matched by phone), people missing from the file deactivated, units created.
    pub async fn import_roster(
        &self,
        entries: &[RosterEntry],
        now: DateTime<Utc>,
    ) -> Result<ImportSummary> {
        self.run_import(entries, now, true).await
    }

    /// What `import_roster` would do now, without doing it: the same statements in a
    /// transaction that is rolled back, so the preview cannot disagree with the import.
    pub async fn preview_roster(
        &self,
        entries: &[RosterEntry],
        now: DateTime<Utc>,
    ) -> Result<ImportSummary> {
        self.run_import(entries, now, false).await
    }

    async fn run_import(
        &self,
        entries: &[RosterEntry],
        now: DateTime<Utc>,
        commit: bool,
    ) -> Result<ImportSummary> {
        let now = ms(now);
        // A preview ends in `Refused(summary)`: the error path rolls the transaction back.
        let outcome = in_tx!(self, tx, crate::TxError<ImportSummary> => {
            let summary = tx.import_entries(entries, now).await?;
            if commit { Ok(summary) } else { Err(crate::TxError::Refused(summary)) }
        });
        match outcome {
            Ok(summary) | Err(crate::TxError::Refused(summary)) => Ok(summary),
            Err(crate::TxError::Storage(e)) => Err(e),
        }
    }

    /// Creates a one-time registration code for the person with this (normalised) phone.
    pub async fn create_invite(
        &self,
        phone: &str,
        now: DateTime<Utc>,
        valid_for: Duration,
    ) -> Result<(String, Person), InviteError> {
        let person = self
            .person_by_phone(phone)
            .await?
            .ok_or_else(|| InviteError::NotOnRoster(phone.to_string()))?;
        if !person.active {
            return Err(InviteError::Deactivated(person.name));
        }
        let code = new_code();
        let sql =
            "INSERT INTO invites (code, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        write_db!(self, pool => sqlx::query(sql)
            .bind(&code)
            .bind(person.id)
            .bind(ms(now))
            .bind(ms(now + valid_for))
            .execute(pool)
            .await?
            .rows_affected());
        Ok((code, person))
    }

    /// Binds a Telegram account to the roster entry with this normalised phone.
    pub async fn register_by_phone(
        &self,
        phone: &str,
        tg_user_id: i64,
        chat_id: i64,
        now: DateTime<Utc>,
    ) -> Result<RegisterOutcome, BindFailure> {
        let id_sql = "SELECT id FROM people WHERE phone = $1";
        let id: Option<(i64,)> = read_db!(self, pool => sqlx::query_as(id_sql).bind(phone).fetch_optional(pool).await.map_err(StorageError::from)?);
        let (person_id,) = id.ok_or(RegisterError::NotOnRoster)?;
        self.bind(person_id, tg_user_id, chat_id, now, None).await
    }

    /// Binds a Telegram account with a code from `zhucun invite`; a code works once.
    pub async fn register_by_invite(
        &self,
        code: &str,
        tg_user_id: i64,
        chat_id: i64,
        now: DateTime<Utc>,
    ) -> Result<RegisterOutcome, BindFailure> {
        let sql = "SELECT person_id, expires_at, used_at FROM invites WHERE code = $1";
        let invite: Option<(i64, i64, Option<i64>)> = read_db!(self, pool => sqlx::query_as(sql).bind(code).fetch_optional(pool).await.map_err(StorageError::from)?);
        let (person_id, expires_at, used_at) = invite.ok_or(RegisterError::InviteUnknown)?;
        if used_at.is_some() {
            return Err(RegisterError::InviteUsed.into());
        }
        if expires_at < ms(now) {
            return Err(RegisterError::InviteExpired.into());
        }
        self.bind(person_id, tg_user_id, chat_id, now, Some(code))
            .await
    }

    async fn bind(
        &self,
        person_id: i64,
        tg_user_id: i64,
        chat_id: i64,
        now: DateTime<Utc>,
        invite: Option<&str>,
    ) -> Result<RegisterOutcome, BindFailure> {
        let person_sql = format!("{PERSON_SELECT} WHERE p.id = $1");
        let owner_sql = "SELECT id FROM people WHERE tg_user_id = $1";
        in_tx!(self, tx, refuse RegisterError => {
            let row: PersonRow = sqlx::query_as(sqlx::AssertSqlSafe(person_sql.clone()))
                .bind(person_id)
                .fetch_one(&mut *tx)
                .await?;
            let person = Person::from(row);
            let owner: Option<(i64,)> = sqlx::query_as(owner_sql)
                .bind(tg_user_id)
                .fetch_optional(&mut *tx)
                .await?;
            if !person.active {
                Err(RegisterError::Deactivated.into())
            } else if person.tg_user_id == Some(tg_user_id) {
                Ok(RegisterOutcome::AlreadyRegistered(person))
            } else if person.tg_user_id.is_some() {
                Err(RegisterError::PersonTaken.into())
            } else if owner.is_some() {
                Err(RegisterError::AccountTaken.into())
            } else {
                let bound = sqlx::query(
                    "UPDATE people SET tg_user_id = $1, chat_id = $2, registered_at = $3,
                            unreachable = FALSE, updated_at = $3
                     WHERE id = $4 AND tg_user_id IS NULL",
                )
                .bind(tg_user_id)
                .bind(chat_id)
                .bind(ms(now))
                .bind(person_id)
                .execute(&mut *tx)
                .await?;
                if bound.rows_affected() != 1 {
                    Err(RegisterError::PersonTaken.into())
                } else {
                    let mut used = true;
                    if let Some(code) = invite {
                        let done = sqlx::query(
                            "UPDATE invites SET used_at = $1, used_by = $2
                             WHERE code = $3 AND used_at IS NULL",
                        )
                        .bind(ms(now))
                        .bind(tg_user_id)
                        .bind(code)
                        .execute(&mut *tx)
                        .await?;
                        used = done.rows_affected() == 1;
                    }
                    if used {
                        let row: PersonRow = sqlx::query_as(sqlx::AssertSqlSafe(person_sql))
                            .bind(person_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        Ok(RegisterOutcome::Registered(Person::from(row)))
                    } else {
                        // Another redemption of the same code won the race: undo ours.
                        Err(RegisterError::InviteUsed.into())
                    }
                }
            }
        })
    }
}

/// 20 characters from [A-Za-z0-9]: fits Telegram's deep-link parameter and cannot be guessed.
/// What a web link's secret is kept as.
fn web_link_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_code() -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// The roster import's statements, for the transactions that run it (an import, its
/// preview, an admin's confirmed upload).
pub(crate) trait RosterTx {
    async fn import_entries(&mut self, entries: &[RosterEntry], now: i64) -> Result<ImportSummary>;
}

crate::impl_for_connections! {
    impl RosterTx {
        async fn import_entries(&mut self, entries: &[RosterEntry], now: i64) -> Result<ImportSummary> {
            let people_sql = format!("{PERSON_SELECT} ORDER BY p.id");
            let mut summary = ImportSummary::default();
            let units: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, path FROM units").fetch_all(&mut *self).await?;
            let mut unit_ids: HashMap<String, i64> =
                units.into_iter().map(|(id, path)| (path, id)).collect();
            let existing: Vec<PersonRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(people_sql)).fetch_all(&mut *self).await?;
            let mut by_phone: HashMap<String, Person> = existing
                .into_iter()
                .map(|r| (r.phone.clone(), Person::from(r)))
                .collect();
            summary.active_before = by_phone.values().filter(|p| p.active).count();

            let extra: Vec<(i64, String)> = sqlx::query_as(
                "SELECT ru.person_id, u.path FROM reporter_units ru JOIN units u ON u.id = ru.unit_id
                 ORDER BY ru.person_id, u.path",
            )
            .fetch_all(&mut *self)
            .await?;
            let mut extra_of: HashMap<i64, Vec<String>> = HashMap::new();
            for (person, path) in extra {
                extra_of.entry(person).or_default().push(path);
            }

            for entry in entries {
                // A reporter's further units first, so that they exist below.
                let mut report_unit_ids = Vec::new();
                for path in &entry.report_units {
                    let mut parent: Option<i64> = None;
                    for prefix in path.prefixes() {
                        let p = prefix.to_string();
                        let id = match unit_ids.get(&p) {
                            Some(id) => *id,
                            None => {
                                let (id,): (i64,) = sqlx::query_as(
                                    "INSERT INTO units (parent_id, path, name, level)
                                     VALUES ($1, $2, $3, $4) RETURNING id",
                                )
                                .bind(parent)
                                .bind(&p)
                                .bind(prefix.name())
                                .bind(prefix.level().depth() as i64)
                                .fetch_one(&mut *self)
                                .await?;
                                summary.units_created += 1;
                                unit_ids.insert(p, id);
                                id
                            }
                        };
                        parent = Some(id);
                    }
                    report_unit_ids.extend(parent);
                }
                let mut report_paths: Vec<String> =
                    entry.report_units.iter().map(|u| u.to_string()).collect();
                report_paths.sort();
                let mut parent: Option<i64> = None;
                for prefix in entry.unit.prefixes() {
                    let path = prefix.to_string();
                    let id = match unit_ids.get(&path) {
                        Some(id) => *id,
                        None => {
                            let (id,): (i64,) = sqlx::query_as(
                                "INSERT INTO units (parent_id, path, name, level)
                                 VALUES ($1, $2, $3, $4) RETURNING id",
                            )
                            .bind(parent)
                            .bind(&path)
                            .bind(prefix.name())
                            .bind(prefix.level().depth() as i64)
                            .fetch_one(&mut *self)
                            .await?;
                            summary.units_created += 1;
                            unit_ids.insert(path, id);
                            id
                        }
                    };
                    parent = Some(id);
                }
                let unit_id = parent.unwrap_or_default();
                let mut topics = entry.topics.clone();
                topics.sort();
                topics.dedup();

                let person_id = match by_phone.remove(&entry.phone) {
                    None => {
                        let (id,): (i64,) = sqlx::query_as(
                            "INSERT INTO people (name, phone, unit_id, active, created_at, updated_at)
                             VALUES ($1, $2, $3, TRUE, $4, $4) RETURNING id",
                        )
                        .bind(&entry.name)
                        .bind(&entry.phone)
                        .bind(unit_id)
                        .bind(now)
                        .fetch_one(&mut *self)
                        .await?;
                        summary.added += 1;
                        summary.added_names.push(entry.name.clone());
                        id
                    }
                    Some(p) => {
                        let same = p.name == entry.name
                            && p.unit_id == unit_id
                            && p.roles == entry.roles
                            && p.topics == topics
                            && extra_of.get(&p.id).cloned().unwrap_or_default() == report_paths
                            && p.active;
                        if same {
                            summary.unchanged += 1;
                            continue;
                        }
                        sqlx::query(
                            "UPDATE people SET name = $1, unit_id = $2, active = TRUE, deactivated_at = NULL,
                             updated_at = $3 WHERE id = $4",
                        )
                        .bind(&entry.name)
                        .bind(unit_id)
                        .bind(now)
                        .bind(p.id)
                        .execute(&mut *self)
                        .await?;
                        sqlx::query("DELETE FROM person_roles WHERE person_id = $1")
                            .bind(p.id)
                            .execute(&mut *self)
                            .await?;
                        sqlx::query("DELETE FROM tutor_topics WHERE person_id = $1")
                            .bind(p.id)
                            .execute(&mut *self)
                            .await?;
                        sqlx::query("DELETE FROM reporter_units WHERE person_id = $1")
                            .bind(p.id)
                            .execute(&mut *self)
                            .await?;
                        summary.updated += 1;
                        summary.updated_names.push(entry.name.clone());
                        p.id
                    }
                };
                for role in entry.roles.iter() {
                    sqlx::query("INSERT INTO person_roles (person_id, role) VALUES ($1, $2)")
                        .bind(person_id)
                        .bind(role.as_str())
                        .execute(&mut *self)
                        .await?;
                }
                for unit in &report_unit_ids {
                    sqlx::query(
                        "INSERT INTO reporter_units (person_id, unit_id) VALUES ($1, $2)
                         ON CONFLICT (person_id, unit_id) DO NOTHING",
                    )
                    .bind(person_id)
                    .bind(unit)
                    .execute(&mut *self)
                    .await?;
                }
                for topic in &topics {
                    sqlx::query("INSERT INTO tutor_topics (person_id, topic) VALUES ($1, $2)")
                        .bind(person_id)
                        .bind(topic)
                        .execute(&mut *self)
                        .await?;
                }
            }

            // Whoever is left was not in the file: deactivate, never delete.
            let mut missing: Vec<Person> = by_phone.into_values().filter(|p| p.active).collect();
            missing.sort_by_key(|p| p.id);
            for p in missing {
                sqlx::query(
                    "UPDATE people SET active = FALSE, deactivated_at = $1, updated_at = $1 WHERE id = $2",
                )
                    .bind(now)
                    .bind(p.id)
                    .execute(&mut *self)
                    .await?;
                summary.deactivated.push(p.name);
            }
            Ok(summary)
        }
    }
}

impl Store {
    /// Makes a one-time web link's secret for `person_id`, valid until `expires`; only its
    /// SHA-256 ([`web_link_hash`]) is kept.
    pub async fn create_web_link(
        &self,
        person_id: i64,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<String> {
        let secret = format!("{}{}", new_code(), new_code());
        let token_hash = web_link_hash(&secret);
        in_tx!(self, tx => {
            // Old links go: a used or expired one is worth nothing.
            sqlx::query("DELETE FROM web_links WHERE expires_at < $1")
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO web_links (token_hash, person_id, expires_at) VALUES ($1, $2, $3)")
                .bind(&token_hash)
                .bind(person_id)
                .bind(ms(expires))
                .execute(&mut *tx)
                .await?;
            Ok(secret)
        })
    }

    /// Uses a web link: the Telegram user id of its active person, once, before it expires.
    pub async fn use_web_link(&self, secret: &str, now: DateTime<Utc>) -> Result<Option<i64>> {
        let token_hash = web_link_hash(secret);
        let sql = "UPDATE web_links SET used_at = $1
                   WHERE token_hash = $2 AND used_at IS NULL AND expires_at >= $1
                   RETURNING person_id";
        let person: Option<(i64,)> = write_db!(self, pool => sqlx::query_as(sql)
            .bind(ms(now)).bind(&token_hash).fetch_optional(pool).await?);
        let Some((id,)) = person else {
            return Ok(None);
        };
        Ok(self
            .person(id)
            .await?
            .filter(|p| p.active)
            .and_then(|p| p.tg_user_id))
    }
}
