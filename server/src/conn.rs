//! One client connection as the rest of the server sees it: the socket, its outbox (which keeps
//! outgoing messages whole and never blocks a sender), the login identity and the presence others
//! see.
//!
//! Anyone may send to a connection from any thread (routing, presence fan-out, keepalive); only
//! the event loop that owns it (`reactor.rs`) reads from it, and it writes what the outbox had to
//! queue.

use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

pub use crate::outbox::PendingIm;
use crate::outbox::{Outbox, PushError};

use msim::protocol::kinds::ServerMessage;
use msim::protocol::status::{Presence, StatusList};

/// Who a connection is once `login2` succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginInfo {
    pub uid: u32,
    pub sesskey: u32,
    /// `clientver` of login2 (SPEC §6.4), reported as `ClientVersion` by 1/17.
    pub clientver: u32,
    /// The account's `LastLogin` before this session (Unix seconds, 0 = never): what others are
    /// shown while this session is invisible, so an invisible login changes nothing they see.
    pub previous_login: u64,
}

/// What the user last asked others to see (`\status\`, SPEC §12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnStatus {
    /// The code the client sent: 0 means invisible while connected.
    pub code: u32,
    pub text: String,
}

/// A connection handle, shared between its event loop and senders.
pub struct Conn {
    pub id: u64,
    pub peer: SocketAddr,
    stream: TcpStream,
    outbox: Outbox,
    closed: AtomicBool,
    /// Set by [`Conn::end_after_flush`].
    ending: AtomicBool,
    /// Offline delivery is waiting for the peer (`router::deliver_offline`): the session handles
    /// no further requests until it is settled, as when the session had a thread of its own.
    settling: AtomicBool,
    unsent_ims: Mutex<Vec<PendingIm>>,
    login: OnceLock<LoginInfo>,
    status: Mutex<OwnStatus>,
    /// Offline messages were delivered in this session: reported as `Mail=On` by 7/18.
    pub had_offline: AtomicBool,
    /// `Config::log`: whether this connection's own events go to the log.
    log: bool,
    /// This connection's own handle, once an event loop adopted it: a batch (`batch.rs`) keeps
    /// it until it writes what was deferred.
    me: OnceLock<Weak<Conn>>,
}

impl Conn {
    /// A connection whose outbox queues at most `outbox_limit` unwritten bytes.
    pub fn new(id: u64, peer: SocketAddr, stream: TcpStream, outbox_limit: usize, log: bool) -> std::io::Result<Conn> {
        Ok(Conn {
            id,
            peer,
            stream,
            outbox: Outbox::new(outbox_limit)?,
            closed: AtomicBool::new(false),
            ending: AtomicBool::new(false),
            settling: AtomicBool::new(false),
            unsent_ims: Mutex::new(Vec::new()),
            login: OnceLock::new(),
            status: Mutex::new(OwnStatus { code: 1, text: String::new() }),
            had_offline: AtomicBool::new(false),
            log,
            me: OnceLock::new(),
        })
    }

