//! Generates `include/msim.h` from the `extern "C"` items in `src/ffi/` with cbindgen.
//! The header is checked in; CI rebuilds it and fails when the committed copy is stale.

use std::path::Path;

// The plugin ABI constants, shared with the library (src/ffi/plugin.rs) so that one definition
// feeds both the Rust code and the header's #defines.
#[path = "src/ffi/plugin_abi.rs"]
#[allow(dead_code)]
mod plugin_abi;

/// `#define`s placed right after the #includes of the header: the plugin ABI's numbers and the
/// macro a host uses to test for an operation (see msim_plugin_info).
fn plugin_defines() -> String {
    use plugin_abi::*;
    format!(
        "\n// Plugin ABI (msim_plugin_info): see the comment of that struct.\n\
         #define MSIM_PLUGIN_MAGIC 0x{MSIM_PLUGIN_MAGIC:08X}u\n\
         #define MSIM_PLUGIN_ABI_MAJOR {MSIM_PLUGIN_ABI_MAJOR}\n\
         #define MSIM_PLUGIN_ABI_MINOR {MSIM_PLUGIN_ABI_MINOR}\n\
         #define MSIM_PLUGIN_INIT_SYMBOL \"{MSIM_PLUGIN_INIT_SYMBOL}\"\n\
         // True when the plugin's table is long enough to hold operation `op` and the operation is\n\
         // set. Use it before calling any operation added after minor 0.\n\
         #define MSIM_PLUGIN_HAS_OP(info, op) \\\n  \
         (offsetof(msim_plugin_info, op) + sizeof((info)->op) <= (info)->struct_size && (info)->op != NULL)\n"
    )
}

/// The macros a host calls to create sessions and set its profile. They pass `sizeof` of this
/// header's structs, which is what lets those structs grow (src/ffi/create.rs, src/ffi/profile.rs).
const SIZED_MACROS: &str = "\
// Creating sessions. These macros pass the size of this header's msim_callbacks and
// msim_session_options to the _sized functions, so a program built against this header keeps
// working with later versions of libmsim, which may append members to those structs.
#define msim_session_options_init(options) \\
  msim_session_options_init_sized((options), sizeof(msim_session_options))
#define msim_session_new(callbacks, userdata) \\
  msim_session_new_sized((callbacks), sizeof(msim_callbacks), (userdata), NULL, 0)
#define msim_session_new_ex(callbacks, userdata, options) \\
  msim_session_new_sized((callbacks), sizeof(msim_callbacks), (userdata), (options), sizeof(msim_session_options))
// Setting own profile fields: passes this header's sizeof(msim_profile), which may grow the same way.
#define msim_session_set_profile(session, profile) \\
  msim_session_set_profile_sized((session), (profile), sizeof(msim_profile))
";

/// The ABI version in libmsim's SONAME, `libmsim.so.<SOVERSION>` (cargo-c's layout: the file is
/// `libmsim.so.<crate version>`, with the `libmsim.so.<SOVERSION>` and `libmsim.so` links beside it).
/// It is not the crate's major version: the C ABI grows compatibly (sized structs, the plugin
/// table's minor), so this changes only when a program built against an older `msim.h` could break.
/// Bump it together with the Debian package name `libmsim<N>` (debian/control).
const SOVERSION: &str = "0";

/// The library's ELF SONAME, so that programs record `libmsim.so.0` rather than the bare
/// development name `libmsim.so` (issue 13). Only the cdylib gets it (`rustc-cdylib-link-arg`).
fn set_soname() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // The ELF systems on which cargo-c sets a versioned SONAME with the same flag.
    if !["linux", "freebsd", "dragonfly", "netbsd", "openbsd", "illumos", "hurd"].contains(&os.as_str()) {
        return;
    }
    let soname = format!("libmsim.so.{SOVERSION}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    link_soname_in_build_tree(&soname);
}

/// A program linked against the build tree (`-Ltarget/release -lmsim -Wl,-rpath,…`, as the README
/// and the tests do) now needs `libmsim.so.0` at run time, so the profile directory and its `deps/`
/// (where the test binaries find the library) get the link `libmsim.so.0 -> libmsim.so`, the one
/// that `make install` and ldconfig make in a real library directory. OUT_DIR is
/// `<profile dir>/build/msim-<hash>/out`; anything else (an unusual layout) is left alone.
#[cfg(unix)]
fn link_soname_in_build_tree(soname: &str) {
    let Some(out_dir) = std::env::var_os("OUT_DIR") else { return };
    let out_dir = Path::new(&out_dir);
    let Some(profile_dir) = out_dir.ancestors().nth(3) else { return };
    if out_dir.ancestors().nth(2).and_then(Path::file_name) != Some("build".as_ref()) {
        return;
    }
    for dir in [profile_dir.to_path_buf(), profile_dir.join("deps")] {
        let link = dir.join(soname);
        // A link already there (from an earlier build) is the same link: leave it.
        if dir.is_dir() && link.symlink_metadata().is_err() {
            if let Err(e) = std::os::unix::fs::symlink("libmsim.so", &link) {
                println!("cargo:warning=cannot create {}: {e}", link.display());
            }
        }
    }
}

#[cfg(not(unix))]
fn link_soname_in_build_tree(_soname: &str) {}

fn main() {
    set_soname();
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut config =
        cbindgen::Config::from_file(Path::new(&crate_dir).join("cbindgen.toml")).expect("cbindgen.toml is readable");
    // Macros expand where they are used, so they may precede the structs they take sizeof of.
    config.after_includes = Some(format!("{}\n{SIZED_MACROS}", plugin_defines()));
    let out = Path::new(&crate_dir).join("include/msim.h");
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => {
            // write_to_file only rewrites when the content changed, so builds stay incremental.
            bindings.write_to_file(&out);
        }
        Err(e) => {
            // A syntax error in src/ is reported by rustc with better context; don't fail here.
            println!("cargo:warning=cbindgen could not generate include/msim.h: {e}");
        }
    }
}
