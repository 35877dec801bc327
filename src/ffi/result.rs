//! `msim_result`: the one result type of the C API, its static descriptions, and the single place
//! where Rust errors become result codes.
//!
//! Numbers are part of the ABI: never renumber or reuse one. New codes go in the right hundred
//! (1xx arguments, 2xx state, 3xx network, 4xx protocol, 5xx server-reported), at the next free number.

use std::os::raw::{c_char, c_int};

use crate::protocol::login::LoginError;
use crate::protocol::{FrameError, ParseError};

/// The result of every msim function that can fail.
///
/// Numbers are stable and grouped: 0 success; 1xx a bad argument; 2xx the object is in the wrong
/// state; 3xx network; 4xx protocol (the peer sent something msim cannot accept); 5xx an error the
/// server reported; 900 an internal bug. New codes may be added in any group in later versions:
/// treat an unknown number by its hundred, and describe it with msim_result_str().
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum msim_result {
    /// Success.
    Ok = 0,

    /// A pointer argument that must not be NULL was NULL.
    NullParameter = 100,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 101,
    /// An argument is out of range or malformed (e.g. an empty name where one is required).
    InvalidArgument = 102,
    /// A caller-provided buffer is too small; the function says how large it must be.
    BufferTooSmall = 103,

    /// The operation needs a connection and there is none.
    NotConnected = 200,
    /// A connection is already open or being opened.
    AlreadyConnected = 201,
    /// The operation needs a signed-on session.
    NotSignedOn = 202,
    /// Already signed on, or a sign-on is in progress.
    AlreadySignedOn = 203,
    /// The object has been closed; only _free is valid now.
    Closed = 204,
    /// The call would wait for the thread it was made on (e.g. a blocking call from inside a callback).
    WouldDeadlock = 205,
    /// The outgoing queue is full; try again later.
    QueueFull = 206,
    /// The operation does not fit the object's current state (e.g. setting a username on an
    /// account that has one).
    WrongState = 207,

    /// The TCP connection could not be established.
    ConnectFailed = 300,
    /// The host name could not be resolved.
    Dns = 301,
    /// No answer (or no data) within the time limit.
    Timeout = 302,
    /// The connection was closed by the peer or the network.
    ConnectionLost = 303,
    /// Another I/O error.
    Io = 304,

    /// The peer sent a message msim cannot parse or did not expect.
    Protocol = 400,
    /// The peer sent a frame larger than the configured cap (SPEC §24).
    FrameTooLarge = 401,
    /// The server's login challenge is malformed (nonce not base64, or not 64 bytes; SPEC §6.2).
    BadChallenge = 402,
    /// A message could not be encoded (e.g. a value that would read as `final`; SPEC §2.2, §24).
    Encode = 403,
    /// Text received contains a NUL byte, which a C string cannot carry.
    EmbeddedNul = 404,

    /// The server reported an error not listed below (`\error\`, SPEC §16).
    ServerError = 500,
    /// Wrong password (server error 260), or a login response that does not verify.
    AuthFailed = 501,
    /// Unknown e-mail address (server error 259).
    UnknownEmail = 502,
    /// The account logged in from another location; this session was ended (server error 6).
    LoggedInElsewhere = 503,
    /// No user with that name, e-mail or id.
    NoSuchUser = 504,
    /// The requested username is already taken (SPEC §6.7).
    UsernameTaken = 505,
    /// The server no longer accepts the session key (server error 2 or 3, SPEC §25).
    SessionExpired = 506,
    /// The server refuses this client version (server error 267, SPEC §25).
    ClientTooOld = 507,
    /// The server could not fetch the contact list (server error 270, SPEC §25); signing on
    /// goes on without it.
    ContactListUnavailable = 508,
    /// The user is already on the contact list (server error 1539, SPEC §25).
    AlreadyBuddy = 509,
    /// The user is not on the contact list (server error 2817, SPEC §25).
    NotBuddy = 510,

    /// A bug in msim: a Rust panic was caught at the C boundary. The object involved may be unusable.
    Panic = 900,
}

/// Static NUL-terminated text, usable as `*const c_char` for the life of the program.
macro_rules! cstr {
    ($s:expr) => {
        concat!($s, "\0")
    };
}

