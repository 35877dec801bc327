//! Typed messages: every client→server and server→client kind of SPEC §5–§18, each with decode
//! (from a [`Message`]) and encode (to a [`Message`]). Anything unrecognised survives as
//! `Unknown(Message)`, so nothing is dropped silently (SPEC §24).

use super::buddy::BmPayload;
use super::list::{List, ListBuilder};
use super::login::{decode_nonce, NONCE_LEN};
use super::message::{EncodeError, FieldError, Message, MessageBuilder};
use super::persist::{Cmd, PersistReply, PersistRequest};
use super::status::StatusList;

/// Why a message of a known kind could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{kind} message: {source}")]
    Field { kind: &'static str, source: FieldError },
    #[error("challenge nonce: {0}")]
    BadChallenge(String),
    #[error("blocklist token `{0}` is not understood")]
    BadBlockToken(String),
}

fn field(kind: &'static str) -> impl Fn(FieldError) -> DecodeError {
    move |source| DecodeError::Field { kind, source }
}

/// Pidgin's `clientver` (SPEC §6.4); msim's default.
pub const DEFAULT_CLIENT_VERSION: u32 = 697;

/// `login2` (SPEC §6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login2 {
    pub algorithm: u32,
    /// The account e-mail.
    pub username: String,
    /// Raw response bytes (base64 on the wire, not escaped).
    pub response: Vec<u8>,
    pub clientver: u32,
    pub langid: Option<u32>,
    pub imlang: Option<String>,
    pub reconn: u32,
    pub status: u32,
}

/// One token pair (or standalone flag) of a blocklist `idlist` (SPEC §18.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockOp {
    Allow(Target),
    Unallow(Target),
    Block(Target),
    Unblock(Target),
    /// `w0`/`w1`: ShowOnlyToList.
    ShowOnlyToList(bool),
    /// `c0`/`c1`: PrivacyMode bit 0.
    PrivacyMode(bool),
}

/// A blocklist target: one uid or `*` (all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Uid(u32),
    All,
}

impl BlockOp {
    /// Parses an `idlist` value.
    pub fn parse_list(raw: &[u8]) -> Result<Vec<BlockOp>, DecodeError> {
        let list = List::parse(raw);
        let mut items = list.iter().filter(|t| !t.is_empty());
        let mut ops = Vec::new();
        let bad = |t: &[u8]| DecodeError::BadBlockToken(String::from_utf8_lossy(t).into_owned());
        while let Some(tok) = items.next() {
            let op: fn(Target) -> BlockOp = match tok {
                b"a+" => BlockOp::Allow,
                b"a-" => BlockOp::Unallow,
                b"b+" => BlockOp::Block,
                b"b-" => BlockOp::Unblock,
                b"w0" | b"w1" => {
                    ops.push(BlockOp::ShowOnlyToList(tok[1] == b'1'));
                    continue;
                }
                b"c0" | b"c1" => {
                    ops.push(BlockOp::PrivacyMode(tok[1] == b'1'));
                    continue;
                }
                other => return Err(bad(other)),
            };
            let target = match items.next() {
                Some(b"*") => Target::All,
                Some(id) => Target::Uid(
                    super::message::parse_u64(id).and_then(|v| u32::try_from(v).ok()).ok_or_else(|| bad(id))?,
                ),
                None => return Err(bad(tok)),
            };
            ops.push(op(target));
        }
        Ok(ops)
    }

    /// Encodes ops as an `idlist` value.
    pub fn encode_list(ops: &[BlockOp]) -> ListBuilder {
        let mut b = ListBuilder::new();
        for op in ops {
            let (tok, target) = match *op {
                BlockOp::Allow(t) => ("a+", t),
                BlockOp::Unallow(t) => ("a-", t),
                BlockOp::Block(t) => ("b+", t),
                BlockOp::Unblock(t) => ("b-", t),
                BlockOp::ShowOnlyToList(on) => {
                    b = b.item(if on { "w1" } else { "w0" });
                    continue;
                }
                BlockOp::PrivacyMode(on) => {
                    b = b.item(if on { "c1" } else { "c0" });
                    continue;
                }
            };
            b = b.item(tok);
            b = match target {
                Target::All => b.item("*"),
                Target::Uid(u) => b.int(u64::from(u)),
            };
        }
        b
    }
}

/// A buddy message as the client sends it (SPEC §11.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmToServer {
    pub kind: u32,
    pub sesskey: u32,
    pub target: u32,
    pub cv: Option<u32>,
    /// Unescaped payload text.
    pub msg: String,
}

/// A buddy message as the server delivers it (SPEC §11.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmFromServer {
    pub kind: u32,
    pub from: u32,
    pub payload: BmPayload,
    /// Offline delivery time, seconds since the Unix epoch.
    pub date: Option<u64>,
    pub cv: Option<u32>,
    pub aid: Option<u32>,
}

