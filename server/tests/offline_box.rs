//! Issue "Hostile peers, round two", offline box fairness: one sender used to be able to fill a
//! recipient's whole box (500 IMs; measured: Tom got 1 of 300 through), the box had no byte cap
//! (500 × 256 KiB = 125 MB), and senders were never told. Now each sender has a share of the box
//! (`OfflineLimits::per_sender_*`), the box has a byte cap, and an IM that is not stored gets its
//! sender a non-fatal `\error\` naming the recipient.

mod common;

use common::*;
use msim::protocol::buddy::bm;
use msim::protocol::kinds::ServerMessage;
use msim::protocol::DictBuilder;

/// The "not stored" errors `c` received within `wait`.
fn not_stored_errors(c: &mut Client, wait: std::time::Duration) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(ServerMessage::Error { code: 1, fatal: false, text }) =
        c.try_expect(|m| matches!(m, ServerMessage::Error { .. }), wait)
    {
        out.push(text);
    }
    out
}

#[test]
fn one_sender_cannot_fill_a_recipients_offline_box_and_learns_what_was_not_stored() {
    let s = server(); // the default limits: 500 IMs / 4 MiB per box, 50 IMs / 512 KiB per sender
    let tom = s.add_account("tom@example.com", "tpw", Some("tom"), None).unwrap();
    s.add_account("spam@example.com", "spw", Some("spammer"), None).unwrap();
    s.add_account("friend@example.com", "fpw", Some("friend"), None).unwrap();
    let mut spammer = Client::login(s.addr(), "spam@example.com", "spw");
    let mut friend = Client::login(s.addr(), "friend@example.com", "fpw");

    for i in 0..300 {
        spammer.im(tom, &format!("buy now {i}"));
    }
    spammer.persist(1, 1, 4, DictBuilder::new()); // all 300 processed
    let refused = not_stored_errors(&mut spammer, QUIET);
    assert_eq!(refused.len(), 250, "one error per IM not stored");
    assert!(refused[0].contains(&tom.to_string()) && refused[0].contains("not stored"), "{}", refused[0]);
    for i in 0..30 {
        friend.im(tom, &format!("hi tom {i}"));
    }
    friend.persist(1, 1, 4, DictBuilder::new());
    assert_eq!(not_stored_errors(&mut friend, QUIET), Vec::<String>::new());

    let mut t = Client::login(s.addr(), "tom@example.com", "tpw");
    let mut from_friend = 0;
    let mut from_spammer = 0;
    while let Some(ServerMessage::Bm(b)) =
        t.try_expect(|m| matches!(m, ServerMessage::Bm(b) if b.kind == bm::IM), QUIET)
    {
        if b.from == friend.uid {
            from_friend += 1;
        } else {
            from_spammer += 1;
        }
    }
    assert_eq!((from_friend, from_spammer), (30, 50));
}

#[test]
fn the_box_has_a_byte_cap_and_each_sender_a_byte_share() {
    let s = server_with(|c| {
        c.offline_limits.max_bytes = 64 * 1024;
        c.offline_limits.per_sender_bytes = 20 * 1024;
    });
    let to = s.add_account("to@example.com", "pw", Some("to"), None).unwrap();
    let senders: Vec<Client> = (0..4)
        .map(|i| {
            s.add_account(&format!("s{i}@example.com"), "pw", Some(&format!("s{i}")), None).unwrap();
            Client::login(s.addr(), &format!("s{i}@example.com"), "pw")
        })
        .collect();
    let ten_kib = "x".repeat(10 * 1024);
    let mut outcomes = Vec::new();
    for mut c in senders {
        // Three 10 KiB IMs each: the third passes the sender's 20 KiB share.
        for _ in 0..3 {
            c.im(to, &ten_kib);
        }
        c.persist(1, 1, 4, DictBuilder::new());
        outcomes.push(not_stored_errors(&mut c, QUIET).len());
    }
    // 2 + 2 + 2 stored (60 KiB); the fourth sender's first would pass the 64 KiB box.
    assert_eq!(outcomes, [1, 1, 1, 3]);
    let stored = s.db().offline_for(to).unwrap();
    assert_eq!(stored.len(), 6);
    assert!(stored.iter().map(|m| m.msg.len()).sum::<usize>() <= 64 * 1024);
}
