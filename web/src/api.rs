//! The JSON API of the web view. Each handler: who calls (initData, then the roster), what
//! he may see (`Scope`), one read, a plain JSON answer. Errors are `{"error": "..."}` with
//! 401 (no valid initData: no data at all), 403 (not on the roster, deactivated, or outside
//! his authority), 400 (a bad parameter), 404, or 503 (the database is away).

use crate::Web;
use crate::auth::{self, AuthError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use domain::attendance::{DayStatus, Month, local_date};
use domain::supervision::{Scope, check_month, day_start, district_stats, is_within, short_name};
use serde::Deserialize;
use serde_json::{Value, json};
use storage::{Person, StorageError};

pub(crate) fn routes() -> Router<Web> {
    Router::new()
        .route("/app/api/me", get(me))
        .route("/app/api/units", get(units))
        .route("/app/api/cadres", get(cadres))
        .route("/app/api/cadres/{id}/month", get(cadre_month))
        .route("/app/api/missing", get(missing))
        .route("/app/api/login", axum::routing::post(login))
        .route("/app/api/reports/subsidy.xlsx", get(subsidy_xlsx))
        .route(
            "/app/api/reports/subsidy/send",
            axum::routing::post(send_subsidy),
        )
        .route("/app/api/cadres/{id}/days/{date}", get(day))
        .route("/app/api/files/{id}", get(file))
        .route("/app/api/cadres/{id}/remind", axum::routing::post(remind))
}

pub(crate) enum ApiError {
    Unauthorized(AuthError),
    Forbidden(&'static str),
    Conflict(&'static str),
    BadRequest(String),
    NotFound,
    Unavailable(StorageError),
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::Unavailable(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized(e) => (StatusCode::UNAUTHORIZED, e.to_string()),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, why.to_string()),
            ApiError::Conflict(why) => (StatusCode::CONFLICT, why.to_string()),
            ApiError::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".into()),
            ApiError::Unavailable(e) => {
                tracing::warn!(error = %e, "web: database error");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable".into(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// The caller: valid initData of this bot, an active person on the roster.
async fn caller(web: &Web, headers: &HeaderMap) -> Result<Person, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let init_data = auth::from_header(value).map_err(ApiError::Unauthorized)?;
    let max_age = chrono::Duration::seconds(web.config.web.max_age_secs as i64);
    let user = auth::verify(init_data, &web.token, web.clock.now(), max_age)
        .map_err(ApiError::Unauthorized)?;
    match web.store.person_by_tg(user.id).await? {
        Some(p) if p.active => Ok(p),
        Some(_) => Err(ApiError::Forbidden("deactivated")),
        None => Err(ApiError::Forbidden("not on the roster")),
    }
}

fn scope_of(p: &Person) -> Result<Scope, ApiError> {
    Scope::of(p.roles, &p.unit.to_string())
        .ok_or(ApiError::Forbidden("only admins and approvers see units"))
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
    unit: Option<String>,
}

/// The month asked for (this month by default), refused if it has not begun; and today.
fn month_of(web: &Web, q: &MonthQuery) -> Result<(Month, NaiveDate), ApiError> {
    let today = local_date(web.clock.now(), web.config.tz());
    let month = match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => Month::of(today),
        Some(m) => Month::parse(m)
            .map_err(|_| ApiError::BadRequest(format!("`{m}` is not a month (YYYY-MM)")))?,
    };
    check_month(month, today)
        .map_err(|_| ApiError::BadRequest(format!("{month} has not begun")))?;
    Ok((month, today))
}

fn figures(s: domain::attendance::MonthSummary) -> Value {
    json!({ "log_days": s.log_days, "leave_days": s.leave_days, "subsidy_days": s.eligible_days })
}

/// Days with a log over the days one was due (`MonthRecord::coverage`), to three places
/// (`null`: none due yet).
fn log_rate(logged: u32, due: u32) -> Value {
    if due == 0 {
        Value::Null
    } else {
        json!((f64::from(logged) / f64::from(due) * 1000.0).round() / 1000.0)
    }
}

/// The month with its three figures beside it (`/app/api/me`'s `month`).
fn month_figures(month: Month, s: domain::attendance::MonthSummary) -> Value {
    let mut v = figures(s);
    v["month"] = json!(month.to_string());
    v
}

fn roles(p: &Person) -> Vec<&'static str> {
    p.roles.iter().map(|r| r.as_str()).collect()
}

/// `GET /app/api/me`: his month's three figures, his leave and his questions.
async fn me(State(web): State<Web>, headers: HeaderMap, Query(q): Query<MonthQuery>) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let (month, today) = month_of(&web, &q)?;
    let record = web
        .store
        .person_month(p.id, month, &web.config.calendar())
        .await?;
    let leave: Vec<Value> = web
        .store
        .person_leaves(p.id, 20)
        .await?
        .into_iter()
        .map(|l| json!({"id": l.id, "start": l.start, "end": l.end, "days": l.days, "reason": l.reason, "status": l.status.as_str()}))
        .collect();
    let questions: Vec<Value> = web
        .store
        .questions_of(p.id, 20)
        .await?
        .into_iter()
        .map(|q| json!({"id": q.id, "topic": q.topic, "text": q.text, "status": q.status.as_str()}))
        .collect();
    Ok(Json(json!({
        "id": p.id,
        "name": p.name,
        "roles": roles(&p),
        "unit": p.unit.to_string(),
        "today": today,
        "month": month_figures(month, record.summary()),
        "sees_units": Scope::of(p.roles, &p.unit.to_string()).is_some(),
        "leave": leave,
        "questions": questions,
    })))
}

/// `GET /app/api/units`: a line per county or district in his scope, as `/stats`.
async fn units(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<MonthQuery>,
) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let scope = scope_of(&p)?;
    let (month, today) = month_of(&web, &q)?;
    let current = month == Month::of(today);
    let since = day_start(month.first_day(), web.config.tz());
    let facts: Vec<_> = web
        .store
        .stats_facts(
            month,
            since,
            web.config.tutoring.overdue_at(web.clock.now()),
            &web.config.calendar(),
        )
        .await?
        .into_iter()
        .filter(|f| scope.covers(&f.month.cadre.unit_path))
        .collect();
    let until = if current { today } else { month.last_day() };
    let duty = if current {
        let monday = domain::supervision::IsoWeek::of(today).monday();
        web.store
            .weekly_duty(monday)
            .await?
            .into_iter()
            .filter(|w| scope.covers(&w.unit_path))
            .collect()
    } else {
        Vec::new()
    };
    let lines: Vec<Value> = district_stats(&facts, current.then_some(today))
        .into_iter()
        .map(|line| {
            let (logged, due) = facts
                .iter()
                .filter(|f| f.month.cadre.active && f.month.district() == line.district)
                .map(|f| f.month.record.coverage(until))
                .fold((0, 0), |(a, b), (l, d)| (a + l, b + d));
            let owing: Vec<_> = duty.iter().filter(|w| is_within(&w.unit_path, &line.district)).collect();
            json!({
                "unit": line.district,
                "name": short_name(&line.district),
                "cadres": line.active_cadres,
                "logged_today": line.logged_today,
                "missing_today": line.missing_today,
                "log_rate": log_rate(logged, due),
                "figures": { "log_days": line.log_days, "leave_days": line.leave_days, "subsidy_days": line.subsidy_days },
                "pending_leave": line.pending_leave,
                "open_questions": line.open_questions,
                "overdue_questions": line.overdue_questions,
                "update_duty": { "units": owing.len(), "met": owing.iter().filter(|w| w.met).count() },
            })
        })
        .collect();
    Ok(Json(json!({
        "scope": match &scope { Scope::All => Value::Null, Scope::Under(root) => json!(root) },
        "month": month.to_string(),
        "today": today,
        "units": lines,
    })))
}

