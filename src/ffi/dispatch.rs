//! Delivering callbacks on the host's thread: a bounded event queue, a file descriptor that is
//! readable while the queue is non-empty (eventfd on Linux, a pipe elsewhere), and — with the
//! `glib` feature — a GSource on a GMainContext that dispatches when the fd is readable.
//!
//! Backpressure: when the queue holds its cap — in events, or in bytes of the strings they carry —
//! the session's IO thread waits in `push` (it stops reading the socket) until the host
//! dispatches or the queue is closed. Memory is thus bounded even for 200 KiB IMs.

use std::collections::VecDeque;
use std::os::raw::c_int;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::client::gate::Gate;
use crate::client::Event;

/// Default queue cap in events. A sign-on produces a handful of events plus one per contact-info
/// reply (≤ MaxContacts=1000, SPEC §8); 4096 absorbs that and a burst of messages while the
/// host's loop is busy.
pub(crate) const DEFAULT_MAX_QUEUED_EVENTS: usize = 4096;
/// Default queue cap in bytes ([`Event::approx_bytes`]): 4096 typical events, or about 16 IMs
/// of the largest size a frame allows (256 KiB, carried as HTML and as plain text).
pub(crate) const DEFAULT_MAX_QUEUED_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// Events run per `msim_session_dispatch` call, so one busy session cannot starve a host loop.
pub(crate) const DISPATCH_BATCH: usize = 256;

/// A readable-while-pending file descriptor.
struct Signal {
    read_fd: c_int,
    write_fd: c_int,
}

impl Signal {
    #[cfg(target_os = "linux")]
    fn new() -> std::io::Result<Signal> {
        // SAFETY: plain syscall; the fd is owned by the Signal and closed in Drop.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Signal { read_fd: fd, write_fd: fd })
    }

