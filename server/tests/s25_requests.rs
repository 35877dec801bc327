//! The requests and error codes of SPEC §25 ("More persist pairs", "Other commands", "Error
//! codes"), each sent as raw bytes in the official client's field order (`persist sesskey cmd dsn
//! uid lid rid body`, SPEC §7.1): 1/10 own preferences read back by 1/4, 1/7 contact IM info, 2/16
//! rename by `GroupID` and delete with cmd 3, 7/10, 15/22, 16/25; `getinfo`, `skype`, `nettest` and
//! a legacy `login`; errors 1539, 2817, 3 and 267.

mod common;

use common::*;
use msim::protocol::kinds::ServerMessage;
use msim::protocol::login::compute_response_b64;
use msim::protocol::persist::PersistReply;
use msim::protocol::Dict;

/// Sends a persist request as raw bytes (`body` already in wire form: escaped, 0x1C-separated)
/// and returns the reply with its rid.
fn raw_persist(c: &mut Client, cmd: u32, dsn: u32, lid: u32, body: &str) -> PersistReply {
    let rid = c.next_rid();
    let (key, uid) = (c.sesskey, c.uid);
    let msg = format!(
        "\\persist\\1\\sesskey\\{key}\\cmd\\{cmd}\\dsn\\{dsn}\\uid\\{uid}\\lid\\{lid}\\rid\\{rid}{}",
        format_args!("\\body\\{body}\\final\\")
    );
    c.send_raw(msg.as_bytes());
    match c.expect(|m| matches!(m, ServerMessage::Persist(p) if p.rid == rid), WAIT) {
        ServerMessage::Persist(p) => p,
        _ => unreachable!(),
    }
}

fn error_code(c: &mut Client) -> (u32, bool) {
    match c.expect(|m| matches!(m, ServerMessage::Error { .. }), WAIT) {
        ServerMessage::Error { code, fatal, .. } => (code, fatal),
        _ => unreachable!(),
    }
}

/// The keys of a body, in order.
fn keys(body: &[u8]) -> Vec<String> {
    Dict::parse(body).unwrap().iter().map(|(k, _)| String::from_utf8(k.to_vec()).unwrap()).collect()
}

fn value(body: &[u8], key: &str) -> Option<String> {
    body_str(body, key)
}

#[test]
fn own_preferences_set_by_1_10_are_stored_and_returned_by_1_4() {
    let s = server();
    let me = s.add_account("mira@example.com", "mirapw", Some("mira"), None).unwrap();
    let w = s.add_account("w@example.com", "wpw", Some("watcher"), None).unwrap();
    s.add_contact(w, me, "IM Friends").unwrap();
    let mut watcher = Client::login(s.addr(), "w@example.com", "wpw");
    let mut c = Client::login(s.addr(), "mira@example.com", "mirapw");
    watcher.expect_status(me, 1);

    // Miranda sends them at login (SPEC §25), cmd 514.
    let body = "Sound=False\x1cPrivacyMode=0\x1cShowOnlyToList=False\x1cOfflineMessageMode=2\x1c\
                Headline=Out to lunch /1 back soon\x1cAlert=0\x1cShowAvatar=True\x1cIMName=Mira M.";
    let r = raw_persist(&mut c, 514, 1, 10, body);
    assert_eq!((r.cmd.0, r.body.as_slice()), (258, body.as_bytes()), "the reply echoes the body");
    // A new headline is the status text watchers see (as after \status\).
    assert_eq!(watcher.expect_status(me, 1), "Out to lunch / back soon");

    let own = raw_persist(&mut c, 1, 1, 4, "");
    assert_eq!(own.cmd.0, 257);
    let expect = [
        ("Sound", "False"),
        ("PrivacyMode", "0"),
        ("ShowOnlyToList", "False"),
        ("OfflineMessageMode", "2"),
        ("Headline", "Out to lunch / back soon"),
        ("Alert", "0"),
        ("ShowAvatar", "True"),
        ("IMName", "Mira M."),
    ];
    for (k, v) in expect {
        assert_eq!(value(&own.body, k).as_deref(), Some(v), "1/4 {k}");
    }
    // A write of one key keeps the others; GET on 1/10 reads what 1/4 reads.
    let r = raw_persist(&mut c, 514, 1, 10, "Alert=1\x1cPrivacyMode=3");
    assert_eq!(r.cmd.0, 258);
    let read = raw_persist(&mut c, 1, 1, 10, "");
    assert_eq!((value(&read.body, "Alert"), value(&read.body, "Sound")), (Some("1".into()), Some("False".into())));
    assert_eq!(value(&read.body, "PrivacyMode").as_deref(), Some("3"));
    // A malformed value is an error reply and changes nothing.
    let r = raw_persist(&mut c, 514, 1, 10, "Sound=True\x1cAlert=loud");
    assert_eq!(r.cmd.0, 1026, "{:?}", r.error_message());
    assert_eq!(value(&raw_persist(&mut c, 1, 1, 4, "").body, "Sound").as_deref(), Some("False"));
    // ShowOnlyToList=True hides the presence from a watcher who is on neither of my lists.
    raw_persist(&mut c, 514, 1, 10, "ShowOnlyToList=True");
    watcher.expect_status(me, 0);
}

