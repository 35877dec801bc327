//! Persist replies in pieces (SPEC §25 "Persist replies in pieces"): a server may split one reply
//! over several `persistr` messages with the same `rid`, each with `mtf` (more to follow)
//! non-zero except the last; the bodies are concatenated and the whole is handled as one reply.
//! Large contact lists come this way.
//!
//! This module owns the partial bodies and their bounds, and hands the machine whole replies
//! ([`Machine::on_persist_piece`]); what a reply means is `incoming.rs`'s. Bounds, so that a server cannot make the client
//! grow without limit by never sending the last piece:
//! - one reply holds at most [`Config::max_reply_bytes`] (default [`DEFAULT_MAX_REPLY_BYTES`]);
//! - all replies being put together hold at most twice that, and at most [`MAX_ASSEMBLING`] rids
//!   are being put together at once;
//! - a reply whose next piece does not come within the request timeout is given up.
//!
//! Past a bound the reply fails (its request with a protocol error), what it held is released at
//! once, and its remaining pieces are swallowed (up to [`MAX_DROPPED`] such rids are remembered).
//!
//! [`Config::max_reply_bytes`]: super::config::Config::max_reply_bytes

use std::collections::VecDeque;
use std::time::Instant;

use crate::protocol::kinds::persist_more_to_follow;
use crate::protocol::persist::PersistReply;
use crate::protocol::Message;

use super::error::Error;
use super::events::{Event, RequestId};
use super::machine::Machine;

/// Default cap on one reply put together from pieces: a full contact list (MaxContacts=1000,
/// SPEC §8) with every key of §10.1 filled is a few hundred KiB; 4 MiB leaves ten times that.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// Replies being put together at once: sign-on asks for five things (SPEC §6.6) and a host a few
/// more; a server that starts more pieced replies than this is not answering requests.
pub const MAX_ASSEMBLING: usize = 8;

/// Rids whose remaining pieces are swallowed after their reply failed. Past it the oldest is
/// forgotten (its late pieces would then make a reply no request waits for: reported, harmless).
pub const MAX_DROPPED: usize = 64;

/// What became of one received `persistr`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A whole reply: a message without more to follow (the earlier pieces' bodies, if any, in
    /// front of its own). `pieces` is how many messages it came in.
    Complete { reply: PersistReply, pieces: u32 },
    /// Kept: more pieces follow.
    Kept,
    /// A piece of a reply that already failed: ignored.
    Swallowed,
    /// Past a bound: the reply for `rid` fails with `text`; what it held is released.
    Failed { rid: RequestId, text: String },
}

#[derive(Debug)]
struct Partial {
    rid: RequestId,
    body: Vec<u8>,
    pieces: u32,
    /// The next piece must come before this.
    deadline: Instant,
}

/// The replies being put together; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Pieces {
    partial: Vec<Partial>,
    /// Bytes held by `partial`.
    bytes: usize,
    dropped: VecDeque<RequestId>,
}

impl Pieces {
    /// Takes one `persistr`: `more` is its `mtf` flag, `cap` the per-reply byte cap, `deadline`
    /// when the next piece is due.
    pub(crate) fn push(&mut self, mut reply: PersistReply, more: bool, cap: usize, deadline: Instant) -> Piece {
        let rid = reply.rid;
        if let Some(i) = self.dropped.iter().position(|r| *r == rid) {
            if !more {
                self.dropped.remove(i);
            }
            return Piece::Swallowed;
        }
        let at = self.partial.iter().position(|p| p.rid == rid);
        let Some(i) = at else {
            if !more {
                return Piece::Complete { reply, pieces: 1 };
            }
            if self.partial.len() >= MAX_ASSEMBLING {
                return self.fail(rid, format!("more than {MAX_ASSEMBLING} replies in pieces at once (SPEC §25)"));
            }
            if let Err(text) = self.room(0, reply.body.len(), cap) {
                return self.fail(rid, text);
            }
            self.bytes += reply.body.len();
            self.partial.push(Partial { rid, body: std::mem::take(&mut reply.body), pieces: 1, deadline });
            return Piece::Kept;
        };
        if let Err(text) = self.room(self.partial[i].body.len(), reply.body.len(), cap) {
            self.release(i);
            return self.fail(rid, text);
        }
        self.bytes += reply.body.len();
        let p = &mut self.partial[i];
        p.body.extend_from_slice(&reply.body);
        p.pieces += 1;
        p.deadline = deadline;
        if more {
            return Piece::Kept;
        }
        let p = self.release(i);
        reply.body = p.body;
        Piece::Complete { reply, pieces: p.pieces }
    }

