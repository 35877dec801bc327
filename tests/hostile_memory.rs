//! Memory under a hostile stream: a server that sends 64 MiB without `\final\` after sign-on.
//! The process's resident memory must grow by no more than a few MiB (the frame cap is 256 KiB).
//! Alone in its own test binary so no other test's allocations disturb the measurement.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::hostile::{config, HostileServer, Probe};
use msim::client::{DisconnectReason, Event};

/// Resident set size of this process, in KiB (Linux).
fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_64_mib_stream_without_final_grows_rss_by_less_than_4_mib() {
    const TOTAL: usize = 64 << 20;
    let sent = Arc::new(AtomicUsize::new(0));
    let sent2 = sent.clone();
    let srv = HostileServer::start(move |c| {
        c.handshake();
        let chunk = vec![b'x'; 64 * 1024];
        while sent2.load(Ordering::SeqCst) < TOTAL && c.send_raw(&chunk).is_ok() {
            sent2.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    let mut p = Probe::connect(srv.addr(), config());
    p.wait("sign-on", |e| matches!(e, Event::SignedOn { .. }));
    let base = rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(base));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                peak.fetch_max(rss_kib(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let end = p.wait_end();
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    assert!(matches!(end, Event::Disconnected { reason: DisconnectReason::Protocol, .. }), "{end:?}");
    let growth = peak.load(Ordering::SeqCst).saturating_sub(base);
    eprintln!("RSS growth {growth} KiB while {} bytes were streamed", sent.load(Ordering::SeqCst));
    assert!(growth < 4 * 1024, "RSS grew by {growth} KiB");
    p.assert_one_end_and_io_stopped();
}
