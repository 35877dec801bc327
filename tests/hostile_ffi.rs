//! Hostile-server cases through the C API: the host sees exactly one `on_disconnected` (or
//! `on_login_failed`) per connect, in thread and poll dispatch modes, and NUL bytes in received
//! text never truncate or break a callback's C string.

mod common;

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::client::c_options;
use common::hostile::{HostileServer, EMAIL, PASSWORD};
use msim::ffi::callbacks::msim_callbacks;
use msim::ffi::msim_result;
use msim::ffi::session::*;
use msim::ffi::types::{msim_disconnect_reason, msim_dispatch, msim_login_failure};

#[derive(Default)]
struct Counts {
    disconnected: AtomicUsize,
    login_failed: AtomicUsize,
    signed_on: AtomicUsize,
    reason: AtomicU32,
    ims: Mutex<Vec<String>>,
    errors: Mutex<Vec<msim_result>>,
}

unsafe extern "C" fn on_disconnected(
    ud: *mut c_void,
    reason: msim_disconnect_reason,
    _code: u32,
    _text: *const c_char,
    _reconnecting: bool,
) {
    let c = &*(ud as *const Counts);
    c.reason.store(reason as u32, Ordering::SeqCst);
    c.disconnected.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_login_failed(ud: *mut c_void, reason: msim_login_failure, _code: u32, _text: *const c_char) {
    let c = &*(ud as *const Counts);
    c.reason.store(reason as u32, Ordering::SeqCst);
    c.login_failed.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_signed_on(ud: *mut c_void, _uid: u32, _name: *const c_char) {
    (*(ud as *const Counts)).signed_on.fetch_add(1, Ordering::SeqCst);
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn on_im(
    ud: *mut c_void,
    _from: u32,
    _user: *const c_char,
    _html: *const c_char,
    plain: *const c_char,
    _time: i64,
    _offline: bool,
) {
    let c = &*(ud as *const Counts);
    c.ims.lock().unwrap().push(CStr::from_ptr(plain).to_string_lossy().into_owned());
}

unsafe extern "C" fn on_error(ud: *mut c_void, result: msim_result, _code: u32, _text: *const c_char) {
    (*(ud as *const Counts)).errors.lock().unwrap().push(result);
}

/// Connects through the C API to `srv`, runs until one end callback came plus a grace period,
/// and returns the counts. `dead_ms`: the dead-connection timeout (0 = default).
fn run(srv: &HostileServer, mode: msim_dispatch, dead_ms: u32) -> Box<Counts> {
    let counts = Box::<Counts>::default();
    let cb = msim_callbacks {
        on_disconnected: Some(on_disconnected),
        on_login_failed: Some(on_login_failed),
        on_signed_on: Some(on_signed_on),
        on_im_received: Some(on_im),
        on_error: Some(on_error),
        ..Default::default()
    };
    unsafe {
        let mut o = c_options(mode);
        o.dead_connection_timeout_ms = dead_ms;
        let s = msim_session_new_ex(&cb, &*counts as *const Counts as *mut c_void, &o);
        assert!(!s.is_null());
        let host = CString::new(srv.addr().ip().to_string()).unwrap();
        let (email, pw) = (CString::new(EMAIL).unwrap(), CString::new(PASSWORD).unwrap());
        assert_eq!(
            msim_session_connect(s, host.as_ptr(), srv.addr().port(), email.as_ptr(), pw.as_ptr()),
            msim_result::Ok
        );
        let ended = |c: &Counts| c.disconnected.load(Ordering::SeqCst) + c.login_failed.load(Ordering::SeqCst) > 0;
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut grace_until: Option<Instant> = None;
        loop {
            let now = Instant::now();
            assert!(now < deadline, "no end callback within 15 s");
            if grace_until.is_none() && ended(&counts) {
                grace_until = Some(now + Duration::from_millis(500));
            }
            if grace_until.is_some_and(|g| now >= g) {
                break;
            }
            if mode == msim_dispatch::Poll {
                let mut p = libc::pollfd { fd: msim_session_fd(s), events: libc::POLLIN, revents: 0 };
                if libc::poll(&mut p, 1, 20) > 0 {
                    msim_session_dispatch(s);
                }
            } else {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        assert_eq!(msim_session_get_state(s) as u32, 0, "idle after the end");
        msim_session_free(s);
    }
    counts
}

fn assert_one(c: &Counts, disconnected: usize, login_failed: usize, reason: u32) {
    assert_eq!(
        (c.disconnected.load(Ordering::SeqCst), c.login_failed.load(Ordering::SeqCst), c.reason.load(Ordering::SeqCst)),
        (disconnected, login_failed, reason)
    );
}

#[test]
fn endless_frame_gives_one_on_disconnected_protocol_in_both_modes() {
    for mode in [msim_dispatch::Thread, msim_dispatch::Poll] {
        let srv = HostileServer::start(|c| {
            c.handshake();
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..1024 {
                if c.send_raw(&chunk).is_err() {
                    break;
                }
            }
        });
        let c = run(&srv, mode, 0);
        assert_eq!(c.signed_on.load(Ordering::SeqCst), 1);
        assert_one(&c, 1, 0, msim_disconnect_reason::Protocol as u32);
    }
}

#[test]
fn reset_mid_frame_gives_one_on_disconnected() {
    for mode in [msim_dispatch::Thread, msim_dispatch::Poll] {
        let srv = HostileServer::start(|c| {
            c.handshake();
            c.send_raw(b"\\bm\\1\\f\\777\\msg\\half").unwrap();
            std::thread::sleep(Duration::from_millis(100));
            c.reset_on_close();
        });
        let c = run(&srv, mode, 0);
        let r = c.reason.load(Ordering::SeqCst);
        assert!(
            r == msim_disconnect_reason::ServerClosed as u32 || r == msim_disconnect_reason::Network as u32,
            "reason {r}"
        );
        assert_one(&c, 1, 0, r);
    }
}

#[test]
fn silence_keeps_the_session_until_the_server_closes() {
    // Silent for 4× the 1 s dead-connection timeout, then a clean close: the end is the
    // server's close, not a timeout (SPEC §24: silence alone never ends a session).
    let srv = HostileServer::start(|c| {
        c.handshake();
        c.wait_closed(Duration::from_secs(4));
    });
    let c = run(&srv, msim_dispatch::Thread, 1000);
    assert_one(&c, 1, 0, msim_disconnect_reason::ServerClosed as u32);
}

#[test]
fn bad_nonce_gives_one_on_login_failed_protocol_and_no_on_disconnected() {
    let srv = HostileServer::start(|c| {
        c.send_raw(b"\\lc\\1\\nc\\AAAA\\id\\1\\final\\").unwrap();
        c.wait_closed(Duration::from_secs(10));
    });
    let c = run(&srv, msim_dispatch::Poll, 0);
    assert_one(&c, 0, 1, msim_login_failure::Protocol as u32);
}

#[test]
fn nul_and_non_utf8_in_received_text_are_reported_never_delivered_altered() {
    let srv = HostileServer::start(|c| {
        c.handshake();
        c.send_raw(b"\\bm\\1\\f\\777\\msg\\hel\0lo\\final\\").unwrap();
        c.send_raw(b"\\bm\\1\\f\\777\\msg\\bad \xff utf8\\final\\").unwrap();
        c.im(777, "after").unwrap();
        std::thread::sleep(Duration::from_millis(300));
    });
    let c = run(&srv, msim_dispatch::Thread, 0);
    // README: a NUL is reported (MSIM_RESULT_EMBEDDED_NUL), not dropped from the text.
    assert_eq!(*c.ims.lock().unwrap(), vec!["after".to_string()]);
    let errors = c.errors.lock().unwrap().clone();
    assert!(errors.contains(&msim_result::EmbeddedNul) && errors.contains(&msim_result::Protocol), "{errors:?}");
    assert_one(&c, 1, 0, msim_disconnect_reason::ServerClosed as u32);
}
