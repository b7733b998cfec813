//! End-to-end tests: the real teloxide dispatcher, handlers and storage, talking to a fake
//! Telegram Bot API on loopback; and the `zhucun` binary run as an operator would.

mod support;

mod browser;
mod cli;
mod delivery;
mod faults;
mod jobs;
mod leave;
mod outage;
mod policy;
mod registration;
mod roster;
mod sharing;
mod supervision;
mod tutoring;
mod updates;
mod web;
mod worklog;
