//! Creating a session, and how the structs a host fills in can grow without breaking the ABI.
//!
//! The header's `msim_session_new`, `msim_session_new_ex` and `msim_session_options_init` are
//! macros that pass `sizeof` of the host's `msim_callbacks` / `msim_session_options` to the
//! `_sized` exports. A program built against an older (shorter) header therefore keeps working
//! with a newer library: the members it does not know read as zero, which means "no callback" and
//! "the default". A program built against a newer header runs on an older library too: callbacks
//! the library does not know are never called; an option it does not know must be zero, or
//! creating the session fails (NULL) rather than silently ignoring what the host asked for.
//!
//! Rule for whoever adds a member: append it, and to `msim_session_options` only at an offset at
//! or past every earlier version's `sizeof` (insert an explicit reserved member if the compiler
//! would put it into the old tail padding), because a host's padding bytes are not guaranteed to
//! be zero. `PUBLISHED_OPTIONS_SIZES` lists those sizes and a unit test checks the rule.

use std::os::raw::c_void;
use std::sync::Arc;
use std::time::Duration;

use crate::client::{Config, ReconnectPolicy, Session};

use super::boundary::{guard_or, guard_result};
use super::callbacks::{msim_callbacks, UserData};
use super::dispatch::{EventQueue, DEFAULT_MAX_QUEUED_EVENTS, DEFAULT_MAX_QUEUED_EVENT_BYTES};
use super::result::msim_result;
use super::session::{msim_session, Shared};
use super::types::{self, msim_dispatch, msim_session_options};

/// `sizeof(msim_session_options)` of every header version so far (on LP64), oldest first.
#[cfg(test)]
const PUBLISHED_OPTIONS_SIZES: [usize; 2] = [64, 88];

fn ms(v: u32, default_ms: u64) -> Duration {
    Duration::from_millis(if v == 0 { default_ms } else { u64::from(v) })
}

fn config_from(o: &msim_session_options, cb: &msim_callbacks) -> Config {
    let d = Config::default();
    let dr = ReconnectPolicy::default();
    Config {
        client_version: if o.client_version == 0 { d.client_version } else { o.client_version },
        connect_timeout: ms(o.connect_timeout_ms, 30_000),
        request_timeout: ms(o.request_timeout_ms, 60_000),
        contact_list_timeout: ms(o.contact_list_timeout_ms, 10_000),
        dead_connection_timeout: (!o.disable_dead_connection_check).then(|| ms(o.dead_connection_timeout_ms, 180_000)),
        alternate_ports: !o.disable_alternate_ports,
        preferred_port: u16::try_from(o.preferred_port).ok().filter(|p| *p != 0),
        max_send_queue: if o.max_send_queue_bytes == 0 { d.max_send_queue } else { o.max_send_queue_bytes as usize },
        mail_check_interval: (!o.disable_mail_check).then(|| ms(o.mail_check_interval_ms, 60_000)),
        reconnect: ReconnectPolicy {
            enabled: o.auto_reconnect,
            initial_delay: ms(o.reconnect_initial_delay_ms, 1_000),
            max_delay: ms(o.reconnect_max_delay_ms, 60_000),
            max_attempts: match o.reconnect_max_attempts {
                0 => dr.max_attempts,
                u32::MAX => 0,
                n => n,
            },
        },
        choose_username: !o.skip_username && cb.on_username_required.is_some(),
        trace: cb.on_trace.is_some(),
        ..d
    }
}

/// The defaults: all bytes zero, padding included (a zero member means "the default", and a host
/// compares or copies whole structs). `msim_dispatch::Thread` is 0 for this reason.
fn default_options() -> msim_session_options {
    // SAFETY: every member is an integer, a bool or a raw pointer, for which zero is valid.
    unsafe { std::mem::zeroed() }
}

