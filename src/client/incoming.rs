//! What the machine does with server messages after login: persist replies routed by `rid`
//! (SPEC §7.4, with the error bit checked, §24), buddy messages (SPEC §11) and unsolicited
//! server info (SPEC §8).

use std::time::Instant;

use crate::protocol::buddy::{classify, BmContent, BmPayload, GroupChat, STOP_TYPING, TYPING};
use crate::protocol::kinds::{bm_group_id, BlockOp, BmFromServer, ClientMessage, ServerMessage};
use crate::protocol::markup;
use crate::protocol::persist::{DataItem, PersistReply};
use crate::protocol::{Dict, DictBuilder, Message};

use super::error::Error;
use super::events::{
    mail, Contact, Event, Group, GroupChatKind, NoticeKind, Privacy, RequestId, UsernameOutcome, WebChallenge,
};
use super::machine::{Deferred, Machine, Phase};
use super::names::user_info;
use super::requests::Purpose;
use super::trace;

/// Group of contacts whose `GroupName` is empty (SPEC §10.1).
pub const DEFAULT_GROUP: &str = "IM Friends";

impl Machine {
    /// A whole persist reply; `raw` is its message, `None` when it came in pieces (SPEC §25).
    pub(crate) fn on_persist(&mut self, reply: PersistReply, raw: Option<&Message>, now: Instant) {
        let Some(purpose) = self.requests.take(reply.rid) else {
            match reply.item() {
                DataItem::ServerInfo => self.on_server_info(&reply),
                // SPEC §14: the answer to `\webchlg\` carries a server-chosen rid.
                DataItem::WebChallenge if !reply.cmd.is_error() => self.on_web_challenge(&reply),
                _ => {
                    let text = match raw {
                        Some(m) => trace::redact(m),
                        None => ServerMessage::Persist(reply).encode().map(|m| trace::redact(&m)).unwrap_or_default(),
                    };
                    self.emit(Event::Unhandled { text })
                }
            }
            return;
        };
        if reply.cmd.is_error() {
            let text = reply.error_message().unwrap_or_default();
            let text = if text.is_empty() { format!("{} failed", purpose.describe()) } else { text };
            return self.fail_request(reply.rid, purpose, Error::Server { code: reply.cmd.0, text }, false, now);
        }
        let body = match reply.body() {
            Ok(b) => b,
            Err(e) => {
                return self.fail_request(
                    reply.rid,
                    purpose,
                    Error::Protocol(format!("bad reply body: {e}")),
                    false,
                    now,
                )
            }
        };
        match purpose {
            Purpose::OwnInfo | Purpose::Info { .. } => {
                if let Some(info) = user_info(&body) {
                    if let Some(n) = &info.username {
                        self.names.remember(info.uid, n);
                    }
                    self.emit(Event::UserInfo(info));
                }
                if let Purpose::Info { uid } = purpose {
                    self.info_pending.remove(&uid);
                    // After UserInfo: the host knows the sender before its held messages arrive.
                    self.sender_looked_up(uid);
                }
            }
            Purpose::ImInfo => self.on_im_info(&body),
            Purpose::ContactList { import } => self.on_contact_list(&body, import, now),
            Purpose::MailCheck => {
                // SPEC §13: key presence = new items; edge-triggered, never cleared.
                let bits = mail::KEYS.iter().filter(|(k, _)| body.has(k)).fold(0, |acc, (_, b)| acc | b);
                let new = bits & !self.mail_seen;
                self.mail_seen |= bits;
                if new != 0 {
                    self.emit(Event::MailAlert { new, all: self.mail_seen });
                }
            }
            Purpose::Groups => {
                let groups = body
                    .records("GroupID")
                    .iter()
                    .map(|r| Group {
                        id: r.get_u32("GroupID").unwrap_or(0),
                        name: r.opt_str("GroupName").ok().flatten().map(|s| s.into_owned()).unwrap_or_default(),
                        position: r.get_u32("Position").unwrap_or(0),
                        flags: r.get_u32("GroupFlag").unwrap_or(0),
                    })
                    .collect();
                self.emit(Event::Groups(groups));
            }
            Purpose::Lookup => {
                let info = user_info(&body);
                if let Some(i) = &info {
                    if let Some(n) = &i.username {
                        self.names.remember(i.uid, n);
                    }
                }
                self.emit(Event::LookupResult { request: reply.rid, result: Ok(info) });
                self.release_held();
            }
            Purpose::Resolve { key } => {
                let waiting = self.resolving.remove(&key).unwrap_or_default();
                match user_info(&body) {
                    Some(info) => {
                        if let Some(n) = &info.username {
                            self.names.remember(info.uid, n);
                        }
                        self.names.remember_key(key, info.uid);
                        self.release_held();
                        for op in waiting {
                            self.run_deferred(info.uid, op, now);
                        }
                    }
                    None => {
                        let err = Error::NoSuchUser(key.trim_start_matches('@').to_owned());
                        self.fail_waiting(&key, waiting, &err, false);
                    }
                }
            }
            Purpose::UsernameCheck { name } => {
                // SPEC §6.7: a reply with a UserID means taken; only the echoed name means free.
                let outcome =
                    if user_info(&body).is_some() { UsernameOutcome::Taken } else { UsernameOutcome::Available };
                self.emit(Event::UsernameResult { request: reply.rid, name, outcome, text: String::new() });
            }
            Purpose::SetUsername { name } => match body.get_u32("Code") {
                Ok(0) => {
                    self.username = Some(name.clone());
                    self.names.remember(self.uid, &name);
                    self.emit(Event::UsernameResult {
                        request: reply.rid,
                        name,
                        outcome: UsernameOutcome::Set,
                        text: String::new(),
                    });
                    if self.phase == Phase::ChoosingUsername {
                        self.post_login(now);
                    }
                }
                code => {
                    let text = match code {
                        Ok(c) => format!("the server refused the username (code {c})"),
                        Err(e) => format!("unexpected reply: {e}"),
                    };
                    self.emit(Event::UsernameResult {
                        request: reply.rid,
                        name,
                        outcome: UsernameOutcome::Failed,
                        text,
                    });
                }
            },
            Purpose::AddBuddy { uid, group } => {
                self.names.set_contact(uid, true);
                self.emit(Event::BuddyAdded { uid, username: self.names.username(uid), group });
            }
            Purpose::RemoveBuddy { uid } => {
                self.names.set_contact(uid, false);
                self.emit(Event::BuddyRemoved { uid, username: self.names.username(uid) });
            }
            Purpose::Block { uid, blocked } => {
                if blocked {
                    self.names.set_contact(uid, false);
                }
                self.emit(Event::BuddyBlocked { uid, username: self.names.username(uid), blocked });
            }
            Purpose::ContactInfo { .. } => {}
            Purpose::SaveGroup { id, name } => {
                // SPEC §10.2: the 258 reply echoes the body.
                let s = |k: &str| body.opt_str(k).ok().flatten().map(|v| v.into_owned());
                let group = Group {
                    id: body.get_u32("GroupID").unwrap_or(id),
                    name: s("GroupName").filter(|n| !n.is_empty()).unwrap_or(name),
                    position: body.get_u32("Position").unwrap_or(0),
                    flags: body.get_u32("GroupFlag").unwrap_or(0),
                };
                self.emit(Event::GroupSaved { request: reply.rid, result: Ok(group) });
            }
            Purpose::RemoveGroup { id } => self.emit(Event::GroupRemoved { request: reply.rid, id, result: Ok(()) }),
            Purpose::Import => {
                // SPEC §18.6: `Completed=True` → fetch the list again and report its size.
                if body.get_bool("Completed").unwrap_or(false) {
                    let r = self.persist(
                        1,
                        DataItem::ListAllContacts,
                        true,
                        DictBuilder::new(),
                        Some(Purpose::ContactList { import: true }),
                        now,
                    );
                    if let Err(e) = r {
                        self.emit(Event::ImportResult { result: Err(e) });
                    }
                } else {
                    self.emit(Event::ImportResult {
                        result: Err(Error::Server { code: 0, text: "importing friends failed".into() }),
                    });
                }
            }
        }
    }

