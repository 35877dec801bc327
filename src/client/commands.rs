//! The host's operations on the machine: IMs, typing, zaps, status, own profile, buddy-list
//! changes (SPEC §18 wire sequences), lookups, username, groups, import. Each validates its
//! arguments and the phase, resolves a name to a uid when needed (SPEC §11.1), and queues the
//! wire messages.

use std::time::Instant;

use crate::protocol::buddy::{bm, media_payload, STOP_TYPING, TYPING};
use crate::protocol::kinds::{BlockOp, BmToServer, ClientMessage, Target};
use crate::protocol::markup;
use crate::protocol::persist::{cmd, DataItem};
use crate::protocol::zap::Zap;
use crate::protocol::DictBuilder;

use super::error::{Error, Result};
use super::events::{Event, MessageId, OwnStatus, RequestId};
use super::incoming::DEFAULT_GROUP;
use super::machine::{Deferred, Machine, Phase};
use super::names::{is_numeric, Who};
use super::reconnect::QueuedIm;
use super::requests::Purpose;
use super::transmit::PendingIm;

/// Cap on operations waiting for one name's lookup; a host that fires thousands of IMs at an
/// unresolved name gets `QueueFull` rather than unbounded memory. Same size as the outbox.
pub const MAX_WAITING_PER_NAME: usize = super::reconnect::MAX_OUTBOX;

/// Longest username the service accepts (SPEC §20).
pub const MAX_USERNAME_LEN: usize = 25;

/// Longest value of one own-profile field, in bytes of UTF-8 before escaping. Neither SPEC nor
/// the old service documents a limit (SPEC §20 has none); msim-server cuts longer profile text at
/// this length without telling anyone (its `MAX_PROFILE_TEXT`, there is no setinfo reply), so
/// msim refuses it up front instead.
pub const MAX_PROFILE_TEXT: usize = 1024;

/// Own profile fields for [`Machine::set_profile`] (SPEC §9.2). `None` leaves a field as it is;
/// `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// `DisplayName`.
    pub display_name: Option<String>,
    /// `Headline`, which is also the status text others see (SPEC §12).
    pub headline: Option<String>,
    /// `BandName` ("now playing", SPEC §9.3).
    pub band: Option<String>,
    /// `SongName` ("now playing").
    pub song: Option<String>,
    /// `ImageURL`, the profile picture.
    pub image_url: Option<String>,
}

impl ProfileUpdate {
    /// The setinfo keys and values given, in the order they go on the wire.
    fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("DisplayName", &self.display_name),
            ("Headline", &self.headline),
            ("BandName", &self.band),
            ("SongName", &self.song),
            ("ImageURL", &self.image_url),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// Lengths, the unescapable 0x1C (SPEC §4.5), and a headline of exactly `final`, which
    /// [`Machine::set_status`] refuses too: the headline becomes the status text (SPEC §2.2, §12).
    fn validate(&self) -> Result<()> {
        for (key, value) in self.fields() {
            if value.len() > MAX_PROFILE_TEXT {
                return Err(Error::InvalidArgument(format!(
                    "{key} is {} bytes long; at most {MAX_PROFILE_TEXT} are accepted",
                    value.len()
                )));
            }
            check_stored_text(key, value)?;
        }
        if self.headline.as_deref() == Some("final") {
            return Err(Error::InvalidArgument("a headline cannot be exactly `final` (SPEC §2.2)".into()));
        }
        Ok(())
    }
}

/// Refuses text a server stores and sends back inside dictionaries (status text, profile fields,
/// group names, nicknames): C0 control characters and DEL, except tab, LF and CR. 0x1C separates
/// dictionary pairs (SPEC §4.5): one stored headline with it used to break the contact list of
/// everyone listing its author (issue "Hostile peers, round two" item 1); msim-server refuses the
/// same characters, so the client says so up front instead of the write failing unseen.
pub(crate) fn check_stored_text(what: &str, value: &str) -> Result<()> {
    match value.chars().find(|&c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}') {
        Some(c) => Err(Error::InvalidArgument(format!(
            "{what} contains the control character U+{:04X}, which cannot be stored",
            c as u32
        ))),
        None => Ok(()),
    }
}

fn parse_who(who: &str) -> Result<Who> {
    Who::parse(who).ok_or_else(|| Error::InvalidArgument(format!("`{who}` is not a user id, username or e-mail")))
}

/// SPEC §20: ≤ 25 characters of `[A-Za-z0-9_]`, not all digits.
pub fn validate_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_USERNAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !is_numeric(name);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "`{name}` is not a valid username (1–25 letters, digits or _, not all digits)"
        )))
    }
}

