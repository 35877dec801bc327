//! Machine tests of messages from senders the client cannot name yet (SPEC §24 "held while the
//! client looks the uid up", `held.rs`): the sign-on gate, one lookup per sender, ordering,
//! timeout, failure, the caps, and the end of a connection. Uses the scripted server of
//! `machine_tests.rs`.

use super::*;
use crate::client::held::{MAX_HELD_BYTES, MAX_HELD_EVENTS};
use crate::protocol::persist::PersistRequest;

/// When the offline IMs were sent (their `date`), long before the machine's wall clock.
const SENT_AT: u64 = 1_100_000_000;

fn status(from: u32, presence: Presence, text: &str) -> ServerMessage {
    ServerMessage::Bm(BmFromServer {
        kind: 100,
        from,
        payload: BmPayload::Status(StatusList::new(presence, text)),
        date: None,
        cv: None,
        aid: None,
    })
}

/// The uids of the by-id lookups (4/3) among `sent`.
fn lookups(sent: &[ClientMessage]) -> Vec<u32> {
    sent.iter()
        .filter_map(|c| match c {
            ClientMessage::Persist(p) if (p.dsn, p.lid) == (4, 3) => {
                std::str::from_utf8(&p.body).ok()?.strip_prefix("UserID=")?.parse().ok()
            }
            _ => None,
        })
        .collect()
}

