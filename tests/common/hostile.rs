//! A misbehaving MSIM server for client robustness tests (issue "Hostile input and faults").
//!
//! [`HostileServer::start`] listens on 127.0.0.1:0 and runs a script for each connection it
//! accepts. The script gets a [`Conn`] whose helpers perform the login handshake correctly with
//! `msim::protocol` (a real random nonce, `login2` checked with `verify_response`, `lc=2`, every
//! persist request answered, the contact list 0/1 always) and then lets the script misbehave with
//! raw bytes. Everything it receives is kept for the test to inspect.
#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use msim::client::{Config, Credentials, Event, Session};
use msim::protocol::buddy::{bm, BmPayload};
use msim::protocol::kinds::{BmFromServer, ClientMessage, ServerMessage};
use msim::protocol::login::{self, NONCE_LEN};
use msim::protocol::persist::{DataItem, PersistReply, PersistRequest};
use msim::protocol::{DictBuilder, Framer, Message};

/// The account the handshake accepts.
pub const EMAIL: &str = "victim@example.com";
pub const PASSWORD: &str = "s3cret-Pw";
pub const UID: u32 = 4242;
pub const USERNAME: &str = "victim";
/// A contact on the list the handshake sends by default.
pub const FRIEND_UID: u32 = 777;
pub const FRIEND: &str = "friend";

/// Longest a script waits for a client message before giving up.
const RECV_WAIT: Duration = Duration::from_secs(10);

