//! Issue "Real peers" item 1: the `%d` client of the peer zoo (`common/printf_client.rs`) signs on
//! again and again. Every integer the server issues must survive Pidgin's `atoi` + `printf("%d")`
//! round trip (SPEC §6.5, §24: `sesskey`, uids and server-chosen rids in 1..=2^31−1); before the fix
//! about half of all sign-ons failed, because a key ≥ 2^31 came back negative.

mod common;
#[path = "common/printf_client.rs"]
mod printf_client;

use common::*;
use printf_client::{atoi_u32, body_value, d, PrintfClient};

/// 40 sign-ons, as measured in the issue (17 of 40 failed). Each one: an offline IM waiting at
/// login, the contact list, own info, a contact lookup, an IM each way. Every request is answered
/// without an error and every integer the server sent is echoed unchanged by `%d`.
#[test]
fn a_printf_d_client_signs_on_40_times_and_every_request_works() {
    let s = server();
    let me = s.add_account("pidgin@example.com", "pw", Some("pidgin"), None).unwrap();
    let buddy_uid = s.add_account("buddy@example.com", "bpw", Some("buddy"), None).unwrap();
    s.add_contact(me, buddy_uid, "IM Friends").unwrap();
    s.add_contact(buddy_uid, me, "IM Friends").unwrap();
    let mut buddy = Client::login(s.addr(), "buddy@example.com", "bpw");

    let mut keys_at_or_above_2_pow_31 = 0;
    for round in 0..40 {
        // Stored while the %d client is offline, delivered right after its lc=2.
        buddy.im(me, &format!("while you were out {round}"));
        let _ = buddy.persist(1, 1, 4, msim::protocol::DictBuilder::new()); // barrier: the IM is stored
        let mut c = PrintfClient::sign_on(s.addr(), "pidgin@example.com", "pw", WAIT);
        assert_eq!(c.uid, me);
        keys_at_or_above_2_pow_31 += usize::from(c.sesskey >= 1 << 31);
        let offline = c.expect(|m| m.get_raw("bm").is_some_and(|v| atoi_u32(v) == 1), WAIT);
        assert_eq!(atoi_u32(offline.get_raw("f").unwrap()), buddy_uid);
        assert_eq!(offline.get_str("msg").unwrap(), format!("while you were out {round}"));

        for (cmd, dsn, lid, body) in [
            (1, 0, 1, vec![]),
            (1, 1, 4, vec![]),
            (1, 4, 5, vec![]),
            (1, 0, 2, vec![("ContactID", d(buddy_uid))]),
            (1, 4, 3, vec![("UserID", d(buddy_uid))]),
        ] {
            let r = c.persist(cmd, dsn, lid, &body, WAIT);
            assert!(!r.has("error"), "round {round}: {dsn}/{lid} got {r:?}");
            assert_eq!(atoi_u32(r.get_raw("cmd").unwrap()), 257, "round {round}: {dsn}/{lid} refused: {r:?}");
            if (dsn, lid) == (0, 1) {
                assert_eq!(body_value(&r, "ContactID").map(|v| atoi_u32(v.as_bytes())), Some(buddy_uid));
            }
        }
        c.im(buddy_uid, &format!("round {round}"));
        assert_eq!(buddy.expect_bm(1, me).0, format!("round {round}"));
        buddy.im(me, &format!("back {round}"));
        let m = c.expect(|m| m.get_raw("bm").is_some_and(|v| atoi_u32(v) == 1) && m.get_raw("date").is_none(), WAIT);
        assert_eq!(m.get_str("msg").unwrap(), format!("back {round}"));
        assert_eq!(c.integers_not_echoed_unchanged(), Vec::<(String, String)>::new(), "round {round}");
        drop(c);
        // The server noticed the close: the next IM is stored, not sent to the dead session.
        buddy.expect_status(me, 0);
    }
    assert_eq!(keys_at_or_above_2_pow_31, 0);
}
