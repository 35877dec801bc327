//! Contact lists, groups, blocking and import (SPEC §10, §18).

mod common;

use common::*;
use msim::protocol::kinds::{BlockOp, ClientMessage, ServerMessage, Target};
use msim::protocol::DictBuilder;

fn contact_list(c: &mut Client) -> Vec<(u32, u32)> {
    let r = c.persist(1, 0, 1, DictBuilder::new());
    assert_eq!(r.cmd.0, 257);
    contact_ids(&r.body)
}

fn blocklist(c: &mut Client, ops: Vec<BlockOp>) {
    c.send(&ClientMessage::BlockList { sesskey: c.sesskey, ops });
}

#[test]
fn empty_contact_list_is_answered_with_empty_body() {
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    // Pidgin's field order: dsn lid uid.
    let r = c.persist(1, 0, 1, DictBuilder::new());
    assert_eq!((r.cmd.0, r.body.len()), (257, 0));
}

#[test]
fn addbuddy_adds_contact_and_sends_bm4_and_presence() {
    let s = server();
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), Some("Bee")).unwrap();
    let mut ca = Client::login(s.addr(), "a@example.com", "apw");
    ca.send(&ClientMessage::AddBuddy { sesskey: ca.sesskey, uid: b, reason: String::new() });
    assert_eq!(ca.expect_bm(4, b).0, "");
    assert_eq!(ca.expect_status(b, 0), "Offline");

    let r = ca.persist(1, 0, 1, DictBuilder::new());
    let recs = records(&r.body, "ContactID");
    assert_eq!(recs.len(), 1);
    let keys: Vec<&str> = recs[0].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ContactID",
            "Headline",
            "Position",
            "GroupName",
            "Visibility",
            "AvatarUrl",
            "ShowAvatar",
            "LastLogin",
            "IMName",
            "NickName",
            "NameSelect",
            "DisplayName",
            "UserName"
        ]
    );
    assert_eq!(field(&recs[0], "GroupName"), Some("IM Friends"));
    assert_eq!(field(&recs[0], "UserName"), Some("bb"));
    assert_eq!(field(&recs[0], "DisplayName"), Some("Bee"));

    // An online buddy's presence comes back online.
    let _cb = Client::login(s.addr(), "b@example.com", "bpw");
    ca.expect_status(b, 1);
    let _ = a;
}

#[test]
fn pidgin_add_update_and_remove_flow() {
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    // SPEC §18.1 (Pidgin): addbuddy, 0/9 write, blocklist a+ b-.
    c.send(&ClientMessage::AddBuddy { sesskey: c.sesskey, uid: b, reason: String::new() });
    let body = DictBuilder::new()
        .int("ContactID", b.into())
        .str("GroupName", "Pals")
        .int("Position", 1000)
        .int("Visibility", 1)
        .str("NickName", "")
        .int("NameSelect", 0);
    let r = c.persist(514, 0, 9, body.clone());
    assert_eq!(r.cmd.0, 258);
    assert_eq!(r.body, body.as_bytes().unwrap());
    blocklist(&mut c, vec![BlockOp::Allow(Target::Uid(b)), BlockOp::Unblock(Target::Uid(b))]);
    let r = c.persist(1, 0, 1, DictBuilder::new());
    let rec = &records(&r.body, "ContactID")[0];
    assert_eq!(
        (field(rec, "GroupName"), field(rec, "Position"), field(rec, "Visibility")),
        (Some("Pals"), Some("1000"), Some("1"))
    );
    // The group now exists in the group list.
    let g = c.persist(1, 2, 6, DictBuilder::new());
    let names: Vec<String> =
        records(&g.body, "GroupID").iter().map(|r| field(r, "GroupName").unwrap().to_owned()).collect();
    assert_eq!(names, ["IM Friends", "MySpaceIM Rooms", "Recent Contacts", "Pals"]);

    // SPEC §18.2: delbuddy, 0/8 delete, blocklist a- b-.
    c.send(&ClientMessage::DelBuddy { sesskey: c.sesskey, uid: b });
    let r = c.persist(515, 0, 8, DictBuilder::new().int("ContactID", b.into()));
    assert!(!r.cmd.is_error());
    blocklist(&mut c, vec![BlockOp::Unallow(Target::Uid(b)), BlockOp::Unblock(Target::Uid(b))]);
    assert_eq!(contact_list(&mut c), []);
}

#[test]
fn block_and_unblock_are_reported_in_contact_list() {
    let s = server();
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    let x = s.add_account("x@example.com", "xpw", Some("xx"), None).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    assert_eq!(contact_list(&mut c), [(b, 1)]);

    // Pidgin's block (SPEC §18.3): delbuddy, a- b+, 0/9 with Visibility=2 and no uid key.
    c.send(&ClientMessage::DelBuddy { sesskey: c.sesskey, uid: b });
    blocklist(&mut c, vec![BlockOp::Unallow(Target::Uid(b)), BlockOp::Block(Target::Uid(b))]);
    let r = c.persist_with_uid(514, 0, 9, None, DictBuilder::new().int("ContactID", b.into()).int("Visibility", 2));
    assert_eq!(r.cmd.0, 258);
    // The official client's way: only b+ (no contact row) — still listed, as blocked.
    blocklist(&mut c, vec![BlockOp::Block(Target::Uid(x))]);
    assert_eq!(contact_list(&mut c), [(b, 2), (x, 2)]);

    // Pidgin's unblock: 0/8 then a- b-.
    let r = c.persist_with_uid(515, 0, 8, None, DictBuilder::new().int("ContactID", b.into()));
    assert!(!r.cmd.is_error());
    blocklist(&mut c, vec![BlockOp::Unallow(Target::Uid(b)), BlockOp::Unblock(Target::Uid(b))]);
    assert_eq!(contact_list(&mut c), [(x, 2)]);
    // `b-|*` clears the rest; `w0|c0` alone (Pidgin's login sync) is accepted.
    blocklist(&mut c, vec![BlockOp::ShowOnlyToList(false), BlockOp::PrivacyMode(false), BlockOp::Unblock(Target::All)]);
    blocklist(&mut c, vec![BlockOp::ShowOnlyToList(false), BlockOp::PrivacyMode(false)]);
    assert_eq!(contact_list(&mut c), []);
}

