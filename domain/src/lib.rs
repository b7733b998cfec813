//! The rules of zhucun as plain functions over plain types. No I/O, no clock reads:
//! callers pass "now" and "today" in, so every rule is unit-testable.

pub mod attendance;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod dates;
pub mod leave;
pub mod notify;
pub mod phone;
pub mod policy;
pub mod ratelimit;
pub mod roles;
pub mod roster;
pub mod routing;
pub mod search;
pub mod sharing;
pub mod supervision;
pub mod tutoring;
pub mod units;
pub mod updates;
pub mod worklog;

pub use clock::{Clock, ManualClock, SystemClock};
pub use roles::{Role, Roles};
pub use units::{Level, UnitPath};
