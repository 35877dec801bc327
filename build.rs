//! Generates `include/msim.h` from the `extern "C"` items in `src/ffi/` with cbindgen.
//! The header is checked in; CI rebuilds it and fails when the committed copy is stale.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(&crate_dir).join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
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
