//! The Debian packages (`debian/`, README "Install"), end to end on this machine: builds them from a
//! copy of the tree with `dpkg-buildpackage -b -us -uc`, installs libmsim0, libmsim-dev,
//! pidgin-msim and msim-server with `dpkg -i`, and uses them as a user would: `examples-c/chat.c`
//! built with nothing but `cc chat.c $(pkg-config --cflags --libs msim)` signs on to the installed
//! `/usr/bin/msim-server` (started here on a loopback port with a temporary database), and libpurple
//! loads the installed plugin and icons from where the package put them (the harness of
//! tests/purple_harness.rs, nothing copied by hand). Then `dpkg --purge` must take every file of
//! `dpkg -L` away and leave the file system as it was.
//!
//! Root only (it installs packages system-wide, and purges any msim package found installed
//! first): anyone else gets a loud SKIPPED. The build dependencies come from
//! `scripts/install-deps.sh` (apt-get); the Rust toolchain is the one on PATH, crates come from
//! crates.io. The build has its own cargo target directory (a full release build the first time).

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::installed::{self, has_debug_info, needed, search_paths, soname, stdout_of};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const PACKAGES: [&str; 4] = ["libmsim0", "libmsim-dev", "pidgin-msim", "msim-server"];

/// Directories whose contents change on their own (caches, logs, package databases) or that the
/// test itself writes: left out of the before/after comparison.
const UNWATCHED: [&str; 6] = ["/var/cache", "/var/log", "/var/tmp", "/var/lib/apt", "/var/lib/dpkg", "/var/backups"];

fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("debian-packages")
}

fn is_root() -> bool {
    stdout_of(Command::new("id").arg("-u")).trim() == "0"
}

/// Purges the packages, whatever state they are in (dpkg ignores packages that are not installed).
fn purge() -> std::process::Output {
    Command::new("dpkg").arg("--purge").args(PACKAGES).output().expect("run dpkg --purge")
}

/// Files that were on the machine, owned by no package, where the packages install theirs (e.g. the
/// icons from an earlier `sudo make install-icons`): dpkg would take them over and purge would
/// delete them. They are moved into the work dir before `dpkg -i` and put back after the purge.
/// Dropped early (a failed assertion), it purges the packages and puts the files back, so a failure
/// leaves the machine as it found it.
struct Machine {
    aside: Vec<(PathBuf, PathBuf)>,
}

impl Machine {
    fn set_aside(debs: &[PathBuf]) -> Machine {
        let dir = work_dir().join("set-aside");
        let mut aside = Vec::new();
        for deb in debs {
            for line in stdout_of(Command::new("dpkg-deb").arg("-c").arg(deb)).lines() {
                // "-rw-r--r-- root/root 560 2026-12-07 03:00 ./usr/share/.../myspace.png" (or "l... a -> b")
                let Some(path) = line.split_whitespace().nth(5) else { continue };
                let path = Path::new(path.trim_start_matches('.'));
                if line.starts_with('d') || path.symlink_metadata().is_err() {
                    continue;
                }
                if Command::new("dpkg").arg("-S").arg(path).output().is_ok_and(|o| o.status.success()) {
                    continue; // another package's file: dpkg -i refuses to overwrite it, and says so
                }
                let to = dir.join(path.strip_prefix("/").unwrap());
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::rename(path, &to).unwrap_or_else(|e| panic!("set {} aside: {e}", path.display()));
                println!("{} belongs to no package: set aside until the packages are purged", path.display());
                aside.push((path.to_path_buf(), to));
            }
        }
        Machine { aside }
    }

    fn restore(&mut self) {
        for (path, moved) in self.aside.drain(..) {
            if let Err(e) = std::fs::rename(&moved, &path) {
                eprintln!("cannot put {} back from {}: {e}", path.display(), moved.display());
            }
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if !self.aside.is_empty() || std::thread::panicking() {
            let _ = purge();
            self.restore();
        }
    }
}

/// The tree's files (git's view when it is a checkout: tracked and untracked-but-not-ignored), copied
/// to `dest` with their modes. The package is built from the copy: dpkg-buildpackage writes the
/// .debs into the parent directory and its work files into debian/.
fn copy_tree(dest: &Path) {
    let root = common::repo_root();
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .expect("run git ls-files");
    assert!(listed.status.success(), "git ls-files: {}", String::from_utf8_lossy(&listed.stderr));
    for rel in listed.stdout.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).unwrap());
        let from = root.join(rel);
        if !from.is_file() {
            continue; // deleted in the work tree but still in the index
        }
        let to = dest.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// Every path under the watched top-level directories, except [`UNWATCHED`].
