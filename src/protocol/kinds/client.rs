//! Client → server messages (SPEC §5–§18): decode and encode.

use crate::protocol::list::{List, ListBuilder};
use crate::protocol::message::{EncodeError, Message, MessageBuilder};
use crate::protocol::persist::{Cmd, PersistRequest};

use super::{field, opt, DecodeError};

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
                    crate::protocol::message::parse_u64(id)
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| bad(id))?,
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
