//! Machine robustness: arbitrary bytes and arbitrary well-framed messages never panic it.
//! Uses the scripted server of `machine_tests.rs`.

use super::*;
use proptest::prelude::*;

fn signed_on_machine() -> H {
    let mut h = H::new(Config { trace: true, ..cfg() });
    h.signed_on(&[(6221, "tom")]);
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Arbitrary bytes never panic the machine, in any chunking (the later fuzzing issue
    /// drives this same entry point).
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let mut h = signed_on_machine();
        for c in &chunks {
            let t = h.t;
            h.m.receive(c, t);
            h.advance(Duration::from_secs(7));
        }
        while h.m.poll_event().is_some() {}
    }

    /// Well-framed messages with arbitrary fields never panic either.
    #[test]
    fn arbitrary_messages_never_panic(fields in proptest::collection::vec(("(lc|bm|f|msg|rid|cmd|dsn|lid|body|error|err|fatal|ka|persistr|date|sesskey|userid|uniquenick|nc)", "[ -~]{0,12}"), 1..8)) {
        let mut h = signed_on_machine();
        let mut wire = Vec::new();
        for (k, v) in &fields {
            wire.push(b'\\');
            wire.extend_from_slice(k.as_bytes());
            wire.push(b'\\');
            wire.extend(v.bytes().filter(|b| *b != b'\\'));
        }
        wire.extend_from_slice(b"\\final\\");
        let t = h.t;
        h.m.receive(&wire, t);
        let _ = h.m.send_im("tom", "x", t);
        let _ = h.m.lookup_user("someone", t);
        h.advance(Duration::from_secs(61));
        while h.m.poll_event().is_some() {}
    }
}
