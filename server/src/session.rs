//! One connection's session, driven by its event loop (`reactor.rs`): challenge on connect, read
//! and frame bytes, parse, enforce login and session key, dispatch, keep the deadlines, end
//! gracefully after a final message, and clean up when the connection ends.
//!
//! Input errors (SPEC §16.2 code 1): bytes that are not a message, or a frame over the cap, get the
//! capture's fatal parse error and the connection is closed (SPEC §6.1 shows exactly that reply);
//! a well-formed message whose fields are wrong for its kind gets the same error non-fatally and is
//! skipped. Either way only this connection is affected.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use msim::protocol::frame::DEFAULT_MAX_FRAME;
use msim::protocol::kinds::{ClientMessage, ServerMessage};
use msim::protocol::message::MessageBuilder;
use msim::protocol::{Framer, Message};

use crate::conn::Conn;
use crate::state::Shared;
use crate::{handlers, log_if, login, router};

/// The capture's text for error 1 (SPEC §6.1, §16.2).
pub const PARSE_ERROR_TEXT: &str = "There was an error parsing an incoming request.";

/// The frame cap before login: `login2` is a few hundred bytes (a response of at most a few dozen
/// bytes of base64 and an e-mail address), so 4 KiB is ample; together with one read buffer a
/// connection that has not logged in holds at most that much input, not 256 KiB (SPEC §24's cap
/// applies after login).
pub const PRELOGIN_MAX_FRAME: usize = 4 * 1024;

/// A message larger than this makes the session drop its grown buffers afterwards. Ordinary
/// traffic (IMs, persist requests) is well below it.
const SHRINK_AFTER: usize = 16 * 1024;

/// How long a connection the server ends (fatal error, logout) may take to close its side.
const LINGER: Duration = Duration::from_secs(1);

/// What the loop does after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close,
    /// Close after a failed or refused login: counted in the attempt summary, not logged alone.
    LoginFailed,
}

/// The end reason of a connection closed by [`Flow::LoginFailed`]; not logged.
const LOGIN_FAILED: &str = "login failed";

/// The end of a session, run when it ends, also after a panic in a handler: without it a panic
/// would leave the account online (watchers never see it go offline, a new login "replaces" a
/// dead session) and the connection open and counted forever (also against `max_connections`).
pub(crate) struct SessionEnd<'a> {
    shared: &'a Arc<Shared>,
    conn: &'a Arc<Conn>,
    reason: &'static str,
    /// The session gave its pre-login slot back when it logged in.
    logged_in: bool,
}

impl Drop for SessionEnd<'_> {
    fn drop(&mut self) {
        let (shared, conn) = (self.shared, self.conn);
        // Already closed on a normal end; after a panic this ends the peer's wait.
        conn.close();
        if !self.logged_in {
            shared.release_prelogin_slot(conn.peer.ip());
        }
        if let Some(login) = conn.login() {
            // Live IMs that were queued but never written: stored for the next login, not lost.
            router::store_unsent(shared, login.uid, conn.take_unsent_ims());
            if shared.unregister(login.uid, conn.id) {
                router::on_logout(shared, login.uid);
            }
        }
        if self.reason != LOGIN_FAILED {
            log_if(shared, format_args!("conn {} from {}: closed ({})", conn.id, conn.peer, self.reason));
        }
        shared.remove_conn(conn.id);
    }
}

/// Most input read and thrown away while lingering on a graceful close: a peer that keeps sending
/// is cut off rather than holding the connection.
const LINGER_DISCARD_LIMIT: usize = 64 * 1024;

/// How many reads one connection gets per round of its event loop before the others' turn.
const READS_PER_ROUND: usize = 16;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    /// The server ended it after a final message of its own (fatal error, logout, replaced):
    /// writing what is queued, until `by`.
    Draining {
        by: Instant,
        why: &'static str,
    },
    /// Written and shut down for writing; reading and discarding what the peer still sends until
    /// it closes or `by` (see [`Conn::begin_linger`]).
    Lingering {
        by: Instant,
        why: &'static str,
        discarded: usize,
    },
}

