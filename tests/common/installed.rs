//! Looking at installed files the way a packager does: an ELF file's dynamic section, sections and
//! debuglink (binutils' `readelf`), and a C program built with nothing but `pkg-config`'s flags.
//! Shared by `tests/install.rs` (`make install` into a staging tree) and
//! `tests/debian_packages.rs` (the .debs installed with dpkg).

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Says loudly (straight to stderr: libtest captures a passing test's eprintln!) that a test
/// did not run, and why.
pub fn skip(why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "\n************************************************************************\n\
         SKIPPED: {why}\n\
         ************************************************************************"
    );
}

/// Whether `program` runs (`program --version`).
pub fn tool_present(program: &str) -> bool {
    Command::new(program).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// `cmd`'s stdout, or a panic with everything it printed.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn readelf(args: &[&str], file: &Path) -> String {
    stdout_of(Command::new("readelf").args(args).arg(file))
}

/// The `[...]` value of each dynamic-section line naming `tag` (`readelf -d`).
fn dynamic_values(file: &Path, tag: &str) -> Vec<String> {
    readelf(&["-d", "-W"], file)
        .lines()
        .filter(|l| l.contains(&format!("({tag})")))
        .filter_map(|l| Some(l[l.find('[')? + 1..l.rfind(']')?].to_string()))
        .collect()
}

/// The ELF SONAME, if any.
pub fn soname(file: &Path) -> Option<String> {
    dynamic_values(file, "SONAME").into_iter().next()
}

/// The DT_NEEDED entries: the libraries the file asks the dynamic linker for.
pub fn needed(file: &Path) -> Vec<String> {
    dynamic_values(file, "NEEDED")
}

/// DT_RPATH and DT_RUNPATH together: an installed file should have neither.
pub fn search_paths(file: &Path) -> Vec<String> {
    let mut v = dynamic_values(file, "RPATH");
    v.extend(dynamic_values(file, "RUNPATH"));
    v
}

/// The section names (`readelf -S`), with their types: `(".debug_line", "PROGBITS")`.
pub fn sections(file: &Path) -> Vec<(String, String)> {
    readelf(&["-S", "-W"], file)
        .lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix('[')?;
            let mut words = rest[rest.find(']')? + 1..].split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect()
}

/// Whether the file carries DWARF: a `.debug_info` or `.debug_line` section with contents (not
/// NOBITS, as in a stripped file's debug-only twin). Rust executables also have
/// `.debug_gdb_scripts`, a loaded section naming gdb's pretty-printers, which stripping keeps.
pub fn has_debug_info(file: &Path) -> bool {
    sections(file)
        .iter()
        .any(|(name, kind)| [".debug_info", ".debug_line"].contains(&name.as_str()) && kind != "NOBITS")
}

/// The `.gnu_debuglink` section: the debug file's name and its CRC-32, as objcopy
/// --add-gnu-debuglink wrote them (name, NUL padding to 4 bytes, CRC in the file's byte order,
/// little-endian here).
pub fn debuglink(file: &Path) -> Option<(String, u32)> {
    if !sections(file).iter().any(|(name, _)| name == ".gnu_debuglink") {
        return None;
    }
    // `readelf -x`: "  0x00000000 6c69626d 73696d2e 736f2e30 2e312e30 libmsim.so.0.1.0"
    let mut bytes = Vec::new();
    for line in readelf(&["-x", ".gnu_debuglink"], file).lines() {
        let Some(rest) = line.trim_start().strip_prefix("0x") else { continue };
        for word in rest.split_whitespace().skip(1).take(4) {
            if word.len() % 2 != 0 || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
                break;
            }
            bytes.extend((0..word.len()).step_by(2).map(|i| u8::from_str_radix(&word[i..i + 2], 16).unwrap()));
        }
    }
    let name_end = bytes.iter().position(|&b| b == 0)?;
    let crc = u32::from_le_bytes(bytes.get(bytes.len().checked_sub(4)?..)?.try_into().ok()?);
    Some((String::from_utf8_lossy(&bytes[..name_end]).into_owned(), crc))
}

/// CRC-32 (ISO 3309), the checksum a debuglink keeps of its debug file.
pub fn crc32(bytes: &[u8]) -> u32 {
    let table: Vec<u32> =
        (0..256u32).map(|n| (0..8).fold(n, |c, _| if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 })).collect();
    !bytes.iter().fold(!0u32, |c, &b| table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8))
}

/// `cc -std=c99 -Wall -Werror examples-c/chat.c $(pkg-config --cflags --libs msim) -o out`, with
/// pkg-config run in `pkg_env` (e.g. a staging tree's PKG_CONFIG_SYSROOT_DIR). Returns the flags.
pub fn build_chat_with_pkg_config(pkg_env: &[(&str, &Path)], out: &Path) -> String {
    let flags =
        stdout_of(Command::new("pkg-config").args(["--cflags", "--libs", "msim"]).envs(pkg_env.iter().copied()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    stdout_of(
        Command::new(cc)
            .args(["-std=c99", "-Wall", "-Werror"])
            .arg(super::repo_root().join("examples-c/chat.c"))
            .args(flags.split_whitespace())
            .arg("-o")
            .arg(out),
    );
    flags.trim().to_string()
}

/// Runs a built `chat` as alice against a `--demo` server at `addr`, with stdin empty (it signs on,
/// lists the buddies and signs off) and `env` set on top of an environment without
/// LD_LIBRARY_PATH; checks what it prints.
pub fn chat_signs_on_as_alice(chat: &Path, addr: SocketAddr, env: &[(&str, &Path)]) {
    let mut cmd = Command::new(chat);
    cmd.args([&addr.ip().to_string(), &addr.port().to_string(), "alice@example.com"])
        .env_remove("LD_LIBRARY_PATH")
        .env("MSIM_PASSWORD", "alicepw")
        .envs(env.iter().copied());
    let out = super::run_command(cmd, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    let text = super::output_text(&out);
    assert!(out.status.success(), "chat failed ({}):\n{text}", out.status);
    for expected in ["* signed on as alice", "buddies (3):", "bob", "* signed off", "* bye"] {
        assert!(text.contains(expected), "chat output lacks {expected:?}:\n{text}");
    }
}

/// Every file and symlink under `root` (not the directories), as paths relative to it.
pub fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let path = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(&path, root, out);
            } else {
                out.push(format!("/{}", path.strip_prefix(root).unwrap().display()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