/// Client → server messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    Login2(Login2),
    Persist(PersistRequest),
    Bm(BmToServer),
    /// `\status\` (SPEC §12).
    Status {
        sesskey: u32,
        code: u32,
        statstring: String,
        locstring: String,
    },
    AddBuddy {
        sesskey: u32,
        uid: u32,
        reason: String,
    },
    DelBuddy {
        sesskey: u32,
        uid: u32,
    },
    BlockList {
        sesskey: u32,
        ops: Vec<BlockOp>,
    },
    /// `\setinfo\` with its raw (escaped) dictionary.
    SetInfo {
        sesskey: u32,
        info: Vec<u8>,
    },
    WebChallenge {
        sesskey: u32,
        n: u32,
    },
    Logout {
        sesskey: u32,
    },
    Unknown(Message),
}

/// Server → client messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// `lc=1` (SPEC §6.2).
    Challenge {
        nonce: [u8; NONCE_LEN],
    },
    /// `lc=2` (SPEC §6.5).
    LoginOk {
        sesskey: u32,
        proof: String,
        userid: u32,
        profileid: u32,
        uniquenick: String,
    },
    /// `\error\` (SPEC §16).
    Error {
        code: u32,
        fatal: bool,
        text: String,
    },
    Persist(PersistReply),
    Bm(BmFromServer),
    /// `\ka\` (SPEC §17).
    KeepAlive,
    Unknown(Message),
}

impl ClientMessage {
    /// Decodes by first key; unknown kinds become `Unknown`.
    pub fn decode(m: &Message) -> Result<ClientMessage, DecodeError> {
        let Some((kind, _)) = m.kind() else { return Ok(ClientMessage::Unknown(m.clone())) };
        let sess = |k: &'static str| m.get_u32("sesskey").map_err(field(k));
        Ok(match kind {
            b"login2" => {
                let f = field("login2");
                ClientMessage::Login2(Login2 {
                    algorithm: m.get_u32("login2").map_err(&f)?,
                    username: m.get_str("username").map_err(&f)?.into_owned(),
                    response: m.get_base64("response").map_err(&f)?,
                    clientver: m.get_u32("clientver").map_err(&f)?,
                    langid: opt(m, "langid", |m, k| m.get_u32(k)).map_err(&f)?,
                    imlang: opt(m, "imlang", |m, k| m.get_str(k).map(|s| s.into_owned())).map_err(&f)?,
                    reconn: opt(m, "reconn", |m, k| m.get_u32(k)).map_err(&f)?.unwrap_or(0),
                    status: opt(m, "status", |m, k| m.get_u32(k)).map_err(&f)?.unwrap_or(100),
                })
            }
            b"persist" => {
                let f = field("persist");
                ClientMessage::Persist(PersistRequest {
                    sesskey: m.get_u32("sesskey").map_err(&f)?,
                    cmd: Cmd(m.get_u32("cmd").map_err(&f)?),
                    dsn: m.get_u32("dsn").map_err(&f)?,
                    lid: m.get_u32("lid").map_err(&f)?,
                    uid: opt(m, "uid", |m, k| m.get_u32(k)).map_err(&f)?,
                    rid: m.get_u32("rid").map_err(&f)?,
                    body: m.get_raw("body").unwrap_or_default().to_vec(),
                })
            }
            b"bm" => {
                let f = field("bm");
                ClientMessage::Bm(BmToServer {
                    kind: m.get_u32("bm").map_err(&f)?,
                    sesskey: m.get_u32("sesskey").map_err(&f)?,
                    target: m.get_u32("t").map_err(&f)?,
                    cv: opt(m, "cv", |m, k| m.get_u32(k)).map_err(&f)?,
                    msg: m.get_str("msg").map_err(&f)?.into_owned(),
                })
            }
            b"status" => {
                let f = field("status");
                ClientMessage::Status {
                    sesskey: m.get_u32("sesskey").map_err(&f)?,
                    code: m.get_u32("status").map_err(&f)?,
                    statstring: opt(m, "statstring", |m, k| m.get_str(k).map(|s| s.into_owned()))
                        .map_err(&f)?
                        .unwrap_or_default(),
                    locstring: opt(m, "locstring", |m, k| m.get_str(k).map(|s| s.into_owned()))
                        .map_err(&f)?
                        .unwrap_or_default(),
                }
            }
            b"addbuddy" => {
                let f = field("addbuddy");
                ClientMessage::AddBuddy {
                    sesskey: sess("addbuddy")?,
                    uid: m.get_u32("newprofileid").map_err(&f)?,
                    reason: opt(m, "reason", |m, k| m.get_str(k).map(|s| s.into_owned()))
                        .map_err(&f)?
                        .unwrap_or_default(),
                }
            }
            b"delbuddy" => ClientMessage::DelBuddy {
                sesskey: sess("delbuddy")?,
                uid: m.get_u32("delprofileid").map_err(field("delbuddy"))?,
            },
            b"blocklist" => ClientMessage::BlockList {
                sesskey: sess("blocklist")?,
                ops: BlockOp::parse_list(m.get_raw("idlist").unwrap_or_default())?,
            },
            b"setinfo" => ClientMessage::SetInfo {
                sesskey: sess("setinfo")?,
                info: m.get_raw("info").unwrap_or_default().to_vec(),
            },
            b"webchlg" => ClientMessage::WebChallenge {
                sesskey: sess("webchlg")?,
                n: opt(m, "n", |m, k| m.get_u32(k)).map_err(field("webchlg"))?.unwrap_or(0),
            },
            b"logout" => ClientMessage::Logout { sesskey: sess("logout")? },
            _ => ClientMessage::Unknown(m.clone()),
        })
    }

