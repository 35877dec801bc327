//! End to end through the C API: `benches/c/e2e.c` (compiled here with `cc -O2`, linked against
//! the release `libmsim.so`) is the host; msim-server runs in this process on 127.0.0.1:0 with an
//! in-memory database.
//!
//! Why a C program rather than Rust calling `msim::ffi` directly: it is what the library is for.
//! The measurement then includes everything a C host pays — the shared library's calls, C
//! callbacks, C strings — and nothing Rust-side (no inlining across the boundary, no Rust
//! closures). The baselines live in the same C process, so they pay the same process, thread
//! and clock costs.
//!
//! IMs (`e2e im`), rounds alternating between three transports with the same message size:
//! - msim: A `msim_session_send_im` → msim-server → B's `on_im_received` (B answers the same way);
//! - direct: raw loopback TCP between two threads of the C process (the floor);
//! - relay: raw TCP through a trivial forwarder in this process (one thread per direction,
//!   read → write), the same topology as msim (client → server process → client) with no
//!   protocol work. msim ÷ relay isolates msim's cost (client library + server logic);
//!   msim ÷ direct also charges msim for the extra hop any server-based IM system has.
//!
//! Latency: ping-pong, one message = half a round trip, median and p99 over every message.
//! Throughput: A sends a burst back to back, B counts (messages per second, median over rounds).
//!
//! Ingest (`e2e ingest`): a fake server here does the login handshake with `msim::protocol`, then
//! writes N pre-encoded bm 1 / bm 100 frames as fast as it can to the signed-on session, which
//! counts its `on_im_received` + `on_buddy_status` callbacks; baseline: the same bytes to a raw
//! socket in the C process, read with no parsing.
//!
//! send_im → on_im_sent (`e2e sent`): how soon a callback caused by an API call arrives — the
//! call queues and wakes the IO thread, which writes and calls back. Baseline: the same two
//! thread hops with no work (an eventfd a polling thread wakes on, a condvar back).
//!
//! Targets (issue "Performance"): median latency ≤ 2× the raw ping-pong; ingest ≥ 500 000
//! messages/s; (issue "Real peers" item 5) on_im_sent median ≤ 10× the wake-up ping-pong. Run:
//! `cargo bench --bench e2e` (env `E2E_ROUNDS`, default 15; `E2E_ONLY=im`, `ingest` or `sent`
//! for one part).

mod common;
#[path = "../tests/common/mod.rs"]
mod fixtures;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use msim::protocol::buddy::BmPayload;
use msim::protocol::kinds::{BmFromServer, ClientMessage, ServerMessage};
use msim::protocol::persist::{DataItem, PersistReply};
use msim::protocol::status::{Presence, StatusList};
use msim::protocol::{markup, DictBuilder, Framer, Message};

/// The IM text (HTML, as a host passes it): a typical short chat line.
const TEXT: &str = "Hey, are we still on for tonight? Bring the new Sherwood CD :)";
/// Ping-pongs per latency round and messages per throughput burst.
const PINGS: usize = 400;
const BURST: usize = 5_000;
/// Server messages per ingest round.
const INGEST_N: usize = 200_000;

fn main() {
    let rounds: usize = std::env::var("E2E_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let exe = fixtures::scratch_dir().join("e2e-bench");
    let src = fixtures::repo_root().join("benches/c/e2e.c");
    fixtures::compile_c(&[&src], &exe, &["-O2", "-D_POSIX_C_SOURCE=200809L", "-pthread"])
        .unwrap_or_else(|e| panic!("{e}"));
    println!("C host linked against {}", fixtures::lib_dir().join("libmsim.so").display());
    let only = std::env::var("E2E_ONLY").unwrap_or_default();
    if only.is_empty() || only == "im" {
        ims(&exe, rounds);
    }
    if only.is_empty() || only == "ingest" {
        ingest(&exe, rounds.div_ceil(2));
    }
    if only.is_empty() || only == "sent" {
        im_sent(&exe, rounds);
    }
}

/// Parsed `latency`/`rate` lines of the C program: name → (median, p10, p90, p99).
type Results = Vec<(String, String, [f64; 4])>;

fn parse_results(out: &str) -> Results {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let nums = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
            match f.first() {
                Some(&"latency") => Some(("latency".into(), f[1].into(), [nums(3), nums(4), nums(5), nums(6)])),
                Some(&"rate") => Some(("rate".into(), f[1].into(), [nums(3), nums(4), nums(5), f64::NAN])),
                _ => None,
            }
        })
        .collect()
}

fn get<'a>(r: &'a Results, kind: &str, name: &str) -> &'a [f64; 4] {
    &r.iter().find(|(k, n, _)| k == kind && n == name).unwrap_or_else(|| panic!("no {kind} {name} in {r:?}")).2
}

