//! Write coalescing on the event loops (issue "Performance, round two", goal 2): while a loop
//! handles the messages of one read from a socket, what they send to other connections is only
//! queued ([`crate::outbox::Outbox::push_deferred`]), and when the batch ends each connection
//! that got something is written once — one `sendmsg` for everything queued to it, instead of
//! one `send` per message. A burst of IMs from one sender to one recipient thus costs the
//! recipient's socket one system call per read, as a plain relay would.
//!
//! A big fan-out (a status change to many watchers) is split between the loops: the connections
//! of other loops are handed to them (`Conn::kick`), so every core writes its own share.
//!
//! Outside a batch (accept threads, keepalive, offline delivery threads) messages are written at
//! once, as before.

use std::cell::RefCell;
use std::sync::Arc;

use crate::conn::Conn;

/// A batch with more connections than this hands those of other loops to their loops.
const SPLIT_ABOVE: usize = 32;

thread_local! {
    /// The connections with deferred bytes, while a batch runs on this thread.
    static DIRTY: RefCell<Option<Vec<Arc<Conn>>>> = const { RefCell::new(None) };
    /// The loop this thread runs (its address), to tell its own connections from others'.
    static LOOP: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks this thread as the loop at `id` (any stable non-zero address).
pub fn set_loop(id: usize) {
    LOOP.with(|l| l.set(id));
}

/// Whether a batch runs on this thread (then sends are deferred).
pub fn active() -> bool {
    DIRTY.with(|d| d.borrow().is_some())
}

/// Adds a connection with deferred bytes to this thread's batch.
pub fn add(conn: Arc<Conn>) {
    DIRTY.with(|d| {
        if let Some(list) = d.borrow_mut().as_mut() {
            list.push(conn);
        }
    });
}

/// Runs `f` as a batch, then writes what it queued.
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    let nested = DIRTY.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_some() {
            return true;
        }
        *d = Some(Vec::new());
        false
    });
    if nested {
        return f();
    }
    // Flushed even if `f` panics (the loop catches the panic), or queued bytes would wait for
    // the next event of their connection.
    struct Flush;
    impl Drop for Flush {
        fn drop(&mut self) {
            let list = DIRTY.with(|d| d.borrow_mut().take()).unwrap_or_default();
            let me = LOOP.with(|l| l.get());
            let split = list.len() > SPLIT_ABOVE;
            for conn in list {
                if split && !conn.on_loop(me) {
                    conn.kick();
                } else {
                    conn.flush_batch();
                }
            }
        }
    }
    let _flush = Flush;
    f()
}
