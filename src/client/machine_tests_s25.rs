//! Machine tests of the buddy-message variants of SPEC §25 ("Other clients and servers"): the
//! web client's bm 121 IMs, `!!!` control strings, status lists with extras, group chat. The
//! server's frames are written byte for byte.

use super::*;

fn receive(h: &mut H, bytes: &[u8]) {
    let t = h.t;
    h.m.receive(bytes, t);
}

fn signed_on_with_tom() -> H {
    let mut h = H::new(cfg());
    h.signed_on(&[(6221, "tom")]);
    h
}

#[test]
fn web_client_ims_in_bm_121_are_ims_and_bang_payloads_never_are() {
    let mut h = signed_on_with_tom();
    // SPEC §25: the web client (cv 745) sends ordinary IMs as bm 121 with markup.
    receive(&mut h, b"\\bm\\121\\f\\6221\\cv\\745\\msg\\<p><f f='Arial' h='16'>from the web</1f></1p>\\final\\");
    let ev = h.events();
    match &ev[..] {
        [Event::ImReceived { from: 6221, username: Some(u), html, plain, offline: false, .. }] => {
            assert_eq!((u.as_str(), plain.as_str()), ("tom", "from the web"));
            assert!(html.contains("from the web") && html.contains("Arial"), "{html}");
        }
        _ => panic!("{ev:?}"),
    }
    // Any payload starting with `!!!` is a control string: reported as wire text, never an IM,
    // in bm 121 and in bm 1 alike.
    for wire in [
        &b"\\bm\\121\\f\\6221\\msg\\!!!ExitChat\\final\\"[..],
        b"\\bm\\1\\f\\6221\\msg\\!!!Offline\\final\\",
        b"\\bm\\121\\f\\6221\\cv\\745\\msg\\!!!Unknown=1&x=2\\final\\",
        b"\\bm\\121\\f\\6221\\msg\\!!!ZAP_SEND!!!=RTE_BTN_ZAPS_none\\final\\",
    ] {
        receive(&mut h, wire);
        let ev = h.events();
        let text = std::str::from_utf8(wire).unwrap();
        assert!(matches!(&ev[..], [Event::Unhandled { text: t }] if t == text), "{text}: {ev:?}");
    }
    // `!!!` inside a text is text.
    receive(&mut h, b"\\bm\\121\\f\\6221\\msg\\wow!!! really\\final\\");
    assert!(matches!(&h.events()[..], [Event::ImReceived { plain, .. }] if plain == "wow!!! really"));
}

#[test]
fn status_lists_are_read_by_key_with_ts_and_caps_and_short_lists_still_work() {
    let mut h = signed_on_with_tom();
    let status = |h: &mut H, msg: &str| {
        receive(h, format!("\\bm\\100\\f\\6221\\msg\\{msg}\\final\\").as_bytes());
        h.events()
    };
    let tom = Some("tom".to_owned());
    // SPEC §25: a later server appends `caps` and `ts`, with a non-zero `ip`.
    let ev = status(&mut h, "|s|5|ss|out to lunch|ls||ip|1249763340|p|0|caps|557056|ts|1262304000");
    let want = Event::BuddyStatus {
        uid: 6221,
        username: tom.clone(),
        presence: Presence::Away,
        headline: "out to lunch".into(),
        ts: Some(1_262_304_000),
        caps: Some("557056".into()),
    };
    assert_eq!(ev, [want]);
    // The pairs in another order: a position-based reader would take "ts" for the code.
    let ev = status(&mut h, "|ts|1262304001|s|2|ss|zzz");
    assert!(
        matches!(&ev[..], [Event::BuddyStatus { presence: Presence::Idle, headline, ts: Some(1_262_304_001), caps: None, .. }] if headline == "zzz"),
        "{ev:?}"
    );
    // SPEC §24 still holds: a revival server's short list, missing fields empty.
    let ev = status(&mut h, "|s|1");
    let want = Event::BuddyStatus {
        uid: 6221,
        username: tom,
        presence: Presence::Online,
        headline: String::new(),
        ts: None,
        caps: None,
    };
    assert_eq!(ev, [want]);
}

#[test]
fn group_chat_is_reported_as_group_events_never_as_an_im_typing_or_zap_from_the_actor() {
    use crate::client::events::GroupChatKind;
    let mut h = signed_on_with_tom();
    // SPEC §25: group-chat messages carry `gid` (the chat) and `aid` (the actor).
    receive(&mut h, b"\\bm\\121\\f\\6221\\gid\\55\\aid\\6221\\msg\\<p>hello all</1p>\\final\\");
    let ev = h.events();
    match &ev[..] {
        [Event::GroupChat { gid: 55, from: 6221, actor: 6221, username: Some(u), kind, html, plain, time }] => {
            assert_eq!(
                (u.as_str(), *kind, plain.as_str(), *time),
                ("tom", GroupChatKind::Message, "hello all", 1_000_000)
            );
            assert!(html.contains("hello all"), "{html}");
        }
        _ => panic!("{ev:?}"),
    }
    // Leaving: bm 121 with `gid` and `!!!ExitChat` (no `aid`: the sender is the actor).
    receive(&mut h, b"\\bm\\121\\f\\6221\\gid\\55\\msg\\!!!ExitChat\\final\\");
    let left = Event::GroupChat {
        gid: 55,
        from: 6221,
        actor: 6221,
        username: Some("tom".into()),
        kind: GroupChatKind::Left,
        html: String::new(),
        plain: String::new(),
        time: 1_000_000,
    };
    assert_eq!(h.events(), [left]);
    // An actor whose name is unknown: held while looked up (SPEC §24), then named.
    receive(&mut h, b"\\bm\\1\\f\\6221\\gid\\55\\aid\\999\\date\\1262304000\\msg\\who am I\\final\\");
    assert!(h.events().is_empty(), "held for the actor's name");
    let req = H::persist_req(&h.sent(), 4, 3);
    assert_eq!(req.body, b"UserID=999");
    h.feed(reply(257, &req, DictBuilder::new().int("UserID", 999).str("UserName", "zed")));
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::UserInfo(_), Event::GroupChat { actor: 999, username: Some(u), plain, time: 1_262_304_000, .. }] if u == "zed" && plain == "who am I"),
        "{ev:?}"
    );
    // `aid` alone (Pidgin's test, SPEC §11.3), typing and zaps inside a chat: group traffic too.
    receive(&mut h, b"\\bm\\121\\f\\6221\\aid\\6221\\msg\\%typing%\\final\\");
    receive(&mut h, b"\\bm\\121\\f\\6221\\gid\\55\\aid\\6221\\msg\\!!!ZAP_SEND!!!=RTE_BTN_ZAPS_4\\final\\");
    receive(&mut h, b"\\bm\\121\\f\\6221\\gid\\55\\msg\\!!!GroupCount=3\\final\\");
    let ev = h.events();
    let others: Vec<(u32, GroupChatKind, &str)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::GroupChat { gid, kind, html, plain, .. } if html.is_empty() => Some((*gid, *kind, plain.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        others,
        [
            (0, GroupChatKind::Other, "%typing%"),
            (55, GroupChatKind::Other, "!!!ZAP_SEND!!!=RTE_BTN_ZAPS_4"),
            (55, GroupChatKind::Other, "!!!GroupCount=3")
        ],
        "{ev:?}"
    );
    // A `gid` that is not a number: the message is skipped with an error (SPEC §24).
    receive(&mut h, b"\\bm\\121\\f\\6221\\gid\\five\\msg\\hi\\final\\");
    assert!(matches!(&h.events()[..], [Event::Error { error: Error::Protocol(_) }]));
}
