//! Memory when the host does not dispatch (issue "Hostile peers, round two" item 5): a server
//! floods a poll-mode C API session with 200 KiB IMs while the host's loop is busy. The callback
//! queue is capped in bytes, so the session stops reading instead of holding every IM (it held
//! 1.66–3.13 GB before, with its cap of 4096 *events*); once the host dispatches, every IM
//! arrives, none lost. Alone in its own test binary so no other test disturbs the RSS figures.

mod common;

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::client::c_options;
use common::hostile::{HostileServer, EMAIL, FRIEND_UID, PASSWORD};
use msim::ffi::callbacks::msim_callbacks;
use msim::ffi::msim_result;
use msim::ffi::session::*;
use msim::ffi::types::msim_dispatch;

/// IMs the server sends, 200 KiB of text each: 80 MB in all.
const IMS: usize = 400;
const IM_TEXT: usize = 200 * 1024;

fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[derive(Default)]
struct Seen {
    signed_on: AtomicUsize,
    ims: AtomicUsize,
}

unsafe extern "C" fn on_signed_on(ud: *mut c_void, _uid: u32, _name: *const c_char) {
    (*(ud as *const Seen)).signed_on.fetch_add(1, Ordering::SeqCst);
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn on_im(
    ud: *mut c_void,
    _from: u32,
    _user: *const c_char,
    _html: *const c_char,
    _plain: *const c_char,
    _time: i64,
    _offline: bool,
) {
    (*(ud as *const Seen)).ims.fetch_add(1, Ordering::SeqCst);
}

unsafe fn dispatch_until(s: *mut msim_session, done: impl Fn() -> bool, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not done within {limit:?}");
        let mut p = libc::pollfd { fd: msim_session_fd(s), events: libc::POLLIN, revents: 0 };
        if libc::poll(&mut p, 1, 20) > 0 {
            msim_session_dispatch(s);
        }
    }
}

#[test]
fn a_flood_of_200_kib_ims_to_a_host_that_does_not_dispatch_stays_within_the_byte_cap() {
    let sent = Arc::new(AtomicUsize::new(0));
    let sent2 = sent.clone();
    let srv = HostileServer::start(move |c| {
        c.handshake();
        let text = "z".repeat(IM_TEXT);
        for _ in 0..IMS {
            if c.im(FRIEND_UID, &text).is_err() {
                return;
            }
            sent2.fetch_add(1, Ordering::SeqCst);
        }
        c.wait_closed(Duration::from_secs(60));
    });
    let seen = Box::<Seen>::default();
    let cb = msim_callbacks { on_signed_on: Some(on_signed_on), on_im_received: Some(on_im), ..Default::default() };
    unsafe {
        let o = c_options(msim_dispatch::Poll);
        let s = msim_session_new_ex(&cb, &*seen as *const Seen as *mut c_void, &o);
        assert!(!s.is_null());
        let host = CString::new(srv.addr().ip().to_string()).unwrap();
        let (email, pw) = (CString::new(EMAIL).unwrap(), CString::new(PASSWORD).unwrap());
        assert_eq!(
            msim_session_connect(s, host.as_ptr(), srv.addr().port(), email.as_ptr(), pw.as_ptr()),
            msim_result::Ok
        );
        dispatch_until(s, || seen.signed_on.load(Ordering::SeqCst) == 1, Duration::from_secs(15));
        let base = rss_kib();
        // The host is busy for 3 s: nothing is dispatched while the server floods.
        std::thread::sleep(Duration::from_secs(3));
        let growth = rss_kib().saturating_sub(base);
        let written = sent.load(Ordering::SeqCst);
        eprintln!("RSS growth {growth} KiB with {written} of {IMS} IMs written by the server, none dispatched");
        // The 4 MiB queue (each IM counted as HTML + plain), one frame being parsed (≤ 256 KiB),
        // allocator slack — far from the 80 MB the server wants to send.
        assert!(growth < 24 * 1024, "RSS grew by {growth} KiB");
        assert!(written < IMS, "the session kept reading although its queue was full");
        // Now the host dispatches: every IM arrives.
        dispatch_until(s, || seen.ims.load(Ordering::SeqCst) == IMS, Duration::from_secs(120));
        msim_session_free(s);
    }
}
