//! A connection's outgoing bytes: written without ever blocking the thread that sends, queued
//! when the socket is full, bounded in bytes (issue "Hostile peers, round two", slow reader).
//!
//! Any thread may [`Outbox::push`] a message. If nothing is queued, the bytes go straight into the
//! socket with a non-blocking `send`; whatever the socket does not take is queued, and the
//! connection's event loop (`reactor.rs`) writes the rest when the socket becomes writable
//! ([`Outbox::flush`]: its edge-triggered registration reports the socket writable again once
//! the peer has read; the loop is also told when a queue starts, to time a stalled peer). A push that
//! would take the queue past its limit fails with [`PushError::Full`]: the peer is not reading, the
//! caller closes that connection and carries on. So one full socket never blocks another session.
//!
//! Message boundaries are kept: the queue holds whole encoded messages, in order, and a message is
//! either entirely behind another or entirely before it. The outbox also counts the bytes written
//! since the connection opened, which `liveness::tcp_progress` compares with the peer's
//! acknowledgements.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

/// An IM riding in the queue: if the connection ends before it was written in full, it is stored
/// for the recipient's next login instead of being lost (see `session.rs`, `SessionEnd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingIm {
    pub sender: u32,
    pub kind: u32,
    pub msg: String,
    pub cv: Option<u32>,
    /// Unix seconds the server received it.
    pub sent_at: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The connection is closed (or its socket failed).
    Closed,
    /// Queuing the message would pass the outbox limit.
    Full,
}

struct Entry {
    bytes: Vec<u8>,
    /// Bytes of `bytes` already written.
    done: usize,
    im: Option<PendingIm>,
}

struct State {
    queue: VecDeque<Entry>,
    /// Unwritten bytes in `queue`.
    queued: usize,
    /// Bytes written to the socket since the connection opened.
    written: u64,
    /// When the queue last made progress (or became non-empty); None while it is empty.
    progress_at: Option<Instant>,
    closed: bool,
    /// Bytes were queued by a deferred push ([`Outbox::push_deferred`]) and the pusher's batch
    /// will flush them; a second deferred push need not register the outbox again.
    dirty: bool,
}

/// See the module docs.
pub struct Outbox {
    state: Mutex<State>,
    /// The connection's event loop, told when a queue starts or the session must end.
    waker: OnceLock<crate::reactor::Wake>,
    limit: usize,
}

/// How one non-blocking `send` went.
enum Sent {
    Bytes(usize),
    WouldBlock,
    Failed,
}

/// One non-blocking send of `bytes` (a gathered send of one buffer).
fn send_nonblocking(stream: &TcpStream, bytes: &[u8]) -> Sent {
    send_gathered(stream, &[libc::iovec { iov_base: bytes.as_ptr() as *mut libc::c_void, iov_len: bytes.len() }])
}

/// Messages written by one `sendmsg` at most (well below `IOV_MAX`, 1024 on Linux).
const MAX_GATHER: usize = 64;

/// One non-blocking `sendmsg` of several buffers in order.
fn send_gathered(stream: &TcpStream, iov: &[libc::iovec]) -> Sent {
    // SAFETY: all-zero is a valid msghdr (no address, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = iov.len() as _;
    loop {
        // SAFETY: a valid socket fd; `msg` points to `iov`, whose buffers are alive and unchanged
        // while the caller holds the outbox lock. MSG_DONTWAIT makes this one call non-blocking
        // without changing the socket (the event loop's reads stay as they are); MSG_NOSIGNAL turns
        // a closed peer into EPIPE instead of SIGPIPE.
        let n = unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, libc::MSG_DONTWAIT | MSG_NOSIGNAL) };
        if n >= 0 {
            return Sent::Bytes(n as usize);
        }
        match io::Error::last_os_error().kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Sent::WouldBlock,
            _ => return Sent::Failed,
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const MSG_NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const MSG_NOSIGNAL: libc::c_int = 0;