#[test]
fn contact_im_info_1_7_answers_for_the_contact_id() {
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    let _cb = Client::login(s.addr(), "b@example.com", "bpw");
    let r = raw_persist(&mut c, 1, 1, 7, &format!("ContactID={b}"));
    assert_eq!(r.cmd.0, 257);
    let keys = keys(&r.body);
    assert_eq!(keys.first().map(String::as_str), Some("ContactID"));
    assert_eq!(keys.last().map(String::as_str), Some("ClientVersion"));
    assert_eq!(value(&r.body, "ContactID"), Some(b.to_string()));
    assert_eq!(value(&r.body, "UserID"), Some(b.to_string()));
    assert_eq!(value(&r.body, "ClientVersion").as_deref(), Some("697"), "online and visible");
    let r = raw_persist(&mut c, 1, 1, 7, "ContactID=999999");
    assert_eq!(r.cmd.0, 1025);
}

/// Digsby's group edits (SPEC §25), the bytes msim's client sends (tests/peer_s25.rs): a rename is
/// a 2/16 PUT with `GroupID` and `GroupName`, a delete a 2/16 cmd 3 with `GroupID`.
#[test]
fn groups_are_renamed_by_group_id_and_deleted_with_cmd_3() {
    let s = server();
    let me = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    s.add_contact(me, b, "Close").unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    let groups = |c: &mut Client| -> Vec<(u64, String)> {
        let r = raw_persist(c, 1, 2, 6, "");
        records(&r.body, "GroupID")
            .iter()
            .map(|g| (field(g, "GroupID").unwrap().parse().unwrap(), field(g, "GroupName").unwrap().to_owned()))
            .collect()
    };
    let group_of_b = |c: &mut Client| {
        let r = raw_persist(c, 1, 0, 1, "");
        field(&records(&r.body, "ContactID")[0], "GroupName").unwrap().to_owned()
    };
    let close = groups(&mut c).into_iter().find(|(_, n)| n == "Close").unwrap().0;

    let body = format!("GroupID={close}\x1cGroupName=Close /1 Dear");
    let r = raw_persist(&mut c, 2, 2, 16, &body);
    assert_eq!((r.cmd.0, r.body.as_slice()), (258, body.as_bytes()), "{:?}", r.error_message());
    assert!(groups(&mut c).contains(&(close, "Close / Dear".into())));
    assert_eq!(group_of_b(&mut c), "Close / Dear", "the contact follows its group");
    // Refused: another group's name, a group that is not mine.
    let r = raw_persist(&mut c, 2, 2, 16, &format!("GroupID={close}\x1cGroupName=IM Friends"));
    assert_eq!(r.cmd.0, 1026);
    let r = raw_persist(&mut c, 2, 2, 16, "GroupID=999999\x1cGroupName=X");
    assert_eq!(r.cmd.0, 1026);

    let body = format!("GroupID={close}");
    let r = raw_persist(&mut c, 3, 2, 16, &body);
    assert_eq!((r.cmd.0, r.body.as_slice()), (259, body.as_bytes()), "{:?}", r.error_message());
    assert!(!groups(&mut c).iter().any(|(id, _)| *id == close));
    assert_eq!(group_of_b(&mut c), "IM Friends", "contacts of a deleted group move to the default group");
    assert_eq!(raw_persist(&mut c, 3, 2, 16, &body).cmd.0, 1027, "already deleted");
    // The default group goes only when empty.
    let friends = groups(&mut c).into_iter().find(|(_, n)| n == "IM Friends").unwrap().0;
    assert_eq!(raw_persist(&mut c, 3, 2, 16, &format!("GroupID={friends}")).cmd.0, 1027);
    raw_persist(&mut c, 515, 0, 8, &format!("ContactID={b}"));
    assert_eq!(raw_persist(&mut c, 3, 2, 16, &format!("GroupID={friends}")).cmd.0, 259);
    // A write by name (no GroupID) still creates a group.
    assert_eq!(raw_persist(&mut c, 2, 2, 16, "GroupName=New\x1cPosition=9\x1cGroupFlag=131073").cmd.0, 258);
    assert!(groups(&mut c).iter().any(|(_, n)| n == "New"));
}

