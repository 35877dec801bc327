//! `make install` (the top-level Makefile; README "Install"), the way a package build runs it:
//! `make`, then `make install DESTDIR=<stage> PREFIX=/usr`, then what a packager checks. The library is
//! `libmsim.so.<version>` with SONAME `libmsim.so.0` and the `libmsim.so.0` / `libmsim.so` links
//! (cargo-c's layout); every ELF file is stripped, with its debug info in `.debug/<name>.debug`
//! behind a matching debuglink; `msim.pc` has the real prefix and `examples-c/chat.c` builds with
//! nothing but its flags, records `libmsim.so.0` and signs on to a server; the static library links
//! too; the plugin and its icons are where libpurple and Pidgin look; exactly `make list-installed`
//! is installed, and `make uninstall` removes all of it.
//!
//! The build uses its own target directory: the running `cargo test` holds the lock of the main one.
//! Needs make, binutils and pkg-config (SKIPPED loudly without them); the plugin part needs
//! libpurple-dev (scripts/install-deps.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::installed::{self, debuglink, has_debug_info, needed, search_paths, soname, stdout_of};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const SONAME: &str = "libmsim.so.0";

/// The Makefile's target directory for this test (and tests/debian_packages.rs's cargo cache).
fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dist-target")
}

fn make(args: &[&str]) -> String {
    let mut cmd = Command::new("make");
    cmd.arg("--no-print-directory")
        .arg("-C")
        .arg(common::repo_root())
        .arg(format!("TARGET_DIR={}", target_dir().display()))
        .args(args);
    // A make above this test (if any) must not pass its jobserver or flags down.
    cmd.env_remove("MAKEFLAGS").env_remove("MFLAGS").env_remove("MAKELEVEL");
    stdout_of(&mut cmd)
}

