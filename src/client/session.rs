//! The blocking-IO session: one TCP socket, one IO thread, a writer lock, and the
//! [`Machine`] behind a mutex.
//!
//! Threads and locks:
//! - The **IO thread** (one per session, small stack) connects, reads with a timeout no longer
//!   than the machine's next deadline (capped at [`MAX_WAIT`]), feeds the machine, ticks its
//!   timers, writes what it queued, and delivers events to the handler. It exits when the session
//!   is idle (not connected, no reconnect scheduled).
//! - **Host threads** call operations: lock the machine, run the command, unlock, then write.
//! - Writes go through one writer mutex that pops the machine's transmit queue in order, so two
//!   messages never interleave and the wire order is the machine's order. Lock order: the writer
//!   lock may take the machine lock briefly; nobody takes the writer lock while holding the
//!   machine lock.
//! - The handler runs on the IO thread with no lock held, behind a [`Gate`]: the host may call
//!   any operation, including [`Session::close`], from inside it.
//!
//! Memory per session: the machine's small tables, a framer that is shrunk after big frames, a
//! 4 KiB read buffer on the IO thread's stack, and that stack ([`Config::io_stack_size`]). One
//! file descriptor per session: the IO thread and the writer share the socket (an `Arc`, not a
//! `dup`), so a process with the usual hard limit of 20 000 descriptors can hold 10 000 sessions.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::commands::ProfileUpdate;
use super::config::Config;
use super::connect::{self, Cancel};
use super::error::{Error, Result};
use super::events::{Event, MessageId, OwnStatus, RequestId};
use super::gate::Gate;
use super::machine::{Credentials, IoAction, Machine, Phase};
use crate::protocol::zap::Zap;

/// Longest the IO thread sleeps before re-checking timers. Operations can add deadlines while it
/// sleeps (a new request's timeout), so this bounds how late a timer can fire. One wake-up per
/// second per idle session is cheap even for 10 000 sessions.
pub const MAX_WAIT: Duration = Duration::from_secs(1);
/// Bytes read per `read` call; on the IO thread's stack.
const READ_CHUNK: usize = 4096;
/// A write that cannot complete in this long means a dead peer; the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `close` waits for the IO thread to exit before leaving it to finish on its own. Only
/// a name lookup can take that long (a connect is cancelled, see `connect.rs`); the thread makes
/// no callback after `close`.
const JOIN_WAIT: Duration = Duration::from_secs(2);

/// Receives every event, on the session's IO thread.
pub type Handler = Box<dyn Fn(Event) + Send + Sync + 'static>;

struct Core {
    machine: Machine,
    host: String,
    port: u16,
    /// An IO thread is running and will see new work. Changed only under this lock.
    io_running: bool,
}

struct Inner {
    core: Mutex<Core>,
    writer: Mutex<Option<Arc<TcpStream>>>,
    handler: Handler,
    gate: Gate,
    /// Set by `close`: the IO thread stops at its next check.
    closing: AtomicBool,
    /// Wakes the IO thread while it has no socket (waiting to reconnect).
    wake: Condvar,
    wake_lock: Mutex<()>,
    io_thread: Mutex<Option<(JoinHandle<()>, ThreadId)>>,
    /// Set when the IO thread has returned.
    io_done: Mutex<bool>,
    io_done_cv: Condvar,
    stack_size: usize,
    connect_timeout: Duration,
    /// Cancels the connect the IO thread is in, if any.
    connecting: Mutex<Option<Arc<Cancel>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A MySpaceIM session over blocking sockets; see the module docs. Cheap to share across threads
/// by reference; dropping it closes it.
pub struct Session {
    inner: Arc<Inner>,
}

impl Session {
    /// A new idle session. `handler` receives every event, in order, on the IO thread.
    pub fn new(config: Config, handler: impl Fn(Event) + Send + Sync + 'static) -> Session {
        let stack_size = config.io_stack_size;
        let connect_timeout = config.connect_timeout;
        let machine = Machine::new(config, Instant::now());
        Session {
            inner: Arc::new(Inner {
                core: Mutex::new(Core { machine, host: String::new(), port: 0, io_running: false }),
                writer: Mutex::new(None),
                handler: Box::new(handler),
                gate: Gate::new(),
                closing: AtomicBool::new(false),
                wake: Condvar::new(),
                wake_lock: Mutex::new(()),
                io_thread: Mutex::new(None),
                io_done: Mutex::new(true),
                io_done_cv: Condvar::new(),
                stack_size,
                connect_timeout,
                connecting: Mutex::new(None),
            }),
        }
    }

