//! Issue "Hostile peers, round two" item 1: one `\status\` containing byte 0x1C used to break the
//! contact list of everyone who listed the sender, for good (the dictionary encoder refused every
//! reply that included the stored headline). Now every stored text field is checked on write
//! (`rules::check_text`: refused with an error, nothing stored), and every text read back from the
//! database is cleaned (`rules::clean_text`), so a bad value planted in an old database costs only
//! its own characters, never a reply.

mod common;

use common::*;
use msim::protocol::kinds::{ClientMessage, ServerMessage};
use msim::protocol::DictBuilder;
use msim_server::Config;

/// 0x1C separates dictionary pairs; it can only arrive in a top-level field such as `statstring`
/// (inside a dictionary body it splits the pair). The other control characters arrive anywhere.
const BAD_TOP_LEVEL: &str = "smile\u{1c}please";
const BAD_IN_DICT: &str = "nul\u{0}and\u{1}soh";

fn refused_with_error(c: &mut Client) -> String {
    match c.expect(|m| matches!(m, ServerMessage::Error { .. }), WAIT) {
        ServerMessage::Error { code: 1, fatal: false, text } => text,
        other => panic!("{other:?}"),
    }
}

fn setinfo(c: &mut Client, key: &str, value: &str) {
    // Built by hand: DictBuilder refuses nothing here, but the point is what a client may send.
    let info = format!("{key}={value}").into_bytes();
    c.send(&ClientMessage::SetInfo { sesskey: c.sesskey, info });
}

/// Every write path of every stored text field refuses a value the server could not send back:
/// `\status\` and `\setinfo\` (no reply of their own) with a non-fatal `\error\` naming the field,
/// persist writes with an error reply (1024 bit). Nothing is stored, and the session goes on.
#[test]
fn every_stored_text_field_refuses_a_value_it_could_not_send_back() {
    let s = server();
    let a = s.add_account("a@example.com", "apw", Some("aa"), Some("Ay")).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    let mut ca = Client::login(s.addr(), "a@example.com", "apw");
    let mut cb = Client::login(s.addr(), "b@example.com", "bpw");
    cb.persist(1, 0, 1, DictBuilder::new()); // b's sign-on (and a's presence to it) is done
    cb.drain(QUIET);
    ca.status(1, "fine");
    assert_eq!(cb.expect_status(a, 1), "fine");

    // Headline through \status\ (0x1C, the measured attack): refused, presence unchanged.
    ca.status(1, BAD_TOP_LEVEL);
    assert!(refused_with_error(&mut ca).contains("Headline"));
    cb.expect_none(|m| is_status(m, a, None), QUIET);
    // Profile fields through \setinfo\.
    for key in ["Headline", "DisplayName", "BandName", "SongName", "ImageURL"] {
        setinfo(&mut ca, key, BAD_IN_DICT);
        assert!(refused_with_error(&mut ca).contains(key), "{key}");
    }
    let info = ca.persist(1, 4, 5, DictBuilder::new());
    let rec = &records(&info.body, "UserID")[0];
    assert_eq!(
        ["DisplayName", "BandName", "SongName", "ImageURL"].map(|k| field(rec, k)),
        [Some("Ay"), Some(""), Some(""), None]
    );
    assert_eq!(body_str(&ca.persist(1, 1, 4, DictBuilder::new()).body, "Headline").as_deref(), Some("fine"));

    // Group names (2/16, 0/9, 14/21) and nicknames (0/9): error replies.
    let bad_writes = [
        (2, 2, 16, DictBuilder::new().str("GroupName", BAD_IN_DICT)),
        (2, 0, 9, DictBuilder::new().int("ContactID", b.into()).str("GroupName", BAD_IN_DICT)),
        (2, 0, 9, DictBuilder::new().int("ContactID", b.into()).str("NickName", BAD_IN_DICT)),
        (2, 14, 21, DictBuilder::new().str("GroupName", BAD_IN_DICT)),
    ];
    for (cmd, dsn, lid, body) in bad_writes {
        let r = ca.persist(cmd, dsn, lid, body);
        assert!(r.cmd.is_error(), "{dsn}/{lid} accepted a control character");
        assert!(r.error_message().is_some_and(|t| t.contains("control character")), "{dsn}/{lid}: {r:?}");
    }
    let groups = ca.persist(1, 2, 6, DictBuilder::new());
    assert!(records(&groups.body, "GroupID").iter().all(|g| !field(g, "GroupName").unwrap().contains("nul")));
    assert!(contact_ids(&ca.persist(1, 0, 1, DictBuilder::new()).body).is_empty(), "0/9 stored a contact");

    // Account creation refuses them too.
    assert!(s.add_account("c@example.com", "cpw", None, Some(BAD_TOP_LEVEL)).is_err());
    assert!(s.add_account("d\u{1c}@example.com", "dpw", None, None).is_err());

    // The session is fine, and so is everyone else's view of it.
    ca.status(1, "still fine");
    assert_eq!(cb.expect_status(a, 1), "still fine");
    let r = cb.persist(1, 0, 1, DictBuilder::new());
    assert_eq!(contact_ids(&r.body), [(a, 1)]);
}