    /// Whether `add` more bytes fit a reply that holds `has`.
    fn room(&self, has: usize, add: usize, cap: usize) -> Result<(), String> {
        if has + add > cap {
            return Err(format!("a reply in pieces grew past the {cap}-byte cap (SPEC §25); its pieces were dropped"));
        }
        if self.bytes + add > cap.saturating_mul(2) {
            let all = cap.saturating_mul(2);
            return Err(format!("replies in pieces grew past {all} bytes together (SPEC §25); this one was dropped"));
        }
        Ok(())
    }

    fn release(&mut self, i: usize) -> Partial {
        let p = self.partial.swap_remove(i);
        self.bytes -= p.body.len();
        if self.partial.is_empty() {
            self.partial = Vec::new();
        }
        p
    }

    /// Swallows `rid`'s later pieces and reports its failure.
    fn fail(&mut self, rid: RequestId, text: String) -> Piece {
        self.drop_rest(rid);
        Piece::Failed { rid, text }
    }

    fn drop_rest(&mut self, rid: RequestId) {
        if self.dropped.len() >= MAX_DROPPED {
            self.dropped.pop_front();
        }
        self.dropped.push_back(rid);
    }

    /// Gives up the reply of `rid` (its request failed or timed out): released now, later pieces
    /// swallowed. Nothing happens for a rid that is not being put together.
    pub(crate) fn forget(&mut self, rid: RequestId) {
        if let Some(i) = self.partial.iter().position(|p| p.rid == rid) {
            self.release(i);
            self.drop_rest(rid);
        }
    }

