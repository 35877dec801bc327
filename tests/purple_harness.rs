//! prpl-msim inside a real libpurple: builds `examples-c/purple` against this run's libmsim, puts
//! `libmsim-purple.so` and `libmsim.so.0` (the SONAME it records) in a plugin directory, and runs
//! the null-client harness `tests/c/purple_harness*.c` against msim-server (the protocol icons
//! `make install-icons` puts where Pidgin looks for `list_icon`'s name, IMs, an offline IM in the
//! buddy's own conversation with its time, presence, idle, invisible, typing, zaps, get_info, own
//! profile (set_public_alias, the tune status), block, privacy (set_permit_deny, add/rem_permit),
//! add/remove buddy, rename/remove group, bad password, sign off/on, signed on elsewhere, server
//! shutdown; and issue 12: buddy icons from msim-server's HTTP side, the account actions (set
//! username, find people, import friends, change profile), the username flow of an account without
//! one, inbox alerts on and off, the zap submenu, normalize, the away tooltip, nickname and group
//! writes). The harness prints TAP-like `ok`/`not ok` lines; its exit code is the number of
//! failures. The run itself is `tests/common/purple.rs` (shared with tests/debian_packages.rs,
//! which loads the installed plugin).

mod common;

use std::path::Path;
use std::process::Command;

use common::purple::{build_plugin, fresh_dir, libpurple_present, pkg_config, run_harness};

/// `make -C examples-c/purple install-icons` into `destdir` (PREFIX=/usr, Debian's Pidgin data dir).
fn make_install_icons(destdir: &Path) {
    let out = Command::new("make")
        .arg("-C")
        .arg(common::repo_root().join("examples-c/purple"))
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg("PREFIX=/usr")
        .arg("install-icons")
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make install-icons failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prpl_msim_in_libpurple_against_msim_server() {
    if !libpurple_present() {
        return;
    }
    let version = pkg_config(&["--modversion", "purple"]).unwrap_or_default();
    println!("libpurple {version}");

    let plugin = build_plugin(&fresh_dir("purple-build"), &["CFLAGS=-O0 -g -Werror"]);
    let plugins = fresh_dir("purple-plugins");
    std::fs::copy(&plugin, plugins.join("libmsim-purple.so")).unwrap();
    // The name the plugin records (libmsim's SONAME, build.rs), as `make install` copies it.
    std::fs::copy(common::lib_dir().join("libmsim.so"), plugins.join("libmsim.so.0")).unwrap();
    // Pidgin's data dir, as `make install-icons DESTDIR=… PREFIX=/usr` fills it (the harness looks
    // for list_icon's PNGs there, the way Pidgin does).
    let icon_root = fresh_dir("purple-icons");
    make_install_icons(&icon_root);
    run_harness("tree", &plugins, &icon_root.join("usr/share"));
}
