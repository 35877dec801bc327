//! What a session tells its host: the [`Event`] enum and the plain data it carries.
//!
//! Events are produced by the state machine in order and delivered in that order. Strings are
//! owned by the event; the C layer lends them to callbacks for the duration of one call.

use crate::protocol::status::Presence;
use crate::protocol::zap::Zap;

use super::error::Error;

/// Identifies an IM given to `send_im`; reported back by [`Event::ImSent`] / [`Event::ImFailed`].
pub type MessageId = u64;
/// Identifies a request (lookup, username check…): the persist `rid` it went out with.
pub type RequestId = u32;

/// Own presence (SPEC §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnStatus {
    Available,
    Away,
    Idle,
    /// Others see offline (code 0).
    Invisible,
}

impl OwnStatus {
    /// The `\status\` code (SPEC §12).
    pub fn code(self) -> u32 {
        match self {
            OwnStatus::Available => 1,
            OwnStatus::Idle => 2,
            OwnStatus::Away => 5,
            OwnStatus::Invisible => 0,
        }
    }
}

/// Direction of a traced frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// Why a login attempt failed (terminal for that connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Error 260 (SPEC §16.2).
    BadPassword,
    /// Error 259: no account with that e-mail.
    UnknownAccount,
    /// Error 6 during login.
    LoggedInElsewhere,
    /// Could not resolve or connect, or the connection dropped during login.
    Network,
    /// No challenge or no login reply in time.
    Timeout,
    /// Malformed challenge or reply (e.g. a nonce that is not 64 bytes, SPEC §6.2).
    Protocol,
    /// Another server `\error\` (see the code).
    Server,
    /// Error 267: the server refuses this client version (SPEC §25; see `Config::client_version`).
    ClientTooOld,
}

/// Why a signed-on session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// `disconnect()` was called.
    Requested,
    /// The server closed the connection.
    ServerClosed,
    /// A socket error.
    Network,
    /// The server stopped acknowledging for the dead-connection timeout (SPEC §24).
    Timeout,
    /// Error 6: the account logged in from another place (SPEC §16.2). Never reconnects.
    LoggedInElsewhere,
    /// A fatal `\error\` other than 6 (see the code).
    ServerError,
    /// The stream could not be framed any more (frame too large).
    Protocol,
    /// Reconnecting gave up after the policy's attempts.
    ReconnectFailed,
    /// Error 2 or 3: the server no longer accepts the session key (SPEC §25, "session
    /// expired"); with reconnect enabled the session logs in again.
    SessionExpired,
}

/// What the server knows about a user (SPEC §9.2). Empty fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub uid: u32,
    /// `None` for a user who has not chosen a username (the server then sends the id).
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub image_url: Option<String>,
    pub headline: Option<String>,
    pub band: Option<String>,
    pub song: Option<String>,
    pub age: Option<u32>,
    pub gender: Option<String>,
    pub location: Option<String>,
    /// Only in by-id lookups (SPEC §9.1).
    pub total_friends: Option<u32>,
}

/// One entry of the server-side contact list (SPEC §10.1, §18.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub uid: u32,
    /// Known when the server sent it or an earlier reply told us; otherwise a by-id lookup is
    /// under way and an [`Event::UserInfo`] follows.
    pub username: Option<String>,
    /// `GroupName`, "IM Friends" when empty (SPEC §10.1).
    pub group: String,
    pub nickname: Option<String>,
    pub headline: Option<String>,
    /// `Visibility=2`: on the block list rather than the buddy list.
    pub blocked: bool,
    /// The contact's picture URL as its record carries it (`AvatarUrl`, or `ImageURL`, SPEC
    /// §10.1, §9.2): `Some("")` = no picture; `None` = the record says nothing about it.
    pub image_url: Option<String>,
}

/// A contact group (SPEC §10.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub id: u32,
    pub name: String,
    pub position: u32,
    pub flags: u32,
}