impl Machine {
    pub(crate) fn require_signed_on(&self) -> Result<()> {
        match self.phase {
            Phase::SignedOn => Ok(()),
            Phase::Idle => Err(Error::NotConnected),
            _ => Err(Error::NotSignedOn),
        }
    }

    /// Runs `op` on `who`, now if the uid is known, else after a lookup.
    pub(crate) fn with_target(&mut self, who: &str, op: Deferred, now: Instant) -> Result<()> {
        let who = parse_who(who)?;
        if let Some(uid) = self.names.resolve(&who) {
            self.run_deferred(uid, op, now);
            return Ok(());
        }
        let key = who.key();
        if let Some(waiting) = self.resolving.get_mut(&key) {
            if waiting.len() >= MAX_WAITING_PER_NAME {
                return Err(Error::QueueFull);
            }
            waiting.push(op);
            return Ok(());
        }
        let body = match &who {
            Who::Email(e) => DictBuilder::new().str("Email", e),
            Who::Username(n) => DictBuilder::new().str("UserName", n),
            Who::Uid(_) => unreachable!("uids resolve without a lookup"),
        };
        self.persist(
            cmd::GET,
            DataItem::MySpaceInfoByString,
            true,
            body,
            Some(Purpose::Resolve { key: key.clone() }),
            now,
        )?;
        self.resolving.insert(key, vec![op]);
        Ok(())
    }

    /// Sends what an operation turned into once its target uid is known.
    pub(crate) fn run_deferred(&mut self, uid: u32, op: Deferred, now: Instant) {
        let sesskey = self.sesskey;
        let cv = Some(self.cfg.client_version);
        let bm_msg = |kind: u32, msg: String| ClientMessage::Bm(BmToServer { kind, sesskey, target: uid, cv, msg });
        let result = match op {
            Deferred::Im { id, markup } => {
                // Every IM id gets exactly one ImSent (once its bytes reach the socket) or
                // ImFailed, whether it went out at once, after a lookup or after a reconnect: a
                // host can rely on it without knowing which.
                let pending = PendingIm { id, who: uid.to_string(), markup: markup.clone() };
                if let Err(e) = self.send_tagged(bm_msg(bm::IM, markup), Some(pending)) {
                    self.emit(Event::ImFailed { id, error: e });
                }
                Ok(())
            }
            Deferred::Typing(on) => self.send(bm_msg(bm::INSTANT, if on { TYPING } else { STOP_TYPING }.to_owned())),
            Deferred::Zap(z) => self.send(bm_msg(bm::INSTANT, z.payload())),
            Deferred::Add { group } => self.add_sequence(uid, group, now),
            Deferred::Remove => self.remove_sequence(uid, now),
            Deferred::Block => self.block_sequence(uid, true, now),
            Deferred::Unblock => self.block_sequence(uid, false, now),
            Deferred::ContactInfo { group, nickname } => {
                let body = contact_body(uid, &group, &nickname);
                self.persist(
                    cmd::ACTION_PUT,
                    DataItem::WriteContact,
                    true,
                    body,
                    Some(Purpose::ContactInfo { uid }),
                    now,
                )
                .map(|_| ())
            }
            Deferred::Permit(on) => {
                let t = Target::Uid(uid);
                let op = if on { BlockOp::Allow(t) } else { BlockOp::Unallow(t) };
                self.send(ClientMessage::BlockList { sesskey, ops: vec![op] })
            }
            Deferred::WindowOpened => {
                let reqid = self.next_media_reqid;
                self.next_media_reqid += 1;
                self.send(bm_msg(bm::MEDIA, media_payload(reqid)))
            }
            Deferred::ClientVersion(text) => self.send(bm_msg(bm::UNOFFICIAL_CLIENT, text)),
        };
        if let Err(error) = result {
            self.emit(Event::Error { error });
        }
    }

    /// SPEC §18.1 (Pidgin's order).
    fn add_sequence(&mut self, uid: u32, group: String, now: Instant) -> Result<()> {
        self.send(ClientMessage::AddBuddy { sesskey: self.sesskey, uid, reason: String::new() })?;
        let body = contact_body(uid, &group, "");
        self.persist(cmd::ACTION_PUT, DataItem::WriteContact, true, body, Some(Purpose::AddBuddy { uid, group }), now)?;
        let t = Target::Uid(uid);
        self.send(ClientMessage::BlockList { sesskey: self.sesskey, ops: vec![BlockOp::Allow(t), BlockOp::Unblock(t)] })
    }

