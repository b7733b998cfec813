//! The Telegram adapter: the handler tree, the handlers and the texts. Telegram types never
//! leave this crate; handlers turn an update into one storage/domain operation and render
//! the outcome.

use domain::Clock;
use domain::config::{Config, Lang};
use std::sync::Arc;
use std::time::Duration;
use storage::{Person, Store};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, Me, User};
use teloxide::utils::command::BotCommands;
use tokio::sync::{Notify, watch};

mod answer;
mod archive;
mod callback;
mod commands;
mod dialogue;
mod digest;
mod intake;
mod leave;
mod policy;
mod registration;
pub mod roster;
pub mod route;
mod sender;
mod sharing;
pub mod supervision;
pub mod texts;
mod tutoring;
mod updates;
mod worklog;

pub use callback::Callback;
pub use commands::Command;
pub use intake::{Redelivered, allowed_updates, webhook_secret};
use texts::{K, tr};

/// Everything a handler needs, shared by all of them.
pub struct App {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the outbox sender when a handler queued something.
    sender_wake: Arc<Notify>,
    archiver_wake: Arc<Notify>,
    /// Chats told that their messages wait for the database.
    delayed: intake::Delayed,
}

pub type Ctx = Arc<App>;
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), HandlerError>;

impl App {
    pub fn new(store: Store, config: Config, clock: Arc<dyn Clock>) -> Ctx {
        Arc::new(App {
            store,
            config: Arc::new(config),
            clock,
            sender_wake: Arc::new(Notify::new()),
            archiver_wake: Arc::new(Notify::new()),
            delayed: intake::Delayed::default(),
        })
    }

    pub fn wake_sender(&self) {
        self.sender_wake.notify_one();
    }

