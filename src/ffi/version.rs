//! `msim_version`.

use std::os::raw::c_char;

use super::boundary::guard;

/// The library's version, e.g. "0.1.0" (the crate version; semantic versioning).
///
/// The returned string is static, never NULL, owned by msim: do not free it.
#[no_mangle]
pub extern "C" fn msim_version() -> *const c_char {
    guard(|| concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast::<c_char>())
}