/// `GET /app/api/cadres?unit=PATH`: the cadres of a unit in his scope.
async fn cadres(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<MonthQuery>,
) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let scope = scope_of(&p)?;
    let unit = q.unit.clone().unwrap_or_default();
    if unit.is_empty() {
        return Err(ApiError::BadRequest("unit is missing".into()));
    }
    if !scope.covers(&unit) {
        return Err(ApiError::Forbidden("that unit is outside your authority"));
    }
    let (month, today) = month_of(&web, &q)?;
    let current = month == Month::of(today);
    let until = if current { today } else { month.last_day() };
    let since = day_start(month.first_day(), web.config.tz());
    let list: Vec<Value> = web
        .store
        .stats_facts(
            month,
            since,
            web.config.tutoring.overdue_at(web.clock.now()),
            &web.config.calendar(),
        )
        .await?
        .into_iter()
        .filter(|f| is_within(&f.month.cadre.unit_path, &unit))
        .map(|f| {
            let c = &f.month.cadre;
            let (logged, due) = f.month.record.coverage(until);
            json!({
                "id": c.id,
                "name": c.name,
                "unit": c.unit_path,
                "active": c.active,
                "today": current.then(|| mark(f.month.record.status(today))),
                "log_rate": log_rate(logged, due),
                "figures": figures(f.month.summary()),
                "pending_leave": f.pending_leave,
                "open_questions": f.open_questions,
                "overdue_questions": f.overdue_questions,
            })
        })
        .collect();
    Ok(Json(
        json!({ "unit": unit, "month": month.to_string(), "cadres": list }),
    ))
}

