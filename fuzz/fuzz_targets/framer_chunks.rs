//! Framer: any chunking of a byte stream gives the same frames as feeding it all at once.
//!
//! Input layout: byte 0 picks the cap (small, so the TooLarge path is reached with short inputs),
//! byte 1 the number of chunk-size bytes that follow (1..=8); the rest is the stream, cut into
//! chunks of those sizes in turn (a size of 0 is an empty push).
//!
//! Invariants:
//! - frames and the final outcome (needs more data / TooLarge) equal those of one big push;
//! - each frame is a verbatim slice of the stream: optional CR/LF, the frame, `\final\`, in order;
//!   no frame contains `\final\` or is longer than the cap, and a non-empty one never starts with
//!   CR or LF;
//! - `pending()` never exceeds cap + `\final\`.len() + the largest chunk;
//! - once TooLarge, the framer stays failed, holds nothing, and ignores a valid frame pushed later;
//! - `next_message` (framing and parsing in one pass, what the client uses) on the same chunks
//!   gives the same frames, each parsed exactly as `Message::parse` parses it, and the same
//!   outcome.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msim::protocol::message::FINAL;
use msim::protocol::{FrameError, Framer, Message};

const CAPS: [usize; 4] = [16, 256, 1024, 4096];

/// Drains every available frame; `true` when the framer failed.
fn drain(f: &mut Framer, out: &mut Vec<Vec<u8>>) -> bool {
    loop {
        match f.next_frame() {
            Ok(Some(fr)) => out.push(fr.to_vec()),
            Ok(None) => return false,
            Err(FrameError::TooLarge { cap }) => {
                assert_eq!(cap, f.cap());
                return true;
            }
        }
    }
}

fn assert_stays_failed(f: &mut Framer) {
    assert_eq!(f.pending(), 0, "a failed framer releases its buffer");
    f.push(b"\\ka\\\\final\\");
    assert_eq!(f.pending(), 0);
    assert!(f.next_frame().is_err(), "a failed framer stays failed");
    assert!(f.next_frame().is_err());
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let cap = CAPS[usize::from(data[0]) % CAPS.len()];
    let n_sizes = usize::from(data[1]) % 8 + 1;
    if data.len() < 2 + n_sizes {
        return;
    }
    let mut sizes: Vec<usize> = data[2..2 + n_sizes].iter().map(|&b| usize::from(b)).collect();
    if sizes.iter().all(|&s| s == 0) {
        sizes = vec![1];
    }
    let stream = &data[2 + n_sizes..];

    // Reference: everything at once.
    let mut whole = Framer::new(cap);
    whole.push(stream);
    let mut expected = Vec::new();
    let whole_failed = drain(&mut whole, &mut expected);
    let whole_pending = whole.pending();

    // Each frame is the stream, verbatim, between optional CR/LF and the first `\final\`.
    let mut pos = 0;
    for fr in &expected {
        while pos < stream.len() && matches!(stream[pos], b'\r' | b'\n') {
            pos += 1;
        }
        assert!(stream[pos..].starts_with(fr), "frame is not the next slice of the stream");
        pos += fr.len();
        assert!(stream[pos..].starts_with(FINAL), "frame not followed by \\final\\");
        pos += FINAL.len();
        assert!(fr.len() <= cap, "frame of {} bytes over cap {cap}", fr.len());
        assert!(memchr::memmem::find(fr, FINAL).is_none(), "frame contains \\final\\");
        assert!(!fr.first().is_some_and(|b| matches!(b, b'\r' | b'\n')));
        // Also no earlier terminator straddling the frame's end: `fr + \final\` has its first
        // `\final\` exactly at fr.len().
        let mut joined = fr.clone();
        joined.extend_from_slice(FINAL);
        assert_eq!(memchr::memmem::find(&joined, FINAL), Some(fr.len()));
    }
    if whole_failed {
        assert_stays_failed(&mut whole);
    } else {
        // What is left is the unterminated tail after CR/LF.
        let mut tail = pos;
        while tail < stream.len() && matches!(stream[tail], b'\r' | b'\n') {
            tail += 1;
        }
        assert_eq!(whole_pending, stream.len() - tail);
        assert!(whole_pending <= cap + FINAL.len());
    }

    // Chunked.
    let mut f = Framer::new(cap);
    let mut got = Vec::new();
    let mut failed = false;
    let mut largest = 0usize;
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        i += 1;
        let (chunk, r) = rest.split_at(n);
        rest = r;
        largest = largest.max(n);
        f.push(chunk);
        assert!(
            f.pending() <= cap + FINAL.len() + largest,
            "pending {} > cap {cap} + 7 + largest chunk {largest}",
            f.pending()
        );
        if drain(&mut f, &mut got) {
            failed = true;
            break;
        }
        assert!(f.pending() <= cap + FINAL.len());
    }
    assert_eq!(got, expected, "chunked frames differ from all-at-once");

    // Chunked again, framed and parsed in one pass.
    let mut f1 = Framer::new(cap);
    let mut msg = Message::default();
    let (mut n_frames, mut failed1) = (0usize, false);
    let mut rest1 = stream;
    let mut i = 0;
    'chunks: while !rest1.is_empty() {
        let n = sizes[i % sizes.len()].min(rest1.len());
        i += 1;
        let (chunk, r) = rest1.split_at(n);
        rest1 = r;
        f1.push(chunk);
        loop {
            match f1.next_message(&mut msg) {
                Ok(Some(r)) => {
                    let want = &expected[n_frames];
                    assert_eq!(msg.as_bytes(), &want[..], "one-pass frame differs");
                    match (r, Message::parse(want)) {
                        (Ok(()), Ok(m)) => assert_eq!(msg, m, "one-pass parse differs"),
                        (Err(a), Err(b)) => assert_eq!(a, b),
                        (a, b) => panic!("one-pass parse {a:?} but parse gives {b:?}"),
                    }
                    n_frames += 1;
                }
                Ok(None) => break,
                Err(_) => {
                    failed1 = true;
                    break 'chunks;
                }
            }
        }
    }
    assert_eq!((n_frames, failed1), (expected.len(), whole_failed), "one-pass outcome differs");
    assert_eq!(failed, whole_failed, "chunked outcome differs from all-at-once");
    if failed {
        // Further chunks are ignored, whatever they hold.
        f.push(rest);
        assert_stays_failed(&mut f);
    } else {
        assert_eq!(f.pending(), whole_pending);
    }
});
