//! One load-generator thread: an epoll loop over its share of the sessions. Each session is a
//! small state machine (connect → challenge → login2 → online) driven by `msim::protocol` alone;
//! once online it counts the IMs it receives and, if it watches the celebrity (session 0), the
//! status rounds it sees (`mod.rs` explains the scenario).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use msim::protocol::buddy::{bm, BmPayload};
use msim::protocol::kinds::{BmToServer, ClientMessage, Login2, ServerMessage};
use msim::protocol::login::compute_response;
use msim::protocol::{Framer, Message};

use super::net::{self, Epoll};
use super::{Cmd, Plan, Totals, IM_TEXT, PASSWORD};

/// The wake-up eventfd's epoll tag; sessions are tagged with their local index.
const WAKE_TAG: u64 = u64::MAX;

/// A sign-on not done after this long starts over on a new connection. When the server's accept
/// queue overflows, the kernel drops the handshake's last ACK; if the server's SYN-ACK retries run
/// out, the client's side believes it is connected and waits for a challenge that never comes.
const SIGN_ON_RETRY: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Challenge,
    LoggingIn,
    Online,
    Done,
}

struct Sess {
    /// Global session index: account `email(i)`, uid `first_uid + i`.
    index: usize,
    fd: Option<OwnedFd>,
    state: State,
    framer: Framer,
    /// Bytes the socket did not take yet.
    out: Vec<u8>,
    sesskey: u32,
    ims: u32,
    /// Sign-on attempts so far.
    attempt: u32,
    /// EPOLLOUT is in this socket's interest set (only while `out` holds bytes).
    polling_out: bool,
}

pub struct Worker {
    plan: Arc<Plan>,
    totals: Arc<Totals>,
    me: usize,
    epoll: Epoll,
    sessions: Vec<Sess>,
    next_start: usize,
    /// Sessions to start again (their sign-on took too long), before `next_start`.
    restart: Vec<usize>,
    /// Sign-ons under way, oldest first, with the attempt they belong to.
    started: VecDeque<(Instant, usize, u32)>,
    pending_logins: usize,
    signing_on: bool,
    msg: Message,
    buf: Vec<u8>,
}

impl Worker {
    pub fn new(plan: Arc<Plan>, totals: Arc<Totals>, me: usize) -> std::io::Result<Worker> {
        let epoll = Epoll::new()?;
        epoll.ctl(libc::EPOLL_CTL_ADD, totals.wakes[me].fd(), libc::EPOLLIN as u32, WAKE_TAG)?;
        let sessions = (me..plan.sessions)
            .step_by(plan.threads)
            .map(|index| Sess {
                index,
                fd: None,
                state: State::Idle,
                framer: Framer::new(64 * 1024),
                out: Vec::new(),
                sesskey: 0,
                ims: 0,
                attempt: 0,
                polling_out: false,
            })
            .collect();
        Ok(Worker {
            plan,
            totals,
            me,
            epoll,
            sessions,
            next_start: 0,
            restart: Vec::new(),
            started: VecDeque::new(),
            pending_logins: 0,
            signing_on: false,
            msg: Message::default(),
            buf: vec![0; 64 * 1024],
        })
    }

    pub fn run(mut self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        loop {
            let n = self.epoll.wait(&mut events, if self.signing_on { 100 } else { 1000 });
            for ev in &events[..n] {
                let (flags, tag) = (ev.events, ev.u64);
                if tag == WAKE_TAG {
                    self.totals.wakes[self.me].clear();
                    let cmds = std::mem::take(&mut *self.totals.cmds[self.me].lock().unwrap());
                    for cmd in cmds {
                        if !self.command(cmd) {
                            return;
                        }
                    }
                } else {
                    self.event(tag as usize, flags);
                }
            }
            if self.signing_on {
                self.restart_slow();
                self.start_more();
            }
        }
    }