/// A day as the calendar shows it: 记 (a log that counts), 假 (approved leave), 休 (a rest
/// day), blank (a workday without a log).
fn mark(status: Option<DayStatus>) -> &'static str {
    match status {
        Some(DayStatus::Logged) => "记",
        Some(DayStatus::Leave) => "假",
        Some(DayStatus::Rest) => "休",
        Some(DayStatus::Nothing) | None => "",
    }
}

/// `GET /app/api/cadres/{id}/month`: a cadre's month, day by day (his own, or one in the
/// caller's scope).
async fn cadre_month(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let cadre = visible_person(&web, &p, id).await?;
    let (month, today) = month_of(&web, &q)?;
    let record = web
        .store
        .person_month(cadre.id, month, &web.config.calendar())
        .await?;
    let days: Vec<Value> = month
        .days()
        // Days to come show their rest days and approved leave too (no log can be there).
        .map(|d| json!({ "date": d, "mark": mark(record.status(d)), "future": d > today }))
        .collect();
    Ok(Json(json!({
        "id": cadre.id,
        "name": cadre.name,
        "unit": cadre.unit.to_string(),
        "month": month.to_string(),
        "figures": figures(record.summary()),
        "days": days,
    })))
}

/// `GET /app/api/missing`: the active cadres in his scope whose today is a workday with
/// neither a log nor approved leave.
async fn missing(State(web): State<Web>, headers: HeaderMap) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let scope = scope_of(&p)?;
    let today = local_date(web.clock.now(), web.config.tz());
    let month = Month::of(today);
    let since = day_start(month.first_day(), web.config.tz());
    let list: Vec<Value> = web
        .store
        .stats_facts(month, since, web.config.tutoring.overdue_at(web.clock.now()), &web.config.calendar())
        .await?
        .into_iter()
        .filter(|f| {
            f.month.cadre.active
                && scope.covers(&f.month.cadre.unit_path)
                && f.month.record.status(today) == Some(DayStatus::Nothing)
        })
        .map(|f| json!({ "id": f.month.cadre.id, "name": f.month.cadre.name, "unit": f.month.cadre.unit_path }))
        .collect();
    Ok(Json(json!({ "today": today, "cadres": list })))
}

