//! The C test harness: `tests/c/harness.c` drives three sessions through the C API against an
//! in-process msim-server and prints TAP; its exit code is the number of failed checks. It runs
//! once directly and once under valgrind (no errors, no definite leaks) when valgrind is installed.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::client::server;
use common::{compile_c, repo_root, run, scratch_dir};
use msim_server::Server;

/// The harness, compiled once per test binary.
fn harness() -> &'static PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let exe = scratch_dir().join("harness");
        let src = repo_root().join("tests/c/harness.c");
        compile_c(&[src.as_path()], &exe, &["-pthread"]).unwrap_or_else(|e| panic!("{e}"));
        exe
    })
}

/// A server with A and B listing each other, and C (offline at first) listing A.
fn accounts() -> (Server, Vec<String>) {
    let s = server();
    let a = s.add_account("alice@example.com", "alicepw", Some("alice"), Some("Alice")).unwrap();
    let b = s.add_account("bob@example.com", "bobpw", Some("bob"), Some("Bob")).unwrap();
    let c = s.add_account("carol@example.com", "carolpw", Some("carol"), Some("Carol")).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    s.add_contact(c, a, "IM Friends").unwrap();
    let addr = s.addr();
    let args = [
        &addr.ip().to_string(),
        &addr.port().to_string(),
        "alice@example.com",
        "alicepw",
        "bob@example.com",
        "bobpw",
        "carol@example.com",
        "carolpw",
        "carol",
    ]
    .map(String::from)
    .to_vec();
    (s, args)
}

#[test]
fn c_harness_scenarios_pass() {
    let (_server, args) = accounts();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(harness(), &args, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    common::assert_tap_all_ok(&out, "harness", 30);
}

fn valgrind_installed() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn c_harness_scenarios_pass_under_valgrind_without_errors_or_leaks() {
    if !valgrind_installed() {
        // CI machines have valgrind: there a missing one is a broken setup, not a reason to skip.
        assert!(std::env::var_os("CI").is_none(), "valgrind is not installed, but CI is set");
        eprintln!("skipped: valgrind is not installed");
        return;
    }
    let (_server, args) = accounts();
    let exe = harness().to_str().expect("UTF-8 path").to_owned();
    let mut vg = vec!["--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite"];
    let supp = repo_root().join("tests/valgrind.supp");
    let supp_arg = format!("--suppressions={}", supp.display());
    if supp.is_file() {
        vg.push(&supp_arg);
    }
    vg.push(&exe);
    vg.extend(args.iter().map(String::as_str));
    let out = run(std::path::Path::new("valgrind"), &vg, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e}"));
    let all = common::output_text(&out);
    assert!(out.status.code() != Some(99), "valgrind reported errors or definite leaks:\n{all}");
    assert!(all.contains("ERROR SUMMARY: 0 errors"), "valgrind did not report a clean run:\n{all}");
    common::assert_tap_all_ok(&out, "harness under valgrind", 30);
}
