//! Markup ⇄ HTML conversions for C hosts that handle message text themselves (SPEC §15, §24).
//! Thin wrappers over [`crate::protocol::markup`].

use std::os::raw::c_char;

use super::boundary::{arg_str, guard_result, Out};
use super::result::msim_result;
use super::strings::string_to_c;
use crate::protocol::markup;

/// Shared body of the four conversions: read one string, convert, hand the result to C.
unsafe fn convert(input: *const c_char, out: *mut *mut c_char, f: fn(&str) -> String) -> msim_result {
    guard_result(|| {
        let input = arg_str(input)?;
        let out = Out::new(out)?;
        out.write(string_to_c(f(input))?);
        Ok(())
    })
}

/// Converts MSIM markup (an IM's text, already unescaped from the wire) to HTML for display
/// (SPEC §15.2, §24). The result is always well-formed and fully escaped; unknown tags are dropped
/// with their text kept, links other than http/https/ftp/mailto/myim become plain text.
///
/// `markup` is borrowed for the call only. On success `*out_html` receives a new string that you
/// own: free it with msim_string_free(). On failure `*out_html` is not touched.
///
/// Returns MSIM_RESULT_OK; MSIM_RESULT_NULL_PARAMETER if a pointer is NULL; MSIM_RESULT_INVALID_UTF8
/// if `markup` is not UTF-8; MSIM_RESULT_PANIC on an internal bug.
///
/// # Safety
/// `markup` must be NULL or a NUL-terminated string; `out_html` NULL or writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn msim_markup_to_html(markup: *const c_char, out_html: *mut *mut c_char) -> msim_result {
    convert(markup, out_html, markup::markup_to_html)
}

/// Converts HTML as a UI produces it (`<b>`, `<i>`, `<u>`, `<font face size color>`, `<a href>`,
/// `<body bgcolor>`, `<br>`) to MSIM markup ready to send (SPEC §15.4, §24); emoticon symbols in
/// text become `<i n="NAME"/>`. Ownership and results as for msim_markup_to_html().
///
/// # Safety
/// `html` must be NULL or a NUL-terminated string; `out_markup` NULL or writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn msim_html_to_markup(html: *const c_char, out_markup: *mut *mut c_char) -> msim_result {
    convert(html, out_markup, markup::html_to_markup)
}

/// Converts MSIM markup to plain text: tags removed, emoticons as their symbols, entities decoded.
/// Ownership and results as for msim_markup_to_html().
///
/// # Safety
/// `markup` must be NULL or a NUL-terminated string; `out_text` NULL or writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn msim_markup_to_plain(markup: *const c_char, out_text: *mut *mut c_char) -> msim_result {
    convert(markup, out_text, markup::markup_to_plain)
}

/// Converts HTML to plain text (`<br>` → newline, entities decoded), as status messages are sent
/// (SPEC §12). Ownership and results as for msim_markup_to_html().
///
/// # Safety
/// `html` must be NULL or a NUL-terminated string; `out_text` NULL or writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn msim_html_to_plain(html: *const c_char, out_text: *mut *mut c_char) -> msim_result {
    convert(html, out_text, markup::html_to_plain)
}