/// The host's `size` bytes of a `T` on top of `init`: a shorter struct (older header) leaves
/// `init`'s tail. Also says whether the bytes past our `T` (members of a newer header that this
/// library does not know) are all zero, i.e. ask for nothing.
pub(crate) unsafe fn read_prefix<T: Copy>(p: *const T, size: usize, init: T) -> (T, bool) {
    let mut out = init;
    let ours = std::mem::size_of::<T>();
    std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&mut out as *mut T).cast::<u8>(), size.min(ours));
    let unknown_zero =
        size <= ours || std::slice::from_raw_parts(p.cast::<u8>().add(ours), size - ours).iter().all(|b| *b == 0);
    (out, unknown_zero)
}

/// NULL = no callbacks. The size must be whole function pointers; a newer header's extra
/// callbacks are ignored (this library has no events for them).
unsafe fn read_callbacks(p: *const msim_callbacks, size: usize) -> Option<msim_callbacks> {
    if p.is_null() {
        return Some(msim_callbacks::default());
    }
    if size == 0 || size % std::mem::size_of::<usize>() != 0 {
        return None;
    }
    Some(read_prefix(p, size, msim_callbacks::default()).0)
}

/// NULL = defaults. A newer header's options must be zero (= not asked for).
unsafe fn read_options(p: *const msim_session_options, size: usize) -> Option<msim_session_options> {
    if p.is_null() {
        return Some(default_options());
    }
    if size == 0 {
        return None;
    }
    let (o, unknown_zero) = read_prefix(p, size, default_options());
    unknown_zero.then_some(o)
}

/// Fills the first `options_size` bytes of `options` with the defaults (thread dispatch, all
/// timeouts default, no reconnect). Call it through the macro `msim_session_options_init(options)`,
/// which passes `sizeof(msim_session_options)`.
///
/// Returns MSIM_RESULT_NULL_PARAMETER for NULL, MSIM_RESULT_INVALID_ARGUMENT for a size of 0.
///
/// # Safety
/// `options` must be NULL or point to `options_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn msim_session_options_init_sized(
    options: *mut msim_session_options,
    options_size: usize,
) -> msim_result {
    guard_result(|| {
        if options.is_null() {
            return Err(msim_result::NullParameter);
        }
        if options_size == 0 {
            return Err(msim_result::InvalidArgument);
        }
        // Zero is every option's default, for this library's members and for those of a newer
        // header that it does not know; writing bytes (not a struct value) keeps padding zero too.
        std::ptr::write_bytes(options.cast::<u8>(), 0, options_size);
        Ok(())
    })
}

/// A new idle session. Call it through the macros `msim_session_new(callbacks, userdata)` (default
/// options: callbacks run on the session's IO thread) or `msim_session_new_ex(callbacks, userdata,
/// options)`, which pass this header's struct sizes.
///
/// `callbacks` is copied (NULL = no callbacks; `callbacks_size` is then ignored); `userdata` is
/// passed to every callback. `options` is copied (NULL = defaults; `options_size` is then ignored).
/// Returns NULL when a size is 0 or not whole callbacks, when the options cannot be honoured
/// (MSIM_DISPATCH_GLIB without the `glib` feature, an unknown dispatch value, a non-zero option
/// this library does not know), or when out of resources (no fd for POLL dispatch).
///
/// # Safety
/// `callbacks` and `options` must each be NULL or point to that many readable bytes; a
/// `glib_context` must be a live `GMainContext*` (msim takes its own reference).
#[no_mangle]
pub unsafe extern "C" fn msim_session_new_sized(
    callbacks: *const msim_callbacks,
    callbacks_size: usize,
    userdata: *mut c_void,
    options: *const msim_session_options,
    options_size: usize,
) -> *mut msim_session {
    guard_or(std::ptr::null_mut(), || {
        let Some(cb) = read_callbacks(callbacks, callbacks_size) else { return std::ptr::null_mut() };
        let Some(o) = read_options(options, options_size) else { return std::ptr::null_mut() };
        let Some(mode) = types::dispatch(o.dispatch) else { return std::ptr::null_mut() };
        let queue = match mode {
            msim_dispatch::Thread => None,
            msim_dispatch::Poll | msim_dispatch::Glib => {
                if mode == msim_dispatch::Glib && !cfg!(feature = "glib") {
                    return std::ptr::null_mut();
                }
                let cap =
                    if o.max_queued_events == 0 { DEFAULT_MAX_QUEUED_EVENTS } else { o.max_queued_events as usize };
                let bytes = match o.max_queued_event_bytes {
                    0 => DEFAULT_MAX_QUEUED_EVENT_BYTES,
                    n => n as usize,
                };
                match EventQueue::new(cap, bytes) {
                    Ok(q) => Some(q),
                    Err(_) => return std::ptr::null_mut(),
                }
            }
        };
        let shared = Arc::new(Shared { callbacks: cb, userdata: UserData(userdata), queue });
        let s2 = shared.clone();
        let Ok(session) = Session::try_new(config_from(&o, &cb), move |ev| s2.deliver(ev)) else {
            return std::ptr::null_mut();
        };
        #[cfg(feature = "glib")]
        let source =
            (mode == msim_dispatch::Glib).then(|| super::dispatch::glib_source::attach(&shared, o.glib_context));
        Box::into_raw(Box::new(msim_session {
            shared,
            session,
            #[cfg(feature = "glib")]
            source,
        }))
    })
}

