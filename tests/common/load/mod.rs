//! A lightweight MSIM load generator for the server's scale benchmark (`benches/load.rs`) and its
//! CI-sized test (`tests/load_small.rs`): N logged-in sessions held by a few threads with
//! non-blocking sockets and epoll (`worker.rs`), built on `msim::protocol` only — not libmsim's
//! thread-per-session `Session`, whose own cost would dwarf what is measured on the server side.
//!
//! The scenario (accounts made by [`populate`]): session `i` is account `u{i}@example.com`, uid
//! `first_uid + i`, and lists session `i + 1` as a contact (so each sign-on fans out a presence);
//! sessions `1..=watchers` also list session 0, the *celebrity*, whose status changes are the
//! fan-out measured. Sessions connect from several loopback source addresses (127.0.0.2, …), each
//! with its own ephemeral port range towards the server, so more than ~28 000 fit.
//!
//! The conductor ([`Load`]) drives the phases: [`Load::sign_on`], [`Load::send_ims`] (each session
//! sends one IM to the next and every session must receive exactly its neighbour's), and
//! [`Load::status_round`] (the celebrity changes its status text; the time until the last watcher
//! got it). Results are counted in [`Totals`], shared with the worker threads.
#![allow(dead_code)]

mod net;
mod worker;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[allow(unused_imports)] // each test crate uses a different subset
pub use net::raise_nofile;

/// Every account's password.
pub const PASSWORD: &str = "pw";
/// The IM each session sends to the next.
pub const IM_TEXT: &str = "hello <b>neighbour</b>";

pub fn email(i: usize) -> String {
    format!("u{i}@example.com")
}

/// Creates the scenario's accounts on `server`; returns the first uid (they are consecutive).
pub fn populate(server: &msim_server::Server, sessions: usize, watchers: usize) -> u32 {
    let uids: Vec<u32> = (0..sessions)
        .map(|i| server.add_account(&email(i), PASSWORD, Some(&format!("u{i}")), None).expect("account"))
        .collect();
    for (i, &uid) in uids.iter().enumerate() {
        assert_eq!(uid, uids[0] + i as u32, "consecutive uids");
        if i + 1 < sessions {
            server.add_contact(uid, uid + 1, "IM Friends").expect("contact");
        }
        if (1..=watchers).contains(&i) {
            server.add_contact(uid, uids[0], "IM Friends").expect("contact");
        }
    }
    uids[0]
}

/// What the generator is asked to do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub server: SocketAddrV4,
    pub sessions: usize,
    /// Sessions `1..=watchers` watch session 0 (see the module docs).
    pub watchers: usize,
    pub first_uid: u32,
    pub threads: usize,
    /// Sign-ons under way at once, per thread.
    pub in_flight_per_thread: usize,
    /// Source addresses, used round-robin.
    pub sources: Vec<Ipv4Addr>,
}

impl Plan {
    /// `count` loopback source addresses from 127.0.0.2 on.
    pub fn loopback_sources(count: usize) -> Vec<Ipv4Addr> {
        (0..count as u32).map(|k| Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + k)).collect()
    }
}

pub(crate) enum Cmd {
    SignOn,
    SendIms,
    Status(u64),
    Stop,
}

/// Counters shared by the workers and the conductor.
pub struct Totals {
    epoch: Instant,
    pub signed_on: AtomicUsize,
    /// Sessions that did not sign on (connect refused, login error, …).
    pub failed: AtomicUsize,
    /// Sign-ons started over after [`worker`]'s `SIGN_ON_RETRY` (their connection was lost in the
    /// server's accept queue).
    pub retries: AtomicUsize,
    /// Online sessions that lost their connection.
    pub disconnected: AtomicUsize,
    pub ims: AtomicUsize,
    /// IMs from the wrong sender, with the wrong text, or a second one to the same session.
    pub wrong_ims: AtomicUsize,
    /// The status round under way, and its watchers' receipts (ns since `epoch`).
    pub round: AtomicU64,
    pub fan_sent: AtomicU64,
    pub fan_last: AtomicU64,
    pub fan_hits: AtomicUsize,
    /// The first few failure reasons, for the report.
    notes: Mutex<Vec<String>>,
    cmds: Vec<Mutex<Vec<Cmd>>>,
    wakes: Vec<net::Wake>,
}

impl Totals {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn note(&self, s: String) {
        let mut n = self.notes.lock().unwrap();
        if n.len() < 10 {
            n.push(s);
        }
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }
}

