//! Persist requests (SPEC §7): one reply for every request, matched by `rid`.
//!
//! Every (dsn, lid) of SPEC §7.5 and §25 with known semantics is answered (own preferences in
//! [`super::prefs`], groups in [`super::groups`]); anything else — unknown pairs, pairs whose
//! semantics are unknown (21/28, 8/13), a wrong `cmd` code, a malformed body, a `uid` other than
//! the session's — gets an error reply (cmd with the 1024 bit, body `ErrorMessage=…`, SPEC §16.3),
//! so a client never waits for nothing. The contact list (0/1) is always answered, with an empty
//! body when there are no contacts (SPEC §24).
//!
//! Replies never carry an empty `ImageURL` (Pidgin's plugin mishandles it, SPEC §24). What a reply
//! says about another user goes through `router::seen_by`, the presence rule of bm 100.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use msim::protocol::dict::{Dict, DictBuilder};
use msim::protocol::kinds::ServerMessage;
use msim::protocol::persist::{cmd, Cmd, DataItem, PersistReply, PersistRequest};
use rand::Rng;

use crate::conn::Conn;
use crate::db::{Account, ContactWrite, Preferences};
use crate::rules::{UsernameError, MAX_ADD_ALL_FRIENDS, MAX_CONTACTS, MAX_ECHOED_INT};
use crate::state::Shared;
use crate::{log_if, router, Error};

/// A request the server refuses: the text goes into `ErrorMessage`.
pub(super) struct Refusal(pub(super) String);

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        Refusal(format!("The request could not be completed: {e}"))
    }
}

pub(super) type Answer = Result<DictBuilder, Refusal>;

pub(super) fn refuse<T>(text: &str) -> Result<T, Refusal> {
    Err(Refusal(text.to_owned()))
}

/// Import-all-friends' group when the request names none (Pidgin sends this name, SPEC §18.6).
const IMPORT_GROUP: &str = "MySpace Friends";

pub fn handle(shared: &Arc<Shared>, conn: &Arc<Conn>, uid: u32, req: &PersistRequest) {
    let delay = shared.config.contact_list_delay;
    if req.item() == DataItem::ListAllContacts && !delay.is_zero() {
        // Test knob: the reply comes later from a thread of its own, so the event loop (and every
        // other session on it) is not held.
        let (s, c, r) = (shared.clone(), conn.clone(), req.clone());
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            reply(&s, &c, uid, &r);
        });
        return;
    }
    reply(shared, conn, uid, req);
}

fn reply(shared: &Arc<Shared>, conn: &Arc<Conn>, uid: u32, req: &PersistRequest) {
    let answer = answer(shared, conn, uid, req);
    let reply = match answer.and_then(|body| PersistReply::to(req, uid, &body).map_err(|e| Refusal(e.to_string()))) {
        Ok(r) => r,
        Err(Refusal(text)) => {
            log_if(
                shared,
                format_args!("uid {uid}: persist {}/{} cmd {} refused: {text}", req.dsn, req.lid, req.cmd.0),
            );
            PersistReply::error_to(req, uid, &text)
        }
    };
    // SPEC §25: a long reply (a big contact list) goes out in `mtf` pieces.
    super::pieces::send(conn, reply, shared.config.persist_piece_bytes);
}

