//! A gate in front of host callbacks: once closed, no callback starts, and closing waits for
//! callbacks already running on other threads. Closing from inside a callback does not wait for
//! that callback (it is the caller), so a host may free its session from a callback.
//!
//! No lock is held while a callback runs: the mutex only guards the bookkeeping.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

#[derive(Default)]
struct State {
    closed: bool,
    /// Threads inside a callback right now (one entry per nesting level).
    running: Vec<ThreadId>,
}

/// See the module docs.
#[derive(Default)]
pub struct Gate {
    state: Mutex<State>,
    idle: Condvar,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Runs `f` unless the gate is closed; returns whether it ran.
    pub fn run(&self, f: impl FnOnce()) -> bool {
        let me = thread::current().id();
        {
            let mut s = lock(&self.state);
            if s.closed {
                return false;
            }
            s.running.push(me);
        }
        struct Exit<'a>(&'a Gate, ThreadId);
        impl Drop for Exit<'_> {
            fn drop(&mut self) {
                let mut s = lock(&self.0.state);
                if let Some(i) = s.running.iter().rposition(|t| *t == self.1) {
                    s.running.swap_remove(i);
                }
                // Only `close` waits, and only after setting `closed` under this lock: without it
                // nobody is waiting, and a notify would still cost a futex syscall per callback.
                if s.closed {
                    self.0.idle.notify_all();
                }
            }
        }
        let _exit = Exit(self, me);
        f();
        true
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// Closes the gate and waits until no other thread is inside a callback.
    pub fn close(&self) {
        let me = thread::current().id();
        let mut s = lock(&self.state);
        s.closed = true;
        while s.running.iter().any(|t| *t != me) {
            s = self.idle.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// True when the calling thread is inside a callback run by this gate.
    pub fn in_callback(&self) -> bool {
        let me = thread::current().id();
        lock(&self.state).running.contains(&me)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn close_waits_for_a_running_callback_and_blocks_later_ones() {
        let g = Arc::new(Gate::new());
        let done = Arc::new(AtomicBool::new(false));
        let (g2, d2) = (g.clone(), done.clone());
        let t = thread::spawn(move || {
            g2.run(|| {
                thread::sleep(Duration::from_millis(100));
                d2.store(true, Ordering::SeqCst);
            })
        });
        while !g.in_callback_any() {
            thread::yield_now();
        }
        g.close();
        assert!(done.load(Ordering::SeqCst), "close returned before the callback finished");
        assert!(t.join().unwrap());
        assert!(!g.run(|| panic!("must not run")));
    }

    #[test]
    fn closing_from_inside_a_callback_does_not_deadlock() {
        let g = Gate::new();
        assert!(g.run(|| g.close()));
        assert!(g.is_closed());
    }

    impl Gate {
        fn in_callback_any(&self) -> bool {
            !lock(&self.state).running.is_empty()
        }
    }
}