    /// The socket, for its event loop.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub fn login(&self) -> Option<LoginInfo> {
        self.login.get().copied()
    }

    /// Records the login; a connection logs in at most once.
    pub fn set_login(&self, info: LoginInfo) -> bool {
        self.login.set(info).is_ok()
    }

    pub fn own_status(&self) -> OwnStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_own_status(&self, code: u32, text: &str) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = OwnStatus { code, text: text.to_owned() };
    }

    /// The bm 100 list others see: invisible (0) looks exactly like offline (SPEC §12).
    pub fn visible_status(&self) -> StatusList {
        let s = self.own_status();
        if s.code == 0 {
            offline_status()
        } else {
            StatusList::new(Presence::from_code(s.code), &s.text)
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues one message (see [`Outbox`]); never blocks. False when the connection is closed, or
    /// when the peer stopped reading and the message would pass the outbox limit: that connection
    /// is then closed (logged), and the sender carries on.
    pub fn send(&self, msg: &ServerMessage) -> bool {
        self.send_with(msg, None).is_some()
    }

    /// Like [`Conn::send`] for a message already encoded (one encoding for a whole fan-out).
    pub fn send_encoded(&self, bytes: &[u8]) -> bool {
        if self.is_closed() {
            return false;
        }
        self.push(bytes.to_vec(), None).is_some()
    }

    /// Queues `bytes`: deferred to the running batch on an event loop (`batch.rs`), written at
    /// once elsewhere.
    fn push(&self, bytes: Vec<u8>, im: Option<PendingIm>) -> Option<u64> {
        if let Some(me) = self.me.get().filter(|_| crate::batch::active()) {
            let pushed = self.outbox.push_deferred(bytes, im);
            if let Ok((_, true)) = pushed {
                if let Some(me) = me.upgrade() {
                    crate::batch::add(me);
                }
            }
            return self.pushed(pushed.map(|(end, _)| end));
        }
        let pushed = self.outbox.push(&self.stream, bytes, im);
        self.pushed(pushed)
    }

    /// Like [`Conn::send`] for a live IM: if the connection ends before the IM was written, it is
    /// handed to [`Conn::take_unsent_ims`] (and stored for the next login) instead of being lost.
    pub fn send_im(&self, msg: &ServerMessage, im: PendingIm) -> bool {
        self.send_with(msg, Some(im)).is_some()
    }

    /// Like [`Conn::send`], but returns the stream offset just past the message: it has reached
    /// the peer once [`Conn::wait_acked`] reports at least that.
    pub fn send_tracked(&self, msg: &ServerMessage) -> Option<u64> {
        self.send_with(msg, None)
    }

    /// Sends `msg` with `first` run while the outbox is locked, so nothing another thread sends
    /// can reach the peer before `msg`. Login uses it to register the session and send `lc=2` as
    /// one step: no routed message can overtake the login reply.
    pub fn send_after(&self, msg: &ServerMessage, first: impl FnOnce()) -> bool {
        let Some(bytes) = self.encode(msg) else { return false };
        let pushed = self.outbox.push_after(&self.stream, bytes, None, first);
        self.pushed(pushed).is_some()
    }

    /// Like [`Conn::send`], but skips the message while earlier ones are still queued: used by the
    /// keepalive sweep (queued bytes are traffic anyway).
    pub fn try_send(&self, msg: &ServerMessage) -> bool {
        self.outbox.queued() > 0 || self.send(msg)
    }

    fn encode(&self, msg: &ServerMessage) -> Option<Vec<u8>> {
        match msg.encode() {
            Ok(m) => Some(m.encode()),
            Err(e) => {
                self.log(format_args!("conn {}: cannot encode outgoing message: {e}", self.id));
                None
            }
        }
    }

    fn log(&self, args: std::fmt::Arguments<'_>) {
        if self.log {
            crate::log(args);
        }
    }

    fn send_with(&self, msg: &ServerMessage, im: Option<PendingIm>) -> Option<u64> {
        if self.is_closed() {
            return None;
        }
        let bytes = self.encode(msg)?;
        self.push(bytes, im)
    }

    fn pushed(&self, r: Result<u64, PushError>) -> Option<u64> {
        match r {
            Ok(end) => Some(end),
            Err(PushError::Closed) => {
                self.close();
                None
            }
            Err(PushError::Full) => {
                if !self.is_closed() {
                    self.log(format_args!(
                        "conn {} from {}: peer is not reading ({} bytes waiting, limit reached), closing it",
                        self.id,
                        self.peer,
                        self.outbox.queued()
                    ));
                }
                self.close();
                None
            }
        }
    }

    /// Writes what is queued as far as the socket takes it; false when the socket failed. For the
    /// event loop, when the socket is writable.
    pub fn flush(&self) -> bool {
        self.outbox.flush(&self.stream).is_ok()
    }

    /// Unwritten bytes queued.
    pub fn queued(&self) -> usize {
        self.outbox.queued()
    }

    /// Since when queued bytes have been waiting without any progress.
    pub fn stalled_since(&self) -> Option<Instant> {
        self.outbox.stalled_since()
    }

    /// Writes everything queued, waiting for the socket up to `limit`; true when all was written.
    /// It blocks the caller: never called on an event loop (offline delivery runs on a thread of
    /// its own, `router.rs`).
    pub fn flush_own(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if !self.flush() {
                return false;
            }
            if self.queued() == 0 {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !wait_writable(&self.stream, left) {
                return false;
            }
        }
    }

    /// Bytes written to the socket so far.
    pub fn bytes_written(&self) -> u64 {
        self.outbox.written()
    }

    /// Waits until the peer's TCP acknowledged `offset` bytes, the connection is gone, or
    /// `limit` passed; returns the bytes acknowledged (where the kernel does not tell, the bytes
    /// written). Blocks the caller: never called on an event loop.
    pub fn wait_acked(&self, offset: u64, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        let mut pause = Duration::from_millis(1);
        loop {
            let Some(p) = crate::liveness::tcp_progress(&self.stream) else { return self.bytes_written() };
            if p.acked >= offset || p.gone || Instant::now() >= deadline {
                return p.acked;
            }
            // An acknowledgement takes about one round trip: poll briefly, then back off.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Sets the event loop this connection belongs to (when the loop adopts it).
    pub fn set_waker(self: &Arc<Conn>, wake: crate::reactor::Wake) {
        let _ = self.me.set(Arc::downgrade(self));
        self.outbox.set_waker(wake);
    }

    /// Whether the event loop `id` (see `batch::set_loop`) owns this connection.
    pub fn on_loop(&self, id: usize) -> bool {
        self.outbox.on_loop(id)
    }

    /// Asks the owning loop to write what is queued (a batch hands it over so).
    pub fn kick(&self) {
        self.outbox.wake();
    }

    /// Writes what a batch deferred; a connection whose socket failed is closed.
    pub fn flush_batch(&self) {
        // (A connection that began a graceful end meanwhile is closed for writing already.)
        if !self.flush() && !self.is_closed() {
            self.close();
        } else if self.queued() > 0 {
            // The socket is full: the loop times the peer (`Config::write_timeout`).
            self.outbox.wake();
        }
    }

    /// Asks the event loop to end this connection after writing what is queued (a session
    /// replaced by a new login gets its error 6 first). Any thread may call it.
    pub fn end_after_flush(&self) {
        self.ending.store(true, Ordering::Release);
        self.outbox.wake();
    }

    /// Holds the session's further requests until [`Conn::settled`].
    pub fn settling(&self) {
        self.settling.store(true, Ordering::Release);
    }

    /// Lets the session handle requests again (and tells its event loop).
    pub fn settled(&self) {
        self.settling.store(false, Ordering::Release);
        self.outbox.wake();
    }

    pub fn is_settling(&self) -> bool {
        self.settling.load(Ordering::Acquire)
    }

    /// True once [`Conn::end_after_flush`] was called.
    pub fn ending(&self) -> bool {
        self.ending.load(Ordering::Acquire)
    }

    /// IMs queued for this connection that it closed before writing (see [`Conn::send_im`]).
    pub fn take_unsent_ims(&self) -> Vec<PendingIm> {
        std::mem::take(&mut *self.unsent_ims.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn close_outbox(&self) {
        let ims = self.outbox.close();
        if !ims.is_empty() {
            self.unsent_ims.lock().unwrap_or_else(|p| p.into_inner()).extend(ims);
        }
    }

    /// The second step of a graceful end (the first is writing what is queued, see
    /// `session.rs`): refuses further messages and stops writing, so the peer sees the final
    /// message, then end of stream. The session then reads and discards what the peer still sends
    /// for a while: closing with unread input would make the kernel send a reset, which can
    /// destroy the final message before the peer reads it. False when already closed.
    pub fn begin_linger(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.close_outbox();
        let _ = self.stream.shutdown(Shutdown::Write);
        true
    }

    /// Shuts the socket down at once (what is queued is dropped; queued IMs are kept for
    /// [`Conn::take_unsent_ims`]); its event loop is told, and cleans up.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.close_outbox();
            let _ = self.stream.shutdown(Shutdown::Both);
            self.outbox.wake();
        }
    }
}

/// Waits until `stream` can take more bytes, at most `limit`; false on timeout or error.
pub fn wait_writable(stream: &TcpStream, limit: Duration) -> bool {
    let mut fds = [libc::pollfd { fd: stream.as_raw_fd(), events: libc::POLLOUT, revents: 0 }];
    let ms = libc::c_int::try_from(limit.as_millis()).unwrap_or(libc::c_int::MAX).max(1);
    // SAFETY: one valid pollfd, count 1.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
    n > 0 && fds[0].revents & libc::POLLOUT != 0
}

/// `|s|0|ss|Offline…`: what others see on logout, disconnect or invisibility (SPEC §11.5).
pub fn offline_status() -> StatusList {
    StatusList::new(Presence::Offline, "Offline")
}
