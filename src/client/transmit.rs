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

use super::error::{Error, Result};
use super::events::{Event, MessageId};
use super::machine::{Machine, Phase};
use super::reconnect::QueuedIm;
use super::trace;
use crate::protocol::kinds::ClientMessage;

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

/// The machine's side of the send queue: what the IO layer takes and reports back, and how
/// messages get in (bounded, SPEC §24 "nothing blocks").
impl Machine {
    /// Next message for the socket, in order. The IO layer reports it back with
    /// [`Machine::transmitted`] once written or [`Machine::untransmitted`] if it never will be;
    /// until then its bytes count against [`super::Config::max_send_queue`].
    pub fn take_transmit(&mut self) -> Option<Transmit> {
        self.tx.take()
    }

    /// `cost` bytes taken with [`Machine::take_transmit`] reached the socket; `im` (the taken
    /// transmit's tag) is reported as sent.
    pub fn transmitted(&mut self, cost: usize, im: Option<PendingIm>) {
        self.tx.release(cost);
        if let Some(im) = im {
            self.emit(Event::ImSent { id: im.id });
        }
    }

    /// Transmits taken that will never be written, as (cost, IM) pairs: their connection ended.
    /// IMs among them go back to the front of the outbox, in order, when a reconnect follows;
    /// otherwise each is reported failed. Nothing is dropped silently.
    pub fn untransmitted(&mut self, lost: impl IntoIterator<Item = (usize, Option<PendingIm>)>) {
        let mut ims = Vec::new();
        for (cost, im) in lost {
            self.tx.release(cost);
            ims.extend(im);
        }
        let requeue = matches!(self.phase, Phase::WaitingToReconnect | Phase::Connecting) && self.signed_on_once;
        if requeue {
            for im in ims.into_iter().rev() {
                self.outbox.push_front(QueuedIm { id: im.id, who: im.who, markup: im.markup });
            }
        } else {
            for im in ims {
                let error = Error::Network("the connection ended before the IM was written".into());
                self.emit(Event::ImFailed { id: im.id, error });
            }
        }
    }

    /// Takes every queued transmit at once (the connection they were meant for is gone); report
    /// them with [`Machine::untransmitted`].
    pub fn drain_transmits(&mut self) -> Vec<(usize, Option<PendingIm>)> {
        let mut out = Vec::new();
        while let Some(t) = self.tx.take() {
            out.push((t.cost(), t.im));
        }
        out
    }

    pub fn has_transmits(&self) -> bool {
        !self.tx.is_empty()
    }

    /// Events to deliver or socket actions to carry out.
    pub fn has_events_or_actions(&self) -> bool {
        !self.events.is_empty() || !self.io.is_empty()
    }

    /// Next bytes to write, counted as written at once (for callers that write synchronously,
    /// such as tests and fuzzers).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let t = self.tx.take()?;
        self.transmitted(t.cost(), t.im);
        Some(t.bytes)
    }

    /// Bytes waiting for the socket or for a connection (the send queue's fill, see
    /// [`super::Config::max_send_queue`]).
    pub fn queued_bytes(&self) -> usize {
        self.tx.bytes() + self.outbox.bytes()
    }

    /// Whether the send queue has room for another operation.
    pub(crate) fn check_room(&self) -> Result<()> {
        if self.queued_bytes() >= self.cfg.max_send_queue {
            return Err(Error::QueueFull);
        }
        Ok(())
    }

    /// Encodes and queues a message (with its trace).
    pub(crate) fn send(&mut self, msg: ClientMessage) -> Result<()> {
        self.send_tagged(msg, None)
    }

    /// Encodes and queues a message; `im` is reported when it is written. Refused with
    /// `QueueFull` while the send queue is at its cap, and with `InvalidArgument` when it would
    /// exceed the frame cap (a server closes the connection on such a frame, SPEC §24).
    pub(crate) fn send_tagged(&mut self, msg: ClientMessage, im: Option<PendingIm>) -> Result<()> {
        self.check_room()?;
        let m = msg.encode().map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let m = self.sesskey_as_received(m);
        let bytes = m.encode();
        if bytes.len() > self.cfg.max_frame {
            return Err(Error::InvalidArgument(format!(
                "the message would be {} bytes, over the {}-byte frame cap",
                bytes.len(),
                self.cfg.max_frame
            )));
        }
        if self.cfg.trace {
            self.emit(Event::Trace { dir: super::events::Direction::Out, text: trace::redact(&m) });
        }
        self.tx.push(Transmit { bytes, im });
        Ok(())
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
