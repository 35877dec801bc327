//! Message parsing and the typed decoders on arbitrary frames.
//!
//! Invariants:
//! - `Message::parse` and `parse_into` (reusing a dirty message) agree;
//! - if it parses: `encode()` is the input plus `\final\`, byte for byte; re-parsing is equal;
//!   keys and values hold no backslash; every typed getter returns without panicking;
//! - a frame the [`Framer`] could have produced (no `\final\`, not ending in `\final`) frames back
//!   from `encode()` as exactly itself;
//! - `ServerMessage::decode` and `ClientMessage::decode` never panic; when one decodes, its
//!   `encode()` either succeeds or refuses only a bare `final` (SPEC §2.2), what it encodes is
//!   framable, and decoding that again gives back the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msim::protocol::kinds::{ClientMessage, ServerMessage};
use msim::protocol::message::{EncodeError, FINAL};
use msim::protocol::{Framer, Message};

/// Would the framer hand out `frame` as one frame of `frame + \final\`?
fn framable(frame: &[u8]) -> bool {
    memchr::memmem::find(frame, FINAL).is_none() && !frame.ends_with(b"\\final")
}

/// Wire bytes → the one frame they hold → message.
fn reframe(wire: &[u8]) -> Message {
    assert!(wire.ends_with(FINAL));
    let mut f = Framer::new(wire.len());
    f.push(wire);
    let frame = f.next_frame().expect("within cap").expect("a whole frame").to_vec();
    assert_eq!(f.pending(), 0, "encode() of one message framed as more than one");
    assert_eq!(&frame[..], &wire[..wire.len() - FINAL.len()]);
    Message::parse(&frame).expect("an encoded message parses")
}

fn check_encode_error(e: &EncodeError) {
    assert!(matches!(e, EncodeError::BareFinal(_)), "decoded value failed to encode: {e:?}");
}

fuzz_target!(|data: &[u8]| {
    let parsed = Message::parse(data);
    let mut reused = Message::parse(b"\\dirty\\buffer\\with\\fields").unwrap();
    let r = reused.parse_into(data);
    assert_eq!(parsed.as_ref().err(), r.as_ref().err());

    let Ok(m) = parsed else { return };
    assert_eq!(m, reused, "parse_into into a used message differs from parse");
    let wire = m.encode();
    assert_eq!(&wire[..data.len()], data);
    assert_eq!(&wire[data.len()..], FINAL);
    assert_eq!(m.as_bytes(), data);
    let again = Message::parse(&wire[..data.len()]).unwrap();
    assert_eq!(again, m);

    for (k, v) in m.iter() {
        assert!(!k.contains(&b'\\') && !v.contains(&b'\\'));
        if let Ok(k) = std::str::from_utf8(k) {
            assert!(m.get_raw(k).is_some());
            let _ = m.get_str(k);
            let _ = m.get_u64(k);
            let _ = m.get_u32(k);
            let _ = m.get_i64(k);
            let _ = m.get_base64(k);
            if let Ok(d) = m.get_dict(k) {
                let _ = d.records("ContactID");
            }
            let _ = m.get_list(k);
        }
    }
    assert_eq!(m.kind().is_some(), !m.is_empty());

    if framable(data) {
        assert_eq!(reframe(&wire), m, "a framable frame frames back as itself");
    }

    // An `Unknown` encodes as the message itself, which frames back only if the input did.
    let ok = framable(data);
    if let Ok(x) = ServerMessage::decode(&m) {
        if ok || !matches!(x, ServerMessage::Unknown(_)) {
            match x.encode() {
                Ok(enc) => {
                    let back = reframe(&enc.encode());
                    assert_eq!(ServerMessage::decode(&back).as_ref(), Ok(&x), "server round trip");
                }
                Err(e) => check_encode_error(&e),
            }
        }
    }
    if let Ok(x) = ClientMessage::decode(&m) {
        if ok || !matches!(x, ClientMessage::Unknown(_)) {
            match x.encode() {
                Ok(enc) => {
                    let back = reframe(&enc.encode());
                    assert_eq!(ClientMessage::decode(&back).as_ref(), Ok(&x), "client round trip");
                }
                Err(e) => check_encode_error(&e),
            }
        }
    }
});