/// Own privacy settings, as the 1/4 own-IM-info reply reports them (SPEC §9.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privacy {
    /// `ShowOnlyToList`: presence only for the users on your list (`w1`).
    pub show_only_to_list: bool,
    /// `PrivacyMode` as the server sent it; only bit 0 (`c1`) can be set (SPEC §18.4), the other
    /// bits' meaning is unknown (SPEC §22).
    pub privacy_mode: u32,
    /// `OfflineMessageMode` as sent; meaning unknown (SPEC §22).
    pub offline_message_mode: u32,
}

/// One `Challenge` / `ChallengeData` pair of the web-challenge reply (SPEC §14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebChallenge {
    /// `Challenge`, a 10-digit number.
    pub challenge: u64,
    /// `ChallengeData`, base64-decoded (64 bytes in the capture).
    pub data: Vec<u8>,
}

/// What a [`Event::BuddyNotice`] carries (SPEC §11.2, §11.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// bm 200: the peer's client description (free text).
    ClientVersion,
    /// bm 126: a mood/status text (payload format unknown, SPEC §22; passed on as text).
    Mood,
    /// bm 124: a profile message (payload format unknown, SPEC §22; passed on as text).
    Profile,
}

/// What a [`Event::GroupChat`] says (SPEC §25: all that is known of group chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupChatKind {
    /// Text from the actor (`html`/`plain`).
    Message,
    /// `!!!ExitChat`: the actor left the chat.
    Left,
    /// Any other group-chat traffic (`!!!GroupCount=`, `!!!Offline=`, typing, another control
    /// string): `plain` holds it as sent, for logs, not for display.
    Other,
}

/// Result of a username check or set (SPEC §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameOutcome {
    Available,
    Taken,
    Set,
    Failed,
}

/// Mail/inbox alert bits (SPEC §13).
pub mod mail {
    pub const MAIL: u32 = 1;
    pub const BLOG_COMMENT: u32 = 2;
    pub const PROFILE_COMMENT: u32 = 4;
    pub const FRIEND_REQUEST: u32 = 8;
    pub const PICTURE_COMMENT: u32 = 16;
    /// Seen in the capture, unknown to Pidgin (SPEC §13).
    pub const EVENT_INVITATION: u32 = 32;
    /// Reply keys and their bits.
    pub const KEYS: [(&str, u32); 6] = [
        ("Mail", MAIL),
        ("BlogComment", BLOG_COMMENT),
        ("ProfileComment", PROFILE_COMMENT),
        ("FriendRequest", FRIEND_REQUEST),
        ("PictureComment", PICTURE_COMMENT),
        ("EventInvitation", EVENT_INVITATION),
    ];
}

/// Steps of [`Event::Progress`].
pub mod progress {
    pub const CONNECTING: u32 = 1;
    pub const CHALLENGE: u32 = 2;
    pub const LOGGING_IN: u32 = 3;
    pub const CONTACT_LIST: u32 = 4;
    pub const TOTAL: u32 = 4;
}

