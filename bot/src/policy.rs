//! The policy library: adding a document (`#policy` caption or the `/policy_add` dialogue),
//! `/policy KEYWORDS` and `/policy` alone, the button that sends a document's file, and
//! `/policy_del`. A document is downloaded through the Bot API, its text extracted off the
//! async runtime, and stored with its index in one transaction, or not at all.

use crate::answer::{alert, db_down, reply};
use crate::callback::Callback;
use crate::commands::say;
use crate::dialogue::{self, Dialogue};
use crate::texts::{K, fill, tr};
use crate::{Ctx, HandlerResult};
use domain::config::Lang;
use domain::policy::{
    self, Description, DescriptionError, MAX_TITLE_CHARS, NEWEST, PolicyRefusal, RESULTS,
};
use extract::ExtractError;
use storage::{Failure, NewPolicy, Person, Policy, PolicyHit};
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{Document, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile};

/// Characters of a title on a button.
const BUTTON_TITLE_CHARS: usize = 24;

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).chain(['…']).collect()
    }
}

/// "issuer · date", or that the issuer is not given.
fn meta(lang: Lang, p: &Policy) -> String {
    let parts: Vec<&str> = [p.issuer.as_deref(), p.issued_on.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        tr(lang, K::PolicyNoIssuer).to_string()
    } else {
        parts.join(" · ")
    }
}

fn file_buttons(lang: Lang, policies: &[&Policy]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(policies.iter().enumerate().map(|(i, p)| {
        vec![InlineKeyboardButton::callback(
            fill(
                tr(lang, K::PolicyFileButton),
                &[
                    ("n", &(i + 1).to_string()),
                    ("title", &clip(&p.title, BUTTON_TITLE_CHARS)),
                ],
            ),
            Callback::PolicyFile { policy: p.id }.encode(),
        )]
    }))
}

/// `/policy KEYWORDS`, or `/policy` alone for the newest documents.
pub async fn search(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    args: String,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let query = args.trim();
    if query.is_empty() {
        return newest(&bot, &app, &msg, &person).await;
    }
    let hits: Vec<PolicyHit> = match app.store.find_policies(query, RESULTS).await {
        Ok(h) => h,
        Err(e) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    if hits.is_empty() {
        let t = say(
            &app,
            &person,
            K::PolicyNoMatch,
            &[("query", &clip(query, 40))],
        );
        return reply(&bot, &msg, t).await;
    }
    let mut text = fill(
        tr(lang, K::PolicyResultsHeader),
        &[("count", &hits.len().to_string())],
    );
    for (i, h) in hits.iter().enumerate() {
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::PolicyItem),
            &[
                ("n", &(i + 1).to_string()),
                ("title", &h.policy.title),
                ("id", &h.policy.id.to_string()),
                ("meta", &meta(lang, &h.policy)),
                ("snippet", &h.snippet),
            ],
        ));
    }
    let policies: Vec<&Policy> = hits.iter().map(|h| &h.policy).collect();
    bot.send_message(msg.chat.id, text)
        .reply_markup(file_buttons(lang, &policies))
        .await?;
    Ok(())
}

async fn newest(bot: &Bot, app: &Ctx, msg: &Message, person: &Person) -> HandlerResult {
    let lang = app.lang_of(person);
    let (list, count) =
        match tokio::try_join!(app.store.newest_policies(NEWEST), app.store.policy_count()) {
            Ok(r) => r,
            Err(e) => return db_down(bot, app, msg, person, e).await,
        };
    if list.is_empty() {
        return reply(bot, msg, tr(lang, K::PolicyLibraryEmpty).to_string()).await;
    }
    let mut text = fill(
        tr(lang, K::PolicyNewestHeader),
        &[("count", &count.to_string())],
    );
    for (i, p) in list.iter().enumerate() {
        text.push('\n');
        text.push_str(&fill(
            tr(lang, K::PolicyListItem),
            &[
                ("n", &(i + 1).to_string()),
                ("title", &p.title),
                ("id", &p.id.to_string()),
                ("meta", &meta(lang, p)),
            ],
        ));
    }
    let policies: Vec<&Policy> = list.iter().collect();
    bot.send_message(msg.chat.id, text)
        .reply_markup(file_buttons(lang, &policies))
        .await?;
    Ok(())
}

