//! `msim_plugin_init`: the plugin descriptor, so that a host can `dlopen` libmsim and drive a
//! session through one looked-up symbol (the way libpurple finds `purple_init_plugin`).
//!
//! This module owns the descriptor's layout and its ABI rules; the operations are the session
//! exports themselves (no wrappers, no logic), so the table can never behave differently from the
//! linked API.
//!
//! ABI rules (also in the header and the README):
//! * `magic` = MSIM_PLUGIN_MAGIC, else it is not an msim plugin.
//! * `abi_major` must equal the host's MSIM_PLUGIN_ABI_MAJOR: a major bump means an incompatible
//!   layout (a field moved, a signature changed, `msim_callbacks`/`msim_session_options` changed
//!   other than by appending).
//! * `abi_minor` must be at most the host's MSIM_PLUGIN_ABI_MINOR (libpurple's rule for
//!   `minor_version`). A minor bump only appends operations at the end; nothing moves.
//! * `struct_size` is `sizeof(msim_plugin_info)` as the plugin was built. A host checks an
//!   operation with MSIM_PLUGIN_HAS_OP before calling one added after minor 0.

use std::os::raw::{c_char, c_int, c_void};

use super::callbacks::msim_callbacks;
use super::profile::msim_profile;
use super::result::msim_result;
use super::session::{self as s, msim_session};
use super::types::{msim_session_options, msim_session_state};

pub use super::plugin_abi::{MSIM_PLUGIN_ABI_MAJOR, MSIM_PLUGIN_ABI_MINOR, MSIM_PLUGIN_INIT_SYMBOL, MSIM_PLUGIN_MAGIC};