/// A bad value already in the database (written before the checks, or by another tool) in any
/// stored text column: everyone's replies still work, the bad characters are left out.
#[test]
fn a_bad_value_planted_in_the_database_never_breaks_anyones_replies() {
    let dir = TempDir::new("stored-text");
    let path = dir.0.join("msim.db").to_string_lossy().into_owned();
    let s = msim_server::Server::start(Config { db: path.clone(), ..config() }).unwrap();
    let alice = s.add_account("alice@example.com", "apw", Some("alice"), None).unwrap();
    let bob = s.add_account("bob@example.com", "bpw", Some("bob"), None).unwrap();
    let carol = s.add_account("carol@example.com", "cpw", Some("carol"), Some("Carol")).unwrap();
    for (owner, other) in [(bob, alice), (bob, carol), (alice, bob)] {
        s.add_contact(owner, other, "IM Friends").unwrap();
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    let bad = "bad\u{1c}value\u{0}";
    // Every stored text column that reaches a reply: alice's profile, bob's row for alice, and the
    // names of bob's groups.
    let plants = [
        format!("UPDATE accounts SET headline = ?1 WHERE uid = {alice}"),
        format!("UPDATE accounts SET display_name = ?1 WHERE uid = {alice}"),
        format!("UPDATE accounts SET band_name = ?1 WHERE uid = {alice}"),
        format!("UPDATE accounts SET song_name = ?1 WHERE uid = {alice}"),
        format!("UPDATE accounts SET image_url = ?1 WHERE uid = {alice}"),
        format!("UPDATE accounts SET username = ?1 WHERE uid = {alice}"),
        format!("UPDATE contacts SET group_name = ?1 WHERE owner = {bob} AND contact = {alice}"),
        format!("UPDATE contacts SET nickname = ?1 WHERE owner = {bob} AND contact = {alice}"),
        format!("UPDATE groups SET name = ?1 || group_id WHERE owner = {bob}"),
    ];
    for sql in &plants {
        assert!(raw.execute(sql, [bad]).unwrap() > 0, "{sql}: nothing planted");
    }

    // Bob, who lists alice (and carol), signs on and asks for everything about them.
    let mut b = Client::login(s.addr(), "bob@example.com", "bpw");
    let list = b.persist(1, 0, 1, DictBuilder::new());
    assert_eq!(list.cmd.0, 257, "contact list refused: {list:?}");
    let recs = records(&list.body, "ContactID");
    assert_eq!(contact_ids(&list.body).iter().map(|c| c.0).collect::<Vec<_>>(), [alice, carol]);
    assert_eq!(field(&recs[0], "Headline"), Some("badvalue"));
    assert_eq!(field(&recs[1], "DisplayName"), Some("Carol"));
    let asks = [
        (0, 2, DictBuilder::new().int("ContactID", alice.into())),
        (1, 17, DictBuilder::new().int("UserID", alice.into())),
        (4, 3, DictBuilder::new().int("UserID", alice.into())),
        (5, 7, DictBuilder::new().str("UserName", "badvalue")),
        (2, 6, DictBuilder::new()),
    ];
    for (dsn, lid, body) in asks {
        let r = b.persist(1, dsn, lid, body);
        assert_eq!(r.cmd.0, 257, "{dsn}/{lid} refused: {r:?}");
        assert!(!r.body.windows(8).any(|w| w == b"bad\x1cvalu"), "{dsn}/{lid}");
    }
    // Alice signs on (her stored headline becomes her status text) and bob sees her presence.
    let mut a = Client::login(s.addr(), "alice@example.com", "apw");
    assert_eq!(b.expect_status(alice, 1), "badvalue");
    assert_eq!(a.persist(1, 0, 1, DictBuilder::new()).cmd.0, 257);
    assert_eq!(a.persist(1, 4, 5, DictBuilder::new()).cmd.0, 257);
}
