//! A real msim-server (in this process, loopback TCP, `:memory:` database) fed arbitrary client
//! bytes on a logged-in connection.
//!
//! One server per fuzz process, started on the first input, with three accounts that list each
//! other: `fuzz` (the fuzzed connection; no username, so the set-username flow is reachable),
//! `witness` (a second logged-in client) and `third` (never online: offline IMs, info look-ups).
//! The fuzzed connection is kept across inputs and re-established (connect + `login2` computed with
//! `msim::protocol::login`) whenever the server has closed it.
//!
//! Per input: the placeholders `SESSKEY`, `MYUID`, `OTHERUID` and `THIRDUID` are replaced with the
//! live values (so seeds get past the session-key check to the handlers), the bytes are written
//! followed by `\final\` (no partial frame is left behind), then a well-formed persist 7/18 with a
//! fresh rid. An input that starts with `FRESH` goes instead to a new connection that has not
//! logged in (pre-login refusals, `login2` checks; `RESPONSE` becomes the right login response, so
//! a fuzzed `login2` can also succeed and replace the kept session). Invariants:
//! - no thread of the server panics (the panic hook aborts the process, so a panic on a connection
//!   thread, which would otherwise end only that thread, is a crash for libFuzzer);
//! - everything the server sends on either connection is a well-formed message that decodes as a
//!   `ServerMessage`;
//! - within `SYNC_WAIT` the server either answers the 7/18 or closes the connection, and a close
//!   is explained: a fatal `\error\` came first, or the input asked for `\logout\`;
//! - the witness, a separate logged-in client, gets its own 1/4 answered within `SYNC_WAIT` after
//!   every input (the server keeps serving others).
#![no_main]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use msim::protocol::kinds::{ClientMessage, Login2, ServerMessage};
use msim::protocol::login::compute_response;
use msim::protocol::message::FINAL;
use msim::protocol::persist::{Cmd, PersistRequest};
use msim::protocol::{Framer, Message};
use msim_server::{Config, Server};

/// How long the server may take to answer the sync request (or close) after an input.
const SYNC_WAIT: Duration = Duration::from_secs(3);

const FUZZ: (&str, &str) = ("fuzz@example.com", "fuzzpw");
const WITNESS: (&str, &str) = ("witness@example.com", "witnesspw");
const THIRD: (&str, &str) = ("third@example.com", "thirdpw");

struct Harness {
    server: Server,
    /// uids of FUZZ, WITNESS, THIRD.
    uids: [u32; 3],
    state: Mutex<State>,
}

struct State {
    fuzz: Option<Client>,
    witness: Client,
    rid: u32,
}

impl State {
    /// The rid of the next sync request (kept apart from the rids seeds may use).
    fn next_rid(&mut self) -> u32 {
        self.rid = self.rid.wrapping_add(1).max(1_000_000);
        self.rid
    }
}

/// What ended a wait for a message.
enum Wait {
    Found(ServerMessage),
    Closed,
    TimedOut,
}

struct Client {
    stream: TcpStream,
    framer: Framer,
    eof: bool,
    /// A fatal `\error\` has arrived on this connection.
    fatal_seen: bool,
    sesskey: u32,
    uid: u32,
}

impl Client {
    /// Connects and reads the challenge; returns the client and the nonce.
    fn connect(addr: SocketAddr) -> (Client, [u8; 64]) {
        let stream = TcpStream::connect_timeout(&addr, SYNC_WAIT).expect("connect to the fuzzed server");
        let _ = stream.set_nodelay(true);
        let mut c = Client { stream, framer: Framer::default(), eof: false, fatal_seen: false, sesskey: 0, uid: 0 };
        match c.wait(|m| matches!(m, ServerMessage::Challenge { .. }), SYNC_WAIT) {
            Wait::Found(ServerMessage::Challenge { nonce }) => (c, nonce),
            _ => panic!("no login challenge from the server within {SYNC_WAIT:?}"),
        }
    }

