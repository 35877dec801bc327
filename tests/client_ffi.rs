//! The session C API called from Rust: argument checking, state codes, and freeing a session from
//! inside its own callback in thread and poll mode.

mod common;

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::client::{c_options, server};
use msim::ffi::callbacks::msim_callbacks;
use msim::ffi::groups::msim_session_save_group;
use msim::ffi::msim_result;
use msim::ffi::notices::{msim_session_send_client_version, msim_session_send_window_opened};
use msim::ffi::privacy::{msim_session_permit, msim_session_set_privacy, msim_session_unpermit};
use msim::ffi::profile::{msim_profile, msim_session_set_profile, msim_session_set_profile_sized};
use msim::ffi::session::*;
use msim::ffi::types::{msim_dispatch, msim_session_options};
use msim::ffi::web::msim_session_request_web_challenge;

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[test]
fn every_operation_checks_its_arguments_and_the_state() {
    let null = ptr::null_mut::<msim_session>();
    let who = c("6221");
    let bad = b"\xff\xfe\0".as_ptr().cast::<c_char>();
    let profile = |headline: *const c_char| msim_profile {
        display_name: ptr::null(),
        headline,
        band: ptr::null(),
        song: ptr::null(),
        image_url: ptr::null(),
    };
    let fin = c("final");
    let (no_change, with_bad, with_final) = (profile(ptr::null()), profile(bad), profile(fin.as_ptr()));
    let long = c(&"x".repeat(1025));
    let with_long = profile(long.as_ptr());
    let with_ok = profile(who.as_ptr());
    let (size, ptr_size) = (std::mem::size_of::<msim_profile>(), std::mem::size_of::<*const c_char>());
    // A newer header's msim_profile with one more member, set: a field this library cannot set.
    let newer: [*const c_char; 6] = [ptr::null(), ptr::null(), ptr::null(), ptr::null(), ptr::null(), who.as_ptr()];
    let newer_unset: [*const c_char; 6] =
        [ptr::null(), who.as_ptr(), ptr::null(), ptr::null(), ptr::null(), ptr::null()];
    unsafe {
        let nulls = [
            msim_session_connect(null, ptr::null(), 0, who.as_ptr(), who.as_ptr()),
            msim_session_disconnect(null),
            msim_session_send_im(null, who.as_ptr(), who.as_ptr(), ptr::null_mut()),
            msim_session_send_typing(null, who.as_ptr(), true),
            msim_session_send_zap(null, who.as_ptr(), 1),
            msim_session_set_status(null, 0, ptr::null()),
            msim_session_add_buddy(null, who.as_ptr(), ptr::null()),
            msim_session_remove_buddy(null, who.as_ptr()),
            msim_session_block(null, who.as_ptr()),
            msim_session_unblock(null, who.as_ptr()),
            msim_session_set_contact_info(null, who.as_ptr(), ptr::null(), ptr::null()),
            msim_session_lookup_user(null, who.as_ptr(), ptr::null_mut()),
            msim_session_check_username(null, who.as_ptr(), ptr::null_mut()),
            msim_session_set_username(null, who.as_ptr(), ptr::null_mut()),
            msim_session_request_groups(null, ptr::null_mut()),
            msim_session_import_friends(null, ptr::null_mut()),
            msim_session_check_mail(null),
            msim_session_get_username(null, &mut ptr::null_mut()),
            msim_session_options_init(ptr::null_mut()),
            msim_session_set_privacy(null, true, false),
            msim_session_permit(null, who.as_ptr()),
            msim_session_unpermit(null, who.as_ptr()),
            msim_session_save_group(null, who.as_ptr(), 1, 1, ptr::null_mut()),
            msim_session_request_web_challenge(null),
            msim_session_send_window_opened(null, who.as_ptr()),
            msim_session_send_client_version(null, who.as_ptr(), ptr::null()),
            msim_session_set_profile(null, &no_change),
        ];
        for (i, r) in nulls.iter().enumerate() {
            assert_eq!(*r, msim_result::NullParameter, "call #{i}");
        }
        assert_eq!(msim_session_get_uid(null), 0);
        assert_eq!(msim_session_fd(null), -1);
        assert_eq!(msim_session_dispatch(null), 0);
        msim_session_free(null);

        let s = msim_session_new(ptr::null(), ptr::null_mut());
        assert!(!s.is_null());
        assert_eq!(msim_session_fd(s), -1, "thread mode has no fd");
        let cases = [
            (msim_session_send_im(s, ptr::null(), who.as_ptr(), ptr::null_mut()), msim_result::NullParameter),
            (msim_session_send_im(s, who.as_ptr(), bad, ptr::null_mut()), msim_result::InvalidUtf8),
            (msim_session_send_im(s, c("").as_ptr(), who.as_ptr(), ptr::null_mut()), msim_result::InvalidArgument),
            (msim_session_send_im(s, who.as_ptr(), who.as_ptr(), ptr::null_mut()), msim_result::NotConnected),
            (msim_session_send_typing(s, who.as_ptr(), true), msim_result::NotConnected),
            (msim_session_send_zap(s, who.as_ptr(), 10), msim_result::InvalidArgument),
            (msim_session_set_status(s, 4, ptr::null()), msim_result::InvalidArgument),
            (msim_session_set_status(s, 1, c("brb").as_ptr()), msim_result::Ok),
            (msim_session_lookup_user(s, who.as_ptr(), ptr::null_mut()), msim_result::NotConnected),
            (msim_session_check_username(s, c("abc").as_ptr(), ptr::null_mut()), msim_result::NotConnected),
            (msim_session_disconnect(s), msim_result::NotConnected),
            (msim_session_connect(s, c("").as_ptr(), 1, who.as_ptr(), who.as_ptr()), msim_result::InvalidArgument),
            (msim_session_connect(s, ptr::null(), 1, who.as_ptr(), bad), msim_result::InvalidUtf8),
            (msim_session_set_privacy(s, true, true), msim_result::NotConnected),
            (msim_session_permit(s, ptr::null()), msim_result::NullParameter),
            (msim_session_permit(s, bad), msim_result::InvalidUtf8),
            (msim_session_permit(s, who.as_ptr()), msim_result::NotConnected),
            (msim_session_unpermit(s, ptr::null()), msim_result::NullParameter),
            (msim_session_unpermit(s, bad), msim_result::InvalidUtf8),
            (msim_session_unpermit(s, who.as_ptr()), msim_result::NotConnected),
            (msim_session_save_group(s, ptr::null(), 1, 1, ptr::null_mut()), msim_result::NullParameter),
            (msim_session_save_group(s, bad, 1, 1, ptr::null_mut()), msim_result::InvalidUtf8),
            (msim_session_save_group(s, who.as_ptr(), 0, 0, ptr::null_mut()), msim_result::NotConnected),
            (msim_session_request_web_challenge(s), msim_result::NotConnected),
            (msim_session_send_window_opened(s, ptr::null()), msim_result::NullParameter),
            (msim_session_send_window_opened(s, bad), msim_result::InvalidUtf8),
            (msim_session_send_window_opened(s, who.as_ptr()), msim_result::NotConnected),
            (msim_session_send_client_version(s, ptr::null(), ptr::null()), msim_result::NullParameter),
            (msim_session_send_client_version(s, who.as_ptr(), bad), msim_result::InvalidUtf8),
            (msim_session_send_client_version(s, who.as_ptr(), ptr::null()), msim_result::NotConnected),
            (msim_session_set_profile(s, ptr::null()), msim_result::NullParameter),
            (msim_session_set_profile(s, &with_bad), msim_result::InvalidUtf8),
            (msim_session_set_profile(s, &with_final), msim_result::InvalidArgument),
            (msim_session_set_profile(s, &with_long), msim_result::InvalidArgument),
            (msim_session_set_profile_sized(s, &with_ok, 0), msim_result::InvalidArgument),
            (msim_session_set_profile_sized(s, &with_ok, size - 1), msim_result::InvalidArgument),
            (msim_session_set_profile_sized(s, newer.as_ptr().cast(), size + ptr_size), msim_result::InvalidArgument),
            (
                msim_session_set_profile_sized(s, newer_unset.as_ptr().cast(), size + ptr_size),
                msim_result::NotConnected,
            ),
            // An older header's shorter struct (display name only) is read up to its size.
            (msim_session_set_profile_sized(s, &with_bad, ptr_size), msim_result::NotConnected),
            (msim_session_set_profile(s, &with_ok), msim_result::NotConnected),
            (msim_session_set_profile(s, &no_change), msim_result::NotConnected),
        ];
        for (i, (got, want)) in cases.iter().enumerate() {
            assert_eq!(got, want, "case #{i}");
        }
        let mut name = 1 as *mut c_char;
        assert_eq!(msim_session_get_username(s, &mut name), msim_result::Ok);
        assert!(name.is_null(), "no username before login");
        msim_session_free(s);

        let mut o: msim_session_options = std::mem::zeroed();
        msim_session_options_init(&mut o);
        o.dispatch = 77;
        assert!(msim_session_new_ex(ptr::null(), ptr::null_mut(), &o).is_null(), "unknown dispatch mode");
        o.dispatch = msim_dispatch::Glib as u32;
        assert_eq!(msim_session_new_ex(ptr::null(), ptr::null_mut(), &o).is_null(), !cfg!(feature = "glib"));
    }
}

