//! What the machine has queued for the socket, bounded in bytes, and which of it are IMs whose
//! fate (`ImSent` once written, `ImFailed` or a re-send when the connection goes) is still open.
//!
//! The IO layer takes transmits in order ([`super::Machine::take_transmit`]), writes them without
//! blocking, and reports back: [`super::Machine::transmitted`] for what reached the socket,
//! [`super::Machine::untransmitted`] for what never will (the connection ended first). Until then
//! their bytes still count against the cap ([`super::Config::max_send_queue`]), so a server that
//! stops reading makes operations fail with `QueueFull` at once instead of growing memory or
//! blocking the caller (SPEC §24 "nothing blocks").

use std::collections::VecDeque;

use super::events::MessageId;

/// Default cap of bytes waiting for the socket (and IMs waiting for a connection) per session:
/// room for a few maximal IMs (a frame is ≤ 256 KiB) or thousands of chat lines, while a session
/// whose server stopped reading holds at most this much.
pub const DEFAULT_MAX_SEND_QUEUE: usize = 2 * 1024 * 1024;

/// An IM on its way out: enough to report it, or to send it again after a reconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingIm {
    pub id: MessageId,
    /// Target as the host named it (uid digits once resolved).
    pub who: String,
    /// MSIM markup.
    pub markup: String,
}

impl PendingIm {
    pub(crate) fn bytes(&self) -> usize {
        self.who.len() + self.markup.len()
    }
}

/// One encoded message for the socket.
#[derive(Debug)]
pub struct Transmit {
    pub bytes: Vec<u8>,
    /// Set for an IM: report it when these bytes are written.
    pub im: Option<PendingIm>,
}

impl Transmit {
    /// Bytes this transmit counts against the cap.
    pub(crate) fn cost(&self) -> usize {
        self.bytes.len() + self.im.as_ref().map_or(0, PendingIm::bytes)
    }
}

/// FIFO of transmits with a byte count that includes what the IO layer has taken but not yet
/// reported back.
#[derive(Debug, Default)]
pub struct TxQueue {
    queue: VecDeque<Transmit>,
    /// Bytes of `queue` plus bytes taken and not yet reported.
    bytes: usize,
}

impl TxQueue {
    pub(crate) fn push(&mut self, t: Transmit) {
        self.bytes += t.cost();
        self.queue.push_back(t);
    }

    /// Takes the next transmit; its cost stays counted until [`TxQueue::release`].
    pub(crate) fn take(&mut self) -> Option<Transmit> {
        self.queue.pop_front()
    }

    /// The IO layer is done with `cost` bytes (written or dropped).
    pub(crate) fn release(&mut self, cost: usize) {
        self.bytes = self.bytes.saturating_sub(cost);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: usize, im: bool) -> Transmit {
        let im = im.then(|| PendingIm { id: 1, who: "7".into(), markup: "hey".into() });
        Transmit { bytes: vec![b'x'; n], im }
    }

    #[test]
    fn bytes_count_until_the_io_layer_releases_them() {
        let mut q = TxQueue::default();
        q.push(t(10, false));
        q.push(t(20, true));
        assert_eq!(q.bytes(), 10 + 20 + 4);
        let a = q.take().unwrap();
        assert_eq!(q.bytes(), 34, "taken but not written still counts");
        q.release(a.cost());
        assert_eq!(q.bytes(), 24);
        let b = q.take().unwrap();
        q.release(b.cost());
        assert_eq!(q.bytes(), 0);
        assert!(q.is_empty());
    }
}
