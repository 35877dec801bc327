//! The event-driven core: a few event-loop threads (one per core by default), each owning its
//! share of the connections, instead of a thread per connection (issue "Performance, round two",
//! goal 3: 100 000 sessions at ≤ 16 KiB resident each; a thread's touched stack alone was 20 KiB).
//!
//! Built on `mio` rather than `tokio`: the server's handlers are synchronous (SQLite calls, short
//! CPU work) and already written against a `Conn` that any thread may send to without blocking
//! (`outbox.rs`), so what is needed is readiness notification, not futures; `mio` gives exactly
//! that (epoll here) with no per-task allocation, no runtime of its own and control over every
//! byte a connection keeps, which is what the memory target is about.
//!
//! A loop owns its connections' sockets (registered edge-triggered for reading and writing) and
//! their per-connection state (`session::Session`); it reads, frames, dispatches, writes what
//! the outbox had to queue, and keeps the timers. Other threads reach a loop through its
//! [`Wake`]: a queue of connection tokens to look at plus a `mio::Waker` (new connections from
//! the accept threads, a session replaced by a newer login, a queue that started, a close).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use msim::protocol::Message;

use crate::conn::Conn;
use crate::log_if;
use crate::session::{Progress, Session};
use crate::state::Shared;

/// The loop's own waker token; connections use their slot index.
const WAKER: Token = Token(usize::MAX);

/// Bytes read per `recv`, shared by all the loop's connections (one buffer per loop, not per
/// connection: idle connections hold no read buffer).
pub const READ_CHUNK: usize = 64 * 1024;

/// What other threads hand a loop.
struct Inbox {
    /// New connections to adopt.
    conns: Vec<Arc<Conn>>,
    /// Tokens of connections to look at again.
    kicks: Vec<usize>,
}

/// The part of a loop other threads see.
pub struct Loop {
    waker: Waker,
    inbox: Mutex<Inbox>,
    stop: AtomicBool,
}

impl Loop {
    fn post(&self, f: impl FnOnce(&mut Inbox)) {
        let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
        let idle = inbox.conns.is_empty() && inbox.kicks.is_empty();
        f(&mut inbox);
        drop(inbox);
        // One wake-up per batch: a loop that has not taken its inbox yet will see this entry too.
        if idle {
            let _ = self.waker.wake();
        }
    }
}

/// A connection's way to its loop: asks the loop to look at the connection again.
pub struct Wake {
    lp: Arc<Loop>,
    token: usize,
}

impl Wake {
    /// The loop's identity for `batch::set_loop`.
    pub fn loop_id(&self) -> usize {
        Arc::as_ptr(&self.lp) as usize
    }

    pub fn wake(&self) {
        let token = self.token;
        self.lp.post(|i| i.kicks.push(token));
    }
}

/// The running loops.
pub struct Reactor {
    loops: Vec<Arc<Loop>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next: AtomicUsize,
}

impl Reactor {
    /// Starts `count` loops (0 = one per available core).
    pub fn start(shared: &Arc<Shared>, count: usize) -> io::Result<Reactor> {
        let count = match count {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let mut loops = Vec::new();
        let mut threads = Vec::new();
        for k in 0..count {
            let poll = Poll::new()?;
            let lp = Arc::new(Loop {
                waker: Waker::new(poll.registry(), WAKER)?,
                inbox: Mutex::new(Inbox { conns: Vec::new(), kicks: Vec::new() }),
                stop: AtomicBool::new(false),
            });
            let (shared, lp2) = (shared.clone(), lp.clone());
            let t = std::thread::Builder::new()
                .name(format!("msim-loop-{k}"))
                .stack_size(shared.config.session_stack_size)
                .spawn(move || EventLoop::new(shared, lp2, poll).run())?;
            loops.push(lp);
            threads.push(t);
        }
        Ok(Reactor { loops, threads: Mutex::new(threads), next: AtomicUsize::new(0) })
    }

    /// Hands a new connection (already counted by `Shared::add_conn`) to a loop, round robin.
    pub fn adopt(&self, conn: Arc<Conn>) {
        let k = self.next.fetch_add(1, Ordering::Relaxed) % self.loops.len();
        self.loops[k].post(|i| i.conns.push(conn));
    }

    /// Stops the loops (after the sessions were closed) and joins them.
    pub fn stop(&self) {
        for lp in &self.loops {
            lp.stop.store(true, Ordering::Release);
            let _ = lp.waker.wake();
        }
        for t in std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner())) {
            let _ = t.join();
        }
    }
}

/// Starts a session for a connection from `peer` (see `session.rs`), or refuses it when no
/// connection state can be made.
pub fn accept(shared: &Arc<Shared>, reactor: &Reactor, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let conn = match Conn::new(shared.next_conn_id(), peer, stream, shared.config.max_outbound_bytes, shared.config.log)
    {
        Ok(c) => Arc::new(c),
        Err(e) => {
            shared.release_prelogin_slot(peer.ip());
            return log_if(shared, format_args!("connection from {peer} refused: {e}"));
        }
    };
    shared.add_conn(conn.clone());
    reactor.adopt(conn);
}