/// Debian's multiarch triplet, which the Makefile puts under lib/ as cargo-c does; "" elsewhere.
fn multiarch() -> String {
    Command::new("dpkg-architecture")
        .arg("-qDEB_HOST_MULTIARCH")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn libpurple_present() -> bool {
    Command::new("pkg-config").args(["--exists", "purple", "glib-2.0"]).status().map(|s| s.success()).unwrap_or(false)
}

fn plugindir(prefix: Option<&str>) -> String {
    let mut cmd = Command::new("pkg-config");
    if let Some(p) = prefix {
        cmd.arg(format!("--define-variable=prefix={p}"));
    }
    stdout_of(cmd.args(["--variable=plugindir", "purple"])).trim().to_string()
}

fn read_link(p: &Path) -> String {
    std::fs::read_link(p).unwrap_or_else(|e| panic!("{} is not a symlink: {e}", p.display())).display().to_string()
}

/// Stripped, with a debuglink naming `.debug/<name>.debug` beside it, whose CRC matches that file,
/// which holds the DWARF.
fn assert_split_debug(file: &Path) {
    assert!(!has_debug_info(file), "{} still has debug sections", file.display());
    let name = format!("{}.debug", file.file_name().unwrap().to_string_lossy());
    let (link, crc) = debuglink(file).unwrap_or_else(|| panic!("{} has no .gnu_debuglink", file.display()));
    assert_eq!(link, name, "{}: debuglink", file.display());
    let debug = file.parent().unwrap().join(".debug").join(&name);
    let bytes = std::fs::read(&debug).unwrap_or_else(|e| panic!("{}: {e}", debug.display()));
    assert_eq!(crc, installed::crc32(&bytes), "{}: the debuglink's CRC is not the debug file's", file.display());
    assert!(has_debug_info(&debug), "{} holds no debug info", debug.display());
}

#[test]
fn make_install_stages_the_cargo_c_layout_and_make_uninstall_removes_it() {
    for tool in ["make", "readelf", "objcopy", "pkg-config"] {
        if !installed::tool_present(tool) {
            installed::skip(&format!("tests/install.rs needs {tool} (apt-get install -y make binutils pkg-config)"));
            return;
        }
    }
    let purple = libpurple_present();
    if !purple {
        installed::skip("libpurple-dev not installed: `make install` without the plugin is checked, not the plugin");
    }
    let stage = common::scratch_dir().join("install-stage");
    let _ = std::fs::remove_dir_all(&stage);
    let vars = [format!("DESTDIR={}", stage.display()), "PREFIX=/usr".to_string()];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();

    let started = Instant::now();
    make(&[]);
    println!("make (cargo build --release in {}): {:.0?}", target_dir().display(), started.elapsed());
    make(&[&["install"], vars.as_slice()].concat());
    // Writing the .pc file once probed rustc with `-o /dev/null`, which as root replaced the
    // device with a regular file (rustc renames its output into place) and broke every later
    // `>/dev/null` on the machine.
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(null.file_type().is_char_device(), "make install turned /dev/null into a regular file");

    // Exactly the files the Makefile says it installs, nothing else.
    let listed = make(&[&["-s", "list-installed"], vars.as_slice()].concat());
    let mut listed: Vec<String> = listed.lines().map(str::to_string).collect();
    listed.sort();
    assert_eq!(installed::files_under(&stage), listed, "the staged files are not `make list-installed`");

    let ma = multiarch();
    let libdir_rel = if ma.is_empty() { "lib".to_string() } else { format!("lib/{ma}") };
    let libdir = stage.join("usr").join(&libdir_rel);
    let real = format!("libmsim.so.{VERSION}");

    // The library: SONAME, the two links, stripped with its debug info beside it.
    assert_eq!(soname(&libdir.join(&real)).as_deref(), Some(SONAME));
    assert_eq!(read_link(&libdir.join(SONAME)), real);
    assert_eq!(read_link(&libdir.join("libmsim.so")), real);
    assert_split_debug(&libdir.join(&real));
    let server = stage.join("usr/bin/msim-server");
    assert_split_debug(&server);
    assert!(search_paths(&server).is_empty(), "msim-server has an rpath");
    assert!(!has_debug_info(&libdir.join("libmsim.a")), "libmsim.a keeps its debug sections");
    assert_eq!(
        std::fs::read(stage.join("usr/include/msim/msim.h")).unwrap(),
        std::fs::read(common::include_dir().join("msim.h")).unwrap(),
        "the installed header is not include/msim.h"
    );

    // msim.pc, with the real prefix.
    let pc = std::fs::read_to_string(libdir.join("pkgconfig/msim.pc")).unwrap();
    for line in [
        "prefix=/usr".to_string(),
        format!("libdir=${{prefix}}/{libdir_rel}"),
        "includedir=${prefix}/include".to_string(),
        format!("Version: {VERSION}"),
        "Libs: -L${libdir} -lmsim".to_string(),
        "Cflags: -I${includedir}/msim".to_string(),
    ] {
        assert!(pc.lines().any(|l| l == line), "msim.pc lacks {line:?}:\n{pc}");
    }

    // chat.c with nothing but pkg-config's flags (the staging tree as its sysroot), run against a
    // server with the staged library.
    let pkg_env = [("PKG_CONFIG_SYSROOT_DIR", stage.as_path()), ("PKG_CONFIG_LIBDIR", &libdir.join("pkgconfig"))];
    let chat = common::scratch_dir().join("chat-installed");
    let flags = installed::build_chat_with_pkg_config(&pkg_env, &chat);
    assert!(flags.contains(&format!("-I{}/usr/include/msim", stage.display())), "{flags}");
    assert!(needed(&chat).contains(&SONAME.to_string()), "chat does not record {SONAME}: {:?}", needed(&chat));
    assert!(search_paths(&chat).is_empty(), "chat has an rpath: {:?}", search_paths(&chat));
    let s = common::client::server_with(msim_server::Config { demo: true, log: false, ..Default::default() });
    installed::chat_signs_on_as_alice(&chat, s.addr(), &[("LD_LIBRARY_PATH", &libdir)]);

    // The static library: libmsim.a and Libs.private, no libmsim.so at run time.
    let private = stdout_of(Command::new("pkg-config").args(["--static", "--libs-only-l", "msim"]).envs(pkg_env));
    let chat_static = common::scratch_dir().join("chat-static");
    stdout_of(
        Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-std=c99", "-Wall", "-Werror", "-I"])
            .arg(stage.join("usr/include/msim"))
            .arg(common::repo_root().join("examples-c/chat.c"))
            .arg(libdir.join("libmsim.a"))
            .args(private.split_whitespace().filter(|l| *l != "-lmsim"))
            .arg("-o")
            .arg(&chat_static),
    );
    assert!(!needed(&chat_static).iter().any(|n| n.starts_with("libmsim")), "{:?}", needed(&chat_static));
    let out = common::run_command(Command::new(&chat_static), Duration::from_secs(10)).unwrap();
    assert_eq!(out.status.code(), Some(2), "chat without arguments prints its usage:\n{}", common::output_text(&out));

    // The plugin in libpurple's plugin dir (for PREFIX=/usr) and the icons in Pidgin's.
    if purple {
        let plugin = stage.join(plugindir(Some("/usr")).trim_start_matches('/')).join("libmsim-purple.so");
        assert_split_debug(&plugin);
        assert!(needed(&plugin).contains(&SONAME.to_string()), "{:?}", needed(&plugin));
        assert!(search_paths(&plugin).is_empty(), "the installed plugin has an rpath: {:?}", search_paths(&plugin));
        for size in ["16", "22", "48"] {
            let icon = format!("pixmaps/pidgin/protocols/{size}/myspace.png");
            assert_eq!(
                std::fs::read(stage.join("usr/share").join(&icon)).unwrap(),
                std::fs::read(common::repo_root().join(format!("examples-c/purple/icons/{size}/myspace.png"))).unwrap()
            );
        }
    }

    // Without PREFIX: the library in /usr/local, the plugin and icons where the system's libpurple
    // and Pidgin look; with PREFIX=/opt/msim, everything under it.
    let defaults = make(&["-s", "list-installed"]);
    let local_libdir = format!("/usr/local/{libdir_rel}");
    for path in
        [format!("{local_libdir}/{real}"), "/usr/local/include/msim/msim.h".into(), "/usr/local/bin/msim-server".into()]
    {
        assert!(defaults.lines().any(|l| l == path), "no {path} in:\n{defaults}");
    }
    let opt = make(&["-s", "list-installed", "PREFIX=/opt/msim"]);
    if purple {
        assert!(defaults.lines().any(|l| l == format!("{}/libmsim-purple.so", plugindir(None))), "{defaults}");
        assert!(defaults.lines().any(|l| l == "/usr/share/pixmaps/pidgin/protocols/48/myspace.png"), "{defaults}");
        assert!(opt.lines().any(|l| l == format!("{}/libmsim-purple.so", plugindir(Some("/opt/msim")))), "{opt}");
        assert!(opt.lines().any(|l| l == "/opt/msim/share/pixmaps/pidgin/protocols/48/myspace.png"), "{opt}");
    }
    assert!(opt.lines().all(|l| l.starts_with("/opt/msim/")), "PREFIX=/opt/msim installs outside it:\n{opt}");

    make(&[&["uninstall"], vars.as_slice()].concat());
    let left = installed::files_under(&stage);
    assert!(left.is_empty(), "make uninstall left {left:#?}");
}
