//! Fake servers that behave like real ones libmsim met (issue "Real peers", peer zoo), driving
//! the public client API (`msim::client::Session`) over 127.0.0.1:
//!
//! - an **offline-first server order**: right after `lc=2` it sends offline IMs (bm 1 with
//!   `date`), presence (bm 100) and a zap from a uid the client cannot name yet, answers the
//!   client's lookup of that uid, and only then the contact list (which does not name him).
//!   Variants answer no lookup, or no persist request at all (revival servers, SPEC §24). The
//!   messages must arrive after `SignedOn`, in order, each exactly once, with the username when
//!   the lookup answered and with the uid alone after the lookup wait otherwise (SPEC §24
//!   "held while the client looks the uid up");
//! - a **signed-key server**: it prints its session key as a signed 32-bit number
//!   (`\sesskey\-1739438191\`, SPEC §6.5) and reads it back the same way.
//!
//! The scripts are written with `msim::protocol` and the handshake of `common::hostile`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::hostile::{self, Conn, HostileServer, Probe, FRIEND_UID, UID, USERNAME};
use msim::client::{Config, Event};
use msim::protocol::buddy::{bm, BmPayload};
use msim::protocol::kinds::{BmFromServer, ClientMessage, ServerMessage};
use msim::protocol::persist::{Cmd, DataItem, PersistReply};
use msim::protocol::status::{Presence, StatusList};
use msim::protocol::zap::Zap;
use msim::protocol::{DictBuilder, Message};

/// The sender of the offline IMs, and his username.
const BUDDY: u32 = 100_001;
const BUDDY_NAME: &str = "buddy";
/// When he sent them (`date`, seconds since the epoch): long before the test runs.
const SENT_AT: u64 = 1_200_000_000;

fn from_buddy(kind: u32, payload: BmPayload, date: Option<u64>) -> ServerMessage {
    ServerMessage::Bm(BmFromServer { kind, from: BUDDY, payload, date, cv: None, aid: None })
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Answers {
    /// Lookup first, then the contact list.
    LookupThenList,
    /// The contact list, never the lookup.
    ListOnly,
    /// No persist request at all.
    Nothing,
}

/// The offline-first script; counts the client's by-id lookups of [`BUDDY`].
fn offline_first(c: &mut Conn, answers: Answers, lookups: &AtomicUsize) {
    let nonce = c.challenge();
    if !c.login(&nonce) {
        return;
    }
    let sends = [
        from_buddy(bm::IM, BmPayload::Text("first offline note".into()), Some(SENT_AT)),
        from_buddy(bm::IM, BmPayload::Text("second note".into()), Some(SENT_AT + 60)),
        from_buddy(bm::STATUS, BmPayload::Status(StatusList::new(Presence::Away, "out")), None),
        from_buddy(bm::INSTANT, BmPayload::Text(Zap::Hug.payload()), None),
    ];
    for m in &sends {
        c.send(m).expect("send");
    }
    // The list names another contact only: the buddy's name can come from the lookup alone.
    let list = Conn::default_contacts();
    let mut list_req = None;
    let mut looked_up = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(m) = c.recv_within(left) else { return };
        let Ok(ClientMessage::Persist(req)) = ClientMessage::decode(&m) else { continue };
        match req.item() {
            DataItem::MySpaceInfoById if req.body == format!("UserID={BUDDY}").as_bytes() => {
                lookups.fetch_add(1, Ordering::SeqCst);
                if answers == Answers::LookupThenList {
                    let body = DictBuilder::new().int("UserID", u64::from(BUDDY)).str("UserName", BUDDY_NAME);
                    c.send(&ServerMessage::Persist(PersistReply::to(&req, UID, &body).unwrap())).unwrap();
                    looked_up = true;
                }
            }
            DataItem::ListAllContacts => list_req = Some(req),
            _ if answers != Answers::Nothing => {
                c.answer(&req, b"");
            }
            _ => {}
        }
        let list_due = match answers {
            Answers::LookupThenList => looked_up,
            Answers::ListOnly => true,
            Answers::Nothing => false,
        };
        if list_due {
            if let Some(r) = list_req.take() {
                c.answer(&r, list.as_bytes().unwrap());
            }
        }
    }
}

/// Index of the first event matching `pred` in `seen`, and how many match.
fn find(seen: &[Event], pred: impl Fn(&Event) -> bool) -> (Option<usize>, usize) {
    (seen.iter().position(&pred), seen.iter().filter(|e| pred(e)).count())
}

