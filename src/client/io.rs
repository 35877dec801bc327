//! The session's IO thread: the only code that touches the socket.
//!
//! One loop: carry out the machine's socket actions (connect, close), write what is queued
//! without blocking, deliver events, then `poll` the socket (readable; writable while output is
//! pending) and the wake-up eventfd until the machine's next deadline. Host threads only queue
//! and raise the eventfd, so a command's bytes and its callbacks (`ImSent`, traces, failures) are
//! handled within microseconds, not at the next timer.
//!
//! Every IM's fate is settled here: `ImSent` when its last byte went into the socket, and when
//! a connection ends, everything not written is handed back to the machine
//! ([`Machine::untransmitted`]): re-sent after a reconnect or reported failed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::machine::{IoAction, Machine, Phase};
use super::session::{lock, Inner};
use super::transmit::PendingIm;

/// Bytes read per `read` call; on the IO thread's stack.
const READ_CHUNK: usize = 4096;
/// Longest `poll` when no timer is due: only a safety net, since every command raises the wake-up.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How long a requested close may spend writing what is still queued (the `\logout\`, IMs sent
/// just before), when the socket cannot take it at once.
const CLOSE_FLUSH: Duration = Duration::from_millis(500);

/// What the IO thread holds for the open connection: the socket and the bytes taken from the
/// machine but not yet written, with the IMs they complete.
struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    /// Written prefix of `out`.
    pos: usize,
    /// Per taken transmit, in order: where its bytes end in `out`, its queue cost, its IM.
    marks: std::collections::VecDeque<(usize, usize, Option<PendingIm>)>,
}

