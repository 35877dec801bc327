//! Automatic reconnect: the backoff policy and the queue of IMs waiting for a connection.
//!
//! An IM given to the session while it is connecting or reconnecting waits in the [`Outbox`]; it
//! is sent after sign-on (then reported as sent) or failed when the session gives up (reported as
//! failed). Nothing is dropped silently.

use std::collections::VecDeque;
use std::time::Duration;

use super::events::MessageId;

/// Cap on queued IMs per session: a host that keeps sending while the server is down gets
/// `QueueFull` instead of unbounded memory. 256 covers a long outage of a chatty user.
pub const MAX_OUTBOX: usize = 256;

/// When and how often to reconnect after a signed-on session loses its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    pub enabled: bool,
    /// Delay before the first attempt; doubled after every failed attempt.
    pub initial_delay: Duration,
    /// Upper bound of the delay.
    pub max_delay: Duration,
    /// Attempts before giving up; 0 = never give up.
    pub max_attempts: u32,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: false,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_attempts: 10,
        }
    }
}

impl ReconnectPolicy {
    /// Delay before attempt number `attempt` (1-based), or `None` when the policy gives up.
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        if !self.enabled || (self.max_attempts != 0 && attempt > self.max_attempts) {
            return None;
        }
        let shift = attempt.saturating_sub(1).min(20);
        Some(self.initial_delay.saturating_mul(1u32 << shift).min(self.max_delay))
    }
}

/// One IM waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedIm {
    pub id: MessageId,
    /// Who it goes to, as given (uid digits, username or e-mail).
    pub who: String,
    /// MSIM markup, already converted from HTML.
    pub markup: String,
}

impl QueuedIm {
    fn bytes(&self) -> usize {
        self.who.len() + self.markup.len()
    }
}

/// FIFO of IMs waiting for sign-on; bounded by [`MAX_OUTBOX`] here and, with the transmit queue,
/// in bytes by the machine (`Config::max_send_queue`).
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<QueuedIm>,
    bytes: usize,
}

impl Outbox {
    /// Queues an IM; `false` when full.
    pub fn push(&mut self, im: QueuedIm) -> bool {
        if self.queue.len() >= MAX_OUTBOX {
            return false;
        }
        self.bytes += im.bytes();
        self.queue.push_back(im);
        true
    }

    /// Puts an IM back at the front (it was taken for sending but the connection went away).
    pub fn push_front(&mut self, im: QueuedIm) {
        self.bytes += im.bytes();
        self.queue.push_front(im);
    }

    pub fn take_all(&mut self) -> VecDeque<QueuedIm> {
        self.bytes = 0;
        std::mem::take(&mut self.queue)
    }

    /// Bytes of text held (targets and markup).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_gives_up_after_max_attempts() {
        let p = ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
            max_attempts: 4,
        };
        let got: Vec<_> = (1..=5).map(|a| p.delay(a)).collect();
        let s = |n| Some(Duration::from_secs(n));
        assert_eq!(got, vec![s(1), s(2), s(4), s(5), None]);
        assert_eq!(ReconnectPolicy { enabled: false, ..p }.delay(1), None);
        let forever = ReconnectPolicy { max_attempts: 0, ..p };
        assert_eq!(forever.delay(1000), s(5));
    }

    #[test]
    fn outbox_is_fifo_and_bounded() {
        let mut o = Outbox::default();
        for id in 0..MAX_OUTBOX as u64 {
            assert!(o.push(QueuedIm { id, who: "1".into(), markup: "x".into() }));
        }
        assert!(!o.push(QueuedIm { id: 999, who: "1".into(), markup: "x".into() }));
        let all: Vec<_> = o.take_all().into_iter().map(|m| m.id).collect();
        assert_eq!(all, (0..MAX_OUTBOX as u64).collect::<Vec<_>>());
        assert!(o.is_empty());
    }
}