/// The button under a result: sends the document's file by its Telegram file id.
pub async fn on_file_button(
    bot: Bot,
    app: Ctx,
    q: CallbackQuery,
    person: Person,
    policy: i64,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    let found = match app.store.policy(policy).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot look up a policy document");
            return alert(&bot, &q, tr(lang, K::DbUnavailable).to_string(), true).await;
        }
    };
    let Some(p) = found else {
        return alert(&bot, &q, tr(lang, K::AlertPolicyGone).to_string(), true).await;
    };
    alert(&bot, &q, String::new(), false).await?;
    let chat = q
        .message
        .as_ref()
        .map_or(ChatId(person.chat_id.unwrap_or_default()), |m| m.chat().id);
    let caption = format!("《{}》", clip(&p.title, 200));
    if !p.file_id.is_empty() {
        bot.send_document(chat, InputFile::file_id(FileId(p.file_id)))
            .caption(caption)
            .await?;
        return Ok(());
    }
    // Imported by the operator: uploaded the first time, its file id kept for later.
    let bytes = match app.store.policy_file_bytes(p.id).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            tracing::error!(policy = p.id, "an imported policy document has no file");
            let t = tr(lang, K::AlertPolicyGone).to_string();
            bot.send_message(chat, t).await?;
            return Ok(());
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read a policy document's file");
            bot.send_message(chat, tr(lang, K::DbUnavailable)).await?;
            return Ok(());
        }
    };
    let name = p
        .file_name
        .clone()
        .unwrap_or_else(|| format!("policy-{}.{}", p.id, p.format));
    let sent = bot
        .send_document(chat, InputFile::memory(bytes).file_name(name))
        .caption(caption)
        .await?;
    if let Some(doc) = sent.document()
        && let Err(e) = app.store.set_policy_file_id(p.id, &doc.file.id.0).await
    {
        // Sent; the next press uploads it again.
        tracing::warn!(error = %e, "policy: file id not kept");
    }
    Ok(())
}

/// `/policy_del NUMBER` (admins).
pub async fn delete(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    args: String,
) -> HandlerResult {
    let lang = app.lang_of(&person);
    if policy::may_manage(person.roles).is_err() {
        return reply(&bot, &msg, tr(lang, K::PolicyNotAdmin).to_string()).await;
    }
    let Ok(id) = args.trim().trim_start_matches('#').parse::<i64>() else {
        return reply(&bot, &msg, tr(lang, K::PolicyDelUsage).to_string()).await;
    };
    let t = match app.store.remove_policy(person.id, id).await {
        Ok(p) => say(
            &app,
            &person,
            K::PolicyDeleted,
            &[("id", &p.id.to_string()), ("title", &p.title)],
        ),
        Err(Failure::Refused(PolicyRefusal::NotFound(id))) => {
            say(&app, &person, K::PolicyNotFound, &[("id", &id.to_string())])
        }
        Err(Failure::Refused(PolicyRefusal::NotAdmin)) => tr(lang, K::PolicyNotAdmin).to_string(),
        Err(Failure::Storage(e)) => return db_down(&bot, &app, &msg, &person, e).await,
    };
    reply(&bot, &msg, t).await
}

/// `/policy_add`: asks for the document (admins).
pub async fn add_start(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    if policy::may_manage(person.roles).is_err() {
        return reply(&bot, &msg, tr(lang, K::PolicyNotAdmin).to_string()).await;
    }
    if let Err(e) = dialogue::save(&app, &person, &Dialogue::PolicyAdd).await {
        return db_down(&bot, &app, &msg, &person, e).await;
    }
    reply(&bot, &msg, tr(lang, K::PolicyAddPrompt).to_string()).await
}

/// The message after `/policy_add`: the document, its caption (if any) describing it.
pub async fn dialogue_step(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let caption = msg.text().or(msg.caption()).unwrap_or_default().trim();
    if crate::texts::is_cancel_word(caption) && msg.document().is_none() {
        return crate::leave::cancel_dialogue(bot, app, msg, person).await;
    }
    let Some(doc) = msg.document() else {
        return reply(&bot, &msg, tr(lang, K::PolicyAddNeedsFile).to_string()).await;
    };
    let description = if caption.is_empty() {
        match doc
            .file_name
            .as_deref()
            .and_then(policy::title_from_file_name)
        {
            Some(title) => Ok(Description {
                title,
                issuer: None,
                issued_on: None,
            }),
            None => Err(DescriptionError::NoTitle),
        }
    } else {
        policy::parse_caption(caption).unwrap_or_else(|| policy::parse_description(caption))
    };
    if let Err(e) = dialogue::clear(&app, &person).await {
        return db_down(&bot, &app, &msg, &person, e).await;
    }
    add(&bot, &app, &msg, &person, description).await
}

/// A message whose caption starts with `#policy`.
pub async fn on_tagged(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let caption = msg.caption().or(msg.text()).unwrap_or_default();
    let description = policy::parse_caption(caption).unwrap_or(Err(DescriptionError::NoTitle));
    if person.dialogue.is_some()
        && let Err(e) = dialogue::clear(&app, &person).await
    {
        // The document goes on; only a stale dialogue may be left behind.
        tracing::warn!(error = %e, "policy: dialogue not cleared");
    }
    add(&bot, &app, &msg, &person, description).await
}

