//! `msim_callbacks`: the host's function table, and turning one client [`Event`] into one
//! callback call with borrowed C strings.

use std::os::raw::{c_char, c_void};
use std::ptr;

use crate::client::events::Direction;
use crate::client::Event;

use super::group_chat::msim_group_chat;
use super::presence::msim_buddy_status;
use super::result::msim_result;
use super::types::{
    self, msim_contact, msim_direction, msim_disconnect_reason, msim_group, msim_login_failure, msim_notice_kind,
    msim_presence, msim_user_info, msim_username_result, msim_web_challenge, Strings,
};

/// The host's callbacks. Every member may be NULL (that event is then dropped). Each receives the
/// `userdata` given to `msim_session_new` first.
///
/// Threads: in MSIM_DISPATCH_THREAD mode callbacks run on the session's IO thread; in POLL mode
/// inside `msim_session_dispatch()` on the caller's thread; in GLIB mode on the thread running the
/// GMainContext. Callbacks of one session never run concurrently with each other and arrive in
/// order. msim holds no lock while calling them: a callback may call any msim function, including
/// `msim_session_free()` on its own session.
///
/// Strings and structs passed to a callback are borrowed: valid until the callback returns; copy
/// what you keep. Strings are UTF-8; "may be NULL" ones say so.
///
/// Growth: later versions only append members. The `msim_session_new`/`_new_ex` macros pass this
/// header's `sizeof(msim_callbacks)`, so a program built against it runs unchanged on a newer
/// libmsim (the newer callbacks stay NULL for it) and on an older one (callbacks it does not know
/// are never called).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct msim_callbacks {
    /// Connection progress: `step` of `total` (1 connecting, 2 challenge, 3 logging in,
    /// 4 loading the contact list), with a human-readable text.
    pub on_progress: Option<unsafe extern "C" fn(userdata: *mut c_void, step: u32, total: u32, text: *const c_char)>,
    /// Signed on: the contact list has arrived (or its wait timed out, reported by `on_error`
    /// just before). `username` is NULL when the account has none.
    pub on_signed_on: Option<unsafe extern "C" fn(userdata: *mut c_void, uid: u32, username: *const c_char)>,
    /// The connect attempt failed before sign-on. Terminal for this connect: nothing follows.
    /// `code` is the server's error number (260 bad password, …) or 0.
    pub on_login_failed:
        Option<unsafe extern "C" fn(userdata: *mut c_void, reason: msim_login_failure, code: u32, text: *const c_char)>,
    /// A signed-on session ended, or `msim_session_disconnect()` was called. If `reconnecting`
    /// the session tries again (progress, then `on_signed_on`, `on_login_failed` or a final
    /// `on_disconnected`); otherwise it is terminal. `code` is the server's error number or 0.
    pub on_disconnected: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            reason: msim_disconnect_reason,
            code: u32,
            text: *const c_char,
            reconnecting: bool,
        ),
    >,
    /// The account has no username yet (SPEC §6.7): call `msim_session_check_username()` /
    /// `msim_session_set_username()`, or `msim_session_disconnect()`. Sign-on waits until then.
    pub on_username_required: Option<unsafe extern "C" fn(userdata: *mut c_void, uid: u32)>,
    /// Answer to a username check (AVAILABLE/TAKEN/FAILED) or set (SET/FAILED). `text` explains
    /// a failure ("" otherwise).
    pub on_username_result: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            request_id: u32,
            name: *const c_char,
            result: msim_username_result,
            text: *const c_char,
        ),
    >,
    /// An IM. `username` is NULL for a sender without a username, or when msim could not learn
    /// it: a message (IM, offline IM, typing, zap, presence, notice) from a user whose name msim
    /// does not know is held while msim looks the uid up (at most 5 s), and every user's messages
    /// wait for `on_signed_on` (offline IMs arrive before the contact list); one sender's messages
    /// keep their order (SPEC §24). `html` is the message as HTML, `plain` as plain text; `time`
    /// is Unix seconds (a time_t value): the original send time for offline messages (`offline`
    /// true), else the arrival time.
    pub on_im_received: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            from_uid: u32,
            username: *const c_char,
            html: *const c_char,
            plain: *const c_char,
            time: i64,
            offline: bool,
        ),
    >,
    /// An IM given to msim_session_send_im() has been written to the server. Every accepted IM
    /// gets exactly one of on_im_sent / on_im_failed, whether it went out at once or waited
    /// (connecting, reconnecting, a name lookup). MSIM has no delivery receipts.
    pub on_im_sent: Option<unsafe extern "C" fn(userdata: *mut c_void, message_id: u64)>,
    /// An IM accepted by `msim_session_send_im` could not be sent (no such user, connection lost
    /// for good, …).
    pub on_im_failed:
        Option<unsafe extern "C" fn(userdata: *mut c_void, message_id: u64, result: msim_result, text: *const c_char)>,
    /// Typing notification: `typing` true = started, false = stopped.
    pub on_typing:
        Option<unsafe extern "C" fn(userdata: *mut c_void, from_uid: u32, username: *const c_char, typing: bool)>,
    /// A zap (attention): `zap` 0–9 and its English name ("Hug", …).
    pub on_zap: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            from_uid: u32,
            username: *const c_char,
            zap: u32,
            zap_name: *const c_char,
        ),
    >,
    /// A user's presence and headline (status text, "" when none). Also for users not on your
    /// list; that never adds them to it. Not called when `on_buddy_status_ex` is set.
    pub on_buddy_status: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            uid: u32,
            username: *const c_char,
            presence: msim_presence,
            headline: *const c_char,
        ),
    >,
    /// Fresh info about a user: your own at sign-on, contacts whose username was not known,
    /// IM senders.
    pub on_user_info: Option<unsafe extern "C" fn(userdata: *mut c_void, info: *const msim_user_info)>,
    /// Answer to `msim_session_lookup_user`: `info` is NULL when there is no such user
    /// (`result` OK) or the lookup failed (`result` says why).
    pub on_lookup_result: Option<
        unsafe extern "C" fn(userdata: *mut c_void, request_id: u32, result: msim_result, info: *const msim_user_info),
    >,
    /// The server-side contact list: at sign-on (before `on_signed_on`), after an import, or late
    /// after the sign-on timeout. `contacts` is an array of `count` entries.
    pub on_contact_list:
        Option<unsafe extern "C" fn(userdata: *mut c_void, contacts: *const msim_contact, count: usize)>,
    /// `msim_session_add_buddy` completed.
    pub on_buddy_added:
        Option<unsafe extern "C" fn(userdata: *mut c_void, uid: u32, username: *const c_char, group: *const c_char)>,
    /// `msim_session_remove_buddy` completed.
    pub on_buddy_removed: Option<unsafe extern "C" fn(userdata: *mut c_void, uid: u32, username: *const c_char)>,
    /// `msim_session_block` (blocked true) or `msim_session_unblock` (false) completed.
    pub on_buddy_blocked:
        Option<unsafe extern "C" fn(userdata: *mut c_void, uid: u32, username: *const c_char, blocked: bool)>,
    /// Answer to `msim_session_request_groups`: an array of `count` groups.
    pub on_groups: Option<unsafe extern "C" fn(userdata: *mut c_void, groups: *const msim_group, count: usize)>,
    /// Answer to `msim_session_import_friends`: on OK, `count` contacts are now on the list
    /// (an `on_contact_list` came just before); otherwise `text` says why.
    pub on_import_result:
        Option<unsafe extern "C" fn(userdata: *mut c_void, result: msim_result, count: u32, text: *const c_char)>,
    /// New inbox items (SPEC §13): `new_flags` appeared for the first time this session,
    /// `all_flags` is every flag seen. Bits: msim_mail_flag (MSIM_MAIL_FLAG_MAIL 1, BLOG_COMMENT
    /// 2, PROFILE_COMMENT 4, FRIEND_REQUEST 8, PICTURE_COMMENT 16, EVENT_INVITATION 32).
    pub on_mail_alert: Option<unsafe extern "C" fn(userdata: *mut c_void, new_flags: u32, all_flags: u32)>,
    /// Server settings (SPEC §8) as `count` key/value pairs, reported when they change.
    pub on_server_info: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            keys: *const *const c_char,
            values: *const *const c_char,
            count: usize,
        ),
    >,
    /// A non-fatal problem: a server error message, a failed or timed-out request, a malformed
    /// message that was skipped (MSIM_RESULT_EMBEDDED_NUL: a received message whose text contains
    /// a NUL byte, not delivered), a sign-on warning. `server_code` is the server's number or 0.
    pub on_error:
        Option<unsafe extern "C" fn(userdata: *mut c_void, result: msim_result, server_code: u32, text: *const c_char)>,
    /// A message msim does not act on (an unknown kind, a reply nobody asked for, a `!!!` control
    /// string other than a zap — never shown as an IM, SPEC §25) as wire text.
    pub on_unhandled: Option<unsafe extern "C" fn(userdata: *mut c_void, frame: *const c_char)>,
    /// Every frame in and out as wire text, the login `response` redacted. Costs a copy per
    /// frame: leave NULL unless you want it.
    pub on_trace: Option<unsafe extern "C" fn(userdata: *mut c_void, direction: msim_direction, frame: *const c_char)>,
    /// Answer to `msim_session_save_group` or `msim_session_rename_group`: on OK `group` is the
    /// group as the server echoed it (`id` 0 after a save whose reply carries no group id;
    /// `msim_session_request_groups` lists it with its id) and `text` is ""; otherwise `group` is
    /// NULL and `text` says why. Runs where every
    /// callback runs (see above); `group`, its name and `text` are valid until it returns.
    pub on_group_saved: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            request_id: u32,
            result: msim_result,
            group: *const msim_group,
            text: *const c_char,
        ),
    >,
    /// Own privacy settings as the server stores them, at every sign-on (SPEC §9.4):
    /// `show_only_to_list` (presence only for your list and permitted users), `privacy_mode`
    /// and `offline_message_mode` as sent (only bit 0 of `privacy_mode` can be set, with
    /// `msim_session_set_privacy`; the other bits and `offline_message_mode` have no known
    /// meaning). Runs where every callback runs; no pointers.
    pub on_privacy: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            show_only_to_list: bool,
            privacy_mode: u32,
            offline_message_mode: u32,
        ),
    >,
    /// The server's answer to `msim_session_request_web_challenge` (SPEC §14): `count` pairs of
    /// challenge number and challenge bytes. How the official client computed its web-login
    /// response from them is unknown, so msim cannot answer it. Runs where every callback runs;
    /// the array and every `data` buffer are valid until it returns.
    pub on_web_challenge:
        Option<unsafe extern "C" fn(userdata: *mut c_void, challenges: *const msim_web_challenge, count: usize)>,
    /// A client-version (bm 200), mood (bm 126) or profile (bm 124) message from `from_uid`
    /// (`username` may be NULL), with its text as sent ("" when empty). Runs where every
    /// callback runs; `username` and `text` are valid until it returns.
    pub on_buddy_notice: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            from_uid: u32,
            username: *const c_char,
            kind: msim_notice_kind,
            text: *const c_char,
        ),
    >,
    /// A user's presence with everything the server sent (SPEC §25: later servers add `ts`, Unix
    /// time, and `caps`); see `msim_buddy_status`. When set, it is called for every presence
    /// update *instead of* `on_buddy_status` (set one or the other). Runs where every callback
    /// runs; `status` and its strings are valid until it returns.
    pub on_buddy_status_ex: Option<unsafe extern "C" fn(userdata: *mut c_void, status: *const msim_buddy_status)>,
    /// Group-chat traffic (SPEC §25): a message to chat `gid` from `actor_uid`, the actor
    /// leaving, or other group traffic; see `msim_group_chat`. Never reported as an IM, typing or
    /// zap. Only receiving is known: msim has no function to send to a group chat. Runs where
    /// every callback runs; `chat` and its strings are valid until it returns.
    pub on_group_chat: Option<unsafe extern "C" fn(userdata: *mut c_void, chat: *const msim_group_chat)>,
    /// Answer to `msim_session_remove_group` for group `group_id`: `result` OK and `text` "", or
    /// why it failed. Runs where every callback runs; `text` is valid until it returns.
    pub on_group_removed: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            request_id: u32,
            group_id: u32,
            result: msim_result,
            text: *const c_char,
        ),
    >,
    /// A contact's profile-picture URL as the contact list carries it (`AvatarUrl`, SPEC §10.1):
    /// right after `on_contact_list`, once per contact whose record has one; "" = no picture.
    /// Lookups and `on_user_info` carry it too, as `msim_user_info.image_url`. The URL changes
    /// when the picture does, so it can serve as the picture's checksum (SPEC §9.3: Pidgin
    /// fetches it over HTTP only when it changed). `username` is NULL when not known yet (an
    /// `on_user_info` with the URL follows). Runs where every callback runs; the strings are
    /// valid until it returns.
    pub on_buddy_picture: Option<
        unsafe extern "C" fn(userdata: *mut c_void, uid: u32, username: *const c_char, image_url: *const c_char),
    >,
}

