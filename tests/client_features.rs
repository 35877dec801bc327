//! Privacy and the permit list, group writes, the web challenge, the bm 122 / bm 200 notices and
//! the own profile (setinfo), through `msim::client::Session` against a real msim-server on 127.0.0.1.

mod common;

use common::client::{server, Client};
use msim::client::{Event, NoticeKind, Privacy, ProfileUpdate, UserInfo};
use msim::protocol::status::Presence;

/// alice and bob; only bob lists alice (so alice's ShowOnlyToList hides her from bob unless she
/// permits him).
fn accounts(s: &msim_server::Server) -> (u32, u32) {
    let a = s.add_account("alice@example.com", "alicepw", Some("alice"), Some("Alice")).unwrap();
    let b = s.add_account("bob@example.com", "bobpw", Some("bob"), Some("Bob")).unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    (a, b)
}

fn presence_of(uid: u32, want: Presence) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::BuddyStatus { uid: u, presence, .. } if *u == uid && *presence == want)
}

#[test]
fn show_only_to_list_hides_presence_and_the_permit_list_shows_it_again() {
    let s = server();
    let (a, _) = accounts(&s);
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let privacy = alice.seen.iter().find_map(|e| match e {
        Event::PrivacySettings(p) => Some(*p),
        _ => None,
    });
    assert_eq!(privacy, Some(Privacy { show_only_to_list: false, privacy_mode: 0, offline_message_mode: 1 }));
    let mut bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    // Presence sent before the contact list is held until SignedOn (SPEC §24), then delivered.
    bob.wait(presence_of(a, Presence::Online));
    // w1: bob is not on alice's list, so alice looks offline to him at once.
    alice.session.set_privacy(true, true).unwrap();
    bob.wait(presence_of(a, Presence::Offline));
    // a+|bob: permitted, bob sees her again; a-|bob: hidden again.
    alice.session.permit("bob").unwrap();
    bob.wait(presence_of(a, Presence::Online));
    alice.session.unpermit("bob@example.com").unwrap();
    bob.wait(presence_of(a, Presence::Offline));
    // The server stored both flags: the next sign-on reports them.
    alice.session.disconnect().unwrap();
    alice.wait(|e| matches!(e, Event::Disconnected { .. }));
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let privacy = alice.seen.iter().find_map(|e| match e {
        Event::PrivacySettings(p) => Some(*p),
        _ => None,
    });
    assert_eq!(privacy, Some(Privacy { show_only_to_list: true, privacy_mode: 1, offline_message_mode: 1 }));
    assert!(
        bob.collect_for(std::time::Duration::from_millis(300), presence_of(a, Presence::Online)).is_empty(),
        "alice's new session stays hidden from bob"
    );
    // An unknown name is an error event, nothing is sent.
    alice.session.permit("nobody_here").unwrap();
    alice.wait(|e| matches!(e, Event::Error { .. }));
}

#[test]
fn a_saved_group_is_echoed_and_listed_with_its_position() {
    let s = server();
    accounts(&s);
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let rid = alice.session.save_group("Work", Some(7), Some(131_073)).unwrap();
    let ev = alice.wait(|e| matches!(e, Event::GroupSaved { .. }));
    let Event::GroupSaved { request, result: Ok(g) } = ev else { panic!("{ev:?}") };
    assert_eq!((request, g.name.as_str(), g.position, g.flags), (rid, "Work", 7, 131_073));
    // Updating by name moves it; flags left out keep their value.
    alice.session.save_group("Work", Some(2), None).unwrap();
    alice.wait(|e| matches!(e, Event::GroupSaved { result: Ok(_), .. }));
    alice.session.request_groups().unwrap();
    let Event::Groups(groups) = alice.wait(|e| matches!(e, Event::Groups(_))) else { unreachable!() };
    let work: Vec<_> = groups.iter().filter(|g| g.name == "Work").collect();
    assert_eq!(work.len(), 1, "{groups:?}");
    assert_eq!((work[0].position, work[0].flags), (2, 131_073));
    assert_ne!(work[0].id, 0, "the list carries the GroupID");
    assert!(groups.iter().any(|g| g.name == "IM Friends"), "{groups:?}");
}