impl msim_result {
    /// Every code, in numeric order (tests iterate it; keep it complete).
    pub const ALL: &'static [msim_result] = {
        use msim_result::*;
        &[
            Ok,
            NullParameter,
            InvalidUtf8,
            InvalidArgument,
            BufferTooSmall,
            NotConnected,
            AlreadyConnected,
            NotSignedOn,
            AlreadySignedOn,
            Closed,
            WouldDeadlock,
            QueueFull,
            WrongState,
            ConnectFailed,
            Dns,
            Timeout,
            ConnectionLost,
            Io,
            Protocol,
            FrameTooLarge,
            BadChallenge,
            Encode,
            EmbeddedNul,
            ServerError,
            AuthFailed,
            UnknownEmail,
            LoggedInElsewhere,
            NoSuchUser,
            UsernameTaken,
            SessionExpired,
            ClientTooOld,
            ContactListUnavailable,
            AlreadyBuddy,
            NotBuddy,
            Panic,
        ]
    };

    /// The code for a number received from C, if it is one.
    pub fn from_code(code: c_int) -> Option<msim_result> {
        Self::ALL.iter().copied().find(|r| *r as c_int == code)
    }

    /// The code for an `err` number of a server `\error\` message (SPEC §16.2).
    pub fn from_server_error(err: u64) -> msim_result {
        match err {
            6 => msim_result::LoggedInElsewhere,
            259 => msim_result::UnknownEmail,
            260 => msim_result::AuthFailed,
            2 | 3 => msim_result::SessionExpired,
            267 => msim_result::ClientTooOld,
            270 => msim_result::ContactListUnavailable,
            1539 => msim_result::AlreadyBuddy,
            2817 => msim_result::NotBuddy,
            _ => msim_result::ServerError,
        }
    }

    /// Static description, NUL-terminated (for C) — see [`msim_result::description`].
    fn text_nul(self) -> &'static str {
        use msim_result::*;
        match self {
            Ok => cstr!("ok"),
            NullParameter => cstr!("a required pointer argument was NULL"),
            InvalidUtf8 => cstr!("a string argument is not valid UTF-8"),
            InvalidArgument => cstr!("invalid argument"),
            BufferTooSmall => cstr!("buffer too small"),
            NotConnected => cstr!("not connected"),
            AlreadyConnected => cstr!("already connected"),
            NotSignedOn => cstr!("not signed on"),
            AlreadySignedOn => cstr!("already signed on or signing on"),
            Closed => cstr!("the object has been closed"),
            WouldDeadlock => cstr!("the call would deadlock (made from the thread it would wait for)"),
            QueueFull => cstr!("the outgoing queue is full"),
            WrongState => cstr!("not possible in the current state"),
            ConnectFailed => cstr!("could not connect to the server"),
            Dns => cstr!("could not resolve the host name"),
            Timeout => cstr!("timed out"),
            ConnectionLost => cstr!("the connection was lost"),
            Io => cstr!("input/output error"),
            Protocol => cstr!("protocol error: unexpected or malformed message"),
            FrameTooLarge => cstr!("protocol error: message larger than the frame cap"),
            BadChallenge => cstr!("protocol error: malformed login challenge"),
            Encode => cstr!("a message could not be encoded"),
            EmbeddedNul => cstr!("received text contains a NUL byte"),
            ServerError => cstr!("the server reported an error"),
            AuthFailed => cstr!("incorrect username or password"),
            UnknownEmail => cstr!("unknown e-mail address"),
            LoggedInElsewhere => cstr!("logged in from another location"),
            NoSuchUser => cstr!("no such user"),
            UsernameTaken => cstr!("username already taken"),
            SessionExpired => cstr!("the server no longer accepts this session (session expired)"),
            ClientTooOld => cstr!("the server refuses this client version (too old)"),
            ContactListUnavailable => cstr!("the server could not fetch the contact list"),
            AlreadyBuddy => cstr!("already on the contact list"),
            NotBuddy => cstr!("not on the contact list"),
            Panic => cstr!("internal error (a panic was caught in msim)"),
        }
    }

    /// Static description, as msim_result_str() returns it.
    pub fn description(self) -> &'static str {
        let t = self.text_nul();
        &t[..t.len() - 1]
    }
}

