//! The per-connection loop: challenge on connect, read and frame bytes, parse, enforce login and
//! session key, dispatch, and clean up when the connection ends.
//!
//! Input errors (SPEC §16.2 code 1): bytes that are not a message, or a frame over the cap, get the
//! capture's fatal parse error and the connection is closed (SPEC §6.1 shows exactly that reply);
//! a well-formed message whose fields are wrong for its kind gets the same error non-fatally and is
//! skipped. Either way only this connection is affected.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
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

/// Bytes read per `read` call; messages are small, and a big buffer per thread is memory per session.
const READ_CHUNK: usize = 4096;

/// The frame cap before login: `login2` is a few hundred bytes (a response of at most a few dozen
/// bytes of base64 and an e-mail address), so 4 KiB is ample; together with one read buffer a
/// connection that has not logged in holds about 8 KiB of input, not 256 KiB (SPEC §24's cap
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

/// Starts the thread for a new connection; on failure (no memory for a thread) the socket is dropped.
/// The connection holds one of its address's pre-login slots (`Shared::take_prelogin_slot`),
/// given back at login or when it ends.
pub fn spawn(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
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
    let thread_shared = shared.clone();
    let thread_conn = conn.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("msim-conn-{}", conn.id))
        .stack_size(shared.config.session_stack_size)
        .spawn(move || {
            let mut end = SessionEnd {
                shared: &thread_shared,
                conn: &thread_conn,
                reason: "session thread panicked",
                logged_in: false,
            };
            end.reason = run(&thread_shared, &thread_conn, &mut end.logged_in);
        });
    if let Err(e) = spawned {
        log_if(shared, format_args!("conn {} from {peer}: cannot start a thread: {e}", conn.id));
        conn.close();
        shared.release_prelogin_slot(peer.ip());
        shared.remove_conn(conn.id);
    }
}

/// The end of a session, run when its thread ends, also by unwinding from a panic: without it a
/// panic in a handler would leave the account online (watchers never see it go offline, a new
/// login "replaces" a dead session) and the connection open and counted forever (also against
/// `max_connections`).
struct SessionEnd<'a> {
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

/// Runs a session until its connection ends and returns why; [`SessionEnd`] does the cleanup.
/// (A connection is logged when it logs in and when it closes, not when it opens: a guessing loop
/// would otherwise write a line per attempt.)
fn run(shared: &Arc<Shared>, conn: &Arc<Conn>, logged_in: &mut bool) -> &'static str {
    let nonce: [u8; 64] = {
        let mut n = [0u8; 64];
        rand::Rng::fill(&mut rand::thread_rng(), &mut n[..]);
        n
    };
    // SPEC §6.1: the challenge, then the unsolicited server info, before the client says anything.
    conn.send(&ServerMessage::Challenge { nonce });
    conn.send(&handlers::persist::server_info(shared));

    let (reason, server_ended) = read_loop(shared, conn, &nonce, logged_in);
    if server_ended {
        conn.close_gracefully(LINGER);
    } else {
        conn.close();
    }
    reason
}

/// What `poll` reported for a connection.
struct Ready {
    /// Data, end of stream or an error can be read from the socket.
    readable: bool,
}

/// Waits for the socket (readable, or writable when `want_write`) or the connection's wake fd,
/// at most `timeout` (None = no limit).
fn wait(conn: &Conn, want_write: bool, timeout: Option<Duration>) -> Ready {
    let sock_events = libc::POLLIN | if want_write { libc::POLLOUT } else { 0 };
    let mut fds = [
        libc::pollfd { fd: conn.stream().as_raw_fd(), events: sock_events, revents: 0 },
        libc::pollfd { fd: conn.wake_fd(), events: libc::POLLIN, revents: 0 },
    ];
    // Rounded up, so a deadline is never polled for as 0 ms too early and spun on.
    let ms = timeout.map_or(-1, |t| libc::c_int::try_from(t.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX));
    // SAFETY: two valid pollfds, count 2.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if n <= 0 {
        return Ready { readable: false };
    }
    if fds[1].revents != 0 {
        conn.clear_wake();
    }
    Ready { readable: fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 }
}

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

