//! Persist requests and replies (SPEC §7): the `cmd` bit field and the (dsn, lid) catalogue.

use super::dict::{Dict, DictBuilder, DictError};

/// `cmd & 0xFF` codes and flag bits (SPEC §7.2).
pub mod cmd {
    pub const GET: u32 = 1;
    pub const PUT: u32 = 2;
    pub const DELETE: u32 = 3;
    pub const REPLY: u32 = 0x100;
    pub const ACTION: u32 = 0x200;
    pub const ERROR: u32 = 0x400;
    /// Reply to a GET (257).
    pub const GET_REPLY: u32 = REPLY | GET;
    /// Reply to a PUT (258).
    pub const PUT_REPLY: u32 = REPLY | PUT;
    /// Action PUT (514): write contact info, block.
    pub const ACTION_PUT: u32 = ACTION | PUT;
    /// Action DELETE (515): delete contact.
    pub const ACTION_DELETE: u32 = ACTION | DELETE;
}

/// A `cmd` value with its bits named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cmd(pub u32);

impl Cmd {
    pub fn code(self) -> u32 {
        self.0 & 0xFF
    }
    pub fn is_reply(self) -> bool {
        self.0 & cmd::REPLY != 0
    }
    pub fn is_action(self) -> bool {
        self.0 & cmd::ACTION != 0
    }
    /// Error replies carry 1024 and (as seen in the capture) not the reply bit (SPEC §7.2, §16.3).
    pub fn is_error(self) -> bool {
        self.0 & cmd::ERROR != 0
    }
    /// The reply to this request: the reply bit set, action bit dropped, code kept.
    pub fn reply(self) -> Cmd {
        Cmd(cmd::REPLY | self.code())
    }
    /// The error reply to this request: error bit + code, reply bit clear (SPEC §16.3).
    pub fn error_reply(self) -> Cmd {
        Cmd(cmd::ERROR | self.code())
    }
}

/// The data items of SPEC §7.5, by (dsn, lid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataItem {
    ListAllContacts,
    ContactInfo,
    DeleteContact,
    WriteContact,
    OwnImInfo,
    UserPreferences,
    ImInfoById,
    ListAllGroups,
    WriteGroup,
    MySpaceInfoById,
    OwnMySpaceInfo,
    MySpaceInfoByString,
    CheckMail,
    SetUsername,
    ImportAllFriends,
    Invite,
    WebChallenge,
    UserSong,
    ServerInfo,
    Other { dsn: u32, lid: u32 },
}

const TABLE: &[(DataItem, u32, u32)] = &[
    (DataItem::ListAllContacts, 0, 1),
    (DataItem::ContactInfo, 0, 2),
    (DataItem::DeleteContact, 0, 8),
    (DataItem::WriteContact, 0, 9),
    (DataItem::OwnImInfo, 1, 4),
    (DataItem::UserPreferences, 1, 10),
    (DataItem::ImInfoById, 1, 17),
    (DataItem::ListAllGroups, 2, 6),
    (DataItem::WriteGroup, 2, 16),
    (DataItem::MySpaceInfoById, 4, 3),
    (DataItem::OwnMySpaceInfo, 4, 5),
    (DataItem::MySpaceInfoByString, 5, 7),
    (DataItem::CheckMail, 7, 18),
    (DataItem::SetUsername, 9, 14),
    (DataItem::ImportAllFriends, 14, 21),
    (DataItem::Invite, 16, 25),
    (DataItem::WebChallenge, 17, 26),
    (DataItem::UserSong, 21, 28),
    (DataItem::ServerInfo, 101, 20),
];

impl DataItem {
    pub fn from_dsn_lid(dsn: u32, lid: u32) -> DataItem {
        TABLE.iter().find(|(_, d, l)| *d == dsn && *l == lid).map_or(DataItem::Other { dsn, lid }, |(item, _, _)| *item)
    }

    pub fn dsn_lid(self) -> (u32, u32) {
        match self {
            DataItem::Other { dsn, lid } => (dsn, lid),
            known => TABLE.iter().find(|(i, _, _)| *i == known).map(|(_, d, l)| (*d, *l)).expect("in TABLE"),
        }
    }
}

