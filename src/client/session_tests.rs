//! The IO wrapper against a scripted server on 127.0.0.1 (the protocol itself is tested in
//! `machine_tests.rs`; the real server in `tests/client_*.rs`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use super::*;
use crate::client::events::{DisconnectReason, Event};
use crate::protocol::buddy::BmPayload;
use crate::protocol::kinds::{BmFromServer, ClientMessage, ServerMessage};
use crate::protocol::persist::PersistReply;
use crate::protocol::{DictBuilder, Framer, Message};

/// Reads client messages one by one.
struct Peer {
    s: TcpStream,
    framer: Framer,
}

impl Peer {
    fn send(&mut self, m: ServerMessage) {
        self.s.write_all(&m.encode().unwrap().encode()).unwrap();
    }

    fn recv(&mut self) -> ClientMessage {
        loop {
            if let Some(f) = self.framer.next_frame().unwrap() {
                return ClientMessage::decode(&Message::parse(f).unwrap()).unwrap();
            }
            let mut b = [0u8; 4096];
            let n = self.s.read(&mut b).unwrap();
            assert!(n > 0, "client closed");
            self.framer.push(&b[..n]);
        }
    }

    /// Challenge, login, and a contact list with 6221 "tom" (named, so that his IMs are not held
    /// for a lookup this peer would not answer).
    fn sign_on(&mut self) {
        self.send(ServerMessage::Challenge { nonce: [3u8; 64] });
        assert!(matches!(self.recv(), ClientMessage::Login2(_)));
        self.send(ServerMessage::LoginOk {
            sesskey: 9,
            proof: String::new(),
            userid: 100,
            profileid: 100,
            uniquenick: "me".into(),
        });
        loop {
            if let ClientMessage::Persist(p) = self.recv() {
                if (p.dsn, p.lid) == (0, 1) {
                    let list = DictBuilder::new().int("ContactID", 6221).str("UserName", "tom");
                    let r = PersistReply::to(&p, 100, &list).unwrap();
                    self.send(ServerMessage::Persist(r));
                    return;
                }
            }
        }
    }
}

fn listen() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn creds() -> Credentials {
    Credentials { email: "me@example.com".into(), password: "pw".into() }
}

fn next_non_progress(rx: &mpsc::Receiver<Event>) -> Event {
    loop {
        match rx.recv_timeout(Duration::from_secs(5)).expect("an event within 5 s") {
            Event::Progress { .. } | Event::UserInfo(_) | Event::ContactList(_) => {}
            e => return e,
        }
    }
}

#[test]
fn signs_on_exchanges_an_im_and_reports_one_disconnect_when_the_server_closes() {
    let (l, port) = listen();
    let (tx, rx) = mpsc::channel();
    let s = Session::new(Config { mail_check_interval: None, ..Config::default() }, move |e| {
        let _ = tx.send(e);
    });
    s.connect("127.0.0.1", port, creds()).unwrap();
    let mut peer = Peer { s: l.accept().unwrap().0, framer: Framer::default() };
    peer.sign_on();
    assert!(matches!(next_non_progress(&rx), Event::SignedOn { uid: 100, .. }));
    assert_eq!(s.uid(), 100);
    assert_eq!(s.username().as_deref(), Some("me"));
    s.send_im("6221", "hi there").unwrap();
    let got = loop {
        if let ClientMessage::Bm(b) = peer.recv() {
            break b;
        }
    };
    assert_eq!((got.target, got.sesskey, got.msg.as_str()), (6221, 9, "hi there"));
    peer.send(ServerMessage::Bm(BmFromServer {
        kind: 1,
        from: 6221,
        payload: BmPayload::Text("back".into()),
        date: None,
        cv: None,
        aid: None,
    }));
    assert!(matches!(next_non_progress(&rx), Event::ImSent { .. }));
    assert!(matches!(next_non_progress(&rx), Event::ImReceived { from: 6221, plain, .. } if plain == "back"));
    drop(peer);
    assert!(matches!(
        next_non_progress(&rx),
        Event::Disconnected { reason: DisconnectReason::ServerClosed, reconnecting: false, .. }
    ));
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "exactly one terminal event");
    assert_eq!(s.phase(), Phase::Idle);
}

#[test]
fn connection_refused_is_a_login_failure() {
    let (l, port) = listen();
    drop(l);
    let (tx, rx) = mpsc::channel();
    let s = Session::new(Config::default(), move |e| {
        let _ = tx.send(e);
    });
    s.connect("127.0.0.1", port, creds()).unwrap();
    assert!(matches!(next_non_progress(&rx), Event::LoginFailed { reason: crate::client::LoginFailure::Network, .. }));
}

#[test]
fn close_from_inside_the_handler_and_no_event_after_close() {
    let (l, port) = listen();
    let (tx, rx) = mpsc::channel();
    let slot: Arc<Mutex<Option<Arc<Session>>>> = Arc::new(Mutex::new(None));
    let slot2 = slot.clone();
    let s = Arc::new(Session::new(Config { mail_check_interval: None, ..Config::default() }, move |e| {
        if matches!(e, Event::SignedOn { .. }) {
            if let Some(s) = slot2.lock().unwrap().as_ref() {
                s.close();
            }
        }
        let _ = tx.send(e);
    }));
    *slot.lock().unwrap() = Some(s.clone());
    s.connect("127.0.0.1", port, creds()).unwrap();
    let mut peer = Peer { s: l.accept().unwrap().0, framer: Framer::default() };
    peer.sign_on();
    assert!(matches!(next_non_progress(&rx), Event::SignedOn { .. }));
    // close() logged out; the peer sees the logout and then EOF; no Disconnected event.
    assert!(matches!(
        peer.recv(),
        ClientMessage::Logout { sesskey: 9 }
            | ClientMessage::Persist(_)
            | ClientMessage::Status { .. }
            | ClientMessage::BlockList { .. }
    ));
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    slot.lock().unwrap().take();
}
