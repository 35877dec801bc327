//! Machine tests with a scripted server built from `protocol::kinds`.

use std::time::{Duration, Instant};

use super::*;
use crate::client::events::{Direction, DisconnectReason, Event, LoginFailure, OwnStatus, UsernameOutcome};
use crate::client::reconnect::ReconnectPolicy;
use crate::client::Error;
use crate::protocol::buddy::BmPayload;
use crate::protocol::kinds::{BlockOp, BmFromServer, ClientMessage, ServerMessage, Target};
use crate::protocol::persist::{Cmd, PersistReply};
use crate::protocol::status::{Presence, StatusList};
use crate::protocol::zap::Zap;
use crate::protocol::{DictBuilder, Message};

const UID: u32 = 3_656_574;

struct H {
    m: Machine,
    t: Instant,
}

fn wire(sm: &ServerMessage) -> Vec<u8> {
    sm.encode().unwrap().encode()
}

fn reply(cmd: u32, req: &crate::protocol::persist::PersistRequest, body: DictBuilder) -> ServerMessage {
    ServerMessage::Persist(PersistReply {
        cmd: Cmd(cmd),
        dsn: req.dsn,
        uid: UID,
        lid: req.lid,
        rid: req.rid,
        body: body.as_bytes().unwrap().to_vec(),
    })
}

fn bm(kind: u32, from: u32, text: &str, date: Option<u64>) -> ServerMessage {
    ServerMessage::Bm(BmFromServer { kind, from, payload: BmPayload::Text(text.into()), date, cv: None, aid: None })
}

impl H {
    fn new(cfg: Config) -> H {
        let t = Instant::now();
        let mut m = Machine::new(cfg, t);
        m.set_wall_clock(|| 1_000_000);
        H { m, t }
    }

    fn advance(&mut self, d: Duration) {
        self.t += d;
        self.m.tick(self.t);
    }

    fn feed(&mut self, sm: ServerMessage) {
        let t = self.t;
        self.m.receive(&wire(&sm), t);
    }