impl std::fmt::Display for msim_result {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

// The one mapping from Rust errors to result codes. Add a `From` here for every error type an
// export can return, so bodies can use `?`.

impl From<LoginError> for msim_result {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::BadNonceBase64 | LoginError::BadNonceLength(_) => msim_result::BadChallenge,
            LoginError::BadResponseBase64 | LoginError::BadResponse => msim_result::AuthFailed,
        }
    }
}

impl From<&crate::client::Error> for msim_result {
    fn from(e: &crate::client::Error) -> Self {
        use crate::client::Error as E;
        match e {
            E::InvalidArgument(_) => msim_result::InvalidArgument,
            E::NotConnected => msim_result::NotConnected,
            E::NotSignedOn => msim_result::NotSignedOn,
            E::AlreadyConnected => msim_result::AlreadyConnected,
            E::WrongState(_) => msim_result::WrongState,
            E::QueueFull => msim_result::QueueFull,
            E::NoSuchUser(_) => msim_result::NoSuchUser,
            E::Timeout(_) => msim_result::Timeout,
            E::Network(_) => msim_result::ConnectionLost,
            E::Protocol(_) => msim_result::Protocol,
            E::Server { code, .. } => msim_result::from_server_error(u64::from(*code)),
            E::Closed => msim_result::Closed,
            E::EmbeddedNul(_) => msim_result::EmbeddedNul,
        }
    }
}

impl From<crate::client::Error> for msim_result {
    fn from(e: crate::client::Error) -> Self {
        msim_result::from(&e)
    }
}

impl From<FrameError> for msim_result {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::TooLarge { .. } => msim_result::FrameTooLarge,
        }
    }
}

impl From<ParseError> for msim_result {
    fn from(_: ParseError) -> Self {
        msim_result::Protocol
    }
}

/// A static, human-readable English description of `result`, e.g. "not connected".
///
/// Takes an int so that any number is safe to pass: an unknown number gives "unknown result".
/// The returned string is never NULL, is owned by msim and lives for the whole program: do not free it.
#[no_mangle]
pub extern "C" fn msim_result_str(result: c_int) -> *const c_char {
    const UNKNOWN: &str = cstr!("unknown result");
    super::boundary::guard_or(UNKNOWN.as_ptr().cast::<c_char>(), || {
        let text = msim_result::from_code(result).map_or(UNKNOWN, msim_result::text_nul);
        text.as_ptr().cast::<c_char>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::ffi::CStr;

    #[test]
    fn all_is_complete_sorted_and_described() {
        let mut seen = HashSet::new();
        for pair in msim_result::ALL.windows(2) {
            assert!((pair[0] as c_int) < (pair[1] as c_int), "ALL is not in numeric order at {:?}", pair[1]);
        }
        for &r in msim_result::ALL {
            let text = unsafe { CStr::from_ptr(msim_result_str(r as c_int)) }.to_str().unwrap();
            assert_eq!(text, r.description());
            assert!(!text.is_empty() && seen.insert(text), "{r:?} has an empty or duplicate description");
            assert_eq!(msim_result::from_code(r as c_int), Some(r));
        }
        // A variant missing from ALL is caught by tests/c_header.rs, which compares ALL with the
        // codes cbindgen wrote into msim.h.
    }

    #[test]
    fn unknown_numbers_have_text() {
        for code in [-1, 1, 99, 299, 999, c_int::MAX, c_int::MIN] {
            let text = unsafe { CStr::from_ptr(msim_result_str(code)) };
            assert_eq!(text.to_str().unwrap(), "unknown result");
        }
    }

    #[test]
    fn server_errors_map_to_their_codes() {
        let cases = [
            (6, msim_result::LoggedInElsewhere),
            (259, msim_result::UnknownEmail),
            (260, msim_result::AuthFailed),
            (1, msim_result::ServerError),
        ];
        for (err, expect) in cases {
            assert_eq!(msim_result::from_server_error(err), expect);
        }
    }
}
