//! Work updates (驻村动态): a reporter's brief for one of his units, stored with its local
//! date so that weeks count in local time; the weekly duty; the feed; the bulletin post.

use crate::outbox::OutboxTx;
use crate::{Failure, Result, Store, in_tx, ms, read_db};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::notify::Notification;
use domain::updates::{UpdateRefusal, duty_met, iso_week, may_post};

pub type UpdateFailure = Failure<UpdateRefusal>;

/// A unit that owes a weekly update (it has at least one active reporter) and how it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitWeek {
    pub unit_id: i64,
    /// Full path, '/'-separated as in the roster.
    pub unit_path: String,
    pub updates: u32,
    pub met: bool,
}

/// A unit a reporter reports for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReporterUnit {
    pub unit_id: i64,
    pub path: String,
    pub name: String,
}

/// A photo of an update, kept by its Telegram file id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UpdatePhoto {
    pub file_id: String,
    pub file_unique_id: String,
}

/// One message's worth of a work update (an album arrives as several).
#[derive(Debug, Clone)]
pub struct NewUpdate<'a> {
    pub person_id: i64,
    pub unit_id: i64,
    /// The local date (configured zone) of `at`.
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
    pub text: Option<&'a str>,
    pub photos: &'a [UpdatePhoto],
    pub media_group_id: Option<&'a str>,
    pub chat_id: i64,
    pub message_id: i64,
    /// The Telegram update, claimed in the same transaction when not claimed before.
    pub update_id: Option<i64>,
    /// The bulletin channel to post to, if configured, and when (an album waits for its
    /// parts).
    pub bulletin: Option<(i64, DateTime<Utc>)>,
}

/// What recording an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateRecorded {
    /// A new update; `week_updates` counts the unit's updates of its ISO week, this one
    /// included.
    New {
        id: i64,
        unit_name: String,
        week_updates: u32,
    },
    /// A further part of an album already recorded.
    AlbumPart { id: i64 },
    /// This Telegram update was processed before.
    Duplicate,
}

/// A line of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub id: i64,
    pub unit_name: String,
    pub unit_path: String,
    pub day: NaiveDate,
    pub text: Option<String>,
    pub photos: u32,
}

/// An update as the bulletin post shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePost {
    pub id: i64,
    pub unit_name: String,
    pub unit_path: String,
    pub author: String,
    pub day: NaiveDate,
    pub text: Option<String>,
    pub photos: Vec<UpdatePhoto>,
}

/// The units each active reporter reports for: his roster unit and any extra ones.
const REPORTER_UNITS: &str = "SELECT p.id AS person_id, p.unit_id FROM people p
      JOIN person_roles r ON r.person_id = p.id AND r.role = 'reporter'
      WHERE p.active
    UNION
    SELECT p.id, ru.unit_id FROM reporter_units ru
      JOIN people p ON p.id = ru.person_id AND p.active
      JOIN person_roles r ON r.person_id = p.id AND r.role = 'reporter'";

