//! Profile pictures end to end on the server side (issue 12): `set-picture` stores a picture, the
//! HTTP side serves it at the URL that lookups (`ImageURL`, SPEC §9.2) and contact lists
//! (`AvatarUrl`, SPEC §10.1) carry, a new picture gets a new URL, the command line refuses what
//! is not a picture with a clear error, and `--demo` accounts come with pictures.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use msim::protocol::DictBuilder;

/// A minimal HTTP/1.0 GET (the way libpurple's fetcher asks): status, content type, body.
fn http_get(url: &str) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let addr: SocketAddr = host.parse().unwrap();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: ").or_else(|| l.strip_prefix("content-type: ")))
        .unwrap_or("")
        .to_string();
    (status, ctype, raw[split + 4..].to_vec())
}

fn png(w: u32, h: u32, tail: &[u8]) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    v.extend_from_slice(&w.to_be_bytes());
    v.extend_from_slice(&h.to_be_bytes());
    v.extend_from_slice(&[8, 6, 0, 0, 0]);
    v.extend_from_slice(tail);
    v
}

fn lookup_image_url(c: &mut Client, name: &str) -> Option<String> {
    let r = c.persist(1, 5, 7, DictBuilder::new().str("UserName", name));
    body_str(&r.body, "ImageURL")
}

#[test]
fn a_picture_is_served_at_the_url_lookups_and_contact_lists_carry_and_changes_url_when_replaced() {
    let s = server_with(|c| c.http_port = Some(0));
    let http = s.http_addr().expect("the HTTP side runs");
    assert_eq!(http.ip(), s.addr().ip(), "same bind address");
    assert_ne!(http.port(), s.addr().port(), "another port");
    let a = s.add_account("a@example.com", "apw", Some("a"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("b"), None).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();

    let first = png(48, 48, b"first");
    let url1 = s.set_picture(b, &first).unwrap().expect("published");
    assert_eq!(url1, format!("http://{http}/pictures/{b}/1.png"));
    let mut c = Client::login(s.addr(), "a@example.com", "apw");
    assert_eq!(lookup_image_url(&mut c, "b").as_deref(), Some(url1.as_str()), "5/7 lookup ImageURL");
    let list = c.persist(1, 0, 1, DictBuilder::new());
    let recs = records(&list.body, "ContactID");
    assert_eq!(field(&recs[0], "AvatarUrl"), Some(url1.as_str()), "0/1 contact record AvatarUrl");
    assert_eq!(http_get(&url1), (200, "image/png".to_string(), first.clone()));

    // A new picture: a new URL; the old URL no longer answers (its bytes would have changed).
    let second = png(64, 32, b"second");
    let url2 = s.set_picture(b, &second).unwrap().unwrap();
    assert_ne!(url1, url2);
    assert_eq!(lookup_image_url(&mut c, "b").as_deref(), Some(url2.as_str()));
    assert_eq!(http_get(&url2).2, second);
    assert_eq!(http_get(&url1).0, 404);
    assert_eq!(http_get(&format!("http://{http}/")).0, 404);
    // No picture: no ImageURL at all (SPEC §24).
    assert_eq!(lookup_image_url(&mut c, "a"), None);
}

#[test]
fn set_picture_on_the_command_line_checks_the_file_and_publishes_on_the_next_start() {
    let dir = TempDir::new("pictures");
    let db = dir.0.join("m.db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut v: Vec<String> = vec!["--db".into(), db.into()];
        v.extend(args.iter().map(|s| s.to_string()));
        msim_server::cli::run(v)
    };
    assert_eq!(run(&["account", "add", "p@example.com", "ppw", "--username", "pat"]), 0);
    let good = dir.0.join("p.png");
    std::fs::write(&good, png(96, 96, b"pat")).unwrap();
    let text = dir.0.join("notes.txt");
    std::fs::write(&text, "not a picture").unwrap();
    let huge = dir.0.join("huge.png");
    std::fs::write(&huge, png(4000, 4000, b"")).unwrap();
    // Each refusal exits 1 and leaves no picture behind.
    for args in [
        vec!["account", "set-picture", "p@example.com", text.to_str().unwrap()],
        vec!["account", "set-picture", "p@example.com", huge.to_str().unwrap()],
        vec!["account", "set-picture", "p@example.com", "/nonexistent/x.png"],
        vec!["account", "set-picture", "nobody@example.com", good.to_str().unwrap()],
    ] {
        assert_eq!(run(&args), 1, "{args:?}");
    }
    let store = msim_server::db::Db::open(db).unwrap();
    let uid = store.account_by_email("p@example.com").unwrap().unwrap().uid;
    assert!(store.picture(uid).unwrap().is_none());
    assert_eq!(run(&["account", "set-picture", "p@example.com", good.to_str().unwrap()]), 0);
    assert_eq!(store.picture(uid).unwrap().unwrap().version, 1);
    drop(store);

    // The next server with an HTTP side publishes it; its lookups carry the URL.
    let s = server_with(|c| {
        c.db = db.into();
        c.http_port = Some(0);
    });
    let url = format!("http://{}/pictures/{uid}/1.png", s.http_addr().unwrap());
    assert_eq!(s.db().account(uid).unwrap().unwrap().image_url, url);
    assert_eq!(http_get(&url).2, png(96, 96, b"pat"));
    drop(s);
    // Without one, the URL is withdrawn rather than left pointing at nothing.
    let s = server_with(|c| c.db = db.into());
    assert_eq!(s.db().account(uid).unwrap().unwrap().image_url, "");
    drop(s);
    assert_eq!(run(&["account", "clear-picture", "p@example.com"]), 0);
    assert_eq!(run(&["account", "clear-picture", "p@example.com"]), 1, "nothing left to clear");
}

#[test]
fn demo_accounts_have_pictures() {
    let s = server_with(|c| {
        c.demo = true;
        c.http_port = Some(0);
    });
    assert_eq!(s.demo_accounts().len(), 4);
    for (uid, a) in s.demo_accounts() {
        let url = s.db().account(*uid).unwrap().unwrap().image_url;
        let (status, ctype, body) = http_get(&url);
        assert_eq!((status, ctype.as_str()), (200, "image/png"), "{} at {url}", a.email);
        assert!(body.starts_with(b"\x89PNG") && body.len() > 500, "{}", a.email);
    }
}
