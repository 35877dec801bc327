//! The client against a misbehaving server (`tests/common/hostile.rs`): every case ends with a
//! clear error or the junk ignored as SPEC §24 says, exactly one end event, and the IO thread gone.
//! `docs/HOSTILE.md` tabulates the cases; each test there is named here.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::hostile::{config, HostileServer, Probe, FRIEND, FRIEND_UID};
use msim::client::{DisconnectReason, Error, Event, LoginFailure};
use msim::protocol::dict::MAX_PAIRS;
use msim::protocol::frame::DEFAULT_MAX_FRAME;
use msim::protocol::status::Presence;

/// The "session still works" probe text.
const PROBE: &str = "still here";

fn is_probe(e: &Event) -> bool {
    matches!(e, Event::ImReceived { plain, from, .. } if plain == PROBE && *from == FRIEND_UID)
}

/// A case where the server sends `junk` after sign-on: the client must skip it, still receive
/// the probe IM afterwards, and end exactly once when the host disconnects.
fn junk_is_skipped(junk: &'static [&'static [u8]]) -> Probe {
    let srv = HostileServer::start(move |c| {
        c.handshake();
        for j in junk {
            c.send_raw(j).unwrap();
        }
        c.im(FRIEND_UID, PROBE).unwrap();
        c.serve_for(Duration::from_secs(20));
    });
    let mut p = Probe::connect(srv.addr(), config());
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    p.wait("probe IM after the junk", is_probe);
    p.session.disconnect().unwrap();
    let end = p.wait_end();
    assert!(matches!(end, Event::Disconnected { reason: DisconnectReason::Requested, .. }), "{end:?}");
    p.assert_one_end_and_io_stopped();
    p
}

fn protocol_errors(p: &Probe) -> Vec<String> {
    p.errors().into_iter().filter(|e| matches!(e, Error::Protocol(_))).map(|e| e.to_string()).collect()
}

