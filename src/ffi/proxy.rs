//! Connecting through a proxy (`msim_session_set_proxy`): the C face of `client::proxy`.

use std::os::raw::c_char;

use zeroize::Zeroizing;

use super::boundary::arg_str;
use super::result::msim_result;
use super::session::{map, msim_session, opt_str_arg, with};
use crate::client::{Proxy, ProxyKind};

/// Proxy protocols for `msim_session_set_proxy`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msim_proxy_type {
    /// Connect directly (removes a proxy set before).
    None = 0,
    /// SOCKS5 (RFC 1928), with username/password authentication (RFC 1929) when a username is
    /// given. The proxy resolves the server's name.
    Socks5 = 1,
    /// HTTP `CONNECT`, with Basic proxy authentication when a username is given.
    Http = 2,
}

/// Makes the session's next `msim_session_connect` (and its reconnects) go through a proxy;
/// `kind` is an `msim_proxy_type` value. `host`/`port` are the proxy's; `username` NULL or "" = no authentication; `password` NULL =
/// "". All strings are copied; the password is kept only until the session is freed (or the
/// proxy replaced) and never logged. A proxy that refuses the tunnel or the credentials ends the
/// login with `on_login_failed(MSIM_LOGIN_FAILURE_NETWORK)` and a text saying so.
/// `MSIM_PROXY_TYPE_NONE` connects directly again (the other arguments are then ignored and may be
/// NULL). MSIM_RESULT_ALREADY_CONNECTED unless the session is idle; MSIM_RESULT_INVALID_ARGUMENT
/// for an unknown type, an empty host or port 0.
///
/// # Safety
/// `session` valid; strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn msim_session_set_proxy(
    session: *mut msim_session,
    kind: u32,
    host: *const c_char,
    port: u16,
    username: *const c_char,
    password: *const c_char,
) -> msim_result {
    with(session, |s| {
        let kind = match kind {
            0 => return map(s.session.set_proxy(None)),
            1 => ProxyKind::Socks5,
            2 => ProxyKind::Http,
            _ => return Err(msim_result::InvalidArgument),
        };
        let host = arg_str(host)?;
        let username = opt_str_arg(username)?.unwrap_or_default();
        let password = Zeroizing::new(opt_str_arg(password)?.unwrap_or_default().to_owned());
        if host.is_empty() || port == 0 {
            return Err(msim_result::InvalidArgument);
        }
        let proxy = Proxy { kind, host: host.to_owned(), port, username: username.to_owned(), password };
        map(s.session.set_proxy(Some(proxy)))
    })
}