    fn sent(&mut self) -> Vec<ClientMessage> {
        let mut out = Vec::new();
        while let Some(b) = self.m.poll_transmit() {
            let m = Message::parse(&b[..b.len() - 7]).unwrap();
            out.push(ClientMessage::decode(&m).unwrap());
        }
        out
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.m.poll_event())
            .filter(|e| !matches!(e, Event::Trace { .. } | Event::Progress { .. }))
            .collect()
    }

    fn attempt(&self) -> u64 {
        self.m.attempt
    }

    fn io(&mut self) -> Vec<IoAction> {
        std::iter::from_fn(|| self.m.poll_io()).collect()
    }

    /// Connects and answers the challenge; returns the login2 sent.
    fn log_in_until_challenge_answered(&mut self) -> ClientMessage {
        let t = self.t;
        self.m.start(Credentials { email: "jeff@example.com".into(), password: "hunter2".into() }, t).unwrap();
        assert!(matches!(self.io()[..], [IoAction::Connect { .. }]));
        self.m.connected(self.attempt(), t);
        self.feed(ServerMessage::Challenge { nonce: [7u8; 64] });
        let mut s = self.sent();
        assert_eq!(s.len(), 1);
        s.remove(0)
    }

    /// Logs in; returns the post-login persist requests.
    fn log_in_until_signing_on(&mut self, uniquenick: &str) -> Vec<ClientMessage> {
        self.log_in_until_challenge_answered();
        self.feed(ServerMessage::LoginOk {
            sesskey: 42,
            proof: String::new(),
            userid: UID,
            profileid: UID,
            uniquenick: uniquenick.into(),
        });
        self.sent()
    }

    /// Completes reconnect attempt `attempt` up to lc=2 (sesskey 43, username "jeff").
    fn log_in_again(&mut self, attempt: u64) {
        let t = self.t;
        self.m.connected(attempt, t);
        self.feed(ServerMessage::Challenge { nonce: [1u8; 64] });
        self.feed(ServerMessage::LoginOk {
            sesskey: 43,
            proof: String::new(),
            userid: UID,
            profileid: UID,
            uniquenick: "jeff".into(),
        });
    }

    fn persist_req(sent: &[ClientMessage], dsn: u32, lid: u32) -> crate::protocol::persist::PersistRequest {
        sent.iter()
            .find_map(|c| match c {
                ClientMessage::Persist(p) if p.dsn == dsn && p.lid == lid => Some(p.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {dsn}/{lid} request in {sent:?}"))
    }

    /// Signed on with `contacts` on the list.
    fn signed_on(&mut self, contacts: &[(u32, &str)]) {
        let sent = self.log_in_until_signing_on("jeff");
        let req = H::persist_req(&sent, 0, 1);
        let mut body = DictBuilder::new();
        for (uid, name) in contacts {
            body = body.int("ContactID", u64::from(*uid)).str("UserName", name).str("GroupName", "");
        }
        self.feed(reply(257, &req, body));
        let ev = self.events();
        assert!(matches!(ev.last(), Some(Event::SignedOn { .. })), "{ev:?}");
        self.sent();
    }
}

fn cfg() -> Config {
    Config { mail_check_interval: None, ..Config::default() }
}

#[test]
fn login_happy_path_sends_post_login_sequence_and_signs_on_when_the_list_arrives() {
    let mut h = H::new(Config::default());
    let login = h.log_in_until_challenge_answered();
    let ClientMessage::Login2(l) = login else { panic!("{login:?}") };
    assert_eq!(
        (l.algorithm, l.username.as_str(), l.clientver, l.langid),
        (196_610, "jeff@example.com", 697, Some(1033))
    );
    h.feed(ServerMessage::LoginOk {
        sesskey: 42,
        proof: "jeff".into(),
        userid: UID,
        profileid: UID,
        uniquenick: "jeff".into(),
    });
    let sent = h.sent();
    // SPEC §6.6 order: own info, IM info, status, mail, contact list.
    let kinds: Vec<String> = sent
        .iter()
        .map(|c| match c {
            ClientMessage::Persist(p) => format!("{}/{}", p.dsn, p.lid),
            ClientMessage::Status { code, .. } => format!("status {code}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["4/5", "1/4", "status 1", "7/18", "0/1"]);
    assert!(sent.iter().all(|c| !matches!(c, ClientMessage::Persist(p) if p.sesskey != 42)));
    assert_eq!(h.m.phase(), Phase::SigningOn);
    assert!(h.events().is_empty(), "no sign-on before the list");
    let list = H::persist_req(&sent, 0, 1);
    let body = DictBuilder::new()
        .int("ContactID", 6221)
        .str("UserName", "tom")
        .str("GroupName", "")
        .int("Visibility", 1)
        .int("ContactID", 77)
        .int("Visibility", 2);
    h.feed(reply(257, &list, body));
    let ev = h.events();
    let Event::ContactList(c) = &ev[0] else { panic!("{ev:?}") };
    assert_eq!(
        (c[0].uid, c[0].username.as_deref(), c[0].group.as_str(), c[0].blocked),
        (6221, Some("tom"), "IM Friends", false)
    );
    assert!(c[1].blocked);
    assert_eq!(ev[1], Event::SignedOn { uid: UID, username: Some("jeff".into()) });
    // The unnamed contact gets a by-id lookup (SPEC §10.1).
    let s = h.sent();
    assert!(matches!(&s[..], [ClientMessage::Persist(p)] if (p.dsn, p.lid) == (4, 3) && p.body == b"UserID=77"));
}

#[test]
fn bad_challenge_fails_the_login_with_a_protocol_error() {
    let mut h = H::new(cfg());
    h.m.start(Credentials { email: "a@b.c".into(), password: "p".into() }, h.t).unwrap();
    h.m.connected(1, h.t);
    let t = h.t;
    h.m.receive(b"\\lc\\1\\nc\\QUJD\\id\\1\\final\\", t);
    assert!(matches!(&h.events()[..], [Event::LoginFailed { reason: LoginFailure::Protocol, .. }]));
    assert_eq!(h.io(), vec![IoAction::Connect { attempt: 1 }, IoAction::Close]);
    assert_eq!(h.m.phase(), Phase::Idle);
}

#[test]
fn server_errors_map_to_login_failures_disconnects_or_plain_errors() {
    // (signed on first?, code, fatal, expected)
    let cases: Vec<(bool, u32, bool, Event)> = vec![
        (false, 260, true, Event::LoginFailed { reason: LoginFailure::BadPassword, code: 260, text: "x".into() }),
        (false, 259, true, Event::LoginFailed { reason: LoginFailure::UnknownAccount, code: 259, text: "x".into() }),
        (false, 99, true, Event::LoginFailed { reason: LoginFailure::Server, code: 99, text: "x".into() }),
        (
            true,
            6,
            true,
            Event::Disconnected {
                reason: DisconnectReason::LoggedInElsewhere,
                code: 6,
                text: "x".into(),
                reconnecting: false,
            },
        ),
        (
            true,
            99,
            true,
            Event::Disconnected {
                reason: DisconnectReason::ServerError,
                code: 99,
                text: "x".into(),
                reconnecting: false,
            },
        ),
        (true, 1, false, Event::Error { error: Error::Server { code: 1, text: "x".into() } }),
    ];
    for (signed_on, code, fatal, want) in cases {
        let mut h = H::new(cfg());
        if signed_on {
            h.signed_on(&[]);
        } else {
            h.log_in_until_challenge_answered();
        }
        h.feed(ServerMessage::Error { code, fatal, text: "x".into() });
        assert_eq!(h.events(), vec![want], "code {code}");
    }
}

#[test]
fn logged_in_elsewhere_never_reconnects() {
    let mut h = H::new(Config { reconnect: ReconnectPolicy { enabled: true, ..ReconnectPolicy::default() }, ..cfg() });
    h.signed_on(&[]);
    h.feed(ServerMessage::Error { code: 6, fatal: true, text: "elsewhere".into() });
    assert!(matches!(&h.events()[..], [Event::Disconnected { reconnecting: false, .. }]));
    assert_eq!(h.m.phase(), Phase::Idle);
}

#[test]
fn contact_list_timeout_signs_on_with_a_warning_and_a_late_list_still_arrives() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on("jeff");
    h.advance(Duration::from_secs(9));
    assert!(h.events().is_empty());
    h.advance(Duration::from_secs(1));
    let ev = h.events();
    assert!(matches!(&ev[..], [Event::Error { error: Error::Timeout(_) }, Event::SignedOn { .. }]), "{ev:?}");
    h.feed(reply(257, &H::persist_req(&sent, 0, 1), DictBuilder::new().int("ContactID", 5).str("UserName", "five")));
    assert!(matches!(&h.events()[..], [Event::ContactList(c)] if c.len() == 1));
}

#[test]
fn replies_match_by_rid_error_bit_is_an_error_and_silence_times_out() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    let rid = h.m.lookup_user("tom", h.t).unwrap();
    let s = h.sent();
    let ClientMessage::Persist(req) = &s[0] else { panic!() };
    assert_eq!((req.dsn, req.lid, req.rid, req.body.as_slice()), (5, 7, rid, &b"UserName=tom"[..]));
    // A reply with another rid is not this request's.
    let mut other = req.clone();
    other.rid = rid + 100;
    h.feed(reply(257, &other, DictBuilder::new().int("UserID", 6221)));
    assert!(matches!(&h.events()[..], [Event::Unhandled { .. }]));
    h.feed(reply(257, req, DictBuilder::new().int("UserID", 6221).str("UserName", "tom")));
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::LookupResult { request, result: Ok(Some(i)) }] if *request == rid && i.uid == 6221),
        "{ev:?}"
    );
    // Error bit (SPEC §16.3: 1025) → an error, not a success.
    let rid2 = h.m.lookup_user("6221", h.t).unwrap();
    let s = h.sent();
    let ClientMessage::Persist(req2) = &s[0] else { panic!() };
    h.feed(reply(1025, req2, DictBuilder::new().str("ErrorMessage", "Request timeout")));
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::LookupResult { request, result: Err(Error::Server { code: 1025, text }) }] if *request == rid2 && text == "Request timeout"),
        "{ev:?}"
    );
    // No reply at all → timeout after the request timeout (60 s).
    let rid3 = h.m.lookup_user("nobody", h.t).unwrap();
    h.advance(Duration::from_secs(59));
    assert!(h.events().is_empty());
    h.feed(ServerMessage::KeepAlive);
    h.advance(Duration::from_secs(1));
    assert!(
        matches!(&h.events()[..], [Event::LookupResult { request, result: Err(Error::Timeout(_)) }] if *request == rid3)
    );
}