/// `POST /app/api/cadres/{id}/remind`: 提醒 a cadre in his scope who has not logged today,
/// through the outbox; one a day per cadre, whoever presses.
async fn remind(State(web): State<Web>, headers: HeaderMap, Path(id): Path<i64>) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let scope = scope_of(&p)?;
    let now = web.clock.now();
    let today = local_date(now, web.config.tz());
    match web.store.remind_cadre(&scope, id, today, now).await? {
        storage::Reminded::Queued => {
            if let Some(wake) = &web.on_queued {
                wake();
            }
            tracing::info!(by = p.id, cadre = id, "web: cadre reminded");
            Ok(Json(json!({ "reminded": true })))
        }
        storage::Reminded::AlreadyToday => Err(ApiError::Conflict("already reminded today")),
        storage::Reminded::NotDue => Err(ApiError::Conflict(
            "nothing to remind: logged, on leave or unreachable",
        )),
        storage::Reminded::OutOfScope => {
            Err(ApiError::Forbidden("that cadre is outside your authority"))
        }
    }
}

/// A person the caller may look at: himself, or one in his scope.
async fn visible_person(web: &Web, caller: &Person, id: i64) -> Result<Person, ApiError> {
    let Some(person) = web.store.person(id).await? else {
        return Err(ApiError::NotFound);
    };
    let allowed = person.id == caller.id
        || Scope::of(caller.roles, &caller.unit.to_string())
            .is_some_and(|s| s.covers(&person.unit.to_string()));
    if !allowed {
        return Err(ApiError::Forbidden("that cadre is outside your authority"));
    }
    Ok(person)
}

/// `GET /app/api/cadres/{id}/days/{YYYY-MM-DD}`: his logs of that day, text and files.
async fn day(
    State(web): State<Web>,
    headers: HeaderMap,
    Path((id, date)): Path<(i64, String)>,
) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let cadre = visible_person(&web, &p, id).await?;
    let day = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("`{date}` is not a date (YYYY-MM-DD)")))?;
    let tz = web.config.tz();
    let logs: Vec<Value> = web
        .store
        .day_logs(cadre.id, day)
        .await?
        .into_iter()
        .map(|l| {
            let files: Vec<Value> = l
                .files
                .iter()
                .map(|f| json!({ "id": f.id, "kind": f.kind, "name": f.file_name, "url": format!("/app/api/files/{}", f.id) }))
                .collect();
            json!({
                "seq": l.seq,
                "kind": l.kind,
                "text": l.text,
                "time": l.at.with_timezone(&tz).format("%H:%M").to_string(),
                "location": l.location.map(|(lat, lon)| json!({ "lat": lat, "lon": lon })),
                "files": files,
            })
        })
        .collect();
    Ok(Json(
        json!({ "id": cadre.id, "name": cadre.name, "date": day, "logs": logs }),
    ))
}

/// The most a file served through the web view may be (the Bot API's download limit).
const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

/// `GET /app/api/files/{id}`: a log's attachment, from the archive if it is there, else
/// through the Bot API's getFile by the server.
async fn file(
    State(web): State<Web>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let p = caller(&web, &headers).await?;
    let Some(a) = web.store.attachment(id).await? else {
        return Err(ApiError::NotFound);
    };
    visible_person(&web, &p, a.person_id).await?;
    let archived = match &a.archived_path {
        Some(path) => tokio::fs::read(path).await.ok(),
        None => None,
    };
    let bytes = match archived {
        Some(b) => b,
        None => fetch(&web, &a.file_id).await.map_err(|e| {
            tracing::warn!(error = %e, attachment = id, "web: cannot fetch a file");
            ApiError::Conflict("the file cannot be fetched from Telegram now")
        })?,
    };
    let mime = a.mime.clone().unwrap_or_else(|| match a.kind.as_str() {
        "photo" => "image/jpeg".into(),
        _ => "application/octet-stream".into(),
    });
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, max-age=3600".into()),
        ],
        bytes,
    )
        .into_response())
}