fn answer(shared: &Shared, conn: &Conn, uid: u32, req: &PersistRequest) -> Answer {
    // Pidgin omits `uid` in some requests (SPEC §7.1); when present it must be the session's own.
    if req.uid.is_some_and(|u| u != uid) {
        return refuse("The uid of the request is not the uid of this session.");
    }
    let body = match req.body() {
        Ok(b) => b,
        Err(e) => return refuse(&format!("The request body is malformed: {e}")),
    };
    let code = req.cmd.code();
    let item = req.item();
    if !allowed(item, code) {
        return refuse(&format!("Command {} is not supported for this data item.", req.cmd.0));
    }
    let db = &shared.db;
    match item {
        DataItem::ListAllContacts => contact_list(shared, uid),
        DataItem::ContactInfo => {
            let other = need_u32(&body, "ContactID")?;
            let Some(acct) = db.account(other)? else { return refuse("No such user.") };
            let d = DictBuilder::new().int("ContactID", u64::from(other));
            contact_record(shared, d, uid, &acct)
        }
        DataItem::DeleteContact => {
            let other = need_u32(&body, "ContactID")?;
            db.delete_contact(uid, other)?;
            Ok(DictBuilder::new().int("ContactID", u64::from(other)))
        }
        DataItem::WriteContact => write_contact(shared, uid, &body),
        DataItem::OwnImInfo => own_im_info(shared, uid),
        DataItem::UserPreferences if code == cmd::GET => own_im_info(shared, uid),
        DataItem::UserPreferences => super::prefs::set_own(shared, conn, uid, &body),
        DataItem::ImInfoById => {
            let other = need_u32(&body, "UserID")?;
            other_im_info(shared, uid, other, DictBuilder::new())
        }
        // SPEC §25: contact IM info, the contact named by `ContactID` (echoed first).
        DataItem::Other { dsn: 1, lid: 7 } => {
            let other = need_u32(&body, "ContactID")?;
            other_im_info(shared, uid, other, DictBuilder::new().int("ContactID", other.into()))
        }
        DataItem::ListAllGroups => super::groups::list(shared, uid),
        DataItem::WriteGroup if code == cmd::DELETE => super::groups::delete(shared, uid, &body),
        DataItem::WriteGroup => super::groups::write(shared, uid, &body),
        DataItem::MySpaceInfoById => {
            let other = need_u32(&body, "UserID")?;
            match db.account(other)? {
                Some(acct) => Ok(myspace_info(&acct, Some(db.friend_count(other)?))),
                // Pidgin reads "no UserID" as "no such user" (SPEC §9.1); an error reply has none.
                None => refuse("No such user."),
            }
        }
        DataItem::OwnMySpaceInfo => Ok(myspace_info(&own(shared, uid)?, Some(db.friend_count(uid)?))),
        DataItem::MySpaceInfoByString => lookup_by_string(shared, &body),
        DataItem::CheckMail => {
            // SPEC §13: a key's presence means "new items". This server has no web mailbox; it
            // reports `Mail=On` in a session that received offline messages at login.
            let mut d = DictBuilder::new();
            if conn.had_offline.load(Ordering::Relaxed) {
                d = d.raw("Mail", b"On");
            }
            Ok(d)
        }
        DataItem::SetUsername => {
            let name = opt_str(&body, "UserName")?.unwrap_or_default();
            let outcome = db.set_username(uid, &name)?;
            let code = outcome.err().map_or(0, UsernameError::code);
            Ok(DictBuilder::new().str("UserName", &name).int("Code", code.into()))
        }
        DataItem::ImportAllFriends => import_friends(shared, conn, uid, &body),
        // SPEC §25 "7/10 social alerts": this server has none, so a valid empty answer.
        DataItem::Other { dsn: 7, lid: 10 } => Ok(DictBuilder::new()),
        // SPEC §25 "15/22 add top friends": top friends are a MySpace profile's, which this server
        // does not have; none to add, so the import completes (14/21's answer, SPEC §18.6) with
        // nothing added.
        DataItem::Other { dsn: 15, lid: 22 } => Ok(DictBuilder::new().bool("Completed", true)),
        // SPEC §25 "16/25 cmd 514 invite to IM": an invitation goes out by e-mail, which this server
        // does not send; saying it was sent would be false.
        DataItem::Invite => refuse("Invitations are not sent: this server sends no e-mail."),
        DataItem::WebChallenge => Ok(challenge_body()),
        DataItem::ServerInfo => Ok(server_info_body(shared)),
        _ => refuse("This data item is not supported."),
    }
}

/// Which `cmd` codes (SPEC §7.2) each item takes; anything else gets an error reply.
fn allowed(item: DataItem, code: u32) -> bool {
    match item {
        DataItem::DeleteContact => code == cmd::DELETE,
        DataItem::WriteContact | DataItem::SetUsername | DataItem::ImportAllFriends | DataItem::Invite => {
            code == cmd::PUT
        }
        // 2/16: PUT writes or renames, DELETE (cmd 3) deletes (SPEC §25).
        DataItem::WriteGroup => code == cmd::PUT || code == cmd::DELETE,
        // 1/10: PUT (Miranda's 514) sets, GET reads (SPEC §25).
        DataItem::UserPreferences => code == cmd::PUT || code == cmd::GET,
        // 15/22's cmd is not recorded (SPEC §25): a GET or a PUT.
        DataItem::Other { dsn: 15, lid: 22 } => code == cmd::PUT || code == cmd::GET,
        _ => code == cmd::GET,
    }
}

