//! Fixtures for client tests: a real msim-server on 127.0.0.1:0 and sessions whose events go to
//! a channel that tests wait on.
#![allow(dead_code)]

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use msim::client::{Config, Credentials, Event, Session};
use msim::ffi::session::msim_session_options_init;
use msim::ffi::types::{msim_dispatch, msim_session_options};
use msim_server::Server;

/// C API session options as the C-API tests use them: `msim_session_options_init`'s defaults,
/// `dispatch`, and no mail checks (their traffic is not what those tests look at).
pub fn c_options(dispatch: msim_dispatch) -> msim_session_options {
    // SAFETY: all-zero is a valid msim_session_options, and init gets a valid pointer.
    let mut o: msim_session_options = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { msim_session_options_init(&mut o) }, msim::ffi::msim_result::Ok);
    o.dispatch = dispatch as u32;
    o.disable_mail_check = true;
    o
}

/// Long enough for a loaded CI machine, short enough to fail fast.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn server() -> Server {
    server_with(msim_server::Config { log: false, ..Default::default() })
}

pub fn server_with(config: msim_server::Config) -> Server {
    Server::start(config).expect("server starts")
}

/// A server with the accounts `tests/c/misuse.c` expects (ma/mb/mc, each listing ma or mb), and
/// the program's arguments (host, port).
pub fn misuse_server() -> (Server, Vec<String>) {
    let s = server();
    let a = s.add_account("ma@example.com", "mapw", Some("ma"), None).unwrap();
    let b = s.add_account("mb@example.com", "mbpw", Some("mb"), None).unwrap();
    let c = s.add_account("mc@example.com", "mcpw", Some("mc"), None).unwrap();
    for (x, y) in [(a, b), (b, a), (c, a), (a, c)] {
        s.add_contact(x, y, "IM Friends").unwrap();
    }
    let args = vec![s.addr().ip().to_string(), s.addr().port().to_string()];
    (s, args)
}

/// Client settings for tests: no mail polling, short request timeout.
pub fn config() -> Config {
    Config { mail_check_interval: None, request_timeout: Duration::from_secs(10), ..Config::default() }
}

pub struct Client {
    pub session: Session,
    events: Receiver<Event>,
    /// Every event seen so far (for failure messages).
    pub seen: Vec<Event>,
}

impl Client {
    pub fn connect(server: &Server, email: &str, password: &str, cfg: Config) -> Client {
        Client::connect_to(server.addr(), email, password, cfg)
    }

    /// As [`Client::connect`], to any address (a misbehaving peer).
    pub fn connect_to(addr: std::net::SocketAddr, email: &str, password: &str, cfg: Config) -> Client {
        let (tx, rx) = channel();
        let session = Session::new(cfg, move |e| {
            let _ = tx.send(e);
        });
        session
            .connect(
                &addr.ip().to_string(),
                addr.port(),
                Credentials { email: email.into(), password: password.into() },
            )
            .expect("connect starts");
        Client { session, events: rx, seen: Vec::new() }
    }

    /// Connects and waits for `SignedOn`.
    pub fn signed_on(server: &Server, email: &str, password: &str) -> Client {
        let mut c = Client::connect(server, email, password, config());
        c.wait(|e| matches!(e, Event::SignedOn { .. }));
        c
    }

    /// The next event matching `pred` (others are skipped), or a panic listing what came.
    pub fn wait(&mut self, pred: impl Fn(&Event) -> bool) -> Event {
        wait_for(&self.events, &mut self.seen, "matching event", WAIT, pred)
    }

    /// Events matching `pred` during `d` (for "nothing happens" checks).
    pub fn collect_for(&mut self, d: Duration, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
        let deadline = Instant::now() + d;
        let mut out = Vec::new();
        while let Ok(e) = self.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.seen.push(e.clone());
            if pred(&e) {
                out.push(e);
            }
        }
        out
    }
}

/// The next event from `rx` matching `pred` within `wait`; every event received is recorded in
/// `seen` (for the panic message and later checks). Panics naming `what` on timeout.
pub fn wait_for(
    rx: &Receiver<Event>,
    seen: &mut Vec<Event>,
    what: &str,
    wait: Duration,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => {
                seen.push(e.clone());
                if pred(&e) {
                    return e;
                }
            }
            Err(RecvTimeoutError::Timeout) => panic!("no {what} within {wait:?}; seen: {seen:#?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("session gone waiting for {what}; seen: {seen:#?}"),
        }
    }
}
