//! The C programs in `examples-c/`: they build with warnings as errors, the README's example is
//! `examples-c/readme_example.c` verbatim, and `demo.c` and `chat.c` run against msim-server's demo
//! accounts.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::client::server_with;
use common::{compile_c, lib_dir, repo_root, run, run_with_env, scratch_dir};

/// Builds `examples-c/<name>.c`; `tag` names this test's copy (tests run in parallel).
fn build(name: &str, tag: &str) -> PathBuf {
    let exe = scratch_dir().join(format!("example_{name}_{tag}"));
    let src = repo_root().join(format!("examples-c/{name}.c"));
    compile_c(&[src.as_path()], &exe, &[]).unwrap_or_else(|e| panic!("{e}"));
    exe
}

fn demo_server() -> msim_server::Server {
    server_with(msim_server::Config { demo: true, log: false, ..Default::default() })
}

#[test]
fn readme_example_is_the_compiled_file_and_builds_with_warnings_as_errors() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let example = std::fs::read_to_string(repo_root().join("examples-c/readme_example.c")).unwrap();
    assert!(
        readme.contains(&format!("```c\n{example}```")),
        "README.md's C example differs from examples-c/readme_example.c; copy the file into the README"
    );
    build("readme_example", "readme");
}

#[test]
fn demo_runs_the_whole_conversation_and_exits_0() {
    let s = demo_server();
    let exe = build("demo", "demo");
    let addr = s.addr();
    let out = run(&exe, &[&addr.ip().to_string(), &addr.port().to_string()], Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "demo failed:\n{text}");
    for expected in [
        "alice | signed on as alice",
        "bob   | alice is typing...",
        "      |   plain: Hi Bob! Have you seen the new msim library?",
        "bob   | alice zapped you: Hug (zap 4)",
        "alice | bob is now away (\"lunch, back in 5\")",
        "alice | bob is now offline",
        "demo finished.",
    ] {
        assert!(text.contains(expected), "demo output lacks {expected:?}:\n{text}");
    }
}

#[test]
fn chat_signs_on_lists_buddies_and_signs_off_at_end_of_input() {
    let s = demo_server();
    let exe = build("chat", "signs_off");
    let addr = s.addr();
    // stdin is empty (run() gives /dev/null): chat signs on, then signs off.
    let args = [&addr.ip().to_string(), &addr.port().to_string(), "alice@example.com"];
    let out = run_with_env(&exe, &args, &[("MSIM_PASSWORD", "alicepw")], Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chat failed:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    for expected in ["* signed on as alice", "buddies (3):", "bob", "* signed off", "* bye"] {
        assert!(text.contains(expected), "chat output lacks {expected:?}:\n{text}");
    }
}

#[test]
fn chat_reports_a_wrong_password_and_exits_1() {
    let s = demo_server();
    let exe = build("chat", "wrong_password");
    let addr = s.addr();
    let out = run(
        &exe,
        &[&addr.ip().to_string(), &addr.port().to_string(), "alice@example.com", "nope"],
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("login failed: wrong password (server error 260)"), "{err}");
}

#[test]
fn chat_builds_through_the_pkg_config_file() {
    if Command::new("pkg-config").arg("--version").output().is_err() {
        eprintln!("skipped: pkg-config is not installed");
        return;
    }
    let dir = scratch_dir().join("pkgconfig");
    std::fs::create_dir_all(&dir).unwrap();
    let pc = Command::new(repo_root().join("scripts/msim-pc.sh")).arg("--libdir").arg(lib_dir()).output().unwrap();
    assert!(pc.status.success(), "{}", String::from_utf8_lossy(&pc.stderr));
    std::fs::write(dir.join("msim.pc"), &pc.stdout).unwrap();
    let flags =
        Command::new("pkg-config").args(["--cflags", "--libs", "msim"]).env("PKG_CONFIG_PATH", &dir).output().unwrap();
    assert!(flags.status.success(), "pkg-config: {}", String::from_utf8_lossy(&flags.stderr));
    let flags = String::from_utf8(flags.stdout).unwrap();
    let exe = scratch_dir().join("chat_pkgconfig");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(cc)
        .args(["-std=c99", "-Wall", "-Werror"])
        .arg(repo_root().join("examples-c/chat.c"))
        .args(flags.split_whitespace())
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap();
    assert!(status.success(), "cc with `pkg-config --cflags --libs msim` ({flags}) failed");
    let out = Command::new(&exe).output().unwrap(); // no arguments: usage, exit 2 — it links and runs
    assert_eq!(out.status.code(), Some(2));
}

/// The README's example against what a reader has: first no server at all (it must say so and
/// exit, not hang), then `msim-server --demo` on 127.0.0.1:1863, where bob gets its IM.
#[test]
fn readme_example_reports_a_missing_server_and_reaches_bob_on_a_demo_server() {
    if std::net::TcpStream::connect(("127.0.0.1", 1863)).is_ok() {
        eprintln!("SKIPPED: something listens on 127.0.0.1:1863; the README example test needs it free");
        return;
    }
    let exe = build("readme_example", "run");
    let out = run(&exe, &[], Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("login failed:"), "{err}");

    let cfg = msim_server::Config { demo: true, log: false, listen: "127.0.0.1:1863".into(), ..Default::default() };
    let Ok(s) = msim_server::Server::start(cfg) else {
        eprintln!("SKIPPED: cannot listen on 127.0.0.1:1863");
        return;
    };
    let mut bob = common::client::Client::signed_on(&s, "bob@example.com", "bobpw");
    let mut child = Command::new(&exe).env("LD_LIBRARY_PATH", lib_dir()).spawn().unwrap();
    let got = bob.wait(|e| matches!(e, msim::client::Event::ImReceived { .. }));
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        matches!(&got, msim::client::Event::ImReceived { username: Some(u), plain, .. } if u == "alice" && plain == "Hi Bob!"),
        "{got:?}"
    );
}