/// The plugin descriptor returned by `msim_plugin_init()`: identity, ABI version, and a table of
/// operations through which a host drives sessions without linking to any other libmsim symbol.
/// Static: owned by libmsim, valid while the library is loaded, never freed or written.
///
/// ABI rules. A host accepts a plugin only when
///  1. `magic == MSIM_PLUGIN_MAGIC`,
///  2. `abi_major == MSIM_PLUGIN_ABI_MAJOR` (a major bump = incompatible layout or signatures;
///     members appended to `msim_callbacks` / `msim_session_options` are not one, since
///     `session_new` and `options_init` take the host's sizes of those structs), and
///  3. `abi_minor <= MSIM_PLUGIN_ABI_MINOR` of the host (as libpurple treats `minor_version`);
///  4. `struct_size >= offsetof(msim_plugin_info, options_init)` (the fixed part is there).
///
/// New operations are only ever appended at the end, with a minor bump; `struct_size` is the
/// size of the struct as the plugin was built, so `MSIM_PLUGIN_HAS_OP(info, op)` tells whether
/// `op` exists. Every operation of minor 0 is non-NULL. Strings are static UTF-8.
///
/// The operations are the session functions of this header; each one's documentation is that of
/// the function named in its comment (same arguments, results, threads and ownership).
#[repr(C)]
pub struct msim_plugin_info {
    /// MSIM_PLUGIN_MAGIC (0x4D53494D, "MSIM").
    pub magic: u32,
    /// MSIM_PLUGIN_ABI_MAJOR of the plugin.
    pub abi_major: u16,
    /// MSIM_PLUGIN_ABI_MINOR of the plugin.
    pub abi_minor: u16,
    /// `sizeof(msim_plugin_info)` as the plugin was built.
    pub struct_size: u32,
    /// 0; reserved for flags.
    pub reserved: u32,
    /// Protocol id, "prpl-msim".
    pub id: *const c_char,
    /// Human-readable protocol name, "MySpaceIM".
    pub name: *const c_char,
    /// The library's version, e.g. "0.1.0" (as `msim_version()`).
    pub version: *const c_char,
    /// One line about the plugin.
    pub summary: *const c_char,
    /// A longer description.
    pub description: *const c_char,
    /// Project homepage (Cargo.toml's `homepage`; "" when unset).
    pub homepage: *const c_char,
    /// `msim_session_options_init_sized`: pass `sizeof(msim_session_options)`.
    pub options_init:
        Option<unsafe extern "C" fn(options: *mut msim_session_options, options_size: usize) -> msim_result>,
    /// `msim_session_new_sized`: pass `sizeof(msim_callbacks)` and `sizeof(msim_session_options)`
    /// of your header (options NULL = defaults; MSIM_DISPATCH_POLL to use `fd` and `dispatch`).
    pub session_new: Option<
        unsafe extern "C" fn(
            callbacks: *const msim_callbacks,
            callbacks_size: usize,
            userdata: *mut c_void,
            options: *const msim_session_options,
            options_size: usize,
        ) -> *mut msim_session,
    >,
    /// `msim_session_free`.
    pub session_free: Option<unsafe extern "C" fn(session: *mut msim_session)>,
    /// `msim_session_connect` (log in).
    pub connect: Option<
        unsafe extern "C" fn(
            session: *mut msim_session,
            host: *const c_char,
            port: u16,
            email: *const c_char,
            password: *const c_char,
        ) -> msim_result,
    >,
    /// `msim_session_disconnect` (log out and close; the session can connect again).
    pub close: Option<unsafe extern "C" fn(session: *mut msim_session) -> msim_result>,
    /// `msim_session_send_im`.
    pub send_im: Option<
        unsafe extern "C" fn(
            session: *mut msim_session,
            who: *const c_char,
            html: *const c_char,
            out_message_id: *mut u64,
        ) -> msim_result,
    >,
    /// `msim_session_send_typing`.
    pub send_typing:
        Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char, typing: bool) -> msim_result>,
    /// `msim_session_send_zap`.
    pub send_zap: Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char, zap: u32) -> msim_result>,
    /// `msim_session_set_status`.
    pub set_status:
        Option<unsafe extern "C" fn(session: *mut msim_session, status: u32, message: *const c_char) -> msim_result>,
    /// `msim_session_add_buddy`.
    pub add_buddy: Option<
        unsafe extern "C" fn(session: *mut msim_session, who: *const c_char, group: *const c_char) -> msim_result,
    >,
    /// `msim_session_remove_buddy`.
    pub remove_buddy: Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char) -> msim_result>,
    /// `msim_session_block`.
    pub block: Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char) -> msim_result>,
    /// `msim_session_unblock`.
    pub unblock: Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char) -> msim_result>,
    /// `msim_session_set_contact_info`.
    pub set_contact_info: Option<
        unsafe extern "C" fn(
            session: *mut msim_session,
            who: *const c_char,
            group: *const c_char,
            nickname: *const c_char,
        ) -> msim_result,
    >,
    /// `msim_session_lookup_user`.
    pub lookup_user: Option<
        unsafe extern "C" fn(session: *mut msim_session, who: *const c_char, out_request_id: *mut u32) -> msim_result,
    >,
    /// `msim_session_check_username`.
    pub check_username: Option<
        unsafe extern "C" fn(session: *mut msim_session, name: *const c_char, out_request_id: *mut u32) -> msim_result,
    >,
    /// `msim_session_set_username`.
    pub set_username: Option<
        unsafe extern "C" fn(session: *mut msim_session, name: *const c_char, out_request_id: *mut u32) -> msim_result,
    >,
    /// `msim_session_request_groups`.
    pub request_groups:
        Option<unsafe extern "C" fn(session: *mut msim_session, out_request_id: *mut u32) -> msim_result>,
    /// `msim_session_import_friends`.
    pub import_friends:
        Option<unsafe extern "C" fn(session: *mut msim_session, out_request_id: *mut u32) -> msim_result>,
    /// `msim_session_check_mail`.
    pub check_mail: Option<unsafe extern "C" fn(session: *mut msim_session) -> msim_result>,
    /// `msim_session_get_uid`.
    pub get_uid: Option<unsafe extern "C" fn(session: *const msim_session) -> u32>,
    /// `msim_session_get_username`.
    pub get_username:
        Option<unsafe extern "C" fn(session: *const msim_session, out_username: *mut *mut c_char) -> msim_result>,
    /// `msim_session_get_state`.
    pub get_state: Option<unsafe extern "C" fn(session: *const msim_session) -> msim_session_state>,
    /// `msim_session_fd`.
    pub fd: Option<unsafe extern "C" fn(session: *const msim_session) -> c_int>,
    /// `msim_session_dispatch`.
    pub dispatch: Option<unsafe extern "C" fn(session: *mut msim_session) -> c_int>,
    /// `msim_result_str`.
    pub result_str: Option<extern "C" fn(result: c_int) -> *const c_char>,
    /// `msim_string_free`.
    pub string_free: Option<unsafe extern "C" fn(s: *mut c_char)>,
    // ---- minor 1 (check with MSIM_PLUGIN_HAS_OP) ----
    /// `msim_session_set_privacy` (minor 1).
    pub set_privacy: Option<
        unsafe extern "C" fn(session: *mut msim_session, show_only_to_list: bool, privacy_mode: bool) -> msim_result,
    >,
    /// `msim_session_permit` (minor 1).
    pub permit: Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char) -> msim_result>,
    /// `msim_session_unpermit` (minor 1).
    pub unpermit: Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char) -> msim_result>,
    /// `msim_session_save_group` (minor 1).
    pub save_group: Option<
        unsafe extern "C" fn(
            session: *mut msim_session,
            name: *const c_char,
            position: u32,
            flags: u32,
            out_request_id: *mut u32,
        ) -> msim_result,
    >,
    /// `msim_session_request_web_challenge` (minor 1).
    pub request_web_challenge: Option<unsafe extern "C" fn(session: *mut msim_session) -> msim_result>,
    /// `msim_session_send_window_opened` (minor 1).
    pub send_window_opened: Option<unsafe extern "C" fn(session: *mut msim_session, who: *const c_char) -> msim_result>,
    /// `msim_session_send_client_version` (minor 1).
    pub send_client_version: Option<
        unsafe extern "C" fn(session: *mut msim_session, who: *const c_char, text: *const c_char) -> msim_result,
    >,
    // ---- minor 2 (check with MSIM_PLUGIN_HAS_OP) ----
    /// `msim_session_set_profile_sized` (minor 2): pass `sizeof(msim_profile)` of your header.
    pub set_profile: Option<
        unsafe extern "C" fn(
            session: *mut msim_session,
            profile: *const msim_profile,
            profile_size: usize,
        ) -> msim_result,
    >,
}

