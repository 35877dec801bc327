//! Issue "Hostile peers, round two", connection cap filled by one address: 600 connections
//! trickling bytes from one address against `--max-connections 500` used to keep every
//! legitimate login out (measured: 0 of 55 for 60 s). Now one address may hold at most
//! `max_prelogin_per_address` connections that have not logged in; more are closed at once.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use msim::protocol::kinds::ServerMessage;

/// True when the server closed `s` (end of stream or reset) within `wait`, after whatever it sent.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn trickling_connections_from_one_address_do_not_keep_other_logins_out() {
    let s = server_with(|c| {
        c.max_connections = 80;
        c.idle_timeout = Duration::from_secs(30);
    });
    s.add_account("legit@example.com", "pw", Some("legit"), None).unwrap();
    // 100 connections from 127.0.0.1, each trickling a byte of a never-ending key every 100 ms.
    let mut trickling: Vec<TcpStream> = (0..100).map(|_| connect_from(Ipv4Addr::LOCALHOST, s.addr())).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<TcpStream> = trickling.iter().map(|t| t.try_clone().unwrap()).collect();
    let trickler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut writers = writers;
            while !stop.load(Ordering::Relaxed) {
                for w in &mut writers {
                    let _ = w.write_all(b"x");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // All but 64 (the default per-address cap) are closed at once.
    std::thread::sleep(Duration::from_millis(300));
    let closed = trickling.iter_mut().map(|t| closed_within(t, Duration::from_millis(5))).filter(|&c| c).count();
    assert_eq!(closed, 100 - 64, "connections from one address served while not logged in");

    // Logins from other addresses go through, one after another, while the 64 keep trickling.
    for host in 2..=6u8 {
        let (_c, answer) = Client::try_login_from(Ipv4Addr::new(127, 0, 0, host), s.addr(), "legit@example.com", "pw");
        assert!(matches!(answer, ServerMessage::LoginOk { .. }), "from 127.0.0.{host}: {answer:?}");
    }
    stop.store(true, Ordering::Relaxed);
    trickler.join().unwrap();
}
