//! Registration: binding a Telegram account to a roster entry, by shared contact or by a
//! one-time invite code. Until registered, a person can do nothing else.

use crate::commands::{help_text, say};
use crate::texts::{K, fill, role_names, tr};
use crate::{Ctx, HandlerResult};
use domain::config::Lang;
use storage::{BindFailure, Person, RegisterError, RegisterOutcome};
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, Contact, KeyboardButton, KeyboardMarkup, KeyboardRemove, User,
};

fn contact_keyboard(lang: Lang) -> KeyboardMarkup {
    KeyboardMarkup::new(vec![vec![
        KeyboardButton::new(tr(lang, K::ShareContactButton)).request(ButtonRequest::Contact),
    ]])
    .resize_keyboard()
    .one_time_keyboard()
}

pub async fn ask_for_contact(bot: Bot, app: Ctx, msg: Message, user: User) -> HandlerResult {
    let lang = app.lang_of_user(&user);
    bot.send_message(msg.chat.id, tr(lang, K::AskContact))
        .reply_markup(contact_keyboard(lang))
        .await?;
    Ok(())
}

pub async fn by_contact(
    bot: Bot,
    app: Ctx,
    msg: Message,
    user: User,
    contact: Contact,
) -> HandlerResult {
    let lang = app.lang_of_user(&user);
    // Only one's own contact proves ownership of the number.
    if contact.user_id != Some(user.id) {
        bot.send_message(msg.chat.id, tr(lang, K::NotOwnContact))
            .reply_markup(contact_keyboard(lang))
            .await?;
        return Ok(());
    }
    let Ok(phone) = domain::phone::normalize(&contact.phone_number) else {
        let text = fill(
            tr(lang, K::NotOnRoster),
            &[("phone", &contact.phone_number)],
        );
        bot.send_message(msg.chat.id, text).await?;
        return Ok(());
    };
    let outcome = app
        .store
        .register_by_phone(&phone, user.id.0 as i64, msg.chat.id.0, app.clock.now())
        .await;
    reply_outcome(&bot, &app, &msg, lang, outcome, &phone).await
}

pub async fn by_invite(
    bot: Bot,
    app: Ctx,
    msg: Message,
    user: User,
    code: String,
) -> HandlerResult {
    let code = code.trim();
    if code.is_empty() {
        return ask_for_contact(bot, app, msg, user).await;
    }
    let lang = app.lang_of_user(&user);
    let outcome = app
        .store
        .register_by_invite(code, user.id.0 as i64, msg.chat.id.0, app.clock.now())
        .await;
    reply_outcome(&bot, &app, &msg, lang, outcome, "").await
}

async fn reply_outcome(
    bot: &Bot,
    app: &Ctx,
    msg: &Message,
    lang: Lang,
    outcome: Result<RegisterOutcome, BindFailure>,
    phone: &str,
) -> HandlerResult {
    let refusal = match outcome {
        Ok(RegisterOutcome::Registered(person)) => {
            tracing::info!(person_id = person.id, "registered");
            let lang = app.lang_of(&person);
            let unit = person.unit.to_string();
            let roles = role_names(lang, person.roles);
            let text = fill(
                tr(lang, K::Welcome),
                &[("name", &person.name), ("unit", &unit), ("roles", &roles)],
            );
            bot.send_message(msg.chat.id, text)
                .reply_markup(KeyboardRemove::new())
                .await?;
            return Ok(());
        }
        Ok(RegisterOutcome::AlreadyRegistered(person)) => {
            let text = say(
                app,
                &person,
                K::AlreadyRegistered,
                &[("name", &person.name)],
            );
            bot.send_message(msg.chat.id, text)
                .reply_markup(KeyboardRemove::new())
                .await?;
            return Ok(());
        }
        Err(BindFailure::Storage(e)) => {
            tracing::error!(error = %e, "registration not saved");
            bot.send_message(msg.chat.id, tr(lang, K::DbUnavailable))
                .await?;
            return Ok(());
        }
        Err(BindFailure::Refused(why)) => why,
    };
    let key = match refusal {
        RegisterError::NotOnRoster => K::NotOnRoster,
        RegisterError::Deactivated => K::Deactivated,
        RegisterError::PersonTaken => K::PersonTaken,
        RegisterError::AccountTaken => K::AccountTaken,
        RegisterError::InviteUnknown => K::InviteUnknown,
        RegisterError::InviteUsed => K::InviteUsed,
        RegisterError::InviteExpired => K::InviteExpired,
    };
    let text = fill(tr(lang, key), &[("phone", phone)]);
    let offer_contact = matches!(
        refusal,
        RegisterError::InviteUnknown | RegisterError::InviteUsed | RegisterError::InviteExpired
    );
    let req = bot.send_message(msg.chat.id, text);
    if offer_contact {
        req.reply_markup(contact_keyboard(lang)).await?;
    } else {
        req.await?;
    }
    Ok(())
}

pub async fn refuse_inactive(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    bot.send_message(msg.chat.id, say(&app, &person, K::Deactivated, &[]))
        .reply_markup(KeyboardRemove::new())
        .await?;
    Ok(())
}

pub async fn already_registered(bot: Bot, app: Ctx, msg: Message, person: Person) -> HandlerResult {
    let text = format!(
        "{}\n\n{}",
        say(
            &app,
            &person,
            K::AlreadyRegistered,
            &[("name", &person.name)]
        ),
        help_text(app.lang_of(&person))
    );
    bot.send_message(msg.chat.id, text).await?;
    Ok(())
}

pub async fn already_registered_contact(
    bot: Bot,
    app: Ctx,
    msg: Message,
    person: Person,
) -> HandlerResult {
    let text = say(
        &app,
        &person,
        K::AlreadyRegistered,
        &[("name", &person.name)],
    );
    bot.send_message(msg.chat.id, text)
        .reply_markup(KeyboardRemove::new())
        .await?;
    Ok(())
}