pub(crate) fn bulletin_key(update_id: i64) -> String {
    format!("bulletin:{update_id}")
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

impl Store {
    /// Units owing an update, with their number of updates in the ISO week starting on
    /// `monday` (local dates).
    pub async fn weekly_duty(&self, monday: NaiveDate) -> Result<Vec<UnitWeek>> {
        let (monday, sunday) = iso_week(monday);
        let sql = format!(
            "SELECT u.id, u.path,
                (SELECT COUNT(*) FROM work_updates w
                 WHERE w.unit_id = u.id AND w.day >= $1 AND w.day <= $2) AS n
             FROM units u WHERE u.id IN (SELECT unit_id FROM ({REPORTER_UNITS}) ru)"
        );
        let rows: Vec<(i64, String, i64)> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(monday).bind(sunday).fetch_all(pool).await?);
        let mut weeks: Vec<UnitWeek> = rows
            .into_iter()
            .map(|(unit_id, unit_path, n)| {
                let updates = u32::try_from(n).unwrap_or(u32::MAX);
                UnitWeek {
                    unit_id,
                    unit_path,
                    updates,
                    met: duty_met(updates),
                }
            })
            .collect();
        // Sorted here, not in SQL: the engines' collations order paths differently.
        weeks.sort_by(|a, b| a.unit_path.cmp(&b.unit_path));
        Ok(weeks)
    }

    /// The units `person_id` reports for (none if he is not an active reporter), by path.
    pub async fn reporter_units(&self, person_id: i64) -> Result<Vec<ReporterUnit>> {
        let sql = format!(
            "SELECT u.id, u.path, u.name FROM units u
             WHERE u.id IN (SELECT unit_id FROM ({REPORTER_UNITS}) ru WHERE ru.person_id = $1)"
        );
        let rows: Vec<(i64, String, String)> = read_db!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(person_id).fetch_all(pool).await?);
        let mut units: Vec<ReporterUnit> = rows
            .into_iter()
            .map(|(unit_id, path, name)| ReporterUnit {
                unit_id,
                path,
                name,
            })
            .collect();
        units.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(units)
    }

    /// Records a work update (or a further part of an album) for `unit_id`, after checking
    /// that the person reports for it, and queues its bulletin post, in one transaction.
    pub async fn record_update(
        &self,
        u: NewUpdate<'_>,
    ) -> std::result::Result<UpdateRecorded, UpdateFailure> {
        let units_sql =
            format!("SELECT unit_id FROM ({REPORTER_UNITS}) ru WHERE ru.person_id = $1");
        let (monday, sunday) = iso_week(u.day);
        in_tx!(self, tx, refuse UpdateRefusal => {
            if let Some(update_id) = u.update_id {
                let claimed = sqlx::query(crate::updates::CLAIM_ONE_SQL)
                    .bind(update_id)
                    .bind(ms(u.at))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if claimed == 0 {
                    return Ok(UpdateRecorded::Duplicate);
                }
            }
            let person: Option<(bool, bool)> = sqlx::query_as(
                "SELECT p.active, EXISTS (SELECT 1 FROM person_roles r
                     WHERE r.person_id = p.id AND r.role = 'reporter')
                 FROM people p WHERE p.id = $1",
            )
            .bind(u.person_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (active, reporter) = person.unwrap_or((false, false));
            let units: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(units_sql))
                .bind(u.person_id)
                .fetch_all(&mut *tx)
                .await?;
            let units: Vec<i64> = units.into_iter().map(|r| r.0).collect();
            may_post(reporter, active, &units, u.unit_id)?;

            if let Some(group) = u.media_group_id {
                let existing: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM work_updates WHERE person_id = $1 AND media_group_id = $2",
                )
                .bind(u.person_id)
                .bind(group)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id,)) = existing {
                    add_parts(&mut *tx, id, &u).await?;
                    if let Some(text) = u.text {
                        sqlx::query(
                            "UPDATE work_updates SET text = $1, updated_at = $2
                             WHERE id = $3 AND text IS NULL",
                        )
                        .bind(text)
                        .bind(ms(u.at))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if let Some((_, not_before)) = u.bulletin {
                        // The post waits for the album's last part, unless it went already.
                        sqlx::query(
                            "UPDATE outbox SET not_before = $1
                             WHERE dedup_key = $2 AND status = 'pending' AND not_before < $1",
                        )
                        .bind(ms(not_before))
                        .bind(bulletin_key(id))
                        .execute(&mut *tx)
                        .await?;
                    }
                    return Ok(UpdateRecorded::AlbumPart { id });
                }
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO work_updates (unit_id, person_id, day, text, media_group_id, chat_id,
                     message_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(u.unit_id)
            .bind(u.person_id)
            .bind(u.day)
            .bind(u.text)
            .bind(u.media_group_id)
            .bind(u.chat_id)
            .bind(u.message_id)
            .bind(ms(u.at))
            .fetch_one(&mut *tx)
            .await?;
            add_parts(&mut *tx, id, &u).await?;
            if let Some((chat, not_before)) = u.bulletin {
                let key = bulletin_key(id);
                tx.enqueue(chat, None, &Notification::BulletinPost { update_id: id }, Some(&key), not_before, u.at)
                    .await?;
            }
            let (name, n): (String, i64) = sqlx::query_as(
                "SELECT u.name, (SELECT COUNT(*) FROM work_updates w
                     WHERE w.unit_id = u.id AND w.day >= $2 AND w.day <= $3)
                 FROM units u WHERE u.id = $1",
            )
            .bind(u.unit_id)
            .bind(monday)
            .bind(sunday)
            .fetch_one(&mut *tx)
            .await?;
            Ok(UpdateRecorded::New {
                id,
                unit_name: name,
                week_updates: u32::try_from(n).unwrap_or(u32::MAX),
            })
        })
    }

    /// The edit of a message that is part of one of the person's updates: its text follows.
    /// `None` if the message is no update of his.
    pub async fn edit_update(
        &self,
        person_id: i64,
        chat_id: i64,
        message_id: i64,
        text: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        in_tx!(self, tx => {
            let found: Option<(i64,)> = sqlx::query_as(
                "SELECT w.id FROM work_update_messages m JOIN work_updates w ON w.id = m.update_id
                 WHERE m.chat_id = $1 AND m.message_id = $2 AND w.person_id = $3",
            )
            .bind(chat_id)
            .bind(message_id)
            .bind(person_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id,)) = found else { return Ok(None) };
            sqlx::query("UPDATE work_updates SET text = $1, updated_at = $2 WHERE id = $3")
                .bind(text)
                .bind(ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Ok(Some(id))
        })
    }

    /// The person's update that message `message_id` of `chat_id` belongs to.
    pub async fn update_of_message(
        &self,
        person_id: i64,
        chat_id: i64,
        message_id: i64,
    ) -> Result<Option<i64>> {
        let sql =
            "SELECT w.id FROM work_update_messages m JOIN work_updates w ON w.id = m.update_id
                   WHERE m.chat_id = $1 AND m.message_id = $2 AND w.person_id = $3";
        let row: Option<(i64,)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(chat_id).bind(message_id).bind(person_id).fetch_optional(pool).await?);
        Ok(row.map(|r| r.0))
    }

    /// Whether the person has an update made of the album `media_group_id` (so a further
    /// part without the `/update` caption joins it).
    pub async fn update_album(
        &self,
        person_id: i64,
        media_group_id: &str,
    ) -> Result<Option<(i64, i64)>> {
        let sql =
            "SELECT id, unit_id FROM work_updates WHERE person_id = $1 AND media_group_id = $2";
        let row: Option<(i64, i64)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(person_id).bind(media_group_id).fetch_optional(pool).await?);
        Ok(row)
    }

    /// A unit's name.
    pub async fn unit_name(&self, unit_id: i64) -> Result<Option<String>> {
        let sql = "SELECT name FROM units WHERE id = $1";
        let row: Option<(String,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(unit_id).fetch_optional(pool).await?);
        Ok(row.map(|r| r.0))
    }

    /// The unit of an update and its number of updates in the update's ISO week.
    pub async fn update_week_count(&self, update_id: i64) -> Result<Option<(String, u32)>> {
        let sql = "SELECT u.name, w.day FROM work_updates w JOIN units u ON u.id = w.unit_id
                   WHERE w.id = $1";
        let row: Option<(String, NaiveDate)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(update_id).fetch_optional(pool).await?);
        let Some((name, day)) = row else {
            return Ok(None);
        };
        let (monday, sunday) = iso_week(day);
        let sql =
            "SELECT COUNT(*) FROM work_updates w JOIN work_updates me ON me.unit_id = w.unit_id
                   WHERE me.id = $1 AND w.day >= $2 AND w.day <= $3";
        let (n,): (i64,) = read_db!(self, pool =>
            sqlx::query_as(sql).bind(update_id).bind(monday).bind(sunday).fetch_one(pool).await?);
        Ok(Some((name, u32::try_from(n).unwrap_or(u32::MAX))))
    }

    /// The latest updates, newest first, `limit` from `offset`; with `unit_id`, those of
    /// that unit and the units below it.
    pub async fn feed(
        &self,
        unit_id: Option<i64>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<FeedEntry>> {
        let filter = match unit_id {
            Some(_) => {
                "AND (u.id = $3 OR u.path LIKE (SELECT top.path FROM units top WHERE top.id = $3) || '/%')"
            }
            None => "AND $3 = $3",
        };
        let sql = format!(
            "SELECT w.id, u.name, u.path, w.day, w.text,
                (SELECT COUNT(*) FROM work_update_photos ph WHERE ph.update_id = w.id)
             FROM work_updates w JOIN units u ON u.id = w.unit_id
             WHERE 1 = 1 {filter}
             ORDER BY w.day DESC, w.id DESC LIMIT $1 OFFSET $2"
        );
        type Row = (i64, String, String, NaiveDate, Option<String>, i64);
        let rows: Vec<Row> = read_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .bind(unit_id.unwrap_or(0))
            .fetch_all(pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(|(id, unit_name, unit_path, day, text, photos)| FeedEntry {
                id,
                unit_name,
                unit_path,
                day,
                text,
                photos: u32::try_from(photos).unwrap_or(0),
            })
            .collect())
    }

    /// The unit with this full path, else the one with this name nearest the root (the
    /// first by path among equals): `(id, name)`.
    pub async fn find_unit(&self, name_or_path: &str) -> Result<Option<(i64, String)>> {
        let sql = "SELECT id, name, path, level FROM units WHERE name = $1 OR path = $1";
        let rows: Vec<(i64, String, String, i64)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(name_or_path).fetch_all(pool).await?);
        let best = rows
            .iter()
            .find(|r| r.2 == name_or_path)
            .or_else(|| rows.iter().min_by(|a, b| (a.3, &a.2).cmp(&(b.3, &b.2))));
        Ok(best.map(|r| (r.0, r.1.clone())))
    }

    /// An update as its bulletin post shows it.
    pub async fn update_post(&self, update_id: i64) -> Result<Option<UpdatePost>> {
        let sql = "SELECT w.id, u.name, u.path, p.name, w.day, w.text, w.created_at
                   FROM work_updates w JOIN units u ON u.id = w.unit_id
                   JOIN people p ON p.id = w.person_id WHERE w.id = $1";
        type Row = (i64, String, String, String, NaiveDate, Option<String>, i64);
        let row: Option<Row> =
            read_db!(self, pool => sqlx::query_as(sql).bind(update_id).fetch_optional(pool).await?);
        let Some((id, unit_name, unit_path, author, day, text, _created)) = row else {
            return Ok(None);
        };
        let sql = "SELECT file_id, file_unique_id FROM work_update_photos
                   WHERE update_id = $1 ORDER BY message_id, id";
        let photos: Vec<(String, String)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(update_id).fetch_all(pool).await?);
        Ok(Some(UpdatePost {
            id,
            unit_name,
            unit_path,
            author,
            day,
            text,
            photos: photos
                .into_iter()
                .map(|(file_id, file_unique_id)| UpdatePhoto {
                    file_id,
                    file_unique_id,
                })
                .collect(),
        }))
    }

    /// Active reporters of the units that owe the week of `monday` and have no update in
    /// it (the `update-nudge` job), with the unit: (person, unit id, unit name).
    pub async fn reporters_owing(&self, monday: NaiveDate) -> Result<Vec<(i64, i64, String)>> {
        let owing: Vec<UnitWeek> = self
            .weekly_duty(monday)
            .await?
            .into_iter()
            .filter(|w| !w.met)
            .collect();
        if owing.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT ru.person_id, u.id, u.name FROM ({REPORTER_UNITS}) ru
             JOIN units u ON u.id = ru.unit_id
             JOIN people p ON p.id = ru.person_id AND p.chat_id IS NOT NULL"
        );
        let rows: Vec<(i64, i64, String)> =
            read_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?);
        let owing: std::collections::HashSet<i64> = owing.iter().map(|w| w.unit_id).collect();
        let mut out: Vec<(i64, i64, String)> = rows
            .into_iter()
            .filter(|(_, unit, _)| owing.contains(unit))
            .collect();
        out.sort();
        Ok(out)
    }

    /// The `update-nudge` job: each active reporter of a unit owing the week of `monday`
    /// with no update in it is nudged once per unit; `run` names the run in the dedup
    /// keys. Returns how many nudges were queued.
    pub async fn queue_update_nudges(
        &self,
        monday: NaiveDate,
        run: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let owing = self.reporters_owing(monday).await?;
        in_tx!(self, tx => {
            for (person, unit_id, _) in &owing {
                let n = Notification::UpdateNudge { unit_id: *unit_id, monday };
                let key = format!("update-nudge:{run}:{person}:{unit_id}");
                tx.notify_person(*person, &n, Some(&key), now).await?;
            }
            Ok(owing.len())
        })
    }

    /// A unit's name and its number of updates in the week of `monday`.
    pub async fn unit_week(
        &self,
        unit_id: i64,
        monday: NaiveDate,
    ) -> Result<Option<(String, u32)>> {
        let (monday, sunday) = iso_week(monday);
        let sql = "SELECT u.name, (SELECT COUNT(*) FROM work_updates w
                       WHERE w.unit_id = u.id AND w.day >= $2 AND w.day <= $3)
                   FROM units u WHERE u.id = $1";
        let row: Option<(String, i64)> = read_db!(self, pool =>
            sqlx::query_as(sql).bind(unit_id).bind(monday).bind(sunday).fetch_optional(pool).await?);
        Ok(row.map(|(name, n)| (name, u32::try_from(n).unwrap_or(u32::MAX))))
    }

    /// When the update was recorded (tests, feed paging).
    pub async fn update_created_at(&self, update_id: i64) -> Result<Option<DateTime<Utc>>> {
        let sql = "SELECT created_at FROM work_updates WHERE id = $1";
        let row: Option<(i64,)> =
            read_db!(self, pool => sqlx::query_as(sql).bind(update_id).fetch_optional(pool).await?);
        Ok(row.map(|r| from_ms(r.0)))
    }
}

