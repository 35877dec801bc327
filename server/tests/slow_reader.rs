//! Issue "Hostile peers, round two", slow reader: a recipient that never reads used to stall the
//! session of whoever sent to it (measured: 30.6 s), because the sender's thread wrote into the
//! recipient's full socket. Now senders only queue (`outbox.rs`); past `max_outbound_bytes` the
//! slow connection is closed and the sender carries on. IMs that were queued but never written
//! are stored for the recipient's next login, so none is lost or duplicated.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use msim::protocol::buddy::{bm, BmPayload};
use msim::protocol::kinds::ServerMessage;
use msim::protocol::DictBuilder;

/// The number an IM of this test carries in its first 4 characters.
fn im_number(m: &ServerMessage, from: u32) -> Option<u32> {
    match m {
        ServerMessage::Bm(b) if b.kind == bm::IM && b.from == from => match &b.payload {
            BmPayload::Text(t) => t.get(..4)?.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn a_recipient_that_never_reads_is_closed_and_never_stalls_the_sender() {
    let s = server_with(|c| {
        c.max_outbound_bytes = 512 * 1024;
        // Every unwritten IM must fit in the box, to check that none is lost (the box's own limits
        // are `offline_box.rs`'s subject).
        c.offline_limits = msim_server::rules::OfflineLimits::unlimited();
    });
    let sender_uid = s.add_account("fast@example.com", "fpw", Some("fast"), None).unwrap();
    let slow_uid = s.add_account("slow@example.com", "spw", Some("slow"), None).unwrap();
    s.add_contact(sender_uid, slow_uid, "IM Friends").unwrap();

    let mut slow = Client::connect(s.addr());
    set_recv_buffer(slow.stream(), 16 * 1024);
    assert!(matches!(slow.login2("slow@example.com", "spw"), ServerMessage::LoginOk { .. }));
    let mut sender = Client::login(s.addr(), "fast@example.com", "fpw");
    sender.expect_status(slow_uid, 1);

    // 24 MiB of IMs at a reader that reads nothing: far more than its socket buffers and outbox.
    let body = "x".repeat(96 * 1024);
    let count = 256;
    let started = Instant::now();
    for i in 0..count {
        sender.im(slow_uid, &format!("{i:04} {body}"));
    }
    // The sender's own requests are answered at once, however full the slow socket is.
    let r = sender.persist(1, 1, 4, DictBuilder::new());
    assert_eq!(r.cmd.0, 257);
    let stalled = started.elapsed();
    println!("{count} IMs of 96 KiB to a reader that never reads, then a persist reply: {stalled:?}");
    assert!(stalled < WAIT, "the sender was held up {stalled:?}");

    // The slow connection was closed (its watchers see it go offline) ...
    assert_eq!(sender.expect_status(slow_uid, 0), "Offline");
    wait_until("the slow session is gone", || s.online_count() == 1);
    // ... and every IM reaches it exactly once: what its socket held, then the rest, stored, at
    // its next login.
    let mut got = Vec::new();
    assert!(slow.closed_within(WAIT), "the slow connection is still open");
    while let Some(m) = slow.try_expect(|m| im_number(m, sender_uid).is_some(), Duration::ZERO) {
        got.push(im_number(&m, sender_uid).unwrap());
    }
    let first = got.len();
    let mut again = Client::login(s.addr(), "slow@example.com", "spw");
    while let Some(m) = again.try_expect(|m| im_number(m, sender_uid).is_some(), QUIET) {
        got.push(im_number(&m, sender_uid).unwrap());
    }
    println!("{first} IMs read from the closed connection, {} delivered at the next login", got.len() - first);
    assert!(first < count as usize, "the reader got everything: nothing was tested");
    let unique: BTreeSet<u32> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "IMs delivered twice");
    assert_eq!(unique, (0..count).collect::<BTreeSet<u32>>(), "IMs lost");
}
