//! The C boundary: every export runs its body through [`guard`] or [`guard_result`], and reads its
//! arguments through the checks here. One place for panics, NULL, UTF-8 and output parameters.
//!
//! How an export looks (see `login.rs`):
//! ```ignore
//! #[no_mangle]
//! pub unsafe extern "C" fn msim_thing_do(thing: *const msim_thing, name: *const c_char,
//!                                        out: *mut *mut c_char) -> msim_result {
//!     guard_result(|| {
//!         let thing = arg_ref(thing)?;   // NULL -> MSIM_RESULT_NULL_PARAMETER
//!         let name = arg_str(name)?;     // NULL -> NULL_PARAMETER, bad UTF-8 -> INVALID_UTF8
//!         let out = Out::new(out)?;      // checked now, written last
//!         let text = thing.do_it(name)?; // Rust errors convert via From in result.rs
//!         out.write(string_to_c(text)?);
//!         Ok(())
//!     })
//! }
//! ```
//! Plain `#[no_mangle] extern "C"` functions (not a wrapping macro) so cbindgen sees them as written.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use super::result::msim_result;

/// What an export returns when its body panicked. For `msim_result` that is `MSIM_RESULT_PANIC`;
/// for pointers NULL; for `void` nothing. Each export's doc says what it returns in that case.
pub(crate) trait PanicDefault {
    fn panic_default() -> Self;
}

impl PanicDefault for msim_result {
    fn panic_default() -> Self {
        msim_result::Panic
    }
}
impl PanicDefault for () {
    fn panic_default() -> Self {}
}
impl PanicDefault for bool {
    fn panic_default() -> Self {
        false
    }
}
impl PanicDefault for c_int {
    fn panic_default() -> Self {
        0
    }
}
impl<T> PanicDefault for *const T {
    fn panic_default() -> Self {
        ptr::null()
    }
}
impl<T> PanicDefault for *mut T {
    fn panic_default() -> Self {
        ptr::null_mut()
    }
}

/// Runs an export's body; a panic becomes `R::panic_default()` instead of unwinding into C.
///
/// `AssertUnwindSafe`: after a caught panic the only promise is "no unwinding into C and no UB";
/// an object whose method panicked may be left unusable (later calls may report an error), which
/// the `MSIM_RESULT_PANIC` documentation says.
pub(crate) fn guard<R: PanicDefault>(body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| R::panic_default())
}

/// [`guard`] with an explicit value for the panic case, for exports that promise something other
/// than the type's default (e.g. "never NULL").
pub(crate) fn guard_or<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// [`guard`] for the common shape: the body returns `Result<(), msim_result>` and uses `?`.
pub(crate) fn guard_result(body: impl FnOnce() -> Result<(), msim_result>) -> msim_result {
    guard(|| match body() {
        Ok(()) => msim_result::Ok,
        Err(e) => e,
    })
}

/// A shared reference from a C pointer; NULL gives `NullParameter`.
/// (Unused until the first object handle lands; session.rs will use it.)
///
/// # Safety
/// A non-NULL `p` must point to a valid `T` that outlives `'a` and is not mutated meanwhile.
#[allow(dead_code)]
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T) -> Result<&'a T, msim_result> {
    p.as_ref().ok_or(msim_result::NullParameter)
}

/// An exclusive reference from a C pointer; NULL gives `NullParameter`.
///
/// # Safety
/// A non-NULL `p` must point to a valid `T` that outlives `'a` with no other access meanwhile.
#[allow(dead_code)]
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T) -> Result<&'a mut T, msim_result> {
    p.as_mut().ok_or(msim_result::NullParameter)
}

/// A `&str` from a C string: NULL gives `NullParameter`, invalid UTF-8 gives `InvalidUtf8`.
/// Borrows the caller's memory; nothing is copied.
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string that outlives `'a` and is not mutated meanwhile.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char) -> Result<&'a str, msim_result> {
    if p.is_null() {
        return Err(msim_result::NullParameter);
    }
    CStr::from_ptr(p).to_str().map_err(|_| msim_result::InvalidUtf8)
}

/// An output parameter: checked for NULL when created, written once, at the end, on success only.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// NULL gives `NullParameter`.
    pub(crate) fn new(p: *mut T) -> Result<Out<T>, msim_result> {
        NonNull::new(p).map(Out).ok_or(msim_result::NullParameter)
    }

    /// Stores `value` without reading or dropping what was there (C memory may be uninitialised).
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] must be valid for writes of `T` and suitably aligned.
    pub(crate) unsafe fn write(self, value: T) {
        ptr::write(self.0.as_ptr(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_the_documented_default() {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        assert_eq!(guard_result(|| panic!("boom")), msim_result::Panic);
        assert!(guard::<*const u8>(|| panic!("boom")).is_null());
        assert!(!guard(|| -> bool { panic!("boom") }));
        std::panic::set_hook(quiet);
    }

    #[test]
    fn arguments_are_checked() {
        unsafe {
            assert_eq!(arg_str(ptr::null()), Err(msim_result::NullParameter));
            assert_eq!(arg_str(b"\xff\0".as_ptr().cast()), Err(msim_result::InvalidUtf8));
            assert_eq!(arg_str(b"ok\0".as_ptr().cast()), Ok("ok"));
            assert_eq!(arg_ref::<u8>(ptr::null()).map(|_| ()), Err(msim_result::NullParameter));
        }
        assert!(Out::<u8>::new(ptr::null_mut()).is_err());
    }
}
