//! The client against servers and peers of SPEC §25 ("Other clients and servers"), driving the
//! public client API (`msim::client::Session`) over 127.0.0.1. Each script speaks its variant
//! byte for byte, written from §25's facts:
//!
//! - **persist replies in pieces**: the contact list of 1000 contacts split over `persistr`
//!   messages with the same `rid` and `mtf` non-zero except the last; and one past the cap;
//! - **the web client's IMs**: bm 121 with markup and `cv` 745 are IMs; payloads starting with
//!   `!!!` are control strings, never shown as text;
//! - **status extras**: bm 100 lists with `caps` and `ts` appended and a non-zero `ip`, read as
//!   key/value pairs (and a revival server's short list beside them);
//! - **group chat**: bm 121 with `gid` and `aid`, and leaving as `!!!ExitChat` with `gid`, reported
//!   as group-chat events, never as IMs from the actor;
//! - **group rename and delete** (Digsby): 2/16 PUT with `GroupID` renames, 2/16 cmd 3 with
//!   `GroupID` deletes; the script checks the client's bytes and answers as SPEC §10.2 answers 2/16.
//!
//! The handshake is `common::hostile`'s.

mod common;

use std::time::Duration;

use common::hostile::{self, Conn, HostileServer, Probe, FRIEND, FRIEND_UID, UID};
use msim::client::{Config, Error, Event, Group, GroupChatKind, Phase};
use msim::protocol::kinds::ClientMessage;
use msim::protocol::persist::DataItem;
use msim::protocol::status::Presence;
use msim::protocol::DictBuilder;

/// A contact list of `n` contacts (uids 1000.., usernames `user<uid>`), SPEC §10.1 keys.
fn contacts_body(n: u32) -> Vec<u8> {
    let mut b = DictBuilder::new();
    for uid in 1000..1000 + n {
        b = b
            .int("ContactID", u64::from(uid))
            .str("Headline", "")
            .int("Position", 1)
            .str("GroupName", "IM Friends")
            .int("Visibility", 1)
            .str("AvatarUrl", "http://x-images.example/avatar/1.jpg")
            .str("UserName", &format!("user{uid}"));
    }
    b.as_bytes().unwrap().to_vec()
}

/// Logs the client in and answers its post-login requests; the contact list (0/1) is sent as
/// `persistr` pieces of `piece` body bytes: `\persistr\\cmd\257\dsn\0\uid\U\lid\1\rid\R\mtf\1\body\…`,
/// the last with `mtf` 0. Then serves until the client leaves.
fn list_in_pieces(c: &mut Conn, body: &[u8], piece: usize) {
    let nonce = c.challenge();
    if !c.login(&nonce) {
        return;
    }
    while let Some(m) = c.recv() {
        let Ok(ClientMessage::Persist(req)) = ClientMessage::decode(&m) else { continue };
        if req.item() != DataItem::ListAllContacts {
            c.answer(&req, b"");
            continue;
        }
        let chunks: Vec<&[u8]> = body.chunks(piece).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let mtf = u8::from(i + 1 < chunks.len());
            let mut f =
                format!("\\persistr\\\\cmd\\257\\dsn\\0\\uid\\{UID}\\lid\\1\\rid\\{}\\mtf\\{mtf}\\body\\", req.rid)
                    .into_bytes();
            f.extend_from_slice(chunk);
            f.extend_from_slice(b"\\final\\");
            if c.send_raw(&f).is_err() {
                return;
            }
        }
        break;
    }
    c.serve_for(Duration::from_secs(20));
}

#[test]
fn a_1000_contact_list_in_mtf_pieces_signs_on_with_all_1000() {
    let body = contacts_body(1000);
    // Pieces of 16 KiB, as a server keeping each frame well under the 256 KiB frame cap would.
    let pieces = body.len().div_ceil(16 * 1024);
    let server = HostileServer::start(move |c| list_in_pieces(c, &body, 16 * 1024));
    let mut p = Probe::connect(server.addr(), hostile::config());
    let ev = p.wait("the contact list", |e| matches!(e, Event::ContactList(_)));
    let Event::ContactList(list) = ev else { unreachable!() };
    assert!(pieces >= 5, "{pieces} pieces");
    assert_eq!(list.len(), 1000);
    assert!(list.iter().zip(1000..).all(|(c, uid)| c.uid == uid && c.username == Some(format!("user{uid}"))));
    p.wait("SignedOn", |e| matches!(e, Event::SignedOn { .. }));
    assert!(p.errors().is_empty(), "{:?}", p.errors());
    assert!(!p.seen.iter().any(|e| matches!(e, Event::Unhandled { .. })), "{:#?}", p.seen);
}

