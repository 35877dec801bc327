//! Persist replies in pieces (SPEC §25 "Persist replies in pieces"): a reply whose body is longer
//! than `Config::persist_piece_bytes` goes out as several `persistr` messages with the same `rid`,
//! each with `mtf` (more to follow) 1 except the last, which has `mtf` 0; the bodies concatenated
//! are the whole body. So a full contact list (1000 contacts, SPEC §8) never makes a frame near
//! the 256 KiB cap clients apply (SPEC §24). Shorter replies go out whole, without `mtf`, exactly
//! as before.
//!
//! Cuts fall just after a 0x1C separator (SPEC §4.5), never inside a key, a value or an escape
//! sequence, and where possible before the start of a record (a pair with the body's first key,
//! such as `ContactID`), so each piece also holds whole records. This module only cuts and
//! encodes; what goes into a reply is `persist.rs`'s.

use msim::protocol::kinds::ServerMessage;
use msim::protocol::message::MessageBuilder;
use msim::protocol::persist::PersistReply;

use crate::conn::Conn;

/// The dictionary pair separator (SPEC §4.5).
const SEP: u8 = 0x1C;

/// Sends `reply`, in pieces of at most about `piece` body bytes when it is longer (0 = never cut).
pub(super) fn send(conn: &Conn, reply: PersistReply, piece: usize) {
    if piece == 0 || reply.body.len() <= piece {
        conn.send(&ServerMessage::Persist(reply));
        return;
    }
    let cuts = cut_points(&reply.body, piece);
    let mut start = 0;
    for (i, &end) in cuts.iter().enumerate() {
        let more = i + 1 < cuts.len();
        let part = PersistReply { body: reply.body[start..end].to_vec(), ..reply.clone() };
        match with_mtf(&part, more) {
            Some(msg) => {
                if !conn.send(&msg) {
                    return; // the connection is gone (or closed for not reading): stop here
                }
            }
            // Unreachable for bodies the server built; sending the rest would corrupt the reply.
            None => return,
        }
        start = end;
    }
}

/// The encoded `persistr` for one piece, with `mtf` just before `body`.
fn with_mtf(part: &PersistReply, more: bool) -> Option<ServerMessage> {
    let whole = ServerMessage::Persist(part.clone()).encode().ok()?;
    let mut b = MessageBuilder::new();
    for (k, v) in whole.iter() {
        let k = std::str::from_utf8(k).ok()?;
        if k == "body" {
            b = b.int("mtf", u64::from(more));
        }
        b = b.raw(k, v);
    }
    b.finish().ok().map(ServerMessage::Unknown)
}

/// Where the pieces end (the last is `body.len()`). Each piece is at most `max` bytes unless a
/// single pair is longer (then it holds that pair alone); a cut before a record beats a cut
/// between two pairs of one record, as long as the piece keeps at least half of `max`. One pass
/// over the body, then a binary search per piece.
fn cut_points(body: &[u8], max: usize) -> Vec<usize> {
    let first_key: &[u8] = body.iter().position(|&b| b == b'=').map_or(&[], |e| &body[..=e]);
    let pairs: Vec<usize> =
        body.iter().enumerate().filter(|&(i, &b)| b == SEP && i + 1 < body.len()).map(|(i, _)| i + 1).collect();
    let records: Vec<usize> =
        pairs.iter().copied().filter(|&p| !first_key.is_empty() && body[p..].starts_with(first_key)).collect();
    // The last position in `v` within (lo, hi].
    let last_within =
        |v: &[usize], lo: usize, hi: usize| v[..v.partition_point(|&p| p <= hi)].last().copied().filter(|&p| p > lo);
    let mut cuts = Vec::new();
    let mut start = 0;
    while body.len() - start > max {
        let limit = start + max;
        let end = match last_within(&records, start, limit).filter(|&r| r - start >= max / 2) {
            Some(r) => r,
            None => match last_within(&pairs, start, limit) {
                Some(p) => p,
                // The pair at `start` alone is longer than `max`: it ends at the next pair.
                None => match pairs.get(pairs.partition_point(|&p| p <= start)) {
                    Some(&p) => p,
                    None => break,
                },
            },
        };
        cuts.push(end);
        start = end;
    }
    cuts.push(body.len());
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(body: &[u8], max: usize) -> Vec<&[u8]> {
        let mut start = 0;
        cut_points(body, max)
            .into_iter()
            .map(|end| {
                let p = &body[start..end];
                start = end;
                p
            })
            .collect()
    }

    #[test]
    fn cuts_follow_separators_prefer_records_and_rejoin_to_the_body() {
        let rec = |i: u32| format!("ContactID={i}\x1cUserName=user{i}\x1cGroupName=IM /1 Friends\x1c");
        let body: String = (1000..1100).map(rec).collect();
        let body = body.trim_end_matches('\x1c').as_bytes();
        for max in [40, 100, 1000, 4096] {
            let parts = pieces(body, max);
            assert_eq!(parts.concat(), body, "max {max}");
            assert!(parts.len() > 1);
            for (i, p) in parts.iter().enumerate() {
                assert!(p.len() <= max.max(rec(1000).len()), "max {max}: piece {i} is {} bytes", p.len());
                if i + 1 < parts.len() {
                    assert_eq!(p.last(), Some(&SEP), "max {max}: piece {i} does not end after a separator");
                }
                if max >= rec(1000).len() * 2 {
                    assert!(p.starts_with(b"ContactID="), "max {max}: piece {i} starts inside a record");
                }
            }
        }
        // Short enough: one piece, the body itself.
        assert_eq!(pieces(body, body.len()), [body]);
        // A pair longer than the piece size goes alone; no separator at all: one piece.
        let long = format!("A=1\x1cB={}\x1cC=3", "x".repeat(50));
        assert_eq!(
            pieces(long.as_bytes(), 10),
            [&b"A=1\x1c"[..], format!("B={}\x1c", "x".repeat(50)).as_bytes(), b"C=3"]
        );
        let single = format!("B={}", "x".repeat(50));
        assert_eq!(pieces(single.as_bytes(), 10), [single.as_bytes()]);
    }
}