/// The type of `msim_plugin_init`, for a host's `dlsym` result (copy the `void *` into a variable
/// of this type with memcpy: ISO C has no object-to-function pointer cast).
pub type msim_plugin_init_fn = unsafe extern "C" fn() -> *const msim_plugin_info;

/// The descriptor holds raw pointers to static strings and functions only; nothing in it is
/// ever written, so sharing it between threads is sound.
struct Descriptor(msim_plugin_info);
unsafe impl Sync for Descriptor {}

const fn cstr(s: &'static str) -> *const c_char {
    s.as_ptr().cast()
}

static DESCRIPTOR: Descriptor = Descriptor(msim_plugin_info {
    magic: MSIM_PLUGIN_MAGIC,
    abi_major: MSIM_PLUGIN_ABI_MAJOR,
    abi_minor: MSIM_PLUGIN_ABI_MINOR,
    struct_size: std::mem::size_of::<msim_plugin_info>() as u32,
    reserved: 0,
    id: cstr("prpl-msim\0"),
    name: cstr("MySpaceIM\0"),
    version: cstr(concat!(env!("CARGO_PKG_VERSION"), "\0")),
    summary: cstr("MySpaceIM (MSIM) protocol\0"),
    description: cstr("MySpaceIM instant messaging: IMs, typing, zaps, presence and the contact list, by libmsim.\0"),
    homepage: cstr(concat!(env!("CARGO_PKG_HOMEPAGE"), "\0")),
    options_init: Some(s::msim_session_options_init_sized),
    session_new: Some(s::msim_session_new_sized),
    session_free: Some(s::msim_session_free),
    connect: Some(s::msim_session_connect),
    close: Some(s::msim_session_disconnect),
    send_im: Some(s::msim_session_send_im),
    send_typing: Some(s::msim_session_send_typing),
    send_zap: Some(s::msim_session_send_zap),
    set_status: Some(s::msim_session_set_status),
    add_buddy: Some(s::msim_session_add_buddy),
    remove_buddy: Some(s::msim_session_remove_buddy),
    block: Some(s::msim_session_block),
    unblock: Some(s::msim_session_unblock),
    set_contact_info: Some(s::msim_session_set_contact_info),
    lookup_user: Some(s::msim_session_lookup_user),
    check_username: Some(s::msim_session_check_username),
    set_username: Some(s::msim_session_set_username),
    request_groups: Some(s::msim_session_request_groups),
    import_friends: Some(s::msim_session_import_friends),
    check_mail: Some(s::msim_session_check_mail),
    get_uid: Some(s::msim_session_get_uid),
    get_username: Some(s::msim_session_get_username),
    get_state: Some(s::msim_session_get_state),
    fd: Some(s::msim_session_fd),
    dispatch: Some(s::msim_session_dispatch),
    result_str: Some(super::result::msim_result_str),
    string_free: Some(super::strings::msim_string_free),
    set_privacy: Some(super::privacy::msim_session_set_privacy),
    permit: Some(super::privacy::msim_session_permit),
    unpermit: Some(super::privacy::msim_session_unpermit),
    save_group: Some(super::groups::msim_session_save_group),
    request_web_challenge: Some(super::web::msim_session_request_web_challenge),
    send_window_opened: Some(super::notices::msim_session_send_window_opened),
    send_client_version: Some(super::notices::msim_session_send_client_version),
    set_profile: Some(super::profile::msim_session_set_profile_sized),
});