    /// A request that will get no (good) reply: tell whoever asked.
    pub(crate) fn fail_request(&mut self, rid: RequestId, purpose: Purpose, err: Error, retrying: bool, now: Instant) {
        match purpose {
            Purpose::OwnInfo | Purpose::ImInfo | Purpose::MailCheck => {}
            Purpose::Info { uid } => {
                self.info_pending.remove(&uid);
                self.sender_looked_up(uid);
            }
            Purpose::ContactList { import: true } | Purpose::Import => {
                self.emit(Event::ImportResult { result: Err(err) })
            }
            // One warning per cause: the sign-on already went ahead with a warning for this list
            // (its own timeout is the same cause), or the connection ended (the end event says so).
            Purpose::ContactList { import: false }
                if (self.list_fallback_warned && matches!(err, Error::Timeout(_))) || !self.phase.has_connection() => {}
            Purpose::ContactList { import: false } => {
                self.emit(Event::Error { error: err });
                if self.phase == Phase::SigningOn {
                    // The sign-on does not hang on a list that will not come (SPEC §24).
                    self.sign_on(now);
                }
            }
            Purpose::Lookup => self.emit(Event::LookupResult { request: rid, result: Err(err) }),
            Purpose::Resolve { key } => {
                let waiting = self.resolving.remove(&key).unwrap_or_default();
                self.fail_waiting(&key, waiting, &err, retrying);
            }
            Purpose::UsernameCheck { name } | Purpose::SetUsername { name } => self.emit(Event::UsernameResult {
                request: rid,
                name,
                outcome: UsernameOutcome::Failed,
                text: err.to_string(),
            }),
            Purpose::SaveGroup { .. } => self.emit(Event::GroupSaved { request: rid, result: Err(err) }),
            Purpose::RemoveGroup { id } => self.emit(Event::GroupRemoved { request: rid, id, result: Err(err) }),
            Purpose::Groups
            | Purpose::AddBuddy { .. }
            | Purpose::RemoveBuddy { .. }
            | Purpose::Block { .. }
            | Purpose::ContactInfo { .. } => self.emit(Event::Error { error: err }),
        }
    }