    pub fn wake_archiver(&self) {
        if self.config.logs.archive_dir.is_some() {
            self.archiver_wake.notify_one();
        }
    }

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

/// The whole handler tree: every route the bot knows, in one place. A message's route is
/// decided once by [`route::classify`]; this tree only carries it out.
pub fn schema() -> UpdateHandler<HandlerError> {
    use dptree::case;
    use route::{Registration, Route};

    let commands = teloxide::dptree::entry()
        .branch(case![Command::Start(code)].endpoint(registration::already_registered))
        .branch(case![Command::Help].endpoint(commands::help))
        .branch(case![Command::Lang(arg)].endpoint(commands::set_lang))
        .branch(case![Command::Web].endpoint(commands::web_link))
        .branch(case![Command::Log(args)].endpoint(worklog::backdate))
        .branch(case![Command::Me].endpoint(worklog::me))
        .branch(case![Command::Stats(arg)].endpoint(supervision::stats))
        .branch(case![Command::Leave(args)].endpoint(leave::start))
        .branch(case![Command::Leaves].endpoint(leave::list))
        .branch(case![Command::Pending].endpoint(leave::pending))
        .branch(case![Command::Ask(args)].endpoint(tutoring::ask))
        .branch(case![Command::Questions].endpoint(tutoring::list))
        .branch(case![Command::Remind(arg)].endpoint(worklog::remind))
        .branch(case![Command::Update(args)].endpoint(updates::command))
        .branch(case![Command::Feed(args)].endpoint(updates::feed))
        .branch(case![Command::Share].endpoint(sharing::share))
        .branch(case![Command::Policy(args)].endpoint(policy::search))
        .branch(case![Command::PolicyAdd].endpoint(policy::add_start))
        .branch(case![Command::PolicyDel(args)].endpoint(policy::delete))
        .branch(case![Command::Cancel].endpoint(leave::cancel_dialogue));

    let registration = dptree::filter_map(|m: Message| m.from)
        .branch(
            case![Registration::Contact]
                .filter_map(|m: Message| m.contact().cloned())
                .endpoint(registration::by_contact),
        )
        .branch(case![Registration::Invite(code)].endpoint(registration::by_invite))
        .branch(case![Registration::AskForContact].endpoint(registration::ask_for_contact));

    // Routes of a registered, active person.
    let personal = dptree::filter_map(|s: Sender| s.0)
        .branch(case![Route::Command(command)].chain(commands))
        .branch(case![Route::Contact].endpoint(registration::already_registered_contact))
        .branch(case![Route::UnknownCommand].endpoint(commands::unknown))
        .branch(case![Route::PolicyDocument].endpoint(policy::on_tagged))
        .branch(case![Route::RosterFile].endpoint(roster::on_file))
        .branch(case![Route::Dialogue(d)].endpoint(dialogue::step))
        .branch(case![Route::Reply].endpoint(tutoring::on_reply))
        .branch(case![Route::Inactive].endpoint(registration::refuse_inactive));

    let messages = Update::filter_message()
        .filter_map_async(route_message)
        // The common case first, unclaimed: a work log claims its update in the log's own
        // transaction.
        .branch(
            case![Route::Log]
                .filter_map(|s: Sender| s.0)
                .endpoint(worklog::on_plain_message),
        )
        // Everything else claims its update first, so a redelivery is skipped.
        .branch(
            dptree::filter_async(claim_update)
                .branch(case![Route::Comment].endpoint(sharing::on_group_reply))
                .branch(case![Route::Register(r)].chain(registration))
                .branch(personal),
        );

    let private_edit = Update::filter_edited_message()
        .filter_map(private_sender)
        .filter_map_async(active_sender)
        .endpoint(updates::on_edit);

    let callbacks = Update::filter_callback_query()
        .filter_map_async(identify_presser)
        .branch(
            dptree::filter_map(|q: CallbackQuery| q.data.as_deref().and_then(Callback::decode))
                .branch(
                    case![Callback::Leave {
                        request,
                        step,
                        approve
                    }]
                    .endpoint(leave::on_decide),
                )
                .branch(case![Callback::CancelLeave { request }].endpoint(leave::on_cancel))
                .branch(case![Callback::AskTopic { question, topic }].endpoint(tutoring::on_topic))
                .branch(case![Callback::PassMenu { question }].endpoint(tutoring::on_pass_menu))
                .branch(
                    case![Callback::PassTopic { question, topic }]
                        .endpoint(tutoring::on_pass_topic),
                )
                .branch(
                    case![Callback::PassTutor { question, tutor }]
                        .endpoint(tutoring::on_pass_tutor),
                )
                .branch(case![Callback::Rate { question, helpful }].endpoint(tutoring::on_rate))
                .branch(case![Callback::UpdateUnit { unit }].endpoint(updates::on_unit))
                .branch(case![Callback::FeedPage { unit, offset }].endpoint(updates::on_page))
                .branch(case![Callback::PolicyFile { policy }].endpoint(policy::on_file_button))
                .branch(
                    case![Callback::RosterConfirm { upload, second }].endpoint(roster::on_confirm),
                )
                .branch(case![Callback::RosterCancel { upload }].endpoint(roster::on_cancel)),
        )
        .branch(dptree::endpoint(stale_button));

    // The sharing group's reactions, and the bot's own membership of the channels it posts
    // to (both must be in `intake::allowed_updates`).
    let reactions = Update::filter_message_reaction_updated().endpoint(sharing::on_reaction);
    let membership = Update::filter_my_chat_member().endpoint(sharing::on_my_membership);

    let claimed = dptree::filter_async(claim_update)
        .branch(private_edit)
        .branch(callbacks)
        .branch(reactions)
        .branch(membership);

    dptree::entry().branch(messages).branch(claimed)
}

/// The route of a message, from its facts and its sender; `None` for messages not for the
/// bot (group chatter), which are left alone.
async fn route_message(app: Ctx, m: Message, me: Me, sender: Sender) -> Option<route::Route> {
    use route::{Facts, Who, classify};
    let text = m.text().or(m.caption());
    let bot_name = me.user.username.as_deref().unwrap_or_default();
    let facts = Facts {
        private: m.chat.is_private(),
        from_someone: m.from.is_some(),
        command: text.and_then(|t| Command::parse(t, bot_name).ok()),
        slash: text.is_some_and(|t| t.starts_with('/')),
        contact: m.contact().is_some(),
        reply: m.reply_to_message().is_some(),
        sharing_group: sharing::in_sharing_group(&app, &m),
        policy_tag: text.is_some_and(domain::policy::is_policy_caption),
        roster_tag: text.is_some_and(domain::roster::is_roster_caption),
    };
    let who = match &sender.0 {
        None => Who::Unknown,
        Some(p) if !p.active => Who::Inactive,
        Some(p) => Who::Active {
            dialogue: dialogue::decode(&app, p).await,
        },
    };
    let route = classify(&facts, who);
    if route == route::Route::Ignore {
        tracing::debug!("message not for the bot; ignored");
        return None;
    }
    if let Some(p) = sender.0.as_ref().filter(|p| p.active) {
        welcome_back(&app, p).await;
    }
    Some(route)
}

/// The active person who wrote (others' edits are not for the bot).
async fn active_sender(app: Ctx, sender: Sender) -> Option<Person> {
    let person = sender.0.filter(|p| p.active)?;
    welcome_back(&app, &person).await;
    Some(person)
}

/// The registered, active person who pressed a button; others get a short alert.
async fn identify_presser(bot: Bot, app: Ctx, q: CallbackQuery, sender: Sender) -> Option<Person> {
    let lang = app.lang_of_user(&q.from);
    let refusal = match sender.0 {
        Some(p) if p.active => return Some(p),
        Some(_) => tr(lang, K::Deactivated),
        None => tr(lang, K::AlertRegisterFirst),
    };
    if let Err(e) = answer::alert(&bot, &q, refusal.to_string(), true).await {
        tracing::warn!(error = %e, "cannot answer the button press");
    }
    None
}

/// A button whose data this version does not know (forged, or from an old message).
async fn stale_button(bot: Bot, app: Ctx, q: CallbackQuery, person: Person) -> HandlerResult {
    bot.answer_callback_query(q.id.clone())
        .text(tr(app.lang_of(&person), K::AlertStaleButton))
        .show_alert(true)
        .await?;
    Ok(())
}

/// Who wrote a message in a private chat; group messages are not for the bot.
fn private_sender(m: Message) -> Option<User> {
    if m.chat.is_private() { m.from } else { None }
}

/// The roster person who sent an update (`None`: not on the roster, or no sender); looked
/// up by the intake before the handler tree runs.
#[derive(Debug, Clone)]
struct Sender(Option<Person>);

/// Skips updates this service has processed before (redelivery, or another instance),
/// unless their answer may have been lost: those are handled again.
async fn claim_update(update: Update, app: Ctx, again: Redelivered) -> bool {
    match app
        .store
        .claim_update(i64::from(update.id.0), app.clock.now())
        .await
    {
        Ok(fresh) => {
            if !fresh && !again.again {
                tracing::debug!(update_id = update.id.0, "duplicate update skipped");
                again.claimed_elsewhere();
            }
            fresh || again.again
        }
        // Without the database the handler cannot work either, but it can tell the person.
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim update; handling it anyway");
            true
        }
    }
}