/// What the event loop does with a session after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Open,
    /// Input may be left unread (its share of the round is used up): run it again soon.
    More,
    Ended(&'static str),
}

/// One connection's state, kept by its event loop (`reactor.rs`). Small on purpose: idle
/// sessions are most of a big server's memory.
pub struct Session {
    pub conn: Arc<Conn>,
    framer: Framer,
    nonce: [u8; 64],
    logged_in: bool,
    /// The login deadline (`Config::login_timeout`), until login.
    login_by: Option<Instant>,
    last_read: Instant,
    /// Until login (and after it where the kernel cannot watch the peer), silence ends a session.
    idle_limit: Option<Duration>,
    phase: Phase,
    /// Input is held while offline delivery settles ([`Conn::is_settling`]): nothing is read or
    /// handled until the delivery thread is done and wakes the loop.
    paused: bool,
    /// The deadline this session has on its loop's timer heap (see `reactor.rs`).
    pub armed: Option<Instant>,
}

impl Session {
    /// A new connection: SPEC §6.1, the challenge, then the unsolicited server info, before the
    /// client says anything.
    pub fn start(shared: &Arc<Shared>, conn: Arc<Conn>) -> Session {
        let mut nonce = [0u8; 64];
        rand::Rng::fill(&mut rand::thread_rng(), &mut nonce[..]);
        conn.send(&ServerMessage::Challenge { nonce });
        conn.send(&handlers::persist::server_info(shared));
        let config = &shared.config;
        let now = Instant::now();
        Session {
            conn,
            // Until login, frames are capped at a few KiB (`PRELOGIN_MAX_FRAME`), so a connection
            // that has not authenticated holds little memory.
            framer: Framer::new(PRELOGIN_MAX_FRAME),
            nonce,
            logged_in: false,
            login_by: (!config.login_timeout.is_zero()).then(|| now + config.login_timeout),
            last_read: now,
            idle_limit: (!config.idle_timeout.is_zero()).then_some(config.idle_timeout),
            phase: Phase::Open,
            paused: false,
            armed: None,
        }
    }

    /// The earliest deadline of this session: the login deadline and the idle limit, a stalled
    /// outbox (`write_timeout`: a peer that stopped reading), or the end of a graceful close.
    pub fn next_deadline(&self, shared: &Shared) -> Option<Instant> {
        self.deadline(shared).map(|(at, _)| at)
    }

    fn deadline(&self, shared: &Shared) -> Option<(Instant, &'static str)> {
        let mut deadline: Option<(Instant, &'static str)> = None;
        let mut consider = |at: Instant, why: &'static str| {
            if deadline.is_none_or(|(d, _)| at < d) {
                deadline = Some((at, why));
            }
        };
        match self.phase {
            Phase::Draining { by, why } | Phase::Lingering { by, why, .. } => consider(by, why),
            Phase::Open => {
                if let (false, Some(by)) = (self.logged_in, self.login_by) {
                    // A client that trickles bytes cannot hold its slot for long.
                    consider(by, "no login within the login timeout");
                }
                if let Some(idle) = self.idle_limit {
                    consider(self.last_read + idle, "idle timeout");
                }
                if let Some(since) = self.conn.stalled_since() {
                    consider(since + shared.config.write_timeout, "peer stopped reading (write timeout)");
                }
            }
        }
        deadline
    }