    /// Encodes in the official client's field order (SPEC §7.1).
    pub fn encode(&self) -> Result<Message, EncodeError> {
        let b = MessageBuilder::new();
        match self {
            ClientMessage::Login2(l) => {
                let mut b = b
                    .int("login2", u64::from(l.algorithm))
                    .str("username", &l.username)
                    .base64("response", &l.response)
                    .int("clientver", u64::from(l.clientver));
                if let Some(id) = l.langid {
                    b = b.int("langid", u64::from(id));
                }
                if let Some(lang) = &l.imlang {
                    b = b.str("imlang", lang);
                }
                b.int("reconn", u64::from(l.reconn)).int("status", u64::from(l.status)).int("id", 1).finish()
            }
            ClientMessage::Persist(p) => {
                let mut b = b
                    .int("persist", 1)
                    .int("sesskey", u64::from(p.sesskey))
                    .int("cmd", u64::from(p.cmd.0))
                    .int("dsn", u64::from(p.dsn));
                if let Some(uid) = p.uid {
                    b = b.int("uid", u64::from(uid));
                }
                b.int("lid", u64::from(p.lid)).int("rid", u64::from(p.rid)).raw("body", &p.body).finish()
            }
            ClientMessage::Bm(bm) => {
                let mut b = b
                    .int("bm", u64::from(bm.kind))
                    .int("sesskey", u64::from(bm.sesskey))
                    .int("t", u64::from(bm.target));
                if let Some(cv) = bm.cv {
                    b = b.int("cv", u64::from(cv));
                }
                b.str("msg", &bm.msg).finish()
            }
            ClientMessage::Status { sesskey, code, statstring, locstring } => b
                .int("status", u64::from(*code))
                .int("sesskey", u64::from(*sesskey))
                .str("statstring", statstring)
                .str("locstring", locstring)
                .finish(),
            ClientMessage::AddBuddy { sesskey, uid, reason } => b
                .flag("addbuddy")
                .int("sesskey", u64::from(*sesskey))
                .int("newprofileid", u64::from(*uid))
                .str("reason", reason)
                .finish(),
            ClientMessage::DelBuddy { sesskey, uid } => {
                b.flag("delbuddy").int("sesskey", u64::from(*sesskey)).int("delprofileid", u64::from(*uid)).finish()
            }
            ClientMessage::BlockList { sesskey, ops } => b
                .flag("blocklist")
                .int("sesskey", u64::from(*sesskey))
                .list("idlist", &BlockOp::encode_list(ops))
                .finish(),
            ClientMessage::SetInfo { sesskey, info } => {
                b.flag("setinfo").int("sesskey", u64::from(*sesskey)).raw("info", info).finish()
            }
            ClientMessage::WebChallenge { sesskey, n } => {
                b.flag("webchlg").int("sesskey", u64::from(*sesskey)).int("n", u64::from(*n)).finish()
            }
            ClientMessage::Logout { sesskey } => b.flag("logout").int("sesskey", u64::from(*sesskey)).finish(),
            ClientMessage::Unknown(m) => Ok(m.clone()),
        }
    }
}

