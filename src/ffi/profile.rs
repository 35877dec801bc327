//! Own profile of `msim_session`: display name, headline, "now playing" and picture, set with one
//! `\setinfo\` (SPEC §5, §9.2). `msim_profile` is filled by the host, so it may grow: the header's
//! macro `msim_session_set_profile` passes its `sizeof`, as `msim_session_new` does for the
//! callbacks (see `create.rs`). Members are only ever appended, and all are pointers, so a size is
//! a whole number of them and no member can fall into an older version's tail padding.

use std::os::raw::c_char;

use crate::client::ProfileUpdate;

use super::create::read_prefix;
use super::result::msim_result;
use super::session::{map, msim_session, opt_str_arg, with};

/// Own profile fields for `msim_session_set_profile`. Each member is a NUL-terminated UTF-8
/// string or NULL: NULL leaves that field as it is, "" clears it. Start from a zeroed struct
/// (`msim_profile p = {0};`) and set what you change. Later versions may append members; the
/// macro passes this header's `sizeof`, so members a program does not know stay unchanged.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct msim_profile {
    /// `DisplayName`: the name shown for you.
    pub display_name: *const c_char,
    /// `Headline`: also your status text (SPEC §12): it replaces the message of the last
    /// `msim_session_set_status`, and those who list you see it through `on_buddy_status`.
    pub headline: *const c_char,
    /// `BandName`: the artist of what you are listening to ("now playing").
    pub band: *const c_char,
    /// `SongName`: the title of what you are listening to.
    pub song: *const c_char,
    /// `ImageURL`: the URL of your profile picture.
    pub image_url: *const c_char,
}

const NO_CHANGE: msim_profile = msim_profile {
    display_name: std::ptr::null(),
    headline: std::ptr::null(),
    band: std::ptr::null(),
    song: std::ptr::null(),
    image_url: std::ptr::null(),
};

/// Sets own profile fields: the non-NULL members of `profile`, in one `\setinfo\` (SPEC §5,
/// §9.2). Call it through the macro `msim_session_set_profile(session, profile)`, which passes
/// `sizeof(msim_profile)`. `profile` is read during the call only.
///
/// There is no reply on the wire. Others see the display name, band, song and image URL in
/// lookups (`on_lookup_result`); the headline is not in lookup replies (SPEC §7.5) but reaches
/// the users who list you at once, as `on_buddy_status`, and is in their contact list
/// (`msim_contact.headline`). All members NULL: nothing is sent (MSIM_RESULT_OK).
///
/// Results: MSIM_RESULT_NULL_PARAMETER for a NULL session or profile; MSIM_RESULT_INVALID_ARGUMENT
/// for a `profile_size` that is 0 or not a whole number of members, for a value longer than 1024
/// bytes or containing the byte 0x1C, for a headline of exactly "final", and for a non-NULL
/// member past this library's `msim_profile` (from a newer header: a field this library cannot
/// set); MSIM_RESULT_INVALID_UTF8 for a member that is not UTF-8. Needs a signed-on session (see
/// `msim_session` for the state results).
///
/// # Safety
/// `session` valid; `profile` NULL or pointing to `profile_size` readable bytes whose members are
/// NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn msim_session_set_profile_sized(
    session: *mut msim_session,
    profile: *const msim_profile,
    profile_size: usize,
) -> msim_result {
    with(session, |s| {
        if profile.is_null() {
            return Err(msim_result::NullParameter);
        }
        if profile_size == 0 || profile_size % std::mem::size_of::<*const c_char>() != 0 {
            return Err(msim_result::InvalidArgument);
        }
        let (p, unknown_zero) = read_prefix(profile, profile_size, NO_CHANGE);
        if !unknown_zero {
            return Err(msim_result::InvalidArgument);
        }
        let text = |m: *const c_char| opt_str_arg(m).map(|v| v.map(str::to_owned));
        let update = ProfileUpdate {
            display_name: text(p.display_name)?,
            headline: text(p.headline)?,
            band: text(p.band)?,
            song: text(p.song)?,
            image_url: text(p.image_url)?,
        };
        map(s.session.set_profile(&update))
    })
}

/// For Rust callers (tests): the header's `msim_session_set_profile` macro. Not exported.
///
/// # Safety
/// As [`msim_session_set_profile_sized`].
pub unsafe extern "C" fn msim_session_set_profile(
    session: *mut msim_session,
    profile: *const msim_profile,
) -> msim_result {
    msim_session_set_profile_sized(session, profile, std::mem::size_of::<msim_profile>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msim_profile_is_whole_pointers() {
        // The growth rule above: every member a pointer, so sizes are multiples of one.
        assert_eq!(std::mem::size_of::<msim_profile>(), 5 * std::mem::size_of::<*const c_char>());
    }
}
