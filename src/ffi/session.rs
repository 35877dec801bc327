//! `msim_session`: the C face of [`crate::client::Session`].
//!
//! Every function checks its pointers and strings, catches panics, and maps client errors to
//! `msim_result` through `types::result_of`. Operations never block on the network (connect runs
//! on the IO thread); they may wait briefly for the socket's send buffer.

use std::os::raw::{c_char, c_int};
use std::sync::Arc;

use crate::client::config::{DEFAULT_HOST, DEFAULT_PORT};
use crate::client::{Credentials, Event, Session};
use crate::protocol::zap::Zap;

use super::boundary::{arg_str, guard_or, guard_result};
use super::callbacks::{invoke, msim_callbacks, wants, UserData};
use super::dispatch::EventQueue;
use super::result::msim_result;
use super::strings::string_to_c;
use super::types::{self, msim_session_state};

// Creation lives in `create.rs`; re-exported so that `session::*` is the whole session API.
pub use super::create::{
    msim_session_new, msim_session_new_ex, msim_session_new_sized, msim_session_options_init,
    msim_session_options_init_sized,
};

/// What the IO thread and the dispatching thread share.
pub(crate) struct Shared {
    pub(crate) callbacks: msim_callbacks,
    pub(crate) userdata: UserData,
    /// POLL and GLIB modes.
    pub(crate) queue: Option<EventQueue>,
}

impl Shared {
    /// Runs on the IO thread for every event.
    pub(crate) fn deliver(&self, ev: Event) {
        if !wants(&self.callbacks, &ev) {
            return;
        }
        match &self.queue {
            Some(q) => q.push(ev),
            None => invoke(&self.callbacks, self.userdata, &ev),
        }
    }

    /// Runs queued callbacks on the calling thread.
    pub(crate) fn dispatch(&self) -> usize {
        match &self.queue {
            Some(q) => q.dispatch(|ev| invoke(&self.callbacks, self.userdata, &ev)),
            None => 0,
        }
    }
}

/// An MSIM session (opaque): one account's connection to a server. Create with
/// `msim_session_new`/`_new_ex`, then `msim_session_connect`; free with `msim_session_free`.
///
/// Threads: every function may be called from any thread, concurrently, and from inside any
/// callback (msim never holds a lock while calling you) — except `msim_session_free`, which must
/// not race with other calls on the same session. Each session has one IO thread (small stack)
/// that connects, reads, writes and runs timers; where callbacks run is the dispatch mode's
/// choice (`msim_dispatch`). Operations never wait for the network: they queue and wake the IO
/// thread, which alone writes; network results arrive as callbacks.
///
/// Queues and caps: what waits to be written (or for a connection) 2 MiB by default
/// (`max_send_queue_bytes`; past it operations return MSIM_RESULT_QUEUE_FULL at once — a server
/// that stops reading never blocks you); POLL/GLIB callback queue 4096 events and 4 MiB by
/// default (then the IO thread stops reading until you dispatch); IMs waiting for a connection
/// 256; requests in flight 2048; operations waiting for one name lookup 256 (each then
/// MSIM_RESULT_QUEUE_FULL). A session holds two file descriptors: its socket and the IO thread's
/// wake-up eventfd.
/// Received messages held while a sender's name is looked up or until `on_signed_on`: 2048 events
/// and 1 MiB of text per session (past that the oldest are delivered at once, with the uid alone
/// if still unnamed); the uid → username cache: 512 KiB, names over 25 characters not kept.
///
/// Strings: arguments are copied before the function returns; strings and structs given to
/// callbacks are borrowed until the callback returns; strings returned through out-parameters are
/// yours (`msim_string_free`).
///
/// Results every operation shares: arguments are checked first — MSIM_RESULT_NULL_PARAMETER for a
/// NULL session or a NULL string that is not documented as optional, MSIM_RESULT_INVALID_UTF8 for
/// a string that is not UTF-8, MSIM_RESULT_INVALID_ARGUMENT for a malformed value. Then the state:
/// an operation that "needs a signed-on session" returns MSIM_RESULT_NOT_CONNECTED while the
/// session is idle (before `msim_session_connect`, after `msim_session_disconnect`, after a
/// connection ended) and MSIM_RESULT_NOT_SIGNED_ON while it is connecting, logging in, loading the
/// contact list or waiting to reconnect. Calling an operation twice is fine: each call is
/// independent (a second `msim_session_connect` gives MSIM_RESULT_ALREADY_CONNECTED, a second
/// `msim_session_disconnect` MSIM_RESULT_NOT_CONNECTED). MSIM_RESULT_PANIC means a bug in msim.
pub struct msim_session {
    pub(crate) shared: Arc<Shared>,
    pub(crate) session: Session,
    #[cfg(feature = "glib")]
    pub(crate) source: Option<glib::Source>,
}

