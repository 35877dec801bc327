//! Plain C types of the session API: enums, options, and the borrowed-string structs given to
//! callbacks, with their conversions from the client's Rust types.

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::ptr;

use crate::client::events::{Contact, Group, NoticeKind, UserInfo, WebChallenge};
use crate::client::{DisconnectReason, Error, LoginFailure, OwnStatus, Phase, UsernameOutcome};
use crate::protocol::status::Presence;

use super::result::msim_result;

/// How callbacks are delivered; chosen once at `msim_session_new_ex`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_dispatch {
    /// Callbacks run on the session's own IO thread, one at a time, in order.
    Thread = 0,
    /// Callbacks are queued; `msim_session_fd()` becomes readable and `msim_session_dispatch()`
    /// runs them on the calling thread (for `purple_input_add`, poll/select loops).
    Poll = 1,
    /// Callbacks run on a GMainContext (options.glib_context, NULL = the global default).
    /// Needs libmsim built with the cargo feature `glib`; otherwise `msim_session_new_ex` fails.
    Glib = 2,
}

/// Own presence for `msim_session_set_status` (SPEC §12).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_status {
    Available = 0,
    Away = 1,
    Idle = 2,
    /// Others see you offline.
    Invisible = 3,
}

/// A buddy's presence (the bm 100 code, SPEC §11.5). Unknown codes are reported as ONLINE.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_presence {
    Offline = 0,
    Online = 1,
    Idle = 2,
    Away = 5,
}

/// Why a connect attempt failed before sign-on (`on_login_failed`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_login_failure {
    /// Wrong password (server error 260). Do not retry with the same password.
    BadPassword = 0,
    /// No account with that e-mail (error 259).
    UnknownAccount = 1,
    /// Error 6 during login.
    LoggedInElsewhere = 2,
    /// DNS, connect, or the connection dropped during login.
    Network = 3,
    /// No challenge or login reply in time.
    Timeout = 4,
    /// The server sent something malformed (e.g. a bad challenge).
    Protocol = 5,
    /// Another server error; see the code and text.
    ServerError = 6,
    /// Error 267: the server refuses this client version (`client_version` option).
    ClientTooOld = 7,
}

/// Why a session ended (`on_disconnected`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_disconnect_reason {
    /// `msim_session_disconnect()` (or a disconnect during login).
    Requested = 0,
    ServerClosed = 1,
    Network = 2,
    /// The server stopped acknowledging our data and keepalive probes for the dead-connection
    /// timeout (default 180 s). Silence alone never ends a session.
    Timeout = 3,
    /// Error 6: the account signed on somewhere else. Never reconnects.
    LoggedInElsewhere = 4,
    /// A fatal server error; see the code and text.
    ServerError = 5,
    /// The stream could not be read any more (e.g. a frame over the size cap).
    Protocol = 6,
    /// Automatic reconnect gave up.
    ReconnectFailed = 7,
    /// Error 2 or 3: the server no longer accepts the session key ("session expired"); with
    /// `auto_reconnect` the session logs in again (`again` true).
    SessionExpired = 8,
}

/// Answer kinds of `on_username_result`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_username_result {
    Available = 0,
    Taken = 1,
    /// The username is now the account's; sign-on continues.
    Set = 2,
    Failed = 3,
}

/// Direction of a traced frame.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_direction {
    In = 0,
    Out = 1,
}

/// Where a session is (`msim_session_get_state`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_session_state {
    Idle = 0,
    Connecting = 1,
    Challenged = 2,
    LoggingIn = 3,
    ChoosingUsername = 4,
    SigningOn = 5,
    SignedOn = 6,
    WaitingToReconnect = 7,
}