    /// Connects, answers the challenge and waits for `lc=2`.
    fn login(addr: SocketAddr, email: &str, password: &str) -> Client {
        let (mut c, nonce) = Client::connect(addr);
        let login = ClientMessage::Login2(Login2 {
            algorithm: msim::protocol::login::LOGIN2_ALGORITHM,
            username: email.into(),
            response: compute_response(&nonce, email, password),
            clientver: 697,
            langid: Some(1033),
            imlang: Some("ENGLISH".into()),
            reconn: 0,
            status: 100,
        });
        c.send(&login);
        match c.wait(|m| matches!(m, ServerMessage::LoginOk { .. } | ServerMessage::Error { .. }), SYNC_WAIT) {
            Wait::Found(ServerMessage::LoginOk { sesskey, userid, .. }) => {
                c.sesskey = sesskey;
                c.uid = userid;
            }
            Wait::Found(other) => panic!("login of {email} refused: {other:?}"),
            Wait::Closed => panic!("server closed the connection during the login of {email}"),
            Wait::TimedOut => panic!("login of {email} not answered within {SYNC_WAIT:?}"),
        }
        c
    }

    fn send(&mut self, m: &ClientMessage) {
        let bytes = m.encode().expect("encodable").encode();
        self.write(&bytes);
    }

    /// Writes; a failed write (the server closed first) shows up as end of stream on the next read.
    fn write(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Reads messages until one matches `pred`, the connection ends, or `timeout` passes; the
    /// others are checked and dropped.
    fn wait(&mut self, pred: impl Fn(&ServerMessage) -> bool, timeout: Duration) -> Wait {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 16 * 1024];
        loop {
            while let Some(frame) = self.framer.next_frame().expect("server sent an over-long frame") {
                let msg = Message::parse(frame).unwrap_or_else(|e| {
                    panic!("server sent an unparsable message ({e}): {:?}", String::from_utf8_lossy(frame))
                });
                let m = ServerMessage::decode(&msg).unwrap_or_else(|e| {
                    panic!("server sent an undecodable message ({e}): {:?}", String::from_utf8_lossy(frame))
                });
                if matches!(m, ServerMessage::Error { fatal: true, .. }) {
                    self.fatal_seen = true;
                }
                if pred(&m) {
                    return Wait::Found(m);
                }
            }
            if self.eof {
                return Wait::Closed;
            }
            let now = Instant::now();
            if now >= deadline {
                return Wait::TimedOut;
            }
            self.stream.set_read_timeout(Some(deadline - now)).expect("set_read_timeout");
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Wait::TimedOut,
                // A reset: the server closed with our input unread.
                Err(_) => self.eof = true,
            }
        }
    }

    /// Sends a well-formed persist request and waits for its reply (matched by rid).
    fn sync(&mut self, dsn: u32, lid: u32, rid: u32) -> Wait {
        let req =
            PersistRequest { sesskey: self.sesskey, cmd: Cmd(1), dsn, lid, uid: Some(self.uid), rid, body: Vec::new() };
        self.send(&ClientMessage::Persist(req));
        self.wait(|m| matches!(m, ServerMessage::Persist(p) if p.rid == rid && p.dsn == dsn && p.lid == lid), SYNC_WAIT)
    }
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        // A panic on any thread (the server's connection threads included) ends the process, so
        // libFuzzer reports it with the input that caused it. libfuzzer-sys installs the same
        // hook; this one does not depend on that.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default_hook(info);
            std::process::abort();
        }));
        let config = Config {
            log: std::env::var_os("MSIM_SERVER_LOG").is_some(),
            // Keepalives now and then, to run the sweep concurrently with the fuzzed session.
            ka_interval: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(2),
            // Fuzzed login2s fail by the thousand from 127.0.0.1; the attempt limits would then
            // refuse the harness's own logins. They have their own tests (server/tests/login_limits.rs).
            login_limits: msim_server::LoginLimits { per_address_free: 0, per_account_free: 0, ..Default::default() },
            ..Config::default()
        };
        let server = Server::start(config).expect("server starts");
        let fuzz = server.add_account(FUZZ.0, FUZZ.1, None, Some("Fuzz")).unwrap();
        let witness = server.add_account(WITNESS.0, WITNESS.1, Some("witness"), Some("Witness")).unwrap();
        let third = server.add_account(THIRD.0, THIRD.1, Some("third"), None).unwrap();
        for (a, b) in [(fuzz, witness), (fuzz, third), (witness, fuzz), (witness, third), (third, fuzz)] {
            server.add_contact(a, b, "IM Friends").unwrap();
        }
        let witness_client = Client::login(server.addr(), WITNESS.0, WITNESS.1);
        Harness {
            server,
            uids: [fuzz, witness, third],
            state: Mutex::new(State { fuzz: None, witness: witness_client, rid: 1_000_000 }),
        }
    })
}

