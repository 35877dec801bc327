//! Choosing a username (SPEC §6.7, §20) and looking users up (SPEC §9.1).

mod common;

use common::*;
use msim::protocol::kinds::ClientMessage;
use msim::protocol::DictBuilder;

fn lookup_name(c: &mut Client, name: &str) -> Vec<u8> {
    let r = c.persist(1, 5, 7, DictBuilder::new().str("UserName", name));
    assert_eq!(r.cmd.0, 257);
    r.body
}

fn set_name(c: &mut Client, name: &str) -> (String, String) {
    let r = c.persist(2, 9, 14, DictBuilder::new().str("UserName", name));
    assert_eq!(r.cmd.0, 258);
    (body_str(&r.body, "UserName").unwrap(), body_str(&r.body, "Code").unwrap())
}

#[test]
fn username_flow_lookup_set_then_uniquenick_on_next_login() {
    let s = server();
    let tom = s.add_account("tom@example.com", "tompw", Some("tom"), Some("Tom")).unwrap();
    let uid = s.add_account("new@example.com", "newpw", None, None).unwrap();
    let mut c = Client::login(s.addr(), "new@example.com", "newpw");
    assert_eq!(c.uniquenick, uid.to_string(), "no username yet");

    // Taken: the reply has a UserID (found user's info); free: only the queried name echoed.
    let taken = lookup_name(&mut c, "TOM");
    assert_eq!(body_str(&taken, "UserID"), Some(tom.to_string()));
    assert_eq!(body_str(&taken, "UserName").as_deref(), Some("tom"));
    assert_eq!(body_str(&taken, "TotalFriends"), None, "no TotalFriends for by-name lookups");
    let free = lookup_name(&mut c, "Shell_Reef");
    assert_eq!(free, b"UserName=Shell_Reef");

    assert_eq!(set_name(&mut c, "Shell_Reef"), ("Shell_Reef".into(), "0".into()));
    // Setting the same name again is fine (Pidgin sends setinfo and then 9/14).
    assert_eq!(set_name(&mut c, "shell_reef").1, "0");
    drop(c);

    let c = Client::login(s.addr(), "new@example.com", "newpw");
    assert_eq!(c.uniquenick, "Shell_Reef");
}

#[test]
fn invalid_or_taken_username_gives_nonzero_code() {
    let s = server();
    s.add_account("tom@example.com", "tompw", Some("tom"), None).unwrap();
    s.add_account("new@example.com", "newpw", None, None).unwrap();
    let mut c = Client::login(s.addr(), "new@example.com", "newpw");
    let cases = [
        ("Tom", "1"),
        ("12345", "2"),
        ("has space", "2"),
        ("a2345678901234567890123456", "2"),
        ("", "2"),
        ("dash-ed", "2"),
    ];
    for (name, code) in cases {
        assert_eq!(set_name(&mut c, name).1, code, "{name:?}");
    }
    assert_eq!(set_name(&mut c, "fine_name").1, "0");
    assert_eq!(set_name(&mut c, "other_name").1, "3", "a username cannot be changed once set");
}

#[test]
fn setinfo_username_then_put_succeeds_like_pidgin() {
    let s = server();
    s.add_account("new@example.com", "newpw", None, None).unwrap();
    let mut c = Client::login(s.addr(), "new@example.com", "newpw");
    let info = DictBuilder::new().str("UserName", "pidgin_user").as_bytes().unwrap().to_vec();
    c.send(&ClientMessage::SetInfo { sesskey: c.sesskey, info });
    // Pidgin's second lookup now finds the name (taken, by ourselves); its PUT must still succeed.
    let again = lookup_name(&mut c, "pidgin_user");
    assert_eq!(body_str(&again, "UserID"), Some(c.uid.to_string()));
    assert_eq!(set_name(&mut c, "pidgin_user").1, "0");
}

