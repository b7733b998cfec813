//! Supervision in the chat: `/stats`, and what the `weekly-summary` and `subsidy-report`
//! jobs deliver (made when sent, from the same presence records as `/me` and `zhucun
//! report`). Figures come from `storage`, layout from `render`.

use crate::answer::db_down;
use crate::commands::say;
use crate::sender::Rendered;
use crate::texts::{K, fill, tr};
use crate::{Ctx, HandlerResult};
use chrono::{Datelike, NaiveDate};
use domain::attendance::{Month, local_date};
use domain::config::Lang;
use domain::notify::Notification;
use domain::supervision::{
    CadreMonth, DistrictStats, IsoWeek, Scope, check_month, day_start, district_of, district_stats,
    short_name, week_logs,
};
use storage::{Person, StorageError, UnitWeek};
use teloxide::prelude::*;
use teloxide::types::{ParseMode, ReplyParameters};

/// The scope's name in a title.
trait ScopeName {
    fn name(&self, lang: Lang) -> String;
}

impl ScopeName for Scope {
    fn name(&self, lang: Lang) -> String {
        match (self, lang) {
            (Scope::All, Lang::Zh) => "全市".into(),
            (Scope::All, Lang::En) => "All units".into(),
            (Scope::Under(root), _) => short_name(root).to_string(),
        }
    }
}

/// Every cadre's presence record of `month` (the rows of the subsidy report).
pub async fn month_rows(app: &Ctx, month: Month) -> Result<Vec<CadreMonth>, StorageError> {
    let since = day_start(month.first_day(), app.config.tz());
    app.store
        .month_presence(month, since, &app.config.calendar())
        .await
}

