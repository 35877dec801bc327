//! The C API under misuse, from C (`tests/c/misuse.c`): NULL and invalid UTF-8 for every argument,
//! every operation in every state and twice, many threads at once, calls and frees from inside
//! callbacks. Built plainly here; `tests/c_sanitizers.rs` runs it under AddressSanitizer and
//! valgrind too.

mod common;

use std::time::Duration;

use common::client::misuse_server;
use common::{compile_c, repo_root, run, scratch_dir};

/// How many checks misuse.c ran when this was last raised (3902).
const MIN_CHECKS: usize = 3902;

#[test]
fn misuse_from_c_gets_documented_results_and_never_crashes_or_hangs() {
    let (_server, args) = misuse_server();
    let exe = scratch_dir().join("misuse");
    let src = repo_root().join("tests/c/misuse.c");
    compile_c(&[src.as_path()], &exe, &["-D_POSIX_C_SOURCE=200809L", "-pthread", "-g"])
        .unwrap_or_else(|e| panic!("{e}"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&exe, &args, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("misuse: OK"), "misuse.c ({}):\n{text}", out.status);
    // Its checks come from tables and loops: a row or loop that stops running must not go unseen.
    let ran = text.split("misuse: OK (").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse::<usize>().ok());
    assert!(ran.is_some_and(|n| n >= MIN_CHECKS), "misuse.c ran {ran:?} checks, want at least {MIN_CHECKS}:\n{text}");
    eprintln!("{text}");
}
