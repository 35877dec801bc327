//! Machine tests of the privacy, group-write, web-challenge and buddy-notice operations: exact
//! wire bytes against SPEC and the events their replies become. Uses the scripted server of
//! `machine_tests.rs`.

use super::*;
use crate::client::events::{Group, NoticeKind, Privacy, WebChallenge};

/// The frames the machine queued, as wire text (`\final\` included).
fn raw_sent(h: &mut H) -> Vec<String> {
    std::iter::from_fn(|| h.m.poll_transmit()).map(|b| String::from_utf8(b).unwrap()).collect()
}

fn signed_on_with_tom() -> H {
    let mut h = H::new(cfg());
    h.signed_on(&[(6221, "tom")]);
    h
}

#[test]
fn privacy_and_permit_list_use_the_blocklist_tokens() {
    let mut h = H::new(cfg());
    assert_eq!(h.m.set_privacy(true, false), Err(Error::NotConnected));
    assert_eq!(h.m.permit("tom", h.t), Err(Error::NotConnected));
    let mut h = signed_on_with_tom();
    h.m.set_privacy(true, false).unwrap();
    h.m.set_privacy(false, true).unwrap();
    h.m.permit("tom", h.t).unwrap(); // a known name: no lookup
    h.m.unpermit("6221", h.t).unwrap();
    // SPEC §18.4: w = ShowOnlyToList, c = PrivacyMode bit 0, a+/a- = allow list.
    assert_eq!(
        raw_sent(&mut h),
        [
            "\\blocklist\\\\sesskey\\42\\idlist\\w1|c0\\final\\",
            "\\blocklist\\\\sesskey\\42\\idlist\\w0|c1\\final\\",
            "\\blocklist\\\\sesskey\\42\\idlist\\a+|6221\\final\\",
            "\\blocklist\\\\sesskey\\42\\idlist\\a-|6221\\final\\",
        ]
    );
    assert!(h.events().is_empty(), "no reply on the wire, no event");
    // An unknown name is looked up first (5/7), then permitted.
    h.m.permit("someone", h.t).unwrap();
    let s = h.sent();
    let ClientMessage::Persist(lookup) = &s[0] else { panic!("{s:?}") };
    assert_eq!((lookup.dsn, lookup.lid, lookup.body.as_slice()), (5, 7, &b"UserName=someone"[..]));
    h.feed(reply(257, lookup, DictBuilder::new().int("UserID", 55).str("UserName", "someone")));
    assert_eq!(raw_sent(&mut h), ["\\blocklist\\\\sesskey\\42\\idlist\\a+|55\\final\\"]);
    assert!(matches!(h.m.permit("", h.t), Err(Error::InvalidArgument(_))));
}

#[test]
fn own_im_info_reports_the_privacy_settings_and_mirrors_them() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on("jeff");
    let req = H::persist_req(&sent, 1, 4);
    let body = DictBuilder::new()
        .int("UserID", u64::from(UID))
        .bool("Sound", true)
        .int("PrivacyMode", 3)
        .bool("ShowOnlyToList", true)
        .int("OfflineMessageMode", 1);
    h.feed(reply(257, &req, body));
    assert_eq!(
        h.events(),
        [Event::PrivacySettings(Privacy { show_only_to_list: true, privacy_mode: 3, offline_message_mode: 1 })]
    );
    // SPEC §9.4: Pidgin's mirror, `w<ShowOnlyToList>|c<PrivacyMode & 1>`.
    assert_eq!(raw_sent(&mut h), ["\\blocklist\\\\sesskey\\42\\idlist\\w1|c1\\final\\"]);
}

