//! The plugin descriptor from a host's side: `examples-c/loader/loader.c`, a Pidgin-like loader
//! that never links libmsim, scans a plugin directory, rejects what is not a compatible msim
//! plugin, and signs on through the operations table with poll-fd dispatch against msim-server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use common::client::{server, Client};
use msim::client::Event;
use msim::ffi::plugin::{MSIM_PLUGIN_ABI_MAJOR, MSIM_PLUGIN_ABI_MINOR};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The loader, built once per test run, without libmsim (a link error would show any direct use).
fn loader() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let src = common::repo_root().join("examples-c/loader/loader.c");
        let exe = common::scratch_dir().join("plugin-loader");
        common::compile_c_without_lib(&[&src], &exe, &[], &["-ldl"]).unwrap();
        exe
    })
}

/// A fresh plugin directory holding a copy of libmsim.so and, with `junk`, every kind of file a
/// loader must refuse and survive: mismatched descriptors, a shared object without the entry
/// point, and random bytes named `x.so`.
fn plugin_dir(name: &str, junk: bool) -> PathBuf {
    let dir = common::scratch_dir().join(format!("plugins-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lib = format!("{}msim{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    std::fs::copy(common::lib_dir().join(&lib), dir.join(&lib)).unwrap();
    if junk {
        let c = common::repo_root().join("tests/c");
        let fake = c.join("plugin_fake.c");
        for (file, flags) in [
            ("bad_magic.so", "-DFAKE_MAGIC=0x12345678u"),
            ("bad_major.so", "-DFAKE_MAJOR=(MSIM_PLUGIN_ABI_MAJOR+1)"),
            ("newer_minor.so", "-DFAKE_MINOR=(MSIM_PLUGIN_ABI_MINOR+1)"),
            ("no_ops.so", "-DFAKE_ID=\"prpl-fake\""),
        ] {
            common::compile_c_shared(&[&fake], &dir.join(file), &[flags]).unwrap();
        }
        common::compile_c_shared(&[&c.join("not_a_plugin.c")], &dir.join("not_a_plugin.so"), &[]).unwrap();
        // Deterministic "random" bytes: not an ELF file.
        let bytes: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        std::fs::write(dir.join("x.so"), bytes).unwrap();
        std::fs::write(dir.join("README.txt"), "not a .so: never opened").unwrap();
    }
    dir
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `loader --run` as alice on 127.0.0.1:`port` with `password`, plus `extra` arguments.
fn run_session(dir: &Path, port: &str, password: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = dir.to_str().unwrap();
    let mut args = vec!["--dir", dir, "--run", "--host", "127.0.0.1", "--port", port];
    args.extend(["--email", "alice@example.com", "--password", password]);
    args.extend_from_slice(extra);
    args.extend(["--timeout", "20"]);
    run_loader(&args)
}

fn run_loader(args: &[&str]) -> (i32, String, String) {
    let out = common::run(loader(), args, TIMEOUT).unwrap();
    let (stdout, stderr) = text(&out);
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn list_accepts_libmsim_and_rejects_every_mismatched_or_broken_file() {
    let dir = plugin_dir("list", true);
    let (code, stdout, stderr) = run_loader(&["--dir", dir.to_str().unwrap(), "--list"]);
    let all = format!("exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(code, 0, "{all}");
    let (major, minor) = (MSIM_PLUGIN_ABI_MAJOR, MSIM_PLUGIN_ABI_MINOR);
    let version = format!("version {} ABI {major}.{minor}", env!("CARGO_PKG_VERSION"));
    assert!(stdout.contains("plugin prpl-msim \"MySpaceIM\" ") && stdout.contains(&version), "{all}");
    assert!(stdout.contains("1 plugin(s) loaded"), "{all}");
    for (file, reason) in [
        ("bad_magic.so", "not an msim plugin: bad magic 0x12345678 (expected 0x4D53494D)".to_owned()),
        ("bad_major.so", format!("incompatible ABI {}.{minor}: major must be {major}", major + 1)),
        (
            "newer_minor.so",
            format!("incompatible ABI {major}.{}: needs a newer host (this host has ABI {major}.{minor})", minor + 1),
        ),
        ("no_ops.so", "missing operation options_init".to_owned()),
        ("not_a_plugin.so", "not a plugin (no msim_plugin_init symbol)".to_owned()),
        ("x.so", "cannot load".to_owned()),
    ] {
        let line = format!("loader: rejected {}: {reason}", dir.join(file).display());
        assert!(stderr.contains(&line), "expected {line:?}\n{all}");
    }
    assert!(!stderr.contains("README.txt"), "{all}");
}

#[test]
fn empty_directory_lists_nothing_and_fails() {
    let dir = common::scratch_dir().join("plugins-empty");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (code, stdout, _) = run_loader(&["--dir", dir.to_str().unwrap(), "--list"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("0 plugin(s) loaded"), "{stdout}");
}

/// Alice runs the loader (operations table + poll-fd dispatch only) among junk plugins; Bob is a
/// Rust session. Alice's IM reaches Bob, Bob's reply reaches the loader, which then stops.
#[test]
fn im_through_the_operations_table_reaches_a_second_session_and_back() {
    let s = server();
    let a = s.add_account("alice@example.com", "alicepw", Some("alice"), Some("Alice")).unwrap();
    let b = s.add_account("bob@example.com", "bobpw", Some("bob"), Some("Bob")).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    let mut bob = Client::signed_on(&s, "bob@example.com", "bobpw");

    let dir = plugin_dir("run", true);
    let port = s.addr().port().to_string();
    let to = b.to_string();
    let alice = std::thread::spawn(move || {
        let extra = ["--to", &to, "--message", "<b>hello</b> from the plugin table", "--until-im", "pong"];
        run_session(&dir, &port, "alicepw", &extra)
    });

    // The loader uses a minor-1 operation after checking MSIM_PLUGIN_HAS_OP: the window-opened
    // notice (bm 122) arrives before the IM, as typing on and off.
    bob.wait(|e| matches!(e, Event::Typing { from, typing: true, .. } if *from == a));
    bob.wait(|e| matches!(e, Event::Typing { from, typing: false, .. } if *from == a));
    let ev = bob.wait(|e| matches!(e, Event::ImReceived { from, .. } if *from == a));
    let Event::ImReceived { plain, html, .. } = ev else { unreachable!() };
    assert_eq!(plain, "hello from the plugin table");
    assert!(html.contains("<b>hello</b>"), "{html}");
    bob.session.send_im(&a.to_string(), "pong <i>back</i>").unwrap();

    let (code, stdout, stderr) = alice.join().unwrap();
    let all = format!("exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(code, 0, "{all}");
    for want in [
        "progress 1/".to_string(),
        format!("signed-on uid={a} username=alice"),
        format!("window-opened to={b} ok"),
        format!("sent to={b} id="),
        format!("im from={b} username=bob offline=0 html="),
        "plain=pong back".to_string(),
        "disconnected reason=0".to_string(),
    ] {
        assert!(stdout.contains(&want), "expected {want:?}\n{all}");
    }
    // The junk was rejected on the way, and did not stop the run.
    assert!(stderr.contains("rejected") && stderr.contains("x.so"), "{all}");
}

#[test]
fn bad_password_ends_the_run_with_login_failed_260() {
    let s = server();
    s.add_account("alice@example.com", "alicepw", Some("alice"), None).unwrap();
    let dir = plugin_dir("badpw", false);
    let port = s.addr().port().to_string();
    let (code, stdout, stderr) = run_session(&dir, &port, "wrong", &[]);
    let all = format!("exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(code, 2, "{all}");
    // MSIM_LOGIN_FAILURE_BAD_PASSWORD = 0, server error 260 (SPEC §16.2).
    assert!(stdout.contains("login-failed reason=0 code=260"), "{all}");
}

#[test]
fn nothing_listening_is_a_network_login_failure() {
    // A port that was just free: bind, read the number, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let dir = plugin_dir("refused", false);
    let (code, stdout, stderr) = run_session(&dir, &port, "x", &[]);
    let all = format!("exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(code, 2, "{all}");
    // MSIM_LOGIN_FAILURE_NETWORK = 3.
    assert!(stdout.contains("login-failed reason=3"), "{all}");
}