#[test]
fn lookups_by_id_email_and_own_info() {
    let s = server();
    let tom = s.add_account("tom@example.com", "tompw", Some("tom"), Some("Tom")).unwrap();
    let me = s.add_account("me@example.com", "mepw", Some("me"), None).unwrap();
    s.add_contact(tom, me, "IM Friends").unwrap();
    let mut c = Client::login(s.addr(), "me@example.com", "mepw");

    let r = c.persist(1, 4, 3, DictBuilder::new().int("UserID", tom.into()));
    assert_eq!(r.cmd.0, 257);
    let keys: Vec<String> = records(&r.body, "UserID")[0].iter().map(|(k, _)| k.clone()).collect();
    // No ImageURL: an empty one is left out (SPEC §24).
    assert_eq!(keys, ["UserID", "DisplayName", "UserName", "BandName", "SongName", "TotalFriends"]);
    assert_eq!(body_str(&r.body, "TotalFriends").as_deref(), Some("1"));

    let r = c.persist(1, 4, 3, DictBuilder::new().int("UserID", 999));
    assert!(r.cmd.is_error(), "unknown id: {r:?}");
    assert!(body_str(&r.body, "UserID").is_none());

    let r = c.persist(1, 5, 7, DictBuilder::new().str("Email", "TOM@example.com"));
    assert_eq!(body_str(&r.body, "UserID"), Some(tom.to_string()));
    let r = c.persist(1, 5, 7, DictBuilder::new().str("Email", "x@y.z"));
    assert_eq!(r.body, b"Email=x@y.z");

    // Own info without a uid key, as Pidgin sends it (SPEC §6.6).
    let r = c.persist_with_uid(1, 4, 5, None, DictBuilder::new().int("UserID", me.into()));
    assert_eq!((r.cmd.0, r.uid), (257, me));
    assert_eq!(body_str(&r.body, "UserName").as_deref(), Some("me"));
    let r = c.persist_with_uid(1, 1, 4, None, DictBuilder::new());
    assert_eq!(body_str(&r.body, "ShowOnlyToList").as_deref(), Some("False"));
    assert!(body_str(&r.body, "LastLogin").unwrap().len() >= 17, "FILETIME");
    let r = c.persist(1, 1, 17, DictBuilder::new().int("UserID", tom.into()));
    assert_eq!(body_str(&r.body, "ClientVersion").as_deref(), Some("0"), "tom is offline");
}

#[test]
fn setinfo_updates_profile_and_image_url_appears_only_when_set() {
    let s = server();
    let me = s.add_account("me@example.com", "mepw", Some("me"), None).unwrap();
    let mut c = Client::login(s.addr(), "me@example.com", "mepw");
    let r = c.persist(1, 4, 5, DictBuilder::new().int("UserID", me.into()));
    assert!(body_str(&r.body, "ImageURL").is_none());
    assert_eq!(body_str(&r.body, "DisplayName").as_deref(), Some("me"), "falls back to the username");
    let info = DictBuilder::new()
        .str("DisplayName", "Jeff")
        .str("BandName", "Sherwood")
        .str("SongName", "The Only Song")
        .str("ImageURL", "http://x.myspace.com/images/no_pic.gif")
        .str("Headline", "hi/there");
    c.send(&ClientMessage::SetInfo { sesskey: c.sesskey, info: info.as_bytes().unwrap().to_vec() });
    let r = c.persist(1, 4, 5, DictBuilder::new().int("UserID", me.into()));
    let keys: Vec<String> = records(&r.body, "UserID")[0].iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, ["UserID", "ImageURL", "DisplayName", "UserName", "BandName", "SongName", "TotalFriends"]);
    // Escaped inside the body (SPEC §3), as the capture shows.
    assert!(r.body.windows(12).any(|w| w == b"http:/1/1x.m"));
    assert_eq!(body_str(&r.body, "SongName").as_deref(), Some("The Only Song"));
    let r = c.persist(1, 1, 4, DictBuilder::new());
    assert_eq!(body_str(&r.body, "Headline").as_deref(), Some("hi/there"));
}