/// `data` with every occurrence of each placeholder replaced by its value.
fn substitute(data: &[u8], subs: &[(&[u8], String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 32);
    let mut i = 0;
    'outer: while i < data.len() {
        for (from, to) in subs {
            if data[i..].starts_with(from) {
                out.extend_from_slice(to.as_bytes());
                i += from.len();
                continue 'outer;
            }
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

/// Writes one input to `c`: `first` (the session key, or the login response on a fresh connection)
/// and the uids put in for their placeholders, then `\final\` so no partial frame is left.
fn write_input(h: &Harness, c: &mut Client, first: (&'static [u8], String), data: &[u8]) {
    let subs: [(&[u8], String); 4] = [
        first,
        (b"OTHERUID", h.uids[1].to_string()),
        (b"THIRDUID", h.uids[2].to_string()),
        (b"MYUID", h.uids[0].to_string()),
    ];
    let mut wire = substitute(data, &subs);
    wire.extend_from_slice(FINAL);
    c.write(&wire);
}

/// The end of an input on `c`: the sync was answered, or the connection was closed for a reason.
fn check_outcome(outcome: Wait, c: &Client, data: &[u8]) {
    match outcome {
        Wait::Found(_) => {}
        Wait::Closed => {
            let logout = memchr::memmem::find(data, b"logout").is_some();
            assert!(c.fatal_seen || logout, "the server closed the connection without a fatal error or a logout");
        }
        Wait::TimedOut => panic!("the server neither answered the sync request nor closed within {SYNC_WAIT:?}"),
    }
}

/// An input that starts with `FRESH`: the rest goes to a new connection that has not logged in, with
/// `RESPONSE` replaced by the right login response for `fuzz@example.com` and this connection's
/// nonce (so a fuzzed `login2` can succeed and replace the kept session). The sync is a 7/18 with
/// session key 0, which the server refuses with a non-fatal error 2 (not logged in) or, when the
/// fuzzed login2 succeeded, 3 (wrong session key, SPEC §25).
fn fresh_connection(h: &Harness, st: &mut State, data: &[u8]) {
    let (mut c, nonce) = Client::connect(h.server.addr());
    let response = msim::protocol::login::compute_response_b64(&nonce, FUZZ.0, FUZZ.1);
    write_input(h, &mut c, (b"RESPONSE", response), data);
    let rid = st.next_rid();
    let sync = PersistRequest { sesskey: 0, cmd: Cmd(1), dsn: 7, lid: 18, uid: None, rid, body: Vec::new() };
    c.send(&ClientMessage::Persist(sync));
    let outcome = c.wait(
        |m| match m {
            ServerMessage::Persist(p) => p.rid == rid,
            ServerMessage::Error { code: 2 | 3, fatal: false, .. } => true,
            _ => false,
        },
        SYNC_WAIT,
    );
    check_outcome(outcome, &c, data);
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let mut st = h.state.lock().unwrap_or_else(|p| p.into_inner());
    let st = &mut *st;
    if let Some(rest) = data.strip_prefix(b"FRESH") {
        fresh_connection(h, st, rest);
        check_witness(st);
        return;
    }
    if st.fuzz.as_ref().is_none_or(|c| c.eof) {
        st.fuzz = Some(Client::login(h.server.addr(), FUZZ.0, FUZZ.1));
    }
    let rid = st.next_rid();
    let c = st.fuzz.as_mut().unwrap();
    let sesskey = c.sesskey.to_string();
    write_input(h, c, (b"SESSKEY", sesskey), data);
    let outcome = c.sync(7, 18, rid);
    check_outcome(outcome, c, data);
    check_witness(st);
});

/// Everyone else is still served. The witness may have been sent bms and presence by the fuzzed
/// session; `wait` checks and drops them.
fn check_witness(st: &mut State) {
    let rid = st.rid ^ 0x4000_0000;
    match st.witness.sync(1, 4, rid) {
        Wait::Found(_) => {}
        Wait::Closed => panic!("the server closed the witness's connection"),
        Wait::TimedOut => panic!("the witness's request was not answered within {SYNC_WAIT:?}"),
    }
}