/// A string argument that may be NULL.
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char) -> Result<Option<&'a str>, msim_result> {
    if p.is_null() {
        Ok(None)
    } else {
        arg_str(p).map(Some)
    }
}

/// Frees a session. NULL is a no-op. Safe while connected: logs out, closes the connection,
/// stops the IO thread; no callback of this session starts after this returns, and callbacks
/// running on other threads have finished (so do not call it while holding a lock that your
/// callbacks take). Pending IMs are dropped without `on_im_failed`.
///
/// It returns promptly: a TCP connect in progress is cancelled and the IO thread joined. Only a
/// host-name lookup (getaddrinfo) cannot be cancelled: if one is running, this waits for it up to
/// 2 s and then returns, leaving the IO thread to finish the lookup and exit on its own (no
/// callback runs). Pass an IP address to `msim_session_connect` if you unload libmsim right after.
///
/// Called from inside one of this session's callbacks: the same holds, except that the calling
/// callback itself continues until it returns (its borrowed arguments stay valid until then);
/// the IO thread then exits on its own. Do not use the pointer after this call.
///
/// # Safety
/// `session` must be NULL or a session from `msim_session_new*` not yet freed, and no other
/// thread may use it concurrently with or after this call.
#[no_mangle]
pub unsafe extern "C" fn msim_session_free(session: *mut msim_session) {
    if session.is_null() {
        return;
    }
    guard_or((), || {
        let b = Box::from_raw(session);
        if let Some(q) = &b.shared.queue {
            q.close();
        }
        #[cfg(feature = "glib")]
        if let Some(src) = &b.source {
            src.destroy();
        }
        b.session.close();
        drop(b);
    })
}

/// Runs `f` on a valid session, mapping errors.
pub(crate) unsafe fn with(
    session: *const msim_session,
    f: impl FnOnce(&msim_session) -> Result<(), msim_result>,
) -> msim_result {
    guard_result(|| {
        let s = session.as_ref().ok_or(msim_result::NullParameter)?;
        f(s)
    })
}

pub(crate) fn map<T>(r: crate::client::error::Result<T>) -> Result<T, msim_result> {
    r.map_err(msim_result::from)
}

pub(crate) unsafe fn write_out<T>(out: *mut T, v: T) {
    if let Some(o) = out.as_mut() {
        *o = v;
    }
}

/// Connects to `host:port` (NULL host = im.myspace.akadns.net, port 0 = 1863) and logs in with
/// the account's e-mail and password. Returns at once; progress, then `on_signed_on` or
/// `on_login_failed`, follow. The connect is given `connect_timeout_ms` per address (30 s); the
/// login challenge and then the login reply are each awaited for 60 s (a fixed login timeout)
/// before `on_login_failed` with MSIM_LOGIN_FAILURE_TIMEOUT. MSIM_RESULT_ALREADY_CONNECTED unless the session is idle. The
/// password itself is not kept: msim keeps its hash (password-equivalent for MSIM logins) for
/// automatic reconnects and wipes it when the session ends.
///
/// # Safety
/// `session` valid; strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_connect(
    session: *mut msim_session,
    host: *const c_char,
    port: u16,
    email: *const c_char,
    password: *const c_char,
) -> msim_result {
    with(session, |s| {
        let host = opt_str_arg(host)?.unwrap_or(DEFAULT_HOST);
        let port = if port == 0 { DEFAULT_PORT } else { port };
        let creds = Credentials { email: arg_str(email)?.to_owned(), password: arg_str(password)?.to_owned() };
        map(s.session.connect(host, port, creds))
    })
}

/// Logs out (`\logout\`) and closes; `on_disconnected(MSIM_DISCONNECT_REASON_REQUESTED)` follows, and
/// queued IMs get `on_im_failed`. MSIM_RESULT_NOT_CONNECTED when idle. The session may connect
/// again afterwards.
///
/// # Safety
/// `session` valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_disconnect(session: *mut msim_session) -> msim_result {
    with(session, |s| map(s.session.disconnect()))
}

/// Sends an IM. `who` is a user id ("6221"), a username or an e-mail; names are looked up once
/// and cached. `html` is converted to MSIM markup. On success `*out_message_id` (may be NULL)
/// gets the message id. Every IM accepted here is reported exactly once, with `on_im_sent` when it
/// has been written to the server or `on_im_failed` when it cannot be (unknown name, connection
/// lost for good); while connecting/reconnecting or waiting for a name lookup it is queued first.
/// (MSIM has no delivery receipts: "sent" means written to the server.) MSIM_RESULT_NOT_CONNECTED
/// when idle.
///
/// # Safety
/// `session` valid; strings NUL-terminated; `out_message_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_send_im(
    session: *mut msim_session,
    who: *const c_char,
    html: *const c_char,
    out_message_id: *mut u64,
) -> msim_result {
    with(session, |s| {
        let id = map(s.session.send_im(arg_str(who)?, arg_str(html)?))?;
        write_out(out_message_id, id);
        Ok(())
    })
}

