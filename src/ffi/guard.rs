//! TEMPORARY (client branch): the panic boundary until main's helper lands.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::result::msim_result;

/// Runs an FFI body; a panic becomes `MSIM_RESULT_PANIC`, an `Err` its code.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), msim_result>) -> msim_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => msim_result::Ok,
        Ok(Err(r)) => r,
        Err(_) => msim_result::Panic,
    }
}

/// Runs an FFI body returning a value; a panic gives `default`.
pub(crate) fn guard_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}