/// 1/4: the session's own IM info with its preferences.
fn own_im_info(shared: &Shared, uid: u32) -> Answer {
    Ok(im_info(DictBuilder::new(), &own(shared, uid)?, None, &shared.db.preferences(uid)?))
}

/// 1/17 and 1/7: `other`'s IM info after `head`, as `uid` may see it (`router::seen_by`).
fn other_im_info(shared: &Shared, uid: u32, other: u32, head: DictBuilder) -> Answer {
    let Some(acct) = shared.db.account(other)? else { return refuse("No such user.") };
    let (acct, cv) = router::seen_by(shared, acct, uid)?;
    Ok(im_info(head, &acct, Some(cv), &Preferences::default()))
}

pub(super) fn own(shared: &Shared, uid: u32) -> Result<Account, Refusal> {
    shared.db.account(uid)?.ok_or_else(|| Refusal("Your account no longer exists.".into()))
}

pub(super) fn need_u32(d: &Dict<'_>, key: &str) -> Result<u32, Refusal> {
    d.get_u32(key).map_err(|e| Refusal(format!("The request body is malformed: {e}")))
}

pub(super) fn opt_u32(d: &Dict<'_>, key: &str) -> Result<Option<u32>, Refusal> {
    match d.opt_u64(key) {
        Ok(Some(v)) => u32::try_from(v).map(Some).map_err(|_| Refusal(format!("`{key}` is out of range."))),
        Ok(None) => Ok(None),
        Err(e) => Err(Refusal(format!("The request body is malformed: {e}"))),
    }
}

pub(super) fn opt_str(d: &Dict<'_>, key: &str) -> Result<Option<String>, Refusal> {
    d.opt_str(key)
        .map(|o| o.map(|s| s.into_owned()))
        .map_err(|e| Refusal(format!("The request body is malformed: {e}")))
}

pub(super) fn need_str(d: &Dict<'_>, key: &str) -> Result<String, Refusal> {
    opt_str(d, key)?.ok_or_else(|| Refusal(format!("The request body has no `{key}`.")))
}

/// `DisplayName`, falling back to the unique nick so clients always have something to show.
fn display_name(a: &Account) -> String {
    if a.display_name.is_empty() {
        a.unique_nick()
    } else {
        a.display_name.clone()
    }
}

/// 4/3, 4/5 and 5/7 bodies (SPEC §7.5, §9.2); `TotalFriends` only for by-id lookups.
fn myspace_info(a: &Account, total_friends: Option<u32>) -> DictBuilder {
    let mut d = DictBuilder::new().int("UserID", a.uid.into());
    if !a.image_url.is_empty() {
        d = d.str("ImageURL", &a.image_url);
    }
    d = d
        .str("DisplayName", &display_name(a))
        .str("UserName", &a.unique_nick())
        .str("BandName", &a.band_name)
        .str("SongName", &a.song_name);
    if let Some(n) = total_friends {
        d = d.int("TotalFriends", n.into());
    }
    d
}

/// 1/4 (own, `client_version` None) and 1/17 bodies, in the capture's key order (SPEC §9.4). The
/// preferences 1/10 set (`prefs`, SPEC §25) replace the defaults; others' replies get none. The
/// keys follow `head`.
pub(super) fn im_info(head: DictBuilder, a: &Account, client_version: Option<u32>, prefs: &Preferences) -> DictBuilder {
    let own = client_version.is_none();
    let mut d = head
        .int("UserID", a.uid.into())
        .bool("Sound", prefs.sound.unwrap_or(true))
        .int("PrivacyMode", a.privacy_mode.into())
        .bool("ShowOnlyToList", a.show_only_to_list)
        .int("OfflineMessageMode", prefs.offline_message_mode.map_or(u64::from(own), u64::from))
        .str("Headline", &a.headline)
        .str("AvatarUrl", &a.image_url)
        .int("Alert", prefs.alert.map_or(u64::from(own), u64::from))
        .bool("ShowAvatar", prefs.show_avatar.unwrap_or(!a.image_url.is_empty()))
        .str("IMName", prefs.im_name.as_deref().unwrap_or(""));
    d = match client_version {
        None => d.int("LastLogin", filetime(a.last_login)),
        Some(cv) => d.int("ClientVersion", cv.into()),
    };
    d
}

