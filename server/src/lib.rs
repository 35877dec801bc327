//! msim-server: a reference MySpaceIM server built on `msim::protocol`.
//!
//! It implements the server side of `../shared/protocol/SPEC.md` with the behaviours of §24: login
//! challenge/response, persist replies for every (dsn, lid) with known semantics, contact lists,
//! blocking, bm routing with offline storage, presence fan-out, keepalives and idle timeouts.
//!
//! Threads: one accept thread per listen address, one keepalive thread, and a few event-loop
//! threads (`reactor`, one per core by default) that hold every connection: epoll through `mio`,
//! no thread per connection (dead peers detected by an idle limit before login and by TCP
//! keepalive and `TCP_USER_TIMEOUT` after it, see `liveness`). Any thread may send to any
//! connection without ever blocking: what the socket does not take is queued in the connection's
//! bounded outbox (`outbox`) and written by its loop. Storage is SQLite ([`db`]).
//!
//! Modules: [`db`] storage, [`rules`] limits and username rules, `conn` connection handle,
//! `outbox` non-blocking bounded output, `state` shared tables, `reactor` the event loops, `session` one connection's state, `login` the login exchange,
//! `handlers` client requests, `router` bm routing and presence, `keepalive` `\ka\` sweeps,
//! [`cli`] the command line; `http` the HTTP side serving profile pictures (`db::pictures`).

mod attempts;
mod batch;
pub mod cli;
mod conn;
pub mod db;
pub mod demo;
mod demo_pictures;
mod handlers;
mod http;
mod keepalive;
mod liveness;
mod login;
mod outbox;
mod reactor;
mod router;
pub mod rules;
mod session;
mod state;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use attempts::LoginLimits;
pub use session::PRELOGIN_MAX_FRAME;
use state::Shared;