/// A file's bytes by its file id: getFile, then the download, both with the token, on the
/// server.
async fn fetch(web: &Web, file_id: &str) -> Result<Vec<u8>, String> {
    let api = web.api_url.trim_end_matches('/');
    let http = reqwest::Client::new();
    let got: Value = http
        .post(format!("{api}/bot{}/getFile", web.token))
        .json(&json!({ "file_id": file_id }))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?
        .json()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let path = got["result"]["file_path"]
        .as_str()
        .ok_or_else(|| format!("getFile refused: {}", got["description"]))?;
    let r = http
        .get(format!("{api}/file/bot{}/{path}", web.token))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !r.status().is_success() {
        return Err(format!("download answered {}", r.status()));
    }
    let bytes = r.bytes().await.map_err(|e| e.without_url().to_string())?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err("the file is too large".into());
    }
    Ok(bytes.to_vec())
}

/// `GET /app/api/reports/subsidy.xlsx?month=`: the subsidy report's workbook of the cadres
/// in his scope (the same rows and figures as `zhucun report subsidy`).
async fn subsidy_xlsx(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<MonthQuery>,
) -> Result<Response, ApiError> {
    let p = caller(&web, &headers).await?;
    let scope = scope_of(&p)?;
    let (month, _) = month_of(&web, &q)?;
    let since = day_start(month.first_day(), web.config.tz());
    let rows: Vec<_> = web
        .store
        .month_presence(month, since, &web.config.calendar())
        .await?
        .into_iter()
        .filter(|r| scope.covers(&r.cadre.unit_path))
        .collect();
    let bytes = render::subsidy::xlsx(month, &rows).map_err(|e| {
        tracing::error!(error = %e, "web: cannot make the subsidy workbook");
        ApiError::Conflict("the workbook cannot be made")
    })?;
    let disposition = format!("attachment; filename=\"subsidy-{month}.xlsx\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /app/api/reports/subsidy/send?month=`: the same workbook sent to his chat by the
/// bot, through the outbox (Telegram's in-app browser on a phone cannot save a download).
/// Once per month asked for in ten minutes: the workbook of a city is not small.
async fn send_subsidy(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<MonthQuery>,
) -> ApiResult {
    let p = caller(&web, &headers).await?;
    let scope = scope_of(&p)?;
    let (month, _) = month_of(&web, &q)?;
    let Some(chat) = p.chat_id.filter(|_| !p.unreachable) else {
        return Err(ApiError::Conflict("the bot cannot write to you"));
    };
    let now = web.clock.now();
    let n = domain::notify::Notification::SubsidyReport {
        month_start: month.first_day(),
        under: match scope {
            Scope::All => None,
            Scope::Under(root) => Some(root),
        },
    };
    let key = format!("web-report:{}:{month}:{}", p.id, now.timestamp() / 600);
    if !web.store.notify_once(chat, p.id, &n, &key, now).await? {
        return Err(ApiError::Conflict("already sent: see the chat"));
    }
    if let Some(wake) = &web.on_queued {
        wake();
    }
    tracing::info!(by = p.id, %month, "web: subsidy workbook queued to the chat");
    Ok(Json(json!({ "queued": true })))
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

/// `POST /app/api/login {"token"}`: a `/web` link's secret, once and in time, for initData
/// the server signs itself (as Telegram would) for the link's person: the desktop page then
/// calls the API like the Mini App, for `web.max_age_secs`.
async fn login(State(web): State<Web>, Json(body): Json<Login>) -> ApiResult {
    let now = web.clock.now();
    let Some(tg_user) = web.store.use_web_link(body.token.trim(), now).await? else {
        return Err(ApiError::Unauthorized(AuthError::Stale));
    };
    let fields = vec![
        (
            "user".to_string(),
            json!({ "id": tg_user, "first_name": "" }).to_string(),
        ),
        ("auth_date".to_string(), now.timestamp().to_string()),
    ];
    Ok(Json(
        json!({ "init_data": auth::sign(&fields, &web.token) }),
    ))
}
