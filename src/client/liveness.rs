//! Noticing a dead server without closing a quiet one (SPEC §24).
//!
//! Revival servers send no `\ka\` and answer no persist request, so a healthy connection may
//! carry no data for hours; a timeout on silence would reconnect an idle user every few minutes.
//! Instead the server's TCP stack is asked: keepalive probes while the line is quiet, and
//! `TCP_USER_TIMEOUT` = the limit for our data and probes that stay unacknowledged. A server that
//! vanished (host down, route gone, NAT state lost) is detected within about the limit; a quiet
//! live one answers the probes in its kernel and stays connected. (msim-server watches its
//! clients the same way, `server/src/liveness.rs`.)

use std::net::TcpStream;
use std::time::Duration;

/// Arms the checks on a new connection; `None` leaves the socket as the OS made it (no
/// keepalive: detection off). Returns whether every option took (off Linux: `false`, no
/// `TCP_USER_TIMEOUT`).
pub(crate) fn watch(stream: &TcpStream, limit: Option<Duration>) -> bool {
    match limit {
        Some(limit) => arm(stream, limit),
        None => true,
    }
}

#[cfg(target_os = "linux")]
fn arm(stream: &TcpStream, limit: Duration) -> bool {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    let limit_ms = i32::try_from(limit.as_millis().max(1)).unwrap_or(i32::MAX);
    // Probes start after a third of the limit of silence and repeat every ninth, so several go
    // out before the user timeout gives up. The kernel counts these in whole seconds.
    let secs = |d: u64| i32::try_from(d.max(1)).unwrap_or(i32::MAX);
    let opts: [(i32, i32, i32); 5] = [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs(limit.as_secs() / 3)),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, secs(limit.as_secs() / 9)),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 9),
        (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, limit_ms),
    ];
    opts.iter().all(|&(level, name, value)| {
        // SAFETY: a valid socket fd and a c_int option value of the size passed.
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
fn arm(stream: &TcpStream, _limit: Duration) -> bool {
    // Keepalive alone (the OS's default probe timing); no user timeout for unacknowledged data.
    use std::os::fd::AsRawFd;
    let one: i32 = 1;
    // SAFETY: a valid socket fd and a c_int option value of the size passed.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            (&one as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
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
    fn the_limit_becomes_keepalive_probes_and_a_user_timeout_and_none_leaves_the_socket_alone() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        assert!(watch(&a, Some(Duration::from_secs(180))));
        assert_eq!(get(&a, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
        assert_eq!(get(&a, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), 60);
        assert_eq!(get(&a, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL), 20);
        assert_eq!(get(&a, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT), 180_000);
        let b = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        assert!(watch(&b, None));
        assert_eq!(get(&b, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 0);
        assert_eq!(get(&b, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT), 0);
    }
}
