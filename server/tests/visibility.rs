//! Issue "Hostile peers, round two" item 4: blocks and invisibility must not leak through persist
//! replies. Measured before: 1/17 `ClientVersion` was non-zero exactly while the user was online
//! (invisible or not), and 0/2 and 1/17 showed the status text and `LastLogin` to users the
//! subject had blocked. Now every reply about another user follows bm 100's rule
//! (`router::can_see`, applied by `router::seen_by`).
//!
//! Method: for each dsn/lid that returns data about someone else, the reply a viewer gets while
//! the subject is offline must be byte-for-byte the reply it gets while the subject is online (for
//! viewers who may not see the subject) or online but invisible (for a viewer who may).

mod common;

use common::*;
use msim::protocol::kinds::{BlockOp, ClientMessage, Target};
use msim::protocol::DictBuilder;

/// Every request that returns data about `subject`, with the body of each reply.
fn replies_about(c: &mut Client, subject: u32) -> Vec<(&'static str, Vec<u8>)> {
    let asks: [(&str, u32, u32, DictBuilder); 6] = [
        ("0/1 contact list", 0, 1, DictBuilder::new()),
        ("0/2 contact info", 0, 2, DictBuilder::new().int("ContactID", subject.into())),
        ("1/17 IM info", 1, 17, DictBuilder::new().int("UserID", subject.into())),
        ("4/3 info by id", 4, 3, DictBuilder::new().int("UserID", subject.into())),
        ("5/7 by UserName", 5, 7, DictBuilder::new().str("UserName", "alice")),
        ("5/7 by Email", 5, 7, DictBuilder::new().str("Email", "alice@example.com")),
    ];
    asks.into_iter()
        .map(|(name, dsn, lid, body)| {
            let r = c.persist(1, dsn, lid, body);
            assert_eq!(r.cmd.0, 257, "{name} refused: {r:?}");
            (name, r.body)
        })
        .collect()
}

fn assert_same(viewer: &str, when: &str, offline: &[(&str, Vec<u8>)], now: &[(&str, Vec<u8>)]) {
    for ((name, before), (_, after)) in offline.iter().zip(now) {
        assert_eq!(
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(after),
            "{viewer}'s {name} tells that alice is {when}"
        );
    }
}

#[test]
fn replies_about_a_user_tell_blocked_hidden_and_invisible_viewers_nothing_of_her_presence() {
    let s = server();
    let alice = s.add_account("alice@example.com", "apw", Some("alice"), Some("Alice")).unwrap();
    let bob = s.add_account("bob@example.com", "bpw", Some("bob"), None).unwrap(); // blocked by alice
    let carol = s.add_account("carol@example.com", "cpw", Some("carol"), None).unwrap(); // hidden by w1
    let dave = s.add_account("dave@example.com", "dpw", Some("dave"), None).unwrap(); // alice's contact
    for viewer in [bob, carol, dave] {
        s.add_contact(viewer, alice, "IM Friends").unwrap();
    }
    s.add_contact(alice, dave, "IM Friends").unwrap();

    // Alice blocks bob, shows herself only to her list, and sets a status text.
    let mut a = Client::login(s.addr(), "alice@example.com", "apw");
    let ops = vec![BlockOp::Block(Target::Uid(bob)), BlockOp::ShowOnlyToList(true)];
    a.send(&ClientMessage::BlockList { sesskey: a.sesskey, ops });
    a.status(1, "secret plans");
    a.persist(1, 1, 4, DictBuilder::new());
    a.send(&ClientMessage::Logout { sesskey: a.sesskey });
    assert!(a.closed_within(WAIT));
    wait_until("alice is offline", || s.online_count() == 0);
    // A LastLogin long ago, so a fresh login would show.
    s.db().touch_login(alice, 1_000).unwrap();

    let mut b = Client::login(s.addr(), "bob@example.com", "bpw");
    let mut c = Client::login(s.addr(), "carol@example.com", "cpw");
    let mut d = Client::login(s.addr(), "dave@example.com", "dpw");
    let (off_b, off_c, off_d) =
        (replies_about(&mut b, alice), replies_about(&mut c, alice), replies_about(&mut d, alice));
    for (name, body) in off_b.iter().chain(&off_c) {
        let text = String::from_utf8_lossy(body);
        assert!(!text.contains("secret"), "{name}: {text}");
        assert!(!text.contains("LastLogin=1") && !text.contains("ShowOnlyToList=True"), "{name}: {text}");
    }
    assert!(String::from_utf8_lossy(&off_d[1].1).contains("Headline=secret plans"), "dave may see her text");

    // Alice comes online: bob and carol learn nothing from any reply.
    let mut a = Client::login(s.addr(), "alice@example.com", "apw");
    assert_eq!(d.expect_status(alice, 1), "secret plans");
    assert_same("bob", "online", &off_b, &replies_about(&mut b, alice));
    assert_same("carol", "online", &off_c, &replies_about(&mut c, alice));

    // Alice goes invisible: dave (who may see her) sees her go offline, and every reply says so too.
    a.status(0, "secret plans");
    assert_eq!(d.expect_status(alice, 0), "Offline");
    assert_same("dave", "online though invisible", &off_d, &replies_about(&mut d, alice));
    assert_same("bob", "online though invisible", &off_b, &replies_about(&mut b, alice));

    // Positive control: visible again, dave's 1/17 shows her client version.
    a.status(1, "secret plans");
    assert_eq!(d.expect_status(alice, 1), "secret plans");
    let now = replies_about(&mut d, alice);
    assert!(
        String::from_utf8_lossy(&now[2].1).contains("ClientVersion=697"),
        "{:?}",
        String::from_utf8_lossy(&now[2].1)
    );
}