#[test]
fn alerts_top_friends_and_invitations_are_answered() {
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    // (cmd, dsn, lid, body, reply cmd, reply body): 7/10 a valid empty answer; 15/22 completes
    // with nothing to add (no MySpace profile, no top friends); 16/25 refused with a reason.
    type Case<'a> = (u32, u32, u32, &'a str, u32, Option<&'a str>);
    let cases: [Case; 4] = [
        (1, 7, 10, "", 257, Some("")),
        (2, 15, 22, "GroupName=Top Friends", 258, Some("Completed=True")),
        (1, 15, 22, "", 257, Some("Completed=True")),
        (514, 16, 25, "Email=friend@example.org", 1026, None),
    ];
    for (cmd, dsn, lid, body, reply, reply_body) in cases {
        let r = raw_persist(&mut c, cmd, dsn, lid, body);
        assert_eq!(r.cmd.0, reply, "{dsn}/{lid}");
        match reply_body {
            Some(b) => assert_eq!(r.body, b.as_bytes(), "{dsn}/{lid}"),
            None => assert!(r.error_message().is_some_and(|m| m.contains("e-mail")), "{:?}", r.error_message()),
        }
    }
}

/// SPEC §25 "Other commands": answered or ignored, never a dropped connection.
#[test]
fn getinfo_skype_nettest_and_a_legacy_login_never_drop_the_connection() {
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let mut c = Client::connect(s.addr());
    // Before login: "not logged in" (2), not fatal; a legacy login: "client too old" (267), not fatal.
    for msg in ["\\getinfo\\\\uid\\5\\final\\", "\\skype\\\\final\\", "\\nettest\\1\\final\\"] {
        c.send_raw(msg.as_bytes());
        assert_eq!(error_code(&mut c), (2, false), "{msg}");
    }
    c.send_raw(b"\\login\\\\username\\a@example.com\\password\\apw\\final\\");
    assert_eq!(error_code(&mut c), (267, false));
    // The same connection still logs in with login2.
    assert!(matches!(c.login2("a@example.com", "apw"), ServerMessage::LoginOk { .. }));
    let key = c.sesskey;
    for msg in [
        format!("\\getinfo\\\\sesskey\\{key}\\uid\\5\\final\\"),
        format!("\\skype\\\\sesskey\\{key}\\status\\1\\final\\"),
        format!("\\nettest\\1\\sesskey\\{key}\\final\\"),
        format!("\\login\\\\sesskey\\{key}\\final\\"),
    ] {
        c.send_raw(msg.as_bytes());
    }
    c.expect_none(|m| matches!(m, ServerMessage::Error { .. }), QUIET);
    assert_eq!(raw_persist(&mut c, 1, 1, 4, "").cmd.0, 257, "the session goes on");
    assert_eq!(s.online_count(), 1);
}