#[test]
fn endless_frame_after_sign_on_is_cut_at_the_cap_with_frame_too_large() {
    let sent = Arc::new(AtomicUsize::new(0));
    let sent2 = sent.clone();
    let srv = HostileServer::start(move |c| {
        c.handshake();
        let chunk = vec![b'x'; 64 * 1024];
        // Up to 64 MiB without `\final\`; stops when the client hangs up.
        while sent2.load(Ordering::SeqCst) < 64 << 20 && c.send_raw(&chunk).is_ok() {
            sent2.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    let mut p = Probe::connect(srv.addr(), config());
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    // Sample the framer while the stream runs.
    let stop = Arc::new(AtomicBool::new(false));
    let max_buffered = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (s, stop, max) = (p.session.clone(), stop.clone(), max_buffered.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                max.fetch_max(s.buffered_bytes(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let end = p.wait_end();
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let Event::Disconnected { reason, text, reconnecting: false, .. } = &end else { panic!("{end:?}") };
    assert_eq!(*reason, DisconnectReason::Protocol, "{end:?}");
    assert!(text.contains("frame too large"), "{text}");
    let max = max_buffered.load(Ordering::SeqCst);
    assert!(max <= DEFAULT_MAX_FRAME + 64 * 1024, "framer held {max} bytes");
    assert!(sent.load(Ordering::SeqCst) < 64 << 20, "the client kept reading the endless frame");
    assert_eq!(p.session.buffered_bytes(), 0, "the buffer is dropped with the connection");
    p.assert_one_end_and_io_stopped();
}

#[test]
fn endless_frame_instead_of_a_challenge_fails_the_login_as_protocol() {
    let srv = HostileServer::start(|c| {
        let chunk = vec![b'\\'; 64 * 1024];
        for _ in 0..64 {
            if c.send_raw(&chunk).is_err() {
                break;
            }
        }
    });
    let mut p = Probe::connect(srv.addr(), config());
    let end = p.wait_end();
    assert!(
        matches!(&end, Event::LoginFailed { reason: LoginFailure::Protocol, text, .. } if text.contains("frame too large")),
        "{end:?}"
    );
    p.assert_one_end_and_io_stopped();
}

/// The challenge cases: (raw `lc=1` message, what the error text says).
const BAD_CHALLENGES: [(&[u8], &str); 4] = [
    (b"\\lc\\1\\nc\\!!! not base64 !!!\\id\\1\\final\\", "base64"),
    // 32 bytes of base64: valid encoding, wrong length (CVE-2010-3711 was this unchecked).
    (b"\\lc\\1\\nc\\AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\\id\\1\\final\\", "64"),
    // 65 bytes.
    (
        b"\\lc\\1\\nc\\QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\\id\\1\\final\\",
        "64",
    ),
    (b"\\lc\\1\\id\\1\\final\\", "nc"),
];

#[test]
fn bad_nonces_fail_the_login_as_protocol_without_sending_login2() {
    for (i, (challenge, says)) in BAD_CHALLENGES.iter().enumerate() {
        let srv = HostileServer::start(move |c| {
            c.send_raw(challenge).unwrap();
            c.wait_closed(Duration::from_secs(10));
        });
        let mut p = Probe::connect(srv.addr(), config());
        let end = p.wait_end();
        let Event::LoginFailed { reason: LoginFailure::Protocol, text, .. } = &end else { panic!("#{i}: {end:?}") };
        assert!(text.contains("bad login challenge") && text.contains(says), "#{i}: {text}");
        p.assert_one_end_and_io_stopped();
        drop(srv); // joins the accept thread; transcripts are complete once the script returned
    }
}

#[test]
fn a_non_utf8_field_is_reported_and_skipped() {
    let p = junk_is_skipped(&[b"\\bm\\1\\f\\777\\msg\\ab\xff\xfecd\\final\\"]);
    let errs = protocol_errors(&p);
    assert!(errs.iter().any(|e| e.contains("UTF-8") || e.contains("utf-8") || e.contains("msg")), "{errs:?}");
    assert_eq!(p.seen.iter().filter(|e| matches!(e, Event::ImReceived { .. })).count(), 1, "{:#?}", p.seen);
}

#[test]
fn a_nul_in_received_text_is_reported_and_never_becomes_a_control_string() {
    let srv = HostileServer::start(|c| {
        c.handshake();
        c.send_raw(b"\\bm\\1\\f\\777\\msg\\hel\0lo\\final\\").unwrap();
        c.send_raw(b"\\bm\\121\\f\\777\\msg\\%typ\0ing%\\final\\").unwrap();
        c.send_raw(b"\\bm\\1\\f\\777\\msg\\\0!!!ExitChat\\final\\").unwrap();
        c.im(FRIEND_UID, "after").unwrap();
        c.serve_for(Duration::from_secs(20));
    });
    let mut p = Probe::connect(srv.addr(), config());
    let ev = p.wait("the IM after", |e| matches!(e, Event::ImReceived { .. }));
    let Event::ImReceived { plain, username, .. } = ev else { unreachable!() };
    assert_eq!((plain.as_str(), username.as_deref()), ("after", Some(FRIEND)), "nothing before it: {:#?}", p.seen);
    let nul = p.errors().into_iter().filter(|e| matches!(e, Error::EmbeddedNul(_))).count();
    assert_eq!(nul, 3, "{:#?}", p.seen);
    assert!(!p.seen.iter().any(|e| matches!(e, Event::Typing { .. })), "{:#?}", p.seen);
    p.session.disconnect().unwrap();
    p.wait_end();
    p.assert_one_end_and_io_stopped();
}

#[test]
fn integers_out_of_range_are_reported_per_message_never_read_as_zero() {
    let p = junk_is_skipped(&[
        b"\\bm\\1\\f\\4294967296\\msg\\u32 overflow\\final\\",
        b"\\bm\\1\\f\\777\\msg\\u64 overflow\\date\\99999999999999999999999\\final\\",
        b"\\bm\\1\\f\\-1\\msg\\negative\\final\\",
        b"\\bm\\1\\f\\ 777\\msg\\space\\final\\",
        b"\\bm\\99999999999\\f\\777\\msg\\kind\\final\\",
        b"\\persistr\\\\cmd\\257\\dsn\\0\\uid\\4242\\lid\\1\\rid\\4294967297\\body\\\\final\\",
        b"\\error\\\\err\\4294967296\\fatal\\\\errmsg\\huge code\\final\\",
    ]);
    assert!(protocol_errors(&p).len() >= 7, "{:#?}", p.seen);
    assert_eq!(p.seen.iter().filter(|e| matches!(e, Event::ImReceived { .. })).count(), 1, "{:#?}", p.seen);
}

/// A contact-list body of `n` pairs `a=` (3 bytes each).
fn pairs(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            v.push(0x1c);
        }
        v.extend_from_slice(b"a=");
    }
    v
}

fn list_case(body: Vec<u8>) -> (HostileServer, Probe) {
    let srv = HostileServer::start(move |c| {
        let nonce = c.challenge();
        assert!(c.login(&nonce));
        if c.sign_on_with(&body) {
            c.serve_for(Duration::from_secs(20));
        }
    });
    let p = Probe::connect(srv.addr(), config());
    (srv, p)
}

#[test]
fn a_dictionary_with_max_pairs_parses_and_signs_on() {
    let (_srv, mut p) = list_case(pairs(MAX_PAIRS));
    let ev = p.wait("contact list", |e| matches!(e, Event::ContactList(_)));
    assert_eq!(ev, Event::ContactList(vec![]));
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    p.session.disconnect().unwrap();
    p.wait_end();
    p.assert_one_end_and_io_stopped();
}

#[test]
fn a_dictionary_over_max_pairs_but_under_the_frame_cap_fails_the_list_and_signs_on_empty() {
    // As many pairs as fit under the cap (~87 000, over MAX_PAIRS).
    let n = (DEFAULT_MAX_FRAME - 200) / 3;
    assert!(n > MAX_PAIRS);
    let (_srv, mut p) = list_case(pairs(n));
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    let errs: Vec<String> = p.errors().iter().map(|e| e.to_string()).collect();
    assert!(errs.iter().any(|e| e.contains("pairs")), "{errs:?}");
    assert!(!p.seen.iter().any(|e| matches!(e, Event::ContactList(_))), "{:#?}", p.seen);
    p.session.disconnect().unwrap();
    p.wait_end();
    p.assert_one_end_and_io_stopped();
}

#[test]
fn a_million_pair_dictionary_exceeds_the_frame_cap_and_fails_the_login() {
    let (_srv, mut p) = list_case(pairs(1_000_000));
    let end = p.wait_end();
    assert!(
        matches!(&end, Event::LoginFailed { reason: LoginFailure::Protocol, text, .. } if text.contains("frame too large")),
        "{end:?}"
    );
    p.assert_one_end_and_io_stopped();
}

#[test]
fn a_contact_list_of_10000_unknown_uids_is_bounded_by_the_request_cap() {
    // ~10 000 records `ContactID=n Visibility=1` without names: the client looks names up, but never more
    // than its request cap at once.
    let mut body = Vec::new();
    let mut n = 0u32;
    while body.len() < DEFAULT_MAX_FRAME - 400 {
        if n > 0 {
            body.push(0x1c);
        }
        body.extend_from_slice(format!("ContactID={}\x1cVisibility=1", 100_000 + n).as_bytes());
        n += 1;
    }
    let srv = HostileServer::start(move |c| {
        let nonce = c.challenge();
        assert!(c.login(&nonce));
        if c.sign_on_with(&body) {
            // Count the lookups that follow, without answering them.
            let mut lookups = 0;
            while let Some(m) = c.recv_within(Duration::from_secs(2)) {
                lookups += usize::from(m.is_kind("persist"));
            }
            LOOKUPS.store(lookups, Ordering::SeqCst);
            c.wait_closed(Duration::from_secs(20));
        }
    });
    static LOOKUPS: AtomicUsize = AtomicUsize::new(usize::MAX);
    let mut p = Probe::connect(srv.addr(), config());
    let ev = p.wait("contact list", |e| matches!(e, Event::ContactList(_)));
    let Event::ContactList(list) = ev else { unreachable!() };
    assert_eq!(list.len(), n as usize);
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    std::thread::sleep(Duration::from_secs(3));
    let lookups = LOOKUPS.load(Ordering::SeqCst);
    assert!(lookups > 0 && lookups <= 2048, "{lookups} lookups in flight");
    p.session.disconnect().unwrap();
    p.wait_end();
    p.assert_one_end_and_io_stopped();
}

#[test]
fn a_contact_list_of_20000_repeated_contact_ids_is_one_record_and_quick() {
    // Regression: `Dict::records` was quadratic on repeats of its first key (seconds per frame).
    let body = vec!["ContactID=5"; (DEFAULT_MAX_FRAME - 400) / 12].join("\x1c").into_bytes();
    let (_srv, mut p) = list_case(body);
    let t0 = std::time::Instant::now();
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    assert!(t0.elapsed() < Duration::from_secs(3), "sign-on took {:?}", t0.elapsed());
    p.session.disconnect().unwrap();
    p.wait_end();
    p.assert_one_end_and_io_stopped();
}

#[test]
fn a_short_status_list_is_read_by_position_and_a_codeless_one_is_skipped() {
    let p = junk_is_skipped(&[
        b"\\bm\\100\\f\\777\\msg\\|s|5\\final\\",
        b"\\bm\\100\\f\\777\\msg\\|s|2|ss|brb\\final\\",
        b"\\bm\\100\\f\\777\\msg\\|s\\final\\",
        b"\\bm\\100\\f\\777\\msg\\\\final\\",
        b"\\bm\\100\\f\\777\\msg\\|s|x|ss|bad code\\final\\",
    ]);
    let statuses: Vec<_> = p
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::BuddyStatus { uid: FRIEND_UID, presence, headline, .. } => Some((*presence, headline.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![(Presence::Away, ""), (Presence::Idle, "brb")], "{:#?}", p.seen);
    assert!(protocol_errors(&p).len() >= 3, "{:#?}", p.seen);
}

#[test]
fn an_error_without_err_is_reported_and_skipped_even_when_fatal() {
    let p = junk_is_skipped(&[
        b"\\error\\\\errmsg\\no code here\\final\\",
        b"\\error\\\\fatal\\\\errmsg\\fatal but no code\\final\\",
        b"\\error\\\\err\\\\fatal\\\\final\\",
    ]);
    assert!(protocol_errors(&p).len() >= 3, "{:#?}", p.seen);
}

#[test]
fn replies_for_unknown_rids_are_passed_on_as_unhandled() {
    let p = junk_is_skipped(&[
        b"\\persistr\\\\cmd\\257\\dsn\\4\\uid\\4242\\lid\\3\\rid\\999999\\body\\UserID=1\x1cUserName=ghost\\final\\",
        b"\\persistr\\\\cmd\\1281\\dsn\\0\\uid\\4242\\lid\\1\\rid\\12345\\body\\ErrorMessage=nope\\final\\",
        // A rid the client used but already completed (its sign-on requests are 1..4).
        b"\\persistr\\\\cmd\\257\\dsn\\0\\uid\\4242\\lid\\1\\rid\\1\\body\\ContactID=9\\final\\",
    ]);
    let unhandled = p.seen.iter().filter(|e| matches!(e, Event::Unhandled { .. })).count();
    assert!(unhandled >= 3, "{:#?}", p.seen);
    assert!(!p.seen.iter().any(|e| matches!(e, Event::UserInfo(i) if i.uid == 1)), "{:#?}", p.seen);
    let lists = p.seen.iter().filter(|e| matches!(e, Event::ContactList(_))).count();
    assert_eq!(lists, 1, "a stale rid must not replace the contact list: {:#?}", p.seen);
}

#[test]
fn presence_from_a_stranger_is_reported_but_never_adds_them() {
    let p = junk_is_skipped(&[b"\\bm\\100\\f\\31337\\msg\\|s|1|ss|hi there|ls||ip|0|p|0\\final\\"]);
    let ev = p.seen.iter().find(|e| matches!(e, Event::BuddyStatus { uid: 31337, .. }));
    assert!(
        matches!(ev, Some(Event::BuddyStatus { username: None, presence: Presence::Online, headline, .. }) if headline == "hi there"),
        "{:#?}",
        p.seen
    );
    let added = p.seen.iter().any(|e| {
        matches!(e, Event::BuddyAdded { .. }) || matches!(e, Event::ContactList(l) if l.iter().any(|c| c.uid == 31337))
    });
    assert!(!added, "{:#?}", p.seen);
}

#[test]
fn a_frame_split_one_byte_per_100ms_still_arrives() {
    let srv = HostileServer::start(|c| {
        c.handshake();
        for b in b"\\bm\\1\\f\\777\\msg\\slow\\final\\" {
            c.send_raw(&[*b]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        c.im(FRIEND_UID, PROBE).unwrap();
        c.serve_for(Duration::from_secs(20));
    });
    let mut p = Probe::connect(srv.addr(), config());
    p.wait("slow IM", |e| matches!(e, Event::ImReceived { plain, .. } if plain == "slow"));
    p.wait("probe IM", is_probe);
    p.session.disconnect().unwrap();
    p.wait_end();
    p.assert_one_end_and_io_stopped();
}

#[test]
fn silence_after_login_keeps_the_session_for_many_times_the_dead_connection_timeout() {
    // A revival server (SPEC §24): signs on, then never writes (no `\ka\`, no persist answers)
    // but its TCP stack is alive. The session must stay, and still work, long past the limit.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    let srv = HostileServer::start(move |c| {
        c.handshake();
        while let Some(m) = c.recv_within(Duration::from_secs(15)) {
            let _ = tx.lock().unwrap().send(String::from_utf8_lossy(m.as_bytes()).into_owned());
        }
    });
    let cfg = msim::client::Config { dead_connection_timeout: Some(Duration::from_secs(1)), ..config() };
    let mut p = Probe::connect(srv.addr(), cfg);
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    p.settle(Duration::from_secs(8));
    assert!(p.ends().is_empty(), "a silent server was dropped: {:?}", p.ends());
    let id = p.session.send_im("777", "still here").unwrap();
    p.wait("IM written", |e| matches!(e, Event::ImSent { id: i } if *i == id));
    let mut got = Vec::new();
    while !got.iter().any(|m: &String| m.contains("still here")) {
        got.push(rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| panic!("the IM never arrived: {got:?}")));
    }
    p.session.disconnect().unwrap();
    p.wait_end();
    p.assert_one_end_and_io_stopped();
}

#[test]
fn a_reset_in_the_middle_of_a_frame_ends_the_session_once() {
    let srv = HostileServer::start(|c| {
        c.handshake();
        c.send_raw(b"\\bm\\1\\f\\777\\msg\\half a fr").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        c.reset_on_close();
    });
    let mut p = Probe::connect(srv.addr(), config());
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    let end = p.wait_end();
    assert!(
        matches!(end, Event::Disconnected { reason: DisconnectReason::ServerClosed | DisconnectReason::Network, .. }),
        "{end:?}"
    );
    assert!(!p.seen.iter().any(|e| matches!(e, Event::ImReceived { .. })), "{:#?}", p.seen);
    p.assert_one_end_and_io_stopped();
}

#[test]
fn a_reset_with_reconnect_enabled_reconnects_and_still_ends_once() {
    // The first connection is reset mid-frame; the second signs on normally.
    let srv = HostileServer::start(|c| {
        c.handshake();
        static FIRST: AtomicBool = AtomicBool::new(true);
        if FIRST.swap(false, Ordering::SeqCst) {
            c.send_raw(b"\\bm\\1\\f\\777\\msg\\cut").unwrap();
            std::thread::sleep(Duration::from_millis(100));
            c.reset_on_close();
        } else {
            c.im(FRIEND_UID, PROBE).unwrap();
            c.serve_for(Duration::from_secs(20));
        }
    });
    let mut cfg = config();
    cfg.reconnect = msim::client::ReconnectPolicy {
        enabled: true,
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        max_attempts: 3,
    };
    let mut p = Probe::connect(srv.addr(), cfg);
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    let ev = p.wait("disconnect", |e| matches!(e, Event::Disconnected { .. }));
    assert!(matches!(ev, Event::Disconnected { reconnecting: true, .. }), "{ev:?}");
    p.wait("second sign-on", |e| matches!(e, Event::SignedOn { .. }));
    p.wait("probe IM", is_probe);
    p.session.disconnect().unwrap();
    p.wait_end();
    p.settle(Duration::from_millis(300));
    let terminal = p.seen.iter().filter(|e| common::hostile::is_end(e)).count();
    assert_eq!(terminal, 1, "{:#?}", p.seen);
    assert_eq!(srv.accepted(), 2);
}
