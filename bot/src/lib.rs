//! The Telegram adapter: the handler tree, the handlers and the texts. Telegram types never
//! leave this crate; handlers turn an update into one storage/domain operation and render
//! the outcome.

use domain::Clock;
use domain::config::{Config, Lang};
use std::sync::Arc;
use std::time::Duration;
use storage::{Person, Store};
use teloxide::dispatching::{Dispatcher, ShutdownToken, UpdateHandler};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, User};
use teloxide::update_listeners::Polling;

mod commands;
mod registration;
pub mod texts;

pub use commands::Command;
use texts::{K, tr};

/// Everything a handler needs, shared by all of them.
pub struct App {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
}

pub type Ctx = Arc<App>;
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), HandlerError>;

impl App {
    /// The language to answer a person in: his choice, else the configured default.
    pub fn lang_of(&self, person: &Person) -> Lang {
        person.lang.unwrap_or(self.config.language)
    }

    /// The language for someone not (yet) on the roster: his Telegram client's, if English.
    pub fn lang_of_user(&self, user: &User) -> Lang {
        match user.language_code.as_deref() {
            Some(code) if code.starts_with("en") => Lang::En,
            _ => self.config.language,
        }
    }
}

/// Who wrote: decided once per update, then routed on.
#[derive(Debug, Clone)]
pub enum Identity {
    Unknown,
    Inactive(Person),
    Active(Person),
}

/// The whole handler tree: every route the bot knows, in one place.
pub fn schema() -> UpdateHandler<HandlerError> {
    use dptree::case;

    let unregistered = dptree::entry()
        .branch(Message::filter_contact().endpoint(registration::by_contact))
        .branch(
            teloxide::filter_command::<Command, _>()
                .branch(case![Command::Start(code)].endpoint(registration::by_invite)),
        )
        .branch(dptree::endpoint(registration::ask_for_contact));

    let registered = dptree::entry()
        .branch(
            teloxide::filter_command::<Command, _>()
                .branch(case![Command::Start(code)].endpoint(registration::already_registered))
                .branch(case![Command::Help].endpoint(commands::help))
                .branch(case![Command::Lang(arg)].endpoint(commands::set_lang)),
        )
        .branch(Message::filter_contact().endpoint(registration::already_registered_contact))
        .branch(
            dptree::filter(|m: Message| m.text().is_some_and(|t| t.starts_with('/')))
                .endpoint(commands::unknown),
        )
        .branch(dptree::endpoint(commands::nothing_to_do));

    let private_message = Update::filter_message()
        .filter(|m: Message| m.chat.is_private())
        .filter_map(|m: Message| m.from)
        .filter_map_async(identify)
        .branch(case![Identity::Unknown].chain(unregistered))
        .branch(case![Identity::Inactive(person)].endpoint(registration::refuse_inactive))
        .branch(case![Identity::Active(person)].chain(registered));

    dptree::entry()
        .filter_async(claim_update)
        .branch(private_message)
}

/// Skips updates this service has processed before (redelivery, or another instance).
async fn claim_update(update: Update, app: Ctx) -> bool {
    match app
        .store
        .claim_update(i64::from(update.id.0), app.clock.now())
        .await
    {
        Ok(fresh) => {
            if !fresh {
                tracing::debug!(update_id = update.id.0, "duplicate update skipped");
            }
            fresh
        }
        // Without the database the handler cannot work either, but it can tell the person.
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim update; handling it anyway");
            true
        }
    }
}

async fn identify(bot: Bot, app: Ctx, msg: Message, user: User) -> Option<Identity> {
    match app.store.person_by_tg(user.id.0 as i64).await {
        Ok(None) => Some(Identity::Unknown),
        Ok(Some(p)) if p.active => Some(Identity::Active(p)),
        Ok(Some(p)) => Some(Identity::Inactive(p)),
        Err(e) => {
            tracing::error!(error = %e, "cannot look up sender");
            let lang = app.lang_of_user(&user);
            let _ = bot
                .send_message(msg.chat.id, tr(lang, K::DbUnavailable))
                .await;
            None
        }
    }
}

/// The command menu, per language, from the same list `/help` shows.
pub async fn set_commands(bot: &Bot) -> Result<(), teloxide::RequestError> {
    for lang in [Lang::Zh, Lang::En] {
        let list: Vec<BotCommand> = commands::menu(lang)
            .into_iter()
            .map(|(c, d)| BotCommand::new(c, d))
            .collect();
        let req = bot.set_my_commands(list);
        match lang {
            Lang::Zh => req.await?,
            Lang::En => req.language_code("en").await?,
        };
    }
    Ok(())
}

/// A running dispatcher; `stop` shuts it down gracefully.
pub struct Running {
    token: ShutdownToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        if let Ok(done) = self.token.shutdown() {
            done.await;
        }
        let _ = self.task.await;
    }

    /// Resolves when the dispatcher ends by itself (e.g. the webhook server failed).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }

    pub fn shutdown_token(&self) -> ShutdownToken {
        self.token.clone()
    }
}

fn dispatcher(
    bot: Bot,
    app: Ctx,
) -> Dispatcher<Bot, HandlerError, teloxide::dispatching::DefaultKey> {
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![app])
        .default_handler(|upd| async move {
            tracing::debug!(update_id = upd.id.0, "update not for the bot; ignored");
        })
        .error_handler(LoggingErrorHandler::with_custom_text("handler failed"))
        .build()
}

/// Starts the dispatcher with long polling (`timeout` is the getUpdates hold time).
pub async fn spawn_polling(bot: Bot, app: Ctx, timeout: Duration) -> Running {
    let mut dispatcher = dispatcher(bot.clone(), app);
    let token = dispatcher.shutdown_token();
    let listener = Polling::builder(bot)
        .timeout(timeout)
        .delete_webhook()
        .await
        .build();
    let task = tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(
                listener,
                LoggingErrorHandler::with_custom_text("getUpdates failed"),
            )
            .await;
    });
    Running { token, task }
}

/// Starts the dispatcher behind a webhook: Telegram posts to `url`, served on `listen`.
pub async fn spawn_webhook(
    bot: Bot,
    app: Ctx,
    url: url::Url,
    listen: std::net::SocketAddr,
) -> Result<Running, String> {
    use teloxide::update_listeners::webhooks;
    let tcp = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let options = webhooks::Options::new(listen, url);
    let (listener, stop, router) = webhooks::axum_to_router(bot.clone(), options)
        .await
        .map_err(|e| format!("setWebhook failed: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(tcp, router).with_graceful_shutdown(stop).await {
            tracing::error!(error = %e, "webhook server failed");
        }
    });
    let mut dispatcher = dispatcher(bot, app);
    let token = dispatcher.shutdown_token();
    let task = tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("webhook"))
            .await;
    });
    Ok(Running { token, task })
}