/// Tells `who` you are typing (`typing` true) or stopped. Needs a signed-on session (see
/// `msim_session` for the state results).
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_send_typing(
    session: *mut msim_session,
    who: *const c_char,
    typing: bool,
) -> msim_result {
    with(session, |s| map(s.session.send_typing(arg_str(who)?, typing)))
}

/// Sends zap number `zap` (0 Zap, 1 Whack, 2 Torch, 3 Smooch, 4 Hug, 5 Slap, 6 Goose,
/// 7 High-five, 8 Punk, 9 Raspberry; others → MSIM_RESULT_INVALID_ARGUMENT). Needs a signed-on
/// session.
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_send_zap(
    session: *mut msim_session,
    who: *const c_char,
    zap: u32,
) -> msim_result {
    with(session, |s| {
        let who = arg_str(who)?;
        let z = Zap::from_number(zap).ok_or(msim_result::InvalidArgument)?;
        map(s.session.send_zap(who, z))
    })
}

/// Sets own presence (an `msim_status` value; others → MSIM_RESULT_INVALID_ARGUMENT) and status
/// message (plain text, NULL = none; exactly "final" → MSIM_RESULT_INVALID_ARGUMENT, SPEC §2.2).
/// Works in every state: before sign-on it is kept and sent at sign-on. Text a server stores —
/// this message, profile fields, group names, nicknames — may not contain control characters
/// other than tab, LF and CR (MSIM_RESULT_INVALID_ARGUMENT): a stored 0x1C would break the
/// contact lists of everyone who lists you.
///
/// # Safety
/// `session` valid; `message` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_set_status(
    session: *mut msim_session,
    status: u32,
    message: *const c_char,
) -> msim_result {
    with(session, |s| {
        let st = types::own_status(status).ok_or(msim_result::InvalidArgument)?;
        map(s.session.set_status(st, opt_str_arg(message)?.unwrap_or("")))
    })
}

/// Adds `who` to the contact list in `group` (NULL = "IM Friends"); `on_buddy_added` follows.
/// Needs a signed-on session.
///
/// # Safety
/// `session` valid; strings NULL (group only) or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_add_buddy(
    session: *mut msim_session,
    who: *const c_char,
    group: *const c_char,
) -> msim_result {
    with(session, |s| map(s.session.add_buddy(arg_str(who)?, opt_str_arg(group)?)))
}

/// Removes `who` from the contact list; `on_buddy_removed` follows. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_remove_buddy(session: *mut msim_session, who: *const c_char) -> msim_result {
    with(session, |s| map(s.session.remove_buddy(arg_str(who)?)))
}

/// Blocks `who`; `on_buddy_blocked(blocked=true)` follows. Needs a signed-on session. As in Pidgin
/// (SPEC §18.3) this also takes `who` off the contact list: the next contact list shows them with
/// `blocked` set.
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_block(session: *mut msim_session, who: *const c_char) -> msim_result {
    with(session, |s| map(s.session.block(arg_str(who)?)))
}

/// Unblocks `who`; `on_buddy_blocked(blocked=false)` follows. Needs a signed-on session. This
/// deletes the block entry and does not put `who` back on the contact list (use
/// `msim_session_add_buddy`).
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_unblock(session: *mut msim_session, who: *const c_char) -> msim_result {
    with(session, |s| map(s.session.unblock(arg_str(who)?)))
}

/// Saves a contact's group (NULL = "IM Friends") and nickname (NULL = none). Failures arrive
/// through `on_error`. Needs a signed-on session.
///
/// # Safety
/// `session` valid; strings NULL (group, nickname) or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_set_contact_info(
    session: *mut msim_session,
    who: *const c_char,
    group: *const c_char,
    nickname: *const c_char,
) -> msim_result {
    with(session, |s| {
        map(s.session.set_contact_info(arg_str(who)?, opt_str_arg(group)?, opt_str_arg(nickname)?.unwrap_or("")))
    })
}

/// Looks up a user by id, username or e-mail; `on_lookup_result` with the same request id
/// (written to `*out_request_id`, which may be NULL) follows. Needs a logged-in session (signed
/// on, or choosing a username): MSIM_RESULT_NOT_CONNECTED when idle, MSIM_RESULT_NOT_SIGNED_ON
/// before the login completed.
///
/// # Safety
/// `session` valid; `who` NUL-terminated; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_lookup_user(
    session: *mut msim_session,
    who: *const c_char,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let rid = map(s.session.lookup_user(arg_str(who)?))?;
        write_out(out_request_id, rid);
        Ok(())
    })
}