/// Server settings. `Default` gives a loopback test server on an ephemeral port with an in-memory
/// database.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:1863` (SPEC §1 port); `127.0.0.1:0` picks a free port.
    pub listen: String,
    /// More addresses to serve besides `listen`, all with the same accounts and sessions: e.g. the
    /// ports clients fall back to when 1863 fails (SPEC §25: 6660, 6661, 6662, 6665, 6668, 6669,
    /// 80, 443). Empty by default.
    pub also_listen: Vec<String>,
    /// SQLite file path, or `:memory:`.
    pub db: String,
    /// How often `\ka\` is sent to logged-in sessions (SPEC §17); zero disables it.
    pub ka_interval: Duration,
    /// The dead-connection limit (SPEC §17, §24: 180 s); zero disables it. A connection that has
    /// not logged in is closed after sending nothing for this long; a logged-in one only when its
    /// peer stops acknowledging TCP traffic for this long (see `liveness.rs`), so quiet clients
    /// such as Pidgin without mail checks stay signed on.
    pub idle_timeout: Duration,
    /// A connection must complete its login within this long after connecting, however slowly
    /// it trickles bytes; zero disables the limit.
    pub login_timeout: Duration,
    /// Connections served at once (each costs a socket and a few hundred bytes of state; the
    /// process needs a file descriptor for each); more are accepted and closed at once, and logged. Zero = no limit. Bounds the server's memory against connection floods.
    pub max_connections: usize,
    /// Connections from one address that have not logged in yet, served at once; more from that
    /// address are accepted and closed at once. Zero = no cap. Keeps one address from filling
    /// `max_connections` with connections that trickle bytes and never log in.
    pub max_prelogin_per_address: usize,
    /// Test knob: delay before answering the contact-list request (0/1), to exercise clients'
    /// handling of a slow server (SPEC §24). Zero in normal use.
    pub contact_list_delay: Duration,
    /// Stack size of each event-loop thread (there are a few, see `event_loops`; connections
    /// have no thread of their own any more). Handlers run on it.
    pub session_stack_size: usize,
    /// Event-loop threads; 0 = one per available core.
    pub event_loops: usize,
    /// A connection whose queued outgoing bytes make no progress for this long is closed: its
    /// peer stopped reading. (Senders never wait for it either way, see `max_outbound_bytes`.)
    pub write_timeout: Duration,
    /// Outgoing bytes queued per connection beyond what its socket took. A peer that stops
    /// reading is closed (logged) when a message would pass this, so one slow reader costs
    /// bounded memory and never blocks the sessions that send to it.
    pub max_outbound_bytes: usize,
    /// Limits on failed logins per source address and per account, and how often the log
    /// summarises them (`attempts.rs`).
    pub login_limits: LoginLimits,
    /// How much offline mail a recipient's box holds and one sender may fill (`rules.rs`).
    pub offline_limits: rules::OfflineLimits,
    /// A `login2` whose `clientver` is below this gets `\error\` 267 "client too old" (fatal,
    /// SPEC §25) before its password is checked. 0 = every build (Pidgin sends 697, the official
    /// clients 594–823).
    pub min_client_version: u32,
    /// A persist reply whose body is longer than this goes out in pieces of at most about this
    /// many bytes (SPEC §25 `mtf`; cut between pairs, preferably between records); 0 = never cut.
    /// The default keeps every frame of a full 1000-contact list far below the 256 KiB frame cap
    /// clients apply (SPEC §24), and sends lists up to about 250 contacts whole, since Pidgin does
    /// not put pieces together (it keeps the first).
    pub persist_piece_bytes: usize,
    /// Log connections and errors to stderr.
    pub log: bool,
    /// Seed the demo accounts ([`demo::DEMO_ACCOUNTS`]) at start.
    pub demo: bool,
    /// The HTTP side serving profile pictures (`http.rs`): its port on the listen address's IP
    /// (0 picks a free one); `None` = no HTTP side (stored pictures are then not published).
    pub http_port: Option<u16>,
    /// Base URL of the picture URLs (`ImageURL`), e.g. `http://pics.example.com:1864`; `None` =
    /// `http://<bound address>` of the HTTP side.
    pub http_url: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:0".into(),
            also_listen: Vec::new(),
            db: ":memory:".into(),
            // Well inside the 180 s dead-connection limit clients apply (SPEC §24).
            ka_interval: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(180),
            login_timeout: Duration::from_secs(60),
            // 10 000 signed-on sessions are benchmarked (BENCHMARKS.md): about 0.9 GiB at this cap.
            max_connections: 20_000,
            // A login takes a round trip or two, so even many clients behind one NAT address
            // (reconnecting together after a server restart) rarely have 64 logins under way at
            // once; one address holding 64 slots leaves the rest of max_connections to others.
            max_prelogin_per_address: 64,
            contact_list_delay: Duration::ZERO,
            session_stack_size: 2 * 1024 * 1024,
            event_loops: 0,
            write_timeout: Duration::from_secs(10),
            // Eight full frames (SPEC §24's 256 KiB cap) on top of the kernel's socket buffer.
            max_outbound_bytes: 2 * 1024 * 1024,
            offline_limits: rules::OfflineLimits::default(),
            login_limits: LoginLimits::default(),
            min_client_version: 0,
            persist_piece_bytes: 64 * 1024,
            log: true,
            demo: false,
            http_port: None,
            http_url: None,
        }
    }
}

/// Errors of the account API and storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("that e-mail address is already registered")]
    EmailTaken,
    #[error("not an e-mail address")]
    InvalidEmail,
    #[error("uid {0} is already in use")]
    UidTaken(u32),
    #[error("uid {0} is out of range (uids are 1..=2147483647, SPEC §6.5)")]
    UidOutOfRange(u64),
    #[error("{0}")]
    Username(#[from] rules::UsernameError),
    #[error("no such account")]
    NoSuchAccount,
    #[error("the contact list is full")]
    ContactListFull,
    #[error("too many groups (at most {})", rules::MAX_GROUPS)]
    TooManyGroups,
    /// A text value refused for storage (`rules::check_text`); `field` is its protocol key.
    #[error("the {field} {why}")]
    BadText { field: &'static str, why: rules::TextError },
    #[error("the allow or block list is full (at most {} entries)", rules::MAX_LIST_ENTRIES)]
    ListFull,
    #[error("you have no group {0}")]
    NoSuchGroup(u64),
    #[error("you already have a group of that name (or the name is empty)")]
    GroupNameTaken,
    #[error("the group {} still holds contacts; move or remove them first", db::DEFAULT_GROUP)]
    DefaultGroupNotEmpty,
}

impl Config {
    /// Every address to listen on: `listen`, then `also_listen`.
    pub fn listen_addrs(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.listen.as_str()).chain(self.also_listen.iter().map(String::as_str))
    }
}

