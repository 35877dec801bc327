//! bm routing (SPEC §11, §24): IMs, typing, zaps, media, offline storage, blocking.

mod common;

use common::*;
use msim::protocol::buddy::{self, bm};
use msim::protocol::kinds::{BlockOp, ClientMessage, ServerMessage, Target};
use msim::protocol::zap::Zap;
use msim::protocol::DictBuilder;
use msim_server::Config;

fn two_users(s: &msim_server::Server) -> (Client, Client) {
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    (Client::login(s.addr(), "a@example.com", "apw"), Client::login(s.addr(), "b@example.com", "bpw"))
}

#[test]
fn im_between_two_sessions_carries_sender_and_cv() {
    let s = server();
    let (mut a, mut b) = two_users(&s);
    let text = "<p><f f='Arial' h='12'>hello/world\\ ok</f></p>";
    a.im(b.uid, text);
    let m = b.expect(|m| matches!(m, ServerMessage::Bm(x) if x.kind == bm::IM), WAIT);
    let ServerMessage::Bm(m) = m else { unreachable!() };
    assert_eq!((m.from, m.cv, m.date), (a.uid, Some(697), None));
    assert_eq!(m.payload, buddy::BmPayload::Text(text.into()));
}

/// Write coalescing (`batch.rs`): IMs that reach the server in one read are routed as one batch
/// and written to the recipient together (gathered, 64 messages per `sendmsg`); none may be lost,
/// reordered or cut, also when the batch is larger than one gather and mixes two recipients.
#[test]
fn a_burst_of_ims_in_one_write_arrives_whole_and_in_order() {
    let s = server();
    let (mut a, mut b) = two_users(&s);
    s.add_account("c@example.com", "cpw", Some("cc"), None).unwrap();
    let mut c = Client::login(s.addr(), "c@example.com", "cpw");
    let mut burst = Vec::new();
    for i in 0..300 {
        let to = if i % 3 == 0 { c.uid } else { b.uid };
        let m = msim::protocol::kinds::BmToServer {
            kind: bm::IM,
            sesskey: a.sesskey,
            target: to,
            cv: None,
            msg: format!("im {i:03} {}", "x".repeat(i % 40)),
        };
        burst.extend(ClientMessage::Bm(m).encode().unwrap().encode());
    }
    a.send_raw(&burst);
    for (client, want) in
        [(&mut b, (0..300).filter(|i| i % 3 != 0).collect::<Vec<_>>()), (&mut c, (0..300).step_by(3).collect())]
    {
        for i in want {
            let (text, _) = client.expect_bm(bm::IM, a.uid);
            assert_eq!(text, format!("im {i:03} {}", "x".repeat(i % 40)));
        }
    }
}

#[test]
fn typing_zap_media_and_client_version_are_relayed() {
    let s = server();
    let (mut a, mut b) = two_users(&s);
    let cases = [
        (bm::INSTANT, buddy::TYPING.to_owned()),
        (bm::INSTANT, buddy::STOP_TYPING.to_owned()),
        (bm::INSTANT, Zap::Hug.payload()),
        (bm::MEDIA, buddy::media_payload(15_704_865_745_422_254)),
        (bm::UNOFFICIAL_CLIENT, "msim 0.1".to_owned()),
    ];
    for (kind, payload) in cases {
        a.bm(kind, b.uid, &payload);
        assert_eq!(b.expect_bm(kind, a.uid).0, payload, "bm {kind}");
    }
}

#[test]
fn blocked_sender_im_is_not_delivered() {
    let s = server();
    let (mut a, mut b) = two_users(&s);
    b.send(&ClientMessage::BlockList { sesskey: b.sesskey, ops: vec![BlockOp::Block(Target::Uid(a.uid))] });
    // Make sure the blocklist is processed before a's IM: a round trip on b's connection.
    b.persist(1, 0, 1, DictBuilder::new());
    a.im(b.uid, "can you hear me");
    a.bm(bm::INSTANT, b.uid, buddy::TYPING);
    b.expect_none(|m| matches!(m, ServerMessage::Bm(x) if x.from == a.uid && x.kind != bm::STATUS), QUIET);
    // Nor is it kept for later.
    drop(b);
    let mut b = Client::login(s.addr(), "b@example.com", "bpw");
    b.expect_none(|m| matches!(m, ServerMessage::Bm(x) if x.kind == bm::IM), QUIET);
    // Unblocked, messages flow again.
    b.send(&ClientMessage::BlockList { sesskey: b.sesskey, ops: vec![BlockOp::Unblock(Target::Uid(a.uid))] });
    b.persist(1, 0, 1, DictBuilder::new());
    a.im(b.uid, "now?");
    assert_eq!(b.expect_bm(bm::IM, a.uid).0, "now?");
}

