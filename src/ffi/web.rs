//! The web challenge of `msim_session` (SPEC §14).

use super::result::msim_result;
use super::session::{map, msim_session, with};

/// Asks the server for a web-login challenge (`\webchlg\\sesskey\K\n\0\final\`, SPEC §14);
/// `on_web_challenge` with the server's (challenge, data) pairs follows. The algorithm that turns
/// them into the web site's login response is UNKNOWN (neither source explains it), so msim only
/// reports the pairs; it cannot log you in to a web site. Needs a signed-on session.
///
/// # Safety
/// `session` valid.
#[no_mangle]
pub unsafe extern "C" fn msim_session_request_web_challenge(session: *mut msim_session) -> msim_result {
    with(session, |s| map(s.session.request_web_challenge()))
}
