//! Running prpl-msim inside a real libpurple: the null-client harness `tests/c/purple_harness.c`
//! against an in-process msim-server, for a plugin directory and a Pidgin data dir that the caller
//! prepared. `tests/purple_harness.rs` gives it the plugin built from the tree;
//! `tests/debian_packages.rs` the directories the pidgin-msim package installed into.
//!
//! `HARNESS_DEBUG=1` shows libpurple's debug log; `HARNESS_WRAPPER="valgrind --error-exitcode=99"`
//! runs the harness under valgrind (the harness's own alarm allows 120 s).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::client::{server_with, Client};

/// What the harness prints when B should sign on from another client (error 6 for the harness).
const KICK_MARKER: &str = "# harness: sign on B elsewhere now";
/// What the harness prints when the server should go away.
const STOP_MARKER: &str = "# harness: stop the server now";
/// What the harness prints when B's picture should change (a new version, a new URL).
const PICTURE_MARKER: &str = "# harness: change B's picture now";
/// What the harness prints before importing friends: C should list A on the server.
const IMPORT_MARKER: &str = "# harness: C lists A now";
/// `# harness: expect A's contact B: group G, nickname N`: the server's record must say so.
const EXPECT_PREFIX: &str = "# harness: expect A's contact B: group ";
/// The harness has its own 120 s alarm; this is the backstop.
const OVERALL: Duration = Duration::from_secs(150);

pub fn pkg_config(args: &[&str]) -> Option<String> {
    let out = Command::new("pkg-config").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether libpurple-dev and libglib2.0-dev are there; says SKIPPED loudly when not.
pub fn libpurple_present() -> bool {
    if pkg_config(&["--exists", "purple", "glib-2.0"]).is_some() {
        return true;
    }
    // Straight to the stderr handle: libtest captures eprintln! of passing tests, and a skip must
    // be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n************************************************************************\n\
         SKIPPED: libpurple-dev not installed (apt-get install -y libpurple-dev libglib2.0-dev)\n\
         \x20        or run scripts/install-deps.sh as root\n\
         ************************************************************************"
    );
    false
}

/// An empty directory `name` in the scratch directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = super::scratch_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `make -C examples-c/purple` into `build`, against the libmsim of this test run, with `args`
/// added to make's command line (`CFLAGS=…`); the plugin it built.
pub fn build_plugin(build: &Path, args: &[&str]) -> PathBuf {
    let out = Command::new("make")
        .arg("-C")
        .arg(super::repo_root().join("examples-c/purple"))
        .arg(format!("MSIM_LIB_DIR={}", super::lib_dir().display()))
        .arg(format!("BUILD_DIR={}", build.display()))
        .args(args)
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make -C examples-c/purple failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    build.join("libmsim-purple.so")
}

fn build_harness(tag: &str) -> PathBuf {
    let cflags = pkg_config(&["--cflags", "purple", "glib-2.0"]).unwrap();
    let libs = pkg_config(&["--libs", "purple", "glib-2.0"]).unwrap();
    // -isystem: libpurple's own headers are not -pedantic clean (an enum value over INT_MAX);
    // our code still is.
    let cflags: Vec<String> = cflags
        .split_whitespace()
        .flat_map(|f| match f.strip_prefix("-I") {
            Some(dir) => vec!["-isystem".to_string(), dir.to_string()],
            None => vec![f.to_string()],
        })
        .collect();
    let cflags: Vec<&str> = cflags.iter().map(String::as_str).collect();
    let libs: Vec<&str> = libs.split_whitespace().collect();
    let dir = super::repo_root().join("tests/c");
    let srcs: Vec<PathBuf> =
        ["purple_harness.c", "purple_harness_ui.c", "purple_harness_actions.c", "purple_harness_buddies.c"]
            .iter()
            .map(|f| dir.join(f))
            .collect();
    let srcs: Vec<&Path> = srcs.iter().map(PathBuf::as_path).collect();
    let exe = super::scratch_dir().join(format!("purple-harness-{tag}"));
    super::compile_c_without_lib(&srcs, &exe, &cflags, &libs).unwrap();
    exe
}

