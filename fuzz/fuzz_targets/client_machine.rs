//! The client session's sans-IO state machine fed an arbitrary server byte stream.
//!
//! The first input byte picks the chunk size, the second whether a valid challenge and login
//! success are played first (so the fuzzer reaches the signed-on states, not just the challenge);
//! the rest is the stream, delivered in chunks with one simulated second between them.
//! Invariants:
//! - nothing panics, whatever arrives;
//! - everything the client transmits is one well-formed message that decodes as a known
//!   `ClientMessage` and never contains the password;
//! - after the connection ends the host has seen exactly one terminal event (`LoginFailed` or a
//!   final `Disconnected`), and the machine asks for no more IO.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use msim::client::{Config, Credentials, Event, IoAction, Machine};
use msim::protocol::kinds::{ClientMessage, ServerMessage};
use msim::protocol::message::FINAL;
use msim::protocol::Message;

const PASSWORD: &str = "fuzzpass";

fn drain(m: &mut Machine, terminal: &mut usize) {
    while let Some(wire) = m.poll_transmit() {
        assert!(wire.ends_with(FINAL), "transmit without terminator");
        assert!(memchr::memmem::find(&wire, PASSWORD.as_bytes()).is_none(), "password on the wire");
        let frame = &wire[..wire.len() - FINAL.len()];
        let msg = Message::parse(frame).expect("client sent an unparsable message");
        let typed = ClientMessage::decode(&msg).expect("client sent an undecodable message");
        assert!(!matches!(typed, ClientMessage::Unknown(_)), "client sent an unknown kind");
    }
    while let Some(e) = m.poll_event() {
        match e {
            Event::LoginFailed { .. } | Event::Disconnected { reconnecting: false, .. } => *terminal += 1,
            _ => {}
        }
    }
    while m.poll_io().is_some() {}
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let chunk = usize::from(data[0]).max(1);
    let t0 = Instant::now();
    let mut m = Machine::new(Config::default(), t0);
    m.start(Credentials { email: "fuzz@example.com".into(), password: PASSWORD.into() }, t0).unwrap();
    let attempt = match m.poll_io() {
        Some(IoAction::Connect { attempt }) => attempt,
        other => panic!("expected a connect request, got {other:?}"),
    };
    m.connected(attempt, t0);
    let mut terminal = 0usize;
    let mut t = t0;
    if data[1] & 1 == 1 {
        let challenge = ServerMessage::Challenge { nonce: [0x5a; 64] }.encode().unwrap().encode();
        m.receive(&challenge, t);
        let ok = ServerMessage::LoginOk {
            sesskey: 7,
            proof: "fuzz".into(),
            userid: 1000,
            profileid: 1000,
            uniquenick: "fuzz".into(),
        };
        m.receive(&ok.encode().unwrap().encode(), t);
        drain(&mut m, &mut terminal);
    }
    for piece in data[2..].chunks(chunk) {
        m.receive(piece, t);
        t += Duration::from_secs(1);
        m.tick(t);
        drain(&mut m, &mut terminal);
    }
    m.connection_lost(None, t);
    drain(&mut m, &mut terminal);
    assert_eq!(terminal, 1, "the host must see exactly one terminal event");
    assert!(m.poll_io().is_none());
});
