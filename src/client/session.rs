//! The blocking-IO session: one TCP socket, one IO thread, and the [`Machine`] behind a mutex.
//!
//! Threads and locks:
//! - The **IO thread** (one per session, small stack; `io.rs`) connects, then waits in `poll` on
//!   the socket and on a wake-up eventfd, with a timeout no longer than the machine's next
//!   deadline. It alone reads and writes the socket (non-blocking), feeds the machine, ticks its
//!   timers and delivers events to the handler. It exits when the session is idle (not connected,
//!   no reconnect scheduled).
//! - **Host threads** call operations: lock the machine, run the command (which only queues, in a
//!   queue bounded in bytes), unlock, raise the wake-up. No host thread ever waits for the
//!   network: a server that stops reading fills the queue and operations fail with `QueueFull`
//!   at once (SPEC §24).
//! - The handler runs on the IO thread with no lock held, behind a [`Gate`]: the host may call
//!   any operation, including [`Session::close`], from inside it.
//!
//! Memory per session: the machine's small tables, a framer that is shrunk after big frames, the
//! send queue (≤ [`Config::max_send_queue`] bytes), a 4 KiB read buffer on the IO thread's stack,
//! and that stack ([`Config::io_stack_size`]). Two file descriptors per session: the socket and
//! the wake-up eventfd.

use std::io;
use std::net::TcpStream;
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
use super::machine::{Credentials, Machine, Phase};
use super::proxy::Proxy;
use super::signal::Signal;
use crate::protocol::zap::Zap;

/// How long `close` waits for the IO thread to exit before leaving it to finish on its own. Only
/// a name lookup can take that long (a connect is cancelled, see `connect.rs`); the thread makes
/// no callback after `close`.
const JOIN_WAIT: Duration = Duration::from_secs(2);

/// Receives every event, on the session's IO thread.
pub type Handler = Box<dyn Fn(Event) + Send + Sync + 'static>;

pub(super) struct Core {
    pub(super) machine: Machine,
    pub(super) host: String,
    pub(super) port: u16,
    /// An IO thread is running and will see new work. Changed only under this lock.
    pub(super) io_running: bool,
}

pub(super) struct Inner {
    pub(super) core: Mutex<Core>,
    handler: Handler,
    gate: Gate,
    /// Set by `close`: the IO thread stops at its next check.
    pub(super) closing: AtomicBool,
    /// Raised when there is new work for the IO thread (queued output, close, disconnect).
    pub(super) wake: Signal,
    io_thread: Mutex<Option<(JoinHandle<()>, ThreadId)>>,
    /// Set when the IO thread has returned.
    pub(super) io_done: Mutex<bool>,
    pub(super) io_done_cv: Condvar,
    stack_size: usize,
    connect_timeout: Duration,
    /// See [`Config::dead_connection_timeout`].
    pub(super) dead_connection_timeout: Option<Duration>,
    /// Cancels the connect the IO thread is in, if any.
    connecting: Mutex<Option<Arc<Cancel>>>,
    /// See [`Config::proxy`] and [`Session::set_proxy`].
    proxy: Mutex<Option<Proxy>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A MySpaceIM session over blocking sockets; see the module docs. Cheap to share across threads
/// by reference; dropping it closes it.
pub struct Session {
    inner: Arc<Inner>,
}

impl Session {
    /// A new idle session. `handler` receives every event, in order, on the IO thread.
    ///
    /// # Panics
    /// When the process is out of file descriptors (see [`Session::try_new`]).
    pub fn new(config: Config, handler: impl Fn(Event) + Send + Sync + 'static) -> Session {
        Session::try_new(config, handler).expect("msim: cannot create the session's wake-up eventfd")
    }