#[test]
fn offline_im_is_stored_and_delivered_with_date_after_restart() {
    let dir = TempDir::new("offline");
    let db = dir.0.join("msim.db").to_string_lossy().into_owned();
    let cfg = || Config { db: db.clone(), ..config() };
    let (a_uid, b_uid);
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    {
        let s = msim_server::Server::start(cfg()).unwrap();
        a_uid = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
        b_uid = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
        let mut a = Client::login(s.addr(), "a@example.com", "apw");
        a.im(b_uid, "first");
        a.im(b_uid, "second");
        a.bm(bm::INSTANT, b_uid, buddy::TYPING); // not stored: momentary
        a.persist(1, 0, 1, DictBuilder::new()); // round trip: the IMs are processed
        s.stop();
    }
    let s = msim_server::Server::start(cfg()).unwrap();
    let mut b = Client::login(s.addr(), "b@example.com", "bpw");
    assert_eq!(b.uid, b_uid);
    let (t1, d1) = b.expect_bm(bm::IM, a_uid);
    let (t2, d2) = b.expect_bm(bm::IM, a_uid);
    assert_eq!((t1.as_str(), t2.as_str()), ("first", "second"));
    let d1 = d1.expect("offline IM has a date");
    assert!(d1 >= before && d1 <= before + 60, "date {d1} near {before}");
    assert!(d2.is_some());
    b.expect_none(|m| matches!(m, ServerMessage::Bm(x) if x.kind == bm::INSTANT), QUIET);
    // The mail check reports that offline messages were waiting.
    let r = b.persist(1, 7, 18, DictBuilder::new());
    assert_eq!(body_str(&r.body, "Mail").as_deref(), Some("On"));
    drop(b);
    // Delivered once only.
    let mut b = Client::login(s.addr(), "b@example.com", "bpw");
    b.expect_none(|m| matches!(m, ServerMessage::Bm(x) if x.kind == bm::IM), QUIET);
    let r = b.persist(1, 7, 18, DictBuilder::new());
    assert_eq!(r.body, b"");
}

/// Issue "Real peers" item 1, last sentence: a stored IM must not be deleted before it reached the
/// recipient. Here the recipient's client stops reading right after `lc=2` (a small receive
/// buffer, so its TCP soon stops acknowledging) and then resets the connection. The server could
/// write several 200 KiB IMs into its own socket buffer, but none of them reached the client:
/// all must still be stored, and arrive in order at the next login. (Before: "written" counted as
/// delivered, and every IM that fit into the server's socket buffer was deleted and lost.)
#[test]
fn offline_ims_written_but_never_acknowledged_are_kept_for_the_next_login() {
    let s = server_with(|c| c.write_timeout = std::time::Duration::from_secs(2));
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    let big = "x".repeat(200 * 1024);
    let texts: Vec<String> = (0..12).map(|i| format!("{i:02} {big}")).collect();
    for t in &texts {
        let unlimited = msim_server::rules::OfflineLimits::unlimited();
        assert_eq!(s.db().store_offline(b, a, bm::IM, t, None, 1, &unlimited).unwrap(), Ok(()));
    }

    let mut first = Client::connect(s.addr());
    set_recv_buffer(first.stream(), 16 * 1024);
    assert!(matches!(first.login2("b@example.com", "bpw"), ServerMessage::LoginOk { .. }));
    // The server writes what its socket buffer takes, then waits for acknowledgements.
    std::thread::sleep(std::time::Duration::from_millis(500));
    reset(first);

    let mut again = Client::login(s.addr(), "b@example.com", "bpw");
    for t in &texts {
        let (got, date) = again.expect_bm(bm::IM, a);
        assert_eq!((&got[..2], got.len(), date), (&t[..2], t.len(), Some(1)));
    }
    // The session answers requests only after its offline delivery is settled.
    again.persist(1, 1, 4, DictBuilder::new());
    drop(again);
    // Now acknowledged, hence deleted: a third login gets nothing.
    let mut third = Client::login(s.addr(), "b@example.com", "bpw");
    third.expect_none(|m| matches!(m, ServerMessage::Bm(x) if x.kind == bm::IM), QUIET);
}