/// Bits of the flags of `on_mail_alert` (SPEC §13).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_mail_flag {
    Mail = 1,
    BlogComment = 2,
    ProfileComment = 4,
    FriendRequest = 8,
    PictureComment = 16,
    EventInvitation = 32,
}

/// The host's `void *userdata`; msim never dereferences it.
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub *mut c_void);
// SAFETY: msim only passes the pointer back to the host's callbacks; what it points to and on
// which threads it may be used is the host's contract (documented per dispatch mode).
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// Calls the callback for `ev`, if the host set one.
pub(crate) fn invoke(cb: &msim_callbacks, ud: UserData, ev: &Event) {
    let u = ud.0;
    let mut st = Strings::default();
    // SAFETY (all calls below): the host promised valid function pointers; every pointer argument
    // points into `st` or a local that outlives the call.
    unsafe {
        match ev {
            Event::Progress { step, total, text } => {
                if let Some(f) = cb.on_progress {
                    f(u, *step, *total, st.add(text))
                }
            }
            Event::SignedOn { uid, username } => {
                if let Some(f) = cb.on_signed_on {
                    f(u, *uid, st.opt(username.as_deref()))
                }
            }
            Event::LoginFailed { reason, code, text } => {
                if let Some(f) = cb.on_login_failed {
                    f(u, types::login_failure(*reason), *code, st.add(text))
                }
            }
            Event::Disconnected { reason, code, text, reconnecting } => {
                if let Some(f) = cb.on_disconnected {
                    f(u, types::disconnect_reason(*reason), *code, st.add(text), *reconnecting)
                }
            }
            Event::UsernameRequired { uid } => {
                if let Some(f) = cb.on_username_required {
                    f(u, *uid)
                }
            }
            Event::UsernameResult { request, name, outcome, text } => {
                if let Some(f) = cb.on_username_result {
                    f(u, *request, st.add(name), types::username_result(*outcome), st.add(text))
                }
            }
            Event::ImReceived { from, username, html, plain, time, offline } => {
                if let Some(f) = cb.on_im_received {
                    let t = i64::try_from(*time).unwrap_or(i64::MAX);
                    f(u, *from, st.opt(username.as_deref()), st.add(html), st.add(plain), t, *offline)
                }
            }
            Event::ImSent { id } => {
                if let Some(f) = cb.on_im_sent {
                    f(u, *id)
                }
            }
            Event::ImFailed { id, error } => {
                if let Some(f) = cb.on_im_failed {
                    f(u, *id, types::result_of(error).0, st.add(&error.to_string()))
                }
            }
            Event::Typing { from, username, typing } => {
                if let Some(f) = cb.on_typing {
                    f(u, *from, st.opt(username.as_deref()), *typing)
                }
            }
            Event::Zap { from, username, zap } => {
                if let Some(f) = cb.on_zap {
                    f(u, *from, st.opt(username.as_deref()), zap.number(), st.add(zap.name()))
                }
            }
            Event::BuddyStatus { uid, username, presence, headline, ts, caps } => {
                if let Some(f) = cb.on_buddy_status_ex {
                    let (user, caps) = (username.as_deref(), caps.as_deref());
                    let s = super::presence::buddy_status(*uid, user, *presence, headline, *ts, caps, &mut st);
                    f(u, &s)
                } else if let Some(f) = cb.on_buddy_status {
                    f(u, *uid, st.opt(username.as_deref()), types::presence(*presence), st.add(headline))
                }
            }
            Event::GroupChat { gid, from, actor, username, kind, html, plain, time } => {
                if let Some(f) = cb.on_group_chat {
                    let user = username.as_deref();
                    let c =
                        super::group_chat::group_chat(*gid, *from, *actor, user, *kind, html, plain, *time, &mut st);
                    f(u, &c)
                }
            }
            Event::UserInfo(info) => {
                if let Some(f) = cb.on_user_info {
                    let i = types::user_info(info, &mut st);
                    f(u, &i)
                }
            }
            Event::LookupResult { request, result } => {
                if let Some(f) = cb.on_lookup_result {
                    match result {
                        Ok(Some(info)) => {
                            let i = types::user_info(info, &mut st);
                            f(u, *request, msim_result::Ok, &i)
                        }
                        Ok(None) => f(u, *request, msim_result::Ok, ptr::null()),
                        Err(e) => f(u, *request, types::result_of(e).0, ptr::null()),
                    }
                }
            }
            Event::ContactList(list) => {
                if let Some(f) = cb.on_contact_list {
                    let v: Vec<msim_contact> = list.iter().map(|c| types::contact(c, &mut st)).collect();
                    f(u, v.as_ptr(), v.len())
                }
            }
            Event::BuddyAdded { uid, username, group } => {
                if let Some(f) = cb.on_buddy_added {
                    f(u, *uid, st.opt(username.as_deref()), st.add(group))
                }
            }
            Event::BuddyRemoved { uid, username } => {
                if let Some(f) = cb.on_buddy_removed {
                    f(u, *uid, st.opt(username.as_deref()))
                }
            }
            Event::BuddyBlocked { uid, username, blocked } => {
                if let Some(f) = cb.on_buddy_blocked {
                    f(u, *uid, st.opt(username.as_deref()), *blocked)
                }
            }
            Event::Groups(groups) => {
                if let Some(f) = cb.on_groups {
                    let v: Vec<msim_group> = groups.iter().map(|g| types::group(g, &mut st)).collect();
                    f(u, v.as_ptr(), v.len())
                }
            }
            Event::ImportResult { result } => {
                if let Some(f) = cb.on_import_result {
                    match result {
                        Ok(n) => f(u, msim_result::Ok, *n, st.add("")),
                        Err(e) => f(u, types::result_of(e).0, 0, st.add(&e.to_string())),
                    }
                }
            }
            Event::MailAlert { new, all } => {
                if let Some(f) = cb.on_mail_alert {
                    f(u, *new, *all)
                }
            }
            Event::ServerInfo(pairs) => {
                if let Some(f) = cb.on_server_info {
                    let keys: Vec<*const c_char> = pairs.iter().map(|(k, _)| st.add(k)).collect();
                    let values: Vec<*const c_char> = pairs.iter().map(|(_, v)| st.add(v)).collect();
                    f(u, keys.as_ptr(), values.as_ptr(), pairs.len())
                }
            }
            Event::Error { error } => {
                if let Some(f) = cb.on_error {
                    let (r, code) = types::result_of(error);
                    f(u, r, code, st.add(&error.to_string()))
                }
            }
            Event::Unhandled { text } => {
                if let Some(f) = cb.on_unhandled {
                    f(u, st.add(text))
                }
            }
            Event::GroupSaved { request, result } => {
                if let Some(f) = cb.on_group_saved {
                    match result {
                        Ok(g) => {
                            let g = types::group(g, &mut st);
                            f(u, *request, msim_result::Ok, &g, st.add(""))
                        }
                        Err(e) => f(u, *request, types::result_of(e).0, ptr::null(), st.add(&e.to_string())),
                    }
                }
            }
            Event::GroupRemoved { request, id, result } => {
                if let Some(f) = cb.on_group_removed {
                    match result {
                        Ok(()) => f(u, *request, *id, msim_result::Ok, st.add("")),
                        Err(e) => f(u, *request, *id, types::result_of(e).0, st.add(&e.to_string())),
                    }
                }
            }
            Event::PrivacySettings(p) => {
                if let Some(f) = cb.on_privacy {
                    f(u, p.show_only_to_list, p.privacy_mode, p.offline_message_mode)
                }
            }
            Event::WebChallenge(pairs) => {
                if let Some(f) = cb.on_web_challenge {
                    let v: Vec<msim_web_challenge> = pairs.iter().map(types::web_challenge).collect();
                    f(u, v.as_ptr(), v.len())
                }
            }
            Event::BuddyNotice { from, username, kind, text } => {
                if let Some(f) = cb.on_buddy_notice {
                    f(u, *from, st.opt(username.as_deref()), types::notice_kind(*kind), st.add(text))
                }
            }
            Event::BuddyPicture { uid, username, url } => {
                if let Some(f) = cb.on_buddy_picture {
                    f(u, *uid, st.opt(username.as_deref()), st.add(url))
                }
            }
            Event::Trace { dir, text } => {
                if let Some(f) = cb.on_trace {
                    let d = match dir {
                        Direction::In => msim_direction::In,
                        Direction::Out => msim_direction::Out,
                    };
                    f(u, d, st.add(text))
                }
            }
        }
    }
}