/// 64 random bytes (std's per-process random hash keys; good enough for a test nonce).
pub fn random_nonce() -> [u8; NONCE_LEN] {
    let mut out = [0u8; NONCE_LEN];
    for chunk in out.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(Instant::now().elapsed().as_nanos() as u64);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// One accepted connection, from the server's side.
pub struct Conn {
    pub stream: TcpStream,
    framer: Framer,
    pub sesskey: u32,
    /// Every message the client sent, in order.
    pub received: Vec<Message>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        let _ = stream.set_nodelay(true);
        Conn { stream, framer: Framer::new(1 << 20), sesskey: 0x5eed, received: Vec::new() }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn send(&mut self, m: &ServerMessage) -> io::Result<()> {
        let bytes = m.encode().expect("encodable").encode();
        self.send_raw(&bytes)
    }

    /// The next message from the client; `None` at end of stream, on error or after `wait`.
    pub fn recv_within(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(Some(f)) = self.framer.next_frame() {
                let m = Message::parse(f).ok()?;
                self.received.push(m.clone());
                return Some(m);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))).ok()?;
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.framer.push(&buf[..n]),
            }
        }
    }

    pub fn recv(&mut self) -> Option<Message> {
        self.recv_within(RECV_WAIT)
    }

    /// Sends `lc=1` with a fresh nonce and returns it.
    pub fn challenge(&mut self) -> [u8; NONCE_LEN] {
        let nonce = random_nonce();
        self.send(&ServerMessage::Challenge { nonce }).expect("send challenge");
        nonce
    }

    /// Reads `login2` and checks it as msim-server does; answers `lc=2` when it verifies.
    pub fn login(&mut self, nonce: &[u8; NONCE_LEN]) -> bool {
        let Some(m) = self.recv() else { return false };
        let Ok(ClientMessage::Login2(l)) = ClientMessage::decode(&m) else { return false };
        let hash = login::password_hash(PASSWORD);
        if l.username != EMAIL || login::verify_response(nonce, &l.username, &hash, &l.response).is_err() {
            return false;
        }
        let ok = ServerMessage::LoginOk {
            sesskey: self.sesskey,
            proof: USERNAME.into(),
            userid: UID,
            profileid: UID,
            uniquenick: USERNAME.into(),
        };
        self.send(&ok).is_ok()
    }

    /// The normal contact list: one friend with a username.
    pub fn default_contacts() -> DictBuilder {
        DictBuilder::new()
            .int("ContactID", u64::from(FRIEND_UID))
            .str("GroupName", "IM Friends")
            .int("Visibility", 1)
            .str("UserName", FRIEND)
    }

    /// Answers one persist request: the contact list with `contacts`, anything else with an
    /// empty body. Returns whether it was the contact list.
    pub fn answer(&mut self, req: &PersistRequest, contacts: &[u8]) -> bool {
        let is_list = req.item() == DataItem::ListAllContacts;
        let mut reply = PersistReply::to(req, UID, &DictBuilder::new()).expect("reply");
        if is_list {
            reply.body = contacts.to_vec();
        }
        let _ = self.send(&ServerMessage::Persist(reply));
        is_list
    }

    /// Answers the client's post-login requests until the contact list has been answered with
    /// `contacts` (raw body bytes). Returns false if the client went away first.
    pub fn sign_on_with(&mut self, contacts: &[u8]) -> bool {
        while let Some(m) = self.recv() {
            if let Ok(ClientMessage::Persist(req)) = ClientMessage::decode(&m) {
                if self.answer(&req, contacts) {
                    return true;
                }
            }
        }
        false
    }

    /// The whole correct handshake with the default contact list; panics when the client does
    /// not complete it (a broken fixture, not a finding).
    pub fn handshake(&mut self) {
        let nonce = self.challenge();
        assert!(self.login(&nonce), "the client's login did not verify");
        let list = Conn::default_contacts();
        assert!(self.sign_on_with(list.as_bytes().unwrap()), "the client left before the contact list");
    }

    /// Answers persist requests (empty bodies) and ignores everything else until the client
    /// closes or `wait` passes.
    pub fn serve_for(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(m) = self.recv_within(left) else { return };
            if let Ok(ClientMessage::Persist(req)) = ClientMessage::decode(&m) {
                self.answer(&req, b"");
            }
        }
    }

    /// Waits until the client closes the connection (or `wait` passes); true when it closed.
    pub fn wait_closed(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 4096];
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return false };
            let _ = self.stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => {
                    self.framer.push(&buf[..n]);
                    while let Ok(Some(f)) = self.framer.next_frame() {
                        if let Ok(m) = Message::parse(f) {
                            self.received.push(m);
                        }
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return false,
                Err(_) => return true,
            }
        }
    }

    /// An IM from `from` (bm 1), the "session still works" probe.
    pub fn im(&mut self, from: u32, text: &str) -> io::Result<()> {
        self.send(&ServerMessage::Bm(BmFromServer {
            kind: bm::IM,
            from,
            payload: BmPayload::Text(text.into()),
            date: None,
            cv: None,
            aid: None,
        }))
    }

    /// Makes the close at the end of the script a TCP reset (SO_LINGER 0) instead of a FIN: return
    /// from the script right after this.
    pub fn reset_on_close(&mut self) {
        let linger = libc::linger { l_onoff: 1, l_linger: 0 };
        // SAFETY: a valid socket and a correctly sized option value.
        let r = unsafe {
            libc::setsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "setsockopt(SO_LINGER)");
    }
}

type Script = dyn Fn(&mut Conn) + Send + Sync + 'static;

/// See the module docs. Stops accepting when dropped.
pub struct HostileServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    /// What each finished connection received, in accept order.
    pub transcripts: Arc<Mutex<Vec<Vec<Message>>>>,
    accept: Option<JoinHandle<()>>,
}

