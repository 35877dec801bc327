//! Faults: msim-server stopped mid-session and restarted on the same address and database file.
//! The client reports the disconnect, reconnects with backoff, signs on again, and every IM queued
//! during the outage is reported exactly once (`ImSent` or `ImFailed`); the peer receives every
//! one reported sent. IMs stored for an offline user survive the restart.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::hostile::{is_end, Probe};
use common::scratch_dir;
use msim::client::{Config, DisconnectReason, Event, MessageId, ReconnectPolicy};
use msim_server::Server;

struct Db(PathBuf);

impl Db {
    fn new(name: &str) -> Db {
        let dir = scratch_dir().join(format!("faults-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Db(dir)
    }

    fn path(&self) -> String {
        self.0.join("msim.db").to_string_lossy().into_owned()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start(db: &Db, listen: &str) -> Server {
    Server::start(msim_server::Config { db: db.path(), listen: listen.into(), log: false, ..Default::default() })
        .expect("server starts")
}

fn reconnecting(max_attempts: u32) -> Config {
    Config {
        mail_check_interval: None,
        request_timeout: Duration::from_secs(5),
        reconnect: ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(800),
            max_attempts,
        },
        ..Config::default()
    }
}

/// Accounts alice and bob, each on the other's list; returns bob's uid.
fn accounts(s: &Server) -> u32 {
    let a = s.add_account("alice@example.com", "alicepw", Some("alice"), None).unwrap();
    let b = s.add_account("bob@example.com", "bobpw", Some("bob"), None).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    b
}

/// Outcome per message id: every id must have exactly one.
fn outcomes(p: &Probe, ids: &[MessageId]) -> BTreeMap<MessageId, Vec<&'static str>> {
    let mut m: BTreeMap<MessageId, Vec<&'static str>> = ids.iter().map(|id| (*id, vec![])).collect();
    for e in &p.seen {
        match e {
            Event::ImSent { id } => m.entry(*id).or_default().push("sent"),
            Event::ImFailed { id, .. } => m.entry(*id).or_default().push("failed"),
            _ => {}
        }
    }
    m
}

#[test]
fn server_restart_on_the_same_db_reconnects_and_delivers_every_queued_im() {
    const QUEUED: usize = 20;
    let db = Db::new("restart");
    let s = start(&db, "127.0.0.1:0");
    let addr: SocketAddr = s.addr();
    accounts(&s);
    let mut alice = Probe::connect_as(addr, reconnecting(0), "alice@example.com", "alicepw");
    let mut bob = Probe::connect_as(addr, reconnecting(0), "bob@example.com", "bobpw");
    alice.wait("alice signs on", |e| matches!(e, Event::SignedOn { .. }));
    bob.wait("bob signs on", |e| matches!(e, Event::SignedOn { .. }));
    alice.session.send_im("bob", "before").unwrap();
    bob.wait("live IM", |e| matches!(e, Event::ImReceived { plain, .. } if plain == "before"));

    // Kill the server mid-session.
    s.stop();
    for p in [&mut alice, &mut bob] {
        let ev = p.wait("disconnect", |e| matches!(e, Event::Disconnected { .. }));
        assert!(
            matches!(
                ev,
                Event::Disconnected {
                    reconnecting: true,
                    reason: DisconnectReason::ServerClosed | DisconnectReason::Network,
                    ..
                }
            ),
            "{ev:?}"
        );
    }
    // IMs during the outage are queued (the session is reconnecting, not idle).
    let ids: Vec<MessageId> =
        (0..QUEUED).map(|i| alice.session.send_im("bob", &format!("queued {i}")).expect("queued")).collect();
    std::thread::sleep(Duration::from_millis(1500)); // a few failed attempts with backoff

    let s = start(&db, &addr.to_string());
    assert_eq!(s.addr(), addr);
    alice.wait("alice signs on again", |e| matches!(e, Event::SignedOn { .. }));
    bob.wait("bob signs on again", |e| matches!(e, Event::SignedOn { .. }));
    // Every queued id: exactly one outcome, and (the server being back) all sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while outcomes(&alice, &ids).values().any(Vec::is_empty) && std::time::Instant::now() < deadline {
        alice.settle(Duration::from_millis(100));
    }
    alice.settle(Duration::from_millis(300));
    let out = outcomes(&alice, &ids);
    assert!(out.values().all(|o| o == &vec!["sent"]), "{out:?}");
    // The peer gets every one, live or as stored offline IMs at its new login.
    // (Some may have arrived while bob was still signing on: count what was seen already.)
    let mut got = BTreeSet::new();
    for e in &bob.seen {
        if let Event::ImReceived { plain, .. } = e {
            if plain.starts_with("queued") {
                assert!(got.insert(plain.clone()), "{plain} twice");
            }
        }
    }
    while got.len() < QUEUED {
        let ev =
            bob.wait("queued IMs", |e| matches!(e, Event::ImReceived { plain, .. } if plain.starts_with("queued")));
        let Event::ImReceived { plain, .. } = ev else { unreachable!() };
        assert!(got.insert(plain.clone()), "{plain} twice");
    }
    // One outage, one (non-terminal) disconnect each; nothing ended for good.
    for p in [&alice, &bob] {
        assert_eq!(p.ends().len(), 1, "{:#?}", p.seen);
        assert!(!p.seen.iter().any(is_end), "{:#?}", p.seen);
    }
    alice.session.disconnect().unwrap();
    alice.wait_end();
    alice.assert_one_end_and_io_stopped();
}

#[test]
fn when_the_server_stays_down_queued_ims_fail_and_the_session_ends_once() {
    let db = Db::new("down");
    let s = start(&db, "127.0.0.1:0");
    let addr = s.addr();
    accounts(&s);
    let mut alice = Probe::connect_as(addr, reconnecting(3), "alice@example.com", "alicepw");
    alice.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    s.stop();
    alice.wait("disconnect", |e| matches!(e, Event::Disconnected { reconnecting: true, .. }));
    let ids: Vec<MessageId> = (0..5).map(|i| alice.session.send_im("bob", &format!("lost {i}")).unwrap()).collect();
    let end = alice.wait_end();
    assert!(matches!(end, Event::Disconnected { reason: DisconnectReason::ReconnectFailed, .. }), "{end:?}");
    alice.assert_one_end_and_io_stopped();
    assert_eq!(alice.ends().len(), 2, "one reconnecting, one final: {:#?}", alice.seen);
    let out = outcomes(&alice, &ids);
    assert!(out.values().all(|o| o == &vec!["failed"]), "{out:?}");
}

#[test]
fn offline_ims_survive_a_server_restart_and_arrive_at_the_next_login() {
    let db = Db::new("offline");
    let s = start(&db, "127.0.0.1:0");
    accounts(&s);
    let mut alice = Probe::connect_as(s.addr(), reconnecting(0), "alice@example.com", "alicepw");
    alice.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    alice.session.send_im("bob", "stored one").unwrap();
    alice.session.send_im("bob", "stored two").unwrap();
    // A round trip: the server has handled both IMs.
    let rid = alice.session.lookup_user("bob").unwrap();
    alice.wait("lookup", |e| matches!(e, Event::LookupResult { request, .. } if *request == rid));
    alice.session.disconnect().unwrap();
    alice.wait_end();
    s.stop();

    let s = start(&db, "127.0.0.1:0");
    let mut bob = Probe::connect_as(s.addr(), reconnecting(0), "bob@example.com", "bobpw");
    let mut got = Vec::new();
    while got.len() < 2 {
        let ev = bob.wait("offline IM", |e| matches!(e, Event::ImReceived { .. }));
        let Event::ImReceived { plain, offline, .. } = ev else { unreachable!() };
        assert!(offline, "{plain}");
        got.push(plain);
    }
    assert_eq!(got, ["stored one", "stored two"]);
}