/// `want` is "G, nickname N": polls A's contact record of B (the write is asynchronous) for a
/// few seconds.
fn expect_contact(s: &msim_server::Server, a: u32, b: u32, want: &str) -> Result<(), String> {
    let (group, nick) = want.split_once(", nickname ").ok_or_else(|| format!("bad expectation {want:?}"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let row = s.db().contact(a, b).map_err(|e| e.to_string())?;
        match &row {
            Some(r) if r.group == group && r.nickname == nick => return Ok(()),
            _ if Instant::now() >= deadline => return Err(format!("wanted {want:?}, the server has {row:?}")),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Builds the harness and runs it against a fresh server with accounts alice, bob and carol: libpurple
/// loads prpl-msim from `plugins` (no LD_LIBRARY_PATH: the plugin must find libmsim by itself) and
/// the harness looks for the protocol icons under `icon_datadir` the way Pidgin does. Asserts every
/// check passed. `tag` keeps the scratch files of different callers apart.
pub fn run_harness(tag: &str, plugins: &Path, icon_datadir: &Path) {
    let user_dir = fresh_dir(&format!("purple-user-{tag}"));
    let harness = build_harness(tag);

    // The HTTP side serves the pictures (buddy icons).
    let s = server_with(msim_server::Config { log: false, http_port: Some(0), ..Default::default() });
    let a = s.add_account("alice@example.com", "alicepw", Some("alice"), Some("Alice")).unwrap();
    let b = s.add_account("bob@example.com", "bobpw", Some("bob"), Some("Bob")).unwrap();
    let c = s.add_account("carol@example.com", "carolpw", Some("carol"), Some("Carol")).unwrap();
    s.add_account("dave@example.com", "davepw", None, Some("Dave")).unwrap();
    s.add_account("erin@example.com", "erinpw", None, Some("Erin")).unwrap();
    s.add_contact(a, b, "IM Friends").unwrap();
    s.add_contact(b, a, "IM Friends").unwrap();
    // B's picture, then another one: the project's demo pictures.
    let pictures = super::repo_root().join("server/pictures/demo");
    let (pic1, pic2) = (pictures.join("bob.png"), pictures.join("tom.png"));
    s.set_picture(b, &std::fs::read(&pic1).unwrap()).unwrap().expect("published");
    let port = s.addr().port().to_string();
    let mut server = Some(s);

    // HARNESS_WRAPPER="valgrind --error-exitcode=99" (say) runs the harness under a tool.
    let wrapper = std::env::var("HARNESS_WRAPPER").unwrap_or_default();
    let mut words: Vec<&str> = wrapper.split_whitespace().collect();
    let harness_path = harness.to_str().unwrap();
    words.push(harness_path);
    // No LD_LIBRARY_PATH: the plugin finds libmsim.so.0 itself (beside it through RUNPATH $ORIGIN,
    // or installed in the system library path).
    let mut child = Command::new(words[0])
        .args(&words[1..])
        .args([
            "127.0.0.1",
            &port,
            plugins.to_str().unwrap(),
            user_dir.to_str().unwrap(),
            "alice@example.com",
            "alicepw",
            "alice",
            "bob@example.com",
            "bobpw",
            "bob",
            "carol@example.com",
            "carolpw",
            "carol",
            "dave@example.com",
            "davepw",
            "erin@example.com",
            "erinpw",
        ])
        .env_remove("LD_LIBRARY_PATH")
        .env("HARNESS_ICON_DATADIR", icon_datadir)
        .env("HARNESS_B_PICTURE", &pic1)
        .env("HARNESS_B_PICTURE2", &pic2)
        .env("HARNESS_B_UID", b.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the harness");
    let (tx, rx) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let stderr_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });

    let deadline = Instant::now() + OVERALL;
    let mut lines = Vec::new();
    let mut elsewhere = Vec::new(); // sessions that replace the harness's B, kept until the end
    let mut driver_failures = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                println!("{line}");
                if line == KICK_MARKER {
                    if let Some(s) = &server {
                        elsewhere.push(Client::signed_on(s, "bob@example.com", "bobpw"));
                    }
                }
                if line == PICTURE_MARKER {
                    if let Some(s) = &server {
                        s.set_picture(b, &std::fs::read(&pic2).unwrap()).unwrap();
                    }
                }
                if line == IMPORT_MARKER {
                    if let Some(s) = &server {
                        s.add_contact(c, a, "IM Friends").unwrap();
                    }
                }
                if let (Some(want), Some(s)) = (line.strip_prefix(EXPECT_PREFIX), &server) {
                    let result = expect_contact(s, a, b, want);
                    println!(
                        "{} driver - A's contact B on the server: group {want}",
                        if result.is_ok() { "ok" } else { "not ok" }
                    );
                    if let Err(e) = result {
                        driver_failures.push(e);
                    }
                }
                if line == STOP_MARKER {
                    if let Some(s) = server.take() {
                        s.stop();
                    }
                }
                lines.push(line);
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    let stderr = stderr_t.join().unwrap();
    if std::env::var_os("HARNESS_DEBUG").is_some() {
        eprintln!("--- harness stderr (libpurple debug log)\n{stderr}");
    }
    let report = format!("{}\n--- stderr\n{stderr}", lines.join("\n"));
    let failed: Vec<&String> = lines.iter().filter(|l| l.starts_with("not ok")).collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}\n{report}");
    assert!(driver_failures.is_empty(), "the server's contact records: {driver_failures:#?}\n{report}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with(EXPECT_PREFIX)).count(),
        2,
        "the harness asked for both contact-record checks (nickname, group)\n{report}"
    );
    assert_eq!(status.code(), Some(0), "harness exit {status:?}\n{report}");
    let passed = lines.iter().filter(|l| l.starts_with("ok ")).count();
    assert!(passed >= 80, "only {passed} checks ran\n{report}");
    assert!(lines.iter().any(|l| l == STOP_MARKER), "the harness never reached the shutdown step\n{report}");
}
