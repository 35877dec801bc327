//! The blocking client against a real msim-server on 127.0.0.1 (port 0, in-memory database).

mod common;

use std::time::Duration;

use common::client::{config, server, server_with, Client};
use msim::client::{Config, DisconnectReason, Event, LoginFailure, OwnStatus, UsernameOutcome};
use msim::protocol::status::Presence;
use msim::protocol::zap::Zap;

fn pair(s: &msim_server::Server) -> (u32, u32) {
    let a = s.add_account("alice@example.com", "alicepw", Some("alice"), Some("Alice")).unwrap();
    let b = s.add_account("bob@example.com", "bobpw", Some("bob"), Some("Bob")).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    (a, b)
}

#[test]
fn two_sessions_sign_on_and_exchange_ims_both_ways() {
    let s = server();
    let (a, b) = pair(&s);
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let mut bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    assert_eq!((alice.session.uid(), alice.session.username().as_deref()), (a, Some("alice")));
    // By username (resolved through the contact list or a lookup) and with formatting.
    alice.session.send_im("Bob", "<b>hello</b> bob").unwrap();
    let Event::ImReceived { from, username, html, plain, offline, .. } =
        bob.wait(|e| matches!(e, Event::ImReceived { .. }))
    else {
        unreachable!()
    };
    assert_eq!((from, username.as_deref(), offline), (a, Some("alice"), false));
    assert!(plain.contains("hello bob"), "{plain}");
    assert!(html.contains("hello"), "{html}");
    bob.session.send_im(&a.to_string(), "hi alice &amp; co").unwrap();
    let Event::ImReceived { from, plain, .. } = alice.wait(|e| matches!(e, Event::ImReceived { .. })) else {
        unreachable!()
    };
    assert_eq!(from, b);
    assert!(plain.contains("hi alice"), "{plain}");
}

#[test]
fn presence_typing_and_zaps_reach_the_buddy() {
    let s = server();
    let (a, _b) = pair(&s);
    let alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let mut bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    alice.session.set_status(OwnStatus::Away, "at lunch").unwrap();
    let ev = bob.wait(|e| matches!(e, Event::BuddyStatus { uid, presence: Presence::Away, .. } if *uid == a));
    assert!(matches!(ev, Event::BuddyStatus { ref headline, .. } if headline == "at lunch"), "{ev:?}");
    alice.session.send_typing("bob", true).unwrap();
    bob.wait(|e| matches!(e, Event::Typing { from, typing: true, .. } if *from == a));
    alice.session.send_typing("bob", false).unwrap();
    bob.wait(|e| matches!(e, Event::Typing { from, typing: false, .. } if *from == a));
    alice.session.send_zap("bob", Zap::Hug).unwrap();
    bob.wait(|e| matches!(e, Event::Zap { from, zap: Zap::Hug, .. } if *from == a));
    alice.session.set_status(OwnStatus::Invisible, "").unwrap();
    bob.wait(|e| matches!(e, Event::BuddyStatus { uid, presence: Presence::Offline, .. } if *uid == a));
}

#[test]
fn bad_password_and_unknown_account_fail_the_login() {
    let s = server();
    pair(&s);
    let mut c = Client::connect(&s, "alice@example.com", "wrong", config());
    let ev = c.wait(|e| matches!(e, Event::LoginFailed { .. } | Event::SignedOn { .. }));
    assert!(matches!(ev, Event::LoginFailed { reason: LoginFailure::BadPassword, code: 260, .. }), "{ev:?}");
    let mut c = Client::connect(&s, "nobody@example.com", "x", config());
    let ev = c.wait(|e| matches!(e, Event::LoginFailed { .. } | Event::SignedOn { .. }));
    // msim-server answers an unknown e-mail like a bad password (SPEC §24).
    assert!(matches!(ev, Event::LoginFailed { reason: LoginFailure::BadPassword, code: 260, .. }), "{ev:?}");
}

