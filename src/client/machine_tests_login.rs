//! Machine tests of what real and hostile servers send around the login and in received text:
//! a negative `sesskey` (SPEC §6.5), `userid=0` and bad integers in `lc=2`, the contact-list
//! fallback warning given once, NUL bytes in received text, and the name cache's byte cap.
//! Uses the scripted server of `machine_tests.rs`.

use super::*;
use crate::client::names::MAX_NAME_BYTES;

/// The frames the machine queued, as wire text.
fn raw_sent(h: &mut H) -> Vec<String> {
    std::iter::from_fn(|| h.m.poll_transmit()).map(|b| String::from_utf8(b).unwrap()).collect()
}

/// Answers the challenge and then feeds `lc2` as raw wire text.
fn log_in_with(h: &mut H, lc2: &str) {
    h.log_in_until_challenge_answered();
    let t = h.t;
    h.m.receive(lc2.as_bytes(), t);
}

#[test]
fn a_negative_sesskey_is_the_same_key_and_is_echoed_as_the_server_sent_it() {
    for (wire, key) in [("-1739438191", 2_555_529_105u32), ("2555529105", 2_555_529_105), ("263958216", 263_958_216)] {
        let mut h = H::new(cfg());
        log_in_with(
            &mut h,
            &format!("\\lc\\2\\sesskey\\{wire}\\proof\\jeff\\userid\\{UID}\\uniquenick\\jeff\\id\\1\\final\\"),
        );
        assert_eq!(h.m.phase(), Phase::SigningOn, "{wire}");
        assert_eq!(h.m.sesskey, key);
        let frames = raw_sent(&mut h);
        let with_key: Vec<&String> = frames.iter().filter(|f| f.contains("\\sesskey\\")).collect();
        assert!(with_key.len() >= 4, "{frames:?}");
        for f in with_key {
            assert!(f.contains(&format!("\\sesskey\\{wire}\\")), "{wire}: {f}");
            // Still one well-formed message, with the same 32 bits.
            let m = Message::parse(&f.as_bytes()[..f.len() - 7]).unwrap();
            assert_eq!(m.get_i64("sesskey").unwrap() as u32, key);
        }
    }
}

#[test]
fn userid_0_or_a_bad_integer_in_the_login_reply_fails_the_login_at_once() {
    for lc2 in [
        "\\lc\\2\\sesskey\\5\\proof\\jeff\\userid\\0\\uniquenick\\jeff\\id\\1\\final\\",
        "\\lc\\2\\sesskey\\5x\\proof\\jeff\\userid\\7\\uniquenick\\jeff\\id\\1\\final\\",
        "\\lc\\2\\sesskey\\5\\proof\\jeff\\userid\\-7\\uniquenick\\jeff\\id\\1\\final\\",
        "\\lc\\2\\sesskey\\5\\proof\\jeff\\uniquenick\\jeff\\id\\1\\final\\",
    ] {
        let mut h = H::new(cfg());
        log_in_with(&mut h, lc2);
        let ev = h.events();
        assert!(
            matches!(&ev[..], [Event::LoginFailed { reason: LoginFailure::Protocol, text, .. }] if text.starts_with("bad login reply")),
            "{lc2}: {ev:?}"
        );
        assert_eq!(h.m.phase(), Phase::Idle);
        assert!(h.io().contains(&IoAction::Close));
    }
}

#[test]
fn the_contact_list_fallback_warns_once_even_when_the_request_times_out_later() {
    let mut h = H::new(cfg());
    h.log_in_until_signing_on("jeff");
    h.advance(Duration::from_secs(10));
    let ev = h.events();
    assert!(matches!(&ev[..], [Event::Error { error: Error::Timeout(_) }, Event::SignedOn { .. }]), "{ev:?}");
    // The same unanswered request reaches its own 60 s timeout: no second warning.
    for _ in 0..6 {
        h.feed(ServerMessage::KeepAlive);
        h.advance(Duration::from_secs(10));
    }
    assert_eq!(h.m.requests.len(), 0, "the request has timed out");
    assert_eq!(h.events(), vec![]);
    // Another sign-on's list timing out on its own still says so once.
    h.m.disconnect(h.t).unwrap();
    h.events();
    h.io();
    h.sent();
    h.log_in_until_signing_on("jeff");
    h.advance(Duration::from_secs(10));
    let warnings = |ev: &[Event]| ev.iter().filter(|e| matches!(e, Event::Error { .. })).count();
    assert_eq!(warnings(&h.events()), 1);
}