/// What went wrong with a document, in the person's words.
fn refusal_text(app: &Ctx, person: &Person, e: &ExtractError) -> String {
    match e {
        ExtractError::Unsupported => tr(app.lang_of(person), K::PolicyUnsupported).to_string(),
        ExtractError::Encrypted => tr(app.lang_of(person), K::PolicyEncrypted).to_string(),
        ExtractError::Malformed(_, why) => say(
            app,
            person,
            K::PolicyMalformed,
            &[("reason", &clip(why, 120))],
        ),
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Checks, downloads, extracts and stores one document; every refusal says why and
/// leaves nothing behind.
async fn add(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    description: Result<Description, DescriptionError>,
) -> HandlerResult {
    let lang = app.lang_of(person);
    // Authority first: a non-admin's file is never downloaded (storage checks again).
    if policy::may_manage(person.roles).is_err() {
        return reply(bot, msg, tr(lang, K::PolicyNotAdmin).to_string()).await;
    }
    let Some(doc) = msg.document() else {
        return reply(bot, msg, tr(lang, K::PolicyNoFile).to_string()).await;
    };
    let description = match description {
        Ok(d) => d,
        Err(DescriptionError::NoTitle) => {
            return reply(bot, msg, tr(lang, K::PolicyNoTitle).to_string()).await;
        }
        Err(DescriptionError::BadDate(date)) => {
            let t = say(app, person, K::PolicyBadDate, &[("date", &date)]);
            return reply(bot, msg, t).await;
        }
        Err(DescriptionError::TooLong) => {
            let t = say(
                app,
                person,
                K::PolicyTitleTooLong,
                &[("max", &MAX_TITLE_CHARS.to_string())],
            );
            return reply(bot, msg, t).await;
        }
    };
    let size = u64::from(doc.file.size);
    let max_mb = app.config.logs.max_file_mb;
    if !policy::within_download_limit(size, max_mb) {
        return too_large(bot, app, msg, person, size).await;
    }
    let name = doc.file_name.as_deref();
    let mime = doc.mime_type.as_ref().map(|m| m.essence_str().to_string());
    let bytes = match download(bot, doc, max_mb).await {
        Ok(b) => b,
        Err(Fetch::TooBig) => return too_large(bot, app, msg, person, size).await,
        Err(Fetch::Failed(e)) => {
            tracing::warn!(error = %e, "policy: download failed");
            return reply(bot, msg, tr(lang, K::PolicyDownloadFailed).to_string()).await;
        }
    };
    let (owned_name, owned_mime) = (name.map(str::to_string), mime.clone());
    let extracted = tokio::task::spawn_blocking(move || {
        extract::extract_file(&bytes, owned_name.as_deref(), owned_mime.as_deref())
    })
    .await;
    let extracted = match extracted {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::info!(error = %e, "policy: file refused");
            return reply(bot, msg, refusal_text(app, person, &e)).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "policy: extraction task failed");
            let e = ExtractError::Malformed("file", "internal error".into());
            return reply(bot, msg, refusal_text(app, person, &e)).await;
        }
    };
    let new = NewPolicy {
        title: &description.title,
        issuer: description.issuer.as_deref(),
        issued_on: description.issued_on,
        file_id: &doc.file.id.0,
        file_name: name,
        format: extracted.format.as_str(),
        text: &extracted.text,
        no_text: extracted.scan,
        added_by: person.id,
    };
    let added = match app.store.add_policy(new, app.clock.now()).await {
        Ok(p) => p,
        Err(Failure::Refused(_)) => {
            return reply(bot, msg, tr(lang, K::PolicyNotAdmin).to_string()).await;
        }
        Err(Failure::Storage(e)) => return db_down(bot, app, msg, person, e).await,
    };
    tracing::info!(
        policy = added.id,
        chars = added.chars,
        scan = added.no_text,
        "policy added"
    );
    let key = if added.no_text {
        K::PolicyAddedScan
    } else {
        K::PolicyAdded
    };
    let t = say(
        app,
        person,
        key,
        &[
            ("id", &added.id.to_string()),
            ("title", &added.title),
            ("chars", &added.chars.to_string()),
        ],
    );
    reply(bot, msg, t).await
}

async fn too_large(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    person: &Person,
    size: u64,
) -> HandlerResult {
    let t = say(
        app,
        person,
        K::PolicyTooLarge,
        &[
            ("size", &mb(size)),
            ("max", &app.config.logs.max_file_mb.to_string()),
        ],
    );
    reply(bot, msg, t).await
}

pub(crate) enum Fetch {
    TooBig,
    Failed(String),
}

/// The file's bytes through getFile and the download URL, at most `max_mb` megabytes.
pub(crate) async fn download(bot: &Bot, doc: &Document, max_mb: u64) -> Result<Vec<u8>, Fetch> {
    let file = bot.get_file(doc.file.id.clone()).await.map_err(|e| {
        if e.to_string().to_lowercase().contains("too big") {
            Fetch::TooBig
        } else {
            Fetch::Failed(e.to_string())
        }
    })?;
    if !policy::within_download_limit(u64::from(file.size), max_mb) {
        return Err(Fetch::TooBig);
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(file.size as usize);
    bot.download_file(&file.path, &mut bytes)
        .await
        .map_err(|e| Fetch::Failed(e.to_string()))?;
    if !policy::within_download_limit(bytes.len() as u64, max_mb) {
        return Err(Fetch::TooBig);
    }
    Ok(bytes)
}
