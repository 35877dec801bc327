//! One client connection as the rest of the server sees it: the socket, the single write lock
//! that keeps outgoing messages whole, the login identity and the presence others see.
//!
//! Anyone may send to a connection from any thread (routing, presence fan-out, keepalive); only
//! the connection's own session thread reads from it. Writes never interleave: every message is
//! encoded first, then written while holding `write_lock`.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use msim::protocol::kinds::ServerMessage;
use msim::protocol::status::{Presence, StatusList};

/// Most input read and thrown away while lingering on a graceful close: a peer that keeps sending
/// is cut off rather than holding the thread.
const LINGER_DISCARD_LIMIT: usize = 64 * 1024;

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

/// A connection handle, shared between the session thread and senders.
pub struct Conn {
    pub id: u64,
    pub peer: SocketAddr,
    stream: TcpStream,
    write_lock: Mutex<()>,
    closed: AtomicBool,
    /// Bytes written to the socket since it was accepted (every write goes through this handle),
    /// to compare with what the peer's TCP acknowledged (`liveness::bytes_acked`).
    written: AtomicU64,
    login: OnceLock<LoginInfo>,
    status: Mutex<OwnStatus>,
    /// Offline messages were delivered in this session: reported as `Mail=On` by 7/18.
    pub had_offline: AtomicBool,
}

impl Conn {
    pub fn new(id: u64, peer: SocketAddr, stream: TcpStream) -> Conn {
        Conn {
            id,
            peer,
            stream,
            write_lock: Mutex::new(()),
            closed: AtomicBool::new(false),
            written: AtomicU64::new(0),
            login: OnceLock::new(),
            status: Mutex::new(OwnStatus { code: 1, text: String::new() }),
            had_offline: AtomicBool::new(false),
        }
    }

    /// The socket, for the session thread's reads (`&TcpStream` implements `Read`).
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

    /// Sends one message whole. False when the connection is closed or the write failed (the
    /// connection is then closed: a peer that cannot take data within the write timeout is gone).
    pub fn send(&self, msg: &ServerMessage) -> bool {
        let bytes = match msg.encode() {
            Ok(m) => m.encode(),
            Err(e) => {
                crate::log(format_args!("conn {}: cannot encode outgoing message: {e}", self.id));
                return false;
            }
        };
        self.send_bytes(&bytes)
    }

    /// Sends `msg` with `first` run while the write lock is held, so nothing another thread sends
    /// can reach the peer before `msg`. Login uses it to register the session and send `lc=2` as
    /// one step: no routed message can overtake the login reply.
    pub fn send_after(&self, msg: &ServerMessage, first: impl FnOnce()) -> bool {
        let Ok(bytes) = msg.encode().map(|m| m.encode()) else { return false };
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        first();
        self.write_locked(guard, &bytes)
    }

    /// Like [`Conn::send`], but gives up at once when another thread is writing: used by the
    /// keepalive sweep, which must never wait on a slow peer (a write in progress is traffic anyway).
    pub fn try_send(&self, msg: &ServerMessage) -> bool {
        let Ok(bytes) = msg.encode().map(|m| m.encode()) else { return false };
        match self.write_lock.try_lock() {
            Ok(guard) => self.write_locked(guard, &bytes),
            Err(_) => true,
        }
    }

    /// Like [`Conn::send`], but on success returns the stream offset just past the message: it
    /// has reached the peer once [`Conn::wait_acked`] reports at least that.
    pub fn send_tracked(&self, msg: &ServerMessage) -> Option<u64> {
        let bytes = msg.encode().map(|m| m.encode()).ok()?;
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.write_locked(guard, &bytes).then(|| self.written.load(Ordering::Acquire))
    }

    /// Bytes written to the socket so far.
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Waits until the peer's TCP acknowledged `offset` bytes, the connection is gone, or
    /// `limit` passed; returns the bytes acknowledged (where the kernel does not tell, the bytes
    /// written). Only the session thread calls this (it
    /// blocks the caller; nobody else waits on it).
    pub fn wait_acked(&self, offset: u64, limit: std::time::Duration) -> u64 {
        let deadline = std::time::Instant::now() + limit;
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            let Some(p) = crate::liveness::tcp_progress(&self.stream) else { return self.bytes_written() };
            if p.acked >= offset || p.gone || std::time::Instant::now() >= deadline {
                return p.acked;
            }
            // An acknowledgement takes about one round trip: poll briefly, then back off.
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(50));
        }
    }

    fn send_bytes(&self, bytes: &[u8]) -> bool {
        if self.is_closed() {
            return false;
        }
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.write_locked(guard, bytes)
    }

    fn write_locked(&self, _guard: std::sync::MutexGuard<'_, ()>, mut bytes: &[u8]) -> bool {
        if self.is_closed() {
            return false;
        }
        // write_all, counting what each write put into the socket.
        while !bytes.is_empty() {
            match (&self.stream).write(bytes) {
                Ok(0) => break,
                Ok(n) => {
                    self.written.fetch_add(n as u64, Ordering::AcqRel);
                    bytes = &bytes[n..];
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if !bytes.is_empty() {
            self.close();
            return false;
        }
        true
    }

    /// Ends a connection this thread decided to end after sending a final message (fatal error,
    /// logout): stops writing (the peer sees the message, then end of stream), then reads and
    /// discards what the peer still sends for up to `linger`. Closing with unread input would
    /// make the kernel send a reset, which can destroy the final message before the peer reads it.
    /// Only the session thread may call this (it reads the socket).
    pub fn close_gracefully(&self, linger: std::time::Duration) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            // Not in the middle of another thread's message.
            let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        let deadline = std::time::Instant::now() + linger;
        let mut buf = [0u8; 1024];
        let mut discarded = 0usize;
        while discarded < LINGER_DISCARD_LIMIT {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match std::io::Read::read(&mut &self.stream, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Shuts the socket down; the session thread's read then ends and it cleans up.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

/// `|s|0|ss|Offline…`: what others see on logout, disconnect or invisibility (SPEC §11.5).
pub fn offline_status() -> StatusList {
    StatusList::new(Presence::Offline, "Offline")
}