#[test]
fn contact_info_and_group_write() {
    let s = server();
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    s.add_contact(a, b, "Recent Contacts").unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    let r = c.persist(1, 0, 2, DictBuilder::new().int("ContactID", b.into()));
    let rec = &records(&r.body, "ContactID")[0];
    assert_eq!(rec[0], ("ContactID".into(), b.to_string()));
    assert_eq!(rec[1], ("ContactID".into(), b.to_string()), "ContactID twice, as in the capture");
    assert_eq!(field(rec, "GroupName"), Some("Recent Contacts"));

    let body = DictBuilder::new().str("GroupName", "IM Friends").int("Position", 1).int("GroupFlag", 131_073);
    let r = c.persist(2, 2, 16, body.clone());
    assert_eq!((r.cmd.0, r.body.as_slice()), (258, body.as_bytes().unwrap()));
    let g = c.persist(1, 2, 6, DictBuilder::new());
    let flags: Vec<String> =
        records(&g.body, "GroupID").iter().map(|r| field(r, "GroupFlag").unwrap().to_owned()).collect();
    assert_eq!(flags, ["131073", "196612", "196610"]);
}

/// The storage limits of rules.rs: a group name over MAX_NAME_TEXT bytes, a group past
/// MAX_GROUPS and a nickname over the limit get persist error replies (1024 bit); a `b+` for a
/// uid that is no account is not stored.
#[test]
fn group_and_name_limits_are_refused_with_error_replies() {
    let s = server();
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    let long = "g".repeat(msim_server::rules::MAX_NAME_TEXT + 1);
    let r = c.persist(2, 2, 16, DictBuilder::new().str("GroupName", &long));
    assert_eq!(r.cmd.0 & 1024, 1024, "a too-long group name was stored");
    let existing = records(&c.persist(1, 2, 6, DictBuilder::new()).body, "GroupID").len();
    for i in existing..msim_server::rules::MAX_GROUPS {
        let r = c.persist(2, 2, 16, DictBuilder::new().str("GroupName", &format!("group {i}")));
        assert_eq!(r.cmd.0, 258, "group {i} within the limit was refused");
    }
    let r = c.persist(2, 2, 16, DictBuilder::new().str("GroupName", "one too many"));
    assert_eq!(r.cmd.0 & 1024, 1024, "a group past the limit was stored");
    let r = c.persist(2, 2, 16, DictBuilder::new().str("GroupName", "group 5").int("Position", 9));
    assert_eq!(r.cmd.0, 258, "updating an existing group at the limit is fine");
    let r = c.persist(2, 0, 9, DictBuilder::new().int("ContactID", b.into()).str("NickName", &long));
    assert_eq!(r.cmd.0 & 1024, 1024, "a too-long nickname was stored");
    assert!(s.db().contact(a, b).unwrap().is_none(), "a refused write left a contact row behind");
    c.send(&ClientMessage::BlockList { sesskey: c.sesskey, ops: vec![BlockOp::Block(Target::Uid(999_999))] });
    let _ = c.persist(1, 1, 4, DictBuilder::new()); // the blocklist has been handled after this reply
    assert!(s.db().blocked_uids(a).unwrap().is_empty(), "an entry for no account was stored");
}

#[test]
fn import_friends_adds_everyone_who_lists_you() {
    let s = server();
    let me = s.add_account("me@example.com", "mepw", Some("me"), None).unwrap();
    let f1 = s.add_account("f1@example.com", "pw", Some("f1"), None).unwrap();
    let f2 = s.add_account("f2@example.com", "pw", Some("f2"), None).unwrap();
    s.add_account("other@example.com", "pw", Some("other"), None).unwrap();
    s.add_contact(f1, me, "IM Friends").unwrap();
    s.add_contact(f2, me, "IM Friends").unwrap();
    let mut c = Client::login(s.addr(), "me@example.com", "mepw");
    let r = c.persist(2, 14, 21, DictBuilder::new().str("GroupName", "MySpace Friends"));
    assert_eq!(body_str(&r.body, "Completed").as_deref(), Some("True"));
    let mut ids = contact_list(&mut c);
    ids.sort_unstable();
    assert_eq!(ids, [(f1, 1), (f2, 1)]);
    c.expect_none(|m| matches!(m, ServerMessage::Error { .. }), QUIET);
}

#[test]
fn demo_accounts_list_each_other_and_tom_is_6221() {
    let s = server_with(|c| c.demo = true);
    assert_eq!(s.demo_accounts().len(), 4);
    let mut alice = Client::login(s.addr(), "alice@example.com", "alicepw");
    let ids: Vec<u32> = contact_list(&mut alice).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&6221));
    let carol = Client::login(s.addr(), "carol@example.com", "carolpw");
    assert_eq!(carol.uniquenick, carol.uid.to_string(), "carol has no username yet");
    alice.expect_status(carol.uid, 1);
}