    /// SPEC §18.2.
    fn remove_sequence(&mut self, uid: u32, now: Instant) -> Result<()> {
        self.send(ClientMessage::DelBuddy { sesskey: self.sesskey, uid })?;
        let body = DictBuilder::new().int("ContactID", u64::from(uid));
        self.persist(cmd::ACTION_DELETE, DataItem::DeleteContact, true, body, Some(Purpose::RemoveBuddy { uid }), now)?;
        let t = Target::Uid(uid);
        self.send(ClientMessage::BlockList {
            sesskey: self.sesskey,
            ops: vec![BlockOp::Unallow(t), BlockOp::Unblock(t)],
        })
    }

    /// SPEC §18.3: block = delbuddy, blocklist b+, 0/9 Visibility=2; unblock = 0/8, blocklist b-.
    fn block_sequence(&mut self, uid: u32, block: bool, now: Instant) -> Result<()> {
        let t = Target::Uid(uid);
        let purpose = Some(Purpose::Block { uid, blocked: block });
        if block {
            self.send(ClientMessage::DelBuddy { sesskey: self.sesskey, uid })?;
            self.send(ClientMessage::BlockList {
                sesskey: self.sesskey,
                ops: vec![BlockOp::Unallow(t), BlockOp::Block(t)],
            })?;
            let body = DictBuilder::new().int("ContactID", u64::from(uid)).int("Visibility", 2);
            self.persist(cmd::ACTION_PUT, DataItem::WriteContact, false, body, purpose, now)?;
        } else {
            let body = DictBuilder::new().int("ContactID", u64::from(uid));
            self.persist(cmd::ACTION_DELETE, DataItem::DeleteContact, false, body, purpose, now)?;
            self.send(ClientMessage::BlockList {
                sesskey: self.sesskey,
                ops: vec![BlockOp::Unallow(t), BlockOp::Unblock(t)],
            })?;
        }
        Ok(())
    }

    /// Sends an IM (HTML in, MSIM markup on the wire, SPEC §15.4). Returns its id. While the
    /// session is (re)connecting the IM is queued and reported later with `ImSent` or `ImFailed`.
    pub fn send_im(&mut self, who: &str, html: &str, now: Instant) -> Result<MessageId> {
        parse_who(who)?;
        if self.phase == Phase::Idle {
            return Err(Error::NotConnected);
        }
        self.check_room()?;
        let markup = markup::html_to_markup(html);
        let id = self.next_message_id();
        if self.phase != Phase::SignedOn {
            if !self.outbox.push(QueuedIm { id, who: who.to_owned(), markup }) {
                return Err(Error::QueueFull);
            }
            return Ok(id);
        }
        self.with_target(who, Deferred::Im { id, markup }, now)?;
        Ok(id)
    }

