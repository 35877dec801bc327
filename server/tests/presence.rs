//! Presence fan-out (SPEC §11.5, §12, §24): login, status changes, invisibility, disconnect.

mod common;

use common::*;
use msim::protocol::kinds::{BlockOp, ClientMessage, Target};
use msim::protocol::DictBuilder;

/// a and b list each other; c lists a but a does not list c; d lists nobody.
fn setup(s: &msim_server::Server) -> [u32; 4] {
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    let c = s.add_account("c@example.com", "cpw", Some("cc"), None).unwrap();
    let d = s.add_account("d@example.com", "dpw", Some("dd"), None).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    s.add_contact(c, a, "IM Friends").unwrap();
    [a, b, c, d]
}

#[test]
fn login_is_announced_to_watchers_and_newcomer_gets_contacts_presence() {
    let s = server();
    let [a, b, _c, _d] = setup(&s);
    let mut cb = Client::login(s.addr(), "b@example.com", "bpw");
    let mut cc = Client::login(s.addr(), "c@example.com", "cpw");
    let mut cd = Client::login(s.addr(), "d@example.com", "dpw");
    let mut ca = Client::login(s.addr(), "a@example.com", "apw");
    cb.expect_status(a, 1);
    cc.expect_status(a, 1);
    cd.expect_none(|m| is_status(m, a, None), QUIET);
    // a gets b's presence (a lists b), not c's (a does not list c).
    ca.expect_status(b, 1);
    ca.expect_none(|m| is_status(m, _c, None), QUIET);
}

#[test]
fn status_change_and_invisible_are_fanned_out() {
    let s = server();
    let [a, _b, _c, _d] = setup(&s);
    let mut cb = Client::login(s.addr(), "b@example.com", "bpw");
    let mut ca = Client::login(s.addr(), "a@example.com", "apw");
    cb.expect_status(a, 1);
    ca.status(5, "out to lunch");
    assert_eq!(cb.expect_status(a, 5), "out to lunch");
    // Invisible: others see exactly what they see on logout.
    ca.status(0, "hiding");
    assert_eq!(cb.expect_status(a, 0), "Offline");
    ca.status(1, "back");
    assert_eq!(cb.expect_status(a, 1), "back");
    // The status text is the headline in lists.
    let r = cb.persist(1, 0, 1, DictBuilder::new());
    assert_eq!(field(&records(&r.body, "ContactID")[0], "Headline"), Some("back"));
    // A newcomer sees an invisible contact as nothing at all.
    ca.status(0, "");
    cb.expect_status(a, 0);
    drop(cb);
    let mut cb = Client::login(s.addr(), "b@example.com", "bpw");
    cb.expect_none(|m| is_status(m, a, None), QUIET);
}

#[test]
fn disconnect_and_logout_show_offline() {
    let s = server();
    let [a, b, _c, _d] = setup(&s);
    let mut cb = Client::login(s.addr(), "b@example.com", "bpw");
    let ca = Client::login(s.addr(), "a@example.com", "apw");
    cb.expect_status(a, 1);
    drop(ca); // just closes the socket, as Pidgin does
    assert_eq!(cb.expect_status(a, 0), "Offline");
    let mut ca = Client::login(s.addr(), "a@example.com", "apw");
    cb.expect_status(a, 1);
    ca.send(&ClientMessage::Logout { sesskey: ca.sesskey });
    assert_eq!(cb.expect_status(a, 0), "Offline");
    let _ = b;
}

#[test]
fn kicked_session_does_not_announce_offline() {
    let s = server();
    let [a, _b, _c, _d] = setup(&s);
    let mut cb = Client::login(s.addr(), "b@example.com", "bpw");
    let _first = Client::login(s.addr(), "a@example.com", "apw");
    cb.expect_status(a, 1);
    let _second = Client::login(s.addr(), "a@example.com", "apw");
    cb.expect_status(a, 1);
    cb.expect_none(|m| is_status(m, a, Some(0)), QUIET);
}

#[test]
fn blocking_hides_presence_both_ways() {
    let s = server();
    let [a, b, _c, _d] = setup(&s);
    let mut cb = Client::login(s.addr(), "b@example.com", "bpw");
    let mut ca = Client::login(s.addr(), "a@example.com", "apw");
    cb.expect_status(a, 1);
    // a blocks b: b sees a go offline at once, and no longer sees a's changes.
    ca.send(&ClientMessage::BlockList { sesskey: ca.sesskey, ops: vec![BlockOp::Block(Target::Uid(b))] });
    cb.expect_status(a, 0);
    ca.status(5, "away");
    cb.expect_none(|m| is_status(m, a, Some(5)), QUIET);
    // Unblocked: the real presence comes back.
    ca.send(&ClientMessage::BlockList { sesskey: ca.sesskey, ops: vec![BlockOp::Unblock(Target::Uid(b))] });
    assert_eq!(cb.expect_status(a, 5), "away");
}
