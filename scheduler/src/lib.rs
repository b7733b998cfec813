//! Time-driven jobs of zhucun. Each job is a plain async function over the store, the
//! configuration and "now", so the cron loop, `zhucun jobs run NAME` and tests call the same
//! code; the storage calls it makes do the SQL and queue notifications in one transaction.

pub mod jobs;
pub mod ticks;