/// Asks whether a username is free (1–25 letters, digits or _, not all digits);
/// `on_username_result` (AVAILABLE/TAKEN/FAILED) follows. Needs a logged-in session, as
/// `msim_session_lookup_user`.
///
/// # Safety
/// `session` valid; `name` NUL-terminated; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_check_username(
    session: *mut msim_session,
    name: *const c_char,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let rid = map(s.session.check_username(arg_str(name)?))?;
        write_out(out_request_id, rid);
        Ok(())
    })
}

/// Sets the username of an account that has none (after `on_username_required`); it cannot be
/// changed later. `on_username_result` (SET, then sign-on continues; or FAILED) follows.
/// MSIM_RESULT_WRONG_STATE when the account already has one; otherwise the state results of
/// `msim_session_lookup_user`.
///
/// # Safety
/// `session` valid; `name` NUL-terminated; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_set_username(
    session: *mut msim_session,
    name: *const c_char,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let rid = map(s.session.set_username(arg_str(name)?))?;
        write_out(out_request_id, rid);
        Ok(())
    })
}

/// Requests the contact groups; `on_groups` follows. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_request_groups(
    session: *mut msim_session,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let rid = map(s.session.request_groups())?;
        write_out(out_request_id, rid);
        Ok(())
    })
}

/// Imports the account's myspace.com friends into the contact list; `on_contact_list` and
/// `on_import_result` follow. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `out_request_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_import_friends(
    session: *mut msim_session,
    out_request_id: *mut u32,
) -> msim_result {
    with(session, |s| {
        let rid = map(s.session.import_friends())?;
        write_out(out_request_id, rid);
        Ok(())
    })
}

/// Checks for new mail now (it is also checked periodically unless disabled). Needs a signed-on
/// session.
///
/// # Safety
/// `session` valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_check_mail(session: *mut msim_session) -> msim_result {
    with(session, |s| map(s.session.check_mail()))
}

/// Own user id; 0 before login or for NULL.
///
/// # Safety
/// `session` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_get_uid(session: *const msim_session) -> u32 {
    guard_or(0, || session.as_ref().map_or(0, |s| s.session.uid()))
}

/// Own username into `*out_username` (free it with `msim_string_free`); NULL is written when the
/// account has none or is not logged in.
///
/// # Safety
/// `session` valid; `out_username` writable.
#[no_mangle]
pub unsafe extern "C" fn msim_session_get_username(
    session: *const msim_session,
    out_username: *mut *mut c_char,
) -> msim_result {
    with(session, |s| {
        let out = out_username.as_mut().ok_or(msim_result::NullParameter)?;
        *out = match s.session.username() {
            Some(n) => string_to_c(n)?,
            None => std::ptr::null_mut(),
        };
        Ok(())
    })
}

/// The port of the session's last connection that opened — after a fallback (see
/// `disable_alternate_ports`) not necessarily the one you asked for. Persist it and pass it back
/// as `preferred_port` next time. 0 before the first connection, or for NULL.
///
/// # Safety
/// `session` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_get_port(session: *const msim_session) -> u16 {
    guard_or(0, || session.as_ref().and_then(|s| s.session.port()).unwrap_or(0))
}

/// Where the session is; MSIM_SESSION_STATE_IDLE for NULL.
///
/// # Safety
/// `session` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_get_state(session: *const msim_session) -> msim_session_state {
    guard_or(msim_session_state::Idle, || {
        session.as_ref().map_or(msim_session_state::Idle, |s| types::state(s.session.phase()))
    })
}

/// MSIM_DISPATCH_POLL/GLIB: a file descriptor that is readable while callbacks are queued; watch
/// it for reading and call `msim_session_dispatch()`. Owned by the session (do not close or read
/// it). -1 in THREAD mode or for NULL.
///
/// # Safety
/// `session` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_fd(session: *const msim_session) -> c_int {
    guard_or(-1, || session.as_ref().and_then(|s| s.shared.queue.as_ref()).map_or(-1, |q| q.fd()))
}

/// MSIM_DISPATCH_POLL: runs queued callbacks (up to 256 per call) on the calling thread and
/// returns how many ran (0 in THREAD mode, for NULL, or when none were queued). Call it from one
/// thread at a time. A callback may free the session; dispatch then stops and returns.
///
/// # Safety
/// `session` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_dispatch(session: *mut msim_session) -> c_int {
    guard_or(0, || {
        // Only the Arc is used after this line: a callback may free the session.
        let Some(shared) = session.as_ref().map(|s| s.shared.clone()) else { return 0 };
        shared.dispatch() as c_int
    })
}
