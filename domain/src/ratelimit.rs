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

/// Overall: evenly spaced sends (no bursts, which is what keeps a real server from
/// answering 429 when requests arrive with jitter). Per private chat per second and per
/// group (negative chat id) per minute: sliding windows.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    /// When the next send may go overall (a virtual schedule: a late wake-up does not push
    /// every later send back, so sleep overshoot does not erode the rate).
    next_global: Option<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            next_global: None,
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
        let global_wait = self
            .next_global
            .map(|next| next.saturating_duration_since(now))
            .unwrap_or(Duration::ZERO);
        (chat_wait, global_wait)
    }

    /// Records a message sent to `chat_id` at `now`.
    pub fn record(&mut self, chat_id: i64, now: Instant) {
        let spacing = SECOND / self.limits.global_per_second.max(1);
        self.next_global = Some(match self.next_global {
            // On schedule or a little late: keep the schedule.
            Some(next) if now <= next + spacing => next + spacing,
            // Idle for a while: start a new schedule from now.
            _ => now + spacing,
        });
        self.chats.entry(chat_id).or_default().push_back(now);
    }

    fn expire(&mut self, now: Instant) {
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
    fn overall_limit_spaces_sends_evenly_across_chats() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(LIMITS);
        rl.record(1, t0);
        // Three a second: one every 333 ms, whatever the chat.
        let (_, global) = rl.wait(2, t0 + Duration::from_millis(100));
        assert_eq!(
            global,
            Duration::from_nanos(333_333_333) - Duration::from_millis(100)
        );
        assert_eq!(
            rl.wait(2, t0 + Duration::from_millis(334)).1,
            Duration::ZERO
        );
        // Over any second no more than the limit goes out.
        let mut t = t0;
        let mut sent = 1;
        while t < t0 + SECOND {
            let (_, g) = rl.wait(sent + 1, t);
            if g.is_zero() {
                rl.record(sent + 1, t);
                sent += 1;
            }
            t += Duration::from_millis(1);
        }
        assert_eq!(sent, 3);
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
