//! Connecting can be cancelled: a session closed, freed or disconnected while its TCP connect
//! hangs (a peer that never completes the handshake) ends at once and its IO thread is joined,
//! instead of running on in the library until the connect timeout.

mod common;

use std::net::{TcpListener, TcpStream};
use std::os::raw::c_void;
use std::time::{Duration, Instant};

use common::client::{config, Client};
use common::hostile::full_listener;
use msim::client::{Config, DisconnectReason, Event, LoginFailure};
use msim::ffi::callbacks::msim_callbacks;
use msim::ffi::msim_result;
use msim::ffi::session::*;

/// Well under the 2 s `close` would wait before leaving a stuck IO thread behind.
const PROMPT: Duration = Duration::from_millis(1500);

/// A client whose connect hangs; keep the listener part alive while testing.
fn hanging(cfg: Config) -> (Client, (TcpListener, Vec<TcpStream>)) {
    let (l, fill) = full_listener();
    let mut c = Client::connect_to(l.local_addr().unwrap(), "hang@example.com", "pw", cfg);
    c.wait(|e| matches!(e, Event::Progress { step: 1, .. }));
    std::thread::sleep(Duration::from_millis(200)); // well inside the connect
    (c, (l, fill))
}

#[test]
fn close_while_connecting_returns_at_once_and_joins_the_io_thread() {
    let (c, _keep) = hanging(config());
    assert!(c.session.io_thread_running());
    let t0 = Instant::now();
    c.session.close();
    assert!(t0.elapsed() < PROMPT, "close took {:?}", t0.elapsed());
    assert!(!c.session.io_thread_running(), "the IO thread was left running");
}

#[test]
fn disconnect_while_connecting_ends_the_attempt_at_once() {
    let (mut c, _keep) = hanging(config());
    let t0 = Instant::now();
    c.session.disconnect().unwrap();
    c.wait(|e| matches!(e, Event::Disconnected { reason: DisconnectReason::Requested, .. }));
    assert!(t0.elapsed() < PROMPT, "the disconnect took {:?}", t0.elapsed());
    let t0 = Instant::now();
    while c.session.io_thread_running() {
        assert!(t0.elapsed() < PROMPT, "the IO thread kept connecting");
        std::thread::sleep(Duration::from_millis(10));
    }
    let late = c.collect_for(Duration::from_millis(300), |e| matches!(e, Event::LoginFailed { .. }));
    assert!(late.is_empty(), "a cancelled connect was reported as a failure: {late:?}");
}

#[test]
fn a_connect_that_hangs_fails_after_the_connect_timeout() {
    let (mut c, _keep) = hanging(Config { connect_timeout: Duration::from_millis(600), ..config() });
    let e = c.wait(|e| matches!(e, Event::LoginFailed { .. }));
    assert!(matches!(e, Event::LoginFailed { reason: LoginFailure::Network, .. }), "{e:?}");
}

#[test]
fn msim_session_free_while_connecting_returns_at_once() {
    let (l, _fill) = full_listener();
    let port = l.local_addr().unwrap().port();
    let cb = msim_callbacks::default();
    unsafe {
        let s = msim_session_new(&cb, std::ptr::null_mut::<c_void>());
        let c = |v: &str| std::ffi::CString::new(v).unwrap();
        let r =
            msim_session_connect(s, c("127.0.0.1").as_ptr(), port, c("hang@example.com").as_ptr(), c("pw").as_ptr());
        assert_eq!(r, msim_result::Ok);
        std::thread::sleep(Duration::from_millis(300));
        let t0 = Instant::now();
        msim_session_free(s);
        assert!(t0.elapsed() < PROMPT, "msim_session_free took {:?}", t0.elapsed());
    }
}

/// SPEC §25 "Alternate ports": a server reachable only on 6660 (1863 closed) is found when the
/// host asks for 1863; the port that worked is reported, and tried first when handed back.
#[test]
fn a_server_listening_only_on_6660_is_reached_through_the_fallback_ports() {
    if TcpStream::connect(("127.0.0.1", 1863)).is_ok() {
        eprintln!("SKIPPED: something listens on 127.0.0.1:1863; the fallback test needs it closed");
        return;
    }
    let cfg = msim_server::Config { listen: "127.0.0.1:6660".into(), log: false, ..Default::default() };
    let Ok(server) = msim_server::Server::start(cfg) else {
        eprintln!("SKIPPED: 127.0.0.1:6660 is taken; the fallback test needs it");
        return;
    };
    server.add_account("alt@example.com", "altpw", Some("alt"), None).unwrap();
    let to_1863 = "127.0.0.1:1863".parse().unwrap();

    let mut c = Client::connect_to(to_1863, "alt@example.com", "altpw", config());
    c.wait(|e| matches!(e, Event::SignedOn { .. }));
    assert_eq!(c.session.port(), Some(6660));
    let steps: Vec<&str> = c
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::Progress { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(steps.iter().any(|t| t.starts_with("port 1863:") && t.ends_with("trying port 6660")), "{steps:?}");
    drop(c);

    // Handed back as the preferred port: straight there, no failed attempt first.
    let mut c =
        Client::connect_to(to_1863, "alt@example.com", "altpw", Config { preferred_port: Some(6660), ..config() });
    c.wait(|e| matches!(e, Event::SignedOn { .. }));
    assert!(!c.seen.iter().any(|e| matches!(e, Event::Progress { text, .. } if text.contains("trying port"))));
    drop(c);

    // Switched off: 1863 alone, and the refusal ends the login.
    let mut c = Client::connect_to(to_1863, "alt@example.com", "altpw", Config { alternate_ports: false, ..config() });
    let end = c.wait(|e| matches!(e, Event::LoginFailed { .. } | Event::SignedOn { .. }));
    assert!(matches!(end, Event::LoginFailed { reason: LoginFailure::Network, .. }), "{end:?}");
}