#[test]
fn save_group_is_a_2_16_put_and_its_echo_becomes_group_saved() {
    let mut h = signed_on_with_tom();
    let rid = h.m.save_group("Work", Some(4), Some(131_073), h.t).unwrap();
    let wire = raw_sent(&mut h);
    assert_eq!(
        wire,
        [format!(
            "\\persist\\1\\sesskey\\42\\cmd\\2\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\GroupName=Work\x1cPosition=4\x1cGroupFlag=131073\\final\\"
        )]
    );
    let m = Message::parse(&wire[0].as_bytes()[..wire[0].len() - 7]).unwrap();
    let ClientMessage::Persist(req) = ClientMessage::decode(&m).unwrap() else { panic!() };
    // SPEC §10.2: answered with cmd 258 echoing the body.
    let echo = DictBuilder::new().str("GroupName", "Work").int("Position", 4).int("GroupFlag", 131_073);
    h.feed(reply(258, &req, echo));
    let group = Group { id: 0, name: "Work".into(), position: 4, flags: 131_073 };
    assert_eq!(h.events(), [Event::GroupSaved { request: rid, result: Ok(group) }]);
    // Keys left out; an error reply fails the request.
    let rid = h.m.save_group("Pals", None, None, h.t).unwrap();
    let s = h.sent();
    let ClientMessage::Persist(req) = &s[0] else { panic!("{s:?}") };
    assert_eq!(req.body, b"GroupName=Pals");
    h.feed(reply(1024 | 2, req, DictBuilder::new().str("ErrorMessage", "no")));
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::GroupSaved { request, result: Err(Error::Server { code: 1026, text }) }] if *request == rid && text == "no"),
        "{ev:?}"
    );
    assert!(matches!(h.m.save_group("", None, None, h.t), Err(Error::InvalidArgument(_))));
}

#[test]
fn rename_group_is_a_2_16_put_by_group_id_and_remove_group_a_2_16_delete() {
    let mut h = signed_on_with_tom();
    assert!(matches!(h.m.rename_group(0, "Work", h.t), Err(Error::InvalidArgument(_))));
    assert!(matches!(h.m.rename_group(25_760_886, "", h.t), Err(Error::InvalidArgument(_))));
    assert!(matches!(h.m.remove_group(0, h.t), Err(Error::InvalidArgument(_))));
    // SPEC §25: "2/16 with `GroupID` changes that group".
    let rid = h.m.rename_group(25_760_886, "Old/Pals", h.t).unwrap();
    assert_eq!(
        raw_sent(&mut h),
        [format!(
            "\\persist\\1\\sesskey\\42\\cmd\\2\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\GroupID=25760886\x1cGroupName=Old/1Pals\\final\\"
        )]
    );
    // Answered as SPEC §10.2 says of 2/16: cmd 258 echoing the body, byte for byte.
    let echo = format!(
        "\\persistr\\\\cmd\\258\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\GroupID=25760886\x1cGroupName=Old/1Pals\\final\\"
    );
    h.m.receive(echo.as_bytes(), h.t);
    let group = Group { id: 25_760_886, name: "Old/Pals".into(), position: 0, flags: 0 };
    assert_eq!(h.events(), [Event::GroupSaved { request: rid, result: Ok(group) }]);
    // An echo without `GroupID` still names the group renamed.
    let rid = h.m.rename_group(7, "Seven", h.t).unwrap();
    h.sent();
    let echo =
        format!("\\persistr\\\\cmd\\258\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\GroupName=Seven\\final\\");
    h.m.receive(echo.as_bytes(), h.t);
    assert!(matches!(&h.events()[..], [Event::GroupSaved { result: Ok(Group { id: 7, .. }), .. }]));
    // SPEC §25: "cmd 3 with `GroupID` deletes it".
    let rid = h.m.remove_group(25_760_886, h.t).unwrap();
    assert_eq!(
        raw_sent(&mut h),
        [format!(
            "\\persist\\1\\sesskey\\42\\cmd\\3\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\GroupID=25760886\\final\\"
        )]
    );
    let done =
        format!("\\persistr\\\\cmd\\259\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\GroupID=25760886\\final\\");
    h.m.receive(done.as_bytes(), h.t);
    assert_eq!(h.events(), [Event::GroupRemoved { request: rid, id: 25_760_886, result: Ok(()) }]);
    // An error reply (cmd 1024 | 3, SPEC §16.3) fails it.
    let rid = h.m.remove_group(99, h.t).unwrap();
    h.sent();
    let refused = format!(
        "\\persistr\\\\cmd\\1027\\dsn\\2\\uid\\{UID}\\lid\\16\\rid\\{rid}\\body\\ErrorMessage=No such group.\\final\\"
    );
    h.m.receive(refused.as_bytes(), h.t);
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::GroupRemoved { request, id: 99, result: Err(Error::Server { code: 1027, text }) }] if *request == rid && text == "No such group."),
        "{ev:?}"
    );
}