#[test]
fn web_challenge_pairs_arrive_decoded() {
    let s = server();
    accounts(&s);
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    alice.session.request_web_challenge().unwrap();
    let Event::WebChallenge(pairs) = alice.wait(|e| matches!(e, Event::WebChallenge(_))) else { unreachable!() };
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    for p in &pairs {
        assert_eq!(p.challenge.to_string().len(), 10, "{p:?}");
        assert_eq!(p.data.len(), 64);
    }
    assert_ne!(pairs[0].data, pairs[1].data);
}

#[test]
fn window_opened_and_client_version_reach_the_peer() {
    let s = server();
    let (a, _) = accounts(&s);
    let alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let mut bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    alice.session.send_window_opened("bob").unwrap();
    // SPEC §11.6: bm 122 is a typing blip on receipt.
    bob.wait(|e| matches!(e, Event::Typing { from, typing: true, .. } if *from == a));
    bob.wait(|e| matches!(e, Event::Typing { from, typing: false, .. } if *from == a));
    alice.session.send_client_version("bob", "msim tests / 1.0").unwrap();
    let ev = bob.wait(|e| matches!(e, Event::BuddyNotice { .. }));
    assert_eq!(
        ev,
        Event::BuddyNotice {
            from: a,
            username: Some("alice".into()),
            kind: NoticeKind::ClientVersion,
            text: "msim tests / 1.0".into()
        }
    );
}

#[test]
fn a_set_profile_is_seen_in_lookups_and_its_headline_as_presence() {
    let s = server();
    let (a, _) = accounts(&s);
    let mut alice = Client::signed_on(&s, "alice@example.com", "alicepw");
    let mut bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    // Presence sent before the contact list is held until SignedOn (SPEC §24), then delivered.
    bob.wait(presence_of(a, Presence::Online));
    let profile = ProfileUpdate {
        display_name: Some("Alice A/B".into()),
        headline: Some("listening = happy".into()),
        band: Some("The Band".into()),
        song: Some("Song|Two".into()),
        image_url: Some("http://x.myspace.com/images/alice.gif".into()),
    };
    alice.session.set_profile(&profile).unwrap();
    // bob lists alice: the new headline reaches him as presence (msim-server announces it).
    bob.wait(|e| {
        matches!(e, Event::BuddyStatus { uid, presence: Presence::Online, headline, .. }
            if *uid == a && headline == "listening = happy")
    });
    let lookup = |bob: &mut Client| {
        let rid = bob.session.lookup_user("alice").unwrap();
        match bob.wait(|e| matches!(e, Event::LookupResult { request, .. } if *request == rid)) {
            Event::LookupResult { result: Ok(Some(info)), .. } => info,
            ev => panic!("{ev:?}"),
        }
    };
    // Lookups (5/7) carry the other fields; not the headline (SPEC §7.5: 4/3 and 5/7 replies have
    // no `Headline` key; the contact list and presence carry it).
    let info = lookup(&mut bob);
    let want = UserInfo {
        uid: a,
        username: Some("alice".into()),
        display_name: Some("Alice A/B".into()),
        image_url: Some("http://x.myspace.com/images/alice.gif".into()),
        headline: None,
        band: Some("The Band".into()),
        song: Some("Song|Two".into()),
        ..info.clone()
    };
    assert_eq!(info, want);
    // Fields left out stay; "" clears one.
    let tune_off = ProfileUpdate { band: Some(String::new()), song: Some("Solo".into()), ..Default::default() };
    alice.session.set_profile(&tune_off).unwrap();
    // setinfo has no reply and this change brings no presence: a request of alice's own, answered
    // on the same connection, shows the server has handled her setinfo before bob asks.
    lookup(&mut alice);
    let info = lookup(&mut bob);
    assert_eq!(
        (info.display_name.as_deref(), info.headline.as_deref(), info.band.as_deref(), info.song.as_deref()),
        (Some("Alice A/B"), None, None, Some("Solo"))
    );
    // The headline was stored: bob's contact list at his next sign-on has it.
    bob.session.disconnect().unwrap();
    bob.wait(|e| matches!(e, Event::Disconnected { .. }));
    let bob = Client::signed_on(&s, "bob@example.com", "bobpw");
    let headline = bob.seen.iter().find_map(|e| match e {
        Event::ContactList(list) => list.iter().find(|c| c.uid == a).map(|c| c.headline.clone()),
        _ => None,
    });
    assert_eq!(headline, Some(Some("listening = happy".to_owned())));
}
