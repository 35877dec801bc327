//! N concurrent signed-on sessions (default 10 000; env `MSIM_SESSIONS`) through the C API in
//! this process, against msim-server in a child process, so the two memories are measured apart:
//! - the server is this same executable re-run with `MSIM_SCALE_ROLE=server`: it starts
//!   `msim_server::Server` with the `msim-server` binary's defaults (`:memory:` database,
//!   event loops), creates the N accounts (each lists the next, so every sign-on
//!   fans out one presence), prints its port and serves until its stdin closes;
//! - resident memory (VmRSS) of each process is read before the first session and after the last
//!   sign-on; the difference over N is the memory per session. Client sessions share counting
//!   callbacks (`tests/common/fleet.rs`), so the host itself adds almost nothing per session.
//!
//! Then every session sends one IM to the next and all N are awaited. There is no baseline to
//! run side by side here: the figures are memory (not noisy) and wall times reported as such.
//! Target (issue "Performance"): ≤ 64 KiB resident per client session.
//! Run: `cargo bench --bench scale` (RLIMIT_NOFILE is raised, as root past the hard limit where
//! the process may; a client session needs two descriptors — socket and wake-up eventfd — and a
//! thread, a server session one descriptor). The server alone at scale: `benches/load.rs`.

mod common;
#[path = "../tests/common/mod.rs"]
mod fixtures;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use fixtures::fleet::Fleet;

/// Sign-ons under way at once (env `MSIM_IN_FLIGHT`).
const IN_FLIGHT: usize = 256;
/// Descriptors each process keeps for itself beyond one per session.
const SPARE_FDS: u64 = 64;

/// Raises RLIMIT_NOFILE towards [`WANTED_NOFILE`] (the hard limit too, as root; else the soft one
/// to the hard one) — the load benchmark's helper; returns the new limit.
fn raise_nofile() -> u64 {
    fixtures::load::raise_nofile(WANTED_NOFILE)
}

/// Descriptors asked for: a client session holds two (its socket and its IO thread's wake-up
/// eventfd), so 10 000 sessions need more than the usual hard limit of 20 000.
const WANTED_NOFILE: u64 = 65_536;

/// Resident KiB of the anonymous read-write mappings of exactly `size` bytes — the thread stacks
/// of that size (their guard page is a separate mapping) — and how many there are.
fn stacks_kib(pid: &str, size: usize) -> (u64, usize) {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut kib, mut count, mut candidate) = (0, 0, false);
    for line in smaps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first().is_some_and(|a| a.contains('-') && !a.ends_with(':')) {
            candidate = f.get(1) == Some(&"rw-p") && f.len() == 5;
        } else if candidate && f.first() == Some(&"Size:") {
            candidate = f[1].parse::<usize>().ok() == Some(size / 1024);
            count += usize::from(candidate);
        } else if candidate && f.first() == Some(&"Rss:") {
            kib += f[1].parse::<u64>().unwrap_or(0);
            candidate = false;
        }
    }
    (kib, count)
}

fn email(i: usize) -> String {
    format!("u{i}@example.com")
}

fn server_child(n: usize) {
    raise_nofile();
    // Every client signs on from 127.0.0.1, `in_flight` at a time: lift the per-address cap on
    // connections not logged in yet (a guard against one address filling the server).
    let config = msim_server::Config { log: false, max_prelogin_per_address: 0, ..Default::default() };
    let stack = config.session_stack_size;
    let s = msim_server::Server::start(config).expect("server starts");
    let uids: Vec<u32> =
        (0..n).map(|i| s.add_account(&email(i), "pw", Some(&format!("u{i}")), None).unwrap()).collect();
    for i in 0..n {
        s.add_contact(uids[i], uids[(i + 1) % n], "IM Friends").unwrap();
        assert_eq!(uids[i], uids[0] + i as u32, "consecutive uids");
    }
    println!("ready {} {} {stack}", s.addr().port(), uids[0]);
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn main() {
    let wanted: usize = std::env::var("MSIM_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    if std::env::var("MSIM_SCALE_ROLE").as_deref() == Ok("server") {
        return server_child(wanted);
    }
    let in_flight: usize = std::env::var("MSIM_IN_FLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(IN_FLIGHT);
    let limit = raise_nofile();
    let n = wanted.min((limit.saturating_sub(SPARE_FDS) / 2) as usize);
    if n < wanted {
        println!("RLIMIT_NOFILE hard limit is {limit}: running {n} sessions instead of {wanted}");
    }
    let (mut child, f) = common::start_server_process("MSIM_SCALE_ROLE", &[("MSIM_SESSIONS", n.to_string())]);
    let spid = child.id().to_string();
    let (port, first_uid, server_stack) = (f[0] as u16, f[1] as u32, f[2] as usize);

    let client_stack = msim::client::Config::default().io_stack_size;
    let (c0, s0) = (common::status_kib("self", "VmRSS:"), common::status_kib(&spid, "VmRSS:"));
    let mut fleet = Fleet::new();
    let t0 = Instant::now();
    let accounts = (0..n).map(|i| (email(i), "pw".to_owned()));
    fleet.sign_on("127.0.0.1", port, accounts, in_flight, Duration::from_secs(600)).unwrap();
    let sign_on = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1)); // let the last presence fan-outs land
    let (c1, s1) = (common::status_kib("self", "VmRSS:"), common::status_kib(&spid, "VmRSS:"));
    let (cst, cst_n) = stacks_kib("self", client_stack);
    let (sst, sst_n) = stacks_kib(&spid, server_stack);

    let t1 = Instant::now();
    fleet.send_ims(|i| first_uid + ((i + 1) % n) as u32, "hello <b>neighbour</b>").unwrap();
    fleet.wait_ims(n, Duration::from_secs(600)).unwrap();
    let ims = t1.elapsed();
    let (c2, s2) = (common::status_kib("self", "VmRSS:"), common::status_kib(&spid, "VmRSS:"));

    let per = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / n as f64;
    println!("scale: {n} sessions through the C API, msim-server in a separate process");
    println!(
        "{:<52} {:>8.1} s  ({:.0} sign-ons/s, {in_flight} under way at a time)",
        "time to sign all on",
        sign_on.as_secs_f64(),
        n as f64 / sign_on.as_secs_f64()
    );
    println!("{:<52} {:>8.1} s", "time for one IM each (all received)", ims.as_secs_f64());
    println!(
        "{:<52} {:>8.1} KiB  (after one IM each: {:.1})",
        "client resident memory per session",
        per(c0, c1),
        per(c0, c2)
    );
    println!(
        "{:<52} {:>8.1} KiB  ({cst_n} stacks of {} KiB)",
        "  of which IO-thread stacks",
        cst as f64 / n as f64,
        client_stack / 1024
    );
    println!(
        "{:<52} {:>8.1} KiB  (after one IM each: {:.1})",
        "server resident memory per session",
        per(s0, s1),
        per(s0, s2)
    );
    println!(
        "{:<52} {:>8.1} KiB  ({sst_n} stacks of {} KiB)",
        "  of which event-loop thread stacks",
        sst as f64 / n as f64,
        server_stack / 1024
    );
    println!("(resident before the first session: client {c0} KiB, server {s0} KiB with {n} accounts)");

    let t2 = Instant::now();
    drop(fleet);
    println!("{:<52} {:>8.1} s", "time to free all sessions", t2.elapsed().as_secs_f64());
    drop(child.stdin.take()); // the server exits when its stdin closes
    let _ = child.wait();
}