pub fn month_label(lang: Lang, month: Month) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月", month.year(), month.month()),
        Lang::En => month.to_string(),
    }
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `/stats` and `/stats YYYY-MM`.
pub async fn stats(bot: Bot, app: Ctx, msg: Message, person: Person, arg: String) -> HandlerResult {
    let lang = app.lang_of(&person);
    let Some(scope) = Scope::of(person.roles, &person.unit.to_string()) else {
        return crate::answer::reply(&bot, &msg, tr(lang, K::StatsRefused).into()).await;
    };
    let now = app.clock.now();
    let today = local_date(now, app.config.tz());
    let this_month = Month::of(today);
    let arg = arg.trim();
    let month = if arg.is_empty() {
        this_month
    } else {
        match Month::parse(arg) {
            Ok(m) => m,
            Err(_) => {
                return crate::answer::reply(&bot, &msg, tr(lang, K::StatsUsage).into()).await;
            }
        }
    };
    if check_month(month, today).is_err() {
        let text = say(
            &app,
            &person,
            K::StatsNotBegun,
            &[
                ("month", &month.to_string()),
                ("example", &this_month.previous().to_string()),
            ],
        );
        return crate::answer::reply(&bot, &msg, text).await;
    }
    let current = month == this_month;
    let since = day_start(month.first_day(), app.config.tz());
    let facts = match app
        .store
        .stats_facts(
            month,
            since,
            app.config.tutoring.overdue_at(now),
            &app.config.calendar(),
        )
        .await
    {
        Ok(f) => f,
        Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    let facts: Vec<_> = facts
        .into_iter()
        .filter(|f| scope.covers(&f.month.cadre.unit_path))
        .collect();
    let duty = if current {
        match app.store.weekly_duty(IsoWeek::of(today).monday()).await {
            Ok(d) => Some(
                d.into_iter()
                    .filter(|w| scope.covers(&w.unit_path))
                    .collect::<Vec<_>>(),
            ),
            Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
        }
    } else {
        None
    };
    let lines = district_stats(&facts, current.then_some(today));
    let text = stats_text(lang, &scope, month, today, &lines, duty.as_deref());
    let req = bot
        .send_message(msg.chat.id, text)
        .parse_mode(ParseMode::Html)
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
    // The same figures, to drill into: the web view, when it is published.
    match crate::web_app_url(&app.config) {
        Some(url) => {
            let button = teloxide::types::InlineKeyboardButton::web_app(
                tr(lang, K::WebAppButton),
                teloxide::types::WebAppInfo { url },
            );
            req.reply_markup(teloxide::types::InlineKeyboardMarkup::new([[button]]))
                .await?
        }
        None => req.await?,
    };
    Ok(())
}

/// The `/stats` message (HTML: a title, a `<pre>` table, a legend, the units owing).
pub fn stats_text(
    lang: Lang,
    scope: &Scope,
    month: Month,
    today: NaiveDate,
    lines: &[DistrictStats],
    duty: Option<&[UnitWeek]>,
) -> String {
    let scope_name = scope.name(lang);
    let month_name = month_label(lang, month);
    let title = match duty {
        Some(_) => fill(
            tr(lang, K::StatsTitle),
            &[
                ("scope", &scope_name),
                ("month", &month_name),
                ("today", &today.to_string()),
            ],
        ),
        None => fill(
            tr(lang, K::StatsTitlePast),
            &[("scope", &scope_name), ("month", &month_name)],
        ),
    };
    if lines.is_empty() {
        return html(&fill(tr(lang, K::StatsNoCadres), &[("scope", &scope_name)]));
    }
    let n = |v: u32| v.to_string();
    let table = match duty {
        Some(duty) => {
            // Two narrow tables rather than one wide one: each fits a phone's width.
            let today_headings = [
                K::ColDistrict,
                K::ColActive,
                K::ColLoggedToday,
                K::ColMissingToday,
                K::ColUpdate,
            ]
            .map(|k| tr(lang, k));
            let month_headings = [
                K::ColDistrict,
                K::ColLogDays,
                K::ColSubsidyDays,
                K::ColPending,
                K::ColOpen,
            ]
            .map(|k| tr(lang, k));
            let mut today_rows = Vec::new();
            let mut month_rows = Vec::new();
            for l in lines {
                let owing: Vec<&UnitWeek> = duty
                    .iter()
                    .filter(|w| district_of(&w.unit_path) == l.district)
                    .collect();
                let update = if owing.is_empty() {
                    tr(lang, K::NoDuty)
                } else if owing.iter().all(|w| w.met) {
                    tr(lang, K::Yes)
                } else {
                    tr(lang, K::No)
                };
                let name = short_name(&l.district).to_string();
                today_rows.push(vec![
                    name.clone(),
                    n(l.active_cadres),
                    n(l.logged_today.unwrap_or(0)),
                    n(l.missing_today.unwrap_or(0)),
                    update.to_string(),
                ]);
                month_rows.push(vec![
                    name,
                    n(l.log_days),
                    n(l.subsidy_days),
                    n(l.pending_leave),
                    n(l.open_questions),
                ]);
            }
            format!(
                "{}\n{}\n\n{}\n{}",
                tr(lang, K::StatsToday),
                render::text::table(
                    &today_headings,
                    &today_rows,
                    &[false, true, true, true, false]
                ),
                tr(lang, K::StatsMonth),
                render::text::table(
                    &month_headings,
                    &month_rows,
                    &[false, true, true, true, true]
                ),
            )
        }
        None => {
            let headings = [
                K::ColDistrict,
                K::ColActive,
                K::ColLogDays,
                K::ColLeaveDays,
                K::ColSubsidyDays,
            ]
            .map(|k| tr(lang, k));
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|l| {
                    vec![
                        short_name(&l.district).to_string(),
                        n(l.active_cadres),
                        n(l.log_days),
                        n(l.leave_days),
                        n(l.subsidy_days),
                    ]
                })
                .collect();
            render::text::table(&headings, &rows, &[false, true, true, true, true])
        }
    };
    let mut out = format!("{}\n<pre>{}</pre>\n", html(&title), html(&table));
    match duty {
        Some(duty) => {
            out.push_str(&html(tr(lang, K::StatsLegend)));
            let missing: Vec<&UnitWeek> = duty.iter().filter(|w| !w.met).collect();
            out.push_str("\n\n");
            if missing.is_empty() {
                out.push_str(&html(tr(lang, K::StatsAllUpdatesIn)));
            } else {
                out.push_str(&html(&units_list(lang, &missing)));
            }
        }
        None => out.push_str(&html(tr(lang, K::StatsLegendPast))),
    }
    out
}