/// A client's persist request (SPEC §7.1). The body is kept as raw (escaped) dictionary bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistRequest {
    pub sesskey: u32,
    pub cmd: Cmd,
    pub dsn: u32,
    pub lid: u32,
    /// Absent in some of Pidgin's requests (SPEC §7.1).
    pub uid: Option<u32>,
    pub rid: u32,
    pub body: Vec<u8>,
}

impl PersistRequest {
    pub fn new(
        sesskey: u32,
        cmd: u32,
        item: DataItem,
        uid: Option<u32>,
        rid: u32,
        body: &DictBuilder,
    ) -> Result<Self, DictError> {
        let (dsn, lid) = item.dsn_lid();
        Ok(PersistRequest { sesskey, cmd: Cmd(cmd), dsn, lid, uid, rid, body: body.as_bytes()?.to_vec() })
    }

    pub fn item(&self) -> DataItem {
        DataItem::from_dsn_lid(self.dsn, self.lid)
    }

    pub fn body(&self) -> Result<Dict<'_>, DictError> {
        Dict::parse(&self.body)
    }
}

/// A server's persist reply, solicited (echoing dsn/uid/lid/rid) or unsolicited (server info,
/// web challenge) (SPEC §7.1, §8, §14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistReply {
    pub cmd: Cmd,
    pub dsn: u32,
    pub uid: u32,
    pub lid: u32,
    pub rid: u32,
    pub body: Vec<u8>,
}

impl PersistReply {
    /// The normal reply to `req` with `body`.
    pub fn to(req: &PersistRequest, uid: u32, body: &DictBuilder) -> Result<Self, DictError> {
        Ok(PersistReply {
            cmd: req.cmd.reply(),
            dsn: req.dsn,
            uid,
            lid: req.lid,
            rid: req.rid,
            body: body.as_bytes()?.to_vec(),
        })
    }

    /// The error reply to `req` (cmd with bit 1024, body `ErrorMessage=`; SPEC §16.3).
    pub fn error_to(req: &PersistRequest, uid: u32, message: &str) -> Self {
        let body = DictBuilder::new().str("ErrorMessage", message);
        PersistReply {
            cmd: req.cmd.error_reply(),
            dsn: req.dsn,
            uid,
            lid: req.lid,
            rid: req.rid,
            body: body.as_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
        }
    }

    pub fn item(&self) -> DataItem {
        DataItem::from_dsn_lid(self.dsn, self.lid)
    }

    pub fn body(&self) -> Result<Dict<'_>, DictError> {
        Dict::parse(&self.body)
    }

    /// The `ErrorMessage` of an error reply, if any.
    pub fn error_message(&self) -> Option<String> {
        if !self.cmd.is_error() {
            return None;
        }
        let d = self.body().ok()?;
        Some(d.opt_str("ErrorMessage").ok().flatten().map(|s| s.into_owned()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmd_bits_of_observed_values() {
        let cases = [
            (1, 1, false, false, false),
            (257, 1, true, false, false),
            (258, 2, true, false, false),
            (514, 2, false, true, false),
            (515, 3, false, true, false),
            (1025, 1, false, false, true),
        ];
        for (v, code, reply, action, error) in cases {
            let c = Cmd(v);
            assert_eq!((c.code(), c.is_reply(), c.is_action(), c.is_error()), (code, reply, action, error), "{v}");
        }
        assert_eq!(Cmd(1).reply(), Cmd(257));
        assert_eq!(Cmd(514).reply(), Cmd(258));
        assert_eq!(Cmd(1).error_reply(), Cmd(1025));
    }

    #[test]
    fn catalogue_round_trips() {
        for (item, d, l) in TABLE {
            assert_eq!(DataItem::from_dsn_lid(*d, *l), *item);
            assert_eq!(item.dsn_lid(), (*d, *l));
        }
        assert_eq!(DataItem::from_dsn_lid(3, 3), DataItem::Other { dsn: 3, lid: 3 });
    }
}
