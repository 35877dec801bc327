//! Shared fixtures for integration tests: finding the built library, compiling C/C++ programs
//! against `include/msim.h` and `libmsim`, and running them with a time limit.
#![allow(dead_code)] // each test crate uses a different subset

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root (the `msim` package).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `include/`, where the generated `msim.h` lives.
pub fn include_dir() -> PathBuf {
    repo_root().join("include")
}

/// A scratch directory for this test crate's build products (cargo provides one per target dir).
pub fn scratch_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-tests");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn lib_file_name() -> String {
    format!("{}msim{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// The directory holding the shared library `libmsim.so` built for this profile.
///
/// `cargo test` builds the library with all its crate types, so the cdylib is in the test binary's
/// own `deps/` directory (and, after `cargo build`, also in target/<profile>/); the nearest ancestor
/// directory of the test binary that has it wins. If it is missing (e.g. a test binary copied elsewhere) the
/// library is built with `cargo build --lib` (`--release` from an optimised build, such as the
/// benchmarks) into a separate target directory, to avoid waiting on the lock of the running cargo.
pub fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        if let Some(dir) = exe.ancestors().skip(1).find(|d| d.join(lib_file_name()).is_file()) {
            return dir.to_path_buf();
        }
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lib-build");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let (profile_flag, profile_dir) =
            if cfg!(debug_assertions) { (None, "debug") } else { (Some("--release"), "release") };
        let status = Command::new(cargo)
            .args(["build", "--lib", "--target-dir"])
            .arg(&target)
            .args(profile_flag)
            .current_dir(repo_root())
            .status()
            .expect("run cargo build --lib");
        assert!(status.success(), "cargo build --lib failed");
        let dir = target.join(profile_dir);
        assert!(dir.join(lib_file_name()).is_file(), "no {} in {}", lib_file_name(), dir.display());
        dir
    })
}

/// Which compiler to drive. `$CC` / `$CXX` override `cc` / `c++`.
#[derive(Clone, Copy, Debug)]
pub enum Lang {
    /// C99, pedantic.
    C,
    /// C++11 (the header must be usable from C++ hosts too).
    Cxx,
}

impl Lang {
    fn command(self) -> (String, &'static [&'static str]) {
        match self {
            Lang::C => (
                std::env::var("CC").unwrap_or_else(|_| "cc".into()),
                &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"],
            ),
            Lang::Cxx => (
                std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
                &["-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic"],
            ),
        }
    }
}

/// Compiles and links `sources` into the executable `out` against `include/msim.h` and `libmsim`
/// (with an rpath, so it also runs without `LD_LIBRARY_PATH`). Warnings are errors. On failure the
/// error holds the full command and the compiler's output.
pub fn compile(lang: Lang, sources: &[&Path], out: &Path, extra_flags: &[&str]) -> Result<(), String> {
    let lib = lib_dir();
    let rpath = format!("-Wl,-rpath,{}", lib.display());
    let lib = lib.to_str().expect("UTF-8 library path");
    let link = ["-L", lib, "-lmsim", rpath.as_str()];
    build(lang, sources, out, extra_flags, &link)
}

/// Compiles `sources` (C99, warnings are errors) into `out` with `include/` on the include path
/// but **without** libmsim: for hosts that only `dlopen` it, and for test plugins. `flags` go
/// before the link step (`-shared`, `-fPIC`, `-D…`), `libs` after it (`-ldl`).
pub fn compile_c_without_lib(sources: &[&Path], out: &Path, flags: &[&str], libs: &[&str]) -> Result<(), String> {
    build(Lang::C, sources, out, flags, libs)
}

/// Compiles a C99 shared object (`-shared -fPIC`) without libmsim, e.g. a test plugin.
pub fn compile_c_shared(sources: &[&Path], out: &Path, flags: &[&str]) -> Result<(), String> {
    let mut all = vec!["-shared", "-fPIC"];
    all.extend_from_slice(flags);
    build(Lang::C, sources, out, &all, &[])
}

fn build(lang: Lang, sources: &[&Path], out: &Path, flags: &[&str], link: &[&str]) -> Result<(), String> {
    let (cc, std_flags) = lang.command();
    let mut cmd = Command::new(&cc);
    cmd.args(std_flags).arg("-I").arg(include_dir()).args(sources).args(flags);
    // Link flags after the sources; `-x none` ends `-x c++` so the library is not read as C++ source.
    cmd.args(["-x", "none", "-o"]).arg(out).args(link);
    let output = cmd.output().map_err(|e| format!("cannot run {cc}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// [`compile`] as C99.
pub fn compile_c(sources: &[&Path], out: &Path, extra_flags: &[&str]) -> Result<(), String> {
    compile(Lang::C, sources, out, extra_flags)
}

/// [`compile`] as C++11.
pub fn compile_cxx(sources: &[&Path], out: &Path, extra_flags: &[&str]) -> Result<(), String> {
    compile(Lang::Cxx, sources, out, extra_flags)
}

/// Runs `exe` with `args`, `LD_LIBRARY_PATH` pointing at the library, and captures its output. A
/// program still running after `timeout` is killed and reported as an error.
pub fn run(exe: &Path, args: &[&str], timeout: Duration) -> Result<Output, String> {
    run_with_env(exe, args, &[], timeout)
}

/// [`run`] with extra environment variables (e.g. a password a program reads from the environment).
pub fn run_with_env(exe: &Path, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Result<Output, String> {
    let mut cmd = Command::new(exe);
    cmd.args(args).envs(env.iter().copied()).env("LD_LIBRARY_PATH", lib_dir()).env("DYLD_LIBRARY_PATH", lib_dir());
    run_command(cmd, timeout)
}

/// Runs `cmd` as it is set up (its environment untouched) with stdin from /dev/null, capturing its
/// output; still running after `timeout`, it is killed and reported as an error.
pub fn run_command(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let what = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    // Drain both pipes on threads so a chatty program cannot block on a full pipe.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out_t = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err_t = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_t.join().expect("stdout reader");
    let stderr = err_t.join().expect("stderr reader");
    Ok(Output { status, stdout, stderr })
}

/// A program's stdout then stderr, as text (for failure messages).
pub fn output_text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A TAP-printing C program passed: exit 0, a `1..N` plan, N lines `ok`, and more than `min_oks`
/// of them (so a program that stopped early cannot pass).
pub fn assert_tap_all_ok(out: &Output, what: &str, min_oks: usize) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let plan = stdout.lines().find_map(|l| l.strip_prefix("1..")).and_then(|n| n.parse::<usize>().ok());
    let oks = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(
        out.status.code() == Some(0) && plan == Some(oks) && oks > min_oks,
        "{what}: exit {:?}, plan {plan:?}, {oks} ok\n{}",
        out.status,
        output_text(out)
    );
}

pub mod client;
pub mod fleet;
pub mod hostile;
pub mod installed;
pub mod load;
pub mod purple;