#[test]
fn buddy_messages_are_classified() {
    let mut h = H::new(cfg());
    h.signed_on(&[(6221, "tom")]);
    h.feed(bm(1, 6221, "<p>hi &amp; bye</p>", None));
    h.feed(bm(1, 6221, "late", Some(1_170_000_000)));
    h.feed(bm(121, 6221, "%typing%", None));
    h.feed(bm(1, 6221, "%stoptyping%", None));
    h.feed(bm(121, 6221, &Zap::Hug.payload(), None));
    h.feed(ServerMessage::Bm(BmFromServer {
        kind: 100,
        from: 999,
        payload: BmPayload::Status(StatusList::new(Presence::Away, "brb")),
        date: None,
        cv: None,
        aid: None,
    }));
    let ev = h.events();
    let tom = Some("tom".to_owned());
    let Event::ImReceived { from, username, html, time, offline, .. } = &ev[0] else { panic!("{ev:?}") };
    assert_eq!((*from, username, *time, *offline), (6221, &tom, 1_000_000, false));
    assert!(html.contains("hi"));
    assert!(matches!(&ev[1], Event::ImReceived { time: 1_170_000_000, offline: true, .. }));
    assert_eq!(ev[2], Event::Typing { from: 6221, username: tom.clone(), typing: true });
    assert_eq!(ev[3], Event::Typing { from: 6221, username: tom.clone(), typing: false });
    assert_eq!(ev[4], Event::Zap { from: 6221, username: tom, zap: Zap::Hug });
    assert_eq!(ev.len(), 5, "the stranger's status waits for his name: {ev:?}");
    // He has no username (the server sends the id): his status comes with the uid alone.
    let req = H::persist_req(&h.sent(), 4, 3);
    h.feed(reply(257, &req, DictBuilder::new().int("UserID", 999).str("UserName", "999")));
    let ev = h.events();
    assert!(matches!(&ev[0], Event::UserInfo(i) if i.uid == 999 && i.username.is_none()), "{ev:?}");
    assert_eq!(
        ev[1..],
        [Event::BuddyStatus {
            uid: 999,
            username: None,
            presence: Presence::Away,
            headline: "brb".into(),
            ts: None,
            caps: None
        }]
    );
    assert!(!h.m.names.is_contact(999), "a stranger's status adds nobody (SPEC §24)");
}

