//! Buddy messages of `msim_session` other than IMs, typing and zaps: bm 122 "window opened" and
//! bm 200 client version (SPEC §11.2, §11.6). Received ones arrive as `on_typing` (bm 122) and
//! `on_buddy_notice` (bm 124, 126, 200).

use std::os::raw::c_char;

use crate::client::commands::default_client_description;

use super::boundary::arg_str;
use super::result::msim_result;
use super::session::{map, msim_session, opt_str_arg, with};

/// Tells `who` that you opened a conversation window with them: bm 122
/// `cmdtype=1&reqid=<n>&contenttype=1&`, as the official client did (SPEC §4.7, §11.2). An msim
/// peer reports it as `on_typing` true then false. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_send_window_opened(
    session: *mut msim_session,
    who: *const c_char,
) -> msim_result {
    with(session, |s| map(s.session.send_window_opened(arg_str(who)?)))
}

/// Sends `who` a client description (bm 200, SPEC §11.6): `text` (NULL = `"msim <version>"`;
/// exactly "final" gives MSIM_RESULT_INVALID_ARGUMENT). The peer gets it as `on_buddy_notice`
/// with MSIM_NOTICE_KIND_CLIENT_VERSION. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `who` NUL-terminated; `text` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_send_client_version(
    session: *mut msim_session,
    who: *const c_char,
    text: *const c_char,
) -> msim_result {
    with(session, |s| {
        let who = arg_str(who)?;
        let text = match opt_str_arg(text)? {
            Some(t) => t.to_owned(),
            None => default_client_description(),
        };
        map(s.session.send_client_version(who, &text))
    })
}