enum Pump {
    /// Everything queued is written.
    Idle,
    /// The socket is full; wait for POLLOUT.
    Blocked,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn { stream, out: Vec::new(), pos: 0, marks: Default::default() }
    }

    /// Moves the machine's queued transmits into `out` (one buffer: one `write` for a burst).
    fn take_from(&mut self, m: &mut Machine) {
        if self.pos == self.out.len() {
            self.out.clear();
            self.pos = 0;
        }
        while let Some(t) = m.take_transmit() {
            let cost = t.cost();
            self.out.extend_from_slice(&t.bytes);
            self.marks.push_back((self.out.len(), cost, t.im));
        }
    }

    fn pending(&self) -> bool {
        self.pos < self.out.len()
    }

    /// Writes as much as the socket takes; reports completed transmits to the machine.
    fn pump(&mut self, inner: &Inner) -> io::Result<Pump> {
        loop {
            if !self.pending() {
                let mut core = lock(&inner.core);
                self.take_from(&mut core.machine);
                if !self.pending() {
                    return Ok(Pump::Idle);
                }
            }
            match (&self.stream).write(&self.out[self.pos..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the socket took no bytes")),
                Ok(n) => {
                    self.pos += n;
                    let mut core = lock(&inner.core);
                    while self.marks.front().is_some_and(|(end, _, _)| *end <= self.pos) {
                        let (_, cost, im) = self.marks.pop_front().expect("front checked");
                        core.machine.transmitted(cost, im);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Pump::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Ends the connection: writes what is queued for at most `flush` (nothing if the socket is
    /// dead), closes, and hands every unwritten transmit back to the machine.
    fn finish(mut self, inner: &Inner, flush: Duration) {
        let deadline = Instant::now() + flush;
        while let Ok(Pump::Blocked) = self.pump(inner) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !poll_out(&self.stream, left) {
                break;
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        let mut core = lock(&inner.core);
        let mut lost: Vec<(usize, Option<PendingIm>)> = self.marks.drain(..).map(|(_, cost, im)| (cost, im)).collect();
        // Queued after the last take (e.g. during the flush wait) is lost with the connection too.
        lost.extend(core.machine.drain_transmits());
        if !lost.is_empty() {
            core.machine.untransmitted(lost);
        }
    }
}

/// Waits until `s` is writable (or in error), for at most `wait`.
fn poll_out(s: &TcpStream, wait: Duration) -> bool {
    let mut p = libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
    let ms = libc::c_int::try_from(wait.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

/// Marks the IO thread gone, also when it unwinds.
struct IoExit(Arc<Inner>);

impl Drop for IoExit {
    fn drop(&mut self) {
        if thread::panicking() {
            lock(&self.0.core).io_running = false;
        }
        *lock(&self.0.io_done) = true;
        self.0.io_done_cv.notify_all();
    }
}

thread_local! {
    /// The session whose IO thread this is (null on other threads); compared, never dereferenced.
    static IO_THREAD_OF: std::cell::Cell<*const Inner> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Whether the calling thread is `inner`'s IO thread (then inside one of its callbacks).
pub(super) fn on_io_thread_of(inner: &Arc<Inner>) -> bool {
    IO_THREAD_OF.with(|c| std::ptr::eq(c.get(), Arc::as_ptr(inner)))
}

pub(super) fn io_main(inner: Arc<Inner>) {
    IO_THREAD_OF.with(|c| c.set(Arc::as_ptr(&inner)));
    let exit = IoExit(inner.clone());
    let mut conn: Option<Conn> = None;
    let mut buf = [0u8; READ_CHUNK];
    loop {
        if inner.closing.load(Ordering::SeqCst) {
            // The session is being freed: the logout goes out if it can, quickly; no event is
            // delivered any more (the gate is closed).
            if let Some(c) = conn.take() {
                c.finish(&inner, CLOSE_FLUSH);
            }
            lock(&inner.core).io_running = false;
            break;
        }
        let action = lock(&inner.core).machine.poll_io();
        match action {
            Some(IoAction::Connect { attempt }) => {
                if let Some(c) = conn.take() {
                    c.finish(&inner, Duration::ZERO);
                }
                let (host, port) = {
                    let c = lock(&inner.core);
                    let port = match c.machine.connect_port() {
                        0 => c.port,
                        p => p,
                    };
                    (c.host.clone(), port)
                };
                inner.deliver(); // progress before a connect that may take a while
                let result = inner.connect(&host, port);
                let mut core = lock(&inner.core);
                match result {
                    Ok((s, early)) => {
                        let _ = s.set_nodelay(true);
                        super::liveness::watch(&s, inner.dead_connection_timeout);
                        // A disconnect (and maybe a new connect) may have come while we were
                        // connecting: then this socket belongs to nobody.
                        core.machine.connected(attempt, Instant::now());
                        if core.machine.phase().has_connection() {
                            conn = Some(Conn::new(s));
                            if !early.is_empty() {
                                core.machine.receive(&early, Instant::now());
                            }
                        } else {
                            let _ = s.shutdown(Shutdown::Both);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        core.machine.resolve_failed(attempt, &e.to_string(), Instant::now())
                    }
                    Err(e) => core.machine.connect_failed(attempt, &e.to_string(), Instant::now()),
                }
                continue;
            }
            Some(IoAction::Close) => {
                match conn.take() {
                    Some(c) => c.finish(&inner, CLOSE_FLUSH), // the logout goes out before the close
                    None => {
                        let mut core = lock(&inner.core);
                        let lost = core.machine.drain_transmits();
                        if !lost.is_empty() {
                            core.machine.untransmitted(lost);
                        }
                    }
                }
                continue;
            }
            None => {}
        }
        let mut want_write = false;
        if let Some(c) = conn.as_mut() {
            match c.pump(&inner) {
                Ok(Pump::Idle) => {}
                Ok(Pump::Blocked) => want_write = true,
                Err(e) => {
                    lost(&mut lock(&inner.core).machine, &e, Instant::now());
                    continue;
                }
            }
        }
        inner.deliver();
        let wait = {
            let mut core = lock(&inner.core);
            let m = &core.machine;
            if m.phase() == Phase::Idle && !m.has_output() && conn.is_none() {
                core.io_running = false;
                break;
            }
            if m.has_events_or_actions() || (conn.is_some() && m.has_transmits() && !want_write) {
                continue;
            }
            let now = Instant::now();
            m.next_deadline().map_or(MAX_WAIT, |d| d.saturating_duration_since(now)).min(MAX_WAIT)
        };
        let (readable, _) = wait_for(&inner, conn.as_ref().map(|c| &c.stream), want_write, wait);
        if readable {
            if let Some(c) = conn.as_ref() {
                let r = (&c.stream).read(&mut buf);
                let mut core = lock(&inner.core);
                let now = Instant::now();
                match r {
                    // A reset is how a server that closes with our data unread looks.
                    Ok(0) => core.machine.connection_lost(None, now),
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => core.machine.connection_lost(None, now),
                    Ok(n) => core.machine.receive(&buf[..n], now),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    Err(e) => lost(&mut core.machine, &e, now),
                }
            }
        }
        lock(&inner.core).machine.tick(Instant::now());
    }
    drop(exit);
}

/// A socket error ended the connection. `ETIMEDOUT` is the dead-connection check firing
/// (keepalive probes or data unacknowledged for `TCP_USER_TIMEOUT`).
fn lost(m: &mut Machine, e: &io::Error, now: Instant) {
    if e.raw_os_error() == Some(libc::ETIMEDOUT) {
        m.connection_dead(now);
    } else {
        m.connection_lost(Some(&e.to_string()), now);
    }
}

/// Polls the wake-up eventfd and the socket (if any) for `wait`. Returns (socket readable or in
/// error, socket writable). Clears the wake-up when it fired.
fn wait_for(inner: &Inner, sock: Option<&TcpStream>, want_write: bool, wait: Duration) -> (bool, bool) {
    let mut fds = [
        libc::pollfd { fd: inner.wake.fd(), events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: -1, events: 0, revents: 0 },
    ];
    if let Some(s) = sock {
        fds[1].fd = s.as_raw_fd();
        fds[1].events = libc::POLLIN | if want_write { libc::POLLOUT } else { 0 };
    }
    let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // Round up so a deadline 0.4 ms away is not a busy loop of zero-timeout polls.
    let ms = if wait.is_zero() { 0 } else { ms.max(1) };
    // SAFETY: two valid pollfd entries (a negative fd is ignored by poll).
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if n <= 0 {
        return (false, false);
    }
    if fds[0].revents != 0 {
        inner.wake.clear();
    }
    let r = fds[1].revents;
    (r & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0, r & libc::POLLOUT != 0)
}