#[test]
fn addbuddy_of_a_buddy_gets_1539_and_delbuddy_of_a_non_buddy_gets_2817_except_from_pidgin() {
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    let stranger = s.add_account("c@example.com", "cpw", Some("cc"), None).unwrap();
    // Pidgin (build 697) sends delbuddy before every block and shows every error in a dialog:
    // it gets no 2817 for a stranger (handlers/contacts.rs).
    let mut pidgin = Client::login(s.addr(), "b@example.com", "bpw");
    let key = pidgin.sesskey;
    pidgin.send_raw(format!("\\delbuddy\\\\sesskey\\{key}\\delprofileid\\{stranger}\\final\\").as_bytes());
    pidgin.expect_none(|m| matches!(m, ServerMessage::Error { .. }), QUIET);
    // Digsby's build (823) gets the codes.
    let mut c = Client::connect(s.addr());
    assert!(matches!(c.login2_as("a@example.com", "apw", 823), ServerMessage::LoginOk { .. }));
    let key = c.sesskey;
    let add = format!("\\addbuddy\\\\sesskey\\{key}\\newprofileid\\{b}\\reason\\\\final\\");
    c.send_raw(add.as_bytes());
    c.expect_bm(4, b);
    c.send_raw(add.as_bytes());
    assert_eq!(error_code(&mut c), (1539, false));
    let del = |uid: u32| format!("\\delbuddy\\\\sesskey\\{key}\\delprofileid\\{uid}\\final\\");
    c.send_raw(del(stranger).as_bytes());
    assert_eq!(error_code(&mut c), (2817, false));
    c.send_raw(del(b).as_bytes());
    c.expect_none(|m| matches!(m, ServerMessage::Error { .. }), QUIET);
    c.send_raw(del(b).as_bytes());
    assert_eq!(error_code(&mut c), (2817, false), "no longer a buddy");
    // A blocked user's block marker is no buddy either: re-adding it is no error.
    raw_persist(&mut c, 514, 0, 9, &format!("ContactID={stranger}\x1cVisibility=2"));
    c.send_raw(format!("\\addbuddy\\\\sesskey\\{key}\\newprofileid\\{stranger}\\reason\\\\final\\").as_bytes());
    c.expect_bm(4, stranger);
    assert_eq!(s.online_count(), 2, "both sessions go on");
}

#[test]
fn a_wrong_session_key_gets_error_3_and_the_session_goes_on() {
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    let wrong = c.sesskey ^ 1;
    c.send_raw(
        format!("\\persist\\1\\sesskey\\{wrong}\\cmd\\1\\dsn\\1\\uid\\{}\\lid\\4\\rid\\1\\body\\\\final\\", c.uid)
            .as_bytes(),
    );
    assert_eq!(error_code(&mut c), (3, false));
    assert_eq!(raw_persist(&mut c, 1, 1, 4, "").cmd.0, 257);
}

#[test]
fn min_client_version_refuses_older_builds_with_267() {
    let s = server_with(|c| c.min_client_version = 823);
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    // Pidgin's build 697 (the scripted client's): fatal 267, closed, no failed login counted.
    let (mut old, answer) = Client::try_login(s.addr(), "a@example.com", "apw");
    assert!(matches!(answer, ServerMessage::Error { code: 267, fatal: true, .. }), "{answer:?}");
    assert!(old.closed_within(WAIT));
    // Digsby's 823 gets in; the server info says what the minimum is.
    let mut c = Client::connect(s.addr());
    let info = c.expect(|m| matches!(m, ServerMessage::Persist(p) if p.dsn == 101), WAIT);
    let ServerMessage::Persist(info) = info else { unreachable!() };
    assert_eq!(value(&info.body, "MinClientVersion").as_deref(), Some("823"));
    let response = compute_response_b64(&c.nonce, "a@example.com", "apw");
    let msg = format!(
        "\\login2\\196610\\username\\a@example.com\\response\\{response}\\clientver\\823{}",
        "\\reconn\\0\\status\\100\\id\\1\\final\\"
    );
    c.send_raw(msg.as_bytes());
    let answer = c.expect(|m| matches!(m, ServerMessage::LoginOk { .. } | ServerMessage::Error { .. }), WAIT);
    assert!(matches!(answer, ServerMessage::LoginOk { .. }), "{answer:?}");
    // Off by default: every build logs in.
    let s = server();
    s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let _ = Client::login(s.addr(), "a@example.com", "apw");
}
