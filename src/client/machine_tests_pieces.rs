//! Machine tests of persist replies in `mtf` pieces (SPEC §25 "Persist replies in pieces"): the
//! server's frames are written byte for byte, the bodies split at arbitrary bytes.

use super::*;

/// The body of a contact list of `n` contacts (uids 1000.., usernames `user<uid>`), as a server
/// writes it (SPEC §10.1 keys).
fn contacts_body(n: u32) -> Vec<u8> {
    let mut b = DictBuilder::new();
    for uid in 1000..1000 + n {
        b = b
            .int("ContactID", u64::from(uid))
            .str("Headline", "on a boat / at sea")
            .int("Position", 1)
            .str("GroupName", if uid % 2 == 0 { "IM Friends" } else { "Work" })
            .int("Visibility", 1)
            .str("UserName", &format!("user{uid}"))
            .str("NickName", "");
    }
    b.as_bytes().unwrap().to_vec()
}

/// One `persistr` piece of the 0/1 reply for `rid`; `mtf` as given (`None`: no `mtf` key).
fn piece(rid: u32, mtf: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut f = format!("\\persistr\\\\cmd\\257\\dsn\\0\\uid\\{UID}\\lid\\1\\rid\\{rid}").into_bytes();
    if let Some(m) = mtf {
        f.extend_from_slice(format!("\\mtf\\{m}").as_bytes());
    }
    f.extend_from_slice(b"\\body\\");
    f.extend_from_slice(body);
    f.extend_from_slice(b"\\final\\");
    f
}

fn receive(h: &mut H, bytes: &[u8]) {
    let t = h.t;
    h.m.receive(bytes, t);
}

#[test]
fn a_1000_contact_list_in_mtf_pieces_is_joined_and_signs_on_with_all_of_them() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on("jeff");
    let rid = H::persist_req(&sent, 0, 1).rid;
    let body = contacts_body(1000);
    // Split at arbitrary bytes (inside keys, values and `/1` escapes alike), 4000 bytes a piece.
    let chunks: Vec<&[u8]> = body.chunks(4000).collect();
    assert!(chunks.len() > 20, "{} pieces", chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        // The last piece carries `mtf` 0; a non-zero value other than 1 also means "more".
        let mtf = if last {
            "0"
        } else if i % 2 == 0 {
            "1"
        } else {
            "7"
        };
        receive(&mut h, &piece(rid, Some(mtf), c));
        if !last {
            assert!(h.events().is_empty(), "nothing before the last piece ({i})");
            assert_eq!(h.m.phase(), Phase::SigningOn);
        }
    }
    let ev = h.events();
    let [Event::ContactList(list), Event::SignedOn { .. }] = &ev[..] else { panic!("{ev:?}") };
    assert_eq!(list.len(), 1000);
    for (c, uid) in list.iter().zip(1000..) {
        assert_eq!((c.uid, c.username.as_deref()), (uid, Some(format!("user{uid}").as_str())));
        assert_eq!(c.headline.as_deref(), Some("on a boat / at sea"));
    }
    assert_eq!(list[1].group, "Work");
    assert!(h.sent().is_empty(), "every contact was named: no lookups");
    assert_eq!(h.m.pieces.bytes(), 0, "nothing kept after the last piece");
}

#[test]
fn the_last_piece_may_carry_no_mtf_and_mtf_may_follow_the_body() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on("jeff");
    let rid = H::persist_req(&sent, 0, 1).rid;
    let first = format!(
        "\\persistr\\\\cmd\\257\\dsn\\0\\uid\\{UID}\\lid\\1\\rid\\{rid}\\body\\ContactID=5\x1cUserNa\\mtf\\1\\final\\"
    );
    receive(&mut h, first.as_bytes());
    assert!(h.events().is_empty());
    receive(&mut h, &piece(rid, None, b"me=five"));
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::ContactList(c), Event::SignedOn { .. }] if c.len() == 1 && c[0].username.as_deref() == Some("five")),
        "{ev:?}"
    );
}

