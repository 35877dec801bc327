//! Every message of the 2007 capture (`tests/data/seed-messages.txt`) parses, decodes to
//! its typed form, and re-serialises to the identical bytes; the truncated ones stay incomplete.

use msim::protocol::kinds::{ClientMessage, ServerMessage};
use msim::protocol::{Framer, Message};

struct Seed {
    dir: String,
    bytes: Vec<u8>,
    complete: bool,
}

fn seeds() -> Vec<Seed> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seed-messages.txt");
    let data = std::fs::read(path).expect("tests/data/seed-messages.txt is readable");
    let mut out = Vec::new();
    let mut complete = true;
    for line in data.split(|&b| b == b'\n') {
        if line.starts_with(b"# =") && line.windows(9).any(|w| w == b"TRUNCATED") {
            complete = false;
        }
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let tab = line.iter().position(|&b| b == b'\t').expect("DIRECTION<TAB>message");
        out.push(Seed {
            dir: String::from_utf8_lossy(&line[..tab]).into_owned(),
            bytes: line[tab + 1..].to_vec(),
            complete,
        });
    }
    out
}

#[test]
fn all_85_messages_are_present() {
    let s = seeds();
    assert_eq!(s.len(), 85);
    assert_eq!(s.iter().filter(|s| s.complete).count(), 85 - s.iter().filter(|s| !s.complete).count());
    assert!(s.iter().any(|s| !s.complete));
}

#[test]
fn complete_messages_parse_decode_and_reserialise_identically() {
    let mut known = 0;
    for seed in seeds().iter().filter(|s| s.complete) {
        let mut framer = Framer::default();
        framer.push(&seed.bytes);
        let frame = framer.next_frame().unwrap().expect("one complete frame").to_vec();
        assert_eq!(framer.next_frame().unwrap(), None);
        let msg = Message::parse(&frame).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&seed.bytes)));
        assert_eq!(msg.encode(), seed.bytes, "re-serialisation differs");
        let what = String::from_utf8_lossy(&seed.bytes).into_owned();
        match seed.dir.as_str() {
            "C>S" => {
                let typed = ClientMessage::decode(&msg).unwrap_or_else(|e| panic!("{e}: {what}"));
                assert!(!matches!(typed, ClientMessage::Unknown(_)), "unknown kind: {what}");
                let again = ClientMessage::decode(&typed.encode().unwrap()).unwrap();
                assert_eq!(again, typed, "typed round trip: {what}");
            }
            "S>C" => {
                let typed = ServerMessage::decode(&msg).unwrap_or_else(|e| panic!("{e}: {what}"));
                assert!(!matches!(typed, ServerMessage::Unknown(_)), "unknown kind: {what}");
                let again = ServerMessage::decode(&typed.encode().unwrap()).unwrap();
                assert_eq!(again, typed, "typed round trip: {what}");
            }
            d => panic!("bad direction {d}"),
        }
        known += 1;
    }
    assert!(known >= 60, "only {known} complete messages");
}

#[test]
fn truncated_messages_are_incomplete_frames_not_errors() {
    for seed in seeds().iter().filter(|s| !s.complete) {
        let mut framer = Framer::default();
        framer.push(&seed.bytes);
        assert_eq!(framer.next_frame(), Ok(None));
        assert_eq!(framer.pending(), seed.bytes.len());
    }
}

#[test]
fn the_whole_capture_as_one_stream_splits_into_every_message() {
    let seeds: Vec<_> = seeds().into_iter().filter(|s| s.complete).collect();
    let stream: Vec<u8> = seeds.iter().flat_map(|s| s.bytes.clone()).collect();
    for chunk in [1usize, 7, 100, 4096] {
        let mut framer = Framer::default();
        let mut n = 0;
        for piece in stream.chunks(chunk) {
            framer.push(piece);
            while let Some(f) = framer.next_frame().unwrap() {
                let mut wire = f.to_vec();
                wire.extend_from_slice(b"\\final\\");
                assert_eq!(wire, seeds[n].bytes);
                n += 1;
            }
        }
        assert_eq!(n, seeds.len());
    }
}
