//! The login2 challenge/response for hosts that run their own connection (SPEC §6.3). Thin wrappers
//! over [`crate::protocol::login`].

use std::os::raw::c_char;

use zeroize::Zeroizing;

use super::boundary::{arg_str, guard_result, Out};
use super::result::msim_result;
use super::strings::string_to_c;
use crate::protocol::login;

/// Computes the `response` field of a login2 message (SPEC §6.3), base64-encoded, for the server's
/// challenge `nc` (`nonce_b64`), the account e-mail and password. The IP list is empty, as Pidgin sends.
///
/// Only the first 10 bytes of the password count, lower-cased (SPEC §24).
///
/// All arguments are borrowed for the call only. On success `*out_response_b64` receives a new string
/// that you own: free it with msim_string_free(). On failure `*out_response_b64` is not touched.
///
/// Returns MSIM_RESULT_OK; MSIM_RESULT_NULL_PARAMETER if any pointer is NULL; MSIM_RESULT_INVALID_UTF8
/// if a string is not UTF-8; MSIM_RESULT_BAD_CHALLENGE if `nonce_b64` is not base64 of exactly 64
/// bytes; MSIM_RESULT_PANIC on an internal bug. When several arguments are bad, the first one decides.
///
/// # Safety
/// Each string argument must be NULL or a NUL-terminated string; `out_response_b64` must be NULL or
/// point to writable storage for one `char *`.
#[no_mangle]
pub unsafe extern "C" fn msim_login_response(
    nonce_b64: *const c_char,
    email: *const c_char,
    password: *const c_char,
    out_response_b64: *mut *mut c_char,
) -> msim_result {
    guard_result(|| {
        let nonce_b64 = arg_str(nonce_b64)?;
        let email = arg_str(email)?;
        let password = arg_str(password)?;
        let out = Out::new(out_response_b64)?;
        let nonce = login::decode_nonce(nonce_b64.as_bytes())?;
        let response = login::compute_response_b64(&nonce, email, password);
        out.write(string_to_c(response)?);
        Ok(())
    })
}

/// Checks a login2 `response` (base64, as received) against the challenge `nc` that was sent
/// (`nonce_b64`), the account e-mail (compared ASCII case-insensitively) and its password, the way a
/// server does (SPEC §24). Any IP list in the response is accepted.
///
/// All arguments are borrowed for the call only.
///
/// Returns MSIM_RESULT_OK if the response is valid; MSIM_RESULT_AUTH_FAILED if it is not (wrong
/// password, wrong e-mail, other challenge, tampered, truncated, not base64);
/// MSIM_RESULT_BAD_CHALLENGE if `nonce_b64` is not base64 of exactly 64 bytes;
/// MSIM_RESULT_NULL_PARAMETER / MSIM_RESULT_INVALID_UTF8 for a NULL or non-UTF-8 argument (the first
/// bad one decides); MSIM_RESULT_PANIC on an internal bug.
///
/// # Safety
/// Each argument must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn msim_login_verify(
    nonce_b64: *const c_char,
    email: *const c_char,
    password: *const c_char,
    response_b64: *const c_char,
) -> msim_result {
    guard_result(|| {
        let nonce_b64 = arg_str(nonce_b64)?;
        let email = arg_str(email)?;
        let password = arg_str(password)?;
        let response_b64 = arg_str(response_b64)?;
        let nonce = login::decode_nonce(nonce_b64.as_bytes())?;
        let hash = Zeroizing::new(login::password_hash(password));
        login::verify_response_b64(&nonce, email, &hash, response_b64.as_bytes())?;
        Ok(())
    })
}
