//! The C API from C: `tests/c/session_smoke.c` signs two sessions on against a real msim-server
//! and exchanges IMs, in thread mode and in poll-fd mode.

mod common;

use std::time::Duration;

use common::client::server;
use common::{compile, repo_root, run, scratch_dir, Lang};

fn run_smoke(lang: Lang, mode: &str) {
    let s = server();
    s.add_account("a@example.com", "apw", Some("ca"), None).unwrap();
    s.add_account("b@example.com", "bpw", Some("cb"), None).unwrap();
    let exe = scratch_dir().join(format!("session_smoke_{mode}_{lang:?}"));
    let src = repo_root().join("tests/c/session_smoke.c");
    // POSIX for pthread_cond_timedwait/clock_gettime under -std=c99.
    compile(lang, &[src.as_path()], &exe, &["-D_POSIX_C_SOURCE=200809L", "-pthread"]).unwrap_or_else(|e| panic!("{e}"));
    let addr = s.addr();
    let (host, port) = (addr.ip().to_string(), addr.port().to_string());
    let out = run(&exe, &[&host, &port, "a@example.com", "apw", "b@example.com", "bpw", mode], Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("session_smoke: OK"), "{mode} mode:\n{text}");
}

#[test]
fn two_c_clients_sign_on_and_exchange_an_im_in_thread_mode() {
    run_smoke(Lang::C, "thread");
}

#[test]
fn two_c_clients_sign_on_and_exchange_an_im_in_poll_mode() {
    run_smoke(Lang::C, "poll");
}

#[test]
fn the_smoke_test_also_builds_and_runs_as_cxx() {
    run_smoke(Lang::Cxx, "poll");
}

/// `benches/c/e2e.c` is compiled only when `cargo bench --bench e2e` runs; building (and loading)
/// it here keeps it from rotting as the header changes.
#[test]
fn the_e2e_benchmark_host_builds_and_prints_its_usage() {
    let exe = scratch_dir().join("e2e_bench_host");
    let src = repo_root().join("benches/c/e2e.c");
    compile(Lang::C, &[src.as_path()], &exe, &["-D_POSIX_C_SOURCE=200809L", "-pthread"])
        .unwrap_or_else(|e| panic!("{e}"));
    let out = run(&exe, &[], Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
}