    /// Gives up every reply whose next piece is overdue; returns their rids.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<RequestId> {
        let due: Vec<RequestId> = self.partial.iter().filter(|p| p.deadline <= now).map(|p| p.rid).collect();
        for rid in &due {
            self.forget(*rid);
        }
        due
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.partial.iter().map(|p| p.deadline).min()
    }

    /// The connection ended: everything goes.
    pub(crate) fn clear(&mut self) {
        *self = Pieces::default();
    }

    /// Bytes held for replies not complete yet.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Machine {
    /// One `persistr` from the server: kept while more pieces follow, handled once whole.
    pub(crate) fn on_persist_piece(&mut self, reply: PersistReply, raw: &Message, now: Instant) {
        let more = match persist_more_to_follow(raw) {
            Ok(m) => m,
            Err(e) => {
                let rid = reply.rid;
                self.pieces.forget(rid);
                return self.reply_failed(rid, Error::Protocol(format!("bad reply: {e}")), now);
            }
        };
        let deadline = now + self.cfg.request_timeout;
        match self.pieces.push(reply, more, self.cfg.max_reply_bytes, deadline) {
            Piece::Complete { reply, pieces: 1 } => self.on_persist(reply, Some(raw), now),
            // The last piece's message is not the reply: traces of it show the whole.
            Piece::Complete { reply, .. } => self.on_persist(reply, None, now),
            Piece::Kept | Piece::Swallowed => {}
            Piece::Failed { rid, text } => self.reply_failed(rid, Error::Protocol(text), now),
        }
    }

    /// The reply for `rid` will not come whole: its request fails, or, when nobody asked (a
    /// server-chosen rid), the host hears of it.
    pub(crate) fn reply_failed(&mut self, rid: RequestId, error: Error, now: Instant) {
        match self.requests.take(rid) {
            Some(purpose) => self.fail_request(rid, purpose, error, false, now),
            None => self.emit(Event::Error { error }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::persist::Cmd;
    use std::time::Duration;

    fn piece(rid: u32, body: &[u8]) -> PersistReply {
        PersistReply { cmd: Cmd(257), dsn: 0, uid: 1, lid: 1, rid, body: body.to_vec() }
    }

    #[test]
    fn pieces_of_one_rid_are_joined_in_order_and_other_rids_pass_through() {
        let t = Instant::now();
        let mut p = Pieces::default();
        assert_eq!(p.push(piece(5, b"ContactID=1\x1c"), true, 100, t), Piece::Kept);
        // Another rid in between, whole.
        let whole = p.push(piece(6, b"x=1"), false, 100, t);
        assert_eq!(whole, Piece::Complete { reply: piece(6, b"x=1"), pieces: 1 });
        assert_eq!(p.push(piece(5, b"ContactID=2"), true, 100, t), Piece::Kept);
        assert_eq!(p.bytes(), 23);
        let done = p.push(piece(5, b"\x1cContactID=3"), false, 100, t);
        assert_eq!(done, Piece::Complete { reply: piece(5, b"ContactID=1\x1cContactID=2\x1cContactID=3"), pieces: 3 });
        assert_eq!((p.bytes(), p.next_deadline()), (0, None));
    }

    #[test]
    fn a_reply_past_the_cap_fails_once_and_its_remaining_pieces_are_swallowed() {
        let t = Instant::now();
        let mut p = Pieces::default();
        assert_eq!(p.push(piece(5, &[b'a'; 60]), true, 100, t), Piece::Kept);
        assert!(matches!(p.push(piece(5, &[b'a'; 41]), true, 100, t), Piece::Failed { rid: 5, .. }));
        assert_eq!(p.bytes(), 0, "released at once");
        assert_eq!(p.push(piece(5, b"more"), true, 100, t), Piece::Swallowed);
        assert_eq!(p.push(piece(5, b"last"), false, 100, t), Piece::Swallowed);
        // After its last piece the rid is forgotten.
        assert!(matches!(p.push(piece(5, b"x"), false, 100, t), Piece::Complete { .. }));
        // A first piece alone over the cap.
        assert!(matches!(p.push(piece(7, &[b'a'; 101]), true, 100, t), Piece::Failed { rid: 7, .. }));
    }

    #[test]
    fn rids_in_flight_are_capped_in_number_and_in_bytes_together() {
        let t = Instant::now();
        let mut p = Pieces::default();
        for rid in 0..MAX_ASSEMBLING as u32 {
            assert_eq!(p.push(piece(rid, b"k=v"), true, 100, t), Piece::Kept);
        }
        assert!(matches!(p.push(piece(99, b"k=v"), true, 100, t), Piece::Failed { rid: 99, .. }));
        let mut p = Pieces::default();
        assert_eq!(p.push(piece(1, &[b'a'; 90]), true, 100, t), Piece::Kept);
        assert_eq!(p.push(piece(2, &[b'a'; 90]), true, 100, t), Piece::Kept);
        assert!(matches!(p.push(piece(3, &[b'a'; 30]), true, 100, t), Piece::Failed { rid: 3, .. }));
        assert_eq!(p.bytes(), 180);
    }

    #[test]
    fn an_overdue_reply_is_given_up_and_released() {
        let t = Instant::now();
        let mut p = Pieces::default();
        p.push(piece(1, b"a=1"), true, 100, t + Duration::from_secs(5));
        p.push(piece(2, b"b=1"), true, 100, t + Duration::from_secs(9));
        assert_eq!(p.next_deadline(), Some(t + Duration::from_secs(5)));
        assert_eq!(p.expire(t + Duration::from_secs(6)), [1]);
        assert_eq!((p.bytes(), p.push(piece(1, b"late"), false, 100, t)), (3, Piece::Swallowed));
        p.clear();
        assert_eq!((p.bytes(), p.next_deadline()), (0, None));
    }
}
