//! Many concurrent sessions (ignored by default; run with
//! `MSIM_SESSIONS=5000 cargo test -p msim-server --release --test scale -- --ignored --nocapture`).
//! Reports the process's resident memory per session; clients live in the same process, so the
//! figure is an upper bound for the server's share. Each session needs three file descriptors here
//! (client socket, server socket, the server's eventfd).

mod common;

use std::time::{Duration, Instant};

use common::*;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore]
fn many_sessions_log_in_and_exchange_ims() {
    let n: usize = std::env::var("MSIM_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let s = server_with(|c| c.ka_interval = Duration::from_secs(600));
    let uids: Vec<u32> = (0..n)
        .map(|i| s.add_account(&format!("u{i}@example.com"), "pw", Some(&format!("u{i}")), None).unwrap())
        .collect();
    // Everyone lists the next user, so every login and logout fans out once.
    for i in 0..n {
        s.add_contact(uids[i], uids[(i + 1) % n], "IM Friends").unwrap();
    }
    let base = rss_kib();
    let t0 = Instant::now();
    let mut clients: Vec<Client> =
        (0..n).map(|i| Client::login(s.addr(), &format!("u{i}@example.com"), "pw")).collect();
    let login_time = t0.elapsed();
    assert_eq!(s.online_count(), n);
    let per = (rss_kib() - base) as f64 / n as f64;
    println!(
        "{n} sessions logged in in {login_time:?}; resident memory {per:.1} KiB per session (server + test client)"
    );
    let t1 = Instant::now();
    for i in 0..n {
        let to = uids[(i + 1) % n];
        clients[i].im(to, "hi");
    }
    for i in 0..n {
        let from = uids[(i + n - 1) % n];
        assert_eq!(clients[i].expect_bm(1, from).0, "hi");
    }
    println!("{n} IMs routed in {:?}", t1.elapsed());
    drop(clients);
    let t2 = Instant::now();
    s.stop();
    println!("stopped in {:?}", t2.elapsed());
}
