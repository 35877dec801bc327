//! Reaching the server through a proxy: SOCKS5 (RFC 1928, with RFC 1929 user/password) and
//! HTTP `CONNECT` (RFC 9110 §9.3.6, with Basic proxy authentication). The session connects to
//! the proxy, asks it for a tunnel to the MSIM server, and then speaks MSIM through the tunnel as
//! if connected directly — reconnects and SPEC §25's fallback ports included.
//!
//! The handshake runs on the IO thread with the connect's deadline and cancel signal, so closing
//! a session during a slow proxy returns at once. Bytes the server sent right after the tunnel
//! opened (MSIM servers speak first, SPEC §6.1) may arrive with the proxy's reply; they are
//! handed back, never dropped. The proxy password is wiped with the settings and never printed.

use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Instant;

use base64::Engine;
use zeroize::Zeroizing;

use super::signal::Signal;

/// Which proxy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Socks5,
    /// HTTP `CONNECT`.
    Http,
}

/// Where the proxy is and how to log in to it (empty username: no authentication).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &super::trace::REDACTED)
            .finish()
    }
}

/// Longest proxy reply header msim reads (an HTTP proxy's status line and headers).
const MAX_HTTP_REPLY: usize = 8 * 1024;

fn err(kind: io::ErrorKind, text: impl Into<String>) -> io::Error {
    io::Error::new(kind, text.into())
}

/// Opens a tunnel to `host:port` through the proxy `stream` is connected to. Returns the bytes
/// that arrived after the proxy's reply (the start of the MSIM stream).
pub(crate) fn handshake(
    stream: &TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    deadline: Instant,
    cancel: &Signal,
) -> io::Result<Vec<u8>> {
    let mut io = Io { stream, deadline, cancel };
    match proxy.kind {
        ProxyKind::Socks5 => socks5(&mut io, proxy, host, port).map(|()| Vec::new()),
        ProxyKind::Http => http_connect(&mut io, proxy, host, port),
    }
}

fn socks5(io: &mut Io<'_>, proxy: &Proxy, host: &str, port: u16) -> io::Result<()> {
    let auth = !proxy.username.is_empty();
    // Greeting: version 5, the methods we offer (0 = none, 2 = username/password).
    io.write_all(if auth { &[5, 1, 2] } else { &[5, 1, 0] })?;
    let mut choice = [0u8; 2];
    io.read_exact(&mut choice)?;
    match choice {
        [5, 0] if !auth => {}
        [5, 2] if auth => {
            let (u, p) = (proxy.username.as_bytes(), proxy.password.as_bytes());
            if u.len() > 255 || p.len() > 255 {
                return Err(err(io::ErrorKind::InvalidInput, "SOCKS5 username or password longer than 255 bytes"));
            }
            let mut msg = Zeroizing::new(Vec::with_capacity(3 + u.len() + p.len()));
            msg.push(1);
            msg.push(u.len() as u8);
            msg.extend_from_slice(u);
            msg.push(p.len() as u8);
            msg.extend_from_slice(p);
            io.write_all(&msg)?;
            let mut status = [0u8; 2];
            io.read_exact(&mut status)?;
            if status[1] != 0 {
                return Err(err(io::ErrorKind::PermissionDenied, "the SOCKS5 proxy refused the username or password"));
            }
        }
        [5, 0xff] => {
            return Err(err(
                io::ErrorKind::PermissionDenied,
                if auth {
                    "the SOCKS5 proxy accepts no username/password login"
                } else {
                    "the SOCKS5 proxy requires a username and password"
                },
            ))
        }
        other => return Err(err(io::ErrorKind::InvalidData, format!("not a SOCKS5 proxy (answered {other:?})"))),
    }
    io.write_all(&socks5_connect_request(host, port)?)?;
    let mut head = [0u8; 4];
    io.read_exact(&mut head)?;
    if head[0] != 5 {
        return Err(err(io::ErrorKind::InvalidData, "not a SOCKS5 reply"));
    }
    if head[1] != 0 {
        return Err(err(io::ErrorKind::ConnectionRefused, format!("SOCKS5 proxy: {}", socks5_reply_text(head[1]))));
    }
    // The bound address the proxy reports: skip it (its length depends on the address type).
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            io.read_exact(&mut len)?;
            usize::from(len[0]) + 2
        }
        t => return Err(err(io::ErrorKind::InvalidData, format!("SOCKS5 reply with address type {t}"))),
    };
    let mut skip = [0u8; 258];
    io.read_exact(&mut skip[..rest])
}

/// The CONNECT request (RFC 1928 §4): an IP literal as such, anything else as a name for the
/// proxy to resolve (so a proxy can reach names this machine cannot resolve).
pub(crate) fn socks5_connect_request(host: &str, port: u16) -> io::Result<Vec<u8>> {
    let mut m = vec![5, 1, 0];
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            m.push(1);
            m.extend_from_slice(&a.octets());
        }
        Ok(IpAddr::V6(a)) => {
            m.push(4);
            m.extend_from_slice(&a.octets());
        }
        Err(_) => {
            let h = host.as_bytes();
            if h.is_empty() || h.len() > 255 {
                return Err(err(io::ErrorKind::InvalidInput, "server name unusable for SOCKS5 (1–255 bytes)"));
            }
            m.push(3);
            m.push(h.len() as u8);
            m.extend_from_slice(h);
        }
    }
    m.extend_from_slice(&port.to_be_bytes());
    Ok(m)
}