impl HostileServer {
    /// Runs `script` on every accepted connection (each on its own thread); the connection is
    /// closed normally when the script returns, unless the script consumed it.
    pub fn start(script: impl Fn(&mut Conn) + Send + Sync + 'static) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let transcripts = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let (stop2, acc2, tr2) = (stop.clone(), accepted.clone(), transcripts.clone());
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        acc2.fetch_add(1, Ordering::SeqCst);
                        let (script, tr) = (script.clone(), tr2.clone());
                        std::thread::spawn(move || {
                            let mut c = Conn::new(s);
                            script(&mut c);
                            tr.lock().unwrap().push(std::mem::take(&mut c.received));
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HostileServer { addr, stop, accepted, transcripts, accept: Some(accept) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// How long a probe waits for an expected event.
pub const WAIT: Duration = Duration::from_secs(15);

/// Client settings for hostile tests: short timeouts, no mail polling, no reconnect.
pub fn config() -> Config {
    Config {
        mail_check_interval: None,
        login_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        contact_list_timeout: Duration::from_secs(3),
        ..Config::default()
    }
}

/// A client session under test: every event is recorded.
pub struct Probe {
    pub session: Arc<Session>,
    events: Receiver<Event>,
    pub seen: Vec<Event>,
    /// Reconnect is enabled: non-terminal `Disconnected` events may precede the terminal one.
    session_reconnects: bool,
}

impl Probe {
    /// Connects to `addr` with the fixture's account.
    pub fn connect(addr: SocketAddr, cfg: Config) -> Probe {
        Probe::connect_as(addr, cfg, EMAIL, PASSWORD)
    }

    pub fn connect_as(addr: SocketAddr, cfg: Config, email: &str, password: &str) -> Probe {
        let session_reconnects = cfg.reconnect.enabled;
        let (tx, rx) = channel();
        let session = Arc::new(Session::new(cfg, move |e| {
            let _ = tx.send(e);
        }));
        let creds = Credentials { email: email.into(), password: password.into() };
        session.connect(&addr.ip().to_string(), addr.port(), creds).expect("connect starts");
        Probe { session, events: rx, seen: Vec::new(), session_reconnects }
    }

    /// The next event matching `pred` (others are recorded and skipped); panics after [`WAIT`].
    pub fn wait(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        super::client::wait_for(&self.events, &mut self.seen, what, WAIT, pred)
    }

    /// Records whatever arrives during `d`.
    pub fn settle(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(e) = self.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.seen.push(e);
        }
    }

    /// The terminal event of the connect: the first `LoginFailed` or `Disconnected` without
    /// `reconnecting`.
    pub fn wait_end(&mut self) -> Event {
        self.wait("terminal event", is_end)
    }

    /// Events that end a connection (terminal or not) seen so far.
    pub fn ends(&self) -> Vec<&Event> {
        self.seen.iter().filter(|e| matches!(e, Event::Disconnected { .. } | Event::LoginFailed { .. })).collect()
    }

    /// `Error` events seen so far.
    pub fn errors(&self) -> Vec<&msim::client::Error> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                Event::Error { error } => Some(error),
                _ => None,
            })
            .collect()
    }

    /// After the terminal event: nothing more ends the session (exactly one terminal end event,
    /// and without reconnects exactly one end event at all), and the IO thread exits.
    pub fn assert_one_end_and_io_stopped(&mut self) {
        self.settle(Duration::from_millis(500));
        let terminal = self.seen.iter().filter(|e| is_end(e)).count();
        assert_eq!(terminal, 1, "expected exactly one terminal end event: {:#?}", self.seen);
        if !self.session_reconnects {
            assert_eq!(self.ends().len(), 1, "expected exactly one end event: {:#?}", self.seen);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.session.io_thread_running() {
            assert!(Instant::now() < deadline, "the IO thread outlived the connection; seen: {:#?}", self.seen);
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(self.session.phase(), msim::client::Phase::Idle);
    }
}

pub fn is_end(e: &Event) -> bool {
    matches!(e, Event::LoginFailed { .. } | Event::Disconnected { reconnecting: false, .. })
}

/// A listener that never accepts and whose accept queue is full, so the kernel drops further
/// SYNs and a connect to it hangs until its timeout. Keep both values alive while testing.
pub fn full_listener() -> (TcpListener, Vec<TcpStream>) {
    use std::os::fd::FromRawFd;
    // SAFETY: socket/bind/listen on a fresh descriptor, owned by the TcpListener from here on.
    let l = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
        let l = TcpListener::from_raw_fd(fd);
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, (&sin as *const libc::sockaddr_in).cast(), len), 0);
        assert_eq!(libc::listen(fd, 0), 0);
        l
    };
    let addr = l.local_addr().unwrap();
    // A backlog of 0 holds one connection; a few more make sure the queue is full.
    let fill = (0..3).filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()).collect();
    (l, fill)
}