/// Shared with the callbacks through `userdata`.
struct Probe {
    session: AtomicPtr<msim_session>,
    freed: AtomicBool,
    after_free: AtomicUsize,
}

unsafe extern "C" fn free_on_sign_on(ud: *mut c_void, _uid: u32, _name: *const c_char) {
    let p = &*(ud as *const Probe);
    if p.freed.swap(true, Ordering::SeqCst) {
        p.after_free.fetch_add(1, Ordering::SeqCst);
        return;
    }
    msim_session_free(p.session.swap(ptr::null_mut(), Ordering::SeqCst));
}

unsafe extern "C" fn count_after_free(
    ud: *mut c_void,
    _r: msim::ffi::types::msim_disconnect_reason,
    _code: u32,
    _text: *const c_char,
    _re: bool,
) {
    let p = &*(ud as *const Probe);
    if p.freed.load(Ordering::SeqCst) {
        p.after_free.fetch_add(1, Ordering::SeqCst);
    }
}

fn free_from_inside_a_callback(mode: msim_dispatch) {
    let s = server();
    s.add_account("f@example.com", "fpw", Some("f"), None).unwrap();
    let probe = Box::new(Probe {
        session: AtomicPtr::new(ptr::null_mut()),
        freed: AtomicBool::new(false),
        after_free: AtomicUsize::new(0),
    });
    let cb = msim_callbacks {
        on_signed_on: Some(free_on_sign_on),
        on_disconnected: Some(count_after_free),
        ..Default::default()
    };
    unsafe {
        let o = c_options(mode);
        let sess = msim_session_new_ex(&cb, &*probe as *const Probe as *mut c_void, &o);
        probe.session.store(sess, Ordering::SeqCst);
        let fd = msim_session_fd(sess);
        let host = c(&s.addr().ip().to_string());
        assert_eq!(
            msim_session_connect(sess, host.as_ptr(), s.addr().port(), c("f@example.com").as_ptr(), c("fpw").as_ptr()),
            msim_result::Ok
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !probe.freed.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "never signed on");
            if mode == msim_dispatch::Poll {
                let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                if libc::poll(&mut p, 1, 100) > 0 {
                    // The pointer is only valid until the callback frees it.
                    let cur = probe.session.load(Ordering::SeqCst);
                    if !cur.is_null() {
                        msim_session_dispatch(cur);
                    }
                }
            } else {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(probe.after_free.load(Ordering::SeqCst), 0, "a callback ran after msim_session_free");
    // The server saw the logout: the account can log in again at once without kicking anyone.
    assert_eq!(s.online_count(), 0);
}

#[test]
fn free_from_inside_a_thread_mode_callback() {
    free_from_inside_a_callback(msim_dispatch::Thread);
}

#[test]
fn free_from_inside_a_poll_mode_callback() {
    free_from_inside_a_callback(msim_dispatch::Poll);
}

static OLD_HOST_PROGRESS: AtomicUsize = AtomicUsize::new(0);
static OLD_HOST_SIGNED_ON: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn old_host_progress(_ud: *mut c_void, _step: u32, _total: u32, _text: *const c_char) {
    OLD_HOST_PROGRESS.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn old_host_signed_on(_ud: *mut c_void, _uid: u32, _name: *const c_char) {
    OLD_HOST_SIGNED_ON.fetch_add(1, Ordering::SeqCst);
}

/// A host built against a header whose `msim_callbacks` ended before `on_signed_on`: the library
/// must read only the bytes the host's size covers, so whatever follows them in memory (here a
/// live `on_signed_on`) is never called, and the session still signs on.
#[test]
fn a_shorter_callbacks_struct_from_an_older_header_is_read_only_up_to_its_size() {
    let s = server();
    s.add_account("old@example.com", "oldpw", Some("oldhost"), None).unwrap();
    let cb = msim_callbacks {
        on_progress: Some(old_host_progress),
        on_signed_on: Some(old_host_signed_on),
        ..Default::default()
    };
    unsafe {
        let o = c_options(msim_dispatch::Thread);
        let older = std::mem::offset_of!(msim_callbacks, on_signed_on);
        let sess = msim_session_new_sized(&cb, older, ptr::null_mut(), &o, std::mem::size_of::<msim_session_options>());
        assert!(!sess.is_null());
        let host = c(&s.addr().ip().to_string());
        let r = msim_session_connect(
            sess,
            host.as_ptr(),
            s.addr().port(),
            c("old@example.com").as_ptr(),
            c("oldpw").as_ptr(),
        );
        assert_eq!(r, msim_result::Ok);
        let deadline = Instant::now() + Duration::from_secs(10);
        while msim_session_get_state(sess) != msim::ffi::types::msim_session_state::SignedOn {
            assert!(Instant::now() < deadline, "never signed on");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(100));
        msim_session_free(sess);
    }
    assert!(OLD_HOST_PROGRESS.load(Ordering::SeqCst) >= 3, "the callback inside the size was called");
    assert_eq!(OLD_HOST_SIGNED_ON.load(Ordering::SeqCst), 0, "a callback past the host's size was called");
}