    /// `%typing%` / `%stoptyping%` (SPEC §11.3).
    pub fn send_typing(&mut self, who: &str, typing: bool, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::Typing(typing), now)
    }

    /// A zap (SPEC §11.4).
    pub fn send_zap(&mut self, who: &str, zap: Zap, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::Zap(zap), now)
    }

    /// Own presence and status message (plain text; SPEC §12). Before sign-on it is remembered and
    /// sent at sign-on.
    pub fn set_status(&mut self, status: OwnStatus, text: &str) -> Result<()> {
        if text == "final" {
            return Err(Error::InvalidArgument("a status message cannot be exactly `final` (SPEC §2.2)".into()));
        }
        check_stored_text("the status message", text)?;
        self.status = status;
        self.status_text = text.to_owned();
        if self.phase == Phase::SignedOn || self.phase == Phase::SigningOn {
            self.send_status()?;
        }
        Ok(())
    }

    /// Sets own profile fields in one `\setinfo\\sesskey\K\info\<dict>\final\` (SPEC §5, §9.2):
    /// the fields given, in the order `DisplayName Headline BandName SongName ImageURL`, values
    /// escaped (SPEC §3). There is no reply on the wire. Others see the values in lookups, except
    /// the headline (4/3 and 5/7 replies have none, SPEC §7.5), which reaches those who list you
    /// as presence (msim-server announces it) and is in their contact list. Nothing given:
    /// nothing is sent.
    ///
    /// A headline is also the status text (SPEC §12, the server stores one for both): it replaces
    /// the text of the last [`Machine::set_status`], so that the status sent again at a reconnect
    /// does not put the old headline back.
    pub fn set_profile(&mut self, profile: &ProfileUpdate) -> Result<()> {
        profile.validate()?;
        self.require_signed_on()?;
        let body = profile.fields().fold(DictBuilder::new(), |b, (key, value)| b.str(key, value));
        let info = body.as_bytes().map_err(|e| Error::InvalidArgument(e.to_string()))?.to_vec();
        if info.is_empty() {
            return Ok(());
        }
        self.send(ClientMessage::SetInfo { sesskey: self.sesskey, info })?;
        if let Some(headline) = &profile.headline {
            self.status_text.clone_from(headline);
        }
        Ok(())
    }

    pub fn add_buddy(&mut self, who: &str, group: Option<&str>, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        let group = group.filter(|g| !g.is_empty()).unwrap_or(DEFAULT_GROUP).to_owned();
        check_stored_text("the group name", &group)?;
        self.with_target(who, Deferred::Add { group }, now)
    }

    pub fn remove_buddy(&mut self, who: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::Remove, now)
    }

    pub fn block(&mut self, who: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::Block, now)
    }

    pub fn unblock(&mut self, who: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::Unblock, now)
    }

    /// Writes a contact's group and nickname (0/9, SPEC §18.5).
    pub fn set_contact_info(&mut self, who: &str, group: Option<&str>, nickname: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        let group = group.filter(|g| !g.is_empty()).unwrap_or(DEFAULT_GROUP).to_owned();
        check_stored_text("the group name", &group)?;
        check_stored_text("the nickname", nickname)?;
        self.with_target(who, Deferred::ContactInfo { group, nickname: nickname.to_owned() }, now)
    }

    /// Looks a user up by id (4/3), username or e-mail (5/7) (SPEC §9.1); answered by
    /// `LookupResult` with the returned request id.
    pub fn lookup_user(&mut self, who: &str, now: Instant) -> Result<RequestId> {
        if !self.phase.logged_in() {
            return Err(if self.phase == Phase::Idle { Error::NotConnected } else { Error::NotSignedOn });
        }
        let (item, body) = match parse_who(who)? {
            Who::Uid(u) => (DataItem::MySpaceInfoById, DictBuilder::new().int("UserID", u64::from(u))),
            Who::Email(e) => (DataItem::MySpaceInfoByString, DictBuilder::new().str("Email", &e)),
            Who::Username(n) => (DataItem::MySpaceInfoByString, DictBuilder::new().str("UserName", &n)),
        };
        self.persist(cmd::GET, item, true, body, Some(Purpose::Lookup), now)
    }

    fn require_logged_in(&self) -> Result<()> {
        match self.phase {
            p if p.logged_in() => Ok(()),
            Phase::Idle => Err(Error::NotConnected),
            _ => Err(Error::NotSignedOn),
        }
    }

    /// Is a username free? (5/7 lookup, SPEC §6.7.) Answered by `UsernameResult`.
    pub fn check_username(&mut self, name: &str, now: Instant) -> Result<RequestId> {
        self.require_logged_in()?;
        validate_username(name)?;
        let body = DictBuilder::new().str("UserName", name);
        self.persist(
            cmd::GET,
            DataItem::MySpaceInfoByString,
            true,
            body,
            Some(Purpose::UsernameCheck { name: name.to_owned() }),
            now,
        )
    }

    /// Sets the account's username (9/14 PUT, SPEC §6.7), allowed once for an account without
    /// one. `UsernameResult` Set continues the sign-on; Failed leaves the choice open.
    pub fn set_username(&mut self, name: &str, now: Instant) -> Result<RequestId> {
        self.require_logged_in()?;
        if self.username.is_some() {
            return Err(Error::WrongState("the account already has a username"));
        }
        validate_username(name)?;
        let body = DictBuilder::new().str("UserName", name);
        self.persist(
            cmd::PUT,
            DataItem::SetUsername,
            true,
            body,
            Some(Purpose::SetUsername { name: name.to_owned() }),
            now,
        )
    }

    /// Lists the contact groups (2/6, SPEC §10.2); answered by `Groups`.
    pub fn request_groups(&mut self, now: Instant) -> Result<RequestId> {
        self.require_signed_on()?;
        self.persist(cmd::GET, DataItem::ListAllGroups, true, DictBuilder::new(), Some(Purpose::Groups), now)
    }

    /// Imports myspace.com friends (14/21, SPEC §18.6); answered by `ImportResult` after the
    /// refreshed `ContactList`.
    pub fn import_friends(&mut self, now: Instant) -> Result<RequestId> {
        self.require_signed_on()?;
        let body = DictBuilder::new().str("GroupName", "MySpace Friends");
        self.persist(cmd::PUT, DataItem::ImportAllFriends, true, body, Some(Purpose::Import), now)
    }

    /// Sets ShowOnlyToList (`w0`/`w1`) and PrivacyMode bit 0 (`c0`/`c1`) in one `\blocklist\`
    /// (SPEC §9.4, §18.4). There is no reply on the wire; the server reports the stored values in
    /// the own-IM-info reply at the next sign-on ([`Event::PrivacySettings`]).
    pub fn set_privacy(&mut self, show_only_to_list: bool, privacy_mode: bool) -> Result<()> {
        self.require_signed_on()?;
        let ops = vec![BlockOp::ShowOnlyToList(show_only_to_list), BlockOp::PrivacyMode(privacy_mode)];
        self.send(ClientMessage::BlockList { sesskey: self.sesskey, ops })
    }

    /// Puts `who` on the allow (permit) list: `a+|uid` (SPEC §18.4). No reply on the wire; an
    /// unknown name gives an `Error` event. (`add_buddy` does this too, SPEC §18.1.)
    pub fn permit(&mut self, who: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::Permit(true), now)
    }

    /// Takes `who` off the allow list: `a-|uid` (SPEC §18.4).
    pub fn unpermit(&mut self, who: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::Permit(false), now)
    }

    /// Creates a contact group or updates the position/flag of the group of that name: 2/16 PUT
    /// `GroupName Position GroupFlag` (SPEC §10.2), answered by `GroupSaved`. `None` leaves a key
    /// out (the official client always sends all three; msim-server then appends the group and
    /// uses flag 131073). Renaming and deleting a group by its id: `rename_group`,
    /// `remove_group` (`groups.rs`).
    pub fn save_group(
        &mut self,
        name: &str,
        position: Option<u32>,
        flags: Option<u32>,
        now: Instant,
    ) -> Result<RequestId> {
        self.require_signed_on()?;
        if name.is_empty() {
            return Err(Error::InvalidArgument("a group needs a name".into()));
        }
        check_stored_text("the group name", name)?;
        let mut body = DictBuilder::new().str("GroupName", name);
        if let Some(p) = position {
            body = body.int("Position", u64::from(p));
        }
        if let Some(f) = flags {
            body = body.int("GroupFlag", u64::from(f));
        }
        let purpose = Some(Purpose::SaveGroup { id: 0, name: name.to_owned() });
        self.persist(cmd::PUT, DataItem::WriteGroup, true, body, purpose, now)
    }

    /// Asks for a web challenge: `\webchlg\\sesskey\K\n\0\final\` (SPEC §14). The server
    /// answers with an unsolicited 17/26 reply, reported as [`Event::WebChallenge`]. How the
    /// official client computed its answer from the pairs is unknown.
    pub fn request_web_challenge(&mut self) -> Result<()> {
        self.require_signed_on()?;
        self.send(ClientMessage::WebChallenge { sesskey: self.sesskey, n: 0 })
    }

    /// bm 122 `cmdtype=1&reqid=<n>&contenttype=1&`, which the official client sends when an IM
    /// window opens (SPEC §4.7, §11.2, §21.13); the peer's msim reports it as typing on/off.
    pub fn send_window_opened(&mut self, who: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.with_target(who, Deferred::WindowOpened, now)
    }

    /// bm 200 with a free-text client description (SPEC §11.6); exactly `final` is refused
    /// (SPEC §2.2). See [`default_client_description`].
    pub fn send_client_version(&mut self, who: &str, text: &str, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        if text == "final" {
            return Err(Error::InvalidArgument("a client description cannot be exactly `final` (SPEC §2.2)".into()));
        }
        self.with_target(who, Deferred::ClientVersion(text.to_owned()), now)
    }

    /// Checks for new mail now (SPEC §13); new items give `MailAlert`.
    pub fn check_mail(&mut self, now: Instant) -> Result<()> {
        self.require_signed_on()?;
        self.persist(cmd::GET, DataItem::CheckMail, true, DictBuilder::new(), Some(Purpose::MailCheck), now).map(|_| ())
    }
}

/// msim's bm 200 text: `msim <version>` (Pidgin sends `Libpurple … - msimprpl 0.18`, SPEC §11.6).
pub fn default_client_description() -> String {
    format!("msim {}", env!("CARGO_PKG_VERSION"))
}

/// The 0/9 contact write body (SPEC §18.5).
fn contact_body(uid: u32, group: &str, nickname: &str) -> DictBuilder {
    DictBuilder::new()
        .int("ContactID", u64::from(uid))
        .str("GroupName", group)
        .int("Position", 1000)
        .int("Visibility", 1)
        .str("NickName", nickname)
        .int("NameSelect", 0)
}