/// The running generator: its worker threads and their counters.
pub struct Load {
    pub plan: Arc<Plan>,
    pub totals: Arc<Totals>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(plan: Plan) -> std::io::Result<Load> {
        assert!(plan.threads >= 1 && plan.sessions > plan.watchers);
        let plan = Arc::new(plan);
        let totals = Arc::new(Totals {
            epoch: Instant::now(),
            signed_on: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            disconnected: AtomicUsize::new(0),
            retries: AtomicUsize::new(0),
            ims: AtomicUsize::new(0),
            wrong_ims: AtomicUsize::new(0),
            round: AtomicU64::new(0),
            fan_sent: AtomicU64::new(0),
            fan_last: AtomicU64::new(0),
            fan_hits: AtomicUsize::new(0),
            notes: Mutex::new(Vec::new()),
            cmds: (0..plan.threads).map(|_| Mutex::new(Vec::new())).collect(),
            wakes: (0..plan.threads).map(|_| net::Wake::new()).collect::<Result<_, _>>()?,
        });
        let mut threads = Vec::new();
        for me in 0..plan.threads {
            let w = worker::Worker::new(plan.clone(), totals.clone(), me)?;
            threads.push(std::thread::Builder::new().name(format!("load-{me}")).spawn(move || w.run())?);
        }
        Ok(Load { plan, totals, threads })
    }

    fn tell(&self, thread: usize, cmd: Cmd) {
        self.totals.cmds[thread].lock().unwrap().push(cmd);
        self.totals.wakes[thread].wake();
    }

    fn tell_all(&self, cmd: impl Fn() -> Cmd) {
        for t in 0..self.plan.threads {
            self.tell(t, cmd());
        }
    }

    /// Waits until `done` or `timeout`; Err names `what` and the counters.
    fn wait(&self, what: &str, timeout: Duration, done: impl Fn(&Totals) -> bool) -> Result<Duration, String> {
        let t0 = Instant::now();
        while !done(&self.totals) {
            let t = &self.totals;
            let (failed, lost) = (t.failed.load(Ordering::SeqCst), t.disconnected.load(Ordering::SeqCst));
            if failed + lost > 0 || t0.elapsed() > timeout {
                return Err(format!(
                    "{what}: {} signed on ({} started over), {failed} failed, {lost} disconnected, {} IMs ({} wrong) after {:?}; {:?}",
                    t.signed_on.load(Ordering::SeqCst),
                    t.retries.load(Ordering::SeqCst),
                    t.ims.load(Ordering::SeqCst),
                    t.wrong_ims.load(Ordering::SeqCst),
                    t0.elapsed(),
                    t.notes()
                ));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(t0.elapsed())
    }

    /// Signs every session on; returns the time from the first connect to the last `lc=2`.
    pub fn sign_on(&self, timeout: Duration) -> Result<Duration, String> {
        let n = self.plan.sessions;
        self.tell_all(|| Cmd::SignOn);
        self.wait("sign-on", timeout, |t| t.signed_on.load(Ordering::SeqCst) == n)
    }

    /// Every session sends one IM to the next; returns the time until all N were received.
    pub fn send_ims(&self, timeout: Duration) -> Result<Duration, String> {
        let n = self.plan.sessions;
        self.totals.ims.store(0, Ordering::SeqCst);
        self.tell_all(|| Cmd::SendIms);
        let d = self.wait("IMs", timeout, |t| t.ims.load(Ordering::SeqCst) >= n)?;
        Ok(d)
    }

    /// Status round `round` (≥ 1, a new one each time): the celebrity sets its status text to
    /// `round {round}`; returns the time from just before its write to the last watcher's receipt.
    pub fn status_round(&self, round: u64, timeout: Duration) -> Result<Duration, String> {
        let t = &self.totals;
        t.fan_hits.store(0, Ordering::SeqCst);
        t.fan_last.store(0, Ordering::SeqCst);
        t.round.store(round, Ordering::SeqCst);
        self.tell(0, Cmd::Status(round));
        let w = self.plan.watchers;
        self.wait("status fan-out", timeout, |t| t.fan_hits.load(Ordering::SeqCst) >= w)?;
        let (sent, last) = (t.fan_sent.load(Ordering::SeqCst), t.fan_last.load(Ordering::SeqCst));
        Ok(Duration::from_nanos(last.saturating_sub(sent)))
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.tell_all(|| Cmd::Stop);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The server's address for [`Plan::server`].
pub fn v4(addr: SocketAddr) -> SocketAddrV4 {
    worker::v4(addr)
}