    /// Connects to `host:port` and logs in; progress and the outcome arrive as events. Returns at
    /// once (DNS and connect happen on the IO thread).
    pub fn connect(&self, host: &str, port: u16, creds: Credentials) -> Result<()> {
        if self.inner.closing.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        if host.is_empty() || port == 0 {
            return Err(Error::InvalidArgument("empty host or port 0".into()));
        }
        let spawn = {
            let mut core = lock(&self.inner.core);
            core.machine.start(creds, Instant::now())?;
            core.host = host.to_owned();
            core.port = port;
            let spawn = !core.io_running;
            core.io_running = true;
            spawn
        };
        if spawn {
            self.spawn_io()?;
        } else {
            self.inner.notify();
        }
        Ok(())
    }

    fn spawn_io(&self) -> Result<()> {
        // A previous IO thread has decided to exit (io_running was false); reap it.
        let old = lock(&self.inner.io_thread).take();
        if let Some((h, id)) = old {
            if id != thread::current().id() {
                let _ = h.join();
            }
        }
        *lock(&self.inner.io_done) = false;
        let inner = self.inner.clone();
        let spawned = thread::Builder::new()
            .name("msim-io".into())
            .stack_size(self.inner.stack_size)
            .spawn(move || io_main(inner));
        match spawned {
            Ok(h) => {
                let id = h.thread().id();
                *lock(&self.inner.io_thread) = Some((h, id));
                Ok(())
            }
            Err(e) => {
                let mut core = lock(&self.inner.core);
                core.io_running = false;
                let _ = core.machine.disconnect(Instant::now());
                while core.machine.poll_io().is_some() {}
                *lock(&self.inner.io_done) = true;
                Err(Error::Network(format!("cannot start the IO thread: {e}")))
            }
        }
    }

    /// Runs a machine command, then writes what it queued.
    fn command<T>(&self, f: impl FnOnce(&mut Machine, Instant) -> T) -> T {
        let r = {
            let mut core = lock(&self.inner.core);
            f(&mut core.machine, Instant::now())
        };
        self.inner.flush();
        r
    }

    pub fn phase(&self) -> Phase {
        lock(&self.inner.core).machine.phase()
    }

    /// Whether the session's IO thread is alive. It exits on its own once the session is idle (no
    /// connection, no reconnect scheduled) and the last event was delivered; tests use this to
    /// check that no thread outlives its connection.
    pub fn io_thread_running(&self) -> bool {
        !*lock(&self.inner.io_done)
    }

    /// Received bytes held by the framer that are not yet a complete frame (bounded by
    /// [`Config::max_frame`]); for tests and diagnostics.
    pub fn buffered_bytes(&self) -> usize {
        lock(&self.inner.core).machine.buffered_bytes()
    }

    /// Own uid, 0 before login.
    pub fn uid(&self) -> u32 {
        lock(&self.inner.core).machine.uid()
    }

    /// Own username; `None` before login or while the account has none.
    pub fn username(&self) -> Option<String> {
        lock(&self.inner.core).machine.username().map(str::to_owned)
    }

    pub fn send_im(&self, who: &str, html: &str) -> Result<MessageId> {
        self.command(|m, now| m.send_im(who, html, now))
    }

    pub fn send_typing(&self, who: &str, typing: bool) -> Result<()> {
        self.command(|m, now| m.send_typing(who, typing, now))
    }

    pub fn send_zap(&self, who: &str, zap: Zap) -> Result<()> {
        self.command(|m, now| m.send_zap(who, zap, now))
    }

    pub fn set_status(&self, status: OwnStatus, text: &str) -> Result<()> {
        self.command(|m, _| m.set_status(status, text))
    }

    /// See [`Machine::set_profile`].
    pub fn set_profile(&self, profile: &ProfileUpdate) -> Result<()> {
        self.command(|m, _| m.set_profile(profile))
    }

    pub fn add_buddy(&self, who: &str, group: Option<&str>) -> Result<()> {
        self.command(|m, now| m.add_buddy(who, group, now))
    }

    pub fn remove_buddy(&self, who: &str) -> Result<()> {
        self.command(|m, now| m.remove_buddy(who, now))
    }

    pub fn block(&self, who: &str) -> Result<()> {
        self.command(|m, now| m.block(who, now))
    }

    pub fn unblock(&self, who: &str) -> Result<()> {
        self.command(|m, now| m.unblock(who, now))
    }