    /// After a wake-up from another thread or a deadline: ends the session when a deadline
    /// passed, the server closed it, or a newer login replaced it.
    pub fn check(&mut self, shared: &Arc<Shared>, now: Instant) -> Progress {
        if let Some((_, why)) = self.deadline(shared).filter(|&(at, _)| now >= at) {
            return Progress::Ended(why);
        }
        if self.phase == Phase::Open {
            if self.conn.is_closed() {
                return Progress::Ended("closed by server");
            }
            if self.conn.ending() {
                return self.end_gracefully("replaced by a newer login");
            }
            if self.paused && !self.conn.is_settling() {
                self.paused = false;
                // Handle what was held, then read on (edge-triggered: no new event would come).
                if let p @ Progress::Ended(_) = self.write(false) {
                    return p;
                }
                return Progress::More;
            }
        }
        // Also writes what another loop's batch handed over (`batch.rs`).
        self.write(true)
    }

    /// The socket is readable and/or writable.
    pub fn ready(
        &mut self,
        shared: &Arc<Shared>,
        buf: &mut [u8],
        msg: &mut Message,
        readable: bool,
        writable: bool,
    ) -> Progress {
        if writable {
            if let p @ Progress::Ended(_) = self.write(true) {
                return p;
            }
        }
        if !readable {
            return Progress::Open;
        }
        if let Phase::Lingering { .. } = self.phase {
            return self.discard(buf);
        }
        if self.phase == Phase::Open && !self.paused && self.framer.pending() > 0 {
            // Requests held while offline delivery settled.
            if let p @ Progress::Ended(_) = self.input(shared, msg) {
                return p;
            }
            if self.phase != Phase::Open {
                return self.write(false);
            }
        }
        for _ in 0..READS_PER_ROUND {
            if self.paused {
                return Progress::Open;
            }
            let n = match recv(self.conn.stream(), buf) {
                Ok(0) => return Progress::Ended("peer closed"),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return self.check(shared, Instant::now()),
                // TCP_USER_TIMEOUT or keepalive gave up: the peer stopped acknowledging.
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    return Progress::Ended("dead connection (peer stopped responding)")
                }
                Err(_) => return Progress::Ended("read error"),
            };
            if self.phase != Phase::Open {
                continue; // draining: input is not handled any more
            }
            self.last_read = Instant::now();
            self.framer.push(&buf[..n]);
            if let p @ Progress::Ended(_) = self.input(shared, msg) {
                return p;
            }
            if self.phase != Phase::Open {
                return self.write(false);
            }
            if self.conn.is_closed() {
                return Progress::Ended("closed by server");
            }
            if n < buf.len() {
                return self.check(shared, Instant::now());
            }
        }
        Progress::More
    }

    /// Handles every whole message buffered, as one batch: what they send to any connection is
    /// written once at the end (`batch.rs`).
    fn input(&mut self, shared: &Arc<Shared>, msg: &mut Message) -> Progress {
        crate::batch::run(|| self.input_batch(shared, msg))
    }

    fn input_batch(&mut self, shared: &Arc<Shared>, msg: &mut Message) -> Progress {
        loop {
            if self.conn.is_settling() {
                self.paused = true;
                break;
            }
            let frame = match self.framer.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    log_if(shared, format_args!("conn {}: {e}", self.conn.id));
                    send_parse_error(&self.conn, true);
                    return self.end_gracefully("frame too large");
                }
            };
            let big = frame.len() > SHRINK_AFTER;
            if msg.parse_into(frame).is_err() {
                send_parse_error(&self.conn, true);
                return self.end_gracefully("unparseable input");
            }
            let flow = handle(shared, &self.conn, &self.nonce, msg);
            if big {
                // Give back the buffers a large message grew, so an idle session stays small.
                *msg = Message::default();
            }
            match flow {
                Flow::Continue => {}
                Flow::Close => return self.end_gracefully("session ended"),
                Flow::LoginFailed => return self.end_gracefully(LOGIN_FAILED),
            }
            if !self.logged_in && self.conn.login().is_some() {
                self.logged_in_now(shared);
            }
        }
        if self.framer.pending() == 0 && self.framer.capacity() > SMALL_FRAMER {
            // An idle session keeps no grown input buffer.
            self.framer = Framer::new(self.framer.cap());
        }
        Progress::Open
    }

    fn logged_in_now(&mut self, shared: &Shared) {
        self.logged_in = true;
        shared.release_prelogin_slot(self.conn.peer.ip());
        if crate::liveness::after_login(self.conn.stream(), shared.config.idle_timeout) {
            self.idle_limit = None;
        }
        if self.framer.cap() < DEFAULT_MAX_FRAME && self.framer.pending() == 0 {
            // A client cannot send before it has the session key of lc=2, so nothing is pending
            // here in practice; if a stray byte is, the small framer stays until it is consumed.
            self.framer = Framer::default();
        }
    }

    /// Ends the session after what is queued (a final message of the server's own) was written.
    fn end_gracefully(&mut self, why: &'static str) -> Progress {
        if self.phase == Phase::Open {
            self.phase = Phase::Draining { by: Instant::now() + LINGER, why };
        }
        self.write(false)
    }

    /// Writes what the outbox queued (`writable`: the socket said it can take more), and moves a
    /// draining session on once all is written.
    fn write(&mut self, writable: bool) -> Progress {
        if (writable || matches!(self.phase, Phase::Draining { .. })) && self.conn.queued() > 0 && !self.conn.flush() {
            return Progress::Ended(match self.phase {
                Phase::Draining { why, .. } | Phase::Lingering { why, .. } => why,
                Phase::Open => "write error",
            });
        }
        if let Phase::Draining { why, .. } = self.phase {
            if self.conn.queued() == 0 {
                if !self.conn.begin_linger() {
                    return Progress::Ended(why);
                }
                self.phase = Phase::Lingering { by: Instant::now() + LINGER, why, discarded: 0 };
                // Edge-triggered: input that arrived earlier gives no new event.
                let mut buf = [0u8; 1024];
                return self.discard(&mut buf);
            }
        }
        Progress::Open
    }

    /// Reads and throws away input while lingering; ends at the peer's close or the limit.
    fn discard(&mut self, buf: &mut [u8]) -> Progress {
        let Phase::Lingering { why, ref mut discarded, .. } = self.phase else { return Progress::Open };
        while *discarded < LINGER_DISCARD_LIMIT {
            match recv(self.conn.stream(), buf) {
                Ok(0) => return Progress::Ended(why),
                Ok(n) => *discarded += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Progress::Open,
                Err(_) => return Progress::Ended(why),
            }
        }
        Progress::Ended(why)
    }

    /// Cleans up after the session ended (see [`SessionEnd`]); the connection is closed at once.
    pub fn end(self, shared: &Arc<Shared>, why: &'static str) {
        let _end = SessionEnd { shared, conn: &self.conn, reason: why, logged_in: self.logged_in };
    }
}

