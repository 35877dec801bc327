//! `msim_version`.

use std::os::raw::c_char;

use super::boundary::guard_or;

/// The library's version, e.g. "0.1.0" (the crate version; semantic versioning).
///
/// The returned string is static, never NULL, owned by msim: do not free it.
#[no_mangle]
pub extern "C" fn msim_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    guard_or(VERSION.as_ptr().cast::<c_char>(), || VERSION.as_ptr().cast::<c_char>())
}
