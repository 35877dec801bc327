//! Strings handed from msim to C, and `msim_string_free`.
//!
//! Every string msim returns through an output parameter is allocated by Rust and must come back to
//! msim_string_free() (never to `free()`). Strings msim receives are borrowed for the call only.
//!
//! Embedded NUL: a C string cannot carry a NUL byte, so `string_to_c` refuses such text with
//! `MSIM_RESULT_EMBEDDED_NUL` rather than silently truncating or altering it (a truncated message or
//! name is worse than a reported error). Callers that prefer a lossy view must say so explicitly.

use std::ffi::CString;
use std::os::raw::c_char;

use super::boundary::guard;
use super::result::msim_result;

/// Moves `s` to the heap as a NUL-terminated C string owned by the caller (freed with
/// msim_string_free). Text containing a NUL byte gives `EmbeddedNul`.
pub(crate) fn string_to_c(s: String) -> Result<*mut c_char, msim_result> {
    CString::new(s).map(CString::into_raw).map_err(|_| msim_result::EmbeddedNul)
}

/// Frees a string that msim returned to you (through an output parameter or as documented).
///
/// `s` may be NULL (nothing happens). After the call `s` is dangling: do not use or free it again.
/// Passing a pointer msim did not allocate (a string literal, memory from malloc(), a string owned
/// by msim such as msim_version()'s) is undefined behaviour.
///
/// # Safety
/// `s` must be NULL or a string returned by msim as "free with msim_string_free", not yet freed.
#[no_mangle]
pub unsafe extern "C" fn msim_string_free(s: *mut c_char) {
    guard(|| {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_nul_is_refused_not_truncated() {
        assert_eq!(string_to_c("a\0b".to_owned()), Err(msim_result::EmbeddedNul));
        let p = string_to_c("ab".to_owned()).unwrap();
        unsafe {
            assert_eq!(std::ffi::CStr::from_ptr(p).to_bytes(), b"ab");
            msim_string_free(p);
            msim_string_free(std::ptr::null_mut());
        }
    }
}