#[test]
fn offline_im_is_delivered_at_next_login_with_its_date() {
    let s = server();
    let (a, _b) = pair(&s);
    let alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    alice.session.send_im("bob", "while you were out").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut bob = Client::connect(&s, "bob@example.com", "bobpw", config());
    let Event::ImReceived { from, plain, offline, time, .. } = bob.wait(|e| matches!(e, Event::ImReceived { .. }))
    else {
        unreachable!()
    };
    assert_eq!((from, offline), (a, true));
    assert!(plain.contains("while you were out"));
    assert!(time >= before.saturating_sub(2) && time <= before + 5, "date {time} vs {before}");
}

#[test]
fn lookups_by_id_username_and_email() {
    let s = server();
    let (a, b) = pair(&s);
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    assert_ne!(a, b);
    for who in [b.to_string(), "BOB".to_string(), "bob@example.com".to_string()] {
        let rid = alice.session.lookup_user(&who).unwrap();
        let ev = alice.wait(|e| matches!(e, Event::LookupResult { request, .. } if *request == rid));
        let Event::LookupResult { result: Ok(Some(info)), .. } = ev else { panic!("{who}: {ev:?}") };
        assert_eq!(
            (info.uid, info.username.as_deref(), info.display_name.as_deref()),
            (b, Some("bob"), Some("Bob")),
            "{who}"
        );
    }
    let rid = alice.session.lookup_user("nosuchuser").unwrap();
    let ev = alice.wait(|e| matches!(e, Event::LookupResult { request, .. } if *request == rid));
    assert!(matches!(ev, Event::LookupResult { result: Ok(None), .. }), "{ev:?}");
}

#[test]
fn add_remove_block_and_unblock() {
    let s = server();
    let (a, b) = pair(&s);
    let c = s.add_account("carol@example.com", "carolpw", Some("carol"), None).unwrap();
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    alice.session.add_buddy("carol", Some("Work")).unwrap();
    let ev = alice.wait(|e| matches!(e, Event::BuddyAdded { .. }));
    assert_eq!(ev, Event::BuddyAdded { uid: c, username: Some("carol".into()), group: "Work".into() });
    drop(alice);
    let mut alice = Client::connect(&s, "alice@example.com", "alicepw", config());
    let Event::ContactList(list) = alice.wait(|e| matches!(e, Event::ContactList(_))) else { unreachable!() };
    assert!(list.iter().any(|x| x.uid == c && x.group == "Work"), "{list:?}");
    alice.wait(|e| matches!(e, Event::SignedOn { .. }));
    alice.session.remove_buddy(&c.to_string()).unwrap();
    assert_eq!(
        alice.wait(|e| matches!(e, Event::BuddyRemoved { .. })),
        Event::BuddyRemoved { uid: c, username: Some("carol".into()) }
    );
    // Blocked: bob's IMs no longer arrive.
    alice.session.block("bob").unwrap();
    assert!(
        matches!(alice.wait(|e| matches!(e, Event::BuddyBlocked { .. })), Event::BuddyBlocked { uid, blocked: true, .. } if uid == b)
    );
    let bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    bob.session.send_im(&a.to_string(), "let me in").unwrap();
    assert!(alice.collect_for(Duration::from_millis(700), |e| matches!(e, Event::ImReceived { .. })).is_empty());
    alice.session.unblock("bob").unwrap();
    assert!(
        matches!(alice.wait(|e| matches!(e, Event::BuddyBlocked { .. })), Event::BuddyBlocked { uid, blocked: false, .. } if uid == b)
    );
    // The unblock's blocklist message follows its persist (SPEC §18.3); a round trip makes sure
    // the server has handled it before bob writes.
    let rid = alice.session.lookup_user("bob").unwrap();
    alice.wait(|e| matches!(e, Event::LookupResult { request, .. } if *request == rid));
    bob.session.send_im(&a.to_string(), "thanks").unwrap();
    alice.wait(|e| matches!(e, Event::ImReceived { plain, .. } if plain.contains("thanks")));
}

