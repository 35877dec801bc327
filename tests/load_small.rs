//! The load benchmark's scenario (`benches/load.rs`) at a size CI can afford, against an
//! in-process msim-server: 2 000 sessions held by the lightweight load generator
//! (`tests/common/load`, non-blocking sockets from several loopback source addresses) all sign
//! on, each receives exactly its neighbour's IM, and all 1 000 watchers of one user see each of
//! its status changes. Correctness only: no timing is asserted.

mod common;

use std::time::Duration;

use common::client::server_with;
use common::load::{self, Load, Plan};

const N: usize = 2_000;
const WATCHERS: usize = 1_000;
const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn two_thousand_sessions_sign_on_get_one_im_each_and_1000_watchers_see_each_status_change() {
    // Server and generator share this process: a descriptor per socket on each side, plus the
    // server's own per connection.
    let nofile = load::raise_nofile(4 * N as u64 + 1024);
    assert!(nofile >= 3 * N as u64 + 256, "RLIMIT_NOFILE {nofile} is too low for {N} sessions");
    // Sign-ons come from a few source addresses, many at once: lift the per-address cap on
    // connections not logged in yet (a guard against one address filling the server).
    let s = server_with(msim_server::Config { log: false, max_prelogin_per_address: 0, ..Default::default() });
    let first_uid = load::populate(&s, N, WATCHERS);
    let plan = Plan {
        server: load::v4(s.addr()),
        sessions: N,
        watchers: WATCHERS,
        first_uid,
        threads: 2,
        in_flight_per_thread: 64,
        sources: Plan::loopback_sources(4),
    };
    let gen = Load::start(plan).unwrap();
    gen.sign_on(LIMIT).unwrap();
    assert_eq!(s.online_count(), N);

    gen.send_ims(LIMIT).unwrap();
    std::thread::sleep(Duration::from_millis(200)); // a second IM to anyone would show by now
    let t = &gen.totals;
    assert_eq!(t.ims.load(std::sync::atomic::Ordering::SeqCst), N);
    assert_eq!(t.wrong_ims.load(std::sync::atomic::Ordering::SeqCst), 0, "{:?}", t.notes());

    for round in 1..=3 {
        gen.status_round(round, LIMIT).unwrap();
    }
    assert_eq!(t.failed.load(std::sync::atomic::Ordering::SeqCst), 0, "{:?}", t.notes());
    assert_eq!(t.disconnected.load(std::sync::atomic::Ordering::SeqCst), 0, "{:?}", t.notes());
    drop(gen);
    s.stop();
}
