//! TEMPORARY (client branch): the `msim_result` enum until main's `ffi/result.rs` lands; on merge
//! main's file wins and the client codes are added to it.

use std::os::raw::c_char;

/// Result of every msim function. Stable numbers, grouped: 0 ok, 1xx argument errors, 2xx state
/// errors, 3xx network, 4xx protocol, 5xx server-reported, 900 panic.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_result {
    Ok = 0,
    NullParameter = 100,
    InvalidUtf8 = 101,
    InvalidArgument = 102,
    NotConnected = 200,
    NotSignedOn = 201,
    AlreadyConnected = 202,
    WrongState = 203,
    QueueFull = 204,
    Closed = 205,
    Network = 300,
    Timeout = 301,
    Protocol = 400,
    ServerError = 500,
    NoSuchUser = 501,
    Panic = 900,
}

/// Static English text for a result code; never NULL, never freed.
#[no_mangle]
pub extern "C" fn msim_result_str(result: msim_result) -> *const c_char {
    let s: &'static [u8] = match result {
        msim_result::Ok => b"ok\0",
        msim_result::NullParameter => b"a required pointer argument is NULL\0",
        msim_result::InvalidUtf8 => b"a string argument is not valid UTF-8\0",
        msim_result::InvalidArgument => b"invalid argument\0",
        msim_result::NotConnected => b"not connected\0",
        msim_result::NotSignedOn => b"not signed on yet\0",
        msim_result::AlreadyConnected => b"already connected\0",
        msim_result::WrongState => b"not possible in the current state\0",
        msim_result::QueueFull => b"queue full\0",
        msim_result::Closed => b"session closed\0",
        msim_result::Network => b"network error\0",
        msim_result::Timeout => b"timed out\0",
        msim_result::Protocol => b"protocol error\0",
        msim_result::ServerError => b"the server reported an error\0",
        msim_result::NoSuchUser => b"no such user\0",
        msim_result::Panic => b"internal error (caught panic)\0",
    };
    s.as_ptr().cast()
}