#[test]
fn a_contact_list_in_pieces_past_the_cap_fails_clearly_and_signs_on_without_it() {
    let body = contacts_body(1000);
    let server = HostileServer::start(move |c| list_in_pieces(c, &body, 16 * 1024));
    let cfg = Config { max_reply_bytes: 64 * 1024, ..hostile::config() };
    let mut p = Probe::connect(server.addr(), cfg);
    p.wait("SignedOn", |e| matches!(e, Event::SignedOn { .. }));
    p.settle(Duration::from_millis(300));
    let errors = p.errors();
    assert!(
        matches!(&errors[..], [Error::Protocol(t)] if t.contains("65536-byte cap")),
        "one clear error for the list: {errors:?}"
    );
    assert!(!p.seen.iter().any(|e| matches!(e, Event::ContactList(_) | Event::Unhandled { .. })), "{:#?}", p.seen);
    assert_eq!(p.session.phase(), Phase::SignedOn, "the session goes on");
}

/// Signs the client on (the friend on its list), sends `frames` as they are, then a bm 1 probe.
fn after_sign_on(frames: Vec<Vec<u8>>) -> Probe {
    let server = HostileServer::start(move |c| {
        c.handshake();
        for f in &frames {
            c.send_raw(f).unwrap();
        }
        c.im(FRIEND_UID, "probe").unwrap();
        c.serve_for(Duration::from_secs(20));
    });
    let mut p = Probe::connect(server.addr(), hostile::config());
    p.wait("the probe", |e| matches!(e, Event::ImReceived { plain, .. } if plain == "probe"));
    p.session.disconnect().unwrap();
    p.wait_end();
    p
}