impl Outbox {
    /// An outbox that queues at most `limit` unwritten bytes.
    pub fn new(limit: usize) -> io::Result<Outbox> {
        Ok(Outbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued: 0,
                written: 0,
                progress_at: None,
                closed: false,
                dirty: false,
            }),
            waker: OnceLock::new(),
            limit,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `bytes` now as far as the socket takes them and queues the rest. On success, the
    /// stream offset just past the message (compare with the peer's acknowledgements).
    pub fn push(&self, stream: &TcpStream, bytes: Vec<u8>, im: Option<PendingIm>) -> Result<u64, PushError> {
        self.push_after(stream, bytes, im, || {})
    }

    /// Like [`Outbox::push`], with `first` run while the outbox is locked: nothing another thread
    /// pushes can get ahead of this message (login registers the session and sends `lc=2` so).
    pub fn push_after(
        &self,
        stream: &TcpStream,
        bytes: Vec<u8>,
        im: Option<PendingIm>,
        first: impl FnOnce(),
    ) -> Result<u64, PushError> {
        self.push_now(stream, bytes, im, first)
    }

    /// Queues a message without writing it: the caller's batch writes everything queued with one
    /// system call when it ends (`batch.rs`: the messages routed from one read of a sender's
    /// socket go out together). Returns the offset as [`Outbox::push`] does, and whether the
    /// outbox must be added to the batch (it was not waiting for one already).
    pub fn push_deferred(&self, bytes: Vec<u8>, im: Option<PendingIm>) -> Result<(u64, bool), PushError> {
        let mut st = self.lock();
        if st.closed {
            return Err(PushError::Closed);
        }
        let end = self.enqueue(&mut st, Entry { bytes, done: 0, im })?;
        let register = !std::mem::replace(&mut st.dirty, true);
        Ok((end, register))
    }

    /// Queues what is left of `entry` if the outbox limit allows: the stream offset just past it.
    fn enqueue(&self, st: &mut State, entry: Entry) -> Result<u64, PushError> {
        let rest = entry.bytes.len() - entry.done;
        if st.queued + rest > self.limit {
            return Err(PushError::Full);
        }
        st.queued += rest;
        st.progress_at.get_or_insert_with(Instant::now);
        st.queue.push_back(entry);
        Ok(st.written + st.queued as u64)
    }

    fn push_now(
        &self,
        stream: &TcpStream,
        bytes: Vec<u8>,
        im: Option<PendingIm>,
        first: impl FnOnce(),
    ) -> Result<u64, PushError> {
        let mut st = self.lock();
        first();
        if st.closed {
            return Err(PushError::Closed);
        }
        let mut done = 0;
        if st.queue.is_empty() {
            match send_nonblocking(stream, &bytes) {
                Sent::Bytes(n) => done = n,
                Sent::WouldBlock => {}
                Sent::Failed => {
                    st.closed = true;
                    return Err(PushError::Closed);
                }
            }
            st.written += done as u64;
            if done == bytes.len() {
                return Ok(st.written);
            }
        }
        let started = st.queue.is_empty();
        let end = self.enqueue(&mut st, Entry { bytes, done, im })?;
        drop(st);
        if started {
            // The loop times the peer from now on (`Config::write_timeout`).
            self.wake();
        }
        Ok(end)
    }