    /// Carries out one command; false to stop the thread.
    fn command(&mut self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::SignOn => {
                self.signing_on = true;
                self.start_more();
            }
            Cmd::SendIms => {
                for i in 0..self.sessions.len() {
                    let s = &self.sessions[i];
                    if s.state != State::Online {
                        continue;
                    }
                    let target = self.plan.first_uid + ((s.index + 1) % self.plan.sessions) as u32;
                    let m = ClientMessage::Bm(BmToServer {
                        kind: bm::IM,
                        sesskey: s.sesskey,
                        target,
                        cv: None,
                        msg: IM_TEXT.into(),
                    });
                    self.send(i, &m);
                }
            }
            Cmd::Status(round) => {
                // Session 0 (the celebrity) is this thread's first.
                let s = &self.sessions[0];
                debug_assert_eq!(s.index, 0);
                let m = ClientMessage::Status {
                    sesskey: s.sesskey,
                    code: 1,
                    statstring: format!("round {round}"),
                    locstring: String::new(),
                };
                self.totals.fan_sent.store(self.totals.now_ns(), Ordering::SeqCst);
                self.send(0, &m);
            }
            Cmd::Stop => {
                if std::env::var_os("MSIM_LOAD_DEBUG").is_some() {
                    let mut by_state = std::collections::BTreeMap::new();
                    for s in &self.sessions {
                        *by_state.entry(format!("{:?}", s.state as u8)).or_insert(0) += 1;
                    }
                    eprintln!(
                        "worker {}: states {by_state:?}, next {} of {}, pending {}, restart {:?}, started {}",
                        self.me,
                        self.next_start,
                        self.sessions.len(),
                        self.pending_logins,
                        self.restart,
                        self.started.len()
                    );
                }
                for s in &mut self.sessions {
                    s.fd = None;
                    s.state = State::Done;
                }
                return false;
            }
        }
        true
    }

    /// Abandons sign-ons older than [`SIGN_ON_RETRY`] and queues them to start again.
    fn restart_slow(&mut self) {
        while let Some(&(at, i, attempt)) = self.started.front() {
            let s = &mut self.sessions[i];
            let pending = matches!(s.state, State::Connecting | State::Challenge | State::LoggingIn);
            if pending && s.attempt == attempt {
                if at.elapsed() < SIGN_ON_RETRY {
                    break;
                }
                s.fd = None;
                s.state = State::Idle;
                s.framer = Framer::new(64 * 1024);
                s.out.clear();
                s.polling_out = false;
                self.pending_logins -= 1;
                self.restart.push(i);
                self.totals.retries.fetch_add(1, Ordering::SeqCst);
            }
            self.started.pop_front();
        }
    }

    /// Starts connects until this thread's share of sign-ons under way is reached.
    fn start_more(&mut self) {
        while self.pending_logins < self.plan.in_flight_per_thread
            && (self.next_start < self.sessions.len() || !self.restart.is_empty())
        {
            let i = match self.restart.pop() {
                Some(i) => i,
                None => {
                    self.next_start += 1;
                    self.next_start - 1
                }
            };
            let index = self.sessions[i].index;
            let source: Ipv4Addr = self.plan.sources[index % self.plan.sources.len()];
            match net::connect_from(source, self.plan.server) {
                Ok(fd) => {
                    let flags = (libc::EPOLLIN | libc::EPOLLOUT) as u32;
                    if self.epoll.ctl(libc::EPOLL_CTL_ADD, fd.as_raw_fd(), flags, i as u64).is_err() {
                        self.fail(i, "epoll_ctl");
                        continue;
                    }
                    let s = &mut self.sessions[i];
                    s.fd = Some(fd);
                    s.state = State::Connecting;
                    s.attempt += 1;
                    self.started.push_back((Instant::now(), i, s.attempt));
                    self.pending_logins += 1;
                }
                Err(e) => {
                    self.totals.note(format!("connect from {source}: {e}"));
                    self.sessions[i].state = State::Done;
                    self.totals.failed.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        if self.next_start == self.sessions.len() && self.restart.is_empty() && self.pending_logins == 0 {
            self.signing_on = false;
        }
    }

    fn fail(&mut self, i: usize, why: &str) {
        let s = &mut self.sessions[i];
        if s.state == State::Done {
            return;
        }
        if matches!(s.state, State::Connecting | State::Challenge | State::LoggingIn) {
            self.pending_logins -= 1;
            self.totals.failed.fetch_add(1, Ordering::SeqCst);
        } else {
            self.totals.disconnected.fetch_add(1, Ordering::SeqCst);
        }
        self.totals.note(format!("session {}: {why}", s.index));
        s.state = State::Done;
        s.fd = None; // closes it (and removes it from epoll)
    }

    fn event(&mut self, i: usize, flags: u32) {
        let Some(fd) = self.sessions[i].fd.as_ref().map(|f| f.as_raw_fd()) else { return };
        if self.sessions[i].state == State::Connecting {
            if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32 == 0 {
                return;
            }
            if let Err(e) = net::connect_result(fd) {
                return self.fail(i, &format!("connect: {e}"));
            }
            self.sessions[i].state = State::Challenge;
            let _ = self.epoll.ctl(libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN as u32, i as u64);
        }
        if flags & libc::EPOLLOUT as u32 != 0 && !self.sessions[i].out.is_empty() {
            self.flush(i);
        }
        if flags & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
            self.readable(i, fd);
        }
    }

    fn readable(&mut self, i: usize, fd: i32) {
        loop {
            let n = match net::read(fd, &mut self.buf) {
                Ok(0) => return self.fail(i, "server closed the connection"),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(i, &format!("read: {e}")),
            };
            self.sessions[i].framer.push(&self.buf[..n]);
            loop {
                let mut msg = std::mem::take(&mut self.msg);
                let got = self.sessions[i].framer.next_message(&mut msg);
                let r = match got {
                    Ok(Some(Ok(()))) => ServerMessage::decode(&msg).map_err(|e| e.to_string()),
                    Ok(Some(Err(e))) => Err(e.to_string()),
                    Ok(None) => {
                        self.msg = msg;
                        break;
                    }
                    Err(e) => Err(e.to_string()),
                };
                self.msg = msg;
                match r {
                    Ok(m) => self.message(i, m),
                    Err(e) => return self.fail(i, &format!("bad message from the server: {e}")),
                }
                if self.sessions[i].state == State::Done {
                    return;
                }
            }
            if n < self.buf.len() {
                return;
            }
        }
    }

    fn message(&mut self, i: usize, m: ServerMessage) {
        let plan = &self.plan;
        match (self.sessions[i].state, m) {
            (State::Challenge, ServerMessage::Challenge { nonce }) => {
                let email = super::email(self.sessions[i].index);
                let login = ClientMessage::Login2(Login2 {
                    algorithm: 196_610,
                    username: email.clone(),
                    response: compute_response(&nonce, &email, PASSWORD),
                    clientver: 697,
                    langid: Some(1033),
                    imlang: Some("ENGLISH".into()),
                    reconn: 0,
                    status: 100,
                });
                self.sessions[i].state = State::LoggingIn;
                self.send(i, &login);
            }
            (State::LoggingIn, ServerMessage::LoginOk { sesskey, userid, .. }) => {
                let s = &mut self.sessions[i];
                if userid != plan.first_uid + s.index as u32 {
                    return self.fail(i, &format!("logged in as uid {userid}"));
                }
                s.sesskey = sesskey;
                s.state = State::Online;
                self.pending_logins -= 1;
                self.totals.signed_on.fetch_add(1, Ordering::SeqCst);
            }
            (_, ServerMessage::Error { code, fatal: true, text }) => {
                self.fail(i, &format!("fatal error {code}: {text}"));
            }
            (State::Online, ServerMessage::Bm(b)) if b.kind == bm::IM => {
                let s = &mut self.sessions[i];
                let from_neighbour = b.from == plan.first_uid + ((s.index + plan.sessions - 1) % plan.sessions) as u32;
                let ok = from_neighbour && matches!(&b.payload, BmPayload::Text(t) if t == IM_TEXT);
                s.ims += 1;
                self.totals.ims.fetch_add(1, Ordering::SeqCst);
                if !ok || s.ims > 1 {
                    self.totals.wrong_ims.fetch_add(1, Ordering::SeqCst);
                }
            }
            (State::Online, ServerMessage::Bm(b)) if b.kind == bm::STATUS && b.from == plan.first_uid => {
                let index = self.sessions[i].index;
                let round = self.totals.round.load(Ordering::SeqCst);
                let expected = format!("round {round}");
                if (1..=plan.watchers).contains(&index)
                    && matches!(&b.payload, BmPayload::Status(s) if s.text == expected)
                {
                    self.totals.fan_last.fetch_max(self.totals.now_ns(), Ordering::SeqCst);
                    self.totals.fan_hits.fetch_add(1, Ordering::SeqCst);
                }
            }
            _ => {}
        }
    }

    fn send(&mut self, i: usize, m: &ClientMessage) {
        let bytes = m.encode().expect("encodable").encode();
        let s = &mut self.sessions[i];
        s.out.extend_from_slice(&bytes);
        self.flush(i);
    }

    fn flush(&mut self, i: usize) {
        let s = &mut self.sessions[i];
        let Some(fd) = s.fd.as_ref().map(|f| f.as_raw_fd()) else { return };
        match net::write(fd, &s.out) {
            Ok(n) => {
                s.out.drain(..n);
            }
            Err(e) => return self.fail(i, &format!("write: {e}")),
        }
        let s = &mut self.sessions[i];
        // Ask for EPOLLOUT only while bytes wait (level-triggered: it would fire constantly).
        let want_out = !s.out.is_empty();
        if want_out != s.polling_out {
            s.polling_out = want_out;
            let flags = libc::EPOLLIN as u32 | if want_out { libc::EPOLLOUT as u32 } else { 0 };
            let _ = self.epoll.ctl(libc::EPOLL_CTL_MOD, fd, flags, i as u64);
        }
    }
}

/// The server's address as the sockets want it.
pub fn v4(addr: std::net::SocketAddr) -> SocketAddrV4 {
    match addr {
        std::net::SocketAddr::V4(a) => a,
        std::net::SocketAddr::V6(_) => panic!("the load generator connects over IPv4 loopback"),
    }
}