/// Session options for `msim_session_new_ex`. Fill with `msim_session_options_init()` first; a
/// zero numeric field means "the default".
///
/// Growth: later versions only append members, each meaning "the default" when zero; the macros
/// pass this header's `sizeof(msim_session_options)`. On a library older than your header, an
/// option it does not know must be left zero or `msim_session_new_ex` returns NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msim_session_options {
    /// An `msim_dispatch` value (a plain integer so that no invalid enum value can reach Rust).
    pub dispatch: u32,
    /// `GMainContext*` for MSIM_DISPATCH_GLIB; NULL = the default context. Ignored otherwise.
    pub glib_context: *mut c_void,
    /// `clientver`/`cv` sent to the server; 0 = 697 (Pidgin's).
    pub client_version: u32,
    /// Per-address TCP connect timeout; 0 = 30 000.
    pub connect_timeout_ms: u32,
    /// Request reply timeout; 0 = 60 000.
    pub request_timeout_ms: u32,
    /// Sign on with an empty list after this long without the contact list; 0 = 10 000.
    pub contact_list_timeout_ms: u32,
    /// The server's TCP stack acknowledged nothing (neither our data nor keepalive probes) for
    /// this long = dead connection; 0 = 180 000. A server that is merely silent is never
    /// dropped: revival servers send nothing for hours. See `disable_dead_connection_check`.
    pub dead_connection_timeout_ms: u32,
    /// Mail check period; 0 = 60 000. See `disable_mail_check`.
    pub mail_check_interval_ms: u32,
    /// Never check for new mail (no `on_mail_alert`).
    pub disable_mail_check: bool,
    /// Reconnect automatically after losing a signed-on connection.
    pub auto_reconnect: bool,
    /// Reconnect attempts before giving up; 0 = 10. UINT32_MAX = never give up.
    pub reconnect_max_attempts: u32,
    /// First reconnect delay, doubled per attempt; 0 = 1 000.
    pub reconnect_initial_delay_ms: u32,
    /// Cap of the reconnect delay; 0 = 60 000.
    pub reconnect_max_delay_ms: u32,
    /// Accounts without a username sign on without one instead of stopping at
    /// `on_username_required` (which is also what happens when that callback is NULL).
    pub skip_username: bool,
    /// Cap of the callback queue in POLL/GLIB mode, in events; 0 = 4096. When it (or
    /// `max_queued_event_bytes`) is full the session stops reading from the network until the
    /// host dispatches.
    pub max_queued_events: u32,
    /// Never check whether the connection is dead (no TCP keepalive probes, no user timeout):
    /// the session then ends only when the server closes it or the OS gives up on it.
    pub disable_dead_connection_check: bool,
    /// Cap in bytes of what waits to be sent (queued operations, IMs waiting for a connection);
    /// 0 = 2 MiB. Past it operations return `MSIM_RESULT_QUEUE_FULL` at once: a server that
    /// stops reading never blocks the caller and never grows memory.
    pub max_send_queue_bytes: u32,
    /// Cap in bytes of the callback queue in POLL/GLIB mode (the strings the queued events
    /// carry); 0 = 4 MiB. One event larger than the cap is still queued, alone.
    pub max_queued_event_bytes: u32,
    /// Connect to the given port only. By default, when the port is 1863 (or 0) and connecting
    /// fails, the ports the official client fell back to are tried in order: 6660, 6661, 6662,
    /// 6665, 6668, 6669, 80, 443 (not after a failed name lookup).
    pub disable_alternate_ports: bool,
    /// A port that worked before (`msim_session_get_port`, persisted by you): tried first; 0 =
    /// none.
    pub preferred_port: u32,
}

/// User info given to `on_user_info` / `on_lookup_result`. Strings are NULL when unknown and
/// borrowed for the duration of the callback.
#[repr(C)]
pub struct msim_user_info {
    pub uid: u32,
    /// NULL for a user who has not chosen a username.
    pub username: *const c_char,
    pub display_name: *const c_char,
    pub image_url: *const c_char,
    pub headline: *const c_char,
    pub band: *const c_char,
    pub song: *const c_char,
    pub gender: *const c_char,
    pub location: *const c_char,
    /// 0 = unknown.
    pub age: u32,
    /// -1 = unknown (only by-id lookups return it).
    pub total_friends: i64,
}