fn snapshot() -> BTreeSet<String> {
    let mut cmd = Command::new("find");
    cmd.args(["/usr", "/etc", "/var", "/opt", "/srv", "-xdev", "("]);
    for (i, dir) in UNWATCHED.iter().enumerate() {
        if i > 0 {
            cmd.arg("-o");
        }
        cmd.args(["-path", dir]);
    }
    cmd.args([")", "-prune", "-o", "-print"]);
    let out = cmd.stderr(Stdio::null()).output().expect("run find");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn dpkg_list(package: &str) -> Vec<String> {
    stdout_of(Command::new("dpkg").args(["-L", package])).lines().map(str::to_string).filter(|l| l != "/.").collect()
}

/// A port nobody listens on now (the kernel's pick for port 0, released again).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `cmd` with its output in `work_dir()/<log>` and waits until it accepts connections on
/// `addr`. (Waiting for the port rather than reading the log: the log format is the server's.)
fn start_server(mut cmd: Command, addr: SocketAddr, log: &str) -> Child {
    let log = work_dir().join(log);
    let file = std::fs::File::create(&log).unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        let text = || std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{cmd:?} exited ({status}):\n{}", text());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} does not listen on {addr}:\n{}", text());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// What systemd would do with the unit, as far as a machine without a running systemd allows: the
/// state directory /var/lib/msim-server owned by the service's user, then the unit's ExecStart as
/// that unprivileged user (nobody standing in for the dynamic user) with only the port changed. It
/// must listen and keep its database in the state directory, which purge must remove. (With
/// DynamicUser=, systemd keeps the directory in /var/lib/private/msim-server and links it; the
/// service reaches it through a mount namespace this test does not build. postrm removes both.)
fn run_like_the_unit(exec_start: &str) {
    use std::os::unix::fs::MetadataExt;
    const NOBODY: u32 = 65534;
    let state = Path::new("/var/lib/msim-server");
    std::fs::create_dir(state).unwrap_or_else(|e| panic!("{}: {e}", state.display()));
    std::os::unix::fs::chown(state, Some(NOBODY), Some(NOBODY)).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut argv: Vec<String> = exec_start.split_whitespace().map(str::to_string).collect();
    let listen = argv.iter().position(|a| a == "--listen").expect("ExecStart gives --listen") + 1;
    argv[listen] = addr.to_string();
    let mut cmd = Command::new("setpriv");
    cmd.args([format!("--reuid={NOBODY}"), format!("--regid={NOBODY}"), "--clear-groups".into(), "--".into()])
        .args(&argv);
    stop(start_server(cmd, addr, "msim-server-unit.log"));
    let db = state.join("msim-server.db");
    let meta = db.metadata().unwrap_or_else(|e| panic!("ExecStart made no {}: {e}", db.display()));
    assert_eq!(meta.uid(), NOBODY, "{} is not the service user's", db.display());
}

/// The unit runs the server as its own (dynamic) user on its state directory, and systemd accepts it.
/// Returns its ExecStart command line.
fn check_systemd_unit(files: &[String]) -> String {
    let unit = files
        .iter()
        .find(|f| f.ends_with("/systemd/system/msim-server.service"))
        .unwrap_or_else(|| panic!("msim-server ships no systemd unit: {files:#?}"));
    let text = std::fs::read_to_string(unit).unwrap();
    for line in [
        "DynamicUser=yes",
        "StateDirectory=msim-server",
        "ExecStart=/usr/bin/msim-server --listen 127.0.0.1:1863 --db /var/lib/msim-server/msim-server.db",
        "WantedBy=multi-user.target",
    ] {
        assert!(text.lines().any(|l| l == line), "{unit} lacks {line:?}:\n{text}");
    }
    if installed::tool_present("systemd-analyze") {
        let out = Command::new("systemd-analyze").args(["verify", unit]).output().unwrap();
        let out = common::output_text(&out);
        assert!(out.trim().is_empty(), "systemd-analyze verify {unit}:\n{out}");
    } else {
        installed::skip("systemd-analyze not installed: the unit's syntax is not verified");
    }
    text.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap().to_string()
}

#[test]
fn debian_packages_build_install_work_and_purge_without_a_trace() {
    if !is_root() {
        installed::skip("tests/debian_packages.rs installs packages: run it as root (CI does)");
        return;
    }
    if !installed::tool_present("dpkg-buildpackage") && !Path::new("/usr/bin/apt-get").exists() {
        installed::skip("not a Debian system (no dpkg-buildpackage, no apt-get)");
        return;
    }
    let total = Instant::now();
    // The build dependencies (debhelper, build-essential, libpurple-dev, ...), with apt-get.
    stdout_of(&mut Command::new(common::repo_root().join("scripts/install-deps.sh")));

    let work = work_dir();
    let src = work.join(format!("msim-{VERSION}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&src).unwrap();
    copy_tree(&src);
    stdout_of(Command::new("dpkg-checkbuilddeps").current_dir(&src));

    let started = Instant::now();
    let log = work.join("dpkg-buildpackage.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let status = Command::new("dpkg-buildpackage")
        .args(["-b", "-us", "-uc"])
        .current_dir(&src)
        .env("CARGO_TARGET_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deb-target"))
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .status()
        .expect("run dpkg-buildpackage");
    let build_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "dpkg-buildpackage -b -us -uc failed ({status}):\n{build_log}");
    println!("dpkg-buildpackage -b -us -uc: {:.0?}", started.elapsed());

    let arch = stdout_of(Command::new("dpkg").arg("--print-architecture")).trim().to_string();
    let deb = |p: &str| work.join(format!("{p}_{VERSION}_{arch}.deb"));
    let field = |p: &str, f: &str| stdout_of(Command::new("dpkg-deb").arg("-f").arg(deb(p)).arg(f)).trim().to_string();
    let pidgin_depends = field("pidgin-msim", "Depends");
    for dep in ["libpurple0", &format!("libmsim0 (= {VERSION})")] {
        assert!(pidgin_depends.contains(dep), "pidgin-msim does not depend on {dep}: {pidgin_depends}");
    }
    assert!(field("libmsim-dev", "Depends").contains(&format!("libmsim0 (= {VERSION})")));

    let printed = purge();
    assert!(printed.status.success(), "dpkg --purge (before): {}", common::output_text(&printed));
    let before = snapshot();
    let mut machine = Machine::set_aside(&PACKAGES.map(deb));
    let install = Command::new("dpkg").arg("-i").args(PACKAGES.map(deb)).output().unwrap();
    assert!(install.status.success(), "dpkg -i:\n{}", common::output_text(&install));

    // dpkg -L: every listed path exists; the files a user needs are among them.
    let mut files = Vec::new();
    for p in PACKAGES {
        let list = dpkg_list(p);
        for f in &list {
            assert!(Path::new(f).symlink_metadata().is_ok(), "{p}: dpkg -L lists {f}, which is not there");
        }
        files.extend(list);
    }
    let has = |f: &str| files.iter().any(|l| l == f);
    let ma = stdout_of(Command::new("dpkg-architecture").arg("-qDEB_HOST_MULTIARCH")).trim().to_string();
    let libdir = format!("/usr/lib/{ma}");
    let real = format!("{libdir}/libmsim.so.{VERSION}");
    let plugindir = stdout_of(Command::new("pkg-config").args(["--variable=plugindir", "purple"])).trim().to_string();
    let plugin = format!("{plugindir}/libmsim-purple.so");
    for f in [
        real.clone(),
        format!("{libdir}/libmsim.so.0"),
        format!("{libdir}/libmsim.so"),
        format!("{libdir}/libmsim.a"),
        format!("{libdir}/pkgconfig/msim.pc"),
        "/usr/include/msim/msim.h".into(),
        "/usr/bin/msim-server".into(),
        plugin.clone(),
        "/usr/share/pixmaps/pidgin/protocols/16/myspace.png".into(),
        "/usr/share/pixmaps/pidgin/protocols/22/myspace.png".into(),
        "/usr/share/pixmaps/pidgin/protocols/48/myspace.png".into(),
    ] {
        assert!(has(&f), "no package installed {f}");
    }
    assert_eq!(soname(Path::new(&real)).as_deref(), Some("libmsim.so.0"));
    assert_eq!(
        std::fs::read_link(format!("{libdir}/libmsim.so.0")).unwrap(),
        PathBuf::from(format!("libmsim.so.{VERSION}"))
    );
    // Stripped, the debug info in libmsim0-dbgsym under the library's build id.
    assert!(!has_debug_info(Path::new(&real)), "the packaged libmsim keeps its debug info");
    let notes = stdout_of(Command::new("readelf").args(["-n", &real]));
    let build_id = notes.lines().find_map(|l| l.trim().strip_prefix("Build ID: ")).expect("libmsim has a build id");
    let dbgsym =
        stdout_of(Command::new("dpkg-deb").arg("-c").arg(work.join(format!("libmsim0-dbgsym_{VERSION}_{arch}.deb"))));
    let debug_file = format!("/usr/lib/debug/.build-id/{}/{}.debug", &build_id[..2], &build_id[2..]);
    assert!(dbgsym.contains(&format!(".{debug_file}")), "libmsim0-dbgsym lacks {debug_file}:\n{dbgsym}");
    assert!(search_paths(Path::new(&plugin)).is_empty(), "the packaged plugin has an rpath");
    assert!(needed(Path::new(&plugin)).contains(&"libmsim.so.0".to_string()));
    let exec_start = check_systemd_unit(&files);
    run_like_the_unit(&exec_start);

    // chat.c with nothing but pkg-config's flags, against the installed server.
    let chat = work.join("chat");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    stdout_of(
        Command::new("sh")
            .arg("-c")
            .arg(format!("{cc} examples-c/chat.c $(pkg-config --cflags --libs msim) -o {}", chat.display()))
            .current_dir(common::repo_root())
            .env_remove("PKG_CONFIG_PATH")
            .env_remove("PKG_CONFIG_LIBDIR")
            .env_remove("PKG_CONFIG_SYSROOT_DIR"),
    );
    assert!(search_paths(&chat).is_empty() && needed(&chat).contains(&"libmsim.so.0".to_string()));
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let db = work.join("msim-server.db");
    let mut cmd = Command::new("/usr/bin/msim-server");
    cmd.args(["--listen", &addr.to_string(), "--demo", "--db"]).arg(&db);
    let server = start_server(cmd, addr, "msim-server.log");
    installed::chat_signs_on_as_alice(&chat, addr, &[]);
    stop(server);
    assert!(db.is_file(), "msim-server --db {} made no database", db.display());

    // libpurple loads the installed plugin from its plugin dir; the icons are in Pidgin's data dir.
    if common::purple::libpurple_present() {
        common::purple::run_harness("deb", Path::new(&plugindir), Path::new("/usr/share"));
    }

    // Purge: every file dpkg -L listed is gone, and nothing near them appeared or disappeared.
    let printed = purge();
    assert!(printed.status.success(), "dpkg --purge: {}", common::output_text(&printed));
    for f in &files {
        // Directories stay when other packages use them (/lib is even a link to usr/lib here).
        let p = Path::new(f);
        if p.symlink_metadata().is_ok() && !p.metadata().is_ok_and(|m| m.is_dir()) {
            panic!("{f} is still there after dpkg --purge");
        }
    }
    assert!(
        Path::new("/var/lib/msim-server").symlink_metadata().is_err(),
        "/var/lib/msim-server outlived dpkg --purge"
    );
    machine.restore();
    let after = snapshot();
    // Paths of ours: anything named msim, or in a directory the packages put files in (what
    // else changes meanwhile on a shared machine is not this test's business).
    let touched: BTreeSet<&str> = files.iter().filter_map(|f| Path::new(f).parent()?.to_str()).collect();
    let ours = |p: &&String| {
        p.contains("msim") || Path::new(p.as_str()).parent().and_then(Path::to_str).is_some_and(|d| touched.contains(d))
    };
    let appeared: Vec<&String> = after.difference(&before).filter(ours).collect();
    let vanished: Vec<&String> = before.difference(&after).filter(ours).collect();
    assert!(appeared.is_empty() && vanished.is_empty(), "after dpkg --purge: new {appeared:#?}, gone {vanished:#?}");
    println!("debian packages: built, installed, used and purged in {:.0?}", total.elapsed());
}