#[test]
fn web_challenge_request_and_its_unsolicited_reply() {
    use base64::Engine as _;
    let mut h = signed_on_with_tom();
    h.m.request_web_challenge().unwrap();
    assert_eq!(raw_sent(&mut h), ["\\webchlg\\\\sesskey\\42\\n\\0\\final\\"]); // SPEC §14
    let data: Vec<u8> = (0..64).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
    let body = DictBuilder::new()
        .int("Challenge", 8_408_570_123)
        .str("ChallengeData", &b64)
        .int("Challenge", 1_234_567_890)
        .str("ChallengeData", &b64);
    // A server-chosen rid that matches no request (SPEC §7.3).
    let msg = |body: DictBuilder| {
        ServerMessage::Persist(PersistReply {
            cmd: Cmd(257),
            dsn: 17,
            uid: UID,
            lid: 26,
            rid: 16_339_203,
            body: body.as_bytes().unwrap().to_vec(),
        })
    };
    h.feed(msg(body));
    let want = vec![
        WebChallenge { challenge: 8_408_570_123, data: data.clone() },
        WebChallenge { challenge: 1_234_567_890, data },
    ];
    assert_eq!(h.events(), [Event::WebChallenge(want)]);
    h.feed(msg(DictBuilder::new().int("Challenge", 1).str("ChallengeData", "not base64!")));
    let ev = h.events();
    assert!(matches!(&ev[..], [Event::Error { error: Error::Protocol(t) }] if t.contains("web challenge")), "{ev:?}");
}

#[test]
fn window_opened_and_client_version_are_bm_122_and_200() {
    let mut h = signed_on_with_tom();
    h.m.send_window_opened("tom", h.t).unwrap();
    h.m.send_window_opened("6221", h.t).unwrap();
    h.m.send_client_version("tom", "Libpurple 2.10.9 - msimprpl 0.18", h.t).unwrap();
    // SPEC §4.7 payload (reqid counts up), §11.1 framing.
    assert_eq!(
        raw_sent(&mut h),
        [
            "\\bm\\122\\sesskey\\42\\t\\6221\\cv\\697\\msg\\cmdtype=1&reqid=1&contenttype=1&\\final\\",
            "\\bm\\122\\sesskey\\42\\t\\6221\\cv\\697\\msg\\cmdtype=1&reqid=2&contenttype=1&\\final\\",
            "\\bm\\200\\sesskey\\42\\t\\6221\\cv\\697\\msg\\Libpurple 2.10.9 - msimprpl 0.18\\final\\",
        ]
    );
    assert!(matches!(h.m.send_client_version("tom", "final", h.t), Err(Error::InvalidArgument(_))));
    assert_eq!(crate::client::commands::default_client_description(), format!("msim {}", env!("CARGO_PKG_VERSION")));
    let mut idle = H::new(cfg());
    assert_eq!(idle.m.send_window_opened("tom", idle.t), Err(Error::NotConnected));
    assert_eq!(idle.m.request_web_challenge(), Err(Error::NotConnected));
}

#[test]
fn client_version_mood_and_profile_messages_are_buddy_notices() {
    let mut h = signed_on_with_tom();
    h.feed(bm(200, 6221, "Miranda IM 0.9", None));
    h.feed(bm(126, 6221, "happy", None));
    h.feed(bm(124, 6221, "", None));
    let tom = Some("tom".to_owned());
    let n = |from, username: Option<String>, kind, text: &str| Event::BuddyNotice {
        from,
        username,
        kind,
        text: text.into(),
    };
    assert_eq!(
        h.events(),
        [
            n(6221, tom.clone(), NoticeKind::ClientVersion, "Miranda IM 0.9"),
            n(6221, tom.clone(), NoticeKind::Mood, "happy"),
            n(6221, tom, NoticeKind::Profile, ""),
        ]
    );
    // Unknown kinds and group chat stay Unhandled.
    h.feed(bm(77, 6221, "?", None));
    assert!(matches!(&h.events()[..], [Event::Unhandled { .. }]));
}