/// A running server; see the crate docs. Stops on [`Server::stop`] or drop.
pub struct Server {
    shared: Arc<Shared>,
    /// The bound addresses, in the order of [`Config::listen_addrs`].
    addrs: Vec<SocketAddr>,
    /// One accept thread per address; empty once stopped.
    accept: Vec<JoinHandle<()>>,
    reactor: Arc<reactor::Reactor>,
    keepalive: Option<JoinHandle<()>>,
    demo_accounts: Vec<(u32, demo::DemoAccount)>,
    /// The HTTP side (profile pictures), when `Config::http_port` asks for one.
    http: Option<http::HttpSide>,
}

/// How long `stop` waits for the sessions to finish their cleanup.
const STOP_GRACE: Duration = Duration::from_secs(10);

impl Server {
    /// Opens the database, binds every address of [`Config::listen_addrs`] (failing if any cannot
    /// be bound), starts the threads and returns once it is listening.
    pub fn start(config: Config) -> io::Result<Server> {
        let db = db::Db::open(&config.db).map_err(io::Error::other)?;
        let demo_accounts = if config.demo { demo::seed(&db).map_err(io::Error::other)? } else { Vec::new() };
        demo_pictures::seed(&db, &demo_accounts).map_err(io::Error::other)?;
        let mut listeners = Vec::new();
        for a in config.listen_addrs() {
            let l = TcpListener::bind(a).map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {a}: {e}")))?;
            deepen_backlog(&l);
            listeners.push(l);
        }
        let addrs = listeners.iter().map(TcpListener::local_addr).collect::<io::Result<Vec<_>>>()?;
        let (http_port, http_url) = (config.http_port, config.http_url.clone());
        let shared = Arc::new(Shared::new(config, db));
        let shown: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
        // The binary prints the addresses on stdout (scripts read them); once is enough.
        log::debug!("listening on {}", shown.join(", "));
        // Pictures: served on the first address, another port; without an HTTP side the URLs
        // published by an earlier run are withdrawn (they would lead nowhere).
        let http = match http_port {
            Some(port) => Some(http::start(shared.clone(), addrs[0].ip(), port, http_url.as_deref())?),
            None => {
                shared.db.publish_pictures(None).map_err(io::Error::other)?;
                None
            }
        };
        let reactor = Arc::new(reactor::Reactor::start(&shared, shared.config.event_loops)?);
        let mut server = Server {
            shared: shared.clone(),
            addrs,
            accept: Vec::new(),
            reactor: reactor.clone(),
            keepalive: None,
            demo_accounts,
            http,
        };
        for listener in listeners {
            let (shared, reactor) = (shared.clone(), reactor.clone());
            // On failure `server` is dropped and stops the threads already started.
            let t = std::thread::Builder::new()
                .name("msim-accept".into())
                .spawn(move || accept_loop(shared, reactor, listener))?;
            server.accept.push(t);
        }
        server.keepalive =
            Some(std::thread::Builder::new().name("msim-keepalive".into()).spawn(move || keepalive::run(shared))?);
        Ok(server)
    }

