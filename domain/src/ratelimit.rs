//! Telegram's sending limits as a pure scheduler: given the sends so far, how long to wait
//! before the next message to a chat. Time is passed in, so it is unit-testable.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub global_per_second: u32,
    pub per_chat_per_second: u32,
    pub per_group_per_minute: u32,
}

/// Sliding-window limits: overall per second, per private chat per second, per group
/// (negative chat id) per minute.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    global: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            global: VecDeque::new(),
            chats: HashMap::new(),
        }
    }

    fn chat_window(&self, chat_id: i64) -> (Duration, usize) {
        if chat_id < 0 {
            (MINUTE, self.limits.per_group_per_minute as usize)
        } else {
            (SECOND, self.limits.per_chat_per_second as usize)
        }
    }

    /// How long until one more message may go to `chat_id` (zero: now). Split into the
    /// wait caused by the chat's own limit and by the overall limit.
    pub fn wait(&mut self, chat_id: i64, now: Instant) -> (Duration, Duration) {
        self.expire(now);
        let (window, cap) = self.chat_window(chat_id);
        let chat_wait = match self.chats.get(&chat_id) {
            Some(sent) if sent.len() >= cap => {
                let oldest = sent[sent.len() - cap];
                (oldest + window).saturating_duration_since(now)
            }
            _ => Duration::ZERO,
        };
        let cap = self.limits.global_per_second as usize;
        let global_wait = if self.global.len() >= cap {
            (self.global[self.global.len() - cap] + SECOND).saturating_duration_since(now)
        } else {
            Duration::ZERO
        };
        (chat_wait, global_wait)
    }

    /// Records a message sent to `chat_id` at `now`.
    pub fn record(&mut self, chat_id: i64, now: Instant) {
        self.global.push_back(now);
        self.chats.entry(chat_id).or_default().push_back(now);
    }

    fn expire(&mut self, now: Instant) {
        while self
            .global
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= SECOND)
        {
            self.global.pop_front();
        }
        self.chats.retain(|chat_id, sent| {
            let window = if *chat_id < 0 { MINUTE } else { SECOND };
            while sent
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= window)
            {
                sent.pop_front();
            }
            !sent.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        global_per_second: 3,
        per_chat_per_second: 1,
        per_group_per_minute: 2,
    };

    #[test]
    fn private_chat_gets_one_message_a_second() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(LIMITS);
        assert_eq!(rl.wait(1, t0), (Duration::ZERO, Duration::ZERO));
        rl.record(1, t0);
        let (chat, _) = rl.wait(1, t0 + Duration::from_millis(300));
        assert_eq!(chat, Duration::from_millis(700));
        assert_eq!(
            rl.wait(2, t0 + Duration::from_millis(300)).0,
            Duration::ZERO
        );
        assert_eq!(rl.wait(1, t0 + SECOND).0, Duration::ZERO);
    }

    #[test]
    fn overall_limit_spans_chats() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(LIMITS);
        for chat in 1..=3 {
            rl.record(chat, t0 + Duration::from_millis(chat as u64 * 10));
        }
        let (_, global) = rl.wait(4, t0 + Duration::from_millis(100));
        assert_eq!(global, Duration::from_millis(910));
        assert_eq!(
            rl.wait(4, t0 + Duration::from_millis(1010)).1,
            Duration::ZERO
        );
    }

    #[test]
    fn groups_get_their_per_minute_budget() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(LIMITS);
        rl.record(-100, t0);
        rl.record(-100, t0 + Duration::from_secs(2));
        let (chat, _) = rl.wait(-100, t0 + Duration::from_secs(3));
        assert_eq!(chat, Duration::from_secs(57));
        assert_eq!(
            rl.wait(-100, t0 + Duration::from_secs(60)).0,
            Duration::ZERO
        );
    }
}