    fn fail_waiting(&mut self, key: &str, waiting: Vec<Deferred>, err: &Error, retrying: bool) {
        let who = key.trim_start_matches('@').to_owned();
        let mut reported = false;
        for op in waiting {
            match op {
                Deferred::Im { .. } => self.requeue_or_fail(&who, op, err, retrying),
                _ if !reported && !retrying => {
                    reported = true;
                    self.emit(Event::Error { error: err.clone() });
                }
                _ => {}
            }
        }
    }

    fn on_server_info(&mut self, reply: &PersistReply) {
        let Ok(body) = reply.body() else { return };
        let pairs: Vec<(String, String)> = body
            .iter()
            .map(|(k, v)| {
                let v = crate::protocol::escape::unescape(v);
                (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(&v).into_owned())
            })
            .collect();
        if pairs != self.server_info {
            self.server_info = pairs.clone();
            self.emit(Event::ServerInfo(pairs));
        }
    }

    /// SPEC §9.4: mirror the privacy flags of the own IM settings as Pidgin does, and tell the host.
    fn on_im_info(&mut self, body: &Dict<'_>) {
        let privacy = Privacy {
            show_only_to_list: body.get_bool("ShowOnlyToList").unwrap_or(false),
            privacy_mode: body.get_u32("PrivacyMode").unwrap_or(0),
            offline_message_mode: body.get_u32("OfflineMessageMode").unwrap_or(0),
        };
        let ops = vec![
            BlockOp::ShowOnlyToList(privacy.show_only_to_list),
            BlockOp::PrivacyMode(privacy.privacy_mode & 1 == 1),
        ];
        let _ = self.send(ClientMessage::BlockList { sesskey: self.sesskey, ops });
        self.emit(Event::PrivacySettings(privacy));
    }

    /// SPEC §14: repeated `Challenge` + `ChallengeData` (escaped base64) pairs. A pair whose data
    /// is not base64 makes the whole reply a protocol error rather than a half-read list.
    fn on_web_challenge(&mut self, reply: &PersistReply) {
        use base64::Engine as _;
        let parsed = reply.body().map_err(|e| e.to_string()).and_then(|body| {
            body.records("Challenge")
                .iter()
                .map(|r| {
                    let challenge = r.get_u64("Challenge").map_err(|e| e.to_string())?;
                    let data = r.get_str("ChallengeData").map_err(|e| e.to_string())?;
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(data.as_bytes())
                        .map_err(|e| format!("ChallengeData: {e}"))?;
                    Ok(WebChallenge { challenge, data })
                })
                .collect::<Result<Vec<_>, String>>()
        });
        match parsed {
            Ok(pairs) => self.emit(Event::WebChallenge(pairs)),
            Err(e) => self.emit(Event::Error { error: Error::Protocol(format!("bad web challenge: {e}")) }),
        }
    }