/// For Rust callers (tests, benches): [`msim_session_new_sized`] with this crate's sizes, as the
/// header's `msim_session_new` macro does. Not exported.
///
/// # Safety
/// As [`msim_session_new_sized`].
pub unsafe extern "C" fn msim_session_new(
    callbacks: *const msim_callbacks,
    userdata: *mut c_void,
) -> *mut msim_session {
    msim_session_new_sized(callbacks, std::mem::size_of::<msim_callbacks>(), userdata, std::ptr::null(), 0)
}

/// For Rust callers: the header's `msim_session_new_ex` macro. Not exported.
///
/// # Safety
/// As [`msim_session_new_sized`].
pub unsafe extern "C" fn msim_session_new_ex(
    callbacks: *const msim_callbacks,
    userdata: *mut c_void,
    options: *const msim_session_options,
) -> *mut msim_session {
    let (cs, os) = (std::mem::size_of::<msim_callbacks>(), std::mem::size_of::<msim_session_options>());
    msim_session_new_sized(callbacks, cs, userdata, options, os)
}

/// For Rust callers: the header's `msim_session_options_init` macro. Not exported.
///
/// # Safety
/// As [`msim_session_options_init_sized`].
pub unsafe extern "C" fn msim_session_options_init(options: *mut msim_session_options) -> msim_result {
    msim_session_options_init_sized(options, std::mem::size_of::<msim_session_options>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_options_are_the_defaults() {
        assert_eq!(types::dispatch(default_options().dispatch), Some(msim_dispatch::Thread));
        let cfg = config_from(&default_options(), &msim_callbacks::default());
        let d = Config::default();
        assert_eq!((cfg.client_version, cfg.connect_timeout), (d.client_version, d.connect_timeout));
        assert!(!cfg.reconnect.enabled && cfg.mail_check_interval.is_some());
    }

    #[test]
    fn new_options_members_start_past_every_published_size() {
        // The last member's end must be at or past each published size, and the struct may only
        // have grown: a member added into an old size's tail padding would read a host's garbage.
        let size = std::mem::size_of::<msim_session_options>();
        let last_end = std::mem::offset_of!(msim_session_options, preferred_port) + 4;
        for published in PUBLISHED_OPTIONS_SIZES {
            assert!(size >= published, "msim_session_options shrank below a published size {published}");
        }
        assert_eq!(size, *PUBLISHED_OPTIONS_SIZES.last().unwrap(), "add the new size to PUBLISHED_OPTIONS_SIZES");
        assert!(last_end <= size);
    }
}