    /// Writes queued bytes until the socket would block. Err when the socket failed (the outbox
    /// is then closed). Called by the event loop when the socket is writable, and by whoever must wait for the peer.
    pub fn flush(&self, stream: &TcpStream) -> Result<(), PushError> {
        let mut st = self.lock();
        st.dirty = false;
        if st.closed {
            return Err(PushError::Closed);
        }
        while !st.queue.is_empty() {
            // Everything queued (up to MAX_GATHER messages) in one system call.
            let sent = {
                // On the stack: no allocation per write.
                let mut iov = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; MAX_GATHER];
                let mut count = 0;
                for (slot, e) in iov.iter_mut().zip(st.queue.iter()) {
                    let rest = &e.bytes[e.done..];
                    *slot = libc::iovec { iov_base: rest.as_ptr() as *mut _, iov_len: rest.len() };
                    count += 1;
                }
                send_gathered(stream, &iov[..count])
            };
            match sent {
                Sent::Bytes(mut n) => {
                    st.queued -= n;
                    st.written += n as u64;
                    st.progress_at = Some(Instant::now());
                    while n > 0 {
                        let front = st.queue.front_mut().expect("sent bytes were queued");
                        let take = n.min(front.bytes.len() - front.done);
                        front.done += take;
                        n -= take;
                        if front.done == front.bytes.len() {
                            st.queue.pop_front();
                        }
                    }
                }
                Sent::WouldBlock => break,
                Sent::Failed => {
                    st.closed = true;
                    return Err(PushError::Closed);
                }
            }
        }
        if st.queue.is_empty() {
            st.progress_at = None;
        }
        Ok(())
    }

    /// Unwritten bytes queued.
    pub fn queued(&self) -> usize {
        self.lock().queued
    }

    /// Since when the queue has been waiting for the socket without any progress (None when empty).
    pub fn stalled_since(&self) -> Option<Instant> {
        self.lock().progress_at
    }

    /// Bytes written to the socket since the connection opened.
    pub fn written(&self) -> u64 {
        self.lock().written
    }

    /// Refuses further pushes; returns the IMs that were never written in full (a partly written
    /// message is useless to the peer, which drops the broken frame).
    pub fn close(&self) -> Vec<PendingIm> {
        let mut st = self.lock();
        st.closed = true;
        st.queued = 0;
        std::mem::take(&mut st.queue).into_iter().filter_map(|e| e.im).collect()
    }

    /// Sets the event loop to tell (once, when the connection is adopted by a loop).
    pub fn set_waker(&self, wake: crate::reactor::Wake) {
        let _ = self.waker.set(wake);
    }

    /// Whether the event loop `id` owns this outbox's connection.
    pub fn on_loop(&self, id: usize) -> bool {
        self.waker.get().is_some_and(|w| w.loop_id() == id)
    }

    /// Tells the connection's event loop to look at it (bytes queued, or it should end).
    pub fn wake(&self) {
        if let Some(w) = self.waker.get() {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use super::*;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        (l.accept().unwrap().0, client)
    }

    #[test]
    fn a_reader_that_never_reads_fills_the_queue_to_its_limit_and_then_push_fails_at_once() {
        let (server, _silent) = pair();
        let out = Outbox::new(256 * 1024).unwrap();
        let im = PendingIm { sender: 1, kind: 1, msg: "m".into(), cv: None, sent_at: 0 };
        let mut pushed = 0u64;
        let started = Instant::now();
        let err = loop {
            match out.push(&server, vec![b'x'; 64 * 1024], Some(im.clone())) {
                Ok(end) => {
                    pushed += 64 * 1024;
                    assert_eq!(end, pushed, "the offset just past the message");
                }
                Err(e) => break e,
            }
        };
        assert_eq!(err, PushError::Full);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "a push blocked");
        assert!(out.queued() <= 256 * 1024 && out.queued() > 0);
        assert!(out.stalled_since().is_some());
        // Closing hands back every IM that was not written in full.
        let unsent = out.close();
        assert!(!unsent.is_empty() && unsent.len() <= 256 / 64 + 1, "{}", unsent.len());
        assert_eq!(out.push(&server, b"more".to_vec(), None), Err(PushError::Closed));
    }

    #[test]
    fn queued_bytes_are_written_in_order_once_the_reader_reads() {
        let (server, mut client) = pair();
        let out = Outbox::new(64 * 1024 * 1024).unwrap();
        let total = 8 * 1024 * 1024; // more than the socket buffers hold
        let mut expected = Vec::new();
        for i in 0..(total / 65536) {
            let chunk = vec![(i % 251) as u8; 65536];
            expected.extend_from_slice(&chunk);
            out.push(&server, chunk, None).unwrap();
        }
        assert!(out.queued() > 0, "the socket took everything: the test proves nothing");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65536];
            while got.len() < total {
                let n = client.read(&mut buf).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        while out.queued() > 0 {
            out.flush(&server).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(out.written(), total as u64);
        assert!(reader.join().unwrap() == expected, "bytes lost or reordered");
    }
}
