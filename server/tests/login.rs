//! Login (SPEC §6, §16, §24): challenge, server info, lc=2, errors 260 (bad password or unknown e-mail)/6/2.

mod common;

use common::*;
use msim::protocol::kinds::{ClientMessage, ServerMessage};
use msim::protocol::persist::DataItem;

#[test]
fn connect_gets_challenge_then_server_info() {
    let s = server();
    let mut c = Client::connect(s.addr());
    let info = c.expect(|m| matches!(m, ServerMessage::Persist(_)), WAIT);
    let ServerMessage::Persist(p) = info else { unreachable!() };
    assert_eq!((p.cmd.0, p.item(), p.uid), (257, DataItem::ServerInfo, 0));
    assert!(p.rid >= 1_000_000, "server-chosen rid {}", p.rid);
    assert_eq!(body_str(&p.body, "MaxContacts").as_deref(), Some("1000"));
    assert_eq!(body_str(&p.body, "MaxAddAllFriends").as_deref(), Some("100"));
}

#[test]
fn login_ok_gives_lc2_with_uniquenick_and_proof() {
    let s = server();
    let uid = s.add_account("Alice@Example.com", "alicepw", Some("alice"), Some("Alice")).unwrap();
    // The e-mail is matched case-insensitively.
    let (c, answer) = Client::try_login(s.addr(), "alice@example.com", "alicepw");
    let ServerMessage::LoginOk { sesskey, proof, userid, profileid, uniquenick } = answer else { panic!("{answer:?}") };
    assert_ne!(sesskey, 0);
    assert_eq!((userid, profileid), (uid, uid));
    assert_eq!((proof.as_str(), uniquenick.as_str()), ("alice", "alice"));
    assert_eq!(c.uid, uid);
    assert_eq!(s.online_count(), 1);
}

#[test]
fn login_without_username_gives_numeric_uniquenick() {
    let s = server();
    let uid = s.add_account("carol@example.com", "carolpw", None, None).unwrap();
    let c = Client::login(s.addr(), "carol@example.com", "carolpw");
    assert_eq!(c.uniquenick, uid.to_string());
}

#[test]
fn bad_password_gets_fatal_error_260_and_close() {
    let s = server();
    s.add_account("bob@example.com", "bobpw", Some("bob"), None).unwrap();
    let (mut c, answer) = Client::try_login(s.addr(), "bob@example.com", "wrong");
    assert!(matches!(answer, ServerMessage::Error { code: 260, fatal: true, .. }), "{answer:?}");
    assert!(c.closed_within(WAIT));
    assert_eq!(s.online_count(), 0);
}

/// Issue "Real peers" item 2 (SPEC §24, §25): an unknown e-mail gets exactly the bad-password
/// answer — code 260, same text, fatal — never 259, which Pidgin treats as a network error and
/// answers by reconnecting forever; and the reply does not tell which e-mails have accounts.
#[test]
fn unknown_email_gets_the_same_fatal_error_260_as_a_bad_password() {
    let s = server();
    s.add_account("bob@example.com", "bobpw", Some("bob"), None).unwrap();
    let (mut c, unknown) = Client::try_login(s.addr(), "nobody@example.com", "x");
    assert!(matches!(unknown, ServerMessage::Error { code: 260, fatal: true, .. }), "{unknown:?}");
    assert!(c.closed_within(WAIT));
    let (_, wrong) = Client::try_login(s.addr(), "bob@example.com", "wrong");
    assert_eq!(unknown, wrong, "the two causes must not be told apart");
}

#[test]
fn second_login_kicks_first_with_error_6() {
    let s = server();
    s.add_account("bob@example.com", "bobpw", Some("bob"), None).unwrap();
    let mut first = Client::login(s.addr(), "bob@example.com", "bobpw");
    let second = Client::login(s.addr(), "bob@example.com", "bobpw");
    let kicked = first.expect(|m| matches!(m, ServerMessage::Error { .. }), WAIT);
    assert!(matches!(kicked, ServerMessage::Error { code: 6, fatal: true, .. }), "{kicked:?}");
    assert!(first.closed_within(WAIT));
    assert_eq!(s.online_count(), 1);
    assert_ne!(first.sesskey, second.sesskey);
}

#[test]
fn requests_before_login_get_error_2() {
    let s = server();
    let mut c = Client::connect(s.addr());
    c.send(&ClientMessage::Status { sesskey: 1, code: 1, statstring: String::new(), locstring: String::new() });
    let e = c.expect(|m| matches!(m, ServerMessage::Error { .. }), WAIT);
    assert!(matches!(e, ServerMessage::Error { code: 2, fatal: false, .. }), "{e:?}");
}

#[test]
fn wrong_sesskey_is_refused_and_session_continues() {
    let s = server();
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    c.send(&ClientMessage::Logout { sesskey: c.sesskey.wrapping_add(1) });
    let e = c.expect(|m| matches!(m, ServerMessage::Error { .. }), WAIT);
    // SPEC §25: code 3, invalid session key; not fatal.
    assert!(matches!(e, ServerMessage::Error { code: 3, fatal: false, .. }), "{e:?}");
    // Still logged in: a real request works.
    let r = c.persist(1, 4, 5, msim::protocol::DictBuilder::new().int("UserID", a.into()));
    assert_eq!(body_str(&r.body, "UserID"), Some(a.to_string()));
    assert_eq!(s.online_count(), 1);
}

#[test]
fn logout_closes_session() {
    let s = server();
    s.add_account("a@example.com", "apw", None, None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    let key = c.sesskey;
    c.send(&ClientMessage::Logout { sesskey: key });
    assert!(c.closed_within(WAIT));
    let deadline = std::time::Instant::now() + WAIT;
    while s.online_count() != 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(s.online_count(), 0);
}