    /// The first (or only) bound address: `Config::listen`'s.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every bound address, `Config::listen`'s first, then `also_listen`'s.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The HTTP side's address (profile pictures), when it runs.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|h| h.addr)
    }

    /// Stores `bytes` (PNG, GIF or JPEG within `db::pictures`' limits) as the profile picture of
    /// `uid` and returns its URL, which lookups and contact lists carry as `ImageURL` from now on
    /// (`None` without an HTTP side: the picture is published when one starts).
    pub fn set_picture(&self, uid: u32, bytes: &[u8]) -> Result<Option<String>, db::pictures::PictureError> {
        Ok(self.shared.db.set_picture(uid, bytes)?.1)
    }

    /// Creates an account; returns its uid.
    pub fn add_account(
        &self,
        email: &str,
        password: &str,
        username: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<u32, Error> {
        self.shared.db.create_account_with_password(None, email, password, username, display_name)
    }

    /// Sets the password of the account with this e-mail (every client's cut, SPEC §25).
    pub fn set_password(&self, email: &str, password: &str) -> Result<(), Error> {
        match self.shared.db.set_password(email, password)? {
            true => Ok(()),
            false => Err(Error::NoSuchAccount),
        }
    }

    /// Puts `contact` on `owner`'s contact list in `group`.
    pub fn add_contact(&self, owner: u32, contact: u32, group: &str) -> Result<(), Error> {
        if self.shared.db.account(owner)?.is_none() {
            return Err(Error::NoSuchAccount);
        }
        let group = if group.is_empty() { None } else { Some(group) };
        match self.shared.db.add_contact(owner, contact, group)? {
            true => Ok(()),
            false => Err(Error::ContactListFull),
        }
    }

    /// The server's storage, for tools and tests that inspect what a session left behind.
    pub fn db(&self) -> &db::Db {
        &self.shared.db
    }

    /// The demo accounts seeded at start (`Config::demo`), with their uids.
    pub fn demo_accounts(&self) -> &[(u32, demo::DemoAccount)] {
        &self.demo_accounts
    }

    /// Number of logged-in sessions.
    pub fn online_count(&self) -> usize {
        self.shared.online_count()
    }

    /// Closes the listener and every session, and joins the threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.accept.is_empty() {
            return;
        }
        self.shared.set_stopping();
        if let Some(h) = self.http.as_mut() {
            h.stop();
        }
        for (accept, addr) in std::mem::take(&mut self.accept).into_iter().zip(&self.addrs) {
            // Wake the blocking accept() with a throwaway connection.
            let _ = TcpStream::connect_timeout(&wake_addr(*addr), Duration::from_secs(1));
            let _ = accept.join();
        }
        {
            let (lock, cv) = &self.shared.ka_wake;
            let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            cv.notify_all();
        }
        if let Some(ka) = self.keepalive.take() {
            let _ = ka.join();
        }
        for conn in self.shared.all_conns() {
            conn.close();
        }
        if !self.shared.wait_sessions_done(STOP_GRACE) {
            log_if(&self.shared, format_args!("stop: some sessions did not finish in time"));
        }
        self.reactor.stop();
        log_if(&self.shared, format_args!("stopped"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The address to connect to in order to wake our own accept(): an unspecified listen address
/// (0.0.0.0 / ::) is reached through loopback.
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

fn accept_loop(shared: Arc<Shared>, reactor: Arc<reactor::Reactor>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.is_stopping() {
            break;
        }
        match stream {
            // Dropping the stream closes it; the client sees the server close (SPEC §16 has no
            // "server full" code to send). Refusals are counted in the periodic summary (one
            // line for the first per address), not logged one by one: a flood would fill the log.
            Ok(stream)
                if shared.config.max_connections != 0 && shared.conn_count() >= shared.config.max_connections =>
            {
                refused(&shared, &stream, attempts::SERVER_FULL);
            }
            Ok(stream) => match stream.peer_addr() {
                Ok(peer) if shared.take_prelogin_slot(peer.ip()) => reactor::accept(&shared, &reactor, stream, peer),
                Ok(_) => refused(&shared, &stream, attempts::PRELOGIN_CAP),
                Err(_) => {}
            },
            Err(e) => {
                log_if(&shared, format_args!("accept failed: {e}"));
                // Out of file descriptors and the like: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The accept queue std's `bind` asks for (128) overflows when thousands of clients sign on at
/// once (after a restart, or the load benchmark): the kernel then drops handshakes and clients
/// wait out SYN retries. A second `listen` raises it, up to `net.core.somaxconn`.
fn deepen_backlog(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen on a valid, bound and listening socket only changes its backlog.
    unsafe { libc::listen(listener.as_raw_fd(), 4096) };
}

/// Closes a connection refused at accept (`why`: one of the `attempts` refusal kinds).
fn refused(shared: &Shared, stream: &TcpStream, why: &'static str) {
    if let Ok(peer) = stream.peer_addr() {
        if shared.attempts.connection_refused(peer.ip(), why) {
            log_if(shared, format_args!("connection from {peer} refused: {why} (more are summarised)"));
        }
    }
}

/// One log line (the `log` crate: the binary writes it to stderr with a timestamp, `RUST_LOG`
/// decides the level; a library user's logger gets it). Callers never pass passwords or login
/// responses.
pub(crate) fn log(args: std::fmt::Arguments<'_>) {
    log::info!("{args}");
}

pub(crate) fn log_if(shared: &Shared, args: std::fmt::Arguments<'_>) {
    if shared.config.log {
        log(args);
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
