use super::*;
use crate::protocol::buddy::BmPayload;
use crate::protocol::login::NONCE_LEN;
use crate::protocol::persist::{Cmd, PersistReply, PersistRequest};
use crate::protocol::status::StatusList;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Any text but a bare `final`, which the encoder refuses by design (SPEC §24).
    ".{0,16}".prop_filter("bare final", |s| s != "final")
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        proptest::array::uniform32(any::<u8>()).prop_map(|h| {
            let mut nonce = [0u8; NONCE_LEN];
            nonce[..32].copy_from_slice(&h);
            nonce[32..].copy_from_slice(&h);
            ServerMessage::Challenge { nonce }
        }),
        (any::<u32>(), text(), any::<u32>(), any::<u32>(), text()).prop_map(
            |(sesskey, proof, userid, profileid, uniquenick)| {
                ServerMessage::LoginOk { sesskey, proof, userid, profileid, uniquenick }
            }
        ),
        (any::<u32>(), any::<bool>(), text()).prop_map(|(code, fatal, text)| ServerMessage::Error {
            code,
            fatal,
            text
        }),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), "[a-zA-Z]{1,5}", text()).prop_map(
            |(cmd, dsn, uid, lid, rid, k, v)| {
                let body = crate::protocol::DictBuilder::new().str(&k, &v.replace('\x1c', ""));
                ServerMessage::Persist(PersistReply {
                    cmd: Cmd(cmd),
                    dsn,
                    uid,
                    lid,
                    rid,
                    body: body.as_bytes().unwrap().to_vec(),
                })
            }
        ),
        (
            prop_oneof![Just(1u32), Just(121), Just(200)],
            any::<u32>(),
            text(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(kind, from, t, date, cv)| ServerMessage::Bm(BmFromServer {
                kind,
                from,
                payload: BmPayload::Text(t),
                date,
                cv,
                aid: None
            })),
        (any::<u32>(), any::<u32>(), text(), text()).prop_map(|(from, code, t, ls)| {
            let mut s = StatusList::new(super::super::status::Presence::from_code(code), &t);
            s.ls = ls;
            ServerMessage::Bm(BmFromServer {
                kind: 100,
                from,
                payload: BmPayload::Status(s),
                date: None,
                cv: None,
                aid: None,
            })
        }),
        Just(ServerMessage::KeepAlive),
    ]
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    let target = prop_oneof![any::<u32>().prop_map(Target::Uid), Just(Target::All)];
    let op = prop_oneof![
        target.clone().prop_map(BlockOp::Allow),
        target.clone().prop_map(BlockOp::Unallow),
        target.clone().prop_map(BlockOp::Block),
        target.prop_map(BlockOp::Unblock),
        any::<bool>().prop_map(BlockOp::ShowOnlyToList),
        any::<bool>().prop_map(BlockOp::PrivacyMode),
    ];
    prop_oneof![
        (text(), proptest::collection::vec(any::<u8>(), 0..80), any::<u32>(), any::<bool>()).prop_map(
            |(username, response, clientver, pidgin)| {
                ClientMessage::Login2(Login2 {
                    algorithm: 196610,
                    username,
                    response,
                    clientver,
                    langid: pidgin.then_some(1033),
                    imlang: pidgin.then(|| "ENGLISH".to_owned()),
                    reconn: 0,
                    status: 100,
                })
            }
        ),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), proptest::option::of(any::<u32>()), any::<u32>())
            .prop_map(|(sesskey, cmd, dsn, lid, uid, rid)| ClientMessage::Persist(PersistRequest {
                sesskey,
                cmd: Cmd(cmd),
                dsn,
                lid,
                uid,
                rid,
                body: b"UserID=1".to_vec()
            })),
        (any::<u32>(), any::<u32>(), any::<u32>(), proptest::option::of(any::<u32>()), text()).prop_map(
            |(kind, sesskey, target, cv, msg)| { ClientMessage::Bm(BmToServer { kind, sesskey, target, cv, msg }) }
        ),
        (any::<u32>(), any::<u32>(), text(), text()).prop_map(|(sesskey, code, statstring, locstring)| {
            ClientMessage::Status { sesskey, code, statstring, locstring }
        }),
        (any::<u32>(), any::<u32>(), text()).prop_map(|(sesskey, uid, reason)| ClientMessage::AddBuddy {
            sesskey,
            uid,
            reason
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(sesskey, uid)| ClientMessage::DelBuddy { sesskey, uid }),
        (any::<u32>(), proptest::collection::vec(op, 0..6))
            .prop_map(|(sesskey, ops)| ClientMessage::BlockList { sesskey, ops }),
        (any::<u32>(), any::<u32>()).prop_map(|(sesskey, n)| ClientMessage::WebChallenge { sesskey, n }),
        any::<u32>().prop_map(|sesskey| ClientMessage::Logout { sesskey }),
    ]
}

fn reparse(m: &Message) -> Message {
    let wire = m.encode();
    Message::parse(&wire[..wire.len() - 7]).unwrap()
}

proptest! {
    #[test]
    fn server_decode_of_encode_is_identity(x in server_message()) {
        let m = x.encode().unwrap();
        prop_assert_eq!(ServerMessage::decode(&reparse(&m)).unwrap(), x);
    }

    #[test]
    fn client_decode_of_encode_is_identity(x in client_message()) {
        let m = x.encode().unwrap();
        prop_assert_eq!(ClientMessage::decode(&reparse(&m)).unwrap(), x);
    }
}

#[test]
fn missing_or_bad_fields_are_errors() {
    for wire in [
        &b"\\error\\\\errmsg\\x"[..],
        b"\\lc\\2\\sesskey\\1",
        b"\\bm\\1\\msg\\hi",
        b"\\bm\\100\\f\\1\\msg\\|s",
        b"\\persistr\\\\cmd\\x\\rid\\1",
    ] {
        let m = Message::parse(wire).unwrap();
        assert!(ServerMessage::decode(&m).is_err(), "{}", String::from_utf8_lossy(wire));
    }
    let m = Message::parse(b"\\lc\\1\\nc\\AAAA\\id\\1").unwrap();
    assert!(matches!(ServerMessage::decode(&m), Err(DecodeError::BadChallenge(_))));
    let m = Message::parse(b"\\blocklist\\\\sesskey\\1\\idlist\\a+|x").unwrap();
    assert!(matches!(ClientMessage::decode(&m), Err(DecodeError::BadBlockToken(_))));
    let m = Message::parse(b"\\whatever\\1").unwrap();
    assert!(matches!(ServerMessage::decode(&m), Ok(ServerMessage::Unknown(_))));
}

#[test]
fn login_reply_sesskey_may_be_a_negative_decimal_of_the_same_32_bits() {
    // SPEC §6.5: a server that prints its key as a signed 32-bit number.
    let decode = |key: &str| {
        let wire = format!("\\lc\\2\\sesskey\\{key}\\proof\\x\\userid\\7\\profileid\\7\\uniquenick\\x\\id\\1");
        match ServerMessage::decode(&Message::parse(wire.as_bytes()).unwrap()) {
            Ok(ServerMessage::LoginOk { sesskey, .. }) => Some(sesskey),
            _ => None,
        }
    };
    let cases = [
        ("-1739438191", Some(2_555_529_105)),
        ("2555529105", Some(2_555_529_105)),
        ("-1", Some(u32::MAX)),
        ("-2147483648", Some(1 << 31)),
        ("-2147483649", None),
        ("4294967296", None),
        ("--1", None),
        ("-", None),
    ];
    for (key, want) in cases {
        assert_eq!(decode(key), want, "{key}");
    }
}