#[test]
fn reconnect_queues_ims_and_sends_them_after_sign_on() {
    let policy = ReconnectPolicy {
        enabled: true,
        initial_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(8),
        max_attempts: 3,
    };
    let mut h = H::new(Config { reconnect: policy, ..cfg() });
    h.signed_on(&[(6221, "tom")]);
    h.io();
    h.m.connection_lost(None, h.t);
    assert!(matches!(
        &h.events()[..],
        [Event::Disconnected { reason: DisconnectReason::ServerClosed, reconnecting: true, .. }]
    ));
    assert_eq!(h.io(), vec![IoAction::Close]);
    let id = h.m.send_im("tom", "queued", h.t).unwrap();
    assert!(h.sent().is_empty());
    h.advance(Duration::from_secs(1));
    assert!(h.io().is_empty());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.io(), vec![IoAction::Connect { attempt: 2 }]);
    h.m.connected(1, h.t);
    assert_eq!(h.m.phase(), Phase::Connecting, "a stale attempt's socket is ignored");
    h.log_in_again(2);
    let sent = h.sent();
    h.feed(reply(257, &H::persist_req(&sent, 0, 1), DictBuilder::new().int("ContactID", 6221).str("UserName", "tom")));
    let ev = h.events();
    assert!(matches!(&ev[..], [Event::ContactList(_), Event::SignedOn { .. }]), "{ev:?}");
    assert!(
        matches!(&h.sent()[..], [ClientMessage::Bm(b)] if b.target == 6221 && b.msg == "queued" && b.sesskey == 43)
    );
    assert_eq!(h.events(), vec![Event::ImSent { id }]);
}