/// Writing to us again means he has unblocked the bot.
async fn welcome_back(app: &Ctx, person: &Person) {
    if person.unreachable
        && let Err(e) = app.store.set_unreachable(person.id, false).await
    {
        // He is marked reachable again at his next message.
        tracing::warn!(error = %e, "cannot mark the person reachable again");
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

/// The web view's address, `<web.public_url>/app/`, if one is configured.
pub fn web_app_url(config: &Config) -> Option<url::Url> {
    let base = config.web.public_url.as_deref()?.trim_end_matches('/');
    url::Url::parse(&format!("{base}/app/")).ok()
}

/// The chat's menu button opens the web view (when `web.public_url` is set).
pub async fn set_menu_button(bot: &Bot, config: &Config) -> Result<(), teloxide::RequestError> {
    let Some(url) = web_app_url(config) else {
        return Ok(());
    };
    let button = teloxide::types::MenuButton::WebApp {
        text: tr(config.language, K::WebAppButton).to_string(),
        web_app: teloxide::types::WebAppInfo { url },
    };
    bot.set_chat_menu_button().menu_button(button).await?;
    Ok(())
}

/// A task that panicked is a bug: say so, once, with the cause.
fn joined(task: &str, result: Result<(), tokio::task::JoinError>) {
    if let Err(e) = result {
        tracing::error!(error = %e, task, "task failed");
    }
}

/// How updates reach the bot.
pub enum Listener {
    /// Long polling; `timeout` is how long one getUpdates call waits.
    Polling { timeout: Duration },
    /// Telegram posts updates to `url`; the server listens on `listen` and takes only posts
    /// that carry `secret`.
    Webhook {
        url: url::Url,
        listen: std::net::SocketAddr,
        secret: String,
        max_connections: u8,
    },
    /// Receive nothing: only deliver the outbox (and archive), e.g. an extra worker.
    None,
}

/// The running bot: the intake (polling or webhook), the outbox sender and (if configured)
/// the archiver.
pub struct Service {
    intake: Option<tokio::task::JoinHandle<()>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    stop_intake: watch::Sender<bool>,
    stop: watch::Sender<bool>,
}

impl Service {
    /// Starts everything; fails only if the bot or the webhook cannot be set up.
    pub async fn start(bot: Bot, app: Ctx, listener: Listener) -> Result<Service, String> {
        let (stop, stop_rx) = watch::channel(false);
        let (stop_intake, intake_rx) = watch::channel(false);
        let mut workers = vec![tokio::spawn(sender::run(
            bot.clone(),
            app.clone(),
            stop_rx.clone(),
        ))];
        if let Some(dir) = app.config.logs.archive_dir.clone() {
            workers.push(tokio::spawn(archive::run(
                bot.clone(),
                app.clone(),
                dir,
                stop_rx,
            )));
        }
        let intake = match listener {
            Listener::None => None,
            Listener::Polling { timeout } => {
                let me = bot
                    .get_me()
                    .await
                    .map_err(|e| format!("getMe failed: {e}"))?;
                let intake = intake::Intake::new(bot, app, me, false);
                Some(tokio::spawn(intake::poll(intake, timeout, intake_rx)))
            }
            Listener::Webhook {
                url,
                listen,
                secret,
                max_connections,
            } => {
                let me = bot
                    .get_me()
                    .await
                    .map_err(|e| format!("getMe failed: {e}"))?;
                let intake = intake::Intake::new(bot, app, me, true);
                let hook = intake::Webhook {
                    url,
                    listen,
                    secret,
                    max_connections,
                };
                Some(intake::serve_webhook(intake, hook, intake_rx).await?)
            }
        };
        Ok(Service {
            intake,
            workers,
            stop_intake,
            stop,
        })
    }

    /// Stops taking updates, lets the ones in hand finish (they are confirmed), then stops
    /// the workers.
    pub async fn stop(self) {
        self.stop_intake.send_replace(true);
        if let Some(task) = self.intake {
            joined("intake", task.await);
        }
        // Fails only when every worker has ended already, which is what we want.
        self.stop.send_replace(true);
        for w in self.workers {
            joined("worker", w.await);
        }
    }

    /// Resolves if the intake ends by itself (e.g. the webhook server failed).
    pub async fn wait(&mut self) {
        match &mut self.intake {
            Some(task) => joined("intake", task.await),
            None => std::future::pending::<()>().await,
        }
    }
}
