//! Every C test program (`tests/c/*.c`) under AddressSanitizer and under valgrind, with zero
//! reports. The C side is instrumented (ASan) or everything is (valgrind); libmsim is loaded as
//! built. Missing tools are a loud skip naming the package (`scripts/install-deps.sh` installs
//! them).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::client::misuse_server;
use common::{compile_c, repo_root, run, run_with_env, scratch_dir};

/// Prints past the test harness's capture, so a skip is seen in a plain `cargo test`.
fn loud(msg: &str) {
    let _ = writeln!(std::io::stderr(), "\n*** {msg}\n");
}

fn cc_is_clang() -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(cc).arg("--version").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("clang"))
}

/// The C programs with the arguments they need; the server lives as long as the returned value.
struct Program {
    name: &'static str,
    args: Vec<String>,
    /// Text the program prints on success.
    ok: &'static str,
    flags: &'static [&'static str],
}

const POSIX: &[&str] = &["-D_POSIX_C_SOURCE=200809L", "-pthread"];

fn programs(server_args: &[String]) -> Vec<Program> {
    let with = |extra: &str| {
        let mut v = server_args.to_vec();
        v.extend(["ma@example.com", "mapw", "mb@example.com", "mbpw"].map(String::from));
        v.push(extra.into());
        v
    };
    vec![
        Program { name: "header_smoke", args: vec![], ok: "checks passed", flags: &[] },
        Program { name: "session_smoke", args: with("thread"), ok: "session_smoke: OK", flags: POSIX },
        Program { name: "session_smoke", args: with("poll"), ok: "session_smoke: OK", flags: POSIX },
        Program { name: "misuse", args: server_args.to_vec(), ok: "misuse: OK", flags: POSIX },
    ]
}

fn build(name: &str, tag: &str, flags: &[&str], extra: &[&str]) -> Result<PathBuf, String> {
    let exe = scratch_dir().join(format!("{name}_{tag}"));
    let src = repo_root().join(format!("tests/c/{name}.c"));
    let mut all: Vec<&str> = flags.to_vec();
    all.extend_from_slice(extra);
    compile_c(&[src.as_path()], &exe, &all)?;
    Ok(exe)
}

fn check_output(what: &str, p: &Program, out: &std::process::Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains(p.ok), "{what} {} {:?} ({}):\n{text}", p.name, p.args, out.status);
    text
}

#[test]
fn every_c_program_is_clean_under_address_sanitizer() {
    let asan = ["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1"];
    let probe = scratch_dir().join("asan_probe.c");
    std::fs::write(&probe, "int main(void) { return 0; }\n").unwrap();
    let linked = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(asan)
        .arg(&probe)
        .arg("-o")
        .arg(scratch_dir().join("asan_probe"))
        .status()
        .is_ok_and(|s| s.success());
    if !linked {
        let pkg = if cc_is_clang() { "libclang-rt-14-dev" } else { "libasan8" };
        loud(&format!("SKIPPED: AddressSanitizer runtime missing; apt-get install -y {pkg}"));
        return;
    }
    let (_server, args) = misuse_server();
    for p in programs(&args) {
        let exe = build(p.name, "asan", p.flags, &asan).unwrap_or_else(|e| panic!("{e}"));
        let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
        // Leaks are reported too (LeakSanitizer), in libmsim's allocations as well as the C side's.
        let env = [("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=86:halt_on_error=1")];
        let out = run_with_env(&exe, &args, &env, Duration::from_secs(180)).unwrap_or_else(|e| panic!("{e}"));
        let text = check_output("ASan", &p, &out);
        assert!(!text.contains("AddressSanitizer") && !text.contains("LeakSanitizer"), "{text}");
    }
}

fn valgrind() -> Option<PathBuf> {
    let ok = Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("valgrind"))
}

#[test]
fn every_c_program_is_clean_under_valgrind() {
    let Some(vg) = valgrind() else {
        loud("SKIPPED: valgrind not installed; apt-get install -y valgrind");
        return;
    };
    let (_server, args) = misuse_server();
    for p in programs(&args) {
        let exe = build(p.name, "vg", p.flags, &["-g"]).unwrap_or_else(|e| panic!("{e}"));
        let mut vargs: Vec<String> = [
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            "--child-silent-after-fork=yes",
        ]
        .map(String::from)
        .to_vec();
        vargs.push(exe.display().to_string());
        vargs.extend(p.args.iter().cloned());
        let vargs: Vec<&str> = vargs.iter().map(String::as_str).collect();
        let out = run(Path::new(&vg), &vargs, Duration::from_secs(400)).unwrap_or_else(|e| panic!("{e}"));
        let text = check_output("valgrind", &p, &out);
        assert!(text.contains("ERROR SUMMARY: 0 errors"), "{text}");
    }
}
