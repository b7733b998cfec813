//! Sliding-window rate limiting like Telegram's flood control.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Limits enforced on message-producing methods (`send*` except sendChatAction,
/// `copyMessage(s)`, `forwardMessage(s)`). Exceeding one answers 429 with `retry_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Messages per second over all chats (Telegram: 30).
    pub global_per_sec: u32,
    /// Messages per second to one private chat (positive chat id; Telegram: 1).
    pub private_chat_per_sec: u32,
    /// Messages per minute to one group/supergroup (negative chat id; Telegram: 20).
    pub group_per_min: u32,
    /// Requests within `slack` of a window's end no longer count (absorbs network jitter,
    /// so a client pacing exactly at the limit, like teloxide's `Throttle`, is not refused).
    pub slack: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            global_per_sec: 30,
            private_chat_per_sec: 1,
            group_per_min: 20,
            slack: Duration::from_millis(50),
        }
    }
}

#[derive(Default)]
pub(crate) struct RateState {
    global: VecDeque<Instant>,
    per_chat: HashMap<i64, VecDeque<Instant>>,
}

/// Seconds to wait until the oldest counted event leaves the window (at least 1).
fn retry_after(oldest: Instant, window: Duration, now: Instant) -> u32 {
    let left = (oldest + window).saturating_duration_since(now);
    (left.as_millis().div_ceil(1000) as u32).max(1)
}

fn prune(q: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

impl RateState {
    /// Counts a message to `chat_id`, or returns `retry_after` seconds if a limit is hit.
    pub(crate) fn check(&mut self, limits: &RateLimits, chat_id: Option<i64>) -> Result<(), u32> {
        let now = Instant::now();
        let sec = Duration::from_secs(1).saturating_sub(limits.slack);
        prune(&mut self.global, sec, now);
        if self.global.len() >= limits.global_per_sec as usize {
            return Err(retry_after(self.global[0], sec, now));
        }
        if let Some(chat) = chat_id {
            let (window, max) = if chat < 0 {
                (
                    Duration::from_secs(60).saturating_sub(limits.slack),
                    limits.group_per_min,
                )
            } else {
                (sec, limits.private_chat_per_sec)
            };
            let q = self.per_chat.entry(chat).or_default();
            prune(q, window, now);
            if q.len() >= max as usize {
                return Err(retry_after(q[0], window, now));
            }
            q.push_back(now);
        }
        self.global.push_back(now);
        Ok(())
    }
}