/// A framer whose buffer grew past this is replaced once empty.
const SMALL_FRAMER: usize = 2 * 1024;

/// One non-blocking read (the socket itself stays blocking; see `outbox.rs`).
fn recv(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    // SAFETY: a valid socket fd and a writable buffer of the length passed.
    let n = unsafe { libc::recv(stream.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn send_parse_error(conn: &Conn, fatal: bool) {
    conn.send(&ServerMessage::Error { code: 1, fatal, text: PARSE_ERROR_TEXT.into() });
}

/// The session key a client message carries, if its kind has one (SPEC §17).
fn sesskey_of(m: &ClientMessage) -> Option<u32> {
    match m {
        ClientMessage::Persist(p) => Some(p.sesskey),
        ClientMessage::Bm(b) => Some(b.sesskey),
        ClientMessage::Status { sesskey, .. }
        | ClientMessage::AddBuddy { sesskey, .. }
        | ClientMessage::DelBuddy { sesskey, .. }
        | ClientMessage::BlockList { sesskey, .. }
        | ClientMessage::SetInfo { sesskey, .. }
        | ClientMessage::WebChallenge { sesskey, .. }
        | ClientMessage::Logout { sesskey } => Some(*sesskey),
        ClientMessage::Login2(_) | ClientMessage::Unknown(_) => None,
    }
}

/// SPEC §6.5: Pidgin writes every integer back with `printf("%d")`, so a key ≥ 2^31 arrives as
/// a negative decimal (`-1739438191` for 2555529105). This server issues keys below 2^31, but a
/// tolerant peer reads such a `sesskey` as the same 32-bit value: the message is rebuilt with the
/// unsigned form. Only `sesskey` gets this; every other integer stays strict (SPEC §24), and a
/// value outside -2^31..=-1 is left alone (the decoder then refuses it).
fn with_unsigned_sesskey(msg: &Message) -> Option<Message> {
    let raw = msg.get_raw("sesskey")?;
    if raw.first() != Some(&b'-') {
        return None;
    }
    let signed = i32::try_from(msim::protocol::message::parse_i64(raw)?).ok().filter(|v| *v < 0)?;
    let mut b = MessageBuilder::new();
    let mut first = true;
    for (k, v) in msg.iter() {
        let k = std::str::from_utf8(k).ok()?;
        b = if k == "sesskey" && std::mem::take(&mut first) { b.int(k, u64::from(signed as u32)) } else { b.raw(k, v) };
    }
    b.finish().ok()
}

fn handle(shared: &Arc<Shared>, conn: &Arc<Conn>, nonce: &[u8; 64], msg: &Message) -> Flow {
    let rebuilt = with_unsigned_sesskey(msg);
    let decoded = match ClientMessage::decode(rebuilt.as_ref().unwrap_or(msg)) {
        Ok(m) => m,
        Err(e) => {
            log_if(shared, format_args!("conn {}: bad request: {e}", conn.id));
            send_parse_error(conn, false);
            return Flow::Continue;
        }
    };
    let Some(me) = conn.login() else {
        return match decoded {
            ClientMessage::Login2(l) => login::handle_login2(shared, conn, nonce, &l),
            ClientMessage::Unknown(m) if m.is_kind("login") => login::legacy_login(shared, conn),
            _ => {
                // SPEC §16.2 code 2. Not fatal: the client may still log in on this connection.
                conn.send(&ServerMessage::Error { code: 2, fatal: false, text: "You are not logged in.".into() });
                Flow::Continue
            }
        };
    };
    match (&decoded, sesskey_of(&decoded)) {
        (ClientMessage::Login2(_), _) => {
            log_if(shared, format_args!("conn {}: login2 on a logged-in session ignored", conn.id));
            return Flow::Continue;
        }
        (ClientMessage::Unknown(m), _) => {
            let kind = m.kind().map(|(k, _)| String::from_utf8_lossy(k).into_owned()).unwrap_or_default();
            log_if(shared, format_args!("conn {}: unknown message kind `{kind}` ignored", conn.id));
            return Flow::Continue;
        }
        (_, Some(key)) if key != me.sesskey => {
            // SPEC §25 code 3, invalid session key. Not fatal: a wrong key proves nothing about the
            // sender, so the request is ignored and the session goes on.
            conn.send(&ServerMessage::Error { code: 3, fatal: false, text: "Invalid session key.".into() });
            return Flow::Continue;
        }
        _ => {}
    }
    handlers::dispatch(shared, conn, me.uid, decoded)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::Duration;

    use msim::protocol::kinds::ServerMessage;
    use msim::protocol::{Framer, Message};

    use super::SessionEnd;
    use crate::conn::{Conn, LoginInfo};
    use crate::db::Db;
    use crate::state::Shared;
    use crate::Config;

    /// SPEC §6.5: a session whose key is 2555529105 (≥ 2^31, as older servers issued) is reached
    /// by Pidgin's `%d` echo `-1739438191`; any other negative key, or one outside 32 bits, is not.
    #[test]
    fn a_negative_sesskey_is_read_as_the_same_32_bit_value() {
        let shared = Arc::new(Shared::new(Config { log: false, ..Config::default() }, Db::open(":memory:").unwrap()));
        let uid = shared.db.create_account(None, "k@x.org", &[1; 20], Some("keyed"), None).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().unwrap();
        let conn = Arc::new(Conn::new(shared.next_conn_id(), peer, stream, 1 << 20, false).unwrap());
        assert!(conn.set_login(LoginInfo { uid, sesskey: 2_555_529_105, clientver: 0, previous_login: 0 }));
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut framer = Framer::default();
        let mut ask_as = |key: &str, uid: &str, rid: u32| {
            let text = format!("\\persist\\1\\sesskey\\{key}\\cmd\\1\\dsn\\1\\uid\\{uid}\\lid\\4\\rid\\{rid}\\body\\");
            let msg = Message::parse(text.as_bytes()).unwrap();
            assert_eq!(super::handle(&shared, &conn, &[0; 64], &msg), super::Flow::Continue);
            loop {
                if let Some(f) = framer.next_frame().unwrap() {
                    return ServerMessage::decode(&Message::parse(f).unwrap()).unwrap();
                }
                let mut buf = [0u8; 4096];
                let n = client.read(&mut buf).unwrap();
                framer.push(&buf[..n]);
            }
        };
        let own = uid.to_string();
        let mut ask = |key: &str, rid: u32| ask_as(key, &own, rid);
        let answered =
            |m: &ServerMessage, rid: u32| matches!(m, ServerMessage::Persist(p) if p.rid == rid && p.cmd.0 == 257);
        assert!(answered(&ask("2555529105", 1), 1));
        assert!(answered(&ask("-1739438191", 2), 2), "the %d form of the key was refused");
        // A different key, negative or not, is still the wrong key (error 3, SPEC §25) ...
        for (key, rid) in [("-1739438190", 3), ("-1", 4)] {
            assert!(matches!(ask(key, rid), ServerMessage::Error { code: 3, .. }), "{key}");
        }
        // ... and what is no 32-bit value at all stays a malformed field (error 1, SPEC §24).
        for (key, rid) in [("-2147483649", 5), ("--1739438191", 6), ("-", 7), ("- 1", 8), ("-0x1", 9)] {
            assert!(matches!(ask(key, rid), ServerMessage::Error { code: 1, .. }), "{key}");
        }
        // Other integers stay strict: a negative uid is a malformed field (error 1).
        let neg_uid = format!("-{uid}");
        assert!(matches!(ask_as("2555529105", &neg_uid, 11), ServerMessage::Error { code: 1, .. }));
    }

    #[test]
    fn a_panicking_session_thread_still_goes_offline_and_closes() {
        let shared = Arc::new(Shared::new(Config { log: false, ..Config::default() }, Db::open(":memory:").unwrap()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().unwrap();
        let conn = Arc::new(Conn::new(shared.next_conn_id(), peer, stream, 1 << 20, false).unwrap());
        shared.add_conn(conn.clone());
        assert!(conn.set_login(LoginInfo { uid: 7, sesskey: 1, clientver: 0, previous_login: 0 }));
        shared.register(7, conn.clone());
        assert_eq!(shared.online_count(), 1);

        let (s, c) = (shared.clone(), conn.clone());
        let joined = std::thread::spawn(move || {
            let _end = SessionEnd { shared: &s, conn: &c, reason: "session thread panicked", logged_in: true };
            panic!("injected panic in a handler");
        })
        .join();
        assert!(joined.is_err());

        assert_eq!(shared.online_count(), 0, "the panicked session is still online");
        assert!(shared.all_conns().is_empty(), "the panicked connection is still tracked");
        assert!(shared.wait_sessions_done(Duration::from_secs(1)), "the session count was not released");
        assert!(conn.is_closed());
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(client.read(&mut [0u8; 64]).unwrap(), 0, "the peer was not told the connection ended");
    }
}