/// At most this many units are named; the rest are counted (a message holds 4096 chars).
const MAX_UNITS_NAMED: usize = 40;

fn units_list(lang: Lang, missing: &[&UnitWeek]) -> String {
    let mut names: Vec<String> = missing
        .iter()
        .take(MAX_UNITS_NAMED)
        .map(|w| w.unit_path.clone())
        .collect();
    if missing.len() > MAX_UNITS_NAMED {
        names.push(fill(
            tr(lang, K::StatsMoreUnits),
            &[("n", &(missing.len() - MAX_UNITS_NAMED).to_string())],
        ));
    }
    fill(
        tr(lang, K::StatsUnitsWithout),
        &[
            ("n", &missing.len().to_string()),
            ("units", &names.join("\n")),
        ],
    )
}

/// The chart font: the operator's `reports.chart_font` (read and checked at start), else
/// the one shipped in the binary.
fn chart_font(app: &Ctx) -> &'static [u8] {
    app.config
        .reports
        .chart_font_bytes
        .0
        .unwrap_or(render::chart::FONT)
}

/// Renders the supervision notifications (`None`: not one of them, or nothing to send).
pub(crate) async fn render(
    app: &Ctx,
    lang: Lang,
    person_id: Option<i64>,
    n: &Notification,
) -> Result<Option<Rendered>, StorageError> {
    Ok(match n {
        Notification::SubsidyReport { month_start, under } => {
            let month = Month::of(*month_start);
            let mut rows = month_rows(app, month).await?;
            if let Some(root) = under {
                rows.retain(|r| domain::supervision::is_within(&r.cadre.unit_path, root));
            }
            match render::subsidy::xlsx(month, &rows) {
                Ok(bytes) => Some(Rendered::Document {
                    file_name: format!("subsidy-{month}.xlsx"),
                    bytes,
                    caption: fill(
                        tr(lang, K::SubsidyReportCaption),
                        &[
                            ("month", &month_label(lang, month)),
                            ("n", &rows.len().to_string()),
                        ],
                    ),
                }),
                Err(e) => {
                    tracing::error!(error = %e, "cannot make the subsidy report");
                    None
                }
            }
        }
        Notification::SubsidyFigures { month_start } => {
            let Some(person) = person_id else {
                return Ok(None);
            };
            let Some(p) = app.store.person(person).await? else {
                return Ok(None);
            };
            let month = Month::of(*month_start);
            let s = app
                .store
                .person_month(person, month, &app.config.calendar())
                .await?
                .summary();
            Some(Rendered::Text {
                text: fill(
                    tr(lang, K::SubsidyFigures),
                    &[
                        ("name", &p.name),
                        ("month", &month_label(lang, month)),
                        ("log_days", &s.log_days.to_string()),
                        ("leave_days", &s.leave_days.to_string()),
                        ("eligible_days", &s.eligible_days.to_string()),
                    ],
                ),
                keyboard: None,
            })
        }
        Notification::WeeklySummary { monday } => {
            let week = IsoWeek::of(*monday);
            let duty = app.store.weekly_duty(week.monday()).await?;
            let logs = week_rows(app, week).await?;
            Some(Rendered::Html {
                text: weekly_text(lang, week, &duty, &week_logs(&logs, week)),
            })
        }
        Notification::CalendarMissing { year } => Some(Rendered::Text {
            text: fill(tr(lang, K::CalendarMissing), &[("year", &year.to_string())]),
            keyboard: None,
        }),
        Notification::WeeklyChart { monday } => {
            let week = IsoWeek::of(*monday);
            let logs = week_rows(app, week).await?;
            let chart = week_chart(lang, week, &week_logs(&logs, week));
            let caption = fill(
                tr(lang, K::WeeklyChartTitle),
                &[("week", &week.to_string())],
            );
            match render::chart::week_png(&chart, chart_font(app)) {
                Ok(png) if png.missing.is_empty() => Some(Rendered::Photo {
                    bytes: png.bytes,
                    caption,
                }),
                Ok(png) => Some(Rendered::Photo {
                    bytes: png.bytes,
                    caption: format!(
                        "{caption}\n{}",
                        fill(
                            tr(lang, K::WeeklyChartMissingGlyphs),
                            &[("chars", &png.missing.iter().collect::<String>())],
                        )
                    ),
                }),
                // Never a silently missing chart: the admins read why there is none.
                Err(e) => {
                    tracing::error!(error = %e, "cannot draw the weekly chart");
                    Some(Rendered::Text {
                        text: fill(
                            tr(lang, K::WeeklyChartFailed),
                            &[("week", &week.to_string()), ("error", &e.to_string())],
                        ),
                        keyboard: None,
                    })
                }
            }
        }
        _ => None,
    })
}