/// Everything a session reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Connection progress: step of total, with a human-readable text.
    Progress {
        step: u32,
        total: u32,
        text: String,
    },
    /// Fully signed on: the contact list arrived (or its timeout passed, with an `Error` warning
    /// just before).
    SignedOn {
        uid: u32,
        username: Option<String>,
    },
    /// The connect attempt failed on its own before sign-on (a `disconnect()` during login gives
    /// `Disconnected { reason: Requested }` instead). Terminal: no reconnect follows.
    LoginFailed {
        reason: LoginFailure,
        code: u32,
        text: String,
    },
    /// A signed-on session ended, or `disconnect()` was called. `reconnecting`: the session will
    /// try again (then a later `SignedOn`, `LoginFailed` or final `Disconnected` follows); `false`
    /// is terminal. Every `connect` ends with exactly one terminal event.
    Disconnected {
        reason: DisconnectReason,
        code: u32,
        text: String,
        reconnecting: bool,
    },
    /// The account has no username (SPEC §6.7): choose one with `check_username`/`set_username`,
    /// or `disconnect`.
    UsernameRequired {
        uid: u32,
    },
    /// Answer to `check_username` (Available/Taken/Failed) or `set_username` (Set/Failed).
    UsernameResult {
        request: RequestId,
        name: String,
        outcome: UsernameOutcome,
        text: String,
    },
    /// An IM (`offline`: stored by the server, `time` = when it was sent). Like every event from
    /// a user (typing, zap, presence, notice) it is held until `SignedOn`, and while the client
    /// looks up a sender whose username it does not know (SPEC §24, `held.rs`); `username` is
    /// `None` only when the sender has none or the lookup failed or timed out.
    ImReceived {
        from: u32,
        username: Option<String>,
        html: String,
        plain: String,
        time: u64,
        offline: bool,
    },
    /// An IM has been written to the server. Every IM accepted by `send_im` gets exactly one
    /// `ImSent` or `ImFailed`, whether it went out at once or waited (connecting, reconnecting, a
    /// name lookup).
    ImSent {
        id: MessageId,
    },
    ImFailed {
        id: MessageId,
        error: Error,
    },
    Typing {
        from: u32,
        username: Option<String>,
        typing: bool,
    },
    Zap {
        from: u32,
        username: Option<String>,
        zap: Zap,
    },
    /// bm 100 (SPEC §11.5). Also sent for users not on the list; that never adds them (SPEC §24).
    BuddyStatus {
        uid: u32,
        username: Option<String>,
        presence: Presence,
        headline: String,
        /// The list's `ts` pair, Unix time, when the server sends one (SPEC §25: later servers
        /// do; what it stamps is not documented, presumably when the status was set).
        ts: Option<u64>,
        /// The list's `caps` pair as sent (SPEC §25; meaning unknown), when present.
        caps: Option<String>,
    },
    /// Group-chat traffic (SPEC §25): a bm 1/121 with a non-zero `gid` or `aid`. Never reported as
    /// an IM, typing or zap from the actor. Receiving is all msim does: nothing more of group chat
    /// is known, so there is no way to send to one. Held like an IM while the actor's name is
    /// looked up (SPEC §24).
    GroupChat {
        /// `gid`, the chat; 0 when the message carried only `aid`.
        gid: u32,
        /// `f` as sent.
        from: u32,
        /// `aid`, who acted (wrote, left); `f` when the message carried no `aid`.
        actor: u32,
        /// The actor's username, when known.
        username: Option<String>,
        kind: GroupChatKind,
        /// [`GroupChatKind::Message`]: the text as HTML; otherwise empty.
        html: String,
        /// [`GroupChatKind::Message`]: the text as plain text; `Other`: the string as sent;
        /// `Left`: empty.
        plain: String,
        /// `date` (Unix seconds) when sent, else the arrival time.
        time: u64,
    },
    /// Fresh info about a user (own info at sign-on, contacts' info, senders we looked up).
    UserInfo(UserInfo),
    /// Answer to `lookup_user`: `Ok(None)` = no such user.
    LookupResult {
        request: RequestId,
        result: Result<Option<UserInfo>, Error>,
    },
    /// The contact list (at sign-on, after an import, or late after the sign-on timeout).
    ContactList(Vec<Contact>),
    /// A contact's picture URL from its contact-list record (`Contact::image_url`, "" = none):
    /// one per contact whose record has one, right after [`Event::ContactList`], so that hosts
    /// with one callback per kind of event need not walk the list twice.
    BuddyPicture {
        uid: u32,
        username: Option<String>,
        url: String,
    },
    BuddyAdded {
        uid: u32,
        username: Option<String>,
        group: String,
    },
    BuddyRemoved {
        uid: u32,
        username: Option<String>,
    },
    BuddyBlocked {
        uid: u32,
        username: Option<String>,
        blocked: bool,
    },
    /// Answer to `request_groups`.
    Groups(Vec<Group>),
    /// Answer to `save_group` or `rename_group`: the group as the server echoed it (`id` 0 after
    /// a `save_group` whose reply carries no `GroupID`, SPEC §10.2), or why it failed.
    GroupSaved {
        request: RequestId,
        result: Result<Group, Error>,
    },
    /// Answer to `remove_group` (SPEC §25) for group `id`.
    GroupRemoved {
        request: RequestId,
        id: u32,
        result: Result<(), Error>,
    },
    /// Own privacy settings from the own-IM-info reply at sign-on (SPEC §9.4).
    PrivacySettings(Privacy),
    /// The web-challenge reply (17/26, SPEC §14), after `request_web_challenge`. The answer
    /// algorithm is unknown: msim only reports the pairs.
    WebChallenge(Vec<WebChallenge>),
    /// A client-version (bm 200), mood (bm 126) or profile (bm 124) message from a user.
    BuddyNotice {
        from: u32,
        username: Option<String>,
        kind: NoticeKind,
        text: String,
    },
    /// Answer to `import_friends`: the number of contacts in the refreshed list.
    ImportResult {
        result: Result<u32, Error>,
    },
    /// New inbox items: `new` bits appeared for the first time this session, `all` = every bit
    /// seen so far (edge-triggered, SPEC §13).
    MailAlert {
        new: u32,
        all: u32,
    },
    /// Server settings (SPEC §8), reported when they change.
    ServerInfo(Vec<(String, String)>),
    /// Something went wrong without ending the session: a non-fatal server error, a failed or
    /// timed-out request, a malformed message that was skipped, a sign-on warning.
    Error {
        error: Error,
    },
    /// A message the client does not act on (an unknown kind, a reply nobody asked for, a `!!!`
    /// control string other than a zap, SPEC §25), as wire text.
    Unhandled {
        text: String,
    },
    /// A frame in or out, as wire text with the login `response` redacted.
    Trace {
        dir: Direction,
        text: String,
    },
}

