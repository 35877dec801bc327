//! Many sessions at once through the C ABI (`msim::ffi`, as a C host calls it), for the scale
//! test (`tests/scale_small.rs`) and benchmark (`benches/scale.rs`). The callbacks only count,
//! and the host keeps 16 bytes per session (a slot), so what grows with N is msim's.
#![allow(dead_code)]

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use msim::ffi::callbacks::msim_callbacks;
use msim::ffi::msim_result;
use msim::ffi::session::*;
use msim::ffi::types::{msim_disconnect_reason, msim_login_failure};

/// What the callbacks count, over all sessions.
#[derive(Default)]
pub struct Counters {
    pub signed_on: AtomicUsize,
    pub login_failed: AtomicUsize,
    pub disconnected: AtomicUsize,
    pub ims: AtomicUsize,
}

/// A session's userdata: the fleet's totals and its own IM count.
struct Slot {
    totals: *const Counters,
    ims: AtomicUsize,
}

fn counters<'a>(ud: *mut c_void) -> &'a Counters {
    // SAFETY: every session's userdata is its Slot, whose `totals` points to the fleet's boxed
    // Counters; both outlive the sessions (Fleet::drop frees the sessions first).
    unsafe { &*(*(ud as *const Slot)).totals }
}

unsafe extern "C" fn on_signed_on(ud: *mut c_void, _uid: u32, _username: *const c_char) {
    counters(ud).signed_on.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_login_failed(ud: *mut c_void, _r: msim_login_failure, _code: u32, _text: *const c_char) {
    counters(ud).login_failed.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_disconnected(
    ud: *mut c_void,
    _r: msim_disconnect_reason,
    _code: u32,
    _text: *const c_char,
    _reconnecting: bool,
) {
    counters(ud).disconnected.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_im_received(
    ud: *mut c_void,
    _from: u32,
    _username: *const c_char,
    _html: *const c_char,
    _plain: *const c_char,
    _time: i64,
    _offline: bool,
) {
    counters(ud).ims.fetch_add(1, Ordering::SeqCst);
    // SAFETY: see `counters`.
    unsafe { &*(ud as *const Slot) }.ims.fetch_add(1, Ordering::SeqCst);
}

/// N sessions with default options (callbacks on each session's IO thread).
pub struct Fleet {
    sessions: Vec<*mut msim_session>,
    /// Boxed: their addresses are the sessions' userdata and must not move as the vector grows.
    #[allow(clippy::vec_box)]
    slots: Vec<Box<Slot>>,
    pub counters: Box<Counters>,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet::new()
    }
}

impl Fleet {
    pub fn new() -> Fleet {
        Fleet { sessions: Vec::new(), slots: Vec::new(), counters: Box::default() }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    fn failures(&self) -> usize {
        self.counters.login_failed.load(Ordering::SeqCst) + self.counters.disconnected.load(Ordering::SeqCst)
    }

    /// Creates and connects one session per (e-mail, password), keeping at most `in_flight`
    /// sign-ons under way at a time (a burst of thousands of connects would only overflow the
    /// server's accept queue and wait out SYN retries), and waits until all have signed on.
    pub fn sign_on(
        &mut self,
        host: &str,
        port: u16,
        accounts: impl IntoIterator<Item = (String, String)>,
        in_flight: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        let cb = msim_callbacks {
            on_signed_on: Some(on_signed_on),
            on_login_failed: Some(on_login_failed),
            on_disconnected: Some(on_disconnected),
            on_im_received: Some(on_im_received),
            ..Default::default()
        };
        let host = CString::new(host).unwrap();
        let deadline = Instant::now() + timeout;
        let signed_on = |f: &Fleet| f.counters.signed_on.load(Ordering::SeqCst);
        for (email, password) in accounts {
            while self.sessions.len() - signed_on(self) >= in_flight {
                self.check(deadline, "signing on")?;
                std::thread::sleep(Duration::from_millis(1));
            }
            let (email, password) = (CString::new(email).unwrap(), CString::new(password).unwrap());
            let slot = Box::new(Slot { totals: &*self.counters, ims: AtomicUsize::new(0) });
            let ud = &*slot as *const Slot as *mut c_void;
            self.slots.push(slot);
            // SAFETY: valid callbacks table and userdata (see `counters`); strings are NUL-terminated.
            let s = unsafe { msim_session_new(&cb, ud) };
            if s.is_null() {
                return Err(format!("msim_session_new failed after {} sessions", self.sessions.len()));
            }
            self.sessions.push(s);
            // SAFETY: `s` is a live session.
            let r = unsafe { msim_session_connect(s, host.as_ptr(), port, email.as_ptr(), password.as_ptr()) };
            if r != msim_result::Ok {
                return Err(format!("msim_session_connect: {r:?} after {} sessions", self.sessions.len() - 1));
            }
        }
        while signed_on(self) < self.sessions.len() {
            self.check(deadline, "signing on")?;
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    fn check(&self, deadline: Instant, what: &str) -> Result<(), String> {
        let c = &self.counters;
        if self.failures() > 0 || Instant::now() > deadline {
            return Err(format!(
                "{what}: {} of {} signed on, {} login failures, {} disconnects, {} IMs received",
                c.signed_on.load(Ordering::SeqCst),
                self.sessions.len(),
                c.login_failed.load(Ordering::SeqCst),
                c.disconnected.load(Ordering::SeqCst),
                c.ims.load(Ordering::SeqCst),
            ));
        }
        Ok(())
    }

    /// Session `i` sends `text` to the user id `to(i)`.
    pub fn send_ims(&self, to: impl Fn(usize) -> u32, text: &str) -> Result<(), String> {
        let text = CString::new(text).unwrap();
        for (i, &s) in self.sessions.iter().enumerate() {
            let who = CString::new(to(i).to_string()).unwrap();
            // SAFETY: live session, NUL-terminated strings, NULL out-parameter allowed.
            let r = unsafe { msim_session_send_im(s, who.as_ptr(), text.as_ptr(), ptr::null_mut()) };
            if r != msim_result::Ok {
                return Err(format!("session {i}: msim_session_send_im: {r:?}"));
            }
        }
        Ok(())
    }

    /// Waits until the sessions together received `n` IMs.
    pub fn wait_ims(&self, n: usize, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while self.counters.ims.load(Ordering::SeqCst) < n {
            self.check(deadline, "waiting for IMs")?;
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

impl Fleet {
    /// IMs received by each session, in sign-on order.
    pub fn ims_per_session(&self) -> Vec<usize> {
        self.slots.iter().map(|s| s.ims.load(Ordering::SeqCst)).collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for s in self.sessions.drain(..) {
            // SAFETY: each session is freed once, and no other thread uses it.
            unsafe { msim_session_free(s) };
        }
    }
}