    fn on_contact_list(&mut self, body: &Dict<'_>, import: bool, now: Instant) {
        let records = body.records("ContactID");
        let mut contacts = Vec::with_capacity(records.len());
        self.names.clear_contacts();
        for r in &records {
            let Ok(uid) = r.get_u32("ContactID") else { continue };
            let s = |k: &str| r.opt_str(k).ok().flatten().map(|v| v.into_owned()).filter(|v| !v.is_empty());
            if let Some(n) = s("UserName") {
                self.names.remember(uid, &n);
            }
            let blocked = r.get_u32("Visibility").is_ok_and(|v| v == 2);
            self.names.set_contact(uid, !blocked);
            contacts.push(Contact {
                uid,
                username: self.names.username(uid),
                group: s("GroupName").unwrap_or_else(|| DEFAULT_GROUP.to_owned()),
                nickname: s("NickName"),
                headline: s("Headline"),
                blocked,
                image_url: ["AvatarUrl", "AvatarURL", "ImageURL"]
                    .iter()
                    .find_map(|k| r.opt_str(k).ok().flatten().map(|v| v.into_owned())),
            });
        }
        // Unknown names are learned with by-id lookups (SPEC §10.1); UserInfo events follow.
        for c in contacts.iter().filter(|c| c.username.is_none()) {
            self.request_info(c.uid, now);
        }
        let count = contacts.len() as u32;
        let pictures: Vec<Event> = contacts
            .iter()
            .filter_map(|c| {
                let url = c.image_url.clone()?;
                Some(Event::BuddyPicture { uid: c.uid, username: c.username.clone(), url })
            })
            .collect();
        self.emit(Event::ContactList(contacts));
        for p in pictures {
            self.emit(p);
        }
        if import {
            self.emit(Event::ImportResult { result: Ok(count) });
        }
        if self.phase == Phase::SigningOn {
            self.sign_on(now);
        } else {
            self.release_held();
        }
    }

    /// A background by-id lookup (4/3), at most one in flight per uid.
    pub(crate) fn request_info(&mut self, uid: u32, now: Instant) {
        if uid == 0 || !self.phase.logged_in() || !self.info_pending.insert(uid) {
            return;
        }
        let body = DictBuilder::new().int("UserID", u64::from(uid));
        if self.persist(1, DataItem::MySpaceInfoById, true, body, Some(Purpose::Info { uid }), now).is_err() {
            self.info_pending.remove(&uid);
        }
    }