impl ServerMessage {
    /// Decodes in Pidgin's dispatch order (SPEC §5): lc=1, lc=2, bm, rid, error, ka, unknown.
    pub fn decode(m: &Message) -> Result<ServerMessage, DecodeError> {
        if let Some(lc) = m.get_raw("lc") {
            match lc {
                b"1" => {
                    let nc = m.get_raw("nc").ok_or_else(|| DecodeError::BadChallenge("missing nc".into()))?;
                    let nonce = decode_nonce(nc).map_err(|e| DecodeError::BadChallenge(e.to_string()))?;
                    return Ok(ServerMessage::Challenge { nonce });
                }
                b"2" => {
                    let f = field("lc=2");
                    let userid = m.get_u32("userid").map_err(&f)?;
                    return Ok(ServerMessage::LoginOk {
                        sesskey: m.get_u32("sesskey").map_err(&f)?,
                        proof: opt(m, "proof", |m, k| m.get_str(k).map(|s| s.into_owned()))
                            .map_err(&f)?
                            .unwrap_or_default(),
                        userid,
                        profileid: opt(m, "profileid", |m, k| m.get_u32(k)).map_err(&f)?.unwrap_or(userid),
                        uniquenick: m.get_str("uniquenick").map_err(&f)?.into_owned(),
                    });
                }
                _ => {}
            }
        }
        if m.has("bm") {
            let f = field("bm");
            let kind = m.get_u32("bm").map_err(&f)?;
            let raw = m.get_raw("msg").unwrap_or_default();
            let payload = if kind == super::buddy::bm::STATUS {
                BmPayload::Status(StatusList::parse(raw).map_err(&f)?)
            } else {
                BmPayload::Text(super::message::decode_str("msg", raw).map_err(&f)?.into_owned())
            };
            return Ok(ServerMessage::Bm(BmFromServer {
                kind,
                from: m.get_u32("f").map_err(&f)?,
                payload,
                date: opt(m, "date", |m, k| m.get_u64(k)).map_err(&f)?,
                cv: opt(m, "cv", |m, k| m.get_u32(k)).map_err(&f)?,
                aid: opt(m, "aid", |m, k| m.get_u32(k)).map_err(&f)?,
            }));
        }
        if m.has("rid") {
            let f = field("persistr");
            return Ok(ServerMessage::Persist(PersistReply {
                cmd: Cmd(m.get_u32("cmd").map_err(&f)?),
                dsn: m.get_u32("dsn").map_err(&f)?,
                uid: opt(m, "uid", |m, k| m.get_u32(k)).map_err(&f)?.unwrap_or(0),
                lid: m.get_u32("lid").map_err(&f)?,
                rid: m.get_u32("rid").map_err(&f)?,
                body: m.get_raw("body").unwrap_or_default().to_vec(),
            }));
        }
        if m.has("error") {
            let f = field("error");
            return Ok(ServerMessage::Error {
                code: m.get_u32("err").map_err(&f)?,
                fatal: m.has("fatal"),
                text: opt(m, "errmsg", |m, k| m.get_str(k).map(|s| s.into_owned())).map_err(&f)?.unwrap_or_default(),
            });
        }
        if m.has("ka") {
            return Ok(ServerMessage::KeepAlive);
        }
        Ok(ServerMessage::Unknown(m.clone()))
    }

    /// Encodes in the field order of the capture (SPEC §6, §7.1, §11.1, §16.1).
    pub fn encode(&self) -> Result<Message, EncodeError> {
        let b = MessageBuilder::new();
        match self {
            ServerMessage::Challenge { nonce } => b.int("lc", 1).base64("nc", nonce).int("id", 1).finish(),
            ServerMessage::LoginOk { sesskey, proof, userid, profileid, uniquenick } => b
                .int("lc", 2)
                .int("sesskey", u64::from(*sesskey))
                .str("proof", proof)
                .int("userid", u64::from(*userid))
                .int("profileid", u64::from(*profileid))
                .str("uniquenick", uniquenick)
                .int("id", 1)
                .finish(),
            ServerMessage::Error { code, fatal, text } => {
                b.flag("error").int("err", u64::from(*code)).flag_if("fatal", *fatal).str("errmsg", text).finish()
            }
            ServerMessage::Persist(p) => b
                .flag("persistr")
                .int("cmd", u64::from(p.cmd.0))
                .int("dsn", u64::from(p.dsn))
                .int("uid", u64::from(p.uid))
                .int("lid", u64::from(p.lid))
                .int("rid", u64::from(p.rid))
                .raw("body", &p.body)
                .finish(),
            ServerMessage::Bm(bm) => {
                let mut b = b.int("bm", u64::from(bm.kind)).int("f", u64::from(bm.from));
                b = match &bm.payload {
                    BmPayload::Text(t) => b.str("msg", t),
                    BmPayload::Status(s) => b.list("msg", &s.encode()),
                };
                if let Some(d) = bm.date {
                    b = b.int("date", d);
                }
                if let Some(cv) = bm.cv {
                    b = b.int("cv", u64::from(cv));
                }
                if let Some(aid) = bm.aid {
                    b = b.int("aid", u64::from(aid));
                }
                b.finish()
            }
            ServerMessage::KeepAlive => b.flag("ka").finish(),
            ServerMessage::Unknown(m) => Ok(m.clone()),
        }
    }
}

/// Reads an optional field: absent → `None`, present → the getter's result.
fn opt<T>(
    m: &Message,
    key: &str,
    get: impl Fn(&Message, &str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    if m.has(key) {
        get(m, key).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