#[test]
fn nul_in_received_text_is_reported_and_never_becomes_a_control_string() {
    let mut h = H::new(cfg());
    h.signed_on(&[(6221, "tom")]);
    let t = h.t;
    let feed = |h: &mut H, kind: u32, text: &[u8]| {
        let mut wire = format!("\\bm\\{kind}\\f\\6221\\msg\\").into_bytes();
        wire.extend_from_slice(text);
        wire.extend_from_slice(b"\\final\\");
        h.m.receive(&wire, t);
        h.events()
    };
    for (kind, text) in [
        (121, &b"%typ\0ing%"[..]),
        (1, b"%typ\0ing%"),
        (1, b"!!\0!ZAP_SEND!!!=RTE_BTN_ZAPS_1"),
        (1, b"\0!!!ExitChat"),
        (1, b"hi\0there"),
        (200, b"client\0"),
    ] {
        let ev = feed(&mut h, kind, text);
        assert!(
            matches!(&ev[..], [Event::Error { error: Error::EmbeddedNul(_) }]),
            "{}: {ev:?}",
            String::from_utf8_lossy(text)
        );
        assert_eq!(
            crate::ffi::msim_result::from(&Error::EmbeddedNul(String::new())),
            crate::ffi::msim_result::EmbeddedNul
        );
    }
    // Other characters the HTML conversion removes may not build a control string either.
    for text in [&b"%typ\x01ing%"[..], b"\x02!!!ExitChat"] {
        let ev = feed(&mut h, 1, text);
        assert!(matches!(&ev[..], [Event::Error { error: Error::Protocol(_) }]), "{ev:?}");
    }
    // Elsewhere they go as before.
    let ev = feed(&mut h, 1, b"bell\x07 rings");
    assert!(matches!(&ev[..], [Event::ImReceived { plain, .. }] if plain == "bell rings"), "{ev:?}");
    assert_eq!(h.m.phase(), Phase::SignedOn);
}

#[test]
fn the_name_cache_stays_under_its_byte_cap_while_a_server_floods_names() {
    let mut h = H::new(cfg());
    h.signed_on(&[(6221, "tom")]);
    let t = h.t;
    let mut peak = 0;
    for i in 0..8_000u32 {
        let uid = 100_000 + i;
        // Every 16th name is huge (past SPEC's 25 characters), the rest as long as allowed.
        let name =
            if i % 16 == 0 { format!("n{i}{}", "x".repeat(64 * 1024)) } else { format!("{i:0>25}a")[1..].to_owned() };
        let rid = h.m.lookup_user(&uid.to_string(), t).unwrap();
        let req = crate::protocol::persist::PersistRequest::new(
            42,
            1,
            DataItem::MySpaceInfoById,
            Some(UID),
            rid,
            &DictBuilder::new().int("UserID", u64::from(uid)),
        )
        .unwrap();
        h.feed(reply(257, &req, DictBuilder::new().int("UserID", u64::from(uid)).str("UserName", &name)));
        if i % 16 == 0 {
            assert!(!h.m.names.knows(uid), "a name over 25 characters is not cached");
        }
        peak = peak.max(h.m.names.bytes());
        while h.m.poll_transmit().is_some() {}
        while h.m.poll_event().is_some() {}
    }
    assert!(peak <= MAX_NAME_BYTES, "{peak}");
    assert!(peak > MAX_NAME_BYTES / 2, "the flood did fill the cache ({peak})");
    assert_eq!(h.m.names.username(6221).as_deref(), Some("tom"), "contacts survive the flood");
    // Figure for the docs: 25-character names per cap.
    println!("name cache peak {peak} bytes of {MAX_NAME_BYTES}");
}