fn lookup_of(sent: &[ClientMessage], uid: u32) -> PersistRequest {
    let body = format!("UserID={uid}");
    sent.iter()
        .find_map(|c| match c {
            ClientMessage::Persist(p) if (p.dsn, p.lid) == (4, 3) && p.body == body.as_bytes() => Some(p.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no lookup of {uid} in {sent:?}"))
}

fn named(req: &PersistRequest, uid: u32, name: &str) -> ServerMessage {
    reply(257, req, DictBuilder::new().int("UserID", u64::from(uid)).str("UserName", name))
}

fn who(name: &Option<String>) -> &str {
    name.as_deref().unwrap_or("-")
}

/// Events as short lines, for table-like comparisons.
fn brief(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .map(|e| match e {
            Event::ImReceived { from, username, plain, time, offline, .. } => {
                format!("im {from} {} {plain} {time}{}", who(username), if *offline { " offline" } else { "" })
            }
            Event::Typing { from, username, typing } => format!("typing {from} {} {typing}", who(username)),
            Event::Zap { from, username, zap } => format!("zap {from} {} {zap:?}", who(username)),
            Event::BuddyStatus { uid, username, presence, headline, .. } => {
                format!("status {uid} {} {presence:?} {headline}", who(username))
            }
            Event::BuddyNotice { from, username, kind, text } => {
                format!("notice {from} {} {kind:?} {text}", who(username))
            }
            Event::SignedOn { .. } => "signed on".into(),
            Event::ContactList(c) => format!("list {}", c.len()),
            Event::UserInfo(i) => format!("info {} {}", i.uid, who(&i.username)),
            Event::Error { error: Error::Timeout(_) } => "timeout warning".into(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn offline_ims_presence_and_zap_wait_for_the_lookup_and_the_sign_on_then_arrive_named_in_order() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on("jeff");
    let list = H::persist_req(&sent, 0, 1);
    // The offline-first order: offline IMs, presence and a zap before the contact list.
    h.feed(bm(1, 555, "one", Some(SENT_AT)));
    h.feed(bm(1, 555, "two", Some(SENT_AT + 1)));
    h.feed(status(555, Presence::Online, "hi"));
    h.feed(bm(121, 555, &Zap::Hug.payload(), None));
    h.feed(bm(1, 6221, "from tom", Some(SENT_AT + 2)));
    assert!(h.events().is_empty(), "nothing before the sign-on");
    let s = h.sent();
    assert_eq!(lookups(&s), [555, 6221], "one lookup per unknown sender, not one per message");
    h.feed(named(&lookup_of(&s, 555), 555, "fivefive"));
    assert_eq!(brief(&h.events()), ["info 555 fivefive"], "named, but still before the sign-on");
    // The list names tom: his IM does not wait for his lookup.
    h.feed(reply(257, &list, DictBuilder::new().int("ContactID", 6221).str("UserName", "tom")));
    assert_eq!(
        brief(&h.events()),
        [
            "list 1",
            "signed on",
            "im 555 fivefive one 1100000000 offline",
            "im 555 fivefive two 1100000001 offline",
            "status 555 fivefive Online hi",
            "zap 555 fivefive Hug",
            "im 6221 tom from tom 1100000002 offline",
        ]
    );
    assert!(h.sent().is_empty(), "no second lookup");
}

#[test]
fn a_held_senders_later_events_queue_behind_and_other_senders_go_ahead() {
    let mut h = H::new(cfg());
    h.signed_on(&[(6221, "tom")]);
    h.feed(bm(1, 555, "a", None));
    let req = lookup_of(&h.sent(), 555);
    h.feed(bm(121, 555, "%typing%", None));
    h.feed(bm(1, 6221, "x", None));
    h.feed(bm(1, 555, "b", None));
    assert_eq!(brief(&h.events()), ["im 6221 tom x 1000000"], "tom is not held behind 555");
    assert!(h.sent().is_empty(), "one lookup for 555");
    h.feed(named(&req, 555, "fivefive"));
    assert_eq!(
        brief(&h.events()),
        ["info 555 fivefive", "im 555 fivefive a 1000000", "typing 555 fivefive true", "im 555 fivefive b 1000000"]
    );
    // Known now: delivered at once.
    h.feed(bm(1, 555, "c", None));
    assert_eq!(brief(&h.events()), ["im 555 fivefive c 1000000"]);
}

#[test]
fn a_lookup_that_times_out_delivers_with_the_uid_alone_and_holds_that_sender_no_more() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    h.feed(bm(1, 555, "hello", None));
    let req = lookup_of(&h.sent(), 555);
    h.advance(Duration::from_millis(4_999));
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(brief(&h.events()), ["im 555 - hello 1000000"]);
    // No second hold, no second lookup while the first may still answer.
    h.feed(bm(1, 555, "again", None));
    assert_eq!(brief(&h.events()), ["im 555 - again 1000000"]);
    assert!(h.sent().is_empty());
    // A late answer still teaches the name.
    h.feed(named(&req, 555, "fivefive"));
    h.feed(bm(1, 555, "named", None));
    assert_eq!(brief(&h.events()), ["info 555 fivefive", "im 555 fivefive named 1000000"]);
}

#[test]
fn a_failed_or_empty_lookup_delivers_with_the_uid_alone_at_once() {
    for answer in [
        reply as fn(u32, &PersistRequest, DictBuilder) -> ServerMessage,
        |_, req, _| reply(1025, req, DictBuilder::new().str("ErrorMessage", "no")),
        |_, req, _| reply(257, req, DictBuilder::new()),
    ] {
        let mut h = H::new(cfg());
        h.signed_on(&[]);
        h.feed(bm(121, 555, "%typing%", None));
        let req = lookup_of(&h.sent(), 555);
        // The first case answers with a user without a username (the server sends the id).
        h.feed(answer(257, &req, DictBuilder::new().int("UserID", 555).str("UserName", "555")));
        let ev = brief(&h.events());
        assert_eq!(ev.last().map(String::as_str), Some("typing 555 - true"), "{ev:?}");
        assert_eq!(ev.iter().filter(|e| e.starts_with("typing")).count(), 1);
    }
}

#[test]
fn presence_before_the_sign_on_is_looked_up_only_when_the_contact_list_leaves_the_sender_unnamed() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on("jeff");
    h.feed(status(6221, Presence::Away, "lunch"));
    h.feed(status(999, Presence::Online, ""));
    assert!(lookups(&h.sent()).is_empty(), "no lookup storm for contacts' presence at login");
    h.feed(reply(257, &H::persist_req(&sent, 0, 1), DictBuilder::new().int("ContactID", 6221).str("UserName", "tom")));
    assert_eq!(brief(&h.events()), ["list 1", "signed on", "status 6221 tom Away lunch"]);
    let req = lookup_of(&h.sent(), 999);
    h.feed(named(&req, 999, "nine"));
    assert_eq!(brief(&h.events()), ["info 999 nine", "status 999 nine Online "]);
}

#[test]
fn on_a_server_that_answers_nothing_held_messages_come_after_the_fallback_sign_on_with_the_uid() {
    let mut h = H::new(cfg());
    h.log_in_until_signing_on("jeff");
    h.feed(bm(1, 555, "offline", Some(SENT_AT)));
    h.advance(Duration::from_secs(5));
    assert!(h.events().is_empty(), "the lookup gave up, but the sign-on is not complete");
    h.advance(Duration::from_secs(5));
    assert_eq!(brief(&h.events()), ["timeout warning", "signed on", "im 555 - offline 1100000000 offline"]);
}

#[test]
fn held_messages_are_delivered_before_the_terminal_event_when_the_connection_ends() {
    let mut h = H::new(cfg());
    h.log_in_until_signing_on("jeff");
    h.feed(bm(1, 555, "last words", Some(SENT_AT)));
    h.m.connection_lost(None, h.t);
    let ev = h.events();
    assert_eq!(brief(&ev[..1]), ["im 555 - last words 1100000000 offline"]);
    assert!(matches!(&ev[1..], [Event::LoginFailed { .. }]), "one report of the end, after the IM: {ev:?}");
    assert_eq!(h.m.held.size(), (0, 0));
}

#[test]
fn held_messages_wait_across_a_reconnect_for_the_next_sign_on() {
    let policy = ReconnectPolicy { enabled: true, initial_delay: Duration::from_secs(1), ..ReconnectPolicy::default() };
    let mut h = H::new(Config { reconnect: policy, ..cfg() });
    h.signed_on(&[]);
    h.feed(bm(1, 555, "before", None));
    h.m.connection_lost(None, h.t);
    assert!(matches!(&h.events()[..], [Event::Disconnected { reconnecting: true, .. }]));
    h.advance(Duration::from_secs(1));
    let attempt = h.attempt();
    h.log_in_again(attempt);
    let sent = h.sent();
    h.feed(reply(257, &H::persist_req(&sent, 0, 1), DictBuilder::new().int("ContactID", 555).str("UserName", "five")));
    assert_eq!(brief(&h.events()), ["list 1", "signed on", "im 555 five before 1000000"]);
}

#[test]
fn held_events_are_capped_in_bytes_and_count_the_oldest_delivered_early_never_dropped() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    // Bytes: 100 KiB IMs (html + plain ≈ 200 KiB counted each) from one unknown sender.
    let big = "x".repeat(100 * 1024);
    for i in 0..8 {
        h.feed(bm(1, 555, &format!("{i}{big}"), None));
        let (_, bytes) = h.m.held.size();
        assert!(bytes <= MAX_HELD_BYTES, "{bytes}");
    }
    let early: Vec<Event> = h.events();
    assert!(!early.is_empty() && early.len() < 8, "{}", early.len());
    let req = lookup_of(&h.sent(), 555);
    h.feed(named(&req, 555, "five"));
    let all: Vec<Event> =
        early.into_iter().chain(h.events()).filter(|e| matches!(e, Event::ImReceived { .. })).collect();
    let order: Vec<char> = all
        .iter()
        .map(|e| if let Event::ImReceived { plain, .. } = e { plain.chars().next().unwrap() } else { '?' })
        .collect();
    assert_eq!(order, "01234567".chars().collect::<Vec<_>>(), "each exactly once, in order");
    assert!(matches!(&all[0], Event::ImReceived { username: None, .. }), "early = the uid alone");
    assert!(matches!(all.last(), Some(Event::ImReceived { username: Some(n), .. }) if n == "five"));

    // Count: small events from another unknown sender.
    for _ in 0..MAX_HELD_EVENTS + 3 {
        h.feed(bm(121, 777, "%typing%", None));
    }
    assert_eq!(h.m.held.size().0, MAX_HELD_EVENTS);
    assert_eq!(h.events().len(), 3, "the three oldest went out early");
}

#[test]
fn media_and_notices_from_an_unknown_sender_are_held_with_the_rest() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    h.feed(bm(122, 555, "cmdtype=1&reqid=1&contenttype=1&", None));
    h.feed(bm(200, 555, "Miranda", None));
    let req = lookup_of(&h.sent(), 555);
    assert!(h.events().is_empty());
    h.feed(named(&req, 555, "five"));
    assert_eq!(
        brief(&h.events()),
        ["info 555 five", "typing 555 five true", "typing 555 five false", "notice 555 five ClientVersion Miranda"]
    );
}
