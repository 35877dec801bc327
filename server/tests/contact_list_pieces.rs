//! Large contact lists in `mtf` pieces (SPEC §25 "Persist replies in pieces": several `persistr`
//! with the same `rid`, `mtf` non-zero except the last, bodies concatenated). A full list
//! (MaxContacts = 1000, SPEC §8) whose records carry long display names is some 400 KB: whole, it
//! would pass the 256 KiB frame cap clients apply (SPEC §24); in pieces every frame stays small,
//! and msim's own client puts them together and signs on with all 1000.

mod common;

use std::io::Read;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use common::*;
use msim::client::{Credentials, Event, Session};
use msim::protocol::frame::DEFAULT_MAX_FRAME;
use msim::protocol::{Dict, Framer, Message};
use msim_server::db::ProfileField;

const CONTACTS: usize = 1000;

/// An account listing `CONTACTS` others, each with a 300-character display name.
fn big_list_server(piece: usize) -> msim_server::Server {
    let s = server_with(|c| c.persist_piece_bytes = piece);
    let me = s.add_account("big@example.com", "bigpw", Some("big"), None).unwrap();
    for i in 0..CONTACTS {
        let uid = s.add_account(&format!("c{i}@example.com"), "pw", Some(&format!("contact{i}")), None).unwrap();
        s.db().set_profile(uid, ProfileField::DisplayName, &format!("{i:04} {}", "x".repeat(295))).unwrap();
        s.add_contact(me, uid, "IM Friends").unwrap();
    }
    s
}

/// Logs in, asks for the contact list with raw bytes and returns every frame of the reply (raw
/// messages, in order) until one without more to follow.
fn contact_list_frames(s: &msim_server::Server) -> Vec<Message> {
    let mut c = Client::login(s.addr(), "big@example.com", "bigpw");
    c.drain(QUIET);
    let req = format!(
        "\\persist\\1\\sesskey\\{}\\cmd\\1\\dsn\\0\\uid\\{}\\lid\\1\\rid\\77\\body\\\\final\\",
        c.sesskey, c.uid
    );
    c.send_raw(req.as_bytes());
    let mut framer = Framer::new(4 * DEFAULT_MAX_FRAME);
    let mut frames = Vec::new();
    let deadline = Instant::now() + WAIT;
    let mut stream = c.stream();
    loop {
        while let Some(f) = framer.next_frame().unwrap() {
            let m = Message::parse(f).unwrap();
            if m.get_raw("rid") != Some(b"77") {
                continue;
            }
            let more = m.get_raw("mtf").is_some_and(|v| v != b"0");
            frames.push(m);
            if !more {
                return frames;
            }
        }
        assert!(Instant::now() < deadline, "the reply did not end within {WAIT:?} ({} frames)", frames.len());
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 65536];
        match stream.read(&mut buf) {
            Ok(0) => panic!("connection closed"),
            Ok(n) => framer.push(&buf[..n]),
            Err(_) => {}
        }
    }
}

#[test]
fn a_1000_contact_list_arrives_in_mtf_pieces_that_join_into_every_record() {
    let s = big_list_server(msim_server::Config::default().persist_piece_bytes);
    let frames = contact_list_frames(&s);
    assert!(frames.len() > 1, "one frame");
    let mut body = Vec::new();
    for (i, m) in frames.iter().enumerate() {
        let last = i + 1 == frames.len();
        assert_eq!(m.get_raw("mtf"), Some(if last { &b"0"[..] } else { b"1" }), "frame {i}");
        assert_eq!(
            (m.get_raw("cmd"), m.get_raw("dsn"), m.get_raw("lid")),
            (Some(&b"257"[..]), Some(&b"0"[..]), Some(&b"1"[..]))
        );
        // Every frame far below the cap: at most a piece (64 KiB) plus the header.
        assert!(m.len() < 64 * 1024 + 256, "frame {i} is {} bytes", m.len());
        let piece = m.get_raw("body").unwrap();
        assert!(piece.starts_with(b"ContactID="), "frame {i} starts inside a record");
        body.extend_from_slice(piece);
    }
    assert!(body.len() > DEFAULT_MAX_FRAME, "the whole list ({} bytes) would not fit one frame", body.len());
    let d = Dict::parse(&body).unwrap();
    let recs = d.records("ContactID");
    assert_eq!(recs.len(), CONTACTS);
    let mut names: Vec<String> = recs.iter().map(|r| r.get_str("UserName").unwrap().into_owned()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), CONTACTS);
    println!("{} contacts: {} body bytes in {} frames", CONTACTS, body.len(), frames.len());
}

/// `persist_piece_bytes` 0: the reply goes whole, without `mtf`, as before.
#[test]
fn piece_size_0_sends_the_list_whole() {
    let s = server_with(|c| c.persist_piece_bytes = 0);
    let me = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    for i in 0..3 {
        let uid = s.add_account(&format!("c{i}@example.com"), "pw", None, None).unwrap();
        s.add_contact(me, uid, "IM Friends").unwrap();
    }
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    let r = c.persist(1, 0, 1, msim::protocol::DictBuilder::new());
    assert_eq!(contact_ids(&r.body).len(), 3);
}

#[test]
fn msim_client_signs_on_with_all_1000_contacts_sent_in_pieces() {
    let s = big_list_server(msim_server::Config::default().persist_piece_bytes);
    let (tx, rx) = channel();
    let cfg = msim::client::Config { mail_check_interval: None, ..msim::client::Config::default() };
    let session = Session::new(cfg, move |e| {
        let _ = tx.send(e);
    });
    let creds = Credentials { email: "big@example.com".into(), password: "bigpw".into() };
    session.connect(&s.addr().ip().to_string(), s.addr().port(), creds).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut contacts = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left).expect("no SignedOn") {
            Event::ContactList(list) => contacts = Some(list.len()),
            Event::SignedOn { .. } => break,
            Event::LoginFailed { .. } | Event::Disconnected { .. } => panic!("sign-on failed"),
            Event::Error { error } => panic!("error during sign-on: {error}"),
            _ => {}
        }
    }
    assert_eq!(contacts, Some(CONTACTS));
    let _ = session.disconnect();
}
