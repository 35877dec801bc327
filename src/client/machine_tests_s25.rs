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