    pub fn set_contact_info(&self, who: &str, group: Option<&str>, nickname: &str) -> Result<()> {
        self.command(|m, now| m.set_contact_info(who, group, nickname, now))
    }

    pub fn lookup_user(&self, who: &str) -> Result<RequestId> {
        self.command(|m, now| m.lookup_user(who, now))
    }

    pub fn check_username(&self, name: &str) -> Result<RequestId> {
        self.command(|m, now| m.check_username(name, now))
    }

    pub fn set_username(&self, name: &str) -> Result<RequestId> {
        self.command(|m, now| m.set_username(name, now))
    }

    pub fn request_groups(&self) -> Result<RequestId> {
        self.command(|m, now| m.request_groups(now))
    }

    pub fn import_friends(&self) -> Result<RequestId> {
        self.command(|m, now| m.import_friends(now))
    }

    pub fn check_mail(&self) -> Result<()> {
        self.command(|m, now| m.check_mail(now))
    }

    /// See [`Machine::set_privacy`].
    pub fn set_privacy(&self, show_only_to_list: bool, privacy_mode: bool) -> Result<()> {
        self.command(|m, _| m.set_privacy(show_only_to_list, privacy_mode))
    }

    pub fn permit(&self, who: &str) -> Result<()> {
        self.command(|m, now| m.permit(who, now))
    }

    pub fn unpermit(&self, who: &str) -> Result<()> {
        self.command(|m, now| m.unpermit(who, now))
    }

    /// See [`Machine::save_group`].
    pub fn save_group(&self, name: &str, position: Option<u32>, flags: Option<u32>) -> Result<RequestId> {
        self.command(|m, now| m.save_group(name, position, flags, now))
    }

    pub fn request_web_challenge(&self) -> Result<()> {
        self.command(|m, _| m.request_web_challenge())
    }

    pub fn send_window_opened(&self, who: &str) -> Result<()> {
        self.command(|m, now| m.send_window_opened(who, now))
    }

    pub fn send_client_version(&self, who: &str, text: &str) -> Result<()> {
        self.command(|m, now| m.send_client_version(who, text, now))
    }

    /// Logs out and closes the connection; a `Disconnected(Requested)` event follows. The session
    /// can `connect` again afterwards.
    pub fn disconnect(&self) -> Result<()> {
        self.command(|m, now| m.disconnect(now))?;
        self.inner.kick();
        Ok(())
    }