/// Records the message and photos of one part of an update.
async fn add_parts<C>(tx: &mut C, id: i64, u: &NewUpdate<'_>) -> Result<(), sqlx::Error>
where
    C: UpdateTx,
{
    tx.add_parts(id, u).await
}

pub(crate) trait UpdateTx {
    async fn add_parts(&mut self, id: i64, u: &NewUpdate<'_>) -> Result<(), sqlx::Error>;
}

crate::impl_for_connections! {
    impl UpdateTx {
        async fn add_parts(&mut self, id: i64, u: &NewUpdate<'_>) -> Result<(), sqlx::Error> {
            sqlx::query(
                "INSERT INTO work_update_messages (chat_id, message_id, update_id) VALUES ($1, $2, $3)
                 ON CONFLICT (chat_id, message_id) DO NOTHING",
            )
            .bind(u.chat_id)
            .bind(u.message_id)
            .bind(id)
            .execute(&mut *self)
            .await?;
            for p in u.photos {
                sqlx::query(
                    "INSERT INTO work_update_photos (update_id, file_id, file_unique_id, message_id)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (update_id, file_unique_id) DO NOTHING",
                )
                .bind(id)
                .bind(&p.file_id)
                .bind(&p.file_unique_id)
                .bind(u.message_id)
                .execute(&mut *self)
                .await?;
            }
            Ok(())
        }
    }
}