#[test]
fn a_reply_past_the_cap_fails_its_request_releases_its_pieces_and_swallows_the_rest() {
    let mut h = H::new(Config { max_reply_bytes: 10_000, ..cfg() });
    let sent = h.log_in_until_signing_on("jeff");
    let rid = H::persist_req(&sent, 0, 1).rid;
    let body = contacts_body(200);
    let chunks: Vec<&[u8]> = body.chunks(4000).collect();
    receive(&mut h, &piece(rid, Some("1"), chunks[0]));
    receive(&mut h, &piece(rid, Some("1"), chunks[1]));
    assert_eq!(h.m.pieces.bytes(), 8000);
    assert!(h.events().is_empty());
    receive(&mut h, &piece(rid, Some("1"), chunks[2]));
    // The contact-list request fails with a protocol error: the sign-on goes on without the list
    // (SPEC §24), and the memory is given back at once.
    let ev = h.events();
    match &ev[..] {
        [Event::Error { error: Error::Protocol(text) }, Event::SignedOn { .. }] => {
            assert!(text.contains("10000-byte cap"), "{text}")
        }
        _ => panic!("{ev:?}"),
    }
    assert_eq!(h.m.pieces.bytes(), 0);
    // The rest of that reply, last piece included, changes nothing.
    receive(&mut h, &piece(rid, Some("1"), chunks[3]));
    receive(&mut h, &piece(rid, Some("0"), chunks[4]));
    assert!(h.events().is_empty(), "swallowed, never a ContactList or Unhandled");
    assert_eq!((h.m.pieces.bytes(), h.m.phase()), (0, Phase::SignedOn));
}

#[test]
fn a_lookup_whose_pieces_stop_times_out_and_a_bad_mtf_fails_the_request() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    let rid = h.m.lookup_user("tom", h.t).unwrap();
    h.sent();
    let first =
        format!("\\persistr\\\\cmd\\257\\dsn\\5\\uid\\{UID}\\lid\\7\\rid\\{rid}\\mtf\\1\\body\\UserID=62\\final\\");
    receive(&mut h, first.as_bytes());
    h.advance(Duration::from_secs(60));
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::LookupResult { request, result: Err(Error::Timeout(_)) }] if *request == rid),
        "{ev:?}"
    );
    assert_eq!(h.m.pieces.bytes(), 0);
    assert_eq!(h.m.next_deadline(), None, "no timer left for the given-up reply");
    // SPEC §24: a bad integer in a field we need is an error for that message.
    let rid = h.m.lookup_user("tom", h.t).unwrap();
    let bad =
        format!("\\persistr\\\\cmd\\257\\dsn\\5\\uid\\{UID}\\lid\\7\\rid\\{rid}\\mtf\\yes\\body\\UserID=62\\final\\");
    receive(&mut h, bad.as_bytes());
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::LookupResult { request, result: Err(Error::Protocol(_)) }] if *request == rid),
        "{ev:?}"
    );
}

#[test]
fn an_unsolicited_reply_in_pieces_is_handled_whole_and_one_cut_short_is_reported() {
    let mut h = H::new(cfg());
    h.signed_on(&[]);
    // Server info (101/20, SPEC §8) with a server-chosen rid, in two pieces.
    let head = "\\persistr\\\\cmd\\257\\dsn\\101\\uid\\0\\lid\\20\\rid\\10594326";
    receive(&mut h, format!("{head}\\mtf\\1\\body\\MaxCon\\final\\").as_bytes());
    receive(&mut h, format!("{head}\\mtf\\0\\body\\tacts=1000\\final\\").as_bytes());
    assert_eq!(h.events(), [Event::ServerInfo(vec![("MaxContacts".into(), "1000".into())])]);
    // A piece whose reply never ends: given up after the request timeout, with an error.
    receive(&mut h, b"\\persistr\\\\cmd\\257\\dsn\\9\\uid\\0\\lid\\9\\rid\\77\\mtf\\1\\body\\a=1\\final\\");
    h.advance(Duration::from_secs(60));
    assert!(matches!(&h.events()[..], [Event::Error { error: Error::Timeout(_) }]));
    assert_eq!(h.m.pieces.bytes(), 0);
}
