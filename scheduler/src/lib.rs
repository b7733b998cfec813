//! Time-driven jobs of zhucun. Each job is a plain async function over the store, the
//! configuration and "now", so the cron loop (`runner`), `zhucun jobs run NAME` and tests
//! call the same code; the storage calls it makes do the SQL and queue notifications in one
//! transaction. `ticks` decides when a job is due (pure), `runner` claims and runs it.

pub mod jobs;
pub mod reminders;
pub mod runner;
pub mod supervision;
pub mod ticks;
pub mod updates;

pub use runner::{Job, Ran, Scheduler};