    /// [`Session::new`], failing instead of panicking when the process is out of file
    /// descriptors (the wake-up eventfd).
    pub fn try_new(config: Config, handler: impl Fn(Event) + Send + Sync + 'static) -> io::Result<Session> {
        let stack_size = config.io_stack_size;
        let connect_timeout = config.connect_timeout;
        let dead_connection_timeout = config.dead_connection_timeout;
        let proxy = config.proxy.clone();
        let machine = Machine::new(config, Instant::now());
        Ok(Session {
            inner: Arc::new(Inner {
                core: Mutex::new(Core { machine, host: String::new(), port: 0, io_running: false }),
                handler: Box::new(handler),
                gate: Gate::new(),
                closing: AtomicBool::new(false),
                wake: Signal::new()?,
                io_thread: Mutex::new(None),
                io_done: Mutex::new(true),
                io_done_cv: Condvar::new(),
                stack_size,
                connect_timeout,
                dead_connection_timeout,
                connecting: Mutex::new(None),
                proxy: Mutex::new(proxy),
            }),
        })
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
            core.machine.start_at(creds, port, Instant::now())?;
            core.host = host.to_owned();
            core.port = port;
            let spawn = !core.io_running;
            core.io_running = true;
            spawn
        };
        if spawn {
            self.spawn_io()?;
        } else {
            self.inner.wake.raise();
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
            .spawn(move || super::io::io_main(inner));
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

    /// Runs a machine command (which only queues), then wakes the IO thread to write it.
    fn command<T>(&self, f: impl FnOnce(&mut Machine, Instant) -> T) -> T {
        let r = {
            let mut core = lock(&self.inner.core);
            f(&mut core.machine, Instant::now())
        };
        // From this session's own callback (THREAD dispatch) the IO thread is the caller: it
        // writes what was queued as soon as the callback returns, so no wake-up is needed — two
        // syscalls and a poll saved on every IM a bot or bridge answers from `on_im_received`.
        if !super::io::on_io_thread_of(&self.inner) {
            self.inner.wake.raise();
        }
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

    /// Sets (or with `None` removes) the proxy the next `connect` goes through; only while idle
    /// (`AlreadyConnected` otherwise).
    pub fn set_proxy(&self, proxy: Option<Proxy>) -> Result<()> {
        let core = lock(&self.inner.core);
        if core.machine.phase() != Phase::Idle {
            return Err(Error::AlreadyConnected);
        }
        *lock(&self.inner.proxy) = proxy;
        Ok(())
    }

    /// Bytes waiting to be written or for a connection (bounded by [`Config::max_send_queue`]).
    pub fn queued_bytes(&self) -> usize {
        lock(&self.inner.core).machine.queued_bytes()
    }

    /// Received bytes held by the framer that are not yet a complete frame (bounded by
    /// [`Config::max_frame`]); for tests and diagnostics.
    pub fn buffered_bytes(&self) -> usize {
        lock(&self.inner.core).machine.buffered_bytes()
    }

    /// The port of the last connection that opened (SPEC §25: a host persists it and passes it
    /// back as [`Config::preferred_port`]); `None` before the first.
    pub fn port(&self) -> Option<u16> {
        lock(&self.inner.core).machine.good_port()
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

    /// See [`Machine::rename_group`].
    pub fn rename_group(&self, id: u32, name: &str) -> Result<RequestId> {
        self.command(|m, now| m.rename_group(id, name, now))
    }

    /// See [`Machine::remove_group`].
    pub fn remove_group(&self, id: u32) -> Result<RequestId> {
        self.command(|m, now| m.remove_group(id, now))
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
    /// Wakes the IO thread: to see a close or disconnect, and to cancel a connect in progress
    /// that the session no longer wants.
    fn kick(&self) {
        let phase = lock(&self.core).machine.phase();
        if phase != Phase::Connecting {
            if let Some(c) = lock(&self.connecting).as_ref() {
                c.raise();
            }
        }
        self.wake.raise();
    }

    /// Connects for `attempt` unless the session moved on (closed, disconnected) before the
    /// cancel could reach this connect; `kick` cancels it after.
    /// Opens the connection to `host:port`, through the proxy if one is set. Returns the socket
    /// (non-blocking) and any server bytes that came with the proxy's answer.
    pub(super) fn connect(&self, host: &str, port: u16) -> io::Result<(TcpStream, Vec<u8>)> {
        let cancel = Arc::new(Cancel::new()?);
        {
            let core = lock(&self.core);
            if self.closing.load(Ordering::SeqCst) || core.machine.phase() != Phase::Connecting {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "connect cancelled"));
            }
            *lock(&self.connecting) = Some(cancel.clone());
        }
        let proxy = lock(&self.proxy).clone();
        let result = match &proxy {
            None => connect::connect(host, port, self.connect_timeout, &cancel).map(|s| (s, Vec::new())),
            Some(p) => connect::connect(&p.host, p.port, self.connect_timeout, &cancel).and_then(|s| {
                let deadline = Instant::now() + self.connect_timeout;
                let early = super::proxy::handshake(&s, p, host, port, deadline, &cancel).map_err(|e| {
                    // Not a failure to resolve the *server's* name: other ports may still work.
                    let kind = if e.kind() == io::ErrorKind::NotFound { io::ErrorKind::Other } else { e.kind() };
                    io::Error::new(kind, format!("proxy {}:{}: {e}", p.host, p.port))
                })?;
                Ok((s, early))
            }),
        };
        *lock(&self.connecting) = None;
        result
    }

    pub(super) fn deliver(&self) {
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

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