    pub(crate) fn on_bm(&mut self, bm: BmFromServer, raw: &Message, now: Instant) {
        if !self.phase.logged_in() {
            return self.emit(Event::Unhandled { text: trace::redact(raw) });
        }
        let from = bm.from;
        if let BmPayload::Text(t) = &bm.payload {
            // Reported, not delivered (README, `MSIM_RESULT_EMBEDDED_NUL`): a C string cannot carry
            // the NUL, and dropping it could turn data into a control string (`%typ\0ing%`).
            if t.contains('\0') {
                let what = format!("buddy message {} from {from} skipped", bm.kind);
                return self.emit(Event::Error { error: Error::EmbeddedNul(what) });
            }
        }
        let gid = match bm_group_id(raw) {
            Ok(g) => g,
            Err(e) => return self.emit(Event::Error { error: Error::Protocol(format!("message skipped: {e}")) }),
        };
        let username = None; // filled in on delivery (held.rs)
        match classify(bm.kind, bm.payload, gid, bm.aid) {
            BmContent::Im(text) => {
                if control_once_stripped(&text) {
                    let e = format!("IM from {from} skipped: a control string once its control characters are removed");
                    return self.emit(Event::Error { error: Error::Protocol(e) });
                }
                // SPEC §11.1: `date` = offline delivery time; 0/missing → now.
                let date = bm.date.filter(|d| *d != 0);
                let (html, plain) = markup::markup_to_html_and_plain(&text);
                let ev = Event::ImReceived {
                    from,
                    username,
                    html,
                    plain,
                    time: date.unwrap_or_else(self.wall_clock),
                    offline: date.is_some(),
                };
                // SPEC §24: held while the sender's name is looked up, delivered even without one.
                self.user_event(from, ev, now);
            }
            BmContent::Typing => self.user_event(from, Event::Typing { from, username, typing: true }, now),
            BmContent::StopTyping => self.user_event(from, Event::Typing { from, username, typing: false }, now),
            BmContent::Media => {
                // SPEC §11.6: a media message pops the window: typing, then stopped.
                self.user_event(from, Event::Typing { from, username: None, typing: true }, now);
                self.user_event(from, Event::Typing { from, username, typing: false }, now);
            }
            BmContent::Zap(zap) => self.user_event(from, Event::Zap { from, username, zap }, now),
            BmContent::Status(s) => {
                // SPEC §24: a stranger's status never adds them to a list.
                let (presence, ts) = (s.presence(), s.ts);
                let ev = Event::BuddyStatus { uid: from, username, presence, headline: s.text, ts, caps: s.caps };
                self.user_event(from, ev, now);
            }
            BmContent::AddNotice => {}
            BmContent::ClientVersion(text) => {
                self.user_event(from, Event::BuddyNotice { from, username, kind: NoticeKind::ClientVersion, text }, now)
            }
            BmContent::Mood(text) => {
                self.user_event(from, Event::BuddyNotice { from, username, kind: NoticeKind::Mood, text }, now)
            }
            BmContent::Profile(text) => {
                self.user_event(from, Event::BuddyNotice { from, username, kind: NoticeKind::Profile, text }, now)
            }
            BmContent::GroupChat(chat) if gid.unwrap_or(0) != 0 || bm.aid.unwrap_or(0) != 0 => {
                let (gid, actor) = (gid.unwrap_or(0), bm.aid.filter(|a| *a != 0).unwrap_or(from));
                self.on_group_chat(gid, from, actor, chat, bm.date, now)
            }
            // SPEC §25: a `!!!` control string is never shown; the host gets the wire text (so do
            // group-chat markers without a chat to name).
            BmContent::GroupChat(_) | BmContent::Control(_) | BmContent::Unknown { .. } => {
                self.emit(Event::Unhandled { text: trace::redact(raw) })
            }
        }
    }
}

impl Machine {
    /// Group-chat traffic (SPEC §25): reported as such, held like an IM by its actor.
    fn on_group_chat(&mut self, gid: u32, from: u32, actor: u32, chat: GroupChat, date: Option<u64>, now: Instant) {
        let (kind, html, plain) = match chat {
            GroupChat::Message(text) => {
                if control_once_stripped(&text) {
                    let e = format!("group chat {gid} message from {actor} skipped: a control string once its control characters are removed");
                    return self.emit(Event::Error { error: Error::Protocol(e) });
                }
                let (html, plain) = markup::markup_to_html_and_plain(&text);
                (GroupChatKind::Message, html, plain)
            }
            GroupChat::Left => (GroupChatKind::Left, String::new(), String::new()),
            GroupChat::Other(text) => (GroupChatKind::Other, String::new(), text),
        };
        let time = date.filter(|d| *d != 0).unwrap_or_else(self.wall_clock);
        let ev = Event::GroupChat { gid, from, actor, username: None, kind, html, plain, time };
        self.user_event(actor, ev, now);
    }
}

/// True for IM text that is a control string (`%typing%`, `%stoptyping%`, `!!!…`, SPEC §11.3,
/// §25) once the characters the HTML conversion removes (C0 controls, XML 1.0) are gone: shown,
/// it would be data turned into a control string.
fn control_once_stripped(text: &str) -> bool {
    if !text.chars().any(markup::is_forbidden_char) {
        return false;
    }
    let s: String = text.chars().filter(|c| !markup::is_forbidden_char(*c)).collect();
    s == TYPING || s == STOP_TYPING || s.starts_with("!!!") || s.contains("!!!ZAP_SEND!!!")
}