/// `LastLogin` is a Windows FILETIME: 100-ns ticks since 1601 (SPEC §9.2 inference).
fn filetime(unix_secs: u64) -> u64 {
    if unix_secs == 0 {
        0
    } else {
        (unix_secs + 11_644_473_600) * 10_000_000
    }
}

/// One contact record (SPEC §10.1) appended to `d`: the 0/2 reply's key order (SPEC §7.5), then
/// `DisplayName` and `UserName` so clients need no extra lookup per contact (Pidgin ignores them
/// here; its per-record reads search forward from `ContactID`, so every record has every key).
/// What the record says about the contact is what `owner` may see ([`router::seen_by`]).
fn contact_record(shared: &Shared, d: DictBuilder, owner: u32, a: &Account) -> Answer {
    let (seen, _) = router::seen_by(shared, a.clone(), owner)?;
    let a = &seen;
    let row = shared.db.contact(owner, a.uid)?;
    let blocked = shared.db.is_blocked(owner, a.uid)?;
    let (group, position, visibility, nickname, name_select) = match &row {
        Some(r) => (r.group.as_str(), r.position, r.visibility, r.nickname.as_str(), r.name_select),
        None => ("", 0, 1, "", 0),
    };
    Ok(d.int("ContactID", a.uid.into())
        .str("Headline", &a.headline)
        .int("Position", position.into())
        .str("GroupName", group)
        .int("Visibility", if blocked { 2 } else { visibility.into() })
        .str("AvatarUrl", &a.image_url)
        .bool("ShowAvatar", !a.image_url.is_empty())
        .int("LastLogin", filetime(a.last_login))
        .str("IMName", "")
        .str("NickName", nickname)
        .int("NameSelect", name_select.into())
        .str("DisplayName", &display_name(a))
        .str("UserName", &a.unique_nick()))
}

/// 0/1: every contact row, then block-list entries that have no row (as Visibility=2 records, so
/// clients rebuild their deny lists, SPEC §10.1). Empty body when there is nothing.
fn contact_list(shared: &Shared, uid: u32) -> Answer {
    let db = &shared.db;
    let rows = db.contacts(uid)?;
    let mut d = DictBuilder::new();
    for r in &rows {
        if let Some(acct) = db.account(r.contact)? {
            d = contact_record(shared, d, uid, &acct)?;
        }
    }
    for b in db.blocked_uids(uid)? {
        if rows.iter().any(|r| r.contact == b) {
            continue;
        }
        if let Some(acct) = db.account(b)? {
            d = contact_record(shared, d, uid, &acct)?;
        }
    }
    Ok(d)
}

/// 0/9 (cmd 514): create or update a contact; `Visibility=2` blocks (SPEC §18.1, §18.3, §18.5).
fn write_contact(shared: &Shared, uid: u32, body: &Dict<'_>) -> Answer {
    let other = need_u32(body, "ContactID")?;
    if other == uid || shared.db.account(other)?.is_none() {
        return refuse("No such user.");
    }
    let w = ContactWrite {
        group: opt_str(body, "GroupName")?,
        position: opt_u32(body, "Position")?,
        visibility: opt_u32(body, "Visibility")?,
        nickname: opt_str(body, "NickName")?,
        name_select: opt_u32(body, "NameSelect")?,
    };
    if !shared.db.write_contact(uid, other, &w)? {
        return refuse(&format!("The contact list is full ({MAX_CONTACTS} contacts)."));
    }
    if w.visibility.is_some() {
        router::refresh_for(shared, uid, other);
    }
    Ok(DictBuilder::new().extend_raw(body))
}

/// 5/7: by `UserName` or `Email` (SPEC §9.1). Not found echoes only the queried key and value as
/// sent (SPEC §6.7: "free name").
fn lookup_by_string(shared: &Shared, body: &Dict<'_>) -> Answer {
    let (key, found) = if body.has("UserName") {
        ("UserName", shared.db.account_by_username(&need_str(body, "UserName")?)?)
    } else if body.has("Email") {
        ("Email", shared.db.account_by_email(&need_str(body, "Email")?)?)
    } else {
        return refuse("The request body has neither `UserName` nor `Email`.");
    };
    Ok(match found {
        Some(acct) => myspace_info(&acct, None),
        None => DictBuilder::new().raw(key, body.get_raw(key).unwrap_or_default()),
    })
}

