//! `msim_buddy_status`: a buddy's presence with the extras later servers send (SPEC §25 "Status
//! extras"), given to `on_buddy_status_ex`. `on_buddy_status` keeps its signature for hosts built
//! against older headers; this struct carries what it cannot, and grows only at the end.

use std::os::raw::c_char;

use crate::protocol::status::Presence;

use super::types::{self, msim_presence, Strings};

/// A presence update given to `on_buddy_status_ex` (SPEC §11.5, §25). Strings are borrowed for
/// the duration of the callback. Later versions only append members.
#[repr(C)]
pub struct msim_buddy_status {
    pub uid: u32,
    /// NULL when the user has no username or msim could not learn it (see `on_im_received`).
    pub username: *const c_char,
    /// The presence; codes neither source defines are reported as ONLINE (see `code`).
    pub presence: msim_presence,
    /// The status code as the server sent it (0 offline, 1 online, 2 idle, 5 away, others
    /// undocumented).
    pub code: u32,
    /// The headline (status text); never NULL, "" when none.
    pub headline: *const c_char,
    /// The list's `ts` pair: Unix seconds (a time_t value) as sent by later servers; 0 when the
    /// server sent none (or one that is not a number). What it stamps is not documented,
    /// presumably when the status was set.
    pub ts: i64,
    /// The list's `caps` pair as sent (meaning unknown); NULL when absent.
    pub caps: *const c_char,
}

pub(crate) fn buddy_status(
    uid: u32,
    username: Option<&str>,
    presence: Presence,
    headline: &str,
    ts: Option<u64>,
    caps: Option<&str>,
    st: &mut Strings,
) -> msim_buddy_status {
    msim_buddy_status {
        uid,
        username: st.opt(username),
        presence: types::presence(presence),
        code: presence.code(),
        headline: st.add(headline),
        ts: ts.map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
        caps: st.opt(caps),
    }
}
