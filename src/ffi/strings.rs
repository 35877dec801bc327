//! TEMPORARY (client branch): `msim_string_free` and C-string helpers until main's land.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;

use super::result::msim_result;

/// Frees a string msim returned to you. NULL is a no-op.
///
/// # Safety
/// `s` must be NULL or a string returned by msim that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn msim_string_free(s: *mut c_char) {
    if !s.is_null() {
        let _ = std::panic::catch_unwind(|| drop(CString::from_raw(s)));
    }
}

/// A C string argument as `&str`: NULL → NULL_PARAMETER, bad UTF-8 → INVALID_UTF8.
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char) -> Result<&'a str, msim_result> {
    if p.is_null() {
        return Err(msim_result::NullParameter);
    }
    CStr::from_ptr(p).to_str().map_err(|_| msim_result::InvalidUtf8)
}

/// Like [`str_arg`], but NULL → `None`.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char) -> Result<Option<&'a str>, msim_result> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p).map(Some)
    }
}

/// A Rust string as a C string; interior NULs (which C cannot carry) are dropped.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "")).unwrap_or_default())
}

/// A string handed over to C, freed with `msim_string_free`.
pub(crate) fn into_c(s: &str) -> *mut c_char {
    c_string(s).into_raw()
}