#[test]
fn web_client_bm_121_ims_are_ims_and_bang_control_strings_are_never_text() {
    let f = FRIEND_UID;
    let frames = vec![
        format!("\\bm\\121\\f\\{f}\\cv\\745\\msg\\<p><f f='Times' h='16'>web hello</1f></1p>\\final\\"),
        format!("\\bm\\121\\f\\{f}\\msg\\!!!ExitChat\\final\\"),
        format!("\\bm\\1\\f\\{f}\\msg\\!!!GroupInvite=12\\final\\"),
    ];
    let p = after_sign_on(frames.into_iter().map(String::into_bytes).collect());
    let ims: Vec<(&str, &str)> = p
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::ImReceived { username, plain, .. } => Some((username.as_deref().unwrap_or(""), plain.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(ims, [(FRIEND, "web hello"), (FRIEND, "probe")], "{:#?}", p.seen);
    assert!(p.seen.iter().any(|e| matches!(e, Event::ImReceived { html, .. } if html.contains("face=\"Times\""))));
    let unhandled: Vec<&str> = p
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::Unhandled { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(unhandled.len(), 2, "{unhandled:?}");
    assert!(unhandled[0].contains("!!!ExitChat") && unhandled[1].contains("!!!GroupInvite=12"), "{unhandled:?}");
}

#[test]
fn status_lists_with_caps_and_ts_are_read_as_pairs_and_ts_is_reported() {
    let f = FRIEND_UID;
    let frames = vec![
        format!("\\bm\\100\\f\\{f}\\msg\\|s|1|ss|hi /1 there|ls||ip|1249763340|p|0|caps|557056|ts|1262304000\\final\\"),
        format!("\\bm\\100\\f\\{f}\\msg\\|s|5\\final\\"),
    ];
    let p = after_sign_on(frames.into_iter().map(String::into_bytes).collect());
    let statuses: Vec<_> = p
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::BuddyStatus { uid, username, presence, headline, ts, caps } if *uid == FRIEND_UID => {
                Some((username.as_deref(), *presence, headline.as_str(), *ts, caps.as_deref()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (Some(FRIEND), Presence::Online, "hi / there", Some(1_262_304_000), Some("557056")),
            (Some(FRIEND), Presence::Away, "", None, None),
        ]
    );
    assert!(p.errors().is_empty(), "{:?}", p.errors());
}

#[test]
fn group_chat_messages_and_leaving_are_group_events_never_ims() {
    let f = FRIEND_UID;
    let frames = vec![
        format!("\\bm\\121\\f\\{f}\\gid\\31337\\aid\\{f}\\cv\\745\\msg\\<p>hi room</1p>\\final\\"),
        format!("\\bm\\121\\f\\{f}\\gid\\31337\\msg\\!!!ExitChat\\final\\"),
    ];
    let p = after_sign_on(frames.into_iter().map(String::into_bytes).collect());
    let chats: Vec<_> = p
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::GroupChat { gid, from, actor, username, kind, plain, .. } => {
                Some((*gid, *from, *actor, username.as_deref(), *kind, plain.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        chats,
        [
            (31337, f, f, Some(FRIEND), GroupChatKind::Message, "hi room"),
            (31337, f, f, Some(FRIEND), GroupChatKind::Left, ""),
        ]
    );
    let ims: Vec<_> =
        p.seen.iter().filter(|e| matches!(e, Event::ImReceived { .. } | Event::Unhandled { .. })).collect();
    assert!(matches!(&ims[..], [Event::ImReceived { plain, .. }] if plain == "probe"), "only the probe: {ims:#?}");
}

/// Answers group writes (2/16) byte for byte after checking them: a rename (cmd 2 with `GroupID`)
/// with cmd 258 echoing the body, a delete (cmd 3) of group 9 with 259 echoing it, of any other
/// group with the error reply 1027 (SPEC §16.3). Everything else as the handshake does.
fn group_writes(c: &mut Conn) {
    c.handshake();
    while let Some(m) = c.recv() {
        let Ok(ClientMessage::Persist(req)) = ClientMessage::decode(&m) else { continue };
        if (req.dsn, req.lid) != (2, 16) {
            c.answer(&req, b"");
            continue;
        }
        let rid = req.rid;
        let reply = |cmd: u32, body: &str| {
            format!("\\persistr\\\\cmd\\{cmd}\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\{body}\\final\\")
        };
        let reply = match (req.cmd.0, req.body.as_slice()) {
            (2, b"GroupID=9\x1cGroupName=Close /1 Dear") => reply(258, "GroupID=9\x1cGroupName=Close /1 Dear"),
            (3, b"GroupID=9") => reply(259, "GroupID=9"),
            (3, _) => reply(1027, "ErrorMessage=No such group."),
            _ => panic!("unexpected group write: {}", String::from_utf8_lossy(m.as_bytes())),
        };
        c.send_raw(reply.as_bytes()).unwrap();
    }
}

#[test]
fn group_rename_and_delete_by_group_id_against_a_server_that_answers_as_spec_says() {
    let server = HostileServer::start(group_writes);
    let mut p = Probe::connect(server.addr(), hostile::config());
    p.wait("SignedOn", |e| matches!(e, Event::SignedOn { .. }));
    let rid = p.session.rename_group(9, "Close / Dear").unwrap();
    let ev = p.wait("GroupSaved", |e| matches!(e, Event::GroupSaved { .. }));
    let group = Group { id: 9, name: "Close / Dear".into(), position: 0, flags: 0 };
    assert_eq!(ev, Event::GroupSaved { request: rid, result: Ok(group) });
    let rid = p.session.remove_group(9).unwrap();
    let ev = p.wait("GroupRemoved", |e| matches!(e, Event::GroupRemoved { .. }));
    assert_eq!(ev, Event::GroupRemoved { request: rid, id: 9, result: Ok(()) });
    let rid = p.session.remove_group(10).unwrap();
    let ev = p.wait("GroupRemoved", |e| matches!(e, Event::GroupRemoved { .. }));
    assert!(
        matches!(&ev, Event::GroupRemoved { request, id: 10, result: Err(Error::Server { code: 1027, text }) } if *request == rid && text == "No such group."),
        "{ev:?}"
    );
    assert!(matches!(p.session.rename_group(0, "x"), Err(Error::InvalidArgument(_))));
}
