//! Several listen addresses (SPEC §25 "Alternate ports": clients fall back from 1863 to 6660,
//! 6661, 6662, 6665, 6668, 6669, 80, 443): one server, one set of accounts and sessions, reached on
//! every address; `--listen` given several times.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use common::*;
use msim::protocol::kinds::ServerMessage;

#[test]
fn two_listen_addresses_serve_the_same_accounts_and_sessions() {
    let s = server_with(|c| c.also_listen = vec!["127.0.0.1:0".into()]);
    let [first, second] = s.addrs() else { panic!("{:?}", s.addrs()) };
    assert_ne!(first.port(), second.port());
    assert_eq!(s.addr(), *first);
    let a = s.add_account("a@example.com", "apw", Some("aa"), None).unwrap();
    let b = s.add_account("b@example.com", "bpw", Some("bb"), None).unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();

    let mut ca = Client::login(*first, "a@example.com", "apw");
    let mut cb = Client::login(*second, "b@example.com", "bpw");
    assert_eq!(s.online_count(), 2);
    // Routing and presence cross the ports.
    cb.expect_status(a, 1);
    ca.im(b, "across ports");
    assert_eq!(cb.expect_bm(1, a).0, "across ports");
    // A login on the other port replaces the older session (SPEC §24: error 6).
    let _again = Client::login(*second, "a@example.com", "apw");
    ca.expect(|m| matches!(m, ServerMessage::Error { code: 6, fatal: true, .. }), WAIT);
    assert!(ca.closed_within(WAIT));

    let addrs = s.addrs().to_vec();
    s.stop();
    for addr in addrs {
        assert!(TcpStream::connect(addr).is_err(), "{addr} still accepts after stop");
    }
}

#[test]
fn an_address_that_cannot_be_bound_fails_the_start_and_names_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let err = msim_server::Server::start(msim_server::Config { also_listen: vec![busy.clone()], ..config() })
        .err()
        .expect("the start fails");
    assert!(err.to_string().contains(&busy), "{err}");
}

#[test]
fn the_binary_serves_every_listen_option() {
    let dir = TempDir::new("listen-ports");
    let db = dir.0.join("msim.db").to_string_lossy().into_owned();
    let bin = env!("CARGO_BIN_EXE_msim-server");
    let mut child = Command::new(bin)
        .args(["--db", &db, "--demo", "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--quiet"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    // Kept open until the end: the demo accounts are printed after this line.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // "msim-server listening on A, B (database …)"
    let addrs: Vec<SocketAddr> = line
        .split(" (")
        .next()
        .and_then(|l| l.strip_prefix("msim-server listening on "))
        .unwrap_or_else(|| panic!("{line}"))
        .split(", ")
        .map(|a| a.parse().unwrap())
        .collect();
    assert_eq!(addrs.len(), 2, "{line}");
    for addr in addrs {
        let c = Client::login(addr, "alice@example.com", "alicepw");
        assert_ne!(c.uid, 0);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdout);
}