fn latency_row(label: &str, v: &[f64; 4], base: Option<(&str, &[f64; 4])>) {
    let us = |ns: f64| ns / 1000.0;
    print!("{label:<40} {:>7.1} µs  (p10 {:>6.1}, p90 {:>6.1}, p99 {:>7.1})", us(v[0]), us(v[1]), us(v[2]), us(v[3]));
    match base {
        Some((name, b)) => println!("   {:>5.2}x {name}", v[0] / b[0]),
        None => println!(),
    }
}

fn rate_row(label: &str, v: &[f64; 4], base: Option<(&str, &[f64; 4])>) {
    print!("{label:<40} {:>9.0} msg/s  (p10 {:>9.0}, p90 {:>9.0})", v[0], v[1], v[2]);
    match base {
        Some((name, b)) => println!("   {:>5.2}x {name}'s rate", v[0] / b[0]),
        None => println!(),
    }
}

/// A trivial TCP forwarder: connections are paired in accept order (1st with 2nd, …) and each
/// direction is one thread copying read → write.
fn start_relay() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || loop {
        let (Ok((a, _)), Ok((b, _))) = (l.accept(), l.accept()) else { return };
        for (mut from, mut to) in [(a.try_clone().unwrap(), b.try_clone().unwrap()), (b, a)] {
            from.set_nodelay(true).unwrap();
            thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while let Ok(n @ 1..) = from.read(&mut buf) {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

fn ims(exe: &std::path::Path, rounds: usize) {
    let server = msim_server::Server::start(msim_server::Config { log: false, ..Default::default() }).unwrap();
    let a = server.add_account("a@example.com", "apw", Some("alice"), None).unwrap();
    let b = server.add_account("b@example.com", "bpw", Some("bob"), None).unwrap();
    // Contacts of each other, as chat partners are: names are known, no lookups.
    server.add_contact(a, b, "IM Friends").unwrap();
    server.add_contact(b, a, "IM Friends").unwrap();
    let relay = start_relay();
    // The raw baselines carry messages of the size msim-server delivers.
    let delivered = ServerMessage::Bm(BmFromServer {
        kind: 1,
        from: a,
        payload: BmPayload::Text(markup::html_to_markup(TEXT)),
        date: None,
        cv: Some(697),
        aid: None,
    });
    let size = delivered.encode().unwrap().encode().len();
    let port = server.addr().port().to_string();
    let args = [
        "im",
        "127.0.0.1",
        &port,
        &relay.to_string(),
        "a@example.com",
        "apw",
        "b@example.com",
        "bpw",
        &a.to_string(),
        &b.to_string(),
        TEXT,
        &size.to_string(),
        &rounds.to_string(),
        &PINGS.to_string(),
        &BURST.to_string(),
    ];
    let out = fixtures::run(exe, &args, std::time::Duration::from_secs(1200)).unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "e2e im failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let r = parse_results(&stdout);
    let (m, d, rl) = (get(&r, "latency", "msim"), get(&r, "latency", "direct"), get(&r, "latency", "relay"));
    println!("IM latency, one message = ½ ping-pong ({size}-byte messages, {rounds} rounds × {PINGS}):");
    latency_row("baseline: raw TCP ping-pong (direct)", d, None);
    latency_row("baseline: raw TCP via forwarder thread", rl, Some(("direct", d)));
    latency_row("msim: C API → msim-server → C API", m, Some(("direct", d)));
    println!("{:<40} {:>61.2}x relay", "", m[0] / rl[0]);
    let (m, d, rl) = (get(&r, "rate", "msim"), get(&r, "rate", "direct"), get(&r, "rate", "relay"));
    println!("IM throughput, pipelined ({rounds} rounds × {BURST} messages):");
    rate_row("baseline: raw TCP (direct)", d, None);
    rate_row("baseline: raw TCP via forwarder thread", rl, Some(("direct", d)));
    rate_row("msim: C API → msim-server → C API", m, Some(("direct", d)));
    println!("{:<40} {:>52.2}x relay's rate", "", m[0] / rl[0]);
}

// ---- send_im → on_im_sent ----

/// `send_im` → `on_im_sent` per round, one at a time.
const SENT_N: usize = 400;

fn im_sent(exe: &std::path::Path, rounds: usize) {
    let server = msim_server::Server::start(msim_server::Config { log: false, ..Default::default() }).unwrap();
    let a = server.add_account("a@example.com", "apw", Some("alice"), None).unwrap();
    let b = server.add_account("b@example.com", "bpw", Some("bob"), None).unwrap();
    server.add_contact(a, b, "IM Friends").unwrap();
    let port = server.addr().port().to_string();
    let args = ["sent", "127.0.0.1", &port, "a@example.com", "apw", TEXT, &SENT_N.to_string(), &rounds.to_string()];
    let out = fixtures::run(exe, &args, std::time::Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "e2e sent failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let r = parse_results(&stdout);
    let (m, w) = (get(&r, "latency", "im-sent"), get(&r, "latency", "wakeup"));
    println!("send_im → on_im_sent, one at a time ({rounds} rounds × {SENT_N}):");
    latency_row("baseline: two-thread wake-up ping-pong", w, None);
    latency_row("msim: send_im → on_im_sent (IO thread)", m, Some(("wake-up", w)));
}

// ---- ingest ----

/// The fake server's uid for the signed-on account, and the contact whose messages it injects.
const SELF_UID: u32 = 1000;
const SENDER_UID: u32 = 2000;

fn write_msg(s: &mut TcpStream, m: ServerMessage) {
    s.write_all(&m.encode().unwrap().encode()).unwrap();
}

/// Reads client messages until `done` returns true for one of them.
fn read_until(s: &mut TcpStream, framer: &mut Framer, mut done: impl FnMut(&mut TcpStream, ClientMessage) -> bool) {
    let mut buf = [0u8; 4096];
    loop {
        while let Some(frame) = framer.next_frame().unwrap() {
            let m = ClientMessage::decode(&Message::parse(frame).unwrap()).unwrap();
            if done(s, m) {
                return;
            }
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the client closed during the login");
        framer.push(&buf[..n]);
    }
}

/// Logs the client in (SPEC §6) and answers its post-login requests; returns once the contact
/// list — which signs it on — has been sent. The rest of what the client sends is drained.
fn fake_login(l: &TcpListener) -> TcpStream {
    let (mut s, _) = l.accept().unwrap();
    s.set_nodelay(true).unwrap();
    let mut framer = Framer::default();
    write_msg(&mut s, ServerMessage::Challenge { nonce: [0x5a; 64] });
    read_until(&mut s, &mut framer, |_, m| matches!(m, ClientMessage::Login2(_)));
    write_msg(
        &mut s,
        ServerMessage::LoginOk {
            sesskey: 77,
            proof: "ingest".into(),
            userid: SELF_UID,
            profileid: SELF_UID,
            uniquenick: "ingest".into(),
        },
    );
    read_until(&mut s, &mut framer, |s, m| {
        let ClientMessage::Persist(req) = m else { return false };
        let contacts = req.item() == DataItem::ListAllContacts;
        let body = if contacts {
            DictBuilder::new()
                .int("ContactID", SENDER_UID.into())
                .str("UserName", "sender")
                .str("GroupName", "IM Friends")
        } else {
            DictBuilder::new()
        };
        write_msg(s, ServerMessage::Persist(PersistReply::to(&req, SELF_UID, &body).unwrap()));
        contacts
    });
    let mut drain = s.try_clone().unwrap();
    thread::spawn(move || std::io::copy(&mut drain, &mut std::io::sink()));
    s
}

fn ingest(exe: &std::path::Path, rounds: usize) {
    let frames: Vec<u8> = (0..INGEST_N)
        .flat_map(|i| {
            let payload = if i % 2 == 0 {
                BmPayload::Text(format!("message {i}: {}", markup::html_to_markup(TEXT)))
            } else {
                BmPayload::Status(StatusList::new(Presence::Online, "listening to Sherwood"))
            };
            let kind = if i % 2 == 0 { 1 } else { 100 };
            let m =
                ServerMessage::Bm(BmFromServer { kind, from: SENDER_UID, payload, date: None, cv: None, aid: None });
            m.encode().unwrap().encode()
        })
        .collect();
    let session_l = TcpListener::bind("127.0.0.1:0").unwrap();
    let raw_l = TcpListener::bind("127.0.0.1:0").unwrap();
    let (port, raw_port) = (session_l.local_addr().unwrap().port(), raw_l.local_addr().unwrap().port());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let session = fake_login(&session_l);
        let (raw, _) = raw_l.accept().unwrap();
        let _ = tx.send((session, raw));
    });
    let lib = fixtures::lib_dir();
    let mut child = Command::new(exe)
        .args(["ingest", "127.0.0.1", &port.to_string(), &raw_port.to_string(), "me@example.com", "pw"])
        .args([INGEST_N.to_string(), rounds.to_string(), frames.len().to_string()])
        .env("LD_LIBRARY_PATH", lib)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut socks: Option<(TcpStream, TcpStream)> = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let (session, raw) = socks.get_or_insert_with(|| rx.recv().expect("the C host connected"));
        match line.as_str() {
            "go msim" => session.write_all(&frames).unwrap(),
            "go raw" => raw.write_all(&frames).unwrap(),
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    assert!(child.wait().unwrap().success(), "e2e ingest failed:\n{out}");
    let r = parse_results(&out);
    let (m, raw) = (get(&r, "rate", "ingest-msim"), get(&r, "rate", "ingest-raw"));
    let per = frames.len() / INGEST_N;
    println!("ingest, one session ({rounds} rounds × {INGEST_N} bm 1 / bm 100 frames, {per} bytes on average):");
    rate_row("baseline: read the bytes, no parsing", raw, None);
    rate_row("msim: frame+parse+decode+callback", m, Some(("raw", raw)));
}