#[test]
fn set_profile_is_one_setinfo_with_the_fields_given() {
    use crate::client::commands::{ProfileUpdate, MAX_PROFILE_TEXT};
    let p =
        |display: Option<&str>, headline: Option<&str>, band: Option<&str>, song: Option<&str>, url: Option<&str>| {
            ProfileUpdate {
                display_name: display.map(str::to_owned),
                headline: headline.map(str::to_owned),
                band: band.map(str::to_owned),
                song: song.map(str::to_owned),
                image_url: url.map(str::to_owned),
            }
        };
    let all = p(Some("Jeff"), Some("on air"), Some("The Band"), Some("A=B|C"), Some("http://x.myspace.com/a\\b.gif"));
    let mut idle = H::new(cfg());
    assert_eq!(idle.m.set_profile(&all), Err(Error::NotConnected));
    let mut h = signed_on_with_tom();
    h.m.set_profile(&all).unwrap();
    h.m.set_profile(&p(None, None, Some(""), Some("Song 2"), None)).unwrap();
    h.m.set_profile(&ProfileUpdate::default()).unwrap(); // nothing given: nothing sent
                                                         // SPEC §5 `setinfo sesskey info`; §4.5 body: 0x1C between pairs, `=` and `|` in a value as
                                                         // they are (split at the first `=`), `/` and `\` escaped as /1 and /2 (§3); "" clears a field.
    assert_eq!(
        raw_sent(&mut h),
        [
            "\\setinfo\\\\sesskey\\42\\info\\DisplayName=Jeff\x1cHeadline=on air\x1cBandName=The Band\x1cSongName=A=B|C\x1cImageURL=http:/1/1x.myspace.com/1a/2b.gif\\final\\",
            "\\setinfo\\\\sesskey\\42\\info\\BandName=\x1cSongName=Song 2\\final\\",
        ]
    );
    assert!(h.events().is_empty(), "no reply on the wire, no event");
    // Refused before anything is sent: over-long, 0x1C (cannot be escaped), a headline of `final`.
    let long = "x".repeat(MAX_PROFILE_TEXT + 1);
    let at_cap = "é".repeat(MAX_PROFILE_TEXT / 2);
    for bad in [
        p(Some(&long), None, None, None, None),
        p(None, None, None, None, Some(&format!("{at_cap}x"))),
        p(None, None, Some("a\x1cb"), None, None),
        p(None, Some("final"), None, None, None),
    ] {
        assert!(matches!(h.m.set_profile(&bad), Err(Error::InvalidArgument(_))), "{bad:?}");
    }
    h.m.set_profile(&p(Some(&at_cap), Some("final words"), None, None, None)).unwrap();
    assert_eq!(raw_sent(&mut h).len(), 1, "exactly {MAX_PROFILE_TEXT} bytes are accepted");
}

#[test]
fn a_new_headline_is_the_status_text_sent_again_at_the_next_sign_on() {
    // SPEC §12: the headline is the status text; a reconnect re-sends the status, which must not
    // put the text of an older set_status back.
    let policy = ReconnectPolicy { enabled: true, initial_delay: Duration::from_secs(1), ..ReconnectPolicy::default() };
    let mut h = H::new(Config { reconnect: policy, ..cfg() });
    h.signed_on(&[]);
    h.m.set_status(OwnStatus::Away, "old text").unwrap();
    let headline = crate::client::ProfileUpdate { headline: Some("new headline".into()), ..Default::default() };
    h.m.set_profile(&headline).unwrap();
    h.sent();
    h.io();
    h.m.connection_lost(None, h.t);
    h.advance(Duration::from_secs(2));
    let attempt = h.attempt();
    h.log_in_again(attempt);
    let statuses: Vec<_> = h
        .sent()
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Status { code, statstring, .. } => Some((code, statstring)),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [(5, "new headline".to_owned())]);
}