#[test]
fn reconnect_gives_up_and_fails_queued_ims() {
    let policy = ReconnectPolicy {
        enabled: true,
        initial_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(1),
        max_attempts: 1,
    };
    let mut h = H::new(Config { reconnect: policy, ..cfg() });
    h.signed_on(&[]);
    h.m.connection_lost(Some("reset"), h.t);
    h.events();
    let id = h.m.send_im("6221", "x", h.t).unwrap();
    h.advance(Duration::from_secs(1));
    h.m.connect_failed(2, "refused", h.t);
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::ImFailed { id: i, .. }, Event::Disconnected { reason: DisconnectReason::ReconnectFailed, reconnecting: false, .. }] if *i == id),
        "{ev:?}"
    );
    assert_eq!(h.m.send_im("6221", "x", h.t), Err(Error::NotConnected));
}

#[test]
fn disconnect_sends_logout_and_reports_exactly_one_disconnect() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    h.m.disconnect(h.t).unwrap();
    assert!(matches!(&h.sent()[..], [ClientMessage::Logout { sesskey: 42 }]));
    assert!(matches!(
        &h.events()[..],
        [Event::Disconnected { reason: DisconnectReason::Requested, reconnecting: false, .. }]
    ));
    h.m.connection_lost(None, h.t);
    assert!(h.events().is_empty());
    assert_eq!(h.m.disconnect(h.t), Err(Error::NotConnected));
}

#[test]
fn silence_never_ends_a_signed_on_session() {
    // SPEC §24: revival servers send no `\ka\`; whether the peer is alive is TCP's to tell
    // (the IO layer's keepalive), never the machine's clock.
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    for _ in 0..10 {
        h.advance(Duration::from_secs(3600));
    }
    assert_eq!(h.m.phase(), Phase::SignedOn);
    assert!(!h.events().iter().any(|e| matches!(e, Event::Disconnected { .. } | Event::Error { .. })));
}

#[test]
fn an_im_is_sent_when_written_and_requeued_or_failed_when_its_connection_ends_first() {
    let mut h = H::new(Config { reconnect: ReconnectPolicy { enabled: true, ..Default::default() }, ..cfg() });
    h.signed_on(&[]);
    let a = h.m.send_im("777", "one", h.t).unwrap();
    let b = h.m.send_im("777", "two", h.t).unwrap();
    assert!(h.events().is_empty(), "nothing is reported before the bytes are written");
    let ta = h.m.take_transmit().unwrap();
    let tb = h.m.take_transmit().unwrap();
    assert!(h.m.queued_bytes() > 0, "taken but unwritten bytes still count");
    h.m.transmitted(ta.cost(), ta.im);
    assert_eq!(h.events(), vec![Event::ImSent { id: a }]);
    // The connection drops with `two` unwritten: a reconnect follows, so it waits in the outbox.
    h.m.connection_lost(None, h.t);
    h.m.untransmitted([(tb.cost(), tb.im)]);
    assert!(!h.events().iter().any(|e| matches!(e, Event::ImFailed { .. } | Event::ImSent { .. })));
    assert_eq!(h.m.queued_bytes(), h.m.outbox.bytes());
    h.m.disconnect(h.t).unwrap();
    let failed: Vec<_> = h.events().into_iter().filter(|e| matches!(e, Event::ImFailed { .. })).collect();
    assert!(matches!(&failed[..], [Event::ImFailed { id, .. }] if *id == b), "{failed:?}");
    assert_eq!(h.m.queued_bytes(), 0);
}

#[test]
fn a_full_send_queue_refuses_at_once_and_frees_as_bytes_are_written() {
    let mut h = H::new(Config { max_send_queue: 4096, ..cfg() });
    h.signed_on(&[]);
    let line = "x".repeat(1000);
    let mut ok = 0;
    while h.m.send_im("777", &line, h.t).is_ok() {
        ok += 1;
        assert!(ok < 100, "never full");
    }
    assert!((3..=5).contains(&ok), "{ok} IMs fit in 4 KiB");
    assert_eq!(h.m.send_im("777", "y", h.t), Err(Error::QueueFull));
    assert_eq!(h.m.set_status(OwnStatus::Away, "brb"), Err(Error::QueueFull));
    while h.m.poll_transmit().is_some() {}
    assert!(h.m.send_im("777", "y", h.t).is_ok());
}