/// One contact-list entry given to `on_contact_list`; strings borrowed for the callback.
#[repr(C)]
pub struct msim_contact {
    pub uid: u32,
    /// NULL until known; an `on_user_info` for this uid follows when it was not.
    pub username: *const c_char,
    /// Never NULL ("IM Friends" when the server has none).
    pub group: *const c_char,
    pub nickname: *const c_char,
    pub headline: *const c_char,
    /// On the block list rather than the buddy list.
    pub blocked: bool,
}

/// One contact group given to `on_groups`; the name is borrowed for the callback.
#[repr(C)]
pub struct msim_group {
    pub id: u32,
    pub name: *const c_char,
    pub position: u32,
    pub flags: u32,
}

/// One web-challenge pair given to `on_web_challenge` (SPEC §14); `data` is borrowed for the
/// callback.
#[repr(C)]
pub struct msim_web_challenge {
    /// `Challenge`, a 10-digit number.
    pub challenge: u64,
    /// `ChallengeData`, base64-decoded: `data_len` bytes (64 in the capture; not NUL-terminated).
    pub data: *const u8,
    pub data_len: usize,
}

/// What an `on_buddy_notice` carries (SPEC §11.2, §11.6).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_notice_kind {
    /// bm 200: the sender's client description (free text).
    ClientVersion = 0,
    /// bm 126: a mood/status text (format unknown, passed on as sent).
    Mood = 1,
    /// bm 124: a profile message (format unknown, passed on as sent).
    Profile = 2,
}

pub(crate) fn notice_kind(k: NoticeKind) -> msim_notice_kind {
    match k {
        NoticeKind::ClientVersion => msim_notice_kind::ClientVersion,
        NoticeKind::Mood => msim_notice_kind::Mood,
        NoticeKind::Profile => msim_notice_kind::Profile,
    }
}

pub(crate) fn web_challenge(w: &WebChallenge) -> msim_web_challenge {
    msim_web_challenge { challenge: w.challenge, data: w.data.as_ptr(), data_len: w.data.len() }
}

/// A Rust string as a C string for a callback; interior NULs (which C cannot carry) are dropped.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "")).unwrap_or_default())
}

/// Owns the C strings behind a borrowed-string struct while the callback runs.
#[derive(Default)]
pub(crate) struct Strings(Vec<CString>);

impl Strings {
    pub(crate) fn add(&mut self, s: &str) -> *const c_char {
        let c = c_string(s);
        let p = c.as_ptr();
        self.0.push(c); // moving the CString does not move its heap buffer
        p
    }

    pub(crate) fn opt(&mut self, s: Option<&str>) -> *const c_char {
        s.map_or(ptr::null(), |s| self.add(s))
    }
}

pub(crate) fn user_info(i: &UserInfo, st: &mut Strings) -> msim_user_info {
    msim_user_info {
        uid: i.uid,
        username: st.opt(i.username.as_deref()),
        display_name: st.opt(i.display_name.as_deref()),
        image_url: st.opt(i.image_url.as_deref()),
        headline: st.opt(i.headline.as_deref()),
        band: st.opt(i.band.as_deref()),
        song: st.opt(i.song.as_deref()),
        gender: st.opt(i.gender.as_deref()),
        location: st.opt(i.location.as_deref()),
        age: i.age.unwrap_or(0),
        total_friends: i.total_friends.map_or(-1, i64::from),
    }
}

pub(crate) fn contact(c: &Contact, st: &mut Strings) -> msim_contact {
    msim_contact {
        uid: c.uid,
        username: st.opt(c.username.as_deref()),
        group: st.add(&c.group),
        nickname: st.opt(c.nickname.as_deref()),
        headline: st.opt(c.headline.as_deref()),
        blocked: c.blocked,
    }
}

pub(crate) fn group(g: &Group, st: &mut Strings) -> msim_group {
    msim_group { id: g.id, name: st.add(&g.name), position: g.position, flags: g.flags }
}