fn socks5_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general failure",
        2 => "connection not allowed by its rules",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused by the server",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown error",
    }
}

fn http_connect(io: &mut Io<'_>, proxy: &Proxy, host: &str, port: u16) -> io::Result<Vec<u8>> {
    io.write_all(&http_connect_request(proxy, host, port))?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HTTP_REPLY {
            return Err(err(io::ErrorKind::InvalidData, "HTTP proxy reply header too long"));
        }
        let n = io.read(&mut chunk)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let status = http_status(&buf[..end])?;
    match status {
        200..=299 => Ok(buf[end..].to_vec()),
        // 407 is the standard answer; some proxies (tinyproxy) answer 401.
        401 | 407 => Err(err(
            io::ErrorKind::PermissionDenied,
            format!("the HTTP proxy refused the username or password ({status})"),
        )),
        s => Err(err(io::ErrorKind::ConnectionRefused, format!("the HTTP proxy refused the tunnel ({s})"))),
    }
}

/// `CONNECT host:port` with `Host` and, given a username, Basic `Proxy-Authorization`.
pub(crate) fn http_connect_request(proxy: &Proxy, host: &str, port: u16) -> Zeroizing<Vec<u8>> {
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut req = Zeroizing::new(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes());
    if !proxy.username.is_empty() {
        let creds = Zeroizing::new(format!("{}:{}", proxy.username, &*proxy.password));
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(creds.as_bytes()));
        req.extend_from_slice(b"Proxy-Authorization: Basic ");
        req.extend_from_slice(b64.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    req
}

/// The status code of `HTTP/1.x NNN reason`.
pub(crate) fn http_status(head: &[u8]) -> io::Result<u16> {
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|b| *b == b' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| std::str::from_utf8(c).ok()).and_then(|c| c.parse().ok());
    match code {
        Some(c) if version.starts_with(b"HTTP/1.") => Ok(c),
        _ => Err(err(io::ErrorKind::InvalidData, "not an HTTP proxy reply")),
    }
}

/// Reads and writes on the non-blocking proxy socket until the deadline or a cancel.
struct Io<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
    cancel: &'a Signal,
}

impl Io<'_> {
    fn wait(&self, events: libc::c_short) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(err(io::ErrorKind::TimedOut, "the proxy did not answer in time"));
        }
        let mut fds = [
            libc::pollfd { fd: self.stream.as_raw_fd(), events, revents: 0 },
            libc::pollfd { fd: self.cancel.fd(), events: libc::POLLIN, revents: 0 },
        ];
        let ms = libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: two valid pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        if fds[1].revents != 0 {
            return Err(err(io::ErrorKind::Interrupted, "connect cancelled"));
        }
        Ok(())
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match self.stream.write(data) {
                Ok(0) => return Err(err(io::ErrorKind::WriteZero, "the proxy closed the connection")),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(libc::POLLOUT)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Err(err(io::ErrorKind::UnexpectedEof, "the proxy closed the connection")),
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(libc::POLLIN)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn read_exact(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.read(buf)?;
            buf = &mut buf[n..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(kind: ProxyKind, user: &str, pw: &str) -> Proxy {
        Proxy { kind, host: "p".into(), port: 1, username: user.into(), password: Zeroizing::new(pw.into()) }
    }

    #[test]
    fn socks5_requests_name_ips_as_ips_and_names_for_the_proxy() {
        assert_eq!(socks5_connect_request("127.0.0.1", 1863).unwrap(), [5, 1, 0, 1, 127, 0, 0, 1, 0x07, 0x47]);
        let by_name = socks5_connect_request("im.myspace.akadns.net", 443).unwrap();
        assert_eq!(&by_name[..5], &[5, 1, 0, 3, 21]);
        assert_eq!(&by_name[5..26], b"im.myspace.akadns.net");
        assert_eq!(&by_name[26..], &[1, 187]);
        assert_eq!(socks5_connect_request("::1", 80).unwrap()[3], 4);
        assert!(socks5_connect_request(&"x".repeat(256), 1).is_err());
    }

    #[test]
    fn http_connect_carries_basic_auth_only_with_a_username_and_the_status_is_parsed() {
        let plain = http_connect_request(&proxy(ProxyKind::Http, "", ""), "h", 1863);
        assert_eq!(&plain[..], b"CONNECT h:1863 HTTP/1.1\r\nHost: h:1863\r\n\r\n");
        let auth = http_connect_request(&proxy(ProxyKind::Http, "u", "p w"), "::1", 80);
        let text = String::from_utf8(auth.to_vec()).unwrap();
        assert!(text.starts_with("CONNECT [::1]:80 HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("Proxy-Authorization: Basic dTpwIHc=\r\n"), "{text}"); // "u:p w"
        assert_eq!(http_status(b"HTTP/1.0 200 Connection established\r\n\r\n").unwrap(), 200);
        assert_eq!(http_status(b"HTTP/1.1 407 Proxy Authentication Required\r\n").unwrap(), 407);
        assert!(http_status(b"SSH-2.0-OpenSSH\r\n").is_err());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = proxy(ProxyKind::Socks5, "user", "hunter2");
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
