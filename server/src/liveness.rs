//! How a connection's end is noticed without closing clients that are merely quiet.
//!
//! Before login, a connection that sends nothing for `idle_timeout` is closed by its session's idle
//! limit: it holds a thread and has not authenticated. After login, silence is normal — Pidgin's
//! plugin sends nothing at all while the user is idle unless its mail check is on (SPEC §17) — so
//! the limit is lifted and the *peer's TCP stack* is asked instead: keepalive probes while the
//! line is quiet, and `TCP_USER_TIMEOUT` = `idle_timeout` for data (our `\ka\`, routed messages)
//! and probes that stay unacknowledged. A client that vanished (host down, cable pulled, NAT state
//! lost) is dropped within about `idle_timeout`; one that is alive but quiet stays signed on.
//! This is our reading of SPEC §24 "closes sessions idle longer than the dead-connection limit":
//! idle means no sign of life, and an acknowledged keepalive is one.
//!
//! Also here: how far the peer has acknowledged our stream ([`tcp_progress`]), which decides when
//! a delivered offline IM may be deleted.

use std::net::TcpStream;
use std::time::Duration;

/// Switches a connection that just logged in from the idle limit to TCP-level liveness checks.
/// True when the kernel now watches the peer (or `idle_timeout` is zero: no limit at all), so the
/// session lifts its idle limit; false off Linux (no `TCP_USER_TIMEOUT`), where the session keeps
/// closing connections silent for `idle_timeout`.
pub fn after_login(stream: &TcpStream, idle_timeout: Duration) -> bool {
    let by_tcp = idle_timeout.is_zero() || set_dead_peer_timeout(stream, idle_timeout);
    // The session polls and never blocks in a read; no read timeout is left over from before.
    let _ = stream.set_read_timeout(None);
    by_tcp
}

/// How far the peer's TCP has acknowledged our stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpProgress {
    /// Data bytes the peer acknowledged since the connection opened (`tcpi_bytes_acked`).
    pub acked: u64,
    /// The connection is closed (reset or timed out): `acked` will not grow any more.
    pub gone: bool,
}

/// The kernel's count of acknowledged bytes (Linux ≥ 4.1, `TCP_INFO`); None where it is not
/// available. It survives a reset, unlike the send queue (`SIOCOUTQ`), which is emptied by one.
#[cfg(target_os = "linux")]
pub fn tcp_progress(stream: &TcpStream) -> Option<TcpProgress> {
    use std::os::fd::AsRawFd;
    // SAFETY: tcp_info is plain integers; all-zero is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: a valid socket fd and an out-buffer of the size passed.
    let r = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    let needed = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked) + std::mem::size_of::<u64>();
    if r != 0 || (len as usize) < needed {
        return None;
    }
    Some(TcpProgress { acked: info.tcpi_bytes_acked, gone: info.tcpi_state == TCP_CLOSE })
}

#[cfg(not(target_os = "linux"))]
pub fn tcp_progress(_stream: &TcpStream) -> Option<TcpProgress> {
    None
}

/// `TCP_CLOSE` of the kernel's TCP state numbers (include/net/tcp_states.h).
#[cfg(target_os = "linux")]
const TCP_CLOSE: u8 = 7;

#[cfg(target_os = "linux")]
fn set_dead_peer_timeout(stream: &TcpStream, limit: Duration) -> bool {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    let limit_ms = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
    // Probes start after a third of the limit of silence and repeat every ninth, so several are
    // sent before the user timeout gives up on the peer.
    let secs = |d: u64| i32::try_from(d.max(1)).unwrap_or(i32::MAX);
    let idle = secs(limit.as_secs() / 3);
    let interval = secs(limit.as_secs() / 9);
    let opts: [(i32, i32, i32); 4] = [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, interval),
        (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, i32::try_from(limit_ms).unwrap_or(i32::MAX)),
    ];
    opts.iter().all(|&(level, name, value)| {
        // SAFETY: a valid socket fd, and a c_int option value of the size passed.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            ) == 0
        }
    })
}

#[cfg(not(target_os = "linux"))]
fn set_dead_peer_timeout(_stream: &TcpStream, _limit: Duration) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::fd::AsRawFd;

    fn get(stream: &TcpStream, level: i32, name: i32) -> i32 {
        let mut v: i32 = -1;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: a valid fd and an i32 out-value of the size passed.
        let r = unsafe { libc::getsockopt(stream.as_raw_fd(), level, name, (&mut v as *mut i32).cast(), &mut len) };
        assert_eq!(r, 0);
        v
    }

    #[test]
    fn after_login_lifts_the_read_timeout_and_arms_the_tcp_checks() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(180))).unwrap();
        assert!(after_login(&s, Duration::from_secs(180)));
        assert_eq!(s.read_timeout().unwrap(), None);
        assert_eq!(get(&s, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
        assert_eq!(get(&s, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), 60);
        assert_eq!(get(&s, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL), 20);
        assert_eq!(get(&s, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT), 180_000);
    }

    #[test]
    fn a_zero_idle_timeout_arms_nothing_and_lifts_the_login_deadline() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap(); // what was left of the login time
        assert!(after_login(&s, Duration::ZERO));
        assert_eq!(s.read_timeout().unwrap(), None);
        assert_eq!(get(&s, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 0);
        assert_eq!(get(&s, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT), 0);
    }
}
