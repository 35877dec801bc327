//! `include/msim.h` is usable from C99 and C++11 with warnings as errors, and the exports behave as
//! documented when called from C (tests/c/header_smoke.c).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{compile, lib_dir, repo_root, run, scratch_dir, Lang};

fn smoke_source() -> std::path::PathBuf {
    repo_root().join("tests/c/header_smoke.c")
}

fn build_and_run(lang: Lang, name: &str) {
    let exe = scratch_dir().join(name);
    let src = smoke_source();
    compile(lang, &[src.as_path()], &exe, &[]).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&exe, &[], Duration::from_secs(60)).unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed ({}):\n{stdout}{stderr}", out.status);
    assert!(stdout.contains("header_smoke: ") && stdout.contains(" checks passed"), "{stdout}");
    assert!(stdout.contains(&format!("msim_version: {}\n", env!("CARGO_PKG_VERSION"))), "{stdout}");
}

#[test]
fn header_smoke_passes_as_c99() {
    build_and_run(Lang::C, "header_smoke_c");
}

#[test]
fn header_smoke_passes_as_cxx11() {
    build_and_run(Lang::Cxx, "header_smoke_cxx");
}

#[test]
fn smoke_test_lists_every_result_code_in_the_header() {
    let header = std::fs::read_to_string(repo_root().join("include/msim.h")).unwrap();
    let smoke = std::fs::read_to_string(smoke_source()).unwrap();
    let codes: Vec<&str> = header
        .lines()
        .filter_map(|l| l.trim().strip_prefix("MSIM_RESULT_"))
        .map(|rest| rest.split([' ', '=', ',']).next().unwrap())
        .collect();
    assert!(codes.len() >= 29, "found only {} result codes in msim.h", codes.len());
    assert_eq!(codes.len(), msim::ffi::msim_result::ALL.len(), "msim_result::ALL is out of step with the header");
    for code in codes {
        assert!(smoke.contains(&format!("MSIM_RESULT_{code},")), "header_smoke.c does not check MSIM_RESULT_{code}");
    }
}

#[test]
fn the_library_is_found() {
    assert!(Path::new(lib_dir()).is_dir());
}