    #[cfg(not(target_os = "linux"))]
    fn new() -> std::io::Result<Signal> {
        let mut fds = [0 as c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe() writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        for fd in fds {
            // SAFETY: fds were just created by pipe().
            unsafe {
                let fl = libc::fcntl(fd, libc::F_GETFL);
                libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        Ok(Signal { read_fd: fds[0], write_fd: fds[1] })
    }

    /// Makes the fd readable.
    fn raise(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local to our own fd. A full pipe / saturated eventfd
        // (EAGAIN) means it is already readable, which is all we need.
        unsafe {
            libc::write(self.write_fd, (&one as *const u64).cast(), 8);
        }
    }

    /// Makes the fd not readable (until the next raise).
    fn clear(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: reads into a live local buffer from our own non-blocking fd.
        while unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {
            if self.read_fd == self.write_fd {
                break; // an eventfd is fully reset by one read
            }
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // SAFETY: closing descriptors this Signal owns, once.
        unsafe {
            libc::close(self.read_fd);
            if self.write_fd != self.read_fd {
                libc::close(self.write_fd);
            }
        }
    }
}

struct State {
    events: VecDeque<(Event, usize)>,
    /// Sum of the queued events' sizes.
    bytes: usize,
    closed: bool,
}

/// The bounded queue between the IO thread and the host's dispatching thread.
pub(crate) struct EventQueue {
    state: Mutex<State>,
    not_full: Condvar,
    cap: usize,
    cap_bytes: usize,
    signal: Signal,
    /// Guards host callbacks run by `dispatch` (see [`Gate`]).
    pub(crate) gate: Gate,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl EventQueue {
    pub(crate) fn new(cap: usize, cap_bytes: usize) -> std::io::Result<EventQueue> {
        Ok(EventQueue {
            state: Mutex::new(State { events: VecDeque::new(), bytes: 0, closed: false }),
            not_full: Condvar::new(),
            cap: cap.max(1),
            cap_bytes,
            signal: Signal::new()?,
            gate: Gate::new(),
        })
    }

    pub(crate) fn fd(&self) -> c_int {
        self.signal.read_fd
    }

    /// Queues an event, waiting while the queue is full; dropped once the queue is closed. An
    /// event bigger than the byte cap waits for an empty queue and is then queued alone.
    pub(crate) fn push(&self, ev: Event) {
        let size = ev.approx_bytes();
        let mut s = lock(&self.state);
        while !s.closed && !s.events.is_empty() && (s.events.len() >= self.cap || s.bytes + size > self.cap_bytes) {
            s = self.not_full.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.closed {
            return;
        }
        s.bytes += size;
        s.events.push_back((ev, size));
        drop(s);
        self.signal.raise();
    }

    /// Runs up to [`DISPATCH_BATCH`] queued events through `run`, on the calling thread.
    /// Returns how many ran.
    pub(crate) fn dispatch(&self, mut run: impl FnMut(Event)) -> usize {
        self.signal.clear();
        let mut n = 0;
        while n < DISPATCH_BATCH {
            let ev = {
                let mut s = lock(&self.state);
                let ev = s.events.pop_front().map(|(ev, size)| {
                    s.bytes -= size;
                    ev
                });
                self.not_full.notify_all();
                ev
            };
            let Some(ev) = ev else { break };
            n += 1;
            if !self.gate.run(|| run(ev)) {
                break; // closed (possibly by the callback that just ran)
            }
        }
        let s = lock(&self.state);
        if !s.events.is_empty() && !s.closed {
            self.signal.raise();
        }
        n
    }

    /// Stops the queue: pending events are dropped, a waiting `push` returns, no callback starts
    /// any more, and callbacks running on other threads have finished when this returns.
    pub(crate) fn close(&self) {
        {
            let mut s = lock(&self.state);
            s.closed = true;
            s.events.clear();
            s.bytes = 0;
            self.not_full.notify_all();
        }
        self.gate.close();
    }
}

#[cfg(feature = "glib")]
pub(crate) mod glib_source {
    //! MSIM_DISPATCH_GLIB: a GSource watching the queue's fd on a GMainContext.
    use std::os::raw::c_void;
    use std::sync::Arc;

    use glib::translate::FromGlibPtrNone;

    use super::super::session::Shared;

    /// Attaches the dispatch source; `context` NULL = the default context.
    ///
    /// # Safety
    /// `context` must be NULL or a live `GMainContext*`.
    pub(crate) unsafe fn attach(shared: &Arc<Shared>, context: *mut c_void) -> glib::Source {
        let ctx = if context.is_null() {
            glib::MainContext::default()
        } else {
            glib::MainContext::from_glib_none(context.cast())
        };
        let fd = shared.queue.as_ref().map_or(-1, |q| q.fd());
        let weak = Arc::downgrade(shared);
        let source = glib::source::unix_fd_source_new(
            fd,
            glib::IOCondition::IN,
            Some("msim-dispatch"),
            glib::Priority::DEFAULT,
            move |_, _| match weak.upgrade() {
                Some(s) => {
                    s.dispatch();
                    glib::ControlFlow::Continue
                }
                None => glib::ControlFlow::Break,
            },
        );
        source.attach(Some(&ctx));
        source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn readable(fd: c_int) -> bool {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd on the stack.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    fn ev(n: u64) -> Event {
        Event::ImSent { id: n }
    }

    #[test]
    fn fd_is_readable_exactly_while_events_are_queued() {
        let q = EventQueue::new(8, 1 << 20).unwrap();
        assert!(!readable(q.fd()));
        q.push(ev(1));
        q.push(ev(2));
        assert!(readable(q.fd()));
        let mut got = Vec::new();
        assert_eq!(q.dispatch(|e| got.push(e)), 2);
        assert_eq!(got, vec![ev(1), ev(2)]);
        assert!(!readable(q.fd()));
    }

    #[test]
    fn a_full_queue_holds_the_producer_until_dispatch_or_close() {
        let q = Arc::new(EventQueue::new(2, 1 << 20).unwrap());
        q.push(ev(1));
        q.push(ev(2));
        let q2 = q.clone();
        let producer = std::thread::spawn(move || q2.push(ev(3)));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!producer.is_finished(), "push must wait while the queue is full");
        let mut got = Vec::new();
        q.dispatch(|e| got.push(e));
        producer.join().unwrap();
        q.dispatch(|e| got.push(e));
        assert_eq!(got, vec![ev(1), ev(2), ev(3)]);
        // Close releases a waiting producer and drops what is queued.
        q.push(ev(4));
        q.push(ev(5));
        let q3 = q.clone();
        let producer = std::thread::spawn(move || q3.push(ev(6)));
        std::thread::sleep(Duration::from_millis(50));
        q.close();
        producer.join().unwrap();
        assert_eq!(q.dispatch(|_| panic!("nothing runs after close")), 0);
    }

    fn im(bytes: usize) -> Event {
        let text = "x".repeat(bytes / 2);
        Event::ImReceived { from: 7, username: None, html: text.clone(), plain: text, time: 0, offline: false }
    }

    #[test]
    fn the_byte_cap_holds_the_producer_and_an_oversized_event_goes_alone() {
        // 200 KiB IMs against a 1 MiB cap: at most 5 queued however many events the cap allows.
        let q = Arc::new(EventQueue::new(4096, 1 << 20).unwrap());
        let q2 = q.clone();
        let producer = std::thread::spawn(move || {
            for _ in 0..20 {
                q2.push(im(200 * 1024));
            }
            q2.push(im(3 << 20)); // bigger than the whole cap
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(!producer.is_finished());
        let queued = lock(&q.state).events.len();
        assert!((1..=5).contains(&queued), "{queued} queued");
        assert!(lock(&q.state).bytes <= 1 << 20);
        let mut n = 0;
        while !producer.is_finished() || lock(&q.state).bytes > 0 {
            n += q.dispatch(|_| {});
            std::thread::yield_now();
        }
        producer.join().unwrap();
        n += q.dispatch(|_| {});
        assert_eq!(n, 21);
    }

    #[test]
    fn dispatch_runs_at_most_a_batch_and_keeps_the_fd_readable() {
        let q = EventQueue::new(DISPATCH_BATCH * 2, 1 << 20).unwrap();
        for i in 0..(DISPATCH_BATCH as u64 + 10) {
            q.push(ev(i));
        }
        assert_eq!(q.dispatch(|_| {}), DISPATCH_BATCH);
        assert!(readable(q.fd()), "the rest is still signalled");
        assert_eq!(q.dispatch(|_| {}), 10);
        assert!(!readable(q.fd()));
    }
}