/// 14/21 (SPEC §18.6): adds everyone who lists this user and is not yet on its list, up to
/// `MaxAddAllFriends`, and shows the added ones' presence.
fn import_friends(shared: &Shared, conn: &Conn, uid: u32, body: &Dict<'_>) -> Answer {
    let group = opt_str(body, "GroupName")?.filter(|g| !g.is_empty()).unwrap_or_else(|| IMPORT_GROUP.to_owned());
    crate::rules::check_text(&group, crate::rules::MAX_NAME_TEXT)
        .map_err(|why| Error::BadText { field: "GroupName", why })?;
    let mut added = 0;
    for other in shared.db.import_candidates(uid, MAX_ADD_ALL_FRIENDS)? {
        if !shared.db.add_contact(uid, other, Some(&group))? {
            break; // list full
        }
        added += 1;
        let status = router::presence_for(shared, other, uid);
        if status.code != 0 {
            conn.send(&router::status_bm(other, &status));
        }
    }
    log_if(shared, format_args!("uid {uid}: imported {added} friends"));
    Ok(DictBuilder::new().bool("Completed", true))
}

/// The server-info body (SPEC §8), Pidgin-era values; keys in the capture's (alphabetical) order.
/// `ChatRoomUserIDs` is left out: this server has no chat rooms.
/// `MinClientVersion` is `Config::min_client_version` when that is set (what `login2` enforces).
fn server_info_body(shared: &Shared) -> DictBuilder {
    let min = match shared.config.min_client_version {
        0 => 594,
        v => u64::from(v),
    };
    DictBuilder::new()
        .int("AdUnitRefreshInterval", 10)
        .int("AlertPollInterval", 360)
        .bool("AllowChatRoomEmoticonSharing", false)
        .int("CurClientVersion", 673)
        .bool("EnableIMBrowse", false)
        .bool("EnableIMStuffAvatars", false)
        .bool("EnableIMStuffZaps", false)
        .int("MaxAddAllFriends", MAX_ADD_ALL_FRIENDS as u64)
        .int("MaxContacts", MAX_CONTACTS as u64)
        .int("MinClientVersion", min)
        .int("MySpaceNowTimer", 720)
        .int("PersistenceDataTimeout", 900)
        .int("UseWebChallenge", 1)
        .bool("WebTicketGoHome", false)
}

/// The unsolicited server info: cmd 257, dsn 101, lid 20, uid 0, server-chosen rid (SPEC §8).
pub fn server_info(shared: &Shared) -> ServerMessage {
    unsolicited(101, 20, 0, shared.server_rid(), &server_info_body(shared))
}

/// Two `Challenge` / `ChallengeData` pairs (SPEC §14): a 10-digit number and 64 random bytes as
/// base64, escaped like any dictionary string. The official client's response algorithm is
/// unknown, so nothing verifies the answer; the pairs only have the right shape.
fn challenge_body() -> DictBuilder {
    use base64::Engine as _;
    let mut rng = rand::thread_rng();
    let mut d = DictBuilder::new();
    for _ in 0..2 {
        let mut data = [0u8; 64];
        rng.fill(&mut data[..]);
        d = d
            // Ten digits, as captured, and below 2^31 (SPEC §6.5: a client may echo it with `%d`).
            .int("Challenge", rng.gen_range(1_000_000_000..=u64::from(MAX_ECHOED_INT)))
            .str("ChallengeData", &base64::engine::general_purpose::STANDARD.encode(data));
    }
    d
}

/// The answer to `\webchlg\`: 17/26 with a server-chosen rid (SPEC §14).
pub fn web_challenge(rid: u32, uid: u32) -> ServerMessage {
    unsolicited(17, 26, uid, rid, &challenge_body())
}

fn unsolicited(dsn: u32, lid: u32, uid: u32, rid: u32, body: &DictBuilder) -> ServerMessage {
    ServerMessage::Persist(PersistReply {
        cmd: Cmd(cmd::GET_REPLY),
        dsn,
        uid,
        lid,
        rid,
        body: body.as_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
    })
}
