//! Opening the TCP connection so that `close`/`disconnect` can cancel it.
//!
//! `TcpStream::connect_timeout` blocks for up to the connect timeout per address (30 s by
//! default), and a session closed meanwhile could only leave its IO thread behind — still running
//! code of a library the host may be about to unload. Here the connect is non-blocking and waits
//! in `poll` on the socket and on an eventfd that `close` raises, so it ends at once. The stream
//! stays non-blocking: the IO thread polls it. Name resolution (`getaddrinfo`) cannot be
//! cancelled this way; it is checked before and after.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{FromRawFd, RawFd};
use std::time::{Duration, Instant};

/// What cancels a connect: raising it makes the connect waiting on it (now or later) return
/// `ErrorKind::Interrupted`.
pub(crate) use super::signal::Signal as Cancel;

fn cancelled() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "connect cancelled")
}

/// Resolves `host` and tries each address in turn, each for at most `timeout`. The stream is
/// non-blocking.
pub(crate) fn connect(host: &str, port: u16, timeout: Duration, cancel: &Cancel) -> io::Result<TcpStream> {
    // A failed lookup is NotFound, so that the caller does not try other ports for it.
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(io::ErrorKind::NotFound, format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} did not resolve"));
    for addr in addrs {
        if cancel.is_raised() {
            return Err(cancelled());
        }
        match connect_one(&addr, timeout, cancel) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn connect_one(addr: &SocketAddr, timeout: Duration, cancel: &Cancel) -> io::Result<TcpStream> {
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket that nothing else owns; TcpStream closes it on every path.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for `family`.
    let r = unsafe { libc::connect(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
    if r != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
        wait_connected(fd, timeout, cancel)?;
    }
    Ok(stream)
}

/// Waits for a non-blocking connect to finish, for `timeout` or until cancelled.
fn wait_connected(fd: RawFd, timeout: Duration, cancel: &Cancel) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "connection timed out"));
        }
        let mut fds = [
            libc::pollfd { fd, events: libc::POLLOUT, revents: 0 },
            libc::pollfd { fd: cancel.fd(), events: libc::POLLIN, revents: 0 },
        ];
        let ms = libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: two valid pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue; // a signal, not a cancel
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            return Err(cancelled());
        }
        if fds[0].revents != 0 {
            let mut err: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: reading SO_ERROR into a c_int of the size passed.
            let r = unsafe {
                libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, (&mut err as *mut libc::c_int).cast(), &mut len)
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
            return if err == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(err)) };
        }
    }
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn connects_to_a_listener_and_the_stream_is_non_blocking() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let cancel = Cancel::new().unwrap();
        let mut s = connect("127.0.0.1", port, Duration::from_secs(5), &cancel).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        peer.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        // The IO thread polls and never blocks in read or write (SPEC §24 "nothing blocks").
        let mut got = 0;
        while got < 2 {
            match s.read(&mut buf[got..]) {
                Ok(n) => got += n,
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        assert_eq!(&buf, b"hi");
    }

    #[test]
    fn a_refused_connect_reports_the_os_error() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again
        let cancel = Cancel::new().unwrap();
        let e = connect("127.0.0.1", port, Duration::from_secs(5), &cancel).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn a_cancelled_connect_does_not_start() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let cancel = Cancel::new().unwrap();
        cancel.raise();
        let e = connect("127.0.0.1", l.local_addr().unwrap().port(), Duration::from_secs(5), &cancel).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
    }
}