/// The plugin entry point: the static descriptor of this library (never NULL, never freed;
/// valid while the library is loaded). A host finds it with
/// `dlsym(handle, MSIM_PLUGIN_INIT_SYMBOL)` and checks it as `msim_plugin_info` describes.
/// Safe to call any number of times from any thread.
#[no_mangle]
pub extern "C" fn msim_plugin_init() -> *const msim_plugin_info {
    // Nothing here can panic; returning a static cannot fail.
    &DESCRIPTOR.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn descriptor_is_complete_and_self_describing() {
        let info = unsafe { &*msim_plugin_init() };
        assert_eq!(info.magic.to_be_bytes(), *b"MSIM");
        assert_eq!((info.abi_major, info.abi_minor), (MSIM_PLUGIN_ABI_MAJOR, MSIM_PLUGIN_ABI_MINOR));
        assert_eq!(info.struct_size as usize, std::mem::size_of::<msim_plugin_info>());
        assert_eq!(MSIM_PLUGIN_INIT_SYMBOL, stringify!(msim_plugin_init));
        let id = unsafe { CStr::from_ptr(info.id) };
        assert_eq!(id.to_str(), Ok("prpl-msim"));
        let version = unsafe { CStr::from_ptr(info.version) };
        assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
        // Every operation of minor 0 is set: the table after the strings is all non-NULL
        // function pointers (Option<fn> has the same size as a pointer and None = NULL).
        let base = (info as *const msim_plugin_info).cast::<u8>();
        let ops_start = std::ptr::addr_of!(info.options_init) as usize - base as usize;
        let words = (info.struct_size as usize - ops_start) / std::mem::size_of::<usize>();
        for i in 0..words {
            let p = unsafe { base.add(ops_start + i * std::mem::size_of::<usize>()).cast::<usize>().read() };
            assert_ne!(p, 0, "operation {i} is NULL");
        }
    }
}