#[test]
fn account_without_username_chooses_one_then_signs_on() {
    let s = server();
    pair(&s);
    let n = s.add_account("newbie@example.com", "newpw", None, Some("Newbie")).unwrap();
    let mut c = Client::connect(&s, "newbie@example.com", "newpw", config());
    assert_eq!(c.wait(|e| matches!(e, Event::UsernameRequired { .. })), Event::UsernameRequired { uid: n });
    assert_eq!(c.session.username(), None);
    let rid = c.session.check_username("bob").unwrap();
    let ev = c.wait(|e| matches!(e, Event::UsernameResult { .. }));
    assert_eq!(
        ev,
        Event::UsernameResult {
            request: rid,
            name: "bob".into(),
            outcome: UsernameOutcome::Taken,
            text: String::new()
        }
    );
    c.session.check_username("newbie_1").unwrap();
    assert!(matches!(
        c.wait(|e| matches!(e, Event::UsernameResult { .. })),
        Event::UsernameResult { outcome: UsernameOutcome::Available, .. }
    ));
    c.session.set_username("newbie_1").unwrap();
    assert!(matches!(
        c.wait(|e| matches!(e, Event::UsernameResult { .. })),
        Event::UsernameResult { outcome: UsernameOutcome::Set, .. }
    ));
    let ev = c.wait(|e| matches!(e, Event::SignedOn { .. }));
    assert_eq!(ev, Event::SignedOn { uid: n, username: Some("newbie_1".into()) });
    // The name sticks.
    drop(c);
    let c = Client::signed_on(&s, "newbie@example.com", "newpw");
    assert_eq!(c.session.username().as_deref(), Some("newbie_1"));
}

#[test]
fn server_stop_gives_exactly_one_disconnect() {
    let s = server();
    pair(&s);
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    s.stop();
    let ev = alice.wait(|e| matches!(e, Event::Disconnected { .. }));
    assert!(matches!(ev, Event::Disconnected { reconnecting: false, .. }), "{ev:?}");
    let more = alice.collect_for(Duration::from_millis(500), |e| {
        matches!(e, Event::Disconnected { .. } | Event::LoginFailed { .. })
    });
    assert!(more.is_empty(), "{more:?}");
}

#[test]
fn second_login_kicks_the_first_with_error_6() {
    let s = server();
    pair(&s);
    let mut first = Client::signed_on(&s, "alice@example.com", "alicepw");
    let _second = Client::signed_on(&s, "alice@example.com", "alicepw");
    let ev = first.wait(|e| matches!(e, Event::Disconnected { .. }));
    assert!(
        matches!(
            ev,
            Event::Disconnected { reason: DisconnectReason::LoggedInElsewhere, code: 6, reconnecting: false, .. }
        ),
        "{ev:?}"
    );
}

#[test]
fn slow_contact_list_signs_on_after_the_timeout_and_arrives_later() {
    let s = server_with(msim_server::Config {
        log: false,
        contact_list_delay: Duration::from_millis(1500),
        ..Default::default()
    });
    pair(&s);
    let cfg = Config { contact_list_timeout: Duration::from_millis(300), ..config() };
    let mut alice = Client::connect(&s, "alice@example.com", "alicepw", cfg);
    let ev = alice.wait(|e| matches!(e, Event::SignedOn { .. } | Event::ContactList(_) | Event::Error { .. }));
    assert!(matches!(ev, Event::Error { error: msim::client::Error::Timeout(_) }), "{ev:?}");
    alice.wait(|e| matches!(e, Event::SignedOn { .. }));
    let Event::ContactList(list) = alice.wait(|e| matches!(e, Event::ContactList(_))) else { unreachable!() };
    assert_eq!(list.len(), 1);
}

fn fast_reconnect() -> Config {
    Config {
        reconnect: msim::client::ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
            max_attempts: 20,
        },
        ..config()
    }
}

#[test]
fn a_kick_by_another_login_never_reconnects() {
    let s = server();
    pair(&s);
    let mut bob = Client::connect(&s, "bob@example.com", "bobpw", fast_reconnect());
    bob.wait(|e| matches!(e, Event::SignedOn { .. }));
    let _other = Client::signed_on(&s, "bob@example.com", "bobpw");
    let ev = bob.wait(|e| matches!(e, Event::Disconnected { .. }));
    assert!(
        matches!(ev, Event::Disconnected { reason: DisconnectReason::LoggedInElsewhere, reconnecting: false, .. }),
        "{ev:?}"
    );
    assert!(bob.collect_for(Duration::from_millis(500), |e| matches!(e, Event::SignedOn { .. })).is_empty());
}

