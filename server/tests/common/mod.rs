//! Scripted MSIM client for the server's integration tests, built only from `msim::protocol`:
//! connect, read frames with `Framer`, decode `ServerMessage`, log in with `compute_response`,
//! send `ClientMessage`s, and wait for a matching message with a deadline (no test can hang).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use msim::protocol::buddy::{bm, BmPayload};
use msim::protocol::dict::{Dict, DictBuilder};
use msim::protocol::kinds::{BmToServer, ClientMessage, Login2, ServerMessage};
use msim::protocol::login::compute_response;
use msim::protocol::persist::{Cmd, PersistReply, PersistRequest};
use msim::protocol::{Framer, Message};
use msim_server::{Config, Server};

/// Default wait for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);
/// Wait used to check that something does NOT happen.
pub const QUIET: Duration = Duration::from_millis(400);

pub fn config() -> Config {
    Config { log: std::env::var_os("MSIM_SERVER_LOG").is_some(), ..Config::default() }
}

pub fn server() -> Server {
    Server::start(config()).expect("server starts")
}

pub fn server_with(f: impl FnOnce(&mut Config)) -> Server {
    let mut c = config();
    f(&mut c);
    Server::start(c).expect("server starts")
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let p = std::env::temp_dir().join(format!("msim-server-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Client {
    stream: TcpStream,
    framer: Framer,
    backlog: VecDeque<ServerMessage>,
    pub nonce: [u8; 64],
    pub uid: u32,
    pub sesskey: u32,
    pub uniquenick: String,
    rid: u32,
    eof: bool,
}

impl Client {
    /// Connects and reads the `lc=1` challenge.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::on(TcpStream::connect_timeout(&addr, WAIT).expect("connect"))
    }

    /// Connects from the loopback address `local` (127.0.0.2, …: another "host" as the server
    /// sees it) and reads the challenge.
    pub fn connect_from(local: std::net::Ipv4Addr, addr: SocketAddr) -> Client {
        Client::on(connect_from(local, addr))
    }

    /// Logs in from the loopback address `local`; returns the answer as [`Client::try_login`].
    pub fn try_login_from(
        local: std::net::Ipv4Addr,
        addr: SocketAddr,
        email: &str,
        password: &str,
    ) -> (Client, ServerMessage) {
        let mut c = Client::connect_from(local, addr);
        let answer = c.login2(email, password);
        (c, answer)
    }

    /// A client on a connected stream, once the challenge arrived.
    pub fn on(stream: TcpStream) -> Client {
        let mut c = Client {
            stream,
            framer: Framer::default(),
            backlog: VecDeque::new(),
            nonce: [0; 64],
            uid: 0,
            sesskey: 0,
            uniquenick: String::new(),
            rid: 0,
            eof: false,
        };
        match c.expect(|m| matches!(m, ServerMessage::Challenge { .. }), WAIT) {
            ServerMessage::Challenge { nonce } => c.nonce = nonce,
            _ => unreachable!(),
        }
        c
    }

    /// Sends login2 for `email`/`password` and returns the server's answer: `LoginOk` or `Error`.
    pub fn try_login(addr: SocketAddr, email: &str, password: &str) -> (Client, ServerMessage) {
        let mut c = Client::connect(addr);
        let answer = c.login2(email, password);
        (c, answer)
    }

    /// The socket, for tests that set socket options (receive buffer, linger).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// On a connected client: sends login2 as Pidgin does (build 697) and returns the answer,
    /// `LoginOk` or `Error`.
    pub fn login2(&mut self, email: &str, password: &str) -> ServerMessage {
        self.login2_as(email, password, 697)
    }

    /// As [`Client::login2`], announcing client build `clientver` (SPEC §6.4, §25: 823 = Digsby).
    pub fn login2_as(&mut self, email: &str, password: &str, clientver: u32) -> ServerMessage {
        let c = self;
        let response = compute_response(&c.nonce, email, password);
        c.send(&ClientMessage::Login2(Login2 {
            algorithm: 196_610,
            username: email.into(),
            response,
            clientver,
            langid: Some(1033),
            imlang: Some("ENGLISH".into()),
            reconn: 0,
            status: 100,
        }));
        let answer = c.expect(|m| matches!(m, ServerMessage::LoginOk { .. } | ServerMessage::Error { .. }), WAIT);
        if let ServerMessage::LoginOk { sesskey, userid, uniquenick, .. } = &answer {
            c.uid = *userid;
            c.sesskey = *sesskey;
            c.uniquenick = uniquenick.clone();
        }
        answer
    }

    /// Logs in, panicking on failure.
    pub fn login(addr: SocketAddr, email: &str, password: &str) -> Client {
        let (c, answer) = Client::try_login(addr, email, password);
        assert!(matches!(answer, ServerMessage::LoginOk { .. }), "login of {email} failed: {answer:?}");
        c
    }

    pub fn send(&mut self, m: &ClientMessage) {
        let bytes = m.encode().expect("encodable").encode();
        self.send_raw(&bytes);
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one message, waiting at most until `deadline`. None on timeout or end of stream.
    fn read_one(&mut self, deadline: Instant) -> Option<ServerMessage> {
        loop {
            if let Some(frame) = self.framer.next_frame().expect("frame") {
                let msg = Message::parse(frame).expect("server sent a parseable message");
                return Some(ServerMessage::decode(&msg).expect("server sent a decodable message"));
            }
            if self.eof {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            self.stream.set_read_timeout(Some(deadline - now)).unwrap();
            let mut buf = [0u8; 8192];
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
                Err(_) => self.eof = true,
            }
        }
    }

    /// The first message (already buffered or arriving within `timeout`) matching `pred`; others
    /// are kept for later calls.
    pub fn try_expect(&mut self, pred: impl Fn(&ServerMessage) -> bool, timeout: Duration) -> Option<ServerMessage> {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + timeout;
        while let Some(m) = self.read_one(deadline) {
            if pred(&m) {
                return Some(m);
            }
            self.backlog.push_back(m);
        }
        None
    }

    pub fn expect(&mut self, pred: impl Fn(&ServerMessage) -> bool, timeout: Duration) -> ServerMessage {
        match self.try_expect(pred, timeout) {
            Some(m) => m,
            None => panic!("expected message did not arrive within {timeout:?}; unmatched: {:?}", self.backlog),
        }
    }

    /// Asserts that no message matching `pred` arrives within `wait`.
    pub fn expect_none(&mut self, pred: impl Fn(&ServerMessage) -> bool, wait: Duration) {
        if let Some(m) = self.try_expect(pred, wait) {
            panic!("unexpected message: {m:?}");
        }
    }

    /// True when the server closes the connection within `timeout` (messages before are kept).
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.eof {
            match self.read_one(deadline) {
                Some(m) => self.backlog.push_back(m),
                None if self.eof => break,
                None => return false,
            }
        }
        true
    }

    pub fn next_rid(&mut self) -> u32 {
        self.rid += 1;
        self.rid
    }

    /// Sends a persist request with `uid` present and returns the reply with its rid.
    pub fn persist(&mut self, cmd: u32, dsn: u32, lid: u32, body: DictBuilder) -> PersistReply {
        let uid = Some(self.uid);
        self.persist_with_uid(cmd, dsn, lid, uid, body)
    }

    pub fn persist_with_uid(
        &mut self,
        cmd: u32,
        dsn: u32,
        lid: u32,
        uid: Option<u32>,
        body: DictBuilder,
    ) -> PersistReply {
        let rid = self.next_rid();
        let req = PersistRequest {
            sesskey: self.sesskey,
            cmd: Cmd(cmd),
            dsn,
            lid,
            uid,
            rid,
            body: body.as_bytes().unwrap().to_vec(),
        };
        self.send(&ClientMessage::Persist(req));
        match self
            .expect(|m| matches!(m, ServerMessage::Persist(p) if p.rid == rid && p.dsn == dsn && p.lid == lid), WAIT)
        {
            ServerMessage::Persist(p) => p,
            _ => unreachable!(),
        }
    }

    pub fn bm(&mut self, kind: u32, to: u32, msg: &str) {
        let m = BmToServer { kind, sesskey: self.sesskey, target: to, cv: Some(697), msg: msg.into() };
        self.send(&ClientMessage::Bm(m));
    }

    pub fn im(&mut self, to: u32, text: &str) {
        self.bm(bm::IM, to, text);
    }

    pub fn status(&mut self, code: u32, text: &str) {
        self.send(&ClientMessage::Status {
            sesskey: self.sesskey,
            code,
            statstring: text.into(),
            locstring: String::new(),
        });
    }

    /// Waits for a bm of `kind` from `from` and returns its text.
    pub fn expect_bm(&mut self, kind: u32, from: u32) -> (String, Option<u64>) {
        match self.expect(|m| matches!(m, ServerMessage::Bm(b) if b.kind == kind && b.from == from), WAIT) {
            ServerMessage::Bm(b) => match b.payload {
                BmPayload::Text(t) => (t, b.date),
                BmPayload::Status(s) => (s.text, b.date),
            },
            _ => unreachable!(),
        }
    }

    /// Waits for a bm 100 from `from` with presence `code`; returns its text.
    pub fn expect_status(&mut self, from: u32, code: u32) -> String {
        match self.expect(|m| is_status(m, from, Some(code)), WAIT) {
            ServerMessage::Bm(b) => match b.payload {
                BmPayload::Status(s) => s.text,
                _ => unreachable!(),
            },
            _ => unreachable!(),
        }
    }

    /// Drops every message received so far (and any arriving within `settle`).
    pub fn drain(&mut self, settle: Duration) {
        self.backlog.clear();
        let deadline = Instant::now() + settle;
        while self.read_one(deadline).is_some() {}
    }
}

/// Is `m` a bm 100 from `from` (with `code`, when given)?
pub fn is_status(m: &ServerMessage, from: u32, code: Option<u32>) -> bool {
    matches!(m, ServerMessage::Bm(b) if b.kind == bm::STATUS && b.from == from
        && matches!(&b.payload, BmPayload::Status(s) if (code.is_none() || code == Some(s.code))))
}

/// The records of a contact-list body, as (key, unescaped value) lists.
pub fn records(body: &[u8], first_key: &str) -> Vec<Vec<(String, String)>> {
    let d = Dict::parse(body).expect("dictionary body");
    d.records(first_key)
        .iter()
        .map(|r| {
            r.iter()
                .map(|(k, _)| {
                    let k = String::from_utf8(k.to_vec()).unwrap();
                    let v = r.get_str(&k).unwrap().into_owned();
                    (k, v)
                })
                .collect()
        })
        .collect()
}

/// The first value of `key` in a record.
pub fn field<'a>(record: &'a [(String, String)], key: &str) -> Option<&'a str> {
    record.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The first value of `key` in a body.