#[test]
fn trace_redacts_the_login_response() {
    let mut h = H::new(Config { trace: true, ..cfg() });
    h.log_in_until_challenge_answered();
    let traces: Vec<(Direction, String)> = std::iter::from_fn(|| h.m.poll_event())
        .filter_map(|e| match e {
            Event::Trace { dir, text } => Some((dir, text)),
            _ => None,
        })
        .collect();
    assert_eq!(traces[0].0, Direction::In);
    let (dir, out) = &traces[1];
    assert_eq!(*dir, Direction::Out);
    assert!(out.starts_with("\\login2\\196610\\") && out.contains("\\response\\[redacted]\\"), "{out}");
    assert!(!out.contains("hunter2"));
}

#[test]
fn username_flow_checks_sets_and_then_signs_on() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on(&UID.to_string());
    assert!(sent.is_empty(), "no post-login requests before a username is chosen");
    assert_eq!(h.events(), vec![Event::UsernameRequired { uid: UID }]);
    assert_eq!(h.m.phase(), Phase::ChoosingUsername);
    assert!(matches!(h.m.check_username("12345", h.t), Err(Error::InvalidArgument(_))));
    let rid = h.m.check_username("shellreef", h.t).unwrap();
    let s = h.sent();
    let ClientMessage::Persist(req) = &s[0] else { panic!() };
    h.feed(reply(257, req, DictBuilder::new().str("UserName", "shellreef")));
    assert_eq!(
        h.events(),
        vec![Event::UsernameResult {
            request: rid,
            name: "shellreef".into(),
            outcome: UsernameOutcome::Available,
            text: String::new()
        }]
    );
    let rid = h.m.set_username("shellreef", h.t).unwrap();
    let s = h.sent();
    let ClientMessage::Persist(req) = &s[0] else { panic!() };
    assert_eq!((req.cmd.0, req.dsn, req.lid, req.uid), (2, 9, 14, Some(UID)));
    h.feed(reply(258, req, DictBuilder::new().str("UserName", "shellreef").int("Code", 0)));
    assert_eq!(
        h.events(),
        vec![Event::UsernameResult {
            request: rid,
            name: "shellreef".into(),
            outcome: UsernameOutcome::Set,
            text: String::new()
        }]
    );
    assert_eq!(h.m.username(), Some("shellreef"));
    assert_eq!(h.m.phase(), Phase::SigningOn);
    assert!(h.sent().iter().any(|c| matches!(c, ClientMessage::Persist(p) if (p.dsn, p.lid) == (0, 1))));
}

#[test]
fn names_resolve_through_a_lookup_or_fail_the_im() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    let a = h.m.send_im("Tom", "one", h.t).unwrap();
    let b = h.m.send_im("tom", "two", h.t).unwrap();
    let s = h.sent();
    assert_eq!(s.len(), 1, "one lookup for both: {s:?}");
    let ClientMessage::Persist(req) = &s[0] else { panic!() };
    h.feed(reply(257, req, DictBuilder::new().int("UserID", 6221).str("UserName", "tom")));
    assert!(h.events().is_empty(), "ImSent waits until the bytes are written");
    assert_eq!(h.sent().len(), 2);
    assert_eq!(h.events(), vec![Event::ImSent { id: a }, Event::ImSent { id: b }]);
    let three = h.m.send_im("TOM", "three", h.t).unwrap();
    assert!(matches!(&h.sent()[..], [ClientMessage::Bm(b)] if b.target == 6221), "cached: sent at once");
    assert_eq!(h.events(), vec![Event::ImSent { id: three }], "reported once");
    let c = h.m.send_im("ghost", "boo", h.t).unwrap();
    let s = h.sent();
    let ClientMessage::Persist(req) = &s[0] else { panic!() };
    h.feed(reply(257, req, DictBuilder::new().str("UserName", "ghost")));
    assert_eq!(h.events(), vec![Event::ImFailed { id: c, error: Error::NoSuchUser("ghost".into()) }]);
}

