//! Typed commands, the command menu, and the small commands every registered person has.

use crate::texts::{K, fill, tr};
use crate::{Ctx, HandlerResult};
use domain::config::Lang;
use storage::Person;
use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    Start(String),
    Help,
    Lang(String),
    Log(String),
    Me,
    Stats(String),
    Leave(String),
    Leaves,
    Pending,
    Ask(String),
    Questions,
    Remind(String),
    Update(String),
    Feed(String),
    Share,
    Policy(String),
    #[command(rename = "policy_add")]
    PolicyAdd,
    #[command(rename = "policy_del")]
    PolicyDel(String),
    Web,
    Cancel,
}

/// The commands of the menu and of `/help`, with their descriptions, in one list.
pub fn menu(lang: Lang) -> Vec<(&'static str, &'static str)> {
    vec![
        ("me", tr(lang, K::CmdMe)),
        ("log", tr(lang, K::CmdLog)),
        ("stats", tr(lang, K::CmdStats)),
        ("leave", tr(lang, K::CmdLeave)),
        ("leaves", tr(lang, K::CmdLeaves)),
        ("pending", tr(lang, K::CmdPending)),
        ("ask", tr(lang, K::CmdAsk)),
        ("questions", tr(lang, K::CmdQuestions)),
        ("remind", tr(lang, K::CmdRemind)),
        ("update", tr(lang, K::CmdUpdate)),
        ("feed", tr(lang, K::CmdFeed)),
        ("share", tr(lang, K::CmdShare)),
        ("policy", tr(lang, K::CmdPolicy)),
        ("policy_add", tr(lang, K::CmdPolicyAdd)),
        ("policy_del", tr(lang, K::CmdPolicyDel)),
        ("web", tr(lang, K::CmdWeb)),
        ("cancel", tr(lang, K::CmdCancel)),
        ("help", tr(lang, K::CmdHelp)),
        ("lang", tr(lang, K::CmdLang)),
        ("start", tr(lang, K::CmdStart)),
    ]
}

pub fn help_text(lang: Lang) -> String {
    let mut out = String::from(tr(lang, K::HelpHeader));
    for (cmd, desc) in menu(lang) {
        out.push_str(&format!("\n/{cmd} — {desc}"));
    }
    out.push_str("\n\n");
    out.push_str(tr(lang, K::HelpFooter));
    out
}

pub async fn help(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    bot.send_message(msg.chat.id, help_text(app.lang_of(&person)))
        .await?;
    Ok(())
}

/// How long a `/web` link can be opened.
const WEB_LINK_MINUTES: i64 = 10;

/// `/web`: a one-time link to the web view for a desktop browser.
pub async fn web_link(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let Some(url) = crate::web_app_url(&app.config) else {
        return crate::answer::reply(
            &bot,
            &msg,
            tr(app.lang_of(&person), K::WebNotConfigured).into(),
        )
        .await;
    };
    let now = app.clock.now();
    let expires = now + chrono::Duration::minutes(WEB_LINK_MINUTES);
    let secret = match app.store.create_web_link(person.id, now, expires).await {
        Ok(s) => s,
        Err(e) => return crate::answer::db_down(&bot, &app, &msg, &person, e).await,
    };
    let link = format!("{url}?login={secret}");
    let text = say(
        &app,
        &person,
        K::WebLink,
        &[("link", &link), ("minutes", &WEB_LINK_MINUTES.to_string())],
    );
    crate::answer::reply(&bot, &msg, text).await
}

pub async fn set_lang(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
    arg: String,
) -> HandlerResult {
    let Some(lang) = Lang::parse(&arg) else {
        bot.send_message(msg.chat.id, tr(app.lang_of(&person), K::LangUsage))
            .await?;
        return Ok(());
    };
    if let Err(e) = app.store.set_lang(person.id, lang, app.clock.now()).await {
        tracing::error!(error = %e, "cannot save language");
        bot.send_message(msg.chat.id, tr(app.lang_of(&person), K::DbUnavailable))
            .await?;
        return Ok(());
    }
    bot.send_message(msg.chat.id, tr(lang, K::LangSet)).await?;
    Ok(())
}

pub async fn unknown(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let lang = app.lang_of(&person);
    let text = format!("{}\n\n{}", tr(lang, K::UnknownCommand), help_text(lang));
    bot.send_message(msg.chat.id, text).await?;
    Ok(())
}

/// Renders a template of the person's language.
pub fn say(app: &Ctx, person: &Person, k: K, values: &[(&str, &str)]) -> String {
    fill(tr(app.lang_of(person), k), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_and_without_arguments() {
        assert_eq!(
            Command::parse("/start abc123", "bot").unwrap(),
            Command::Start("abc123".into())
        );
        assert_eq!(
            Command::parse("/start", "bot").unwrap(),
            Command::Start(String::new())
        );
        assert_eq!(
            Command::parse("/lang en", "bot").unwrap(),
            Command::Lang("en".into())
        );
        assert!(Command::parse("/nonsense", "bot").is_err());
        assert_eq!(
            Command::parse("/policy 低保", "bot").unwrap(),
            Command::Policy("低保".into())
        );
        assert_eq!(
            Command::parse("/policy_add", "bot").unwrap(),
            Command::PolicyAdd
        );
        assert_eq!(
            Command::parse("/policy_del 12", "bot").unwrap(),
            Command::PolicyDel("12".into())
        );
    }

    #[test]
    fn help_lists_every_menu_command() {
        for lang in [Lang::Zh, Lang::En] {
            let help = help_text(lang);
            for (cmd, _) in menu(lang) {
                assert!(
                    help.contains(&format!("/{cmd}")),
                    "{cmd} missing in {lang:?} help"
                );
            }
        }
    }
}