pub fn body_str(body: &[u8], key: &str) -> Option<String> {
    Dict::parse(body).ok()?.opt_str(key).ok()?.map(|s| s.into_owned())
}

/// The ContactIDs of a 0/1 body with their Visibility.
pub fn contact_ids(body: &[u8]) -> Vec<(u32, u32)> {
    records(body, "ContactID")
        .iter()
        .map(|r| (field(r, "ContactID").unwrap().parse().unwrap(), field(r, "Visibility").unwrap().parse().unwrap()))
        .collect()
}

/// Shrinks a socket's receive buffer, so a peer that stops reading stops acknowledging soon.
pub fn set_recv_buffer(stream: &TcpStream, bytes: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket fd and a c_int option value of the size passed.
    let r = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "SO_RCVBUF");
}

/// Closes a client with a TCP reset (SO_LINGER 0): unread data is discarded, as when a client
/// crashes or its host drops the connection.
pub fn reset(c: Client) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket fd and a `linger` value of the size passed.
    let r = unsafe {
        libc::setsockopt(
            c.stream().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "SO_LINGER");
    drop(c);
}

/// Polls `cond` until it holds, at most [`WAIT`]; panics with `what` otherwise.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A TCP connection to `addr` (IPv4) from the local address `local`, port chosen by the kernel.
pub fn connect_from(local: std::net::Ipv4Addr, addr: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(to) = addr else { panic!("IPv4 only") };
    let sin = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls with valid sockaddr_in values of the length passed; the fd is
    // handed to TcpStream, which owns it from then on.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket");
        let stream = TcpStream::from_raw_fd(fd);
        let from = sin(local, 0);
        assert_eq!(libc::bind(fd, (&from as *const libc::sockaddr_in).cast(), len), 0, "bind to {local}");
        let dest = sin(*to.ip(), to.port());
        assert_eq!(libc::connect(fd, (&dest as *const libc::sockaddr_in).cast(), len), 0, "connect from {local}");
        stream
    }
}