#[test]
fn buddy_list_changes_use_the_spec_wire_sequences() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    let t = Target::Uid(6221);
    h.m.add_buddy("6221", None, h.t).unwrap();
    let s = h.sent();
    assert!(matches!(&s[0], ClientMessage::AddBuddy { uid: 6221, .. }));
    let ClientMessage::Persist(p) = &s[1] else { panic!() };
    assert_eq!((p.cmd.0, p.dsn, p.lid), (514, 0, 9));
    assert_eq!(
        p.body,
        b"ContactID=6221\x1cGroupName=IM Friends\x1cPosition=1000\x1cVisibility=1\x1cNickName=\x1cNameSelect=0"
    );
    assert!(
        matches!(&s[2], ClientMessage::BlockList { ops, .. } if *ops == vec![BlockOp::Allow(t), BlockOp::Unblock(t)])
    );
    h.feed(reply(258, p, DictBuilder::new()));
    assert_eq!(h.events(), vec![Event::BuddyAdded { uid: 6221, username: None, group: "IM Friends".into() }]);
    h.m.remove_buddy("6221", h.t).unwrap();
    let s = h.sent();
    assert!(
        matches!(&s[..], [ClientMessage::DelBuddy { uid: 6221, .. }, ClientMessage::Persist(p), ClientMessage::BlockList { ops, .. }]
        if (p.cmd.0, p.dsn, p.lid, p.uid) == (515, 0, 8, Some(UID)) && *ops == vec![BlockOp::Unallow(t), BlockOp::Unblock(t)])
    );
    h.m.block("6221", h.t).unwrap();
    let s = h.sent();
    assert!(
        matches!(&s[..], [ClientMessage::DelBuddy { .. }, ClientMessage::BlockList { ops, .. }, ClientMessage::Persist(p)]
        if *ops == vec![BlockOp::Unallow(t), BlockOp::Block(t)] && (p.cmd.0, p.lid, p.uid) == (514, 9, None) && p.body == b"ContactID=6221\x1cVisibility=2")
    );
    h.m.unblock("6221", h.t).unwrap();
    let s = h.sent();
    assert!(matches!(&s[..], [ClientMessage::Persist(p), ClientMessage::BlockList { ops, .. }]
        if (p.cmd.0, p.lid, p.uid) == (515, 8, None) && *ops == vec![BlockOp::Unallow(t), BlockOp::Unblock(t)]));
}

#[test]
fn mail_alerts_are_edge_triggered() {
    let mut h = H::new(Config { mail_check_interval: Some(Duration::from_secs(60)), ..Config::default() });
    h.signed_on(&[]);
    let check = |h: &mut H, body: DictBuilder| {
        h.advance(Duration::from_secs(60));
        let s = h.sent();
        let req = H::persist_req(&s, 7, 18);
        h.feed(reply(257, &req, body));
        h.events()
    };
    assert_eq!(check(&mut h, DictBuilder::new().str("Mail", "On")), vec![Event::MailAlert { new: 1, all: 1 }]);
    assert_eq!(check(&mut h, DictBuilder::new().str("Mail", "On")), vec![]);
    assert_eq!(
        check(&mut h, DictBuilder::new().str("Mail", "On").str("FriendRequest", "On")),
        vec![Event::MailAlert { new: 8, all: 9 }]
    );
}

#[test]
fn malformed_messages_are_reported_and_skipped() {
    let mut h = H::new(cfg());
    h.signed_on(&[(6221, "tom")]);
    let t = h.t;
    h.m.receive(b"garbage\\final\\\\bm\\1\\f\\6221\\msg\\still here\\final\\", t);
    let ev = h.events();
    assert!(matches!(&ev[..], [Event::Error { error: Error::Protocol(_) }, Event::ImReceived { .. }]), "{ev:?}");
    assert_eq!(h.m.phase(), Phase::SignedOn);
}

#[test]
fn status_is_sent_with_its_code_and_text() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    for (st, code) in [(OwnStatus::Away, 5), (OwnStatus::Idle, 2), (OwnStatus::Invisible, 0), (OwnStatus::Available, 1)]
    {
        h.m.set_status(st, "out to lunch").unwrap();
        assert!(
            matches!(&h.sent()[..], [ClientMessage::Status { code: c, statstring, .. }] if *c == code && statstring == "out to lunch")
        );
    }
    assert!(h.m.set_status(OwnStatus::Away, "final").is_err());
}

#[path = "machine_tests_robustness.rs"]
mod robustness;

#[path = "machine_tests_features.rs"]
mod features;

#[path = "machine_tests_held.rs"]
mod held;

#[path = "machine_tests_login.rs"]
mod login;

#[path = "machine_tests_pieces.rs"]
mod pieces;

#[path = "machine_tests_s25.rs"]
mod s25;