/// Runs the connection until it ends; returns why, and whether this thread ended it after a
/// final message of its own (then the close lingers, see [`Conn::close_gracefully`]).
///
/// One `poll` loop per connection: it reads the socket, writes what other threads had to queue
/// (`outbox.rs`: senders never block on this socket), and keeps the timers — the login deadline
/// and the idle limit until login (after it the kernel watches the peer, `liveness.rs`), and
/// `write_timeout` for queued bytes that make no progress (a peer that stopped reading).
fn read_loop(shared: &Arc<Shared>, conn: &Arc<Conn>, nonce: &[u8; 64], logged_in: &mut bool) -> (&'static str, bool) {
    let config = &shared.config;
    // Until login, frames are capped at a few KiB (`PRELOGIN_MAX_FRAME`), so a connection that has
    // not authenticated holds little memory.
    let mut framer = Framer::new(PRELOGIN_MAX_FRAME);
    let mut msg = Message::default();
    let mut buf = [0u8; READ_CHUNK];
    let login_by = (!config.login_timeout.is_zero()).then(|| Instant::now() + config.login_timeout);
    let mut last_read = Instant::now();
    // Until login (and after it where the kernel cannot watch the peer), silence ends a session.
    let mut idle_limit = (!config.idle_timeout.is_zero()).then_some(config.idle_timeout);
    loop {
        if !*logged_in && conn.login().is_some() {
            *logged_in = true;
            shared.release_prelogin_slot(conn.peer.ip());
            if crate::liveness::after_login(conn.stream(), config.idle_timeout) {
                idle_limit = None;
            }
        }
        if *logged_in && framer.cap() < DEFAULT_MAX_FRAME && framer.pending() == 0 {
            // A client cannot send before it has the session key of lc=2, so nothing is pending
            // here in practice; if a stray byte is, the small framer stays until it is consumed.
            framer = Framer::default();
        }
        let mut deadline: Option<(Instant, &'static str)> = None;
        let mut consider = |at: Instant, why: &'static str| {
            if deadline.is_none_or(|(d, _)| at < d) {
                deadline = Some((at, why));
            }
        };
        if let (false, Some(by)) = (*logged_in, login_by) {
            // A client that trickles bytes cannot hold its thread (and its slot) for long.
            consider(by, "no login within the login timeout");
        }
        if let Some(idle) = idle_limit {
            consider(last_read + idle, "idle timeout");
        }
        if let Some(since) = conn.stalled_since() {
            consider(since + config.write_timeout, "peer stopped reading (write timeout)");
        }
        let now = Instant::now();
        if let Some((_, why)) = deadline.filter(|&(at, _)| now >= at) {
            return (why, false);
        }
        let ready = wait(conn, conn.queued() > 0, deadline.map(|(at, _)| at - now));
        if conn.is_closed() {
            return ("closed by server", false);
        }
        if conn.ending() {
            return ("replaced by a newer login", true);
        }
        if conn.queued() > 0 && !conn.flush() {
            return ("write error", false);
        }
        if !ready.readable {
            continue;
        }
        let n = match recv(conn.stream(), &mut buf) {
            Ok(0) => return ("peer closed", false),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => continue,
            // TCP_USER_TIMEOUT or keepalive gave up: the peer stopped acknowledging.
            Err(e) if e.kind() == ErrorKind::TimedOut => return ("dead connection (peer stopped responding)", false),
            Err(_) => return ("read error", false),
        };
        last_read = Instant::now();
        framer.push(&buf[..n]);
        loop {
            let frame = match framer.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    log_if(shared, format_args!("conn {}: {e}", conn.id));
                    send_parse_error(conn, true);
                    return ("frame too large", true);
                }
            };
            let big = frame.len() > SHRINK_AFTER;
            if msg.parse_into(frame).is_err() {
                send_parse_error(conn, true);
                return ("unparseable input", true);
            }
            match handle(shared, conn, nonce, &msg) {
                Flow::Continue => {}
                Flow::Close => return ("session ended", true),
                Flow::LoginFailed => return (LOGIN_FAILED, true),
            }
            if big {
                // Give back the buffers a large message grew, so an idle session stays small.
                msg = Message::default();
                if framer.pending() == 0 {
                    framer = Framer::new(framer.cap());
                }
            }
        }
        if conn.is_closed() {
            return ("closed by server", false);
        }
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
