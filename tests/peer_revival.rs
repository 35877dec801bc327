//! A revival server as SPEC §24 "tolerance" describes them (no one here wrote one; this fake
//! behaves like they do): it logs the client in, then never sends `\ka\`, never answers a persist
//! request (so no contact list and no name lookups), relays typing and zaps as bm 1, and sends
//! status lists without the `|ls||ip|0|p|0` tail. The session must sign on
//! by its fallback with one warning, understand everything, stay up however quiet the server
//! is, and still deliver what the user sends.

mod common;

use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;
use std::time::Duration;

use common::hostile::{config, Conn, HostileServer, Probe};
use msim::client::{Config, Error, Event};
use msim::protocol::status::Presence;
use msim::protocol::zap::Zap;

const BUDDY: u32 = 31_337;

/// Writes raw wire text (the quirks are in the bytes, so they are written as bytes).
fn raw(c: &mut Conn, text: &str) {
    c.send_raw(text.as_bytes()).expect("send");
}

fn revival(c: &mut Conn, got: &Mutex<Sender<String>>) {
    let nonce = c.challenge();
    if !c.login(&nonce) {
        return;
    }
    // Whatever the client asks (own info, contact list, lookups): no answer, ever.
    std::thread::sleep(Duration::from_millis(300));
    raw(c, &format!("\\bm\\1\\f\\{BUDDY}\\msg\\%typing%\\final\\"));
    raw(c, &format!("\\bm\\1\\f\\{BUDDY}\\msg\\!!!ZAP_SEND!!!=RTE_BTN_ZAPS_4\\final\\"));
    raw(c, &format!("\\bm\\1\\f\\{BUDDY}\\msg\\hello from a revival server\\final\\"));
    raw(c, &format!("\\bm\\1\\f\\{BUDDY}\\msg\\%stoptyping%\\final\\"));
    // A status list without the `|ls||ip|0|p|0` tail.
    raw(c, &format!("\\bm\\100\\f\\{BUDDY}\\msg\\|s|5|ss|afk\\final\\"));
    while let Some(m) = c.recv_within(Duration::from_secs(20)) {
        let _ = got.lock().unwrap().send(String::from_utf8_lossy(m.as_bytes()).into_owned());
    }
}

#[test]
fn a_revival_server_that_answers_nothing_and_relays_everything_as_bm_1_is_fully_understood() {
    let (tx, rx) = channel();
    let tx = Mutex::new(tx);
    let srv = HostileServer::start(move |c| revival(c, &tx));
    let cfg = Config {
        contact_list_timeout: Duration::from_secs(2),
        name_lookup_timeout: Duration::from_secs(1),
        dead_connection_timeout: Some(Duration::from_secs(1)),
        ..config()
    };
    let mut p = Probe::connect(srv.addr(), cfg);
    p.wait("sign-on by the fallback", |e| matches!(e, Event::SignedOn { .. }));
    p.wait("the IM", |e| matches!(e, Event::ImReceived { .. }));
    p.settle(Duration::from_secs(5)); // 5× the dead-connection limit, and past the lookup wait
    assert!(p.ends().is_empty(), "a quiet server was dropped: {:?}", p.ends());

    let from_buddy: Vec<&Event> = p
        .seen
        .iter()
        .filter(|e| match e {
            Event::Typing { from, .. } | Event::Zap { from, .. } | Event::ImReceived { from, .. } => *from == BUDDY,
            Event::BuddyStatus { uid, .. } => *uid == BUDDY,
            _ => false,
        })
        .collect();
    assert!(
        matches!(
            &from_buddy[..],
            [
                Event::Typing { typing: true, username: None, .. },
                Event::Zap { zap: Zap::Hug, .. },
                Event::ImReceived { plain, offline: false, .. },
                Event::Typing { typing: false, .. },
                Event::BuddyStatus { presence: Presence::Away, headline, .. },
            ] if plain == "hello from a revival server" && headline == "afk"
        ),
        "{from_buddy:#?}"
    );
    // One warning for the missing list (SPEC §24), none for the lookups nobody answers.
    let warnings: Vec<&Error> = p.errors().into_iter().filter(|e| matches!(e, Error::Timeout(_))).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");

    let id = p.session.send_im(&BUDDY.to_string(), "answering the revival").unwrap();
    p.wait("ImSent", |e| matches!(e, Event::ImSent { id: i } if *i == id));
    let mut got = Vec::new();
    while !got.iter().any(|m: &String| m.contains("answering the revival")) {
        got.push(rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| panic!("IM not received: {got:?}")));
    }
}
