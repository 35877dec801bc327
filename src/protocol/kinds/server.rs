//! Server → client messages (SPEC §5–§18): decode and encode.

use crate::protocol::buddy::BmPayload;
use crate::protocol::login::{decode_nonce, NONCE_LEN};
use crate::protocol::message::{EncodeError, Message, MessageBuilder};
use crate::protocol::persist::{Cmd, PersistReply};
use crate::protocol::status::StatusList;

use super::{field, opt, DecodeError};

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

/// `sesskey` of `lc=2`: an unsigned decimal, or the negative decimal of a server that prints the
/// key as a signed 32-bit number, read as the same 32 bits (SPEC §6.5: `-1739438191` is
/// 2555529105).
fn login_sesskey(m: &Message) -> Result<u32, crate::protocol::FieldError> {
    let v = m.get_i64("sesskey")?;
    let bad = || crate::protocol::FieldError::BadInteger("sesskey".into());
    if v < 0 {
        i32::try_from(v).map(|k| k as u32).map_err(|_| bad())
    } else {
        u32::try_from(v).map_err(|_| bad())
    }
}

/// Whether a `persistr` says more pieces of its reply follow: `mtf` present and non-zero
/// (SPEC §25 "Persist replies in pieces"; absent or 0 = the last or only piece). Read from the
/// message beside [`PersistReply`], which holds one message's fields. Strict: `mtf` that is not
/// an integer is an error (SPEC §24), since guessing either way would corrupt the reply.
pub fn persist_more_to_follow(m: &Message) -> Result<bool, DecodeError> {
    opt(m, "mtf", |m, k| m.get_u64(k)).map(|v| v.unwrap_or(0) != 0).map_err(field("persistr"))
}

/// The group-chat id of a bm: `gid`, present and non-zero only in group chat (SPEC §25). Read
/// from the message beside [`BmFromServer`] (which carries `aid`). Strict, like every integer
/// (SPEC §24).
pub fn bm_group_id(m: &Message) -> Result<Option<u32>, DecodeError> {
    opt(m, "gid", |m, k| m.get_u32(k)).map_err(field("bm"))
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
                        sesskey: login_sesskey(m).map_err(&f)?,
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
            let payload = if kind == crate::protocol::buddy::bm::STATUS {
                BmPayload::Status(StatusList::parse(raw).map_err(&f)?)
            } else {
                BmPayload::Text(crate::protocol::message::decode_str("msg", raw).map_err(&f)?.into_owned())
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
