//! msim-server under load (issue "Performance, round two", goal 3): N logged-in sessions held by
//! the lightweight load generator of `tests/common/load` (a few threads, non-blocking sockets,
//! epoll; `msim::protocol` only) in this process, against msim-server in a **child process**
//! (this executable re-run with `MSIM_LOAD_ROLE=server`, with the `msim-server` binary's defaults
//! and an in-memory database), so the server's memory is measured alone. Phases:
//! 1. sign all N on (`MSIM_IN_FLIGHT` sign-ons under way per generator thread): sessions/s;
//! 2. the server's resident memory (VmRSS) after the last sign-on, less before the first, over N;
//! 3. each session sends one IM to the next; the time until all N were received;
//! 4. `MSIM_ROUNDS` times, session 0 changes its status text and the time until the last of its
//!    1 000 watchers (`MSIM_WATCHERS`) has it is taken: median, p99, max.
//!
//! Run: `cargo bench --bench load` (`MSIM_SESSIONS`, default 10 000; `MSIM_LOAD_THREADS`, default
//! 2; `MSIM_SOURCES`, loopback source addresses, default one per 20 000 sessions, at least 4).
//! Needs RLIMIT_NOFILE above N in both processes (raised here; as root the hard limit too) and,
//! past ~28 000 sessions, several source addresses for the ephemeral ports: BENCHMARKS.md lists
//! the kernel limits.

mod common;
#[path = "../tests/common/load/mod.rs"]
mod load;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use load::{Load, Plan};

fn env(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn server_child(n: usize, watchers: usize) {
    // One socket per session, and spare; the thread-per-connection server (before the
    // event loops) also had an eventfd each.
    load::raise_nofile(2 * n as u64 + 4096);
    let config = msim_server::Config {
        log: false,
        // Room for every session (the default cap is a guard against floods).
        max_connections: n + 1024,
        // Sign-ons come from a handful of source addresses, hundreds at once: lift the per-address
        // cap on connections not logged in yet.
        max_prelogin_per_address: 0,
        ..Default::default()
    };
    let s = msim_server::Server::start(config).expect("server starts");
    let t = Instant::now();
    let first_uid = load::populate(&s, n, watchers);
    eprintln!("(server: {n} accounts created in {:.1} s)", t.elapsed().as_secs_f64());
    println!("ready {} {first_uid}", s.addr().port());
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let n = env("MSIM_SESSIONS", 10_000);
    let watchers = env("MSIM_WATCHERS", 1_000).min(n - 1);
    if std::env::var("MSIM_LOAD_ROLE").as_deref() == Ok("server") {
        return server_child(n, watchers);
    }
    let threads = env("MSIM_LOAD_THREADS", 2);
    let in_flight = env("MSIM_IN_FLIGHT", 128);
    let sources = env("MSIM_SOURCES", (n / 20_000 + 1).max(4));
    let rounds = env("MSIM_ROUNDS", 100);
    let limit = load::raise_nofile(n as u64 + 4096);
    assert!(limit >= n as u64 + 64, "RLIMIT_NOFILE is {limit}: too low for {n} sessions");

    let env = [("MSIM_SESSIONS", n.to_string()), ("MSIM_WATCHERS", watchers.to_string())];
    let (mut child, f) = common::start_server_process("MSIM_LOAD_ROLE", &env);
    let spid = child.id().to_string();
    assert_eq!(f.len(), 2, "server child failed to start: {f:?}");
    let (port, first_uid) = (f[0] as u16, f[1] as u32);

    let plan = Plan {
        server: std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port),
        sessions: n,
        watchers,
        first_uid,
        threads,
        in_flight_per_thread: in_flight,
        sources: Plan::loopback_sources(sources),
    };
    let gen = Load::start(plan).expect("load generator starts");
    let rss0 = common::status_kib(&spid, "VmRSS:");
    let result = (|| -> Result<(), String> {
        let limit = Duration::from_secs(300);
        let sign_on = gen.sign_on(limit)?;
        std::thread::sleep(Duration::from_secs(1)); // the last presence fan-outs land
        let rss1 = common::status_kib(&spid, "VmRSS:");
        let threads1 = common::status_kib(&spid, "Threads:");
        let ims = gen.send_ims(limit)?;
        std::thread::sleep(Duration::from_millis(500));
        let rss2 = common::status_kib(&spid, "VmRSS:");
        let mut fan = Vec::with_capacity(rounds);
        for round in 1..=rounds as u64 {
            fan.push(gen.status_round(round, Duration::from_secs(30))?);
            std::thread::sleep(Duration::from_millis(5));
        }
        fan.sort();
        let per = |a: u64, b: u64| b.saturating_sub(a) as f64 / n as f64;
        println!(
            "load: {n} sessions from {threads} generator threads and {sources} source addresses, \
             msim-server in a separate process"
        );
        let rate = n as f64 / sign_on.as_secs_f64();
        let retries = gen.totals.retries.load(std::sync::atomic::Ordering::SeqCst);
        println!(
            "{:<46} {:>9.2} s  ({rate:.0} sessions/s, {in_flight} per thread under way, {retries} started over)",
            "sign all on",
            sign_on.as_secs_f64()
        );
        println!(
            "{:<46} {:>9.1} KiB  (after one IM each: {:.1}; {threads1} server threads)",
            "server resident memory per session",
            per(rss0, rss1),
            per(rss0, rss2)
        );
        println!("{:<46} {:>9.3} s", "one IM each, until all received", ims.as_secs_f64());
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:<46} {:>9.2} ms  (p99 {:.2} ms, max {:.2} ms, {rounds} rounds)",
            format!("status change to {watchers} watchers, median"),
            ms(percentile(&fan, 0.5)),
            ms(percentile(&fan, 0.99)),
            ms(fan[fan.len() - 1])
        );
        println!("(server resident before the first session: {rss0} KiB with {n} accounts)");
        Ok(())
    })();
    if let Err(e) = &result {
        println!("load: FAILED: {e}");
        println!("(server resident now: {} KiB)", common::status_kib(&spid, "VmRSS:"));
    }
    let t = Instant::now();
    drop(gen);
    drop(child.stdin.take()); // the server exits when its stdin closes
    let _ = child.wait();
    println!("{:<46} {:>9.1} s", "close all and stop the server", t.elapsed().as_secs_f64());
}