#[test]
fn spec_25_error_codes_end_or_continue_the_session_as_their_meaning_says() {
    // 2 and 3: the session key is no longer valid, flagged fatal or not; a reconnect follows.
    for code in [2, 3] {
        let mut h = H::new(Config { reconnect: ReconnectPolicy { enabled: true, ..Default::default() }, ..cfg() });
        h.signed_on(&[]);
        h.feed(ServerMessage::Error { code, fatal: false, text: "bad key".into() });
        let ev = h.events();
        assert!(
            matches!(&ev[..], [Event::Disconnected { reason: DisconnectReason::SessionExpired, reconnecting: true, code: c, .. }] if *c == code),
            "{code}: {ev:?}"
        );
    }
    // 267: this client version is refused; no retry can help.
    let mut h = H::new(cfg());
    h.log_in_until_challenge_answered();
    h.feed(ServerMessage::Error { code: 267, fatal: true, text: "too old".into() });
    assert!(matches!(&h.events()[..], [Event::LoginFailed { reason: LoginFailure::ClientTooOld, code: 267, .. }]));
    // 270 while signing on: the list will not come, so sign on now with one warning.
    let mut h = H::new(cfg());
    h.log_in_until_signing_on("jeff");
    h.feed(ServerMessage::Error { code: 270, fatal: false, text: "no list".into() });
    let ev = h.events();
    assert!(
        matches!(&ev[..], [Event::Error { error: Error::Server { code: 270, .. } }, Event::SignedOn { .. }]),
        "{ev:?}"
    );
    assert_eq!(h.m.phase(), Phase::SignedOn);
}

#[test]
fn text_the_server_would_store_is_refused_with_control_characters_before_anything_is_sent() {
    // Issue "Hostile peers, round two" item 1: one `\status\` with 0x1C broke the contact lists of
    // everyone listing its author. Every stored text field is checked on the client too.
    let mut h = signed_on_with_tom();
    let bad = "away\u{1c}Headline=x";
    let refused = |r: Result<(), Error>| matches!(r, Err(Error::InvalidArgument(t)) if t.contains("U+001C"));
    assert!(refused(h.m.set_status(OwnStatus::Away, bad)));
    let profile = crate::client::ProfileUpdate { band: Some(bad.into()), ..Default::default() };
    assert!(refused(h.m.set_profile(&profile)));
    assert!(refused(h.m.add_buddy("tom", Some(bad), h.t)));
    assert!(refused(h.m.set_contact_info("tom", None, bad, h.t)));
    assert!(refused(h.m.save_group(bad, None, None, h.t).map(|_| ())));
    assert!(refused(h.m.rename_group(7, bad, h.t).map(|_| ())));
    assert!(matches!(h.m.set_status(OwnStatus::Away, "nul\0"), Err(Error::InvalidArgument(_))));
    assert!(raw_sent(&mut h).is_empty(), "nothing was sent");
    // Tabs and line breaks are text, not controls.
    h.m.set_status(OwnStatus::Away, "back\tat\n5").unwrap();
    assert_eq!(raw_sent(&mut h).len(), 1);
}

#[test]
fn contact_records_with_a_picture_url_become_buddy_picture_events_after_the_list() {
    let mut h = H::new(cfg());
    let sent = h.log_in_until_signing_on("jeff");
    let req = H::persist_req(&sent, 0, 1);
    // SPEC §10.1: AvatarUrl in contact records ([S] spelling); "" = no picture; absent = unknown.
    let body = DictBuilder::new()
        .int("ContactID", 6221)
        .str("UserName", "tom")
        .str("AvatarUrl", "http://x.example/tom/1.png")
        .int("ContactID", 7)
        .str("UserName", "ann")
        .str("AvatarUrl", "")
        .int("ContactID", 8)
        .str("UserName", "bo");
    h.feed(reply(257, &req, body));
    let ev = h.events();
    assert!(matches!(&ev[0], Event::ContactList(c) if c[0].image_url.as_deref() == Some("http://x.example/tom/1.png")
        && c[1].image_url.as_deref() == Some("") && c[2].image_url.is_none()));
    let pic = |uid, name: &str, url: &str| Event::BuddyPicture { uid, username: Some(name.into()), url: url.into() };
    assert_eq!(ev[1..3], [pic(6221, "tom", "http://x.example/tom/1.png"), pic(7, "ann", "")]);
    assert!(matches!(ev[3], Event::SignedOn { .. }), "{ev:?}");
}