impl Event {
    /// About how many bytes the event holds (its strings, plus a fixed part), for queues bounded
    /// in bytes (the C API's poll/GLib event queue). An estimate, never below the real heap use
    /// of the strings it counts.
    pub fn approx_bytes(&self) -> usize {
        const FIXED: usize = 96;
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let extra = match self {
            Event::Progress { text, .. }
            | Event::LoginFailed { text, .. }
            | Event::Disconnected { text, .. }
            | Event::Unhandled { text }
            | Event::Trace { text, .. } => text.len(),
            Event::ImReceived { username, html, plain, .. } | Event::GroupChat { username, html, plain, .. } => {
                opt(username) + html.len() + plain.len()
            }
            Event::BuddyStatus { username, headline, caps, .. } => opt(username) + headline.len() + opt(caps),
            Event::BuddyNotice { username, text, .. } => opt(username) + text.len(),
            Event::BuddyPicture { username, url, .. } => opt(username) + url.len(),
            Event::UsernameResult { name, text, .. } => name.len() + text.len(),
            Event::ContactList(list) => list
                .iter()
                .map(|c| {
                    FIXED + opt(&c.username) + c.group.len() + opt(&c.nickname) + opt(&c.headline) + opt(&c.image_url)
                })
                .sum(),
            Event::Groups(list) => list.iter().map(|g| FIXED + g.name.len()).sum(),
            Event::WebChallenge(list) => list.iter().map(|w| FIXED + w.data.len()).sum(),
            Event::ServerInfo(pairs) => pairs.iter().map(|(k, v)| k.len() + v.len() + 48).sum(),
            Event::UserInfo(info) => info.approx_bytes(),
            Event::LookupResult { result: Ok(Some(info)), .. } => info.approx_bytes(),
            _ => 0,
        };
        FIXED + extra
    }
}

impl UserInfo {
    fn approx_bytes(&self) -> usize {
        [&self.username, &self.display_name, &self.image_url, &self.headline, &self.band, &self.song]
            .iter()
            .chain([&self.gender, &self.location].iter())
            .map(|s| s.as_ref().map_or(0, String::len))
            .sum()
    }
}