    /// Closes for good: logs out if connected, stops the IO thread, and guarantees that no event
    /// is delivered after it returns — except that when called from inside the handler, that
    /// handler call itself of course continues until it returns. Also done by `Drop`.
    pub fn close(&self) {
        let inner = &self.inner;
        if inner.closing.swap(true, Ordering::SeqCst) {
            return;
        }
        inner.gate.close();
        let _ = self.command(|m, now| m.disconnect(now));
        inner.kick();
        let current = lock(&inner.io_thread).as_ref().map(|(_, id)| *id);
        if current == Some(thread::current().id()) {
            return; // Called from the handler: the IO thread exits after it returns.
        }
        let done = lock(&inner.io_done);
        let (done, _) =
            inner.io_done_cv.wait_timeout_while(done, JOIN_WAIT, |d| !*d).unwrap_or_else(|e| e.into_inner());
        if *done {
            drop(done);
            if let Some((h, _)) = lock(&inner.io_thread).take() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    /// Writes everything the machine queued, in order.
    fn flush(&self) {
        let mut w = lock(&self.writer);
        loop {
            let Some(data) = lock(&self.core).machine.poll_transmit() else { break };
            if let Some(s) = w.as_ref() {
                if (&**s).write_all(&data).is_err() {
                    // The reader sees the shutdown and reports the loss through the machine.
                    let _ = s.shutdown(Shutdown::Both);
                    *w = None;
                }
            }
        }
    }

    /// Wakes the IO thread: unblocks its read (socket shutdown), its connect (cancel) or its
    /// reconnect wait.
    fn kick(&self) {
        let phase = lock(&self.core).machine.phase();
        if !phase.has_connection() {
            if let Some(s) = lock(&self.writer).take() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        if phase != Phase::Connecting {
            if let Some(c) = lock(&self.connecting).as_ref() {
                c.cancel();
            }
        }
        self.notify();
    }

    /// Connects for `attempt` unless the session moved on (closed, disconnected) before the
    /// cancel could reach this connect; `kick` cancels it after.
    fn connect(&self, host: &str, port: u16) -> io::Result<TcpStream> {
        let cancel = Arc::new(Cancel::new()?);
        {
            let core = lock(&self.core);
            if self.closing.load(Ordering::SeqCst) || core.machine.phase() != Phase::Connecting {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "connect cancelled"));
            }
            *lock(&self.connecting) = Some(cancel.clone());
        }
        let result = connect::connect(host, port, self.connect_timeout, &cancel);
        *lock(&self.connecting) = None;
        result
    }

    fn notify(&self) {
        let _g = lock(&self.wake_lock);
        self.wake.notify_all();
    }

    fn deliver(&self) {
        loop {
            let Some(ev) = lock(&self.core).machine.poll_event() else { break };
            if self.closing.load(Ordering::SeqCst) {
                continue;
            }
            // A panicking handler must not kill the IO thread.
            self.gate.run(|| {
                let _ = catch_unwind(AssertUnwindSafe(|| (self.handler)(ev)));
            });
        }
    }
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

fn io_main(inner: Arc<Inner>) {
    let exit = IoExit(inner.clone());
    let mut sock: Option<Arc<TcpStream>> = None;
    // The read timeout currently set on `sock`.
    let mut read_timeout: Option<Duration> = None;
    let mut buf = [0u8; READ_CHUNK];
    loop {
        if inner.closing.load(Ordering::SeqCst) {
            // Quit as is; the peer sees the close.
            if let Some(s) = sock.take() {
                inner.flush();
                let _ = s.shutdown(Shutdown::Both);
            }
            *lock(&inner.writer) = None;
            let mut core = lock(&inner.core);
            core.io_running = false;
            break;
        }
        let action = lock(&inner.core).machine.poll_io();
        match action {
            Some(IoAction::Connect { attempt }) => {
                let (host, port) = {
                    let c = lock(&inner.core);
                    (c.host.clone(), c.port)
                };
                inner.deliver(); // progress before a connect that may take a while
                let result = inner.connect(&host, port);
                let mut core = lock(&inner.core);
                match result {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        let _ = s.set_write_timeout(Some(WRITE_TIMEOUT));
                        // A disconnect (and maybe a new connect) may have come while we were
                        // connecting: then this socket belongs to nobody.
                        core.machine.connected(attempt, Instant::now());
                        if core.machine.phase().has_connection() {
                            let s = Arc::new(s);
                            *lock(&inner.writer) = Some(s.clone());
                            sock = Some(s);
                            read_timeout = None;
                        } else {
                            let _ = s.shutdown(Shutdown::Both);
                        }
                    }
                    Err(e) => core.machine.connect_failed(attempt, &e.to_string(), Instant::now()),
                }
                continue;
            }
            Some(IoAction::Close) => {
                inner.flush(); // the logout goes out before the close
                if let Some(s) = sock.take() {
                    let _ = s.shutdown(Shutdown::Both);
                }
                *lock(&inner.writer) = None;
                continue;
            }
            None => {}
        }
        inner.flush();
        inner.deliver();
        let wait = {
            let mut core = lock(&inner.core);
            if core.machine.phase() == Phase::Idle && !core.machine.has_output() {
                core.io_running = false;
                break;
            }
            if core.machine.has_output() {
                continue;
            }
            let now = Instant::now();
            core.machine
                .next_deadline()
                .map_or(MAX_WAIT, |d| d.saturating_duration_since(now))
                .clamp(Duration::from_millis(1), MAX_WAIT)
        };
        match &sock {
            Some(s) => {
                // The timeout only has to end the read by the next deadline; re-setting it costs a
                // syscall, so that is done only when it must shrink (or has become far too short).
                if read_timeout.map_or(true, |t| wait < t || wait > 2 * t) {
                    let _ = s.set_read_timeout(Some(wait));
                    read_timeout = Some(wait);
                }
                let r = (&**s).read(&mut buf);
                let mut core = lock(&inner.core);
                let now = Instant::now();
                match r {
                    // A reset is how a server that closes with our data unread looks.
                    Ok(0) => core.machine.connection_lost(None, now),
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => core.machine.connection_lost(None, now),
                    Ok(n) => core.machine.receive(&buf[..n], now),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => core.machine.connection_lost(Some(&e.to_string()), now),
                }
                core.machine.tick(now);
            }
            None => {
                let g = lock(&inner.wake_lock);
                let _ = inner.wake.wait_timeout(g, wait);
                lock(&inner.core).machine.tick(Instant::now());
            }
        }
    }
    drop(exit);
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