/// True when the host has a callback for `ev` (events without one are not even queued).
pub(crate) fn wants(cb: &msim_callbacks, ev: &Event) -> bool {
    match ev {
        Event::Progress { .. } => cb.on_progress.is_some(),
        Event::SignedOn { .. } => cb.on_signed_on.is_some(),
        Event::LoginFailed { .. } => cb.on_login_failed.is_some(),
        Event::Disconnected { .. } => cb.on_disconnected.is_some(),
        Event::UsernameRequired { .. } => cb.on_username_required.is_some(),
        Event::UsernameResult { .. } => cb.on_username_result.is_some(),
        Event::ImReceived { .. } => cb.on_im_received.is_some(),
        Event::ImSent { .. } => cb.on_im_sent.is_some(),
        Event::ImFailed { .. } => cb.on_im_failed.is_some(),
        Event::Typing { .. } => cb.on_typing.is_some(),
        Event::Zap { .. } => cb.on_zap.is_some(),
        Event::BuddyStatus { .. } => cb.on_buddy_status.is_some() || cb.on_buddy_status_ex.is_some(),
        Event::GroupChat { .. } => cb.on_group_chat.is_some(),
        Event::UserInfo(_) => cb.on_user_info.is_some(),
        Event::LookupResult { .. } => cb.on_lookup_result.is_some(),
        Event::ContactList(_) => cb.on_contact_list.is_some(),
        Event::BuddyAdded { .. } => cb.on_buddy_added.is_some(),
        Event::BuddyRemoved { .. } => cb.on_buddy_removed.is_some(),
        Event::BuddyBlocked { .. } => cb.on_buddy_blocked.is_some(),
        Event::Groups(_) => cb.on_groups.is_some(),
        Event::ImportResult { .. } => cb.on_import_result.is_some(),
        Event::MailAlert { .. } => cb.on_mail_alert.is_some(),
        Event::ServerInfo(_) => cb.on_server_info.is_some(),
        Event::Error { .. } => cb.on_error.is_some(),
        Event::Unhandled { .. } => cb.on_unhandled.is_some(),
        Event::Trace { .. } => cb.on_trace.is_some(),
        Event::GroupSaved { .. } => cb.on_group_saved.is_some(),
        Event::GroupRemoved { .. } => cb.on_group_removed.is_some(),
        Event::PrivacySettings(_) => cb.on_privacy.is_some(),
        Event::WebChallenge(_) => cb.on_web_challenge.is_some(),
        Event::BuddyNotice { .. } => cb.on_buddy_notice.is_some(),
        Event::BuddyPicture { .. } => cb.on_buddy_picture.is_some(),
    }
}