fn run_offline_first(answers: Answers) {
    let lookups = Arc::new(AtomicUsize::new(0));
    let l2 = lookups.clone();
    let server = HostileServer::start(move |c| offline_first(c, answers, &l2));
    let cfg = Config { name_lookup_timeout: Duration::from_secs(2), ..hostile::config() };
    let mut p = Probe::connect(server.addr(), cfg);
    p.wait("the zap", |e| matches!(e, Event::Zap { .. }));
    p.settle(Duration::from_millis(500));
    let seen = &p.seen;
    let name = (answers == Answers::LookupThenList).then(|| BUDDY_NAME.to_owned());

    let (signed_on, n) = find(seen, |e| matches!(e, Event::SignedOn { .. }));
    assert_eq!(n, 1, "{seen:#?}");
    let from_him = |e: &Event| match e {
        Event::ImReceived { from, .. } | Event::Zap { from, .. } => *from == BUDDY,
        Event::BuddyStatus { uid, .. } => *uid == BUDDY,
        Event::Typing { from, .. } => *from == BUDDY,
        _ => false,
    };
    let his: Vec<(usize, &Event)> = seen.iter().enumerate().filter(|(_, e)| from_him(e)).collect();
    assert_eq!(his.len(), 4, "each exactly once: {seen:#?}");
    assert!(his[0].0 > signed_on.unwrap(), "after SignedOn: {seen:#?}");
    match his.iter().map(|(_, e)| *e).collect::<Vec<_>>()[..] {
        [Event::ImReceived { username: u1, html, time: t1, offline: true, .. }, Event::ImReceived { username: u2, plain, time: t2, offline: true, .. }, Event::BuddyStatus { username: u3, presence: Presence::Away, headline, .. }, Event::Zap { username: u4, zap: Zap::Hug, .. }] =>
        {
            assert!(html.contains("first offline note") && plain == "second note" && headline == "out", "{seen:#?}");
            assert_eq!((*t1, *t2), (SENT_AT, SENT_AT + 60), "the offline IMs keep their date");
            for u in [u1, u2, u3, u4] {
                assert_eq!(u, &name, "{answers:?}: {seen:#?}");
            }
        }
        _ => panic!("not in the order sent: {seen:#?}"),
    }
    if answers == Answers::LookupThenList {
        let (info, _) = find(seen, |e| matches!(e, Event::UserInfo(i) if i.uid == BUDDY));
        assert!(info.unwrap() < his[0].0, "the host hears who he is first");
    }
    assert_eq!(lookups.load(Ordering::SeqCst), 1, "one lookup for four messages");
    let errors: Vec<_> = p.errors().into_iter().filter(|e| !matches!(e, msim::client::Error::Timeout(_))).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn offline_first_order_messages_arrive_after_sign_on_named_by_the_lookup_in_order_once() {
    run_offline_first(Answers::LookupThenList);
}

#[test]
fn offline_first_order_without_a_lookup_answer_arrives_with_the_uid_after_the_wait() {
    run_offline_first(Answers::ListOnly);
}

#[test]
fn offline_first_order_on_a_server_that_answers_no_request_arrives_after_the_fallback_sign_on() {
    run_offline_first(Answers::Nothing);
}

/// The signed-key script: every `sesskey` the client sends is recorded as sent.
fn signed_key_server(c: &mut Conn, keys: &Mutex<Vec<String>>) {
    let _ = c.challenge();
    if c.recv().is_none() {
        return;
    }
    let lc2 = format!(
        "\\lc\\2\\sesskey\\-1739438191\\proof\\{USERNAME}\\userid\\{UID}\\profileid\\{UID}\\uniquenick\\{USERNAME}\\id\\1\\final\\"
    );
    c.send_raw(lc2.as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(m) = c.recv_within(left) else { return };
        if let Some(k) = m.get_raw("sesskey") {
            keys.lock().unwrap().push(String::from_utf8_lossy(k).into_owned());
        }
        // Read as this server reads it (a signed 32-bit number); msim's strict decoder is not it.
        if m.has("persist") {
            let reply = |m: &Message| -> Option<PersistReply> {
                let dsn = m.get_u32("dsn").ok()?;
                let lid = m.get_u32("lid").ok()?;
                let body = if (dsn, lid) == (0, 1) { Conn::default_contacts() } else { DictBuilder::new() };
                Some(PersistReply {
                    cmd: Cmd(m.get_u32("cmd").ok()?).reply(),
                    dsn,
                    uid: UID,
                    lid,
                    rid: m.get_u32("rid").ok()?,
                    body: body.as_bytes().ok()?.to_vec(),
                })
            };
            if let Some(r) = reply(&m) {
                c.send(&ServerMessage::Persist(r)).unwrap();
            }
        }
        if m.has("bm") && m.get_i64("sesskey").ok() == Some(-1_739_438_191) {
            c.im(FRIEND_UID, "got it").unwrap();
        }
    }
}

#[test]
fn a_server_that_prints_its_session_key_signed_gets_it_back_signed() {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let k2 = keys.clone();
    let server = HostileServer::start(move |c| signed_key_server(c, &k2));
    let mut p = Probe::connect(server.addr(), hostile::config());
    p.wait("SignedOn", |e| matches!(e, Event::SignedOn { .. }));
    p.session.send_im(&FRIEND_UID.to_string(), "hello").unwrap();
    p.wait("the answer", |e| matches!(e, Event::ImReceived { plain, .. } if plain == "got it"));
    let keys = keys.lock().unwrap().clone();
    assert!(keys.len() >= 4, "{keys:?}");
    assert!(keys.iter().all(|k| k == "-1739438191"), "{keys:?}");
    assert!(p.errors().is_empty(), "{:?}", p.errors());
}