/// One loop thread's state.
struct EventLoop {
    shared: Arc<Shared>,
    lp: Arc<Loop>,
    poll: Poll,
    /// Sessions by token; freed slots are reused (`free`).
    slots: Vec<Option<Session>>,
    free: Vec<usize>,
    /// Deadlines: (when, token). A session keeps `armed` = its earliest entry here; other
    /// entries for it are stale and skipped.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Sessions with input left unread after their share of one round (edge-triggered: no new
    /// event would come for it).
    again: Vec<usize>,
    buf: Vec<u8>,
    msg: Message,
}

impl EventLoop {
    fn new(shared: Arc<Shared>, lp: Arc<Loop>, poll: Poll) -> EventLoop {
        EventLoop {
            shared,
            lp,
            poll,
            slots: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            again: Vec::new(),
            buf: vec![0; READ_CHUNK],
            msg: Message::default(),
        }
    }

    fn run(mut self) {
        crate::batch::set_loop(Arc::as_ptr(&self.lp) as usize);
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = if self.again.is_empty() {
                self.timers.peek().map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()))
            } else {
                Some(std::time::Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log_if(&self.shared, format_args!("event loop: poll failed: {e}"));
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                continue;
            }
            if self.lp.stop.load(Ordering::Acquire) {
                break;
            }
            for ev in events.iter() {
                if ev.token() == WAKER {
                    self.take_inbox();
                } else {
                    let (r, w) = (ev.is_readable() || ev.is_read_closed() || ev.is_error(), ev.is_writable());
                    self.ready(ev.token().0, r, w);
                }
            }
            for token in std::mem::take(&mut self.again) {
                self.ready(token, true, false);
            }
            self.fire_timers();
        }
        // Stopping: the server closed every connection before; end whatever is left.
        for token in 0..self.slots.len() {
            if self.slots[token].is_some() {
                self.finish(token, "closed by server");
            }
        }
    }

    fn take_inbox(&mut self) {
        let Inbox { conns, kicks } = std::mem::replace(
            &mut *self.lp.inbox.lock().unwrap_or_else(|p| p.into_inner()),
            Inbox { conns: Vec::new(), kicks: Vec::new() },
        );
        for conn in conns {
            self.adopt(conn);
        }
        for token in kicks {
            self.check(token);
        }
    }

    fn adopt(&mut self, conn: Arc<Conn>) {
        let token = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        conn.set_waker(Wake { lp: self.lp.clone(), token });
        let fd = conn.stream().as_raw_fd();
        let registered =
            self.poll.registry().register(&mut SourceFd(&fd), Token(token), Interest::READABLE | Interest::WRITABLE);
        self.slots[token] = Some(Session::start(&self.shared, conn));
        if let Err(e) = registered {
            log_if(&self.shared, format_args!("event loop: cannot watch a connection: {e}"));
            return self.finish(token, "cannot watch the socket");
        }
        self.check(token);
    }

    /// Runs `f` on the session of `token` (catching a panic in a handler, which ends only that
    /// session, as a panicking session thread did), then ends it or re-arms its timer.
    fn with_session(&mut self, token: usize, f: impl FnOnce(&mut Session, &mut Vec<u8>, &mut Message) -> Progress) {
        let Some(Some(s)) = self.slots.get_mut(token) else { return };
        let (buf, msg) = (&mut self.buf, &mut self.msg);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(s, buf, msg)));
        match r {
            Ok(Progress::Open) => {}
            Ok(Progress::More) => self.again.push(token),
            Ok(Progress::Ended(why)) => return self.finish(token, why),
            Err(_) => {
                self.msg = Message::default();
                return self.finish(token, "session thread panicked");
            }
        }
        self.arm(token);
    }

    fn ready(&mut self, token: usize, readable: bool, writable: bool) {
        let shared = self.shared.clone();
        self.with_session(token, |s, buf, msg| s.ready(&shared, buf, msg, readable, writable));
    }

    /// Looks at a session again: after a wake-up from another thread, or when its deadline came.
    fn check(&mut self, token: usize) {
        let shared = self.shared.clone();
        self.with_session(token, |s, _, _| s.check(&shared, Instant::now()));
    }

    /// Puts the session's next deadline on the timer heap, unless an earlier one is there.
    fn arm(&mut self, token: usize) {
        let Some(Some(s)) = self.slots.get_mut(token) else { return };
        if let Some(at) = s.next_deadline(&self.shared) {
            if s.armed.is_none_or(|a| at < a) {
                s.armed = Some(at);
                self.timers.push(Reverse((at, token)));
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, token))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(Some(s)) = self.slots.get_mut(token) else { continue };
            if s.armed != Some(at) {
                continue; // stale: a later or earlier entry stands for this session
            }
            s.armed = None;
            self.check(token);
        }
    }

    /// Ends the session of `token`: stops watching its socket, cleans up (`session::SessionEnd`)
    /// and frees the slot.
    fn finish(&mut self, token: usize, why: &'static str) {
        let Some(s) = self.slots.get_mut(token).and_then(Option::take) else { return };
        let fd = s.conn.stream().as_raw_fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        s.end(&self.shared, why);
        self.free.push(token);
    }
}
