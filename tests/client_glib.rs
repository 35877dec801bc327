//! MSIM_DISPATCH_GLIB: callbacks run on the given GMainContext's thread, driven by its loop.
//! Run with `cargo test --features glib --test client_glib` (needs the GLib development files).
#![cfg(feature = "glib")]

mod common;

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};
use std::sync::Mutex;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use common::client::{c_options, server};
use msim::ffi::callbacks::msim_callbacks;
use msim::ffi::result::msim_result;
use msim::ffi::session::*;
use msim::ffi::types::msim_dispatch;

#[derive(Default)]
struct Seen {
    signed_on: bool,
    ims: Vec<String>,
    threads: Vec<ThreadId>,
}

unsafe extern "C" fn on_signed_on(ud: *mut c_void, _uid: u32, _name: *const c_char) {
    let s = &*(ud as *const Mutex<Seen>);
    let mut s = s.lock().unwrap();
    s.signed_on = true;
    s.threads.push(thread::current().id());
}

unsafe extern "C" fn on_im(
    ud: *mut c_void,
    _from: u32,
    _n: *const c_char,
    _html: *const c_char,
    plain: *const c_char,
    _t: i64,
    _off: bool,
) {
    let s = &*(ud as *const Mutex<Seen>);
    let mut s = s.lock().unwrap();
    s.ims.push(CStr::from_ptr(plain).to_string_lossy().into_owned());
    s.threads.push(thread::current().id());
}

fn iterate_until(ctx: &glib::MainContext, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        ctx.iteration(false);
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn callbacks_run_on_the_glib_context_thread() {
    let s = server();
    let ua = s.add_account("ga@example.com", "gapw", Some("ga"), None).unwrap();
    let ub = s.add_account("gb@example.com", "gbpw", Some("gb"), None).unwrap();
    let ctx = glib::MainContext::new();
    let seen_a = Box::new(Mutex::new(Seen::default()));
    let seen_b = Box::new(Mutex::new(Seen::default()));
    let cb = msim_callbacks { on_signed_on: Some(on_signed_on), on_im_received: Some(on_im), ..Default::default() };
    unsafe {
        let mut o = c_options(msim_dispatch::Glib);
        o.glib_context = glib::translate::ToGlibPtr::<*mut glib::ffi::GMainContext>::to_glib_none(&ctx).0.cast();
        let a = msim_session_new_ex(&cb, &*seen_a as *const _ as *mut c_void, &o);
        let b = msim_session_new_ex(&cb, &*seen_b as *const _ as *mut c_void, &o);
        assert!(!a.is_null() && !b.is_null());
        let host = CString::new(s.addr().ip().to_string()).unwrap();
        let port = s.addr().port();
        let c = |v: &str| CString::new(v).unwrap();
        assert_eq!(
            msim_session_connect(a, host.as_ptr(), port, c("ga@example.com").as_ptr(), c("gapw").as_ptr()),
            msim_result::Ok
        );
        assert_eq!(
            msim_session_connect(b, host.as_ptr(), port, c("gb@example.com").as_ptr(), c("gbpw").as_ptr()),
            msim_result::Ok
        );
        iterate_until(&ctx, || seen_a.lock().unwrap().signed_on && seen_b.lock().unwrap().signed_on);
        let mut id = 0u64;
        assert_eq!(
            msim_session_send_im(a, c(&ub.to_string()).as_ptr(), c("via glib").as_ptr(), &mut id),
            msim_result::Ok
        );
        iterate_until(&ctx, || !seen_b.lock().unwrap().ims.is_empty());
        assert!(seen_b.lock().unwrap().ims[0].contains("via glib"));
        let me = thread::current().id();
        for s in [&seen_a, &seen_b] {
            assert!(s.lock().unwrap().threads.iter().all(|t| *t == me), "a callback ran off the context's thread");
        }
        msim_session_free(a);
        msim_session_free(b);
    }
    let _ = ua;
}