/// The presence records of the months `week` touches.
async fn week_rows(app: &Ctx, week: IsoWeek) -> Result<Vec<CadreMonth>, StorageError> {
    let mut all = Vec::new();
    for month in week.months() {
        all.extend(month_rows(app, month).await?);
    }
    Ok(all)
}

fn weekday_names(lang: Lang) -> Vec<&'static str> {
    tr(lang, K::WeekdayNames).split(',').collect()
}

/// The weekly summary message: the week's update duty per unit, then cadres with a log per
/// district and day (HTML, tables in `<pre>`).
pub fn weekly_text(
    lang: Lang,
    week: IsoWeek,
    duty: &[UnitWeek],
    logs: &[(String, [u32; 7])],
) -> String {
    let title = fill(
        tr(lang, K::WeeklyTitle),
        &[
            ("week", &week.to_string()),
            ("from", &week.monday().to_string()),
            ("to", &week.sunday().to_string()),
        ],
    );
    let mut out = format!(
        "<b>{}</b>\n\n{}\n",
        html(&title),
        html(tr(lang, K::WeeklyDuty))
    );
    if duty.is_empty() {
        out.push_str(&html(tr(lang, K::WeeklyNoDuty)));
        out.push('\n');
    } else {
        let headings = [K::ColUnit, K::ColUpdates, K::ColMet].map(|k| tr(lang, k));
        let rows: Vec<Vec<String>> = duty
            .iter()
            .map(|w| {
                // The city part is the same for all; drop it to fit a phone.
                let unit = w
                    .unit_path
                    .split_once('/')
                    .map_or(w.unit_path.as_str(), |x| x.1);
                vec![
                    unit.to_string(),
                    w.updates.to_string(),
                    tr(lang, if w.met { K::Yes } else { K::No }).to_string(),
                ]
            })
            .collect();
        let table = render::text::table(&headings, &rows, &[false, true, false]);
        out.push_str(&format!("<pre>{}</pre>\n", html(&table)));
    }
    out.push('\n');
    out.push_str(&html(tr(lang, K::WeeklyLogs)));
    out.push('\n');
    let mut headings = vec![tr(lang, K::ColDistrict)];
    headings.extend(weekday_names(lang));
    let rows: Vec<Vec<String>> = logs
        .iter()
        .map(|(d, counts)| {
            let mut r = vec![short_name(d).to_string()];
            r.extend(counts.iter().map(u32::to_string));
            r
        })
        .collect();
    let mut numeric = vec![true; headings.len()];
    numeric[0] = false;
    let table = render::text::table(&headings, &rows, &numeric);
    out.push_str(&format!("<pre>{}</pre>", html(&table)));
    out
}

pub fn week_chart(
    lang: Lang,
    week: IsoWeek,
    logs: &[(String, [u32; 7])],
) -> render::chart::WeekChart {
    let names = weekday_names(lang);
    render::chart::WeekChart {
        title: fill(
            tr(lang, K::WeeklyChartTitle),
            &[("week", &week.to_string())],
        ),
        y_label: tr(lang, K::WeeklyChartY).to_string(),
        day_labels: week
            .days()
            .zip(names)
            .map(|(d, n)| format!("{:02}-{:02} {n}", d.month(), d.day()))
            .collect(),
        series: logs
            .iter()
            .map(|(d, c)| (short_name(d).to_string(), *c))
            .collect(),
    }
}