pub(crate) fn presence(p: Presence) -> msim_presence {
    match p {
        Presence::Offline => msim_presence::Offline,
        Presence::Idle => msim_presence::Idle,
        Presence::Away => msim_presence::Away,
        Presence::Online | Presence::Other(_) => msim_presence::Online,
    }
}

/// An `msim_status` integer from C.
pub(crate) fn own_status(s: u32) -> Option<OwnStatus> {
    Some(match s {
        x if x == msim_status::Available as u32 => OwnStatus::Available,
        x if x == msim_status::Away as u32 => OwnStatus::Away,
        x if x == msim_status::Idle as u32 => OwnStatus::Idle,
        x if x == msim_status::Invisible as u32 => OwnStatus::Invisible,
        _ => return None,
    })
}

/// An `msim_dispatch` integer from C.
pub(crate) fn dispatch(d: u32) -> Option<msim_dispatch> {
    [msim_dispatch::Thread, msim_dispatch::Poll, msim_dispatch::Glib].into_iter().find(|m| *m as u32 == d)
}

pub(crate) fn login_failure(r: LoginFailure) -> msim_login_failure {
    match r {
        LoginFailure::BadPassword => msim_login_failure::BadPassword,
        LoginFailure::UnknownAccount => msim_login_failure::UnknownAccount,
        LoginFailure::LoggedInElsewhere => msim_login_failure::LoggedInElsewhere,
        LoginFailure::Network => msim_login_failure::Network,
        LoginFailure::Timeout => msim_login_failure::Timeout,
        LoginFailure::Protocol => msim_login_failure::Protocol,
        LoginFailure::Server => msim_login_failure::ServerError,
        LoginFailure::ClientTooOld => msim_login_failure::ClientTooOld,
    }
}

pub(crate) fn disconnect_reason(r: DisconnectReason) -> msim_disconnect_reason {
    match r {
        DisconnectReason::Requested => msim_disconnect_reason::Requested,
        DisconnectReason::ServerClosed => msim_disconnect_reason::ServerClosed,
        DisconnectReason::Network => msim_disconnect_reason::Network,
        DisconnectReason::Timeout => msim_disconnect_reason::Timeout,
        DisconnectReason::LoggedInElsewhere => msim_disconnect_reason::LoggedInElsewhere,
        DisconnectReason::ServerError => msim_disconnect_reason::ServerError,
        DisconnectReason::Protocol => msim_disconnect_reason::Protocol,
        DisconnectReason::ReconnectFailed => msim_disconnect_reason::ReconnectFailed,
        DisconnectReason::SessionExpired => msim_disconnect_reason::SessionExpired,
    }
}

pub(crate) fn username_result(o: UsernameOutcome) -> msim_username_result {
    match o {
        UsernameOutcome::Available => msim_username_result::Available,
        UsernameOutcome::Taken => msim_username_result::Taken,
        UsernameOutcome::Set => msim_username_result::Set,
        UsernameOutcome::Failed => msim_username_result::Failed,
    }
}

pub(crate) fn state(p: Phase) -> msim_session_state {
    match p {
        Phase::Idle => msim_session_state::Idle,
        Phase::Connecting => msim_session_state::Connecting,
        Phase::AwaitingChallenge => msim_session_state::Challenged,
        Phase::LoggingIn => msim_session_state::LoggingIn,
        Phase::ChoosingUsername => msim_session_state::ChoosingUsername,
        Phase::SigningOn => msim_session_state::SigningOn,
        Phase::SignedOn => msim_session_state::SignedOn,
        Phase::WaitingToReconnect => msim_session_state::WaitingToReconnect,
    }
}

/// A client error as a result code plus the server's own number (0 when there is none).
pub(crate) fn result_of(e: &Error) -> (msim_result, u32) {
    let code = match e {
        Error::Server { code, .. } => *code,
        _ => 0,
    };
    (msim_result::from(e), code)
}
