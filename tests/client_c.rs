//! The C API from C: `tests/c/session_smoke.c` signs two sessions on against a real msim-server
//! and exchanges IMs, in thread mode and in poll-fd mode.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::client::server;

/// target/debug (where libmsim.so is), from this test binary's path (target/debug/deps/…).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|p| p.parent()).unwrap().to_path_buf()
}

/// `cargo test` does not relink the cdylib for integration tests; build it so C links the
/// current code.
fn build_cdylib() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--lib", "-p", "msim"]).current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    assert!(cmd.status().expect("cargo runs").success(), "building libmsim failed");
}

/// Compiles a C test program against include/msim.h and the freshly built libmsim.
fn compile(src: &str, name: &str) -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(build_cdylib);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let lib = target_dir();
    let out = lib.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", root.join("include").display()))
        .arg(root.join(src))
        .arg("-o")
        .arg(&out)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lmsim", "-lpthread"])
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(status.success(), "compiling {src} failed");
    out
}

#[test]
fn header_compiles_cleanly_as_c99_and_cxx() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = target_dir().join("header_check.o");
    for lang in [["-x", "c", "-std=c99"], ["-x", "c++", "-std=c++11"]] {
        let cc = if lang[1] == "c" { "cc" } else { "c++" };
        let status = Command::new(cc)
            .args(lang)
            .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-c"])
            .arg(format!("-I{}", root.join("include").display()))
            .arg(root.join("tests/c/header_check.c"))
            .arg("-o")
            .arg(&out)
            .status()
            .expect("a C and a C++ compiler are installed");
        assert!(status.success(), "include/msim.h does not compile cleanly as {}", lang[1]);
    }
}

fn run_smoke(mode: &str) {
    let s = server();
    s.add_account("a@example.com", "apw", Some("ca"), None).unwrap();
    s.add_account("b@example.com", "bpw", Some("cb"), None).unwrap();
    let exe = compile("tests/c/session_smoke.c", &format!("session_smoke_{mode}"));
    let addr = s.addr();
    let out = Command::new(exe)
        .args([&addr.ip().to_string(), &addr.port().to_string(), "a@example.com", "apw", "b@example.com", "bpw", mode])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("session_smoke: OK"), "{mode} mode:\n{text}");
}

#[test]
fn two_c_clients_sign_on_and_exchange_an_im_in_thread_mode() {
    run_smoke("thread");
}

#[test]
fn two_c_clients_sign_on_and_exchange_an_im_in_poll_mode() {
    run_smoke("poll");
}
