//! Privacy operations of `msim_session`: ShowOnlyToList / PrivacyMode and the allow (permit)
//! list (SPEC §9.4, §18.3, §18.4). The own settings arrive through `on_privacy`.

use std::os::raw::c_char;

use super::boundary::arg_str;
use super::result::msim_result;
use super::session::{map, msim_session, with};

/// Sets ShowOnlyToList (`show_only_to_list`: your presence is shown only to users on your contact
/// list, and on msim-server also to users you permitted) and PrivacyMode bit 0 (`privacy_mode`;
/// its effect is unknown, SPEC §22: it is stored and reported back) in one `\blocklist\`
/// (`w0`/`w1`, `c0`/`c1`, SPEC §18.4). There is no reply; `on_privacy` reports the stored values
/// at the next sign-on. Needs a signed-on session (see `msim_session` for the state results).
///
/// # Safety
/// `session` valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_set_privacy(
    session: *mut msim_session,
    show_only_to_list: bool,
    privacy_mode: bool,
) -> msim_result {
    with(session, |s| map(s.session.set_privacy(show_only_to_list, privacy_mode)))
}

/// Puts `who` (id, username or e-mail) on the allow (permit) list: `a+|uid` (SPEC §18.4). There
/// is no reply; an unknown name is reported through `on_error`. `msim_session_add_buddy` permits
/// the new contact too (SPEC §18.1). Needs a signed-on session.
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_permit(session: *mut msim_session, who: *const c_char) -> msim_result {
    with(session, |s| map(s.session.permit(arg_str(who)?)))
}

/// Takes `who` off the allow list: `a-|uid` (SPEC §18.4). There is no reply; an unknown name is
/// reported through `on_error`. Needs a signed-on session.
///
/// # Safety
/// `session` valid; `who` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_unpermit(session: *mut msim_session, who: *const c_char) -> msim_result {
    with(session, |s| map(s.session.unpermit(arg_str(who)?)))
}