#[test]
fn after_a_server_restart_the_session_reconnects_and_sends_what_was_queued() {
    let s = server();
    let addr = s.addr();
    let (a, b) = pair(&s);
    let mut bob = Client::connect(&s, "bob@example.com", "bobpw", fast_reconnect());
    bob.wait(|e| matches!(e, Event::SignedOn { .. }));
    s.stop();
    let ev = bob.wait(|e| matches!(e, Event::Disconnected { .. }));
    assert!(matches!(ev, Event::Disconnected { reconnecting: true, .. }), "{ev:?}");
    let id = bob.session.send_im(&a.to_string(), "sent while down").unwrap();
    // Same port, fresh database with the same accounts (same uids, in order).
    let s = server_with(msim_server::Config { log: false, listen: addr.to_string(), ..Default::default() });
    assert_eq!(pair(&s), (a, b));
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    bob.wait(|e| matches!(e, Event::SignedOn { .. }));
    assert_eq!(bob.wait(|e| matches!(e, Event::ImSent { .. } | Event::ImFailed { .. })), Event::ImSent { id });
    alice.wait(|e| matches!(e, Event::ImReceived { plain, .. } if plain.contains("sent while down")));
}

#[test]
fn groups_import_mail_server_info_and_contact_info() {
    let s = server();
    let (a, b) = pair(&s);
    let c = s.add_account("carol@example.com", "carolpw", Some("carol"), None).unwrap();
    s.add_contact(c, a, "IM Friends").unwrap();
    // An offline IM makes the server report mail at the next login (its one "new item").
    let bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    bob.session.send_im("alice", "psst").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let cfg = Config { mail_check_interval: Some(Duration::from_secs(60)), ..config() };
    let mut alice = Client::connect(&s, "alice@example.com", "alicepw", cfg);
    let Event::ServerInfo(info) = alice.wait(|e| matches!(e, Event::ServerInfo(_))) else { unreachable!() };
    assert!(info.iter().any(|(k, v)| k == "MaxContacts" && v == "1000"), "{info:?}");
    // The mail check goes out before the contact-list request (SPEC §6.6), so its alert may come
    // before the sign-on.
    assert_eq!(alice.wait(|e| matches!(e, Event::MailAlert { .. })), Event::MailAlert { new: 1, all: 1 });
    alice.wait(|e| matches!(e, Event::SignedOn { .. }));
    // Groups.
    let _ = alice.session.request_groups().unwrap();
    let Event::Groups(groups) = alice.wait(|e| matches!(e, Event::Groups(_))) else { unreachable!() };
    assert!(groups.iter().any(|g| g.name == "IM Friends" && g.position == 1), "{groups:?}");
    // Import: carol lists alice, so she is added.
    alice.session.import_friends().unwrap();
    let Event::ContactList(list) = alice.wait(|e| matches!(e, Event::ContactList(_))) else { unreachable!() };
    assert!(list.iter().any(|x| x.uid == c), "{list:?}");
    let ev = alice.wait(|e| matches!(e, Event::ImportResult { .. }));
    assert!(matches!(ev, Event::ImportResult { result: Ok(n) } if n as usize == list.len()), "{ev:?}");
    // Contact info: a nickname survives the next login.
    alice.session.set_contact_info("bob", Some("Pals"), "Bobby").unwrap();
    let rid = alice.session.lookup_user("bob").unwrap();
    alice.wait(|e| matches!(e, Event::LookupResult { request, .. } if *request == rid));
    drop(alice);
    let mut alice = Client::connect(&s, "alice@example.com", "alicepw", config());
    let Event::ContactList(list) = alice.wait(|e| matches!(e, Event::ContactList(_))) else { unreachable!() };
    let bob_entry = list.iter().find(|x| x.uid == b).expect("bob listed");
    assert_eq!((bob_entry.group.as_str(), bob_entry.nickname.as_deref()), ("Pals", Some("Bobby")));
}
